package netdev

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"sockfs/netdev/ktime"
)

// NetemSpec is what sch_netem (net/sched/sch_netem.c) is told by
// `tc qdisc add ... netem`: the probabilities (0..1) of losing, duplicating,
// reordering and corrupting a frame, and a delay with uniform jitter.
type NetemSpec struct {
	Loss, Duplicate, Reorder, Corrupt float64 // probabilities 0..1
	Delay, Jitter                     time.Duration
}

// netemReorderHold bounds how long a frame chosen for reordering waits for
// a later frame to overtake it.
const netemReorderHold = time.Millisecond

// ParseNetem parses tc-netem-like text, e.g.
//
//	loss 2% duplicate 1% reorder 5% corrupt 0.1% delay 10ms 2ms
//
// Keywords come in any order, each at most once. Probabilities are
// percentages with a '%'. Delay and the optional jitter after it are Go
// durations or tc units (10ms, 1s, 500us, 2msec, 1sec, 300usec).
func ParseNetem(spec string) (NetemSpec, error) {
	var s NetemSpec
	f := strings.Fields(spec)
	if len(f) == 0 {
		return s, fmt.Errorf("netem: empty spec")
	}
	seen := make(map[string]bool)
	for i := 0; i < len(f); i++ {
		kw := f[i]
		var prob *float64
		switch kw {
		case "loss":
			prob = &s.Loss
		case "duplicate":
			prob = &s.Duplicate
		case "reorder":
			prob = &s.Reorder
		case "corrupt":
			prob = &s.Corrupt
		case "delay":
		default:
			return NetemSpec{}, fmt.Errorf("netem: unknown keyword %q", kw)
		}
		if seen[kw] {
			return NetemSpec{}, fmt.Errorf("netem: %s given twice", kw)
		}
		seen[kw] = true
		if i+1 >= len(f) {
			return NetemSpec{}, fmt.Errorf("netem: %s needs a value", kw)
		}
		i++
		if prob != nil {
			p, err := parsePercent(f[i])
			if err != nil {
				return NetemSpec{}, fmt.Errorf("netem: bad %s %q: %v", kw, f[i], err)
			}
			*prob = p
			continue
		}
		d, err := parseTcTime(f[i])
		if err != nil {
			return NetemSpec{}, fmt.Errorf("netem: bad delay %q: %v", f[i], err)
		}
		s.Delay = d
		// An optional jitter follows the delay, as in tc; anything that is
		// a keyword ends the delay clause.
		if i+1 < len(f) && !isNetemKeyword(f[i+1]) {
			i++
			j, err := parseTcTime(f[i])
			if err != nil {
				return NetemSpec{}, fmt.Errorf("netem: bad jitter %q: %v", f[i], err)
			}
			s.Jitter = j
		}
	}
	return s, nil
}

func isNetemKeyword(s string) bool {
	switch s {
	case "loss", "duplicate", "reorder", "corrupt", "delay":
		return true
	}
	return false
}

func parsePercent(s string) (float64, error) {
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return 0, fmt.Errorf("want a percentage such as 2%%")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	if !(v >= 0 && v <= 100) {
		return 0, fmt.Errorf("out of range 0%%..100%%")
	}
	return v / 100, nil
}

// tcTimeUnits maps tc's time suffixes (tc/tc_util.c get_time) onto Go's.
var tcTimeUnits = []struct{ tc, goUnit string }{
	{"usecs", "us"}, {"usec", "us"},
	{"msecs", "ms"}, {"msec", "ms"},
	{"secs", "s"}, {"sec", "s"},
}

func parseTcTime(s string) (time.Duration, error) {
	g := s
	for _, u := range tcTimeUnits {
		if num, ok := strings.CutSuffix(s, u.tc); ok {
			g = num + u.goUnit
			break
		}
	}
	d, err := time.ParseDuration(g)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 10ms")
	}
	if d < 0 {
		return 0, fmt.Errorf("negative")
	}
	return d, nil
}

