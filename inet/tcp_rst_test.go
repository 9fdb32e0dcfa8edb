package inet

import (
	"context"
	"errors"
	"testing"
	"time"

	"sockfs/socket"
)

// RFC 5961: blind in-window RSTs and SYNs draw a challenge ACK instead of
// killing the connection; only a RST at exactly RCV.NXT resets.
func TestTCPRFC5961(t *testing.T) {
	clk, a, b := manualPair(t)
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	stp := skOf(ss)
	waitState(t, stp, time.Second, TCP_ESTABLISHED)
	// Challenge ACKs are limited per socket (tcp_oow.go): each case
	// starts past the limit's interval.
	b.arpSettle(a)
	next := func() { clk.Advance(sysctlTCPInvalidRatelimit) }
	cport := withSk(skOf(cs), func(tp *tcpSock) uint16 { return tp.Sport })
	rcvNxt := withSk(stp, func(tp *tcpSock) uint32 { return tp.rcvNxt })
	sndNxt := withSk(stp, func(tp *tcpSock) uint32 { return tp.sndNxt })

	expectChallenge := func(what string, from int) {
		t.Helper()
		tcpWaitFor(t, "challenge ACK for "+what, time.Second, func() bool {
			for _, s := range b.gate.segs(from) {
				if s.flags == tcpFlagACK && s.seq == sndNxt && s.ack == rcvNxt && s.dataLen == 0 {
					return true
				}
			}
			return false
		})
		mustState(t, stp, TCP_ESTABLISHED)
	}

	// An in-window RST that is not at RCV.NXT.
	n := b.gate.count()
	b.inject(a, cport, 80, rcvNxt+100, 0, tcpFlagRST, 0, nil)
	expectChallenge("in-window RST", n)

	// A SYN on an established connection (RFC 5961 §4).
	next()
	n = b.gate.count()
	b.inject(a, cport, 80, rcvNxt+5, 0, tcpFlagSYN, 1000, nil)
	expectChallenge("SYN", n)

	// A RST outside the window is dropped without a word.
	n = b.gate.count()
	b.inject(a, cport, 80, rcvNxt+1<<30, 0, tcpFlagRST, 0, nil)
	mustState(t, stp, TCP_ESTABLISHED)
	if segs := b.gate.segs(n); len(segs) != 0 {
		t.Fatalf("answered an out-of-window RST: %+v", segs)
	}

	// An ACK for data never sent (RFC 5961 §5) is challenged and dropped.
	next()
	n = b.gate.count()
	b.inject(a, cport, 80, rcvNxt, sndNxt+1<<20, tcpFlagACK, 1000, nil)
	expectChallenge("ACK of unsent data", n)

	// The exact RST resets: ECONNRESET once, then EPIPE / EOF.
	b.inject(a, cport, 80, rcvNxt, 0, tcpFlagRST, 0, nil)
	waitState(t, stp, time.Second, TCP_CLOSE)
	if _, err := socket.SockSendmsg(context.Background(), ss, &socket.Msghdr{}, []byte("x")); !errors.Is(err, socket.ECONNRESET) {
		t.Fatalf("first write after reset: %v", err)
	}
	if _, err := socket.SockSendmsg(context.Background(), ss, &socket.Msghdr{}, []byte("x")); !errors.Is(err, socket.EPIPE) {
		t.Fatalf("second write after reset: %v", err)
	}
	if n, err := socket.SockRecvmsg(context.Background(), ss, &socket.Msghdr{}, make([]byte, 4), 0); n != 0 || err != nil {
		t.Fatalf("read after reset: %d %v", n, err)
	}
	if b.in.mib.Tcp.EstabResets.Load() != 1 {
		t.Fatalf("EstabResets %d", b.in.mib.Tcp.EstabResets.Load())
	}
}

// Closing with unread data, or with SO_LINGER 0, aborts with a RST
// (RFC 2525 §2.17, Linux); the peer's next read says ECONNRESET.
func TestTCPCloseResets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, cs, ss *socketPair)
	}{
		{"unread data", func(t *testing.T, cs, ss *socketPair) {
			if err := writeAll(context.Background(), cs.s, []byte("never read")); err != nil {
				t.Fatal(err)
			}
			tcpWaitFor(t, "data at the server", time.Second, func() bool {
				return withSk(ss.tp, func(tp *tcpSock) bool { return tp.ReceiveQueue.Bytes() == 10 })
			})
		}},
		{"SO_LINGER 0", func(t *testing.T, cs, ss *socketPair) {
			if err := socket.Setsockopt(ss.s, socket.SOL_SOCKET, socket.SO_LINGER, 0); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newTCPPair(t, tcpPairOpts{})
			cs, ss, _ := tcpConnPair(t, a, b, 80)
			cp, sp := &socketPair{cs, skOf(cs)}, &socketPair{ss, skOf(ss)}
			tc.setup(t, cp, sp)
			rsts := b.in.mib.Tcp.OutRsts.Load()
			socket.SockRelease(ss)
			waitState(t, cp.tp, time.Second, TCP_CLOSE)
			if b.in.mib.Tcp.OutRsts.Load() != rsts+1 {
				t.Fatal("no RST sent")
			}
			if _, err := socket.SockRecvmsg(context.Background(), cs, &socket.Msghdr{}, make([]byte, 4), 0); !errors.Is(err, socket.ECONNRESET) {
				t.Fatalf("peer read: %v", err)
			}
			if got := b.in.tcp.prot.InUse.Load(); got != 1 { // the listener
				t.Fatalf("socks in use %d after abort", got)
			}
		})
	}
}

type socketPair struct {
	s  *socket.Socket
	tp *tcpSock
}

// A segment to a port nobody listens on gets a RST built from it (RFC
// 9293 §3.10.7.1).
func TestTCPResetForClosedPort(t *testing.T) {
	_, a, b := manualPair(t)
	a.inject(b, 4000, 9, 1000, 0, tcpFlagSYN, 1000, nil)
	tcpWaitFor(t, "RST", time.Second, func() bool {
		for _, s := range a.gate.segs(0) {
			if s.flags == tcpFlagRST|tcpFlagACK && s.seq == 0 && s.ack == 1001 {
				return true
			}
		}
		return false
	})
	n := a.gate.count()
	a.inject(b, 4000, 9, 1000, 5555, tcpFlagACK, 1000, []byte("xy"))
	tcpWaitFor(t, "RST to ACK", time.Second, func() bool {
		for _, s := range a.gate.segs(n) {
			if s.flags == tcpFlagRST && s.seq == 5555 {
				return true
			}
		}
		return false
	})
	// A RST is never answered.
	n = a.gate.count()
	a.inject(b, 4000, 9, 1000, 0, tcpFlagRST, 0, nil)
	a.inject(b, 4000, 9, 1000, 0, tcpFlagSYN, 1000, nil) // marks the end of the answers
	tcpWaitFor(t, "answer", time.Second, func() bool { return len(a.gate.segs(n)) > 0 })
	if segs := a.gate.segs(n); len(segs) != 1 {
		t.Fatalf("answered a RST: %+v", segs)
	}
}
