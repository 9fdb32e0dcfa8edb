package netdev

import "sync"

var _ Driver = (*PairEnd)(nil)

// PairEnd is one end of an in-memory Ethernet wire, the test counterpart of
// a veth pair (drivers/net/veth.c): what one end transmits the other end's
// receive loop delivers, in order, through a bounded queue. Two stacks joined
// by a pair talk to each other without root, a TAP or a kernel.
type PairEnd struct {
	ring *rxRing // frames sent to this end
	peer *PairEnd
}

// NewPair returns the two ends of a wire. Each end queues at most queueLen
// frames for its receive loop (TxQueueLen if queueLen <= 0); frames beyond
// that are dropped.
func NewPair(queueLen int) (a, b *PairEnd) {
	a = &PairEnd{ring: newRxRing(queueLen)}
	b = &PairEnd{ring: newRxRing(queueLen)}
	f := &inFlight{}
	a.ring.flight, b.ring.flight = f, f
	a.peer, b.peer = b, a
	return a, b
}

// Xmit copies the frame onto the peer's receive queue; it never calls the
// peer's rx itself, so a sender holding protocol locks cannot deadlock on
// the peer's input. A full queue drops the frame (the peer's Dropped counts
// it) and returns nil; after Close it returns net.ErrClosed.
func (e *PairEnd) Xmit(skb *SkBuff) error { return e.peer.ring.enqueue(skb) }

// Receive delivers the frames the peer sent, in order, until either end is
// closed, then returns nil.
func (e *PairEnd) Receive(rx func(*SkBuff)) error { return e.ring.receive(rx) }

// Close cuts the wire: both ends' Receive loops return and frames still
// queued are freed.
func (e *PairEnd) Close() error {
	e.ring.close()
	e.peer.ring.close()
	return nil
}

// Delivered is the number of frames this end's Receive handed up.
func (e *PairEnd) Delivered() uint64 { return e.ring.delivered.Load() }

// Dropped is the number of frames sent to this end that were dropped because
// its receive queue was full.
func (e *PairEnd) Dropped() uint64 { return e.ring.dropped.Load() }

// Idle returns a channel that is closed once the wire is idle: no frame is
// queued at either end and neither receive loop is handing one up. A frame
// that one end's input answers is queued before the frame that caused it is
// counted done, so the wire goes idle only when the exchange has run its
// course. Tests wait on it, instead of on wall time, for the peer's stack to
// have processed what was sent; frames held by a timer (netem delay, a
// retransmission) are not on the wire until the timer fires.
func (e *PairEnd) Idle() <-chan struct{} { return e.ring.flight.idle() }

// Sent returns a channel that is closed when the next frame is queued on the
// wire, either way. Taken before a check of Idle, it lets a waiter sleep
// until something new happens without missing a frame sent in between.
func (e *PairEnd) Sent() <-chan struct{} { return e.ring.flight.sent() }

// inFlight counts the frames on a pair's wire, both directions, or on a
// loopback's queue.
type inFlight struct {
	mu     sync.Mutex
	n      int           // protected by mu
	idleCh chan struct{} // protected by mu; closed when n drops to zero
	sentCh chan struct{} // protected by mu; closed at the next enqueue
}

func (f *inFlight) add(d int) {
	if f == nil || d == 0 {
		return
	}
	f.mu.Lock()
	f.n += d
	if d > 0 && f.sentCh != nil {
		close(f.sentCh)
		f.sentCh = nil
	}
	if f.n == 0 && f.idleCh != nil {
		close(f.idleCh)
		f.idleCh = nil
	}
	f.mu.Unlock()
}

func (f *inFlight) sent() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sentCh == nil {
		f.sentCh = make(chan struct{})
	}
	return f.sentCh
}

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (f *inFlight) idle() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return closedCh
	}
	if f.idleCh == nil {
		f.idleCh = make(chan struct{})
	}
	return f.idleCh
}
