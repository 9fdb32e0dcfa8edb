package inet6

import (
	"sync"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/netdevtest"
)

// testQueues maps a test to the in-memory queues of the hosts it built
// (newV6Host registers each host's lo and its wire), for stackIdle.
var testQueues sync.Map // testing.TB -> *netdevtest.Queues

// registerQueues adds the drivers of a test's host that report idleness.
func registerQueues(t testing.TB, drvs ...netdev.Driver) {
	v, loaded := testQueues.LoadOrStore(t, &netdevtest.Queues{})
	if !loaded {
		t.Cleanup(func() { testQueues.Delete(t) })
	}
	v.(*netdevtest.Queues).Add(drvs...)
}

// stackIdle waits until every queue of the test's hosts is idle at once
// (netdevtest.Queues.WaitIdle).
func stackIdle(t testing.TB) {
	t.Helper()
	v, ok := testQueues.Load(t)
	if !ok {
		t.Fatal("stackIdle: the test built no host")
	}
	if err := v.(*netdevtest.Queues).WaitIdle(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}
