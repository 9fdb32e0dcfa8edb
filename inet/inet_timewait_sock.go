package inet

// Timewait entries (net/ipv4/inet_timewait_sock.c, tcp_minisocks.c): when a
// connection reaches TIME_WAIT, or an orphan waits in FIN_WAIT2 for its
// peer's FIN, the full sock is freed and a small entry takes its place in
// the established hash (tcpNet.twhash, looked up right after ehash, as
// Linux finds both kinds in one chain) and in the port's bind bucket. It
// answers as the state would (tcp_timewait_state_process) until its one
// timer ends it, silently: Linux sends nothing when a timewait entry dies.
// Each holds what those answers need and nothing else, so a busy server's
// closed connections cost a few dozen bytes each instead of a tcpSock.

import (
	"sync"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// tcpTimewaitSock is struct tcp_timewait_sock with its inet_timewait_sock.
type tcpTimewaitSock struct {
	in *Net

	// Set at creation, then read-only.
	afOps     *inetConnectionSockAfOps // the family's, for the answers it sends
	family    int                      // tw_family: the sock's, so a v4-mapped one stays in net/tcp6
	key       tcpHashKey               // the 4-tuple from our side
	bind      tcpBindInfo
	rcvWscale uint8
	tsOffset  uint32
	tstampOk  bool // tw_ts_recent_stamp != 0: the connection used timestamps
	ttl, tos  uint8

	mu            sync.Mutex
	substate      uint8 // protected by mu; tw_substate: TCP_FIN_WAIT2 or TCP_TIME_WAIT
	rcvNxt        uint32
	sndNxt        uint32
	rcvWnd        uint32 // tw_rcv_wnd: the window last announced, unscaled
	tsRecent      uint32
	tsRecentStamp time.Duration
	timer         ktime.Timer
	expires       time.Duration // tw_timer.expires
	lastOowAck    oowLimit      // tw_last_oow_ack_time (tcp_oow.go)
	dead          bool          // left the tables (inet_twsk_kill)
}

// The verdicts of tcp_timewait_state_process (enum tcp_tw_status).
const (
	tcpTwSuccess = iota // nothing to send
	tcpTwRst            // answer with a RST, as for no sock
	tcpTwAck            // repeat our last ACK
	tcpTwSyn            // a new connection: the entry is gone, try a listener
)

// finTime is tcp_fin_time: how long an orphan waits in FIN_WAIT2,
// tcp_fin_timeout but never less than 3.5 RTO.
func (tp *tcpSock) finTime() time.Duration {
	return max(tp.in.tcp.finTimeout, 4*tp.rto-tp.rto/2)
}

// tcpTimeWait is tcp_time_wait: move the connection into a timewait entry
// in state (TCP_TIME_WAIT, or TCP_FIN_WAIT2 for an orphan waiting for its
// peer's FIN) for timeo (TIME_WAIT always lasts TCP_TIMEWAIT_LEN, 2 MSL,
// RFC 9293 §3.6.1), and finish the full sock with tcp_done: a socket the
// user still holds reads CLOSE, an orphan is freed. Mu held.
func (tp *tcpSock) tcpTimeWait(state uint8, timeo time.Duration) {
	in := tp.in
	tw := &tcpTimewaitSock{
		in:        in,
		afOps:     tp.afOps,
		family:    tp.Family,
		key:       tp.ehashKey,
		bind:      tp.bind,
		rcvWscale: tp.rcvWscale,
		tsOffset:  tp.tsOffset,
		tstampOk:  tp.tstampOk,
		ttl:       tp.ttl(),
		tos:       tp.Tos,
		substate:  state,
		rcvNxt:    tp.rcvNxt,
		sndNxt:    tp.sndNxt,
		rcvWnd:    tp.receiveWindow(),
		tsRecent:  tp.tsRecent,
	}
	if tw.tstampOk {
		tw.tsRecentStamp = tp.tsRecentStamp
	}
	// The timer never fires before the peer could retransmit its FIN.
	timeo = max(timeo, 4*tp.rto-tp.rto/2)
	if state == TCP_TIME_WAIT {
		timeo = in.tcp.timeWaitLen
	}
	if tp.ehashed && tp.bhashed {
		tw.hashdanceSchedule(tp, timeo)
		if in.traceOn() {
			in.traceSk(tp, "tcp_time_wait %s -> inet_twsk_hashdance_schedule", tcpStateName(state))
		}
	}
	tp.tcpDone()
}

// hashdanceSchedule is inet_twsk_hashdance_schedule: the entry takes the
// sock's place in the established hash and joins its port's bind bucket,
// in one step under the table lock, so a segment finds one or the other;
// then its timer starts.
func (tw *tcpTimewaitSock) hashdanceSchedule(tp *tcpSock, timeo time.Duration) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	t := &tw.in.tcp
	t.mu.Lock()
	if t.ehash[tp.ehashKey] == tp {
		delete(t.ehash, tp.ehashKey)
	}
	tp.ehashed = false
	t.twhash[tw.key] = tw
	t.twbhash[tw.key.lport] = append(t.twbhash[tw.key.lport], tw)
	t.mu.Unlock()
	tw.schedule(timeo)
}

