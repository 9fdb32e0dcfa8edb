package inet6

import (
	"context"
	"net/netip"
	"testing"

	"sockfs/inet6/header"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// IPV6_RECVERR, as __udp6_lib_err and rawv6_err read it: without it a
// port unreachable is lost on an unconnected UDP socket and a soft error
// (no route) on a connected one, and a raw socket hears nothing
// unconnected; with it each becomes the socket's error, read once.
func TestIPv6Recverr(t *testing.T) {
	h, w := newWiredUDPHost(t, ktime.NewManual())
	ctx := context.Background()
	to := netip.AddrPortFrom(w.addr, 9)
	// answer sends a packet of next header nh from sock to w (to w's
	// port 9, or raw to w) and answers it with an error of code, then
	// reads sock without waiting.
	answer := func(sock *socket.Socket, nh, code uint8) error {
		t.Helper()
		dst := to
		if nh != header.NEXTHDR_UDP {
			dst = netip.AddrPortFrom(w.addr, 0) // a raw socket's port is its protocol
		}
		if _, err := socket.Sendto(ctx, sock, []byte("x"), 0, dst); err != nil {
			t.Fatal(err)
		}
		stackIdle(t)
		fs := w.udpFrames(nh)
		if len(fs) != 1 {
			t.Fatalf("%d packets sent, want 1", len(fs))
		}
		w.send(h.dev.HWAddr, icmp6Error(w.addr, h.addr, header.ICMPV6_DEST_UNREACH, code, 0, fs[0]))
		stackIdle(t)
		_, _, err := socket.Recvfrom(ctx, sock, make([]byte, 10), socket.MSG_DONTWAIT)
		return err
	}
	recverr := func(sock *socket.Socket) {
		t.Helper()
		if v, err := socket.Getsockopt(sock, socket.SOL_IPV6, socket.IPV6_RECVERR); v != 0 || err != nil {
			t.Fatalf("IPV6_RECVERR %d, %v before set; want 0", v, err)
		}
		if err := socket.Setsockopt(sock, socket.SOL_IPV6, socket.IPV6_RECVERR, 1); err != nil {
			t.Fatal(err)
		}
		if v, _ := socket.Getsockopt(sock, socket.SOL_IPV6, socket.IPV6_RECVERR); v != 1 {
			t.Fatalf("IPV6_RECVERR %d after set, want 1", v)
		}
	}

	u := h.socket(t)
	if err := answer(u, header.NEXTHDR_UDP, header.ICMPV6_PORT_UNREACH); err != socket.EAGAIN {
		t.Fatalf("unconnected UDP: %v, want EAGAIN (no error)", err)
	}
	recverr(u)
	if err := answer(u, header.NEXTHDR_UDP, header.ICMPV6_PORT_UNREACH); err != socket.ECONNREFUSED {
		t.Fatalf("unconnected UDP with IPV6_RECVERR: %v, want ECONNREFUSED", err)
	}

	c := h.socket(t)
	if err := socket.Connect(ctx, c, to, 0); err != nil {
		t.Fatal(err)
	}
	if err := answer(c, header.NEXTHDR_UDP, header.ICMPV6_NOROUTE); err != socket.EAGAIN {
		t.Fatalf("connected UDP, soft error: %v, want EAGAIN", err)
	}
	recverr(c)
	if err := answer(c, header.NEXTHDR_UDP, header.ICMPV6_NOROUTE); err != socket.ENETUNREACH {
		t.Fatalf("connected UDP with IPV6_RECVERR, soft error: %v, want ENETUNREACH", err)
	}

	r, err := socket.SockCreate(ctx, h.h.SockNet, h.sb, socket.AF_INET6, socket.SOCK_RAW, 253)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Ops.Release(r) })
	if err := answer(r, 253, header.ICMPV6_PORT_UNREACH); err != socket.EAGAIN {
		t.Fatalf("unconnected raw: %v, want EAGAIN", err)
	}
	recverr(r)
	if err := answer(r, 253, header.ICMPV6_PORT_UNREACH); err != socket.ECONNREFUSED {
		t.Fatalf("unconnected raw with IPV6_RECVERR: %v, want ECONNREFUSED", err)
	}
}
