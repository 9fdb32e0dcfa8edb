package inet

// Dual stack's address rules: when two socks' bound addresses overlap
// (inet_rcv_saddr_equal and ipv6_rcv_saddr_equal, net/ipv4/
// inet_connection_sock.c), and which bound sock a packet to daddr finds
// (compute_score of __inet_lookup_listener, udp4_lib_lookup2 and their
// IPv6 twins). They name both families, so they live here and not in the
// TCP core files (tcp_family_test.go).
//
// An AF_INET6 sock that is not IPV6_V6ONLY takes IPv4 too: bound to ::
// it is also bound to 0.0.0.0, bound to ::ffff:a.b.c.d it is bound to
// a.b.c.d and nothing else. Linux keeps both views in the sock
// (sk_v6_rcv_saddr and inet_rcv_saddr); here an AF_INET6 sock whose
// RcvSaddr is an IPv4 netip.Addr is bound (or connected) the v4-mapped
// way, and v6addr shows it as ::ffff:a.b.c.d.

import (
	"net/netip"

	"sockfs/socket"
)

// bindAddr is what the port tables keep of a sock's local address for
// these checks, copied under the table's lock (Linux reads them off the
// sock: sk_family, sk_rcv_saddr, sk_v6_rcv_saddr, sk_ipv6only).
type bindAddr struct {
	addr     netip.Addr // RcvSaddr; invalid before a bind or connect: any
	v6       bool       // an AF_INET6 sock
	ipv6only bool       // sk_ipv6only (IPV6_V6ONLY, or bound to an IPv6 address)
}

// loopback4IPv6 is LOOPBACK4_IPV6, the inet_rcv_saddr __inet6_bind gives
// a sock bound to an IPv6 address: no IPv4 packet is addressed to it.
var loopback4IPv6 = netip.AddrFrom4([4]byte{127, 0, 0, 6})

// bindAddr is the sock's bindAddr. Mu held.
func (isk *InetSock) bindAddr() bindAddr {
	return bindAddr{addr: isk.RcvSaddr, v6: isk.Family == socket.AF_INET6, ipv6only: isk.ipv6Only()}
}

// ipv6Only is ipv6_only_sock.
func (isk *InetSock) ipv6Only() bool { return isk.Pinet6 != nil && isk.Pinet6.Ipv6only }

// v4 is inet_rcv_saddr: 0.0.0.0 for any.
func (b bindAddr) v4() netip.Addr {
	switch {
	case b.addr.Is4():
		return b.addr
	case !b.addr.IsValid() || b.addr.IsUnspecified():
		return netip.IPv4Unspecified()
	}
	return loopback4IPv6
}

// v6addr is sk_v6_rcv_saddr of an AF_INET6 sock: :: for any, an IPv4
// address v4-mapped.
func (b bindAddr) v6addr() netip.Addr { return V6Addr(b.addr) }

// V6Addr is an address as an AF_INET6 sock shows it (getsockname,
// getpeername, net/tcp6, net/udp6): an IPv4 one, which a v4-mapped sock
// holds, as ::ffff:a.b.c.d (ipv6_addr_set_v4mapped), none as ::.
func V6Addr(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return netip.IPv6Unspecified()
	}
	if a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	return a
}

// familyAddr is a as the sock's family shows it: 0.0.0.0 for none on an
// AF_INET sock, V6Addr on an AF_INET6 one.
func (isk *InetSock) familyAddr(a netip.Addr) netip.Addr {
	if isk.Family == socket.AF_INET6 {
		return V6Addr(a)
	}
	return addrOr0(a)
}

// V6Local is an AF_INET6 sock's local address as inet6_getname reports
// it: sk_v6_rcv_saddr, or the source address (np->saddr) while that is
// ::, each v4-mapped when the sock talks IPv4. Mu held.
func (isk *InetSock) V6Local() netip.Addr {
	if a := V6Addr(isk.RcvSaddr); a != netip.IPv6Unspecified() {
		return a
	}
	return V6Addr(isk.Saddr)
}

