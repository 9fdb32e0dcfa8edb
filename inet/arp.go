package inet

import (
	"net/netip"

	"sockfs/inet/header"
	"sockfs/netdev"
)

// arpInit is arp_init: arp_tbl on the neighbour core, with ARP's
// constructor, solicit and error report.
func (in *Net) arpInit() {
	in.arp.NeighTableInit(netdev.ETH_P_IP, NeighOps{
		Constructor: in.arpConstructor,
		Solicit:     in.arpSolicit,
		ErrorReport: in.arpErrorReport,
		Xmit:        in.devQueueXmit,
		Overflow:    func() { in.neighOverflow("arp_cache") },
	}, in.clock)
}

// neighOutput is IPv4's way out to the link: arp_tbl's neigh_output.
func (in *Net) neighOutput(dev *netdev.NetDevice, nexthop netip.Addr, skb *netdev.SkBuff) error {
	return in.arp.NeighOutput(dev, nexthop, skb)
}

// neighOverflow is neigh_alloc's line when the table named id (tbl->id)
// is full, rate limited as net_info_ratelimited.
func (in *Net) neighOverflow(id string) {
	if in.netRatelimit() {
		in.logf("%s: neighbor table overflow!", id)
	}
}

// neighUpdate is neigh_update on arp_tbl.
func (in *Net) neighUpdate(dev *netdev.NetDevice, addr netip.Addr, ha [6]byte, create bool) {
	in.arp.NeighUpdate(dev, addr, ha, create)
}

// arpConstructor is arp_constructor's NUD_NOARP cases: the limited and
// the device's directed broadcasts go to the link broadcast, multicast
// groups to their mapped address (arp_mc_map).
func (in *Net) arpConstructor(dev *netdev.NetDevice, key netip.Addr) ([6]byte, bool) {
	if key == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || in.inetAddrIsBroadcast(key) {
		return dev.Broadcast, true
	}
	if key.IsMulticast() {
		return ipEthMcMap(key), true
	}
	return [6]byte{}, false
}

// arpSolicit is arp_solicit: a broadcast request, or a unicast one to the
// address we hold while re-confirming it.
func (in *Net) arpSolicit(dev *netdev.NetDevice, key netip.Addr, ha [6]byte, unicast bool) {
	if unicast {
		in.arpSend(header.ARPOP_REQUEST, dev, key, ha, ha)
		return
	}
	in.arpSend(header.ARPOP_REQUEST, dev, key, netdev.EthBroadcast, [6]byte{})
}

// arpErrorReport is arp_error_report: ip_link_failure for each packet
// that waited in vain.
func (in *Net) arpErrorReport(skb *netdev.SkBuff) {
	in.ipLinkFailure(skb)
}

// arpSend is arp_send: build and transmit one ARP packet from dev's
// address.
func (in *Net) arpSend(op uint16, dev *netdev.NetDevice, tip netip.Addr, dst, tha [6]byte) {
	sip := in.devAddr(dev)
	if !sip.IsValid() {
		return
	}
	skb := netdev.AllocSkb(header.ARPLen)
	header.Arphdr(skb.Put(header.ARPLen)).Encode(header.ARPFields{
		Op: op, Sha: dev.HWAddr, Sip: sip.As4(), Tha: tha, Tip: tip.As4(),
	})
	netdev.EthHeaderPush(skb, dst, dev.HWAddr, netdev.ETH_P_ARP)
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "arp_send op=%d who-has %v tell %v -> dev_queue_xmit %s", op, tip, sip, dev.Name)
	}
	in.devQueueXmit(dev, skb)
	skb.Free()
}

// arpRcv is arp_rcv / arp_process: answer requests for our addresses and
// learn from both requests and replies (RFC 826's merge rule).
func (in *Net) arpRcv(skb *netdev.SkBuff) {
	defer skb.Free()
	arp, ok := header.ParseArphdr(skb.Data())
	if !ok {
		return
	}
	dev := skb.Dev
	sip := netip.AddrFrom4(arp.Sip())
	tip := netip.AddrFrom4(arp.Tip())
	sha := arp.Sha()
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "netif_receive_skb %s -> arp_rcv op=%d %v is-at %x for %v", dev.Name, arp.Op(), sip, sha, tip)
	}
	if sha[0]&1 != 0 || sip.IsUnspecified() && arp.Op() != header.ARPOP_REQUEST {
		return // a multicast sender address is bogus
	}
	if !sip.IsUnspecified() && in.inetLookupIfaddr(sip) {
		// Someone claims one of our addresses. Linux never lets it into
		// the table (arp_process's ip_route_input_noref fails on the
		// martian source, and no entry for our own address exists to
		// update); we also say so, rate-limited.
		if in.netRatelimit() {
			in.logf("arp: %s on %s claims our address %v", llHeader(sha[:]), dev.Name, sip)
		}
		return
	}
	ours := in.devOwnsAddr(dev, tip)
	switch arp.Op() {
	case header.ARPOP_REQUEST:
		if !ours {
			// Not for us; still refresh an entry we have (merge flag).
			in.neighUpdate(dev, sip, sha, false)
			return
		}
		if !sip.IsUnspecified() { // not a duplicate-address probe
			in.neighUpdate(dev, sip, sha, true)
		}
		reply := netdev.AllocSkb(header.ARPLen)
		header.Arphdr(reply.Put(header.ARPLen)).Encode(header.ARPFields{
			Op: header.ARPOP_REPLY, Sha: dev.HWAddr, Sip: tip.As4(), Tha: sha, Tip: sip.As4(),
		})
		netdev.EthHeaderPush(reply, sha, dev.HWAddr, netdev.ETH_P_ARP)
		in.devQueueXmit(dev, reply)
		reply.Free()
	case header.ARPOP_REPLY:
		in.neighUpdate(dev, sip, sha, ours)
	}
}

// devQueueXmit is the IP side's call of dev_queue_xmit, with the trace line
// closing each output chain.
func (in *Net) devQueueXmit(dev *netdev.NetDevice, skb *netdev.SkBuff) error {
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "dev_queue_xmit %s len=%d", dev.Name, skb.Len())
	}
	return dev.DevQueueXmit(skb)
}

// ipEthMcMap is ip_eth_mc_map (arp_mc_map): a group's Ethernet address is
// 01:00:5e and the group's low 23 bits (RFC 1112 §6.4); no ARP is needed.
func ipEthMcMap(group netip.Addr) [6]byte {
	a := group.As4()
	return [6]byte{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}
}
