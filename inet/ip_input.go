package inet

import (
	"sockfs/inet/header"
	"sockfs/netdev"
)

// ipRcv is ip_rcv / ip_rcv_core / ip_rcv_finish: validate the header, trim
// link-layer padding, drop martians from a link (route_input.go), check the
// options, and deliver what is addressed to us. This host does not
// forward: a packet for another address is counted and dropped.
func (in *Net) ipRcv(skb *netdev.SkBuff) {
	in.mib.Ip.InReceives.Add(1)
	iph, perr := header.ParseIphdr(skb.Data())
	switch perr {
	case header.IPOk:
	case header.IPBadChecksum:
		in.mib.Ip.InHdrErrors.Add(1) // the kernel also counts IPSTATS_MIB_CSUMERRORS
		skb.Free()
		return
	case header.IPTruncated, header.IPBadTotLen:
		in.mib.Ip.InHdrErrors.Add(1) // InTruncatedPkts in the kernel's ext stats
		skb.Free()
		return
	default:
		in.mib.Ip.InHdrErrors.Add(1)
		skb.Free()
		return
	}
	skb.Trim(iph.TotLen()) // drop Ethernet padding
	skb.NetworkHeader = skb.Offset()

	dst := iph.Dst()
	// RTN_LOCAL or RTN_BROADCAST: addressed to this host.
	forUs := in.inetAddrIsLocal(dst) || in.inetAddrIsBroadcast(dst)
	if skb.Dev.Flags&netdev.IFF_LOOPBACK == 0 {
		if m := in.ipRouteInputMartian(iph.Src(), dst, forUs); m != martianNone {
			in.ipHandleMartian(m, skb, iph.Src(), dst)
			skb.Free()
			return
		}
	}
	switch {
	case forUs:
	case dst.IsMulticast():
		// No multicast groups are joined: nothing listens.
		skb.Free()
		return
	default:
		in.mib.Ip.InAddrErrors.Add(1)
		skb.Free()
		return
	}
	if iph.Ihl() > header.IPv4MinLen && in.ipRcvOptions(skb, iph) {
		skb.Free()
		return
	}
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "netif_receive_skb %s -> ip_rcv %v -> %v proto=%d len=%d", skb.Dev.Name, iph.Src(), dst, iph.Protocol(), iph.TotLen())
	}
	in.ipLocalDeliver(skb)
}

var bcastAll = ipv4(255, 255, 255, 255)

// ipLocalDeliver is ip_local_deliver / ip_local_deliver_finish: reassemble
// fragments, strip the IP header (its options, validated by ipRcv, are not
// acted on), and hand the payload to raw sockets and to the transport's
// handler; a protocol nobody handles gets ICMP protocol unreachable.
func (in *Net) ipLocalDeliver(skb *netdev.SkBuff) {
	if ipHdr(skb).IsFragment() {
		skb = in.ipDefrag(skb)
		if skb == nil {
			return
		}
	}
	iph := ipHdr(skb)
	protocol := iph.Protocol()
	skb.Pull(iph.Ihl())
	skb.TransportHeader = skb.Offset()

	raw := in.rawV4Input(skb, protocol)
	p := in.inetProtocol(protocol)
	if p == nil {
		if !raw {
			in.mib.Ip.InUnknownProtos.Add(1)
			in.icmpSend(skb, header.ICMP_DEST_UNREACH, header.ICMP_PROT_UNREACH, 0)
		} else {
			in.mib.Ip.InDelivers.Add(1)
		}
		skb.Free()
		return
	}
	in.mib.Ip.InDelivers.Add(1)
	p.Handler(skb)
}
