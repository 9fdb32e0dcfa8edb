package inet

// TCP over IPv4 (net/ipv4/tcp_ipv4.c): the namespace's TCP state, the
// receive entry tcp_v4_rcv with checksum and demultiplexing, connect,
// resets for segments nobody owns, and ICMP errors.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// tcpNet is TCP's per-namespace state: the hash tables (struct
// inet_hashinfo), the secrets, and the sysctls that tests and the daemon
// may change.
type tcpNet struct {
	mu    sync.RWMutex
	ehash map[tcpHashKey]*tcpSock // protected by mu; established, SYN_RECV, TIME_WAIT, SYN_SENT
	lhash map[uint16][]*tcpSock   // protected by mu; listeners by port
	bhash map[uint16][]*tcpSock   // protected by mu; every sock holding a port

	// The timewait entries (inet_timewait_sock.go): their half of the
	// established hash, and the ports they hold.
	twhash  map[tcpHashKey]*tcpTimewaitSock // protected by mu
	twbhash map[uint16][]*tcpTimewaitSock   // protected by mu
	perturb []uint32                        // protected by mu; table_perturb of __inet_hash_connect

	congDefault *tcpCongestionOps // protected by mu
	congList    map[string]*tcpCongestionOps

	randMu sync.Mutex
	rng    *mrand.Rand // protected by randMu
	isnKey [32]byte    // RFC 6528 secret

	// rtoMin is TCP_RTO_MIN (200 ms) and timeWaitLen TCP_TIMEWAIT_LEN
	// (60 s); set before traffic (SetTCPTimers).
	rtoMin, timeWaitLen time.Duration
	finTimeout          time.Duration // tcp_fin_timeout (SetTCPFinTimeout)
	// tcp_syn_retries and tcp_syn_linear_timeouts (SetTCPSynRetries).
	synRetries, synLinearTimeouts int
	portLow, portHigh             int // ip_local_port_range

	// The option sysctls: tcp_sack, tcp_timestamps, tcp_window_scaling.
	sysctlSack, sysctlTimestamps, sysctlWindowScaling bool

	// SYN cookies (syncookies.go): net.ipv4.tcp_syncookies and the secrets.
	syncookies atomic.Int32
	cookies    syncookieNet

	prot *socket.Proto

	// tcpv6_prot's (tcp_ipv6.go): inet6's network layer, ipv6_specific
	// over it, ipv6_mapped for its socks that talk IPv4, and
	// tcp_v6_rcv's part of the shared receive path.
	v6           TCPv6Ops
	ipv6Specific inetConnectionSockAfOps
	ipv6Mapped   inetConnectionSockAfOps
	v6Rcv        tcpRcvOps
}

// tcpInit is tcp_init + tcp_v4_init + tcp4_proc_init: the tables, tcp_prot
// (for inetswArray's SOCK_STREAM row), net/tcp.
func (in *Net) tcpInit() {
	t := &in.tcp
	t.ehash = make(map[tcpHashKey]*tcpSock)
	t.lhash = make(map[uint16][]*tcpSock)
	t.bhash = make(map[uint16][]*tcpSock)
	t.twhash = make(map[tcpHashKey]*tcpTimewaitSock)
	t.twbhash = make(map[uint16][]*tcpTimewaitSock)
	t.congList = tcpCongTable()
	t.congDefault = t.congList["cubic"]
	var seed [32]byte
	rand.Read(seed[:])
	rand.Read(t.isnKey[:])
	t.rng = mrand.New(mrand.NewChaCha8(seed))
	t.rtoMin = tcpRtoMinDefault
	t.timeWaitLen = tcpTimeWaitLen
	t.finTimeout = tcpFinTimeout
	t.synRetries, t.synLinearTimeouts = tcpSynRetries, tcpSynLinearTimeouts
	t.portLow, t.portHigh = 32768, 60999
	t.sysctlSack, t.sysctlTimestamps, t.sysctlWindowScaling = true, true, true
	t.syncookies.Store(1)
	t.prot = newTCPProt()
	in.sn.ProcNetCreate("tcp", in.tcp4SeqShow)
}

