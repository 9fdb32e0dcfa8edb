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

// ICMP6_FILTER, as rawv6_seticmpfilter and icmpv6_filter: a raw ICMPv6
// socket reads every type until its filter blocks one; the filter reads
// back as set; other socks refuse it (a raw socket of another protocol
// EOPNOTSUPP, a UDP one and an AF_INET raw one ENOPROTOOPT).
func TestIcmp6Filter(t *testing.T) {
	h, w := newWiredUDPHost(t, ktime.NewManual())
	ctx := context.Background()
	newRaw := func(family, proto int) *socket.Socket {
		t.Helper()
		s, err := socket.SockCreate(ctx, h.h.SockNet, h.sb, family, socket.SOCK_RAW, proto)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Ops.Release(s) })
		return s
	}
	r := newRaw(socket.AF_INET6, socket.IPPROTO_ICMPV6)
	// echoIn sends an echo request to h and reports whether r read it.
	echoIn := func(seq uint16) bool {
		t.Helper()
		w.send(h.dev.HWAddr, ip6Packet(w.addr, h.addr, header.NEXTHDR_ICMP, 64, echoRequest(w.addr, h.addr, 1, seq, nil)))
		stackIdle(t)
		buf := make([]byte, 100)
		k, _, err := socket.Recvfrom(ctx, r, buf, socket.MSG_DONTWAIT)
		return err == nil && k > 0 && buf[0] == header.ICMPV6_ECHO_REQUEST
	}
	if got, err := socket.GetsockoptWords(r, socket.SOL_ICMPV6, socket.ICMP6_FILTER); err != nil || len(got) != 8 || got[4] != 0 {
		t.Fatalf("default filter %x, %v; want all clear", got, err)
	}
	if !echoIn(1) {
		t.Fatal("no echo request read without a filter")
	}
	block := []uint32{0, 0, 0, 0, 1 << (header.ICMPV6_ECHO_REQUEST & 31), 0, 0, 0}
	if err := socket.SetsockoptWords(r, socket.SOL_ICMPV6, socket.ICMP6_FILTER, block); err != nil {
		t.Fatal(err)
	}
	if got, _ := socket.GetsockoptWords(r, socket.SOL_ICMPV6, socket.ICMP6_FILTER); got[4] != block[4] {
		t.Fatalf("filter reads back %x, want %x", got, block)
	}
	if echoIn(2) {
		t.Fatal("an echo request read through a filter that blocks type 128")
	}
	if w.next(header.ICMPV6_ECHO_REPLY, 0) == nil {
		t.Fatal("the stack did not answer the filtered echo request")
	}
	if err := socket.SetsockoptWords(newRaw(socket.AF_INET6, 253), socket.SOL_ICMPV6, socket.ICMP6_FILTER, block); err != socket.EOPNOTSUPP {
		t.Fatalf("raw proto 253: %v, want EOPNOTSUPP", err)
	}
	if err := socket.SetsockoptWords(newRaw(socket.AF_INET, socket.IPPROTO_ICMP), socket.SOL_ICMPV6, socket.ICMP6_FILTER, block); err != socket.ENOPROTOOPT {
		t.Fatalf("AF_INET raw: %v, want ENOPROTOOPT", err)
	}
	if _, err := socket.GetsockoptWords(h.socket(t), socket.SOL_ICMPV6, socket.ICMP6_FILTER); err != socket.ENOPROTOOPT {
		t.Fatalf("UDP: %v, want ENOPROTOOPT", err)
	}
}
