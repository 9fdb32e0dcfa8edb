package inet

import (
	"context"
	"encoding/binary"
	"net/netip"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// What net/ipv6/tcp_ipv6.c takes from the TCP core (the symbols ipv4
// exports to ipv6): tcpv6_prot is tcp_prot with the IPv6 init and connect,
// and ipv6_specific fills the sock's inet_connection_sock_af_ops with the
// network layer inet6 gives here. The hash tables are the one set both
// families share, keyed by netip.Addr, and so are SYN cookies
// (syncookies.go), over the IPv6 4-tuple and net/ipv6's MSS table.

// TCPv6Ops is what package inet6 gives tcpv6_prot and ipv6_specific.
type TCPv6Ops struct {
	// Xmit is inet6_csk_xmit: push the IPv6 header on a built segment and
	// send it on the sock's route (ip6_xmit). skb's data is the segment
	// again on return.
	Xmit func(isk *InetSock, skb *netdev.SkBuff) error
	// SendCheck is tcp_v6_send_check: the checksum over the segment (skb's
	// data) with the IPv6 pseudo-header of saddr, daddr.
	SendCheck func(skb *netdev.SkBuff, saddr, daddr netip.Addr)
	// Route is ip6_dst_lookup_flow for a connecting or child sock: the
	// route to daddr and the source address the sock would use.
	Route func(isk *InetSock, daddr netip.Addr) (DstEntry, netip.Addr, error)
	// DstMTU is ip6_mtu: the path MTU of the sock's route to its peer.
	DstMTU func(isk *InetSock) int
	// SendResponse is tcp_v6_send_response's sending half: checksum and
	// send the TCP header in skb from saddr to daddr without a sock.
	SendResponse func(skb *netdev.SkBuff, saddr, daddr netip.Addr)
	// UpdatePmtu is ip6_sk_accept_pmtu then inet6_csk_update_pmtu: the
	// sock's route learns a path MTU of mtu, and the path MTU it has
	// now comes back; false when the sock ignores what routers say
	// (IPV6_PMTUDISC_INTERFACE, OMIT).
	UpdatePmtu func(isk *InetSock, mtu int) (int, bool)
}

// TCPv6Prot builds tcpv6_prot and ipv6_specific over ops (tcpv6_init).
func (in *Net) TCPv6Prot(ops TCPv6Ops) *socket.Proto {
	t := &in.tcp
	t.v6 = ops
	t.ipv6Specific = inetConnectionSockAfOps{
		queueXmit: func(tp *tcpSock, skb *netdev.SkBuff) error {
			return tp.in.tcp.v6.Xmit(&tp.InetSock, skb)
		},
		queueXmitName: "inet6_csk_xmit",
		sendCheck: func(tp *tcpSock, skb *netdev.SkBuff) {
			tp.in.tcp.v6.SendCheck(skb, tp.Saddr, tp.Daddr)
		},
		connRequest:       tcpV6ConnRequest,
		synRecvSock:       tcpV6SynRecvSock,
		cookieInitSeq:     (*tcpNet).cookieV6InitSequence,
		cookieInitSeqName: "cookie_v6_init_sequence",
		netHeaderLen:      ipv6HdrLen,
		addr2sockaddr:     func(tp *tcpSock) netip.AddrPort { return netip.AddrPortFrom(tp.Daddr, tp.Dport) },
		dstMTU:            func(tp *tcpSock) int { return tp.in.tcp.v6.DstMTU(&tp.InetSock) },
		gsoFeatures:       netdev.NETIF_F_GSO | netdev.NETIF_F_TSO6,
		mtuReduced:        (*tcpSock).v6MtuReduced,
		sendReset:         (*Net).tcpV6SendReset,
		sendAck:           (*Net).tcpV6SendAck,
	}
	t.v6Rcv = tcpRcvOps{
		name: "tcp_v6_rcv",
		cookieCheck: func(lp *tcpSock, skb *netdev.SkBuff, seg tcpSegment) (*tcpSock, bool) {
			return lp.cookieV6Check(skb, &seg)
		},
		sendReset: (*Net).tcpV6SendReset,
	}
	// ipv6_mapped: an AF_INET6 sock whose peer is IPv4 (a dual-stack
	// listener's child for an IPv4 SYN, or a connect to ::ffff:a.b.c.d)
	// sends and checksums as IPv4 (its addresses are IPv4 ones) and shows
	// its peer v4-mapped; a listener's own ops stay IPv6's.
	t.ipv6Mapped = ipv4Specific
	t.ipv6Mapped.connRequest = tcpV6ConnRequest
	t.ipv6Mapped.synRecvSock = tcpV6SynRecvSock
	t.ipv6Mapped.addr2sockaddr = inet6CskAddr2sockaddr
	return newTCPProtFamily("TCPv6", tcpV6InitSock, tcpV6Connect)
}

// inet6CskAddr2sockaddr is inet6_csk_addr2sockaddr for an ipv6_mapped
// sock: its IPv4 peer as sockaddr_in6 has it, ::ffff:a.b.c.d.
func inet6CskAddr2sockaddr(tp *tcpSock) netip.AddrPort {
	return netip.AddrPortFrom(V6Addr(tp.Daddr), tp.Dport)
}

// ipv6HdrLen is sizeof(struct ipv6hdr), the net_header_len of
// ipv6_specific.
const ipv6HdrLen = 40

// tcpV6InitSock is tcp_v6_init_sock: tcp_init_sock, and IPv6 under it.
func tcpV6InitSock(s socket.Sk) error {
	tp := tcpSk(s)
	tp.afOps = &tp.in.tcp.ipv6Specific
	return tcpInitSock(s)
}

// TCPv6Rcv is the half of tcp_v6_rcv after inet6 has checked the
// segment's checksum: parse the TCP header at skb's data and run the
// receive path both families share, keyed by the IPv6 4-tuple. skb's
// NetworkHeader is its IPv6 header. It owns skb.
func (in *Net) TCPv6Rcv(skb *netdev.SkBuff, saddr, daddr netip.Addr) {
	in.mib.Tcp.InSegs.Add(1)
	th, ok := header.ParseTcphdr(skb.Data())
	if !ok {
		in.mib.Tcp.InErrs.Add(1)
		skb.Free()
		return
	}
	var seg tcpSegment
	tcpParseSegment(skb, th, &seg)
	key := tcpHashKey{laddr: daddr, raddr: saddr, lport: seg.dport, rport: seg.sport}
	in.tcpRcv(skb, key, &seg, &in.tcp.v6Rcv)
}

// TCPInCsumError counts a segment inet6 dropped for its checksum
// (TCP_MIB_CSUMERRORS and INERRS, as tcp_v6_rcv's csum_error).
func (in *Net) TCPInCsumError() {
	in.mib.Tcp.InSegs.Add(1)
	in.mib.Tcp.InCsumErrors.Add(1)
	in.mib.Tcp.InErrs.Add(1)
}

// ipv6Addrs reads the source and destination of the IPv6 header at
// skb's NetworkHeader.
func ipv6Addrs(skb *netdev.SkBuff) (saddr, daddr netip.Addr) {
	b := skb.At(skb.NetworkHeader)
	return netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
}

// ipv6MinMtu is IPV6_MIN_MTU (RFC 8200 §5): no link is narrower.
const ipv6MinMtu = 1280

// TCPv6Err is tcp_v6_err once inet6 has read the ICMPv6 message: th is
// the quoted TCP header (its first 8 bytes at least) of a segment we sent
// from saddr to daddr; tooBig says it is a packet too big, with the next
// hop's MTU in info, else errno and fatal are icmpv6_err_convert's and
// noRoute says it is destination unreachable, no route (which may revert
// a backed-off RTO, RFC 6069). It
// returns false when no sock sent it (ICMP6_MIB_INERRORS is inet6's); a
// quote too short to name one is dropped uncounted, as icmpv6_notify
// drops it before the protocol sees it.
func (in *Net) TCPv6Err(saddr, daddr netip.Addr, th []byte, tooBig, noRoute bool, info uint32, errno socket.Errno, fatal bool) bool {
	if len(th) < 8 {
		return true
	}
	key := tcpHashKey{
		laddr: saddr, raddr: daddr,
		lport: binary.BigEndian.Uint16(th[0:]), rport: binary.BigEndian.Uint16(th[2:]),
	}
	e := tcpIcmpErr{tooBig: tooBig, mtu: int(min(info, 1<<20)), errno: errno, fatal: fatal, rtoRevert: noRoute}
	return in.tcpErr(key, binary.BigEndian.Uint32(th[4:]), e)
}

// v6MtuReduced is tcp_v6_mtu_reduced with tcp_v6_err's packet too big
// checks: an MTU below IPv6's minimum, or one that would not lower the
// MSS (a forged "bigger" path, which __ip6_rt_update_pmtu would refuse
// too late), is ignored; otherwise the route's exception learns it
// (inet6_csk_update_pmtu) and the MSS follows (mtuReducedSync). Mu held.
func (tp *tcpSock) v6MtuReduced(mtu int) {
	if (1<<tp.State)&(TCPF_LISTEN|TCPF_CLOSE) != 0 || mtu < ipv6MinMtu {
		return
	}
	if tp.mtuToMss(mtu) >= tp.mssCache {
		return
	}
	pmtu, ok := tp.in.tcp.v6.UpdatePmtu(&tp.InetSock, mtu)
	if !ok {
		return
	}
	tp.mtuReducedSync(pmtu, "tcp_v6_mtu_reduced")
}

// tcpV6SendReset is tcp_v6_send_reset: the RST of RFC 9293 §3.10.7.1 to
// a segment no sock wants, as tcpV4SendReset builds it, sent by
// tcp_v6_send_response.
func (in *Net) tcpV6SendReset(skb *netdev.SkBuff, seg tcpSegment) {
	if seg.flags&tcpFlagRST != 0 {
		return
	}
	saddr, daddr := ipv6Addrs(skb)
	var seq, ack uint32
	flags := uint8(tcpFlagRST)
	if seg.flags&tcpFlagACK != 0 {
		seq = seg.ack
	} else {
		ack = seg.endSeq
		flags |= tcpFlagACK
	}
	nskb := netdev.AllocSkb(0)
	defer nskb.Free()
	header.Tcphdr(nskb.Push(header.TCPMinLen)).Encode(header.TCPFields{Source: seg.dport, Dest: seg.sport, Seq: seq, AckSeq: ack, Flags: flags})
	in.mib.Tcp.OutSegs.Add(1)
	in.mib.Tcp.OutRsts.Add(1)
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "tcp_v6_send_reset %v seq=%d ack=%d -> tcp_v6_send_response", netip.AddrPortFrom(saddr, seg.sport), seq, ack)
	}
	in.tcp.v6.SendResponse(nskb, daddr, saddr)
}

