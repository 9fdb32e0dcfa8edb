package socket

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"sockfs/netdev"
)

// Sk is what every protocol's sock implements by embedding Sock (tcp_sock
// embeds inet_sock embeds sock). SK is the Go form of the kernel's casts
// between them: sk.SK() is the common part; a type assertion goes back down
// (tcp_sk(sk)).
type Sk interface{ SK() *Sock }

// Proto is struct proto: the transport protocol's operations (tcp_prot,
// udp_prot, ping_prot, raw_prot) below the family's ProtoOps. As in the
// kernel, a slot the protocol has no use for may be nil; the family checks.
type Proto struct {
	Name string

	// The names of the slots the trace prints (SendmsgName for Sendmsg:
	// tcp_sendmsg, ping_v4_sendmsg; CloseName for Close: tcp_close,
	// dgram_close), each the function in its slot: a new proto names its
	// own. Empty for an empty slot.
	SendmsgName, RecvmsgName, CloseName, ShutdownName, DisconnectName string

	// Alloc returns a new zeroed protocol sock: sk_alloc's slab cache.
	Alloc func() Sk

	Init       func(sk Sk) error
	Close      func(sk Sk)
	Connect    func(ctx context.Context, sk Sk, addr netip.AddrPort, flags int) error
	Disconnect func(sk Sk, flags int) error
	Accept     func(ctx context.Context, sk Sk, flags int) (Sk, error)
	Destroy    func(sk Sk)
	Shutdown   func(sk Sk, how int)
	Setsockopt func(sk Sk, level, optname, val int) error
	Getsockopt func(sk Sk, level, optname int) (int, error)
	Keepalive  func(sk Sk, on bool)
	Sendmsg    func(ctx context.Context, sk Sk, msg *Msghdr, b []byte) (int, error)
	Recvmsg    func(ctx context.Context, sk Sk, msg *Msghdr, b []byte, flags int) (int, error)
	Bind       func(ctx context.Context, sk Sk, addr netip.AddrPort) error
	Hash       func(sk Sk) error
	Unhash     func(sk Sk)
	GetPort    func(sk Sk, port uint16) error

	// NoAutobind is no_autobind: a send does not first bind the sock to
	// an ephemeral port (TCP binds at connect instead).
	NoAutobind bool

	// Diag reports the protocol's view of the sock for the status file
	// (inet_diag / tcp_get_info), one key and value per call of emit, with
	// the sock's Mu held: sk_state, local, remote, rx_queue, tx_queue,
	// error, and for TCP rtt_us, cwnd, retransmits.
	Diag func(sk Sk, emit func(key, value string))

	// InUse counts this protocol's socks (sock_prot_inuse_get), for
	// sockstat and net/protocols.
	InUse atomic.Int64
}

// Defaults of the net.core sysctls.
const (
	SysctlRmemDefault = 212992
	SysctlWmemDefault = 212992
	SysctlRmemMax     = 212992
	SysctlWmemMax     = 212992
	SockMinRcvbuf     = 2304 // SOCK_MIN_RCVBUF with a 2 KiB truesize
	SockMinSndbuf     = 4608
)

// Sock is struct sock: the protocol-independent state of a network socket.
//
// Mu is lock_sock and bh_lock_sock in one: process context (a FUSE request)
// and softirq (the device's receive loop) take it for protocol work and never
// sleep while holding it.
type Sock struct {
	Mu sync.Mutex

	// Set at sk_alloc, then read-only.
	Family   int
	Type     SockType
	Protocol int
	Prot     *Proto
	Net      *Net
	Uid      uint32 // sk_uid: the owner /proc/net tables print

	// protected by Mu
	State         uint8         // sk_state, the protocol's state (TCP_ESTABLISHED, ...)
	Shutdown      int           // sk_shutdown: RCV_SHUTDOWN | SEND_SHUTDOWN
	Err           syscall.Errno // sk_err, reported once by SockError
	ErrSoft       syscall.Errno // sk_err_soft
	RcvBuf        int           // sk_rcvbuf
	SndBuf        int           // sk_sndbuf
	UserLocks     int           // SOCK_RCVBUF_LOCK / SOCK_SNDBUF_LOCK
	RcvTimeo      time.Duration // sk_rcvtimeo; 0 = block forever
	SndTimeo      time.Duration // sk_sndtimeo
	Reuse         bool          // sk_reuse (SO_REUSEADDR)
	KeepOpen      bool          // SOCK_KEEPOPEN (SO_KEEPALIVE)
	Broadcast     bool          // SOCK_BROADCAST (SO_BROADCAST): datagrams may go to a broadcast route
	Linger        bool          // SOCK_LINGER
	LingerTime    time.Duration // sk_lingertime
	Priority      int
	ReceiveQueue  netdev.SkbQueue // sk_receive_queue
	RmemAlloc     int             // bytes charged to the receive queue
	WmemQueued    int             // bytes charged to the send queue
	Socket        *Socket         // sk_socket; nil once orphaned
	Dead          bool            // SOCK_DEAD: orphaned by close
	Done          bool            // SOCK_DONE: the peer closed (stream)
	AckBacklog    int             // sk_ack_backlog: connections waiting in accept
	MaxAckBacklog int             // sk_max_ack_backlog: listen's backlog

	// Wq is the socket's wait queue (sk_wq), shared with the Socket.
	Wq *WaitQueue

	// Callbacks, as sock_init_data sets them; protocols and the accept path
	// may replace them.
	StateChange func(sk *Sock)
	DataReady   func(sk *Sock)
	WriteSpace  func(sk *Sock)
	ErrorReport func(sk *Sock)
}

