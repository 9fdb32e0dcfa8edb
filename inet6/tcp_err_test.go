package inet6

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	inethdr "sockfs/inet/header"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// ptbRouter stands where an IPv6 router with a narrower next hop would: a
// driver round the far end of the wire that lets through only IPv6
// packets of at most mtu bytes; a bigger one is dropped and answered,
// back down the wire, with packet too big (RFC 4443 §3.2, as Linux's
// ip6_forward does: IPv6 routers never fragment).
type ptbRouter struct {
	inner netdev.Driver
	addr  netip.Addr // the router's, the source of its ICMPv6
	mtu   int

	mu      sync.Mutex
	sentPTB int // protected by mu
	largest int // the largest packet let through
}

func (r *ptbRouter) Xmit(skb *netdev.SkBuff) error { return r.inner.Xmit(skb) }
func (r *ptbRouter) Close() error                  { return r.inner.Close() }

func (r *ptbRouter) Receive(rx func(*netdev.SkBuff)) error {
	return r.inner.Receive(func(skb *netdev.SkBuff) {
		f := skb.Data()
		eth, ok := netdev.ParseEthhdr(f)
		if !ok || eth.Proto() != netdev.ETH_P_IPV6 || len(f) < netdev.EthHlen+header.IPv6Len {
			rx(skb)
			return
		}
		pkt := header.Ipv6hdr(f[netdev.EthHlen:])
		if len(pkt) <= r.mtu {
			r.mu.Lock()
			r.largest = max(r.largest, len(pkt))
			r.mu.Unlock()
			rx(skb)
			return
		}
		icmp := packetTooBig(r.addr, pkt.Src(), uint32(r.mtu), pkt)
		out := netdev.AllocSkb(netdev.EthHlen + len(icmp))
		b := out.Put(netdev.EthHlen + len(icmp))
		netdev.Ethhdr(b).Encode(netdev.EthFields{Dest: eth.Source(), Source: eth.Dest(), Proto: netdev.ETH_P_IPV6})
		copy(b[netdev.EthHlen:], icmp)
		r.mu.Lock()
		r.sentPTB++
		r.mu.Unlock()
		r.inner.Xmit(out)
		out.Free()
		skb.Free()
	})
}

// statusField is key's value in sock's status file (tcp_get_info's view).
func statusField(t *testing.T, sock *socket.Socket, key string) string {
	t.Helper()
	for _, line := range strings.Split(string(socket.Status(sock)), "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			return v
		}
	}
	t.Fatalf("status has no %s:\n%s", key, socket.Status(sock))
	return ""
}

// neighbours has a and b know each other's link address, so that what a
// gate drops is only what a test means it to.
func neighbours(a, b *udpHost) {
	a.n.ndTbl.NeighUpdate(a.dev, b.addr, b.dev.HWAddr, true)
	b.n.ndTbl.NeighUpdate(b.dev, a.addr, a.dev.HWAddr, true)
}

// snmp6Field is name's value in u's net/snmp6 (a "name value" line).
func snmp6Field(t *testing.T, u *udpHost, name string) string {
	t.Helper()
	for _, f := range u.h.SockNet.ProcNetFiles() {
		if f.Name != "snmp6" {
			continue
		}
		var b bytes.Buffer
		f.Show(&b)
		sc := bufio.NewScanner(&b)
		for sc.Scan() {
			if fs := strings.Fields(sc.Text()); len(fs) == 2 && fs[0] == name {
				return fs[1]
			}
		}
	}
	t.Fatalf("net/snmp6 has no %s", name)
	return ""
}

// tcpv6Pair is a connected TCP over IPv6 pair between a and b on the
// manual clock (every call nonblocking, step moving the clock on):
// a's socket c connected to b's s, accepted from a listener on port.
func tcpv6Pair(t *testing.T, a, b *udpHost, port uint16, step func()) (c, s *socket.Socket) {
	t.Helper()
	ctx := context.Background()
	ls := b.stream(t)
	if err := socket.Bind(ctx, ls, netip.AddrPortFrom(netip.IPv6Unspecified(), port)); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 8); err != nil {
		t.Fatal(err)
	}
	c = a.stream(t)
	if err := socket.Connect(ctx, c, netip.AddrPortFrom(b.addr, port), socket.O_NONBLOCK); err != socket.EINPROGRESS {
		t.Fatalf("nonblocking connect: %v, want EINPROGRESS", err)
	}
	return c, accept6(t, b, ls, step)
}

