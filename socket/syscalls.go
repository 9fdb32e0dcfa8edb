package socket

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
)

// The __sys_* bodies of net/socket.c that the file layer calls: each finds
// the operation in the socket's ProtoOps and calls it.

// Bind is __sys_bind.
func Bind(ctx context.Context, sock *Socket, addr netip.AddrPort) error {
	return sock.Ops.Bind(ctx, sock, addr)
}

// Connect is __sys_connect; flags carries O_NONBLOCK of the file.
func Connect(ctx context.Context, sock *Socket, addr netip.AddrPort, flags int) error {
	return sock.Ops.Connect(ctx, sock, addr, flags)
}

// Disconnect is __sys_connect with an AF_UNSPEC address: a datagram socket
// forgets its peer, a TCP socket aborts to CLOSE.
func Disconnect(ctx context.Context, sock *Socket, flags int) error {
	return sock.Ops.Connect(ctx, sock, netip.AddrPort{}, flags)
}

// Sendto is __sys_sendto: one datagram to to (the connected peer when to is
// the zero AddrPort), through sock_sendmsg.
func Sendto(ctx context.Context, sock *Socket, b []byte, flags int, to netip.AddrPort) (int, error) {
	msg := Msghdr{Name: to, Flags: flags, Sendto: true}
	return SockSendmsg(ctx, sock, &msg, b)
}

// Recvfrom is __sys_recvfrom: one datagram into b, and who sent it.
func Recvfrom(ctx context.Context, sock *Socket, b []byte, flags int) (int, netip.AddrPort, error) {
	msg := Msghdr{Recvfrom: true}
	n, err := SockRecvmsg(ctx, sock, &msg, b, flags)
	return n, msg.Name, err
}

// Listen is __sys_listen. A negative or oversized backlog is clamped to
// somaxconn (4096), as the kernel does.
func Listen(sock *Socket, backlog int) error {
	const somaxconn = 4096
	if backlog < 0 || backlog > somaxconn {
		backlog = somaxconn
	}
	return sock.Ops.Listen(sock, backlog)
}

// Shutdown is __sys_shutdown.
func Shutdown(sock *Socket, how int) error {
	if how < SHUT_RD || how > SHUT_RDWR {
		return EINVAL
	}
	return sock.Ops.Shutdown(sock, how)
}

// Accept is __sys_accept4: allocate the new socket's inode, give it the
// listener's type and ops, and let the family's accept graft the
// established sock onto it.
func Accept(ctx context.Context, sb SuperBlock, sock *Socket, flags int) (*Socket, error) {
	newsock, err := sb.SockAlloc(CredFrom(ctx))
	if err != nil {
		return nil, err
	}
	newsock.Type = sock.Type
	newsock.Ops = sock.Ops
	newsock.Net = sock.Net
	newsock.State = SS_UNCONNECTED
	if newsock.Wq == nil {
		newsock.Wq = new(WaitQueue)
	}
	if err := sock.Ops.Accept(ctx, sock, newsock, flags); err != nil {
		newsock.Ops = nil
		sb.SockFree(newsock)
		return nil, err
	}
	sock.Net.SocketsInUse.Add(1)
	return newsock, nil
}

// Status renders the status file: the socket's own fields, then what the
// protocol reports through Proto.Diag (sk_state, addresses, queues, error,
// and TCP's rtt_us, cwnd, retransmits), one "key: value" line each.
func Status(sock *Socket) []byte {
	var b bytes.Buffer
	sk := sock.Sk.SK()
	var fam string
	switch sk.Family {
	case AF_INET:
		fam = "AF_INET"
	case AF_INET6:
		fam = "AF_INET6"
	default:
		fam = itoa(sk.Family)
	}
	fmt.Fprintf(&b, "family: %s\ntype: %s\nprotocol: %d\n", fam, sock.Type, sk.Protocol)
	sk.Mu.Lock()
	fmt.Fprintf(&b, "state: %s\n", sock.State)
	if sk.Prot.Diag != nil {
		sk.Prot.Diag(sock.Sk, func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, v) })
	}
	sk.Mu.Unlock()
	return b.Bytes()
}

// ProcNetFile is one read-only file under net/ (proc_create_net): Show
// writes its whole content in Linux's /proc/net layout.
type ProcNetFile struct {
	Name string
	Show func(b *bytes.Buffer)
}

// ProcNetCreate registers a net/ file; a family registers its tables at
// init (tcp4_proc_init, udp4_proc_init, ...).
func (n *Net) ProcNetCreate(name string, show func(b *bytes.Buffer)) {
	n.mu.Lock()
	n.procNet = append(n.procNet, ProcNetFile{Name: name, Show: show})
	n.mu.Unlock()
}

// ProcNetFiles lists the registered net/ files in registration order.
func (n *Net) ProcNetFiles() []ProcNetFile {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return append([]ProcNetFile(nil), n.procNet...)
}
