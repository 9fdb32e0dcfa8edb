package inet

import (
	"context"
	"crypto/sha256"
	"net/netip"
	"sync"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// fragNeeded builds the ICMP "fragmentation needed" (RFC 1191 §4) a router
// at from sends to the source of the IPv4 packet pkt, asking for mtu, as an
// Ethernet frame from srcMAC to dstMAC.
func fragNeeded(dstMAC, srcMAC [6]byte, from netip.Addr, pkt header.Iphdr, mtu int) []byte {
	quote := pkt[:min(len(pkt), pkt.Ihl()+8)]
	body := make([]byte, header.ICMPLen+len(quote))
	h := header.Icmphdr(body)
	h.Encode(header.ICMPFields{Type: header.ICMP_DEST_UNREACH, Code: header.ICMP_FRAG_NEEDED, Sequence: uint16(mtu)})
	copy(body[header.ICMPLen:], quote)
	h.SetChecksum()
	f := make([]byte, netdev.EthHlen+header.IPv4MinLen+len(body))
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: dstMAC, Source: srcMAC, Proto: netdev.ETH_P_IP})
	header.Iphdr(f[netdev.EthHlen:]).Encode(header.IPFields{TotLen: header.IPv4MinLen + len(body), ID: 7, TTL: 64,
		Protocol: IPPROTO_ICMP, Saddr: from.As4(), Daddr: pkt.Src().As4()})
	copy(f[netdev.EthHlen+header.IPv4MinLen:], body)
	return f
}

// pmtuRouter stands where a router with a smaller next-hop MTU would: a
// driver wrapped round the far end of the wire that receives every frame
// the near stack sends and lets through only IPv4 packets of at most mtu
// bytes. A bigger one with DF is dropped and answered, back down the wire,
// with "fragmentation needed" (RFC 1191 §4, as Linux's ip_forward does);
// one without DF is dropped and counted (a test of DF must not pass it).
type pmtuRouter struct {
	inner netdev.Driver
	addr  netip.Addr // the router's address, the source of its ICMP

	mu       sync.Mutex
	mtu      int // protected by mu
	sentICMP int
	dropped  int // too big without DF
	largest  int // the largest packet let through
}

func (r *pmtuRouter) Xmit(skb *netdev.SkBuff) error { return r.inner.Xmit(skb) }
func (r *pmtuRouter) Close() error                  { return r.inner.Close() }

func (r *pmtuRouter) Receive(rx func(*netdev.SkBuff)) error {
	return r.inner.Receive(func(skb *netdev.SkBuff) {
		f := skb.Data()
		eth, ok := netdev.ParseEthhdr(f)
		if !ok || eth.Proto() != netdev.ETH_P_IP || len(f) < netdev.EthHlen+header.IPv4MinLen {
			rx(skb)
			return
		}
		iph := header.Iphdr(f[netdev.EthHlen:])
		r.mu.Lock()
		if n := iph.TotLen(); n > r.mtu {
			if iph.FragOff()&header.IP_DF != 0 {
				icmp := fragNeeded(eth.Source(), eth.Dest(), r.addr, iph, r.mtu)
				r.sentICMP++
				r.mu.Unlock()
				out := netdev.AllocSkb(len(icmp))
				copy(out.Put(len(icmp)), icmp)
				r.inner.Xmit(out)
				out.Free()
			} else {
				r.dropped++
				r.mu.Unlock()
			}
			skb.Free()
			return
		}
		r.largest = max(r.largest, iph.TotLen())
		r.mu.Unlock()
		rx(skb)
	})
}

// newPMTUPair is two stacks on one wire, a at 10.0.0.1 and b at 10.0.0.2,
// both with 1500-byte devices, and a pmtuRouter of MTU mtu on the wire in
// front of b, so what a sends b crosses a path of MTU mtu.
func newPMTUPair(t *testing.T, mtu int) (a, b *tcpHost, r *pmtuRouter) {
	t.Helper()
	pa, pb := netdev.NewPair(4096)
	r = &pmtuRouter{inner: pb, addr: ipv4(10, 0, 0, 254), mtu: mtu}
	clock := ktime.NewReal()
	mk := func(drv netdev.Driver, last byte) *tcpHost {
		addr := ipv4(10, 0, 0, last)
		h, dev := newTestHost(t, clock, drv, last, 1500, netip.PrefixFrom(addr, 24).String(), nil)
		return &tcpHost{t: t, in: h.Inet, sn: h.SockNet, dev: dev, addr: addr, sb: new(ipv4TestSB), wire: pa}
	}
	a, b = mk(pa, 1), mk(r, 2)
	tcpWires.Store(t, pa)
	t.Cleanup(func() { tcpWires.Delete(t) })
	return a, b, r
}

