package inet6

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	inethdr "sockfs/inet/header"
	"testing"
	"time"

	"sockfs/inet"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// udpHost is a whole stack, IPv4 and IPv6, on one end of a pair.
type udpHost struct {
	h    *inet.Host
	n    *Net
	addr netip.Addr
	dev  *netdev.NetDevice
	sb   *testSB
}

func newUDPHost(t *testing.T, drv netdev.Driver, clock ktime.Clock, last byte) *udpHost {
	t.Helper()
	return newFeatHost(t, drv, clock, last, 0)
}

// newFeatHost is newUDPHost with device features feat (NETIF_F_*).
func newFeatHost(t *testing.T, drv netdev.Driver, clock ktime.Clock, last byte, feat uint64) *udpHost {
	t.Helper()
	h, err := inet.NewHost(clock)
	if err != nil {
		t.Fatal(err)
	}
	registerQueues(t, drv)
	n := Init(h.SockNet, h.DevNet, clock, h.Inet)
	n.SetDAD(false)
	if err := n.DevAdd(h.Lo, netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	dev := &netdev.NetDevice{Name: "eth0", MTU: 1500, HWAddr: [6]byte{0x02, 0, 0, 0, 0, last}, HardHeaderLen: netdev.EthHlen,
		Flags: netdev.IFF_BROADCAST | netdev.IFF_MULTICAST, Features: feat}
	if err := h.AddDevice(dev, drv, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 0, last}), 24)); err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0, 2, 15: last})
	if err := n.DevAdd(dev, netip.PrefixFrom(addr, 64)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return &udpHost{h: h, n: n, addr: addr, dev: dev, sb: &testSB{}}
}

func (u *udpHost) socket(t *testing.T) *socket.Socket {
	return u.sock(t, socket.AF_INET6, socket.SOCK_DGRAM)
}

// sock is a new socket of u of family and type, released at the test's
// end.
func (u *udpHost) sock(t *testing.T, family int, typ socket.SockType) *socket.Socket {
	t.Helper()
	sock, err := socket.SockCreate(context.Background(), u.h.SockNet, u.sb, family, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Ops.Release(sock) })
	return sock
}

// recvNow waits for the stacks to go idle, then takes a datagram without
// waiting (EAGAIN when none came).
func recvNow(t *testing.T, sock *socket.Socket) ([]byte, netip.AddrPort, error) {
	t.Helper()
	stackIdle(t)
	buf := make([]byte, 70000)
	n, from, err := socket.Recvfrom(context.Background(), sock, buf, socket.MSG_DONTWAIT)
	if err != nil {
		return nil, from, err
	}
	return buf[:n], from, nil
}

