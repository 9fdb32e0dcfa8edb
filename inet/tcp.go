package inet

// TCP (net/ipv4/tcp.c): the sock, tcp_prot, and what process context calls
// (sendmsg, recvmsg, close, shutdown, poll, options, diag).
//
// The connection state machine follows RFC 9293 §3.3.2 with Linux's states
// (tcp_states.h). Every state change goes through tcpSetState. Input is in
// tcp_input.go, output in tcp_output.go, timers in tcp_timer.go, the hash
// tables in inet_hashtables.go, listen/accept in inet_connection_sock.go,
// congestion control in tcp_cong.go. None of these names a family: what
// the network layer does for TCP goes through the sock's afOps
// (inet_connection_sock_af_ops); tcp_ipv4.go holds IPv4's table, its
// tcp_prot, tcp_v4_rcv and connect.

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// Defaults of the TCP sysctls and constants of include/net/tcp.h.
const (
	tcpMssDefault        = 536 // TCP_MSS_DEFAULT: RFC 9293 §3.7.1 when no MSS option
	tcpMinMss            = 88  // TCP_MIN_MSS
	tcpMaxWindow         = 32767
	tcpInitCwnd          = 10 // TCP_INIT_CWND, RFC 6928
	tcpInfiniteSsthr     = 0x7fffffff
	tcpTimeoutInit       = time.Second       // TCP_TIMEOUT_INIT, RFC 6298 §2.1
	tcpRtoMax            = 120 * time.Second // TCP_RTO_MAX
	tcpRtoMinDefault     = 200 * time.Millisecond
	tcpTimeWaitLen       = 60 * time.Second // TCP_TIMEWAIT_LEN
	tcpFinTimeout        = 60 * time.Second // tcp_fin_timeout
	tcpDelackMin         = 40 * time.Millisecond
	tcpDelackMax         = 200 * time.Millisecond
	tcpKeepaliveTime     = 7200 * time.Second
	tcpKeepaliveIntvl    = 75 * time.Second
	tcpKeepaliveProbe    = 9
	tcpMaxKeepidle       = 32767
	tcpMaxKeepintvl      = 32767
	tcpMaxKeepcnt        = 127
	tcpSynRetries        = 6  // tcp_syn_retries
	tcpSynLinearTimeouts = 4  // tcp_syn_linear_timeouts
	tcpSynackRetries     = 5  // tcp_synack_retries
	tcpRetries2          = 15 // tcp_retries2
	tcpOrphanRetries     = 8  // tcp_orphan_retries (0 means 8)
	tcpMaxQuickacks      = 16

	// tcp_rmem and tcp_wmem: min, default, max (tcp_rmem[2] is 32 MiB
	// since Linux 6.13), and net.core.rmem_max.
	tcpRmemMin, tcpRmemDefault, tcpRmemMax = 4096, 131072, 33554432
	sysctlRmemMax                          = 212992
	tcpWmemMin, tcpWmemDefault, tcpWmemMax = 4096, 16384, 4194304
)