// TestPMTUTCPTransferShrinksMSS: a transfer into a path narrower than the
// devices at both ends completes, as on Linux: the router's "fragmentation
// needed" lowers the route's MTU (IP_MTU reads it), tcp_v4_mtu_reduced
// cuts the MSS to fit and resends what was dropped, and after that every
// segment crosses the router. Without path MTU discovery the full-size
// segments are dropped for ever and the transfer never ends; without
// tcp_simple_retransmit SACK recovery would resend them, but cut ssthresh.
func TestPMTUTCPTransferShrinksMSS(t *testing.T) {
	const pathMTU = 1000
	a, b, r := newPMTUPair(t, pathMTU)
	cs, ss, _ := tcpConnPair(t, a, b, 5001)
	tp := skOf(cs)
	if mss := withSk(tp, func(tp *tcpSock) int { return tp.mssCache }); mss != 1500-40-12 {
		t.Fatalf("mss before = %d, want 1448", mss)
	}
	data := testPayload(2<<20, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		err := writeAll(ctx, cs, data)
		socket.Shutdown(cs, socket.SHUT_WR)
		errc <- err
	}()
	n, sum, err := readAllHash(ctx, ss)
	if err != nil || n != len(data) {
		t.Fatalf("read %d bytes, %v; want %d", n, err, len(data))
	}
	if err := <-errc; err != nil {
		t.Fatal("write:", err)
	}
	if sum != sha256.Sum256(data) {
		t.Fatal("data corrupted")
	}
	if mss := withSk(tp, func(tp *tcpSock) int { return tp.mssCache }); mss != pathMTU-40-12 {
		t.Errorf("mss after = %d, want %d", mss, pathMTU-40-12)
	}
	// The drops were the path's MTU, not congestion: tcp_simple_retransmit
	// resent them without cutting ssthresh (fast recovery would have).
	if ss := withSk(tp, func(tp *tcpSock) uint32 { return tp.sndSsthresh }); ss != tcpInfiniteSsthr {
		t.Errorf("ssthresh %d after the MTU drops, want it untouched", ss)
	}
	if v, err := socket.Getsockopt(cs, socket.SOL_IP, socket.IP_MTU); err != nil || v != pathMTU {
		t.Errorf("IP_MTU = %d, %v; want %d", v, err, pathMTU)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sentICMP == 0 || r.largest > pathMTU || r.dropped != 0 {
		t.Errorf("router: %d ICMP sent, largest passed %d, %d dropped without DF", r.sentICMP, r.largest, r.dropped)
	}
	// A handful of segments were in flight when the first ICMP came back;
	// after it, none should have needed another.
	if r.sentICMP > 64 {
		t.Errorf("router sent %d ICMP messages: the sender kept sending full-size segments", r.sentICMP)
	}
}

// TestPMTUTCPDontIgnoresRouter: with IP_PMTUDISC_DONT, TCP sends without
// DF and keeps its MSS (tcp_v4_mtu_reduced acts only for the other
// modes); the route still learns the MTU. A router that cannot fragment
// then drops the big segments, so only the handshake is checked.
func TestPMTUTCPDontSendsWithoutDF(t *testing.T) {
	a, b, r := newPMTUPair(t, 1500)
	ls := b.listen(5002)
	cs := a.socket()
	if err := socket.Setsockopt(cs, socket.SOL_IP, socket.IP_MTU_DISCOVER, socket.IP_PMTUDISC_DONT); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := socket.Connect(ctx, cs, netip.AddrPortFrom(b.addr, 5002), 0); err != nil {
		t.Fatal(err)
	}
	ss := b.accept(ls)
	r.mu.Lock()
	r.mtu = 1000
	r.mu.Unlock()
	if err := writeAll(ctx, cs, testPayload(20000, 1)); err != nil {
		t.Fatal(err)
	}
	tcpWaitFor(t, "dropped segments", 5*time.Second, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.dropped > 0
	})
	r.mu.Lock()
	icmp := r.sentICMP
	r.mu.Unlock()
	if icmp != 0 {
		t.Errorf("router answered %d DF packets; DONT should send none", icmp)
	}
	socket.SockRelease(ss)
	socket.SockRelease(cs)
	socket.SockRelease(ls)
}

// sentIP is the next IPv4 frame the stack sent, from its IP header.
func sentIP(t *testing.T, w *ipWire) header.Iphdr {
	t.Helper()
	return header.Iphdr(w.expect(netdev.ETH_P_IP)[netdev.EthHlen:])
}

func getInt(t *testing.T, s *socket.Socket, level, opt int) (int, error) {
	t.Helper()
	return socket.Getsockopt(s, level, opt)
}

