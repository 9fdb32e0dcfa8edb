package inet6

import (
	"net/netip"

	"sockfs/inet6/header"
	"sockfs/netdev"
)

// ipv6Rcv is ipv6_rcv + ip6_rcv_finish + ip6_route_input for a host: the
// header checked, martians dropped, then ip6_input for what is addressed
// to us (our usable addresses, and the groups ipv6ChkMcastAddr knows). A
// host does not forward: anything else is dropped (Ip6InAddrErrors, as
// ip6_forward counts it with forwarding off).
func (n *Net) ipv6Rcv(skb *netdev.SkBuff) {
	dev := skb.Dev
	n.mib.inc(ip6InReceives)
	hdr, perr := header.ParseIpv6hdr(skb.Data())
	switch perr {
	case header.IPv6Ok:
	case header.IPv6BadPayloadLen:
		n.mib.inc(ip6InTruncatedPkts)
		skb.Free()
		return
	default:
		n.mib.inc(ip6InHdrErrors)
		skb.Free()
		return
	}
	n.mib.add(ip6InOctets, len(hdr))
	n.mib.inc(ip6InNoECTPkts + int(hdr.TrafficClass()&3))
	skb.Trim(len(hdr)) // pskb_trim_rcsum: the link's padding goes
	skb.NetworkHeader = skb.Offset()
	src, dst := hdr.Src(), hdr.Dst()
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "netif_receive_skb %s -> ipv6_rcv %v > %v nexthdr=%d len=%d", dev.Name, src, dst, hdr.Nexthdr(), len(hdr))
	}
	if n.ipv6Martian(dev, src, dst) {
		skb.Free()
		return
	}
	if dst.IsMulticast() {
		n.mib.inc(ip6InMcastPkts)
		n.mib.add(ip6InMcastOctets, len(hdr))
		if !n.ipv6ChkMcastAddr(dev, dst) { // ip6_mc_input: not a member
			skb.Free()
			return
		}
	} else if !n.ipv6ChkAddr(dst) {
		// Not ours, or ours but tentative: RFC 4862 §5.4 has such
		// packets (other than ND, which goes to the solicited-node
		// group) silently discarded.
		n.mib.inc(ip6InAddrErrors)
		skb.Free()
		return
	}
	n.ip6InputFinish(skb, header.IPv6Len, hdr.Nexthdr(), header.Ip6NexthdrOff, 0)
}

// ipv6Martian is ipv6_rcv's source and destination checks, and the
// hardening issue's own-address rule: multicast as source (RFC 4291
// §2.7), ::1 either way off lo (RFC 4291 §2.5.3), interface-local
// multicast off lo, and our own address as source from the wire (a
// reflection or a spoof: Linux's ip6_route_input would deliver it
// locally, a LAND loop for a stack whose answer comes back). They count
// as Ip6InHdrErrors, ipv6_rcv's err label; the own-address case as
// Ip6InAddrErrors.
func (n *Net) ipv6Martian(dev *netdev.NetDevice, src, dst netip.Addr) bool {
	if src.IsMulticast() {
		n.mib.inc(ip6InHdrErrors)
		return true
	}
	if dev.Flags&netdev.IFF_LOOPBACK != 0 {
		return false
	}
	if src.IsLoopback() || dst.IsLoopback() || dst.IsInterfaceLocalMulticast() ||
		dst.IsMulticast() && addr16(dst)[1]&0x0f == 0 { // reserved scope 0
		n.mib.inc(ip6InHdrErrors)
		return true
	}
	if !src.IsUnspecified() && n.ipv6GetIfaddr(src) != nil {
		n.mib.inc(ip6InAddrErrors)
		if n.netRatelimit() {
			n.logf("IPv6: martian source %v (our own address) from %s", src, dev.Name)
		}
		return true
	}
	return false
}

// ip6InputFinish is ip6_input_finish / ip6_protocol_deliver_rcu: walk the
// extension headers from off (nh is the next header, named by the byte at
// nhoff), then deliver to the upper layer. Hop-by-hop options come only
// first (RFC 8200 §4.1); the chain is bounded by IP6_MAX_EXT_HDRS_CNT.
// hdrs is how many extension headers came before off.
func (n *Net) ip6InputFinish(skb *netdev.SkBuff, off int, nh uint8, nhoff int, hdrs int) {
	for ; ; hdrs++ {
		if hdrs > header.IP6_MAX_EXT_HDRS_CNT {
			n.mib.inc(ip6InHdrErrors)
			skb.Free()
			return
		}
		var next uint8
		var ok bool
		var hlen int
		switch nh {
		case header.NEXTHDR_HOP:
			if hdrs != 0 { // only ipv6_rcv parses hop-by-hop, first
				n.mib.inc(ip6InUnknownProtos)
				n.icmpv6ParamProb(skb, header.ICMPV6_UNK_NEXTHDR, nhoff)
				skb.Free()
				return
			}
			next, hlen, ok = n.ip6ParseTlv(skb, off, true)
		case header.NEXTHDR_DEST:
			next, hlen, ok = n.ip6ParseTlv(skb, off, false)
		case header.NEXTHDR_ROUTING:
			next, hlen, ok = n.ipv6RthdrRcv(skb, off)
		case header.NEXTHDR_FRAGMENT:
			whole, wnh, wok := n.ipv6FragRcv(skb, off, nhoff)
			if !wok {
				return // queued, or dropped; skb is consumed
			}
			if whole != skb {
				skb.Free()
				skb = whole
				nh = wnh
				continue // the reassembled packet, past the fragment header
			}
			// An atomic fragment: go on past its header.
			next, hlen, ok = wnh, header.Frag6Len, true
		case header.NEXTHDR_NONE:
			n.mib.inc(ip6InDelivers)
			skb.Free()
			return
		case header.NEXTHDR_ICMP:
			n.mib.inc(ip6InDelivers)
			n.ipv6RawDeliver(skb, off, nh)
			n.icmpv6Rcv(skb, off)
			return
		case header.NEXTHDR_TCP:
			if n.in != nil {
				n.mib.inc(ip6InDelivers)
				n.ipv6RawDeliver(skb, off, nh)
				n.tcpV6Rcv(skb, off)
				return
			}
			fallthrough
		case header.NEXTHDR_UDP:
			if n.in != nil {
				n.mib.inc(ip6InDelivers)
				n.ipv6RawDeliver(skb, off, nh)
				n.udpv6Rcv(skb, off)
				return
			}
			fallthrough
		default:
			// No protocol handler: a raw socket's
			// copy, else parameter problem, unrecognized next header, at
			// the byte that named it (ip6_protocol_deliver_rcu).
			if n.ipv6RawDeliver(skb, off, nh) {
				n.mib.inc(ip6InDelivers)
				skb.Free()
				return
			}
			n.mib.inc(ip6InUnknownProtos)
			n.icmpv6ParamProb(skb, header.ICMPV6_UNK_NEXTHDR, nhoff)
			skb.Free()
			return
		}
		if !ok {
			skb.Free()
			return
		}
		nhoff = off
		off += hlen
		nh = next
	}
}