// tcpSock is struct tcp_sock with the inet_connection_sock fields folded
// in (icsk_*). Sequence arithmetic is modulo 2^32 (seqBefore/seqAfter).
//
// Locking, stated once for the whole of TCP:
//   - Every method on *tcpSock, and every tcp_prot function, runs with the
//     sock's Mu held (lock_sock and bh_lock_sock in one), and never sleeps
//     with it except through WaitEvent, which drops it while asleep.
//   - An exception says so in a "Locking:" line of its doc comment: the
//     timer handlers and the accept-queue paths are entered with no lock
//     and take Mu themselves (TestTCPLockContract checks that every method
//     that takes a sock's Mu has that line).
//   - The hash and bind tables are the namespace's tcpNet.mu, which the
//     methods in inet_hashtables.go take themselves, always after Mu,
//     never before it; the fields it guards are marked below.
//   - A name ending in Locked means only one thing: the caller holds the
//     lock of the table the function works on (tcpNet.mu, a dgTable's mu,
//     the fragment queue's lock), as __inet_hash does under the bucket
//     lock. A sock's Mu is never what Locked means.
type tcpSock struct {
	InetSock

	// protected by Mu

	// Send sequence space (RFC 9293 §3.3.1).
	iss       uint32
	sndUna    uint32
	sndNxt    uint32
	sndWl1    uint32 // segment sequence of the last window update
	sndWnd    uint32 // peer's window, scaled
	maxWindow uint32 // largest window the peer offered
	writeSeq  uint32 // end of what the user queued (tp->write_seq)

	// Receive sequence space.
	irs       uint32
	rcvNxt    uint32
	rcvWup    uint32 // rcv_nxt when the window was last announced
	rcvWnd    uint32 // the window last announced, unscaled bytes
	copiedSeq uint32 // head of the data the user has not read yet

	mssCache   int // payload bytes per segment we send (mss_cache)
	pmtuCookie int // icsk_pmtu_cookie: the path MTU mssCache was made for
	advmss     int // MSS we announce
	mssClamp   int // the peer's MSS option (rx_opt.mss_clamp)
	userMss    int // TCP_MAXSEG
	rcvMss     int // the peer's segment size as seen (icsk_ack.rcv_mss)

	// Negotiated options (struct tcp_options_received).
	wscaleOk, sackOk, tstampOk bool
	sndWscale, rcvWscale       uint8
	tsRecent                   uint32
	tsRecentStamp              time.Duration
	tsOffset                   uint32

	// RTT estimation and RTO (RFC 6298).
	srtt, rttvar time.Duration // 0 until the first sample
	rto          time.Duration // icsk_rto
	backoff      int           // icsk_backoff
	retransmits  int           // icsk_retransmits: consecutive timeouts
	totalRetrans uint32
	probesOut    int // icsk_probes_out: unanswered keepalive/window probes

	// Congestion control (tcp_cong.go) and the loss-recovery scoreboard.
	sndCwnd, sndSsthresh, sndCwndCnt uint32
	caState                          uint8
	highSeq                          uint32 // snd_nxt at the start of recovery (RFC 6582 "recover")
	ca                               *tcpCongestionOps
	cubic                            cubicState
	packetsOut, retransOut           uint32
	sackedOut, lostOut               uint32
	highestSack                      uint32 // end of the highest SACKed skb
	priorCwnd                        uint32

	// writeQueue holds sent-but-unacked skbs, then sendHead and the
	// unsent ones after it (sk_write_queue + sk_send_head).
	writeQueue netdev.SkbQueue
	sendHead   *netdev.SkBuff
	ofoQueue   netdev.SkbQueue // out_of_order_queue, ordered by seq
	ofoLast    uint32          // seq of the newest out-of-order segment (first SACK block)

	// Delayed ACK (icsk_ack).
	ackPending bool
	quickAcks  int
	ato        time.Duration
	lastRcv    time.Duration // icsk_ack.lrcvtime
	lastOowAck oowLimit      // last_oow_ack_time (tcp_oow.go)
	lastAck    time.Duration // when the peer last acked something

	// Timers (tcp_timer.go): one of each kind per sock.
	rtxTimer      ktime.Timer // retransmit, SYN/SYN-ACK, zero-window probe
	rtxPending    uint8       // icsk_pending: tcpTimeRetrans or tcpTimeProbe0
	rtxTimeout    time.Duration
	delackTimer   ktime.Timer
	delackTimeout time.Duration
	skTimer       ktime.Timer // sk_timer: keepalive, FIN_WAIT2, TIME_WAIT
	skTimerArmed  bool
	skTimeout     time.Duration

	keepaliveTime   time.Duration
	keepaliveIntvl  time.Duration
	keepaliveProbes int
	nodelay         bool
	sndSml          uint32 // end of the last small segment sent (Minshall's Nagle)
	delackArmed     bool

	// Listener and request state (inet_connection_sock.go).
	parent        *tcpSock     // the listener of a child in SYN_RECV
	acceptQ       []*tcpSock   // icsk_accept_queue (listener)
	synQlen       atomic.Int32 // children of this listener still in SYN_RECV
	acceptQlen    atomic.Int32 // len(acceptQ), readable from a child without the listener's Mu
	maxBacklog    atomic.Int32 // the backlog listen gave, likewise
	inSynQ        bool         // a child counted in parent.synQlen
	pendingAccept bool         // a child that just got established, for tcp_v4_rcv
	cookie        listenCookieState
	backlog       int

	userBound     bool // SOCK_BINDPORT_LOCK: the user bound the port
	everConnected bool
	destroyed     bool
	rcvq          struct {
		space int
		seq   uint32
		time  time.Duration
	}

	// afOps is icsk_af_ops: the family under this sock (set by the
	// family's init_sock, inherited by a listener's children).
	afOps *inetConnectionSockAfOps

	// Guarded by the namespace's tcpNet.mu, not Mu.
	bhashed, ehashed, lhashed bool
	ehashKey                  tcpHashKey
	bind                      tcpBindInfo

	optBuf [40]byte // option scratch for transmit, so no allocation per packet
}

