package inet

// TCP timers (net/ipv4/tcp_timer.c, inet_connection_sock.c): one
// retransmission timer (which also carries the SYN, SYN-ACK and
// zero-window probe timeouts, as icsk_retransmit_timer does), one delayed
// ACK timer and one sk_timer (keepalive, a long orphaned FIN_WAIT2) per
// sock; TIME_WAIT is a timewait entry's (inet_timewait_sock.go). Each is created once and re-armed with Reset, so nothing is
// allocated per packet. Callbacks run in their own goroutine (the timer
// softirq) and take the sock's Mu; a deadline kept under Mu tells a stale
// firing (one that raced with a re-arm or a stop) from a real one.

import (
	"time"

	"sockfs/socket"
)

// icsk_pending values.
const (
	tcpTimeRetrans uint8 = 1
	tcpTimeProbe0  uint8 = 3
)

// resetXmitTimer is inet_csk_reset_xmit_timer. Mu held.
func (tp *tcpSock) resetXmitTimer(what uint8, d time.Duration) {
	d = min(d, tcpRtoMax)
	tp.rtxPending = what
	tp.rtxTimeout = tp.in.clock.Now() + d
	if tp.rtxTimer == nil {
		tp.rtxTimer = tp.in.clock.AfterFunc(d, tp.rtxTimerFire)
	} else {
		tp.rtxTimer.Reset(d)
	}
}

// clearRtxTimer is inet_csk_clear_xmit_timer(ICSK_TIME_RETRANS).
func (tp *tcpSock) clearRtxTimer() {
	tp.rtxPending = 0
	if tp.rtxTimer != nil {
		tp.rtxTimer.Stop()
	}
}

// clearXmitTimers is inet_csk_clear_xmit_timers: retransmit and delayed
// ACK.
func (tp *tcpSock) clearXmitTimers() {
	tp.clearRtxTimer()
	tp.delackArmed = false
	tp.ackPending = false
	if tp.delackTimer != nil {
		tp.delackTimer.Stop()
	}
}

// resetSkTimer is inet_csk_reset_keepalive_timer (sk_reset_timer on
// sk_timer).
func (tp *tcpSock) resetSkTimer(d time.Duration) {
	tp.skTimerArmed = true
	tp.skTimeout = tp.in.clock.Now() + d
	if tp.skTimer == nil {
		tp.skTimer = tp.in.clock.AfterFunc(d, tp.skTimerFire)
	} else {
		tp.skTimer.Reset(d)
	}
}

func (tp *tcpSock) stopSkTimer() {
	tp.skTimerArmed = false
	if tp.skTimer != nil {
		tp.skTimer.Stop()
	}
}

// resetDelack arms the delayed-ACK timer unless it is armed already (the
// earlier deadline stands, RFC 9293 §3.8.6.3: at most 500 ms late; Linux's
// ato starts at 40 ms).
func (tp *tcpSock) resetDelack() {
	if tp.delackArmed {
		return
	}
	tp.delackArmed = true
	tp.delackTimeout = tp.in.clock.Now() + tp.ato
	if tp.delackTimer == nil {
		tp.delackTimer = tp.in.clock.AfterFunc(tp.ato, tp.delackTimerFire)
	} else {
		tp.delackTimer.Reset(tp.ato)
	}
}

// due reports whether a timer with deadline at has come due, re-arming t
// for the rest when it fired early (it was re-armed after it started).
func (tp *tcpSock) due(at time.Duration, t interface{ Reset(time.Duration) bool }) bool {
	now := tp.in.clock.Now()
	if now < at {
		t.Reset(at - now)
		return false
	}
	return true
}

// rtxTimerFire is tcp_write_timer.
// Locking: no lock held (a timer); takes Mu.
func (tp *tcpSock) rtxTimerFire() {
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	if tp.destroyed || tp.rtxPending == 0 || !tp.due(tp.rtxTimeout, tp.rtxTimer) {
		return
	}
	what := tp.rtxPending
	tp.rtxPending = 0
	switch what {
	case tcpTimeRetrans:
		tp.retransmitTimer()
	case tcpTimeProbe0:
		tp.probeTimer()
	}
}

// retransmitTimer is tcp_retransmit_timer (RFC 6298 §5.4–5.7): resend the
// oldest unacked segment, back the timer off exponentially, and enter
// loss recovery; give up after too many tries.
func (tp *tcpSock) retransmitTimer() {
	head := tp.writeQueue.Peek()
	if tp.packetsOut == 0 || head == nil || head == tp.sendHead {
		return
	}
	if tp.writeTimeout() {
		return
	}
	tp.in.mib.Ext[LINUX_MIB_TCPTIMEOUTS].Add(1)
	if tp.in.traceOn() {
		tp.in.traceSk(tp, "tcp_retransmit_timer rto=%dms retransmits=%d cwnd=%d ssthresh=%d -> tcp_enter_loss",
			tp.rto.Milliseconds(), tp.retransmits, tp.sndCwnd, tp.sndSsthresh)
	}
	tp.enterLoss()
	tp.retransmitSkb(head, 1)
	tp.retransmits++
	// A SYN goes again at the initial RTO for tcp_syn_linear_timeouts
	// timeouts (a single lost SYN costs 1 s, not more), then backs off
	// (tcp_retransmit_timer's total_rto test; in SYN_SENT every timeout
	// so far was the SYN's).
	if tp.State != TCP_SYN_SENT || tp.retransmits > tp.in.tcp.synLinearTimeouts {
		tp.backoff++
		tp.rto = min(tp.rto*2, tcpRtoMax)
	}
	tp.resetXmitTimer(tcpTimeRetrans, tp.rto)
}

