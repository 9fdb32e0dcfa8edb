package netdev

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
