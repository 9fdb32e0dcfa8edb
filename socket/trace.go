package socket

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Tracer carries the call-path lines the trace file streams: each layer
// crossing on the control and data paths emits one line while somebody
// reads. With no reader, On is one atomic load and nothing else runs. A
// reader that falls behind loses lines (counted in Dropped), never slows
// the stack.
type Tracer struct {
	readers atomic.Int32
	start   time.Time

	mu   sync.Mutex
	subs map[*TraceReader]struct{} // protected by mu

	Dropped atomic.Uint64
}

// NewTracer returns a tracer whose timestamps count from now.
func NewTracer() *Tracer {
	return &Tracer{start: time.Now(), subs: make(map[*TraceReader]struct{})}
}

// On reports whether anybody is reading; callers test it before building a
// line, so tracing costs nothing when off.
func (t *Tracer) On() bool { return t != nil && t.readers.Load() > 0 }

// Emitf formats one line for socket inode ino (0 for none) and hands it to
// every reader: "0.000123 ino=12 sock_write_iter -> inet_sendmsg ...".
func (t *Tracer) Emitf(ino uint64, format string, args ...any) {
	if !t.On() {
		return
	}
	ts := time.Since(t.start).Seconds()
	var line string
	if ino != 0 {
		line = fmt.Sprintf("%.6f ino=%d %s\n", ts, ino, fmt.Sprintf(format, args...))
	} else {
		line = fmt.Sprintf("%.6f %s\n", ts, fmt.Sprintf(format, args...))
	}
	t.mu.Lock()
	for r := range t.subs {
		select {
		case r.ch <- line:
		default:
			t.Dropped.Add(1)
			r.dropped.Add(1)
		}
	}
	t.mu.Unlock()
}

// TraceReader is one open of the trace file.
type TraceReader struct {
	t       *Tracer
	ch      chan string
	pending string
	dropped atomic.Uint64
}

// Subscribe starts a reader with room for backlog lines.
func (t *Tracer) Subscribe(backlog int) *TraceReader {
	r := &TraceReader{t: t, ch: make(chan string, backlog)}
	t.mu.Lock()
	t.subs[r] = struct{}{}
	t.mu.Unlock()
	t.readers.Add(1)
	return r
}

// Close stops the reader.
func (r *TraceReader) Close() {
	r.t.mu.Lock()
	if _, ok := r.t.subs[r]; ok {
		delete(r.t.subs, r)
		r.t.readers.Add(-1)
	}
	r.t.mu.Unlock()
}

// Read blocks until at least one line is there (EINTR when ctx ends;
// EAGAIN when nonblock and none is), then fills p with whole or partial
// lines; a partial line's rest is kept for the next Read.
func (r *TraceReader) Read(ctx context.Context, p []byte, nonblock bool) (int, error) {
	if r.pending == "" {
		if nonblock {
			select {
			case r.pending = <-r.ch:
			default:
				return 0, EAGAIN
			}
		} else {
			select {
			case r.pending = <-r.ch:
			case <-ctx.Done():
				return 0, EINTR
			}
		}
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.pending)
		n += c
		r.pending = r.pending[c:]
		if r.pending != "" {
			break
		}
		select {
		case r.pending = <-r.ch:
		default:
			return n, nil
		}
	}
	return n, nil
}

// Ready reports whether a Read would not block (for poll).
func (r *TraceReader) Ready() bool { return r.pending != "" || len(r.ch) > 0 }
