package netdev

import (
	"bytes"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sockfs/internal/race"
	"sockfs/netdev/ktime"
)

func TestParseNetem(t *testing.T) {
	ok := []struct {
		in   string
		want NetemSpec
		str  string
	}{
		{"loss 2%", NetemSpec{Loss: 0.02}, "loss 2%"},
		{"loss 2% duplicate 1% reorder 5% corrupt 0.1% delay 10ms",
			NetemSpec{Loss: 0.02, Duplicate: 0.01, Reorder: 0.05, Corrupt: 0.001, Delay: 10 * time.Millisecond},
			"loss 2% duplicate 1% reorder 5% corrupt 0.1% delay 10ms"},
		{"delay 10ms 2ms loss 1%", NetemSpec{Loss: 0.01, Delay: 10 * time.Millisecond, Jitter: 2 * time.Millisecond}, "loss 1% delay 10ms 2ms"},
		{"  corrupt 100%   delay 1s ", NetemSpec{Corrupt: 1, Delay: time.Second}, "corrupt 100% delay 1s"},
		{"delay 500us", NetemSpec{Delay: 500 * time.Microsecond}, "delay 500us"},
		{"delay 2msec 300usec", NetemSpec{Delay: 2 * time.Millisecond, Jitter: 300 * time.Microsecond}, "delay 2ms 300us"},
		{"delay 1sec", NetemSpec{Delay: time.Second}, "delay 1s"},
		{"delay 1.5ms", NetemSpec{Delay: 1500 * time.Microsecond}, "delay 1.5ms"},
		{"loss 0%", NetemSpec{}, ""},
	}
	for _, c := range ok {
		got, err := ParseNetem(c.in)
		if err != nil {
			t.Errorf("ParseNetem(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("ParseNetem(%q) = %+v, want %+v", c.in, got, c.want)
		}
		if s := got.String(); s != c.str {
			t.Errorf("ParseNetem(%q).String() = %q, want %q", c.in, s, c.str)
		}
		if c.str == "" {
			continue
		}
		if back, err := ParseNetem(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %+v, %v", got.String(), back, err)
		}
	}

	bad := []struct{ in, want string }{
		{"", "netem: empty spec"},
		{"   ", "netem: empty spec"},
		{"loss x%", `netem: bad loss "x%": not a number`},
		{"loss 2", `netem: bad loss "2": want a percentage such as 2%`},
		{"loss 101%", `netem: bad loss "101%": out of range`},
		{"loss -1%", `netem: bad loss "-1%": out of range`},
		{"foo 1%", `netem: unknown keyword "foo"`},
		{"loss 1% loss 2%", "netem: loss given twice"},
		{"delay", "netem: delay needs a value"},
		{"delay fast", `netem: bad delay "fast"`},
		{"delay 10", `netem: bad delay "10"`},
		{"delay -1ms", `netem: bad delay "-1ms": negative`},
		{"delay 10ms 2xs", `netem: bad jitter "2xs"`},
		{"delay 10ms 2ms 25%", `netem: unknown keyword "25%"`},
	}
	for _, c := range bad {
		_, err := ParseNetem(c.in)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("ParseNetem(%q) error = %v, want %q...", c.in, err, c.want)
		}
	}
}

// wire is a fake Driver under test: it records what is sent through it with
// the clock's time, and its receive loop delivers the frames a test feeds,
// one at a time, returning only once rx is done with each.
type wire struct {
	clock *ktime.Manual

	mu     sync.Mutex
	sent   [][]byte        // protected by mu
	sentAt []time.Duration // protected by mu

	in     chan *SkBuff
	ack    chan struct{}
	closed chan struct{}
	once   sync.Once
}

func newWire(clock *ktime.Manual) *wire {
	return &wire{clock: clock, in: make(chan *SkBuff), ack: make(chan struct{}), closed: make(chan struct{})}
}

func (w *wire) Xmit(skb *SkBuff) error {
	w.mu.Lock()
	w.sent = append(w.sent, bytes.Clone(skb.Data()))
	w.sentAt = append(w.sentAt, w.clock.Now())
	w.mu.Unlock()
	return nil
}

func (w *wire) Receive(rx func(*SkBuff)) error {
	for {
		select {
		case skb := <-w.in:
			rx(skb)
			w.ack <- struct{}{}
		case <-w.closed:
			return nil
		}
	}
}

func (w *wire) Close() error {
	w.once.Do(func() { close(w.closed) })
	return nil
}