// tcpSk is tcp_sk: the cast from a generic sock.
func tcpSk(s socket.Sk) *tcpSock { return s.(*tcpSock) }

// net returns the namespace the sock lives in.
func (tp *tcpSock) net() *Net { return tp.in }

// Sequence number comparison modulo 2^32 (RFC 9293 §3.4, before()/after()).
func seqBefore(a, b uint32) bool { return int32(a-b) < 0 }
func seqAfter(a, b uint32) bool  { return int32(b-a) < 0 }

// tcpInitSock is tcp_init_sock: RFC 6298 initial RTO, RFC 6928 initial
// window, the tcp_rmem/tcp_wmem defaults and the namespace's default
// congestion control.
func tcpInitSock(s socket.Sk) error {
	tp := tcpSk(s)
	tp.initDefaults(tp.in.tcp.defaultCong())
	return nil
}

func (tp *tcpSock) initDefaults(ca *tcpCongestionOps) {
	sk := &tp.Sock
	sk.State = TCP_CLOSE
	tp.rto = tcpTimeoutInit
	tp.sndCwnd = tcpInitCwnd
	tp.sndSsthresh = tcpInfiniteSsthr
	tp.mssCache = tcpMssDefault
	tp.rcvMss = tcpMssDefault
	tp.ato = tcpDelackMin
	tp.keepaliveTime = tcpKeepaliveTime
	tp.keepaliveIntvl = tcpKeepaliveIntvl
	tp.keepaliveProbes = tcpKeepaliveProbe
	sk.RcvBuf = tcpRmemDefault
	sk.SndBuf = tcpWmemDefault
	tp.ca = ca
}

// tcpSetState is tcp_set_state and inet_sk_state_store: the one place the
// state changes. It keeps CurrEstab and, on CLOSE, takes the sock out of
// the hash tables (and releases an automatically chosen port).
func (tp *tcpSock) tcpSetState(state uint8) {
	in := tp.in
	old := tp.State
	if old == state {
		return
	}
	if state == TCP_ESTABLISHED {
		in.mib.Tcp.CurrEstab.Add(1)
		tp.everConnected = true
	} else if old == TCP_ESTABLISHED {
		in.mib.Tcp.CurrEstab.Add(^uint64(0))
	}
	if state == TCP_CLOSE && (old == TCP_ESTABLISHED || old == TCP_CLOSE_WAIT) {
		in.mib.Tcp.EstabResets.Add(1)
	}
	tp.State = state
	if state == TCP_CLOSE {
		tp.unhash()
		if !tp.userBound {
			tp.unbind() // inet_put_port unless SOCK_BINDPORT_LOCK
		}
	}
	if in.traceOn() {
		in.traceSk(tp, "tcp_set_state %s -> %s", tcpStateName(old), tcpStateName(state))
	}
}

// tcpDone is tcp_done: the connection is over. Timers stop, the sock
// leaves the tables, a user blocked on it wakes, and an orphan is freed.
func (tp *tcpSock) tcpDone() {
	if tp.State == TCP_SYN_SENT || tp.State == TCP_SYN_RECV {
		tp.in.mib.Tcp.AttemptFails.Add(1)
	}
	tp.leaveSynQueue()
	tp.tcpSetState(TCP_CLOSE)
	tp.clearXmitTimers()
	tp.Shutdown = socket.SHUTDOWN_MASK
	switch {
	case tp.Dead:
		tp.destroySock()
	case tp.parent != nil:
		// A request that never reached the accept queue: nobody will
		// ever see it (reqsk_free).
		tp.parent = nil
		tp.SockOrphan()
		tp.destroySock()
	default:
		tp.StateChange(&tp.Sock)
	}
}

