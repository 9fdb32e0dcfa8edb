package fusefs

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"time"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/netdev/ktime"
)

// The log file, MOUNTPOINT/log: the daemon's recent messages, as the
// kernel's log buffer holds printk's (kernel/printk/printk.c). Every line
// the tree logs goes to stderr and into a bounded ring; a read of log is a
// snapshot of the ring, one line each, stamped with the seconds since the
// daemon started, as dmesg prints them:
//
//	[   12.345678] ctl: bad request "connect localhost:80": ...
//
// and ends there (dmesg's semantics, not /dev/kmsg's stream). A line caused
// by a user's request belongs to that user, who sees it; the daemon's own
// lines (and everybody's) are for root and the daemon's owner only, as
// dmesg_restrict keeps the kernel's to CAP_SYSLOG. The lines are the ones
// userLogf lets through, so one user's flood is held to net_ratelimit's
// burst there too.

const (
	logIno = staticIno | 4

	// logBufLen bounds the ring in bytes (the kernel's __LOG_BUF_LEN): a
	// new line drops the oldest until it fits. Each line counts its text
	// and logRecOverhead, so empty lines are bounded in number too.
	logBufLen      = 32 << 10
	logRecOverhead = 32
	// logLineMax bounds one line's text (printk's LOG_LINE_MAX is 1024
	// less its prefix); longer ones are cut and marked.
	logLineMax = 512

	// logAll owns the daemon's own lines: no user's request caused them,
	// so only root and the daemon's owner read them.
	logAll = ^uint32(0)
)

// logRec is one line of the ring (struct printk_info and its text).
type logRec struct {
	ts   time.Duration // since the daemon's clock started
	uid  uint32        // whose request caused it, or logAll
	text string
}

// logBuf is the ring of recent lines.
type logBuf struct {
	clock ktime.Clock

	mu    sync.Mutex
	recs  []logRec // protected by mu: oldest first
	bytes int      // protected by mu: what recs count against logBufLen
}

func recSize(r *logRec) int { return len(r.text) + logRecOverhead }

// add appends a line for uid, dropping the oldest lines until the ring is
// within logBufLen.
func (b *logBuf) add(uid uint32, text string) {
	if len(text) > logLineMax {
		text = text[:logLineMax-3] + "..."
	}
	r := logRec{ts: b.clock.Now(), uid: uid, text: text}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recs = append(b.recs, r)
	b.bytes += recSize(&r)
	drop := 0
	for b.bytes > logBufLen {
		b.bytes -= recSize(&b.recs[drop])
		drop++
	}
	if drop > 0 {
		// Copy down rather than reslice, so the array does not grow
		// without bound behind the window.
		n := copy(b.recs, b.recs[drop:])
		clear(b.recs[n:])
		b.recs = b.recs[:n]
	}
}

// render is what reader sees: every line for root and the daemon's owner
// (owner), only reader's own otherwise.
func (b *logBuf) render(reader, owner uint32) []byte {
	all := reader == 0 || reader == owner
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []byte
	for i := range b.recs {
		r := &b.recs[i]
		if !all && r.uid != reader {
			continue
		}
		us := r.ts.Microseconds()
		out = fmt.Appendf(out, "[%5d.%06d] %s\n", us/1e6, us%1e6, r.text)
	}
	return out
}

// Logf writes one of the daemon's own lines: to stderr and into log, for
// root and the daemon's owner to read.
func (f *FS) Logf(format string, args ...any) { f.printk(logAll, format, args...) }

// printk formats a line of uid's (logAll: the daemon's own) into the ring
// and to the daemon's stderr.
func (f *FS) printk(uid uint32, format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	f.klog.add(uid, line)
	f.stderrf("%s", line)
}

// logFile is the log file's node: mode 0444, since every user may read
// the lines about their own requests.
type logFile struct {
	fixedAttrs
	fs *FS
}

var (
	_ fs.Node       = (*logFile)(nil)
	_ fs.NodeOpener = (*logFile)(nil)
)

func (l *logFile) Attr(ctx context.Context, a *fuse.Attr) error {
	a.Inode = logIno
	a.Mode = 0o444
	a.Uid, a.Gid = l.fs.uid, l.fs.gid
	return nil
}

// Open takes the snapshot at the first read, for the opener, and reads
// it through at offsets; a read past it is end of file.
func (l *logFile) Open(ctx context.Context, req *fuse.OpenRequest, resp *fuse.OpenResponse) (fs.Handle, error) {
	if !req.Flags.IsReadOnly() {
		return nil, syscall.EACCES
	}
	// The size is not known before rendering: bypass the page cache,
	// which would stop at the attribute's size of 0.
	resp.Flags |= fuse.OpenDirectIO
	uid := req.Uid
	return &textHandle{render: func(context.Context, *fuse.Header) ([]byte, error) {
		return l.fs.klog.render(uid, l.fs.uid), nil
	}}, nil
}
