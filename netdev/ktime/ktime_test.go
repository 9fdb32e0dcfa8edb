package ktime

import (
	"strings"
	"testing"
	"time"
)

func TestManualRunsTimersInDeadlineOrder(t *testing.T) {
	c := NewManual()
	var got []string
	c.AfterFunc(30*time.Millisecond, func() { got = append(got, "c") })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, "a") })
	c.AfterFunc(20*time.Millisecond, func() { got = append(got, "b1") })
	c.AfterFunc(20*time.Millisecond, func() { got = append(got, "b2") }) // same deadline: in arming order
	c.Advance(25 * time.Millisecond)
	if want := "a b1 b2"; strings.Join(got, " ") != want {
		t.Fatalf("after 25ms ran %q, want %q", strings.Join(got, " "), want)
	}
	if c.Now() != 25*time.Millisecond || c.Pending() != 1 {
		t.Fatalf("now %v pending %d", c.Now(), c.Pending())
	}
	c.Advance(5 * time.Millisecond)
	if strings.Join(got, " ") != "a b1 b2 c" || c.Pending() != 0 {
		t.Fatalf("after 30ms ran %q, pending %d", strings.Join(got, " "), c.Pending())
	}
}

func TestManualTimerSeesItsOwnDeadlineAsNow(t *testing.T) {
	c := NewManual()
	var at time.Duration
	c.AfterFunc(7*time.Millisecond, func() { at = c.Now() })
	c.Advance(time.Second)
	if at != 7*time.Millisecond {
		t.Fatalf("timer ran at %v, want 7ms", at)
	}
}

func TestManualStopAndReset(t *testing.T) {
	c := NewManual()
	n := 0
	tm := c.AfterFunc(10*time.Millisecond, func() { n++ })
	if !tm.Stop() || tm.Stop() {
		t.Fatal("Stop should report pending once")
	}
	c.Advance(20 * time.Millisecond)
	if n != 0 {
		t.Fatal("stopped timer ran")
	}
	if tm.Reset(10 * time.Millisecond) {
		t.Fatal("Reset of a stopped timer reported it pending")
	}
	if !tm.Reset(15 * time.Millisecond) { // re-arm a pending timer: the later deadline wins
		t.Fatal("Reset of a pending timer reported it idle")
	}
	c.Advance(10 * time.Millisecond)
	if n != 0 {
		t.Fatal("timer ran at its old deadline")
	}
	c.Advance(5 * time.Millisecond)
	if n != 1 {
		t.Fatalf("timer ran %d times, want 1", n)
	}
}

func TestManualTimerMayRearmItself(t *testing.T) {
	c := NewManual()
	n := 0
	var tm Timer
	tm = c.AfterFunc(time.Millisecond, func() {
		n++
		if n < 3 {
			tm.Reset(time.Millisecond) // a retransmit timer backing off
		}
	})
	c.Advance(10 * time.Millisecond)
	if n != 3 {
		t.Fatalf("self-rearming timer ran %d times, want 3", n)
	}
}

func TestRealClockFires(t *testing.T) {
	c := NewReal()
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("real timer never fired")
	}
	if c.Now() <= 0 {
		t.Fatal("real clock does not advance")
	}
}
