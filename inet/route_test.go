package inet

import (
	"net/netip"
	"testing"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// statusOf is the status file's protocol lines of a socket, by key.
func statusOf(s *socket.Socket) map[string]string {
	sk := s.Sk.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	m := map[string]string{}
	sk.Prot.Diag(s.Sk, func(k, v string) { m[k] = v })
	return m
}

// errName names a result for a test table: "OK" or the errno's name.
func errName(err error) string {
	if err == nil {
		return "OK"
	}
	if e, ok := err.(socket.Errno); ok {
		return socket.ErrnoName(e)
	}
	return err.Error()
}

// TestRouteDecidesBroadcast holds connect and sendto towards broadcast and
// multicast addresses to the answers Linux 6.18 gives (measured with
// Python on a veth whose address is the stack's here, with and without a
// default route): the route lookup decides, TCP refuses broadcast and
// multicast routes, datagrams need SO_BROADCAST for broadcast ones. No TCP
// attempt puts a frame on the wire.
func TestRouteDecidesBroadcast(t *testing.T) {
	type row struct {
		addr                         string
		tcp                          string
		udpConn, udpConnBc           string // unbound, without and with SO_BROADCAST
		udpConnBound, udpConnBoundBc string // bound to our address
		sendto, sendtoBc             string
		sendtoBound, sendtoBoundBc   string
	}
	noGw := []row{
		{"10.0.0.255", "ENETUNREACH", "EACCES", "OK", "EACCES", "OK", "EACCES", "OK", "EACCES", "OK"},
		{"255.255.255.255", "ENETUNREACH", "ENETUNREACH", "ENETUNREACH", "EACCES", "OK", "ENETUNREACH", "ENETUNREACH", "EACCES", "OK"},
		{"224.0.0.1", "ENETUNREACH", "ENETUNREACH", "ENETUNREACH", "OK", "OK", "ENETUNREACH", "ENETUNREACH", "OK", "OK"},
	}
	withGw := []row{
		{"10.0.0.255", "ENETUNREACH", "EACCES", "OK", "EACCES", "OK", "EACCES", "OK", "EACCES", "OK"},
		{"255.255.255.255", "ENETUNREACH", "EACCES", "OK", "EACCES", "OK", "EACCES", "OK", "EACCES", "OK"},
		{"224.0.0.1", "ENETUNREACH", "OK", "OK", "OK", "OK", "OK", "OK", "OK", "OK"},
	}
	for _, gw := range []bool{false, true} {
		_, b := newDgPair(t, ktime.NewManual())
		rows := noGw
		if gw {
			rows = withGw
			if err := b.in.SetGateway(ipv4(10, 0, 0, 1)); err != nil {
				t.Fatal(err)
			}
		}
		dgram := func(bound, bc, connect bool, to netip.AddrPort) string {
			s := b.socket(t, socket.SOCK_DGRAM, 0)
			if bc {
				if err := socket.Setsockopt(s, socket.SOL_SOCKET, socket.SO_BROADCAST, 1); err != nil {
					t.Fatal(err)
				}
			}
			if bound {
				if err := socket.Bind(t.Context(), s, ap("10.0.0.2:0")); err != nil {
					t.Fatal(err)
				}
			}
			if connect {
				return errName(socket.Connect(t.Context(), s, to, 0))
			}
			_, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{Name: to}, []byte("x"))
			return errName(err)
		}
		for _, r := range rows {
			to := netip.AddrPortFrom(netip.MustParseAddr(r.addr), 9)
			tx := b.dev.Stats.TxPackets.Load()
			s := b.socket(t, socket.SOCK_STREAM, 0)
			got := errName(socket.Connect(dgCtx(t), s, to, 0))
			if got != r.tcp {
				t.Errorf("gw=%v TCP connect %v: %s, want %s", gw, to, got, r.tcp)
			}
			if n := b.dev.Stats.TxPackets.Load() - tx; n != 0 {
				t.Errorf("gw=%v TCP connect %v put %d frames on the wire", gw, to, n)
			}
			if la, _ := s.Ops.Getname(s, false); la != ap("0.0.0.0:0") {
				t.Errorf("gw=%v TCP connect %v left local %v", gw, to, la)
			}
			for _, c := range []struct {
				what               string
				bound, bc, connect bool
				want               string
			}{
				{"UDP connect", false, false, true, r.udpConn},
				{"UDP connect SO_BROADCAST", false, true, true, r.udpConnBc},
				{"bound UDP connect", true, false, true, r.udpConnBound},
				{"bound UDP connect SO_BROADCAST", true, true, true, r.udpConnBoundBc},
				{"UDP sendto", false, false, false, r.sendto},
				{"UDP sendto SO_BROADCAST", false, true, false, r.sendtoBc},
				{"bound UDP sendto", true, false, false, r.sendtoBound},
				{"bound UDP sendto SO_BROADCAST", true, true, false, r.sendtoBoundBc},
			} {
				if got := dgram(c.bound, c.bc, c.connect, to); got != c.want {
					t.Errorf("gw=%v %s %v: %s, want %s", gw, c.what, to, got, c.want)
				}
			}
		}
	}
}