// feed hands skb to the receive loop and waits until rx has returned.
func (w *wire) feed(skb *SkBuff) {
	w.in <- skb
	<-w.ack
}

func (w *wire) ids() []uint32 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []uint32
	for _, f := range w.sent {
		ids = append(ids, frameID(f))
	}
	return ids
}

// sink collects what a Receive loop hands up, with the clock's time.
type sink struct {
	clock *ktime.Manual
	mu    sync.Mutex
	got   [][]byte
	at    []time.Duration
}

func (s *sink) rx(skb *SkBuff) {
	s.mu.Lock()
	s.got = append(s.got, bytes.Clone(skb.Data()))
	s.at = append(s.at, s.clock.Now())
	s.mu.Unlock()
	skb.Free()
}

func (s *sink) ids() []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []uint32
	for _, f := range s.got {
		ids = append(ids, frameID(f))
	}
	return ids
}

func mustSpec(t *testing.T, s string) NetemSpec {
	t.Helper()
	spec, err := ParseNetem(s)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// startRx runs n's receive loop into a sink; the returned stop closes n and
// waits for the loop.
func startRx(t *testing.T, n *Netem, clock *ktime.Manual) (*sink, func()) {
	t.Helper()
	s := &sink{clock: clock}
	done := make(chan error, 1)
	go func() { done <- n.Receive(s.rx) }()
	return s, func() {
		n.Close()
		if err := <-done; err != nil {
			t.Errorf("Receive: %v", err)
		}
	}
}

func TestNetemLossShare(t *testing.T) {
	const frames = 100000
	clock := ktime.NewManual()
	w := newWire(clock)
	n := NewNetem(w, mustSpec(t, "loss 2%"), 1, clock)
	s, stop := startRx(t, n, clock)
	skb := testFrame(0)
	for range frames {
		if err := n.Xmit(skb); err != nil {
			t.Fatal(err)
		}
	}
	skb.Free()
	const rxFrames = 20000
	for range rxFrames {
		w.feed(testFrame(0))
	}
	stop()
	st := n.Stats()
	// 2% of 100000 is 2000 with a standard deviation of 44; 250 is over
	// five of them.
	if st.Tx.Dropped < 1750 || st.Tx.Dropped > 2250 {
		t.Errorf("tx dropped %d of %d, want about 2000", st.Tx.Dropped, frames)
	}
	if got := len(w.ids()); uint64(got) != frames-st.Tx.Dropped || st.Tx.Frames != frames {
		t.Errorf("sent %d, stats %+v", got, st.Tx)
	}
	if st.Rx.Dropped < 400-120 || st.Rx.Dropped > 400+120 {
		t.Errorf("rx dropped %d of %d, want about 400", st.Rx.Dropped, rxFrames)
	}
	if got := len(s.ids()); uint64(got) != rxFrames-st.Rx.Dropped {
		t.Errorf("received %d, stats %+v", got, st.Rx)
	}
}

// run sends frames 0..count-1 through a fresh netem on a manual clock,
// 100µs apart, and returns everything sent out with its time.
func runNetem(t *testing.T, spec string, seed uint64, count int) ([][]byte, []time.Duration, NetemStats) {
	clock := ktime.NewManual()
	w := newWire(clock)
	n := NewNetem(w, mustSpec(t, spec), seed, clock)
	for i := range uint32(count) {
		skb := testFrame(i)
		n.Xmit(skb)
		skb.Free()
		clock.Advance(100 * time.Microsecond)
	}
	clock.Advance(time.Second)
	if p := clock.Pending(); p != 0 {
		t.Errorf("%d timers still armed after the line drained", p)
	}
	return w.sent, w.sentAt, n.Stats()
}

func TestNetemDeterministic(t *testing.T) {
	const spec = "loss 10% duplicate 10% reorder 10% corrupt 10% delay 1ms 500us"
	f1, at1, st1 := runNetem(t, spec, 42, 3000)
	f2, at2, st2 := runNetem(t, spec, 42, 3000)
	if !slices.EqualFunc(f1, f2, bytes.Equal) || !slices.Equal(at1, at2) || st1 != st2 {
		t.Fatal("the same seed gave different runs")
	}
	f3, _, _ := runNetem(t, spec, 43, 3000)
	if slices.EqualFunc(f1, f3, bytes.Equal) {
		t.Fatal("different seeds gave the same run")
	}
	tx := st1.Tx
	for name, v := range map[string]uint64{"dropped": tx.Dropped, "duplicated": tx.Duplicated,
		"reordered": tx.Reordered, "corrupted": tx.Corrupted} {
		if v < 200 || v > 400 {
			t.Errorf("%s %d of 3000, want about 300", name, v)
		}
	}
	if want := 3000 - tx.Dropped + tx.Duplicated; uint64(len(f1)) != want {
		t.Errorf("sent %d frames, want %d", len(f1), want)
	}
}

func TestNetemDelay(t *testing.T) {
	clock := ktime.NewManual()
	w := newWire(clock)
	n := NewNetem(w, mustSpec(t, "delay 10ms"), 1, clock)
	xmit(t, n, 1)
	clock.Advance(5 * time.Millisecond)
	xmit(t, n, 2)
	if p := clock.Pending(); p != 1 {
		t.Errorf("%d timers armed for two delayed frames, want 1", p)
	}
	clock.Advance(5*time.Millisecond - time.Nanosecond)
	if got := w.ids(); len(got) != 0 {
		t.Fatalf("sent %v before the delay", got)
	}
	clock.Advance(time.Nanosecond)
	if got := w.ids(); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("at 10ms sent %v, want [1]", got)
	}
	clock.Advance(5 * time.Millisecond)
	if got := w.ids(); !slices.Equal(got, []uint32{1, 2}) || !slices.Equal(w.sentAt, []time.Duration{10 * time.Millisecond, 15 * time.Millisecond}) {
		t.Fatalf("sent %v at %v", got, w.sentAt)
	}
	if p := clock.Pending(); p != 0 {
		t.Errorf("%d timers armed on an empty line", p)
	}

	// Many frames in flight still use the one timer.
	for i := range uint32(100) {
		xmit(t, n, 100+i)
		clock.Advance(10 * time.Microsecond)
	}
	if p := clock.Pending(); p != 1 {
		t.Errorf("%d timers armed for 100 delayed frames, want 1", p)
	}
	clock.Advance(20 * time.Millisecond)
	if got := len(w.ids()); got != 102 {
		t.Errorf("sent %d frames, want 102", got)
	}
	if st := n.Stats().Tx; st.Delayed != 102 {
		t.Errorf("Delayed = %d, want 102", st.Delayed)
	}
}

