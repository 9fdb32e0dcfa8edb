package netdev

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"
)

// delivered is what a packet-type handler saw of one skb.
type delivered struct {
	proto   uint16
	data    []byte
	dev     *NetDevice
	netHdr  bool // NetworkHeader points at the data
	macHdr  []byte
	ethType uint16
}

// pairDevice registers a NetDevice with HWAddr macB on one end of a pair,
// opens it, and returns the other end (the wire a test sends on) and a
// channel of what the handlers for the given EtherTypes received.
func pairDevice(t *testing.T, flags uint32, ethertypes ...uint16) (*Net, *NetDevice, *PairEnd, <-chan delivered) {
	t.Helper()
	n := NewNet()
	wire, end := NewPair(0)
	dev := &NetDevice{Name: "pair0", MTU: 1500, HWAddr: macB, HardHeaderLen: EthHlen, Flags: flags}
	n.RegisterNetdevice(dev, end)
	got := make(chan delivered, 16)
	for _, et := range ethertypes {
		n.DevAddPack(et, func(skb *SkBuff) {
			eth, _ := ParseEthhdr(skb.At(skb.MacHeader))
			got <- delivered{
				proto:   skb.Protocol,
				data:    bytes.Clone(skb.Data()),
				dev:     skb.Dev,
				netHdr:  skb.NetworkHeader == skb.Offset(),
				macHdr:  bytes.Clone(eth),
				ethType: eth.Proto(),
			}
			skb.Free()
		})
	}
	dev.DevOpen()
	t.Cleanup(func() { dev.DevClose() })
	return n, dev, wire, got
}

// sendFrame puts an Ethernet frame with the given destination, EtherType
// and payload on the wire.
func sendFrame(t *testing.T, wire *PairEnd, dst [6]byte, proto uint16, payload string) {
	t.Helper()
	skb := AllocSkb(len(payload))
	copy(skb.Put(len(payload)), payload)
	EthHeaderPush(skb, dst, macA, proto)
	defer skb.Free()
	if err := wire.Xmit(skb); err != nil {
		t.Fatal(err)
	}
}

func expect(t *testing.T, got <-chan delivered, proto uint16, payload string) delivered {
	t.Helper()
	select {
	case d := <-got:
		if d.proto != proto || string(d.data) != payload {
			t.Fatalf("handler got proto %#x %q, want %#x %q", d.proto, d.data, proto, payload)
		}
		return d
	case <-time.After(10 * time.Second):
		t.Fatalf("%q never reached its handler", payload)
		return delivered{}
	}
}

func TestNetifReceiveSkbDispatch(t *testing.T) {
	const other = 0x88b6
	_, dev, wire, got := pairDevice(t, 0, ETH_P_IP, ETH_P_ARP)
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

	sendFrame(t, wire, macB, ETH_P_IP, "to us")
	d := expect(t, got, ETH_P_IP, "to us")
	if d.dev != dev || !d.netHdr || d.ethType != ETH_P_IP || Ethhdr(d.macHdr).Source() != macA {
		t.Errorf("skb metadata: dev %v netHdr %v mac %x", d.dev, d.netHdr, d.macHdr)
	}
	sendFrame(t, wire, bcast, ETH_P_ARP, "broadcast")
	expect(t, got, ETH_P_ARP, "broadcast")
	sendFrame(t, wire, [6]byte{0x33, 0x33, 0, 0, 0, 1}, ETH_P_IP, "multicast")
	expect(t, got, ETH_P_IP, "multicast")

	// Dropped: another host's frame, an EtherType nobody handles, a runt.
	sendFrame(t, wire, [6]byte{0x02, 0, 0, 0, 0, 0x99}, ETH_P_IP, "other host")
	sendFrame(t, wire, macB, other, "no handler")
	runt := AllocSkb(10)
	runt.Put(10)
	wire.Xmit(runt)
	runt.Free()
	// The wire is in order: once this arrives, the ones before were seen.
	sendFrame(t, wire, macB, ETH_P_ARP, "sentinel")
	expect(t, got, ETH_P_ARP, "sentinel")

	s := &dev.Stats
	if s.RxPackets.Load() != 7 || s.RxDropped.Load() != 2 || s.RxErrors.Load() != 1 || s.RxMulticast.Load() != 2 {
		t.Errorf("rx packets %d dropped %d errors %d multicast %d, want 7 2 1 2",
			s.RxPackets.Load(), s.RxDropped.Load(), s.RxErrors.Load(), s.RxMulticast.Load())
	}
	select {
	case d := <-got:
		t.Errorf("a dropped frame reached a handler: %q", d.data)
	default:
	}
}

