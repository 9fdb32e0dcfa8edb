package netdev

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func pcapFileHeader() []byte {
	h := make([]byte, 24)
	binary.NativeEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.NativeEndian.PutUint16(h[4:], 2)
	binary.NativeEndian.PutUint16(h[6:], 4)
	binary.NativeEndian.PutUint32(h[16:], 262144)
	binary.NativeEndian.PutUint32(h[20:], 1)
	return h
}

func pcapRecord(ts time.Time, frame []byte) []byte {
	r := make([]byte, 16, 16+len(frame))
	binary.NativeEndian.PutUint32(r[0:], uint32(ts.Unix()))
	binary.NativeEndian.PutUint32(r[4:], uint32(ts.Nanosecond()/1000))
	binary.NativeEndian.PutUint32(r[8:], uint32(len(frame)))
	binary.NativeEndian.PutUint32(r[12:], uint32(len(frame)))
	return append(r, frame...)
}

func TestPcapBytes(t *testing.T) {
	var buf bytes.Buffer
	a, b := NewPair(0)
	p, err := NewPcap(a, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), pcapFileHeader()) {
		t.Fatalf("file header % x", buf.Bytes())
	}
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	p.now = func() time.Time { return ts }

	out := testFrame(1)
	defer out.Free()
	if err := p.Xmit(out); err != nil {
		t.Fatal(err)
	}
	in := testFrame(2)
	if err := b.Xmit(in); err != nil {
		t.Fatal(err)
	}
	in.Free()
	ids, wait := collect(t, p, 1)
	if got := next(t, ids); got != 2 {
		t.Fatalf("received %d", got)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}

	want := pcapFileHeader()
	f1, f2 := testFrame(1), testFrame(2)
	want = append(want, pcapRecord(ts, f1.Data())...)
	want = append(want, pcapRecord(ts, f2.Data())...)
	f1.Free()
	f2.Free()
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("capture\n% x\nwant\n% x", buf.Bytes(), want)
	}
	if binary.NativeEndian.Uint32(want[24+4:]) != 123456 {
		t.Error("timestamp is not in microseconds")
	}
}

// failing is a Driver whose Xmit always fails.
type failing struct{ counter }

func (failing) Xmit(*SkBuff) error { return errors.New("no carrier") }

func TestPcapRecordsOnlyWhatWasSent(t *testing.T) {
	var buf bytes.Buffer
	p, err := NewPcap(&failing{}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	skb := testFrame(1)
	defer skb.Free()
	if err := p.Xmit(skb); err == nil {
		t.Fatal("inner error lost")
	}
	if buf.Len() != 24 {
		t.Errorf("a frame the driver refused was recorded (%d bytes)", buf.Len())
	}
}

// brokenWriter takes the file header and then fails.
type brokenWriter struct{ writes int }

func (w *brokenWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes == 1 {
		return len(p), nil
	}
	return 0, errors.New("disk full")
}

func TestPcapWriteErrorsDoNotStopTheStack(t *testing.T) {
	var logbuf bytes.Buffer
	log.SetOutput(&logbuf)
	defer log.SetOutput(os.Stderr)

	c := &counter{}
	p, err := NewPcap(c, &brokenWriter{})
	if err != nil {
		t.Fatal(err)
	}
	skb := testFrame(1)
	defer skb.Free()
	for range 5 {
		if err := p.Xmit(skb); err != nil {
			t.Fatalf("Xmit failed because the capture did: %v", err)
		}
	}
	if c.n != 5 {
		t.Errorf("driver got %d frames, want 5", c.n)
	}
	if p.Errors() != 5 {
		t.Errorf("Errors = %d, want 5", p.Errors())
	}
	if n := strings.Count(logbuf.String(), "disk full"); n != 1 {
		t.Errorf("logged %d times, want once: %q", n, logbuf.String())
	}

	if _, err := NewPcap(c, &brokenWriter{writes: 1}); err == nil {
		t.Error("NewPcap hid a failed file header")
	}
}

func TestPcapReadByTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	path := filepath.Join(t.TempDir(), "cap.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	p, err := NewPcap(&counter{}, bw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint32(3) {
		xmit(t, p, i)
	}
	big := AllocSkb(9000)
	EthHeaderPush(big, macB, macA, 0x88b5)
	big.Put(9000 - EthHlen)
	if err := p.Xmit(big); err != nil {
		t.Fatal(err)
	}
	big.Free()
	if err := p.Close(); err != nil { // flushes bw
		t.Fatal(err)
	}
	out, err := exec.Command(tcpdump, "-r", path, "-nn", "-e").CombinedOutput()
	if err != nil {
		t.Fatalf("tcpdump: %v\n%s", err, out)
	}
	lines := 0
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "02:00:00:00:00:0a > 02:00:00:00:00:0b") && strings.Contains(l, "0x88b5") {
			lines++
		}
	}
	if lines != 4 || !strings.Contains(string(out), "length 9000") {
		t.Errorf("tcpdump read %d of 4 frames:\n%s", lines, out)
	}
}
