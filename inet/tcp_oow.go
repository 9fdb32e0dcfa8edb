package inet

import (
	"sync/atomic"
	"time"
)

// Out-of-window ACK rate limiting (tcp_oow_rate_limited, net/ipv4/
// tcp_input.c; RFC 5961 §7). Every ACK an arriving segment can provoke
// without advancing the connection — a duplicate ACK for an out-of-window
// or PAWS-rejected segment, a challenge ACK, a SYN-RECEIVED re-ACK, or a
// timewait entry's (inet_timewait_sock.go) — is limited per socket (or
// entry) to one per tcp_invalid_ratelimit. Two endpoints that disagree
// about the window (or one connected to itself by a spoofed SYN) would
// otherwise ACK each other's ACKs as fast as the CPU allows. Linux's
// namespace-wide challenge-ACK limit (tcp_challenge_ack_limit) is off by
// default since 6.0 (INT_MAX); so is this stack's.

// sysctlTCPInvalidRatelimit is net.ipv4.tcp_invalid_ratelimit (500 ms).
const sysctlTCPInvalidRatelimit = 500 * time.Millisecond

// tcpAckSkippedMib holds the TcpExt counters of these limits
// (LINUX_MIB_TCPACKSKIPPED*, TCPCHALLENGEACK, TCPSYNCHALLENGE).
type tcpAckSkippedMib struct {
	TCPACKSkippedSynRecv, TCPACKSkippedPAWS, TCPACKSkippedSeq,
	TCPACKSkippedFinWait2, TCPACKSkippedTimeWait, TCPACKSkippedChallenge,
	TCPChallengeACK, TCPSYNChallenge atomic.Uint64
}

// oowLimit is a socket's last_oow_ack_time.
type oowLimit struct {
	last time.Duration
	set  bool // Linux's "0 means never"
}

// rateLimited is __tcp_oow_rate_limited: true (and counted in mib) if an
// out-of-window ACK went less than the interval ago; otherwise it records
// now and lets this one go.
func (l *oowLimit) rateLimited(now time.Duration, mib *atomic.Uint64) bool {
	if l.set {
		if el := now - l.last; el >= 0 && el < sysctlTCPInvalidRatelimit {
			mib.Add(1)
			return true
		}
	}
	l.last, l.set = now, true
	return false
}

// tcpOowRateLimited is tcp_oow_rate_limited: a segment carrying data (and
// no SYN) is not part of an ACK loop and is always answered; anything
// else goes through the socket's limit. Mu held.
func (tp *tcpSock) tcpOowRateLimited(seg *tcpSegment, mib *atomic.Uint64) bool {
	if seg.seq != seg.endSeq && seg.flags&tcpFlagSYN == 0 {
		return false
	}
	return tp.lastOowAck.rateLimited(tp.in.clock.Now(), mib)
}

// oowMib is the counter for a limited duplicate ACK: tcp_check_req's own
// in SYN-RECEIVED, else the one the caller names.
func (tp *tcpSock) oowMib(m *atomic.Uint64) *atomic.Uint64 {
	if tp.State == TCP_SYN_RECV {
		return &tp.in.oowMib.TCPACKSkippedSynRecv
	}
	return m
}
