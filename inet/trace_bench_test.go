package inet

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/socket"
)

// The cost of the trace hooks when nobody reads the trace file. The hooks
// cannot be compiled out to compare against, so the figure is built from
// two measurements: the time of one hook with the tracer off (one atomic
// load and a branch), and the time of one segment of a bulk transfer
// between two stacks over netdev.NewPair, with the number of hooks a
// segment crosses counted by tracing that same transfer once.
//
//	go test -run '^$' -bench TraceOverhead ./inet
//
// reports hook-ns, hooks/seg, ns/seg and hook-% (the share of a segment's
// time spent in hooks that print nothing); hook-% must stay under 1.

// frameCounter counts the frames one end transmits.
type frameCounter struct {
	netdev.Driver
	n atomic.Uint64
}

func (c *frameCounter) Xmit(skb *netdev.SkBuff) error {
	c.n.Add(1)
	return c.Driver.Xmit(skb)
}

// newBenchPair builds the two stacks of the TCP tests over an in-memory
// pair; count sees every frame the first one sends.
func newBenchPair(tb testing.TB) (a, b *tcpHost, count *frameCounter) {
	tb.Helper()
	a, b = newTCPPairTB(tb, tcpPairOpts{wrapA: func(d netdev.Driver) netdev.Driver {
		count = &frameCounter{Driver: d}
		return count
	}})
	return a, b, count
}

// benchConn connects a to b and returns the sending and receiving sockets.
func benchConn(tb testing.TB, a, b *tcpHost, port uint16) (snd, rcv *socket.Socket) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	mk := func(h *tcpHost) *socket.Socket {
		s, err := socket.SockCreate(ctx, h.sn, h.sb, socket.AF_INET, socket.SOCK_STREAM, 0)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	ls := mk(b)
	if err := socket.Bind(ctx, ls, netip.AddrPortFrom(netip.IPv4Unspecified(), port)); err != nil {
		tb.Fatal(err)
	}
	if err := socket.Listen(ls, 16); err != nil {
		tb.Fatal(err)
	}
	snd = mk(a)
	if err := socket.Connect(ctx, snd, netip.AddrPortFrom(b.addr, port), 0); err != nil {
		tb.Fatal("connect:", err)
	}
	rcv, err := socket.Accept(ctx, b.sb, ls, 0)
	if err != nil {
		tb.Fatal("accept:", err)
	}
	socket.SockRelease(ls)
	tb.Cleanup(func() {
		socket.SockRelease(snd)
		socket.SockRelease(rcv)
	})
	return snd, rcv
}

// transfer sends n bytes from snd and reads them all at rcv.
func transfer(tb testing.TB, snd, rcv *socket.Socket, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		got := 0
		for got < n {
			m, err := socket.SockRecvmsg(ctx, rcv, &socket.Msghdr{}, buf, 0)
			if err != nil {
				done <- err
				return
			}
			got += m
		}
		done <- nil
	}()
	chunk := make([]byte, 128<<10)
	for sent := 0; sent < n; {
		m, err := socket.SockSendmsg(ctx, snd, &socket.Msghdr{}, chunk[:min(len(chunk), n-sent)])
		if err != nil {
			tb.Fatal("send:", err)
		}
		sent += m
	}
	if err := <-done; err != nil {
		tb.Fatal("recv:", err)
	}
}

// hooksPerSegment traces one transfer of n bytes and returns the lines it
// produced per data segment the sender transmitted.
func hooksPerSegment(tb testing.TB, n int) float64 {
	a, b, count := newBenchPair(tb)
	snd, rcv := benchConn(tb, a, b, 5001)
	// Both stacks' hooks count: the sender's output chain and the ACKs'
	// input chain, the receiver's input chain and its ACKs' output.
	ra := a.sn.Trace.Subscribe(1 << 20)
	rb := b.sn.Trace.Subscribe(1 << 20)
	before := count.n.Load()
	transfer(tb, snd, rcv, n)
	segs := count.n.Load() - before
	ra.Close()
	rb.Close()
	lines := a.sn.Trace.Dropped.Load() + b.sn.Trace.Dropped.Load()
	for _, r := range []*socket.TraceReader{ra, rb} {
		buf := make([]byte, 1<<20)
		for {
			m, err := r.Read(context.Background(), buf, true)
			if err != nil {
				break
			}
			for _, c := range buf[:m] {
				if c == '\n' {
					lines++
				}
			}
		}
	}
	return float64(lines) / float64(segs)
}

// BenchmarkTraceHookOff is one hook with nobody reading, in both forms
// the stack uses: a call of a trace helper, and the guard that protocol
// code puts around a line with arguments to format.
func BenchmarkTraceHookOff(b *testing.B) {
	a, _, _ := newBenchPair(b)
	sock := &socket.Socket{Ino: 1}
	b.Run("call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			a.in.traceLen(sock, "sock_write_iter -> inet_sendmsg -> tcp_sendmsg", 1448)
		}
	})
	b.Run("guard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if a.in.traceOn() {
				a.in.traceSk(sock.Sk, "tcp_transmit_skb seq=%d", 1)
			}
		}
	})
}

// BenchmarkTraceOverhead is the figure the trace file promises: the share
// of a bulk transfer's time its hooks take when nobody reads.
func BenchmarkTraceOverhead(b *testing.B) {
	const size = 16 << 20
	perSeg := hooksPerSegment(b, 4<<20)

	// One hook, off. Every hook a transfer crosses is this guard
	// (af_inet.go guards its sendmsg/recvmsg lines too), so its cost is
	// the cost of a hook.
	a0, _, _ := newBenchPair(b)
	sock := &socket.Socket{Ino: 1}
	const calls = 1 << 24
	t0 := time.Now()
	for range calls {
		if a0.in.traceOn() {
			a0.in.traceLen(sock, "sock_write_iter -> inet_sendmsg -> tcp_sendmsg", 1448)
		}
	}
	hookNs := float64(time.Since(t0).Nanoseconds()) / calls

	a, bb, count := newBenchPair(b)
	snd, rcv := benchConn(b, a, bb, 5002)
	if a.sn.Trace.On() || bb.sn.Trace.On() {
		b.Fatal("tracer on with no reader")
	}
	b.SetBytes(size)
	before := count.n.Load()
	b.ResetTimer()
	for b.Loop() {
		transfer(b, snd, rcv, size)
	}
	elapsed := b.Elapsed()
	segs := count.n.Load() - before
	segNs := float64(elapsed.Nanoseconds()) / float64(segs)
	b.ReportMetric(hookNs, "hook-ns")
	b.ReportMetric(perSeg, "hooks/seg")
	b.ReportMetric(segNs, "ns/seg")
	pct := 100 * perSeg * hookNs / segNs
	b.ReportMetric(pct, "hook-%")
	if pct >= 1 {
		b.Errorf("trace hooks with nobody reading take %.3f%% of a bulk transfer's time (%.2f ns × %.1f hooks per %.0f ns segment); want < 1%%", pct, hookNs, perSeg, segNs)
	}
}
