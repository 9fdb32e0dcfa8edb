package inet6

import (
	"context"
	"net/netip"
	"syscall"

	"sockfs/inet"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// Raw IPv6 sockets (net/ipv6/raw.c): AF_INET6 SOCK_RAW PROTOCOL sees a
// copy of every packet of that next header addressed to us, before the
// protocol's own handler runs. Unlike IPv4's, a read returns the payload
// only, without the IPv6 header (RFC 3542 §3), and a write is the payload
// the stack puts an IPv6 header on (no IPV6_HDRINCL is offered). For
// IPPROTO_ICMPV6 the stack computes the ICMPv6 checksum on send, as
// Linux's rawv6_init_sk sets for it (RFC 3542 §3.1); other protocols'
// payloads go as written (IPV6_CHECKSUM is not offered).

// rawv6Init is rawv6_init: rawv6_prot, for inetsw6's SOCK_RAW row.
func (n *Net) rawv6Init() {
	n.rawv6Prot = n.in.RawV6Prot(inet.RawV6Ops{
		UDPv6Ops: inet.UDPv6Ops{Sendmsg: n.rawv6Sendmsg, Recvmsg: n.rawv6Recvmsg, Connect: n.ip6DatagramConnectV6Only},
		Bind:     n.rawv6Bind,
	})
}

// rawv6Bind is rawv6_bind: an address, no port. A v4-mapped address is
// EADDRNOTAVAIL, one not ours EADDRNOTAVAIL, a link-local one (no zone
// taken) EINVAL.
func (n *Net) rawv6Bind(ctx context.Context, s socket.Sk, addr netip.AddrPort) error {
	a := addr.Addr()
	if !a.Is6() || a.Zone() != "" {
		return socket.EINVAL
	}
	if a.Is4In6() {
		return socket.EADDRNOTAVAIL
	}
	isk := inet.InetSk(s)
	isk.Mu.Lock()
	defer isk.Mu.Unlock()
	if isk.State != tcpClose {
		return socket.EINVAL
	}
	if a.IsLinkLocalUnicast() {
		return socket.EINVAL
	}
	if !a.IsUnspecified() && !a.IsMulticast() && !n.ipv6ChkAddr(a) {
		return socket.EADDRNOTAVAIL
	}
	isk.RcvSaddr, isk.Saddr = a, a
	if a.IsMulticast() {
		isk.Saddr = netip.IPv6Unspecified()
	}
	inet.Rehash(s)
	return nil
}

// rawv6Sendmsg is rawv6_sendmsg: the payload to msg.Name or the connected
// peer under an IPv6 header of the socket's protocol. A destination's
// port, if any, must be that protocol (sin6_port names it for raw
// sockets), else EINVAL. An ICMPv6 payload gets its checksum computed
// over the pseudo-header with the field taken as zero
// (rawv6_push_pending_frames); one too short to hold it is EINVAL.
func (n *Net) rawv6Sendmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error) {
	if len(b) > 0xffff {
		return 0, socket.EMSGSIZE
	}
	isk := inet.InetSk(s)
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if sk.Shutdown&socket.SEND_SHUTDOWN != 0 {
		return 0, socket.EPIPE
	}
	proto := isk.Num
	var daddr netip.Addr
	switch {
	case msg != nil && msg.Name.IsValid():
		a := msg.Name.Addr()
		if !a.Is6() || a.Is4In6() {
			return 0, socket.EINVAL
		}
		if p := msg.Name.Port(); p != 0 && p != proto && proto != socket.IPPROTO_RAW {
			return 0, socket.EINVAL
		}
		daddr = a.WithZone("")
	case sk.State == tcpEstablished:
		daddr = isk.Daddr
	default:
		return 0, socket.EDESTADDRREQ
	}
	daddr, dev, nexthop, saddr, mtu, err := n.ip6DgramFlow(isk, sk, daddr, len(b))
	if err != nil {
		return 0, err
	}
	skb := netdev.AllocSkb(len(b))
	defer skb.Free()
	p := skb.Put(len(b))
	copy(p, b)
	if proto == socket.IPPROTO_ICMPV6 {
		const off = 2 // the checksum's offset in the ICMPv6 header
		if len(p) < off+2 {
			return 0, socket.EINVAL
		}
		p[off], p[off+1] = 0, 0
		c := header.Fold(header.Checksum(p, header.PseudoHeaderSum(addr16(saddr), addr16(daddr), header.NEXTHDR_ICMP, len(p))))
		p[off], p[off+1] = byte(c>>8), byte(c)
		n.mib.icmpInc(icmp6OutMsgs)
		n.mib.msgOut(p[0])
	}
	if n.traceOn() {
		n.traceSk(isk, "rawv6_sendmsg %v -> %v proto=%d len=%d -> ip6_xmit", saddr, daddr, proto, len(b))
	}
	hlim := uint8(sysctlHopLimit)
	if np := isk.Pinet6; np.HopLimit >= 0 {
		hlim = uint8(np.HopLimit)
	}
	if err := n.ip6Xmit(dev, nexthop, skb, saddr, daddr, uint8(proto), hlim, isk.Pinet6.Tclass, mtu); err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return 0, e
		}
	}
	return len(b), nil
}

