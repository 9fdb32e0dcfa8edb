package socket

import (
	"context"
	"net/netip"
	"sync"
)

// Socket is struct socket: the BSD socket a file refers to. Its inode lives
// beside it in the inode package's SocketAlloc, as struct socket_alloc pairs
// them in the kernel; Ino is that inode's number, kept here for trace lines.
type Socket struct {
	State SocketState // protected by Sk's Mu once Sk is set
	Type  SockType
	Flags int
	Ops   *ProtoOps
	Sk    Sk
	Wq    *WaitQueue
	Net   *Net
	Ino   uint64
	Uid   uint32 // i_uid of the paired inode, which sock_init_data copies to sk_uid

	releaseOnce sync.Once
}

// A SuperBlock allocates the inode that each new socket is paired with: the
// sockfs superblock's new_inode_pseudo in sock_alloc. The inode package
// implements it.
type SuperBlock interface {
	SockAlloc(cred Cred) (*Socket, error)
	// SockFree drops the inode of a socket whose creation failed or which
	// was released (iput).
	SockFree(sock *Socket)
}

// SockCreate is sock_create / __sock_create: check the family, type and
// protocol, allocate the inode and socket, and let the family's create
// function fill in the ops and the sock. The errors are the kernel's:
// EAFNOSUPPORT for an unknown family, EINVAL for a type out of range, and
// whatever create returns (ESOCKTNOSUPPORT, EPROTONOSUPPORT).
func SockCreate(ctx context.Context, net *Net, sb SuperBlock, family int, typ SockType, protocol int) (*Socket, error) {
	if family < 0 || family >= NPROTO {
		return nil, EAFNOSUPPORT
	}
	if typ < SOCK_STREAM || typ >= SOCK_MAX {
		return nil, EINVAL
	}
	pf := net.family(family)
	if pf == nil {
		// The kernel would try request_module("net-pf-%d") here first.
		return nil, EAFNOSUPPORT
	}
	sock, err := sb.SockAlloc(CredFrom(ctx))
	if err != nil {
		return nil, err
	}
	sock.Type = typ
	sock.State = SS_UNCONNECTED
	sock.Net = net
	if sock.Wq == nil {
		sock.Wq = new(WaitQueue)
	}
	if err := pf.Create(net, sock, protocol, false); err != nil {
		sock.Ops = nil
		sb.SockFree(sock)
		return nil, err
	}
	net.SocketsInUse.Add(1)
	return sock, nil
}

// SockSendmsg is sock_sendmsg: the file write path hands the bytes to the
// family's sendmsg (inet_sendmsg).
func SockSendmsg(ctx context.Context, sock *Socket, msg *Msghdr, b []byte) (int, error) {
	return sock.Ops.Sendmsg(ctx, sock, msg, b)
}

// SockRecvmsg is sock_recvmsg.
func SockRecvmsg(ctx context.Context, sock *Socket, msg *Msghdr, b []byte, flags int) (int, error) {
	return sock.Ops.Recvmsg(ctx, sock, msg, b, flags)
}

// SockRelease is sock_release: the family's release closes the sock (FIN or
// RST as the protocol decides) and the socket is done. It runs once however
// many times it is called (close, rmdir and unmount may race).
func SockRelease(sock *Socket) {
	sock.releaseOnce.Do(func() {
		if sock.Ops != nil {
			sock.Ops.Release(sock)
			sock.Ops = nil
			sock.Net.SocketsInUse.Add(-1)
		}
		sock.State = SS_FREE
		if sock.Wq != nil {
			sock.Wq.WakeUp() // anyone still blocked sees the socket gone
		}
	})
}

// Released reports whether SockRelease has run.
func (sock *Socket) Released() bool { return sock.State == SS_FREE }

// Getname is getsockname / getpeername.
func Getname(sock *Socket, peer bool) (netip.AddrPort, error) {
	return sock.Ops.Getname(sock, peer)
}
