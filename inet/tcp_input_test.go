package inet

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// PAWS (RFC 7323 §5): a segment whose timestamp is older than TS.Recent
// is an old duplicate: acked and dropped; a fresh one is taken.
func TestTCPPAWS(t *testing.T) {
	_, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	stp := skOf(ss)
	waitState(t, stp, time.Second, TCP_ESTABLISHED)
	cport := withSk(skOf(cs), func(tp *tcpSock) uint16 { return tp.Sport })
	var rcvNxt, sndNxt, tsRecent uint32
	withSk(stp, func(tp *tcpSock) bool {
		rcvNxt, sndNxt, tsRecent = tp.rcvNxt, tp.sndNxt, tp.tsRecent
		return true
	})
	ts := func(val uint32) []byte {
		o := []byte{header.TCPOPT_NOP, header.TCPOPT_NOP, header.TCPOPT_TIMESTAMP, 10, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(o[4:], val)
		return o
	}
	n := b.gate.count()
	b.injectOpts(a, cport, 80, rcvNxt, sndNxt, tcpFlagACK, 1000, ts(tsRecent-1000), []byte("stale"))
	tcpWaitFor(t, "dup ACK for the stale segment", time.Second, func() bool { return len(b.gate.segs(n)) > 0 })
	if got := withSk(stp, func(tp *tcpSock) uint32 { return tp.rcvNxt }); got != rcvNxt {
		t.Fatal("PAWS let an old segment in")
	}
	b.injectOpts(a, cport, 80, rcvNxt, sndNxt, tcpFlagACK, 1000, ts(tsRecent+1), []byte("fresh"))
	buf := make([]byte, 16)
	if n, err := socket.SockRecvmsg(context.Background(), ss, &socket.Msghdr{}, buf, 0); err != nil || string(buf[:n]) != "fresh" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	if got := withSk(stp, func(tp *tcpSock) uint32 { return tp.tsRecent }); got != tsRecent+1 {
		t.Fatalf("TS.Recent %d, want %d", got, tsRecent+1)
	}
}

// An orphan in FIN_WAIT2 whose peer never closes leaves after
// tcp_fin_timeout without a word (Linux: tcp_time_wait(TCP_FIN_WAIT2),
// then the timewait entry dies silently): the peer's next send goes out
// as on Linux, and only then draws a RST from a 4-tuple nobody owns.
func TestTCPOrphanFinWait2Timeout(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	ctp := skOf(cs)
	socket.SockRelease(cs)
	waitTw(t, ctp, time.Second, TCP_FIN_WAIT2)
	waitState(t, skOf(ss), time.Second, TCP_CLOSE_WAIT)
	if !withSk(ctp, func(tp *tcpSock) bool { return tp.destroyed }) {
		t.Fatal("the full sock was not freed")
	}
	if got := a.in.tcp.prot.InUse.Load(); got != 0 {
		t.Fatalf("%d socks in use beside the timewait entry", got)
	}
	start := a.gate.count()
	clk.Advance(59 * time.Second)
	if twState(ctp) != TCP_FIN_WAIT2 {
		t.Fatal("the entry left before tcp_fin_timeout")
	}
	clk.Advance(time.Second)
	if twState(ctp) != 0 {
		t.Fatal("the entry outlived tcp_fin_timeout")
	}
	for _, s := range a.gate.segs(start) {
		t.Fatalf("the expiry sent a segment (flags %s)", tcpFlagString(s.flags))
	}
	mustState(t, skOf(ss), TCP_CLOSE_WAIT)
	if err := writeAll(context.Background(), ss, []byte("late")); err != nil {
		t.Fatalf("the peer's send after the expiry: %v", err)
	}
	waitState(t, skOf(ss), time.Second, TCP_CLOSE) // reset by the 4-tuple's new owner: nobody
}

// In its FIN_WAIT2 entry the orphan still takes the peer's FIN: the ACK
// goes out and the entry turns TIME_WAIT for 2 MSL; new data there draws a
// RST (tcp_timewait_state_process).
func TestTCPTimewaitFinWait2(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	ctp, stp := skOf(cs), skOf(ss)
	socket.SockRelease(cs)
	waitTw(t, ctp, time.Second, TCP_FIN_WAIT2)
	waitState(t, stp, time.Second, TCP_CLOSE_WAIT)
	socket.SockRelease(ss)
	waitTw(t, ctp, time.Second, TCP_TIME_WAIT)
	waitState(t, stp, time.Second, TCP_CLOSE) // our ACK of its FIN came
	clk.Advance(59 * time.Second)
	if twState(ctp) != TCP_TIME_WAIT {
		t.Fatal("TIME_WAIT ended early")
	}
	clk.Advance(time.Second)
	if twState(ctp) != 0 {
		t.Fatal("TIME_WAIT outlived 2 MSL")
	}

	cs, ss, _ = tcpConnPair(t, a, b, 81)
	ctp, stp = skOf(cs), skOf(ss)
	socket.SockRelease(cs)
	waitTw(t, ctp, time.Second, TCP_FIN_WAIT2)
	waitState(t, stp, time.Second, TCP_CLOSE_WAIT)
	start := a.gate.count()
	if err := writeAll(context.Background(), ss, []byte("data after close")); err != nil {
		t.Fatal(err)
	}
	tcpWaitFor(t, "RST for the data", time.Second, func() bool {
		for _, s := range a.gate.segs(start) {
			if s.flags&tcpFlagRST != 0 {
				return true
			}
		}
		return false
	})
	waitState(t, stp, time.Second, TCP_CLOSE)
}

// A request whose SYN-ACK is never answered dies after tcp_synack_retries
// and is freed; the listener's SYN queue empties.
func TestTCPSynAckRetries(t *testing.T) {
	clk, a, b := manualPair(t)
	ls := b.listen(80)
	a.gate.pass = 1 // the SYN only
	a.gate.setDrop(true)
	cs := a.socket()
	socket.Connect(context.Background(), cs, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK)
	lp := skOf(ls)
	tcpWaitFor(t, "request", time.Second, func() bool { return lp.synQlen.Load() == 1 })
	socket.SockRelease(cs)
	for i := 0; i < 8 && lp.synQlen.Load() == 1; i++ {
		b.arpSettle(a)
		clk.Advance(64 * time.Second)
	}
	if lp.synQlen.Load() != 0 {
		t.Fatal("request never expired")
	}
	synacks := 0
	for _, s := range b.gate.segs(0) {
		if s.flags == tcpFlagSYN|tcpFlagACK {
			synacks++
		}
	}
	if synacks != 1+tcpSynackRetries {
		t.Fatalf("%d SYN-ACKs, want %d", synacks, 1+tcpSynackRetries)
	}
	if got := b.in.tcp.prot.InUse.Load(); got != 1 {
		t.Fatalf("%d socks in use, want the listener only", got)
	}
}

// A new SYN from the same port pair, above the old sequence space, ends a
// TIME_WAIT early and opens the new connection (RFC 9293 §3.6.1).
func TestTCPTimeWaitReuse(t *testing.T) {
	clk := ktime.NewManual()
	a, b := newTCPPair(t, tcpPairOpts{clock: clk})
	ls := b.listen(80)
	ctx := context.Background()
	from := netip.AddrPortFrom(a.addr, 5555)
	open := func() (*socket.Socket, *socket.Socket) {
		cs := a.socket()
		socket.Setsockopt(cs, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		if err := socket.Bind(ctx, cs, from); err != nil {
			t.Fatal(err)
		}
		if err := socket.Connect(ctx, cs, netip.AddrPortFrom(b.addr, 80), 0); err != nil {
			t.Fatal(err)
		}
		return cs, b.accept(ls)
	}
	cs, ss := open()
	stp := skOf(ss)
	socket.SockRelease(ss) // the server closes first: its side keeps TIME_WAIT
	ctp := skOf(cs)
	waitState(t, ctp, time.Second, TCP_CLOSE_WAIT)
	socket.SockRelease(cs)
	waitTw(t, stp, time.Second, TCP_TIME_WAIT)
	// The client leaves LAST_ACK when the server's last ACK arrives; until
	// then its 4-tuple is in use and the new connect would get
	// EADDRNOTAVAIL.
	waitState(t, ctp, time.Second, TCP_CLOSE)
	tw := twOf(stp)
	// A second later the new SYN's timestamp is above the old
	// connection's (tcp_twsk_unique).
	clk.Advance(time.Second)
	cs2, ss2 := open()
	if twState(stp) != 0 {
		t.Fatal("the timewait entry outlived the new SYN")
	}
	// The new connection's ISN continues the old sequence space
	// (tcp_tw_isn: snd_nxt + 65537).
	if iss := withSk(skOf(ss2), func(tp *tcpSock) uint32 { return tp.iss }); iss != tw.sndNxt+65537 {
		t.Fatalf("ISS %d, want %d", iss, tw.sndNxt+65537)
	}
	mustState(t, skOf(cs2), TCP_ESTABLISHED)
	mustState(t, skOf(ss2), TCP_ESTABLISHED)
}

// ICMP errors: fatal during the handshake, soft afterwards (RFC 1122
// §4.2.3.9), and a host unreachable reverts a backoff step (RFC 6069).
func TestTCPV4Err(t *testing.T) {
	clk := ktime.NewManual()
	a, b := newTCPPair(t, tcpPairOpts{gate: true, clock: clk})
	icmpAbout := func(frame []byte) *netdev.SkBuff {
		ip := frame[netdev.EthHlen:]
		q := ip[:header.IPv4MinLen+8]
		skb := netdev.AllocSkb(len(q))
		copy(skb.Put(len(q)), q)
		return skb
	}
	lastTCP := func() []byte {
		a.gate.mu.Lock()
		defer a.gate.mu.Unlock()
		for i := len(a.gate.frames) - 1; i >= 0; i-- {
			if _, ok := parseSentSeg(a.gate.frames[i]); ok {
				return a.gate.frames[i]
			}
		}
		return nil
	}
	// Port unreachable for our SYN: connect fails with ECONNREFUSED.
	a.gate.setDrop(true)
	s := a.socket()
	socket.Connect(context.Background(), s, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK)
	tcpWaitFor(t, "SYN", time.Second, func() bool { return lastTCP() != nil })
	skb := icmpAbout(lastTCP())
	a.in.tcpV4Err(skb, header.ICMP_DEST_UNREACH, header.ICMP_PORT_UNREACH, 0)
	skb.Free()
	mustState(t, skOf(s), TCP_CLOSE)
	if err := socket.Connect(context.Background(), s, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK); !errors.Is(err, socket.ECONNREFUSED) {
		t.Fatalf("connect: %v", err)
	}
	// Host unreachable on an established connection is soft.
	a.gate.setDrop(false)
	cs, _, _ := tcpConnPair(t, a, b, 81)
	a.gate.setDrop(true)
	writeAll(context.Background(), cs, []byte("x"))
	skb = icmpAbout(lastTCP())
	a.in.tcpV4Err(skb, header.ICMP_DEST_UNREACH, header.ICMP_HOST_UNREACH, 0)
	skb.Free()
	mustState(t, skOf(cs), TCP_ESTABLISHED)
	if e := withSk(skOf(cs), func(tp *tcpSock) error { return tp.ErrSoft }); e != socket.EHOSTUNREACH {
		t.Fatalf("soft error %v", e)
	}
	// Once the segment has been retransmitted with a backed-off RTO, a
	// host unreachable about it undoes one backoff step (RFC 6069).
	a.advanceUntil(clk, 10*time.Millisecond, "two retransmission timeouts", func() bool {
		return withSk(skOf(cs), func(tp *tcpSock) int { return tp.backoff }) >= 2
	})
	rto := withSk(skOf(cs), func(tp *tcpSock) time.Duration { return tp.rto })
	skb = icmpAbout(lastTCP())
	a.in.tcpV4Err(skb, header.ICMP_DEST_UNREACH, header.ICMP_HOST_UNREACH, 0)
	skb.Free()
	if r, bo := withSk(skOf(cs), func(tp *tcpSock) time.Duration { return tp.rto }), withSk(skOf(cs), func(tp *tcpSock) int { return tp.backoff }); 2*r != rto || bo != 1 {
		t.Fatalf("after host unreachable for SND.UNA: rto %v backoff %d, want %v and 1", r, bo, rto/2)
	}
}

// CUBIC (RFC 9438): after a loss the window drops to β·W_max and grows
// back to W_max about K = cbrt(W_max(1-β)/C) seconds later, concave then
// convex; Reno grows one segment per RTT.
func TestTCPCongestionControl(t *testing.T) {
	clk := ktime.NewManual()
	in := &Net{clock: clk}
	in.tcp.congList = tcpCongTable()
	// A long RTT keeps CUBIC out of its Reno-friendly region (§4.3), where
	// short RTTs would put it.
	const rtt = 100 * time.Millisecond
	run := func(name string, seconds float64) *tcpSock {
		tp := &tcpSock{}
		tp.in = in
		tp.ca = in.tcp.congList[name]
		tp.srtt = rtt
		tp.sndCwnd = 100
		tp.sndSsthresh = tp.ca.ssthresh(tp)
		tp.sndCwnd = tp.sndSsthresh
		for i := 0; i < int(seconds*float64(time.Second/rtt)); i++ {
			clk.Advance(rtt)
			for n := tp.sndCwnd; n > 0; n-- {
				tp.ca.congAvoid(tp, 0, 1)
			}
		}
		return tp
	}
	if tp := run("reno", 0); tp.sndCwnd != 50 {
		t.Fatalf("reno after loss %d, want 50", tp.sndCwnd)
	}
	if tp := run("reno", 5); tp.sndCwnd < 98 || tp.sndCwnd > 102 {
		t.Fatalf("reno after 50 RTTs: %d, want about 100", tp.sndCwnd)
	}
	if tp := run("cubic", 0); tp.sndCwnd != 70 {
		t.Fatalf("cubic after loss %d, want 70", tp.sndCwnd)
	}
	k := 4.217 // cbrt(100·0.3/0.4)
	if tp := run("cubic", k/2); tp.sndCwnd < 85 || tp.sndCwnd > 99 {
		t.Fatalf("cubic at K/2: %d, want the concave part between 85 and 99", tp.sndCwnd)
	}
	if tp := run("cubic", k); tp.sndCwnd < 97 || tp.sndCwnd > 106 {
		t.Fatalf("cubic at K: %d, want about W_max=100", tp.sndCwnd)
	}
	if tp := run("cubic", k+2); tp.sndCwnd < 103 {
		t.Fatalf("cubic at K+2s: %d, want convex growth past W_max", tp.sndCwnd)
	}
}

// A TIME_WAIT entry answers out-of-window ACKs at most every
// tcp_invalid_ratelimit (500 ms), but a retransmitted FIN always
// (tcp_timewait_check_oow_rate_limit).
func TestTCPTimewaitOowRateLimit(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	ctp := skOf(cs)
	socket.SockRelease(cs)
	waitTw(t, ctp, time.Second, TCP_FIN_WAIT2)
	waitState(t, skOf(ss), time.Second, TCP_CLOSE_WAIT)
	socket.SockRelease(ss)
	waitTw(t, ctp, time.Second, TCP_TIME_WAIT)
	tw := twOf(ctp)
	acks := func(from int) int {
		n := 0
		for _, s := range a.gate.segs(from) {
			if s.flags == tcpFlagACK && s.seq == tw.sndNxt {
				n++
			}
		}
		return n
	}
	oow := func() { a.inject(b, tw.key.rport, tw.key.lport, tw.rcvNxt+5000, tw.sndNxt, tcpFlagACK, 1000, nil) }
	// The answers are recorded but not delivered: b, which has no sock
	// left, would reset the entry (RFC 1337's assassination).
	a.gate.setDrop(true)
	start := a.gate.count()
	oow()
	oow()
	tcpWaitFor(t, "the first ACK", time.Second, func() bool { return acks(start) >= 1 })
	// A retransmitted FIN is no ACK loop: always answered.
	a.inject(b, tw.key.rport, tw.key.lport, tw.rcvNxt-1, tw.sndNxt, tcpFlagACK|tcpFlagFIN, 1000, nil)
	tcpWaitFor(t, "the FIN's ACK", time.Second, func() bool { return acks(start) >= 2 })
	if n := acks(start); n != 2 {
		t.Fatalf("%d ACKs for two out-of-window ACKs and a FIN within 500 ms, want 2", n)
	}
	if v := a.in.oowMib.TCPACKSkippedTimeWait.Load(); v != 1 {
		t.Fatalf("TCPACKSkippedTimeWait = %d, want 1", v)
	}
	clk.Advance(sysctlTCPInvalidRatelimit)
	oow()
	tcpWaitFor(t, "an ACK after 500 ms", time.Second, func() bool { return acks(start) == 3 })
}

// A tcp_fin_timeout longer than TIME_WAIT: the orphan waits the excess as
// a full sock (its keepalive timer), then as long again in a timewait
// entry (tcp_keepalive_timer's tcp_fin_time - TCP_TIMEWAIT_LEN), and still
// leaves without a RST.
func TestTCPOrphanFinTimeoutLong(t *testing.T) {
	clk, a, b := manualPair(t)
	a.in.SetTCPFinTimeout(90 * time.Second)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	ctp := skOf(cs)
	socket.SockRelease(cs)
	waitState(t, ctp, time.Second, TCP_FIN_WAIT2)
	waitState(t, skOf(ss), time.Second, TCP_CLOSE_WAIT)
	start := a.gate.count()
	clk.Advance(30*time.Second - time.Millisecond)
	mustState(t, ctp, TCP_FIN_WAIT2)
	clk.Advance(time.Millisecond)
	waitTw(t, ctp, time.Second, TCP_FIN_WAIT2)
	clk.Advance(30*time.Second - time.Millisecond)
	if twState(ctp) != TCP_FIN_WAIT2 {
		t.Fatal("the entry left early")
	}
	clk.Advance(time.Millisecond)
	if twState(ctp) != 0 {
		t.Fatal("the entry outlived its time")
	}
	for _, s := range a.gate.segs(start) {
		t.Fatalf("the expiry sent a segment (flags %s)", tcpFlagString(s.flags))
	}
}
