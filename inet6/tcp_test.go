package inet6

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/netip"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

func (u *udpHost) stream(t *testing.T) *socket.Socket {
	t.Helper()
	sock, err := socket.SockCreate(context.Background(), u.h.SockNet, u.sb, socket.AF_INET6, socket.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Ops.Release(sock) })
	return sock
}

// readAll reads sock to end of stream.
func readAll(ctx context.Context, sock *socket.Socket) ([]byte, error) {
	var out []byte
	buf := make([]byte, 65536)
	for {
		n, _, err := socket.Recvfrom(ctx, sock, buf, 0)
		if err != nil {
			return out, err
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}

// TCP over IPv6 between two stacks with 2% loss on one side: a connect,
// an accept, 1 MiB each way intact (the server echoes what it read after
// the client's FIN), and the addresses both ends see. Recovery runs on the RTO and delayed-ACK timers while both
// ends stream, so the real clock drives it, as inet's loss tests do.
func TestTCPv6OverLossyLink(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	spec, _ := netdev.ParseNetem("loss 2%")
	clk := ktime.NewReal()
	a := newUDPHost(t, netdev.NewNetem(pa, spec, 5, clk), clk, 1)
	b := newUDPHost(t, pb, clk, 2)
	for _, h := range []*udpHost{a, b} {
		h.h.Inet.SetTCPTimers(20*time.Millisecond, 0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ls := b.stream(t)
	if err := socket.Bind(ctx, ls, netip.MustParseAddrPort("[::]:7000")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 8); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i*31 + i>>11)
	}
	type result struct {
		peer netip.AddrPort
		sum  [32]byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		cs, err := socket.Accept(ctx, b.sb, ls, 0)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer cs.Ops.Release(cs)
		peer, _ := cs.Ops.Getname(cs, true)
		got, err := readAll(ctx, cs)
		if err == nil {
			_, err = socket.Sendto(ctx, cs, got, 0, netip.AddrPort{})
		}
		done <- result{peer: peer, sum: sha256.Sum256(got), err: err}
	}()

	c := a.stream(t)
	if err := socket.Connect(ctx, c, netip.AddrPortFrom(b.addr, 7000), 0); err != nil {
		t.Fatalf("connect: %v", err)
	}
	local, _ := c.Ops.Getname(c, false)
	if local.Addr() != a.addr {
		t.Fatalf("client local %v, want %v", local, a.addr)
	}
	if _, err := socket.Sendto(ctx, c, msg, 0, netip.AddrPort{}); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := socket.Shutdown(c, socket.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	back, err := readAll(ctx, c)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("server: %v", r.err)
	}
	if r.peer != local {
		t.Fatalf("server sees %v, client is %v", r.peer, local)
	}
	if r.sum != sha256.Sum256(msg) || !bytes.Equal(back, msg) {
		t.Fatalf("server got a different stream, or echoed %d bytes of %d", len(back), len(msg))
	}
}
