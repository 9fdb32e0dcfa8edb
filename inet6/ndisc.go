package inet6

import (
	"net/netip"

	"sockfs/inet"
	"sockfs/inet6/header"
	"sockfs/netdev"
)

// ndiscInit is ndisc_init: nd_tbl on inet's neighbour core, with
// neighbour discovery's constructor, solicit and error report.
func (n *Net) ndiscInit() {
	n.ndTbl.NeighTableInit(netdev.ETH_P_IPV6, inet.NeighOps{
		Constructor: ndiscConstructor,
		Solicit:     n.ndiscSolicit,
		ErrorReport: n.ndiscErrorReport,
		Xmit:        n.devQueueXmit,
		Overflow:    n.ndiscOverflow,
	}, n.clock)
}

// ndiscOverflow is neigh_alloc's "neighbor table overflow!" for nd_tbl.
func (n *Net) ndiscOverflow() {
	if n.netRatelimit() {
		n.logf("ndisc_cache: neighbor table overflow!")
	}
}

// ndiscConstructor is ndisc_constructor's NUD_NOARP case: a group's
// Ethernet address is 33:33 and its low 32 bits (ndisc_mc_map).
func ndiscConstructor(dev *netdev.NetDevice, key netip.Addr) ([6]byte, bool) {
	if key.IsMulticast() {
		return header.Ipv6EthMcMap(addr16(key)), true
	}
	return [6]byte{}, false
}

// ndiscSolicit is ndisc_solicit: an NS for key, to its solicited-node
// group, or unicast to the address we hold while re-confirming it
// (NUD_PROBE), from the address source selection picks for key.
func (n *Net) ndiscSolicit(dev *netdev.NetDevice, key netip.Addr, ha [6]byte, unicast bool) {
	saddr, ok := n.ipv6DevGetSaddr(dev, key)
	if !ok {
		return
	}
	daddr := key
	if !unicast {
		daddr = netip.AddrFrom16(header.AddrconfAddrSolictMult(addr16(key)))
	}
	n.ndiscSendNs(dev, key, daddr, saddr, ha, unicast)
}

// ndiscErrorReport is ndisc_error_report (ip6_link_failure): the sender
// of a packet that waited in vain gets destination unreachable, address
// unreachable. Every such packet is the stack's own, so the error comes
// back to us through lo and is counted there.
func (n *Net) ndiscErrorReport(skb *netdev.SkBuff) {
	skb.NetworkHeader = skb.Offset()
	n.icmp6Send(skb, header.ICMPV6_DEST_UNREACH, header.ICMPV6_ADDR_UNREACH, 0)
}

// ndiscSendNs is ndisc_send_ns: a neighbour solicitation for target, to
// daddr, from saddr, with our link-layer address unless saddr is :: (a
// DAD probe, RFC 4862 §5.4.2). It leaves with hop limit 255 straight to
// the link address of daddr (ha when unicast), as ndisc_send_skb does
// through the entry being resolved.
func (n *Net) ndiscSendNs(dev *netdev.NetDevice, target, daddr, saddr netip.Addr, ha [6]byte, unicast bool) {
	optLen := header.NdOptLladdrLen
	if saddr.IsUnspecified() {
		optLen = 0
	}
	skb := netdev.AllocSkb(header.NdMsgLen + optLen)
	b := skb.Put(header.NdMsgLen + optLen)
	var opts [header.NdOptLladdrLen]byte
	if optLen > 0 {
		header.PutNdOptLladdr(opts[:], header.ND_OPT_SOURCE_LL_ADDR, dev.HWAddr)
	}
	header.NdMsg(b).Encode(header.NdFields{Type: header.NDISC_NEIGHBOUR_SOLICITATION, Target: addr16(target), Options: opts[:optLen]})
	header.Icmp6hdr(b).SetChecksum(addr16(saddr), addr16(daddr))
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "ndisc_send_ns who-has %v tell %v -> %v", target, saddr, daddr)
	}
	n.mib.icmpInc(icmp6OutMsgs)
	n.mib.msgOut(header.NDISC_NEIGHBOUR_SOLICITATION)
	dst := ha
	if !unicast {
		dst = header.Ipv6EthMcMap(addr16(daddr))
	}
	n.ndiscSendSkb(dev, skb, saddr, daddr, dst)
	skb.Free()
}

// ndiscSendSkb is ndisc_send_skb for a message whose link address is
// known: the IPv6 header (hop limit 255, RFC 4861 §7.1), the Ethernet
// header, dev_queue_xmit.
func (n *Net) ndiscSendSkb(dev *netdev.NetDevice, skb *netdev.SkBuff, saddr, daddr netip.Addr, dst [6]byte) {
	plen := skb.Len()
	header.Ipv6hdr(skb.Push(header.IPv6Len)).Encode(header.IPv6Fields{
		PayloadLen: plen, Nexthdr: header.NEXTHDR_ICMP, HopLimit: 255, Saddr: addr16(saddr), Daddr: addr16(daddr),
	})
	n.mib.inc(ip6OutRequests)
	n.mib.add(ip6OutOctets, skb.Len())
	if daddr.IsMulticast() {
		n.mib.inc(ip6OutMcastPkts)
		n.mib.add(ip6OutMcastOctets, skb.Len())
	}
	n.mib.inc(ip6OutTransmits)
	netdev.EthHeaderPush(skb, dst, dev.HWAddr, netdev.ETH_P_IPV6)
	n.devQueueXmit(dev, skb)
}

