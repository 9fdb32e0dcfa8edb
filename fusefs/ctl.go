package fusefs

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/socket"
)

// ctlArgs are a ctl command's parsed arguments.
type ctlArgs struct {
	addr  netip.AddrPort     // bind, connect
	star  bool               // addr was written "*" (wildcardFor)
	n     int                // listen's backlog, shutdown's how, setsockopt's value
	words []uint32           // setsockopt's value when opt.Words > 0
	opt   socket.SockoptName // setsockopt, getsockopt
}

// ctlCommand is one system call reached through ctl: how its arguments
// parse and what it runs. run holds a reference on the socket (fget) unless
// the command is close, which drops the file itself.
type ctlCommand struct {
	name  string
	parse func(args []string) (ctlArgs, error)
	// run returns the command's answer for the next read, if it has one.
	run   func(ctx context.Context, sock *socket.Socket, req *fuse.WriteRequest, a ctlArgs) ([]byte, error)
	close bool
}

// ctlCommands is the table of ctl's commands; docs/sockfsd.md's table in code.
var ctlCommands = []ctlCommand{
	{name: "bind", parse: oneAddr, run: ctlBind},
	{name: "connect", parse: oneAddr, run: ctlConnect},
	{name: "disconnect", parse: noArgs, run: ctlDisconnect},
	{name: "listen", parse: backlogArg, run: ctlListen},
	{name: "shutdown", parse: howArg, run: ctlShutdown},
	{name: "setsockopt", parse: optValue, run: ctlSetsockopt},
	{name: "getsockopt", parse: optName, run: ctlGetsockopt},
	{name: "close", parse: noArgs, close: true},
}

// defaultBacklog is listen's backlog when the command gives none.
const defaultBacklog = 128

// parseCtl parses one ctl write: a command name and its arguments, with an
// optional trailing newline. Anything malformed is EINVAL.
func parseCtl(s string) (*ctlCommand, ctlArgs, error) {
	s = strings.TrimSuffix(s, "\n")
	if strings.ContainsRune(s, '\n') {
		return nil, ctlArgs{}, bad(syscall.EINVAL, "one command per write")
	}
	tok := strings.Fields(s)
	if len(tok) == 0 {
		return nil, ctlArgs{}, bad(syscall.EINVAL, "empty command")
	}
	for i := range ctlCommands {
		c := &ctlCommands[i]
		if c.name != tok[0] {
			continue
		}
		a, err := c.parse(tok[1:])
		if err != nil {
			return nil, ctlArgs{}, err
		}
		return c, a, nil
	}
	return nil, ctlArgs{}, bad(syscall.EINVAL, "unknown command %q", tok[0])
}

func noArgs(args []string) (ctlArgs, error) {
	if len(args) != 0 {
		return ctlArgs{}, bad(syscall.EINVAL, "takes no argument")
	}
	return ctlArgs{}, nil
}

func oneAddr(args []string) (ctlArgs, error) {
	if len(args) != 1 {
		return ctlArgs{}, bad(syscall.EINVAL, "want ADDR:PORT")
	}
	ap, err := parseAddrPort(args[0])
	return ctlArgs{addr: ap, star: strings.HasPrefix(args[0], "*:")}, err
}

