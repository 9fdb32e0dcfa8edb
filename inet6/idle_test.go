package inet6

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

// testQueues maps a test to the in-memory queues of the hosts it built
// (newV6Host registers each host's lo and its wire), for stackIdle.
var testQueues sync.Map // testing.TB -> *testQueueSet

type testQueueSet struct {
	mu sync.Mutex
	qs []queueDriver // protected by mu
}

// registerQueues adds the drivers of a test's host that report idleness;
// others (a netem around a pair end) are left out.
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

// stackIdle waits until every queue of the test's hosts is idle at once:
// every frame sent, on the wire or through lo, has been handled, and so has
// every frame that provoked. It notes each queue's Sent before waiting for
// the queues one by one and starts again if any frame was queued meanwhile,
// since a frame handled on one queue may answer on another. Input runs on
// the receive loops and the manual clock's timers inside Advance, so at idle
// the hosts have done all that the test's last step set off. The wall-time
// bound only turns a stack that never settles into a failure.
func stackIdle(t testing.TB) {
	t.Helper()
	v, ok := testQueues.Load(t)
	if !ok {
		t.Fatal("stackIdle: the test built no host")
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
				t.Fatal("the hosts' queues never went idle")
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
