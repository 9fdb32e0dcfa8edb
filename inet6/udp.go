package inet6

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"

	"sockfs/inet"
	inethdr "sockfs/inet/header"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// UDP over IPv6, as net/ipv6/udp.c with af_inet6.c's inet6_dgram_ops and
// datagram.c's ip6_datagram_connect: udpv6_prot's own sendmsg, connect
// and receive path over inet's UDP core (udp_sock, udp_lib_get_port on
// the one udp_table, so AF_INET and AF_INET6 sockets share the port
// space), a checksum always (RFC 8200 §8.1: a zero one is dropped), and
// ICMPv6 errors turned into sk_err on connected sockets (udpv6_err).

// udpMaxPayload6 is the largest datagram: 65535 less the UDP header (the
// IPv6 payload length counts neither the IPv6 header nor, here, any
// extension header).
const udpMaxPayload6 = 0xffff - inethdr.UDPLen

// sysctlIPUnprivilegedPortStart is net.ipv4.ip_unprivileged_port_start,
// which inet6_bind consults too.
const sysctlIPUnprivilegedPortStart = 1024

// udpv6Init is udpv6_init: udpv6_prot over inet's UDP core.
func (n *Net) udpv6Init() {
	n.udpv6Prot = n.in.UDPv6Prot(inet.UDPv6Ops{
		Sendmsg: n.udpv6Sendmsg,
		Recvmsg: n.udpv6Recvmsg,
		Connect: n.ip6DatagramConnect,
	})
}

// udpv6Recvmsg is udpv6_recvmsg: one datagram per call. An IPv4 one (a
// dual-stack socket's) is counted in IPv4's UDP MIB, as is_udp4.
func (n *Net) udpv6Recvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	isUDP4 := false
	k, got, err := inet.DgramRecvmsg(ctx, s, msg, b, flags, func(skb *netdev.SkBuff) ([]byte, netip.AddrPort) {
		isUDP4 = skb.Protocol == netdev.ETH_P_IP
		return udpv6View(skb)
	})
	if got && flags&socket.MSG_PEEK == 0 {
		if isUDP4 {
			n.in.UDPInDatagram()
		} else {
			n.mib.udpInc(udp6InDatagrams)
		}
	}
	return k, err
}

// inet6Bind is inet6_bind / __inet6_bind: an IPv6 address of ours (not
// tentative), ::, or for UDP and TCP a v4-mapped one. IPv4 text is EINVAL
// (a sockaddr_in is shorter than SIN6_LEN_RFC2133). A link-local address
// is EINVAL, as Linux without a scope id: binding one with a zone is not
// supported.
//
// Dual stack: :: binds the port for IPv6 and, unless IPV6_V6ONLY, for
// IPv4 (0.0.0.0) too; ::ffff:a.b.c.d binds it for IPv4 only, a.b.c.d
// checked as inet_bind would (EINVAL on an IPV6_V6ONLY socket, and on a
// ping socket, whose ping_check_bind_addr takes unicast IPv6 only); any
// other IPv6 address makes the socket IPv6-only (sk_ipv6only = 1), as
// Linux does.
func (n *Net) inet6Bind(ctx context.Context, sock *socket.Socket, addr netip.AddrPort) (err error) {
	if n.traceOn() {
		defer func() { n.trace(sock, "__sys_bind -> inet6_bind", addr.String()+traceErr(err)) }()
	}
	if p := sock.Sk.SK().Prot; p.Bind != nil { // raw sockets bind their own way
		return p.Bind(ctx, sock.Sk, addr)
	}
	a := addr.Addr()
	if !a.Is6() || a.IsLinkLocalUnicast() || a.Zone() != "" {
		return socket.EINVAL
	}
	mapped := a.Is4In6()
	if !mapped && !a.IsUnspecified() && !n.ipv6ChkAddr(a) {
		return socket.EADDRNOTAVAIL
	}
	port := addr.Port()
	if port != 0 && port < sysctlIPUnprivilegedPortStart && !socket.CredFrom(ctx).Capable() {
		return socket.EACCES
	}
	s := sock.Sk
	sk := s.SK()
	isk := inet.InetSk(s)
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if sk.State != tcpClose || isk.Num != 0 {
		return socket.EINVAL
	}
	np := isk.Pinet6
	savedIpv6only := np.Ipv6only
	if mapped {
		if np.Ipv6only || sk.Protocol == socket.IPPROTO_ICMPV6 {
			return socket.EINVAL
		}
		// The socket is bound the IPv4 way: its addresses are IPv4 ones
		// (inet_rcv_saddr), shown v4-mapped.
		a = a.Unmap()
		if !n.in.InetAddrValidOrNonlocal(a) {
			return socket.EADDRNOTAVAIL
		}
	} else if !a.IsUnspecified() {
		np.Ipv6only = true
	}
	isk.RcvSaddr, isk.Saddr = a, a
	if err := sk.Prot.GetPort(s, port); err != nil {
		isk.RcvSaddr, isk.Saddr = netip.Addr{}, netip.Addr{}
		np.Ipv6only = savedIpv6only
		return err
	}
	inet.SetBound(s, a, port)
	return nil
}

