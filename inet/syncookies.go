package inet

// SYN cookies (net/ipv4/syncookies.c and net/ipv6/syncookies.c,
// tcp_conn_request and tcp_syn_flood_action in tcp_input.c,
// tcp_v4_cookie_check and tcp_v6_cookie_check).
//
// When a listener's SYN queue is full, a SYN is answered statelessly: the
// SYN-ACK's sequence number (the "cookie") carries a keyed hash of the
// 4-tuple and the peer's ISN, a minute counter, and an index into msstab,
// and nothing is kept. The handshake's ACK brings the cookie back (SEG.ACK
// - 1); if it checks out, the connection is created then, from the ACK
// alone. The few options a SYN-ACK can promise (window scale, SACK, ECN)
// ride in the low bits of our timestamp, which the peer echoes; without
// timestamps the connection gets none of them (RFC 4987 §3.6 lists the
// costs). A forged or stale ACK fails the check and is answered as any ACK
// to a listener is, with a RST.
//
// Both families share the cookie's math and the check; what differs is
// the MSS table (msstab, msstab6) and the 4-tuple's addresses, which the
// family's afOps (cookie_init_seq) and receive path (cookie_check) give.
//
// net.ipv4.tcp_syncookies (which net/ipv6 reads too): 0 never, 1 (the
// default) when the SYN queue overflows, 2 always.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
)

const (
	// COOKIEBITS: the cookie's low 24 bits hold hash+data, the top 8 the
	// minute counter.
	cookieBits = 24
	cookieMask = 1<<cookieBits - 1

	// MAX_SYNCOOKIE_AGE: a cookie is good for the minute it was made in and
	// the next one (so 60 to 120 s).
	maxSyncookieAge = 2

	// TCP_SYNCOOKIE_VALIDITY: a listener checks cookies only this long after
	// it last sent one (tcp_synq_no_recent_overflow).
	tcpSyncookieValidity = 2 * time.Minute

	// TSBITS and the option bits in the timestamp's low bits
	// (cookie_init_timestamp).
	tsBits          = 6
	tsOptWscaleMask = 0xf
	tsOptSack       = 1 << 4
	tsOptEcn        = 1 << 5
	tsOptWscaleNone = tsOptWscaleMask // no window scaling
)

// msstab is syncookies.c's table of the MSS values a cookie can encode in
// two bits: the peer's MSS is rounded down to the nearest (IPv4: 536 is
// the RFC 9293 default, 1300/1440/1460 the common Ethernet and tunnel ones).
var msstab = []uint16{536, 1300, 1440, 1460}

// msstab6 is net/ipv6/syncookies.c's: the MTUs 1280 (IPv6's minimum),
// 1480 (a tunnel), 1500 and 9000 less the IPv6 and TCP headers.
var msstab6 = []uint16{1280 - 60, 1480 - 60, 1500 - 60, 9000 - 60}

// syncookieNet is the namespace's SYN cookie state: the sysctl and the two
// secrets (syncookie_secret), made on first use as net_get_random_once
// does.
type syncookieNet struct {
	once   sync.Once
	secret [2][32]byte
}

// listenCookieState is what a listener keeps for cookies: when it last
// sent one (rx_opt.ts_recent_stamp as tcp_synq_overflow uses it), and
// whether it said so (synflood_warned). Protected by the listener's Mu.
type listenCookieState struct {
	lastOverflow time.Duration
	overflowed   bool
	warned       bool
}

// SetTCPSyncookies sets net.ipv4.tcp_syncookies: 0, 1 or 2.
func (in *Net) SetTCPSyncookies(v int) {
	in.tcp.syncookies.Store(int32(v))
}

// tcpCookieTime is tcp_cookie_time: a counter of minutes.
func tcpCookieTime(now time.Duration) uint32 { return uint32(now / time.Minute) }

