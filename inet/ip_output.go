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
	rt := isk.rt
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
	iph := header.Iphdr(skb.Push(header.IPv4MinLen))
	iph.Encode(header.IPFields{
		Tos:      isk.Tos,
		TotLen:   skb.Len(),
		ID:       isk.ID,
		FragOff:  header.IP_DF, // TCP does PMTU discovery: never fragment
		TTL:      isk.ttl(),
		Protocol: uint8(isk.Protocol),
		Saddr:    isk.Saddr.As4(),
		Daddr:    isk.Daddr.As4(),
	})
	skb.NetworkHeader = skb.Offset()
	if in.traceOn() {
		in.traceSk(isk, "ip_queue_xmit %v -> %v len=%d -> ip_output -> neigh_output", isk.Saddr, isk.Daddr, skb.Len())
	}
	return in.ipOutput(rt, isk.Daddr, skb)
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
	return in.ipSendSkb(rt, skb, saddr, daddr, protocol, ttl, tos, 0, false)
}

// ipSendSkb pushes an IPv4 header and outputs; df chooses whether the packet
// may be fragmented.
func (in *Net) ipSendSkb(rt *Rtable, skb *netdev.SkBuff, saddr, daddr netip.Addr, protocol, ttl, tos uint8, id uint16, df bool) error {
	off := skb.Offset()
	defer skb.SetHeadroom(off)
	if id == 0 {
		id = in.ipIdent.select_()
	}
	var frag uint16
	if df {
		frag = header.IP_DF
	}
	iph := header.Iphdr(skb.Push(header.IPv4MinLen))
	iph.Encode(header.IPFields{
		Tos: tos, TotLen: skb.Len(), ID: id, FragOff: frag, TTL: ttl,
		Protocol: protocol, Saddr: saddr.As4(), Daddr: daddr.As4(),
	})
	skb.NetworkHeader = skb.Offset()
	return in.ipOutput(rt, daddr, skb)
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
	if err := in.ipSendSkb(rt, skb, saddr, daddr, protocol, isk.ttlFor(rt), isk.Tos, 0, false); err != nil {
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
// the device MTU (unless DF), then hand each packet to the neighbour layer.
// A broadcast is also looped back to this host through lo first, as
// ip_mc_output does (dev_loopback_xmit), so local sockets bound to its
// port get it too.
func (in *Net) ipOutput(rt *Rtable, daddr netip.Addr, skb *netdev.SkBuff) error {
	in.mib.Ip.OutRequests.Add(1)
	if rt.Flags&RTCF_BROADCAST != 0 {
		if lo := in.loopbackDev(nil); lo != nil && lo != rt.Dev {
			in.neighOutput(lo, daddr, skb) // lo copies the frame
		}
	}
	if skb.Len() > rt.MTU() {
		iph := header.Iphdr(skb.Data())
		if iph.FragOff()&header.IP_DF != 0 {
			in.mib.Ip.FragFails.Add(1)
			return errEMSGSIZE
		}
		return in.ipFragment(rt, daddr, skb)
	}
	in.mib.Ip.OutTransmits.Add(1)
	return in.neighOutput(rt.Dev, rt.nexthop(daddr), skb)
}

// ipFragment is ip_fragment / ip_do_fragment (RFC 791 §3.2): split an IPv4
// packet into fragments that fit the MTU, each carrying a copy of the
// header with its offset and MF flag, data in multiples of 8 bytes.
func (in *Net) ipFragment(rt *Rtable, daddr netip.Addr, skb *netdev.SkBuff) error {
	iph := header.Iphdr(skb.Data())
	hlen := iph.Ihl()
	payload := skb.Data()[hlen:]
	chunk := (rt.MTU() - hlen) &^ 7
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