// A loopback device takes frames whatever their destination, as in Linux.
func TestNetifReceiveSkbLoopback(t *testing.T) {
	_, dev, wire, got := pairDevice(t, IFF_LOOPBACK, ETH_P_IP)
	sendFrame(t, wire, [6]byte{}, ETH_P_IP, "looped")
	expect(t, got, ETH_P_IP, "looped")
	if dev.Stats.RxDropped.Load() != 0 {
		t.Error("loopback dropped a frame for another address")
	}
}

func TestDevQueueXmit(t *testing.T) {
	n, dev, wire, _ := pairDevice(t, 0)
	if n.DevGetByName("pair0") != dev || dev.Ifindex != 1 || dev.Broadcast != [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
		t.Fatalf("registration: ifindex %d broadcast %x", dev.Ifindex, dev.Broadcast)
	}
	ids, _ := collect(t, wire, 4)
	skb := testFrame(9)
	defer skb.Free()
	if err := dev.DevQueueXmit(skb); err != nil {
		t.Fatal(err)
	}
	if id := next(t, ids); id != 9 {
		t.Errorf("wire got %d", id)
	}
	if dev.Stats.TxPackets.Load() != 1 || dev.Stats.TxBytes.Load() != 60 || skb.Dev != dev {
		t.Errorf("tx packets %d bytes %d", dev.Stats.TxPackets.Load(), dev.Stats.TxBytes.Load())
	}
	if err := dev.DevClose(); err != nil {
		t.Fatal(err)
	}
	if err := dev.DevQueueXmit(skb); !errors.Is(err, ErrDeviceDown) {
		t.Errorf("DevQueueXmit on a closed device: %v", err)
	}
	if dev.Stats.TxDropped.Load() != 1 {
		t.Errorf("TxDropped = %d", dev.Stats.TxDropped.Load())
	}
}

// gsoDriver records the length of each frame it is handed.
type gsoDriver struct {
	mu   sync.Mutex
	lens []int
	done chan struct{}
}

func (d *gsoDriver) Xmit(skb *SkBuff) error {
	d.mu.Lock()
	d.lens = append(d.lens, skb.Len())
	d.mu.Unlock()
	return nil
}
func (d *gsoDriver) Receive(func(*SkBuff)) error { <-d.done; return nil }
func (d *gsoDriver) Close() error                { close(d.done); return nil }

// dev_queue_xmit hands a super-segment to the driver whole when the device
// has TSO for its family (NETIF_F_TSO for IPv4, NETIF_F_TSO6 for IPv6) and
// runs that family's software GSO otherwise.
func TestDevQueueXmitGsoPerFamily(t *testing.T) {
	for _, c := range []struct {
		feat       uint64
		v4Whole    bool
		v6Whole    bool
		describing string
	}{
		{NETIF_F_GSO, false, false, "software GSO only"},
		{NETIF_F_GSO | NETIF_F_TSO, true, false, "TSO for IPv4 only"},
		{NETIF_F_GSO | NETIF_F_TSO | NETIF_F_TSO6, true, true, "TSO both"},
	} {
		n := NewNet()
		drv := &gsoDriver{done: make(chan struct{})}
		dev := &NetDevice{Name: "gso0", MTU: 1500, HWAddr: macB, HardHeaderLen: EthHlen, Features: c.feat}
		n.RegisterNetdevice(dev, drv)
		cut := map[uint16]int{}
		for _, et := range []uint16{ETH_P_IP, ETH_P_IPV6} {
			n.DevAddOffload(et, func(skb *SkBuff, xmit func(*SkBuff) error) error {
				cut[et]++
				return nil
			})
		}
		dev.DevOpen()
		for _, et := range []uint16{ETH_P_IP, ETH_P_IPV6} {
			skb := AllocSkb(3000)
			skb.Put(3000)
			EthHeaderPush(skb, macA, macB, et)
			skb.GsoSize = 1000
			if err := dev.DevQueueXmit(skb); err != nil {
				t.Fatal(err)
			}
			skb.Free()
		}
		dev.DevClose()
		if got := [2]bool{cut[ETH_P_IP] == 0, cut[ETH_P_IPV6] == 0}; got != [2]bool{c.v4Whole, c.v6Whole} {
			t.Errorf("%s: sent whole (IPv4, IPv6) %v, want %v", c.describing, got, [2]bool{c.v4Whole, c.v6Whole})
		}
		whole := 0
		for _, w := range []bool{c.v4Whole, c.v6Whole} {
			if w {
				whole++
			}
		}
		if len(drv.lens) != whole {
			t.Errorf("%s: the driver got %v", c.describing, drv.lens)
		}
	}
}
