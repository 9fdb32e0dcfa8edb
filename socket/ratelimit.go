package socket

import (
	"sync"
	"time"

	"sockfs/netdev/ktime"
)

// RatelimitState is struct ratelimit_state (lib/ratelimit.c): at most
// Burst events in each Interval. The events beyond are refused and
// counted, and the count is handed to the first event of a later interval,
// which reports it (the kernel's "N callbacks suppressed") before its own
// message, so a flood costs Burst lines and one count per interval.
type RatelimitState struct {
	Interval time.Duration
	Burst    int

	mu      sync.Mutex
	begin   time.Duration // protected by mu: the current interval's start
	started bool          // protected by mu: begin is set
	printed int           // protected by mu: events let through since begin
	missed  int           // protected by mu: events refused since begin
}

// Ratelimit is ___ratelimit at time now: whether this event may be
// reported, and how many were refused in the interval that has just
// ended (nonzero only for the first event after it).
func (rs *RatelimitState) Ratelimit(now time.Duration) (ok bool, suppressed int) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !rs.started {
		rs.begin, rs.started = now, true
	}
	if now-rs.begin >= rs.Interval {
		suppressed = rs.missed
		rs.begin, rs.printed, rs.missed = now, 0, 0
	}
	if rs.printed < rs.Burst {
		rs.printed++
		return true, suppressed
	}
	rs.missed++
	return false, suppressed
}

// idle reports that the interval begun before now has ended with nothing
// left to report, so the state can be dropped and made afresh later.
func (rs *RatelimitState) idle(now time.Duration) bool {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return now-rs.begin >= rs.Interval && rs.missed == 0
}

// net_ratelimit's defaults: net.core.message_cost and message_burst.
const (
	NetMsgCost  = 5 * time.Second
	NetMsgBurst = 10
)

// netRatelimitKeys bounds how many keys a NetRatelimit tracks at once;
// past it, idle states are dropped, and if none is idle the new keys share
// one state.
const netRatelimitKeys = 1024

// NetRatelimit is net_ratelimit (net/core/utils.c) with one
// ratelimit_state per key instead of one for the whole kernel: keyed by
// the user a message is on behalf of, one user's flood of bad requests
// uses up that user's burst and nobody else's.
type NetRatelimit[K comparable] struct {
	clock ktime.Clock

	mu       sync.Mutex
	states   map[K]*RatelimitState // protected by mu
	overflow RatelimitState        // shared by new keys when states is full
}

// NewNetRatelimit returns a limiter with net_ratelimit's interval and
// burst on clock.
func NewNetRatelimit[K comparable](clock ktime.Clock) *NetRatelimit[K] {
	return &NetRatelimit[K]{
		clock:    clock,
		states:   make(map[K]*RatelimitState),
		overflow: RatelimitState{Interval: NetMsgCost, Burst: NetMsgBurst},
	}
}

// Ratelimit is net_ratelimit for key: whether its message may go to the
// log, and how many of key's messages were suppressed before it.
func (r *NetRatelimit[K]) Ratelimit(key K) (ok bool, suppressed int) {
	now := r.clock.Now()
	return r.state(key, now).Ratelimit(now)
}

func (r *NetRatelimit[K]) state(key K, now time.Duration) *RatelimitState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rs, ok := r.states[key]; ok {
		return rs
	}
	if len(r.states) >= netRatelimitKeys {
		for k, rs := range r.states {
			if rs.idle(now) {
				delete(r.states, k)
			}
		}
		if len(r.states) >= netRatelimitKeys {
			return &r.overflow
		}
	}
	rs := &RatelimitState{Interval: NetMsgCost, Burst: NetMsgBurst}
	r.states[key] = rs
	return rs
}
