package socket

import (
	"context"
	"sync"
	"time"
)

// WaitQueue is a wait_queue_head_t: sleepers wait on a channel that WakeUp
// closes, and pollers register a callback (the FUSE poll wakeup) that WakeUp
// calls. A queue nobody waits on costs one mutex on WakeUp and no allocation.
type WaitQueue struct {
	mu      sync.Mutex
	ch      chan struct{} // closed by WakeUp; nil while nobody sleeps
	pollers map[uint64]func()
}

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

// Wait sleeps on ch until it is closed, ctx ends (EINTR: the FUSE request was
// interrupted, as a signal ends a sleeping system call) or the deadline
// passes (EAGAIN, as SO_RCVTIMEO/SO_SNDTIMEO expiry). A zero deadline means
// no timeout.
func Wait(ctx context.Context, ch <-chan struct{}, deadline time.Time) error {
	if deadline.IsZero() {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return EINTR
		}
	}
	d := time.Until(deadline)
	if d <= 0 {
		return EAGAIN
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return EINTR
	case <-t.C:
		return EAGAIN
	}
}
