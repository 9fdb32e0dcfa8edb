package netdev

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"sockfs/netdev/ktime"
)

// pcapStamps reads back a capture written by Pcap: each record's frame id
// (testFrame's) and its timestamp.
func pcapStamps(t *testing.T, b []byte) (ids []uint32, at []time.Time) {
	t.Helper()
	b = b[pcapFileHdrLen:]
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < pcapRecHdrLen {
			t.Fatalf("torn record header: % x", b)
		}
		ts := time.Unix(int64(ne.Uint32(b[0:])), int64(ne.Uint32(b[4:]))*1000)
		n := int(ne.Uint32(b[8:]))
		ids = append(ids, frameID(b[pcapRecHdrLen:pcapRecHdrLen+n]))
		at = append(at, ts)
		b = b[pcapRecHdrLen+n:]
	}
	return ids, at
}

// TestPcapUnderNetemShowsTheWire wraps the capture inside netem, as the
// daemon does: frames netem drops are not recorded, a delayed frame is
// stamped when netem finally hands it to the device, and received frames
// are all recorded, netem's losses included, since they did cross.
func TestPcapUnderNetemShowsTheWire(t *testing.T) {
	clock := ktime.NewManual()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		spec    string
		sent    []uint32
		stamped time.Duration
	}{
		{"loss 100%", nil, 0},
		{"delay 10ms", []uint32{1, 2}, 10 * time.Millisecond},
	} {
		var buf bytes.Buffer
		w := newWire(clock)
		p, err := NewPcap(w, &buf)
		if err != nil {
			t.Fatal(err)
		}
		p.now = func() time.Time { return base.Add(clock.Now()) }
		n := NewNetem(p, mustSpec(t, c.spec), 1, clock)
		start := clock.Now()
		xmit(t, n, 1)
		xmit(t, n, 2)
		clock.Advance(20 * time.Millisecond)
		ids, at := pcapStamps(t, buf.Bytes())
		if !slices.Equal(ids, c.sent) || !slices.Equal(w.ids(), c.sent) {
			t.Fatalf("%s: recorded %v, the wire carried %v, want %v", c.spec, ids, w.ids(), c.sent)
		}
		for i := range at {
			if want := base.Add(start + c.stamped); !at[i].Equal(want) {
				t.Errorf("%s: frame %d stamped %v, want %v (when handed to the device)", c.spec, ids[i], at[i], want)
			}
		}
		if c.spec == "loss 100%" {
			// Both frames cross the wire inward; netem then drops them.
			s, stop := startRx(t, n, clock)
			w.feed(testFrame(7))
			w.feed(testFrame(8))
			stop()
			if got, _ := pcapStamps(t, buf.Bytes()); !slices.Equal(got, []uint32{7, 8}) || len(s.ids()) != 0 {
				t.Errorf("received: recorded %v, handed up %v; want [7 8] recorded, none up", got, s.ids())
			}
		} else {
			n.Close()
		}
	}
}

// slowDevice is a device whose write takes a second of the test's clock.
type slowDevice struct {
	counter
	clock *ktime.Manual
}

func (d *slowDevice) Xmit(*SkBuff) error {
	d.clock.Advance(time.Second)
	return nil
}

// TestPcapStampsAtHandoff: a sent frame's time is when it was handed to the
// device, not when the device's write returned.
func TestPcapStampsAtHandoff(t *testing.T) {
	clock := ktime.NewManual()
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var buf bytes.Buffer
	p, err := NewPcap(&slowDevice{clock: clock}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	p.now = func() time.Time { return base.Add(clock.Now()) }
	xmit(t, p, 1)
	if _, at := pcapStamps(t, buf.Bytes()); len(at) != 1 || !at[0].Equal(base) {
		t.Fatalf("stamped %v, want %v", at, base)
	}
}
