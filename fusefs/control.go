package fusefs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/socket"
)

// badInput is a write the file layer could not parse: the errno the system
// call returns and, for the daemon's log, why.
type badInput struct {
	errno syscall.Errno
	why   string
}

func (e *badInput) Error() string { return e.why }

// bad makes a badInput; string arguments are the user's words, so each
// is clipped (see clip) where the format quotes it.
func bad(errno syscall.Errno, format string, args ...any) error {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clip(s)
		}
	}
	return &badInput{errno: errno, why: fmt.Sprintf(format, args...)}
}

// inputErrno logs a parse failure of what file got in h's request and
// returns its errno.
func (f *FS) inputErrno(h *fuse.Header, file string, data []byte, err error) error {
	var bi *badInput
	if errors.As(err, &bi) {
		f.userLogf(h.Uid, "%s: bad request %q: %s", file, clip(strings.TrimSuffix(string(data), "\n")), bi.why)
		return bi.errno
	}
	return f.errno(h.Uid, file, err)
}

// clipMax bounds what a log line shows of one piece of the user's input:
// that many bytes of it at most, quoted in no more than twice that.
const clipMax = 32

// clip is user input as a log line quotes it: a prefix of at most clipMax
// bytes whose quoted form is at most 2*clipMax long, and when that is not
// all of it, the whole length, so a 1 MiB write is one short line
// ("xxxx"... (1048576 bytes)).
type clip string

func (c clip) Format(f fmt.State, verb rune) {
	s := string(c)[:min(len(c), clipMax)]
	q := strconv.Quote(s)
	for len(q) > 2*clipMax+2 {
		s = s[:len(s)-1]
		q = strconv.Quote(s)
	}
	if verb == 'q' {
		io.WriteString(f, q)
	} else {
		io.WriteString(f, s)
	}
	if len(s) < len(c) {
		fmt.Fprintf(f, "... (%d bytes)", len(c))
	}
}

// Symbolic names a socket(2) request may use, with Linux's numbers
// (include/linux/socket.h, include/linux/net.h, include/uapi/linux/in.h).
// A name here that no family registered still resolves, so that sock_create
// answers it as the kernel would (EAFNOSUPPORT, ESOCKTNOSUPPORT,
// EPROTONOSUPPORT).
var (
	familyNames = map[string]int{
		"AF_UNSPEC": socket.AF_UNSPEC, "AF_UNIX": 1, "AF_LOCAL": 1,
		"AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6, "AF_NETLINK": 16,
		"AF_PACKET": 17, "AF_CAN": 29, "AF_BLUETOOTH": 31, "AF_VSOCK": 40,
	}
	typeNames = map[string]socket.SockType{
		"SOCK_STREAM": socket.SOCK_STREAM, "SOCK_DGRAM": socket.SOCK_DGRAM,
		"SOCK_RAW": socket.SOCK_RAW, "SOCK_RDM": 4, "SOCK_SEQPACKET": 5,
		"SOCK_DCCP": 6, "SOCK_PACKET": 10,
	}
	protocolNames = map[string]int{
		"IPPROTO_IP": socket.IPPROTO_IP, "IPPROTO_ICMP": socket.IPPROTO_ICMP,
		"IPPROTO_IGMP": 2, "IPPROTO_TCP": socket.IPPROTO_TCP,
		"IPPROTO_UDP": socket.IPPROTO_UDP, "IPPROTO_IPV6": 41,
		"IPPROTO_GRE": 47, "IPPROTO_ICMPV6": socket.IPPROTO_ICMPV6, "IPPROTO_SCTP": 132, "IPPROTO_UDPLITE": 136,
		"IPPROTO_RAW": socket.IPPROTO_RAW,
	}
)

// socketTriple is socket(2)'s arguments.
type socketTriple struct {
	family   int
	typ      socket.SockType
	protocol int
}

