package netdev

import "sync"

// SkBuff is struct sk_buff: one packet in a buffer with headroom, so each
// layer on the way out pushes its header in place in front of the payload,
// and each layer on the way in pulls its header off, without copying.
//
//	buf: [ headroom | data ... | tailroom ]
//	               ^data      ^tail
//
// After Parse-style validation by the layer that owns a header, views over
// Data() alias the buffer; nothing is copied between layers.
type SkBuff struct {
	next, prev *SkBuff // sk_buff_head links
	list       *SkbQueue

	buf        []byte
	data, tail int
	pool       *sync.Pool

	Dev      *NetDevice
	Protocol uint16 // skb->protocol: the EtherType, host order

	// IPSummed is skb->ip_summed: what is already known of the transport
	// checksum. CHECKSUM_NONE: nothing, the protocol verifies it.
	// CHECKSUM_UNNECESSARY: a device verified it (virtio-net DATA_VALID).
	// CHECKSUM_PARTIAL: the sender left it for an offload to complete
	// (virtio-net NEEDS_CSUM), so the field holds only the pseudo-header
	// sum; such a frame came through memory from the host's own stack, with
	// no wire to corrupt it, and is taken as sound (skb_csum_unnecessary).
	IPSummed uint8
	// GsoSize is skb_shinfo(skb)->gso_size: the wire segment size of a
	// super-frame that stands for several segments (GRO- or TSO-built), 0
	// for a frame that is one segment.
	GsoSize int

	// Header offsets into the buffer, set by the layer that parsed or
	// built each header (skb_reset_network_header etc.).
	MacHeader, NetworkHeader, TransportHeader int

	// Cb is the control buffer (skb->cb) of the layer that owns the skb;
	// TCP keeps TCP_SKB_CB there.
	Cb SkbCb
}

// SkbCb is the control block's fields, as TCP_SKB_CB and inet_skb_parm use
// them.
type SkbCb struct {
	Seq, EndSeq uint32
	TCPFlags    uint8
	Sacked      uint8 // TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS, TCPCB_LOST
	Retrans     uint8
	GsoSegs     uint16 // tcp_skb_pcount: the MSS-sized segments a sent skb stands for
	When        int64  // transmit time, ns on the stack's clock
	TxDelivered uint32
	Ttl, Tos    uint8
}

// skb->ip_summed values (include/linux/skbuff.h).
const (
	CHECKSUM_NONE        = 0
	CHECKSUM_UNNECESSARY = 1
	CHECKSUM_COMPLETE    = 2
	CHECKSUM_PARTIAL     = 3
)

// CsumUnnecessary is skb_csum_unnecessary: the transport checksum need not
// be verified.
func (skb *SkBuff) CsumUnnecessary() bool {
	return skb.IPSummed == CHECKSUM_UNNECESSARY || skb.IPSummed == CHECKSUM_PARTIAL
}

// Buffer size classes. Every skb has MaxHeader of headroom for Ethernet +
// IPv4 + TCP with options, so output never reallocates.
const (
	MaxHeader   = 128
	smallBuf    = 2048
	largeBuf    = 65536 + MaxHeader + 256
	skbClassMax = largeBuf
)

var (
	smallPool = sync.Pool{New: func() any { return &SkBuff{buf: make([]byte, smallBuf)} }}
	largePool = sync.Pool{New: func() any { return &SkBuff{buf: make([]byte, largeBuf)} }}
)

// AllocSkb is alloc_skb: a buffer with room for size bytes plus MaxHeader of
// headroom, already reserved. Sizes beyond the largest pooled class are
// allocated exactly.
func AllocSkb(size int) *SkBuff {
	var skb *SkBuff
	switch need := size + MaxHeader; {
	case need <= smallBuf:
		skb = smallPool.Get().(*SkBuff)
		skb.pool = &smallPool
	case need <= largeBuf:
		skb = largePool.Get().(*SkBuff)
		skb.pool = &largePool
	default:
		skb = &SkBuff{buf: make([]byte, need)}
	}
	skb.data, skb.tail = MaxHeader, MaxHeader
	return skb
}

// Free is kfree_skb: the buffer goes back to its pool. The skb must not be
// on a queue and must not be used again.
func (skb *SkBuff) Free() {
	if skb == nil {
		return
	}
	if skb.list != nil {
		panic("netdev: freeing an skb still on a queue")
	}
	p := skb.pool
	buf := skb.buf
	*skb = SkBuff{buf: buf}
	if p != nil {
		p.Put(skb)
	}
}

// Data returns the bytes from data to tail.
func (skb *SkBuff) Data() []byte { return skb.buf[skb.data:skb.tail] }

// Len is skb->len.
func (skb *SkBuff) Len() int { return skb.tail - skb.data }

// Headroom is skb_headroom.
func (skb *SkBuff) Headroom() int { return skb.data }

// Tailroom is skb_tailroom.
func (skb *SkBuff) Tailroom() int { return len(skb.buf) - skb.tail }

// Reserve is skb_reserve: move an empty skb's data and tail forward by n.
func (skb *SkBuff) Reserve(n int) {
	skb.data += n
	skb.tail += n
}

// Push is skb_push: grow the data n bytes to the front and return them.
func (skb *SkBuff) Push(n int) []byte {
	if n > skb.data {
		panic("netdev: skb_push under headroom")
	}
	skb.data -= n
	return skb.buf[skb.data : skb.data+n]
}

