package inet

import (
	"context"
	"testing"

	"sockfs/socket"
)

// tcpPingPong moves chunk bytes from cs to ss and reads them all, in the
// caller's goroutine; the steady-state data path of both stacks runs
// underneath (segments, ACKs, timers re-armed, skbs pooled).
type tcpPingPong struct {
	cs, ss     *socket.Socket
	data, buf  []byte
	wmsg, rmsg socket.Msghdr
}

func (p *tcpPingPong) run(tb testing.TB) {
	ctx := context.Background()
	for b := p.data; len(b) > 0; {
		n, err := socket.SockSendmsg(ctx, p.cs, &p.wmsg, b)
		if err != nil {
			tb.Fatal(err)
		}
		b = b[n:]
	}
	for got := 0; got < len(p.data); {
		n, err := socket.SockRecvmsg(ctx, p.ss, &p.rmsg, p.buf, 0)
		if err != nil || n == 0 {
			tb.Fatal("recv:", n, err)
		}
		got += n
	}
}

// BenchmarkTCPBulk is one direction's throughput between two stacks over
// the in-memory pair (MTU 1500), writer and reader in their own goroutines.
func BenchmarkTCPBulk(b *testing.B) {
	for _, mtu := range []int{1500, 65000} {
		b.Run(map[int]string{1500: "mtu1500", 65000: "mtu65000"}[mtu], func(b *testing.B) {
			ha, hb := newTCPPairTB(b, tcpPairOpts{mtu: mtu})
			cs, ss, _ := tcpConnPairTB(b, ha, hb, 80)
			const chunk = 256 << 10
			data := testPayload(chunk, 1)
			b.SetBytes(chunk)
			b.ReportAllocs()
			done := make(chan error, 1)
			go func() {
				buf := make([]byte, 256<<10)
				var msg socket.Msghdr
				for got := 0; got < chunk*b.N; {
					n, err := socket.SockRecvmsg(context.Background(), ss, &msg, buf, 0)
					if err != nil {
						done <- err
						return
					}
					got += n
				}
				done <- nil
			}()
			b.ResetTimer()
			var msg socket.Msghdr
			for i := 0; i < b.N; i++ {
				for d := data; len(d) > 0; {
					n, err := socket.SockSendmsg(context.Background(), cs, &msg, d)
					if err != nil {
						b.Fatal(err)
					}
					d = d[n:]
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkTCPRequestResponse is round trips of one small message each way
// on one connection.
func BenchmarkTCPRequestResponse(b *testing.B) {
	ha, hb := newTCPPairTB(b, tcpPairOpts{})
	cs, ss, _ := tcpConnPairTB(b, ha, hb, 80)
	ctx := context.Background()
	go func() {
		buf := make([]byte, 64)
		var msg socket.Msghdr
		for {
			n, err := socket.SockRecvmsg(ctx, ss, &msg, buf, 0)
			if err != nil || n == 0 {
				return
			}
			if _, err := socket.SockSendmsg(ctx, ss, &msg, buf[:n]); err != nil {
				return
			}
		}
	}()
	req := []byte("ping")
	buf := make([]byte, 64)
	var msg socket.Msghdr
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := socket.SockSendmsg(ctx, cs, &msg, req); err != nil {
			b.Fatal(err)
		}
		for got := 0; got < len(req); {
			n, err := socket.SockRecvmsg(ctx, cs, &msg, buf, 0)
			if err != nil || n == 0 {
				b.Fatal(err)
			}
			got += n
		}
	}
}
