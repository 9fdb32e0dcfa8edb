package fusefs

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"bazil.org/fuse"

	"sockfs/inet"
	"sockfs/inode"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// The msg file's record framing over two inet stacks joined by the
// in-memory pair: the handle's Read and Write are called as the FUSE server
// would, with no mount, so short reads and record boundaries are exact.

// msgStack is one inet stack on one end of a pair.
type msgStack struct {
	sn *socket.Net
	sb *inode.SuperBlock
}

func newMsgStack(t *testing.T, drv netdev.Driver, mac byte, pfx string) *msgStack {
	t.Helper()
	sn := socket.NewNet()
	nd := netdev.NewNet()
	in := inet.Init(sn, nd, ktime.NewReal())
	lo := &netdev.NetDevice{Name: "lo", MTU: 65536, Flags: netdev.IFF_LOOPBACK | netdev.IFF_NOARP, HardHeaderLen: netdev.EthHlen}
	nd.RegisterNetdevice(lo, netdev.NewLoopback())
	lo.DevOpen()
	if err := in.DevInetAdd(lo, netip.MustParsePrefix("127.0.0.1/8")); err != nil {
		t.Fatal(err)
	}
	dev := &netdev.NetDevice{Name: "eth0", MTU: 1500, HWAddr: [6]byte{2, 0, 0, 0, 0, mac}, HardHeaderLen: netdev.EthHlen, Flags: netdev.IFF_BROADCAST}
	nd.RegisterNetdevice(dev, drv)
	dev.DevOpen()
	if err := in.DevInetAdd(dev, netip.MustParsePrefix(pfx)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.DevClose(); lo.DevClose() })
	return &msgStack{sn: sn, sb: inode.New(inode.Config{})}
}

func (s *msgStack) socket(t *testing.T, typ socket.SockType, proto int) *socket.Socket {
	t.Helper()
	sock, err := socket.SockCreate(t.Context(), s.sn, s.sb, socket.AF_INET, typ, proto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { socket.SockRelease(sock) })
	return sock
}

// msgPair gives stack a's UDP socket an open msg handle, and stack b's a
// plain socket bound to 198.18.0.2:6000.
func msgPair(t *testing.T) (h *msgHandle, a *socket.Socket, b *socket.Socket) {
	t.Helper()
	ea, eb := netdev.NewPair(256)
	sa := newMsgStack(t, ea, 1, "198.18.0.1/24")
	sbk := newMsgStack(t, eb, 2, "198.18.0.2/24")
	f := New(Config{Net: sa.sn, SB: sa.sb, Logf: t.Logf})
	a = sa.socket(t, socket.SOCK_DGRAM, 0)
	d, err := f.sockAttach(a)
	if err != nil {
		t.Fatal(err)
	}
	b = sbk.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), b, netip.MustParseAddrPort("198.18.0.2:6000")); err != nil {
		t.Fatal(err)
	}
	return newMsgHandle(d, 1), a, b
}

func msgCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// msgRead is one read(2) of size bytes.
func msgRead(t *testing.T, h *msgHandle, size int, flags fuse.OpenFlags) ([]byte, error) {
	t.Helper()
	resp := &fuse.ReadResponse{Data: make([]byte, 0, size)}
	err := h.Read(msgCtx(t), &fuse.ReadRequest{Size: size, FileFlags: flags}, resp)
	return resp.Data, err
}

func msgReadOK(t *testing.T, h *msgHandle, size int) []byte {
	t.Helper()
	b, err := msgRead(t, h, size, 0)
	if err != nil {
		t.Fatalf("read(%d): %v", size, err)
	}
	return b
}