// Pull is skb_pull: drop n bytes from the front, returning them; nil if the
// skb is shorter than n.
func (skb *SkBuff) Pull(n int) []byte {
	if n > skb.tail-skb.data {
		return nil
	}
	b := skb.buf[skb.data : skb.data+n]
	skb.data += n
	return b
}

// Put is skb_put: grow the data n bytes at the end and return them.
func (skb *SkBuff) Put(n int) []byte {
	if skb.tail+n > len(skb.buf) {
		panic("netdev: skb_put over tailroom")
	}
	b := skb.buf[skb.tail : skb.tail+n]
	skb.tail += n
	return b
}

// Trim is skb_trim: cut the data to n bytes (n <= Len).
func (skb *SkBuff) Trim(n int) {
	if n < skb.tail-skb.data {
		skb.tail = skb.data + n
	}
}

// SetHeadroom moves the start of data to offset h of the buffer, keeping the
// tail: how a layer that pushed headers for one transmission takes them off
// again (TCP reuses a queued skb for each retransmission).
func (skb *SkBuff) SetHeadroom(h int) { skb.data = h }

// Offset returns the buffer offset of data (for header offsets).
func (skb *SkBuff) Offset() int { return skb.data }

// At returns the bytes from buffer offset off to tail: a header recorded in
// NetworkHeader or TransportHeader, read after later pulls.
func (skb *SkBuff) At(off int) []byte { return skb.buf[off:skb.tail] }

// Copy is skb_copy: a new skb with the same data (and a fresh MaxHeader of
// headroom), for the
// holders that must keep a frame beyond the call that gave it (a queue while
// ARP resolves, a delay line, the in-memory wire).
func (skb *SkBuff) Copy() *SkBuff {
	n := AllocSkb(skb.Len())
	copy(n.Put(skb.Len()), skb.Data())
	n.Dev = skb.Dev
	n.Protocol = skb.Protocol
	n.Cb = skb.Cb
	n.IPSummed = skb.IPSummed
	n.GsoSize = skb.GsoSize
	n.MacHeader = skb.MacHeader - skb.data + n.data
	n.NetworkHeader = skb.NetworkHeader - skb.data + n.data
	n.TransportHeader = skb.TransportHeader - skb.data + n.data
	return n
}

// SkbQueue is struct sk_buff_head: a doubly linked list of skbs with its
// length in packets and bytes. It is not locked; its owner's lock guards it.
type SkbQueue struct {
	head, tail *SkBuff
	qlen       int
	bytes      int
}

// Len is skb_queue_len.
func (q *SkbQueue) Len() int { return q.qlen }

// Bytes is the sum of the queued skbs' lengths.
func (q *SkbQueue) Bytes() int { return q.bytes }

// Empty is skb_queue_empty.
func (q *SkbQueue) Empty() bool { return q.qlen == 0 }

// Peek is skb_peek: the first skb, or nil.
func (q *SkbQueue) Peek() *SkBuff { return q.head }

// PeekTail is skb_peek_tail.
func (q *SkbQueue) PeekTail() *SkBuff { return q.tail }

// Next returns the skb after skb on its queue, or nil.
func (q *SkbQueue) Next(skb *SkBuff) *SkBuff { return skb.next }

// Prev returns the skb before skb on its queue, or nil.
func (q *SkbQueue) Prev(skb *SkBuff) *SkBuff { return skb.prev }

// QueueTail is __skb_queue_tail.
func (q *SkbQueue) QueueTail(skb *SkBuff) { q.InsertAfter(q.tail, skb) }

// QueueHead is __skb_queue_head.
func (q *SkbQueue) QueueHead(skb *SkBuff) { q.InsertAfter(nil, skb) }

// InsertAfter puts skb after prev (at the head when prev is nil).
func (q *SkbQueue) InsertAfter(prev, skb *SkBuff) {
	if skb.list != nil {
		panic("netdev: skb already on a queue")
	}
	skb.list = q
	skb.prev = prev
	if prev == nil {
		skb.next = q.head
		q.head = skb
	} else {
		skb.next = prev.next
		prev.next = skb
	}
	if skb.next == nil {
		q.tail = skb
	} else {
		skb.next.prev = skb
	}
	q.qlen++
	q.bytes += skb.Len()
}

// Unlink is __skb_unlink.
func (q *SkbQueue) Unlink(skb *SkBuff) {
	if skb.list != q {
		panic("netdev: unlinking an skb from a queue it is not on")
	}
	if skb.prev == nil {
		q.head = skb.next
	} else {
		skb.prev.next = skb.next
	}
	if skb.next == nil {
		q.tail = skb.prev
	} else {
		skb.next.prev = skb.prev
	}
	skb.next, skb.prev, skb.list = nil, nil, nil
	q.qlen--
	q.bytes -= skb.Len()
}

// Dequeue is __skb_dequeue: unlink and return the first skb, or nil.
func (q *SkbQueue) Dequeue() *SkBuff {
	skb := q.head
	if skb != nil {
		q.Unlink(skb)
	}
	return skb
}

// Adjust tells the queue that a queued skb's length changed by delta bytes
// (after a Pull or Trim of a queued skb, as a partial read does).
func (q *SkbQueue) Adjust(delta int) { q.bytes += delta }

// Purge is __skb_queue_purge: free every skb.
func (q *SkbQueue) Purge() {
	for skb := q.Dequeue(); skb != nil; skb = q.Dequeue() {
		skb.Free()
	}
}