// tcpV6SendAck is tcp_v6_send_ack: an ACK for a timewait entry, with the
// timestamp option when ts, sent by tcp_v6_send_response.
func (in *Net) tcpV6SendAck(k tcpHashKey, seq, ack uint32, win uint16, ts bool, tsval, tsecr uint32, ttl, tos uint8) {
	var opts [tcpolenTSAligned]byte
	n := 0
	if ts {
		opts[0], opts[1], opts[2], opts[3] = header.TCPOPT_NOP, header.TCPOPT_NOP, header.TCPOPT_TIMESTAMP, tcpolenTimestamp
		binary.BigEndian.PutUint32(opts[4:], tsval)
		binary.BigEndian.PutUint32(opts[8:], tsecr)
		n = tcpolenTSAligned
	}
	skb := netdev.AllocSkb(0)
	defer skb.Free()
	header.Tcphdr(skb.Push(header.TCPMinLen + n)).Encode(header.TCPFields{Source: k.lport, Dest: k.rport, Seq: seq, AckSeq: ack, Flags: tcpFlagACK, Window: win, Options: opts[:n]})
	in.mib.Tcp.OutSegs.Add(1)
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "tcp_v6_send_ack seq=%d ack=%d win=%d -> tcp_v6_send_response", seq, ack, win)
	}
	in.tcp.v6.SendResponse(skb, k.laddr, k.raddr)
}