// tcpClose is TCP_CLOSE, the state of a datagram sock not connected.
const tcpClose = 7

// inet6DgramConnect is inet_dgram_connect for an AF_INET6 socket: an
// AF_UNSPEC address disconnects; else autobind and the proto's connect
// (ip6_datagram_connect). IPv4 text is EINVAL.
func (n *Net) inet6DgramConnect(ctx context.Context, sock *socket.Socket, addr netip.AddrPort, flags int) error {
	s := sock.Sk
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if !addr.IsValid() {
		n.trace(sock, "inet_dgram_connect -> udp_disconnect", "")
		return sk.Prot.Disconnect(s, flags)
	}
	if !addr.Addr().Is6() {
		return socket.EINVAL
	}
	if err := inet.InetAutobind(s); err != nil {
		return err
	}
	n.trace(sock, "inet_dgram_connect -> ip6_datagram_connect", addr.String())
	return sk.Prot.Connect(ctx, s, addr, flags)
}

// ip6DatagramConnect is ip6_datagram_connect, UDP's: a v4-mapped peer is
// reached over IPv4 (__ip4_datagram_connect; ENETUNREACH when
// IPV6_V6ONLY), any other as ip6DatagramConnectV6Only. Mu held.
func (n *Net) ip6DatagramConnect(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error {
	if daddr := addr.Addr(); daddr.Is4In6() {
		if inet.InetSk(s).Pinet6.Ipv6only {
			return socket.ENETUNREACH
		}
		if n.traceOn() {
			n.traceSk(inet.InetSk(s), "ip6_datagram_connect %v -> __ip4_datagram_connect", addr)
		}
		return inet.IP4DatagramConnect(ctx, s, netip.AddrPortFrom(daddr.Unmap(), addr.Port()), flags)
	}
	return n.ip6DatagramConnectV6Only(ctx, s, addr, flags)
}

// ip6DatagramConnectV6Only is ip6_datagram_connect for an IPv6 peer, and
// the whole connect of ping and raw sockets (ip6_datagram_connect_v6_only),
// which reach no IPv4 peer here (ENETUNREACH): route to the peer (:: is
// this host, ::1), take the route's source address if unbound, and
// remember the peer. Mu held.
func (n *Net) ip6DatagramConnectV6Only(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error {
	isk := inet.InetSk(s)
	daddr := addr.Addr().WithZone("")
	if addr.Addr().Is4In6() {
		return socket.ENETUNREACH
	}
	if daddr.IsUnspecified() {
		daddr = netip.IPv6Loopback()
	}
	saddr, err := n.ip6Saddr(isk, daddr)
	if err != nil {
		return err
	}
	if !isk.Saddr.IsValid() || isk.Saddr.IsUnspecified() {
		isk.Saddr = saddr
		if !isk.RcvSaddr.IsValid() || isk.RcvSaddr.IsUnspecified() {
			isk.RcvSaddr = saddr
		}
	}
	isk.Daddr = daddr
	isk.Dport = addr.Port()
	isk.State = tcpEstablished
	inet.Rehash(s)
	return nil
}

// tcpEstablished is TCP_ESTABLISHED: a connected datagram sock.
const tcpEstablished = 1

// tcpSynSent is TCP_SYN_SENT, for inet6_getname.
const tcpSynSent = 2

// ip6Saddr is the source address a datagram from isk to daddr goes from:
// the bound one, or ipv6_dev_get_saddr's pick on the route's device.
// ENETUNREACH without a route. Mu held.
func (n *Net) ip6Saddr(isk *inet.InetSock, daddr netip.Addr) (netip.Addr, error) {
	dev, _, ok := n.ip6RouteOutput(daddr)
	if !ok {
		n.mib.inc(ip6OutNoRoutes)
		return netip.Addr{}, socket.ENETUNREACH
	}
	if isk.Saddr.Is4() {
		// A v4-mapped source (the socket is bound or connected the IPv4
		// way) reaches no IPv6 peer: ip6_dst_lookup_tail's EAFNOSUPPORT.
		return netip.Addr{}, socket.EAFNOSUPPORT
	}
	if isk.Saddr.IsValid() && !isk.Saddr.IsUnspecified() {
		return isk.Saddr, nil
	}
	saddr, ok := n.ipv6DevGetSaddr(dev, daddr)
	if !ok {
		return netip.Addr{}, socket.EADDRNOTAVAIL
	}
	return saddr, nil
}

// inet6Getname is inet6_getname: :: until bound or connected.
func inet6Getname(sock *socket.Socket, peer bool) (netip.AddrPort, error) {
	s := sock.Sk
	sk := s.SK()
	isk := inet.InetSk(s)
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if peer {
		// inet6_getname: no peer before one is connected, nor while a
		// TCP connect is still in SYN_SENT.
		if isk.Dport == 0 || (1<<sk.State)&(1<<tcpClose|1<<tcpSynSent) != 0 {
			return netip.AddrPort{}, socket.ENOTCONN
		}
		return netip.AddrPortFrom(inet.V6Addr(isk.Daddr), isk.Dport), nil // an IPv4 peer v4-mapped
	}
	return netip.AddrPortFrom(isk.V6Local(), isk.Sport), nil
}

// inet6Sendmsg is inet6_sendmsg.
func (n *Net) inet6Sendmsg(ctx context.Context, sock *socket.Socket, msg *socket.Msghdr, b []byte) (int, error) {
	s := sock.Sk
	if n.traceOn() {
		if msg.Sendto {
			n.trace(sock, "__sys_sendto -> inet6_sendmsg -> "+s.SK().Prot.SendmsgName, fmt.Sprintf("to=%v len=%d", msg.Name, len(b)))
		} else {
			n.trace(sock, "sock_write_iter -> inet6_sendmsg -> "+s.SK().Prot.SendmsgName, fmt.Sprintf("len=%d", len(b)))
		}
	}
	if err := inet.InetSendPrepare(s); err != nil {
		return 0, err
	}
	return s.SK().Prot.Sendmsg(ctx, s, msg, b)
}

// inet6Recvmsg is inet6_recvmsg.
func (n *Net) inet6Recvmsg(ctx context.Context, sock *socket.Socket, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	s := sock.Sk
	k, err := s.SK().Prot.Recvmsg(ctx, s, msg, b, flags)
	if err == nil && n.traceOn() {
		if msg.Recvfrom {
			n.trace(sock, "__sys_recvfrom -> inet6_recvmsg -> "+s.SK().Prot.RecvmsgName, fmt.Sprintf("from=%v len=%d", msg.Name, k))
		} else {
			n.trace(sock, "sock_read_iter -> inet6_recvmsg -> "+s.SK().Prot.RecvmsgName, fmt.Sprintf("len=%d", k))
		}
	}
	return k, err
}

// inet6Setsockopt is sock_common_setsockopt's ipv6_setsockopt
// (do_ipv6_setsockopt) for the IPPROTO_IPV6 options this stack has; SOL_IP
// on a socket that is not raw is IPv4's; any other level or option is
// ENOPROTOOPT.
func inet6Setsockopt(sock *socket.Socket, level, optname, val int) error {
	if level == socket.SOL_IP && sock.Type != socket.SOCK_RAW {
		// ipv6_setsockopt gives SOL_IP to udp_prot's setsockopt,
		// ip_setsockopt: they shape the socket's v4-mapped datagrams.
		return inet.IPSetsockopt(sock.Sk, optname, val)
	}
	if level != socket.SOL_IPV6 {
		return socket.ENOPROTOOPT
	}
	isk := inet.InetSk(sock.Sk)
	isk.Mu.Lock()
	defer isk.Mu.Unlock()
	np := isk.Pinet6
	switch optname {
	case socket.IPV6_V6ONLY:
		// Fixed once the socket holds a port (do_ipv6_setsockopt refuses
		// it with inet_num set: the port tables were filled by it).
		if isk.Num != 0 {
			return socket.EINVAL
		}
		np.Ipv6only = val != 0
	case socket.IPV6_UNICAST_HOPS:
		if val < -1 || val > 255 {
			return socket.EINVAL
		}
		np.HopLimit = val
	case socket.IPV6_TCLASS:
		if val < -1 || val > 255 {
			return socket.EINVAL
		}
		if val == -1 {
			val = 0 // the default
		}
		np.Tclass = uint8(val)
	case socket.IPV6_MTU_DISCOVER:
		if val < socket.IPV6_PMTUDISC_DONT || val > socket.IPV6_PMTUDISC_OMIT {
			return socket.EINVAL
		}
		np.Pmtudisc = val
	case socket.IPV6_RECVERR:
		np.Recverr = val != 0
	default:
		// IPV6_MTU is get-only here (Linux's set caps the socket's MTU).
		return socket.ENOPROTOOPT
	}
	return nil
}

// inet6Getsockopt is do_ipv6_getsockopt for the same options: the hop
// limit in effect (the default 64 when unset), the traffic class, and a
// IPV6_MTU_DISCOVER, and a connected socket's path MTU (dst_mtu of its
// route: a packet too big lowers it), ENOTCONN unconnected.
func (n *Net) inet6Getsockopt(sock *socket.Socket, level, optname int) (int, error) {
	if level == socket.SOL_IP && sock.Type != socket.SOCK_RAW {
		return inet.IPGetsockopt(sock.Sk, optname)
	}
	if level != socket.SOL_IPV6 {
		return 0, socket.ENOPROTOOPT
	}
	isk := inet.InetSk(sock.Sk)
	isk.Mu.Lock()
	defer isk.Mu.Unlock()
	np := isk.Pinet6
	switch optname {
	case socket.IPV6_V6ONLY:
		return boolInt(np.Ipv6only), nil
	case socket.IPV6_UNICAST_HOPS:
		if np.HopLimit < 0 {
			return sysctlHopLimit, nil
		}
		return np.HopLimit, nil
	case socket.IPV6_TCLASS:
		return int(np.Tclass), nil
	case socket.IPV6_MTU_DISCOVER:
		return np.Pmtudisc, nil
	case socket.IPV6_RECVERR:
		if np.Recverr {
			return 1, nil
		}
		return 0, nil
	case socket.IPV6_MTU:
		if isk.State != tcpEstablished {
			return 0, socket.ENOTCONN
		}
		if isk.Daddr.Is4() { // connected v4-mapped: its IPv4 route's
			if mtu, ok := isk.MappedPathMTU(); ok {
				return mtu, nil
			}
			return 0, socket.ENOTCONN
		}
		dev, nexthop, ok := n.ip6RouteOutput(isk.Daddr)
		if !ok {
			return 0, socket.ENOTCONN
		}
		return n.ip6DstMtu(dev, nexthop, isk.Daddr), nil
	}
	return 0, socket.ENOPROTOOPT
}

// inet6DgramOps is inet6_dgram_ops, or under the name inet6_sockraw_ops
// the ping (and raw) sockets' table, which differs from it in Linux only
// in poll (datagram_poll where UDP has udp_poll), as inet_sockraw_ops.
func (n *Net) inet6DgramOps(name string) *socket.ProtoOps {
	return &socket.ProtoOps{
		Name:       name,
		Family:     socket.AF_INET6,
		Release:    inet.InetRelease,
		Bind:       n.inet6Bind,
		Connect:    n.inet6DgramConnect,
		Accept:     socket.SockNoAccept,
		Getname:    inet6Getname,
		Poll:       inet.DatagramPoll,
		Listen:     socket.SockNoListen,
		Shutdown:   inet.InetShutdown,
		Setsockopt: inet6Setsockopt,
		Getsockopt: n.inet6Getsockopt,
		Sendmsg:    n.inet6Sendmsg,
		Recvmsg:    n.inet6Recvmsg,
	}
}

// udpv6Sendmsg is udpv6_sendmsg: one call, one datagram, to msg.Name or
// the connected peer, fragmented by ip6_fragment when larger than the MTU.
// A datagram to an IPv4 peer (v4-mapped, or the one a v4-mapped connect
// set) is udp_sendmsg's, unless the socket is IPV6_V6ONLY (ENETUNREACH).
func (n *Net) udpv6Sendmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error) {
	if v4, ok, err := udpv6MappedDest(s, msg); ok || err != nil {
		if err != nil {
			return 0, err
		}
		return inet.UDPSendmsg(ctx, s, v4, b)
	}
	if len(b) > udpMaxPayload6 {
		return 0, socket.EMSGSIZE
	}
	isk := inet.InetSk(s)
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if sk.Shutdown&socket.SEND_SHUTDOWN != 0 {
		return 0, socket.EPIPE
	}
	var dst netip.AddrPort
	switch {
	case msg != nil && msg.Name.IsValid():
		a := msg.Name.Addr()
		if !a.Is6() {
			return 0, socket.EINVAL
		}
		if msg.Name.Port() == 0 {
			return 0, socket.EINVAL
		}
		dst = netip.AddrPortFrom(a.WithZone(""), msg.Name.Port())
	case sk.State == tcpEstablished:
		dst = netip.AddrPortFrom(isk.Daddr, isk.Dport)
	default:
		return 0, socket.EDESTADDRREQ
	}
	daddr, dev, nexthop, saddr, mtu, err := n.ip6DgramFlow(isk, sk, dst.Addr(), inethdr.UDPLen+len(b))
	if err != nil {
		return 0, err
	}
	dst = netip.AddrPortFrom(daddr, dst.Port())
	skb := netdev.AllocSkb(inethdr.UDPLen + len(b))
	defer skb.Free()
	copy(skb.Put(len(b)), b)
	return n.udpV6SendSkb(isk, skb, dev, nexthop, saddr, dst, mtu)
}

// udpv6MappedDest is udpv6_sendmsg's test for an IPv4 destination: a
// v4-mapped msg_name, or none on a socket connected the v4-mapped way.
// It gives the msghdr udp_sendmsg is to see (msg_name as a sockaddr_in),
// or ENETUNREACH on an IPV6_V6ONLY socket; ok false for an IPv6 one.
func udpv6MappedDest(s socket.Sk, msg *socket.Msghdr) (*socket.Msghdr, bool, error) {
	isk := inet.InetSk(s)
	isk.Mu.Lock()
	defer isk.Mu.Unlock()
	var v4 *socket.Msghdr
	switch {
	case msg != nil && msg.Name.IsValid():
		if !msg.Name.Addr().Is4In6() {
			return nil, false, nil
		}
		m := *msg
		m.Name = netip.AddrPortFrom(msg.Name.Addr().Unmap(), msg.Name.Port())
		v4 = &m
	case isk.State == tcpEstablished && isk.Daddr.Is4():
		v4 = msg
	default:
		return nil, false, nil
	}
	if isk.Pinet6.Ipv6only {
		return nil, false, socket.ENETUNREACH
	}
	return v4, true, nil
}

// udpV6SendSkb is udp_v6_send_skb: the UDP header over the payload, its
// checksum over the IPv6 pseudo-header (never 0: RFC 8200 §8.1 sends
// 0xffff), then ip6_xmit, fragmented beyond mtu. Mu held.
func (n *Net) udpV6SendSkb(isk *inet.InetSock, skb *netdev.SkBuff, dev *netdev.NetDevice, nexthop, saddr netip.Addr, dst netip.AddrPort, mtu int) (int, error) {
	k := skb.Len()
	ulen := inethdr.UDPLen + k
	uh := inethdr.Udphdr(skb.Push(inethdr.UDPLen))
	uh.Encode(inethdr.UDPFields{Source: isk.Sport, Dest: dst.Port(), Len: ulen})
	csum := header.Fold(header.Checksum(skb.Data(), header.PseudoHeaderSum(addr16(saddr), addr16(dst.Addr()), header.NEXTHDR_UDP, ulen)))
	if csum == 0 {
		csum = 0xffff
	}
	uh.SetCheck(csum)
	if n.traceOn() {
		n.traceSk(isk, "udp_v6_send_skb %v -> %v len=%d -> ip6_xmit", netip.AddrPortFrom(saddr, isk.Sport), dst, k)
	}
	hlim := uint8(sysctlHopLimit)
	if np := isk.Pinet6; np.HopLimit >= 0 {
		hlim = uint8(np.HopLimit)
	}
	if err := n.ip6Xmit(dev, nexthop, skb, saddr, dst.Addr(), header.NEXTHDR_UDP, hlim, isk.Pinet6.Tclass, mtu); err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return 0, e
		}
		n.mib.udpInc(udp6SndbufErrors)
		return k, nil // the device refused the frame: swallowed, as udp_v6_send_skb without IPV6_RECVERR
	}
	n.mib.udpInc(udp6OutDatagrams)
	return k, nil
}