// destroySock is tcp_v4_destroy_sock + sk_free: stop every timer, free every
// queued skb, leave the tables. Idempotent. Mu held.
func (tp *tcpSock) destroySock() {
	if tp.destroyed {
		return
	}
	tp.destroyed = true
	tp.clearXmitTimers()
	tp.stopSkTimer()
	tp.leaveSynQueue()
	tp.purgeWriteQueue()
	tp.ofoQueue.Purge()
	tp.ReceiveQueue.Purge()
	tp.RmemAlloc = 0
	tp.unhash()
	tp.unbind()
	tp.Prot.InUse.Add(-1)
}

func (tp *tcpSock) purgeWriteQueue() {
	tp.writeQueue.Purge()
	tp.sendHead = nil
	tp.WmemQueued = 0
	tp.packetsOut, tp.retransOut, tp.sackedOut, tp.lostOut = 0, 0, 0, 0
}

// sendmsg ------------------------------------------------------------------

// tcpSendmsg is tcp_sendmsg: copy the user's bytes once into skbs of
// sizeGoal (one MSS, or up to 64 KiB with GSO)
// on the write queue and push them out. It blocks until every byte is
// queued (sk_stream_wait_memory), as docs/sockfsd.md's INO/data write does.
func tcpSendmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte) (int, error) {
	tp := tcpSk(s)
	sk := &tp.Sock
	nonblock := msg.Flags&socket.MSG_DONTWAIT != 0
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	deadline := sk.SndDeadline()

	// sk_stream_wait_connect: a connect still in progress is waited for.
	if (1<<sk.State)&(TCPF_ESTABLISHED|TCPF_CLOSE_WAIT) == 0 {
		if (1<<sk.State)&(TCPF_SYN_SENT|TCPF_SYN_RECV) != 0 {
			err := sk.WaitEvent(ctx, nonblock, deadline, func() bool {
				return (1<<sk.State)&(TCPF_SYN_SENT|TCPF_SYN_RECV) == 0
			})
			if err != nil {
				return 0, err
			}
		}
		if (1<<sk.State)&(TCPF_ESTABLISHED|TCPF_CLOSE_WAIT) == 0 {
			if e := sk.SockError(); e != 0 {
				return 0, e
			}
			// Never connected, listening or closed: EPIPE, as
			// sk_stream_wait_connect answers every state but the
			// handshake's (recv says ENOTCONN instead).
			return 0, socket.EPIPE
		}
	}

	copied := 0
	for copied < len(b) {
		if sk.Err != 0 {
			if copied > 0 {
				break
			}
			return 0, sk.SockError()
		}
		if sk.Shutdown&socket.SEND_SHUTDOWN != 0 {
			if copied > 0 {
				break
			}
			return 0, socket.EPIPE
		}
		goal := tp.sizeGoal()
		// Append to the unsent tail skb while it has room (tcp_sendmsg's
		// "skb = tcp_write_queue_tail(sk)" path).
		if tail := tp.writeQueue.PeekTail(); tail != nil && tp.sendHead != nil &&
			tail.Cb.TCPFlags&(tcpFlagFIN|tcpFlagSYN) == 0 && tail.Len() < goal && tail.Tailroom() > 0 {
			// (An skb cut by tcp_fragment, or built for a smaller goal,
			// takes what its buffer holds.)
			n := min(goal-tail.Len(), len(b)-copied, tail.Tailroom())
			copy(tail.Put(n), b[copied:copied+n])
			tp.writeQueue.Adjust(n)
			tail.Cb.EndSeq += uint32(n)
			tp.writeSeq += uint32(n)
			tp.WmemQueued += n
			copied += n
			continue
		}
		if tp.WmemQueued >= sk.SndBuf {
			// Out of send buffer: send what we have, then sleep until
			// ACKs free room (sk_stream_wait_memory).
			tp.tcpPush(true)
			err := sk.WaitEvent(ctx, nonblock, deadline, func() bool {
				return tp.WmemQueued < sk.SndBuf || sk.Err != 0 || sk.Shutdown&socket.SEND_SHUTDOWN != 0
			})
			if err != nil {
				if copied > 0 {
					break
				}
				return 0, err
			}
			continue
		}
		n := min(goal, len(b)-copied)
		skb := netdev.AllocSkb(goal)
		copy(skb.Put(n), b[copied:copied+n])
		skb.Cb = netdev.SkbCb{Seq: tp.writeSeq, EndSeq: tp.writeSeq + uint32(n), TCPFlags: tcpFlagACK}
		tp.entailSkb(skb)
		copied += n
		if skb.Len() == goal {
			tp.tcpPush(false)
		}
	}
	tp.tcpPush(false)
	return copied, nil
}