// String prints the spec in ParseNetem's syntax, leaving out what is zero.
func (s NetemSpec) String() string {
	var b strings.Builder
	add := func(kw, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kw)
		b.WriteByte(' ')
		b.WriteString(v)
	}
	pct := func(p float64) string { return strconv.FormatFloat(p*100, 'g', 10, 64) + "%" }
	dur := func(d time.Duration) string { return strings.Replace(d.String(), "µ", "u", 1) }
	if s.Loss != 0 {
		add("loss", pct(s.Loss))
	}
	if s.Duplicate != 0 {
		add("duplicate", pct(s.Duplicate))
	}
	if s.Reorder != 0 {
		add("reorder", pct(s.Reorder))
	}
	if s.Corrupt != 0 {
		add("corrupt", pct(s.Corrupt))
	}
	if s.Delay != 0 || s.Jitter != 0 {
		add("delay", dur(s.Delay))
		if s.Jitter != 0 {
			b.WriteByte(' ')
			b.WriteString(dur(s.Jitter))
		}
	}
	return b.String()
}

// NetemDirStats counts what netem did to the frames of one direction.
type NetemDirStats struct {
	Frames     uint64 // frames that entered netem
	Dropped    uint64 // lost on purpose
	Duplicated uint64 // sent a second time
	Reordered  uint64 // held back to be overtaken
	Corrupted  uint64 // one bit flipped
	Delayed    uint64 // put on the delay line
	Errors     uint64 // deferred transmissions the inner driver refused
}

// NetemStats is both directions' counters.
type NetemStats struct {
	Tx, Rx NetemDirStats
}

var _ Driver = (*Netem)(nil)

// Netem is sch_netem as a wrapper around any Driver, impairing the frames it
// sends (Xmit) and the frames it receives (Receive) alike, so both ends of a
// connection see a lossy, reordering, slow link even when the peer is the
// Linux kernel behind a TAP (this machine's kernel has no netem qdisc).
// A Pcap goes inside it, next to the device, to record what crosses the wire.
//
// Each frame passes, in sch_netem's order: loss, duplication (the duplicate
// goes first, uncorrupted), corruption of one random bit, reordering (the
// frame is held until the next frame of its direction has gone, or for
// netemReorderHold), then the delay line. The delay line is ordered by due
// time and served by one timer per direction; jitter is uniform in
// [-Jitter, +Jitter] around Delay, so with jitter frames may overtake each
// other, as with tc. The random source is a PCG per direction seeded from
// the seed given, so a run is repeatable.
type Netem struct {
	inner Driver
	spec  NetemSpec
	clock ktime.Clock
	tx    netemDir
	rx    netemDir
}

// netemDir is one direction's pipeline. Deliveries happen with mu held, so
// frames of a direction leave in the order netem decided and the receive
// direction's rx is never called concurrently (the timer and the receive
// loop take turns), as the one NET_RX softirq of a device guarantees.
//
// Because rx runs with the receive direction's mu held, rx must not call
// back into this Netem's receive side (Receive, Close, Stats); sending with
// Xmit is fine, the directions have separate locks.
type netemDir struct {
	n         *Netem
	out       func(skb *SkBuff, owned bool) // inner.Xmit or rx
	fireTimer func()                        // fire as a func value, made once

	mu       sync.Mutex
	rng      *rand.Rand    // protected by mu
	line     SkbQueue      // protected by mu; Cb.When is the due time
	held     *SkBuff       // protected by mu; the frame waiting to be overtaken
	heldDue  time.Duration // protected by mu
	timer    ktime.Timer   // protected by mu; created on first use
	timerDue time.Duration // protected by mu
	armed    bool          // protected by mu
	closed   bool          // protected by mu
	rxfn     func(*SkBuff) // protected by mu; the receive direction's rx
	xmitErr  error         // protected by mu; first inner.Xmit error of this Xmit call
	stats    NetemDirStats // protected by mu
}