// ndiscSendNa is ndisc_send_na: an advertisement of our target, to daddr,
// with our link-layer address, routed as any packet (a solicitor's entry
// was just made from its NS).
func (n *Net) ndiscSendNa(daddr, target netip.Addr, dev *netdev.NetDevice, solicited bool) {
	skb := netdev.AllocSkb(header.NdMsgLen + header.NdOptLladdrLen)
	b := skb.Put(header.NdMsgLen + header.NdOptLladdrLen)
	var opts [header.NdOptLladdrLen]byte
	header.PutNdOptLladdr(opts[:], header.ND_OPT_TARGET_LL_ADDR, dev.HWAddr)
	flags := uint32(header.ND_NA_FLAG_OVERRIDE)
	if solicited {
		flags |= header.ND_NA_FLAG_SOLICITED
	}
	header.NdMsg(b).Encode(header.NdFields{Type: header.NDISC_NEIGHBOUR_ADVERTISEMENT, Flags: flags, Target: addr16(target), Options: opts[:]})
	header.Icmp6hdr(b).SetChecksum(addr16(target), addr16(daddr))
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "ndisc_send_na %v is-at %x -> %v", target, dev.HWAddr, daddr)
	}
	n.icmpv6Xmit(skb, target, daddr, header.NDISC_NEIGHBOUR_ADVERTISEMENT, 255)
	skb.Free()
}

// ndiscRcv is ndisc_rcv: hop limit 255 and code 0 or the message is not
// from the link (RFC 4861 §7.1); NS and NA go on, router solicitations,
// advertisements and redirects are ignored by a host with static
// addresses and no router.
func (n *Net) ndiscRcv(skb *netdev.SkBuff, hdr header.Ipv6hdr, msg header.Icmp6hdr) {
	if hdr.HopLimit() != 255 || msg.Code() != 0 {
		return
	}
	switch msg.Type() {
	case header.NDISC_NEIGHBOUR_SOLICITATION:
		if m, ok := header.ParseNdMsg(msg); ok {
			n.ndiscRecvNs(skb.Dev, hdr.Src(), hdr.Dst(), m)
		}
	case header.NDISC_NEIGHBOUR_ADVERTISEMENT:
		if m, ok := header.ParseNdMsg(msg); ok {
			n.ndiscRecvNa(skb.Dev, hdr.Dst(), m)
		}
	}
}

// ndLladdr is the message's link-layer address option of type typ.
func ndLladdr(m header.NdMsg, typ uint8) ([6]byte, bool) {
	for it := m.Opts(); ; {
		o, ok := it.Next()
		if !ok {
			return [6]byte{}, false
		}
		if o.Type() == typ {
			return o.Lladdr()
		}
	}
}

// ndiscRecvNs is ndisc_recv_ns: an NS for one of our addresses is
// answered with a solicited NA, its sender learned from its link-layer
// option; one from :: is another node's DAD probe: for our tentative
// address it fails our DAD, for a usable one it gets an NA to all-nodes
// (RFC 4861 §7.2.4).
func (n *Net) ndiscRecvNs(dev *netdev.NetDevice, src, dst netip.Addr, m header.NdMsg) {
	target := m.TargetAddr()
	if target.IsMulticast() {
		return
	}
	dad := src.IsUnspecified()
	lladdr, hasLL := ndLladdr(m, header.ND_OPT_SOURCE_LL_ADDR)
	if dad && (hasLL || !header.Ipv6AddrIsSolictMult(addr16(dst))) {
		return // RFC 4861 §7.1.1
	}
	ifa := n.ipv6GetIfaddr(target)
	if ifa == nil || ifa.dev != dev {
		return
	}
	n.mu.RLock()
	tentative := ifa.flags&IFA_F_TENTATIVE != 0
	n.mu.RUnlock()
	if tentative {
		if dad {
			n.addrconfDadFailure(ifa, lladdr)
		}
		return
	}
	if dad {
		n.ndiscSendNa(netip.MustParseAddr("ff02::1"), target, dev, false)
		return
	}
	if hasLL && !n.ndTbl.NeighEventNs(dev, src, lladdr) {
		return // no room in nd_tbl: no entry, no NA (ndisc_recv_ns)
	}
	n.ndiscSendNa(src, target, dev, true)
}

// ndiscRecvNa is ndisc_recv_na: an advertisement updates the entry we
// hold for its target (none is created, RFC 4861 §7.2.5); one for our
// own address fails its DAD if it is tentative, and is logged otherwise.
func (n *Net) ndiscRecvNa(dev *netdev.NetDevice, dst netip.Addr, m header.NdMsg) {
	target := m.TargetAddr()
	if target.IsMulticast() || dst.IsMulticast() && m.Solicited() {
		return
	}
	lladdr, hasLL := ndLladdr(m, header.ND_OPT_TARGET_LL_ADDR)
	if ifa := n.ipv6GetIfaddr(target); ifa != nil {
		n.mu.RLock()
		tentative := ifa.flags&IFA_F_TENTATIVE != 0
		n.mu.RUnlock()
		if tentative {
			n.addrconfDadFailure(ifa, lladdr)
		} else if n.netRatelimit() {
			n.logf("ndisc: NA: %02x:%02x:%02x:%02x:%02x:%02x advertised our address %v on %s!",
				lladdr[0], lladdr[1], lladdr[2], lladdr[3], lladdr[4], lladdr[5], target, dev.Name)
		}
		return
	}
	if hasLL {
		n.ndTbl.NeighUpdate(dev, target, lladdr, false)
	}
}
