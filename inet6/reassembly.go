package inet6

import (
	"net/netip"
	"sort"
	"sync"
	"time"

	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// The net.ipv6.ip6frag_* sysctls.
const (
	sysctlIp6fragHighThresh = 4 << 20
	sysctlIp6fragTime       = 60 * time.Second
)

// fragKey is struct frag_v6_compare_key.
type fragKey struct {
	src, dst netip.Addr
	id       uint32
}

// frag is one received fragment's data.
type frag struct {
	off, end int
	data     []byte
}

// fragQueue is struct frag_queue: the fragments of one datagram so far.
type fragQueue struct {
	frags    []frag // sorted by off
	first    []byte // the offset-0 fragment's packet up to its fragment header
	nh       uint8  // the offset-0 fragment's next header
	nhoff    int    // where the unfragmentable part names the fragment header
	total    int    // the datagram's length, known once the last fragment came
	meat     int
	dead     bool
	timer    ktime.Timer
	firstPkt []byte // the offset-0 fragment whole, quoted by the time exceeded error
}

// fragQueues is the namespace's ip6 reassembly state (fqdir).
type fragQueues struct {
	mu  sync.Mutex
	q   map[fragKey]*fragQueue // protected by mu
	mem int                    // protected by mu; bytes held, against ip6frag_high_thresh
}

func (f *fragQueues) init() { f.q = make(map[fragKey]*fragQueue) }

// ipv6FragRcv is ipv6_frag_rcv + ip6_frag_queue + ip6_frag_reasm: the
// fragment header at off is checked and the fragment queued. It returns
// the whole datagram once the last piece is in (a new skb, without the
// fragment header, its next header nh to be processed at off), skb itself
// for an atomic fragment (RFC 8200 §4.5, processed as if whole), or false
// when skb was queued or dropped (the caller no longer owns it). Overlaps
// are handled as RFC 5722 says and Linux's inet_frag_queue_insert does: a
// fragment that lies wholly within data already received is a duplicate
// and dropped alone; any other overlap discards the whole datagram.
func (n *Net) ipv6FragRcv(skb *netdev.SkBuff, off, nhoff int) (*netdev.SkBuff, uint8, bool) {
	pkt := skb.Data()
	n.mib.inc(ip6ReasmReqds)
	fh, ok := header.ParseFrag6hdr(pkt[off:])
	if !ok {
		n.mib.inc(ip6InHdrErrors)
		n.icmpv6ParamProb(skb, header.ICMPV6_HDR_FIELD, off)
		skb.Free()
		return nil, 0, false
	}
	if fh.IsAtomic() {
		n.mib.inc(ip6ReasmOKs)
		return skb, fh.Nexthdr(), true
	}
	data := pkt[off+header.Frag6Len:]
	if fh.Offset() == 0 {
		// RFC 7112: the first fragment carries the whole header chain.
		if _, e := header.Ipv6SkipExthdr(fh.Nexthdr(), data); e != header.ExthdrOk {
			n.mib.inc(ip6InHdrErrors)
			n.icmpv6ParamProb(skb, header.ICMPV6_HDR_INCOMP, 0)
			skb.Free()
			return nil, 0, false
		}
	}
	start, end := fh.Offset(), fh.Offset()+len(data)
	if end > 65535 { // IPV6_MAXPLEN
		n.mib.inc(ip6InHdrErrors)
		n.icmpv6ParamProb(skb, header.ICMPV6_HDR_FIELD, off+2)
		skb.Free()
		return nil, 0, false
	}
	if fh.MoreFragments() && len(data)&7 != 0 {
		// RFC 8200 §4.5: all but the last are multiples of 8 bytes.
		n.mib.inc(ip6InHdrErrors)
		n.icmpv6ParamProb(skb, header.ICMPV6_HDR_FIELD, 4)
		skb.Free()
		return nil, 0, false
	}
	hdr := header.Ipv6hdr(pkt)
	key := fragKey{src: hdr.Src(), dst: hdr.Dst(), id: fh.Identification()}

	f := &n.frags
	f.mu.Lock()
	if f.mem+len(data) > sysctlIp6fragHighThresh {
		f.mu.Unlock()
		n.mib.inc(ip6ReasmFails)
		skb.Free()
		return nil, 0, false
	}
	q := f.q[key]
	if q == nil {
		q = &fragQueue{}
		f.q[key] = q
		q.timer = n.clock.AfterFunc(sysctlIp6fragTime, func() { n.ip6FragExpire(key, q) })
	}
	kill := false
	switch {
	case !fh.MoreFragments():
		// The last fragment: the end is now known, and must agree
		// with what came before it.
		if q.total != 0 && q.total != end || q.meat > 0 && q.maxEnd() > end {
			kill = true
		}
		q.total = end
	case q.total != 0 && end > q.total:
		kill = true
	}
	if !kill {
		switch q.insertCheck(start, end) {
		case fragDup:
			f.mu.Unlock()
			skb.Free()
			return nil, 0, false
		case fragOverlap:
			kill = true
		}
	}
	if kill {
		n.ip6FragKillLocked(key, q)
		f.mu.Unlock()
		n.mib.inc(ip6ReasmFails)
		skb.Free()
		return nil, 0, false
	}
	q.insert(frag{off: start, end: end, data: append([]byte(nil), data...)})
	q.meat += len(data)
	f.mem += len(data)
	if start == 0 {
		q.first = append([]byte(nil), pkt[:off]...)
		q.nh = fh.Nexthdr()
		q.nhoff = nhoff
		q.firstPkt = append([]byte(nil), pkt...)
	}
	if q.total == 0 || q.meat != q.total || q.first == nil {
		f.mu.Unlock()
		skb.Free()
		return nil, 0, false
	}
	// ip6_frag_reasm: the unfragmentable part of the first fragment, its
	// fragment header's next header put where the fragment header was
	// named, then the data in order.
	whole := netdev.AllocSkb(len(q.first) + q.total)
	b := whole.Put(len(q.first) + q.total)
	copy(b, q.first)
	for _, fr := range q.frags {
		copy(b[len(q.first)+fr.off:], fr.data)
	}
	b[q.nhoff] = q.nh
	nh := q.nh
	payload := len(b) - header.IPv6Len
	n.ip6FragKillLocked(key, q)
	f.mu.Unlock()
	skb.Free()
	if payload > 65535 {
		n.mib.inc(ip6ReasmFails)
		whole.Free()
		return nil, 0, false
	}
	header.Ipv6hdr(b).SetPayloadLen(payload)
	whole.Dev = skb.Dev
	whole.Protocol = netdev.ETH_P_IPV6
	whole.NetworkHeader = whole.Offset()
	n.mib.inc(ip6ReasmOKs)
	return whole, nh, true
}

const (
	fragNew = iota
	fragDup
	fragOverlap
)

// insertCheck is inet_frag_queue_insert's verdict on [start, end): new,
// a duplicate (within a run of contiguous data already held), or an
// overlap.
func (q *fragQueue) insertCheck(start, end int) int {
	overlaps := false
	for _, fr := range q.frags {
		if start < fr.end && fr.off < end {
			overlaps = true
			break
		}
	}
	if !overlaps {
		return fragNew
	}
	// The held fragments never overlap one another; contiguous ones
	// form runs (frag_run_len).
	runStart, runEnd := -1, -1
	for _, fr := range q.frags {
		if fr.off == runEnd {
			runEnd = fr.end
		} else {
			runStart, runEnd = fr.off, fr.end
		}
		if runStart <= start && end <= runEnd {
			return fragDup
		}
	}
	return fragOverlap
}

func (q *fragQueue) insert(fr frag) {
	i := sort.Search(len(q.frags), func(i int) bool { return q.frags[i].off >= fr.off })
	q.frags = append(q.frags, frag{})
	copy(q.frags[i+1:], q.frags[i:])
	q.frags[i] = fr
}

func (q *fragQueue) maxEnd() int {
	m := 0
	for _, fr := range q.frags {
		m = max(m, fr.end)
	}
	return m
}

// ip6FragKillLocked is inet_frag_kill: the queue leaves the table and
// gives its memory back (f.mu held).
func (n *Net) ip6FragKillLocked(key fragKey, q *fragQueue) {
	if q.dead {
		return
	}
	q.dead = true
	q.timer.Stop()
	n.frags.mem -= q.meat
	if n.frags.q[key] == q {
		delete(n.frags.q, key)
	}
}

// ip6FragExpire is ip6_frag_expire / ip6frag_expire_frag_queue: a
// datagram not whole after ip6frag_time fails; if its first fragment
// came, the sender learns it with time exceeded, fragment reassembly time
// exceeded (RFC 8200 §4.5).
func (n *Net) ip6FragExpire(key fragKey, q *fragQueue) {
	n.frags.mu.Lock()
	if q.dead {
		n.frags.mu.Unlock()
		return
	}
	first := q.firstPkt
	n.ip6FragKillLocked(key, q)
	n.frags.mu.Unlock()
	n.mib.inc(ip6ReasmTimeout)
	n.mib.inc(ip6ReasmFails)
	if first == nil {
		return
	}
	skb := netdev.AllocSkb(len(first))
	copy(skb.Put(len(first)), first)
	skb.NetworkHeader = skb.Offset()
	n.icmp6Send(skb, header.ICMPV6_TIME_EXCEED, header.ICMPV6_EXC_FRAGTIME, 0)
	skb.Free()
}
