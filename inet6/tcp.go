package inet6

import (
	"net/netip"

	"sockfs/inet"
	inethdr "sockfs/inet/header"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// TCP over IPv6 (net/ipv6/tcp_ipv6.c) is glue over inet's TCP core:
// tcpv6_prot and ipv6_specific are built there (inet.TCPv6Prot) from the
// network layer this file gives; tcp_v6_rcv checks the checksum here and
// hands the segment to the receive path both families share (SYN cookies
// included), and tcp_v6_err hands ICMPv6 errors about our segments to the
// error half both share.

// tcpv6Init is tcpv6_init: tcpv6_prot over inet's TCP core.
func (n *Net) tcpv6Init() {
	n.tcpv6Prot = n.in.TCPv6Prot(inet.TCPv6Ops{
		Xmit:         n.inet6CskXmit,
		SendCheck:    tcpV6SendCheck,
		Route:        n.tcpV6Route,
		DstMTU:       n.ip6Mtu,
		SendResponse: n.tcpV6SendResponse,
		UpdatePmtu:   n.inet6CskUpdatePmtu,
	})
}

// tcpV6Err is tcp_v6_err's ICMPv6 half: the quote's TCP header b, from
// src to dst, goes to inet's shared half with the message converted
// (icmpv6_err_convert); a quote no sock sent counts as Icmp6InErrors.
func (n *Net) tcpV6Err(src, dst netip.Addr, b []byte, typ, code uint8, info uint32) {
	err, fatal := icmpv6ErrConvert(typ, code)
	noRoute := typ == header.ICMPV6_DEST_UNREACH && code == header.ICMPV6_NOROUTE
	if !n.in.TCPv6Err(src, dst, b, typ == header.ICMPV6_PKT_TOOBIG, noRoute, info, err, fatal) {
		n.mib.icmpInc(icmp6InErrors)
	}
}

// inet6CskUpdatePmtu is ip6_sk_accept_pmtu and inet6_csk_update_pmtu: the
// path MTU to the sock's peer learns mtu (ip6_update_pmtu's exception),
// and the route's MTU is read again.
func (n *Net) inet6CskUpdatePmtu(isk *inet.InetSock, mtu int) (int, bool) {
	if np := isk.Pinet6; np != nil && !ip6SkAcceptPmtu(np) {
		return 0, false
	}
	n.ip6UpdatePmtu(isk.Daddr, mtu)
	return n.ip6Mtu(isk), true
}

// tcpV6Route is ip6_dst_lookup_flow for TCP: the route to daddr and the
// source address (the bound one, else source address selection).
func (n *Net) tcpV6Route(isk *inet.InetSock, daddr netip.Addr) (inet.DstEntry, netip.Addr, error) {
	dev, nexthop, ok := n.ip6RouteOutput(daddr)
	if !ok {
		n.mib.inc(ip6OutNoRoutes)
		return nil, netip.Addr{}, socket.ENETUNREACH
	}
	saddr, err := n.ip6Saddr(isk, daddr)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	return &rt6Dst{dev: dev, nexthop: nexthop}, saddr, nil
}

// ip6Mtu is ip6_mtu for a sock's route: the path MTU to its peer (the
// device's, or what a packet too big lowered it to).
func (n *Net) ip6Mtu(isk *inet.InetSock) int {
	if rt, ok := isk.Dst().(*rt6Dst); ok {
		return n.ip6DstMtu(rt.dev, rt.nexthop, isk.Daddr)
	}
	return header.IPV6_MIN_MTU
}

// hopLimit is ip6_dst_hoplimit under IPV6_UNICAST_HOPS.
func hopLimit(isk *inet.InetSock) uint8 {
	if np := isk.Pinet6; np != nil && np.HopLimit >= 0 {
		return uint8(np.HopLimit)
	}
	return sysctlHopLimit
}

// inet6CskXmit is inet6_csk_xmit: the sock's cached route (looked up
// again if it has none), then ip6_xmit with its hop limit and traffic
// class. skb's data is the segment again on return.
func (n *Net) inet6CskXmit(isk *inet.InetSock, skb *netdev.SkBuff) error {
	rt, ok := isk.Dst().(*rt6Dst)
	if !ok {
		dev, nexthop, found := n.ip6RouteOutput(isk.Daddr)
		if !found {
			n.mib.inc(ip6OutNoRoutes)
			return socket.EHOSTUNREACH
		}
		rt = &rt6Dst{dev: dev, nexthop: nexthop}
	}
	var tclass uint8
	if np := isk.Pinet6; np != nil {
		tclass = np.Tclass
	}
	return n.ip6Xmit(rt.dev, rt.nexthop, skb, isk.Saddr, isk.Daddr, header.NEXTHDR_TCP, hopLimit(isk), tclass,
		n.ip6DstMtu(rt.dev, rt.nexthop, isk.Daddr))
}

// tcpV6SendCheck is tcp_v6_send_check: the checksum of the segment in skb
// with the IPv6 pseudo-header (RFC 8200 §8.1); a TSO/GSO skb's is left
// partial, holding the folded pseudo-header sum, as tcp_v4_send_check's.
func tcpV6SendCheck(skb *netdev.SkBuff, saddr, daddr netip.Addr) {
	sum := header.PseudoHeaderSum(addr16(saddr), addr16(daddr), header.NEXTHDR_TCP, skb.Len())
	h := inethdr.Tcphdr(skb.Data())
	if skb.IPSummed == netdev.CHECKSUM_PARTIAL {
		h.SetCheck(^header.Fold(sum))
		return
	}
	h.SetCheck(0)
	h.SetCheck(header.Fold(header.Checksum(skb.Data(), sum)))
}

// tcpV6SendResponse is tcp_v6_send_response's sending half: the checksum
// of a reset or ACK built without a sock, sent from the namespace's
// control sock (ip6_xmit on a fresh route).
func (n *Net) tcpV6SendResponse(skb *netdev.SkBuff, saddr, daddr netip.Addr) {
	tcpV6SendCheck(skb, saddr, daddr)
	_ = n.ip6Output(skb, saddr, daddr, header.NEXTHDR_TCP, sysctlHopLimit)
}

// tcpV6Rcv is tcp_v6_rcv's IPv6 half: the segment at off in skb (whose
// data starts at the IPv6 header) is checked against the pseudo-header,
// then inet's shared receive path takes it. It owns skb.
func (n *Net) tcpV6Rcv(skb *netdev.SkBuff, off int) {
	pkt := skb.Data()
	hdr := header.Ipv6hdr(pkt)
	saddr, daddr := hdr.Src(), hdr.Dst()
	if daddr.IsMulticast() {
		skb.Free() // TCP is unicast only (tcp_v6_rcv's discard_it)
		return
	}
	seg := pkt[off:]
	if !skb.CsumUnnecessary() &&
		header.Fold(header.Checksum(seg, header.PseudoHeaderSum(hdr.Saddr(), hdr.Daddr(), header.NEXTHDR_TCP, len(seg)))) != 0 {
		n.in.TCPInCsumError()
		skb.Free()
		return
	}
	skb.NetworkHeader = skb.Offset()
	skb.Pull(off)
	n.in.TCPv6Rcv(skb, saddr, daddr)
}

// inet6StreamOps is inet6_stream_ops: inet_stream_ops' slots with IPv6's
// bind, getname and options.
func (n *Net) inet6StreamOps() *socket.ProtoOps {
	return &socket.ProtoOps{
		Name:       "inet6_stream_ops",
		Family:     socket.AF_INET6,
		Release:    inet.InetRelease,
		Bind:       n.inet6Bind,
		Connect:    inet.InetStreamConnect,
		Accept:     inet.InetAccept,
		Getname:    inet6Getname,
		Poll:       inet.TCPPoll,
		Listen:     inet.InetListen,
		Shutdown:   inet.InetShutdown,
		Setsockopt: n.inet6StreamSetsockopt,
		Getsockopt: n.inet6StreamGetsockopt,
		Sendmsg:    n.inet6Sendmsg,
		Recvmsg:    n.inet6Recvmsg,
	}
}

// inet6StreamSetsockopt is sock_common_setsockopt on a TCPv6 sock:
// SOL_IPV6 is ipv6_setsockopt's, the rest the proto's (TCP, socket).
func (n *Net) inet6StreamSetsockopt(sock *socket.Socket, level, optname, val int) error {
	if level == socket.SOL_IPV6 {
		return inet6Setsockopt(sock, level, optname, val)
	}
	return inet.InetSetsockopt(sock, level, optname, val)
}

// inet6StreamGetsockopt is sock_common_getsockopt on a TCPv6 sock.
func (n *Net) inet6StreamGetsockopt(sock *socket.Socket, level, optname int) (int, error) {
	if level == socket.SOL_IPV6 {
		return n.inet6Getsockopt(sock, level, optname)
	}
	return inet.InetGetsockopt(sock, level, optname)
}
