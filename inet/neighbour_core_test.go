package inet

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// fakeFamily is a second resolution protocol on the neighbour core, as
// ndisc is: it records what the core asks of it.
type fakeFamily struct {
	mu       sync.Mutex
	solicits []string // "mcast" or "unicast HA"
	reported int
	sent     [][]byte // frames handed to Xmit
}

func (f *fakeFamily) ops() NeighOps {
	return NeighOps{
		Constructor: func(dev *netdev.NetDevice, key netip.Addr) ([6]byte, bool) {
			if key.IsMulticast() {
				return [6]byte{0x33, 0x33, 0, 0, 0, 1}, true
			}
			return [6]byte{}, false
		},
		Solicit: func(dev *netdev.NetDevice, key netip.Addr, ha [6]byte, unicast bool) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if unicast {
				f.solicits = append(f.solicits, "unicast "+llHeader(ha[:]))
			} else {
				f.solicits = append(f.solicits, "mcast")
			}
		},
		ErrorReport: func(skb *netdev.SkBuff) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.reported++
		},
		Xmit: func(dev *netdev.NetDevice, skb *netdev.SkBuff) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.sent = append(f.sent, append([]byte(nil), skb.Data()...))
			return nil
		},
	}
}

func (f *fakeFamily) state() (solicits []string, reported int, sent [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.solicits...), f.reported, append([][]byte(nil), f.sent...)
}

func newFakeTable(t *testing.T) (*NeighTable, *fakeFamily, *netdev.NetDevice, *ktime.Manual) {
	t.Helper()
	clk := ktime.NewManual()
	f := &fakeFamily{}
	var tbl NeighTable
	tbl.NeighTableInit(netdev.ETH_P_IPV6, f.ops(), clk)
	dev := &netdev.NetDevice{Name: "eth0", MTU: 1500, HWAddr: [6]byte{0x02, 0, 0, 0, 0, 0x02}, HardHeaderLen: netdev.EthHlen}
	return &tbl, f, dev, clk
}

func payload(b byte) *netdev.SkBuff {
	skb := netdev.AllocSkb(netdev.EthHlen + 4)
	skb.Reserve(netdev.EthHlen)
	copy(skb.Put(4), []byte{b, b, b, b})
	return skb
}

// A table other than arp_tbl resolves through its own ops: packets wait
// while the solicitation is out, leave with the table's ethertype once the
// answer comes, and the entry is re-confirmed with a unicast solicitation
// when it grows old.
func TestNeighCoreSecondTable(t *testing.T) {
	tbl, f, dev, clk := newFakeTable(t)
	peer := netip.MustParseAddr("2001:2::1")
	peerHA := [6]byte{0x02, 0, 0, 0, 0, 0x01}
	for i := range 3 {
		skb := payload(byte(i))
		tbl.NeighOutput(dev, peer, skb)
		skb.Free()
	}
	if sol, _, sent := f.state(); len(sol) != 1 || sol[0] != "mcast" || len(sent) != 0 {
		t.Fatalf("while resolving: solicits %q, %d sent; want one multicast solicitation, nothing sent", sol, len(sent))
	}
	if st, _ := tbl.NeighLookup(peer); st != NUD_INCOMPLETE {
		t.Fatalf("state %#x, want INCOMPLETE", st)
	}
	tbl.NeighUpdate(dev, peer, peerHA, false)
	_, _, sent := f.state()
	if len(sent) != 3 {
		t.Fatalf("%d queued packets sent after the answer, want 3", len(sent))
	}
	for i, fr := range sent {
		eth, ok := netdev.ParseEthhdr(fr)
		if !ok || eth.Proto() != netdev.ETH_P_IPV6 || eth.Dest() != peerHA || fr[netdev.EthHlen] != byte(i) {
			t.Fatalf("frame %d: % x; want to %x, ethertype 86dd, in order", i, fr, peerHA)
		}
	}
	// A multicast key needs no entry (the constructor's fixed address).
	skb := payload(9)
	tbl.NeighOutput(dev, netip.MustParseAddr("ff02::1"), skb)
	skb.Free()
	if _, _, sent := f.state(); len(sent) != 4 || netdev.Ethhdr(sent[3]).Dest() != [6]byte{0x33, 0x33, 0, 0, 0, 1} {
		t.Fatal("multicast destination not sent to its fixed address")
	}
	// Past base_reachable_time the entry is still used, and re-confirmed.
	clk.Advance(sysctlNeighBaseReachableTimeSec*time.Second + time.Second)
	skb = payload(7)
	tbl.NeighOutput(dev, peer, skb)
	skb.Free()
	sol, _, sent := f.state()
	if len(sent) != 5 || len(sol) != 2 || sol[1] != "unicast "+llHeader(peerHA[:]) {
		t.Fatalf("stale use: %d sent, solicits %q; want sent and a unicast probe", len(sent), sol)
	}
	if st, _ := tbl.NeighLookup(peer); st != NUD_PROBE {
		t.Fatalf("state %#x, want PROBE", st)
	}
}

// An unanswered solicitation is retried mcast_solicit times; then the
// entry fails and each waiting packet goes to the table's error_report
// (the EHOSTUNREACH of its sender).
func TestNeighCoreFailedSolicitation(t *testing.T) {
	tbl, f, dev, clk := newFakeTable(t)
	peer := netip.MustParseAddr("2001:2::9")
	for i := range 2 {
		skb := payload(byte(i))
		tbl.NeighOutput(dev, peer, skb)
		skb.Free()
	}
	for range sysctlNeighMcastSolicit {
		clk.Advance(sysctlNeighRetransTimeMs * time.Millisecond)
	}
	sol, reported, sent := f.state()
	if len(sol) != sysctlNeighMcastSolicit || reported != 2 || len(sent) != 0 {
		t.Fatalf("%d solicitations, %d reported, %d sent; want %d, 2, 0", len(sol), reported, len(sent), sysctlNeighMcastSolicit)
	}
	if st, _ := tbl.NeighLookup(peer); st != NUD_FAILED {
		t.Fatalf("state %#x, want FAILED", st)
	}
}
