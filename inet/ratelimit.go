package inet

import (
	"sync"
	"time"
)

// ratelimitState is struct ratelimit_state (lib/ratelimit.c): at most burst
// events per interval; what is refused in an interval is counted and
// reported with the first event allowed after it ("N callbacks
// suppressed"), so a flood leaves one line a window, not one per packet.
type ratelimitState struct {
	interval time.Duration
	burst    int

	mu      sync.Mutex
	begin   time.Duration // protected by mu; start of the current window
	printed int           // protected by mu; events allowed in it
	missed  int           // protected by mu; events refused since the last report
	started bool          // protected by mu
}

// Linux's net_ratelimit_state: net.core.message_cost (5 s) and
// net.core.message_burst (10).
const (
	netMsgCost  = 5 * time.Second
	netMsgBurst = 10
)

// allow is ___ratelimit: whether one more event may be reported now, and
// how many were suppressed before it (to report with it, then reset).
func (rs *ratelimitState) allow(now time.Duration) (ok bool, suppressed int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !rs.started || now-rs.begin >= rs.interval {
		rs.started = true
		rs.begin = now
		rs.printed = 0
	}
	if rs.printed >= rs.burst {
		rs.missed++
		return false, 0
	}
	rs.printed++
	suppressed, rs.missed = rs.missed, 0
	return true, suppressed
}

// netRatelimit is net_ratelimit: the namespace's limit on messages that
// packets from the network can trigger (martian logs, ARP conflicts). A
// message it allows goes to the daemon's log, preceded by a count of the
// ones it suppressed.
func (in *Net) netRatelimit() bool {
	ok, suppressed := in.netRL.allow(in.clock.Now())
	if ok && suppressed > 0 {
		in.logf("net_ratelimit: %d callbacks suppressed", suppressed)
	}
	return ok
}

// logf writes one line to the daemon's log (printk); a stack without a
// logger (SetLogf never called) drops it.
func (in *Net) logf(format string, args ...any) {
	if f := in.logFn; f != nil {
		f(format, args...)
	}
}

// SetLogf gives the stack the daemon's logger; call it before traffic.
func (in *Net) SetLogf(f func(format string, args ...any)) { in.logFn = f }