// TestMulticastLeavesWithoutARP: a group send from a bound socket goes out
// at once to the group's Ethernet address (01:00:5e + low 23 bits) with
// TTL 1, instead of waiting on an ARP request for a multicast address.
func TestMulticastLeavesWithoutARP(t *testing.T) {
	in, _, w := newIPTestStack(t, ktime.NewManual())
	s, err := socket.SockCreate(t.Context(), in.sn, &ipv4TestSB{}, socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer socket.SockRelease(s)
	if err := socket.Bind(t.Context(), s, ap("10.0.0.2:0")); err != nil {
		t.Fatal(err)
	}
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{Name: ap("224.1.2.3:9")}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	f := w.expect(netdev.ETH_P_IP)
	eth, _ := netdev.ParseEthhdr(f)
	iph := header.Iphdr(f[netdev.EthHlen:])
	if eth.Dest() != [6]byte{0x01, 0, 0x5e, 1, 2, 3} || iph.Dst() != ipv4(224, 1, 2, 3) || iph.TTL() != 1 {
		t.Fatalf("group send went to %x, %v, ttl %d", eth.Dest(), iph.Dst(), iph.TTL())
	}
}

// TestConnectZeroAddr: 0.0.0.0 is this host (ip_route_output's !daddr):
// a UDP peer becomes 127.0.0.1 (or the bound address), and TCP goes over
// loopback and is refused when nothing listens.
func TestConnectZeroAddr(t *testing.T) {
	a, _ := newDgPair(t, ktime.NewManual())
	s := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Connect(t.Context(), s, ap("0.0.0.0:9"), 0); err != nil {
		t.Fatalf("UDP connect 0.0.0.0:9: %v", err)
	}
	ra, _ := s.Ops.Getname(s, true)
	la, _ := s.Ops.Getname(s, false)
	if ra != ap("127.0.0.1:9") || la.Addr() != ipv4(127, 0, 0, 1) {
		t.Fatalf("UDP connect 0.0.0.0:9: remote %v local %v, want 127.0.0.1", ra, la)
	}
	s = a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), s, ap("10.0.0.1:0")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Connect(t.Context(), s, ap("0.0.0.0:9"), 0); err != nil {
		t.Fatal(err)
	}
	if ra, _ := s.Ops.Getname(s, true); ra != ap("10.0.0.1:9") {
		t.Fatalf("bound UDP connect 0.0.0.0:9: remote %v, want 10.0.0.1:9", ra)
	}
	srv := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), srv, ap("127.0.0.1:7001")); err != nil {
		t.Fatal(err)
	}
	cli := a.socket(t, socket.SOCK_DGRAM, 0)
	sendto(t, cli, "0.0.0.0:7001", []byte("to this host"))
	if got, _ := recvfrom(t, srv, 100); string(got) != "to this host" {
		t.Fatalf("sendto 0.0.0.0: read %q", got)
	}
	tcp := a.socket(t, socket.SOCK_STREAM, 0)
	if err := socket.Connect(dgCtx(t), tcp, ap("0.0.0.0:9"), 0); err != socket.ECONNREFUSED {
		t.Fatalf("TCP connect 0.0.0.0:9: %v, want ECONNREFUSED", err)
	}
}

