package inet

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// TestIPRouteInputMartian: Linux 6.18's martian rules for a host at
// 10.0.0.2/24 with lo at 127.0.0.1/8 and its defaults (rp_filter 0,
// route_localnet 0), unicast extensions included.
func TestIPRouteInputMartian(t *testing.T) {
	ea, _ := netdev.NewPair(0)
	n := newDgNode(t, ktime.NewManual(), ea, 2, "10.0.0.2/24")
	for _, c := range []struct {
		src, dst string
		want     martian
	}{
		{"10.0.0.1", "10.0.0.2", martianNone},
		{"198.51.100.7", "10.0.0.2", martianNone},      // off-link sources are fine
		{"0.1.0.1", "10.0.0.2", martianNone},           // 0.0.0.0/8 is unicast now
		{"240.1.2.3", "10.0.0.2", martianNone},         // so is 240.0.0.0/4
		{"10.0.0.255", "10.0.0.2", martianNone},        // rp_filter 0 looks at our addresses only
		{"0.0.0.0", "255.255.255.255", martianNone},    // DHCP
		{"0.0.0.0", "0.0.0.0", martianNone},            // brd_input too
		{"10.0.0.1", "255.255.255.255", martianNone},   //
		{"224.0.0.1", "10.0.0.2", martianSource},       // multicast source
		{"255.255.255.255", "10.0.0.2", martianSource}, // limited broadcast source
		{"0.0.0.0", "10.0.0.2", martianSource},         // exactly 0.0.0.0, to unicast
		{"127.0.0.1", "10.0.0.2", martianSource},       // loopback from a link
		{"127.9.9.9", "10.0.0.2", martianSource},
		{"10.0.0.2", "10.0.0.2", martianSource},        // LAND: our own address
		{"10.0.0.2", "10.0.0.255", martianSource},      // to our directed broadcast
		{"10.0.0.2", "255.255.255.255", martianSource}, // to the limited broadcast
		{"10.0.0.1", "0.0.0.0", martianDestination},
		{"10.0.0.1", "127.0.0.1", martianDestination},
		{"127.0.0.1", "127.0.0.1", martianDestination}, // destination checked first
		{"10.0.0.2", "10.0.0.99", martianNone},         // not ours: ip_rcv's InAddrErrors
	} {
		src, dst := netip.MustParseAddr(c.src), netip.MustParseAddr(c.dst)
		got := n.in.ipRouteInputMartian(src, dst, n.in.inetAddrIsLocal(dst) || n.in.inetAddrIsBroadcast(dst))
		if got != c.want {
			t.Errorf("%s -> %s: %v, want %v", c.src, c.dst, got, c.want)
		}
	}
}

// logSink collects the stack's log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

// tcpFrame is an Ethernet frame carrying a TCP segment without options.
func tcpFrame(dstMAC, srcMAC [6]byte, src, dst netip.Addr, sport, dport uint16, seq uint32, flags uint8) []byte {
	n := netdev.EthHlen + header.IPv4MinLen + header.TCPMinLen
	f := make([]byte, n)
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: dstMAC, Source: srcMAC, Proto: netdev.ETH_P_IP})
	ip := header.Iphdr(f[netdev.EthHlen:])
	ip.Encode(header.IPFields{TotLen: n - netdev.EthHlen, TTL: 64, Protocol: IPPROTO_TCP, Saddr: src.As4(), Daddr: dst.As4()})
	ip.SetCheck()
	th := header.Tcphdr(f[netdev.EthHlen+header.IPv4MinLen:])
	th.Encode(header.TCPFields{Source: sport, Dest: dport, Seq: seq, Flags: flags, Window: 1000})
	sum := header.PseudoHeaderSum(src.As4(), dst.As4(), IPPROTO_TCP, len(th))
	th.SetCheck(header.Fold(header.Checksum(th, sum)))
	return f
}

// landNode is a stack with lo and eth0 (10.0.0.2/24) whose wire is w, a
// listener on port 7000, and its log collected.
func landNode(t *testing.T, clock ktime.Clock) (*dgNode, *ipWire, *logSink, *socket.Socket) {
	ea, eb := netdev.NewPair(0)
	n := newDgNode(t, clock, ea, 2, "10.0.0.2/24")
	logs := &logSink{}
	n.in.SetLogf(logs.logf)
	w := newIPWire(t, eb)
	ls := n.socket(t, socket.SOCK_STREAM, 0)
	if err := socket.Bind(context.Background(), ls, ap("0.0.0.0:7000")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 16); err != nil {
		t.Fatal(err)
	}
	return n, w, logs, ls
}

// TestLANDSynFromTheWire: a SYN from our own address and port to itself,
// arriving on eth0, is a martian source: no SYN-ACK, no child, counted in
// in_martian_src and logged.
func TestLANDSynFromTheWire(t *testing.T) {
	n, w, logs, ls := landNode(t, ktime.NewManual())
	w.send(tcpFrame(n.dev.HWAddr, w.mac, n.addr, n.addr, 7000, 7000, 1000, tcpFlagSYN))
	idleCheck(t, "the martian counted", func() bool { return n.in.rtStat.InMartianSrc.Load() == 1 })
	if q := skOf(ls).synQlen.Load(); q != 0 {
		t.Fatalf("the LAND SYN made %d children", q)
	}
	if got := logs.count("martian source 10.0.0.2 from 10.0.0.2, on dev eth0"); got != 1 {
		t.Fatalf("martian logged %d times: %q", got, logs.lines)
	}
	if got := logs.count("ll header: 02:00:00:00:00:02:02:00:00:00:00:99:08:00"); got != 1 {
		t.Fatalf("ll header logged %d times: %q", got, logs.lines)
	}
	select {
	case f := <-w.frames:
		t.Fatalf("answered the martian: % x", f)
	default:
	}
	if v := n.in.mib.Tcp.InSegs.Load(); v != 0 {
		t.Fatalf("TCP saw %d segments", v)
	}
}