// streamWriteable is __sk_stream_is_writeable: at least a third of the
// send buffer is free (free space >= half of what is queued), so a woken
// writer has room for more than a crumb.
func (tp *tcpSock) streamWriteable() bool {
	return tp.SndBuf-tp.WmemQueued >= tp.WmemQueued/2
}

// entailSkb is tcp_skb_entail: put a new skb at the tail of the write queue.
func (tp *tcpSock) entailSkb(skb *netdev.SkBuff) {
	tp.writeQueue.QueueTail(skb)
	if tp.sendHead == nil {
		tp.sendHead = skb
	}
	tp.writeSeq = skb.Cb.EndSeq
	tp.WmemQueued += skb.Len()
}

// recvmsg ------------------------------------------------------------------

// tcpRecvmsg is tcp_recvmsg: copy from the receive queue, blocking until at
// least one byte, EOF, or an error.
func tcpRecvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	tp := tcpSk(s)
	sk := &tp.Sock
	nonblock := flags&socket.MSG_DONTWAIT != 0 || msg.Flags&socket.MSG_DONTWAIT != 0
	peek := flags&socket.MSG_PEEK != 0
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if sk.State == TCP_LISTEN {
		return 0, socket.ENOTCONN
	}
	deadline := sk.RcvDeadline()
	copied := 0
	for {
		copied = tp.copyOut(b, peek)
		if copied > 0 || len(b) == 0 {
			break
		}
		if sk.Done || sk.Shutdown&socket.RCV_SHUTDOWN != 0 {
			if sk.Done && sk.ReceiveQueue.Empty() && tp.rcvNxt-tp.copiedSeq == 1 {
				tp.copiedSeq++ // found_fin_ok: reading EOF consumes the FIN
			}
			if e := sk.SockError(); e != 0 {
				return 0, e
			}
			return 0, nil
		}
		if sk.Err != 0 {
			return 0, sk.SockError()
		}
		if sk.State == TCP_CLOSE {
			if !tp.everConnected {
				return 0, socket.ENOTCONN
			}
			return 0, nil
		}
		err := sk.WaitEvent(ctx, nonblock, deadline, func() bool {
			return !sk.ReceiveQueue.Empty() || sk.Err != 0 || sk.Done ||
				sk.Shutdown&socket.RCV_SHUTDOWN != 0 || sk.State == TCP_CLOSE
		})
		if err != nil {
			return 0, err
		}
	}
	if copied > 0 && !peek {
		tp.rcvSpaceAdjust()
		tp.cleanupRbuf(copied)
	}
	return copied, nil
}

// copyOut copies queued bytes into b, freeing what is consumed (unless
// peeking). Mu held.
func (tp *tcpSock) copyOut(b []byte, peek bool) int {
	q := &tp.ReceiveQueue
	n := 0
	for skb := q.Peek(); skb != nil && n < len(b); {
		c := copy(b[n:], skb.Data())
		n += c
		if peek {
			skb = q.Next(skb)
			continue
		}
		tp.copiedSeq += uint32(c)
		tp.RmemAlloc -= c
		if c == skb.Len() {
			q.Unlink(skb)
			skb.Free()
			skb = q.Peek()
		} else {
			skb.Pull(c)
			q.Adjust(-c)
		}
	}
	return n
}

// close, shutdown, disconnect ------------------------------------------------

// tcpCloseState is tcp_close_state: the transition a close or shutdown(WR)
// makes (RFC 9293 §3.10.4) and whether a FIN must go out.
func (tp *tcpSock) tcpCloseState() bool {
	var next uint8
	fin := false
	switch tp.State {
	case TCP_ESTABLISHED, TCP_SYN_RECV:
		next, fin = TCP_FIN_WAIT1, true
	case TCP_CLOSE_WAIT:
		next, fin = TCP_LAST_ACK, true
	case TCP_SYN_SENT, TCP_LISTEN, TCP_CLOSE:
		next = TCP_CLOSE
	default:
		return false
	}
	tp.tcpSetState(next)
	return fin
}

