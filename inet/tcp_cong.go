package inet

// Congestion control (net/ipv4/tcp_cong.c, tcp_cubic.c): a table of
// tcp_congestion_ops keyed by name, Reno (RFC 5681) and CUBIC (RFC 9438),
// CUBIC being the default as in Linux. Windows are counted in segments.

import (
	"math"
	"syscall"
	"time"
)

// tcpCongestionOps is struct tcp_congestion_ops.
type tcpCongestionOps struct {
	name string
	// ssthresh returns the slow-start threshold after a loss.
	ssthresh func(tp *tcpSock) uint32
	// congAvoid grows the window for acked segments.
	congAvoid func(tp *tcpSock, ack, acked uint32)
	// onLoss resets state after a retransmission timeout (may be nil).
	onLoss func(tp *tcpSock)
}

// tcpCwndClamp is snd_cwnd_clamp's default.
const tcpCwndClamp = 1 << 16

// tcpCongTable lists the algorithms a namespace can select
// (tcp_cong_list).
func tcpCongTable() map[string]*tcpCongestionOps {
	return map[string]*tcpCongestionOps{
		"reno":  {name: "reno", ssthresh: tcpRenoSsthresh, congAvoid: tcpRenoCongAvoid},
		"cubic": {name: "cubic", ssthresh: cubicSsthresh, congAvoid: cubicCongAvoid, onLoss: cubicOnLoss},
	}
}

// SetTCPCongestionControl is the net.ipv4.tcp_congestion_control sysctl:
// the algorithm new connections use ("cubic" or "reno").
func (in *Net) SetTCPCongestionControl(name string) error {
	ca, ok := in.tcp.congList[name]
	if !ok {
		return syscall.ENOENT
	}
	in.tcp.mu.Lock()
	in.tcp.congDefault = ca
	in.tcp.mu.Unlock()
	return nil
}

func (t *tcpNet) defaultCong() *tcpCongestionOps {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.congDefault
}

// tcpRenoSsthresh is tcp_reno_ssthresh: RFC 5681 eq. (4), half the window,
// at least two segments.
func tcpRenoSsthresh(tp *tcpSock) uint32 { return max(tp.sndCwnd>>1, 2) }

// tcpSlowStart is tcp_slow_start (RFC 5681 §3.1; RFC 3465 byte counting
// with L = the whole ACK): grow by the acked segments up to ssthresh; it
// returns the acked segments left over for congestion avoidance.
func tcpSlowStart(tp *tcpSock, acked uint32) uint32 {
	cwnd := min(tp.sndCwnd+acked, tp.sndSsthresh)
	acked -= cwnd - tp.sndCwnd
	tp.sndCwnd = min(cwnd, tcpCwndClamp)
	return acked
}

// tcpCongAvoidAI is tcp_cong_avoid_ai: one segment more per w acked.
func tcpCongAvoidAI(tp *tcpSock, w, acked uint32) {
	w = max(w, 1)
	if tp.sndCwndCnt >= w {
		tp.sndCwndCnt = 0
		tp.sndCwnd++
	}
	tp.sndCwndCnt += acked
	if tp.sndCwndCnt >= w {
		delta := tp.sndCwndCnt / w
		tp.sndCwndCnt -= delta * w
		tp.sndCwnd += delta
	}
	tp.sndCwnd = min(tp.sndCwnd, tcpCwndClamp)
}

// tcpRenoCongAvoid is tcp_reno_cong_avoid: slow start below ssthresh,
// then one segment per window (RFC 5681 §3.1 eq. 3).
func tcpRenoCongAvoid(tp *tcpSock, ack, acked uint32) {
	if tp.sndCwnd < tp.sndSsthresh {
		acked = tcpSlowStart(tp, acked)
		if acked == 0 {
			return
		}
	}
	tcpCongAvoidAI(tp, tp.sndCwnd, acked)
}

// CUBIC (RFC 9438). Constants of §4.
const (
	cubicC    = 0.4
	cubicBeta = 0.7
	// α_cubic of the Reno-friendly region (§4.3): 3(1-β)/(1+β).
	cubicAlpha = 3 * (1 - cubicBeta) / (1 + cubicBeta)
)

// cubicState is struct bictcp: the epoch of the current window growth.
type cubicState struct {
	wMax       float64       // W_max: the window before the last reduction
	k          float64       // K (§4.2), seconds
	epochStart time.Duration // t=0 of the current epoch; -1 when none
	epochSet   bool
	wEst       float64 // W_est, the Reno-friendly estimate (§4.3)
}

// cubicSsthresh is RFC 9438 §4.6 with fast convergence (§4.7).
func cubicSsthresh(tp *tcpSock) uint32 {
	c := &tp.cubic
	cwnd := float64(tp.sndCwnd)
	if cwnd < c.wMax {
		c.wMax = cwnd * (1 + cubicBeta) / 2
	} else {
		c.wMax = cwnd
	}
	c.epochSet = false
	return max(uint32(cwnd*cubicBeta), 2)
}

func cubicOnLoss(tp *tcpSock) { tp.cubic.epochSet = false }

// cubicCongAvoid is bictcp_cong_avoid: slow start below ssthresh, then the
// cubic window W_cubic(t+RTT) = C(t+RTT-K)^3 + W_max (§4.2), never below the
// Reno-friendly W_est (§4.3), approached by (target-cwnd)/cwnd per ACK and
// at most 1.5 cwnd per RTT (§4.4–4.5).
func cubicCongAvoid(tp *tcpSock, ack, acked uint32) {
	if tp.sndCwnd < tp.sndSsthresh {
		acked = tcpSlowStart(tp, acked)
		if acked == 0 {
			return
		}
	}
	c := &tp.cubic
	now := tp.in.clock.Now()
	cwnd := float64(tp.sndCwnd)
	if !c.epochSet {
		c.epochSet = true
		c.epochStart = now
		if cwnd < c.wMax {
			c.k = math.Cbrt((c.wMax - cwnd) / cubicC)
		} else {
			c.k = 0
			c.wMax = cwnd
		}
		c.wEst = cwnd
	}
	t := (now - c.epochStart + tp.srtt).Seconds()
	d := t - c.k
	target := cubicC*d*d*d + c.wMax
	target = min(max(target, cwnd), 1.5*cwnd)
	c.wEst += cubicAlpha * float64(acked) / cwnd
	if c.wEst > target {
		target = c.wEst
	}
	var cnt uint32
	if target > cwnd {
		cnt = uint32(cwnd / (target - cwnd))
	} else {
		cnt = 100 * tp.sndCwnd
	}
	tcpCongAvoidAI(tp, max(cnt, 1), acked)
}
