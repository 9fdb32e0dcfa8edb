package netdev

import (
	"net"
	"sync"
	"sync/atomic"
)

// TxQueueLen is the default txqueuelen of the in-memory devices, as the
// kernel gives Ethernet devices (DEFAULT_TX_QUEUE_LEN).
const TxQueueLen = 1000

// rxRing is the receive side of the in-memory devices: frames copied in by a
// transmitter and delivered in order by the device's one receive loop. It is
// what the backlog queue (softnet_data.input_pkt_queue) is to loopback_xmit
// in drivers/net/loopback.c: Xmit never calls rx itself, so a protocol that
// transmits while holding its locks cannot deadlock on its own input.
type rxRing struct {
	limit int
	wake  chan struct{} // capacity 1: a frame was queued since the loop last looked
	done  chan struct{} // closed by close

	mu     sync.Mutex
	q      SkbQueue // protected by mu
	closed bool     // protected by mu

	delivered, dropped atomic.Uint64

	// flight, when set, counts this ring's frames from enqueue until its
	// receive loop has handed them up (a pair's shared count, a loopback's
	// own).
	flight *inFlight
}

func newRxRing(limit int) *rxRing {
	if limit <= 0 {
		limit = TxQueueLen
	}
	return &rxRing{limit: limit, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue copies skb's frame onto the ring. A full ring drops the frame and
// still reports success, as a qdisc drop does: the sender's device counts
// the frame as sent and the loss shows in the dropped counter.
func (r *rxRing) enqueue(skb *SkBuff) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return net.ErrClosed
	}
	if r.q.Len() >= r.limit {
		r.mu.Unlock()
		r.dropped.Add(1)
		return nil
	}
	r.q.QueueTail(skb.Copy())
	r.flight.add(1)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default: // the loop has a wake-up pending already
	}
	return nil
}

// receive is the receive loop: deliver queued frames in order until close.
func (r *rxRing) receive(rx func(*SkBuff)) error {
	for {
		r.mu.Lock()
		skb := r.q.Dequeue()
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return nil
		}
		if skb != nil {
			r.delivered.Add(1)
			rx(skb)
			r.flight.add(-1)
			continue
		}
		select {
		case <-r.wake:
		case <-r.done:
		}
	}
}

// close ends receive and frees what is still queued. It is idempotent.
func (r *rxRing) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	r.flight.add(-r.q.Len())
	r.q.Purge()
	close(r.done)
}

var _ Driver = (*Loopback)(nil)

// Loopback is the loopback driver (drivers/net/loopback.c): every frame sent
// is received again by the same device, in order, through a bounded queue.
type Loopback struct {
	ring *rxRing
}

// NewLoopback returns a loopback driver with a queue of TxQueueLen frames.
func NewLoopback() *Loopback {
	r := newRxRing(TxQueueLen)
	r.flight = &inFlight{}
	return &Loopback{ring: r}
}

// Xmit is loopback_xmit: it copies the frame onto the receive queue. A full
// queue drops the frame (counted by Dropped) and returns nil; after Close it
// returns net.ErrClosed.
func (l *Loopback) Xmit(skb *SkBuff) error { return l.ring.enqueue(skb) }

// Receive delivers the looped frames in order until Close, then returns nil.
func (l *Loopback) Receive(rx func(*SkBuff)) error { return l.ring.receive(rx) }

// Close ends Receive and frees the queued frames.
func (l *Loopback) Close() error {
	l.ring.close()
	return nil
}

// Dropped is the number of frames dropped because the queue was full.
func (l *Loopback) Dropped() uint64 { return l.ring.dropped.Load() }

// Delivered is the number of frames Receive handed up.
func (l *Loopback) Delivered() uint64 { return l.ring.delivered.Load() }

// Idle returns a channel that is closed once the queue is empty and the
// receive loop is not handing a frame up. A frame that the input of a looped
// frame sends back through lo is queued before the first is counted done, so
// an exchange that stays on lo (a connection to ourselves) leaves it idle
// only when it has run its course. Tests wait on it, as on PairEnd.Idle,
// instead of on wall time.
func (l *Loopback) Idle() <-chan struct{} { return l.ring.flight.idle() }

// Sent returns a channel that is closed when the next frame is queued. Taken
// before a check of Idle, it tells a waiter whether anything was sent since.
func (l *Loopback) Sent() <-chan struct{} { return l.ring.flight.sent() }