func TestNetemJitter(t *testing.T) {
	clock := ktime.NewManual()
	w := newWire(clock)
	n := NewNetem(w, mustSpec(t, "delay 10ms 2ms"), 7, clock)
	for i := range uint32(1000) {
		xmit(t, n, i)
	}
	clock.Advance(20 * time.Millisecond)
	if len(w.sentAt) != 1000 {
		t.Fatalf("sent %d frames, want 1000", len(w.sentAt))
	}
	if !slices.IsSorted(w.sentAt) {
		t.Error("frames left out of due-time order")
	}
	lo, hi := slices.Min(w.sentAt), slices.Max(w.sentAt)
	if lo < 8*time.Millisecond || hi > 12*time.Millisecond || hi-lo < 3*time.Millisecond {
		t.Errorf("delays span [%v, %v], want about [8ms, 12ms]", lo, hi)
	}
	if ids := w.ids(); slices.IsSorted(ids) {
		t.Error("jitter reordered nothing")
	}
}

func TestNetemReorder(t *testing.T) {
	clock := ktime.NewManual()
	w := newWire(clock)
	n := NewNetem(w, mustSpec(t, "reorder 100%"), 1, clock)
	for i := range uint32(5) {
		xmit(t, n, i)
	}
	// 0 is held and overtaken by 1, 2 by 3; 4 waits for a frame that does
	// not come.
	if got := w.ids(); !slices.Equal(got, []uint32{1, 0, 3, 2}) {
		t.Fatalf("sent %v, want [1 0 3 2]", got)
	}
	clock.Advance(netemReorderHold - time.Nanosecond)
	if len(w.ids()) != 4 {
		t.Fatal("held frame released early")
	}
	clock.Advance(time.Nanosecond)
	if got := w.ids(); !slices.Equal(got, []uint32{1, 0, 3, 2, 4}) {
		t.Fatalf("sent %v, want 4 last", got)
	}
	if st := n.Stats().Tx; st.Reordered != 3 {
		t.Errorf("Reordered = %d, want 3", st.Reordered)
	}
}