// SK returns sk itself, so that *Sock satisfies Sk.
func (sk *Sock) SK() *Sock { return sk }

// SOCK_*_LOCK bits of UserLocks: the user fixed the buffer size, so the
// protocol must not auto-tune it.
const (
	SOCK_SNDBUF_LOCK = 1
	SOCK_RCVBUF_LOCK = 2
	// SOCK_BINDADDR_LOCK: the user bound an address, which a disconnect
	// keeps (inet_reset_saddr is skipped).
	SOCK_BINDADDR_LOCK = 4
)

// SkAlloc is sk_alloc: it takes a new protocol sock from prot and binds the
// common part to the namespace.
func SkAlloc(net *Net, family int, prot *Proto) Sk {
	s := prot.Alloc()
	sk := s.SK()
	sk.Family = family
	sk.Prot = prot
	sk.Net = net
	prot.InUse.Add(1)
	return s
}

// SockInitData is sock_init_data: default buffers, wait queue and callbacks,
// and the link between sock and sk.
func SockInitData(sock *Socket, s Sk) {
	sk := s.SK()
	sk.RcvBuf = SysctlRmemDefault
	sk.SndBuf = SysctlWmemDefault
	sk.StateChange = SockDefWakeup
	sk.DataReady = SockDefWakeup
	sk.WriteSpace = SockDefWakeup
	sk.ErrorReport = SockDefWakeup
	if sock != nil {
		sk.Type = sock.Type
		sk.Uid = sock.Uid
		sk.Wq = sock.Wq
		sk.Socket = sock
		sock.Sk = s
	} else {
		sk.Wq = new(WaitQueue)
	}
}

// SockDefWakeup is sock_def_wakeup / sock_def_readable: wake everyone waiting
// on the socket, sleepers and pollers alike.
func SockDefWakeup(sk *Sock) {
	if sk.Wq != nil {
		sk.Wq.WakeUp()
	}
}

// SockError is sock_error: it returns and clears sk_err. Mu held.
func (sk *Sock) SockError() syscall.Errno {
	e := sk.Err
	sk.Err = 0
	return e
}

// SockOrphan is sock_orphan: the file side is gone; the protocol may keep
// the sock alive (TCP's FIN_WAIT and TIME_WAIT) with no socket above it.
func (sk *Sock) SockOrphan() {
	sk.Dead = true
	sk.Socket = nil
}

// RcvDeadline is sock_rcvtimeo: the deadline for a blocking receive, on
// the namespace's clock; the zero Deadline when SO_RCVTIMEO is unset.
func (sk *Sock) RcvDeadline() Deadline { return DeadlineAfter(sk.Net.Clock, sk.RcvTimeo) }

// SndDeadline is sock_sndtimeo's deadline for a blocking send.
func (sk *Sock) SndDeadline() Deadline { return DeadlineAfter(sk.Net.Clock, sk.SndTimeo) }

// LingerDeadline is the SO_LINGER timeout sk_stream_wait_close sleeps for.
func (sk *Sock) LingerDeadline() Deadline { return DeadlineAfter(sk.Net.Clock, sk.LingerTime) }

// WaitEvent is sk_wait_event: with Mu held, it sleeps until cond() holds,
// releasing Mu while asleep. It returns EAGAIN at once when nonblock is set or
// on deadline, and EINTR when ctx ends. cond is evaluated with Mu held.
func (sk *Sock) WaitEvent(ctx context.Context, nonblock bool, deadline Deadline, cond func() bool) error {
	for {
		if cond() {
			return nil
		}
		if nonblock {
			return EAGAIN
		}
		ch := sk.Wq.Prepare()
		if cond() { // a wakeup may have come between the test and Prepare
			return nil
		}
		expired, t, err := deadline.arm()
		if err == nil {
			sk.Wq.sleepers.Add(1)
			sk.Mu.Unlock()
			err = sleepOn(ctx, ch, expired)
			if t != nil {
				t.Stop()
			}
			sk.Mu.Lock()
			sk.Wq.sleepers.Add(-1)
		}
		if err != nil {
			if cond() {
				return nil
			}
			return err
		}
	}
}