// SetTCPTimers changes TCP_RTO_MIN and the TIME_WAIT length (2 MSL) for
// connections made afterwards; zero keeps a value. For tests and the
// daemon's flags; Linux's are 200 ms and 60 s.
func (in *Net) SetTCPTimers(rtoMin, timeWait time.Duration) {
	if rtoMin > 0 {
		in.tcp.rtoMin = rtoMin
	}
	if timeWait > 0 {
		in.tcp.timeWaitLen = timeWait
	}
}

// SetTCPFinTimeout sets net.ipv4.tcp_fin_timeout: how long an orphaned
// FIN_WAIT2 waits for its peer's FIN (Linux's default 60 s).
func (in *Net) SetTCPFinTimeout(d time.Duration) {
	if d > 0 {
		in.tcp.finTimeout = d
	}
}

// SetTCPSynRetries sets net.ipv4.tcp_syn_retries and
// tcp_syn_linear_timeouts (Linux's 6 and 4): a connect sends its SYN
// again after 1 s linear timeouts, then backs off exponentially, and gives
// up after retries+linear retransmissions. Negative keeps a value.
func (in *Net) SetTCPSynRetries(retries, linear int) {
	if retries >= 0 {
		in.tcp.synRetries = retries
	}
	if linear >= 0 {
		in.tcp.synLinearTimeouts = linear
	}
}

func (t *tcpNet) randomN(n int) int {
	t.randMu.Lock()
	defer t.randMu.Unlock()
	return t.rng.IntN(n)
}

// secureSeq is secure_tcp_seq (RFC 6528 §3): ISN = M + F(4-tuple, secret),
// M a 4 µs clock, F a keyed hash, so sequence spaces of successive
// incarnations of a 4-tuple advance and outsiders cannot guess them.
//
// The addresses go in at their own length (putAddr), so one function
// serves secure_tcp_seq's IPv4 tuples and secure_tcpv6_seq's IPv6 ones.
func (t *tcpNet) secureSeq(k tcpHashKey, now time.Duration) uint32 {
	var b [32 + 2*16 + 4]byte
	copy(b[:], t.isnKey[:])
	n := 32
	n += putAddr(b[n:], k.laddr)
	n += putAddr(b[n:], k.raddr)
	binary.BigEndian.PutUint16(b[n:], k.lport)
	binary.BigEndian.PutUint16(b[n+2:], k.rport)
	h := sha256.Sum256(b[:n+4])
	return binary.BigEndian.Uint32(h[:]) + uint32(now/(4*time.Microsecond))
}

// putAddr writes a into b as the hashes take it: 4 bytes for IPv4, 16 for
// IPv6, and returns how many. An invalid address writes nothing.
func putAddr(b []byte, a netip.Addr) int {
	if a.Is4() {
		x := a.As4()
		return copy(b, x[:])
	}
	if a.Is6() {
		x := a.As16()
		return copy(b, x[:])
	}
	return 0
}

// secureTSOff is secure_tcp_ts_off: the timestamp offset of a connection,
// a keyed hash of the two addresses (RFC 7323 §5.4), so that successive
// connections between two hosts keep their timestamps increasing, which
// lets a new SYN pass PAWS against a TIME_WAIT entry.
func (t *tcpNet) secureTSOff(laddr, raddr netip.Addr) uint32 {
	var b [32 + 3 + 2*16]byte
	copy(b[:], t.isnKey[:])
	copy(b[32:], "tso")
	n := 35
	n += putAddr(b[n:], laddr)
	n += putAddr(b[n:], raddr)
	h := sha256.Sum256(b[:n])
	return binary.BigEndian.Uint32(h[:])
}

