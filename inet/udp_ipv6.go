package inet

import (
	"context"
	"net/netip"

	"sockfs/netdev"
	"sockfs/socket"
)

// What net/ipv6/udp.c and af_inet6.c take from net/ipv4 (the symbols
// ipv4 exports to ipv6): the inet_sock every AF_INET6 sock embeds, and
// UDP's shared core — udp_lib_get_port and the one udp_table keyed by
// netip.Addr, so an AF_INET and an AF_INET6 socket contend for the same
// ports, udp_queue_rcv_skb, udp_lib_close, __udp_disconnect.

// InetSk is inet_sk for package inet6.
func InetSk(s socket.Sk) *InetSock { return inetSk(s) }

// InetSkInit is the part of inet_create that inet6_create repeats: the
// inet_sock's namespace and defaults.
func (in *Net) InetSkInit(s socket.Sk) {
	isk := inetSk(s)
	isk.in = in
	isk.UcTTL = -1
	isk.Pmtudisc = socket.IP_PMTUDISC_WANT
}

// UDPv6Ops is what udpv6_prot has of its own (net/ipv6/udp.c): its
// sendmsg, recvmsg and connect.
type UDPv6Ops struct {
	Sendmsg func(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error)
	Recvmsg func(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int) (int, error)
	Connect func(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error
}

// DgramRecvmsg is the datagram protocols' recvmsg (__skb_recv_datagram and
// the copy out), for udpv6_recvmsg: view gives a queued skb's bytes and
// sender. It returns the bytes copied and whether a datagram was read.
func DgramRecvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int,
	view func(skb *netdev.SkBuff) ([]byte, netip.AddrPort)) (int, bool, error) {
	return dgramRecvmsg(ctx, s, msg, b, flags, view)
}

// UDPv6Prot builds udpv6_prot: its own sendmsg, recvmsg and connect over UDP's shared core (udp_sock, udp_lib_get_port on the one
// udp_table, udp_lib_close, __udp_disconnect, udp_lib_unhash).
func (in *Net) UDPv6Prot(ops UDPv6Ops) *socket.Proto {
	return &socket.Proto{
		Name:           "UDPv6",
		SendmsgName:    "udpv6_sendmsg",
		RecvmsgName:    "udpv6_recvmsg",
		CloseName:      "dgram_close",
		DisconnectName: "udp_disconnect",
		Alloc:          func() socket.Sk { return new(udpSock) },
		Init:           dgramInit,
		Close:          dgramClose,
		Connect:        ops.Connect,
		Disconnect:     udpDisconnect,
		Sendmsg:        ops.Sendmsg,
		Recvmsg:        ops.Recvmsg,
		GetPort:        in.udpGetPort,
		Unhash:         udpLibUnhash,
		Diag:           udpDiag,
	}
}

// UDPLookup is __udp6_lib_lookup on the shared table: the best AF_INET6
// sock for a datagram from saddr:sport to daddr:dport.
func (in *Net) UDPLookup(dport uint16, saddr netip.Addr, sport uint16, daddr netip.Addr) socket.Sk {
	return in.dgram.udp.lookup(dport, saddr, sport, daddr)
}

// UDPQueueRcvSkb is udp_queue_rcv_skb for udpv6_queue_rcv_skb: skb's data
// is the UDP header.
func (in *Net) UDPQueueRcvSkb(s socket.Sk, skb *netdev.SkBuff, saddr netip.Addr) {
	in.udpQueueRcvSkb(s, skb, saddr)
}

// Rehash is udp_lib_rehash after a connect changed the sock's key. Mu held.
func Rehash(s socket.Sk) { rehash(s) }

// InetAutobind is inet_autobind. Mu held.
func InetAutobind(s socket.Sk) error { return inetAutobind(s) }

// InetSendPrepare is inet_send_prepare, for inet6_sendmsg.
func InetSendPrepare(s socket.Sk) error { return inetSendPrepare(s) }

// InetRelease, InetShutdown and DatagramPoll are the inet_dgram_ops slots
// inet6_dgram_ops shares.
var (
	InetRelease  = inetRelease
	InetShutdown = inetShutdown
	DatagramPoll = datagramPoll
)

// SetBound records a bind's result the way __inet_bind does, for
// __inet6_bind: the local address and port, and what the user locked.
// Mu held.
func SetBound(s socket.Sk, a netip.Addr, port uint16) {
	isk := inetSk(s)
	if !a.IsUnspecified() {
		isk.userlocks |= sockBindAddrLock
	}
	if port != 0 {
		isk.userlocks |= sockBindPortLock
	}
	isk.Sport = isk.Num
	isk.Daddr = netip.Addr{}
	isk.Dport = 0
	isk.rt = nil
}

