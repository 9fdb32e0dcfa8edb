package inet

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// Keepalive (RFC 1122 §4.2.3.6): after TCP_KEEPIDLE of silence a probe
// goes out; an answered probe keeps the connection; TCP_KEEPCNT
// unanswered probes TCP_KEEPINTVL apart end it with ETIMEDOUT.
func TestTCPKeepaliveDeadPeer(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	waitState(t, skOf(ss), time.Second, TCP_ESTABLISHED)
	tp := skOf(cs)
	for _, o := range []struct{ level, name, val int }{
		{socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1},
		{socket.SOL_TCP, socket.TCP_KEEPIDLE, 10},
		{socket.SOL_TCP, socket.TCP_KEEPINTVL, 2},
		{socket.SOL_TCP, socket.TCP_KEEPCNT, 3},
	} {
		if err := socket.Setsockopt(cs, o.level, o.name, o.val); err != nil {
			t.Fatal(err)
		}
	}
	una := withSk(tp, func(tp *tcpSock) uint32 { return tp.sndUna })
	probes := func(from int) int {
		n := 0
		for _, s := range a.gate.segs(from) {
			if s.seq == una-1 && s.dataLen == 0 && s.flags == tcpFlagACK {
				n++
			}
		}
		return n
	}
	start := a.gate.count()
	clk.Advance(9 * time.Second)
	if probes(start) != 0 {
		t.Fatal("probe before keepidle")
	}
	clk.Advance(time.Second)
	if probes(start) != 1 {
		t.Fatalf("%d probes at keepidle", probes(start))
	}
	// The live peer answers; the probe count resets.
	tcpWaitFor(t, "probe answered", time.Second, func() bool {
		return withSk(tp, func(tp *tcpSock) bool { return tp.probesOut == 0 })
	})
	// Now the peer dies.
	b.gate.setDrop(true)
	start = a.gate.count()
	for i := 0; i < 20 && stateOf(tp) == TCP_ESTABLISHED; i++ {
		a.arpSettle(b)
		clk.Advance(time.Second)
	}
	mustState(t, tp, TCP_CLOSE)
	if n := probes(start); n != 3 {
		t.Fatalf("%d probes to a dead peer, want 3", n)
	}
	if _, err := socket.SockRecvmsg(context.Background(), cs, &socket.Msghdr{}, make([]byte, 4), 0); !errors.Is(err, socket.ETIMEDOUT) {
		t.Fatalf("read after keepalive timeout: %v", err)
	}
	// Released, the sock leaves no timer behind.
	socket.SockRelease(cs)
	if withSk(tp, func(tp *tcpSock) bool { return !tp.destroyed || tp.rtxPending != 0 || tp.skTimerArmed }) {
		t.Fatal("sock not destroyed cleanly")
	}
}

// A receiver that stops reading closes its window; the sender's persist
// timer probes it (RFC 9293 §3.8.6.1); once the receiver reads, the window
// update resumes the transfer.
func TestTCPZeroWindowStall(t *testing.T) {
	clk := ktime.NewManual()
	a, b := newTCPPair(t, tcpPairOpts{gate: true, clock: clk})
	ls := b.socket()
	if err := socket.Setsockopt(ls, socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := socket.Bind(ctx, ls, netip.AddrPortFrom(netip.IPv4Unspecified(), 80)); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 8); err != nil {
		t.Fatal(err)
	}
	cs, err := a.connect(b, 80)
	if err != nil {
		t.Fatal(err)
	}
	ss := b.accept(ls)
	data := testPayload(256<<10, 3)
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() { defer wg.Done(); werr = writeAll(ctx, cs, data) }()
	ctp := skOf(cs)
	defer func() {
		if t.Failed() {
			t.Logf("client: %s", diagString(ctp))
			t.Logf("server: %s", diagString(skOf(ss)))
		}
	}()
	// The receiver's window closes (to nothing, or to less than a segment
	// that sender-side SWS avoidance will not use); the persist timer runs.
	// Delayed ACKs let the last data be acked.
	a.advanceUntil(clk, tcpDelackMin, "stalled sender with persist timer", func() bool {
		return withSk(ctp, func(tp *tcpSock) bool { return tp.packetsOut == 0 && tp.rtxPending == tcpTimeProbe0 })
	})
	n := a.gate.count()
	a.advanceUntil(clk, tcpDelackMin, "a window probe", func() bool { return len(a.gate.segs(n)) > 0 })
	if w := withSk(skOf(ss), func(tp *tcpSock) uint32 { return tp.receiveWindow() }); w >= 1448 {
		t.Fatalf("receiver window %d while stalled", w)
	}
	mustState(t, ctp, TCP_ESTABLISHED)
	got := make([]byte, 0, len(data))
	buf := make([]byte, 8192)
	for len(got) < len(data) {
		n, err := socket.SockRecvmsg(ctx, ss, &socket.Msghdr{}, buf, 0)
		if err != nil || n == 0 {
			t.Fatalf("read: %d %v", n, err)
		}
		got = append(got, buf[:n]...)
	}
	wg.Wait()
	if werr != nil || !bytes.Equal(got, data) {
		t.Fatalf("transfer after stall: err=%v intact=%v", werr, bytes.Equal(got, data))
	}
}