// ipv4Specific is ipv4_specific: the IPv4 answers to what the TCP core asks
// of its family (inet_connection_sock_af_ops).
var ipv4Specific = inetConnectionSockAfOps{
	queueXmit: func(tp *tcpSock, skb *netdev.SkBuff) error {
		return tp.in.ipQueueXmit(&tp.InetSock, skb)
	},
	queueXmitName:     "ip_queue_xmit",
	sendCheck:         tcpV4SendCheck,
	connRequest:       tcpV4ConnRequest,
	synRecvSock:       tcpV4SynRecvSock,
	cookieInitSeq:     (*tcpNet).cookieV4InitSequence,
	cookieInitSeqName: "cookie_v4_init_sequence",
	mtuReduced:        (*tcpSock).v4MtuReduced,
	netHeaderLen:      header.IPv4MinLen,
	addr2sockaddr:     inetCskAddr2sockaddr,
	dstMTU:            ipv4Mtu,
	gsoFeatures:       netdev.NETIF_F_GSO | netdev.NETIF_F_TSO,
	sendReset:         (*Net).tcpV4SendReset,
	sendAck:           (*Net).tcpV4SendAck,
}

// newTCPProt builds this namespace's tcp_prot; the proto's functions close
// over nothing but reach the namespace through the sock.
func newTCPProt() *socket.Proto {
	return newTCPProtFamily("TCP", tcpV4InitSock, tcpV4Connect)
}