// TestBindBroadcast: inet_bind takes the subnet's broadcast address
// (inet_addr_type gives RTN_BROADCAST), for TCP and UDP; such a UDP socket
// gets the datagrams sent to that broadcast address and its port, and
// sends from the device's address.
func TestBindBroadcast(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	for _, typ := range []socket.SockType{socket.SOCK_STREAM, socket.SOCK_DGRAM} {
		s := b.socket(t, typ, 0)
		if err := socket.Bind(t.Context(), s, ap("10.0.0.255:0")); err != nil {
			t.Errorf("type %d bind 10.0.0.255: %v", typ, err)
		}
		if la, _ := s.Ops.Getname(s, false); la.Addr() != ipv4(10, 0, 0, 255) {
			t.Errorf("type %d bound to broadcast: local %v", typ, la)
		}
		if err := socket.Bind(t.Context(), b.socket(t, typ, 0), ap("10.0.0.0:0")); err != socket.EADDRNOTAVAIL {
			t.Errorf("type %d bind 10.0.0.0: %v, want EADDRNOTAVAIL", typ, err)
		}
	}
	srv := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), srv, ap("10.0.0.255:7002")); err != nil {
		t.Fatal(err)
	}
	any := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), any, ap("0.0.0.0:7002")); err != socket.EADDRINUSE {
		// 0.0.0.0 overlaps every address, as udp_lib_lport_inuse has it.
		t.Fatalf("bind 0.0.0.0:7002 beside 10.0.0.255:7002: %v", err)
	}
	wild := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), wild, ap("0.0.0.0:7003")); err != nil {
		t.Fatal(err)
	}
	cli := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Setsockopt(cli, socket.SOL_SOCKET, socket.SO_BROADCAST, 1); err != nil {
		t.Fatal(err)
	}
	// Bound, so that 255.255.255.255 has a way out without a default route.
	if err := socket.Bind(t.Context(), cli, ap("10.0.0.1:0")); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"255.255.255.255:7002", "10.0.0.255:7002", "255.255.255.255:7003"} {
		sendto(t, cli, to, []byte(to))
	}
	if got, msg := recvfrom(t, srv, 100); string(got) != "10.0.0.255:7002" || msg.Name.Addr() != ipv4(10, 0, 0, 1) {
		t.Fatalf("socket bound to the broadcast address read %q from %v", got, msg.Name)
	}
	if got, _ := recvfrom(t, wild, 100); string(got) != "255.255.255.255:7003" {
		t.Fatalf("socket bound to 0.0.0.0 read %q", got)
	}
}

// TestUDPTosKeepsECN: IP_TOS keeps all eight bits on a datagram socket;
// only TCP, which owns the ECN field (RFC 3168), clears the low two.
func TestUDPTosKeepsECN(t *testing.T) {
	a, _ := newDgPair(t, ktime.NewManual())
	for _, c := range []struct {
		typ  socket.SockType
		want int
	}{{socket.SOCK_DGRAM, 255}, {socket.SOCK_STREAM, 252}} {
		s := a.socket(t, c.typ, 0)
		if err := socket.Setsockopt(s, socket.SOL_IP, socket.IP_TOS, 255); err != nil {
			t.Fatal(err)
		}
		if v, err := socket.Getsockopt(s, socket.SOL_IP, socket.IP_TOS); v != c.want || err != nil {
			t.Errorf("type %d IP_TOS 255 reads back %d %v, want %d", c.typ, v, err, c.want)
		}
	}
}

