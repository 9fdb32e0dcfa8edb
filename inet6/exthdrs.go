package inet6

import (
	"sockfs/inet6/header"
	"sockfs/netdev"
)

// sysctlMaxOptsNumber is net.ipv6.max_dst_opts_number and
// max_hbh_opts_number (IP6_DEFAULT_MAX_DST_OPTS_CNT and _HBH_): the
// options other than padding one header may carry.
const sysctlMaxOptsNumber = 8

// ip6ParseTlv is ipv6_parse_hopopts / ipv6_destopt_rcv with ip6_parse_tlv:
// the options header at off is walked; padding must be padding (at most 7
// bytes in a row, PadN's bytes zero), at most max_hbh_opts_number or
// max_dst_opts_number options other than padding are taken (so a header
// of thousands of tiny options costs no more than eight), known options
// are skipped (Router Alert in hop-by-hop), and an unknown one is handled
// by its type's two high bits (RFC 8200 §4.2, ip6_tlvopt_unknown). It
// returns the next header and the header's length, or false when the
// packet was dropped (skb still the caller's to free).
func (n *Net) ip6ParseTlv(skb *netdev.SkBuff, off int, hopByHop bool) (uint8, int, bool) {
	pkt := skb.Data()
	h, ok := header.ParseIpv6OptHdr(pkt[off:])
	if !ok {
		n.mib.inc(ip6InHdrErrors)
		return 0, 0, false
	}
	dst := header.Ipv6hdr(pkt).Dst()
	padlen, tlvCount := 0, 0
	for it := h.Opts(); ; {
		o, ok := it.Next()
		if !ok {
			if it.Malformed() {
				n.mib.inc(ip6InHdrErrors)
				return 0, 0, false
			}
			break
		}
		if o.IsPad() {
			padlen += o.Len()
			if padlen > 7 {
				n.mib.inc(ip6InHdrErrors)
				return 0, 0, false
			}
			for _, c := range o.Data {
				if c != 0 {
					n.mib.inc(ip6InHdrErrors)
					return 0, 0, false
				}
			}
			continue
		}
		padlen = 0
		if tlvCount++; tlvCount > sysctlMaxOptsNumber {
			n.mib.inc(ip6InHdrErrors)
			return 0, 0, false
		}
		if hopByHop && o.Type == header.IPV6_TLV_ROUTERALERT && len(o.Data) == 2 {
			continue
		}
		switch o.Action() {
		case header.Ipv6OptSkip:
			continue
		case header.Ipv6OptDiscard:
		case header.Ipv6OptDiscardICMPUnlessMulticast:
			if dst.IsMulticast() {
				break
			}
			fallthrough
		case header.Ipv6OptDiscardICMP:
			n.icmpv6ParamProb(skb, header.ICMPV6_UNK_OPTION, off+o.Off)
		}
		n.mib.inc(ip6InHdrErrors)
		return 0, 0, false
	}
	return h.Nexthdr(), h.Len(), true
}

// ipv6RthdrRcv is ipv6_rthdr_rcv for a host: a routing header with no
// segments left is skipped; one that would have us route further is of a
// type we do not process (type 0 is deprecated, RFC 5095 §3; a host
// forwards none), answered with parameter problem, erroneous header
// field, at the routing type.
func (n *Net) ipv6RthdrRcv(skb *netdev.SkBuff, off int) (uint8, int, bool) {
	h, ok := header.ParseIpv6RtHdr(skb.Data()[off:])
	if !ok {
		n.mib.inc(ip6InHdrErrors)
		return 0, 0, false
	}
	if h.SegmentsLeft() == 0 {
		return h.Nexthdr(), h.Len(), true
	}
	n.mib.inc(ip6InHdrErrors)
	n.icmpv6ParamProb(skb, header.ICMPV6_HDR_FIELD, off+2)
	return 0, 0, false
}
