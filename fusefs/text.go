package fusefs

import (
	"context"
	"net/netip"
	"sync"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/socket"
)

// textHandle is a file whose whole content is rendered once, at the first
// read of an open, and then read through (seq_file's single_open): local,
// remote, status and the net/ tables. An error from rendering is the
// read's, and the next read tries again.
type textHandle struct {
	noFlush
	render func(ctx context.Context, h *fuse.Header) ([]byte, error)
	// stream reads from a cursor and ignores offsets, as every socket file
	// does; otherwise reads are served at their offset (net/).
	stream bool

	mu       sync.Mutex
	buf      []byte // protected by mu
	rendered bool   // protected by mu
}

var _ fs.HandleReader = (*textHandle)(nil)

func (h *textHandle) Read(ctx context.Context, req *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.rendered {
		b, err := h.render(ctx, &req.Header)
		if err != nil {
			return err
		}
		h.buf, h.rendered = b, true
	}
	if h.stream {
		h.buf = readFrom(h.buf, req, resp)
		return nil
	}
	off := min(max(req.Offset, 0), int64(len(h.buf)))
	readFrom(h.buf[off:], req, resp)
	return nil
}

// sockText returns a stream textHandle rendering fn's result under a
// reference on d's socket.
func sockText(d *sockDir, op string, fn func(sock *socket.Socket) ([]byte, error)) *textHandle {
	return &textHandle{stream: true, render: func(ctx context.Context, h *fuse.Header) ([]byte, error) {
		var b []byte
		err := d.call(ctx, h, op, func(ctx context.Context) error {
			var err error
			b, err = fn(d.sock)
			return err
		})
		return b, err
	}}
}

func openLocal(f *sockFile, req *fuse.OpenRequest) fs.Handle {
	return sockText(f.dir, "local", func(sock *socket.Socket) ([]byte, error) { return getname(sock, false) })
}

func openRemote(f *sockFile, req *fuse.OpenRequest) fs.Handle {
	return sockText(f.dir, "remote", func(sock *socket.Socket) ([]byte, error) { return getname(sock, true) })
}

func openStatus(f *sockFile, req *fuse.OpenRequest) fs.Handle {
	return sockText(f.dir, "status", func(sock *socket.Socket) ([]byte, error) { return socket.Status(sock), nil })
}

// getname is getsockname / getpeername as "ADDR:PORT\n"; an address the
// protocol leaves unset is 0.0.0.0.
func getname(sock *socket.Socket, peer bool) ([]byte, error) {
	ap, err := socket.Getname(sock, peer)
	if err != nil {
		return nil, err
	}
	return append([]byte(formatAddrPort(ap)), '\n'), nil
}

func formatAddrPort(ap netip.AddrPort) string {
	if !ap.Addr().IsValid() {
		ap = netip.AddrPortFrom(netip.IPv4Unspecified(), ap.Port())
	}
	return ap.String()
}