// UDP over IPv6 between two stacks with 5% loss on one side, on the manual
// clock: datagrams both ways (each resent a second later until it arrives,
// as a UDP application would), a
// 20000-byte one fragmented by ip6_fragment and reassembled intact, and a
// connected socket's send to a closed port turned into ECONNREFUSED by the
// peer's port unreachable.
func TestUDPv6OverLossyLink(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	spec, _ := netdev.ParseNetem("loss 5%")
	clk := ktime.NewManual()
	a := newUDPHost(t, netdev.NewNetem(pa, spec, 3, clk), clk, 1)
	b := newUDPHost(t, pb, clk, 2)
	ctx := context.Background()

	sa, sb := a.socket(t), b.socket(t)
	if local, _ := sb.Ops.Getname(sb, false); local.String() != "[::]:0" {
		t.Fatalf("fresh local %v, want [::]:0", local)
	}
	if err := socket.Bind(ctx, sb, netip.MustParseAddrPort("[::]:5000")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Bind(ctx, sb, netip.MustParseAddrPort("198.18.0.2:5001")); err != socket.EINVAL {
		t.Fatalf("second bind, IPv4: %v, want EINVAL", err)
	}
	bAddr := netip.AddrPortFrom(b.addr, 5000)
	exchange := func(from, to *socket.Socket, dst netip.AddrPort, msg []byte) netip.AddrPort {
		t.Helper()
		for try := 0; try < 30; try++ {
			if _, err := socket.Sendto(ctx, from, msg, 0, dst); err != nil {
				t.Fatalf("sendto %v: %v", dst, err)
			}
			got, src, err := recvNow(t, to)
			if err == socket.EAGAIN {
				clk.Advance(time.Second) // lost: ND retransmits meanwhile
				continue
			}
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("recvfrom: %d bytes, %v (want %d bytes)", len(got), err, len(msg))
			}
			return src
		}
		t.Fatalf("%d bytes to %v never arrived", len(msg), dst)
		return netip.AddrPort{}
	}
	for i := range 10 {
		src := exchange(sa, sb, bAddr, []byte(fmt.Sprintf("ping %d", i)))
		if src.Addr() != a.addr {
			t.Fatalf("sender %v, want %v", src, a.addr)
		}
		if back := exchange(sb, sa, src, []byte(fmt.Sprintf("pong %d", i))); back != bAddr {
			t.Fatalf("reply from %v, want %v", back, bAddr)
		}
	}
	big := make([]byte, 20000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	exchange(sa, sb, bAddr, big)
	if a.n.mib.get(ip6FragCreates) == 0 || b.n.mib.get(ip6ReasmOKs) == 0 {
		t.Fatalf("20000 bytes: a FragCreates %d, b ReasmOKs %d", a.n.mib.get(ip6FragCreates), b.n.mib.get(ip6ReasmOKs))
	}
	if b.n.mib.udp[udp6InDatagrams].Load() == 0 || a.n.mib.udp[udp6OutDatagrams].Load() == 0 {
		t.Fatal("Udp6 counters did not move")
	}

	// A connected socket to a port nobody has: the port unreachable the
	// peer answers is ECONNREFUSED, on a later send or a recv.
	sc := a.socket(t)
	if err := socket.Connect(ctx, sc, netip.AddrPortFrom(b.addr, 5999), 0); err != nil {
		t.Fatal(err)
	}
	refused := false
	for try := 0; try < 30 && !refused; try++ {
		if _, err := socket.Sendto(ctx, sc, []byte("anyone?"), 0, netip.AddrPort{}); err == socket.ECONNREFUSED {
			refused = true
			break
		}
		_, _, err := recvNow(t, sc)
		refused = err == socket.ECONNREFUSED
		clk.Advance(time.Second)
	}
	if !refused {
		t.Fatal("no ECONNREFUSED from the peer's port unreachable")
	}
	if b.n.mib.udp[udp6NoPorts].Load() == 0 {
		t.Fatal("b counted no Udp6NoPorts")
	}
}

// A UDP datagram over IPv6 without a checksum (0) is dropped and counted
// as a checksum error, as RFC 8200 §8.1 and __udp6_lib_rcv require, even
// one whose bytes make 0 arithmetically valid; the same datagram
// checksummed is delivered.
func TestUDPv6ZeroChecksumDropped(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	u := newUDPHost(t, pa, clk, 2)
	w := newWire(t, pb)
	u.n.ndTbl.NeighUpdate(u.dev, w.addr, w.mac, true)
	sock := u.socket(t)
	if err := socket.Bind(context.Background(), sock, netip.MustParseAddrPort("[::]:6000")); err != nil {
		t.Fatal(err)
	}
	dgram := func(check bool) []byte {
		b := make([]byte, inethdr.UDPLen+6)
		uh := inethdr.Udphdr(b)
		uh.Encode(inethdr.UDPFields{Source: 7000, Dest: 6000, Len: len(b)})
		copy(b[inethdr.UDPLen:], "hell")
		// The last two bytes make the sum with a zero checksum field
		// verify, so only the zero rule can refuse it.
		f := header.Fold(header.Checksum(b, header.PseudoHeaderSum(w.addr.As16(), u.addr.As16(), header.NEXTHDR_UDP, len(b))))
		binary.BigEndian.PutUint16(b[inethdr.UDPLen+4:], f)
		if check {
			uh.SetCheck(0xffff) // what a sum of 0 is sent as (RFC 768)
		}
		return ip6Packet(w.addr, u.addr, header.NEXTHDR_UDP, 64, b)
	}
	w.send(u.dev.HWAddr, dgram(false))
	stackIdle(t)
	if got := u.n.mib.udp[udp6InCsumErrors].Load(); got != 1 {
		t.Fatalf("Udp6InCsumErrors %d after a zero checksum, want 1", got)
	}
	if _, _, err := recvNow(t, sock); err != socket.EAGAIN {
		t.Fatalf("a datagram without checksum was delivered (%v)", err)
	}
	w.send(u.dev.HWAddr, dgram(true))
	got, from, err := recvNow(t, sock)
	if err != nil || len(got) < 4 || string(got[:4]) != "hell" || from != netip.AddrPortFrom(w.addr, 7000) {
		t.Fatalf("checksummed datagram: %q from %v, %v", got, from, err)
	}
}

// IPV6_UNICAST_HOPS and IPV6_TCLASS set what a datagram's header
// carries; reading them gives the default 64 and 0 before; IPV6_MTU is
// ENOTCONN until connected, then the route's MTU; out-of-range values are
// EINVAL, as do_ipv6_setsockopt.
func TestUDPv6Options(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	u := newUDPHost(t, pa, clk, 2)
	w := newWire(t, pb)
	u.n.ndTbl.NeighUpdate(u.dev, w.addr, w.mac, true)
	sock := u.socket(t)
	get := func(opt int) (int, error) { return socket.Getsockopt(sock, socket.SOL_IPV6, opt) }
	if v, err := get(socket.IPV6_UNICAST_HOPS); v != 64 || err != nil {
		t.Fatalf("IPV6_UNICAST_HOPS %d, %v; want 64", v, err)
	}
	if _, err := get(socket.IPV6_MTU); err != socket.ENOTCONN {
		t.Fatalf("IPV6_MTU unconnected: %v, want ENOTCONN", err)
	}
	for _, c := range []struct{ opt, val int }{{socket.IPV6_UNICAST_HOPS, 256}, {socket.IPV6_UNICAST_HOPS, -2}, {socket.IPV6_TCLASS, 256}} {
		if err := socket.Setsockopt(sock, socket.SOL_IPV6, c.opt, c.val); err != socket.EINVAL {
			t.Fatalf("setsockopt(%d, %d): %v, want EINVAL", c.opt, c.val, err)
		}
	}
	if err := socket.Setsockopt(sock, socket.SOL_IPV6, socket.IPV6_UNICAST_HOPS, 9); err != nil {
		t.Fatal(err)
	}
	if err := socket.Setsockopt(sock, socket.SOL_IPV6, socket.IPV6_TCLASS, 0x28); err != nil {
		t.Fatal(err)
	}
	if err := socket.Connect(context.Background(), sock, netip.AddrPortFrom(w.addr, 9), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := get(socket.IPV6_MTU); v != 1500 || err != nil {
		t.Fatalf("IPV6_MTU %d, %v; want 1500", v, err)
	}
	if _, err := socket.Sendto(context.Background(), sock, []byte("x"), 0, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(2 * time.Second)
	for {
		select {
		case f := <-w.frames:
			h := header.Ipv6hdr(f[netdev.EthHlen:])
			if h.Version() != 6 || h.Nexthdr() != header.NEXTHDR_UDP {
				continue
			}
			if h.HopLimit() != 9 || h.TrafficClass() != 0x28 {
				t.Fatalf("hop limit %d, traffic class %#x; want 9, 0x28", h.HopLimit(), h.TrafficClass())
			}
			return
		case <-deadline:
			t.Fatal("no datagram on the wire")
		}
	}
}

// A ping socket over IPv6 (AF_INET6 SOCK_DGRAM IPPROTO_ICMPV6) sends an
// echo request with its ident and gets the peer stack's reply, header and
// data, from the peer's address; a write that is not an echo request is
// EINVAL, as ping_common_sendmsg.
func TestPingv6Socket(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	a := newUDPHost(t, pa, clk, 1)
	b := newUDPHost(t, pb, clk, 2)
	sock, err := socket.SockCreate(context.Background(), a.h.SockNet, a.sb, socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Ops.Release(sock) })
	if sock.Ops.Name != "inet6_sockraw_ops" || sock.Sk.SK().Prot.Name != "PINGv6" {
		t.Fatalf("ops %s prot %s", sock.Ops.Name, sock.Sk.SK().Prot.Name)
	}
	to := netip.AddrPortFrom(b.addr, 0)
	if _, err := socket.Sendto(context.Background(), sock, []byte{129, 0, 0, 0, 0, 0, 0, 1}, 0, to); err != socket.EINVAL {
		t.Fatalf("echo reply written: %v, want EINVAL", err)
	}
	req := append([]byte{128, 0, 0, 0, 0, 0, 0, 5}, "sockfs ping6"...)
	if _, err := socket.Sendto(context.Background(), sock, req, 0, to); err != nil {
		t.Fatal(err)
	}
	got, from, err := recvNow(t, sock)
	if err != nil {
		t.Fatal(err)
	}
	h := header.Icmp6hdr(got)
	ident := inet.InetSk(sock.Sk).Num
	if h.Type() != header.ICMPV6_ECHO_REPLY || h.Identifier() != ident || h.Sequence() != 5 || string(h.Payload()) != "sockfs ping6" || from.Addr() != b.addr {
		t.Fatalf("reply type %d id %d (ident %d) seq %d %q from %v", h.Type(), h.Identifier(), ident, h.Sequence(), h.Payload(), from)
	}
}
