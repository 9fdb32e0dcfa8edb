package inet

// TCP over IPv4 (net/ipv4/tcp_ipv4.c): the namespace's TCP state, the
// receive entry tcp_v4_rcv with checksum and demultiplexing, connect,
// resets for segments nobody owns, and ICMP errors.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	mrand "math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// tcpNet is TCP's per-namespace state: the hash tables (struct
// inet_hashinfo), the secrets, and the sysctls that tests and the daemon
// may change.
type tcpNet struct {
	mu    sync.RWMutex
	ehash map[tcpHashKey]*tcpSock // protected by mu; established, SYN_RECV, TIME_WAIT, SYN_SENT
	lhash map[uint16][]*tcpSock   // protected by mu; listeners by port
	bhash map[uint16][]*tcpSock   // protected by mu; every sock holding a port

	// The timewait entries (inet_timewait_sock.go): their half of the
	// established hash, and the ports they hold.
	twhash  map[tcpHashKey]*tcpTimewaitSock // protected by mu
	twbhash map[uint16][]*tcpTimewaitSock   // protected by mu
	perturb []uint32                        // protected by mu; table_perturb of __inet_hash_connect

	congDefault *tcpCongestionOps // protected by mu
	congList    map[string]*tcpCongestionOps

	randMu sync.Mutex
	rng    *mrand.Rand // protected by randMu
	isnKey [32]byte    // RFC 6528 secret

	// rtoMin is TCP_RTO_MIN (200 ms) and timeWaitLen TCP_TIMEWAIT_LEN
	// (60 s); set before traffic (SetTCPTimers).
	rtoMin, timeWaitLen time.Duration
	finTimeout          time.Duration // tcp_fin_timeout (SetTCPFinTimeout)
	// tcp_syn_retries and tcp_syn_linear_timeouts (SetTCPSynRetries).
	synRetries, synLinearTimeouts int
	portLow, portHigh             int // ip_local_port_range

	// The option sysctls: tcp_sack, tcp_timestamps, tcp_window_scaling.
	sysctlSack, sysctlTimestamps, sysctlWindowScaling bool

	// SYN cookies (syncookies.go): net.ipv4.tcp_syncookies and the secrets.
	syncookies atomic.Int32
	cookies    syncookieNet

	prot *socket.Proto
}

// tcpInit is tcp_init + tcp_v4_init + tcp4_proc_init: the tables, tcp_prot
// (for inetswArray's SOCK_STREAM row), net/tcp.
func (in *Net) tcpInit() {
	t := &in.tcp
	t.ehash = make(map[tcpHashKey]*tcpSock)
	t.lhash = make(map[uint16][]*tcpSock)
	t.bhash = make(map[uint16][]*tcpSock)
	t.twhash = make(map[tcpHashKey]*tcpTimewaitSock)
	t.twbhash = make(map[uint16][]*tcpTimewaitSock)
	t.congList = tcpCongTable()
	t.congDefault = t.congList["cubic"]
	var seed [32]byte
	rand.Read(seed[:])
	rand.Read(t.isnKey[:])
	t.rng = mrand.New(mrand.NewChaCha8(seed))
	t.rtoMin = tcpRtoMinDefault
	t.timeWaitLen = tcpTimeWaitLen
	t.finTimeout = tcpFinTimeout
	t.synRetries, t.synLinearTimeouts = tcpSynRetries, tcpSynLinearTimeouts
	t.portLow, t.portHigh = 32768, 60999
	t.sysctlSack, t.sysctlTimestamps, t.sysctlWindowScaling = true, true, true
	t.syncookies.Store(1)
	t.prot = newTCPProt()
	in.sn.ProcNetCreate("tcp", in.tcp4SeqShow)
}

// SetTCPTimers changes TCP_RTO_MIN and the TIME_WAIT length (2 MSL) for
// connections made afterwards; zero keeps a value. For tests and the
// daemon's flags; Linux's are 200 ms and 60 s.
func (in *Net) SetTCPTimers(rtoMin, timeWait time.Duration) {
	if rtoMin > 0 {
		in.tcp.rtoMin = rtoMin
	}
	if timeWait > 0 {
		in.tcp.timeWaitLen = timeWait
	}
}

// SetTCPFinTimeout sets net.ipv4.tcp_fin_timeout: how long an orphaned
// FIN_WAIT2 waits for its peer's FIN (Linux's default 60 s).
func (in *Net) SetTCPFinTimeout(d time.Duration) {
	if d > 0 {
		in.tcp.finTimeout = d
	}
}

