// Package ktime is the stack's clock and timers: the kernel's jiffies,
// ktime_get and struct timer_list. Everything that keeps time (TCP's
// retransmission, delayed-ACK, keepalive and TIME_WAIT timers, ARP expiry,
// fragment reassembly, netem delay) takes a Clock, so that tests can run
// with a manual clock and Advance it instead of sleeping.
package ktime

import (
	"container/heap"
	"sync"
	"time"
)

// Clock tells the time and runs timers.
type Clock interface {
	// Now is ktime_get: monotonic time since the clock's start.
	Now() time.Duration
	// AfterFunc arms a timer that runs f in its own goroutine (a timer
	// softirq) after d. The returned Timer can be stopped and re-armed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is an armed timer_list.
type Timer interface {
	// Stop is del_timer: it reports whether the timer was pending.
	Stop() bool
	// Reset is mod_timer: re-arm to fire d from now.
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{ start time.Time }

// NewReal returns a clock whose Now counts from now.
func NewReal() *Real { return &Real{start: time.Now()} }

func (c *Real) Now() time.Duration { return time.Since(c.start) }

func (c *Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Manual is a clock that moves only when Advance is called; timers that come
// due run synchronously inside Advance, in deadline order.
type Manual struct {
	mu     sync.Mutex
	now    time.Duration
	timers timerHeap
	seq    uint64
}

// NewManual returns a manual clock at time zero.
func NewManual() *Manual { return &Manual{} }

func (c *Manual) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arms a timer on the manual clock.
func (c *Manual) AfterFunc(d time.Duration, f func()) Timer {
	t := &manualTimer{c: c, f: f, index: -1}
	t.Reset(d)
	return t
}

// Advance moves the clock forward by d, running each timer that comes due at
// its own deadline.
func (c *Manual) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now + d
	for len(c.timers) > 0 && c.timers[0].when <= end {
		t := heap.Pop(&c.timers).(*manualTimer)
		if t.when > c.now {
			c.now = t.when
		}
		f := t.f
		c.mu.Unlock()
		f()
		c.mu.Lock()
	}
	c.now = end
	c.mu.Unlock()
}

// Pending returns how many timers are armed (for tests that check that a
// released socket leaves none behind).
func (c *Manual) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

type manualTimer struct {
	c     *Manual
	f     func()
	when  time.Duration
	seq   uint64
	index int // in the heap; -1 when not pending
}

func (t *manualTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	return true
}

func (t *manualTimer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	was := t.index >= 0
	if was {
		heap.Remove(&c.timers, t.index)
	}
	t.when = c.now + d
	c.seq++
	t.seq = c.seq
	heap.Push(&c.timers, t)
	return was
}

type timerHeap []*manualTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when != h[j].when {
		return h[i].when < h[j].when
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*manualTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