// writeTimeout is tcp_write_timeout: after tcp_syn_retries plus
// tcp_syn_linear_timeouts (SYN; 10 retransmissions, ~131 s, on Linux 6.x),
// tcp_synack_retries (a request), tcp_orphan_retries (an orphan) or
// tcp_retries2 timeouts in a row the connection is dropped with ETIMEDOUT,
// or with the soft error an ICMP message left (tcp_write_err).
func (tp *tcpSock) writeTimeout() bool {
	limit := tcpRetries2
	switch {
	case tp.State == TCP_SYN_SENT:
		limit = tp.in.tcp.synRetries + tp.in.tcp.synLinearTimeouts
	case tp.State == TCP_SYN_RECV && tp.parent == nil:
		limit = tp.in.tcp.synRetries // a simultaneous open
	case tp.State == TCP_SYN_RECV && tp.parent != nil:
		limit = tcpSynackRetries
	case tp.Dead:
		limit = tcpOrphanRetries
	}
	if tp.retransmits < limit {
		return false
	}
	tp.writeErr()
	return true
}

// writeErr is tcp_write_err.
func (tp *tcpSock) writeErr() {
	tp.in.mib.Ext[LINUX_MIB_TCPABORTONTIMEOUT].Add(1)
	tp.Err = socket.ETIMEDOUT
	if tp.ErrSoft != 0 {
		tp.Err = tp.ErrSoft
	}
	tp.ErrorReport(&tp.Sock)
	tp.purgeWriteQueue()
	tp.tcpDone()
}

// probe0When is tcp_probe0_when: the backed-off RTO.
func (tp *tcpSock) probe0When() time.Duration {
	d := tp.rto << min(tp.backoff, 10)
	return min(max(d, tp.in.tcp.rtoMin), tcpRtoMax)
}

// probeTimer is tcp_probe_timer (RFC 9293 §3.8.6.1): the peer's window is
// zero, so probe it; a peer that answers keeps the connection however long
// the window stays shut, one that never answers is dropped after
// tcp_retries2 probes.
func (tp *tcpSock) probeTimer() {
	if tp.packetsOut > 0 || tp.sendHead == nil {
		tp.probesOut = 0
		return
	}
	if tp.probesOut >= tcpRetries2 {
		tp.writeErr()
		return
	}
	// tcp_write_wakeup: what fits of the window goes as the probe; with
	// no window at all, an old-sequence ACK asks for the window.
	skb := tp.sendHead
	if avail := int32(tp.sndUna + tp.sndWnd - skb.Cb.Seq); avail > 0 {
		if int(avail) < skb.Len() {
			skb, _ = tp.fragment(skb, min(int(avail), tp.mssCache))
		}
		if tp.transmitSkb(skb) == nil {
			tp.eventNewDataSent(skb)
		}
	} else {
		tp.xmitProbeSkb()
	}
	tp.probesOut++
	tp.backoff++
	if tp.packetsOut == 0 {
		tp.resetXmitTimer(tcpTimeProbe0, tp.probe0When())
	}
}

// delackTimerFire is tcp_delack_timer.
// Locking: no lock held (a timer); takes Mu.
func (tp *tcpSock) delackTimerFire() {
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	if tp.destroyed || !tp.delackArmed || !tp.due(tp.delackTimeout, tp.delackTimer) {
		return
	}
	tp.delackArmed = false
	if tp.ackPending && tp.State != TCP_CLOSE && tp.State != TCP_LISTEN {
		tp.in.mib.Ext[LINUX_MIB_DELAYEDACKS].Add(1)
		tp.sendAck()
	}
}

// skTimerFire is tcp_keepalive_timer, which also times an orphan's long
// FIN_WAIT2 (tcp_fin_timeout beyond TIME_WAIT's length).
// Locking: no lock held (a timer); takes Mu.
func (tp *tcpSock) skTimerFire() {
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	if tp.destroyed || !tp.skTimerArmed || !tp.due(tp.skTimeout, tp.skTimer) {
		return
	}
	tp.skTimerArmed = false
	now := tp.in.clock.Now()
	switch tp.State {
	case TCP_FIN_WAIT2:
		if tp.Dead {
			// An orphan whose tcp_fin_timeout is longer than TIME_WAIT
			// spends the rest in a timewait entry; with nothing left
			// it gives up with a RST.
			if tmo := tp.finTime() - tp.in.tcp.timeWaitLen; tmo > 0 {
				tp.tcpTimeWait(TCP_FIN_WAIT2, tmo)
				return
			}
			tp.sendActiveReset()
			tp.tcpDone()
		}
	case TCP_LISTEN, TCP_CLOSE, TCP_SYN_SENT:
	default:
		// Keepalive (RFC 1122 §4.2.3.6): after keepalive_time of silence,
		// probe every keepalive_intvl; keepalive_probes unanswered probes
		// mean the peer is gone.
		if !tp.KeepOpen {
			return
		}
		if tp.packetsOut > 0 || tp.sendHead != nil {
			tp.resetSkTimer(tp.keepaliveTime)
			return
		}
		elapsed := now - max(tp.lastRcv, tp.lastAck)
		if elapsed < tp.keepaliveTime {
			tp.resetSkTimer(tp.keepaliveTime - elapsed)
			return
		}
		if tp.probesOut >= tp.keepaliveProbes {
			tp.sendActiveReset()
			tp.writeErr()
			return
		}
		tp.xmitProbeSkb()
		tp.probesOut++
		tp.resetSkTimer(tp.keepaliveIntvl)
	}
}
