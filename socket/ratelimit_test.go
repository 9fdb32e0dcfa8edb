package socket

import (
	"testing"
	"time"

	"sockfs/netdev/ktime"
)

func TestRatelimitStateBurstThenCount(t *testing.T) {
	clock := ktime.NewManual()
	rs := &RatelimitState{Interval: 5 * time.Second, Burst: 3}
	for i := range 3 {
		if ok, missed := rs.Ratelimit(clock.Now()); !ok || missed != 0 {
			t.Fatalf("event %d: ok=%v missed=%d, want through", i, ok, missed)
		}
	}
	clock.Advance(time.Second)
	for i := range 7 {
		if ok, missed := rs.Ratelimit(clock.Now()); ok || missed != 0 {
			t.Fatalf("event %d past the burst: ok=%v missed=%d", i, ok, missed)
		}
	}
	// Still inside the interval (it runs from the first event).
	clock.Advance(3*time.Second + 999*time.Millisecond)
	if ok, _ := rs.Ratelimit(clock.Now()); ok {
		t.Fatal("let through before the interval ended")
	}
	clock.Advance(time.Millisecond)
	// The first event of the next interval goes, carrying the count.
	if ok, missed := rs.Ratelimit(clock.Now()); !ok || missed != 8 {
		t.Fatalf("next interval: ok=%v missed=%d, want true 8", ok, missed)
	}
	// and the count is reported once.
	if ok, missed := rs.Ratelimit(clock.Now()); !ok || missed != 0 {
		t.Fatalf("second of the interval: ok=%v missed=%d", ok, missed)
	}
	// A quiet interval reports nothing.
	clock.Advance(time.Minute)
	if ok, missed := rs.Ratelimit(clock.Now()); !ok || missed != 0 {
		t.Fatalf("after a quiet minute: ok=%v missed=%d", ok, missed)
	}
}

func TestNetRatelimitPerKey(t *testing.T) {
	clock := ktime.NewManual()
	r := NewNetRatelimit[uint32](clock)
	passed := func(key uint32, n int) int {
		got := 0
		for range n {
			if ok, _ := r.Ratelimit(key); ok {
				got++
			}
		}
		return got
	}
	if got := passed(1000, 1000); got != NetMsgBurst {
		t.Fatalf("uid 1000 flood: %d through, want the burst %d", got, NetMsgBurst)
	}
	// Another user's messages are not silenced by the first's flood.
	if got := passed(1001, 3); got != 3 {
		t.Fatalf("uid 1001 after 1000's flood: %d of 3 through", got)
	}
	clock.Advance(NetMsgCost)
	if ok, missed := r.Ratelimit(1000); !ok || missed != 1000-NetMsgBurst {
		t.Fatalf("uid 1000 next interval: ok=%v missed=%d", ok, missed)
	}
	if ok, missed := r.Ratelimit(1001); !ok || missed != 0 {
		t.Fatalf("uid 1001 next interval: ok=%v missed=%d", ok, missed)
	}
}

func TestNetRatelimitBoundedKeys(t *testing.T) {
	clock := ktime.NewManual()
	r := NewNetRatelimit[int](clock)
	for k := range netRatelimitKeys {
		r.Ratelimit(k)
	}
	// Every state is busy: a new key shares the overflow state, whose
	// burst bounds what all such keys log together.
	through := 0
	for k := netRatelimitKeys; k < netRatelimitKeys+100; k++ {
		if ok, _ := r.Ratelimit(k); ok {
			through++
		}
	}
	if through != NetMsgBurst || len(r.states) != netRatelimitKeys {
		t.Fatalf("overflow keys: %d through, %d states", through, len(r.states))
	}
	// Once the interval has passed the idle states are dropped and a new
	// key gets a state of its own.
	clock.Advance(NetMsgCost)
	if ok, _ := r.Ratelimit(-1); !ok || len(r.states) != 1 {
		t.Fatalf("after the interval: ok=%v, %d states", ok, len(r.states))
	}
}
