package inet

import (
	"context"
	"net/netip"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// Raw sockets (net/ipv4/raw.c): AF_INET SOCK_RAW PROTOCOL sees a copy of
// every packet of that IP protocol addressed to us, whole, IP header
// included, before the protocol's own handler runs. Writes carry the
// payload only; the stack builds the IP header (IP_HDRINCL is not
// offered).

// rawSock is struct raw_sock.
type rawSock struct {
	InetSock
	dgEntry
	drops int // sk_drops (counted for AF_INET6, net/raw6); protected by Mu
	// filter is raw6_sock.filter, an AF_INET6 IPPROTO_ICMPV6 sock's
	// ICMP6_FILTER (RFC 3542 §3.2): a set bit 1 << (type & 31) of word
	// type >> 5 blocks ICMPv6 messages of that type; all clear (the
	// default) lets every one pass. Protected by Mu.
	filter [8]uint32
}

var (
	_ inetSocker = (*rawSock)(nil)
	_ dgSocker   = (*rawSock)(nil)
)

// rawInit is raw_init: raw_prot, for inetswArray's SOCK_RAW row.
func (in *Net) rawInit() {
	in.dgram.raw.noPorts = true
	in.dgram.raw.prot = &socket.Proto{
		Name:           "RAW",
		SendmsgName:    "raw_sendmsg",
		RecvmsgName:    "raw_recvmsg",
		CloseName:      "dgram_close",
		DisconnectName: "udp_disconnect",
		Alloc:          func() socket.Sk { return new(rawSock) },
		Init:           dgramInit,
		Close:          dgramClose,
		Connect:        ip4DatagramConnect,
		Disconnect:     udpDisconnect,
		Getsockopt:     ipGetsockoptOther,
		Sendmsg:        rawSendmsg,
		Recvmsg:        rawRecvmsg,
		Bind:           rawBind,
		Hash:           in.rawHashSk,
		Unhash:         unhash,
		Diag:           dgramDiag,
	}
}

// rawHashSk is raw_hash_sk: inet_create hashes a raw sock by its protocol
// at once. Mu held.
func (in *Net) rawHashSk(s socket.Sk) error {
	in.dgram.raw.hash(s)
	return nil
}

// rawBind is raw_bind: an address, no port.
func rawBind(ctx context.Context, s socket.Sk, addr netip.AddrPort) error {
	isk := inetSk(s)
	a := addr.Addr()
	if !a.Is4() {
		return socket.EAFNOSUPPORT
	}
	if !a.IsUnspecified() && !isk.in.inetAddrIsLocal(a) && !a.IsMulticast() && !isk.in.inetAddrIsBroadcast(a) {
		return socket.EADDRNOTAVAIL
	}
	isk.Mu.Lock()
	defer isk.Mu.Unlock()
	if isk.State != TCP_CLOSE {
		return socket.EINVAL
	}
	isk.RcvSaddr, isk.Saddr = a, a
	if a.IsMulticast() || isk.in.inetAddrIsBroadcast(a) {
		isk.Saddr = netip.IPv4Unspecified()
	}
	isk.rt = nil
	rehash(s)
	return nil
}

// rawSendmsg is raw_sendmsg without IP_HDRINCL: the payload goes out under
// an IP header of the socket's protocol.
func rawSendmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error) {
	if len(b) > 0xffff-header.IPv4MinLen {
		return 0, socket.EMSGSIZE
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
	copy(skb.Put(len(b)), b)
	if in.traceOn() {
		in.traceSk(s, "raw_sendmsg %v -> %v proto=%d len=%d -> ip_push_pending_frames", saddr, dst.Addr(), isk.Num, len(b))
	}
	return in.ipPushPendingFrames(rt, skb, saddr, dst.Addr(), uint8(isk.Num), isk, len(b))
}

// rawRecvmsg is raw_recvmsg: the whole packet, IP header first.
func rawRecvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	n, _, err := dgramRecvmsg(ctx, s, msg, b, flags, rawView)
	return n, err
}

func rawView(skb *netdev.SkBuff) ([]byte, netip.AddrPort) {
	iph := ipHdr(skb)
	return iph, netip.AddrPortFrom(iph.Src(), 0)
}

// rawV4Input is raw_v4_input (raw_local_deliver's work): give every raw
// socket of this protocol (bound and connected as the packet fits) its own
// copy. It reports whether any raw socket exists for the packet, which
// keeps ip_local_deliver from answering protocol-unreachable.
func (in *Net) rawV4Input(skb *netdev.SkBuff, protocol uint8) bool {
	iph := ipHdr(skb)
	var buf [4]socket.Sk
	socks := in.dgram.raw.lookupAll(buf[:0], uint16(protocol), iph.Src(), 0, iph.Dst())
	for _, s := range socks {
		c := skbCloneNetwork(skb)
		sk := s.SK()
		if in.traceOn() {
			in.traceSk(s, "ip_local_deliver -> raw_v4_input proto=%d len=%d -> sk_data_ready", protocol, len(iph))
		}
		sk.Mu.Lock()
		ok := dgramQueueRcvSkb(sk, c)
		sk.Mu.Unlock()
		if !ok {
			c.Free()
		}
	}
	return len(socks) > 0
}

// rawErr is raw_icmp_error: an ICMP error about a packet of some protocol
// reaches the raw sockets of that protocol that sent to its destination.
func (in *Net) rawErr(inner header.Iphdr, typ, code uint8, info uint32) {
	var buf [4]socket.Sk
	socks := in.dgram.raw.lookupAll(buf[:0], uint16(inner.Protocol()), inner.Dst(), 0, inner.Src())
	for _, s := range socks {
		sk := s.SK()
		sk.Mu.Lock()
		in.dgramIcmpErr(inetSk(s), inner, typ, code, info)
		sk.Mu.Unlock()
	}
}