// cookieHash is cookie_hash: a keyed hash of the 4-tuple and count with
// secret c (Linux uses siphash; any keyed PRF does).
func (t *tcpNet) cookieHash(saddr, daddr netip.Addr, sport, dport uint16, count uint32, c int) uint32 {
	t.cookies.once.Do(func() {
		rand.Read(t.cookies.secret[0][:])
		rand.Read(t.cookies.secret[1][:])
	})
	var b [32 + 2*16 + 8]byte
	copy(b[:], t.cookies.secret[c][:])
	n := 32
	n += putAddr(b[n:], saddr)
	n += putAddr(b[n:], daddr)
	binary.BigEndian.PutUint16(b[n:], sport)
	binary.BigEndian.PutUint16(b[n+2:], dport)
	binary.BigEndian.PutUint32(b[n+4:], count)
	h := sha256.Sum256(b[:n+8])
	return binary.BigEndian.Uint32(h[:])
}

// secureTCPSynCookie is secure_tcp_syn_cookie: hash(tuple) + the peer's
// ISN + count in the top 8 bits + (hash(tuple, count) + data) in the low
// 24, data being the msstab index.
func (t *tcpNet) secureTCPSynCookie(saddr, daddr netip.Addr, sport, dport uint16, sseq, data uint32, now time.Duration) uint32 {
	count := tcpCookieTime(now)
	return t.cookieHash(saddr, daddr, sport, dport, 0, 0) + sseq + count<<cookieBits +
		(t.cookieHash(saddr, daddr, sport, dport, count, 1)+data)&cookieMask
}

// checkTCPSynCookie is check_tcp_syn_cookie: undo the above and return the
// data, or ^0 when the cookie is older than maxSyncookieAge minutes (or
// from the future, which a forgery's counter bits usually are).
func (t *tcpNet) checkTCPSynCookie(cookie uint32, saddr, daddr netip.Addr, sport, dport uint16, sseq uint32, now time.Duration) uint32 {
	count := tcpCookieTime(now)
	cookie -= t.cookieHash(saddr, daddr, sport, dport, 0, 0) + sseq
	diff := (count - cookie>>cookieBits) & (^uint32(0) >> cookieBits)
	if diff >= maxSyncookieAge {
		return ^uint32(0)
	}
	return (cookie - t.cookieHash(saddr, daddr, sport, dport, count-diff, 1)) & cookieMask
}

// cookieMssIndex is the search of __cookie_v4_init_sequence and
// __cookie_v6_init_sequence: the largest entry of the family's table tab
// not above mss.
func cookieMssIndex(tab []uint16, mss uint16) int {
	i := len(tab) - 1
	for ; i > 0; i-- {
		if mss >= tab[i] {
			break
		}
	}
	return i
}

// cookieInitSequence is the body both __cookie_v4_init_sequence and
// __cookie_v6_init_sequence have: the cookie for a SYN from raddr:rport
// to laddr:lport with sequence number seq and MSS mss, and the MSS the
// connection will use, from the family's table tab.
func (t *tcpNet) cookieInitSequence(tab []uint16, k tcpHashKey, seq uint32, mss uint16, now time.Duration) (uint32, uint16) {
	i := cookieMssIndex(tab, mss)
	return t.secureTCPSynCookie(k.raddr, k.laddr, k.rport, k.lport, seq, uint32(i), now), tab[i]
}

// cookieV4InitSequence is __cookie_v4_init_sequence.
func (t *tcpNet) cookieV4InitSequence(k tcpHashKey, seq uint32, mss uint16, now time.Duration) (uint32, uint16) {
	return t.cookieInitSequence(msstab, k, seq, mss, now)
}

// cookieV6InitSequence is __cookie_v6_init_sequence: the same over the
// IPv6 4-tuple, with msstab6.
func (t *tcpNet) cookieV6InitSequence(k tcpHashKey, seq uint32, mss uint16, now time.Duration) (uint32, uint16) {
	return t.cookieInitSequence(msstab6, k, seq, mss, now)
}

