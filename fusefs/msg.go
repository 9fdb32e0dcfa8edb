package fusefs

import (
	"bytes"
	"context"
	"net/netip"
	"strconv"
	"sync"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/socket"
)

// msgHandle is an open INO/msg: read is recvfrom, write is sendto, each
// datagram framed with its address (SPEC "INO/msg").
type msgHandle struct {
	noFlush
	dir *sockDir
	key uint64 // this open's poller on the socket's wait queue

	// reading is held (a one-slot semaphore) by the read in progress,
	// blocked recvfrom included, so that reads on one open take whole
	// records in turn; a second reader waiting for it still ends at once
	// on a signal (EINTR).
	reading chan struct{}
	buf     []byte // owned by the holder of reading: the record being read, allocated at the first read

	mu      sync.Mutex
	pending []byte // protected by mu: what of the record in buf is not yet read
}

var (
	_ fs.HandleReader   = (*msgHandle)(nil)
	_ fs.HandleWriter   = (*msgHandle)(nil)
	_ fs.HandlePoller   = (*msgHandle)(nil)
	_ fs.HandleReleaser = (*msgHandle)(nil)
)

// msgMaxData is the largest datagram a read can return whole: an IPv4
// packet's 65535 bytes, which a raw socket's read gets with its IP header.
const msgMaxData = 0xffff

// msgHeadRoom is room for the header line before the payload in buf:
// "255.255.255.255:65535 65535\n" is 28 bytes.
const msgHeadRoom = 32

func openMsg(f *sockFile, req *fuse.OpenRequest) fs.Handle {
	return newMsgHandle(f.dir, f.dir.fs.pollKeys.Add(1))
}

func newMsgHandle(d *sockDir, key uint64) *msgHandle {
	return &msgHandle{dir: d, key: key, reading: make(chan struct{}, 1)}
}

// msgSupported is the open check of msg: datagram and raw sockets have
// recvfrom/sendto with addresses; a stream socket's are not datagrams
// (EOPNOTSUPP).
func msgSupported(sock *socket.Socket) error {
	if sock.Type != socket.SOCK_DGRAM && sock.Type != socket.SOCK_RAW {
		return socket.EOPNOTSUPP
	}
	return nil
}

// Read returns the rest of the record a short read left, or receives the
// next datagram as one record, "ADDR:PORT LEN\n" then LEN bytes.
func (h *msgHandle) Read(ctx context.Context, req *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	select {
	case h.reading <- struct{}{}:
	case <-ctx.Done():
		return socket.EINTR
	}
	defer func() { <-h.reading }()
	h.mu.Lock()
	rest := len(h.pending) > 0
	h.mu.Unlock()
	if !rest {
		rec, err := h.recvRecord(ctx, req)
		if err != nil || rec == nil {
			resp.Data = resp.Data[:0]
			return err
		}
		h.mu.Lock()
		h.pending = rec
		h.mu.Unlock()
	}
	h.mu.Lock()
	h.pending = readFrom(h.pending, req, resp)
	h.mu.Unlock()
	return nil
}

// recvRecord receives one datagram into buf and frames it as a record in
// place: the header line is copied just before the payload, so nothing is
// copied twice. A nil record is end of file (the socket was shut down for
// reading, or the daemon is shutting down: readCall). The caller holds
// reading.
func (h *msgHandle) recvRecord(ctx context.Context, req *fuse.ReadRequest) ([]byte, error) {
	if h.buf == nil {
		h.buf = make([]byte, msgHeadRoom+msgMaxData)
	}
	flags := 0
	if nonblocking(req.FileFlags) {
		flags |= socket.MSG_DONTWAIT
	}
	var n int
	var from netip.AddrPort
	err := h.dir.readCall(ctx, &req.Header, "read", func(ctx context.Context) error {
		var err error
		n, from, err = socket.Recvfrom(ctx, h.dir.sock, h.buf[msgHeadRoom:], flags)
		return err
	})
	if err != nil || !from.IsValid() {
		return nil, err
	}
	var line [msgHeadRoom]byte
	head := appendMsgHeader(line[:0], from, n)
	start := msgHeadRoom - len(head)
	copy(h.buf[start:], head)
	return h.buf[start : msgHeadRoom+n], nil
}

// appendMsgHeader appends a record's header line, "ADDR:PORT LEN\n".
func appendMsgHeader(b []byte, from netip.AddrPort, n int) []byte {
	b = from.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\n')
}

// parseMsgWrite splits one write into its destination line and the
// datagram's payload: "ADDR:PORT\n" then the bytes, maybe none. A missing
// or malformed line is EINVAL.
func parseMsgWrite(b []byte) (netip.AddrPort, []byte, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return netip.AddrPort{}, nil, bad(syscall.EINVAL, "want an ADDR:PORT line first")
	}
	to, err := parseAddrPort(string(b[:i]))
	if err != nil {
		return netip.AddrPort{}, nil, err
	}
	return to, b[i+1:], nil
}

// Write sends one datagram per write(2) to the address its first line
// names (sendto). The size it reports is the whole write, header line
// included, so the writer sees its write done.
func (h *msgHandle) Write(ctx context.Context, req *fuse.WriteRequest, resp *fuse.WriteResponse) error {
	to, payload, err := parseMsgWrite(req.Data)
	if err != nil {
		return h.dir.fs.inputErrno(&req.Header, "msg", req.Data[:min(len(req.Data), 2*clipMax)], err)
	}
	flags := 0
	if nonblocking(req.FileFlags) {
		flags |= socket.MSG_DONTWAIT
	}
	return h.dir.call(ctx, &req.Header, "write", func(ctx context.Context) error {
		to := wildcardFor(h.dir.sock, to, bytes.HasPrefix(req.Data, []byte("*:")))
		if _, err := socket.Sendto(ctx, h.dir.sock, payload, flags, to); err != nil {
			return err
		}
		resp.Size = len(req.Data)
		return nil
	})
}

func (h *msgHandle) Poll(ctx context.Context, req *fuse.PollRequest, resp *fuse.PollResponse) error {
	h.mu.Lock()
	rest := len(h.pending) > 0
	h.mu.Unlock()
	if rest {
		// The rest of a record is readable without waiting.
		resp.REvents = fuse.PollIn | fuse.PollReadNormal | fuse.PollOut | fuse.PollWriteNormal
		return nil
	}
	return h.dir.sockPoll(req, resp, h.key)
}

func (h *msgHandle) Release(ctx context.Context, req *fuse.ReleaseRequest) error {
	h.dir.sock.Wq.RemovePoller(h.key)
	return nil
}
