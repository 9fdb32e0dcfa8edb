package inet6

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// sinkDriver is a link that swallows what the stack sends.
type sinkDriver struct{ done chan struct{} }

func (d *sinkDriver) Xmit(skb *netdev.SkBuff) error { return nil }
func (d *sinkDriver) Receive(rx func(*netdev.SkBuff)) error {
	<-d.done
	return nil
}
func (d *sinkDriver) Close() error { close(d.done); return nil }

var (
	fuzz6Once sync.Once
	fuzz6Net  *Net
	fuzz6Dev  *netdev.NetDevice
	fuzz6Clk  *ktime.Manual
)

// FuzzIpv6Rcv feeds arbitrary IPv6 packets (from the wire, addressed to a
// live stack with DAD done) straight into ipv6_rcv. The stack must not
// panic, and its reassembly memory stays under ip6frag_high_thresh.
func FuzzIpv6Rcv(f *testing.F) {
	src := netip.MustParseAddr("2001:2::99")
	dst := netip.MustParseAddr("2001:2::2")
	f.Add(ip6Packet(src, dst, header.NEXTHDR_ICMP, 64, echoRequest(src, dst, 1, 1, []byte("x"))))
	for _, p := range fragments(src, dst, 5, echoRequest(src, dst, 1, 1, make([]byte, 100)), [][2]int{{0, 64}, {56, 108}}) {
		f.Add(p)
	}
	do := make([]byte, 8+8)
	do[0], do[2], do[3] = header.NEXTHDR_ICMP, 0xc0, 4
	f.Add(ip6Packet(src, dst, header.NEXTHDR_DEST, 64, do))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		fuzz6Once.Do(func() {
			fuzz6Clk = ktime.NewManual()
			sn := socket.NewNet()
			nd := netdev.NewNet()
			fuzz6Net = Init(sn, nd, fuzz6Clk, nil)
			fuzz6Net.SetDAD(false)
			fuzz6Dev = &netdev.NetDevice{Name: "eth0", MTU: 1500, HWAddr: [6]byte{0x02, 0, 0, 0, 0, 2}, HardHeaderLen: netdev.EthHlen,
				Flags: netdev.IFF_BROADCAST | netdev.IFF_MULTICAST}
			nd.RegisterNetdevice(fuzz6Dev, &sinkDriver{done: make(chan struct{})})
			fuzz6Dev.DevOpen()
			if err := fuzz6Net.DevAdd(fuzz6Dev, netip.MustParsePrefix("2001:2::2/64")); err != nil {
				t.Fatal(err)
			}
		})
		n := fuzz6Net
		skb := netdev.AllocSkb(len(pkt))
		copy(skb.Put(len(pkt)), pkt)
		skb.Dev = fuzz6Dev
		skb.Protocol = netdev.ETH_P_IPV6
		n.ipv6Rcv(skb)
		fuzz6Clk.Advance(100 * time.Millisecond) // timers (reassembly, ND) run
		n.frags.mu.Lock()
		mem := n.frags.mem
		n.frags.mu.Unlock()
		if mem < 0 || mem > sysctlIp6fragHighThresh {
			t.Fatalf("reassembly holds %d bytes", mem)
		}
	})
}
