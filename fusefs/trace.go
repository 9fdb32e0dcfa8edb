package fusefs

import (
	"context"
	"fmt"
	"sync"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/socket"
)

// The trace file, MOUNTPOINT/trace: while an open of it exists, every layer
// crossing the stack reports (socket.Tracer.Emitf) is one line of the
// stream, e.g.
//
//	0.000123 ino=12 sock_write_iter -> inet_sendmsg -> tcp_sendmsg len=6
//
// It plays the part ftrace's trace_pipe plays in the kernel: reads consume,
// block until there is something to read, and a reader that cannot keep up
// loses lines rather than slowing the stack. Lines lost on an open are
// reported in that open's stream as "# trace: N lines lost (reader too
// slow)" where the gap is noticed.

const (
	traceIno = staticIno | 2

	// traceBacklog is how many lines the tracer queues for one open
	// before it drops (and counts) further ones.
	traceBacklog = 4096
	// traceChunk bounds the bytes an open holds beyond the tracer's
	// queue: the pump stops taking lines while this much is unread, so a
	// stalled reader backs up into the tracer, which drops.
	traceChunk = 64 << 10
)

// traceFile is the trace file's node. It is the daemon owner's alone (mode
// 0400): the lines name every socket's addresses and data sizes, whoever
// owns the socket, as the kernel keeps tracefs to root.
type traceFile struct {
	fixedAttrs
	fs *FS
}

var (
	_ fs.Node       = (*traceFile)(nil)
	_ fs.NodeOpener = (*traceFile)(nil)
)

func (t *traceFile) Attr(ctx context.Context, a *fuse.Attr) error {
	a.Inode = traceIno
	a.Mode = 0o400
	a.Uid, a.Gid = t.fs.uid, t.fs.gid
	return nil
}

// Open subscribes a reader to the namespace's tracer; from now until the
// release, the hooks in the stack format lines (with no open, each hook
// is one atomic load).
func (t *traceFile) Open(ctx context.Context, req *fuse.OpenRequest, resp *fuse.OpenResponse) (fs.Handle, error) {
	if req.Uid != 0 && req.Uid != t.fs.uid {
		return nil, syscall.EACCES
	}
	if !req.Flags.IsReadOnly() {
		return nil, syscall.EACCES
	}
	// A stream: no size, no offsets, no page cache.
	resp.Flags |= fuse.OpenDirectIO | fuse.OpenNonSeekable
	pctx, stop := context.WithCancel(context.Background())
	h := &traceHandle{
		fs:      t.fs,
		r:       t.fs.net.Trace.Subscribe(traceBacklog),
		stop:    stop,
		done:    make(chan struct{}),
		filled:  make(chan struct{}),
		drained: make(chan struct{}, 1),
	}
	go h.pump(pctx)
	return h, nil
}

// traceHandle is one open of the trace file. A pump goroutine moves lines
// from the tracer into buf, which reads consume; the pump is what a poll
// waits on, since the tracer itself wakes nobody.
type traceHandle struct {
	noFlush
	fs   *FS
	r    *socket.TraceReader // read by the pump only
	stop context.CancelFunc  // ends the pump
	done chan struct{}       // closed when the pump has returned
	// drained tells the pump that a read brought buf below traceChunk.
	drained chan struct{}

	mu  sync.Mutex
	buf []byte // protected by mu: lines taken from the tracer, not yet read
	// filled is closed while buf holds bytes and replaced when a read
	// empties it, so blocked reads wait on it without polling.
	filled  chan struct{}   // protected by mu
	wakeup  fuse.PollWakeup // protected by mu: a poller to wake, if hasWake
	hasWake bool            // protected by mu
}

var (
	_ fs.HandleReader   = (*traceHandle)(nil)
	_ fs.HandlePoller   = (*traceHandle)(nil)
	_ fs.HandleReleaser = (*traceHandle)(nil)
)

// pump takes lines from the tracer as they come, until ctx ends at
// release. It never takes more while traceChunk bytes are unread, so the
// backlog fills and the tracer drops instead of this open growing.
func (h *traceHandle) pump(ctx context.Context) {
	defer close(h.done)
	chunk := make([]byte, traceChunk)
	var lost uint64
	for {
		n, err := h.r.Read(ctx, chunk, false)
		if err != nil {
			return // EINTR: released
		}
		h.mu.Lock()
		wasEmpty := len(h.buf) == 0
		h.buf = append(h.buf, chunk[:n]...)
		// The marker goes between lines: a chunk that ends inside a line
		// leaves the rest for the next Read, and the marker waits too.
		if l := h.r.Lost(); l != lost && chunk[n-1] == '\n' {
			h.buf = fmt.Appendf(h.buf, "# trace: %d lines lost (reader too slow)\n", l-lost)
			lost = l
		}
		if wasEmpty {
			close(h.filled)
		}
		wake, hasWake := h.wakeup, h.hasWake
		h.hasWake = false
		full := len(h.buf) >= traceChunk
		h.mu.Unlock()

		if hasWake {
			if srv := h.fs.srv.Load(); srv != nil {
				// The poller may be gone (file closed); nobody is
				// left to tell, so the error is dropped.
				_ = srv.NotifyPollWakeup(wake)
			}
		}
		for full {
			select {
			case <-h.drained:
			case <-ctx.Done():
				return
			}
			h.mu.Lock()
			full = len(h.buf) >= traceChunk
			h.mu.Unlock()
		}
	}
}

// Read blocks until lines are there (EINTR when interrupted, EAGAIN with
// O_NONBLOCK), then returns as much as fits; the rest of a line that does
// not fit is the next read's.
func (h *traceHandle) Read(ctx context.Context, req *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	h.mu.Lock()
	for len(h.buf) == 0 {
		if nonblocking(req.FileFlags) {
			h.mu.Unlock()
			return syscall.EAGAIN
		}
		filled := h.filled
		h.mu.Unlock()
		select {
		case <-filled:
		case <-ctx.Done():
			return syscall.EINTR
		}
		h.mu.Lock()
	}
	h.buf = readFrom(h.buf, req, resp)
	if len(h.buf) == 0 {
		h.filled = make(chan struct{})
	}
	below := len(h.buf) < traceChunk
	h.mu.Unlock()
	if below {
		select {
		case h.drained <- struct{}{}:
		default: // the pump has a wakeup pending already
		}
	}
	return nil
}

// Poll reports readable while lines are waiting; otherwise it leaves the
// wakeup for the pump, under the same lock the pump fills buf under, so a
// line arriving in between still wakes the poller.
func (h *traceHandle) Poll(ctx context.Context, req *fuse.PollRequest, resp *fuse.PollResponse) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.buf) > 0 {
		resp.REvents = fuse.PollIn | fuse.PollReadNormal
		return nil
	}
	if w, ok := req.Wakeup(); ok {
		h.wakeup, h.hasWake = w, true
	}
	return nil
}

// Release unsubscribes: with the last open gone the hooks stop formatting.
func (h *traceHandle) Release(ctx context.Context, req *fuse.ReleaseRequest) error {
	h.stop()
	<-h.done
	h.r.Close()
	return nil
}