// TestDgramSendAutobindsFirst: inet_send_prepare binds a port before
// udp_sendmsg looks at the destination, so a send that fails with
// EDESTADDRREQ (or EMSGSIZE) still leaves the socket bound, as on Linux.
func TestDgramSendAutobindsFirst(t *testing.T) {
	a, _ := newDgPair(t, ktime.NewManual())
	for _, c := range []struct {
		data []byte
		want error
	}{{[]byte("x"), socket.EDESTADDRREQ}, {make([]byte, 65508), socket.EMSGSIZE}} {
		s := a.socket(t, socket.SOCK_DGRAM, 0)
		if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{}, c.data); err != c.want {
			t.Fatalf("send: %v, want %v", err, c.want)
		}
		if la, _ := s.Ops.Getname(s, false); la.Port() == 0 || !la.Addr().IsUnspecified() {
			t.Errorf("after %v: local %v, want 0.0.0.0:PORT", c.want, la)
		}
	}
}

// TestDgramGetsockoptTCPLevel: a TCP option on a datagram socket reaches
// ip_getsockopt, which answers EOPNOTSUPP for a level not its own; the
// set side (do_ip_setsockopt) says ENOPROTOOPT.
func TestDgramGetsockoptTCPLevel(t *testing.T) {
	a, _ := newDgPair(t, ktime.NewManual())
	for _, c := range []struct {
		typ   socket.SockType
		proto int
	}{{socket.SOCK_DGRAM, 0}, {socket.SOCK_DGRAM, IPPROTO_ICMP}, {socket.SOCK_RAW, IPPROTO_ICMP}} {
		s := a.socket(t, c.typ, c.proto)
		if _, err := socket.Getsockopt(s, socket.SOL_TCP, socket.TCP_MAXSEG); err != socket.EOPNOTSUPP {
			t.Errorf("%d/%d getsockopt TCP_MAXSEG: %v, want EOPNOTSUPP", c.typ, c.proto, err)
		}
		if err := socket.Setsockopt(s, socket.SOL_TCP, socket.TCP_MAXSEG, 500); err != socket.ENOPROTOOPT {
			t.Errorf("%d/%d setsockopt TCP_MAXSEG: %v, want ENOPROTOOPT", c.typ, c.proto, err)
		}
	}
}

// newTestHost is the one builder of a test stack: inet.NewHost (lo at
// 127.0.0.1/8, as the daemon builds it) plus eth0 on drv with pfx, closed
// when the test ends. setup, when not nil, runs before eth0 comes up (the
// sysctls a test changes).
func newTestHost(t testing.TB, clock ktime.Clock, drv netdev.Driver, mac byte, mtu int, pfx string, setup func(*Net)) (*Host, *netdev.NetDevice) {
	t.Helper()
	h, err := NewHost(clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if setup != nil {
		setup(h.Inet)
	}
	dev := &netdev.NetDevice{Name: "eth0", MTU: mtu, HWAddr: [6]byte{0x02, 0, 0, 0, 0, mac}, HardHeaderLen: netdev.EthHlen}
	if err := h.AddDevice(dev, drv, netip.MustParsePrefix(pfx)); err != nil {
		t.Fatal(err)
	}
	registerQueues(t, h.Lo.Driver(), drv)
	return h, dev
}

// TestBroadcastLoopsBack: a broadcast reaches the wire and, through lo,
// this host's own sockets bound to its port, the sender's included (as
// ip_mc_output loops it back with IP_MULTICAST_LOOP's default on).
func TestBroadcastLoopsBack(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	local := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), local, ap("0.0.0.0:7005")); err != nil {
		t.Fatal(err)
	}
	remote := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), remote, ap("0.0.0.0:7005")); err != nil {
		t.Fatal(err)
	}
	s := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Setsockopt(s, socket.SOL_SOCKET, socket.SO_BROADCAST, 1); err != nil {
		t.Fatal(err)
	}
	sendto(t, s, "10.0.0.255:7005", []byte("all"))
	for _, r := range []*socket.Socket{local, remote} {
		if got, msg := recvfrom(t, r, 100); string(got) != "all" || msg.Name.Addr() != ipv4(10, 0, 0, 2) {
			t.Fatalf("read %q from %v", got, msg.Name)
		}
	}
}
