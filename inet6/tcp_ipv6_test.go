package inet6

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
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

// gatedHosts is a (2001:2::1) and b (::2) on one wire on the manual clock,
// knowing each other's link addresses, with a gate round a's device
// (gateA) or b's.
func gatedHosts(t *testing.T, gateA bool) (a, b *udpHost, pa, pb *netdev.PairEnd, g *gate, clk *ktime.Manual) {
	pa, pb = netdev.NewPair(1024)
	clk = ktime.NewManual()
	var da, db netdev.Driver = pa, pb
	if gateA {
		g = &gate{inner: pa}
		da = g
	} else {
		g = &gate{inner: pb}
		db = g
	}
	a = newUDPHost(t, da, clk, 1)
	b = newUDPHost(t, db, clk, 2)
	registerQueues(t, pa, pb)
	neighbours(a, b)
	return a, b, pa, pb, g, clk
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
	ls := b.stream(t)
	if err := socket.Bind(context.Background(), ls, netip.AddrPortFrom(netip.IPv6Unspecified(), port)); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 8); err != nil {
		t.Fatal(err)
	}
	return tcpv6Connect(t, a, b, ls, port, step)
}

// tcpv6Connect connects a new socket of a to b's listener ls on port
// and accepts it there.
func tcpv6Connect(t *testing.T, a, b *udpHost, ls *socket.Socket, port uint16, step func()) (c, s *socket.Socket) {
	t.Helper()
	c = a.stream(t)
	if err := socket.Connect(context.Background(), c, netip.AddrPortFrom(b.addr, port), socket.O_NONBLOCK); err != socket.EINPROGRESS {
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

// tcp_v6_err's errors, with the sequence number check of RFC 5927 §4.1:
// port unreachable for our SYN fails the connect with ECONNREFUSED;
// the same error quoting a sequence number not in flight is ignored
// (OutOfWindowIcmps) and the handshake completes; on an established
// connection administratively prohibited is soft: the connection lives
// on, and the error is what a later timeout reports (EACCES, not
// ETIMEDOUT); an error for a 4-tuple nobody uses counts as
// Icmp6InErrors. A packet too big that would raise the MSS is ignored.
func TestTCPv6Err(t *testing.T) {
	a, b, _, pb, g, clk := gatedHosts(t, true)
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
	toA(icmp6Error(b.addr, header.Ipv6hdr(stale).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, 0, stale))
	if st := statusField(t, c, "sk_state"); st != "SYN_SENT" {
		t.Fatalf("after an out-of-window error: %s, want SYN_SENT", st)
	}
	if v := ext("OutOfWindowIcmps"); v != "1" {
		t.Fatalf("OutOfWindowIcmps %s, want 1", v)
	}
	toA(icmp6Error(b.addr, header.Ipv6hdr(syn).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, 0, syn))
	if st := statusField(t, c, "sk_state"); st != "CLOSE" {
		t.Fatalf("after port unreachable: %s, want CLOSE", st)
	}
	if err := socket.Connect(ctx, c, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK); err != socket.ECONNREFUSED {
		t.Fatalf("connect after port unreachable: %v, want ECONNREFUSED", err)
	}
	// The same error once more: no sock has the 4-tuple now.
	before := snmp6Field(t, a, "Icmp6InErrors")
	toA(icmp6Error(b.addr, header.Ipv6hdr(syn).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, 0, syn))
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
	toA(icmp6Error(b.addr, header.Ipv6hdr(seg).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_ADM_PROHIBITED, 0, seg))
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
	a, b, pa, _, g, _ := gatedHosts(t, false)
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
	toB(icmp6Error(a.addr, header.Ipv6hdr(other).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, 0, other))
	if n := inuse(); n != "2" {
		t.Fatalf("TCP6 inuse %s after an error not about the SYN-ACK, want 2", n)
	}
	drops := procField(t, b, "netstat", "TcpExt:", "ListenDrops")
	g.set(false)
	g.mu.Lock()
	g.last = nil
	g.mu.Unlock()
	toB(icmp6Error(a.addr, header.Ipv6hdr(synack).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, 0, synack))
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

// tcp6Packet is an IPv6 packet from src to dst holding the TCP segment
// f describes, its checksum set.
func tcp6Packet(src, dst netip.Addr, f inethdr.TCPFields) []byte {
	seg := make([]byte, inethdr.TCPMinLen+len(f.Options))
	inethdr.Tcphdr(seg).Encode(f)
	inethdr.Tcphdr(seg).SetCheck(header.Fold(header.Checksum(seg, header.PseudoHeaderSum(src.As16(), dst.As16(), header.NEXTHDR_TCP, len(seg)))))
	return ip6Packet(src, dst, header.NEXTHDR_TCP, 64, seg)
}

// tcp6Syn is a SYN from src:sport to dst:dport with sequence number seq
// and an MSS option of mss, as a flooder (or a client) sends it.
func tcp6Syn(src, dst netip.Addr, sport, dport uint16, seq uint32, mss uint16) []byte {
	opts := []byte{inethdr.TCPOPT_MSS, 4, 0, 0}
	binary.BigEndian.PutUint16(opts[2:], mss)
	return tcp6Packet(src, dst, inethdr.TCPFields{Source: sport, Dest: dport, Seq: seq, Flags: 0x02, Window: 65535, Options: opts})
}

// SYN cookies over IPv6 (net/ipv6/syncookies.c): with the listener's SYN
// queue full of spoofed requests, a real client's SYN is answered with a
// cookie (SyncookiesSent, TCPReqQFullDoCookies, the flood logged once as
// request_sock_TCPv6's), its ACK makes the connection (SyncookiesRecv),
// whose MSS is the client's rounded down to net/ipv6's table (1440 of
// 1500-60 stays 1440; 1400 becomes 1220), and data crosses it both ways.
// A forged ACK fails the check (SyncookiesFailed) and is reset.
func TestTCPv6Syncookies(t *testing.T) {
	a, b, pa, _, g, clk := gatedHosts(t, false)
	var logMu sync.Mutex
	var logged []string
	b.h.Inet.SetLogf(func(format string, args ...any) {
		logMu.Lock()
		logged = append(logged, fmt.Sprintf(format, args...))
		logMu.Unlock()
	})
	step := func() { stackIdle(t); clk.Advance(5 * time.Millisecond) }
	ls := b.stream(t)
	if err := socket.Bind(t.Context(), ls, netip.MustParseAddrPort("[::]:90")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 2); err != nil {
		t.Fatal(err)
	}
	// The flood: SYNs from on-link sources whose link addresses are no
	// host's, so b's SYN-ACKs go unanswered and the requests stay.
	for i := range 8 {
		src := netip.AddrFrom16([16]byte{0x20, 0x01, 0, 2, 13: 9, 14: byte(i >> 8), 15: byte(i)})
		b.n.ndTbl.NeighUpdate(b.dev, src, [6]byte{0x02, 0, 0, 0, 9, byte(i)}, true)
		inject(t, pa, [6]byte{0x02, 0, 0, 0, 9, byte(i)}, b.dev.HWAddr, tcp6Syn(src, b.addr, uint16(20000+i), 90, uint32(i)<<20, 1440))
	}
	ext := func(name string) int {
		v, _ := strconv.Atoi(procField(t, b, "netstat", "TcpExt:", name))
		return v
	}
	if n := ext("SyncookiesSent"); n == 0 {
		t.Fatal("SyncookiesSent 0 after a SYN flood past the backlog")
	}
	sent := ext("SyncookiesSent")
	c, s := tcpv6Connect(t, a, b, ls, 90, step)
	if n := ext("SyncookiesSent"); n != sent+1 {
		t.Fatalf("SyncookiesSent %d, want %d: the client's SYN got no cookie", n, sent+1)
	}
	if n := ext("SyncookiesRecv"); n != 1 {
		t.Fatalf("SyncookiesRecv %d, want 1", n)
	}
	if n := ext("TCPReqQFullDoCookies"); n < sent+1 {
		t.Fatalf("TCPReqQFullDoCookies %d, want at least %d", n, sent+1)
	}
	logMu.Lock()
	if len(logged) != 1 || logged[0] != "request_sock_TCPv6: Possible SYN flooding on port [::]:90. Sending cookies." {
		t.Errorf("logged %q", logged)
	}
	logMu.Unlock()
	if mss := statusField(t, s, "mss"); mss != "1428" {
		t.Fatalf("server's mss %s, want 1440 from msstab6 less the timestamps", mss)
	}
	up, down := bytes.Repeat([]byte("cookie "), 20000), bytes.Repeat([]byte("monster "), 10000)
	var cIn, sIn []byte
	cOut, sOut := up, down
	for i := 0; len(sIn) < len(up) || len(cIn) < len(down); i++ {
		if i == 10000 {
			t.Fatalf("server got %d of %d, client %d of %d", len(sIn), len(up), len(cIn), len(down))
		}
		pump(t, c, &cOut, &cIn)
		pump(t, s, &sOut, &sIn)
		step()
	}
	if !bytes.Equal(sIn, up) || !bytes.Equal(cIn, down) {
		t.Fatal("data differs")
	}
	// A handshake by hand from a peer of MSS 1400: the cookie encodes
	// 1220 (IPv6's table has nothing between 1220 and 1420; IPv4's would
	// give 1300), and its ACK alone makes the connection.
	peer, peerMAC := netip.MustParseAddr("2001:2::9:55"), [6]byte{0x02, 0, 0, 0, 9, 0x55}
	b.n.ndTbl.NeighUpdate(b.dev, peer, peerMAC, true)
	inject(t, pa, peerMAC, b.dev.HWAddr, tcp6Syn(peer, b.addr, 30001, 90, 5000, 1400))
	synack := inethdr.Tcphdr(g.lastTCP().Payload())
	if synack.Flags() != 0x12 || synack.AckSeq() != 5001 {
		t.Fatalf("no SYN-ACK to the hand-made SYN (flags %#x)", synack.Flags())
	}
	inject(t, pa, peerMAC, b.dev.HWAddr, tcp6Packet(peer, b.addr,
		inethdr.TCPFields{Source: 30001, Dest: 90, Seq: 5001, AckSeq: synack.Seq() + 1, Flags: 0x10, Window: 1000}))
	hs := accept6(t, b, ls, step)
	if mss := statusField(t, hs, "mss"); mss != "1220" {
		t.Fatalf("mss %s from a cookie for a peer of MSS 1400, want msstab6's 1220", mss)
	}
	if n := ext("SyncookiesRecv"); n != 2 {
		t.Fatalf("SyncookiesRecv %d, want 2", n)
	}

	// A forged handshake ACK: no cookie of ours.
	failed := ext("SyncookiesFailed")
	src := netip.MustParseAddr("2001:2::9:77")
	b.n.ndTbl.NeighUpdate(b.dev, src, [6]byte{0x02, 0, 0, 0, 9, 0x77}, true)
	inject(t, pa, [6]byte{0x02, 0, 0, 0, 9, 0x77}, b.dev.HWAddr, tcp6Packet(src, b.addr,
		inethdr.TCPFields{Source: 30000, Dest: 90, Seq: 1000, AckSeq: 0xdeadbeef, Flags: 0x10, Window: 100}))
	if n := ext("SyncookiesFailed"); n != failed+1 {
		t.Fatalf("SyncookiesFailed %d after a forged ACK, want %d", n, failed+1)
	}
	if rst := inethdr.Tcphdr(g.lastTCP().Payload()); rst.Flags()&0x04 == 0 || rst.Seq() != 0xdeadbeef {
		t.Fatalf("the forged ACK got flags %#x seq %#x, want a RST at its ACK", rst.Flags(), rst.Seq())
	}
}

// RFC 6069 (tcp_ld_RTO_revert): while the segment at SND.UNA is being
// retransmitted with a backed-off RTO, destination unreachable, no route,
// quoting it undoes one backoff step (the RTO halves); an unreachable of
// another code, or one quoting another sequence number, leaves the RTO as
// it is.
func TestTCPv6RTORevert(t *testing.T) {
	a, b, _, pb, g, clk := gatedHosts(t, true)
	for _, h := range []*udpHost{a, b} {
		h.h.Inet.SetTCPTimers(20*time.Millisecond, 0)
	}
	c, _ := tcpv6Pair(t, a, b, 83, func() { stackIdle(t); clk.Advance(5 * time.Millisecond) })
	g.set(true)
	if _, err := socket.Sendto(context.Background(), c, []byte("x"), socket.MSG_DONTWAIT, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	field := func(key string) int {
		v, _ := strconv.Atoi(statusField(t, c, key))
		return v
	}
	rto := func() int { return field("rto_ms") }
	for i := 0; field("retransmits") < 3; i++ {
		if i == 10000 {
			t.Fatal("no third retransmission")
		}
		stackIdle(t)
		clk.Advance(10 * time.Millisecond)
	}
	stackIdle(t)
	seg := g.lastTCP()
	toA := func(pkt []byte) { inject(t, pb, b.dev.HWAddr, a.dev.HWAddr, pkt) }
	backedOff := rto()
	toA(icmp6Error(b.addr, header.Ipv6hdr(seg).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_ADM_PROHIBITED, 0, seg))
	other := append(header.Ipv6hdr(nil), seg...)
	th := inethdr.Tcphdr(other.Payload())
	binary.BigEndian.PutUint32(th[4:], th.Seq()+1) // SND.NXT: in flight, but not SND.UNA
	toA(icmp6Error(b.addr, header.Ipv6hdr(other).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_NOROUTE, 0, other))
	if r := rto(); r != backedOff {
		t.Fatalf("rto %d ms after unreachables that allow no revert, want %d", r, backedOff)
	}
	toA(icmp6Error(b.addr, header.Ipv6hdr(seg).Src(), header.ICMPV6_DEST_UNREACH, header.ICMPV6_NOROUTE, 0, seg))
	if r := rto(); 2*r != backedOff {
		t.Fatalf("rto %d ms after no route for SND.UNA, want half of %d", r, backedOff)
	}
}