// tcpV6ConnRequest is tcp_v6_conn_request: a SYN the listener admits,
// addressed from its IPv6 header, becomes a child (tcp_conn_request) that
// answers with its SYN-ACK (tcp_v6_send_synack). An IPv4 SYN, which only
// a dual-stack listener is given, is tcp_v4_conn_request's; an IPv6 one
// from a v4-mapped source is dropped, as Linux's (such an address names an
// IPv4 node, RFC 4291 §2.5.5.2, never an IPv6 sender). Listener's Mu
// held.
func tcpV6ConnRequest(lp *tcpSock, skb *netdev.SkBuff, seg tcpSegment) {
	if skb.Protocol == netdev.ETH_P_IP {
		tcpV4ConnRequest(lp, skb, seg)
		return
	}
	saddr, daddr := ipv6Addrs(skb)
	if saddr.Is4In6() {
		return
	}
	child := lp.connRequest(daddr, saddr, &seg, lp.in.tcp.ipv6Specific.cookieInitSeq)
	if child == nil {
		return
	}
	if lp.in.traceOn() {
		lp.in.traceSk(lp, "tcp_v6_conn_request %v -> tcp_v6_send_synack", netip.AddrPortFrom(child.Daddr, child.Dport))
	}
	child.v6SendSynack()
	child.Mu.Unlock()
}

