package inet

import (
	"math/rand/v2"
	"net/netip"
	"sync/atomic"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

var (
	errENETUNREACH = socket.ENETUNREACH
	errEMSGSIZE    = socket.EMSGSIZE
)

// ipIdent is the IP ID generator for packets without a connected socket
// (ip_select_ident's per-destination counters, reduced to one counter
// started at a random value).
type ipIdent struct{ next atomic.Uint32 }

func (g *ipIdent) init()           { g.next.Store(rand.Uint32()) }
func (g *ipIdent) select_() uint16 { return uint16(g.next.Add(1)) }

// ipQueueXmit is ip_queue_xmit: route a connected socket's segment (the
// route is cached on the socket), push the IPv4 header in place and send it
// on. The caller keeps skb; on return its data is again the transport
// segment, so TCP can keep it for retransmission. Mu held.
func (in *Net) ipQueueXmit(isk *InetSock, skb *netdev.SkBuff) error {
	rt := isk.rtable()
	if rt == nil {
		var err error
		if rt, err = in.ipRouteOutput(isk.Daddr, isk.Saddr); err != nil {
			return err
		}
		isk.rt = rt
	}
	off := skb.Offset()
	defer skb.SetHeadroom(off)
	isk.ID++
	// TCP does path MTU discovery (RFC 1191) unless IP_PMTUDISC_DONT, or
	// WANT on a path whose MTU was locked at min_pmtu.
	var frag uint16
	if in.ipDontFragment(isk, rt, isk.Daddr) {
		frag = header.IP_DF
	}
	iph := header.Iphdr(skb.Push(header.IPv4MinLen))
	iph.Encode(header.IPFields{
		Tos:      isk.Tos,
		TotLen:   skb.Len(),
		ID:       isk.ID,
		FragOff:  frag,
		TTL:      isk.ttl(),
		Protocol: uint8(isk.Protocol),
		Saddr:    isk.Saddr.As4(),
		Daddr:    isk.Daddr.As4(),
	})
	skb.NetworkHeader = skb.Offset()
	if in.traceOn() {
		in.traceSk(isk, "ip_queue_xmit %v -> %v len=%d -> ip_output -> neigh_output", isk.Saddr, isk.Daddr, skb.Len())
	}
	return in.ipOutput(rt, isk.Daddr, skb, in.ipSkbDstMtu(isk, rt, isk.Daddr))
}

// ipBuildAndSendPkt is ip_build_and_send_pkt: send a transport segment that
// has no connected socket behind it (RST, SYN-ACK, ICMP, datagrams), routed
// by destination. Same skb contract as ipQueueXmit.
func (in *Net) ipBuildAndSendPkt(skb *netdev.SkBuff, saddr, daddr netip.Addr, protocol, ttl, tos uint8) error {
	rt, err := in.ipRouteOutput(daddr, saddr)
	if err != nil {
		return err
	}
	if !saddr.IsValid() || saddr.IsUnspecified() {
		saddr = rt.PrefSrc
	}
	return in.ipSendSkb(nil, rt, skb, saddr, daddr, protocol, ttl, tos, 0)
}

// ipSendSkb is __ip_make_skb and ip_send_skb: push an IPv4 header and
// output. The DF bit follows the sending socket isk (nil: none, DF clear),
// as __ip_make_skb sets it: always for IP_PMTUDISC_DO and PROBE, for WANT
// when the packet fits the path MTU (so a larger datagram goes out in
// fragments), never for DONT. The caller has checked the size against
// the MTU where the socket refuses to fragment (ipAppendCheck).
func (in *Net) ipSendSkb(isk *InetSock, rt *Rtable, skb *netdev.SkBuff, saddr, daddr netip.Addr, protocol, ttl, tos uint8, id uint16) error {
	off := skb.Offset()
	defer skb.SetHeadroom(off)
	if id == 0 {
		id = in.ipIdent.select_()
	}
	pmtu := in.dstMTU(rt, daddr)
	mtu := pmtu
	var frag uint16
	if isk != nil {
		mtu = in.ipSkbDstMtu(isk, rt, daddr)
		if isk.Pmtudisc == socket.IP_PMTUDISC_DO || isk.Pmtudisc == socket.IP_PMTUDISC_PROBE ||
			(skb.Len()+header.IPv4MinLen <= pmtu && in.ipDontFragment(isk, rt, daddr)) {
			frag = header.IP_DF
		}
	}
	iph := header.Iphdr(skb.Push(header.IPv4MinLen))
	iph.Encode(header.IPFields{
		Tos: tos, TotLen: skb.Len(), ID: id, FragOff: frag, TTL: ttl,
		Protocol: protocol, Saddr: saddr.As4(), Daddr: daddr.As4(),
	})
	skb.NetworkHeader = skb.Offset()
	return in.ipOutput(rt, daddr, skb, mtu)
}

// ipSendUnicastReply is ip_send_unicast_reply: the TCP segments no full
// socket sends (RSTs, TIME_WAIT's ACKs) go from the namespace's TCP control
// socket, which tcp_sk_init makes IP_PMTUDISC_DO ("enforce IP_DF and
// IPID==0"): DF set, and, the socket having no peer, IP ID 0 as
// ip_select_ident gives a DF packet. Same skb contract as ipQueueXmit.
func (in *Net) ipSendUnicastReply(skb *netdev.SkBuff, saddr, daddr netip.Addr, protocol, ttl, tos uint8) error {
	rt, err := in.ipRouteOutput(daddr, saddr)
	if err != nil {
		return err
	}
	if !saddr.IsValid() || saddr.IsUnspecified() {
		saddr = rt.PrefSrc
	}
	off := skb.Offset()
	defer skb.SetHeadroom(off)
	iph := header.Iphdr(skb.Push(header.IPv4MinLen))
	iph.Encode(header.IPFields{
		Tos: tos, TotLen: skb.Len(), FragOff: header.IP_DF, TTL: ttl,
		Protocol: protocol, Saddr: saddr.As4(), Daddr: daddr.As4(),
	})
	skb.NetworkHeader = skb.Offset()
	return in.ipOutput(rt, daddr, skb, in.dstMTU(rt, daddr))
}

// ipAppendCheck is ip_append_data's size check: a datagram of n payload
// bytes (the transport header included) that the socket may not fragment
// (IP_PMTUDISC_DO, PROBE, INTERFACE) and that is larger than its MTU is
// EMSGSIZE before anything is sent. Mu held.
func (in *Net) ipAppendCheck(isk *InetSock, rt *Rtable, daddr netip.Addr, n int) error {
	if ipSkIgnoreDf(isk) {
		return nil
	}
	if n > in.ipSkbDstMtu(isk, rt, daddr)-header.IPv4MinLen {
		return errEMSGSIZE
	}
	return nil
}

// ipPushPendingFrames is ip_push_pending_frames for ping and raw: the
// payload built in skb goes to ip_send_skb under an IP header, counted as
// ICMP output when it is ICMP (__ip_make_skb's icmp_out_count). A device
// that refuses the frame is not the sender's error (ENOBUFS is swallowed,
// as without IP_RECVERR). Mu held.
func (in *Net) ipPushPendingFrames(rt *Rtable, skb *netdev.SkBuff, saddr, daddr netip.Addr, protocol uint8, isk *InetSock, n int) (int, error) {
	var typ uint8
	if protocol == IPPROTO_ICMP && skb.Len() > 0 {
		typ = skb.Data()[0]
	}
	if err := in.ipAppendCheck(isk, rt, daddr, skb.Len()); err != nil {
		return 0, err
	}
	if e := isk.SockError(); e != 0 {
		return 0, e
	}
	if err := in.ipSendSkb(isk, rt, skb, saddr, daddr, protocol, isk.ttlFor(rt), isk.Tos, 0); err != nil {
		if e, ok := err.(socket.Errno); ok {
			return 0, e
		}
	}
	if protocol == IPPROTO_ICMP && skb.Len() > 0 {
		in.mib.Icmp.OutMsgs.Add(1)
		in.mib.Icmp.OutType[typ].Add(1)
	}
	return n, nil
}

// ipOutput is ip_output / ip_finish_output: fragment what is larger than
// mtu (ip_skb_dst_mtu: the path MTU, or the device's for a socket that
// ignores it), then hand each packet to the neighbour layer. A packet with
// DF that does not fit is refused with EMSGSIZE, and, as ip_fragment does,
// ICMP "fragmentation needed" goes to its source, this host, so the
// sender's error handler learns the MTU.
// A broadcast is also looped back to this host through lo first, as
// ip_mc_output does (dev_loopback_xmit), so local sockets bound to its
// port get it too.
func (in *Net) ipOutput(rt *Rtable, daddr netip.Addr, skb *netdev.SkBuff, mtu int) error {
	in.mib.Ip.OutRequests.Add(1)
	if rt.Flags&RTCF_BROADCAST != 0 {
		if lo := in.loopbackDev(nil); lo != nil && lo != rt.Dev {
			in.neighOutput(lo, daddr, skb) // lo copies the frame
		}
	}
	// A super-segment's wire segments were sized to the path by TCP
	// (ip_finish_output_gso).
	if skb.Len() > mtu && skb.GsoSize == 0 {
		iph := header.Iphdr(skb.Data())
		if iph.FragOff()&header.IP_DF != 0 {
			in.mib.Ip.FragFails.Add(1)
			in.icmpSend(skb, header.ICMP_DEST_UNREACH, header.ICMP_FRAG_NEEDED, uint32(mtu))
			return errEMSGSIZE
		}
		return in.ipFragment(rt, daddr, skb, mtu)
	}
	in.mib.Ip.OutTransmits.Add(1)
	return in.neighOutput(rt.Dev, rt.nexthop(daddr), skb)
}

// ipFragment is ip_fragment / ip_do_fragment (RFC 791 §3.2): split an IPv4
// packet into fragments that fit the MTU, each carrying a copy of the
// header with its offset and MF flag, data in multiples of 8 bytes.
func (in *Net) ipFragment(rt *Rtable, daddr netip.Addr, skb *netdev.SkBuff, mtu int) error {
	iph := header.Iphdr(skb.Data())
	hlen := iph.Ihl()
	payload := skb.Data()[hlen:]
	chunk := (mtu - hlen) &^ 7
	if chunk <= 0 {
		in.mib.Ip.FragFails.Add(1)
		return errEMSGSIZE
	}
	baseOff := iph.FragOffset()
	moreAfter := iph.MoreFragments()
	for off := 0; off < len(payload); off += chunk {
		n := min(chunk, len(payload)-off)
		f := netdev.AllocSkb(hlen + n)
		b := f.Put(hlen + n)
		copy(b, skb.Data()[:hlen])
		copy(b[hlen:], payload[off:off+n])
		fh := header.Iphdr(b)
		fo := uint16((baseOff+off)/8) & header.IP_OFFSET
		if off+n < len(payload) || moreAfter {
			fo |= header.IP_MF
		}
		fh.SetFragOff(fo)
		fh.SetTotLen(hlen + n)
		fh.SetCheck()
		f.NetworkHeader = f.Offset()
		in.mib.Ip.FragCreates.Add(1)
		in.mib.Ip.OutTransmits.Add(1)
		err := in.neighOutput(rt.Dev, rt.nexthop(daddr), f)
		f.Free()
		if err != nil {
			in.mib.Ip.FragFails.Add(1)
			return err
		}
	}
	in.mib.Ip.FragOKs.Add(1)
	return nil
}

// ipLinkFailure is ip_link_failure (ipv4_send_dest_unreach): a packet we
// sent could not be delivered to its next hop (ARP went unanswered). As in
// Linux, icmp_send answers it with host unreachable, addressed to the
// packet's source, which is this host: the message goes out and comes back
// through lo, is counted on both sides (Icmp OutMsgs and InMsgs), and
// icmp_rcv hands it to the sender's protocol like any ICMP error. skb
// holds the packet from its IP header, the Ethernet header not yet pushed;
// the caller frees it.
func (in *Net) ipLinkFailure(skb *netdev.SkBuff) {
	if _, ok := header.ParseIphdr(skb.Data()); ok != header.IPOk {
		return
	}
	skb.NetworkHeader = skb.Offset()
	in.icmpSend(skb, header.ICMP_DEST_UNREACH, header.ICMP_HOST_UNREACH, 0)
}
