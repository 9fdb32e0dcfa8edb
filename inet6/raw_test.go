package inet6

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// An AF_INET6 SOCK_RAW IPPROTO_ICMPV6 socket reads an echo request from
// the wire as its ICMPv6 message (no IPv6 header) from the sender, while
// the stack still answers it; a write with a zero checksum leaves with the
// checksum the stack computed; a destination port other than the protocol
// is EINVAL; net/raw6 lists the socket with the protocol as its port and
// sockstat6 counts it.
func TestRawv6ICMPv6(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	u := newUDPHost(t, pa, ktime.NewManual(), 2)
	w := newWire(t, pb)
	u.n.ndTbl.NeighUpdate(u.dev, w.addr, w.mac, true)
	ctx := context.Background()
	sock, err := socket.SockCreate(ctx, u.h.SockNet, u.sb, socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Ops.Release(sock) })
	req := echoRequest(w.addr, u.addr, 0x4242, 7, []byte("raw6"))
	w.send(u.dev.HWAddr, ip6Packet(w.addr, u.addr, header.NEXTHDR_ICMP, 64, req))
	stackIdle(t)
	buf := make([]byte, 200)
	k, from, err := socket.Recvfrom(ctx, sock, buf, socket.MSG_DONTWAIT)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:k], req) || from.Addr() != w.addr || from.Port() != 0 {
		t.Fatalf("read %x from %v; want %x from %v", buf[:k], from, req, w.addr)
	}
	if w.next(header.ICMPV6_ECHO_REPLY, 0) == nil {
		t.Fatal("the stack did not answer the echo request the raw socket saw")
	}
	// A write with a zero checksum.
	out := []byte{header.ICMPV6_ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 1, 'h', 'i'}
	if _, err := socket.Sendto(ctx, sock, out, 0, netip.AddrPortFrom(w.addr, 0)); err != nil {
		t.Fatal(err)
	}
	stackIdle(t)
	h := w.next(header.ICMPV6_ECHO_REQUEST, 0)
	if h == nil {
		t.Fatal("no echo request on the wire")
	}
	m := header.Icmp6hdr(h.Payload())
	if !m.IsChecksumValid(h.Saddr(), h.Daddr()) || m.Identifier() != 0x1234 || h.Src() != u.addr {
		t.Fatalf("sent %x: checksum valid %v", h.Payload(), m.IsChecksumValid(h.Saddr(), h.Daddr()))
	}
	if _, err := socket.Sendto(ctx, sock, out, 0, netip.AddrPortFrom(w.addr, 17)); err != socket.EINVAL {
		t.Fatalf("to port 17: %v, want EINVAL", err)
	}
	if _, err := socket.Sendto(ctx, sock, out[:3], 0, netip.AddrPortFrom(w.addr, 0)); err != socket.EINVAL {
		t.Fatalf("3 bytes: %v, want EINVAL", err)
	}
	var raw6, st6 bytes.Buffer
	for _, f := range u.h.SockNet.ProcNetFiles() {
		switch f.Name {
		case "raw6":
			f.Show(&raw6)
		case "sockstat6":
			f.Show(&st6)
		}
	}
	wantRow := "   58: 00000000000000000000000000000000:003A 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 "
	if lines := strings.Split(raw6.String(), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], wantRow) {
		t.Fatalf("net/raw6:\n%s\nwant a row starting %q", raw6.String(), wantRow)
	}
	if !strings.Contains(st6.String(), "RAW6: inuse 1\n") {
		t.Fatalf("sockstat6:\n%s", st6.String())
	}
}

// A raw socket of a next header the stack has no handler for takes the
// packet, which then draws no parameter problem.
func TestRawv6UnknownNexthdr(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	u := newUDPHost(t, pa, ktime.NewManual(), 2)
	w := newWire(t, pb)
	u.n.ndTbl.NeighUpdate(u.dev, w.addr, w.mac, true)
	ctx := context.Background()
	w.send(u.dev.HWAddr, ip6Packet(w.addr, u.addr, 253, 64, []byte("exp1")))
	stackIdle(t)
	if w.next(header.ICMPV6_PARAMPROB, 0) == nil {
		t.Fatal("no parameter problem without a raw socket")
	}
	sock, err := socket.SockCreate(ctx, u.h.SockNet, u.sb, socket.AF_INET6, socket.SOCK_RAW, 253)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Ops.Release(sock) })
	w.send(u.dev.HWAddr, ip6Packet(w.addr, u.addr, 253, 64, []byte("exp2")))
	stackIdle(t)
	if w.next(header.ICMPV6_PARAMPROB, 0) != nil {
		t.Fatal("parameter problem although a raw socket took the packet")
	}
	buf := make([]byte, 100)
	k, _, err := socket.Recvfrom(ctx, sock, buf, socket.MSG_DONTWAIT)
	if err != nil || string(buf[:k]) != "exp2" {
		t.Fatalf("read %q, %v; want exp2", buf[:k], err)
	}
}

// A packet too big about a raw socket's packet lowers the path MTU; under
// IPV6_PMTUDISC_DO it is also the socket's error (this unconnected one's
// because of IPV6_RECVERR, as rawv6_err), reported by the next send that
// passes the size check.
func TestRawv6PacketTooBig(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	u := newUDPHost(t, pa, ktime.NewManual(), 2)
	w := newWire(t, pb)
	u.n.ndTbl.NeighUpdate(u.dev, w.addr, w.mac, true)
	if err := u.n.SetGateway(w.addr); err != nil {
		t.Fatal(err)
	}
	far := netip.MustParseAddr("2001:2:0:ff::7")
	ctx := context.Background()
	sock, err := socket.SockCreate(ctx, u.h.SockNet, u.sb, socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Ops.Release(sock) })
	if err := socket.Setsockopt(sock, socket.SOL_IPV6, socket.IPV6_MTU_DISCOVER, socket.IPV6_PMTUDISC_DO); err != nil {
		t.Fatal(err)
	}
	if err := socket.Setsockopt(sock, socket.SOL_IPV6, socket.IPV6_RECVERR, 1); err != nil {
		t.Fatal(err)
	}
	send := func(k int) error {
		b := make([]byte, k)
		b[0] = header.ICMPV6_ECHO_REQUEST
		_, err := socket.Sendto(ctx, sock, b, 0, netip.AddrPortFrom(far, 0))
		stackIdle(t)
		return err
	}
	if err := send(1400); err != nil {
		t.Fatal(err)
	}
	fs := w.udpFrames(header.NEXTHDR_ICMP)
	if len(fs) != 1 {
		t.Fatalf("%d packets, want one", len(fs))
	}
	w.send(u.dev.HWAddr, packetTooBig(w.addr, u.addr, 1280, fs[0]))
	stackIdle(t)
	dev, nexthop, _ := u.n.ip6RouteOutput(far)
	if m := u.n.ip6DstMtu(dev, nexthop, far); m != 1280 {
		t.Fatalf("path MTU %d, want 1280", m)
	}
	for i, c := range []struct {
		k    int
		want error
	}{{1400, socket.EMSGSIZE}, {100, socket.EMSGSIZE}, {100, nil}} {
		if err := send(c.k); err != c.want {
			t.Fatalf("send %d (%d bytes): %v, want %v", i, c.k, err, c.want)
		}
	}
}
