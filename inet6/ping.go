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

// Ping sockets over IPv6 (net/ipv6/ping.c): AF_INET6 SOCK_DGRAM
// IPPROTO_ICMPV6. As for IPv4, a write is an ICMPv6 echo request from its
// 8-byte header on (type 128, code 0); the stack puts the socket's ident
// in the identifier and computes the checksum over the IPv6
// pseudo-header. A read returns a reply's ICMPv6 header and data.

// pingv6Init is pingv6_init: pingv6_prot over inet's ping core.
func (n *Net) pingv6Init() {
	n.pingv6Prot = n.in.PingV6Prot(inet.UDPv6Ops{
		Sendmsg: n.pingV6Sendmsg,
		Recvmsg: n.pingRecvmsg,
		Connect: n.ip6DatagramConnectV6Only,
	})
}

// pingV6Sendmsg is ping_v6_sendmsg.
func (n *Net) pingV6Sendmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error) {
	if len(b) > 0xffff {
		return 0, socket.EMSGSIZE
	}
	if len(b) < header.ICMP6Len {
		return 0, socket.EINVAL
	}
	if h := header.Icmp6hdr(b); h.Type() != header.ICMPV6_ECHO_REQUEST || h.Code() != 0 {
		return 0, socket.EINVAL // ping_common_sendmsg allows echo requests only
	}
	isk := inet.InetSk(s)
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if sk.Shutdown&socket.SEND_SHUTDOWN != 0 {
		return 0, socket.EPIPE
	}
	var daddr netip.Addr
	switch {
	case msg != nil && msg.Name.IsValid():
		a := msg.Name.Addr()
		if !a.Is6() {
			return 0, socket.EINVAL
		}
		if a.Is4In6() {
			return 0, socket.EINVAL // ping_v6_sendmsg: a v4-mapped address is EINVAL
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
	h := header.Icmp6hdr(skb.Put(len(b)))
	copy(h, b)
	h.SetIdentifier(isk.Num)
	h.SetChecksum(addr16(saddr), addr16(daddr))
	if n.traceOn() {
		n.traceSk(isk, "ping_v6_sendmsg %v -> %v id=%d seq=%d -> ip6_xmit", saddr, daddr, isk.Num, h.Sequence())
	}
	n.mib.icmpInc(icmp6OutMsgs)
	n.mib.msgOut(header.ICMPV6_ECHO_REQUEST)
	hlim := uint8(sysctlHopLimit)
	if np := isk.Pinet6; np.HopLimit >= 0 {
		hlim = uint8(np.HopLimit)
	}
	if err := n.ip6Xmit(dev, nexthop, skb, saddr, daddr, header.NEXTHDR_ICMP, hlim, isk.Pinet6.Tclass, mtu); err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return 0, e
		}
	}
	return len(b), nil
}

// pingRecvmsg is ping_recvmsg for AF_INET6: the reply's ICMPv6 header and
// data, and its sender.
func (n *Net) pingRecvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	k, _, err := inet.DgramRecvmsg(ctx, s, msg, b, flags, pingv6View)
	return k, err
}

func pingv6View(skb *netdev.SkBuff) ([]byte, netip.AddrPort) {
	return skb.Data(), netip.AddrPortFrom(header.Ipv6hdr(skb.At(skb.NetworkHeader)).Src(), 0)
}

// pingRcv is ping_rcv for an ICMPv6 echo reply (icmpv6_rcv keeps skb,
// data at the IPv6 header, the reply at off): the ping socket whose ident
// is its identifier gets a copy.
func (n *Net) pingRcv(skb *netdev.SkBuff, off int, hdr header.Ipv6hdr, msg header.Icmp6hdr) {
	s := n.in.PingLookup(msg.Identifier(), hdr.Src(), hdr.Dst())
	if s == nil {
		return
	}
	c := skb.Copy()
	c.NetworkHeader = c.Offset()
	c.Pull(off)
	c.Trim(len(msg))
	if n.traceOn() {
		n.traceSk(inet.InetSk(s), "icmpv6_rcv -> ping_rcv %v id=%d seq=%d -> sk_data_ready", hdr.Src(), msg.Identifier(), msg.Sequence())
	}
	inet.PingQueueRcvSkb(s, c)
}

// pingErr is ping_err for an ICMPv6 error quoting one of our echo
// requests (echo, from src to dst): a fatal one on a connected socket
// becomes its sk_err, any one under IPV6_RECVERR (icmpv6ErrReport).
func (n *Net) pingErr(src, dst netip.Addr, echo []byte, typ, code uint8) {
	if len(echo) < header.ICMP6Len {
		return
	}
	h := header.Icmp6hdr(echo)
	if h.Type() != header.ICMPV6_ECHO_REQUEST {
		return
	}
	s := n.in.PingLookup(h.Identifier(), dst, src)
	if s == nil {
		return
	}
	err, hard := icmpv6ErrConvert(typ, code)
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	icmpv6ErrReport(inet.InetSk(s), err, hard)
}

// icmpv6ErrReport is what __udp6_lib_err and ping_err do with the errno
// of an ICMPv6 error once they found the sock (Mu held): without
// IPV6_RECVERR only a fatal error on a connected sock becomes sk_err (an
// unconnected one cannot tell which send failed); with it every error
// does, as ipv6_icmp_error would also queue it on the error queue, which
// this stack does not have (no MSG_ERRQUEUE).
func icmpv6ErrReport(isk *inet.InetSock, err socket.Errno, hard bool) {
	if np := isk.Pinet6; np == nil || !np.Recverr {
		if !hard || isk.State != tcpEstablished {
			return
		}
	}
	isk.Err = err
	isk.ErrorReport(&isk.Sock)
}