// udpv6View is what a read of a queued datagram returns (its data starts
// at the UDP header) and its sender, from the IPv6 header, or from the
// IPv4 one of a datagram a dual-stack socket took, v4-mapped.
func udpv6View(skb *netdev.SkBuff) ([]byte, netip.AddrPort) {
	uh := inethdr.Udphdr(skb.Data())
	if skb.Protocol == netdev.ETH_P_IP {
		return uh[inethdr.UDPLen:], netip.AddrPortFrom(inet.V6Addr(inethdr.Iphdr(skb.At(skb.NetworkHeader)).Src()), uh.Source())
	}
	return uh[inethdr.UDPLen:], netip.AddrPortFrom(header.Ipv6hdr(skb.At(skb.NetworkHeader)).Src(), uh.Source())
}

// udpv6Rcv is udpv6_rcv / __udp6_lib_rcv: skb's data is the IPv6 header
// and the UDP header is at off. Length and checksum are checked (a zero
// checksum is an error over IPv6), the socket found on the shared table,
// and a closed port answered with port unreachable.
func (n *Net) udpv6Rcv(skb *netdev.SkBuff, off int) {
	pkt := skb.Data()
	hdr := header.Ipv6hdr(pkt)
	uh, ok := inethdr.ParseUdphdr(pkt[off:])
	if !ok { // shorter than its header, or a length beyond the packet
		n.mib.udpInc(udp6InErrors)
		skb.Free()
		return
	}
	if uh.Check() == 0 {
		// No checksum: a checksum error over IPv6 (__udp6_lib_rcv's
		// report_csum_error), even where the sum would verify.
		n.mib.udpInc(udp6InCsumErrors)
		n.mib.udpInc(udp6InErrors)
		skb.Free()
		return
	}
	ulen := uh.Len()
	saddr, daddr := hdr.Src(), hdr.Dst()
	if !skb.CsumUnnecessary() &&
		header.Fold(header.Checksum(uh[:ulen], header.PseudoHeaderSum(hdr.Saddr(), hdr.Daddr(), header.NEXTHDR_UDP, ulen))) != 0 {
		n.mib.udpInc(udp6InCsumErrors)
		n.mib.udpInc(udp6InErrors)
		skb.Free()
		return
	}
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "ip6_input_finish -> udpv6_rcv %v -> %v len=%d",
			netip.AddrPortFrom(saddr, uh.Source()), netip.AddrPortFrom(daddr, uh.Dest()), ulen-inethdr.UDPLen)
	}
	if daddr.IsMulticast() {
		// No group sockets over IPv6 yet: nobody is listening.
		n.mib.udpInc(udp6IgnoredMulti)
		skb.Free()
		return
	}
	s := n.in.UDPLookup(uh.Dest(), saddr, uh.Source(), daddr)
	if s == nil {
		n.mib.udpInc(udp6NoPorts)
		n.icmp6Send(skb, header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, 0)
		skb.Free()
		return
	}
	skb.NetworkHeader = skb.Offset()
	skb.Pull(off)
	skb.Trim(ulen)
	n.in.UDPQueueRcvSkb(s, skb, saddr)
}

