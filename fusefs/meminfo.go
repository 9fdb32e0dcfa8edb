package fusefs

// meminfo: the daemon's own memory, in /proc/meminfo's layout, for
// measuring what sockets cost and whether it all comes back (the churn
// benchmark in tests/bench reads it before and after 10,000 connections).

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"
)

const meminfoIno = staticIno | 5

// meminfoFields are the rows, each a runtime/metrics sample; bytes show in
// kB as /proc/meminfo's do, counts bare.
var meminfoFields = []struct {
	name, metric string
	kB           bool
}{
	{"HeapAlloc", "/memory/classes/heap/objects:bytes", true},
	{"HeapUnused", "/memory/classes/heap/unused:bytes", true},
	{"HeapFree", "/memory/classes/heap/free:bytes", true},
	{"HeapReleased", "/memory/classes/heap/released:bytes", true},
	{"HeapObjects", "/gc/heap/objects:objects", false},
	{"HeapGoal", "/gc/heap/goal:bytes", true},
	{"Stacks", "/memory/classes/heap/stacks:bytes", true},
	{"Sys", "/memory/classes/total:bytes", true},
	{"GCCycles", "/gc/cycles/total:gc-cycles", false},
	{"Goroutines", "/sched/goroutines:goroutines", false},
}

// meminfoFile is the node. Like trace it is the daemon owner's (mode 0400):
// each read runs a garbage collection first, a stop-the-world pause no
// other user may cause.
type meminfoFile struct{ fs *FS }

var (
	_ fs.Node       = (*meminfoFile)(nil)
	_ fs.NodeOpener = (*meminfoFile)(nil)
)

func (m *meminfoFile) Attr(ctx context.Context, a *fuse.Attr) error {
	a.Inode = meminfoIno
	a.Mode = 0o400
	a.Uid, a.Gid = m.fs.uid, m.fs.gid
	return nil
}

// Open takes the snapshot at the first read, as the net/ tables do.
func (m *meminfoFile) Open(ctx context.Context, req *fuse.OpenRequest, resp *fuse.OpenResponse) (fs.Handle, error) {
	if req.Uid != 0 && req.Uid != m.fs.uid {
		return nil, syscall.EACCES
	}
	if !req.Flags.IsReadOnly() {
		return nil, syscall.EACCES
	}
	resp.Flags |= fuse.OpenDirectIO
	return &textHandle{render: func(context.Context, *fuse.Header) ([]byte, error) {
		var b bytes.Buffer
		meminfoShow(&b)
		return b.Bytes(), nil
	}}, nil
}

// meminfoShow collects garbage, so the figures are what is live, then
// prints one "Name:   value kB" row per field, after HeapInuse (the spans
// in use, runtime.MemStats.HeapInuse: objects and the room between them).
func meminfoShow(b *bytes.Buffer) {
	runtime.GC()
	samples := make([]metrics.Sample, len(meminfoFields))
	for i, f := range meminfoFields {
		samples[i].Name = f.metric
	}
	metrics.Read(samples)
	vals := make([]uint64, len(samples))
	for i := range samples {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			vals[i] = samples[i].Value.Uint64()
		}
	}
	fmt.Fprintf(b, "%-15s %8d kB\n", "HeapInuse:", (vals[0]+vals[1])/1024)
	for i, f := range meminfoFields {
		v := vals[i]
		if f.kB {
			fmt.Fprintf(b, "%-15s %8d kB\n", f.name+":", v/1024)
		} else {
			fmt.Fprintf(b, "%-15s %8d\n", f.name+":", v)
		}
	}
}
