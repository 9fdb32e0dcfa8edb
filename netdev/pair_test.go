package netdev

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x0a}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x0b}
)

// testFrame builds a minimum-size Ethernet frame from macA to macB carrying
// id, the way a protocol does: payload first, header pushed in front.
func testFrame(id uint32) *SkBuff {
	skb := AllocSkb(60)
	p := skb.Put(60 - EthHlen)
	clear(p)
	binary.BigEndian.PutUint32(p, id)
	EthHeaderPush(skb, macB, macA, 0x88b5) // IEEE local experimental EtherType
	return skb
}

// frameID is the id testFrame put in frame.
func frameID(frame []byte) uint32 { return binary.BigEndian.Uint32(frame[EthHlen:]) }

// collect runs drv's receive loop in a goroutine and sends each frame's id
// to the returned channel; wait returns Receive's error.
func collect(t *testing.T, drv Driver, buf int) (ids <-chan uint32, wait func() error) {
	t.Helper()
	ch := make(chan uint32, buf)
	errc := make(chan error, 1)
	go func() {
		errc <- drv.Receive(func(skb *SkBuff) {
			ch <- frameID(skb.Data())
			skb.Free()
		})
	}()
	return ch, func() error {
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("Receive did not return after Close")
			return nil
		}
	}
}

// next receives one id, failing the test if none comes within a bound.
func next(t *testing.T, ids <-chan uint32) uint32 {
	t.Helper()
	select {
	case id := <-ids:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("no frame delivered")
		return 0
	}
}

func xmit(t *testing.T, drv Driver, id uint32) {
	t.Helper()
	skb := testFrame(id)
	defer skb.Free()
	if err := drv.Xmit(skb); err != nil {
		t.Fatalf("Xmit(%d): %v", id, err)
	}
}

func TestPairCarriesBothWaysInOrder(t *testing.T) {
	a, b := NewPair(0)
	fromA, waitB := collect(t, b, 100)
	fromB, waitA := collect(t, a, 100)
	for i := range uint32(50) {
		xmit(t, a, i)
		xmit(t, b, 1000+i)
	}
	for i := range uint32(50) {
		if got := next(t, fromA); got != i {
			t.Fatalf("b received %d, want %d", got, i)
		}
		if got := next(t, fromB); got != 1000+i {
			t.Fatalf("a received %d, want %d", got, 1000+i)
		}
	}
	if a.Delivered() != 50 || b.Delivered() != 50 {
		t.Errorf("delivered a=%d b=%d, want 50 each", a.Delivered(), b.Delivered())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := waitA(); err != nil {
		t.Errorf("a.Receive: %v", err)
	}
	if err := waitB(); err != nil {
		t.Errorf("b.Receive: %v", err)
	}
	skb := testFrame(1)
	defer skb.Free()
	if err := b.Xmit(skb); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Xmit after Close = %v, want net.ErrClosed", err)
	}
}

func TestPairCopiesTheFrame(t *testing.T) {
	a, b := NewPair(4)
	defer a.Close()
	skb := testFrame(7)
	if err := a.Xmit(skb); err != nil {
		t.Fatal(err)
	}
	// The caller keeps its skb and may reuse it at once.
	binary.BigEndian.PutUint32(skb.Data()[EthHlen:], 8)
	skb.Free()
	ids, _ := collect(t, b, 1)
	if got := next(t, ids); got != 7 {
		t.Errorf("received id %d, want 7", got)
	}
}

func TestPairDropsWhenQueueFull(t *testing.T) {
	a, b := NewPair(4)
	for i := range uint32(6) {
		xmit(t, a, i) // a full queue drops but reports success
	}
	if b.Dropped() != 2 || a.Dropped() != 0 {
		t.Errorf("dropped a=%d b=%d, want 0 and 2", a.Dropped(), b.Dropped())
	}
	ids, wait := collect(t, b, 10)
	for i := range uint32(4) {
		if got := next(t, ids); got != i {
			t.Fatalf("received %d, want %d", got, i)
		}
	}
	b.Close()
	if err := wait(); err != nil {
		t.Error(err)
	}
}