// TestLANDSynOnLoopbackIsBounded: the same SYN where no martian check runs
// (on lo, as a local process could send it) makes a child that talks to
// itself; the out-of-window ACK limit keeps that to a handful of segments
// per tcp_invalid_ratelimit instead of a loop as fast as the CPU.
func TestLANDSynOnLoopbackIsBounded(t *testing.T) {
	clk := ktime.NewManual()
	n, _, _, _ := landNode(t, clk)
	var lo *netdev.NetDevice
	for _, d := range n.in.nd.Devices() {
		if d.Flags&netdev.IFF_LOOPBACK != 0 {
			lo = d
		}
	}
	self := n.addr
	f := tcpFrame(lo.HWAddr, lo.HWAddr, self, self, 7000, 7000, 1000, tcpFlagSYN)
	skb := netdev.AllocSkb(len(f))
	copy(skb.Put(len(f)), f)
	lo.NetifReceiveSkb(skb)

	segs := func() uint64 { return n.in.mib.Tcp.InSegs.Load() }
	// lo goes idle only when the self-connection stops answering itself:
	// a loop as fast as the CPU never lets it.
	quiet := func(what string) uint64 {
		t.Helper()
		stackIdle(t, what)
		return segs()
	}
	first := quiet("lo quiet after the LAND SYN")
	if first > 5 {
		t.Fatalf("%d segments after one SYN", first)
	}
	// Each SYN-ACK retransmission starts at most a few more.
	for i := 0; i < 3; i++ {
		clk.Advance(4 * time.Second)
	}
	if total := quiet("lo quiet after the retransmissions"); total > first+15 {
		t.Fatalf("%d segments after the retransmissions (%d after the SYN)", total, first)
	}
	if n.in.oowMib.TCPACKSkippedSynRecv.Load()+n.in.oowMib.TCPACKSkippedChallenge.Load()+n.in.oowMib.TCPACKSkippedSeq.Load() == 0 {
		t.Fatal("no ACK was rate-limited")
	}
}

// TestMartianLogRateLimited: a flood of martians is counted in full and
// logged net_ratelimit-style: a burst of 10, then, after the interval, the
// number suppressed.
func TestMartianLogRateLimited(t *testing.T) {
	clk := ktime.NewManual()
	in, dev, _ := newIPTestStack(t, clk)
	logs := &logSink{}
	in.SetLogf(logs.logf)
	p := goodUDP("x")
	header.Iphdr(p).SetSaddr([4]byte{127, 0, 0, 1})
	header.Iphdr(p).SetCheck()
	for range 100 {
		rcvIP(in, dev, p)
	}
	if v := in.rtStat.InMartianSrc.Load(); v != 100 {
		t.Fatalf("InMartianSrc = %d", v)
	}
	if got := logs.count("martian source"); got != socket.NetMsgBurst {
		t.Fatalf("%d lines logged for 100 martians", got)
	}
	clk.Advance(socket.NetMsgCost)
	rcvIP(in, dev, p)
	if got := logs.count("net_ratelimit: 90 callbacks suppressed"); got != 1 {
		t.Fatalf("no suppression count: %q", logs.lines[len(logs.lines)-2:])
	}
	if in.mib.Ip.InDelivers.Load() != 0 {
		t.Fatal("a martian was delivered")
	}
}

// TestARPClaimingOurAddress: a request or reply whose sender is one of our
// addresses does not enter the neighbour table and is not answered; the
// conflict is logged.
func TestARPClaimingOurAddress(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	logs := &logSink{}
	in.SetLogf(logs.logf)
	evil := [6]byte{0x02, 0xee, 0, 0, 0, 1}
	w.send(arpFrame(header.ARPOP_REQUEST, evil, [6]byte{}, ipv4(10, 0, 0, 2), ipv4(10, 0, 0, 2), netdev.EthBroadcast))
	w.send(arpFrame(header.ARPOP_REPLY, evil, dev.HWAddr, ipv4(10, 0, 0, 2), ipv4(10, 0, 0, 1), dev.HWAddr))
	// A good request after them is answered, so both were processed.
	w.send(arpFrame(header.ARPOP_REQUEST, w.mac, [6]byte{}, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), netdev.EthBroadcast))
	f := w.expect(netdev.ETH_P_ARP)
	if arp, _ := header.ParseArphdr(f[netdev.EthHlen:]); arp.Tip() != [4]byte{10, 0, 0, 1} {
		t.Fatalf("answered the claim: % x", f)
	}
	for _, e := range in.arp.entries() {
		if e.addr == ipv4(10, 0, 0, 2) || e.ha == evil {
			t.Fatalf("the claim entered the table: %+v", e)
		}
	}
	if got := logs.count("claims our address 10.0.0.2"); got != 2 {
		t.Fatalf("conflict logged %d times: %q", got, logs.lines)
	}
}