// parseAddrPort parses ADDR:PORT: an IPv4 dotted quad, or an IPv6
// address in brackets with an optional zone ("[2001:2::2]:80",
// "[fe80::1%sock0]:80"), as the local and remote files print them. ADDR
// "*" is the wildcard: 0.0.0.0 here, which the call turns into :: for an
// AF_INET6 socket (wildcardFor). Which family an address may be is the
// socket's question (inet_bind answers an IPv6 one EAFNOSUPPORT,
// inet6_bind an IPv4 one EINVAL), not the parser's.
func parseAddrPort(s string) (netip.AddrPort, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, bad(syscall.EINVAL, "%q: want ADDR:PORT", s)
	}
	host, port := s[:i], s[i+1:]
	var addr netip.Addr
	switch {
	case host == "*":
		addr = netip.IPv4Unspecified()
	case len(host) > 2 && host[0] == '[' && host[len(host)-1] == ']':
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() {
			return netip.AddrPort{}, bad(syscall.EINVAL, "%q: not an IPv6 address", host)
		}
		addr = a
	default:
		a, err := netip.ParseAddr(host)
		if err != nil && isHostName(host) {
			// The socket calls take addresses, as connect(2) does: names
			// are resolved by the caller (getaddrinfo), never here.
			return netip.AddrPort{}, bad(syscall.EINVAL,
				"%q: a host name, not an IPv4 address: resolve it first (getent ahostsv4 %s)", host, host)
		}
		if err != nil || !a.Is4() {
			return netip.AddrPort{}, bad(syscall.EINVAL, "%q: not an IPv4 address (an IPv6 one goes in brackets)", host)
		}
		addr = a
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, bad(syscall.EINVAL, "%q: not a port", port)
	}
	return netip.AddrPortFrom(addr, uint16(p)), nil
}

// wildcardFor is "*" for sock's family: :: (in6addr_any) on an AF_INET6
// socket, 0.0.0.0 otherwise. star says the address was written "*".
func wildcardFor(sock *socket.Socket, ap netip.AddrPort, star bool) netip.AddrPort {
	if star && sock.Ops != nil && sock.Ops.Family == socket.AF_INET6 {
		return netip.AddrPortFrom(netip.IPv6Unspecified(), ap.Port())
	}
	return ap
}

// isHostName reports whether s looks like a host name (RFC 1123 §2.1:
// letters, digits, hyphens and dots, with a letter somewhere so it is not
// a mangled dotted quad).
func isHostName(s string) bool {
	letter := false
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c|0x20 && c|0x20 <= 'z':
			letter = true
		case '0' <= c && c <= '9', c == '-', c == '.':
		default:
			return false
		}
	}
	return letter && len(s) <= 253
}

func backlogArg(args []string) (ctlArgs, error) {
	switch len(args) {
	case 0:
		return ctlArgs{n: defaultBacklog}, nil
	case 1:
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return ctlArgs{}, bad(syscall.EINVAL, "backlog %q: not a number", args[0])
		}
		return ctlArgs{n: n}, nil
	}
	return ctlArgs{}, bad(syscall.EINVAL, "want listen [BACKLOG]")
}

// shutdownHow maps shutdown's argument to its how.
var shutdownHow = map[string]int{
	"rd": socket.SHUT_RD, "wr": socket.SHUT_WR, "rdwr": socket.SHUT_RDWR,
	"SHUT_RD": socket.SHUT_RD, "SHUT_WR": socket.SHUT_WR, "SHUT_RDWR": socket.SHUT_RDWR,
}

func howArg(args []string) (ctlArgs, error) {
	if len(args) != 1 {
		return ctlArgs{}, bad(syscall.EINVAL, "want shutdown rd|wr|rdwr")
	}
	how, ok := shutdownHow[args[0]]
	if !ok {
		return ctlArgs{}, bad(syscall.EINVAL, "shutdown %q: want rd, wr or rdwr", args[0])
	}
	return ctlArgs{n: how}, nil
}

// lookupOpt finds an option; an unknown name is ENOPROTOOPT, as
// setsockopt answers an option it does not know.
func lookupOpt(name string) (socket.SockoptName, error) {
	o, ok := socket.LookupSockopt(name)
	if !ok {
		return o, bad(syscall.ENOPROTOOPT, "unknown option %q", name)
	}
	return o, nil
}

