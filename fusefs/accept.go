package fusefs

import (
	"context"
	"strconv"
	"sync"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/socket"
)

// acceptHandle is an open INO/accept: each read is accept(2), answered with
// the new socket's "INO\n".
type acceptHandle struct {
	noFlush
	dir *sockDir
	key uint64 // this open's poller on the listener's wait queue

	mu      sync.Mutex
	pending []byte // protected by mu: the part of an answer not yet read
}

var (
	_ fs.HandleReader   = (*acceptHandle)(nil)
	_ fs.HandlePoller   = (*acceptHandle)(nil)
	_ fs.HandleReleaser = (*acceptHandle)(nil)
)

func openAccept(f *sockFile, req *fuse.OpenRequest) fs.Handle {
	return &acceptHandle{dir: f.dir, key: f.dir.fs.pollKeys.Add(1)}
}

// Read finishes the line a short read left, or accepts the next
// connection. The lock is not held while accept blocks, so a second read
// on the same open accepts in parallel and each line stays whole.
func (h *acceptHandle) Read(ctx context.Context, req *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	h.mu.Lock()
	if len(h.pending) > 0 {
		h.pending = readFrom(h.pending, req, resp)
		h.mu.Unlock()
		return nil
	}
	h.mu.Unlock()

	flags := 0
	if nonblocking(req.FileFlags) {
		flags |= socket.O_NONBLOCK
	}
	var line []byte
	err := h.dir.readCall(ctx, &req.Header, "accept", func(ctx context.Context) error {
		newsock, err := socket.Accept(ctx, h.dir.fs.sb, h.dir.sock, flags)
		if err != nil {
			return err
		}
		nd, err := h.dir.fs.sockAttach(newsock)
		if err != nil {
			return err
		}
		line = strconv.AppendUint(line, nd.ino(), 10)
		line = append(line, '\n')
		return nil
	})
	if err != nil {
		return err
	}
	n := min(req.Size, len(line))
	resp.Data = append(resp.Data[:0], line[:n]...)
	if n < len(line) {
		h.mu.Lock()
		h.pending = append(h.pending, line[n:]...)
		h.mu.Unlock()
	}
	return nil
}

func (h *acceptHandle) Poll(ctx context.Context, req *fuse.PollRequest, resp *fuse.PollResponse) error {
	return h.dir.sockPoll(req, resp, h.key)
}

func (h *acceptHandle) Release(ctx context.Context, req *fuse.ReleaseRequest) error {
	h.dir.sock.Wq.RemovePoller(h.key)
	return nil
}