// Nagle (RFC 9293 §3.7.4): a small segment waits while another small one
// is unacked, unless TCP_NODELAY.
func TestTCPNagle(t *testing.T) {
	_, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	waitState(t, skOf(ss), time.Second, TCP_ESTABLISHED)
	ctx := context.Background()
	data := func(from int) int {
		n := 0
		for _, s := range a.gate.segs(from) {
			n += s.dataLen
		}
		return n
	}
	b.gate.setHold(true) // no ACKs come back
	start := a.gate.count()
	writeAll(ctx, cs, []byte("a"))
	writeAll(ctx, cs, []byte("b"))
	if got := data(start); got != 1 {
		t.Fatalf("%d bytes sent with a small segment unacked, want 1", got)
	}
	b.gate.release()
	tcpWaitFor(t, "second byte after the ACK", time.Second, func() bool { return data(start) == 2 })
	if err := socket.Setsockopt(cs, socket.SOL_TCP, socket.TCP_NODELAY, 1); err != nil {
		t.Fatal(err)
	}
	b.gate.setHold(true)
	start = a.gate.count()
	writeAll(ctx, cs, []byte("c"))
	writeAll(ctx, cs, []byte("d"))
	if got := data(start); got != 2 {
		t.Fatalf("TCP_NODELAY: %d bytes sent, want 2", got)
	}
	b.gate.release()
}

// Delayed ACK (RFC 9293 §3.8.6.3, RFC 5681 §4.2): one segment is acked
// after the delay (40 ms, Linux's ato), two full segments at once.
func TestTCPDelayedAck(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	stp := skOf(ss)
	waitState(t, stp, time.Second, TCP_ESTABLISHED)
	withSk(stp, func(tp *tcpSock) bool { tp.quickAcks = 0; return true }) // out of the initial quick-ACK mode
	acks := func(from int) int {
		n := 0
		for _, s := range b.gate.segs(from) {
			if s.dataLen == 0 && s.flags == tcpFlagACK {
				n++
			}
		}
		return n
	}
	ctx := context.Background()
	start := b.gate.count()
	rcv := withSk(stp, func(tp *tcpSock) uint32 { return tp.rcvNxt })
	writeAll(ctx, cs, []byte("one segment"))
	tcpWaitFor(t, "segment received", time.Second, func() bool {
		return withSk(stp, func(tp *tcpSock) bool { return tp.rcvNxt == rcv+11 })
	})
	if acks(start) != 0 {
		t.Fatal("single segment acked at once")
	}
	clk.Advance(39 * time.Millisecond)
	if acks(start) != 0 {
		t.Fatal("acked before the delay")
	}
	clk.Advance(time.Millisecond)
	if acks(start) != 1 {
		t.Fatal("not acked after the delay")
	}
	// Two full-sized segments: ACK without waiting.
	start = b.gate.count()
	mss := withSk(skOf(cs), func(tp *tcpSock) int { return tp.mssCache })
	writeAll(ctx, cs, testPayload(2*mss, 4))
	tcpWaitFor(t, "immediate ACK of two segments", time.Second, func() bool { return acks(start) >= 1 })
}

// An unanswered ARP during connect is a hard error (ip_link_failure →
// tcp_v4_err): EHOSTUNREACH.
func TestTCPConnectHostUnreach(t *testing.T) {
	clk := ktime.NewManual()
	a, _ := newTCPPair(t, tcpPairOpts{clock: clk})
	s := a.socket()
	ctx := context.Background()
	err := socket.Connect(ctx, s, netip.MustParseAddrPort("10.0.0.99:80"), socket.O_NONBLOCK)
	if !errors.Is(err, socket.EINPROGRESS) {
		t.Fatal(err)
	}
	for i := 0; i < sysctlNeighMcastSolicit; i++ {
		clk.Advance(sysctlNeighRetransTimeMs * time.Millisecond)
	}
	// The host unreachable comes back through lo, on its own goroutine;
	// tcp_v4_err reports it on the sock's wait queue.
	waitSock(t, skOf(s), "CLOSE after the ARP failure", 5*time.Second, func(tp *tcpSock) bool { return tp.State == TCP_CLOSE })
	if err := socket.Connect(ctx, s, netip.MustParseAddrPort("10.0.0.99:80"), socket.O_NONBLOCK); !errors.Is(err, socket.EHOSTUNREACH) {
		t.Fatalf("connect result %v", err)
	}
}
