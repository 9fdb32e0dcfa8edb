// Package netdevtest helps tests of the protocol packages wait on the
// in-memory devices instead of on wall time: a set of queues (pair wires
// and loopbacks) that can be waited on until every frame sent, and every
// frame that provoked, has been handled.
package netdevtest

import (
	"errors"
	"sync"
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

// Queues is the set of in-memory queues of the stacks one test built.
type Queues struct {
	mu sync.Mutex
	qs []queueDriver // protected by mu
}

// Add adds the drivers that report idleness; others (a netem or a gate
// around a pair end) are left out.
func (s *Queues) Add(drvs ...netdev.Driver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range drvs {
		if q, ok := d.(queueDriver); ok {
			s.qs = append(s.qs, q)
		}
	}
}

// ErrNotIdle is WaitIdle's answer when the queues did not settle in time.
var ErrNotIdle = errors.New("the stacks' queues never went idle")

// WaitIdle waits until every queue is idle at once: every frame sent, on
// the wire or through lo, has been handled, and so has every frame that
// provoked. It notes each queue's Sent before waiting for the queues one by
// one and starts again if any frame was queued meanwhile, since a frame
// handled on one queue may answer on another. Input runs on the receive
// loops and a manual clock's timers inside Advance, so at idle the stacks
// have done all that the test's last step set off. bound, in wall time,
// only turns a stack that never settles (a packet loop) into ErrNotIdle.
func (s *Queues) WaitIdle(bound time.Duration) error {
	s.mu.Lock()
	qs := append([]queueDriver(nil), s.qs...)
	s.mu.Unlock()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	sent := make([]<-chan struct{}, len(qs))
	for {
		for i, q := range qs {
			sent[i] = q.Sent()
		}
		for _, q := range qs {
			select {
			case <-q.Idle():
			case <-timer.C:
				return ErrNotIdle
			}
		}
		quiet := true
		for _, c := range sent {
			select {
			case <-c:
				quiet = false
			default:
			}
		}
		if quiet {
			return nil
		}
	}
}