// tcpClose is tcp_close (called without Mu): unread data or SO_LINGER 0
// resets the connection (RFC 9293 §3.10.4 "ABORT", RFC 2525 §2.17);
// otherwise a FIN goes out and the orphaned sock finishes the close on its
// own, through FIN_WAIT and TIME_WAIT.
func tcpClose(s socket.Sk) {
	tp := tcpSk(s)
	sk := &tp.Sock
	sk.Mu.Lock()
	sk.Shutdown = socket.SHUTDOWN_MASK
	var children []*tcpSock
	if sk.State == TCP_LISTEN {
		children = tp.listenStop()
	}
	unread := sk.ReceiveQueue.Bytes()
	sk.ReceiveQueue.Purge()
	sk.RmemAlloc = 0
	switch {
	case sk.State == TCP_CLOSE:
	case unread > 0:
		// RFC 2525 §2.17: data the user never read is lost; say so.
		tp.tcpSetState(TCP_CLOSE)
		tp.sendActiveReset()
	case sk.Linger && sk.LingerTime == 0:
		// SO_LINGER with a zero timeout: abort (tcp_disconnect).
		tp.disconnect()
	default:
		if tp.tcpCloseState() {
			tp.tcpSendFin()
		}
		if sk.Linger && sk.LingerTime > 0 {
			// sk_stream_wait_close: linger until the FIN is acked.
			sk.WaitEvent(context.Background(), false, sk.LingerDeadline(), func() bool {
				return (1<<sk.State)&(TCPF_FIN_WAIT1|TCPF_CLOSING|TCPF_LAST_ACK) == 0
			})
		}
	}
	sk.SockOrphan()
	switch sk.State {
	case TCP_CLOSE:
		tp.destroySock()
	case TCP_FIN_WAIT2:
		// An orphan in FIN_WAIT2 waits tcp_fin_timeout for the peer's
		// FIN, in a timewait entry (the part beyond TIME_WAIT's length
		// as a full sock first).
		if tmo := tp.finTime(); tmo > tp.in.tcp.timeWaitLen {
			tp.resetSkTimer(tmo - tp.in.tcp.timeWaitLen)
		} else {
			tp.tcpTimeWait(TCP_FIN_WAIT2, tmo)
		}
	}
	sk.Mu.Unlock()
	for _, c := range children {
		c.abortChild()
	}
}

// tcpShutdown is tcp_shutdown: SHUT_WR sends a FIN (half-close). Mu held.
func tcpShutdown(s socket.Sk, how int) {
	tp := tcpSk(s)
	if how&socket.SEND_SHUTDOWN == 0 {
		return
	}
	if (1<<tp.State)&(TCPF_ESTABLISHED|TCPF_SYN_SENT|TCPF_SYN_RECV|TCPF_CLOSE_WAIT) != 0 {
		if tp.tcpCloseState() {
			tp.tcpSendFin()
		}
	}
}

// tcpDisconnect is tcp_disconnect (Mu held): abort the connection, with a
// RST when the peer has state to drop, and return the sock to CLOSE.
func tcpDisconnect(s socket.Sk, flags int) error {
	tcpSk(s).disconnect()
	return nil
}

// disconnect is tcp_disconnect's body, for the close path's abort too.
// Locking: Mu held, dropped and retaken while a listener's children are
// aborted (each takes its own Mu).
func (tp *tcpSock) disconnect() {
	sk := &tp.Sock
	old := sk.State
	var children []*tcpSock
	if old == TCP_LISTEN {
		children = tp.listenStop()
	}
	if (1<<old)&(TCPF_ESTABLISHED|TCPF_CLOSE_WAIT|TCPF_FIN_WAIT1|TCPF_FIN_WAIT2|TCPF_SYN_RECV) != 0 {
		// tcp_need_reset
		tp.sendActiveReset()
		sk.Err = socket.ECONNRESET
	} else if old == TCP_SYN_SENT {
		sk.Err = socket.ECONNRESET
	}
	tp.tcpSetState(TCP_CLOSE)
	tp.clearXmitTimers()
	tp.stopSkTimer()
	tp.purgeWriteQueue()
	tp.ofoQueue.Purge()
	sk.ReceiveQueue.Purge()
	sk.RmemAlloc = 0
	if !tp.userBound {
		tp.unbind()
	}
	sk.Shutdown = 0
	sk.Done = false
	tp.Daddr, tp.Dport = netipZero, 0
	tp.inetResetSaddr()
	tp.srtt, tp.rttvar, tp.rto, tp.backoff = 0, 0, tcpTimeoutInit, 0
	tp.sndCwnd, tp.sndSsthresh, tp.caState = tcpInitCwnd, tcpInfiniteSsthr, tcpCAOpen
	tp.retransmits, tp.probesOut = 0, 0
	tp.wscaleOk, tp.sackOk, tp.tstampOk = false, false, false
	tp.rt = nil
	sk.ErrorReport(sk)
	if len(children) > 0 {
		sk.Mu.Unlock()
		for _, c := range children {
			c.abortChild()
		}
		sk.Mu.Lock()
	}
}

