package inet

import (
	"sync"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// IPv4 reassembly (RFC 791 §3.2, RFC 815), as net/ipv4/ip_fragment.c and
// net/ipv4/inet_fragment.c: fragments wait in a queue keyed by (saddr,
// daddr, id, protocol) until the first and last have come and every byte
// between; a queue that does not complete in ipfrag_time (30 s) is dropped
// with an ICMP time-exceeded to the sender if its first fragment came. A
// fragment that partly overlaps what is queued discards the whole datagram
// (RFC 5722's rule, which Linux applies to IPv4 too, since overlaps are how
// fragment attacks hide data); one wholly inside a run already queued is a
// duplicate and is dropped alone. Queued fragments are charged by
// truesize; past ipfrag_high_thresh the oldest queues are evicted until
// usage is below the low threshold.

// ICMP_EXC_FRAGTIME is the time-exceeded code for reassembly timeouts.
const ICMP_EXC_FRAGTIME = 1

// sysctlIPFragLowThresh is where eviction stops: 3/4 of the high mark, as
// ipfrag_low_thresh's default.
const sysctlIPFragLowThresh = sysctlIPFragHighThresh * 3 / 4

// fragKey identifies the datagram a fragment belongs to (struct frag_v4_compare_key).
type fragKey struct {
	saddr, daddr [4]byte
	id           uint16
	protocol     uint8
}

// ipFrags is the namespace's reassembly state (struct fqdir).
type ipFrags struct {
	mu  sync.Mutex
	qs  map[fragKey]*ipq // protected by mu
	mem int              // protected by mu; truesize of every queued fragment
}

// ipq is struct ipq: one datagram being reassembled.
type ipq struct {
	key     fragKey
	runs    []fragRun // by offset, never overlapping
	first   *netdev.SkBuff
	len     int // payload length: known for sure once the last fragment came
	meat    int // payload bytes queued
	flags   uint8
	mem     int
	created time.Duration
	timer   ktime.Timer
}

// INET_FRAG_* flags of ipq.
const (
	fragFirstIn = 1 << iota
	fragLastIn
)

// fragRun is a run of fragments contiguous in offset (FRAG_CB's
// frag_run_len), the unit inet_frag_queue_insert tests overlaps against.
type fragRun struct {
	off, end int
	frags    []fragPiece
}

type fragPiece struct {
	skb      *netdev.SkBuff
	off, end int
}

// Results of fragInsert (IPFRAG_OK, IPFRAG_DUP, IPFRAG_OVERLAP).
const (
	ipfragOK = iota
	ipfragDup
	ipfragOverlap
)

// ipDefrag is ip_defrag: queue a fragment (skb's data starts at its IP
// header) and return the whole datagram when it completes, else nil. It
// owns skb either way.
func (in *Net) ipDefrag(skb *netdev.SkBuff) *netdev.SkBuff {
	in.mib.Ip.ReasmReqds.Add(1)
	f := &in.dgram.frags
	iph := ipHdr(skb)
	key := fragKey{saddr: iph.Saddr(), daddr: iph.Daddr(), id: iph.ID(), protocol: iph.Protocol()}

	f.mu.Lock()
	if f.mem > sysctlIPFragHighThresh {
		in.ipEvictorLocked()
	}
	if f.qs == nil {
		f.qs = make(map[fragKey]*ipq)
	}
	q := f.qs[key]
	if q == nil {
		q = &ipq{key: key, created: in.clock.Now()}
		q.timer = in.clock.AfterFunc(sysctlIPFragTimeSeconds*time.Second, func() { in.ipExpire(q) })
		f.qs[key] = q
	}
	out, ok := in.ipFragQueueLocked(q, skb)
	f.mu.Unlock()
	if !ok {
		in.mib.Ip.ReasmFails.Add(1)
	}
	return out
}

// ipFragQueueLocked is ip_frag_queue: put skb in place, and reassemble
// when nothing is missing. ok is false when the datagram had to be thrown
// away. f.mu held.
func (in *Net) ipFragQueueLocked(q *ipq, skb *netdev.SkBuff) (out *netdev.SkBuff, ok bool) {
	iph := ipHdr(skb)
	ihl := iph.Ihl()
	offset := iph.FragOffset()
	end := offset + len(iph) - ihl

	if !iph.MoreFragments() {
		// The last fragment fixes the length; it must not contradict
		// what came before.
		if end < q.len || q.flags&fragLastIn != 0 && end != q.len {
			return in.ipFragDiscardLocked(q, skb)
		}
		q.flags |= fragLastIn
		q.len = end
	} else {
		end &^= 7 // fragments other than the last carry multiples of 8
		if end > q.len {
			if q.flags&fragLastIn != 0 {
				return in.ipFragDiscardLocked(q, skb)
			}
			q.len = end
		}
	}
	if end == offset || end+ihl > 0xffff {
		return in.ipFragDiscardLocked(q, skb)
	}
	switch q.insert(fragPiece{skb: skb, off: offset, end: end}) {
	case ipfragDup:
		skb.Free()
		return nil, true
	case ipfragOverlap:
		return in.ipFragDiscardLocked(q, skb)
	}
	ts := skb.Truesize()
	q.mem += ts
	in.dgram.frags.mem += ts
	if offset == 0 {
		q.flags |= fragFirstIn
		q.first = skb
	}
	q.meat += end - offset
	if q.flags == fragFirstIn|fragLastIn && q.meat == q.len {
		return in.ipFragReasmLocked(q), true
	}
	return nil, true
}

// insert is inet_frag_queue_insert.
func (q *ipq) insert(p fragPiece) int {
	if n := len(q.runs); n == 0 || q.runs[n-1].end < p.end {
		// The common case: at the tail.
		if n > 0 {
			last := &q.runs[n-1]
			if p.off < last.end {
				return ipfragOverlap
			}
			if p.off == last.end {
				last.end = p.end
				last.frags = append(last.frags, p)
				return ipfragOK
			}
		}
		q.runs = append(q.runs, fragRun{off: p.off, end: p.end, frags: []fragPiece{p}})
		return ipfragOK
	}
	i := 0
	for ; i < len(q.runs); i++ {
		r := &q.runs[i]
		if p.end <= r.off {
			break
		}
		if p.off >= r.end {
			continue
		}
		if p.off >= r.off && p.end <= r.end {
			return ipfragDup
		}
		return ipfragOverlap
	}
	q.runs = append(q.runs, fragRun{})
	copy(q.runs[i+1:], q.runs[i:])
	q.runs[i] = fragRun{off: p.off, end: p.end, frags: []fragPiece{p}}
	return ipfragOK
}

// ipFragDiscardLocked drops the whole datagram and the fragment that
// condemned it.
func (in *Net) ipFragDiscardLocked(q *ipq, skb *netdev.SkBuff) (*netdev.SkBuff, bool) {
	in.ipqKillLocked(q, nil)
	skb.Free()
	return nil, false
}

// ipqKillLocked is inet_frag_kill plus freeing the fragments: the queue
// leaves the table and its timer stops. keep, if queued, is not freed but
// left to the caller. f.mu held.
func (in *Net) ipqKillLocked(q *ipq, keep *netdev.SkBuff) {
	f := &in.dgram.frags
	if f.qs[q.key] == q {
		delete(f.qs, q.key)
	}
	q.timer.Stop()
	for _, r := range q.runs {
		for _, p := range r.frags {
			if p.skb != keep {
				p.skb.Free()
			}
		}
	}
	q.runs = nil
	f.mem -= q.mem
	q.mem = 0
}

// ipFragReasmLocked is ip_frag_reasm: one skb holding the first
// fragment's header (options included) and every byte of data in order,
// with tot_len and frag_off rewritten. f.mu held.
func (in *Net) ipFragReasmLocked(q *ipq) *netdev.SkBuff {
	first := ipHdr(q.first)
	ihl := first.Ihl()
	total := ihl + q.len
	out := netdev.AllocSkb(total)
	b := out.Put(total)
	copy(b, first[:ihl])
	for _, r := range q.runs {
		for _, p := range r.frags {
			h := ipHdr(p.skb)
			copy(b[ihl+p.off:ihl+p.end], h[h.Ihl():])
		}
	}
	out.Dev = q.first.Dev
	out.Protocol = q.first.Protocol
	out.NetworkHeader = out.Offset()
	h := header.Iphdr(b)
	h.SetTotLen(total)
	h.SetFragOff(0)
	h.SetCheck()
	in.ipqKillLocked(q, nil)
	in.mib.Ip.ReasmOKs.Add(1)
	return out
}

// ipExpire is ip_expire: the reassembly timer. The datagram is given up;
// if its first fragment came, the sender hears ICMP time exceeded
// (fragment reassembly time exceeded, RFC 792).
func (in *Net) ipExpire(q *ipq) {
	f := &in.dgram.frags
	f.mu.Lock()
	if f.qs[q.key] != q {
		f.mu.Unlock()
		return // completed or killed meanwhile
	}
	first := q.first
	if q.flags&fragFirstIn == 0 {
		first = nil
	}
	in.ipqKillLocked(q, first)
	f.mu.Unlock()
	in.mib.Ip.ReasmFails.Add(1)
	in.mib.Ip.ReasmTimeout.Add(1)
	if first != nil {
		in.icmpSend(first, header.ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0)
		first.Free()
	}
}

// ipEvictorLocked is the old ip_evictor: past the high threshold, drop
// the oldest datagrams until usage falls below the low one. f.mu held.
func (in *Net) ipEvictorLocked() {
	f := &in.dgram.frags
	for f.mem > sysctlIPFragLowThresh && len(f.qs) > 0 {
		var oldest *ipq
		for _, q := range f.qs {
			if oldest == nil || q.created < oldest.created {
				oldest = q
			}
		}
		in.ipqKillLocked(oldest, nil)
		in.mib.Ip.ReasmFails.Add(1)
	}
}

// fragStats reports the queues in use and their memory (sockstat's FRAG
// row).
func (f *ipFrags) stats() (inuse, mem int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.qs), f.mem
}