// udpv6Err is udpv6_err / __udp6_lib_err: an ICMPv6 error about a
// datagram we sent from src to dst, whose UDP header the error quotes
// (uh). The errno is icmpv6_err_convert's; only a hard one on a
// connected socket becomes sk_err, unless IPV6_RECVERR asks for every
// error (icmpv6ErrReport). A packet too
// big (info the MTU) lowers the path MTU (ip6_sk_update_pmtu) and is hard,
// EMSGSIZE, unless the socket is IPV6_PMTUDISC_DONT.
func (n *Net) udpv6Err(src, dst netip.Addr, b []byte, typ, code uint8, info uint32) {
	if len(b) < inethdr.UDPLen {
		return
	}
	uh := inethdr.Udphdr(b)
	s := n.in.UDPLookup(uh.Source(), dst, uh.Dest(), src)
	if s == nil {
		return
	}
	err, hard := icmpv6ErrConvert(typ, code)
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if typ == header.ICMPV6_PKT_TOOBIG {
		np := inet.InetSk(s).Pinet6
		if np == nil || !ip6SkAcceptPmtu(np) {
			return
		}
		n.ip6UpdatePmtu(dst, int(min(info, 1<<20)))
		hard = np.Pmtudisc != socket.IPV6_PMTUDISC_DONT
	}
	icmpv6ErrReport(inet.InetSk(s), err, hard)
}

