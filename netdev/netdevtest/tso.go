package netdevtest

import (
	"fmt"
	"sync"
	"sync/atomic"

	"sockfs/netdev"
)

// TSONic is a test NIC with TCP segmentation offload around a driver (a
// pair end): the device over it has NETIF_F_TSO or NETIF_F_TSO6, so it is
// handed super-segments, which it records and cuts itself with the
// stack's own segmenter, and it loses chosen wire segments, so a test sees
// what TCP built and decides which MSS units of it the peer never gets.
// Both families' TSO tests use it; only Segment and Parse differ.
type TSONic struct {
	Inner netdev.Driver
	// Segment is the family's software GSO (inetGsoSegment,
	// ipv6GsoSegment).
	Segment netdev.GsoSegmentFunc
	// Parse reads a wire frame's TCP sequence number and payload length;
	// ok false for a frame that is not a TCP segment.
	Parse func(frame []byte) (seq uint32, n int, ok bool)
	// Drop lists the first transmissions of data segments that are lost,
	// counted from 1 in sending order.
	Drop map[int]bool

	mu     sync.Mutex
	supers []int          // protected by mu: lengths of super-segments handed over
	wire   []WireSeg      // protected by mu: data segments on the wire, first sends and resends
	seen   map[uint32]int // protected by mu: times each sequence number went out
	nData  int            // protected by mu: data wire segments sent for the first time
}

// WireSeg is a data segment the TSONic put on the wire.
type WireSeg struct {
	Seq uint32
	N   int
}

var _ netdev.Driver = (*TSONic)(nil)

// Xmit records a super-segment and cuts it, or sends one segment.
func (d *TSONic) Xmit(skb *netdev.SkBuff) error {
	if skb.GsoSize == 0 {
		return d.one(skb)
	}
	d.mu.Lock()
	d.supers = append(d.supers, skb.Len())
	d.mu.Unlock()
	return d.Segment(skb, d.one)
}

func (d *TSONic) one(skb *netdev.SkBuff) error {
	seq, n, ok := d.Parse(skb.Data())
	if !ok || n == 0 {
		return d.Inner.Xmit(skb)
	}
	d.mu.Lock()
	if d.seen == nil {
		d.seen = map[uint32]int{}
	}
	d.wire = append(d.wire, WireSeg{seq, n})
	d.seen[seq]++
	lose := false
	if d.seen[seq] == 1 {
		d.nData++
		lose = d.Drop[d.nData]
	}
	d.mu.Unlock()
	if lose {
		return nil
	}
	return d.Inner.Xmit(skb)
}

func (d *TSONic) Receive(rx func(*netdev.SkBuff)) error { return d.Inner.Receive(rx) }
func (d *TSONic) Close() error                          { return d.Inner.Close() }

// Supers counts the super-segments handed over that were longer than
// frame bytes (one wire frame with its headers at the MSS).
func (d *TSONic) Supers(frame int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, l := range d.supers {
		if l > frame {
			n++
		}
	}
	return n
}

// CheckResends checks the wire against per-MSS recovery: no segment over
// mss bytes, and exactly the lost segments sent again, each at the size
// it first went with (not the whole super-segment it was cut from).
func (d *TSONic) CheckResends(mss int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var resent []WireSeg
	firstLen := map[uint32]int{}
	for _, w := range d.wire {
		if w.N > mss {
			return fmt.Errorf("wire segment of %d bytes, MSS %d", w.N, mss)
		}
		if _, again := firstLen[w.Seq]; again {
			resent = append(resent, w)
			continue
		}
		firstLen[w.Seq] = w.N
	}
	if len(resent) != len(d.Drop) {
		return fmt.Errorf("%d wire segments resent for %d lost: %+v", len(resent), len(d.Drop), resent)
	}
	for _, w := range resent {
		if w.N != firstLen[w.Seq] {
			return fmt.Errorf("resent %d bytes at %d, not the %d-byte wire segment lost", w.N, w.Seq, firstLen[w.Seq])
		}
	}
	return nil
}

// Recorder records a copy of every frame its device sends, and drops them
// all while Mute is on (an injected segment's sender is no real peer, so
// the receiver's answers, and the exchanges they would start, are kept off
// the wire).
type Recorder struct {
	Inner netdev.Driver
	Mute  atomic.Bool

	mu     sync.Mutex
	frames [][]byte // protected by mu
}

var _ netdev.Driver = (*Recorder)(nil)

// Xmit records skb's frame and sends it, unless muted; muted, it neither
// records nor sends, so it allocates nothing.
func (r *Recorder) Xmit(skb *netdev.SkBuff) error {
	if r.Mute.Load() {
		return nil
	}
	r.mu.Lock()
	r.frames = append(r.frames, append([]byte(nil), skb.Data()...))
	r.mu.Unlock()
	return r.Inner.Xmit(skb)
}

func (r *Recorder) Receive(rx func(*netdev.SkBuff)) error { return r.Inner.Receive(rx) }
func (r *Recorder) Close() error                          { return r.Inner.Close() }

// Frames returns the frames sent so far.
func (r *Recorder) Frames() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.frames...)
}