// newTCPProtFamily is tcp_prot or tcpv6_prot: one TCP, with the family's
// init (which sets the sock's afOps) and connect.
func newTCPProtFamily(name string, init func(socket.Sk) error, connect func(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error) *socket.Proto {
	return &socket.Proto{
		Name:           name,
		SendmsgName:    "tcp_sendmsg",
		RecvmsgName:    "tcp_recvmsg",
		CloseName:      "tcp_close",
		ShutdownName:   "tcp_shutdown",
		DisconnectName: "tcp_disconnect",
		NoAutobind:     true,
		Alloc:          func() socket.Sk { return new(tcpSock) },
		Init:           init,
		Close:          tcpClose,
		Connect:        connect,
		Disconnect:     tcpDisconnect,
		Accept:         inetCskAccept,
		Destroy:        func(s socket.Sk) { tcpSk(s).destroySock() },
		Shutdown:       tcpShutdown,
		Setsockopt:     tcpSetsockopt,
		Getsockopt:     tcpGetsockopt,
		Keepalive:      tcpSetKeepalive,
		Sendmsg:        tcpSendmsg,
		Recvmsg:        tcpRecvmsg,
		GetPort:        inetCskGetPort,
		Unhash:         func(s socket.Sk) { tcpSk(s).unhash() },
		Diag:           tcpDiag,
	}
}

// tcpV4InitSock is tcp_v4_init_sock: tcp_init_sock, and IPv4 under it.
func tcpV4InitSock(s socket.Sk) error {
	tcpSk(s).afOps = &ipv4Specific
	return tcpInitSock(s)
}

// tcpV4SendCheck is tcp_v4_send_check: the checksum of the segment in skb
// (its data starts at the TCP header) with the IPv4 pseudo-header (RFC 9293
// §3.1). A TSO/GSO skb's is left partial (CHECKSUM_PARTIAL): the field holds
// the folded pseudo-header sum over the whole length, which the device or
// the segmenter completes per segment (tcp_gso_segment).
func tcpV4SendCheck(tp *tcpSock, skb *netdev.SkBuff) {
	sum := header.PseudoHeaderSum(tp.Saddr.As4(), tp.Daddr.As4(), IPPROTO_TCP, skb.Len())
	h := header.Tcphdr(skb.Data())
	if skb.IPSummed == netdev.CHECKSUM_PARTIAL {
		h.SetCheck(^header.Fold(sum))
		return
	}
	h.SetCheck(header.Fold(header.Checksum(skb.Data(), sum)))
}

// ipv4Mtu is dst_mtu for a TCP sock's IPv4 route (ipv4_mtu): the device's
// MTU, or the path MTU an ICMP "fragmentation needed" has lowered it to
// for the peer. The sock has a route (tp.rt != nil).
func ipv4Mtu(tp *tcpSock) int {
	return tp.in.dstMTU(tp.rtable(), tp.Daddr)
}

// inetCskAddr2sockaddr is inet_csk_addr2sockaddr: the peer as a
// sockaddr_in holds it (0.0.0.0 before there is one).
func inetCskAddr2sockaddr(tp *tcpSock) netip.AddrPort {
	return netip.AddrPortFrom(addrOr0(tp.Daddr), tp.Dport)
}

// tcpV4RcvOps is what tcp_v4_rcv gives the shared receive path.
var tcpV4RcvOps = tcpRcvOps{
	name: "tcp_v4_rcv",
	cookieCheck: func(lp *tcpSock, skb *netdev.SkBuff, seg tcpSegment) (*tcpSock, bool) {
		return lp.cookieV4Check(ipHdr(skb), &seg)
	},
	sendReset: (*Net).tcpV4SendReset,
}

// tcpV4Rcv is tcp_v4_rcv: validate, checksum (RFC 9293 §3.1 with the
// IPv4 pseudo-header), then the receive path both families share (tcpRcv),
// keyed by the IPv4 4-tuple. It owns skb.
func (in *Net) tcpV4Rcv(skb *netdev.SkBuff) {
	in.mib.Tcp.InSegs.Add(1)
	iph := ipHdr(skb)
	b := skb.Data()
	th, ok := header.ParseTcphdr(b)
	if !ok {
		in.mib.Tcp.InErrs.Add(1)
		skb.Free()
		return
	}
	// tcp_checksum_complete: skipped where the device vouched for it.
	if !skb.CsumUnnecessary() &&
		header.Fold(header.Checksum(b, header.PseudoHeaderSum(iph.Saddr(), iph.Daddr(), IPPROTO_TCP, len(b)))) != 0 {
		in.mib.Tcp.InCsumErrors.Add(1)
		in.mib.Tcp.InErrs.Add(1)
		skb.Free()
		return
	}
	var seg tcpSegment
	tcpParseSegment(skb, th, &seg)
	key := tcpHashKey{laddr: iph.Dst(), raddr: iph.Src(), lport: seg.dport, rport: seg.sport}
	in.tcpRcv(skb, key, &seg, &tcpV4RcvOps)
}

// tcpV4SendReset is tcp_v4_send_reset for a segment no sock wants: if it
// had an ACK, <SEQ=SEG.ACK><CTL=RST>; else <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
// <CTL=RST,ACK>. A RST is never answered. skb holds the segment with its
// IP header.
func (in *Net) tcpV4SendReset(skb *netdev.SkBuff, seg tcpSegment) {
	if seg.flags&tcpFlagRST != 0 {
		return
	}
	iph := ipHdr(skb)
	var seq, ack uint32
	flags := uint8(tcpFlagRST)
	if seg.flags&tcpFlagACK != 0 {
		seq = seg.ack
	} else {
		ack = seg.endSeq
		flags |= tcpFlagACK
	}
	nskb := netdev.AllocSkb(0)
	h := header.Tcphdr(nskb.Push(header.TCPMinLen))
	h.Encode(header.TCPFields{Source: seg.dport, Dest: seg.sport, Seq: seq, AckSeq: ack, Flags: flags})
	sum := header.PseudoHeaderSum(iph.Daddr(), iph.Saddr(), IPPROTO_TCP, header.TCPMinLen)
	h.SetCheck(header.Fold(header.Checksum(nskb.Data(), sum)))
	in.mib.Tcp.OutSegs.Add(1)
	in.mib.Tcp.OutRsts.Add(1)
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "tcp_v4_send_reset %v:%d seq=%d ack=%d -> ip_send_unicast_reply", iph.Src(), seg.sport, seq, ack)
	}
	in.ipSendUnicastReply(nskb, iph.Dst(), iph.Src(), IPPROTO_TCP, sysctlIPDefaultTTL, 0)
	nskb.Free()
}