// rawv6Recvmsg is rawv6_recvmsg: the payload past the IPv6 header (and
// any extension headers), and its sender with port 0.
func (n *Net) rawv6Recvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	k, _, err := inet.DgramRecvmsg(ctx, s, msg, b, flags, pingv6View)
	return k, err
}

// ipv6RawDeliver is raw6_local_deliver / ipv6_raw_deliver: every raw
// socket of next header nh that the packet (data at the IPv6 header, the
// upper layer at off) fits, bound and connected, gets its own copy, but
// for an ICMPv6 message whose type the socket's ICMP6_FILTER blocks
// (icmpv6_filter; one shorter than 4 bytes is blocked too). It
// reports whether any socket fitted, which spares an unknown next header
// its parameter problem.
func (n *Net) ipv6RawDeliver(skb *netdev.SkBuff, off int, nh uint8) bool {
	if n.in == nil {
		return false
	}
	hdr := header.Ipv6hdr(skb.Data())
	var buf [4]socket.Sk
	socks := n.in.RawV6Lookup(buf[:0], nh, hdr.Src(), hdr.Dst())
	for _, s := range socks {
		if nh == header.NEXTHDR_ICMP {
			// ICMPV6_HDRLEN: the type, code and checksum are all
			// icmpv6_filter needs.
			if b := skb.Data()[off:]; len(b) < 4 || inet.RawV6Icmp6Filter(s, b[0]) {
				continue
			}
		}
		c := skb.Copy()
		c.NetworkHeader = c.Offset()
		c.Pull(off)
		if n.traceOn() {
			n.traceSk(inet.InetSk(s), "ip6_input_finish -> ipv6_raw_deliver nexthdr=%d len=%d -> sk_data_ready", nh, c.Len())
		}
		inet.RawV6QueueRcvSkb(s, c)
	}
	return len(socks) > 0
}

// rawv6Err is raw6_icmp_error / rawv6_err: an ICMPv6 error about a packet
// of next header nh that we sent from src to dst reaches the raw sockets
// of that protocol it fits, if connected or under IPV6_RECVERR (an
// unconnected one could not tell which send it was about). A packet too
// big lowers the path MTU and is an error only under IPV6_PMTUDISC_DO;
// otherwise the fatal ones (icmpv6_err_convert) become sk_err, and under
// IPV6_RECVERR every one does.
func (n *Net) rawv6Err(src, dst netip.Addr, nh, typ, code uint8, info uint32) {
	var buf [4]socket.Sk
	socks := n.in.RawV6Lookup(buf[:0], nh, dst, src)
	for _, s := range socks {
		err, hard := icmpv6ErrConvert(typ, code)
		isk := inet.InetSk(s)
		isk.Mu.Lock()
		recverr := isk.Pinet6.Recverr
		if !recverr && isk.State != tcpEstablished {
			isk.Mu.Unlock()
			continue
		}
		if typ == header.ICMPV6_PKT_TOOBIG {
			n.ip6UpdatePmtu(dst, int(min(info, 1<<20)))
			hard = isk.Pinet6.Pmtudisc == socket.IPV6_PMTUDISC_DO
		}
		if recverr || hard {
			isk.Err = err
			isk.ErrorReport(&isk.Sock)
		}
		isk.Mu.Unlock()
	}
}
