package inet

// Passive open (net/ipv4/inet_connection_sock.c, tcp_minisocks.c and
// tcp_v4_conn_request): listen, the SYN queue and the accept queue, and
// accept.
//
// A SYN to a listener creates the child sock at once, in SYN_RECV, hashed
// by its 4-tuple: it plays the request sock, retransmitting its SYN-ACK on
// its own timer and counted in the listener's SYN queue (synQlen), which
// with the accept queue is bounded by the backlog. The handshake's last ACK
// finds the child in the established hash; tcp_v4_rcv then moves it to the
// listener's accept queue, taking the listener's Mu only after letting go
// of the child's (locks are taken parent before child, never the other
// way).

import (
	"context"
	"net/netip"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// inetConnectionSockAfOps is struct inet_connection_sock_af_ops: what the
// TCP core needs of the network layer under it. A sock reaches it through
// its icsk_af_ops (afOps), set by the family's init_sock and handed to the
// children its listener makes, so tcp.go, tcp_input.go, tcp_output.go,
// tcp_timer.go and the timewait code never name a family: IPv4 fills it in
// as ipv4_specific (tcp_ipv4.go), a second family adds its own table.
type inetConnectionSockAfOps struct {
	// queue_xmit: hand a built segment to the network layer (ip_queue_xmit).
	queueXmit     func(tp *tcpSock, skb *netdev.SkBuff) error
	queueXmitName string
	// send_check: the checksum over the segment and the family's
	// pseudo-header (tcp_v4_send_check).
	sendCheck func(tp *tcpSock, skb *netdev.SkBuff)
	// conn_request: a SYN a listener admits (tcp_v4_conn_request).
	// Listener's Mu held. The segment goes by value here and in sendReset:
	// a pointer through a func field would move every segment to the heap.
	connRequest func(lp *tcpSock, skb *netdev.SkBuff, seg tcpSegment)
	// syn_recv_sock: the child sock of a listener for a SYN from
	// raddr:rport to laddr, routed and inheriting the listener's options
	// (tcp_v4_syn_recv_sock); nil when there is no route.
	synRecvSock func(lp *tcpSock, laddr, raddr netip.Addr, rport uint16) *tcpSock
	// cookie_init_seq: a SYN cookie for a SYN on the 4-tuple k, and the
	// MSS it encodes from the family's table (cookie_v4_init_sequence,
	// cookie_v6_init_sequence; Linux keeps it in
	// tcp_request_sock_ipv4_ops and tcp_request_sock_ipv6_ops).
	cookieInitSeq cookieInitSeqFunc
	// cookieInitSeqName names it for the trace.
	cookieInitSeqName string
	// mtu_reduced: a router said one of our segments was too big for its
	// next hop of mtu bytes (tcp_v4_mtu_reduced, tcp_v6_mtu_reduced).
	// Mu held.
	mtuReduced func(tp *tcpSock, mtu int)
	// net_header_len: the network header every segment carries, which the
	// MSS leaves room for (sizeof(struct iphdr)).
	netHeaderLen int
	// addr2sockaddr: the peer's address as the family writes it
	// (inet_csk_addr2sockaddr).
	addr2sockaddr func(tp *tcpSock) netip.AddrPort
	// dst_mtu(__sk_dst_get(sk)): the path MTU of the sock's cached route
	// to its peer (ipv4_mtu, ip6_mtu); only called when tp.rt is set.
	dstMTU func(tp *tcpSock) int
	// gsoFeatures are the device features that let this family's TCP
	// build super-segments (sk_route_caps' part: NETIF_F_TSO is TCPv4's,
	// NETIF_F_TSO6 TCPv6's; NETIF_F_GSO, software GSO, serves both).
	gsoFeatures uint64
	// The answers sent without a full sock (tcp_v4_send_reset and
	// tcp_v4_send_ack in Linux, called from the family's receive path and
	// from the timewait code): a RST to the segment in skb, and an ACK on
	// the 4-tuple k, with a timestamp option when ts.
	sendReset func(in *Net, skb *netdev.SkBuff, seg tcpSegment)
	sendAck   func(in *Net, k tcpHashKey, seq, ack uint32, win uint16, ts bool, tsval, tsecr uint32, ttl, tos uint8)
}

// cookieInitSeqFunc is cookie_init_seq: the ISN of a SYN cookie for a
// SYN on the 4-tuple k, and the MSS it encodes.
type cookieInitSeqFunc func(t *tcpNet, k tcpHashKey, seq uint32, mss uint16, now time.Duration) (uint32, uint16)

// inetCskListenStart is inet_csk_listen_start (Mu held): take a port if
// the sock has none, re-check it, and enter the listening hash.
func inetCskListenStart(s socket.Sk, backlog int) error {
	tp := tcpSk(s)
	if tp.Num == 0 {
		if err := inetCskGetPort(s, 0); err != nil {
			return err
		}
	}
	tp.Sport = tp.Num
	if err := tp.listenHash(); err != nil {
		return err
	}
	tp.acceptQ = nil
	tp.AckBacklog = 0
	tp.acceptQlen.Store(0)
	tp.maxBacklog.Store(int32(backlog))
	tp.tcpSetState(TCP_LISTEN)
	return nil
}

// synBacklog is the bound of the SYN queue and of the accept queue
// (sk_max_ack_backlog; a backlog of 0 still admits one, as Linux).
func (lp *tcpSock) synBacklog() int { return max(int(lp.maxBacklog.Load()), 1) }

// acceptqFull is sk_acceptq_is_full: more than the backlog wait.
func (lp *tcpSock) acceptqFull() bool { return lp.acceptQlen.Load() > lp.maxBacklog.Load() }

// listenRcv is tcp_rcv_state_process's LISTEN arm, RFC 9293 §3.10.7.2
// (listener's Mu held): RST ignored, ACK answered with sendReset, the RST
// of the segment's family (tcp_v4_do_rcv's or tcp_v6_do_rcv's: an IPv4
// segment on a dual-stack listener gets an IPv4 one; a SYN cookie's ACK
// never gets here: tcp_v4_rcv checks it first, syncookies.go), SYN+FIN
// discarded, a SYN goes to the listener's conn_request. skb holds the
// segment with its network header.
func (lp *tcpSock) listenRcv(skb *netdev.SkBuff, seg *tcpSegment, sendReset func(in *Net, skb *netdev.SkBuff, seg tcpSegment)) {
	switch {
	case seg.flags&tcpFlagRST != 0:
		return
	case seg.flags&tcpFlagACK != 0:
		sendReset(lp.in, skb, *seg)
		return
	case seg.flags&tcpFlagSYN == 0:
		return
	case seg.flags&tcpFlagFIN != 0:
		// SYN+FIN is no opening a peer sends: discarded, as Linux's
		// tcp_rcv_state_process does (SKB_DROP_REASON_TCP_FLAGS).
		return
	}
	lp.afOps.connRequest(lp, skb, *seg)
}

// connRequest is tcp_conn_request, for a SYN from raddr to laddr that the
// family's conn_request passes on: a SYN the listener admits makes a child
// in SYN_RECV, hashed in the established table, returned with its Mu held
// for the caller to answer with a SYN-ACK. With the SYN queue full the SYN
// is answered with a SYN cookie instead (tcp_syncookies 1; 2: always), or
// dropped (0), the cookie made by cookieInitSeq, the SYN's family's
// (tcp_request_sock_ipv4_ops' for an IPv4 SYN on a dual-stack listener
// too); with the accept queue full it is dropped and the peer retries. A SYN that ended a timewait entry (twIsn) gets no cookie and
// is not held to the SYN queue, as Linux's isn != 0. nil when no child is
// left to answer for.
// Locking: the listener's Mu held; takes the new child's Mu inside it
// (listener before child, the one order the two are nested in) and
// returns with it held.
func (lp *tcpSock) connRequest(laddr, raddr netip.Addr, seg *tcpSegment, cookieInitSeq cookieInitSeqFunc) *tcpSock {
	in := lp.in
	wantCookie := in.tcp.syncookies.Load() == 2 && seg.twIsn == 0
	if int(lp.synQlen.Load()) >= lp.synBacklog() && seg.twIsn == 0 {
		if wantCookie = lp.synFloodAction(); !wantCookie {
			lp.listenDrop()
			return nil
		}
	}
	if lp.acceptqFull() {
		in.mib.Ext[LINUX_MIB_LISTENOVERFLOWS].Add(1)
		lp.listenDrop()
		return nil
	}
	key := tcpHashKey{laddr: laddr, raddr: raddr, lport: seg.dport, rport: seg.sport}
	if wantCookie {
		lp.sendSynackCookie(seg, key, cookieInitSeq)
		return nil
	}
	iss := seg.twIsn // a SYN that ended a timewait entry continues its sequence space
	if iss == 0 {
		iss = in.tcp.secureSeq(key, in.clock.Now())
	}
	child := lp.openreqChild(key, seg.seq, iss, &seg.opts, seg.window)
	if child == nil {
		lp.listenDrop()
		return nil
	}
	child.Mu.Lock()
	if !child.hashChild(key, lp.Reuse) {
		child.destroyed = true
		child.Prot.InUse.Add(-1)
		child.Mu.Unlock()
		return nil
	}
	child.parent = lp
	child.inSynQ = true
	lp.synQlen.Add(1)
	child.tcpSetState(TCP_SYN_RECV) // inet_csk_clone_lock's inet_sk_set_state
	child.lastRcv = in.clock.Now()
	return child
}

// createOpenreqChild is tcp_create_openreq_child after sk_clone_lock: what
// a new child (made by the family's syn_recv_sock) takes of its listener.
func (lp *tcpSock) createOpenreqChild(child *tcpSock, rport uint16) {
	csk := &child.Sock
	csk.Type = lp.Type
	csk.Protocol = lp.Protocol
	child.initDefaults(lp.ca)
	child.afOps = lp.afOps
	if lp.UserLocks&socket.SOCK_RCVBUF_LOCK != 0 {
		csk.RcvBuf = lp.RcvBuf
	}
	if lp.UserLocks&socket.SOCK_SNDBUF_LOCK != 0 {
		csk.SndBuf = lp.SndBuf
	}
	csk.UserLocks = lp.UserLocks
	csk.RcvTimeo, csk.SndTimeo = lp.RcvTimeo, lp.SndTimeo
	csk.Reuse = lp.Reuse
	csk.Uid = lp.Uid
	csk.KeepOpen = lp.KeepOpen
	csk.Linger, csk.LingerTime = lp.Linger, lp.LingerTime
	child.nodelay = lp.nodelay
	child.keepaliveTime, child.keepaliveIntvl, child.keepaliveProbes = lp.keepaliveTime, lp.keepaliveIntvl, lp.keepaliveProbes
	child.userMss = lp.userMss
	child.UcTTL, child.Tos, child.Pmtudisc = lp.UcTTL, lp.Tos, lp.Pmtudisc
	child.Num, child.Sport, child.Dport = lp.Num, lp.Num, rport
	child.userBound = true // the port is the listener's; the child never frees it for reuse
}

// openreqChild is the child for the connection a SYN (or a SYN cookie's
// ACK) on the 4-tuple k asks for (the listener's Mu held): the family's
// syn_recv_sock makes it, inheriting the listener's options and routed;
// its sequence spaces and the peer's SYN options are set here. It is not
// hashed yet. nil when there is no route back.
func (lp *tcpSock) openreqChild(k tcpHashKey, irs, iss uint32, opts *header.TCPOptions, window uint16) *tcpSock {
	child := lp.afOps.synRecvSock(lp, k.laddr, k.raddr, k.rport)
	if child == nil {
		return nil
	}
	child.iss = iss
	child.connectInit()
	child.applySynOptions(opts)
	// tcp_openreq_init_rwin: the SYN-ACK's window in segments that carry
	// the options now agreed on.
	mss := child.advmss
	if child.tstampOk {
		mss -= tcpolenTSAligned
	}
	child.selectInitialWindow(mss)
	child.irs = irs
	child.rcvNxt = irs + 1
	child.rcvWup = child.rcvNxt
	child.copiedSeq = child.rcvNxt
	child.sndWnd = uint32(window) // unscaled in a SYN (RFC 7323 §2.2)
	child.maxWindow = child.sndWnd
	child.sndWl1 = irs
	child.syncMss(child.pmtuCookie)
	return child
}

// leaveSynQueue takes a child out of its listener's SYN queue count. Mu
// (the child's) held.
func (tp *tcpSock) leaveSynQueue() {
	if tp.inSynQ && tp.parent != nil {
		tp.parent.synQlen.Add(-1)
	}
	tp.inSynQ = false
}

// acceptQueueAdd is inet_csk_reqsk_queue_add: the established child joins
// the listener's accept queue and accept wakes.
// Locking: no lock held; takes the listener's Mu.
func (lp *tcpSock) acceptQueueAdd(child *tcpSock) {
	lp.Mu.Lock()
	if lp.State != TCP_LISTEN {
		lp.Mu.Unlock()
		child.abortChild()
		return
	}
	lp.acceptQ = append(lp.acceptQ, child)
	lp.AckBacklog = len(lp.acceptQ)
	lp.acceptQlen.Store(int32(len(lp.acceptQ)))
	lp.DataReady(&lp.Sock)
	lp.Mu.Unlock()
}

// abortChild resets and frees a child nobody will accept.
// Locking: no lock held; takes the child's Mu.
func (tp *tcpSock) abortChild() {
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	if tp.Socket != nil {
		return // accepted meanwhile
	}
	if (1<<tp.State)&(TCPF_ESTABLISHED|TCPF_CLOSE_WAIT|TCPF_SYN_RECV) != 0 {
		tp.sendActiveReset()
	}
	tp.SockOrphan()
	tp.leaveSynQueue()
	tp.parent = nil
	if tp.State != TCP_CLOSE {
		tp.tcpSetState(TCP_CLOSE)
	}
	tp.destroySock()
}

// listenStop is inet_csk_listen_stop (Mu held): the listener closes; the
// children waiting in its accept queue are returned for the caller to
// reset once it let go of the listener's Mu.
func (tp *tcpSock) listenStop() []*tcpSock {
	q := tp.acceptQ
	tp.acceptQ = nil
	tp.AckBacklog = 0
	tp.acceptQlen.Store(0)
	tp.tcpSetState(TCP_CLOSE)
	return q
}

// inetCskAccept is inet_csk_accept (Proto.Accept, called without Mu):
// wait for an established child and take it off the accept queue.
func inetCskAccept(ctx context.Context, s socket.Sk, flags int) (socket.Sk, error) {
	lp := tcpSk(s)
	lp.Mu.Lock()
	defer lp.Mu.Unlock()
	if lp.State != TCP_LISTEN {
		return nil, socket.EINVAL
	}
	err := lp.WaitEvent(ctx, flags&socket.O_NONBLOCK != 0, lp.RcvDeadline(), func() bool {
		return len(lp.acceptQ) > 0 || lp.State != TCP_LISTEN
	})
	if err != nil {
		return nil, err
	}
	if lp.State != TCP_LISTEN {
		return nil, socket.EINVAL
	}
	child := lp.acceptQ[0]
	lp.acceptQ[0] = nil
	lp.acceptQ = lp.acceptQ[1:]
	lp.AckBacklog = len(lp.acceptQ)
	lp.acceptQlen.Store(int32(len(lp.acceptQ)))
	if lp.in.traceOn() {
		lp.in.traceSk(lp, "inet_csk_accept -> %v:%d", child.Daddr, child.Dport)
	}
	return child, nil
}