// NewNetem wraps inner. The same seed and the same frames give the same
// impairments.
func NewNetem(inner Driver, spec NetemSpec, seed uint64, clock ktime.Clock) *Netem {
	n := &Netem{inner: inner, spec: spec, clock: clock}
	// The two directions draw from different PCG streams so that traffic in
	// one does not change the fate of frames in the other.
	n.tx.init(n, rand.New(rand.NewPCG(seed, 0x74786e6574656d)), n.xmitOut)
	n.rx.init(n, rand.New(rand.NewPCG(seed, 0x72786e6574656d)), n.rx.rxOut)
	return n
}

func (q *netemDir) init(n *Netem, rng *rand.Rand, out func(*SkBuff, bool)) {
	q.n, q.rng, q.out = n, rng, out
	q.fireTimer = q.fire
}

// Spec returns the impairment in force.
func (n *Netem) Spec() NetemSpec { return n.spec }

// Xmit impairs an outbound frame. The caller keeps skb: netem copies it
// only when it must keep or change it. It returns the first error of the
// inner Xmit calls this frame caused at once; errors of deferred frames are
// counted in Stats().Tx.Errors.
func (n *Netem) Xmit(skb *SkBuff) error {
	q := &n.tx
	q.mu.Lock()
	defer q.mu.Unlock()
	q.xmitErr = nil
	q.enqueueLocked(skb, false)
	err := q.xmitErr
	q.xmitErr = nil
	return err
}

func (n *Netem) xmitOut(skb *SkBuff, owned bool) {
	q := &n.tx
	if err := n.inner.Xmit(skb); err != nil {
		q.stats.Errors++
		if q.xmitErr == nil {
			q.xmitErr = err
		}
	}
	if owned {
		skb.Free()
	}
}

func (q *netemDir) rxOut(skb *SkBuff, owned bool) { q.rxfn(skb) }

// Receive runs the inner receive loop, impairing each frame before rx gets
// it. Delayed and held frames reach rx from the direction's timer, never at
// the same time as the loop's own deliveries. It returns when the inner
// Receive does (after Close).
func (n *Netem) Receive(rx func(*SkBuff)) error {
	q := &n.rx
	q.mu.Lock()
	q.rxfn = rx
	q.mu.Unlock()
	return n.inner.Receive(func(skb *SkBuff) {
		q.mu.Lock()
		q.enqueueLocked(skb, true)
		q.mu.Unlock()
	})
}

// Close drops the frames netem holds, stops its timers and closes inner.
func (n *Netem) Close() error {
	for _, q := range []*netemDir{&n.tx, &n.rx} {
		q.mu.Lock()
		q.closed = true
		q.line.Purge()
		q.held.Free()
		q.held = nil
		if q.timer != nil {
			q.timer.Stop()
		}
		q.armed = false
		q.mu.Unlock()
	}
	return n.inner.Close()
}

// Stats returns the counters of both directions.
func (n *Netem) Stats() NetemStats {
	var s NetemStats
	n.tx.mu.Lock()
	s.Tx = n.tx.stats
	n.tx.mu.Unlock()
	n.rx.mu.Lock()
	s.Rx = n.rx.stats
	n.rx.mu.Unlock()
	return s
}

// chance draws whether an event of probability p happens. Nothing is drawn
// for a zero probability, so adding an impairment to a spec does not change
// which frames an existing one picks beyond what sharing a stream implies.
func (q *netemDir) chance(p float64) bool {
	return p > 0 && q.rng.Float64() < p
}