// RFC 8201 for TCP (tcp_v6_err, tcp_v6_mtu_reduced): a transfer into a
// path narrower than both devices completes; the router's packet too big
// lowers the route's MTU (IPV6_MTU reads it), the MSS comes down to fit
// (1280 less the IPv6 and TCP headers and the timestamp option) and what
// was dropped is resent cut to size without a congestion response
// (tcp_simple_retransmit: ssthresh stays infinite). Without tcp_v6_err
// the full-size segments would be dropped for ever.
func TestTCPv6PacketTooBig(t *testing.T) {
	pa, pb := netdev.NewPair(4096)
	clk := ktime.NewManual()
	r := &ptbRouter{inner: pb, addr: netip.MustParseAddr("2001:2::fe"), mtu: header.IPV6_MIN_MTU}
	a := newUDPHost(t, pa, clk, 1)
	b := newUDPHost(t, r, clk, 2)
	registerQueues(t, pb)
	for _, h := range []*udpHost{a, b} {
		h.h.Inet.SetTCPTimers(20*time.Millisecond, 0)
	}
	step := func() { stackIdle(t); clk.Advance(5 * time.Millisecond) }
	c, s := tcpv6Pair(t, a, b, 7001, step)
	if mss := statusField(t, c, "mss"); mss != "1428" {
		t.Fatalf("mss before = %s, want 1500-40-20-12", mss)
	}
	data := make([]byte, 2<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	out := data
	var got, none []byte
	shut := false
	for i := 0; ; i++ {
		if i == 100000 {
			t.Fatalf("after %d steps the server has %d of %d bytes", i, len(got), len(data))
		}
		pump(t, c, &out, &none)
		if len(out) == 0 && !shut {
			shut = true
			// Read while established: IPV6_MTU is ENOTCONN after.
			if v, err := socket.Getsockopt(c, socket.SOL_IPV6, socket.IPV6_MTU); err != nil || v != header.IPV6_MIN_MTU {
				t.Errorf("IPV6_MTU = %d, %v; want 1280", v, err)
			}
			if err := socket.Shutdown(c, socket.SHUT_WR); err != nil {
				t.Fatal(err)
			}
		}
		var empty []byte
		if pump(t, s, &empty, &got) {
			break
		}
		step()
	}
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("server got %d bytes of %d, or they differ", len(got), len(data))
	}
	if mss := statusField(t, c, "mss"); mss != "1208" {
		t.Errorf("mss after = %s, want 1280-40-20-12", mss)
	}
	if ss := statusField(t, c, "ssthresh"); ss != "infinite" {
		t.Errorf("ssthresh %s after the MTU drops, want it untouched", ss)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// A window's worth was in flight when the first packet too big came
	// back; after it no full-size segment should have left.
	if r.sentPTB == 0 || r.sentPTB > 64 || r.largest > r.mtu {
		t.Errorf("router: %d packet too big sent, largest passed %d", r.sentPTB, r.largest)
	}
}

// gate is a driver that drops the TCP packets its stack sends while
// closed (neighbour discovery goes on), keeping the last one sent.
type gate struct {
	inner netdev.Driver
	mu    sync.Mutex
	drop  bool   // protected by mu
	last  []byte // the last TCP packet sent (IPv6 header on), protected by mu
}

func (g *gate) Receive(rx func(*netdev.SkBuff)) error { return g.inner.Receive(rx) }
func (g *gate) Close() error                          { return g.inner.Close() }
func (g *gate) Xmit(skb *netdev.SkBuff) error {
	f := skb.Data()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(f) > netdev.EthHlen+header.IPv6Len && header.Ipv6hdr(f[netdev.EthHlen:]).Nexthdr() == header.NEXTHDR_TCP {
		g.last = append([]byte(nil), f[netdev.EthHlen:]...)
		if g.drop {
			return nil
		}
	}
	return g.inner.Xmit(skb)
}

func (g *gate) set(drop bool) { g.mu.Lock(); g.drop = drop; g.mu.Unlock() }

// lastTCP is the last TCP packet a's stack sent, nil when none.
func (g *gate) lastTCP() header.Ipv6hdr {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last
}

// inject puts the IPv6 packet pkt on the wire from the end end, as a
// frame from src to dst, and waits for the stacks to take it.
func inject(t *testing.T, end *netdev.PairEnd, src, dst [6]byte, pkt []byte) {
	t.Helper()
	skb := netdev.AllocSkb(netdev.EthHlen + len(pkt))
	f := skb.Put(netdev.EthHlen + len(pkt))
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: dst, Source: src, Proto: netdev.ETH_P_IPV6})
	copy(f[netdev.EthHlen:], pkt)
	if err := end.Xmit(skb); err != nil {
		t.Fatal(err)
	}
	skb.Free()
	stackIdle(t)
}

