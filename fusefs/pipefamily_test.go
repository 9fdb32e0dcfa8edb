package fusefs

import (
	"context"
	"net/netip"
	"sync"

	"sockfs/socket"
)

// pipeFamily is a tiny stream family with real semantics for testing the
// file layer without inet: bind names a listener, connect pairs two socks
// in memory, and bytes sent to one are received from the other. It plays
// AF_UNIX's number in its own socket.Net.
type pipeFamily struct {
	ops   socket.ProtoOps
	proto socket.Proto

	mu    sync.Mutex
	bound map[netip.AddrPort]*pipeSock // protected by mu

	// recvWaits gets the ino of each socket whose recv is about to sleep,
	// and polls the ino of each socket polled, so tests wait on events
	// rather than time.
	recvWaits chan uint64
	polls     chan uint64
}

const afPipe = 1

type pipeSock struct {
	socket.Sock
	fam *pipeFamily

	// protected by Mu
	local, remote netip.AddrPort
	peer          *pipeSock
	buf           []byte
	listening     bool
	acceptQ       []*pipeSock
}

func newPipeFamily() *pipeFamily {
	f := &pipeFamily{
		bound:     make(map[netip.AddrPort]*pipeSock),
		recvWaits: make(chan uint64, 64),
		polls:     make(chan uint64, 64),
	}
	f.proto = socket.Proto{Name: "PIPE", Alloc: func() socket.Sk { return &pipeSock{fam: f} }}
	f.ops = socket.ProtoOps{
		Family:     afPipe,
		Release:    f.release,
		Bind:       f.bind,
		Connect:    f.connect,
		Accept:     f.accept,
		Getname:    f.getname,
		Poll:       f.poll,
		Listen:     f.listen,
		Shutdown:   f.shutdown,
		Setsockopt: func(*socket.Socket, int, int, int) error { return socket.ENOPROTOOPT },
		Getsockopt: func(*socket.Socket, int, int) (int, error) { return 0, socket.ENOPROTOOPT },
		Sendmsg:    f.sendmsg,
		Recvmsg:    f.recvmsg,
	}
	return f
}

func (f *pipeFamily) register(n *socket.Net) error {
	return n.SockRegister(&socket.NetProtoFamily{Family: afPipe, Create: f.create})
}

func (f *pipeFamily) create(n *socket.Net, sock *socket.Socket, protocol int, kern bool) error {
	if sock.Type != socket.SOCK_STREAM {
		return socket.ESOCKTNOSUPPORT
	}
	if protocol != 0 {
		return socket.EPROTONOSUPPORT
	}
	sk := socket.SkAlloc(n, afPipe, &f.proto)
	socket.SockInitData(sock, sk)
	sock.Ops = &f.ops
	return nil
}

func psk(sock *socket.Socket) *pipeSock { return sock.Sk.(*pipeSock) }

func (f *pipeFamily) release(sock *socket.Socket) error {
	p := psk(sock)
	p.Mu.Lock()
	peer := p.peer
	p.Shutdown = socket.SHUTDOWN_MASK
	local := p.local
	p.SockOrphan()
	p.Mu.Unlock()
	if peer != nil {
		peer.Mu.Lock()
		peer.Done = true
		// Wq is read under Mu: accept may be grafting it.
		peer.StateChange(&peer.Sock)
		peer.Mu.Unlock()
	}
	f.mu.Lock()
	if f.bound[local] == p {
		delete(f.bound, local)
	}
	f.mu.Unlock()
	return nil
}

func (f *pipeFamily) bind(ctx context.Context, sock *socket.Socket, addr netip.AddrPort) error {
	p := psk(sock)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, used := f.bound[addr]; used {
		return socket.EADDRINUSE
	}
	f.bound[addr] = p
	p.Mu.Lock()
	p.local = addr
	p.Mu.Unlock()
	return nil
}

func (f *pipeFamily) listen(sock *socket.Socket, backlog int) error {
	p := psk(sock)
	p.Mu.Lock()
	defer p.Mu.Unlock()
	if p.local == (netip.AddrPort{}) {
		return socket.EDESTADDRREQ
	}
	p.listening = true
	return nil
}

