package inet6

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// Dual stack (IPV6_V6ONLY 0, Linux's default) between two whole stacks
// on the in-memory link: a holds 198.18.0.1 and 2001:2::1, b 198.18.0.2
// and 2001:2::2.

func newDualPair(t *testing.T) (a, b *udpHost, step func()) {
	t.Helper()
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	a, b = newUDPHost(t, pa, clk, 1), newUDPHost(t, pb, clk, 2)
	return a, b, func() { stackIdle(t); clk.Advance(5 * time.Millisecond) }
}

func (u *udpHost) v4() netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 0, u.addr.As16()[15]}) }

func (u *udpHost) sockOf(t *testing.T, family int, typ socket.SockType) *socket.Socket {
	t.Helper()
	sock, err := socket.SockCreate(context.Background(), u.h.SockNet, u.sb, family, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Ops.Release(sock) })
	return sock
}

func mustSetV6only(t *testing.T, s *socket.Socket, v int) {
	t.Helper()
	if err := socket.Setsockopt(s, socket.SOL_IPV6, socket.IPV6_V6ONLY, v); err != nil {
		t.Fatalf("IPV6_V6ONLY %d: %v", v, err)
	}
}

func v6only(t *testing.T, s *socket.Socket) int {
	t.Helper()
	v, err := socket.Getsockopt(s, socket.SOL_IPV6, socket.IPV6_V6ONLY)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tcpOpen connects c to dst without blocking and steps the clock until
// the connection is established and ls (b's listener) accepted it, or
// until the connect failed: then it returns nil and the error.
func tcpOpen(t *testing.T, step func(), c *socket.Socket, dst netip.AddrPort, ls *socket.Socket, b *udpHost) (*socket.Socket, error) {
	t.Helper()
	ctx := context.Background()
	if err := socket.Connect(ctx, c, dst, socket.O_NONBLOCK); err != socket.EINPROGRESS {
		return nil, err
	}
	for range 400 {
		step()
		if e, _ := socket.Getsockopt(c, socket.SOL_SOCKET, socket.SO_ERROR); e != 0 {
			return nil, socket.Errno(e)
		}
		if ls == nil {
			continue
		}
		s, err := socket.Accept(ctx, b.sb, ls, socket.O_NONBLOCK)
		if err == socket.EAGAIN {
			continue
		}
		if err != nil {
			t.Fatalf("accept: %v", err)
		}
		t.Cleanup(func() { s.Ops.Release(s) })
		return s, nil
	}
	t.Fatalf("connect to %v: neither established nor failed after 2 s of clock", dst)
	return nil, nil
}

// echoBothWays sends a line each way over an established pair and
// checks it arrives.
func echoBothWays(t *testing.T, step func(), c, s *socket.Socket) {
	t.Helper()
	up, down := []byte("over the v4-mapped path\n"), []byte("and back\n")
	cOut, sOut := up, down
	var cIn, sIn []byte
	for i := 0; len(cIn) < len(down) || len(sIn) < len(up); i++ {
		if i == 400 {
			t.Fatalf("client got %q, server %q", cIn, sIn)
		}
		pump(t, c, &cOut, &cIn)
		pump(t, s, &sOut, &sIn)
		step()
	}
	if !bytes.Equal(cIn, down) || !bytes.Equal(sIn, up) {
		t.Fatalf("client got %q, server %q", cIn, sIn)
	}
}

func names(t *testing.T, s *socket.Socket) (local, peer netip.AddrPort) {
	t.Helper()
	local, err := s.Ops.Getname(s, false)
	if err != nil {
		t.Fatal(err)
	}
	peer, err = s.Ops.Getname(s, true)
	if err != nil {
		t.Fatal(err)
	}
	return local, peer
}

// A listener on [::] serves an AF_INET client, whose connection it
// accepts as an AF_INET6 socket with v4-mapped addresses (ipv6_mapped),
// and an AF_INET6 one; with IPV6_V6ONLY the IPv4 SYN finds no listener
// and is reset (ECONNREFUSED) while IPv6 still connects. IPV6_V6ONLY
// reads 0 by default and cannot change once the socket has a port.
func TestDualStackTCPListener(t *testing.T) {
	a, b, step := newDualPair(t)
	ctx := context.Background()
	ls := b.sockOf(t, socket.AF_INET6, socket.SOCK_STREAM)
	if v := v6only(t, ls); v != 0 {
		t.Fatalf("IPV6_V6ONLY %d on a fresh socket, want 0 (bindv6only=0)", v)
	}
	if err := socket.Bind(ctx, ls, netip.MustParseAddrPort("[::]:7000")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Setsockopt(ls, socket.SOL_IPV6, socket.IPV6_V6ONLY, 1); err != socket.EINVAL {
		t.Fatalf("IPV6_V6ONLY after bind: %v, want EINVAL", err)
	}
	if err := socket.Listen(ls, 8); err != nil {
		t.Fatal(err)
	}

	c4 := a.sockOf(t, socket.AF_INET, socket.SOCK_STREAM)
	s4, err := tcpOpen(t, step, c4, netip.AddrPortFrom(b.v4(), 7000), ls, b)
	if err != nil {
		t.Fatalf("IPv4 connect to a [::] listener: %v", err)
	}
	if s4.Sk.SK().Family != socket.AF_INET6 {
		t.Fatalf("the IPv4 peer's child is family %d, want AF_INET6", s4.Sk.SK().Family)
	}
	cl, _ := names(t, c4)
	sl, sp := names(t, s4)
	if want := netip.AddrPortFrom(netip.MustParseAddr("::ffff:198.18.0.1"), cl.Port()); sp != want {
		t.Fatalf("child's peer %v, want %v", sp, want)
	}
	if want := netip.MustParseAddrPort("[::ffff:198.18.0.2]:7000"); sl != want {
		t.Fatalf("child's local %v, want %v", sl, want)
	}
	echoBothWays(t, step, c4, s4)

	c6 := a.sockOf(t, socket.AF_INET6, socket.SOCK_STREAM)
	s6, err := tcpOpen(t, step, c6, netip.AddrPortFrom(b.addr, 7000), ls, b)
	if err != nil {
		t.Fatalf("IPv6 connect: %v", err)
	}
	if _, sp := names(t, s6); sp.Addr() != a.addr {
		t.Fatalf("IPv6 child's peer %v, want %v", sp, a.addr)
	}
	echoBothWays(t, step, c6, s6)

	// With tcp_syncookies 2 every SYN is answered with a cookie: an IPv4
	// one's is IPv4's (cookie_v4_init_sequence), and the ACK that brings
	// it back makes a v4-mapped child (cookie_v4_check through
	// tcp_v6_syn_recv_sock).
	b.h.Inet.SetTCPSyncookies(2)
	c4c := a.sockOf(t, socket.AF_INET, socket.SOCK_STREAM)
	s4c, err := tcpOpen(t, step, c4c, netip.AddrPortFrom(b.v4(), 7000), ls, b)
	if err != nil {
		t.Fatalf("IPv4 connect answered by a SYN cookie: %v", err)
	}
	if _, sp := names(t, s4c); sp.Addr() != netip.MustParseAddr("::ffff:198.18.0.1") {
		t.Fatalf("cookie child's peer %v", sp)
	}
	echoBothWays(t, step, c4c, s4c)
	if got := procField(t, b, "netstat", "TcpExt:", "SyncookiesRecv"); got != "1" {
		t.Fatalf("SyncookiesRecv %s, want 1", got)
	}
	b.h.Inet.SetTCPSyncookies(1)

	only := b.sockOf(t, socket.AF_INET6, socket.SOCK_STREAM)
	mustSetV6only(t, only, 1)
	if err := socket.Bind(ctx, only, netip.MustParseAddrPort("[::]:7001")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(only, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := tcpOpen(t, step, a.sockOf(t, socket.AF_INET, socket.SOCK_STREAM), netip.MustParseAddrPort("198.18.0.2:7001"), only, b); err != socket.ECONNREFUSED {
		t.Fatalf("IPv4 connect to an IPV6_V6ONLY listener: %v, want ECONNREFUSED", err)
	}
	if _, err := tcpOpen(t, step, a.sockOf(t, socket.AF_INET6, socket.SOCK_STREAM), netip.AddrPortFrom(b.addr, 7001), only, b); err != nil {
		t.Fatalf("IPv6 connect to an IPV6_V6ONLY listener: %v", err)
	}
}

// An AF_INET6 socket connecting to ::ffff:a.b.c.d reaches an AF_INET
// listener over IPv4 (tcp_v6_connect -> tcp_v4_connect under
// ipv6_mapped) and shows both ends v4-mapped; the listener sees a plain
// IPv4 peer. An IPV6_V6ONLY socket, or one bound to an IPv6 address
// (which makes it IPv6-only), gets ENETUNREACH; one bound to a v4-mapped
// address reaches no IPv6 peer (EAFNOSUPPORT), as Linux measures.
func TestDualStackTCPConnectMapped(t *testing.T) {
	a, b, step := newDualPair(t)
	ctx := context.Background()
	ls := b.sockOf(t, socket.AF_INET, socket.SOCK_STREAM)
	if err := socket.Bind(ctx, ls, netip.MustParseAddrPort("0.0.0.0:7002")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 8); err != nil {
		t.Fatal(err)
	}
	c := a.sockOf(t, socket.AF_INET6, socket.SOCK_STREAM)
	s, err := tcpOpen(t, step, c, netip.MustParseAddrPort("[::ffff:198.18.0.2]:7002"), ls, b)
	if err != nil {
		t.Fatalf("connect to a v4-mapped address: %v", err)
	}
	cl, cp := names(t, c)
	if cp != netip.MustParseAddrPort("[::ffff:198.18.0.2]:7002") || cl.Addr() != netip.MustParseAddr("::ffff:198.18.0.1") {
		t.Fatalf("client local %v peer %v, want [::ffff:198.18.0.1]:* and [::ffff:198.18.0.2]:7002", cl, cp)
	}
	if _, sp := names(t, s); sp != netip.AddrPortFrom(a.v4(), cl.Port()) {
		t.Fatalf("AF_INET server sees %v, want %v:%d", sp, a.v4(), cl.Port())
	}
	echoBothWays(t, step, c, s)

	only := a.sockOf(t, socket.AF_INET6, socket.SOCK_STREAM)
	mustSetV6only(t, only, 1)
	if err := socket.Connect(ctx, only, netip.MustParseAddrPort("[::ffff:198.18.0.2]:7002"), socket.O_NONBLOCK); err != socket.ENETUNREACH {
		t.Fatalf("IPV6_V6ONLY connect to a v4-mapped address: %v, want ENETUNREACH", err)
	}
	bound6 := a.sockOf(t, socket.AF_INET6, socket.SOCK_STREAM)
	if err := socket.Bind(ctx, bound6, netip.AddrPortFrom(a.addr, 0)); err != nil {
		t.Fatal(err)
	}
	if v := v6only(t, bound6); v != 1 {
		t.Fatalf("IPV6_V6ONLY %d after a bind to %v, want 1", v, a.addr)
	}
	if err := socket.Connect(ctx, bound6, netip.MustParseAddrPort("[::ffff:198.18.0.2]:7002"), socket.O_NONBLOCK); err != socket.ENETUNREACH {
		t.Fatalf("connect from %v to a v4-mapped address: %v, want ENETUNREACH", a.addr, err)
	}
	bound4 := a.sockOf(t, socket.AF_INET6, socket.SOCK_STREAM)
	if err := socket.Bind(ctx, bound4, netip.MustParseAddrPort("[::ffff:198.18.0.1]:0")); err != nil {
		t.Fatal(err)
	}
	if l, _ := bound4.Ops.Getname(bound4, false); l.Addr() != netip.MustParseAddr("::ffff:198.18.0.1") || l.Port() == 0 {
		t.Fatalf("local after a v4-mapped bind: %v", l)
	}
	if err := socket.Connect(ctx, bound4, netip.AddrPortFrom(b.addr, 7002), socket.O_NONBLOCK); err != socket.EAFNOSUPPORT {
		t.Fatalf("connect from a v4-mapped address to %v: %v, want EAFNOSUPPORT", b.addr, err)
	}
	// The v4-mapped bound socket still reaches IPv4.
	if _, err := tcpOpen(t, step, bound4, netip.MustParseAddrPort("[::ffff:198.18.0.2]:7002"), ls, b); err != nil {
		t.Fatalf("connect from a v4-mapped bound socket: %v", err)
	}
}

// udpExchange sends msg from one socket to dst and returns what the other
// received and from whom.
func udpExchange(t *testing.T, from, to *socket.Socket, dst netip.AddrPort, msg string) netip.AddrPort {
	t.Helper()
	if _, err := socket.Sendto(context.Background(), from, []byte(msg), 0, dst); err != nil {
		t.Fatalf("sendto %v: %v", dst, err)
	}
	for range 20 {
		got, src, err := recvNow(t, to)
		if err == socket.EAGAIN {
			continue
		}
		if err != nil || string(got) != msg {
			t.Fatalf("recvfrom: %q, %v; want %q", got, err, msg)
		}
		return src
	}
	t.Fatalf("%q to %v never arrived", msg, dst)
	return netip.AddrPort{}
}

// UDP on a [::] socket takes IPv4 datagrams, their sender v4-mapped and
// counted in IPv4's Udp MIB, answers them by sendto to the v4-mapped
// address (udp_sendmsg), and connects to one; IPV6_V6ONLY refuses the
// v4-mapped destinations (ENETUNREACH) and leaves the port closed to
// IPv4, whose sender then hears port unreachable (ECONNREFUSED).
func TestDualStackUDP(t *testing.T) {
	a, b, _ := newDualPair(t)
	ctx := context.Background()
	srv := b.sockOf(t, socket.AF_INET6, socket.SOCK_DGRAM)
	if err := socket.Bind(ctx, srv, netip.MustParseAddrPort("[::]:9000")); err != nil {
		t.Fatal(err)
	}
	c4 := a.sockOf(t, socket.AF_INET, socket.SOCK_DGRAM)
	udp6In := b.n.mib.udp[udp6InDatagrams].Load()
	from := udpExchange(t, c4, srv, netip.MustParseAddrPort("198.18.0.2:9000"), "v4 in")
	if from.Addr() != netip.MustParseAddr("::ffff:198.18.0.1") {
		t.Fatalf("sender %v, want [::ffff:198.18.0.1]:*", from)
	}
	if got := procField(t, b, "snmp", "Udp:", "InDatagrams"); got != "1" || b.n.mib.udp[udp6InDatagrams].Load() != udp6In {
		t.Fatalf("Udp InDatagrams %s (want 1), Udp6InDatagrams moved by %d (want 0)", got, b.n.mib.udp[udp6InDatagrams].Load()-udp6In)
	}
	if back := udpExchange(t, srv, c4, from, "v4 out"); back != netip.MustParseAddrPort("198.18.0.2:9000") {
		t.Fatalf("the answer came from %v, want 198.18.0.2:9000", back)
	}
	c6 := a.sockOf(t, socket.AF_INET6, socket.SOCK_DGRAM)
	if from6 := udpExchange(t, c6, srv, netip.AddrPortFrom(b.addr, 9000), "v6 in"); from6.Addr() != a.addr {
		t.Fatalf("IPv6 sender %v, want %v", from6, a.addr)
	}

	// A v4-mapped connect: send and getname over IPv4.
	conn := b.sockOf(t, socket.AF_INET6, socket.SOCK_DGRAM)
	if err := socket.Connect(ctx, conn, from, 0); err != nil {
		t.Fatalf("connect to %v: %v", from, err)
	}
	if l, p := names(t, conn); l.Addr() != netip.MustParseAddr("::ffff:198.18.0.2") || p != from {
		t.Fatalf("connected local %v peer %v", l, p)
	}
	cl, _ := conn.Ops.Getname(conn, false)
	if src := udpExchange(t, conn, c4, netip.AddrPort{}, "connected"); src != netip.AddrPortFrom(b.v4(), cl.Port()) {
		t.Fatalf("connected send came from %v, want %v:%d", src, b.v4(), cl.Port())
	}

	// IP-level options shape the v4-mapped datagrams (ipv6_setsockopt
	// hands SOL_IP to ip_setsockopt), and IPV6_MTU reads the IPv4 route's.
	raw, err := socket.SockCreate(ctx, a.h.SockNet, a.sb, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Ops.Release(raw) })
	if err := socket.Setsockopt(conn, socket.SOL_IP, socket.IP_TTL, 7); err != nil {
		t.Fatalf("IP_TTL on an AF_INET6 UDP socket: %v", err)
	}
	if mtu, err := socket.Getsockopt(conn, socket.SOL_IPV6, socket.IPV6_MTU); err != nil || mtu != 1500 {
		t.Fatalf("IPV6_MTU of a v4-mapped connected socket: %d, %v; want 1500", mtu, err)
	}
	udpExchange(t, conn, c4, netip.AddrPort{}, "ttl 7")
	pkt := make([]byte, 200)
	if n, _, err := socket.Recvfrom(ctx, raw, pkt, socket.MSG_DONTWAIT); err != nil || n < 20 || pkt[8] != 7 {
		t.Fatalf("raw copy of the datagram: %d bytes, %v, TTL %d; want TTL 7", n, err, pkt[8])
	}

	// The port unreachable a v4-mapped connected socket draws is IPv4's
	// ICMP, which reaches it as it reaches an AF_INET socket.
	closed := b.sockOf(t, socket.AF_INET6, socket.SOCK_DGRAM)
	if err := socket.Connect(ctx, closed, netip.MustParseAddrPort("[::ffff:198.18.0.1]:9999"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := socket.Sendto(ctx, closed, []byte("anyone?"), 0, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := recvNow(t, closed); err != socket.ECONNREFUSED {
		t.Fatalf("v4-mapped connected socket after a port unreachable: %v, want ECONNREFUSED", err)
	}

	only := b.sockOf(t, socket.AF_INET6, socket.SOCK_DGRAM)
	mustSetV6only(t, only, 1)
	if err := socket.Bind(ctx, only, netip.MustParseAddrPort("[::]:9001")); err != nil {
		t.Fatal(err)
	}
	if _, err := socket.Sendto(ctx, only, []byte("x"), 0, from); err != socket.ENETUNREACH {
		t.Fatalf("IPV6_V6ONLY sendto %v: %v, want ENETUNREACH", from, err)
	}
	if err := socket.Connect(ctx, only, from, 0); err != socket.ENETUNREACH {
		t.Fatalf("IPV6_V6ONLY connect to %v: %v, want ENETUNREACH", from, err)
	}
	if err := socket.Bind(ctx, b.sockOf(t, socket.AF_INET6, socket.SOCK_DGRAM), netip.MustParseAddrPort("[::ffff:198.18.0.2]:0")); err != nil {
		t.Fatalf("bind to a v4-mapped address of ours: %v", err)
	}
	if err := socket.Bind(ctx, b.sockOf(t, socket.AF_INET6, socket.SOCK_DGRAM), netip.MustParseAddrPort("[::ffff:1.2.3.4]:0")); err != socket.EADDRNOTAVAIL {
		t.Fatalf("bind to a v4-mapped address not ours: %v, want EADDRNOTAVAIL", err)
	}
	refused := a.sockOf(t, socket.AF_INET, socket.SOCK_DGRAM)
	if err := socket.Connect(ctx, refused, netip.MustParseAddrPort("198.18.0.2:9001"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := socket.Sendto(ctx, refused, []byte("anyone?"), 0, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := recvNow(t, refused); err != socket.ECONNREFUSED {
		t.Fatalf("IPv4 datagram to an IPV6_V6ONLY socket's port: %v, want ECONNREFUSED", err)
	}
	if _, err := recvNowIn(only); err != socket.EAGAIN {
		t.Fatalf("the IPV6_V6ONLY socket read %v, want EAGAIN", err)
	}
}

func recvNowIn(s *socket.Socket) (int, error) {
	n, _, err := socket.Recvfrom(context.Background(), s, make([]byte, 64), socket.MSG_DONTWAIT)
	return n, err
}

// bindCase is one row of the bind conflict table: a first socket of
// family f1 bound to a1 (with IPV6_V6ONLY o1) on some port, a second one
// binding a2 on the same port. LO4 and LO6 stand for the host's own
// addresses (the kernel reference ran with 127.0.0.1 and ::1).
type bindCase struct {
	f1    int
	a1    string
	o1    int
	f2    int
	a2    string
	o2    int
	inUse bool
}

// TestDualStackBindConflicts: the outcomes a Linux 6.x kernel gives
// (measured for TCP and UDP alike with python3 in a namespace: the same
// table, every row), reproduced by inet_rcv_saddr_equal for both port
// tables.
func TestDualStackBindConflicts(t *testing.T) {
	const A4, A6 = socket.AF_INET, socket.AF_INET6
	cases := []bindCase{
		{A4, "0.0.0.0", 0, A6, "::", 0, true},
		{A4, "0.0.0.0", 0, A6, "::", 1, false},
		{A6, "::", 0, A4, "0.0.0.0", 0, true},
		{A6, "::", 1, A4, "0.0.0.0", 0, false},
		{A4, "LO4", 0, A6, "::", 0, true},
		{A4, "LO4", 0, A6, "::", 1, false},
		{A4, "LO4", 0, A6, "::ffff:LO4", 0, true},
		{A6, "::ffff:LO4", 0, A4, "LO4", 0, true},
		{A6, "::ffff:LO4", 0, A4, "0.0.0.0", 0, true},
		{A6, "::ffff:LO4", 0, A6, "LO6", 0, false},
		{A6, "::ffff:LO4", 0, A6, "::", 0, true},
		{A6, "::ffff:LO4", 0, A6, "::", 1, false},
		{A6, "LO6", 0, A4, "0.0.0.0", 0, false},
		{A4, "0.0.0.0", 0, A6, "LO6", 0, false},
		{A6, "::", 0, A6, "::", 0, true},
		{A6, "::", 1, A6, "::", 0, true},
		{A6, "::", 1, A6, "::", 1, true},
		{A6, "::", 1, A6, "::ffff:LO4", 0, false},
		{A6, "::", 0, A6, "::ffff:LO4", 0, true},
		{A6, "::ffff:0.0.0.0", 0, A4, "LO4", 0, true},
		{A6, "::ffff:0.0.0.0", 0, A6, "LO6", 0, false},
		{A6, "::ffff:0.0.0.0", 0, A6, "::", 0, true},
		{A6, "::", 0, A6, "::ffff:0.0.0.0", 0, true},
		{A6, "::", 1, A6, "::ffff:0.0.0.0", 0, false},
		{A6, "::", 0, A6, "LO6", 0, true},
		{A6, "LO6", 0, A6, "::", 0, true},
		{A6, "LO6", 0, A6, "::", 1, true},
	}
	_, b, _ := newDualPair(t)
	ctx := context.Background()
	addr := func(s string) netip.Addr {
		switch s {
		case "LO4":
			return b.v4()
		case "LO6":
			return b.addr
		case "::ffff:LO4":
			return netip.AddrFrom16(b.v4().As16())
		}
		return netip.MustParseAddr(s)
	}
	open := func(typ socket.SockType, family int, a string, only int, port uint16) (*socket.Socket, error) {
		s, err := socket.SockCreate(ctx, b.h.SockNet, b.sb, family, typ, 0)
		if err != nil {
			t.Fatal(err)
		}
		if only != 0 {
			mustSetV6only(t, s, 1)
		}
		return s, socket.Bind(ctx, s, netip.AddrPortFrom(addr(a), port))
	}
	for _, typ := range []socket.SockType{socket.SOCK_STREAM, socket.SOCK_DGRAM} {
		for _, c := range cases {
			s1, err := open(typ, c.f1, c.a1, c.o1, 0)
			if err != nil {
				t.Fatalf("type %d: first bind %s: %v", typ, c.a1, err)
			}
			l, _ := s1.Ops.Getname(s1, false)
			s2, err := open(typ, c.f2, c.a2, c.o2, l.Port())
			if got := err == socket.EADDRINUSE; got != c.inUse || err != nil && err != socket.EADDRINUSE {
				t.Errorf("type %d: family %d %s (v6only %d) then family %d %s (v6only %d): %v, want in use %v",
					typ, c.f1, c.a1, c.o1, c.f2, c.a2, c.o2, err, c.inUse)
			}
			s1.Ops.Release(s1)
			s2.Ops.Release(s2)
		}
	}
}
