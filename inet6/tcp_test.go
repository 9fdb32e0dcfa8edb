package inet6

import (
	"bytes"
	"context"
	"crypto/sha256"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

func (u *udpHost) stream(t *testing.T) *socket.Socket {
	return u.sock(t, socket.AF_INET6, socket.SOCK_STREAM)
}

// listenOn binds sock to at and listens.
func listenOn(t *testing.T, sock *socket.Socket, at string) {
	t.Helper()
	if err := socket.Bind(context.Background(), sock, netip.MustParseAddrPort(at)); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(sock, 8); err != nil {
		t.Fatal(err)
	}
}

// connectStart begins a nonblocking connect of c to to (EINPROGRESS).
func connectStart(t *testing.T, c *socket.Socket, to netip.AddrPort) {
	t.Helper()
	if err := socket.Connect(context.Background(), c, to, socket.O_NONBLOCK); err != socket.EINPROGRESS {
		t.Fatalf("nonblocking connect: %v, want EINPROGRESS", err)
	}
}

// listenConnect puts a TCPv6 listener on b's [::]:port and starts a
// connect to it from a.
func listenConnect(t *testing.T, a, b *udpHost, port uint16) (ls, c *socket.Socket) {
	t.Helper()
	ls = b.stream(t)
	listenOn(t, ls, netip.AddrPortFrom(netip.IPv6Unspecified(), port).String())
	c = a.stream(t)
	connectStart(t, c, netip.AddrPortFrom(b.addr, port))
	return ls, c
}

// procField is the value of column name in the first pair of lines of
// net/file that begin with prefix (the header row, then the values), as
// /proc/net/snmp lays them out.
func procField(t *testing.T, u *udpHost, file, prefix, name string) string {
	t.Helper()
	var rows [][]string
	for _, line := range strings.Split(procText(t, u, file), "\n") {
		if strings.HasPrefix(line, prefix) {
			rows = append(rows, strings.Fields(line))
		}
	}
	if len(rows) >= 2 {
		for i, k := range rows[0] {
			if k == name && i < len(rows[1]) {
				return rows[1][i]
			}
		}
	}
	t.Fatalf("net/%s has no %s %s", file, prefix, name)
	return ""
}

// sockstat6 is u's net/sockstat6.
func sockstat6(t *testing.T, u *udpHost) string {
	t.Helper()
	return procText(t, u, "sockstat6")
}

// pump moves what it can of out to sock and of sock into in without
// blocking; eof reports the peer's FIN.
func pump(t *testing.T, sock *socket.Socket, out *[]byte, in *[]byte) (eof bool) {
	t.Helper()
	ctx := context.Background()
	if len(*out) > 0 {
		n, err := socket.Sendto(ctx, sock, *out, socket.MSG_DONTWAIT, netip.AddrPort{})
		if err != nil && err != socket.EAGAIN {
			t.Fatalf("send: %v", err)
		}
		*out = (*out)[n:]
	}
	buf := make([]byte, 65536)
	for {
		n, _, err := socket.Recvfrom(ctx, sock, buf, socket.MSG_DONTWAIT)
		if err == socket.EAGAIN {
			return false
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		if n == 0 {
			return true
		}
		*in = append(*in, buf[:n]...)
	}
}

// TCP over IPv6 between two stacks with 2% loss on one side, on the
// manual clock, every socket call nonblocking: a connect, an accept,
// 1 MiB each way at once intact, FIN both ways, the addresses both ends
// see, and the losses repaired by retransmission.
func TestTCPv6OverLossyLink(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	spec, _ := netdev.ParseNetem("loss 2%")
	clk := ktime.NewManual()
	a := newUDPHost(t, netdev.NewNetem(pa, spec, 5, clk), clk, 1)
	b := newUDPHost(t, pb, clk, 2)
	for _, h := range []*udpHost{a, b} {
		h.h.Inet.SetTCPTimers(20*time.Millisecond, 0)
	}
	step := func() { stackIdle(t); clk.Advance(5 * time.Millisecond) }

	ls, c := listenConnect(t, a, b, 7000)
	if _, err := c.Ops.Getname(c, true); err != socket.ENOTCONN {
		t.Fatalf("getpeername in SYN_SENT: %v, want ENOTCONN", err)
	}
	s := accept6(t, b, ls, step)
	local, _ := c.Ops.Getname(c, false)
	if peer, _ := s.Ops.Getname(s, true); local.Addr() != a.addr || peer != local {
		t.Fatalf("client local %v, server sees %v; want %v", local, peer, a.addr)
	}

	if st := sockstat6(t, b); !strings.Contains(st, "TCP6: inuse 2\n") {
		t.Fatalf("b's sockstat6 with a listener and a child:\n%s", st)
	}

	up, down := make([]byte, 1<<20), make([]byte, 1<<20)
	for i := range up {
		up[i], down[i] = byte(i*31+i>>11), byte(i*17+i>>9)
	}
	cOut, sOut := up, down
	var cIn, sIn []byte
	cEOF, sEOF, cShut, sShut := false, false, false, false
	for i := 0; !cEOF || !sEOF; i++ {
		if i == 100000 {
			t.Fatalf("after %d steps: client got %d, server got %d of %d", i, len(cIn), len(sIn), len(up))
		}
		cEOF = pump(t, c, &cOut, &cIn) || cEOF
		sEOF = pump(t, s, &sOut, &sIn) || sEOF
		if len(cOut) == 0 && !cShut {
			cShut = true
			if err := socket.Shutdown(c, socket.SHUT_WR); err != nil {
				t.Fatal(err)
			}
		}
		if len(sOut) == 0 && !sShut {
			sShut = true
			if err := socket.Shutdown(s, socket.SHUT_WR); err != nil {
				t.Fatal(err)
			}
		}
		step()
	}
	if sha256.Sum256(sIn) != sha256.Sum256(up) || !bytes.Equal(cIn, down) {
		t.Fatalf("server got %d bytes, client %d, of %d; or they differ", len(sIn), len(cIn), len(up))
	}
	if procField(t, a, "snmp", "Tcp:", "RetransSegs") == "0" {
		t.Fatal("a counted no retransmissions under 2% loss")
	}
}
