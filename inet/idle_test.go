package inet

import (
	"sync"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/netdevtest"
)

// testQueues maps a test to the in-memory queues of the stacks it built
// (newTestHost registers each host's lo and its wire), for stackIdle.
var testQueues sync.Map // testing.TB -> *netdevtest.Queues

// registerQueues adds the drivers of a test's stack that report idleness.
func registerQueues(t testing.TB, drvs ...netdev.Driver) {
	v, loaded := testQueues.LoadOrStore(t, &netdevtest.Queues{})
	if !loaded {
		t.Cleanup(func() { testQueues.Delete(t) })
	}
	v.(*netdevtest.Queues).Add(drvs...)
}

// stackIdle waits until every queue of the test's stacks is idle at once
// (netdevtest.Queues.WaitIdle).
func stackIdle(t testing.TB, what string) {
	t.Helper()
	v, ok := testQueues.Load(t)
	if !ok {
		t.Fatalf("stackIdle(%s): the test built no stack", what)
	}
	if err := v.(*netdevtest.Queues).WaitIdle(10 * time.Second); err != nil {
		t.Fatalf("%s: %v", what, err)
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