func (f *pipeFamily) connect(ctx context.Context, sock *socket.Socket, addr netip.AddrPort, flags int) error {
	p := psk(sock)
	f.mu.Lock()
	l := f.bound[addr]
	f.mu.Unlock()
	if l == nil {
		return socket.ECONNREFUSED
	}
	child := socket.SkAlloc(sock.Net, afPipe, &f.proto).(*pipeSock)
	socket.SockInitData(nil, child)
	p.Mu.Lock()
	if p.peer != nil {
		p.Mu.Unlock()
		return socket.EISCONN
	}
	p.peer, p.remote = child, addr
	sock.State = socket.SS_CONNECTED
	p.Mu.Unlock()
	child.peer, child.local = p, addr
	l.Mu.Lock()
	if !l.listening {
		l.Mu.Unlock()
		return socket.ECONNREFUSED
	}
	l.acceptQ = append(l.acceptQ, child)
	l.Mu.Unlock()
	l.DataReady(&l.Sock)
	return nil
}

func (f *pipeFamily) accept(ctx context.Context, sock, newsock *socket.Socket, flags int) error {
	l := psk(sock)
	l.Mu.Lock()
	if !l.listening {
		l.Mu.Unlock()
		return socket.EINVAL
	}
	err := l.WaitEvent(ctx, flags&socket.O_NONBLOCK != 0, l.RcvDeadline(), func() bool { return len(l.acceptQ) > 0 })
	if err != nil {
		l.Mu.Unlock()
		return err
	}
	child := l.acceptQ[0]
	l.acceptQ = l.acceptQ[1:]
	l.Mu.Unlock()
	child.Mu.Lock()
	child.Wq = newsock.Wq
	child.Socket = newsock
	newsock.Sk = child
	newsock.State = socket.SS_CONNECTED
	child.Type = newsock.Type
	child.Mu.Unlock()
	return nil
}

func (f *pipeFamily) getname(sock *socket.Socket, peer bool) (netip.AddrPort, error) {
	p := psk(sock)
	p.Mu.Lock()
	defer p.Mu.Unlock()
	if !peer {
		return p.local, nil
	}
	if p.peer == nil {
		return netip.AddrPort{}, socket.ENOTCONN
	}
	return p.remote, nil
}

func (f *pipeFamily) poll(sock *socket.Socket) uint32 {
	p := psk(sock)
	p.Mu.Lock()
	var mask uint32
	if len(p.buf) > 0 || p.Done || len(p.acceptQ) > 0 {
		mask |= socket.POLLIN | socket.POLLRDNORM
	}
	if p.peer != nil && p.Shutdown&socket.SEND_SHUTDOWN == 0 {
		mask |= socket.POLLOUT | socket.POLLWRNORM
	}
	if p.Done {
		mask |= socket.POLLRDHUP | socket.POLLHUP
	}
	p.Mu.Unlock()
	select {
	case f.polls <- sock.Ino:
	default:
	}
	return mask
}

func (f *pipeFamily) shutdown(sock *socket.Socket, how int) error {
	p := psk(sock)
	p.Mu.Lock()
	peer := p.peer
	if peer == nil {
		p.Mu.Unlock()
		return socket.ENOTCONN
	}
	p.Shutdown |= how + 1
	p.Mu.Unlock()
	if how != socket.SHUT_RD {
		peer.Mu.Lock()
		peer.Done = true
		// Wq is read under Mu: accept may be grafting it.
		peer.StateChange(&peer.Sock)
		peer.Mu.Unlock()
	}
	return nil
}

func (f *pipeFamily) sendmsg(ctx context.Context, sock *socket.Socket, msg *socket.Msghdr, b []byte) (int, error) {
	p := psk(sock)
	p.Mu.Lock()
	peer, shut := p.peer, p.Shutdown
	p.Mu.Unlock()
	if peer == nil {
		return 0, socket.ENOTCONN
	}
	if shut&socket.SEND_SHUTDOWN != 0 {
		return 0, socket.EPIPE
	}
	peer.Mu.Lock()
	if peer.Dead {
		peer.Mu.Unlock()
		return 0, socket.EPIPE
	}
	peer.buf = append(peer.buf, b...)
	peer.DataReady(&peer.Sock)
	peer.Mu.Unlock()
	return len(b), nil
}

func (f *pipeFamily) recvmsg(ctx context.Context, sock *socket.Socket, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	p := psk(sock)
	p.Mu.Lock()
	defer p.Mu.Unlock()
	if p.peer == nil {
		return 0, socket.ENOTCONN
	}
	ready := func() bool { return len(p.buf) > 0 || p.Done }
	if !ready() && flags&socket.MSG_DONTWAIT == 0 {
		select {
		case f.recvWaits <- sock.Ino:
		default:
		}
	}
	if err := p.WaitEvent(ctx, flags&socket.MSG_DONTWAIT != 0, p.RcvDeadline(), ready); err != nil {
		return 0, err
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}
