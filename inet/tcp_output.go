package inet

// TCP output (net/ipv4/tcp_output.c): building segments in place in the
// headroom of the queued skbs, the send loop (tcp_write_xmit) with its
// congestion-window, receive-window and Nagle tests, ACKs, FIN, RST and the
// SYN with its options.

import (
	"encoding/binary"
	"math/bits"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

const (
	tcpFlagFIN = header.TCP_FIN
	tcpFlagSYN = header.TCP_SYN
	tcpFlagRST = header.TCP_RST
	tcpFlagPSH = header.TCP_PSH
	tcpFlagACK = header.TCP_ACK

	// TCP_SKB_CB(skb)->sacked bits.
	tcpcbSackedAcked   = 0x01
	tcpcbSackedRetrans = 0x02
	tcpcbLost          = 0x04
	tcpcbEverRetrans   = 0x80

	tcpolenTimestamp = 10
	tcpolenTSAligned = 12
)

// transmitSkb is tcp_transmit_skb: push the TCP header with its options into
// the skb's headroom, checksum (the family's send_check), and hand the
// segment to the family's queue_xmit (ip_queue_xmit for IPv4). The
// skb stays the caller's: its data is the payload again on return, ready for
// a retransmission. Mu held.
func (tp *tcpSock) transmitSkb(skb *netdev.SkBuff) error {
	in := tp.in
	cb := &skb.Cb
	flags := cb.TCPFlags
	syn := flags&tcpFlagSYN != 0
	if !(syn && tp.State == TCP_SYN_SENT) && flags&tcpFlagRST == 0 {
		flags |= tcpFlagACK
	}
	if skb.Len() > 0 && tp.writeQueue.PeekTail() == skb {
		flags |= tcpFlagPSH
	}
	// A super-segment (more than one MSS of data) leaves as one skb that
	// the device, or software GSO, cuts into MSS-sized wire segments.
	mss := tp.mssCache
	gso := skb.Len() > mss
	var optLen int
	if syn {
		optLen = tp.synOptions()
	} else if flags&tcpFlagRST == 0 {
		// Options may not push a full segment past the path MTU (Linux
		// shrinks the segment; we leave SACK blocks for the pure ACKs).
		room := len(tp.optBuf)
		if tp.pmtuCookie > 0 {
			room = min(room, tp.pmtuCookie-tp.afOps.netHeaderLen-header.TCPMinLen-min(skb.Len(), mss))
		}
		optLen = tp.establishedOptions(room)
	}
	var win uint16
	if syn {
		// RFC 7323 §2.2: the window of a SYN is never scaled.
		win = uint16(min(tp.rcvWnd, 65535))
	} else if flags&tcpFlagRST == 0 {
		win = tp.selectWindow()
	}
	var ack uint32
	if flags&tcpFlagACK != 0 {
		ack = tp.rcvNxt
	}

	off := skb.Offset()
	n := skb.Len()
	h := header.Tcphdr(skb.Push(header.TCPMinLen + optLen))
	h.Encode(header.TCPFields{
		Source: tp.Sport, Dest: tp.Dport,
		Seq: cb.Seq, AckSeq: ack,
		Flags: flags, Window: win,
		Options: tp.optBuf[:optLen],
	})
	skb.TransportHeader = skb.Offset()
	segs := uint32(1)
	if gso {
		// A GSO skb's checksum is left partial (CHECKSUM_PARTIAL) for
		// the segmenter to finish per segment; sendCheck fills in the
		// pseudo-header part.
		segs = uint32(pcountOf(n, mss))
		skb.GsoSize, skb.IPSummed = mss, netdev.CHECKSUM_PARTIAL
		// ip_select_ident_segs: each wire segment gets its own IP ID.
		tp.ID += uint16(segs - 1)
	} else {
		skb.GsoSize, skb.IPSummed = 0, netdev.CHECKSUM_NONE
	}
	tp.afOps.sendCheck(tp, skb)

	if flags&tcpFlagACK != 0 {
		tp.ackPending = false // tcp_event_ack_sent
	}
	// OutSegs leaves retransmissions out (RFC 1213 tcpOutSegs, as Linux).
	if seqAfter(cb.EndSeq, tp.sndNxt) || cb.Seq == cb.EndSeq {
		in.mib.Tcp.OutSegs.Add(uint64(segs))
	}
	if in.traceOn() {
		in.traceSk(tp, "tcp_transmit_skb seq=%d ack=%d len=%d segs=%d flags=%s win=%d -> %s",
			cb.Seq, ack, n, segs, tcpFlagString(flags), win, tp.afOps.queueXmitName)
	}
	err := tp.afOps.queueXmit(tp, skb)
	skb.SetHeadroom(off)
	skb.IPSummed = netdev.CHECKSUM_NONE // GsoSize stays: tcp_skb_mss
	return err
}

// tcpFlagString spells flags as tcpdump does ("S.", "P.", "F.", "R").
func tcpFlagString(f uint8) string {
	var b [8]byte
	n := 0
	for _, x := range [...]struct {
		bit uint8
		c   byte
	}{{tcpFlagSYN, 'S'}, {tcpFlagFIN, 'F'}, {tcpFlagPSH, 'P'}, {tcpFlagRST, 'R'}, {tcpFlagACK, '.'}} {
		if f&x.bit != 0 {
			b[n] = x.c
			n++
		}
	}
	return string(b[:n])
}

// tsVal is the timestamp clock (tcp_time_stamp_ts): milliseconds, offset
// per connection (RFC 7323 §5.4 recommends a random offset).
func (tp *tcpSock) tsVal() uint32 {
	return uint32(tp.in.clock.Now()/time.Millisecond) + tp.tsOffset
}

// synOptions writes the options of a SYN or SYN-ACK in Linux's layout
// (tcp_options_write): MSS, SACK-permitted and timestamps, window scale.
func (tp *tcpSock) synOptions() int {
	b := tp.optBuf[:]
	b[0], b[1] = header.TCPOPT_MSS, 4
	binary.BigEndian.PutUint16(b[2:], uint16(tp.advmss))
	n := 4
	if tp.tstampOk {
		if tp.sackOk {
			b[n], b[n+1] = header.TCPOPT_SACK_PERM, 2
		} else {
			b[n], b[n+1] = header.TCPOPT_NOP, header.TCPOPT_NOP
		}
		b[n+2], b[n+3] = header.TCPOPT_TIMESTAMP, tcpolenTimestamp
		binary.BigEndian.PutUint32(b[n+4:], tp.tsVal())
		binary.BigEndian.PutUint32(b[n+8:], tp.tsRecent)
		n += 12
	} else if tp.sackOk {
		b[n], b[n+1], b[n+2], b[n+3] = header.TCPOPT_NOP, header.TCPOPT_NOP, header.TCPOPT_SACK_PERM, 2
		n += 4
	}
	if tp.wscaleOk {
		b[n], b[n+1], b[n+2], b[n+3] = header.TCPOPT_NOP, header.TCPOPT_WINDOW, 3, tp.rcvWscale
		n += 4
	}
	return n
}

// establishedOptions writes timestamps and, while there is an out-of-order
// queue, SACK blocks (RFC 2018 §4: the block with the newest segment
// first).
func (tp *tcpSock) establishedOptions(room int) int {
	b := tp.optBuf[:]
	n := 0
	if tp.tstampOk {
		b[0], b[1], b[2], b[3] = header.TCPOPT_NOP, header.TCPOPT_NOP, header.TCPOPT_TIMESTAMP, tcpolenTimestamp
		binary.BigEndian.PutUint32(b[4:], tp.tsVal())
		binary.BigEndian.PutUint32(b[8:], tp.tsRecent)
		n = 12
	}
	if !tp.sackOk || tp.ofoQueue.Empty() {
		return n
	}
	maxBlocks := (room - n - 4) / 8
	if maxBlocks <= 0 {
		return n
	}
	var blocks [4][2]uint32
	nb := 0
	// The block holding the newest segment goes first; the others follow
	// in sequence order.
	first := -1
	for skb := tp.ofoQueue.Peek(); skb != nil; {
		start, end := skb.Cb.Seq, skb.Cb.EndSeq
		skb = tp.ofoQueue.Next(skb)
		for skb != nil && !seqAfter(skb.Cb.Seq, end) {
			if seqAfter(skb.Cb.EndSeq, end) {
				end = skb.Cb.EndSeq
			}
			skb = tp.ofoQueue.Next(skb)
		}
		newest := !seqBefore(tp.ofoLast, start) && seqBefore(tp.ofoLast, end)
		switch {
		case nb < len(blocks):
			if newest {
				first = nb
			}
			blocks[nb] = [2]uint32{start, end}
			nb++
		case newest:
			// Past what fits: it still goes first, in place of the last.
			first = len(blocks) - 1
			blocks[first] = [2]uint32{start, end}
		}
	}
	if first > 0 {
		blocks[0], blocks[first] = blocks[first], blocks[0]
	}
	nb = min(nb, maxBlocks)
	b[n], b[n+1], b[n+2], b[n+3] = header.TCPOPT_NOP, header.TCPOPT_NOP, header.TCPOPT_SACK, byte(2+8*nb)
	n += 4
	for i := 0; i < nb; i++ {
		binary.BigEndian.PutUint32(b[n:], blocks[i][0])
		binary.BigEndian.PutUint32(b[n+4:], blocks[i][1])
		n += 8
	}
	return n
}

// receiveWindow is tcp_receive_window: what is left of the last window we
// announced.
func (tp *tcpSock) receiveWindow() uint32 {
	w := int32(tp.rcvWup + tp.rcvWnd - tp.rcvNxt)
	if w < 0 {
		return 0
	}
	return uint32(w)
}

// freeWindow is __tcp_select_window: the window the free receive buffer
// allows. Half of the buffer's free space is offered (tcp_adv_win_scale=1,
// the other half being overhead, as SO_RCVBUF doubles the user's value).
// Receiver-side silly window avoidance (RFC 9293 §3.8.6.2.2): below half the
// full window and below one MSS, offer nothing.
func (tp *tcpSock) freeWindow() uint32 {
	free := tp.RcvBuf - tp.ReceiveQueue.Bytes() - tp.ofoQueue.Bytes()
	full := tp.RcvBuf / 2
	win := max(free/2, 0)
	if win < full/2 && win < tp.rcvMss {
		return 0
	}
	w := uint32(win)
	if tp.rcvWscale > 0 {
		w &^= 1<<tp.rcvWscale - 1
	}
	return w
}

// selectWindow is tcp_select_window: the window field of an outgoing
// segment. The offered window never shrinks (RFC 9293 §3.8.6.2.2).
func (tp *tcpSock) selectWindow() uint16 {
	cur := tp.receiveWindow()
	nw := tp.freeWindow()
	if nw < cur {
		nw = cur
		if tp.rcvWscale > 0 {
			a := uint32(1)<<tp.rcvWscale - 1
			nw = (nw + a) &^ a
		}
	}
	nw = min(nw, uint32(65535)<<tp.rcvWscale)
	tp.rcvWnd = nw
	tp.rcvWup = tp.rcvNxt
	return uint16(nw >> tp.rcvWscale)
}

// packetsInFlight is tcp_packets_in_flight, RFC 6675's "pipe": segments
// sent and neither acked, SACKed nor deemed lost, plus retransmissions.
func (tp *tcpSock) packetsInFlight() uint32 {
	return tp.packetsOut - (tp.sackedOut + tp.lostOut) + tp.retransOut
}

// writeXmit is tcp_write_xmit: send unsent skbs while the congestion window
// (RFC 5681), the peer's window and Nagle (RFC 9293 §3.7.4, with Minshall's
// refinement as Linux) allow. nonagle sends a final small segment anyway.
// A super-segment goes as far as the window quota, the peer's window in
// whole MSS and tsoSegs allow; the rest is cut off to wait (tso_fragment).
func (tp *tcpSock) writeXmit(nonagle bool) {
	if (1<<tp.State)&(TCPF_ESTABLISHED|TCPF_CLOSE_WAIT|TCPF_FIN_WAIT1|TCPF_CLOSING|TCPF_LAST_ACK) == 0 {
		return
	}
	mss := tp.currentMss()
	for skb := tp.sendHead; skb != nil; skb = tp.sendHead {
		inFlight := tp.packetsInFlight()
		if inFlight >= tp.sndCwnd {
			break
		}
		if skb.Len() > mss {
			if !tp.canGso() {
				// Queued before the path MTU came down: cut to the new MSS
				// (tcp_mss_split_point / tso_fragment).
				skb, _ = tp.fragment(skb, mss)
			} else {
				// tcp_cwnd_test's quota, at most half the window per
				// super-segment so at least two are in flight.
				quota := min(int(tp.sndCwnd-inFlight), max(int(tp.sndCwnd/2), 1))
				if limit := tp.mssSplitPoint(skb, mss, min(quota, tp.tsoSegs()), nonagle); limit > 0 && limit < skb.Len() {
					skb, _ = tp.fragment(skb, limit)
				}
			}
		}
		if seqAfter(skb.Cb.EndSeq, tp.sndUna+tp.sndWnd) {
			// Sender-side silly window avoidance (RFC 9293 §3.8.6.2.1):
			// a window too small for the segment is used only when it is
			// at least half the largest the peer offered (Linux splits
			// the skb to it, tcp_mss_split_point).
			avail := int32(tp.sndUna + tp.sndWnd - skb.Cb.Seq)
			if avail <= 0 || int(avail) >= skb.Len() || uint32(avail) < tp.maxWindow/2 {
				break
			}
			skb, _ = tp.fragment(skb, min(int(avail), mss))
		}
		if skb.Len() < mss && skb.Cb.TCPFlags&tcpFlagFIN == 0 && !nonagle && !tp.nodelay &&
			tp.writeQueue.Next(skb) == nil && seqAfter(tp.sndSml, tp.sndUna) && !seqAfter(tp.sndSml, tp.sndNxt) {
			break
		}
		if tp.transmitSkb(skb) != nil && tp.packetsOut == 0 {
			// No route at all: keep the data and let the timer retry.
			tp.resetXmitTimer(tcpTimeRetrans, tp.rto)
			break
		}
		tp.eventNewDataSent(skb)
	}
	tp.checkProbeTimer()
}

// fragment is tcp_fragment / tso_fragment: cut skb at n bytes into two
// skbs in its place, returning the head [seq, seq+n) and the tail. The
// smaller side is copied into a new skb, so cutting a super-segment to
// the window costs at most half of it. FIN and PSH stay with the tail. A
// sent skb's pieces get their own segment counts, and the counters change
// by any difference (tcp_adjust_pcount).
func (tp *tcpSock) fragment(skb *netdev.SkBuff, n int) (head, tail *netdev.SkBuff) {
	q := &tp.writeQueue
	rest := skb.Len() - n
	sent := skb != tp.sendHead && seqBefore(skb.Cb.Seq, tp.sndNxt)
	var old uint16
	if sent {
		old = skb.Cb.GsoSegs
	}
	if n <= rest {
		head = netdev.AllocSkb(max(n, tp.mssCache))
		copy(head.Put(n), skb.Data()[:n])
		skb.Pull(n)
		q.Adjust(-n)
		head.Cb = skb.Cb
		skb.Cb.Seq += uint32(n)
		head.Cb.EndSeq = skb.Cb.Seq
		q.InsertAfter(q.Prev(skb), head)
		if tp.sendHead == skb {
			tp.sendHead = head
		}
		tail = skb
	} else {
		tail = netdev.AllocSkb(max(rest, tp.mssCache))
		copy(tail.Put(rest), skb.Data()[n:])
		skb.Trim(n)
		q.Adjust(-rest)
		tail.Cb = skb.Cb
		tail.Cb.Seq = skb.Cb.Seq + uint32(n)
		skb.Cb.EndSeq = tail.Cb.Seq
		q.InsertAfter(skb, tail)
		head = skb
	}
	head.Cb.TCPFlags &^= tcpFlagFIN | tcpFlagPSH
	head.GsoSize, tail.GsoSize = skb.GsoSize, skb.GsoSize
	if sent {
		head.Cb.GsoSegs = pcountOf(head.Len(), tp.mssCache)
		tail.Cb.GsoSegs = pcountOf(tail.Len(), tp.mssCache)
		if d := int(old) - int(head.Cb.GsoSegs) - int(tail.Cb.GsoSegs); d != 0 {
			tp.adjustPcount(head, d)
		}
	}
	return head, tail
}

// eventNewDataSent is tcp_event_new_data_sent.
func (tp *tcpSock) eventNewDataSent(skb *netdev.SkBuff) {
	tp.sendHead = tp.writeQueue.Next(skb)
	tp.sndNxt = skb.Cb.EndSeq
	skb.Cb.When = int64(tp.in.clock.Now())
	skb.Cb.GsoSegs = pcountOf(skb.Len(), tp.mssCache) // tcp_init_tso_segs
	// tcp_minshall_update: the skb ends in a segment shorter than the MSS.
	if skb.Len() < int(skb.Cb.GsoSegs)*tp.mssCache {
		tp.sndSml = skb.Cb.EndSeq
	}
	tp.packetsOut += uint32(skb.Cb.GsoSegs)
	// tcp_rearm_rto when the first segment goes into an empty pipe.
	if tp.packetsOut == uint32(skb.Cb.GsoSegs) || tp.rtxPending != tcpTimeRetrans {
		tp.resetXmitTimer(tcpTimeRetrans, tp.rto)
	}
}

// checkProbeTimer is tcp_check_probe_timer: data waits, nothing is in
// flight, so only a window probe will learn that the window opened.
func (tp *tcpSock) checkProbeTimer() {
	if tp.sendHead != nil && tp.packetsOut == 0 && tp.rtxPending == 0 {
		tp.resetXmitTimer(tcpTimeProbe0, tp.probe0When())
	}
}

// tcpPush is tcp_push / __tcp_push_pending_frames.
func (tp *tcpSock) tcpPush(nonagle bool) {
	if tp.sendHead != nil {
		tp.writeXmit(nonagle)
	}
}

// retransmitSkb is tcp_retransmit_skb: resend skb, or only its first segs
// MSS when it stands for more (the rest is cut off and waits, still
// marked as it was). A segment sent before the path MTU came down is cut
// to the current MSS the same way (__tcp_retransmit_skb's tcp_fragment).
func (tp *tcpSock) retransmitSkb(skb *netdev.SkBuff, segs int) {
	if mss := tp.currentMss(); skb.Len() > segs*mss {
		skb, _ = tp.fragment(skb, segs*mss)
	}
	if tp.in.traceOn() {
		tp.in.traceSk(tp, "tcp_retransmit_skb seq=%d len=%d retrans=%d cwnd=%d -> tcp_transmit_skb",
			skb.Cb.Seq, skb.Len(), skb.Cb.Retrans+1, tp.sndCwnd)
	}
	if err := tp.transmitSkb(skb); err != nil {
		return
	}
	pc := skbPcount(skb)
	if skb.Cb.Sacked&tcpcbSackedRetrans == 0 {
		tp.retransOut += pc
	}
	skb.Cb.Sacked |= tcpcbSackedRetrans | tcpcbEverRetrans
	skb.Cb.Retrans++
	skb.Cb.When = int64(tp.in.clock.Now())
	tp.totalRetrans += pc
	tp.in.mib.Tcp.RetransSegs.Add(uint64(pc))
}

// xmitRetransmitQueue is tcp_xmit_retransmit_queue, RFC 6675 NextSeg rule
// 1: resend the segments marked lost, oldest first, while pipe < cwnd,
// cutting a super-segment to what the window has room for.
func (tp *tcpSock) xmitRetransmitQueue() {
	if tp.lostOut == 0 {
		return
	}
	for skb := tp.writeQueue.Peek(); skb != nil && skb != tp.sendHead; skb = tp.writeQueue.Next(skb) {
		inFlight := tp.packetsInFlight()
		if inFlight >= tp.sndCwnd {
			return
		}
		s := skb.Cb.Sacked
		if s&tcpcbLost != 0 && s&(tcpcbSackedAcked|tcpcbSackedRetrans) == 0 {
			tp.retransmitSkb(skb, int(tp.sndCwnd-inFlight))
		}
	}
}

// sendAck is tcp_send_ack: a bare ACK with the current window (and SACK
// blocks).
func (tp *tcpSock) sendAck() {
	if tp.State == TCP_CLOSE || tp.State == TCP_LISTEN {
		return
	}
	skb := netdev.AllocSkb(0)
	skb.Cb = netdev.SkbCb{Seq: tp.sndNxt, EndSeq: tp.sndNxt, TCPFlags: tcpFlagACK}
	tp.transmitSkb(skb)
	skb.Free()
}

// xmitProbeSkb is tcp_xmit_probe_skb: an ACK carrying an old sequence
// number (snd_una - 1), which the peer must answer with an ACK that tells
// its window (zero-window probes) or that it is alive (keepalive).
func (tp *tcpSock) xmitProbeSkb() {
	skb := netdev.AllocSkb(0)
	skb.Cb = netdev.SkbCb{Seq: tp.sndUna - 1, EndSeq: tp.sndUna - 1, TCPFlags: tcpFlagACK}
	tp.transmitSkb(skb)
	skb.Free()
}

// sendActiveReset is tcp_send_active_reset.
func (tp *tcpSock) sendActiveReset() {
	skb := netdev.AllocSkb(0)
	skb.Cb = netdev.SkbCb{Seq: tp.sndNxt, EndSeq: tp.sndNxt, TCPFlags: tcpFlagRST | tcpFlagACK}
	tp.transmitSkb(skb)
	skb.Free()
	tp.in.mib.Tcp.OutRsts.Add(1)
}

// tcpSendFin is tcp_send_fin: the FIN rides on the last unsent skb or goes
// alone, and is sent at once (Nagle off).
func (tp *tcpSock) tcpSendFin() {
	if tail := tp.writeQueue.PeekTail(); tail != nil && tp.sendHead != nil && tail.Cb.TCPFlags&(tcpFlagSYN|tcpFlagFIN) == 0 {
		tail.Cb.TCPFlags |= tcpFlagFIN
		tail.Cb.EndSeq++
		tp.writeSeq++
	} else {
		skb := netdev.AllocSkb(0)
		skb.Cb = netdev.SkbCb{Seq: tp.writeSeq, EndSeq: tp.writeSeq + 1, TCPFlags: tcpFlagACK | tcpFlagFIN}
		tp.entailSkb(skb)
	}
	tp.writeXmit(true)
}

// selectInitialWindow is tcp_select_initial_window: the first window,
// which a SYN carries unscaled, is the whole initial receive space
// (tcp_full_space: half of the buffer at the default scaling ratio) in
// whole segments of mss; the window scale is the one that lets the largest
// receive buffer, tcp_rmem[2], be offered (RFC 7323 §2.3, at most 14). At
// Linux 6.x's defaults and MSS 1460: 64240 (44 × 1460) in a SYN, 65160
// (45 × 1448, the MSS less the timestamp option) in a SYN-ACK, scale 10.
//
// A buffer the user fixed with SO_RCVBUF also clamps the window
// (window_clamp), and so the scale: it never grows past it.
func (tp *tcpSock) selectInitialWindow(mss int) {
	space := tp.RcvBuf / 2
	clamp := 65535 << 14
	if tp.UserLocks&socket.SOCK_RCVBUF_LOCK != 0 {
		clamp = space
	}
	if mss > 0 && space > mss {
		space -= space % mss
	}
	tp.rcvWnd = uint32(space)
	tp.rcvWscale = 0
	if tp.wscaleOk {
		// ilog2(space) - 15: 10 for tcp_rmem[2] = 32 MiB.
		space = min(max(space, tcpRmemMax, sysctlRmemMax), clamp)
		tp.rcvWscale = uint8(min(max(bits.Len(uint(space))-1-15, 0), 14))
	}
}

// connectInit is tcp_connect_init: MSS from the route's MTU (RFC 9293
// §3.7.1), our offer of options, and a fresh sequence space.
//
// What we announce comes from the device's MTU (dst_metric_advmss); what we
// send is sized by the path MTU, which an ICMP "fragmentation needed" may
// already have lowered for this destination (tcp_sync_mss(dst_mtu)).
func (tp *tcpSock) connectInit() {
	mtu, pmtu := 1500, 1500
	if tp.rt != nil {
		mtu = tp.rt.MTU()
		pmtu = tp.afOps.dstMTU(tp)
	}
	tp.advmss = mtu - tp.afOps.netHeaderLen - header.TCPMinLen
	if tp.userMss > 0 {
		tp.advmss = min(tp.advmss, tp.userMss)
	}
	tp.pmtuCookie = pmtu
	tp.mssCache = min(tp.advmss, pmtu-tp.afOps.netHeaderLen-header.TCPMinLen)
	tp.rcvMss = min(tp.advmss, tcpMssDefault)
	t := &tp.in.tcp
	tp.tstampOk, tp.sackOk, tp.wscaleOk = t.sysctlTimestamps, t.sysctlSack, t.sysctlWindowScaling
	tp.selectInitialWindow(tp.advmss)
	tp.tsOffset = tp.in.tcp.secureTSOff(tp.Saddr, tp.Daddr)
	tp.tsRecent = 0
	tp.rcvNxt, tp.rcvWup, tp.copiedSeq = 0, 0, 0
	tp.sndWnd, tp.sndWl1 = 0, 0
	tp.sndUna, tp.sndNxt, tp.writeSeq = tp.iss, tp.iss, tp.iss
	tp.rto = tcpTimeoutInit
}

// syncMss is tcp_sync_mss: the payload per segment for a path MTU of
// pmtu, remembered as the MTU it was made for (icsk_pmtu_cookie). Called
// once the peer's options are known, and again when the path MTU changes
// (tcp_v4_mtu_reduced, currentMss). Family-neutral: IPv6 calls it with
// its own path MTU. tcp_mtu_probing is 0, as Linux's default, so there is
// no probing search (RFC 4821) to bound the result.
func (tp *tcpSock) syncMss(pmtu int) {
	tp.pmtuCookie = pmtu
	tp.mssCache = tp.mtuToMss(pmtu)
	// The send buffer grows with what the window needs
	// (tcp_sndbuf_expand), unless the user fixed it.
	tp.sndbufExpand()
}

// mtuToMss is tcp_mtu_to_mss: the MTU less the IP and TCP headers
// (af_specific->net_header_len), capped by the peer's MSS (which
// TCP_MAXSEG caps in turn), less the timestamp option (RFC 7323 §3,
// RFC 6691), and never below TCP_MIN_SND_MSS.
func (tp *tcpSock) mtuToMss(pmtu int) int {
	mss := pmtu - tp.afOps.netHeaderLen - header.TCPMinLen
	if tp.mssClamp > 0 { // before the peer's SYN there is no clamp yet
		mss = min(mss, tp.mssClamp)
	}
	mss = max(mss, tcpMinSndMss)
	if tp.tstampOk {
		mss -= tcpolenTSAligned
	}
	return mss
}

// tcpMinSndMss is TCP_MIN_SND_MSS: the smallest payload a segment is cut
// to, however small a path MTU or MSS option asks for.
const tcpMinSndMss = 48

// currentMss is tcp_current_mss's resync: when the route's path MTU is no
// longer the one mssCache was made for (an exception learnt by another
// socket, or one that expired), sync to it. Mu held.
func (tp *tcpSock) currentMss() int {
	if tp.rt != nil {
		if mtu := tp.afOps.dstMTU(tp); mtu != tp.pmtuCookie {
			tp.syncMss(mtu)
		}
	}
	return tp.mssCache
}

// sndbufExpand is tcp_sndbuf_expand: room for twice the congestion window
// (so the queue keeps the pipe full across an RTT of ACKs), capped by
// tcp_wmem[2], unless SO_SNDBUF fixed it.
func (tp *tcpSock) sndbufExpand() {
	if tp.UserLocks&socket.SOCK_SNDBUF_LOCK != 0 {
		return
	}
	want := 2 * int(max(tp.sndCwnd, tcpInitCwnd)) * tp.mssCache * 2
	want = max(want, 2*int(tp.sndWnd))
	if want > tp.SndBuf {
		tp.SndBuf = min(want, tcpWmemMax)
	}
}

// tcpConnect is tcp_connect: queue the SYN and send it.
func (tp *tcpSock) tcpConnect() {
	tp.connectInit()
	skb := netdev.AllocSkb(0)
	skb.Cb = netdev.SkbCb{Seq: tp.iss, EndSeq: tp.iss + 1, TCPFlags: tcpFlagSYN}
	tp.entailSkb(skb)
	tp.WmemQueued -= skb.Len()
	tp.transmitSkb(skb)
	tp.eventNewDataSent(skb)
	tp.in.mib.Tcp.ActiveOpens.Add(1)
}