// SetTCPSynRetries sets net.ipv4.tcp_syn_retries and
// tcp_syn_linear_timeouts (Linux's 6 and 4): a connect sends its SYN
// again after 1 s linear timeouts, then backs off exponentially, and gives
// up after retries+linear retransmissions. Negative keeps a value.
func (in *Net) SetTCPSynRetries(retries, linear int) {
	if retries >= 0 {
		in.tcp.synRetries = retries
	}
	if linear >= 0 {
		in.tcp.synLinearTimeouts = linear
	}
}

func (t *tcpNet) randomN(n int) int {
	t.randMu.Lock()
	defer t.randMu.Unlock()
	return t.rng.IntN(n)
}

// secureSeq is secure_tcp_seq (RFC 6528 §3): ISN = M + F(4-tuple, secret),
// M a 4 µs clock, F a keyed hash, so sequence spaces of successive
// incarnations of a 4-tuple advance and outsiders cannot guess them.
func (t *tcpNet) secureSeq(k tcpHashKey, now time.Duration) uint32 {
	var b [32 + 12]byte
	copy(b[:], t.isnKey[:])
	copy(b[32:], k.laddr[:])
	copy(b[36:], k.raddr[:])
	binary.BigEndian.PutUint16(b[40:], k.lport)
	binary.BigEndian.PutUint16(b[42:], k.rport)
	h := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(h[:]) + uint32(now/(4*time.Microsecond))
}

// secureTSOff is secure_tcp_ts_off: the timestamp offset of a connection,
// a keyed hash of the two addresses (RFC 7323 §5.4), so that successive
// connections between two hosts keep their timestamps increasing, which
// lets a new SYN pass PAWS against a TIME_WAIT entry.
func (t *tcpNet) secureTSOff(laddr, raddr [4]byte) uint32 {
	var b [32 + 3 + 8]byte
	copy(b[:], t.isnKey[:])
	copy(b[32:], "tso")
	copy(b[35:], laddr[:])
	copy(b[39:], raddr[:])
	h := sha256.Sum256(b[:])
	return binary.BigEndian.Uint32(h[:])
}

// tcpV4Rcv is tcp_v4_rcv: validate, checksum (RFC 9293 §3.1 with the
// pseudo-header), find the sock by 4-tuple, then listener, and run the
// state machine under its lock. Segments for no sock get a RST (§3.10.7.1).
// It owns skb.
func (in *Net) tcpV4Rcv(skb *netdev.SkBuff) {
	in.mib.Tcp.InSegs.Add(1)
	iph := ipHdr(skb)
	b := skb.Data()
	th, ok := header.ParseTcphdr(b)
	if !ok {
		in.mib.Tcp.InErrs.Add(1)
		skb.Free()
		return
	}
	// tcp_checksum_complete: skipped where the device vouched for it.
	if !skb.CsumUnnecessary() &&
		header.Fold(header.Checksum(b, header.PseudoHeaderSum(iph.Saddr(), iph.Daddr(), IPPROTO_TCP, len(b)))) != 0 {
		in.mib.Tcp.InCsumErrors.Add(1)
		in.mib.Tcp.InErrs.Add(1)
		skb.Free()
		return
	}
	var seg tcpSegment
	seg.sport, seg.dport = th.Source(), th.Dest()
	seg.seq, seg.ack = th.Seq(), th.AckSeq()
	seg.flags = th.Flags()
	seg.window = th.Window()
	seg.dataLen = len(b) - th.Doff()
	seg.endSeq = seg.seq + uint32(seg.dataLen)
	if seg.flags&tcpFlagSYN != 0 {
		seg.endSeq++
	}
	if seg.flags&tcpFlagFIN != 0 {
		seg.endSeq++
	}
	if th.Doff() > header.TCPMinLen {
		seg.opts = header.ParseTCPOptions(th.Options(), seg.flags&tcpFlagSYN != 0)
	} else {
		seg.opts.WScale = -1
	}
	skb.Pull(th.Doff())
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "tcp_v4_rcv %v:%d -> %v:%d seq=%d ack=%d len=%d flags=%s",
			iph.Src(), seg.sport, iph.Dst(), seg.dport, seg.seq, seg.ack, seg.dataLen, tcpFlagString(seg.flags))
	}
	key := tcpHashKey{laddr: iph.Daddr(), raddr: iph.Saddr(), lport: seg.dport, rport: seg.sport}

	for attempt := 0; attempt < 3; attempt++ {
		tp, tw := in.tcp.lookupTw(key)
		if tw != nil {
			// do_time_wait
			again, isn := tw.timewaitRcv(iph, &seg)
			if again {
				seg.twIsn = isn // tcp_tw_isn: a listener may take the SYN
				continue
			}
			skb.Free()
			return
		}
		if tp == nil {
			break
		}
		tp.Mu.Lock()
		if tp.destroyed || tp.State == TCP_CLOSE {
			// It left the tables between lookup and lock: look again.
			tp.Mu.Unlock()
			continue
		}
		var consumed bool
		switch tp.State {
		case TCP_LISTEN:
			child, handled := tp.cookieV4Check(iph, &seg)
			if !handled {
				tp.listenRcv(iph, &seg)
			}
			tp.Mu.Unlock()
			if child != nil {
				child.cookieChildRcv(skb, &seg)
				return
			}
			skb.Free()
			return
		case TCP_ESTABLISHED:
			// tcp_v4_do_rcv: ESTABLISHED has its own path.
			consumed = tp.rcvEstablished(skb, &seg)
			if consumed && in.traceOn() {
				in.traceSk(tp, "tcp_v4_rcv seq=%d len=%d -> tcp_rcv_established -> sk_data_ready", seg.seq, seg.dataLen)
			}
		default:
			consumed = tp.rcvStateProcess(skb, &seg)
			if consumed && in.traceOn() {
				in.traceSk(tp, "tcp_v4_rcv seq=%d len=%d -> tcp_rcv_state_process -> sk_data_ready", seg.seq, seg.dataLen)
			}
		}
		var parent *tcpSock
		if tp.pendingAccept {
			tp.pendingAccept = false
			parent = tp.parent
			tp.leaveSynQueue()
			tp.parent = nil
		}
		tp.Mu.Unlock()
		if !consumed {
			skb.Free()
		}
		if parent != nil {
			parent.acceptQueueAdd(tp)
		}
		return
	}
	// No sock (RFC 9293 §3.10.7.1 CLOSED): answer with a RST.
	in.tcpV4SendReset(iph, &seg)
	skb.Free()
}

