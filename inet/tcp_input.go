package inet

// TCP input (net/ipv4/tcp_input.c): the segment arrival rules of RFC 9293
// §3.10.7 as one switch over the state, ACK processing with the RTT
// estimator (RFC 6298), SACK scoreboard (RFC 2018, RFC 6675), fast
// retransmit and NewReno (RFC 5681, RFC 6582), the receive side with its
// out-of-order queue, PAWS (RFC 7323) and RFC 5961's blind-attack defences.

import (
	"cmp"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// tcpSegment is an incoming segment's header fields, parsed once by
// tcp_v4_rcv (TCP_SKB_CB on the way in).
type tcpSegment struct {
	sport, dport uint16
	seq, endSeq  uint32 // endSeq counts SYN and FIN
	ack          uint32
	flags        uint8
	window       uint16
	dataLen      int
	opts         header.TCPOptions
	twIsn        uint32 // tcp_tw_isn: the ISN for a SYN that ended a timewait entry
}

// Congestion-avoidance states (enum tcp_ca_state).
const (
	tcpCAOpen uint8 = iota
	tcpCADisorder
	tcpCACWR
	tcpCARecovery
	tcpCALoss
)

var tcpCAStateNames = [...]string{"Open", "Disorder", "CWR", "Recovery", "Loss"}

// setCaState is tcp_set_ca_state: the sender's congestion state moves
// (Open, Disorder, Recovery, Loss), traced with the window it moves with.
func (tp *tcpSock) setCaState(state uint8) {
	if tp.caState != state && tp.in.traceOn() {
		tp.in.traceSk(tp, "tcp_set_ca_state %s -> %s cwnd=%d ssthresh=%d",
			tcpCAStateNames[tp.caState], tcpCAStateNames[state], tp.sndCwnd, tp.sndSsthresh)
	}
	tp.caState = state
}

// tcpDupThresh is RFC 5681's and RFC 6675's DupThresh.
const tcpDupThresh = 3

// rcvStateProcess is tcp_rcv_state_process for every state but LISTEN and
// TIME_WAIT (tcp_v4_rcv sends those elsewhere): RFC 9293 §3.10.7.3 for
// SYN-SENT and §3.10.7.4 for the rest, checked in the RFC's order. skb's
// data is the segment's payload. It reports whether skb was queued (the
// caller frees it otherwise). Mu held.
func (tp *tcpSock) rcvStateProcess(skb *netdev.SkBuff, seg *tcpSegment) bool {
	if tp.State == TCP_SYN_SENT {
		return tp.rcvSynSentStateProcess(seg)
	}
	if !tp.validateIncoming(seg) {
		return false
	}
	// Fifth: a segment without ACK is dropped.
	if seg.flags&tcpFlagACK == 0 {
		return false
	}
	if tp.State == TCP_SYN_RECV {
		// SYN-RECEIVED: an acceptable ACK (SND.UNA < SEG.ACK =< SND.NXT)
		// completes the handshake; any other gets a RST.
		if !seqAfter(seg.ack, tp.sndUna) || seqAfter(seg.ack, tp.sndNxt) {
			tp.sendResetSeq(seg.ack)
			return false
		}
		if tp.parent != nil && tp.parent.acceptqFull() {
			// Listen overflow (tcp_abort_on_overflow=0): drop the ACK;
			// the SYN-ACK's retransmission will draw another.
			tp.in.mib.Ext[LINUX_MIB_LISTENOVERFLOWS].Add(1)
			tp.parent.listenDrop()
			return false
		}
		tp.sndWnd = uint32(seg.window) << tp.sndWscale
		tp.maxWindow = max(tp.maxWindow, tp.sndWnd)
		tp.sndWl1 = seg.seq
		tp.finishConnect()
		if tp.parent != nil {
			tp.in.mib.Tcp.PassiveOpens.Add(1)
		}
	}
	if !tp.tcpAck(seg) {
		return false
	}
	switch tp.State {
	case TCP_FIN_WAIT1:
		// FIN-WAIT-1: our FIN acked: FIN-WAIT-2.
		if tp.finAcked() {
			tp.tcpSetState(TCP_FIN_WAIT2)
			tp.Shutdown |= socket.SEND_SHUTDOWN
			if !tp.Dead {
				tp.StateChange(&tp.Sock) // wake a lingering close
				break
			}
			if seg.dataLen > 0 && seqAfter(seg.endSeq-uint32(seg.flags&tcpFlagFIN), tp.rcvNxt) {
				// Data after close(): nobody will read it (RFC 2525
				// §2.17).
				tp.sendActiveReset()
				tp.tcpDone()
				return false
			}
			// An orphan waits tcp_fin_timeout for the peer's FIN, in a
			// timewait entry unless that is longer than TIME_WAIT itself
			// or the FIN is right here.
			tmo := tp.finTime()
			switch twLen := tp.in.tcp.timeWaitLen; {
			case tmo > twLen:
				tp.resetSkTimer(tmo - twLen)
			case seg.flags&tcpFlagFIN != 0:
				tp.resetSkTimer(tmo)
			default:
				tp.tcpTimeWait(TCP_FIN_WAIT2, tmo)
				return false
			}
		}
	case TCP_CLOSING:
		// CLOSING: our FIN acked: TIME-WAIT.
		if tp.finAcked() {
			tp.tcpTimeWait(TCP_TIME_WAIT, 0)
			return false
		}
	case TCP_LAST_ACK:
		// LAST-ACK: our FIN acked: the connection is over.
		if tp.finAcked() {
			tp.tcpDone()
			return false
		}
	}

	// Sixth (URG) is not supported (RFC 6093 deprecates it). Seventh: text.
	consumed := false
	switch tp.State {
	case TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK:
		// The peer's FIN came already; anything after it is ignored. A
		// retransmission of what came before it (our ACK of the FIN was
		// lost) still draws the duplicate ACK that tcp_data_queue sends,
		// as Linux's fallthrough does, or the peer would resend forever.
		if seqBefore(seg.seq, tp.rcvNxt) {
			consumed = tp.dataQueue(skb, seg)
		}
	case TCP_FIN_WAIT1, TCP_FIN_WAIT2:
		// The user closed the receive side: new data cannot be delivered,
		// so the peer is reset (Linux, RFC 2525 §2.17).
		if tp.Shutdown&socket.RCV_SHUTDOWN != 0 && seg.dataLen > 0 &&
			seqAfter(seg.endSeq-uint32(seg.flags&tcpFlagFIN), tp.rcvNxt) {
			tp.sendActiveReset()
			tp.Err = socket.ECONNRESET
			tp.tcpDone()
			return false
		}
		consumed = tp.dataQueue(skb, seg)
	case TCP_ESTABLISHED:
		consumed = tp.dataQueue(skb, seg)
	}
	// tcp_data_snd_check and tcp_ack_snd_check.
	if tp.State != TCP_CLOSE && tp.State != TCP_TIME_WAIT {
		tp.writeXmit(false)
		tp.ackSndCheck()
	}
	return consumed
}

// validateIncoming is tcp_validate_incoming: the checks RFC 9293
// §3.10.7.4 makes first in every synchronized state (PAWS, the sequence
// window, RST, SYN), with RFC 5961's challenge ACKs. It reports whether the
// segment goes on. Mu held.
func (tp *tcpSock) validateIncoming(seg *tcpSegment) bool {
	now := tp.in.clock.Now()
	tp.lastRcv = now

	// PAWS (RFC 7323 §5.3): a timestamp older than TS.Recent marks an old
	// duplicate; it is acked and dropped. A TS.Recent idle for 24 days is
	// stale and no longer protects (§5.5).
	if tp.tstampOk && seg.opts.HasTS && seg.flags&tcpFlagRST == 0 &&
		seqBefore(seg.opts.TSVal, tp.tsRecent) && now-tp.tsRecentStamp < 24*24*time.Hour {
		tp.in.mib.Ext[LINUX_MIB_PAWSESTABREJECTED].Add(1)
		if !tp.tcpOowRateLimited(seg, tp.oowMib(&tp.in.oowMib.TCPACKSkippedPAWS)) {
			tp.sendAck()
		}
		return false
	}
	// First: the sequence number must fall in the window (tcp_sequence).
	// Outside it a SYN is challenged (RFC 5961 §4.2), anything else but a
	// RST gets a duplicate ACK; both rate-limited (tcp_oow.go).
	if !tp.sequenceOK(seg) {
		switch {
		case seg.flags&tcpFlagRST != 0:
		case seg.flags&tcpFlagSYN != 0 && tp.State != TCP_SYN_RECV:
			tp.in.oowMib.TCPSYNChallenge.Add(1)
			tp.sendChallengeAck()
		case !tp.tcpOowRateLimited(seg, tp.oowMib(&tp.in.oowMib.TCPACKSkippedSeq)):
			tp.sendAck()
		}
		return false
	}
	// Second: RST. RFC 5961 §3.2: only an exact match of RCV.NXT resets;
	// elsewhere in the window it draws a challenge ACK.
	if seg.flags&tcpFlagRST != 0 {
		if seg.seq == tp.rcvNxt {
			tp.tcpReset()
		} else {
			tp.sendChallengeAck()
		}
		return false
	}
	// RFC 7323 §4.3: remember the timestamp of a segment that covers
	// Last.ACK.sent.
	if tp.tstampOk && seg.opts.HasTS && !seqAfter(seg.seq, tp.rcvWup) {
		tp.tsRecent = seg.opts.TSVal
		tp.tsRecentStamp = now
	}
	// Fourth: SYN in a synchronized state. RFC 5961 §4.2: challenge ACK
	// rather than reset. A retransmitted SYN in SYN-RECEIVED means our
	// SYN-ACK was lost: send it again.
	simOpenAck := tp.State == TCP_SYN_RECV && tp.parent == nil && seg.flags&tcpFlagACK != 0 &&
		seg.seq+1 == tp.rcvNxt && seg.ack == tp.sndNxt
	if seg.flags&tcpFlagSYN != 0 && !simOpenAck {
		// (A SYN-ACK in SYN-RECEIVED after a simultaneous open is the
		// peer's answer to our SYN-ACK: it passes as an ACK, as Linux.)
		if tp.State == TCP_SYN_RECV && seg.seq == tp.irs {
			// tcp_check_req: the SYN-ACK again, at most once per
			// tcp_invalid_ratelimit.
			if head := tp.writeQueue.Peek(); head != nil && head.Cb.TCPFlags&tcpFlagSYN != 0 &&
				!tp.tcpOowRateLimited(seg, &tp.in.oowMib.TCPACKSkippedSynRecv) {
				tp.retransmitSkb(head, 1)
			}
			return false
		}
		tp.in.oowMib.TCPSYNChallenge.Add(1)
		tp.sendChallengeAck()
		return false
	}
	return true
}

// rcvEstablished is tcp_rcv_established: a segment for an ESTABLISHED
// connection (tcp_v4_do_rcv sends the other states to
// tcp_rcv_state_process). After the same validation, its ACK and then its
// data, with none of the state changes an ACK makes elsewhere; a FIN moves
// it to CLOSE_WAIT (tcp_fin). It reports whether skb was queued. Mu held.
func (tp *tcpSock) rcvEstablished(skb *netdev.SkBuff, seg *tcpSegment) bool {
	if !tp.validateIncoming(seg) {
		return false
	}
	if seg.flags&tcpFlagACK == 0 {
		return false
	}
	if !tp.tcpAck(seg) {
		return false
	}
	consumed := tp.dataQueue(skb, seg)
	// tcp_data_snd_check and tcp_ack_snd_check.
	if tp.State != TCP_CLOSE && tp.State != TCP_TIME_WAIT {
		tp.writeXmit(false)
		tp.ackSndCheck()
	}
	return consumed
}

// sequenceOK is tcp_sequence: RFC 9293 §3.10.7.4's acceptability test,
// with the left edge at the last announced RCV.NXT as Linux.
func (tp *tcpSock) sequenceOK(seg *tcpSegment) bool {
	return !seqBefore(seg.endSeq, tp.rcvWup) && !seqAfter(seg.seq, tp.rcvNxt+tp.receiveWindow())
}

// rcvSynSentStateProcess is tcp_rcv_synsent_state_process (RFC 9293
// §3.10.7.3).
func (tp *tcpSock) rcvSynSentStateProcess(seg *tcpSegment) bool {
	if seg.flags&tcpFlagACK != 0 {
		// First: an ACK of something we never sent gets a RST.
		if !seqAfter(seg.ack, tp.iss) || seqAfter(seg.ack, tp.sndNxt) {
			if seg.flags&tcpFlagRST == 0 {
				tp.sendResetSeq(seg.ack)
			}
			return false
		}
	}
	// Second: RST with an acceptable ACK: connection refused.
	if seg.flags&tcpFlagRST != 0 {
		if seg.flags&tcpFlagACK != 0 {
			tp.tcpReset()
		}
		return false
	}
	// Fourth: SYN.
	if seg.flags&tcpFlagSYN == 0 {
		return false
	}
	tp.lastRcv = tp.in.clock.Now()
	tp.irs = seg.seq
	tp.rcvNxt = seg.seq + 1
	tp.rcvWup = tp.rcvNxt
	tp.copiedSeq = tp.rcvNxt
	tp.applySynOptions(&seg.opts)
	// RFC 7323 §2.2: the window in a SYN is not scaled.
	tp.sndWnd = uint32(seg.window)
	tp.maxWindow = tp.sndWnd
	tp.sndWl1 = seg.seq
	tp.syncMss(tp.pmtuCookie)
	if seg.flags&tcpFlagACK != 0 {
		// SYN-ACK: our SYN is acked; ESTABLISHED.
		tp.cleanRtxQueue(seg.ack, seg)
		tp.sndUna = seg.ack
		if tp.packetsOut == 0 {
			tp.clearRtxTimer()
		}
		tp.finishConnect()
		tp.sendAck()
		tp.writeXmit(false)
		return false
	}
	// A SYN alone: simultaneous open (RFC 9293 §3.5, figure 7). Our SYN
	// goes again as a SYN-ACK.
	tp.tcpSetState(TCP_SYN_RECV)
	if head := tp.writeQueue.Peek(); head != nil {
		tp.transmitSkb(head)
	}
	return false
}

// applySynOptions takes the peer's SYN options: MSS (RFC 9293 §3.7.1,
// 536 when absent), and the options both sides offered (RFC 7323, RFC 2018).
func (tp *tcpSock) applySynOptions(o *header.TCPOptions) {
	tp.mssClamp = tcpMssDefault
	if o.MSS != 0 {
		tp.mssClamp = int(o.MSS)
	}
	if tp.userMss > 0 {
		tp.mssClamp = min(tp.mssClamp, tp.userMss)
	}
	tp.wscaleOk = tp.wscaleOk && o.WScale >= 0
	if tp.wscaleOk {
		tp.sndWscale = uint8(o.WScale)
	} else {
		tp.sndWscale, tp.rcvWscale = 0, 0
	}
	tp.sackOk = tp.sackOk && o.SackPerm
	tp.tstampOk = tp.tstampOk && o.HasTS
	if tp.tstampOk {
		tp.tsRecent = o.TSVal
		tp.tsRecentStamp = tp.in.clock.Now()
	}
}

// finishConnect is tcp_finish_connect / the SYN-RECEIVED → ESTABLISHED
// step: the connection is up.
func (tp *tcpSock) finishConnect() {
	tp.tcpSetState(TCP_ESTABLISHED)
	tp.quickAcks = tcpMaxQuickacks
	tp.rcvq.seq = tp.copiedSeq
	tp.rcvq.time = tp.in.clock.Now()
	if tp.KeepOpen {
		tp.resetSkTimer(tp.keepaliveTime)
	}
	if tp.parent != nil {
		tp.pendingAccept = true
	}
	tp.StateChange(&tp.Sock)
}

// finAcked reports that everything we queued, FIN included, is acked.
func (tp *tcpSock) finAcked() bool { return tp.sndUna == tp.writeSeq && tp.sendHead == nil }

// tcpReset is tcp_reset: the peer reset the connection.
func (tp *tcpSock) tcpReset() {
	switch tp.State {
	case TCP_SYN_SENT:
		tp.Err = socket.ECONNREFUSED
	case TCP_CLOSE_WAIT:
		tp.Err = socket.EPIPE
	case TCP_CLOSE:
		return
	default:
		tp.Err = socket.ECONNRESET
	}
	tp.purgeWriteQueue()
	if !tp.Dead {
		tp.ErrorReport(&tp.Sock)
	}
	tp.tcpDone()
}

// sendChallengeAck is tcp_send_challenge_ack (RFC 5961 §3.2, §4.2, §5.2),
// limited per socket as §7 asks (__tcp_oow_rate_limited, whatever the
// segment carries); Linux's namespace-wide limit is off by default.
func (tp *tcpSock) sendChallengeAck() {
	if tp.lastOowAck.rateLimited(tp.in.clock.Now(), &tp.in.oowMib.TCPACKSkippedChallenge) {
		return
	}
	tp.in.oowMib.TCPChallengeACK.Add(1)
	tp.sendAck()
}

// sendResetSeq answers an unacceptable segment of a connection with
// <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.3, §3.10.7.4).
func (tp *tcpSock) sendResetSeq(seq uint32) {
	skb := netdev.AllocSkb(0)
	skb.Cb = netdev.SkbCb{Seq: seq, EndSeq: seq, TCPFlags: tcpFlagRST}
	tp.transmitSkb(skb)
	skb.Free()
	tp.in.mib.Tcp.OutRsts.Add(1)
}

// tcpAck is tcp_ack: process the acknowledgment field. It returns false
// when the segment must be dropped (RFC 9293 §3.10.7.4 fifth). Mu held.
func (tp *tcpSock) tcpAck(seg *tcpSegment) bool {
	ack := seg.ack
	priorUna := tp.sndUna
	if seqBefore(ack, priorUna) {
		// RFC 5961 §5.2: an ACK older than the peer could have seen is
		// suspicious; challenge it. Otherwise an old duplicate: ignore.
		if seqBefore(ack, priorUna-tp.maxWindow) {
			tp.sendChallengeAck()
			return false
		}
		return true
	}
	if seqAfter(ack, tp.sndNxt) {
		// Acks data never sent: ACK and drop (§3.10.7.4, RFC 5961 §5.2).
		tp.sendChallengeAck()
		return false
	}
	now := tp.in.clock.Now()
	priorInFlight := tp.packetsInFlight()

	// Window update (§3.10.7.4 fifth): from a segment no older than the
	// last update (SND.WL1 =< SEG.SEQ), whose ACK is not old (SND.WL2 =<
	// SEG.ACK, which holds once SEG.ACK >= SND.UNA).
	nwin := uint32(seg.window) << tp.sndWscale
	winChanged := false
	if seqAfter(ack, priorUna) || !seqBefore(seg.seq, tp.sndWl1) {
		winChanged = nwin != tp.sndWnd
		tp.sndWnd = nwin
		tp.sndWl1 = seg.seq
		if nwin > tp.maxWindow {
			tp.maxWindow = nwin
			tp.sndbufExpand()
		}
	}
	tp.probesOut = 0
	tp.lastAck = now

	newSack := false
	if tp.sackOk && seg.opts.NumSACK > 0 {
		newSack = tp.sackUpdate(&seg.opts)
	}
	isDup := ack == priorUna && seg.dataLen == 0 && seg.flags&(tcpFlagSYN|tcpFlagFIN) == 0 &&
		!winChanged && tp.packetsOut > 0

	var acked uint32
	if seqAfter(ack, priorUna) {
		acked = tp.cleanRtxQueue(ack, seg)
		tp.sndUna = ack
		tp.retransmits = 0
		tp.backoff = 0
	}
	tp.fastretransAlert(ack, acked, priorInFlight, isDup, newSack)

	// RFC 6298 §5.2–5.3: stop the timer when all is acked, restart it
	// when new data is acked.
	if tp.packetsOut == 0 {
		if tp.rtxPending == tcpTimeRetrans {
			tp.clearRtxTimer()
		}
	} else if acked > 0 {
		tp.resetXmitTimer(tcpTimeRetrans, tp.rto)
	}
	if tp.rtxPending == tcpTimeProbe0 && tp.sendHead != nil &&
		!seqAfter(tp.sendHead.Cb.EndSeq, tp.sndUna+tp.sndWnd) {
		tp.clearRtxTimer() // tcp_ack_probe: the window opened
	}
	if acked > 0 && tp.Socket != nil && tp.streamWriteable() {
		tp.WriteSpace(&tp.Sock) // sk_stream_write_space
	}
	return true
}

// cleanRtxQueue is tcp_clean_rtx_queue: free what ack covers, take an RTT
// sample from a segment never retransmitted (Karn's rule, RFC 6298 §3), or
// from the echoed timestamp (RFC 7323 §4.1). It returns how many segments
// left the network.
func (tp *tcpSock) cleanRtxQueue(ack uint32, seg *tcpSegment) uint32 {
	now := tp.in.clock.Now()
	var pkts uint32
	var rtt time.Duration = -1
	retransAcked := false
	q := &tp.writeQueue
	for skb := q.Peek(); skb != nil && skb != tp.sendHead; skb = q.Peek() {
		cb := &skb.Cb
		if seqAfter(cb.EndSeq, ack) {
			// Partly acked: drop the acked bytes (tcp_trim_head); the
			// MSS units of a super-segment they covered have left the
			// network (tcp_tso_acked).
			if seqAfter(ack, cb.Seq) && skb.Len() > 0 {
				n := min(int(ack-cb.Seq), skb.Len())
				skb.Pull(n)
				q.Adjust(-n)
				cb.Seq += uint32(n)
				tp.WmemQueued -= n
				old := cb.GsoSegs
				cb.GsoSegs = pcountOf(skb.Len(), tp.mssCache)
				if d := int(old) - int(cb.GsoSegs); d > 0 {
					tp.adjustPcount(skb, d)
					pkts += uint32(d)
					if cb.Sacked&tcpcbEverRetrans == 0 && rtt < 0 {
						rtt = now - time.Duration(cb.When)
					}
				}
			}
			break
		}
		s := cb.Sacked
		if s&tcpcbEverRetrans != 0 {
			retransAcked = true
		} else if s&tcpcbSackedAcked == 0 && rtt < 0 {
			rtt = now - time.Duration(cb.When)
		}
		pc := skbPcount(skb)
		tp.adjustPcount(skb, int(pc))
		pkts += pc
		tp.WmemQueued -= skb.Len()
		q.Unlink(skb)
		skb.Free()
	}
	if retransAcked {
		rtt = -1 // Karn: the ACK may be for either transmission
	}
	if rtt < 0 && pkts > 0 && tp.tstampOk && seg.opts.HasTS && seg.opts.TSEcr != 0 {
		rtt = time.Duration(tp.tsVal()-seg.opts.TSEcr) * time.Millisecond
	}
	if rtt >= 0 {
		tp.rttEstimator(rtt)
	}
	if !tp.sackOk && pkts > 0 {
		// tcp_remove_reno_sacks: the first acked segment was the hole;
		// the rest had been counted as duplicate ACKs.
		tp.sackedOut -= min(pkts-1, tp.sackedOut)
	}
	return pkts
}

// rttEstimator is tcp_rtt_estimator and tcp_set_rto (RFC 6298 §2): SRTT
// and RTTVAR with gains 1/8 and 1/4, RTO = SRTT + max(4·RTTVAR, rto_min),
// the floor Linux uses in place of §2.4's one second, capped at 120 s.
func (tp *tcpSock) rttEstimator(r time.Duration) {
	r = max(r, time.Microsecond)
	if tp.srtt == 0 {
		tp.srtt = r
		tp.rttvar = r / 2
	} else {
		d := tp.srtt - r
		if d < 0 {
			d = -d
		}
		tp.rttvar = tp.rttvar - tp.rttvar/4 + d/4
		tp.srtt = tp.srtt - tp.srtt/8 + r/8
	}
	tp.rto = tp.setRto()
}

// setRto is __tcp_set_rto: the RTO the estimates give, before backoff.
func (tp *tcpSock) setRto() time.Duration {
	return min(tp.srtt+max(4*tp.rttvar, tp.in.tcp.rtoMin), tcpRtoMax)
}

// sackUpdate is tcp_sacktag_write_queue: mark the skbs each SACK block
// covers. It reports whether anything new was SACKed.
func (tp *tcpSock) sackUpdate(o *header.TCPOptions) bool {
	q := &tp.writeQueue
	last := q.PeekTail()
	if tp.sendHead != nil {
		last = q.Prev(tp.sendHead)
	}
	found := false
	var sackRtt time.Duration = -1
	defer func() {
		if sackRtt >= 0 {
			tp.rttEstimator(sackRtt)
		}
	}()
	for i := 0; i < o.NumSACK; i++ {
		start, end := o.SACKBlocks[i][0], o.SACKBlocks[i][1]
		// Blocks outside [SND.UNA, SND.NXT] are D-SACKs or bogus.
		if !seqAfter(end, start) || seqAfter(end, tp.sndNxt) || !seqAfter(end, tp.sndUna) {
			continue
		}
		for skb := last; skb != nil; skb = q.Prev(skb) {
			cb := &skb.Cb
			if !seqAfter(cb.EndSeq, start) {
				break
			}
			if cb.Sacked&tcpcbSackedAcked != 0 {
				continue
			}
			if cb.GsoSegs > 1 {
				// tcp_match_skb_to_sack: a block covering part of a
				// super-segment marks just the whole MSS units in it.
				skb = tp.sackSplit(skb, start, end)
				cb = &skb.Cb
			}
			if seqBefore(cb.Seq, start) || seqAfter(cb.EndSeq, end) {
				continue
			}
			pc := skbPcount(skb)
			if cb.Sacked&tcpcbLost != 0 {
				tp.lostOut -= pc
			}
			if cb.Sacked&tcpcbSackedRetrans != 0 {
				tp.retransOut -= pc
			}
			if cb.Sacked&tcpcbEverRetrans == 0 {
				// tcp_sacktag_one's RTT: this segment's first
				// transmission just arrived.
				if r := tp.in.clock.Now() - time.Duration(cb.When); sackRtt < 0 || r < sackRtt {
					sackRtt = r
				}
			}
			cb.Sacked = cb.Sacked&^(tcpcbLost|tcpcbSackedRetrans) | tcpcbSackedAcked
			tp.sackedOut += pc
			if seqAfter(cb.EndSeq, tp.highestSack) {
				tp.highestSack = cb.EndSeq
			}
			found = true
		}
	}
	return found
}

// markLost marks skb lost (tcp_skb_mark_lost).
func (tp *tcpSock) markLost(skb *netdev.SkBuff) {
	if skb.Cb.Sacked&(tcpcbLost|tcpcbSackedAcked) == 0 {
		skb.Cb.Sacked |= tcpcbLost
		tp.lostOut += skbPcount(skb)
	}
}

// sackSplit cuts a super-segment that a SACK block [start, end) covers only
// in part at MSS boundaries (tcp_match_skb_to_sack: the first whole MSS at
// or after start, the last whole MSS before end), returning the piece that
// may lie inside the block; the caller checks it. Walking down the queue,
// the piece is the last one at or below skb's place.
func (tp *tcpSock) sackSplit(skb *netdev.SkBuff, start, end uint32) *netdev.SkBuff {
	mss := tp.mssCache
	if seqBefore(end, skb.Cb.EndSeq) && seqAfter(end, skb.Cb.Seq) {
		if n := int(end-skb.Cb.Seq) / mss * mss; n > 0 {
			skb, _ = tp.fragment(skb, n)
		}
	}
	if seqAfter(start, skb.Cb.Seq) && seqBefore(start, skb.Cb.EndSeq) {
		n := (int(start-skb.Cb.Seq) + mss - 1) / mss * mss
		if n < skb.Len() {
			_, skb = tp.fragment(skb, n)
		}
	}
	return skb
}

// markLostSack applies RFC 6675's IsLost: an un-SACKed segment with at
// least DupThresh SACKed segments above it is lost. Walking down from the
// top, it stops at the first segment already marked, below which all are.
func (tp *tcpSock) markLostSack() {
	q := &tp.writeQueue
	skb := q.PeekTail()
	if tp.sendHead != nil {
		skb = q.Prev(tp.sendHead)
	}
	cnt := 0
	for ; skb != nil; skb = q.Prev(skb) {
		s := skb.Cb.Sacked
		if s&tcpcbSackedAcked != 0 {
			cnt += int(skbPcount(skb))
			continue
		}
		if cnt < tcpDupThresh {
			continue
		}
		if s&tcpcbLost != 0 {
			break
		}
		if s&tcpcbSackedRetrans == 0 {
			tp.markLost(skb)
		}
	}
}

// fastretransAlert is tcp_fastretrans_alert with the congestion control
// hooks: entering and leaving fast recovery (RFC 5681 §3.2, RFC 6675 with
// SACK, RFC 6582 NewReno without), and growth of the window otherwise.
func (tp *tcpSock) fastretransAlert(ack, acked, priorInFlight uint32, isDup, newSack bool) {
	if !tp.sackOk && isDup {
		// tcp_add_reno_sack: without SACK a duplicate ACK says one more
		// segment left the network.
		if tp.sackedOut+1 < tp.packetsOut {
			tp.sackedOut++
		}
	}
	switch tp.caState {
	case tcpCAOpen, tcpCADisorder:
		if tp.sackedOut >= tcpDupThresh && tp.packetsOut > 0 {
			tp.enterRecovery()
			return
		}
		if tp.sackedOut > 0 {
			tp.setCaState(tcpCADisorder)
		} else {
			tp.setCaState(tcpCAOpen)
		}
		tp.congAvoid(ack, acked, priorInFlight)
	case tcpCARecovery:
		if !seqBefore(ack, tp.highSeq) {
			// Full ACK (RFC 6582 §3.2 step 3): recovery is over; the
			// window deflates to ssthresh.
			tp.sndCwnd = max(tp.sndSsthresh, 2)
			if tp.sackedOut > 0 {
				tp.setCaState(tcpCADisorder)
			} else {
				tp.setCaState(tcpCAOpen)
			}
			return
		}
		if !tp.sackOk && acked > 0 {
			// Partial ACK (RFC 6582 §3.2 step 4): the next hole is lost too.
			if head := tp.writeQueue.Peek(); head != nil && head != tp.sendHead &&
				head.Cb.Sacked&tcpcbSackedRetrans == 0 {
				tp.markLost(head)
			}
		}
		if tp.sackOk && (newSack || acked > 0) {
			tp.markLostSack()
		}
		tp.xmitRetransmitQueue()
	case tcpCALoss:
		if !seqBefore(ack, tp.highSeq) {
			tp.setCaState(tcpCAOpen)
		}
		tp.congAvoid(ack, acked, priorInFlight)
		tp.xmitRetransmitQueue()
	}
}

// congAvoid is tcp_cong_avoid, called only when the window limited the
// sender (tcp_is_cwnd_limited), so an idle application does not inflate it.
func (tp *tcpSock) congAvoid(ack, acked, priorInFlight uint32) {
	if acked == 0 {
		return
	}
	limited := priorInFlight >= tp.sndCwnd ||
		(tp.sndCwnd < tp.sndSsthresh && tp.sndCwnd < 2*priorInFlight)
	if !limited {
		return
	}
	tp.ca.congAvoid(tp, ack, acked)
	tp.sndCwnd = min(tp.sndCwnd, tcpCwndClamp)
	tp.sndbufExpand()
}

// enterRecovery is tcp_enter_recovery: fast retransmit (RFC 5681 §3.2
// step 4, RFC 6675 §5 step 4.3): the first unacked segment goes at once,
// whatever the window; ssthresh and cwnd come down.
func (tp *tcpSock) enterRecovery() {
	tp.sndSsthresh = tp.ca.ssthresh(tp)
	tp.setCaState(tcpCARecovery)
	tp.highSeq = tp.sndNxt
	head := tp.writeQueue.Peek()
	if head == nil || head == tp.sendHead {
		return
	}
	tp.markLost(head)
	if tp.sackOk {
		tp.markLostSack()
	}
	if head.Cb.Sacked&tcpcbSackedRetrans == 0 {
		tp.retransmitSkb(head, 1)
	}
	tp.sndCwnd = max(tp.sndSsthresh, 2)
	tp.xmitRetransmitQueue()
}

// enterLoss is tcp_enter_loss, after a retransmission timeout (RFC 5681
// §3.1 eq. 4, RFC 6298 §5.5–5.6): ssthresh down (once per episode), cwnd to
// one segment, and every segment not SACKed is presumed lost.
func (tp *tcpSock) enterLoss() {
	if tp.caState <= tcpCADisorder || tp.caState == tcpCARecovery {
		tp.sndSsthresh = tp.ca.ssthresh(tp)
	}
	if tp.caState == tcpCARecovery {
		// The recovery failed: ssthresh was already cut for it.
		tp.sndSsthresh = max(tp.sndSsthresh, 2)
	}
	tp.sndCwnd = 1
	tp.sndCwndCnt = 0
	if tp.ca.onLoss != nil {
		tp.ca.onLoss(tp)
	}
	tp.retransOut, tp.lostOut = 0, 0
	if !tp.sackOk {
		tp.sackedOut = 0
	}
	q := &tp.writeQueue
	for skb := q.Peek(); skb != nil && skb != tp.sendHead; skb = q.Next(skb) {
		skb.Cb.Sacked &^= tcpcbSackedRetrans | tcpcbLost
		if skb.Cb.Sacked&tcpcbSackedAcked == 0 {
			skb.Cb.Sacked |= tcpcbLost
			tp.lostOut += skbPcount(skb)
		}
	}
	tp.setCaState(tcpCALoss)
	tp.highSeq = tp.sndNxt
}

// simpleRetransmit is tcp_simple_retransmit: the path MTU came down, so
// every segment in flight larger than the new MSS was dropped by the
// router that said so. Mark them lost and resend them cut to size; the
// congestion window is left alone (the data in the network did not grow,
// only the unit changed), but the connection goes to Loss so that the
// retransmissions are not taken for new data. Family-neutral, as
// tcp_v6_mtu_reduced calls it too. Mu held.
func (tp *tcpSock) simpleRetransmit() {
	mss := tp.currentMss()
	q := &tp.writeQueue
	for skb := q.Peek(); skb != nil && skb != tp.sendHead; skb = q.Next(skb) {
		if tcpSkbSeglen(skb) > mss {
			tp.markSkbLost(skb)
		}
	}
	if tp.lostOut == 0 {
		return
	}
	if tp.caState != tcpCALoss {
		tp.highSeq = tp.sndNxt
		tp.sndSsthresh = tp.currentSsthresh()
		tp.caState = tcpCALoss
	}
	tp.xmitRetransmitQueue()
}

// markSkbLost is tcp_mark_skb_lost: a segment retransmitted already and
// lost again no longer counts as a retransmission in flight.
func (tp *tcpSock) markSkbLost(skb *netdev.SkBuff) {
	s := skb.Cb.Sacked
	if s&tcpcbSackedAcked != 0 {
		return
	}
	if s&tcpcbLost == 0 {
		skb.Cb.Sacked |= tcpcbLost
		tp.lostOut += skbPcount(skb)
		return
	}
	if s&tcpcbSackedRetrans != 0 {
		skb.Cb.Sacked &^= tcpcbSackedRetrans
		tp.retransOut -= skbPcount(skb)
	}
}

// currentSsthresh is tcp_current_ssthresh: outside recovery, at least
// three quarters of the window, so leaving Loss does not cut it.
func (tp *tcpSock) currentSsthresh() uint32 {
	if tp.caState == tcpCACWR || tp.caState == tcpCARecovery {
		return tp.sndSsthresh
	}
	return max(tp.sndSsthresh, tp.sndCwnd*3/4)
}

// The receive side ------------------------------------------------------------

// dataQueue is tcp_data_queue: in-order data to the receive queue, the
// rest held in order (RFC 9293 §3.10.7.4 seventh), duplicates acked.
func (tp *tcpSock) dataQueue(skb *netdev.SkBuff, seg *tcpSegment) bool {
	fin := seg.flags&tcpFlagFIN != 0
	if seg.dataLen == 0 && !fin {
		return false
	}
	// tcp_measure_rcv_mss: a GRO-sized super-frame measures by its
	// segments' size, not its own length.
	if l := cmp.Or(skb.GsoSize, seg.dataLen); l > tp.rcvMss {
		tp.rcvMss = min(l, max(tp.advmss, tcpMssDefault))
	}
	switch {
	case seg.seq == tp.rcvNxt:
		if tp.receiveWindow() == 0 && seg.dataLen > 0 {
			// Zero window: nothing fits (RFC 9293 §3.8.6.2.1); ACK with
			// the window so the sender's probes learn when it opens.
			tp.sendAck()
			return false
		}
		return tp.queueInOrder(skb, seg.seq, seg.endSeq, fin)
	case !seqAfter(seg.endSeq, tp.rcvNxt):
		// Entirely old: a retransmission of what we have. ACK at once.
		tp.sendAck()
		return false
	case seqAfter(seg.seq, tp.rcvNxt+tp.receiveWindow()):
		tp.sendAck()
		return false
	case seqBefore(seg.seq, tp.rcvNxt):
		// Overlaps what we have: keep only the new part.
		n := int(tp.rcvNxt - seg.seq)
		skb.Pull(min(n, skb.Len()))
		return tp.queueInOrder(skb, tp.rcvNxt, seg.endSeq, fin)
	}
	// Out of order: hold it, and send a duplicate ACK with SACK at once
	// (RFC 5681 §4.2, RFC 2018 §4).
	queued := tp.ofoInsert(skb, seg)
	tp.sendAck()
	return queued
}

// queueInOrder appends in-order data, then whatever the out-of-order queue
// now continues. Mu held.
func (tp *tcpSock) queueInOrder(skb *netdev.SkBuff, seq, endSeq uint32, fin bool) bool {
	n := skb.Len()
	queued := false
	if n > 0 {
		skb.Cb.Seq, skb.Cb.EndSeq = seq, endSeq
		tp.ReceiveQueue.QueueTail(skb)
		tp.RmemAlloc += n
		queued = true
	}
	tp.rcvNxt = endSeq
	tp.ackPending = true
	if !tp.ofoQueue.Empty() {
		tp.ofoQueueDrain()
		if tp.ofoQueue.Empty() {
			tp.quickAcks = max(tp.quickAcks, 1) // the hole is filled: tell the sender now
		}
	}
	if fin {
		tp.tcpFin()
	}
	if n > 0 || fin {
		tp.DataReady(&tp.Sock)
	}
	return queued
}

// ofoInsert is tcp_data_queue_ofo: insert by sequence, dropping what is
// already held and what the new segment covers.
func (tp *tcpSock) ofoInsert(skb *netdev.SkBuff, seg *tcpSegment) bool {
	q := &tp.ofoQueue
	if tp.ReceiveQueue.Bytes()+q.Bytes()+skb.Len() > tp.RcvBuf {
		return false // tcp_prune_ofo_queue: no room
	}
	skb.Cb.Seq, skb.Cb.EndSeq, skb.Cb.TCPFlags = seg.seq, seg.endSeq, seg.flags
	var prev *netdev.SkBuff
	for p := q.PeekTail(); p != nil; p = q.Prev(p) {
		if !seqAfter(p.Cb.Seq, seg.seq) {
			prev = p
			break
		}
	}
	if prev != nil && !seqAfter(seg.endSeq, prev.Cb.EndSeq) {
		return false // a duplicate of what we hold
	}
	q.InsertAfter(prev, skb)
	for n := q.Next(skb); n != nil && !seqAfter(n.Cb.EndSeq, seg.endSeq); {
		next := q.Next(n)
		q.Unlink(n)
		n.Free()
		n = next
	}
	tp.ofoLast = seg.seq
	tp.in.mib.Ext[LINUX_MIB_TCPOFOQUEUE].Add(1)
	return true
}

// ofoQueueDrain is tcp_ofo_queue: move what became in order.
func (tp *tcpSock) ofoQueueDrain() {
	q := &tp.ofoQueue
	for skb := q.Peek(); skb != nil; skb = q.Peek() {
		if seqAfter(skb.Cb.Seq, tp.rcvNxt) {
			return
		}
		q.Unlink(skb)
		if !seqAfter(skb.Cb.EndSeq, tp.rcvNxt) {
			skb.Free()
			continue
		}
		skb.Pull(min(int(tp.rcvNxt-skb.Cb.Seq), skb.Len()))
		fin := skb.Cb.TCPFlags&tcpFlagFIN != 0
		tp.rcvNxt = skb.Cb.EndSeq
		if n := skb.Len(); n > 0 {
			tp.ReceiveQueue.QueueTail(skb)
			tp.RmemAlloc += n
		} else {
			skb.Free()
		}
		if fin {
			tp.tcpFin()
			return
		}
	}
}

// tcpFin is tcp_fin: the peer closed its side (RFC 9293 §3.10.7.4 eighth).
func (tp *tcpSock) tcpFin() {
	tp.Shutdown |= socket.RCV_SHUTDOWN
	tp.Done = true
	tp.ackPending = true
	tp.quickAcks = max(tp.quickAcks, 1)
	switch tp.State {
	case TCP_SYN_RECV, TCP_ESTABLISHED:
		// ESTABLISHED: CLOSE-WAIT.
		tp.tcpSetState(TCP_CLOSE_WAIT)
	case TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK:
		// A retransmitted FIN: nothing new.
	case TCP_FIN_WAIT1:
		// Simultaneous close (RFC 9293 §3.6, figure 13): CLOSING.
		tp.sendAck()
		tp.tcpSetState(TCP_CLOSING)
	case TCP_FIN_WAIT2:
		// FIN-WAIT-2: TIME-WAIT, in a timewait entry.
		tp.sendAck()
		tp.tcpTimeWait(TCP_TIME_WAIT, 0)
	}
	tp.ofoQueue.Purge()
	if !tp.Dead {
		tp.StateChange(&tp.Sock)
	}
}

// ackSndCheck is __tcp_ack_snd_check: ACK at once after two full segments
// (RFC 5681 §4.2, RFC 9293 §3.8.6.3), in quick-ACK mode, or while data is
// out of order; otherwise delay the ACK.
func (tp *tcpSock) ackSndCheck() {
	if !tp.ackPending {
		return
	}
	if tp.rcvNxt-tp.rcvWup > uint32(tp.rcvMss) || tp.quickAcks > 0 || !tp.ofoQueue.Empty() {
		if tp.quickAcks > 0 {
			tp.quickAcks--
		}
		tp.sendAck()
		return
	}
	tp.resetDelack()
}

// cleanupRbuf is tcp_cleanup_rbuf: after the user read, announce a window
// that grew a lot (at least doubled, or from nothing), so a sender stalled
// on a small or zero window resumes.
func (tp *tcpSock) cleanupRbuf(copied int) {
	if (1<<tp.State)&(TCPF_ESTABLISHED|TCPF_FIN_WAIT1|TCPF_FIN_WAIT2) == 0 {
		return
	}
	cur := tp.receiveWindow()
	nw := tp.freeWindow()
	if nw >= 2*cur && nw >= uint32(tp.rcvMss) || (cur == 0 && nw > 0) {
		tp.sendAck()
	} else if tp.ackPending && tp.rcvNxt-tp.rcvWup > uint32(tp.rcvMss) {
		tp.sendAck()
	}
}

// rcvSpaceAdjust is tcp_rcv_space_adjust: receive-buffer auto-tuning
// (dynamic right-sizing). Once per RTT, a receiver that drained more than
// the buffer's window asks for twice what the application read, so the
// window stays ahead of the sender, up to tcp_rmem[2].
func (tp *tcpSock) rcvSpaceAdjust() {
	now := tp.in.clock.Now()
	rtt := max(tp.srtt, time.Millisecond)
	if now-tp.rcvq.time < rtt {
		return
	}
	copied := int(tp.copiedSeq - tp.rcvq.seq)
	if copied > tp.rcvq.space {
		tp.rcvq.space = copied
		if tp.UserLocks&socket.SOCK_RCVBUF_LOCK == 0 {
			want := min(4*copied+16*tp.advmss, tcpRmemMax)
			if want > tp.RcvBuf {
				tp.RcvBuf = want
			}
		}
	}
	tp.rcvq.seq = tp.copiedSeq
	tp.rcvq.time = now
}
