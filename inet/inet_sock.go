package inet

import (
	"net/netip"

	"sockfs/socket"
)

// InetSock is struct inet_sock: the IPv4 part every AF_INET sock shares,
// embedded by tcp_sock, udp_sock and the ping and raw socks.
type InetSock struct {
	socket.Sock
	in *Net

	// protected by Mu
	Saddr    netip.Addr // inet_saddr: source address of output
	RcvSaddr netip.Addr // inet_rcv_saddr: the bound local address
	Daddr    netip.Addr // inet_daddr
	Num      uint16     // inet_num: local port (or protocol, for raw)
	Sport    uint16     // inet_sport
	Dport    uint16     // inet_dport
	UcTTL    int        // uc_ttl: -1 uses the route's default
	Tos      uint8
	ID       uint16     // inet_id: IP ID counter of a connected socket
	Pmtudisc int        // IP_MTU_DISCOVER: IP_PMTUDISC_WANT unless set
	rt       DstEntry   // sk_dst_cache: the cached route, of the sock's family
	Pinet6   *Ipv6Pinfo // pinet6: an AF_INET6 sock's IPv6 part, else nil

	// userlocks is sk_userlocks' bind bits: what the user bound
	// explicitly, which a datagram disconnect keeps (__udp_disconnect).
	userlocks uint8
}

// Ipv6Pinfo is struct ipv6_pinfo, which an AF_INET6 sock's inet_sock
// points to (pinet6): the IPv6 options package inet6 keeps. It is declared
// here, as include/linux/ipv6.h declares it beside inet_sock, so that the
// socks the UDP core allocates can carry it. Protected by Mu.
type Ipv6Pinfo struct {
	HopLimit int   // IPV6_UNICAST_HOPS: -1 uses the route's default
	Tclass   uint8 // IPV6_TCLASS
	Pmtudisc int   // IPV6_MTU_DISCOVER: IPV6_PMTUDISC_WANT by default
	// Ipv6only is sk_ipv6only (Linux keeps it in sock_common):
	// IPV6_V6ONLY, 0 by default as net.ipv6.bindv6only; a bind to an
	// IPv6 address other than :: sets it, as __inet6_bind. An IPv6-only
	// sock takes no IPv4 peer (inet_rcv_saddr.go).
	Ipv6only bool
	// Recverr is IPV6_RECVERR: every ICMPv6 error about the sock's
	// packets becomes its sk_err, soft ones and unconnected socks' too
	// (there is no error queue to read them from).
	Recverr bool
}

// The sk_userlocks bits bind sets.
const (
	sockBindAddrLock = 4 // SOCK_BINDADDR_LOCK: bound to an address
	sockBindPortLock = 8 // SOCK_BINDPORT_LOCK: bound to a port
)

// inetSocker is satisfied by every protocol sock through its embedded
// InetSock: inet_sk()'s cast.
type inetSocker interface{ inet() *InetSock }

func (isk *InetSock) inet() *InetSock { return isk }

// inetSk is inet_sk.
func inetSk(sk socket.Sk) *InetSock { return sk.(inetSocker).inet() }

// ttl is the TTL a packet from this socket carries: IP_TTL or the default.
func (isk *InetSock) ttl() uint8 {
	if isk.UcTTL > 0 {
		return uint8(isk.UcTTL)
	}
	return sysctlIPDefaultTTL
}

// ttlFor is the TTL of a datagram on rt: a multicast route's is mc_ttl
// (IP_MULTICAST_TTL, 1 by default, so a group send stays on the link), as
// __ip_make_skb chooses.
func (isk *InetSock) ttlFor(rt *Rtable) uint8 {
	if rt.Type == RTN_MULTICAST {
		return ipMcTTLDefault
	}
	return isk.ttl()
}

// ipMcTTLDefault is inet_sock's mc_ttl at creation.
const ipMcTTLDefault = 1

// localAddr is the address getsockname reports.
func (isk *InetSock) localAddr() netip.Addr {
	if isk.RcvSaddr.IsValid() && !isk.RcvSaddr.IsUnspecified() {
		return isk.RcvSaddr
	}
	if isk.Saddr.IsValid() {
		return isk.Saddr
	}
	return netip.IPv4Unspecified()
}

// sockAddr formats addr:port as the local/remote files and tables show it.
func addrOr0(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return netip.IPv4Unspecified()
	}
	return a
}
