package socket

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"sockfs/netdev/ktime"
)

// WaitQueue is a wait_queue_head_t: sleepers wait on a channel that WakeUp
// closes, and pollers register a callback (the FUSE poll wakeup) that WakeUp
// calls. A queue nobody waits on costs one mutex on WakeUp and no allocation.
type WaitQueue struct {
	mu      sync.Mutex
	ch      chan struct{} // closed by WakeUp; nil while nobody sleeps
	pollers map[uint64]func()

	sleepers atomic.Int32 // tasks asleep in WaitEvent
}

// Sleepers is how many tasks sleep in WaitEvent on the queue
// (waitqueue_active counts them): a test knows from it that a blocking call
// has taken its deadline and sleeps, before it moves a manual clock.
func (wq *WaitQueue) Sleepers() int { return int(wq.sleepers.Load()) }

// Prepare returns the channel the next WakeUp closes (prepare_to_wait). Take
// it before testing the condition, under the lock that guards the condition,
// so that no wakeup between the test and the sleep is lost.
func (wq *WaitQueue) Prepare() <-chan struct{} {
	wq.mu.Lock()
	if wq.ch == nil {
		wq.ch = make(chan struct{})
	}
	ch := wq.ch
	wq.mu.Unlock()
	return ch
}

// WakeUp wakes every sleeper and calls every registered poller once.
func (wq *WaitQueue) WakeUp() {
	wq.mu.Lock()
	if wq.ch != nil {
		close(wq.ch)
		wq.ch = nil
	}
	var fns []func()
	if len(wq.pollers) > 0 {
		fns = make([]func(), 0, len(wq.pollers))
		for k, fn := range wq.pollers {
			fns = append(fns, fn)
			delete(wq.pollers, k)
		}
	}
	wq.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// AddPoller registers fn under key to be called at the next WakeUp (poll_wait
// with a one-shot entry, as FUSE poll wakeups are one-shot). A later call
// with the same key replaces the earlier one.
func (wq *WaitQueue) AddPoller(key uint64, fn func()) {
	wq.mu.Lock()
	if wq.pollers == nil {
		wq.pollers = make(map[uint64]func())
	}
	wq.pollers[key] = fn
	wq.mu.Unlock()
}

// RemovePoller drops the poller registered under key, if any.
func (wq *WaitQueue) RemovePoller(key uint64) {
	wq.mu.Lock()
	delete(wq.pollers, key)
	wq.mu.Unlock()
}

// Deadline is when a blocking call gives up (the kernel's timeo, counted in
// jiffies): a point on the namespace's ktime.Clock, so that SO_RCVTIMEO,
// SO_SNDTIMEO and SO_LINGER expire on the same clock as every protocol timer
// and a test's manual clock drives them too. The zero Deadline never expires.
type Deadline struct {
	clock ktime.Clock // nil: no timeout
	at    time.Duration
}

// DeadlineAfter returns the deadline d from now on clock; d <= 0 means no
// timeout, as a zero sk_rcvtimeo means MAX_SCHEDULE_TIMEOUT.
func DeadlineAfter(clock ktime.Clock, d time.Duration) Deadline {
	if d <= 0 {
		return Deadline{}
	}
	return Deadline{clock: clock, at: clock.Now() + d}
}

// Wait sleeps on ch until it is closed, ctx ends (EINTR: the FUSE request was
// interrupted, as a signal ends a sleeping system call) or the deadline
// passes (EAGAIN, as SO_RCVTIMEO/SO_SNDTIMEO expiry).
func Wait(ctx context.Context, ch <-chan struct{}, deadline Deadline) error {
	expired, t, err := deadline.arm()
	if err != nil {
		return err
	}
	if t != nil {
		defer t.Stop()
	}
	return sleepOn(ctx, ch, expired)
}

// arm is the first half of schedule_timeout: a timer on the deadline's
// clock that closes expired when the deadline passes (no timer and a nil
// channel, which never fires, for the zero Deadline; EAGAIN if it has
// passed already). WaitEvent arms before it counts itself a sleeper, so a
// test that advances a manual clock once Sleepers is nonzero finds the
// timer armed at the deadline, not after it.
func (d Deadline) arm() (expired chan struct{}, t ktime.Timer, err error) {
	if d.clock == nil {
		return nil, nil, nil
	}
	left := d.at - d.clock.Now()
	if left <= 0 {
		return nil, nil, EAGAIN
	}
	expired = make(chan struct{})
	return expired, d.clock.AfterFunc(left, func() { close(expired) }), nil
}

// sleepOn is the sleep itself: woken (nil), interrupted (EINTR) or timed
// out (EAGAIN).
func sleepOn(ctx context.Context, ch <-chan struct{}, expired <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return EINTR
	case <-expired:
		return EAGAIN
	}
}