// localAddrPort is the sock's local address and port as its family
// writes them (the status file). Mu held.
func (isk *InetSock) localAddrPort() netip.AddrPort {
	if isk.Family == socket.AF_INET6 {
		return netip.AddrPortFrom(isk.V6Local(), isk.Sport)
	}
	return netip.AddrPortFrom(isk.localAddr(), isk.Sport)
}

// inetRcvSaddrEqual is inet_rcv_saddr_equal: the local addresses of sk
// and sk2 overlap, so they may not share a port; with matchWildcard an
// address equals the wildcard of its family (and :: of a dual-stack sock
// every IPv4 address).
func inetRcvSaddrEqual(sk, sk2 bindAddr, matchWildcard bool) bool {
	if sk.v6 {
		var sk2v6 netip.Addr // an AF_INET sk2 has none (inet6_rcv_saddr is NULL)
		if sk2.v6 {
			sk2v6 = sk2.v6addr()
		}
		return ipv6RcvSaddrEqual(sk.v6addr(), sk2v6, sk.v4(), sk2.v4(), sk.ipv6only, sk2.ipv6only, matchWildcard, matchWildcard)
	}
	return ipv4RcvSaddrEqual(sk.v4(), sk2.v4(), sk2.ipv6only, matchWildcard, matchWildcard)
}

// ipv4RcvSaddrEqual is ipv4_rcv_saddr_equal: an IPv6-only sk2 holds no
// IPv4 address; otherwise equal, or one of them the wildcard.
func ipv4RcvSaddrEqual(a1, a2 netip.Addr, sk2Ipv6only, matchWild1, matchWild2 bool) bool {
	if sk2Ipv6only {
		return false
	}
	return a1 == a2 || matchWild1 && a1.IsUnspecified() || matchWild2 && a2.IsUnspecified()
}

// ipv6RcvSaddrEqual is ipv6_rcv_saddr_equal for an AF_INET6 sk1; a2 is
// invalid when sk2 is AF_INET (which counts as v4-mapped).
func ipv6RcvSaddrEqual(a1, a2, v41, v42 netip.Addr, only1, only2, matchWild1, matchWild2 bool) bool {
	any1, mapped1 := a1 == netip.IPv6Unspecified(), a1.Is4In6()
	any2, mapped2 := a2 == netip.IPv6Unspecified(), !a2.IsValid() || a2.Is4In6()
	switch {
	case mapped1 && mapped2: // both mapped: compared as IPv4
		return ipv4RcvSaddrEqual(v41, v42, only2, matchWild1, matchWild2)
	case any1 && any2:
		return true
	case any2 && matchWild2 && !(only2 && mapped1):
		return true
	case any1 && matchWild1 && !(only1 && mapped2):
		return true
	}
	return a2.IsValid() && a1 == a2
}

// lookupScore is compute_score's address part for a packet to daddr:
// -1 when the sock does not take it, else higher for the better match.
// An exact address beats the wildcard (Linux looks daddr up before
// INADDR_ANY and in6addr_any); for IPv4 an AF_INET sock beats a
// dual-stack AF_INET6 one; an IPv6 packet finds AF_INET6 socks only, and
// none bound the v4-mapped way.
func (b bindAddr) lookupScore(daddr netip.Addr) int {
	if daddr.Is4() {
		if b.v6 && b.ipv6only {
			return -1
		}
		score := 1
		if !b.v6 {
			score = 2
		}
		switch a := b.v4(); {
		case a == daddr:
			return score + 4
		case a.IsUnspecified():
			return score
		}
		return -1
	}
	if !b.v6 {
		return -1
	}
	switch a := b.v6addr(); {
	case a == daddr:
		return 6
	case a == netip.IPv6Unspecified():
		return 2
	}
	return -1
}
