package inet

import (
	"sync"
	"testing"
	"time"

	"sockfs/netdev"
)

// queueDriver is an in-memory driver that reports when its frames have all
// been handed up: a netdev.PairEnd (for both ends of its wire) or a
// netdev.Loopback.
type queueDriver interface {
	Idle() <-chan struct{}
	Sent() <-chan struct{}
}

var (
	_ queueDriver = (*netdev.PairEnd)(nil)
	_ queueDriver = (*netdev.Loopback)(nil)
)

// testQueues maps a test to the in-memory queues of the stacks it built
// (newTestHost registers each host's lo and its wire), for stackIdle.
var testQueues sync.Map // testing.TB -> *testQueueSet

type testQueueSet struct {
	mu sync.Mutex
	qs []queueDriver // protected by mu
}

// registerQueues adds the drivers of a test's stack that report idleness;
// others (a netem or a gate around a pair end) are left out.
func registerQueues(t testing.TB, drvs ...netdev.Driver) {
	v, loaded := testQueues.LoadOrStore(t, &testQueueSet{})
	if !loaded {
		t.Cleanup(func() { testQueues.Delete(t) })
	}
	set := v.(*testQueueSet)
	set.mu.Lock()
	defer set.mu.Unlock()
	for _, d := range drvs {
		if q, ok := d.(queueDriver); ok {
			set.qs = append(set.qs, q)
		}
	}
}

// stackIdle waits until every queue of the test's stacks is idle at once:
// every frame sent, on the wire or through lo, has been handled, and so has
// every frame that provoked. It notes each queue's Sent before waiting for
// the queues one by one and starts again if any frame was queued meanwhile,
// since a frame handled on one queue may answer on another. Input runs on
// the receive loops and the manual clock's timers inside Advance, so at idle
// the stacks have done all that the test's last step set off. The wall-time
// bound only turns a stack that never settles (a packet loop) into a
// failure.
func stackIdle(t testing.TB, what string) {
	t.Helper()
	v, ok := testQueues.Load(t)
	if !ok {
		t.Fatalf("stackIdle(%s): the test built no stack", what)
	}
	set := v.(*testQueueSet)
	set.mu.Lock()
	qs := append([]queueDriver(nil), set.qs...)
	set.mu.Unlock()
	bound := time.NewTimer(10 * time.Second)
	defer bound.Stop()
	sent := make([]<-chan struct{}, len(qs))
	for {
		for i, q := range qs {
			sent[i] = q.Sent()
		}
		for _, q := range qs {
			select {
			case <-q.Idle():
			case <-bound.C:
				t.Fatalf("%s: the stacks' queues never went idle", what)
			}
		}
		quiet := true
		for _, s := range sent {
			select {
			case <-s:
				quiet = false
			default:
			}
		}
		if quiet {
			return
		}
	}
}

// idleCheck waits for the stacks to go idle and fails the test unless cond
// then holds: for effects of frames in flight that no socket wakes on.
func idleCheck(t testing.TB, what string, cond func() bool) {
	t.Helper()
	stackIdle(t, what)
	if !cond() {
		t.Fatalf("%s: not so once the stacks went idle", what)
	}
}
