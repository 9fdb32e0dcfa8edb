package inet

import (
	"context"
	"errors"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// Every transition of RFC 9293's state diagram (§3.3.2, figure 5), each
// driven by holding or releasing segments on the wire and asserted. The
// manual clock makes TIME_WAIT and the retransmission timers exact.

func manualPair(t *testing.T) (*ktime.Manual, *tcpHost, *tcpHost) {
	clk := ktime.NewManual()
	a, b := newTCPPair(t, tcpPairOpts{gate: true, clock: clk})
	return clk, a, b
}

func mustState(t *testing.T, tp *tcpSock, want uint8) {
	t.Helper()
	if st := stateOf(tp); st != want {
		t.Fatalf("state %s, want %s", tcpStateName(st), tcpStateName(want))
	}
}

// CLOSED → SYN-SENT → ESTABLISHED, and LISTEN → SYN-RECEIVED →
// ESTABLISHED on the other side.
func TestTCPStatesOpen(t *testing.T) {
	_, a, b := manualPair(t)
	ls := b.listen(80)
	mustState(t, skOf(ls), TCP_LISTEN)
	cs := a.socket()
	mustState(t, skOf(cs), TCP_CLOSE)
	a.gate.pass = 1 // the SYN goes; the handshake's last ACK is held
	a.gate.setHold(true)
	err := socket.Connect(context.Background(), cs, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK)
	if !errors.Is(err, socket.EINPROGRESS) {
		t.Fatalf("nonblocking connect: %v", err)
	}
	// The SYN-ACK arrives: the client is established, the server's child
	// still waits in SYN-RECEIVED for the ACK.
	waitState(t, skOf(cs), 2*time.Second, TCP_ESTABLISHED)
	var child *tcpSock
	tcpWaitFor(t, "child in SYN_RECV", 2*time.Second, func() bool {
		b.in.tcp.mu.RLock()
		defer b.in.tcp.mu.RUnlock()
		for _, tp := range b.in.tcp.ehash {
			child = tp
		}
		return child != nil
	})
	mustState(t, child, TCP_SYN_RECV)
	if n := skOf(ls).synQlen.Load(); n != 1 {
		t.Fatalf("SYN queue %d", n)
	}
	a.gate.release()
	waitState(t, child, 2*time.Second, TCP_ESTABLISHED)
	ss := b.accept(ls)
	if skOf(ss) != child {
		t.Fatal("accept returned another sock")
	}
	if n := skOf(ls).synQlen.Load(); n != 0 {
		t.Fatalf("SYN queue %d after accept", n)
	}
	// The nonblocking connect reports success on the next call, as
	// Linux's __inet_stream_connect does; the one after is EISCONN.
	if err := socket.Connect(context.Background(), cs, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK); err != nil {
		t.Fatalf("second connect: %v, want success", err)
	}
	if cs.State != socket.SS_CONNECTED {
		t.Fatalf("socket state %v after the connect completed", cs.State)
	}
	if err := socket.Connect(context.Background(), cs, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK); !errors.Is(err, socket.EISCONN) {
		t.Fatalf("third connect: %v, want EISCONN", err)
	}
	// LISTEN → CLOSED.
	socket.SockRelease(ls)
	if b.in.tcp.lookup(tcpHashKey{laddr: b.addr, lport: 80}) != nil {
		t.Fatal("listener still hashed after close")
	}
}

// ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED (active
// close), and ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED (passive).
func TestTCPStatesClose(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	ctp, stp := skOf(cs), skOf(ss)
	waitState(t, stp, time.Second, TCP_ESTABLISHED)

	b.gate.setHold(true)
	if err := socket.Shutdown(cs, socket.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	mustState(t, ctp, TCP_FIN_WAIT1)
	waitState(t, stp, time.Second, TCP_CLOSE_WAIT)
	// The passive side reads EOF.
	if n, err := socket.SockRecvmsg(context.Background(), ss, &socket.Msghdr{}, make([]byte, 8), 0); n != 0 || err != nil {
		t.Fatalf("read at EOF: %d %v", n, err)
	}
	b.gate.release()
	waitState(t, ctp, time.Second, TCP_FIN_WAIT2)
	// Half-close: the passive side may still send.
	if err := writeAll(context.Background(), ss, []byte("late")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, err := socket.SockRecvmsg(context.Background(), cs, &socket.Msghdr{}, buf, 0); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("half-closed read: %q %v", buf[:n], err)
	}

	a.gate.setHold(true)
	if err := socket.Shutdown(ss, socket.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	mustState(t, stp, TCP_LAST_ACK)
	// TIME-WAIT is a timewait entry; the socket the user still holds
	// reads CLOSE, as on Linux.
	waitTw(t, ctp, time.Second, TCP_TIME_WAIT)
	a.gate.release()
	waitState(t, stp, time.Second, TCP_CLOSE)

	// TIME-WAIT lasts 2 MSL, Linux's 60 s.
	clk.Advance(59 * time.Second)
	if twState(ctp) != TCP_TIME_WAIT {
		t.Fatal("TIME_WAIT ended early")
	}
	clk.Advance(2 * time.Second)
	tcpWaitFor(t, "TIME_WAIT over", time.Second, func() bool { return twState(ctp) == 0 })
	if a.in.mib.Tcp.CurrEstab.Load() != 0 || b.in.mib.Tcp.CurrEstab.Load() != 0 {
		t.Fatal("CurrEstab not back to 0")
	}
}

// FIN-WAIT-1 → CLOSING → TIME-WAIT: both close at once (RFC 9293 §3.6,
// figure 13).
func TestTCPStatesSimultaneousClose(t *testing.T) {
	_, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	ctp, stp := skOf(cs), skOf(ss)
	waitState(t, stp, time.Second, TCP_ESTABLISHED)
	a.gate.setHold(true)
	b.gate.setHold(true)
	socket.Shutdown(cs, socket.SHUT_WR)
	socket.Shutdown(ss, socket.SHUT_WR)
	mustState(t, ctp, TCP_FIN_WAIT1)
	mustState(t, stp, TCP_FIN_WAIT1)
	a.gate.release()
	waitState(t, stp, time.Second, TCP_CLOSING)
	mustState(t, ctp, TCP_FIN_WAIT1)
	b.gate.release()
	waitTw(t, ctp, time.Second, TCP_TIME_WAIT)
	waitTw(t, stp, time.Second, TCP_TIME_WAIT)
}

// SYN-SENT → SYN-RECEIVED → ESTABLISHED: both connect at once (RFC 9293
// §3.5, figure 7).
func TestTCPStatesSimultaneousOpen(t *testing.T) {
	_, a, b := manualPair(t)
	sa, sb := a.socket(), b.socket()
	ctx := context.Background()
	if err := socket.Bind(ctx, sa, netip.AddrPortFrom(a.addr, 1111)); err != nil {
		t.Fatal(err)
	}
	if err := socket.Bind(ctx, sb, netip.AddrPortFrom(b.addr, 2222)); err != nil {
		t.Fatal(err)
	}
	a.gate.setHold(true)
	b.gate.setHold(true)
	if err := socket.Connect(ctx, sa, netip.AddrPortFrom(b.addr, 2222), socket.O_NONBLOCK); !errors.Is(err, socket.EINPROGRESS) {
		t.Fatal(err)
	}
	if err := socket.Connect(ctx, sb, netip.AddrPortFrom(a.addr, 1111), socket.O_NONBLOCK); !errors.Is(err, socket.EINPROGRESS) {
		t.Fatal(err)
	}
	mustState(t, skOf(sa), TCP_SYN_SENT)
	mustState(t, skOf(sb), TCP_SYN_SENT)
	a.gate.release()
	waitState(t, skOf(sb), time.Second, TCP_SYN_RECV)
	b.gate.release()
	waitState(t, skOf(sa), time.Second, TCP_ESTABLISHED)
	waitState(t, skOf(sb), time.Second, TCP_ESTABLISHED)
	if err := writeAll(ctx, sa, []byte("crossed")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := socket.SockRecvmsg(ctx, sb, &socket.Msghdr{}, buf, 0)
	if err != nil || string(buf[:n]) != "crossed" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
}

// SYN-SENT → CLOSED as Linux 6.x: tcp_syn_linear_timeouts (4) more
// timeouts at the initial 1 s RTO, then exponential backoff, and after
// tcp_syn_retries + tcp_syn_linear_timeouts = 10 retransmissions (the last
// at 67 s) the connect gives up at 131 s with ETIMEDOUT.
func TestTCPStatesConnectTimeout(t *testing.T) {
	clk, a, b := manualPair(t)
	a.gate.setDrop(true)
	cs := a.socket()
	ctx := context.Background()
	if err := socket.Connect(ctx, cs, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK); !errors.Is(err, socket.EINPROGRESS) {
		t.Fatal(err)
	}
	tp := skOf(cs)
	tcpWaitFor(t, "first SYN", time.Second, func() bool { return len(a.gate.segs(0)) == 1 })
	elapsed := time.Duration(0)
	for i, wait := range []time.Duration{1, 1, 1, 1, 1, 2, 4, 8, 16, 32} {
		a.arpSettle(b)
		clk.Advance(wait*time.Second - time.Millisecond)
		if n := len(a.gate.segs(0)); n != i+1 {
			t.Fatalf("retransmission %d came early: %d SYNs at %v", i+1, n, elapsed+wait*time.Second-time.Millisecond)
		}
		clk.Advance(time.Millisecond)
		elapsed += wait * time.Second
		mustState(t, tp, TCP_SYN_SENT)
		if n := len(a.gate.segs(0)); n != i+2 {
			t.Fatalf("at %v: %d SYNs, want %d", elapsed, n, i+2)
		}
	}
	if elapsed != 67*time.Second {
		t.Fatalf("last retransmission at %v", elapsed)
	}
	a.arpSettle(b)
	clk.Advance(64*time.Second - time.Millisecond)
	mustState(t, tp, TCP_SYN_SENT)
	clk.Advance(time.Millisecond)
	mustState(t, tp, TCP_CLOSE)
	if n := len(a.gate.segs(0)); n != 11 {
		t.Fatalf("%d SYNs in all, want 11", n)
	}
	if err := socket.Connect(ctx, cs, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK); !errors.Is(err, socket.ETIMEDOUT) {
		t.Fatalf("connect result %v, want ETIMEDOUT", err)
	}
	for _, s := range a.gate.segs(0) {
		checkTCP(t, "a retransmitted SYN", s, tcpFlags(tcpFlagSYN), tcpDstPort(80))
	}
}

// The SYN retry knobs (the daemon's --tcp-syn-retries and
// --tcp-syn-linear-timeouts): no linear timeouts and 2 retries give the
// classic 1, 2, then give up at 7 s.
func TestTCPSynRetriesKnobs(t *testing.T) {
	clk, a, b := manualPair(t)
	a.in.SetTCPSynRetries(2, 0)
	a.gate.setDrop(true)
	cs := a.socket()
	socket.Connect(context.Background(), cs, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK)
	tp := skOf(cs)
	tcpWaitFor(t, "first SYN", time.Second, func() bool { return len(a.gate.segs(0)) == 1 })
	for i, wait := range []time.Duration{1, 2} {
		a.arpSettle(b)
		clk.Advance(wait * time.Second)
		if n := len(a.gate.segs(0)); n != i+2 {
			t.Fatalf("after +%d s: %d SYNs", wait, n)
		}
	}
	a.arpSettle(b)
	clk.Advance(4*time.Second - time.Millisecond)
	mustState(t, tp, TCP_SYN_SENT)
	clk.Advance(time.Millisecond)
	mustState(t, tp, TCP_CLOSE)
}

// RFC 6298 §5.5: each timeout doubles the RTO; after tcp_retries2 the
// connection dies with ETIMEDOUT.
func TestTCPRTOBackoff(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	waitState(t, skOf(ss), time.Second, TCP_ESTABLISHED)
	tp := skOf(cs)
	a.gate.setDrop(true)
	start := a.gate.count()
	if err := writeAll(context.Background(), cs, []byte("lost")); err != nil {
		t.Fatal(err)
	}
	rto := withSk(tp, func(tp *tcpSock) time.Duration { return tp.rto })
	if rto < 200*time.Millisecond {
		t.Fatalf("rto %v below the 200 ms floor", rto)
	}
	for i := 1; i <= 5; i++ {
		a.arpSettle(b)
		clk.Advance(rto)
		rto = min(2*rto, tcpRtoMax)
		got := withSk(tp, func(tp *tcpSock) time.Duration { return tp.rto })
		if got != rto {
			t.Fatalf("after timeout %d: rto %v, want %v", i, got, rto)
		}
		if n := len(a.gate.segs(start)); n != i+1 {
			t.Fatalf("after timeout %d: %d transmissions", i, n)
		}
	}
	if withSk(tp, func(tp *tcpSock) uint32 { return tp.totalRetrans }) != 5 {
		t.Fatal("retransmits not counted")
	}
	// tcp_retries2 = 15 timeouts in all, the last ones at RTO_MAX.
	for i := 6; i <= 15; i++ {
		mustState(t, tp, TCP_ESTABLISHED)
		a.arpSettle(b)
		clk.Advance(rto)
		rto = min(2*rto, tcpRtoMax)
	}
	mustState(t, tp, TCP_ESTABLISHED)
	a.arpSettle(b)
	clk.Advance(rto)
	mustState(t, tp, TCP_CLOSE)
	_, err := socket.SockRecvmsg(context.Background(), cs, &socket.Msghdr{}, make([]byte, 4), 0)
	if !errors.Is(err, socket.ETIMEDOUT) {
		t.Fatalf("recv after give-up: %v", err)
	}
}

// SYN-RECEIVED → (LISTEN): a RST for a request drops only the request;
// the listener keeps listening. SYN-SENT → CLOSED on close.
func TestTCPStatesRequestReset(t *testing.T) {
	_, a, b := manualPair(t)
	ls := b.listen(80)
	lp := skOf(ls)
	a.gate.pass = 1
	a.gate.setDrop(true)
	b.gate.setDrop(true) // the SYN-ACK never arrives
	cs := a.socket()
	socket.Connect(context.Background(), cs, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK)
	tcpWaitFor(t, "request", time.Second, func() bool { return lp.synQlen.Load() == 1 })
	var child *tcpSock
	b.in.tcp.mu.RLock()
	for _, tp := range b.in.tcp.ehash {
		child = tp
	}
	b.in.tcp.mu.RUnlock()
	mustState(t, child, TCP_SYN_RECV)
	var sport uint16
	var rcvNxt uint32
	withSk(child, func(tp *tcpSock) bool { sport, rcvNxt = tp.Dport, tp.rcvNxt; return true })
	b.inject(a, sport, 80, rcvNxt, 0, tcpFlagRST, 0, nil)
	tcpWaitFor(t, "request dropped", time.Second, func() bool { return lp.synQlen.Load() == 0 })
	mustState(t, child, TCP_CLOSE)
	mustState(t, lp, TCP_LISTEN)
	if !withSk(child, func(tp *tcpSock) bool { return tp.destroyed }) {
		t.Fatal("request not freed")
	}
	// The client, still in SYN-SENT, is closed by its user.
	ctp := skOf(cs)
	mustState(t, ctp, TCP_SYN_SENT)
	socket.SockRelease(cs)
	mustState(t, ctp, TCP_CLOSE)
	if a.in.tcp.prot.InUse.Load() != 0 || b.in.tcp.prot.InUse.Load() != 1 {
		t.Fatalf("socks in use: %d %d", a.in.tcp.prot.InUse.Load(), b.in.tcp.prot.InUse.Load())
	}
}

// A connect that SO_SNDTIMEO cut short (EINPROGRESS) is still in
// progress: a second connect waits SO_SNDTIMEO again and then says
// EALREADY (__inet_stream_connect), and a nonblocking one says so at once.
func TestTCPConnectAgainAfterSndtimeo(t *testing.T) {
	clk, a, b := manualPair(t)
	a.gate.setDrop(true)
	cs := a.socket()
	if err := socket.Setsockopt(cs, socket.SOL_SOCKET, socket.SO_SNDTIMEO, 50); err != nil {
		t.Fatal(err)
	}
	to := netip.AddrPortFrom(b.addr, 80)
	ctx := context.Background()
	// A blocking connect sleeps SO_SNDTIMEO on the stack's clock, from
	// the moment it went to sleep, and wakes only when the clock has
	// moved 50 ms.
	connect := func() error {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- socket.Connect(ctx, cs, to, 0) }()
		for cs.Wq.Sleepers() == 0 {
			runtime.Gosched()
		}
		clk.Advance(49 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("connect returned %v before SO_SNDTIMEO", err)
		default:
		}
		clk.Advance(time.Millisecond)
		return <-done
	}
	if err := connect(); !errors.Is(err, socket.EINPROGRESS) {
		t.Fatalf("first connect: %v, want EINPROGRESS", err)
	}
	if err := connect(); !errors.Is(err, socket.EALREADY) {
		t.Fatalf("second connect: %v, want EALREADY", err)
	}
	if err := socket.Connect(ctx, cs, to, socket.O_NONBLOCK); !errors.Is(err, socket.EALREADY) {
		t.Fatalf("nonblocking connect: %v, want EALREADY", err)
	}
	mustState(t, skOf(cs), TCP_SYN_SENT)
}

// The windows of the handshake as Linux 6.x at MSS 1460 with tcp_rmem's
// defaults: 64240 in the SYN, 65160 in the SYN-ACK (whole segments of the
// initial receive space), window scale 10 from tcp_rmem[2] = 32 MiB.
func TestTCPSynWindows(t *testing.T) {
	_, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	_, _ = cs, ss
	syn, synack := a.gate.segs(0)[0], b.gate.segs(0)[0]
	checkTCP(t, "SYN", syn, tcpDstPort(80), tcpFlags(tcpFlagSYN), tcpWindow(64240), tcpOptWScale(10), tcpOptMSS(1460))
	checkTCP(t, "SYN-ACK", synack, tcpSrcPort(80), tcpFlags(tcpFlagSYN|tcpFlagACK), tcpAckNum(syn.seq+1), tcpWindow(65160), tcpOptWScale(10))
	// SO_RCVBUF clamps the window and with it the scale: 20000 is kept
	// doubled, half of that is the space, 18980 of it whole segments, and
	// the scale is 0 (Linux's SYN over lo shows win 20000, wscale 0: there
	// the MSS is larger than the space).
	s := a.socket()
	if err := socket.Setsockopt(s, socket.SOL_SOCKET, socket.SO_RCVBUF, 20000); err != nil {
		t.Fatal(err)
	}
	start := a.gate.count()
	if err := socket.Connect(context.Background(), s, netip.AddrPortFrom(b.addr, 80), 0); err != nil {
		t.Fatal(err)
	}
	syn = a.gate.segs(start)[0]
	checkTCP(t, "SYN with SO_RCVBUF 20000", syn, tcpFlags(tcpFlagSYN), tcpWindow(18980), tcpOptWScale(0))
}

// net/tcp lists timewait entries as get_timewait4_sock does (the substate,
// timer 3 with the time left, no inode, refcount 3), and sockstat's tw
// counts them while the freed socks leave inuse and alloc.
func TestProcNetTCPTimewait(t *testing.T) {
	clk, a, b := manualPair(t)
	// An orphan waiting for the FIN: FIN_WAIT2 (05).
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	ctp := skOf(cs)
	socket.SockRelease(cs)
	waitTw(t, ctp, time.Second, TCP_FIN_WAIT2)
	waitState(t, skOf(ss), time.Second, TCP_CLOSE_WAIT)
	// A half-close the peer answered: TIME_WAIT (06), the socket still open.
	cs2, ss2, _ := tcpConnPair(t, a, b, 81)
	socket.Shutdown(cs2, socket.SHUT_WR)
	waitState(t, skOf(ss2), time.Second, TCP_CLOSE_WAIT)
	socket.Shutdown(ss2, socket.SHUT_WR)
	waitTw(t, skOf(cs2), time.Second, TCP_TIME_WAIT)
	// Our last ACK has arrived: b will not resend its FIN when the clock
	// moves (whose answer, an ACK its closed side would reset, would end
	// the entry, as RFC 1337 warns).
	waitState(t, skOf(ss2), time.Second, TCP_CLOSE)
	clk.Advance(10 * time.Second)

	rows := map[string]string{}
	for _, l := range strings.Split(procFile(t, a.in, "tcp"), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 3 {
			rows[f[3]] = strings.Join(f[2:], " ")
		}
	}
	// 50 s of the 60 left: 5000 ticks of USER_HZ.
	for st, want := range map[string]string{
		"05": "0200000A:0050 05 00000000:00000000 03:00001388 00000000 0 0 0 3 0000000000000000",
		"06": "0200000A:0051 06 00000000:00000000 03:00001388 00000000 0 0 0 3 0000000000000000",
	} {
		if rows[st] != want {
			t.Errorf("state %s row %q, want %q", st, rows[st], want)
		}
	}
	if len(rows) != 2 {
		t.Fatalf("net/tcp rows %v", rows)
	}
	st := procFile(t, a.in, "sockstat")
	if !strings.Contains(st, "TCP: inuse 0 orphan 0 tw 2 alloc 1 ") {
		t.Fatalf("sockstat:\n%s", st)
	}
}