// schedule is inet_twsk_schedule / inet_twsk_reschedule. tw.mu held.
func (tw *tcpTimewaitSock) schedule(d time.Duration) {
	tw.expires = tw.in.clock.Now() + d
	if tw.timer == nil {
		tw.timer = tw.in.clock.AfterFunc(d, tw.timerHandler)
	} else {
		tw.timer.Reset(d)
	}
}

// timerHandler is tw_timer_handler: the entry's time is over. It leaves
// without a word to the peer.
func (tw *tcpTimewaitSock) timerHandler() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.dead {
		return
	}
	if now := tw.in.clock.Now(); now < tw.expires {
		tw.timer.Reset(tw.expires - now) // rescheduled after it started
		return
	}
	tw.kill()
}

// kill is inet_twsk_kill (and inet_twsk_deschedule_put): leave the
// established hash and the bind bucket. tw.mu held.
func (tw *tcpTimewaitSock) kill() {
	if tw.dead {
		return
	}
	tw.dead = true
	if tw.timer != nil {
		tw.timer.Stop()
	}
	t := &tw.in.tcp
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.twhash[tw.key] == tw {
		delete(t.twhash, tw.key)
	}
	port := tw.key.lport
	l := t.twbhash[port]
	for i, o := range l {
		if o == tw {
			l[i] = l[len(l)-1]
			l[len(l)-1] = nil
			l = l[:len(l)-1]
			break
		}
	}
	if len(l) == 0 {
		delete(t.twbhash, port)
	} else {
		t.twbhash[port] = l
	}
}

// inWindow is tcp_in_window: [seq, endSeq) touches [s, e).
func inWindow(seq, endSeq, s, e uint32) bool {
	if seq == s {
		return true
	}
	if seqAfter(endSeq, s) && seqBefore(seq, e) {
		return true
	}
	return seq == e && seq == endSeq
}

// stateProcess is tcp_timewait_state_process: what a segment for the entry
// means, RFC 9293 §3.10.7.4 for FIN-WAIT-2 and TIME-WAIT with Linux's
// choices (RFC 1337's assassination allowed, tcp_rfc1337=0; a new SYN
// above the old sequence space, or with a newer timestamp, reopens, RFC
// 6191). isn is the ISN the new connection must use (tcp_tw_isn). tw.mu
// held.
func (tw *tcpTimewaitSock) stateProcess(seg *tcpSegment) (verdict int, isn uint32) {
	now := tw.in.clock.Now()
	syn, rst, ack, fin := seg.flags&tcpFlagSYN != 0, seg.flags&tcpFlagRST != 0, seg.flags&tcpFlagACK != 0, seg.flags&tcpFlagFIN != 0
	sawTS := tw.tstampOk && seg.opts.HasTS
	// PAWS (RFC 7323 §5): an older timestamp is an old duplicate.
	pawsReject := sawTS && !rst && seqBefore(seg.opts.TSVal, tw.tsRecent) &&
		now-tw.tsRecentStamp < 24*24*time.Hour

	if tw.substate == TCP_FIN_WAIT2 {
		// tcp_rcv_state_process's checks, once more.
		if pawsReject || !inWindow(seg.seq, seg.endSeq, tw.rcvNxt, tw.rcvNxt+tw.rcvWnd) {
			return tw.checkOowRateLimit(seg, now), 0
		}
		if rst {
			tw.kill()
			return tcpTwSuccess, 0
		}
		if syn && !seqBefore(seg.seq, tw.rcvNxt) {
			return tcpTwRst, 0
		}
		// A duplicate ACK: nothing to do.
		if !ack || !seqAfter(seg.endSeq, tw.rcvNxt) || seg.endSeq == seg.seq {
			return tcpTwSuccess, 0
		}
		// New data after the user closed: reset (RFC 2525 §2.17).
		if !fin || seg.endSeq != tw.rcvNxt+1 {
			return tcpTwRst, 0
		}
		// The FIN: TIME-WAIT proper.
		tw.substate = TCP_TIME_WAIT
		tw.rcvNxt = seg.endSeq
		if sawTS {
			tw.tsRecent, tw.tsRecentStamp = seg.opts.TSVal, now
		}
		tw.schedule(tw.in.tcp.timeWaitLen)
		return tcpTwAck, 0
	}

	// TIME-WAIT. In window, only a RST or a bare ACK can come.
	if !pawsReject && seg.seq == tw.rcvNxt && (seg.seq == seg.endSeq || rst) {
		if rst {
			// TIME-WAIT assassination (RFC 1337), which Linux allows.
			tw.kill()
			return tcpTwSuccess, 0
		}
		tw.schedule(tw.in.tcp.timeWaitLen)
		if sawTS {
			tw.tsRecent, tw.tsRecentStamp = seg.opts.TSVal, now
		}
		return tcpTwSuccess, 0
	}
	// A new SYN: accepted when it cannot be an old duplicate.
	if syn && !rst && !ack && !pawsReject &&
		(seqAfter(seg.seq, tw.rcvNxt) || (sawTS && int32(tw.tsRecent-seg.opts.TSVal) < 0)) {
		isn = tw.sndNxt + 65535 + 2
		if isn == 0 {
			isn++
		}
		return tcpTwSyn, isn
	}
	if !rst {
		// Everything else is acked at once; an ACK-less SYN below
		// RCV.NXT may be a fresh random ISN, so it does not extend 2 MSL.
		if pawsReject || ack {
			tw.schedule(tw.in.tcp.timeWaitLen)
		}
		return tw.checkOowRateLimit(seg, now), 0
	}
	return tcpTwSuccess, 0
}