// tcpV4SendAck is tcp_v4_send_ack: an ACK for a connection that has no
// full sock any more (a timewait entry), sent from the namespace's control
// sock through ip_send_unicast_reply, with the timestamp option when ts.
func (in *Net) tcpV4SendAck(k tcpHashKey, seq, ack uint32, win uint16, ts bool, tsval, tsecr uint32, ttl, tos uint8) {
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
	h := header.Tcphdr(skb.Push(header.TCPMinLen + n))
	h.Encode(header.TCPFields{Source: k.lport, Dest: k.rport, Seq: seq, AckSeq: ack, Flags: tcpFlagACK, Window: win, Options: opts[:n]})
	sum := header.PseudoHeaderSum(k.laddr.As4(), k.raddr.As4(), IPPROTO_TCP, skb.Len())
	h.SetCheck(header.Fold(header.Checksum(skb.Data(), sum)))
	in.mib.Tcp.OutSegs.Add(1)
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "tcp_v4_send_ack seq=%d ack=%d win=%d -> ip_send_unicast_reply", seq, ack, win)
	}
	in.ipSendUnicastReply(skb, k.laddr, k.raddr, IPPROTO_TCP, ttl, tos)
}

// tcpV4ConnRequest is tcp_v4_conn_request: a SYN the listener admits,
// addressed from its IP header, becomes a child (tcp_conn_request) that
// answers with tcp_v4_send_synack.
// Locking: the listener's Mu held; lets go of the child's Mu, which
// connRequest returned held, once the SYN-ACK is out.
func tcpV4ConnRequest(lp *tcpSock, skb *netdev.SkBuff, seg tcpSegment) {
	iph := ipHdr(skb)
	child := lp.connRequest(iph.Dst(), iph.Src(), &seg, (*tcpNet).cookieV4InitSequence)
	if child == nil {
		return
	}
	if lp.in.traceOn() {
		lp.in.traceSk(lp, "tcp_v4_conn_request %v:%d -> tcp_v4_send_synack", child.Daddr, child.Dport)
	}
	child.v4SendSynack()
	child.Mu.Unlock()
}

// tcpV4SynRecvSock is tcp_v4_syn_recv_sock: a child of the listener for
// the IPv4 SYN from raddr:rport to laddr, with its route (nil without
// one). It is of the listener's family, as inet_csk_clone_lock's copy:
// AF_INET, or AF_INET6 for tcp_v6_syn_recv_sock's v4-mapped children.
// Listener's Mu held.
func tcpV4SynRecvSock(lp *tcpSock, laddr, raddr netip.Addr, rport uint16) *tcpSock {
	in := lp.in
	child := socket.SkAlloc(lp.Net, lp.Family, lp.Prot).(*tcpSock)
	child.in = in
	socket.SockInitData(nil, child)
	lp.createOpenreqChild(child, rport)
	child.Saddr, child.RcvSaddr = laddr, laddr
	child.Daddr = raddr
	rt, fl4, err := in.ipRouteConnect(&child.InetSock, child.Daddr)
	if err != nil {
		child.Prot.InUse.Add(-1)
		return nil
	}
	child.skRouteSet(rt, fl4)
	return child
}

// v4SendSynack is tcp_v4_send_synack: the child's SYN-ACK, queued for
// retransmission like any SYN. The child's Mu held.
func (child *tcpSock) v4SendSynack() {
	skb := netdev.AllocSkb(0)
	skb.Cb = netdev.SkbCb{Seq: child.iss, EndSeq: child.iss + 1, TCPFlags: tcpFlagSYN}
	child.entailSkb(skb)
	child.transmitSkb(skb)
	child.eventNewDataSent(skb)
}

// tcpV4Err is tcp_v4_err: an ICMP error about a segment we sent, read
// from the quote (skb's data starts at our IP header) and handed to the
// half both families share (tcpErr).
func (in *Net) tcpV4Err(skb *netdev.SkBuff, typ, code uint8, info uint32) {
	b := skb.Data()
	if len(b) < header.IPv4MinLen {
		return
	}
	ihl := int(b[0]&0xf) * 4
	if ihl < header.IPv4MinLen || len(b) < ihl+8 {
		return
	}
	iph := header.Iphdr(b)
	th := b[ihl:]
	key := tcpHashKey{
		laddr: iph.Src(), raddr: iph.Dst(),
		lport: binary.BigEndian.Uint16(th[0:]), rport: binary.BigEndian.Uint16(th[2:]),
	}
	var e tcpIcmpErr
	if typ == header.ICMP_DEST_UNREACH && code == header.ICMP_FRAG_NEEDED {
		e.tooBig, e.mtu = true, int(info) // path MTU discovery (RFC 1191): not an error
	} else if e.errno, e.fatal = icmpErrno(typ, code); e.errno == 0 {
		return // source quench, and what tcp_v4_err does not know
	}
	e.rtoRevert = typ == header.ICMP_DEST_UNREACH && (code == header.ICMP_NET_UNREACH || code == header.ICMP_HOST_UNREACH)
	if !in.tcpErr(key, binary.BigEndian.Uint32(th[4:]), e) {
		in.mib.Icmp.InErrors.Add(1)
	}
}