// inetResetSaddr is inet_bhash2_reset_saddr: a disconnected sock forgets
// the source address connect chose, unless the user bound one. Mu held.
func (tp *tcpSock) inetResetSaddr() {
	if tp.UserLocks&socket.SOCK_BINDADDR_LOCK == 0 {
		tp.Saddr, tp.RcvSaddr = netipZero, netipZero
	}
}

// poll -----------------------------------------------------------------------

// tcpPoll is tcp_poll: readiness of a TCP socket for sock_poll.
func tcpPoll(sock *socket.Socket) uint32 {
	s := sock.Sk
	if s == nil {
		return socket.POLLHUP
	}
	tp := tcpSk(s)
	sk := &tp.Sock
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	var mask uint32
	if sk.State == TCP_LISTEN {
		if len(tp.acceptQ) > 0 {
			mask |= socket.POLLIN | socket.POLLRDNORM
		}
		return mask
	}
	if sk.Shutdown == socket.SHUTDOWN_MASK || (sk.State == TCP_CLOSE && tp.everConnected) {
		mask |= socket.POLLHUP
	}
	if sk.Shutdown&socket.RCV_SHUTDOWN != 0 {
		mask |= socket.POLLIN | socket.POLLRDNORM | socket.POLLRDHUP
	}
	if (1<<sk.State)&(TCPF_SYN_SENT|TCPF_SYN_RECV) == 0 && (sk.State != TCP_CLOSE || tp.everConnected) {
		if !sk.ReceiveQueue.Empty() {
			mask |= socket.POLLIN | socket.POLLRDNORM
		}
		if sk.Shutdown&socket.SEND_SHUTDOWN == 0 {
			if tp.streamWriteable() && sk.State != TCP_CLOSE {
				mask |= socket.POLLOUT | socket.POLLWRNORM
			}
		} else {
			// Writes fail at once, so they do not block.
			mask |= socket.POLLOUT | socket.POLLWRNORM
		}
	}
	if sk.Err != 0 {
		mask |= socket.POLLERR
	}
	return mask
}

// options --------------------------------------------------------------------

// tcpSetsockopt is do_tcp_setsockopt for the SOL_TCP names the ctl file
// knows, with Linux's ranges.
func tcpSetsockopt(s socket.Sk, level, optname, val int) error {
	if level != socket.SOL_TCP {
		return socket.ENOPROTOOPT
	}
	tp := tcpSk(s)
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	switch optname {
	case socket.TCP_NODELAY:
		tp.nodelay = val != 0
		if tp.nodelay {
			tp.tcpPush(true) // tcp_push_pending_frames
		}
	case socket.TCP_MAXSEG:
		if val != 0 && (val < tcpMinMss || val > tcpMaxWindow) {
			return socket.EINVAL
		}
		tp.userMss = val
	case socket.TCP_KEEPIDLE:
		if val < 1 || val > tcpMaxKeepidle {
			return socket.EINVAL
		}
		tp.keepaliveTime = time.Duration(val) * time.Second
		if tp.KeepOpen && (1<<tp.State)&(TCPF_CLOSE|TCPF_LISTEN) == 0 {
			elapsed := tp.in.clock.Now() - tp.lastRcv
			tp.resetSkTimer(max(tp.keepaliveTime-elapsed, 0))
		}
	case socket.TCP_KEEPINTVL:
		if val < 1 || val > tcpMaxKeepintvl {
			return socket.EINVAL
		}
		tp.keepaliveIntvl = time.Duration(val) * time.Second
	case socket.TCP_KEEPCNT:
		if val < 1 || val > tcpMaxKeepcnt {
			return socket.EINVAL
		}
		tp.keepaliveProbes = val
	default:
		return socket.ENOPROTOOPT
	}
	return nil
}