// v6SendSynack is tcp_v6_send_synack: the child's SYN-ACK, built as
// tcp_v4_send_synack's and queued for retransmission like any SYN.
func (child *tcpSock) v6SendSynack() { child.v4SendSynack() }

// tcpV6SynRecvSock is tcp_v6_syn_recv_sock: an AF_INET6 child of the
// listener for the SYN from raddr:rport to laddr, with its route (nil
// without one). For an IPv4 SYN (a dual-stack listener's) the child is
// tcp_v4_syn_recv_sock's, switched to ipv6_mapped: it talks IPv4 and
// shows its addresses v4-mapped. Listener's Mu held.
func tcpV6SynRecvSock(lp *tcpSock, laddr, raddr netip.Addr, rport uint16) *tcpSock {
	in := lp.in
	if raddr.Is4() {
		child := tcpV4SynRecvSock(lp, laddr, raddr, rport)
		if child != nil {
			child.afOps = &in.tcp.ipv6Mapped
			child.Pinet6 = lp.inheritPinet6()
		}
		return child
	}
	child := socket.SkAlloc(lp.Net, socket.AF_INET6, lp.Prot).(*tcpSock)
	child.in = in
	socket.SockInitData(nil, child)
	lp.createOpenreqChild(child, rport)
	child.Pinet6 = lp.inheritPinet6()
	child.Saddr, child.RcvSaddr = laddr, laddr
	child.Daddr = raddr
	dst, _, err := in.tcp.v6.Route(&child.InetSock, raddr)
	if err != nil {
		child.Prot.InUse.Add(-1)
		return nil
	}
	child.rt = dst
	return child
}