func msgWrite(t *testing.T, h *msgHandle, b []byte) error {
	t.Helper()
	resp := &fuse.WriteResponse{}
	err := h.Write(msgCtx(t), &fuse.WriteRequest{Data: b}, resp)
	if err == nil && resp.Size != len(b) {
		t.Fatalf("write of %d bytes reported %d", len(b), resp.Size)
	}
	return err
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

// readLine reads a header the way bash's read does, one byte per read(2).
func readLine(t *testing.T, h *msgHandle) string {
	t.Helper()
	var line []byte
	for {
		c := msgReadOK(t, h, 1)
		if len(c) != 1 {
			t.Fatalf("read(1) = %q after %q", c, line)
		}
		if c[0] == '\n' {
			return string(line)
		}
		line = append(line, c...)
	}
}

func TestMsgReadFraming(t *testing.T) {
	h, a, b := msgPair(t)
	if err := socket.Bind(t.Context(), a, netip.MustParseAddrPort("0.0.0.0:5000")); err != nil {
		t.Fatal(err)
	}
	to := netip.MustParseAddrPort("198.18.0.1:5000")
	big := pattern(65507)
	for _, p := range [][]byte{[]byte("hello"), nil, big, []byte("tail")} {
		if n, err := socket.Sendto(t.Context(), b, p, 0, to); err != nil || n != len(p) {
			t.Fatalf("sendto %d bytes: %d, %v", len(p), n, err)
		}
	}

	// Short reads: the header byte by byte, then the payload in pieces;
	// a read never runs into the next record.
	if got := readLine(t, h); got != "198.18.0.2:6000 5" {
		t.Fatalf("header %q", got)
	}
	if got := msgReadOK(t, h, 2); string(got) != "he" {
		t.Fatalf("read(2) = %q", got)
	}
	if got := msgReadOK(t, h, 100); string(got) != "llo" {
		t.Fatalf("read(100) = %q, want the record's rest only", got)
	}

	// LEN 0: the header alone is the record.
	if got := msgReadOK(t, h, 4096); string(got) != "198.18.0.2:6000 0\n" {
		t.Fatalf("zero-length record %q", got)
	}

	// The largest datagram, read in 4 KB pieces, arrives whole.
	var rec []byte
	want := append([]byte("198.18.0.2:6000 65507\n"), big...)
	for len(rec) < len(want) {
		rec = append(rec, msgReadOK(t, h, 4096)...)
	}
	if !bytes.Equal(rec, want) {
		t.Fatalf("65507-byte record differs (got %d bytes)", len(rec))
	}

	// One read larger than a record returns that record only.
	if got := msgReadOK(t, h, 1<<17); string(got) != "198.18.0.2:6000 4\ntail" {
		t.Fatalf("record %q", got)
	}

	// Nothing queued: O_NONBLOCK is EAGAIN.
	if _, err := msgRead(t, h, 100, fuse.OpenNonblock); err != syscall.EAGAIN {
		t.Fatalf("nonblocking read of an empty queue: %v, want EAGAIN", err)
	}
}

func TestMsgWrite(t *testing.T) {
	h, a, b := msgPair(t)
	big := pattern(65507)
	cases := [][]byte{[]byte("ping"), nil, big}
	for _, p := range cases {
		if err := msgWrite(t, h, append([]byte("198.18.0.2:6000\n"), p...)); err != nil {
			t.Fatalf("write of %d bytes: %v", len(p), err)
		}
	}
	// The unbound socket was auto-bound by the first send.
	local, err := socket.Getname(a, false)
	if err != nil || local.Port() == 0 {
		t.Fatalf("local after sendto: %v, %v", local, err)
	}
	buf := make([]byte, 1<<16)
	for _, p := range cases {
		n, from, err := socket.Recvfrom(msgCtx(t), b, buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:n], p) || from != netip.AddrPortFrom(netip.MustParseAddr("198.18.0.1"), local.Port()) {
			t.Fatalf("peer got %d bytes from %v, want %d from port %d", n, from, len(p), local.Port())
		}
	}

	for _, c := range []struct {
		w    string
		want syscall.Errno
	}{
		{"198.18.0.2:6000", syscall.EINVAL}, // no header line
		{"198.18.0.2\nx", syscall.EINVAL},
		{"198.18.0.2:70000\nx", syscall.EINVAL},
		{"host:53\nx", syscall.EINVAL},
		{"198.18.0.2:0\nx", syscall.EINVAL}, // UDP needs a port
		{"198.18.0.2:6000\n" + strings.Repeat("x", 65508), syscall.EMSGSIZE},
		{"198.18.9.9:6000\nx", syscall.ENETUNREACH},
	} {
		if err := msgWrite(t, h, []byte(c.w)); err != c.want {
			t.Errorf("write %.30q: %v, want %v", c.w, err, c.want)
		}
	}
}

