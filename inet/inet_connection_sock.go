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

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

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
// (listener's Mu held): RST ignored, ACK answered with RST (a SYN
// cookie's ACK never gets here: tcp_v4_rcv checks it first,
// syncookies.go), SYN+FIN discarded, a SYN goes to tcp_v4_conn_request.
func (lp *tcpSock) listenRcv(iph header.Iphdr, seg *tcpSegment) {
	in := lp.in
	switch {
	case seg.flags&tcpFlagRST != 0:
		return
	case seg.flags&tcpFlagACK != 0:
		in.tcpV4SendReset(iph, seg)
		return
	case seg.flags&tcpFlagSYN == 0:
		return
	case seg.flags&tcpFlagFIN != 0:
		// SYN+FIN is no opening a peer sends: discarded, as Linux's
		// tcp_rcv_state_process does (SKB_DROP_REASON_TCP_FLAGS).
		return
	}
	lp.v4ConnRequest(iph, seg)
}

// v4ConnRequest is tcp_v4_conn_request / tcp_conn_request: a SYN the
// listener admits makes a child in SYN_RECV, hashed in the established
// table, that answers with a SYN-ACK. With the SYN queue full the SYN is
// answered with a SYN cookie instead (tcp_syncookies 1; 2: always), or
// dropped (0); with the accept queue full it is dropped and the peer
// retries. A SYN that ended a timewait entry (twIsn) gets no cookie and
// is not held to the SYN queue, as Linux's isn != 0.
// Locking: the listener's Mu held; takes the new child's Mu inside it
// (listener before child, the one order the two are nested in).
func (lp *tcpSock) v4ConnRequest(iph header.Iphdr, seg *tcpSegment) {
	in := lp.in
	wantCookie := in.tcp.syncookies.Load() == 2 && seg.twIsn == 0
	if int(lp.synQlen.Load()) >= lp.synBacklog() && seg.twIsn == 0 {
		if wantCookie = lp.synFloodAction(); !wantCookie {
			lp.listenDrop()
			return
		}
	}
	if lp.acceptqFull() {
		in.mib.Ext[LINUX_MIB_LISTENOVERFLOWS].Add(1)
		lp.listenDrop()
		return
	}
	key := tcpHashKey{laddr: iph.Daddr(), raddr: iph.Saddr(), lport: seg.dport, rport: seg.sport}
	if wantCookie {
		lp.sendSynackCookie(iph, seg, key)
		return
	}
	iss := seg.twIsn // a SYN that ended a timewait entry continues its sequence space
	if iss == 0 {
		iss = in.tcp.secureSeq(key, in.clock.Now())
	}
	child := lp.openreqChild(iph, seg.sport, seg.seq, iss, &seg.opts, seg.window)
	if child == nil {
		lp.listenDrop()
		return
	}
	child.Mu.Lock()
	defer child.Mu.Unlock()
	if !child.hashChild(key, lp.Reuse) {
		child.destroyed = true
		child.Prot.InUse.Add(-1)
		return
	}
	child.parent = lp
	child.inSynQ = true
	lp.synQlen.Add(1)
	child.tcpSetState(TCP_SYN_RECV) // inet_csk_clone_lock's inet_sk_set_state
	child.lastRcv = in.clock.Now()
	if in.traceOn() {
		in.traceSk(lp, "tcp_v4_conn_request %v:%d -> tcp_v4_send_synack", child.Daddr, child.Dport)
	}
	child.v4SendSynack()
}

// openreqChild is tcp_create_openreq_child with inet_csk_clone_lock (the
// listener's Mu held): a sock for the connection a SYN (or a SYN cookie's
// ACK) asks for, inheriting the listener's options, routed, its sequence
// spaces and the peer's SYN options set. It is not hashed yet. nil when
// there is no route back.
func (lp *tcpSock) openreqChild(iph header.Iphdr, sport uint16, irs, iss uint32, opts *header.TCPOptions, window uint16) *tcpSock {
	in := lp.in
	child := socket.SkAlloc(lp.Net, socket.AF_INET, lp.Prot).(*tcpSock)
	child.in = in
	socket.SockInitData(nil, child)
	csk := &child.Sock
	csk.Type = lp.Type
	csk.Protocol = lp.Protocol
	child.initDefaults(lp.ca)
	// What the child inherits of the listener (sk_clone_lock,
	// tcp_create_openreq_child).
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
	child.Saddr, child.RcvSaddr = iph.Dst(), iph.Dst()
	child.Daddr = iph.Src()
	child.Num, child.Sport, child.Dport = lp.Num, lp.Num, sport
	child.userBound = true // the port is the listener's; the child never frees it for reuse
	rt, fl4, err := in.ipRouteConnect(&child.InetSock, child.Daddr)
	if err != nil {
		child.Prot.InUse.Add(-1)
		return nil
	}
	child.skRouteSet(rt, fl4)
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

// v4SendSynack is tcp_v4_send_synack: the child's SYN-ACK, queued for
// retransmission like any SYN. The child's Mu held.
func (child *tcpSock) v4SendSynack() {
	skb := netdev.AllocSkb(0)
	skb.Cb = netdev.SkbCb{Seq: child.iss, EndSeq: child.iss + 1, TCPFlags: tcpFlagSYN}
	child.entailSkb(skb)
	child.transmitSkb(skb)
	child.eventNewDataSent(skb)
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