// UDPEach calls fn for every sock of family on the shared udp_table with
// its slot and drop count, in slot order (udp_seq_start's walk, for
// net/udp6). fn runs without the table's lock.
func (in *Net) UDPEach(family int, fn func(slot int, isk *InetSock, drops int)) {
	in.dgram.udp.each(func(slot int, s socket.Sk) {
		us := s.(*udpSock)
		if us.Family != family {
			return
		}
		us.Mu.Lock()
		drops := us.drops
		us.Mu.Unlock()
		fn(slot, &us.InetSock, drops)
	})
}

// PingV6Prot builds pingv6_prot (net/ipv6/ping.c): its own sendmsg,
// recvmsg and connect over ping's shared core (ping_get_port on the one
// ping_table, whose idents AF_INET and AF_INET6 ping sockets share).
func (in *Net) PingV6Prot(ops UDPv6Ops) *socket.Proto {
	return &socket.Proto{
		Name:           "PINGv6",
		SendmsgName:    "ping_v6_sendmsg",
		RecvmsgName:    "ping_recvmsg",
		CloseName:      "dgram_close",
		DisconnectName: "udp_disconnect",
		Alloc:          func() socket.Sk { return new(pingSock) },
		Init:           dgramInit,
		Close:          dgramClose,
		Connect:        ops.Connect,
		Disconnect:     udpDisconnect,
		Sendmsg:        ops.Sendmsg,
		Recvmsg:        ops.Recvmsg,
		GetPort:        in.pingGetPort,
		Unhash:         udpLibUnhash,
		Diag:           dgramDiag,
	}
}

// PingLookup is ping_lookup for an ICMPv6 echo reply (or an error about
// an echo request): the AF_INET6 ping sock of ident.
func (in *Net) PingLookup(ident uint16, saddr, daddr netip.Addr) socket.Sk {
	return in.dgram.ping.lookup(ident, saddr, 0, daddr)
}

// PingQueueRcvSkb is ping_queue_rcv_skb: skb (the sock's own copy, data
// at the ICMPv6 header) onto its receive queue, or freed when full.
func PingQueueRcvSkb(s socket.Sk, skb *netdev.SkBuff) {
	sk := s.SK()
	sk.Mu.Lock()
	ok := dgramQueueRcvSkb(sk, skb)
	sk.Mu.Unlock()
	if !ok {
		skb.Free()
	}
}

// UDPSendmsg is udp_sendmsg, where udpv6_sendmsg hands a datagram for an
// IPv4 peer (v4-mapped, or a sockaddr_in): msg.Name, when valid, is the
// IPv4 destination.
func UDPSendmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error) {
	return udpSendmsg(ctx, s, msg, b)
}

// IP4DatagramConnect is __ip4_datagram_connect, which ip6_datagram_connect
// runs for an IPv4 peer: the sock's addresses become IPv4 ones, which it
// shows v4-mapped (V6Addr). Mu held.
func IP4DatagramConnect(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error {
	return ip4DatagramConnect(ctx, s, addr, flags)
}

// UDPInDatagram counts an IPv4 datagram udpv6_recvmsg returned
// (UDP_MIB_INDATAGRAMS, IPv4's, as for is_udp4).
func (in *Net) UDPInDatagram() { in.mib.Udp.InDatagrams.Add(1) }

// InetAddrValidOrNonlocal is inet_addr_valid_or_nonlocal, which
// __inet6_bind applies to a v4-mapped address as inet_bind would: any,
// one of ours, a broadcast or a multicast address.
func (in *Net) InetAddrValidOrNonlocal(a netip.Addr) bool {
	return a.IsUnspecified() || in.inetAddrType(a) != RTN_UNICAST
}

// IPSetsockopt and IPGetsockopt are ip_setsockopt and ip_getsockopt, which
// ipv6_setsockopt and ipv6_getsockopt hand SOL_IP on a UDP or ping socket
// (through udp_prot's): the options of its v4-mapped traffic.
func IPSetsockopt(s socket.Sk, optname, val int) error { return ipSetsockopt(s, optname, val) }

// IPGetsockopt: see IPSetsockopt.
func IPGetsockopt(s socket.Sk, optname int) (int, error) { return ipGetsockopt(s, optname) }

// MappedPathMTU is dst_mtu(__sk_dst_get(sk)) for an AF_INET6 sock
// connected the v4-mapped way: the path MTU of its IPv4 route, false
// without one. Mu held.
func (isk *InetSock) MappedPathMTU() (int, bool) {
	rt := isk.rtable()
	if rt == nil || !isk.Daddr.Is4() {
		return 0, false
	}
	return isk.in.dstMTU(rt, isk.Daddr), true
}