// A connected socket's sendto with an address goes to that address, not
// the peer, as udp_sendmsg does; after disconnect the data path has no
// destination.
func TestMsgConnectedOverrideAndDisconnect(t *testing.T) {
	h, a, b := msgPair(t)
	if err := socket.Connect(t.Context(), a, netip.MustParseAddrPort("198.18.0.2:7000"), 0); err != nil {
		t.Fatal(err)
	}
	if err := msgWrite(t, h, []byte("198.18.0.2:6000\nover")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if n, _, err := socket.Recvfrom(msgCtx(t), b, buf, 0); err != nil || string(buf[:n]) != "over" {
		t.Fatalf("peer got %q, %v", buf[:n], err)
	}
	if err := socket.Disconnect(t.Context(), a, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := socket.Getname(a, true); err != syscall.ENOTCONN {
		t.Fatalf("getpeername after disconnect: %v, want ENOTCONN", err)
	}
	// connect had autobound the port; disconnect gives it back, as Linux.
	if local, _ := socket.Getname(a, false); local != netip.MustParseAddrPort("0.0.0.0:0") {
		t.Fatalf("local after disconnect: %v, want 0.0.0.0:0", local)
	}
	if _, err := socket.SockSendmsg(t.Context(), a, &socket.Msghdr{}, []byte("x")); err != syscall.EDESTADDRREQ {
		t.Fatalf("send after disconnect: %v, want EDESTADDRREQ", err)
	}
}

func TestMsgOnlyOnDatagramSockets(t *testing.T) {
	for _, c := range []struct {
		typ  socket.SockType
		want error
	}{{socket.SOCK_STREAM, syscall.EOPNOTSUPP}, {socket.SOCK_DGRAM, nil}, {socket.SOCK_RAW, nil}} {
		if err := msgSupported(&socket.Socket{Type: c.typ}); err != c.want {
			t.Errorf("%v: %v, want %v", c.typ, err, c.want)
		}
	}
}

func TestMsgHeaderLongest(t *testing.T) {
	h := appendMsgHeader(nil, netip.MustParseAddrPort("255.255.255.255:65535"), msgMaxData)
	if len(h) > msgHeadRoom {
		t.Fatalf("header %q is longer than msgHeadRoom", h)
	}
	if got := fmt.Sprint(string(h)); got != "255.255.255.255:65535 65535\n" {
		t.Fatalf("%q", got)
	}
}

// A read blocked for a datagram holds the open's read turn, but neither a
// poll nor a second reader that gets a signal waits for it; the rest of a
// record read short polls readable.
func TestMsgBlockedReadBlocksNobodyElse(t *testing.T) {
	h, a, b := msgPair(t)
	if err := socket.Bind(t.Context(), a, netip.MustParseAddrPort("0.0.0.0:5000")); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		resp := &fuse.ReadResponse{Data: make([]byte, 0, 4)}
		if err := h.Read(msgCtx(t), &fuse.ReadRequest{Size: 4}, resp); err != nil {
			t.Errorf("blocked read: %v", err)
		}
		got <- resp.Data
	}()
	for len(h.reading) == 0 { // the goroutine holds the read turn
		time.Sleep(time.Millisecond)
	}
	presp := &fuse.PollResponse{}
	if err := h.Poll(t.Context(), &fuse.PollRequest{}, presp); err != nil || presp.REvents&fuse.PollIn != 0 {
		t.Fatalf("poll with nothing queued: %v, %v", presp.REvents, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // a signal to the second reader
	if _, err := msgReadCtx(ctx, h, 10); err != syscall.EINTR {
		t.Fatalf("second reader, interrupted: %v, want EINTR", err)
	}
	if _, err := socket.Sendto(t.Context(), b, []byte("wake"), 0, netip.MustParseAddrPort("198.18.0.1:5000")); err != nil {
		t.Fatal(err)
	}
	if rec := <-got; string(rec) != "198." {
		t.Fatalf("first read got %q", rec)
	}
	presp = &fuse.PollResponse{}
	if err := h.Poll(t.Context(), &fuse.PollRequest{}, presp); err != nil || presp.REvents&fuse.PollIn == 0 {
		t.Fatalf("poll with a record's rest pending: %v, %v", presp.REvents, err)
	}
	if rest := msgReadOK(t, h, 100); string(rest) != "18.0.2:6000 4\nwake" {
		t.Fatalf("rest %q", rest)
	}
}

func msgReadCtx(ctx context.Context, h *msgHandle, size int) ([]byte, error) {
	resp := &fuse.ReadResponse{Data: make([]byte, 0, size)}
	err := h.Read(ctx, &fuse.ReadRequest{Size: size}, resp)
	return resp.Data, err
}

// FuzzMsgWrite: any write parses without panicking; one that parses has a
// destination line ending at its first newline and the rest as payload,
// and the header a read would give for that address parses back the same.
func FuzzMsgWrite(f *testing.F) {
	f.Add([]byte("198.18.0.1:53\nquery"))
	f.Add([]byte("198.18.0.1:0\n"))
	f.Add([]byte("*:7\n\x00\n"))
	f.Add([]byte("198.18.0.1:65536\nx"))
	f.Add([]byte("no newline"))
	f.Fuzz(func(t *testing.T, b []byte) {
		to, payload, err := parseMsgWrite(b)
		if err != nil {
			return
		}
		i := bytes.IndexByte(b, '\n')
		if !bytes.Equal(payload, b[i+1:]) {
			t.Fatalf("payload %q of %q", payload, b)
		}
		head := appendMsgHeader(nil, to, len(payload))
		if len(head) > msgHeadRoom {
			t.Fatalf("header %q longer than msgHeadRoom", head)
		}
		var back netip.AddrPort
		var n int
		if _, err := fmt.Sscanf(string(head), "%s %d\n", new(string), &n); err != nil || n != len(payload) {
			t.Fatalf("header %q: %v", head, err)
		}
		back, _, err = parseMsgWrite(append([]byte(strings.Fields(string(head))[0]), '\n'))
		if err != nil || back != to {
			t.Fatalf("header %q reads back as %v, %v; want %v", head, back, err, to)
		}
	})
}