// With a share of frames reordered, every frame still arrives exactly once
// and moves by one place at most.
func TestNetemReorderShare(t *testing.T) {
	frames, _, st := runNetem(t, "reorder 25%", 3, 2000)
	var ids []uint32
	for i, f := range frames {
		id := frameID(f)
		if d := int(id) - i; d < -1 || d > 1 {
			t.Fatalf("frame %d sent at place %d", id, i)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if id != uint32(i) {
			t.Fatalf("frame %d lost or doubled", i)
		}
	}
	if st.Tx.Reordered < 350 || st.Tx.Reordered > 550 {
		// A frame that overtakes a held one is not drawn for, so a quarter
		// of 1/1.25 of the frames, 400, are held.
		t.Errorf("Reordered = %d of 2000, want about 400", st.Tx.Reordered)
	}
}

// Reordering over a delay line: the held frame goes out after the one that
// overtook it, even when jitter would have sent it first.
func TestNetemReorderWithDelay(t *testing.T) {
	for _, spec := range []string{"reorder 100% delay 5ms", "reorder 100% delay 5ms 1ms"} {
		clock := ktime.NewManual()
		w := newWire(clock)
		n := NewNetem(w, mustSpec(t, spec), 9, clock)
		for i := range uint32(40) {
			xmit(t, n, i)
			clock.Advance(netemReorderHold / 2)
		}
		clock.Advance(time.Second)
		ids := w.ids()
		if len(ids) != 40 {
			t.Fatalf("%s: sent %d frames, want 40", spec, len(ids))
		}
		for i := 0; i < 40; i += 2 {
			held, overtaker := slices.Index(ids, uint32(i)), slices.Index(ids, uint32(i+1))
			if held < overtaker {
				t.Fatalf("%s: sent %v, want %d after %d", spec, ids, i, i+1)
			}
		}
		if n.Spec().Jitter == 0 {
			for i := 0; i < 40; i += 2 {
				if ids[i] != uint32(i+1) || ids[i+1] != uint32(i) {
					t.Fatalf("%s: sent %v, want pairs swapped", spec, ids)
				}
			}
		}
	}
}

func TestNetemCorruptFlipsOneBit(t *testing.T) {
	clock := ktime.NewManual()
	w := newWire(clock)
	n := NewNetem(w, mustSpec(t, "corrupt 100%"), 5, clock)
	orig := testFrame(0)
	defer orig.Free()
	want := bytes.Clone(orig.Data())
	changedBytes := make(map[int]bool)
	for range 200 {
		if err := n.Xmit(orig); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(orig.Data(), want) {
		t.Fatal("corruption changed the caller's skb")
	}
	for _, f := range w.sent {
		flipped := 0
		for i := range f {
			if d := bits.OnesCount8(f[i] ^ want[i]); d > 0 {
				flipped += d
				changedBytes[i] = true
			}
		}
		if flipped != 1 {
			t.Fatalf("%d bits flipped, want 1", flipped)
		}
	}
	if len(changedBytes) < 40 {
		t.Errorf("corruption touched only %d of 60 byte positions in 200 frames", len(changedBytes))
	}
}

func TestNetemDuplicate(t *testing.T) {
	frames, _, st := runNetem(t, "duplicate 100%", 1, 10)
	var ids []uint32
	for _, f := range frames {
		ids = append(ids, frameID(f))
	}
	if want := []uint32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9}; !slices.Equal(ids, want) {
		t.Errorf("sent %v, want each twice", ids)
	}
	if st.Tx.Duplicated != 10 {
		t.Errorf("Duplicated = %d", st.Tx.Duplicated)
	}
}

// The receive direction is impaired too: delayed frames reach rx from the
// timer, in order, and Close stops everything.
func TestNetemReceiveDelay(t *testing.T) {
	clock := ktime.NewManual()
	w := newWire(clock)
	n := NewNetem(w, mustSpec(t, "delay 3ms"), 1, clock)
	s, stop := startRx(t, n, clock)
	w.feed(testFrame(1))
	clock.Advance(time.Millisecond)
	w.feed(testFrame(2))
	w.feed(testFrame(3))
	clock.Advance(2*time.Millisecond - 1)
	if len(s.ids()) != 0 {
		t.Fatal("received before the delay")
	}
	clock.Advance(1)
	if got := s.ids(); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("received %v at 3ms", got)
	}
	clock.Advance(time.Millisecond)
	if got := s.ids(); !slices.Equal(got, []uint32{1, 2, 3}) || s.at[1] != 4*time.Millisecond {
		t.Fatalf("received %v at %v", got, s.at)
	}
	w.feed(testFrame(4))
	if clock.Pending() != 1 {
		t.Fatal("no timer for the delayed frame")
	}
	stop()
	if clock.Pending() != 0 {
		t.Error("Close left the timer armed")
	}
	clock.Advance(time.Second)
	if got := s.ids(); len(got) != 3 {
		t.Errorf("received %v after Close", got)
	}
	if st := n.Stats(); st.Rx.Delayed != 4 || st.Tx.Delayed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestNetemReceiveReorderAndDuplicate(t *testing.T) {
	clock := ktime.NewManual()
	w := newWire(clock)
	n := NewNetem(w, mustSpec(t, "duplicate 100%"), 1, clock)
	s, stop := startRx(t, n, clock)
	for i := range uint32(3) {
		w.feed(testFrame(i))
	}
	stop()
	if got := s.ids(); !slices.Equal(got, []uint32{0, 0, 1, 1, 2, 2}) {
		t.Errorf("received %v", got)
	}

	clock = ktime.NewManual()
	w = newWire(clock)
	n = NewNetem(w, mustSpec(t, "reorder 100%"), 1, clock)
	s, stop = startRx(t, n, clock)
	for i := range uint32(3) {
		w.feed(testFrame(i))
	}
	clock.Advance(netemReorderHold)
	stop()
	if got := s.ids(); !slices.Equal(got, []uint32{1, 0, 2}) {
		t.Errorf("received %v, want [1 0 2]", got)
	}
}

// On the wall clock, over a real driver, a delayed frame comes through.
func TestNetemRealClock(t *testing.T) {
	clock := ktime.NewReal()
	n := NewNetem(NewLoopback(), mustSpec(t, "delay 2ms"), 1, clock)
	ids, wait := collect(t, n, 10)
	start := time.Now()
	xmit(t, n, 5)
	if got := next(t, ids); got != 5 {
		t.Errorf("received %d", got)
	}
	if el := time.Since(start); el < 2*time.Millisecond {
		t.Errorf("delivered after %v, before the 2ms delay", el)
	}
	n.Close()
	if err := wait(); err != nil {
		t.Error(err)
	}
}

// counter is a Driver that only counts what it is sent.
type counter struct{ n int }

func (c *counter) Xmit(*SkBuff) error          { c.n++; return nil }
func (c *counter) Receive(func(*SkBuff)) error { return nil }
func (c *counter) Close() error                { return nil }

func TestNetemNoAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("sync.Pool drops Puts at random under -race")
	}
	for _, spec := range []string{"loss 50% corrupt 50% duplicate 50%", "delay 1ms 100us reorder 10%"} {
		clock := ktime.NewManual()
		c := &counter{}
		n := NewNetem(c, mustSpec(t, spec), 1, clock)
		skb := testFrame(1)
		allocs := testing.AllocsPerRun(2000, func() {
			n.Xmit(skb)
			clock.Advance(100 * time.Microsecond)
		})
		skb.Free()
		if allocs != 0 {
			t.Errorf("%s: %.2f allocations per frame", spec, allocs)
		}
		if c.n == 0 {
			t.Errorf("%s: nothing sent", spec)
		}
	}
}