// icmpv6ErrConvert is icmpv6_err_convert: the errno an ICMPv6 error
// means and whether it is fatal (tab_unreach).
func icmpv6ErrConvert(typ, code uint8) (socket.Errno, bool) {
	switch typ {
	case header.ICMPV6_DEST_UNREACH:
		tab := [...]struct {
			err   socket.Errno
			fatal bool
		}{
			{socket.ENETUNREACH, false},  // NOROUTE
			{socket.EACCES, true},        // ADM_PROHIBITED
			{socket.EHOSTUNREACH, false}, // NOT_NEIGHBOUR
			{socket.EHOSTUNREACH, false}, // ADDR_UNREACH
			{socket.ECONNREFUSED, true},  // PORT_UNREACH
			{socket.EACCES, true},        // POLICY_FAIL
			{socket.EACCES, true},        // REJECT_ROUTE
		}
		if int(code) < len(tab) {
			return tab[code].err, tab[code].fatal
		}
		return socket.EPROTO, true
	case header.ICMPV6_PKT_TOOBIG:
		return socket.EMSGSIZE, false
	case header.ICMPV6_PARAMPROB:
		return socket.EPROTO, true
	case header.ICMPV6_TIME_EXCEED:
		return socket.EHOSTUNREACH, false
	}
	return socket.EPROTO, false
}