func optValue(args []string) (ctlArgs, error) {
	if len(args) != 2 {
		return ctlArgs{}, bad(syscall.EINVAL, "want setsockopt NAME VALUE")
	}
	o, err := lookupOpt(args[0])
	if err != nil {
		return ctlArgs{}, err
	}
	if o.Words > 0 {
		return optWords(o, args[1])
	}
	// setsockopt's optval is a C int: a value beyond it is EINVAL, as
	// the kernel's copy of an optlen-4 int cannot carry it.
	if v, ok := socket.LookupSockoptValue(o, args[1]); ok {
		return ctlArgs{opt: o, n: v}, nil
	}
	v, err := strconv.ParseInt(args[1], 10, 32)
	if err != nil {
		return ctlArgs{}, bad(syscall.EINVAL, "value %.20q: not a 32-bit integer", args[1])
	}
	return ctlArgs{opt: o, n: int(v)}, nil
}

// optWords parses a struct-valued option's value: its Words u32 words,
// each as 8 hex digits, word 0 first.
func optWords(o socket.SockoptName, v string) (ctlArgs, error) {
	if len(v) != 8*o.Words {
		return ctlArgs{}, bad(syscall.EINVAL, "%s value %.20q: want %d hex digits", o.Name, v, 8*o.Words)
	}
	w := make([]uint32, o.Words)
	for i := range w {
		x, err := strconv.ParseUint(v[8*i:8*i+8], 16, 32)
		if err != nil {
			return ctlArgs{}, bad(syscall.EINVAL, "%s value %.20q: not hex", o.Name, v)
		}
		w[i] = uint32(x)
	}
	return ctlArgs{opt: o, words: w}, nil
}

// appendWords writes a struct-valued option's value as optWords reads it.
func appendWords(b []byte, w []uint32) []byte {
	for _, x := range w {
		b = fmt.Appendf(b, "%08X", x)
	}
	return b
}

func optName(args []string) (ctlArgs, error) {
	if len(args) != 1 {
		return ctlArgs{}, bad(syscall.EINVAL, "want getsockopt NAME")
	}
	o, err := lookupOpt(args[0])
	return ctlArgs{opt: o}, err
}

func ctlBind(ctx context.Context, sock *socket.Socket, req *fuse.WriteRequest, a ctlArgs) ([]byte, error) {
	return nil, socket.Bind(ctx, sock, wildcardFor(sock, a.addr, a.star))
}

func ctlConnect(ctx context.Context, sock *socket.Socket, req *fuse.WriteRequest, a ctlArgs) ([]byte, error) {
	flags := 0
	if nonblocking(req.FileFlags) {
		flags |= socket.O_NONBLOCK
	}
	return nil, socket.Connect(ctx, sock, wildcardFor(sock, a.addr, a.star), flags)
}

// ctlDisconnect is connect(2) with AF_UNSPEC.
func ctlDisconnect(ctx context.Context, sock *socket.Socket, req *fuse.WriteRequest, a ctlArgs) ([]byte, error) {
	flags := 0
	if nonblocking(req.FileFlags) {
		flags |= socket.O_NONBLOCK
	}
	return nil, socket.Disconnect(ctx, sock, flags)
}

func ctlListen(ctx context.Context, sock *socket.Socket, req *fuse.WriteRequest, a ctlArgs) ([]byte, error) {
	return nil, socket.Listen(sock, a.n)
}

func ctlShutdown(ctx context.Context, sock *socket.Socket, req *fuse.WriteRequest, a ctlArgs) ([]byte, error) {
	return nil, socket.Shutdown(sock, a.n)
}

func ctlSetsockopt(ctx context.Context, sock *socket.Socket, req *fuse.WriteRequest, a ctlArgs) ([]byte, error) {
	if a.opt.Words > 0 {
		return nil, socket.SetsockoptWords(sock, a.opt.Level, a.opt.Optname, a.words)
	}
	return nil, socket.Setsockopt(sock, a.opt.Level, a.opt.Optname, a.n)
}