// checkOowRateLimit is tcp_timewait_check_oow_rate_limit: the ACK for an
// out-of-window segment, unless one went less than tcp_invalid_ratelimit
// ago (tcp_oow_rate_limited, counted in TcpExt's TCPACKSkippedFinWait2 or
// TCPACKSkippedTimeWait), which stops two stacks that disagree about the
// window from ACKing each other forever. Segments carrying data or a FIN
// (and no SYN) are always answered: they are no ACK loop.
func (tw *tcpTimewaitSock) checkOowRateLimit(seg *tcpSegment, now time.Duration) int {
	if seg.seq != seg.endSeq && seg.flags&tcpFlagSYN == 0 {
		return tcpTwAck
	}
	mib := &tw.in.oowMib.TCPACKSkippedTimeWait
	if tw.substate == TCP_FIN_WAIT2 {
		mib = &tw.in.oowMib.TCPACKSkippedFinWait2
	}
	if tw.lastOowAck.rateLimited(now, mib) {
		return tcpTwSuccess
	}
	return tcpTwAck
}

// timewaitRcv is the TIME_WAIT arm of the family's receive path
// (do_time_wait in tcp_v4_rcv). It reports the ISN for a listener when the
// segment opens a new connection over the entry (0 otherwise: the segment
// is done with). skb holds the segment with its network header, for the
// family's reset.
func (tw *tcpTimewaitSock) timewaitRcv(skb *netdev.SkBuff, seg *tcpSegment) (again bool, isn uint32) {
	tw.mu.Lock()
	if tw.dead {
		tw.mu.Unlock()
		return true, 0
	}
	verdict, isn := tw.stateProcess(seg)
	switch verdict {
	case tcpTwSyn:
		if tw.in.tcp.lookupListener(tw.key) != nil {
			tw.kill() // inet_twsk_deschedule_put: the listener takes over
			tw.mu.Unlock()
			return true, isn
		}
		tw.timewaitAck() // nobody listens: the old connection answers
	case tcpTwAck:
		tw.timewaitAck()
	case tcpTwRst:
		tw.mu.Unlock()
		tw.afOps.sendReset(tw.in, skb, *seg)
		return false, 0
	}
	tw.mu.Unlock()
	return false, 0
}

// timewaitAck is tcp_v4_timewait_ack: our last ACK again, with the window
// and timestamps the connection had, sent by the family's send_ack. tw.mu
// held.
func (tw *tcpTimewaitSock) timewaitAck() {
	tsval := uint32(tw.in.clock.Now()/time.Millisecond) + tw.tsOffset
	win := uint16(min(tw.rcvWnd>>tw.rcvWscale, 65535))
	tw.afOps.sendAck(tw.in, tw.key, tw.sndNxt, tw.rcvNxt, win, tw.tstampOk, tsval, tw.tsRecent, tw.ttl, tw.tos)
}

// timewaitSocks returns the timewait entries, for net/tcp and sockstat.
func (t *tcpNet) timewaitSocks() []*tcpTimewaitSock {
	t.mu.RLock()
	defer t.mu.RUnlock()
	l := make([]*tcpTimewaitSock, 0, len(t.twhash))
	for _, tw := range t.twhash {
		l = append(l, tw)
	}
	return l
}