// TestPMTUDatagram walks a connected UDP socket through Linux's rules:
// DF on what fits the path MTU (IP_PMTUDISC_WANT), fragments without DF
// beyond it, EMSGSIZE with IP_PMTUDISC_DO, the device MTU with PROBE;
// "fragmentation needed" lowers IP_MTU and leaves EMSGSIZE in sk_err; the
// learnt MTU never grows from an ICMP, is clamped and locked at min_pmtu
// (WANT then clears DF), and expires after mtu_expires on the clock.
func TestPMTUDatagram(t *testing.T) {
	clock := ktime.NewManual()
	clock.Advance(time.Second) // the ICMP rate limit reads 0 as never started
	in, dev, w := newIPTestStack(t, clock)
	peer := ipv4(10, 0, 0, 1)
	in.neighUpdate(dev, peer, w.mac, true)
	sb := &ipv4TestSB{}
	s, err := socket.SockCreate(t.Context(), in.sn, sb, socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer socket.SockRelease(s)
	if _, err := getInt(t, s, socket.SOL_IP, socket.IP_MTU); err != socket.ENOTCONN {
		t.Errorf("IP_MTU unconnected: %v, want ENOTCONN", err)
	}
	if v, _ := getInt(t, s, socket.SOL_IP, socket.IP_MTU_DISCOVER); v != socket.IP_PMTUDISC_WANT {
		t.Errorf("IP_MTU_DISCOVER default %d, want WANT (1)", v)
	}
	if err := socket.Setsockopt(s, socket.SOL_IP, socket.IP_MTU_DISCOVER, 6); err != socket.EINVAL {
		t.Errorf("IP_MTU_DISCOVER 6: %v, want EINVAL", err)
	}
	if err := socket.Connect(t.Context(), s, netip.AddrPortFrom(peer, 4444), 0); err != nil {
		t.Fatal(err)
	}
	mtu := func() int {
		t.Helper()
		v, err := getInt(t, s, socket.SOL_IP, socket.IP_MTU)
		if err != nil {
			t.Fatal("IP_MTU:", err)
		}
		return v
	}
	setMode := func(m int) {
		t.Helper()
		if err := socket.Setsockopt(s, socket.SOL_IP, socket.IP_MTU_DISCOVER, m); err != nil {
			t.Fatal(err)
		}
	}
	send := func(n int) error {
		_, err := socket.Sendto(t.Context(), s, make([]byte, n), 0, netip.AddrPort{})
		return err
	}
	df := func(iph header.Iphdr) bool { return iph.FragOff()&header.IP_DF != 0 }
	icmp := func(pkt header.Iphdr, m int) {
		t.Helper()
		before := in.mib.Icmp.InMsgs.Load()
		w.send(fragNeeded(dev.HWAddr, w.mac, ipv4(10, 0, 0, 254), pkt, m))
		idleCheck(t, "the ICMP received", func() bool { return in.mib.Icmp.InMsgs.Load() == before+1 })
	}

	if m := mtu(); m != 1500 {
		t.Fatalf("IP_MTU %d, want 1500", m)
	}
	if err := send(1400); err != nil {
		t.Fatal(err)
	}
	big := sentIP(t, w)
	if !df(big) || big.TotLen() != 1428 {
		t.Fatalf("WANT, 1428 bytes on a 1500 path: DF %v len %d; want DF", df(big), big.TotLen())
	}

	icmp(big, 1280)
	if m := mtu(); m != 1280 {
		t.Errorf("IP_MTU after frag needed %d, want 1280", m)
	}
	if v, _ := getInt(t, s, socket.SOL_SOCKET, socket.SO_ERROR); v != int(socket.EMSGSIZE) {
		t.Errorf("SO_ERROR %d, want EMSGSIZE on a connected socket", v)
	}

	// WANT: too big for the path, so fragmented here, without DF.
	if err := send(1400); err != nil {
		t.Fatal(err)
	}
	f1 := sentIP(t, w)
	f2 := sentIP(t, w)
	if df(f1) || !f1.MoreFragments() || f1.TotLen() > 1280 || f2.FragOffset() == 0 {
		t.Errorf("WANT beyond the path MTU: first fragment DF %v MF %v len %d, second offset %d",
			df(f1), f1.MoreFragments(), f1.TotLen(), f2.FragOffset())
	}

	// DO: nothing fragmented; beyond the path MTU is EMSGSIZE.
	setMode(socket.IP_PMTUDISC_DO)
	if err := send(1280 - 28 + 1); err != socket.EMSGSIZE {
		t.Errorf("DO, 1 byte over the path MTU: %v, want EMSGSIZE", err)
	}
	if err := send(1280 - 28); err != nil {
		t.Fatal(err)
	}
	if p := sentIP(t, w); !df(p) || p.TotLen() != 1280 {
		t.Errorf("DO at the path MTU: DF %v len %d", df(p), p.TotLen())
	}

	// PROBE: sized by the device, DF always.
	setMode(socket.IP_PMTUDISC_PROBE)
	if err := send(1400); err != nil {
		t.Fatal(err)
	}
	if p := sentIP(t, w); !df(p) || p.TotLen() != 1428 {
		t.Errorf("PROBE: DF %v len %d, want one 1428-byte packet with DF", df(p), p.TotLen())
	}

	// An ICMP never raises the path MTU.
	setMode(socket.IP_PMTUDISC_WANT)
	icmp(big, 1400)
	getInt(t, s, socket.SOL_SOCKET, socket.SO_ERROR)
	if m := mtu(); m != 1280 {
		t.Errorf("IP_MTU after a larger frag needed %d, want 1280", m)
	}

	// It expires after mtu_expires, not before.
	clock.Advance(ipRtMtuExpires - 2*time.Second)
	if m := mtu(); m != 1280 {
		t.Errorf("IP_MTU before expiry %d, want 1280", m)
	}
	clock.Advance(2 * time.Second)
	if m := mtu(); m != 1500 {
		t.Errorf("IP_MTU after mtu_expires %d, want 1500", m)
	}

	// Below min_pmtu: clamped to 552 and locked, so WANT stops setting DF
	// and DO still sets it.
	icmp(big, 300)
	getInt(t, s, socket.SOL_SOCKET, socket.SO_ERROR)
	if m := mtu(); m != ipRtMinPmtu {
		t.Errorf("IP_MTU after frag needed 300: %d, want %d", m, ipRtMinPmtu)
	}
	if err := send(500); err != nil {
		t.Fatal(err)
	}
	if p := sentIP(t, w); df(p) {
		t.Errorf("WANT on a locked path MTU: DF set")
	}
	setMode(socket.IP_PMTUDISC_DO)
	if err := send(500); err != nil {
		t.Fatal(err)
	}
	if p := sentIP(t, w); !df(p) {
		t.Errorf("DO on a locked path MTU: DF clear")
	}

	// DONT: no DF, and the ICMP is no error to the socket (the route still
	// learns).
	clock.Advance(ipRtMtuExpires)
	in.neighUpdate(dev, peer, w.mac, true) // the wire answers no ARP
	setMode(socket.IP_PMTUDISC_DONT)
	if err := send(100); err != nil {
		t.Fatal(err)
	}
	if p := sentIP(t, w); df(p) {
		t.Errorf("DONT: DF set")
	}
	icmp(big, 1000)
	if v, _ := getInt(t, s, socket.SOL_SOCKET, socket.SO_ERROR); v != 0 {
		t.Errorf("DONT: SO_ERROR %d after frag needed, want 0", v)
	}
	if m := mtu(); m != 1000 {
		t.Errorf("DONT: IP_MTU %d, want 1000", m)
	}
}

// TestPMTUExceptionsBounded: destinations are the ICMP sender's choice,
// so the table of learnt MTUs stays bounded, dropping the oldest.
func TestPMTUExceptionsBounded(t *testing.T) {
	var tab fnheTable
	for i := range fnheMax + 10 {
		a := netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})
		tab.update(a, fibNhException{pmtu: 1000, expires: time.Hour, stamp: time.Duration(i)})
	}
	if n := len(tab.m); n != fnheMax {
		t.Fatalf("%d exceptions, want %d", n, fnheMax)
	}
	if _, ok := tab.lookup(netip.AddrFrom4([4]byte{10, 1, 0, 0}), nil, netip.Addr{}, 0); ok {
		t.Error("the oldest exception survived")
	}
	last := fnheMax + 9
	if _, ok := tab.lookup(netip.AddrFrom4([4]byte{10, 1, byte(last >> 8), byte(last)}), nil, netip.Addr{}, 0); !ok {
		t.Error("the newest exception is missing")
	}
}

// TestPMTUResetHasDF: a RST comes from the control socket tcp_sk_init
// makes IP_PMTUDISC_DO, so it carries DF and IP ID 0, as Linux's do.
func TestPMTUResetHasDF(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	in.neighUpdate(dev, ipv4(10, 0, 0, 1), w.mac, true)
	w.send(tcpFrame(dev.HWAddr, w.mac, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 40000, 9, 1000, tcpFlagSYN))
	rst := sentIP(t, w)
	if rst.Protocol() != IPPROTO_TCP || header.Tcphdr(rst[rst.Ihl():]).Flags()&tcpFlagRST == 0 {
		t.Fatalf("not a RST: % x", rst)
	}
	if rst.FragOff()&header.IP_DF == 0 || rst.ID() != 0 {
		t.Errorf("RST: DF %v, ID %d; want DF and ID 0", rst.FragOff()&header.IP_DF != 0, rst.ID())
	}
}
