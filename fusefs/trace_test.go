package fusefs

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"bazil.org/fuse"

	"sockfs/socket"
)

// openTrace opens the trace file of a fresh namespace directly (no mount:
// the handle's behaviour is what is tested here; tests/trace.bats covers
// it through FUSE).
func openTrace(t *testing.T) (*socket.Net, *traceHandle) {
	t.Helper()
	sn := socket.NewNet()
	tf := &traceFile{fs: &FS{net: sn, uid: 0}}
	hh, err := tf.Open(context.Background(), &fuse.OpenRequest{Flags: fuse.OpenReadOnly}, &fuse.OpenResponse{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	h := hh.(*traceHandle)
	t.Cleanup(func() { _ = h.Release(context.Background(), &fuse.ReleaseRequest{}) })
	return sn, h
}

func traceRead(ctx context.Context, h *traceHandle, size int, nonblock bool) ([]byte, error) {
	req := &fuse.ReadRequest{Size: size}
	if nonblock {
		req.FileFlags = fuse.OpenNonblock
	}
	resp := &fuse.ReadResponse{Data: make([]byte, 0, size)}
	err := h.Read(ctx, req, resp)
	return resp.Data, err
}

func TestTraceOpenTurnsTracerOnAndReleaseOff(t *testing.T) {
	sn := socket.NewNet()
	if sn.Trace.On() {
		t.Fatal("tracer on with no reader")
	}
	tf := &traceFile{fs: &FS{net: sn}}
	hh, err := tf.Open(context.Background(), &fuse.OpenRequest{Flags: fuse.OpenReadOnly}, &fuse.OpenResponse{})
	if err != nil {
		t.Fatal(err)
	}
	if !sn.Trace.On() {
		t.Fatal("tracer off while the trace file is open")
	}
	if err := hh.(*traceHandle).Release(context.Background(), &fuse.ReleaseRequest{}); err != nil {
		t.Fatal(err)
	}
	if sn.Trace.On() {
		t.Fatal("tracer still on after the last release")
	}
}

func TestTraceOpenRefusesOthersAndWriters(t *testing.T) {
	tf := &traceFile{fs: &FS{net: socket.NewNet(), uid: 1000}}
	cases := []struct {
		name string
		req  fuse.OpenRequest
	}{
		{"other user", fuse.OpenRequest{Header: fuse.Header{Uid: 1001}, Flags: fuse.OpenReadOnly}},
		{"owner writing", fuse.OpenRequest{Header: fuse.Header{Uid: 1000}, Flags: fuse.OpenWriteOnly}},
		{"root read-write", fuse.OpenRequest{Header: fuse.Header{Uid: 0}, Flags: fuse.OpenReadWrite}},
	}
	for _, c := range cases {
		if _, err := tf.Open(context.Background(), &c.req, &fuse.OpenResponse{}); !errors.Is(err, syscall.EACCES) {
			t.Errorf("%s: open = %v, want EACCES", c.name, err)
		}
	}
	for _, uid := range []uint32{0, 1000} {
		req := fuse.OpenRequest{Header: fuse.Header{Uid: uid}, Flags: fuse.OpenReadOnly}
		hh, err := tf.Open(context.Background(), &req, &fuse.OpenResponse{})
		if err != nil {
			t.Errorf("uid %d: open = %v, want success", uid, err)
			continue
		}
		_ = hh.(*traceHandle).Release(context.Background(), &fuse.ReleaseRequest{})
	}
}

func TestTraceReadBlocksUntilALine(t *testing.T) {
	sn, h := openTrace(t)
	got := make(chan []byte, 1)
	go func() {
		b, err := traceRead(context.Background(), h, 4096, false)
		if err != nil {
			t.Errorf("read: %v", err)
		}
		got <- b
	}()
	sn.Trace.Emitf(7, "sock_write_iter -> inet_sendmsg -> tcp_sendmsg len=%d", 6)
	b := <-got
	if !regexp.MustCompile(`^[0-9]+\.[0-9]{6} ino=7 sock_write_iter -> inet_sendmsg -> tcp_sendmsg len=6\n$`).Match(b) {
		t.Fatalf("read %q", b)
	}
}

func TestTraceNonblockingReadIsEAGAIN(t *testing.T) {
	_, h := openTrace(t)
	if _, err := traceRead(context.Background(), h, 4096, true); !errors.Is(err, syscall.EAGAIN) {
		t.Fatalf("read = %v, want EAGAIN", err)
	}
}

func TestTraceInterruptedReadIsEINTR(t *testing.T) {
	_, h := openTrace(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := traceRead(ctx, h, 4096, false)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, syscall.EINTR) {
		t.Fatalf("read = %v, want EINTR", err)
	}
}

func TestTraceShortReadsKeepTheRest(t *testing.T) {
	sn, h := openTrace(t)
	sn.Trace.Emitf(0, "dev_queue_xmit sock0 len=%d", 1514)
	var all []byte
	for !bytes.HasSuffix(all, []byte("\n")) {
		b, err := traceRead(context.Background(), h, 5, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 5 {
			t.Fatalf("read %d bytes into 5", len(b))
		}
		all = append(all, b...)
	}
	if !bytes.HasSuffix(all, []byte(" dev_queue_xmit sock0 len=1514\n")) {
		t.Fatalf("reassembled %q", all)
	}
}

func TestTracePollReportsReadable(t *testing.T) {
	sn, h := openTrace(t)
	var resp fuse.PollResponse
	if err := h.Poll(context.Background(), &fuse.PollRequest{}, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.REvents != 0 {
		t.Fatalf("empty trace polls %v", resp.REvents)
	}
	h.mu.Lock()
	filled := h.filled
	h.mu.Unlock()
	sn.Trace.Emitf(0, "ip_rcv")
	<-filled // the pump has moved the line into the open
	resp = fuse.PollResponse{}
	if err := h.Poll(context.Background(), &fuse.PollRequest{}, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.REvents&fuse.PollIn == 0 {
		t.Fatalf("trace with a line polls %v, want POLLIN", resp.REvents)
	}
}

// A reader that does not read loses lines instead of holding up Emitf, and
// finds the loss reported in its stream, between whole lines, adding up to
// what the tracer counted.
func TestTraceSlowReaderLosesLinesAndIsTold(t *testing.T) {
	sn, h := openTrace(t)
	const emitted = 20000
	for i := range emitted {
		sn.Trace.Emitf(3, "tcp_transmit_skb seq=%d len=1448 -> ip_queue_xmit", i)
	}
	lost := h.r.Lost()
	if lost == 0 {
		t.Fatal("no lines lost with nobody reading")
	}
	line := regexp.MustCompile(`^[0-9]+\.[0-9]{6} ino=3 tcp_transmit_skb seq=([0-9]+) len=1448 -> ip_queue_xmit$`)
	marker := regexp.MustCompile(`^# trace: ([0-9]+) lines lost \(reader too slow\)$`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var reported, lines uint64
	var buf []byte
	for reported+lines < emitted {
		b, err := traceRead(ctx, h, 65536, false)
		if err != nil {
			t.Fatalf("read after %d lines and %d reported lost (of %d, %d lost): %v", lines, reported, emitted, lost, err)
		}
		buf = append(buf, b...)
		for {
			i := bytes.IndexByte(buf, '\n')
			if i < 0 {
				break
			}
			l := string(buf[:i])
			buf = buf[i+1:]
			if m := marker.FindStringSubmatch(l); m != nil {
				n, _ := strconv.ParseUint(m[1], 10, 64)
				reported += n
				continue
			}
			if !line.MatchString(l) {
				t.Fatalf("torn or foreign line %q", l)
			}
			lines++
		}
	}
	if reported != lost || lines+lost != emitted {
		t.Fatalf("read %d lines, %d reported lost; tracer lost %d of %d", lines, reported, lost, emitted)
	}
}