// tcpIcmpErr is what an ICMP or ICMPv6 error says to TCP, as the
// family's err handler read it: a segment too big for a next hop's MTU
// (fragmentation needed, packet too big), or an errno and whether it is
// fatal to a request (icmp_err_convert, icmpv6_err_convert); rtoRevert
// marks the unreachables RFC 6069 takes as a sign of a connectivity
// disruption rather than of congestion (net or host unreachable, no
// route).
type tcpIcmpErr struct {
	tooBig    bool
	mtu       int
	errno     socket.Errno
	fatal     bool
	rtoRevert bool
}

// tcpErr is the half tcp_v4_err and tcp_v6_err share once the family has
// read the quoted segment: the sock on key (false when there is none,
// which the family counts as its ICMP InErrors), the quoted sequence
// number checked against what is in flight (RFC 5927 §4.1: a blind
// attacker must guess it), then the family's mtu_reduced for a smaller
// path MTU; during the handshake an error is fatal (the connect fails
// with its errno); on a synchronized connection it is a soft error that
// only explains a later timeout (RFC 1122 §4.2.3.9). A request sock (a
// listener's child in SYN_RECV) goes to tcp_req_err instead.
func (in *Net) tcpErr(key tcpHashKey, seq uint32, e tcpIcmpErr) bool {
	in.tcp.mu.RLock()
	tp := in.tcp.ehash[key]
	tw := in.tcp.twhash[key]
	in.tcp.mu.RUnlock()
	if tp == nil {
		return tw != nil // a timewait entry ignores ICMP
	}
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	if tp.destroyed || tp.State == TCP_CLOSE {
		return true
	}
	if tp.State == TCP_SYN_RECV && tp.parent != nil {
		tp.reqErr(seq, e.fatal && !e.tooBig)
		return true
	}
	if tp.State != TCP_LISTEN && (seqBefore(seq, tp.sndUna) || seqAfter(seq, tp.sndNxt)) {
		in.mib.Ext[LINUX_MIB_OUTOFWINDOWICMPS].Add(1)
		return true
	}
	if e.tooBig {
		if tp.State != TCP_LISTEN {
			tp.afOps.mtuReduced(tp, e.mtu)
		}
		return true
	}
	switch tp.State {
	case TCP_SYN_SENT, TCP_SYN_RECV:
		tp.Err = e.errno
		tp.ErrorReport(&tp.Sock)
		tp.tcpDone()
	case TCP_LISTEN:
	default:
		if e.rtoRevert {
			tp.ldRTORevert(seq)
		}
		tp.ErrSoft = e.errno
	}
	return true
}

// ldRTORevert is tcp_ld_RTO_revert (RFC 6069 §3): an unreachable about
// the segment at SND.UNA, while it is being retransmitted with a
// backed-off RTO, says the path is broken, not congested: one backoff
// step is undone, and the retransmission is due when the reverted RTO
// from its last send says (at once when that has passed), so that
// the connection resumes sooner once the path is back. Mu held.
func (tp *tcpSock) ldRTORevert(seq uint32) {
	head := tp.writeQueue.Peek()
	if seq != tp.sndUna || tp.retransmits == 0 || tp.backoff == 0 || head == nil || tp.packetsOut == 0 {
		return
	}
	tp.backoff--
	rto := tcpTimeoutInit
	if tp.srtt != 0 {
		rto = tp.setRto()
	}
	tp.rto = min(rto<<min(tp.backoff, 30), tcpRtoMax) // inet_csk_rto_backoff
	if tp.in.traceOn() {
		tp.in.traceSk(tp, "tcp_ld_RTO_revert rto=%dms backoff=%d", tp.rto.Milliseconds(), tp.backoff)
	}
	if remaining := tp.rto - (tp.in.clock.Now() - time.Duration(head.Cb.When)); remaining > 0 {
		tp.resetXmitTimer(tcpTimeRetrans, remaining)
		return
	}
	tp.retransmitTimer()
}