// inheritPinet6 is the listener's ipv6_pinfo as a child copies it
// (tcp_v6_syn_recv_sock's memcpy of newnp), sk_ipv6only with it.
func (lp *tcpSock) inheritPinet6() *Ipv6Pinfo {
	np := &Ipv6Pinfo{HopLimit: -1}
	if lp.Pinet6 != nil {
		*np = *lp.Pinet6
	}
	return np
}

// tcpV6Connect is tcp_v6_connect (Mu held): route, choose the source
// address and port, pick the ISN (RFC 6528 over the IPv6 tuple), and send
// the SYN. inet_stream_connect then waits for the handshake. A v4-mapped
// peer is TCP over IPv4: the sock switches to ipv6_mapped and
// tcp_v4_connect runs (ENETUNREACH when IPV6_V6ONLY), back to
// ipv6_specific if that fails.
func tcpV6Connect(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error {
	tp := tcpSk(s)
	in := tp.in
	daddr := addr.Addr().WithZone("")
	if !daddr.Is6() {
		return socket.EAFNOSUPPORT
	}
	if daddr.IsUnspecified() {
		// connect to [::] is to this host, over IPv4 for a sock bound
		// the v4-mapped way.
		daddr = netip.IPv6Loopback()
		if tp.RcvSaddr.Is4() {
			daddr = V6Addr(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
		}
	}
	if daddr.IsMulticast() {
		return socket.ENETUNREACH
	}
	if daddr.Is4In6() {
		if tp.ipv6Only() {
			return socket.ENETUNREACH
		}
		tp.afOps = &in.tcp.ipv6Mapped
		if in.traceOn() {
			in.traceSk(tp, "tcp_v6_connect %v -> tcp_v4_connect", addr)
		}
		err := tcpV4Connect(ctx, s, netip.AddrPortFrom(daddr.Unmap(), addr.Port()), flags)
		if err != nil {
			tp.afOps = &in.tcp.ipv6Specific
		}
		return err
	}
	tp.afOps = &in.tcp.ipv6Specific // an earlier v4-mapped attempt may have left ipv6_mapped
	dst, saddr, err := in.tcp.v6.Route(&tp.InetSock, daddr)
	if err != nil {
		return err
	}
	tp.rt = dst
	if anyAddr(tp.Saddr) {
		tp.Saddr = saddr
		if anyAddr(tp.RcvSaddr) {
			tp.RcvSaddr = saddr
		}
	}
	tp.Daddr = daddr
	tp.Dport = addr.Port()
	if err := tp.hashConnect(); err != nil {
		tp.Daddr, tp.Dport = netip.Addr{}, 0
		tp.rt = nil
		tp.inetResetSaddr()
		return err
	}
	tp.tcpSetState(TCP_SYN_SENT)
	tp.iss = in.tcp.secureSeq(tp.ehashKey, in.clock.Now())
	tp.tcpConnect()
	return nil
}

// The inet_stream_ops slots inet6_stream_ops shares (net/ipv6/af_inet6.c
// takes them from net/ipv4/af_inet.c), and the socket-level options that
// are not IPv6's (sock_common_setsockopt's proto part).
var (
	InetStreamConnect = inetStreamConnect
	InetAccept        = inetAccept
	InetListen        = inetListen
	TCPPoll           = tcpPoll
	InetSetsockopt    = inetSetsockopt
	InetGetsockopt    = inetGetsockopt
)

// TCPv6Inuse is sock_prot_inuse_get(tcpv6_prot) for sockstat6: the
// AF_INET6 TCP socks in the listening or established tables.
func (in *Net) TCPv6Inuse() int {
	n := 0
	for _, tp := range in.tcp.allSocks() {
		tp.Mu.Lock()
		if !tp.destroyed && tp.State != TCP_CLOSE && tp.Family == socket.AF_INET6 {
			n++
		}
		tp.Mu.Unlock()
	}
	return n
}

// Dst is __sk_dst_get: the sock's cached route, nil when it has none.
func (isk *InetSock) Dst() DstEntry { return isk.rt }