func ctlGetsockopt(ctx context.Context, sock *socket.Socket, req *fuse.WriteRequest, a ctlArgs) ([]byte, error) {
	if a.opt.Words > 0 {
		w, err := socket.GetsockoptWords(sock, a.opt.Level, a.opt.Optname)
		if err != nil {
			return nil, err
		}
		return appendWords(nil, w), nil
	}
	v, err := socket.Getsockopt(sock, a.opt.Level, a.opt.Optname)
	if err != nil {
		return nil, err
	}
	return strconv.AppendInt(nil, int64(v), 10), nil
}

// ctlHandle is one open of INO/ctl, a transaction file: a write runs one
// command, and a read returns its answer (getsockopt's value) or, when
// there is none, every option's value; EOF ends each answer.
type ctlHandle struct {
	noFlush
	dir *sockDir

	mu       sync.Mutex
	answer   []byte // protected by mu: what reads return, from the front
	answered bool   // protected by mu: answer holds the current answer
}

var (
	_ fs.HandleWriter = (*ctlHandle)(nil)
	_ fs.HandleReader = (*ctlHandle)(nil)
)

func openCtl(f *sockFile, req *fuse.OpenRequest) fs.Handle { return &ctlHandle{dir: f.dir} }

func (h *ctlHandle) Write(ctx context.Context, req *fuse.WriteRequest, resp *fuse.WriteResponse) error {
	c, a, err := parseCtl(string(req.Data))
	if err != nil {
		return h.dir.fs.inputErrno(&req.Header, "ctl", req.Data, err)
	}
	// A new transaction replaces the answer of the last one. The lock is
	// not held while the command runs: connect may block, and a read of
	// the same open must not wait behind it. (Another write to the same
	// open waits in the kernel, which passes one write per inode at a
	// time; other opens have inodes of their own, see lookupPrivate.)
	h.setAnswer(nil, false)
	if c.close {
		if !h.dir.release(false) {
			return socket.EBADF
		}
		h.dir.dropDentries(true)
		resp.Size = len(req.Data)
		return nil
	}
	var answer []byte
	err = h.dir.call(ctx, &req.Header, c.name, func(ctx context.Context) error {
		var err error
		answer, err = c.run(ctx, h.dir.sock, req, a)
		return err
	})
	if err != nil {
		return err
	}
	if answer != nil {
		h.setAnswer(append(answer, '\n'), true)
	}
	resp.Size = len(req.Data)
	return nil
}

func (h *ctlHandle) setAnswer(b []byte, answered bool) {
	h.mu.Lock()
	h.answer, h.answered = b, answered
	h.mu.Unlock()
}

func (h *ctlHandle) Read(ctx context.Context, req *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.answered {
		err := h.dir.call(ctx, &req.Header, "ctl", func(ctx context.Context) error {
			h.answer = appendSockopts(h.answer[:0], h.dir.sock)
			return nil
		})
		if err != nil {
			return err
		}
		h.answered = true
	}
	if len(h.answer) == 0 {
		// EOF: this answer is read; the next read starts another.
		h.answered = false
		resp.Data = resp.Data[:0]
		return nil
	}
	h.answer = readFrom(h.answer, req, resp)
	return nil
}

// appendSockopts renders every option the socket has as "NAME VALUE"
// lines. An option the socket's level does not offer is left out, and so
// is SO_ERROR: reading it clears sk_err, and a listing must not change the
// socket (status shows the error).
func appendSockopts(b []byte, sock *socket.Socket) []byte {
	var w bytes.Buffer
	for _, o := range socket.Sockopts {
		if o.Level == socket.SOL_SOCKET && o.Optname == socket.SO_ERROR {
			continue
		}
		if o.Words > 0 {
			if ws, err := socket.GetsockoptWords(sock, o.Level, o.Optname); err == nil {
				w.WriteString(o.Name + " ")
				w.Write(appendWords(nil, ws))
				w.WriteByte('\n')
			}
			continue
		}
		v, err := socket.Getsockopt(sock, o.Level, o.Optname)
		if err != nil {
			continue
		}
		fmt.Fprintf(&w, "%s %d\n", o.Name, v)
	}
	return append(b, w.Bytes()...)
}