// reqErr is tcp_req_err: an ICMP error about a request sock's SYN-ACK.
// It must quote the SYN-ACK itself (its ISN); a fatal one drops the
// request without a word (inet_csk_reqsk_queue_drop): there is no way
// to pass the error to a socket nobody has accepted, and POSIX wants no
// network errors from accept. Mu held.
func (tp *tcpSock) reqErr(seq uint32, abort bool) {
	switch {
	case seq != tp.iss:
		tp.in.mib.Ext[LINUX_MIB_OUTOFWINDOWICMPS].Add(1)
	case abort:
		tp.in.mib.Ext[LINUX_MIB_LISTENDROPS].Add(1)
		tp.tcpDone()
	}
}

// v4MtuReduced is tcp_v4_mtu_reduced: a router could not forward one of
// our segments whole and said its next hop's MTU is mtu. The route learns
// the path MTU (inet_csk_update_pmtu), then, unless the socket ignores
// it, the MSS comes down to it (mtuReducedSync). Mu held.
func (tp *tcpSock) v4MtuReduced(mtu int) {
	if (1<<tp.State)&(TCPF_LISTEN|TCPF_CLOSE) != 0 {
		return
	}
	in := tp.in
	isk := &tp.InetSock
	rt := tp.rtable()
	if rt == nil {
		var err error
		if rt, err = in.ipRouteOutput(tp.Daddr, tp.Saddr); err != nil {
			return
		}
	}
	in.ipRtUpdatePmtu(rt, tp.Daddr, mtu)
	pmtu := in.dstMTU(rt, tp.Daddr)
	// Asked for less than min_pmtu allows: remember it in case the
	// connection cannot recover.
	if mtu < pmtu && in.ipDontFragment(isk, rt, tp.Daddr) {
		tp.ErrSoft = socket.EMSGSIZE
	}
	if isk.Pmtudisc != socket.IP_PMTUDISC_DONT && ipSkAcceptPmtu(isk) {
		tp.mtuReducedSync(pmtu, "tcp_v4_mtu_reduced")
	}
}

// mtuReducedSync is the step tcp_v4_mtu_reduced and tcp_v6_mtu_reduced
// end with: when the path MTU fell below the one the MSS was made for,
// the MSS comes down to it (tcp_sync_mss) and the segments in flight
// that no longer fit are resent cut to size (tcp_simple_retransmit).
// name is the family's function, for the trace. Mu held.
func (tp *tcpSock) mtuReducedSync(pmtu int, name string) {
	if tp.pmtuCookie <= pmtu {
		return
	}
	if tp.in.traceOn() {
		tp.in.traceSk(tp, "%s mtu=%d -> tcp_sync_mss -> tcp_simple_retransmit", name, pmtu)
	}
	tp.syncMss(pmtu)
	tp.simpleRetransmit()
}

// tcpV4Connect is tcp_v4_connect (Mu held): route, choose the source
// address and port, pick the ISN, and send the SYN. inet_stream_connect
// then waits for the handshake.
func tcpV4Connect(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error {
	tp := tcpSk(s)
	in := tp.in
	rt, fl4, err := in.ipRouteConnect(&tp.InetSock, addr.Addr())
	if err != nil {
		return err
	}
	if rt.Flags&(RTCF_MULTICAST|RTCF_BROADCAST) != 0 {
		return socket.ENETUNREACH // TCP is unicast only: no SYN leaves
	}
	tp.skRouteSet(rt, fl4)
	daddr := fl4.daddr // 0.0.0.0 is this host
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

// netipAddrPort formats an address and port as the local and remote files
// show them.
func netipAddrPort(a netip.Addr, port uint16) string {
	return netip.AddrPortFrom(addrOr0(a), port).String()
}

var netipZero netip.Addr