// cookieCheckSeq is __cookie_v4_check and __cookie_v6_check: the MSS of
// the family's table tab that the ACK's cookie (SEG.ACK - 1, for
// SEG.SEQ - 1) encodes, or 0 if it is not one of ours.
func (t *tcpNet) cookieCheckSeq(tab []uint16, k tcpHashKey, seq, ack uint32, now time.Duration) uint16 {
	i := t.checkTCPSynCookie(ack-1, k.raddr, k.laddr, k.rport, k.lport, seq-1, now)
	if i < uint32(len(tab)) {
		return tab[i]
	}
	return 0
}

// cookieTsOff is secure_tcp_ts_off: the timestamp offset of a pair of
// addresses, which the ACK's check can recompute (a random per-connection
// offset could not be).
func (t *tcpNet) cookieTsOff(laddr, raddr netip.Addr) uint32 {
	return t.cookieHash(laddr, raddr, 0, 0, ^uint32(0), 0) // a count no minute reaches
}

// cookieInitTimestamp is cookie_init_timestamp: the timestamp clock (ms)
// with its low TSBITS replaced by the options, never ahead of the clock.
func cookieInitTimestamp(nowMs uint32, o *header.TCPOptions) uint32 {
	opts := uint32(tsOptWscaleNone)
	if o.WScale >= 0 {
		opts = uint32(o.WScale)
	}
	if o.SackPerm {
		opts |= tsOptSack
	}
	ts := nowMs>>tsBits<<tsBits | opts
	if ts > nowMs {
		ts -= 1 << tsBits
	}
	return ts
}

// cookieTimestampDecode is cookie_timestamp_decode: the options echoed in
// TSecr's low bits, into o. Without timestamps the connection gets none of
// them. It fails when the echo promises what the sysctls no longer allow
// (or ECN, which this stack never offers).
func (t *tcpNet) cookieTimestampDecode(o *header.TCPOptions, tsecr uint32) bool {
	if !o.HasTS {
		o.WScale, o.SackPerm = -1, false
		return true
	}
	if !t.sysctlTimestamps {
		return false
	}
	if tsecr&tsOptEcn != 0 {
		return false // cookie_ecn_ok: we never offered ECN
	}
	o.SackPerm = tsecr&tsOptSack != 0
	if o.SackPerm && !t.sysctlSack {
		return false
	}
	if tsecr&tsOptWscaleMask == tsOptWscaleNone {
		o.WScale = -1
		return true
	}
	o.WScale = int8(tsecr & tsOptWscaleMask)
	return t.sysctlWindowScaling
}

// synqOverflow is tcp_synq_overflow: remember that this listener sent a
// cookie, so ACKs to it are checked for one. Mu held.
func (lp *tcpSock) synqOverflow() {
	lp.cookie.lastOverflow = lp.in.clock.Now()
	lp.cookie.overflowed = true
}

// synqNoRecentOverflow is tcp_synq_no_recent_overflow: no cookie sent in
// the last TCP_SYNCOOKIE_VALIDITY, so an ACK cannot carry a valid one.
func (lp *tcpSock) synqNoRecentOverflow() bool {
	return !lp.cookie.overflowed || lp.in.clock.Now()-lp.cookie.lastOverflow > tcpSyncookieValidity
}

// synFloodAction is tcp_syn_flood_action: the SYN queue is full; send a
// cookie if the sysctl allows, counting which.
func (lp *tcpSock) synFloodAction() bool {
	in := lp.in
	mode := in.tcp.syncookies.Load()
	msg := "Dropping request"
	if mode != 0 {
		msg = "Sending cookies"
		in.mib.Ext[LINUX_MIB_TCPREQQFULLDOCOOKIES].Add(1)
	} else {
		in.mib.Ext[LINUX_MIB_TCPREQQFULLDROP].Add(1)
	}
	// Said once per listener (synflood_warned); netstat's counters tell
	// the rest.
	if !lp.cookie.warned && mode != 2 {
		lp.cookie.warned = true
		if in.netRatelimit() {
			in.logf("request_sock_%s: Possible SYN flooding on port %v. %s.", lp.Prot.Name,
				netip.AddrPortFrom(addrOr0(lp.RcvSaddr), lp.Num), msg)
		}
	}
	return mode != 0
}