// enqueueLocked is netem_enqueue. owned says whether netem owns skb (a
// received frame, or a copy) or the caller keeps it (a frame being sent).
func (q *netemDir) enqueueLocked(skb *SkBuff, owned bool) {
	if q.closed {
		if owned {
			skb.Free()
		}
		return
	}
	spec := &q.n.spec
	q.stats.Frames++
	if q.chance(spec.Loss) {
		q.stats.Dropped++
		if owned {
			skb.Free()
		}
		return
	}
	now := q.n.clock.Now()
	if q.chance(spec.Duplicate) {
		q.stats.Duplicated++
		q.stageLocked(skb.Copy(), true, now)
	}
	if q.chance(spec.Corrupt) && skb.Len() > 0 {
		q.stats.Corrupted++
		if !owned {
			skb, owned = skb.Copy(), true
		}
		bit := q.rng.IntN(skb.Len() * 8)
		skb.Data()[bit/8] ^= 1 << (bit % 8)
		// A checksum a device vouched for vouches for nothing now: the
		// stack must verify it (netem_enqueue completes a partial
		// checksum before it corrupts, for the same reason).
		skb.IPSummed = CHECKSUM_NONE
	}
	q.stageLocked(skb, owned, now)
}

// stageLocked is the reordering stage: a frame picked for reordering waits
// for the next one to go first.
func (q *netemDir) stageLocked(skb *SkBuff, owned bool, now time.Duration) {
	if q.held != nil {
		due := q.emitLocked(skb, owned, now, 0)
		held := q.held
		q.held = nil
		q.emitLocked(held, true, now, due)
		q.armLocked(now)
		return
	}
	if q.chance(q.n.spec.Reorder) {
		q.stats.Reordered++
		if !owned {
			skb = skb.Copy()
		}
		q.held = skb
		q.heldDue = now + netemReorderHold
		q.armLocked(now)
		return
	}
	q.emitLocked(skb, owned, now, 0)
}

// emitLocked sends skb now, or puts it on the delay line due no earlier than
// notBefore; it returns the due time.
func (q *netemDir) emitLocked(skb *SkBuff, owned bool, now, notBefore time.Duration) time.Duration {
	spec := &q.n.spec
	if spec.Delay == 0 && spec.Jitter == 0 {
		q.out(skb, owned)
		return now
	}
	d := spec.Delay
	if spec.Jitter > 0 {
		d += time.Duration(q.rng.Int64N(2*int64(spec.Jitter)+1)) - spec.Jitter
	}
	due := max(now+max(d, 0), notBefore)
	if !owned {
		skb = skb.Copy()
	}
	q.stats.Delayed++
	skb.Cb.When = int64(due)
	// Insert after the last frame due no later, so that equal due times
	// keep their order; without jitter that is always the tail.
	prev := q.line.PeekTail()
	for prev != nil && time.Duration(prev.Cb.When) > due {
		prev = q.line.Prev(prev)
	}
	q.line.InsertAfter(prev, skb)
	q.armLocked(now)
	return due
}

// armLocked points the direction's one timer at the earliest of the delay
// line's head and the held frame's deadline.
func (q *netemDir) armLocked(now time.Duration) {
	next, ok := time.Duration(0), false
	if head := q.line.Peek(); head != nil {
		next, ok = time.Duration(head.Cb.When), true
	}
	if q.held != nil && (!ok || q.heldDue < next) {
		next, ok = q.heldDue, true
	}
	if !ok || (q.armed && q.timerDue <= next) {
		// Nothing to wait for, or the timer fires early enough already
		// and fire re-arms it.
		return
	}
	d := max(next-now, 0)
	if q.timer == nil {
		q.timer = q.n.clock.AfterFunc(d, q.fireTimer)
	} else {
		q.timer.Reset(d)
	}
	q.armed, q.timerDue = true, next
}

// fire is the direction's timer: it sends what has come due and re-arms.
func (q *netemDir) fire() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.armed = false
	if q.closed {
		return
	}
	now := q.n.clock.Now()
	for skb := q.line.Peek(); skb != nil && time.Duration(skb.Cb.When) <= now; skb = q.line.Peek() {
		q.line.Unlink(skb)
		q.out(skb, true)
	}
	if q.held != nil && q.heldDue <= now {
		held := q.held
		q.held = nil
		q.emitLocked(held, true, now, 0)
	}
	q.armLocked(now)
}
