package inet

// TCP segmentation offload (net/ipv4/tcp_offload.c, the TSO parts of
// tcp_output.c): on a device with NETIF_F_GSO or NETIF_F_TSO, TCP builds
// super-segments of up to 64 KiB that stand for several MSS-sized wire
// segments. Congestion control, packets in flight, the SACK scoreboard and
// retransmission count them per MSS (tcp_skb_pcount); the device cuts them
// (TSO), or dev_queue_xmit does in software first (GSO, inetGsoSegment).

import (
	"encoding/binary"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
)

// canGso is sk_can_gso: the route's device takes super-segments of the
// sock's family (afOps.gsoFeatures, as sk_route_caps).
func (tp *tcpSock) canGso() bool {
	if tp.rt == nil {
		return false
	}
	dev := tp.rt.Device()
	return dev != nil && dev.Features&tp.afOps.gsoFeatures != 0
}

// pcountOf is tcp_set_skb_tso_segs: the wire segments of n payload bytes
// at mss, at least one.
func pcountOf(n, mss int) uint16 {
	if n <= mss || mss <= 0 {
		return 1
	}
	return uint16((n + mss - 1) / mss)
}

// skbPcount is tcp_skb_pcount.
func skbPcount(skb *netdev.SkBuff) uint32 { return uint32(max(skb.Cb.GsoSegs, 1)) }

// tcpSkbSeglen is tcp_skb_seglen: the size of the wire segments a sent skb
// went as: its length, or for a super-segment the MSS it was cut at
// (gso_size, which stays on the skb after the transmit).
func tcpSkbSeglen(skb *netdev.SkBuff) int {
	if skb.Cb.GsoSegs <= 1 {
		return skb.Len()
	}
	return skb.GsoSize
}

// sizeGoal is tcp_xmit_size_goal: how many bytes one skb of the send queue
// carries: one MSS, or with GSO as many whole MSS as fit a 64 KiB IP
// datagram with its headers (the family's: an IPv6 super-segment's
// payload length then stays below 64 KiB too), but no more than half the largest window the
// peer offered (tcp_bound_to_half_wnd).
func (tp *tcpSock) sizeGoal() int {
	mss := tp.mssCache
	if !tp.canGso() {
		return mss
	}
	goal := netdev.GsoMaxSize - tp.afOps.netHeaderLen - header.TCPMinLen - tcpolenTSAligned
	if cut := int(tp.maxWindow / 2); tp.maxWindow > tcpMssDefault && goal > cut {
		goal = cut
	}
	return max(goal/mss*mss, mss)
}

// tsoSegs is tcp_tso_segs / tcp_tso_autosize: how many MSS one transmit
// may carry, about a millisecond at the pacing rate (tcp_update_pacing_rate:
// 200% of cwnd per RTT in slow start, 120% after), plus a bonus of the
// whole 64 KiB for a path under 512 µs (tcp_tso_rtt_log 9), so a fast path
// sends full super-segments and a slow one spreads its bursts; at least
// tcp_min_tso_segs (2).
func (tp *tcpSock) tsoSegs() int {
	mss := tp.mssCache
	bytes := netdev.GsoMaxSize
	if tp.srtt > 0 {
		ratio := 200
		if tp.sndCwnd >= tp.sndSsthresh/2 {
			ratio = 120
		}
		rate := int64(tp.sndCwnd) * int64(mss) * int64(ratio) / 100 * int64(time.Second) / int64(tp.srtt)
		bytes = int(min(rate>>10, int64(netdev.GsoMaxSize)))
		if r := tp.srtt.Microseconds() >> 9; r < 32 {
			bytes += netdev.GsoMaxSize >> r
		}
		bytes = min(bytes, netdev.GsoMaxSize)
	}
	return max(bytes/mss, 2)
}

// nagleCheck is tcp_nagle_check for a segment shorter than the MSS: hold
// it while a small segment is unacknowledged (Minshall's refinement,
// tcp_minshall_check), unless Nagle is off.
func (tp *tcpSock) nagleCheck(nonagle bool) bool {
	return !nonagle && !tp.nodelay && tp.packetsOut > 0 &&
		seqAfter(tp.sndSml, tp.sndUna) && !seqAfter(tp.sndSml, tp.sndNxt)
}

// mssSplitPoint is tcp_mss_split_point: how much of a multi-segment skb at
// the send head goes now: at most maxSegs MSS, no more than the peer's
// window allows in whole MSS, and without a short tail that Nagle holds.
// 0 when not even one MSS fits the window.
func (tp *tcpSock) mssSplitPoint(skb *netdev.SkBuff, mss, maxSegs int, nonagle bool) int {
	room := int(int32(tp.sndUna + tp.sndWnd - skb.Cb.Seq))
	maxLen := mss * maxSegs
	needed := min(skb.Len(), room)
	if needed < mss {
		return 0
	}
	if maxLen <= needed {
		return maxLen
	}
	// A tail cut off by the peer's window waits whole, as a segment that
	// does not fit does (sender-side silly window avoidance); the skb's
	// own short tail goes unless Nagle holds it.
	if partial := needed % mss; partial != 0 && (needed < skb.Len() || tp.nagleCheck(nonagle)) {
		return needed - partial
	}
	return needed
}

