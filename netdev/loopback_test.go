package netdev

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"sockfs/internal/race"
)

func TestLoopbackDeliversInOrder(t *testing.T) {
	lo := NewLoopback()
	ids, wait := collect(t, lo, 100)
	for i := range uint32(100) {
		xmit(t, lo, i)
	}
	for i := range uint32(100) {
		if got := next(t, ids); got != i {
			t.Fatalf("received %d, want %d", got, i)
		}
	}
	if lo.Delivered() != 100 || lo.Dropped() != 0 {
		t.Errorf("delivered %d dropped %d", lo.Delivered(), lo.Dropped())
	}
	if err := lo.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Errorf("Receive after Close: %v", err)
	}
	skb := testFrame(0)
	defer skb.Free()
	if err := lo.Xmit(skb); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Xmit after Close = %v, want net.ErrClosed", err)
	}
}

func TestLoopbackQueueBound(t *testing.T) {
	lo := NewLoopback()
	for i := range uint32(TxQueueLen + 5) {
		xmit(t, lo, i)
	}
	if lo.Dropped() != 5 {
		t.Fatalf("Dropped = %d, want 5", lo.Dropped())
	}
	ids, wait := collect(t, lo, TxQueueLen)
	for i := range uint32(TxQueueLen) {
		if got := next(t, ids); got != i {
			t.Fatalf("received %d, want %d", got, i)
		}
	}
	lo.Close()
	if err := wait(); err != nil {
		t.Error(err)
	}
}

// Closing with frames still queued frees them, and a Receive started after
// Close returns at once.
func TestLoopbackCloseWithQueued(t *testing.T) {
	lo := NewLoopback()
	for i := range uint32(10) {
		xmit(t, lo, i)
	}
	lo.Close()
	lo.Close() // idempotent
	if err := lo.Receive(func(skb *SkBuff) { t.Errorf("frame %d delivered after Close", frameID(skb.Data())) }); err != nil {
		t.Error(err)
	}
}

// The loopback's hot path allocates nothing: the copy comes from the skb
// pool and the receiver gives it back.
func TestLoopbackNoAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("sync.Pool drops Puts at random under -race")
	}
	lo := NewLoopback()
	defer lo.Close()
	skb := testFrame(1)
	defer skb.Free()
	allocs := testing.AllocsPerRun(1000, func() {
		lo.Xmit(skb)
		lo.ring.mu.Lock()
		got := lo.ring.q.Dequeue()
		lo.ring.mu.Unlock()
		<-lo.ring.wake
		got.Free()
	})
	if allocs != 0 {
		t.Errorf("Xmit + dequeue allocated %.1f times per frame", allocs)
	}
}

// lo is idle only once a frame and the frame its input looped back in
// answer have both been handed up, as for a pair's wire.
func TestLoopbackIdle(t *testing.T) {
	lo := NewLoopback()
	defer lo.Close()
	select {
	case <-lo.Idle():
	default:
		t.Fatal("a new loopback is not idle")
	}
	var got atomic.Int32
	release := make(chan struct{})
	go lo.Receive(func(skb *SkBuff) {
		id := frameID(skb.Data())
		skb.Free()
		got.Add(1)
		if id == 1 {
			<-release             // hold the loop so that lo is busy
			lo.Xmit(testFrame(2)) // the answer, sent from the input path
		}
	})
	sent := lo.Sent()
	xmit(t, lo, 1)
	select {
	case <-sent:
	default:
		t.Fatal("Sent not closed by a frame")
	}
	idle := lo.Idle()
	select {
	case <-idle:
		t.Fatal("idle with a frame queued")
	default:
	}
	sent = lo.Sent()
	close(release)
	<-idle
	if got.Load() != 2 {
		t.Fatalf("idle after %d frames handed up, want 2", got.Load())
	}
	select {
	case <-sent:
	default:
		t.Fatal("the answer did not close Sent")
	}
	if lo.Delivered() != 2 {
		t.Fatalf("delivered %d", lo.Delivered())
	}
}