// tcpGetsockopt is do_tcp_getsockopt.
func tcpGetsockopt(s socket.Sk, level, optname int) (int, error) {
	if level != socket.SOL_TCP {
		return 0, socket.ENOPROTOOPT
	}
	tp := tcpSk(s)
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	switch optname {
	case socket.TCP_NODELAY:
		if tp.nodelay {
			return 1, nil
		}
		return 0, nil
	case socket.TCP_MAXSEG:
		if tp.userMss != 0 && (1<<tp.State)&(TCPF_CLOSE|TCPF_LISTEN) != 0 {
			return tp.userMss, nil
		}
		return tp.mssCache, nil
	case socket.TCP_KEEPIDLE:
		return int(tp.keepaliveTime / time.Second), nil
	case socket.TCP_KEEPINTVL:
		return int(tp.keepaliveIntvl / time.Second), nil
	case socket.TCP_KEEPCNT:
		return tp.keepaliveProbes, nil
	}
	return 0, socket.ENOPROTOOPT
}

// tcpSetKeepalive is tcp_set_keepalive (SO_KEEPALIVE; Mu held).
func tcpSetKeepalive(s socket.Sk, on bool) {
	tp := tcpSk(s)
	if (1<<tp.State)&(TCPF_CLOSE|TCPF_LISTEN) != 0 {
		return
	}
	if on && !tp.KeepOpen {
		tp.resetSkTimer(tp.keepaliveTime)
	} else if !on {
		tp.stopSkTimer()
	}
}

// diag -----------------------------------------------------------------------

// tcpDiag is tcp_get_info for the status file (Mu held).
func tcpDiag(s socket.Sk, emit func(key, value string)) {
	tp := tcpSk(s)
	u := func(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
	i := strconv.Itoa
	emit("sk_state", tcpStateName(tp.State))
	emit("local", tp.localAddrPort().String())
	// A closed sock has no peer and nothing to send, whatever its fields
	// still hold: remote and tx_queue agree with getpeername (ENOTCONN) and
	// the purged write queue.
	if tp.Dport != 0 && tp.State != TCP_CLOSE {
		emit("remote", tp.afOps.addr2sockaddr(tp).String())
	} else {
		emit("remote", "0.0.0.0:0")
	}
	switch tp.State {
	case TCP_LISTEN:
		emit("rx_queue", i(len(tp.acceptQ)))
		emit("tx_queue", i(tp.backlog))
	case TCP_CLOSE:
		emit("rx_queue", u(tp.rcvNxt-tp.copiedSeq))
		emit("tx_queue", "0")
	default:
		emit("rx_queue", u(tp.rcvNxt-tp.copiedSeq))
		emit("tx_queue", u(tp.writeSeq-tp.sndUna))
	}
	emit("error", socket.ErrnoName(tp.Err))
	emit("rtt_us", i(int(tp.srtt/time.Microsecond)))
	emit("rttvar_us", i(int(tp.rttvar/time.Microsecond)))
	emit("rto_ms", i(int(tp.rto/time.Millisecond)))
	emit("cwnd", u(tp.sndCwnd))
	if tp.sndSsthresh >= tcpInfiniteSsthr {
		emit("ssthresh", "infinite")
	} else {
		emit("ssthresh", u(tp.sndSsthresh))
	}
	emit("retransmits", u(tp.totalRetrans))
	emit("mss", i(tp.mssCache))
	emit("snd_wnd", u(tp.sndWnd))
	emit("rcv_wnd", u(tp.rcvWnd))
	emit("ca_state", tcpCAStateNames[tp.caState])
	emit("congestion", tp.ca.name)
	emit("unacked", u(tp.packetsOut))
	emit("sacked", u(tp.sackedOut))
	emit("lost", u(tp.lostOut))
	emit("rcvbuf", i(tp.RcvBuf))
	emit("sndbuf", i(tp.SndBuf))
}
