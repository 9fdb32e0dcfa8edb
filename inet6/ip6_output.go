package inet6

import (
	"net/netip"
	"syscall"

	"sockfs/inet6/header"
	"sockfs/netdev"
)

// sysctlHopLimit is net.ipv6.conf.default.hop_limit.
const sysctlHopLimit = 64

// ip6Output is ip6_route_output + ip6_xmit for a message the stack sends:
// skb holds the upper-layer message (proto), with headroom; its data is
// the caller's again on return, which frees it.
func (n *Net) ip6Output(skb *netdev.SkBuff, saddr, daddr netip.Addr, proto, hlim uint8) error {
	dev, nexthop, ok := n.ip6RouteOutput(daddr)
	if !ok {
		n.mib.inc(ip6OutNoRoutes)
		return syscall.ENETUNREACH
	}
	return n.ip6Xmit(dev, nexthop, skb, saddr, daddr, proto, hlim, 0, n.ip6DstMtu(dev, nexthop, daddr))
}

// ip6Xmit is ip6_xmit + ip6_finish_output: push the IPv6 header, then
// send whole or, larger than mtu (ip6_skb_dst_mtu: the path MTU, or the
// device's for a PROBE socket), as fragments (ip6_fragment). tclass is the
// traffic class (a socket's IPV6_TCLASS).
func (n *Net) ip6Xmit(dev *netdev.NetDevice, nexthop netip.Addr, skb *netdev.SkBuff, saddr, daddr netip.Addr, proto, hlim, tclass uint8, mtu int) error {
	off := skb.Offset()
	defer skb.SetHeadroom(off)
	plen := skb.Len()
	header.Ipv6hdr(skb.Push(header.IPv6Len)).Encode(header.IPv6Fields{
		TrafficClass: tclass, PayloadLen: plen, Nexthdr: proto, HopLimit: hlim, Saddr: addr16(saddr), Daddr: addr16(daddr),
	})
	skb.NetworkHeader = skb.Offset()
	n.mib.inc(ip6OutRequests)
	n.mib.add(ip6OutOctets, skb.Len())
	if daddr.IsMulticast() {
		n.mib.inc(ip6OutMcastPkts)
		n.mib.add(ip6OutMcastOctets, skb.Len())
	}
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "ip6_xmit %v > %v nexthdr=%d len=%d -> ip6_finish_output2", saddr, daddr, proto, skb.Len())
	}
	// A super-segment's wire segments were sized to the path by TCP
	// (ip6_finish_output_gso): it goes whole, for the device to cut.
	if skb.Len() > mtu && skb.GsoSize == 0 {
		return n.ip6Fragment(dev, nexthop, skb, mtu)
	}
	return n.ip6FinishOutput2(dev, nexthop, skb)
}

// ip6FinishOutput2 is ip6_finish_output2: through nd_tbl to the device.
func (n *Net) ip6FinishOutput2(dev *netdev.NetDevice, nexthop netip.Addr, skb *netdev.SkBuff) error {
	n.mib.inc(ip6OutTransmits)
	return n.ndTbl.NeighOutput(dev, nexthop, skb)
}

// ip6Fragment is ip6_fragment's slow path for a packet with no extension
// headers: pieces of (mtu - 48) & ~7 bytes, each behind a copy of the
// header and a fragment header with one identification (RFC 8200 §4.5).
func (n *Net) ip6Fragment(dev *netdev.NetDevice, nexthop netip.Addr, skb *netdev.SkBuff, mtu int) error {
	mtu = max(mtu, header.IPV6_MIN_MTU)
	pkt := skb.Data()
	hdr := header.Ipv6hdr(pkt[:header.IPv6Len])
	payload := pkt[header.IPv6Len:]
	chunk := (mtu - header.IPv6Len - header.Frag6Len) &^ 7
	id := n.fragIdent.Add(1) // ipv6_select_ident
	var err error
	for o := 0; o < len(payload); o += chunk {
		m := min(chunk, len(payload)-o)
		mf := uint16(0)
		if o+m < len(payload) {
			mf = header.IP6_MF
		}
		f := netdev.AllocSkb(header.IPv6Len + header.Frag6Len + m)
		b := f.Put(header.IPv6Len + header.Frag6Len + m)
		copy(b, hdr)
		fh := header.Ipv6hdr(b)
		fh.SetPayloadLen(header.Frag6Len + m)
		fh.SetNexthdr(header.NEXTHDR_FRAGMENT)
		header.Frag6hdr(b[header.IPv6Len:]).Encode(header.Frag6Fields{Nexthdr: hdr.Nexthdr(), FragOff: uint16(o) | mf, Identification: id})
		copy(b[header.IPv6Len+header.Frag6Len:], payload[o:o+m])
		f.NetworkHeader = f.Offset()
		n.mib.inc(ip6FragCreates)
		if e := n.ip6FinishOutput2(dev, nexthop, f); e != nil && err == nil {
			err = e
		}
		f.Free()
	}
	n.mib.inc(ip6FragOKs)
	return err
}

// devQueueXmit is IPv6's call of dev_queue_xmit, with its trace line.
func (n *Net) devQueueXmit(dev *netdev.NetDevice, skb *netdev.SkBuff) error {
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "dev_queue_xmit %s len=%d", dev.Name, skb.Len())
	}
	return dev.DevQueueXmit(skb)
}