// ip6DgramFlow is what the IPv6 datagram sendmsgs (udpv6, ping_v6, rawv6)
// do alike between choosing the destination and building the packet, as
// their shared ip6_dst_lookup_flow / ip6_append_data /
// sock_alloc_send_skb steps do in Linux: :: means this host, the route
// and source address, the size check against the path MTU for plen bytes
// of payload, and only then a pending error (reported by the next send
// that passes the size check).
func (n *Net) ip6DgramFlow(isk *inet.InetSock, sk *socket.Sock, daddr netip.Addr, plen int) (d netip.Addr, dev *netdev.NetDevice, nexthop, saddr netip.Addr, mtu int, err error) {
	if daddr.IsUnspecified() {
		daddr = netip.IPv6Loopback()
	}
	dev, nexthop, ok := n.ip6RouteOutput(daddr)
	if !ok {
		n.mib.inc(ip6OutNoRoutes)
		return daddr, nil, nexthop, saddr, 0, socket.ENETUNREACH
	}
	if saddr, err = n.ip6Saddr(isk, daddr); err != nil {
		return daddr, dev, nexthop, saddr, 0, err
	}
	if mtu, err = n.ip6AppendMtu(isk.Pinet6, dev, nexthop, daddr, plen); err != nil {
		return daddr, dev, nexthop, saddr, 0, err
	}
	if e := sk.SockError(); e != 0 {
		return daddr, dev, nexthop, saddr, 0, e
	}
	return daddr, dev, nexthop, saddr, mtu, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