// listenDrop is tcp_listendrop: a SYN or handshake ACK the listener could
// not take.
func (lp *tcpSock) listenDrop() {
	lp.in.mib.Ext[LINUX_MIB_LISTENDROPS].Add(1)
}

// sendSynackCookie is tcp_conn_request's want_cookie path with
// tcp_v4_send_synack (listener's Mu held): the SYN-ACK is built by a
// request that is never hashed nor kept; its ISN is the cookie and, with
// timestamps, its TSval carries the options.
func (lp *tcpSock) sendSynackCookie(seg *tcpSegment, key tcpHashKey, cookieInitSeq cookieInitSeqFunc) {
	in := lp.in
	t := &in.tcp
	now := in.clock.Now()
	opts := seg.opts
	if !opts.HasTS {
		opts.WScale, opts.SackPerm = -1, false // tcp_clear_options
	}
	mss := opts.MSS
	if mss == 0 {
		mss = tcpMssDefault
	}
	if lp.userMss > 0 {
		mss = min(mss, uint16(lp.userMss))
	}
	isn, _ := cookieInitSeq(t, key, seg.seq, mss, now)
	req := lp.openreqChild(key, seg.seq, isn, &opts, seg.window)
	if req == nil {
		lp.listenDrop()
		return
	}
	in.mib.Ext[LINUX_MIB_SYNCOOKIESSENT].Add(1)
	lp.synqOverflow()
	if req.tstampOk {
		// TSval = cookie timestamp + secure_tcp_ts_off, as tcp_make_synack.
		nowMs := uint32(now / time.Millisecond)
		o := opts
		if !req.wscaleOk {
			o.WScale = -1
		} else {
			o.WScale = int8(req.sndWscale)
		}
		o.SackPerm = req.sackOk
		req.tsOffset = cookieInitTimestamp(nowMs, &o) - nowMs + t.cookieTsOff(key.laddr, key.raddr)
	}
	skb := netdev.AllocSkb(0)
	skb.Cb = netdev.SkbCb{Seq: isn, EndSeq: isn + 1, TCPFlags: tcpFlagSYN}
	req.transmitSkb(skb)
	skb.Free()
	req.destroyed = true // reqsk_free: it was never hashed and has no timer
	req.Prot.InUse.Add(-1)
	if in.traceOn() {
		in.traceSk(lp, "tcp_conn_request %v -> %s", netip.AddrPortFrom(req.Daddr, req.Dport), lp.afOps.cookieInitSeqName)
	}
}

// cookieV4Check is tcp_v4_cookie_check / cookie_v4_check: cookieCheck
// over the IPv4 header's addresses and msstab.
func (lp *tcpSock) cookieV4Check(iph header.Iphdr, seg *tcpSegment) (child *tcpSock, handled bool) {
	key := tcpHashKey{laddr: iph.Dst(), raddr: iph.Src(), lport: seg.dport, rport: seg.sport}
	return lp.cookieCheck(msstab, key, seg, "cookie_v4_check")
}

// cookieV6Check is tcp_v6_cookie_check / cookie_v6_check: cookieCheck
// over the IPv6 header's addresses and msstab6.
func (lp *tcpSock) cookieV6Check(skb *netdev.SkBuff, seg *tcpSegment) (child *tcpSock, handled bool) {
	saddr, daddr := ipv6Addrs(skb)
	key := tcpHashKey{laddr: daddr, raddr: saddr, lport: seg.dport, rport: seg.sport}
	return lp.cookieCheck(msstab6, key, seg, "cookie_v6_check")
}

