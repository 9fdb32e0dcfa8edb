package inet

import (
	"context"
	"net/netip"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// Ping sockets (net/ipv4/ping.c): AF_INET SOCK_DGRAM IPPROTO_ICMP lets an
// unprivileged program send ICMP echo requests and read the replies. As in
// Linux, a write is an ICMP message starting with its 8-byte header (type
// ICMP_ECHO, code 0); the stack puts the socket's ident (its "port") in the
// identifier field and computes the checksum. A read returns a reply's
// ICMP header and data. Replies are matched to the socket by identifier.

// pingSock is struct ping_sock's inet part.
type pingSock struct {
	InetSock
	dgEntry
}

var (
	_ inetSocker = (*pingSock)(nil)
	_ dgSocker   = (*pingSock)(nil)
)

// pingInit is ping_init: ping_prot, for inetswArray's ICMP row of
// SOCK_DGRAM.
func (in *Net) pingInit() {
	in.dgram.ping.noPorts = true
	in.dgram.ping.prot = &socket.Proto{
		Name:           "PING",
		SendmsgName:    "ping_v4_sendmsg",
		RecvmsgName:    "ping_recvmsg",
		CloseName:      "dgram_close",
		DisconnectName: "udp_disconnect",
		Alloc:          func() socket.Sk { return new(pingSock) },
		Init:           dgramInit,
		Close:          dgramClose,
		Connect:        ip4DatagramConnect,
		Disconnect:     udpDisconnect,
		Getsockopt:     ipGetsockoptOther,
		Sendmsg:        pingV4Sendmsg,
		Recvmsg:        pingRecvmsg,
		GetPort:        in.pingGetPort,
		Unhash:         udpLibUnhash,
		Diag:           dgramDiag,
	}
}

// pingGetPort is ping_get_port: idents are 1..65535. Mu held.
func (in *Net) pingGetPort(s socket.Sk, ident uint16) error {
	return in.dgram.ping.getPort(s, ident, 1, 0xffff)
}

// pingV4Sendmsg is ping_v4_sendmsg.
func pingV4Sendmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error) {
	if len(b) > 0xffff-header.IPv4MinLen {
		return 0, socket.EMSGSIZE
	}
	if len(b) < header.ICMPLen {
		return 0, socket.EINVAL
	}
	if icmph := header.Icmphdr(b); icmph.Type() != header.ICMP_ECHO || icmph.Code() != 0 {
		return 0, socket.EINVAL // ping_common_sendmsg allows echo requests only
	}
	isk := inetSk(s)
	in := isk.in
	isk.Mu.Lock()
	defer isk.Mu.Unlock()
	dst, rt, saddr, err := dgramSendPrepare(s, msg, false)
	if err != nil {
		return 0, err
	}
	skb := netdev.AllocSkb(len(b))
	defer skb.Free()
	icmph := header.Icmphdr(skb.Put(len(b)))
	copy(icmph, b)
	icmph.SetID(isk.Num)
	icmph.SetChecksum()
	if in.traceOn() {
		in.traceSk(s, "ping_v4_sendmsg %v -> %v id=%d seq=%d -> ip_push_pending_frames", saddr, dst.Addr(), isk.Num, icmph.Sequence())
	}
	return in.ipPushPendingFrames(rt, skb, saddr, dst.Addr(), IPPROTO_ICMP, isk, len(b))
}

// pingRecvmsg is ping_recvmsg: the reply's ICMP header and data.
func pingRecvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	n, _, err := dgramRecvmsg(ctx, s, msg, b, flags, pingView)
	return n, err
}

func pingView(skb *netdev.SkBuff) ([]byte, netip.AddrPort) {
	return skb.Data(), netip.AddrPortFrom(ipHdr(skb).Src(), 0)
}

// pingRcv is ping_rcv: an echo reply goes to the ping socket whose ident
// is its identifier. icmp_rcv keeps skb (data at the ICMP header); the
// socket gets a copy.
func (in *Net) pingRcv(skb *netdev.SkBuff) {
	icmph := header.Icmphdr(skb.Data())
	iph := ipHdr(skb)
	s := in.dgram.ping.lookup(icmph.ID(), iph.Src(), 0, iph.Dst())
	if s == nil {
		return
	}
	c := skbCloneNetwork(skb)
	if in.traceOn() {
		in.traceSk(s, "icmp_rcv -> ping_rcv %v id=%d seq=%d -> sk_data_ready", iph.Src(), icmph.ID(), icmph.Sequence())
	}
	sk := s.SK()
	sk.Mu.Lock()
	ok := dgramQueueRcvSkb(sk, c)
	sk.Mu.Unlock()
	if !ok {
		c.Free()
	}
}

// icmpErr is icmp_err: an ICMP error about an ICMP message we sent; for an
// echo request it is the ping socket's (ping_err).
func (in *Net) icmpErr(skb *netdev.SkBuff, typ, code uint8, info uint32) {
	inner := header.Iphdr(skb.Data())
	ihl := inner.Ihl()
	if len(inner) < ihl+header.ICMPLen {
		return
	}
	echo := header.Icmphdr(inner[ihl:])
	if echo.Type() != header.ICMP_ECHO {
		return
	}
	s := in.dgram.ping.lookup(echo.ID(), inner.Dst(), 0, inner.Src())
	if s == nil {
		return
	}
	sk := s.SK()
	sk.Mu.Lock()
	in.dgramIcmpErr(inetSk(s), inner, typ, code, info)
	sk.Mu.Unlock()
}