// tcpV4SendReset is tcp_v4_send_reset for a segment no sock wants: if it
// had an ACK, <SEQ=SEG.ACK><CTL=RST>; else <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
// <CTL=RST,ACK>. A RST is never answered.
func (in *Net) tcpV4SendReset(iph header.Iphdr, seg *tcpSegment) {
	if seg.flags&tcpFlagRST != 0 {
		return
	}
	var seq, ack uint32
	flags := uint8(tcpFlagRST)
	if seg.flags&tcpFlagACK != 0 {
		seq = seg.ack
	} else {
		ack = seg.endSeq
		flags |= tcpFlagACK
	}
	skb := netdev.AllocSkb(0)
	h := header.Tcphdr(skb.Push(header.TCPMinLen))
	h.Encode(header.TCPFields{Source: seg.dport, Dest: seg.sport, Seq: seq, AckSeq: ack, Flags: flags})
	sum := header.PseudoHeaderSum(iph.Daddr(), iph.Saddr(), IPPROTO_TCP, header.TCPMinLen)
	h.SetCheck(header.Fold(header.Checksum(skb.Data(), sum)))
	in.mib.Tcp.OutSegs.Add(1)
	in.mib.Tcp.OutRsts.Add(1)
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "tcp_v4_send_reset %v:%d seq=%d ack=%d -> ip_send_unicast_reply", iph.Src(), seg.sport, seq, ack)
	}
	in.ipSendUnicastReply(skb, iph.Dst(), iph.Src(), IPPROTO_TCP, sysctlIPDefaultTTL, 0)
	skb.Free()
}