// parseSocketTriple parses "FAMILY TYPE PROTOCOL", each a name or a number.
// An unknown family is EAFNOSUPPORT, as socket(2) answers it; anything else
// malformed is EINVAL.
func parseSocketTriple(s string) (socketTriple, error) {
	tok := strings.Fields(s)
	if len(tok) != 3 {
		return socketTriple{}, bad(syscall.EINVAL, "want FAMILY TYPE PROTOCOL, got %d tokens", len(tok))
	}
	var t socketTriple
	var ok bool
	if t.family, ok = lookupName(familyNames, "PF_", "AF_", tok[0]); !ok {
		return t, bad(syscall.EAFNOSUPPORT, "unknown family %q", tok[0])
	}
	typ, ok := lookupName(typeNames, "", "", tok[1])
	if !ok {
		return t, bad(syscall.EINVAL, "unknown type %q", tok[1])
	}
	t.typ = socket.SockType(typ)
	if t.protocol, ok = lookupName(protocolNames, "", "", tok[2]); !ok {
		return t, bad(syscall.EINVAL, "unknown protocol %q", tok[2])
	}
	return t, nil
}

// lookupName resolves tok as a decimal number or a name in names; alias
// is a prefix spelled as canon (PF_INET is AF_INET).
func lookupName[T ~int](names map[string]T, alias, canon, tok string) (int, bool) {
	if n, err := strconv.Atoi(tok); err == nil {
		return n, true
	}
	if alias != "" && strings.HasPrefix(tok, alias) {
		tok = canon + tok[len(alias):]
	}
	v, ok := names[tok]
	return int(v), ok
}

// controlFile is MOUNTPOINT/socket, the socket(2) system call. Anyone may
// create sockets, so it is 0666; each socket is its creator's. Every open
// shares its one inode, whose writes the kernel serializes; that costs
// nothing here because sock_create never waits (compare lookupPrivate).
type controlFile struct {
	fixedAttrs
	fs *FS
}

var (
	_ fs.Node          = (*controlFile)(nil)
	_ fs.NodeOpener    = (*controlFile)(nil)
	_ fs.NodeSetattrer = (*controlFile)(nil)
)

func (c *controlFile) Attr(ctx context.Context, a *fuse.Attr) error {
	a.Inode = controlIno
	a.Mode = 0o666
	a.Uid, a.Gid = c.fs.uid, c.fs.gid
	return nil
}

func (c *controlFile) Open(ctx context.Context, req *fuse.OpenRequest, resp *fuse.OpenResponse) (fs.Handle, error) {
	resp.Flags |= fuse.OpenDirectIO | fuse.OpenNonSeekable
	return &controlHandle{fs: c.fs}, nil
}

// controlHandle is one open of the control file: a simple_transaction file
// whose answers are the inode numbers of the sockets created through it.
type controlHandle struct {
	noFlush
	fs *FS

	mu      sync.Mutex
	pending []byte // protected by mu: "INO\n" lines not yet read
}

var (
	_ fs.HandleWriter = (*controlHandle)(nil)
	_ fs.HandleReader = (*controlHandle)(nil)
)

// Write is __sys_socket: parse, sock_create, and give the socket its
// directory.
func (h *controlHandle) Write(ctx context.Context, req *fuse.WriteRequest, resp *fuse.WriteResponse) error {
	t, err := parseSocketTriple(string(req.Data))
	if err != nil {
		return h.fs.inputErrno(&req.Header, "socket", req.Data, err)
	}
	sock, err := socket.SockCreate(credOf(ctx, &req.Header), h.fs.net, h.fs.sb, t.family, t.typ, t.protocol)
	if err != nil {
		return h.fs.errno(req.Uid, "socket", err)
	}
	d, err := h.fs.sockAttach(sock)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.pending = strconv.AppendUint(h.pending, d.ino(), 10)
	h.pending = append(h.pending, '\n')
	h.mu.Unlock()
	resp.Size = len(req.Data)
	return nil
}

// Read returns the pending lines in order; EOF when none is pending.
func (h *controlHandle) Read(ctx context.Context, req *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = readFrom(h.pending, req, resp)
	return nil
}

// readFrom serves a read from the front of buf and returns what is left:
// a short read keeps the rest for the next one.
func readFrom(buf []byte, req *fuse.ReadRequest, resp *fuse.ReadResponse) []byte {
	n := min(req.Size, len(buf))
	resp.Data = append(resp.Data[:0], buf[:n]...)
	if n == len(buf) {
		return buf[:0]
	}
	return buf[n:]
}