// cookieCheck is what cookie_v4_check and cookie_v6_check share
// (cookie_tcp_check and after), for a segment on the 4-tuple key that
// found a listener (whose Mu is held); tab is the family's MSS table and
// name its check, for the trace. A segment that is no cookie's ACK,
// or any segment while no cookie was sent recently, is the listener's
// (handled false). A valid cookie makes the child, hashed and returned with
// its Mu held, for cookieChildRcv to complete the handshake with the
// segment. A bad cookie goes back to the listener too, which resets it
// (SyncookiesFailed); a good cookie that cannot become a connection is
// dropped (handled, no child).
// Locking: the listener's Mu held; takes the child's Mu inside it and
// returns with it held.
func (lp *tcpSock) cookieCheck(tab []uint16, key tcpHashKey, seg *tcpSegment, name string) (child *tcpSock, handled bool) {
	in := lp.in
	t := &in.tcp
	if t.syncookies.Load() == 0 || seg.flags&(tcpFlagSYN|tcpFlagRST|tcpFlagACK) != tcpFlagACK {
		return nil, false
	}
	if lp.synqNoRecentOverflow() {
		return nil, false
	}
	now := in.clock.Now()
	mss := t.cookieCheckSeq(tab, key, seg.seq, seg.ack, now)
	if mss == 0 {
		in.mib.Ext[LINUX_MIB_SYNCOOKIESFAILED].Add(1)
		return nil, false
	}
	in.mib.Ext[LINUX_MIB_SYNCOOKIESRECV].Add(1)
	opts := seg.opts
	opts.MSS = mss
	var tsOff uint32
	tsecr := opts.TSEcr
	if opts.HasTS && tsecr != 0 {
		tsOff = t.cookieTsOff(key.laddr, key.raddr)
		tsecr -= tsOff
	}
	if !t.cookieTimestampDecode(&opts, tsecr) {
		return nil, true
	}
	if lp.acceptqFull() {
		// tcp_v4_syn_recv_sock's exit_overflow.
		in.mib.Ext[LINUX_MIB_LISTENOVERFLOWS].Add(1)
		lp.listenDrop()
		return nil, true
	}
	irs, iss := seg.seq-1, seg.ack-1
	c := lp.openreqChild(key, irs, iss, &opts, seg.window)
	if c == nil {
		lp.listenDrop()
		return nil, true
	}
	if c.tstampOk {
		c.tsOffset = tsOff
	}
	c.Mu.Lock()
	if !c.hashChild(key, lp.Reuse) {
		c.destroyed = true
		c.Prot.InUse.Add(-1)
		c.Mu.Unlock()
		return nil, true
	}
	// As if our SYN-ACK had been sent and were in flight: SND.NXT = ISS+1,
	// with nothing to retransmit (the cookie is the whole request).
	c.parent = lp
	c.tcpSetState(TCP_SYN_RECV)
	c.sndNxt, c.writeSeq = iss+1, iss+1
	c.lastRcv = now
	if in.traceOn() {
		in.traceSk(lp, "%s %v mss=%d", name, netip.AddrPortFrom(c.Daddr, c.Dport), mss)
	}
	return c, true
}

// cookieChildRcv runs the ACK that carried a valid cookie through the new
// child (tcp_child_process; the child's Mu held, the listener's not) and
// queues the child for accept. It owns skb.
func (tp *tcpSock) cookieChildRcv(skb *netdev.SkBuff, seg *tcpSegment) {
	consumed := tp.rcvStateProcess(skb, seg)
	if tp.State == TCP_SYN_RECV && !tp.destroyed {
		tp.tcpDone() // not completed (cannot happen for a checked ACK): no request stays behind
	}
	var parent *tcpSock
	if tp.pendingAccept {
		tp.pendingAccept = false
		parent = tp.parent
		tp.parent = nil
	}
	tp.Mu.Unlock()
	if !consumed {
		skb.Free()
	}
	if parent != nil {
		parent.acceptQueueAdd(tp)
	}
}
