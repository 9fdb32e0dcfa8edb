package inet

import (
	"testing"
	"time"

	"sockfs/socket"
)

// TestTCPOowRateLimited: duplicate ACKs for out-of-window segments go out
// at most once per tcp_invalid_ratelimit per socket, on the manual clock;
// the rest are counted. Segments with data are always answered.
func TestTCPOowRateLimited(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	stp := skOf(ss)
	waitState(t, stp, time.Second, TCP_ESTABLISHED)
	b.arpSettle(a)
	cport := withSk(skOf(cs), func(tp *tcpSock) uint16 { return tp.Sport })
	rcvNxt := withSk(stp, func(tp *tcpSock) uint32 { return tp.rcvNxt })
	sndNxt := withSk(stp, func(tp *tcpSock) uint32 { return tp.sndNxt })
	dupAcks := func(from int) int {
		n := 0
		for _, s := range b.gate.segs(from) {
			if s.flags == tcpFlagACK && s.seq == sndNxt && s.ack == rcvNxt && s.dataLen == 0 {
				n++
			}
		}
		return n
	}
	// Bare ACKs far outside the receive window, as two confused ends (or
	// one talking to itself) would trade them.
	burst := func() int {
		n := b.gate.count()
		for range 50 {
			b.inject(a, cport, 80, rcvNxt+1<<30, sndNxt, tcpFlagACK, 1000, nil)
		}
		tcpWaitFor(t, "a duplicate ACK", time.Second, func() bool { return dupAcks(n) >= 1 })
		return n
	}
	n := burst()
	// The injections are synchronous: every one has been handled.
	if got := dupAcks(n); got != 1 {
		t.Fatalf("%d duplicate ACKs for 50 out-of-window ACKs, want 1", got)
	}
	if v := b.in.oowMib.TCPACKSkippedSeq.Load(); v != 49 {
		t.Fatalf("TCPACKSkippedSeq = %d, want 49", v)
	}
	// Less than the interval later: still limited.
	clk.Advance(sysctlTCPInvalidRatelimit - time.Millisecond)
	n = b.gate.count()
	b.inject(a, cport, 80, rcvNxt+1<<30, sndNxt, tcpFlagACK, 1000, nil)
	if got := dupAcks(n); got != 0 {
		t.Fatalf("answered %d within the interval", got)
	}
	// Once the interval has passed, one more goes out.
	clk.Advance(time.Millisecond)
	if got := dupAcks(burst()); got != 1 {
		t.Fatalf("%d duplicate ACKs after the interval, want 1", got)
	}
	// Data outside the window is no ACK loop: each segment is answered.
	n = b.gate.count()
	for range 3 {
		b.inject(a, cport, 80, rcvNxt-100, sndNxt, tcpFlagACK, 1000, []byte("old"))
	}
	tcpWaitFor(t, "three duplicate ACKs for old data", time.Second, func() bool { return dupAcks(n) == 3 })
	mustState(t, stp, TCP_ESTABLISHED)
}

// TestTCPChallengeAckPerSocket: challenge ACKs share the socket's limit
// (RFC 5961 §7 via __tcp_oow_rate_limited); there is no namespace-wide
// one, so another connection is challenged at once.
func TestTCPChallengeAckPerSocket(t *testing.T) {
	_, a, b := manualPair(t)
	cs1, ss1, ls := tcpConnPair(t, a, b, 80)
	waitState(t, skOf(ss1), time.Second, TCP_ESTABLISHED)
	b.arpSettle(a)
	cs2, err := a.connect(b, 80)
	if err != nil {
		t.Fatal(err)
	}
	ss2 := b.accept(ls)
	waitState(t, skOf(ss2), time.Second, TCP_ESTABLISHED)

	// Ten in-window RSTs not at RCV.NXT: one challenge ACK answers them.
	challenges := func(cs, ss *socket.Socket) int {
		t.Helper()
		cport := withSk(skOf(cs), func(tp *tcpSock) uint16 { return tp.Sport })
		rcvNxt := withSk(skOf(ss), func(tp *tcpSock) uint32 { return tp.rcvNxt })
		sndNxt := withSk(skOf(ss), func(tp *tcpSock) uint32 { return tp.sndNxt })
		n := b.gate.count()
		for range 10 {
			b.inject(a, cport, 80, rcvNxt+100, 0, tcpFlagRST, 0, nil)
		}
		got := 0
		for _, s := range b.gate.segs(n) {
			if s.flags == tcpFlagACK && s.seq == sndNxt && s.ack == rcvNxt {
				got++
			}
		}
		return got
	}
	if got := challenges(cs1, ss1); got != 1 {
		t.Fatalf("first socket: %d challenge ACKs for 10 RSTs, want 1", got)
	}
	if got := challenges(cs2, ss2); got != 1 {
		t.Fatalf("second socket: %d challenge ACKs, want 1 (there is no global limit)", got)
	}
	if v := b.in.oowMib.TCPChallengeACK.Load(); v != 2 {
		t.Fatalf("TCPChallengeACK = %d", v)
	}
	if v := b.in.oowMib.TCPACKSkippedChallenge.Load(); v != 18 {
		t.Fatalf("TCPACKSkippedChallenge = %d", v)
	}
	mustState(t, skOf(ss1), TCP_ESTABLISHED)
	mustState(t, skOf(ss2), TCP_ESTABLISHED)
}

// TestTCPSynFinToListener: SYN+FIN at a listener is discarded: no SYN-ACK,
// no RST, no child (tcp_rcv_state_process, SKB_DROP_REASON_TCP_FLAGS).
func TestTCPSynFinToListener(t *testing.T) {
	_, a, b := manualPair(t)
	ls := b.listen(80)
	n := b.gate.count()
	b.inject(a, 4321, 80, 1000, 0, tcpFlagSYN|tcpFlagFIN, 1000, nil)
	if segs := b.gate.segs(n); len(segs) != 0 {
		t.Fatalf("answered SYN+FIN: %+v", segs)
	}
	if q := skOf(ls).synQlen.Load(); q != 0 {
		t.Fatalf("SYN+FIN made %d children", q)
	}
	// A plain SYN from the same port is answered: the drop was the flags.
	b.inject(a, 4321, 80, 1000, 0, tcpFlagSYN, 1000, nil)
	tcpWaitFor(t, "SYN-ACK", time.Second, func() bool {
		for _, s := range b.gate.segs(n) {
			if s.flags == tcpFlagSYN|tcpFlagACK {
				return true
			}
		}
		return false
	})
}