func BenchmarkNetemXmitDelay(b *testing.B) {
	clock := ktime.NewManual()
	n := NewNetem(&counter{}, NetemSpec{Delay: time.Millisecond, Jitter: 100 * time.Microsecond, Loss: 0.01}, 1, clock)
	skb := AllocSkb(1514)
	skb.Put(1514)
	b.ReportAllocs()
	for b.Loop() {
		n.Xmit(skb)
		clock.Advance(10 * time.Microsecond)
	}
}

// A received frame the device vouched for (--offload's DATA_VALID or
// NEEDS_CSUM) loses that word when netem corrupts it, so the stack's own
// checksum catches the corruption; an untouched frame keeps it.
func TestNetemCorruptDropsChecksumVouch(t *testing.T) {
	for _, c := range []struct {
		spec string
		want uint8
	}{{"corrupt 100%", CHECKSUM_NONE}, {"loss 0%", CHECKSUM_UNNECESSARY}} {
		clock := ktime.NewManual()
		w := newWire(clock)
		n := NewNetem(w, mustSpec(t, c.spec), 5, clock)
		got := make(chan uint8, 1)
		go n.Receive(func(skb *SkBuff) {
			got <- skb.IPSummed
			skb.Free()
		})
		f := testFrame(0)
		f.IPSummed = CHECKSUM_UNNECESSARY
		w.feed(f)
		if s := <-got; s != c.want {
			t.Errorf("%s: ip_summed %d after netem, want %d", c.spec, s, c.want)
		}
		n.Close()
	}
}