// adjustPcount is tcp_adjust_pcount: skb now stands for decr segments fewer
// than before (negative: more), so the counters its state is in change by
// as much.
func (tp *tcpSock) adjustPcount(skb *netdev.SkBuff, decr int) {
	d := uint32(decr)
	tp.packetsOut -= d
	s := skb.Cb.Sacked
	if s&tcpcbSackedAcked != 0 {
		tp.sackedOut -= d
	}
	if s&tcpcbSackedRetrans != 0 {
		tp.retransOut -= d
	}
	if s&tcpcbLost != 0 {
		tp.lostOut -= d
	}
}

// inetGsoSegment is inet_gso_segment → tcp4_gso_segment, the software GSO
// dev_queue_xmit uses for a device without NETIF_F_TSO: the IPv4 header
// checked, then TCPGsoSegment cuts the super-segment, each frame getting
// its own IP total length, ID and header checksum (inetGsoFixup).
func inetGsoSegment(skb *netdev.SkBuff, xmit func(*netdev.SkBuff) error) error {
	b := skb.Data()
	if len(b) < netdev.EthHlen+header.IPv4MinLen {
		return errEMSGSIZE
	}
	iph := header.Iphdr(b[netdev.EthHlen:])
	if iph.Protocol() != IPPROTO_TCP {
		return errEMSGSIZE
	}
	return TCPGsoSegment(skb, netdev.EthHlen+iph.Ihl(), inetGsoFixup, xmit)
}

// inetGsoFixup is inet_gso_segment's loop over the segments: the i-th
// frame f's IPv4 header (a copy of the super-segment's) gets its total
// length for tcpLen bytes of TCP, the ID ip_select_ident_segs reserved
// for it, and its checksum.
func inetGsoFixup(f []byte, i, tcpLen int) {
	iph := header.Iphdr(f[netdev.EthHlen:])
	iph.SetTotLen(iph.Ihl() + tcpLen)
	iph.SetID(iph.ID() + uint16(i))
	iph.SetCheck()
}

// TCPGsoSegment is tcp_gso_segment, the family-free half of software GSO
// (tcp4_gso_segment and tcp6_gso_segment both end in it): the
// super-segment skb (link header first, the TCP header at thoff,
// skb.GsoSize set) is cut into frames of GsoSize payload bytes, each with
// the headers copied in front, its sequence number, FIN and PSH only on
// the last, and a full TCP checksum. The checksum needs no addresses: the
// super-segment's field holds the pseudo-header sum over its length
// (CHECKSUM_PARTIAL), which is moved to each segment's length by one's
// complement arithmetic, as tcp_gso_segment's delta does. fixup(f, i,
// tcpLen) then sets the i-th frame's network header for tcpLen bytes of
// TCP. Each frame is handed to xmit and freed; the pooled buffers make it
// free of allocations.
func TCPGsoSegment(skb *netdev.SkBuff, thoff int, fixup func(f []byte, i, tcpLen int), xmit func(*netdev.SkBuff) error) error {
	b := skb.Data()
	mss := skb.GsoSize
	if mss <= 0 || len(b) < thoff+header.TCPMinLen {
		return errEMSGSIZE
	}
	th, ok := header.ParseTcphdr(b[thoff:])
	if !ok {
		return errEMSGSIZE
	}
	hlen := thoff + th.Doff()
	payload := b[hlen:]
	seq, flags := th.Seq(), th.Flags()
	// The pseudo-header sum of the whole, less its length (+ ~len).
	pseudo := uint32(th.Check()) + uint32(^uint16(len(b)-thoff))
	for i, off := 0, 0; off < len(payload); i, off = i+1, off+mss {
		n := min(mss, len(payload)-off)
		seg := netdev.AllocSkb(hlen + n)
		f := seg.Put(hlen + n)
		copy(f, b[:hlen])
		copy(f[hlen:], payload[off:off+n])
		fixup(f, i, th.Doff()+n)
		st := header.Tcphdr(f[thoff:])
		binary.BigEndian.PutUint32(st[4:], seq+uint32(off))
		if off+n < len(payload) {
			st[13] = flags &^ (tcpFlagFIN | tcpFlagPSH)
		}
		st.SetCheck(0)
		st.SetCheck(header.Fold(header.Checksum(st, pseudo+uint32(len(st)))))
		seg.NetworkHeader = seg.Offset() + netdev.EthHlen
		seg.TransportHeader = seg.Offset() + thoff
		err := xmit(seg)
		seg.Free()
		if err != nil {
			return err
		}
	}
	return nil
}