// icmp6Error is an ICMPv6 error of type typ and code from the peer about
// our packet pkt (RFC 4443 §3: as much of it as fits).
func icmp6Error(from netip.Addr, typ, code uint8, pkt header.Ipv6hdr) []byte {
	q := min(len(pkt), header.IPV6_MIN_MTU-header.IPv6Len-header.ICMP6Len)
	b := make([]byte, header.ICMP6Len+q)
	m := header.Icmp6hdr(b)
	m.SetType(typ)
	b[1] = code
	copy(b[header.ICMP6Len:], pkt[:q])
	m.SetChecksum(from.As16(), pkt.Src().As16())
	return ip6Packet(from, pkt.Src(), header.NEXTHDR_ICMP, 64, b)
}

// tcp_v6_err's errors, with the sequence number check of RFC 5927 §4.1:
// port unreachable for our SYN fails the connect with ECONNREFUSED;
// the same error quoting a sequence number not in flight is ignored
// (OutOfWindowIcmps) and the handshake completes; on an established
// connection administratively prohibited is soft: the connection lives
// on, and the error is what a later timeout reports (EACCES, not
// ETIMEDOUT); an error for a 4-tuple nobody uses counts as
// Icmp6InErrors. A packet too big that would raise the MSS is ignored.
func TestTCPv6Err(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	g := &gate{inner: pa}
	a := newUDPHost(t, g, clk, 1)
	b := newUDPHost(t, pb, clk, 2)
	registerQueues(t, pa)
	neighbours(a, b)
	for _, h := range []*udpHost{a, b} {
		h.h.Inet.SetTCPTimers(20*time.Millisecond, 0)
	}
	step := func() { stackIdle(t); clk.Advance(5 * time.Millisecond) }
	ctx := context.Background()
	toA := func(pkt []byte) { inject(t, pb, b.dev.HWAddr, a.dev.HWAddr, pkt) }
	ext := func(name string) string { return procField(t, a, "netstat", "TcpExt:", name) }

	// Port unreachable for our SYN: connect fails with ECONNREFUSED.
	g.set(true)
	c := a.stream(t)
	if err := socket.Connect(ctx, c, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK); err != socket.EINPROGRESS {
		t.Fatalf("connect: %v", err)
	}
	stackIdle(t)
	syn := g.lastTCP()
	if syn == nil {
		t.Fatal("no SYN sent")
	}
	// First quoting a sequence number that is not in flight: ignored.
	stale := append(header.Ipv6hdr(nil), syn...)
	th := inethdr.Tcphdr(stale.Payload())
	binary.BigEndian.PutUint32(th[4:], th.Seq()-1000)
	toA(icmp6Error(b.addr, header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, stale))
	if st := statusField(t, c, "sk_state"); st != "SYN_SENT" {
		t.Fatalf("after an out-of-window error: %s, want SYN_SENT", st)
	}
	if v := ext("OutOfWindowIcmps"); v != "1" {
		t.Fatalf("OutOfWindowIcmps %s, want 1", v)
	}
	toA(icmp6Error(b.addr, header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, syn))
	if st := statusField(t, c, "sk_state"); st != "CLOSE" {
		t.Fatalf("after port unreachable: %s, want CLOSE", st)
	}
	if err := socket.Connect(ctx, c, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK); err != socket.ECONNREFUSED {
		t.Fatalf("connect after port unreachable: %v, want ECONNREFUSED", err)
	}
	// The same error once more: no sock has the 4-tuple now.
	before := snmp6Field(t, a, "Icmp6InErrors")
	toA(icmp6Error(b.addr, header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, syn))
	if after := snmp6Field(t, a, "Icmp6InErrors"); after == before {
		t.Fatalf("Icmp6InErrors stayed %s for an error nobody's segment caused", after)
	}

	// Established: administratively prohibited is a soft error.
	g.set(false)
	c, _ = tcpv6Pair(t, a, b, 81, step)
	g.set(true)
	if _, err := socket.Sendto(ctx, c, []byte("x"), socket.MSG_DONTWAIT, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	stackIdle(t)
	seg := g.lastTCP()
	// A packet too big of more than the path has is no news.
	toA(packetTooBig(b.addr, a.addr, 9000, seg))
	if mss := statusField(t, c, "mss"); mss != "1428" {
		t.Fatalf("mss %s after a packet too big of 9000, want 1428", mss)
	}
	toA(icmp6Error(b.addr, header.ICMPV6_DEST_UNREACH, header.ICMPV6_ADM_PROHIBITED, seg))
	if st := statusField(t, c, "sk_state"); st != "ESTABLISHED" {
		t.Fatalf("after administratively prohibited: %s, want ESTABLISHED", st)
	}
	if v, _ := socket.Getsockopt(c, socket.SOL_SOCKET, socket.SO_ERROR); v != 0 {
		t.Fatalf("SO_ERROR %d for a soft error, want 0", v)
	}
	for i := 0; statusField(t, c, "sk_state") != "CLOSE"; i++ {
		if i == 2000 {
			t.Fatal("the connection outlived 2000 s of retransmissions")
		}
		stackIdle(t)
		clk.Advance(time.Second)
	}
	if _, err := socket.Sendto(ctx, c, []byte("y"), socket.MSG_DONTWAIT, netip.AddrPort{}); err != socket.EACCES {
		t.Fatalf("send after the timeout: %v, want the soft error EACCES", err)
	}
}

// A request sock (a listener's child in SYN_RECV) takes an error only
// for its own SYN-ACK (tcp_req_err): one quoting another sequence number
// is ignored, a fatal one quoting its ISN drops the request without a
// reset (ListenDrops).
func TestTCPv6ReqErr(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	g := &gate{inner: pb}
	a := newUDPHost(t, pa, clk, 1)
	b := newUDPHost(t, g, clk, 2)
	registerQueues(t, pa)
	neighbours(a, b)
	ctx := context.Background()
	ls := b.stream(t)
	if err := socket.Bind(ctx, ls, netip.MustParseAddrPort("[::]:82")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 8); err != nil {
		t.Fatal(err)
	}
	g.set(true) // the SYN-ACK never reaches a
	c := a.stream(t)
	if err := socket.Connect(ctx, c, netip.AddrPortFrom(b.addr, 82), socket.O_NONBLOCK); err != socket.EINPROGRESS {
		t.Fatalf("connect: %v", err)
	}
	stackIdle(t)
	synack := g.lastTCP()
	if synack == nil || inethdr.Tcphdr(synack.Payload()).Flags() != 0x12 {
		t.Fatal("no SYN-ACK sent")
	}
	toB := func(pkt []byte) { inject(t, pa, a.dev.HWAddr, b.dev.HWAddr, pkt) }
	inuse := func() string {
		st := sockstat6(t, b)
		i := strings.Index(st, "TCP6: inuse ")
		return strings.Fields(st[i+len("TCP6: inuse "):])[0]
	}
	if n := inuse(); n != "2" {
		t.Fatalf("TCP6 inuse %s with a listener and a request, want 2", n)
	}
	other := append(header.Ipv6hdr(nil), synack...)
	th := inethdr.Tcphdr(other.Payload())
	binary.BigEndian.PutUint32(th[4:], th.Seq()+1)
	toB(icmp6Error(a.addr, header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, other))
	if n := inuse(); n != "2" {
		t.Fatalf("TCP6 inuse %s after an error not about the SYN-ACK, want 2", n)
	}
	drops := procField(t, b, "netstat", "TcpExt:", "ListenDrops")
	g.set(false)
	g.mu.Lock()
	g.last = nil
	g.mu.Unlock()
	toB(icmp6Error(a.addr, header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, synack))
	if n := inuse(); n != "1" {
		t.Fatalf("TCP6 inuse %s after port unreachable for the SYN-ACK, want 1 (the listener)", n)
	}
	if g.lastTCP() != nil {
		t.Fatal("the request was dropped with a segment, want silently")
	}
	if now := procField(t, b, "netstat", "TcpExt:", "ListenDrops"); now == drops {
		t.Fatalf("ListenDrops stayed %s", now)
	}
}
