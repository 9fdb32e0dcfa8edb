package socket

import (
	"context"
	"net/netip"
	"syscall"
)

// Msghdr is struct msghdr reduced to what crosses this layer: the peer
// address (msg_name; for AF_INET a netip.AddrPort, zero when absent) and the
// flags (MSG_DONTWAIT in on send; MSG_TRUNC out on receive). Sendto and
// Recvfrom mark a call that came through __sys_sendto / __sys_recvfrom (the
// msg file), for the trace line's path.
type Msghdr struct {
	Name     netip.AddrPort
	Flags    int
	Sendto   bool
	Recvfrom bool
}

// ProtoOps is struct proto_ops: the family- and type-level operations that
// the socket calls reach (inet_stream_ops, inet_dgram_ops, ...). A slot the
// type does not support holds a SockNo... function, never nil; a test in each
// family checks that.
//
// ctx is the calling request: blocking operations end with EINTR when it is
// cancelled (a FUSE interrupt, i.e. a signal to the caller), and Cred(ctx)
// names the caller for permission checks.
type ProtoOps struct {
	// Name is the table's kernel name (inet_stream_ops), which
	// net/protocols shows.
	Name   string
	Family int

	Release func(sock *Socket) error
	Bind    func(ctx context.Context, sock *Socket, addr netip.AddrPort) error
	// Connect with the zero AddrPort is connect(2) with AF_UNSPEC: the
	// protocol's disconnect.
	Connect    func(ctx context.Context, sock *Socket, addr netip.AddrPort, flags int) error
	Accept     func(ctx context.Context, sock, newsock *Socket, flags int) error
	Getname    func(sock *Socket, peer bool) (netip.AddrPort, error)
	Poll       func(sock *Socket) uint32
	Listen     func(sock *Socket, backlog int) error
	Shutdown   func(sock *Socket, how int) error
	Setsockopt func(sock *Socket, level, optname, val int) error
	Getsockopt func(sock *Socket, level, optname int) (int, error)
	Sendmsg    func(ctx context.Context, sock *Socket, msg *Msghdr, b []byte) (int, error)
	Recvmsg    func(ctx context.Context, sock *Socket, msg *Msghdr, b []byte, flags int) (int, error)
}

// The sock_no_* stubs: what an unsupported operation answers.

func SockNoBind(context.Context, *Socket, netip.AddrPort) error { return EOPNOTSUPP }
func SockNoConnect(context.Context, *Socket, netip.AddrPort, int) error {
	return EOPNOTSUPP
}
func SockNoAccept(context.Context, *Socket, *Socket, int) error { return EOPNOTSUPP }
func SockNoListen(*Socket, int) error                           { return EOPNOTSUPP }
func SockNoShutdown(*Socket, int) error                         { return EOPNOTSUPP }
func SockNoGetname(*Socket, bool) (netip.AddrPort, error) {
	return netip.AddrPort{}, EOPNOTSUPP
}
func SockNoSendmsg(context.Context, *Socket, *Msghdr, []byte) (int, error) {
	return 0, EOPNOTSUPP
}
func SockNoRecvmsg(context.Context, *Socket, *Msghdr, []byte, int) (int, error) {
	return 0, EOPNOTSUPP
}

// Cred is the caller of a system call (current_cred()).
type Cred struct {
	Uid, Gid uint32
	Pid      uint32
}

type credKey struct{}

// WithCred returns ctx carrying the caller's credentials.
func WithCred(ctx context.Context, c Cred) context.Context {
	return context.WithValue(ctx, credKey{}, c)
}

// CredFrom returns the caller's credentials; a context without any is the
// kernel itself (uid 0), as for sockets the daemon releases at exit.
func CredFrom(ctx context.Context) Cred {
	c, _ := ctx.Value(credKey{}).(Cred)
	return c
}

// Capable reports whether the caller may bind privileged ports
// (CAP_NET_BIND_SERVICE): only uid 0 here.
func (c Cred) Capable() bool { return c.Uid == 0 }

var errEEXIST = syscall.EEXIST