// tcpV4Err is tcp_v4_err: an ICMP error about a segment we sent. During
// the handshake it is fatal (the connect fails with its errno); on an
// established connection it is a soft error that only explains a later
// timeout (RFC 1122 §4.2.3.9). skb's data starts at our IP header.
func (in *Net) tcpV4Err(skb *netdev.SkBuff, typ, code uint8, info uint32) {
	b := skb.Data()
	if len(b) < header.IPv4MinLen {
		return
	}
	ihl := int(b[0]&0xf) * 4
	if ihl < header.IPv4MinLen || len(b) < ihl+8 {
		return
	}
	iph := header.Iphdr(b)
	th := b[ihl:]
	key := tcpHashKey{
		laddr: iph.Saddr(), raddr: iph.Daddr(),
		lport: binary.BigEndian.Uint16(th[0:]), rport: binary.BigEndian.Uint16(th[2:]),
	}
	seq := binary.BigEndian.Uint32(th[4:])
	in.tcp.mu.RLock()
	tp := in.tcp.ehash[key]
	tw := in.tcp.twhash[key]
	in.tcp.mu.RUnlock()
	if tp == nil {
		if tw == nil {
			in.mib.Icmp.InErrors.Add(1)
		}
		return // a timewait entry ignores ICMP
	}
	errno, _ := icmpErrno(typ, code)
	if errno == 0 {
		return
	}
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	if tp.destroyed {
		return
	}
	// RFC 5927 §4.1: the quoted sequence number must be in flight.
	if seqBefore(seq, tp.sndUna) || seqAfter(seq, tp.sndNxt) {
		return
	}
	if typ == header.ICMP_DEST_UNREACH && code == header.ICMP_FRAG_NEEDED {
		// Path MTU discovery (RFC 1191): not an error, a smaller MSS.
		tp.v4MtuReduced(int(info))
		return
	}
	switch tp.State {
	case TCP_SYN_SENT, TCP_SYN_RECV:
		tp.Err = errno
		tp.ErrorReport(&tp.Sock)
		tp.tcpDone()
	case TCP_CLOSE, TCP_LISTEN, TCP_TIME_WAIT:
	default:
		tp.ErrSoft = errno
	}
}

// v4MtuReduced is tcp_v4_mtu_reduced: a router could not forward one of
// our segments whole and said its next hop's MTU is mtu. The route learns
// the path MTU (inet_csk_update_pmtu), then, unless the socket ignores
// it, the MSS comes down to it (tcp_sync_mss) and the segments in flight
// that no longer fit are resent cut to size (tcp_simple_retransmit).
// tcp_v6_mtu_reduced will do the same with its route, through the same
// two family-neutral steps. Mu held.
func (tp *tcpSock) v4MtuReduced(mtu int) {
	if (1<<tp.State)&(TCPF_LISTEN|TCPF_CLOSE) != 0 {
		return
	}
	in := tp.in
	isk := &tp.InetSock
	rt := tp.rt
	if rt == nil {
		var err error
		if rt, err = in.ipRouteOutput(tp.Daddr, tp.Saddr); err != nil {
			return
		}
	}
	in.ipRtUpdatePmtu(rt, tp.Daddr, mtu)
	pmtu := in.dstMTU(rt, tp.Daddr)
	// Asked for less than min_pmtu allows: remember it in case the
	// connection cannot recover.
	if mtu < pmtu && in.ipDontFragment(isk, rt, tp.Daddr) {
		tp.ErrSoft = socket.EMSGSIZE
	}
	if isk.Pmtudisc != socket.IP_PMTUDISC_DONT && ipSkAcceptPmtu(isk) && tp.pmtuCookie > pmtu {
		if in.traceOn() {
			in.traceSk(tp, "tcp_v4_mtu_reduced mtu=%d -> tcp_sync_mss -> tcp_simple_retransmit", pmtu)
		}
		tp.syncMss(pmtu)
		tp.simpleRetransmit()
	}
}

// tcpV4Connect is tcp_v4_connect (Mu held): route, choose the source
// address and port, pick the ISN, and send the SYN. inet_stream_connect
// then waits for the handshake.
func tcpV4Connect(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error {
	tp := tcpSk(s)
	in := tp.in
	rt, fl4, err := in.ipRouteConnect(&tp.InetSock, addr.Addr())
	if err != nil {
		return err
	}
	if rt.Flags&(RTCF_MULTICAST|RTCF_BROADCAST) != 0 {
		return socket.ENETUNREACH // TCP is unicast only: no SYN leaves
	}
	tp.skRouteSet(rt, fl4)
	daddr := fl4.daddr // 0.0.0.0 is this host
	tp.Daddr = daddr
	tp.Dport = addr.Port()
	if err := tp.hashConnect(); err != nil {
		tp.Daddr, tp.Dport = netip.Addr{}, 0
		tp.rt = nil
		tp.inetResetSaddr()
		return err
	}
	tp.tcpSetState(TCP_SYN_SENT)
	tp.iss = in.tcp.secureSeq(tp.ehashKey, in.clock.Now())
	tp.tcpConnect()
	return nil
}

// netipAddrPort formats an address and port as the local and remote files
// show them.
func netipAddrPort(a netip.Addr, port uint16) string {
	return netip.AddrPortFrom(addrOr0(a), port).String()
}

var netipZero netip.Addr
