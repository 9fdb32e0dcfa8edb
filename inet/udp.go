package inet

import (
	"context"
	"net/netip"
	"strconv"
	"syscall"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// UDP (RFC 768), as net/ipv4/udp.c: udp_prot's sendmsg and recvmsg, the
// receive path __udp4_lib_rcv with its checksum check and socket lookup,
// port-unreachable for closed ports, and udp_err turning ICMP errors into
// ECONNREFUSED and friends on connected sockets.

// udpSock is struct udp_sock.
type udpSock struct {
	InetSock
	dgEntry
	drops int // sk_drops; protected by Mu
}

var (
	_ inetSocker = (*udpSock)(nil)
	_ dgSocker   = (*udpSock)(nil)
)

// udpMaxPayload is the largest datagram: 65535 less the IPv4 and UDP
// headers (ip_append_data's maxnonfragsize check).
const udpMaxPayload = 0xffff - header.IPv4MinLen - header.UDPLen

// udpInit is udp_init: udp_prot, for inetswArray's SOCK_DGRAM default row.
func (in *Net) udpInit() {
	in.dgram.udp.prot = &socket.Proto{
		Name:           "UDP",
		SendmsgName:    "udp_sendmsg",
		RecvmsgName:    "udp_recvmsg",
		CloseName:      "dgram_close",
		DisconnectName: "udp_disconnect",
		Alloc:          func() socket.Sk { return new(udpSock) },
		Init:           dgramInit,
		Close:          dgramClose,
		Connect:        ip4DatagramConnect,
		Disconnect:     udpDisconnect,
		Getsockopt:     ipGetsockoptOther,
		Sendmsg:        udpSendmsg,
		Recvmsg:        udpRecvmsg,
		GetPort:        in.udpGetPort,
		Unhash:         udpLibUnhash,
		Diag:           udpDiag,
	}
}

// udpGetPort is udp_v4_get_port: an ephemeral port from
// ip_local_port_range when port is 0. Mu held.
func (in *Net) udpGetPort(s socket.Sk, port uint16) error {
	return in.dgram.udp.getPort(s, port, sysctlIPLocalPortRangeLow, sysctlIPLocalPortRangeHigh)
}

// udpSendmsg is udp_sendmsg: one call, one datagram, to msg.Name or the
// connected peer, checksummed and handed to IP (which fragments it if it
// is larger than the MTU).
func udpSendmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error) {
	if len(b) > udpMaxPayload {
		return 0, socket.EMSGSIZE
	}
	us := s.(*udpSock)
	us.Mu.Lock()
	defer us.Mu.Unlock()
	dst, rt, saddr, err := dgramSendPrepare(s, msg, true)
	if err != nil {
		return 0, err
	}
	if err := us.in.ipAppendCheck(&us.InetSock, rt, dst.Addr(), header.UDPLen+len(b)); err != nil {
		return 0, err
	}
	if e := us.SockError(); e != 0 {
		return 0, e
	}
	skb := netdev.AllocSkb(header.UDPLen + len(b))
	defer skb.Free()
	copy(skb.Put(len(b)), b)
	return us.sendSkb(skb, rt, saddr, dst)
}

// sendSkb is udp_send_skb: push the UDP header over the payload in skb,
// checksum it and hand it to ip_send_skb. Mu held.
func (us *udpSock) sendSkb(skb *netdev.SkBuff, rt *Rtable, saddr netip.Addr, dst netip.AddrPort) (int, error) {
	isk := &us.InetSock
	in := isk.in
	n := skb.Len()
	ulen := header.UDPLen + n
	uh := header.Udphdr(skb.Push(header.UDPLen))
	uh.Encode(header.UDPFields{Source: isk.Sport, Dest: dst.Port(), Len: ulen})
	csum := header.Fold(header.Checksum(skb.Data(), header.PseudoHeaderSum(saddr.As4(), dst.Addr().As4(), IPPROTO_UDP, ulen)))
	if csum == 0 {
		csum = 0xffff // RFC 768: zero means no checksum
	}
	uh.SetCheck(csum)
	if in.traceOn() {
		in.traceSk(us, "udp_send_skb %v:%d -> %v len=%d -> ip_send_skb", saddr, isk.Sport, dst, n)
	}
	if err := in.ipSendSkb(isk, rt, skb, saddr, dst.Addr(), IPPROTO_UDP, isk.ttlFor(rt), isk.Tos, 0); err != nil {
		if e, ok := err.(syscall.Errno); ok {
			return 0, e
		}
		// The device refused the frame: ENOBUFS, which udp_send_skb
		// counts and swallows without IP_RECVERR.
		in.mib.Udp.SndbufErrors.Add(1)
		return n, nil
	}
	in.mib.Udp.OutDatagrams.Add(1)
	return n, nil
}

// udpRecvmsg is udp_recvmsg: one datagram per call.
func udpRecvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	n, got, err := dgramRecvmsg(ctx, s, msg, b, flags, udpView)
	if got && flags&socket.MSG_PEEK == 0 {
		inetSk(s).in.mib.Udp.InDatagrams.Add(1)
	}
	return n, err
}