// A sender that holds a lock its own receive path needs must not deadlock:
// Xmit may not run the peer's rx on the caller's goroutine.
func TestPairXmitDoesNotCallRx(t *testing.T) {
	a, b := NewPair(0)
	defer a.Close()
	var proto sync.Mutex // stands for a socket lock rx takes
	got := make(chan uint32, 1)
	go b.Receive(func(skb *SkBuff) {
		proto.Lock()
		got <- frameID(skb.Data())
		proto.Unlock()
		skb.Free()
	})
	sent := make(chan struct{})
	go func() {
		proto.Lock()
		skb := testFrame(3)
		a.Xmit(skb)
		skb.Free()
		proto.Unlock()
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("Xmit blocked on the receiver's lock")
	}
	if id := next(t, got); id != 3 {
		t.Errorf("received %d, want 3", id)
	}
}

func TestPairConcurrentSenders(t *testing.T) {
	const senders, each = 4, 500
	a, b := NewPair(senders * each)
	ids, wait := collect(t, b, senders*each)
	var wg sync.WaitGroup
	for s := range uint32(senders) {
		wg.Go(func() {
			for i := range uint32(each) {
				skb := testFrame(s<<16 | i)
				if err := a.Xmit(skb); err != nil {
					t.Error(err)
				}
				skb.Free()
			}
		})
	}
	wg.Wait()
	last := make(map[uint32]int64)
	for range senders * each {
		id := next(t, ids)
		s, i := id>>16, int64(id&0xffff)
		if prev, ok := last[s]; ok && i != prev+1 {
			t.Fatalf("sender %d: frame %d after %d", s, i, prev)
		}
		last[s] = i
	}
	if b.Dropped() != 0 || b.Delivered() != senders*each {
		t.Errorf("delivered %d dropped %d", b.Delivered(), b.Dropped())
	}
	a.Close()
	if err := wait(); err != nil {
		t.Error(err)
	}
}

func BenchmarkPairXmitReceive(b *testing.B) {
	x, y := NewPair(0)
	done := make(chan struct{})
	var n int
	go func() {
		y.Receive(func(skb *SkBuff) {
			skb.Free()
			n++
		})
		close(done)
	}()
	skb := AllocSkb(1514)
	skb.Put(1514)
	b.ReportAllocs()
	b.SetBytes(1514)
	for b.Loop() {
		if err := x.Xmit(skb); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(y.Dropped())/float64(b.N), "drops/op")
	x.Close()
	<-done
	skb.Free()
}

// The wire is idle only once a frame and the answer it provoked have both
// been handed up: the answer is queued before the first is counted done.
func TestPairIdle(t *testing.T) {
	a, b := NewPair(0)
	defer a.Close()
	select {
	case <-a.Idle():
	default:
		t.Fatal("a new wire is not idle")
	}
	var got atomic.Int32
	release := make(chan struct{})
	go b.Receive(func(skb *SkBuff) {
		<-release // hold b's loop so that the wire is busy
		skb.Free()
		b.Xmit(testFrame(2)) // the answer
	})
	go a.Receive(func(skb *SkBuff) {
		skb.Free()
		got.Add(1)
	})
	sent := a.Sent()
	a.Xmit(testFrame(1))
	select {
	case <-sent:
	default:
		t.Fatal("Sent not closed by a frame")
	}
	idle := b.Idle()
	select {
	case <-idle:
		t.Fatal("idle with a frame queued")
	default:
	}
	close(release)
	<-idle
	if got.Load() != 1 {
		t.Fatal("idle before the answer was handed up")
	}
	if a.Delivered() != 1 || b.Delivered() != 1 {
		t.Fatalf("delivered a=%d b=%d", a.Delivered(), b.Delivered())
	}
}
