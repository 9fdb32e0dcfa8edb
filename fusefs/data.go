package fusefs

import (
	"context"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/socket"
)

// dataHandle is an open INO/data: read is recv, write is send, poll is
// sock_poll.
type dataHandle struct {
	noFlush
	dir *sockDir
	key uint64 // this open's poller on the socket's wait queue
}

var (
	_ fs.HandleReader   = (*dataHandle)(nil)
	_ fs.HandleWriter   = (*dataHandle)(nil)
	_ fs.HandlePoller   = (*dataHandle)(nil)
	_ fs.HandleReleaser = (*dataHandle)(nil)
)

func openData(f *sockFile, req *fuse.OpenRequest) fs.Handle {
	return &dataHandle{dir: f.dir, key: f.dir.fs.pollKeys.Add(1)}
}

// nonblocking reports O_NONBLOCK on the file as it is now (the request
// carries f_flags, so fcntl(F_SETFL) after open counts, as in the kernel).
func nonblocking(fl fuse.OpenFlags) bool { return fl&fuse.OpenNonblock != 0 }

func (h *dataHandle) Read(ctx context.Context, req *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	return h.dir.sockReadIter(ctx, req, resp)
}

func (h *dataHandle) Write(ctx context.Context, req *fuse.WriteRequest, resp *fuse.WriteResponse) error {
	return h.dir.sockWriteIter(ctx, req, resp)
}

func (h *dataHandle) Poll(ctx context.Context, req *fuse.PollRequest, resp *fuse.PollResponse) error {
	return h.dir.sockPoll(req, resp, h.key)
}

func (h *dataHandle) Release(ctx context.Context, req *fuse.ReleaseRequest) error {
	h.dir.sock.Wq.RemovePoller(h.key)
	return nil
}

// sockReadIter is sock_read_iter: O_NONBLOCK becomes MSG_DONTWAIT, and the
// protocol's recvmsg fills the reply buffer directly. Zero bytes is end of
// stream.
func (d *sockDir) sockReadIter(ctx context.Context, req *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	flags := 0
	if nonblocking(req.FileFlags) {
		flags |= socket.MSG_DONTWAIT
	}
	return d.readCall(ctx, &req.Header, "read", func(ctx context.Context) error {
		var msg socket.Msghdr
		n, err := socket.SockRecvmsg(ctx, d.sock, &msg, resp.Data[:req.Size], flags)
		if n > 0 {
			resp.Data = resp.Data[:n]
			return nil
		}
		resp.Data = resp.Data[:0]
		return err
	})
}

// sockWriteIter is sock_write_iter. The protocol's sendmsg copies the bytes
// into its send queue before it returns (that copy is the only one), so
// req.Data, which the FUSE library reuses after the reply, is not kept. A
// partial send reports what went, as write(2) does; the caller retries the
// rest.
func (d *sockDir) sockWriteIter(ctx context.Context, req *fuse.WriteRequest, resp *fuse.WriteResponse) error {
	msg := socket.Msghdr{}
	if nonblocking(req.FileFlags) {
		msg.Flags |= socket.MSG_DONTWAIT
	}
	return d.call(ctx, &req.Header, "write", func(ctx context.Context) error {
		n, err := socket.SockSendmsg(ctx, d.sock, &msg, req.Data)
		if n > 0 {
			resp.Size = n
			return nil
		}
		return err
	})
}

// pollBits maps ProtoOps.Poll's bits to FUSE's. They are the same numbers
// on Linux; the table says which ones a socket reports.
var pollBits = [...]struct {
	sock uint32
	fuse fuse.PollEvents
}{
	{socket.POLLIN, fuse.PollIn},
	{socket.POLLPRI, fuse.PollPriority},
	{socket.POLLOUT, fuse.PollOut},
	{socket.POLLERR, fuse.PollError},
	{socket.POLLHUP, fuse.PollHangup},
	{socket.POLLRDNORM, fuse.PollReadNormal},
	{socket.POLLWRNORM, fuse.PollWriteNormal},
	{socket.POLLRDHUP, fuse.PollReadHangup},
}

func pollEvents(mask uint32) fuse.PollEvents {
	var ev fuse.PollEvents
	for _, b := range pollBits {
		if mask&b.sock != 0 {
			ev |= b.fuse
		}
	}
	return ev
}

// sockPoll is sock_poll. When the kernel asks to be woken, the wakeup is
// registered on the socket's wait queue before the mask is computed, so a
// change between the two still wakes the poller. A released socket is
// error and hang-up, so pollers wake and their next call sees EBADF.
func (d *sockDir) sockPoll(req *fuse.PollRequest, resp *fuse.PollResponse, key uint64) error {
	_, put, err := d.fget(context.Background(), &req.Header)
	if err != nil {
		resp.REvents = fuse.PollError | fuse.PollHangup
		return nil
	}
	defer put()
	if wakeup, ok := req.Wakeup(); ok {
		if srv := d.fs.srv.Load(); srv != nil {
			// The wakeup may find the file closed or the mount gone;
			// either way nobody is left to tell, so its error is dropped.
			d.sock.Wq.AddPoller(key, func() { _ = srv.NotifyPollWakeup(wakeup) })
		}
	}
	resp.REvents = pollEvents(d.sock.Ops.Poll(d.sock))
	return nil
}