// udpView is what a read of a queued UDP skb returns (its data starts at
// the UDP header) and who sent it.
func udpView(skb *netdev.SkBuff) ([]byte, netip.AddrPort) {
	uh := header.Udphdr(skb.Data())
	return uh[header.UDPLen:], netip.AddrPortFrom(ipHdr(skb).Src(), uh.Source())
}

// udpRcv is udp_rcv / __udp4_lib_rcv: check length and checksum, find the
// socket, queue the datagram; a closed port gets ICMP port unreachable.
func (in *Net) udpRcv(skb *netdev.SkBuff) {
	iph := ipHdr(skb)
	uh, ok := header.ParseUdphdr(skb.Data())
	if !ok { // shorter than its header, or a length beyond the packet
		in.mib.Udp.InErrors.Add(1)
		skb.Free()
		return
	}
	ulen := uh.Len()
	skb.Trim(ulen)
	if uh.Check() != 0 && !skb.CsumUnnecessary() &&
		header.Fold(header.Checksum(uh, header.PseudoHeaderSum(iph.Saddr(), iph.Daddr(), IPPROTO_UDP, ulen))) != 0 {
		in.mib.Udp.InCsumErrors.Add(1)
		in.mib.Udp.InErrors.Add(1)
		skb.Free()
		return
	}
	saddr, daddr := iph.Src(), iph.Dst()
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "ip_local_deliver -> udp_rcv %v:%d -> %v:%d len=%d", saddr, uh.Source(), daddr, uh.Dest(), ulen-header.UDPLen)
	}
	if daddr.IsMulticast() || in.inetAddrIsBroadcast(daddr) {
		in.udpMcastDeliver(skb, saddr, uh.Source(), daddr, uh.Dest())
		return
	}
	s := in.dgram.udp.lookup(uh.Dest(), saddr, uh.Source(), daddr)
	if s == nil {
		in.mib.Udp.NoPorts.Add(1)
		in.icmpSend(skb, header.ICMP_DEST_UNREACH, header.ICMP_PORT_UNREACH, 0)
		skb.Free()
		return
	}
	in.udpQueueRcvSkb(s, skb, saddr)
}

// udpMcastDeliver is __udp4_lib_mcast_deliver: a broadcast goes to every
// socket bound to its port. Nobody listening is not an error worth an
// ICMP message (RFC 1122 §3.2.2).
func (in *Net) udpMcastDeliver(skb *netdev.SkBuff, saddr netip.Addr, sport uint16, daddr netip.Addr, dport uint16) {
	var buf [8]socket.Sk
	socks := in.dgram.udp.lookupAll(buf[:0], dport, saddr, sport, daddr)
	if len(socks) == 0 {
		in.mib.Udp.IgnoredMulti.Add(1)
		skb.Free()
		return
	}
	for i, s := range socks {
		c := skb
		if i < len(socks)-1 {
			c = skbCloneNetwork(skb)
		}
		in.udpQueueRcvSkb(s, c, saddr)
	}
}

// udpQueueRcvSkb is udp_queue_rcv_skb: onto the socket's receive queue,
// unless its receive buffer is full. Its trace line carries the receiving
// socket's ino, so a reader can tell which of several sockets got it.
// skb's data is the UDP header; saddr its sender, for the trace.
func (in *Net) udpQueueRcvSkb(s socket.Sk, skb *netdev.SkBuff, saddr netip.Addr) {
	us := s.(*udpSock)
	sk := &us.Sock
	sk.Mu.Lock()
	if in.traceOn() {
		uh := header.Udphdr(skb.Data())
		in.traceSk(s, "udp_queue_rcv_skb from=%v len=%d", netip.AddrPortFrom(saddr, uh.Source()), len(uh)-header.UDPLen)
	}
	if !dgramQueueRcvSkb(sk, skb) {
		us.drops++
		if in.traceOn() {
			in.traceSk(s, "udp_queue_rcv_skb dropped (receive buffer full)")
		}
		sk.Mu.Unlock()
		in.mib.Udp.RcvbufErrors.Add(1)
		in.mib.Udp.InErrors.Add(1)
		skb.Free()
		return
	}
	sk.Mu.Unlock()
}

// udpErr is udp_err / __udp4_lib_err: an ICMP error about a datagram we
// sent; skb's data is that datagram's IP header and at least 8 bytes of
// its UDP header.
func (in *Net) udpErr(skb *netdev.SkBuff, typ, code uint8, info uint32) {
	inner := header.Iphdr(skb.Data())
	ihl := inner.Ihl()
	if len(inner) < ihl+header.UDPLen {
		return
	}
	uh := header.Udphdr(inner[ihl:])
	// The datagram went from us (inner source) to the peer: look up the
	// socket as if it came back.
	s := in.dgram.udp.lookup(uh.Source(), inner.Dst(), uh.Dest(), inner.Src())
	if s == nil {
		return
	}
	sk := s.SK()
	sk.Mu.Lock()
	in.dgramIcmpErr(inetSk(s), inner, typ, code, info)
	sk.Mu.Unlock()
}

// udpDiag reports a UDP sock for the status file. Mu held.
func udpDiag(s socket.Sk, emit func(key, value string)) {
	dgramDiag(s, emit)
	emit("drops", strconv.Itoa(s.(*udpSock).drops))
}
