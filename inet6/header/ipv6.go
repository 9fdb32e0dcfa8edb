package header

import (
	"encoding/binary"
	"net/netip"

	inethdr "sockfs/inet/header"
)

// Ipv6hdr is struct ipv6hdr (RFC 8200 §3).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version| Traffic Class |           Flow Label                  |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Payload Length        |  Next Header  |   Hop Limit   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                         Source Address                        +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                      Destination Address                      +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Ipv6hdr []byte

const (
	IPv6Len = 40
	// IPV6_MIN_MTU is the link MTU every IPv6 link must carry (RFC 8200 §5).
	IPV6_MIN_MTU = 1280

	ip6VerTcFl    = 0
	ip6PayloadLen = 4
	ip6Nexthdr    = 6
	ip6HopLimit   = 7
	ip6Saddr      = 8
	ip6Daddr      = 24

	// Ip6NexthdrOff is the offset of the fixed header's next-header byte:
	// the pointer of a parameter problem about the first next header.
	Ip6NexthdrOff = ip6Nexthdr

	ip6FlowLabelMask = 0x000fffff
)

// Next-header values (include/net/ipv6.h NEXTHDR_*; IANA protocol numbers).
const (
	NEXTHDR_HOP      = 0   // hop-by-hop options (RFC 8200 §4.3)
	NEXTHDR_IPV4     = 4   // IPv4 in IPv6
	NEXTHDR_TCP      = 6   // TCP segment
	NEXTHDR_UDP      = 17  // UDP message
	NEXTHDR_IPV6     = 41  // IPv6 in IPv6
	NEXTHDR_ROUTING  = 43  // routing header (RFC 8200 §4.4)
	NEXTHDR_FRAGMENT = 44  // fragmentation/reassembly header (RFC 8200 §4.5)
	NEXTHDR_GRE      = 47  // GRE header
	NEXTHDR_ESP      = 50  // encapsulating security payload
	NEXTHDR_AUTH     = 51  // authentication header (RFC 4302)
	NEXTHDR_ICMP     = 58  // ICMPv6 message
	NEXTHDR_NONE     = 59  // no next header (RFC 8200 §4.7)
	NEXTHDR_DEST     = 60  // destination options (RFC 8200 §4.6)
	NEXTHDR_SCTP     = 132 // SCTP message
	NEXTHDR_MOBILITY = 135 // mobility header (RFC 6275)
)

// IPv6 parse results: why ParseIpv6hdr refused a header, so ipv6_rcv can
// count each in the counter Linux uses.
type IPv6Error int

const (
	IPv6Ok            IPv6Error = iota
	IPv6Truncated               // shorter than 40 bytes (Ip6InHdrErrors)
	IPv6BadVersion              // version is not 6 (Ip6InHdrErrors)
	IPv6BadPayloadLen           // 40 + payload_len beyond the bytes present (Ip6InTruncatedPkts)
)

func (e IPv6Error) String() string {
	switch e {
	case IPv6Ok:
		return "ok"
	case IPv6Truncated:
		return "truncated"
	case IPv6BadVersion:
		return "bad version"
	case IPv6BadPayloadLen:
		return "bad payload length"
	}
	return "IPv6Error(?)"
}

// ParseIpv6hdr checks b as ipv6_rcv does: 40 bytes present, version 6, and
// the payload length within the bytes; the view stops at 40 + payload_len,
// dropping link-layer padding (pskb_trim_rcsum). A payload length of 0 is
// taken as an empty payload: jumbograms (RFC 2675), which need a link MTU
// above 65575, are not supported. After IPv6Ok no accessor panics, and
// Payload is exactly PayloadLen bytes.
func ParseIpv6hdr(b []byte) (Ipv6hdr, IPv6Error) {
	if len(b) < IPv6Len {
		return nil, IPv6Truncated
	}
	if b[ip6VerTcFl]>>4 != 6 {
		return nil, IPv6BadVersion
	}
	n := IPv6Len + int(binary.BigEndian.Uint16(b[ip6PayloadLen:]))
	if n > len(b) {
		return nil, IPv6BadPayloadLen
	}
	return Ipv6hdr(b[:n]), IPv6Ok
}

func (h Ipv6hdr) Version() uint8  { return h[ip6VerTcFl] >> 4 }
func (h Ipv6hdr) PayloadLen() int { return int(binary.BigEndian.Uint16(h[ip6PayloadLen:])) }
func (h Ipv6hdr) Nexthdr() uint8  { return h[ip6Nexthdr] }
func (h Ipv6hdr) HopLimit() uint8 { return h[ip6HopLimit] }
func (h Ipv6hdr) Saddr() [16]byte { return [16]byte(h[ip6Saddr : ip6Saddr+16]) }
func (h Ipv6hdr) Daddr() [16]byte { return [16]byte(h[ip6Daddr : ip6Daddr+16]) }
func (h Ipv6hdr) Src() netip.Addr { return netip.AddrFrom16(h.Saddr()) }
func (h Ipv6hdr) Dst() netip.Addr { return netip.AddrFrom16(h.Daddr()) }
func (h Ipv6hdr) Payload() []byte { return h[IPv6Len : IPv6Len+h.PayloadLen()] }

// TrafficClass is the 8 bits after the version (RFC 8200 §7): DSCP and
// ECN, as ipv6_get_dsfield reads them.
func (h Ipv6hdr) TrafficClass() uint8 {
	return uint8(binary.BigEndian.Uint16(h[ip6VerTcFl:]) >> 4)
}

// FlowLabel is the low 20 bits of the first word (RFC 6437).
func (h Ipv6hdr) FlowLabel() uint32 {
	return binary.BigEndian.Uint32(h[ip6VerTcFl:]) & ip6FlowLabelMask
}

// SetHopLimit and friends edit a header in place; IPv6 has no header
// checksum to fix afterwards (RFC 8200 §8.1 moved it to the upper layer).
func (h Ipv6hdr) SetHopLimit(n uint8) { h[ip6HopLimit] = n }
func (h Ipv6hdr) SetPayloadLen(n int) { binary.BigEndian.PutUint16(h[ip6PayloadLen:], uint16(n)) }
func (h Ipv6hdr) SetNexthdr(p uint8)  { h[ip6Nexthdr] = p }
func (h Ipv6hdr) SetSaddr(a [16]byte) { copy(h[ip6Saddr:], a[:]) }
func (h Ipv6hdr) SetDaddr(a [16]byte) { copy(h[ip6Daddr:], a[:]) }

// IPv6Fields is what Encode writes. FlowLabel keeps its low 20 bits.
type IPv6Fields struct {
	TrafficClass uint8
	FlowLabel    uint32
	PayloadLen   int
	Nexthdr      uint8
	HopLimit     uint8
	Saddr        [16]byte
	Daddr        [16]byte
}

// Encode writes f into h, which must hold IPv6Len bytes (ip6_flow_hdr and
// the rest of ip6_xmit's header).
func (h Ipv6hdr) Encode(f IPv6Fields) {
	binary.BigEndian.PutUint32(h[ip6VerTcFl:], 6<<28|uint32(f.TrafficClass)<<20|f.FlowLabel&ip6FlowLabelMask)
	binary.BigEndian.PutUint16(h[ip6PayloadLen:], uint16(f.PayloadLen))
	h[ip6Nexthdr] = f.Nexthdr
	h[ip6HopLimit] = f.HopLimit
	copy(h[ip6Saddr:], f.Saddr[:])
	copy(h[ip6Daddr:], f.Daddr[:])
}

// PseudoHeaderSum is csum_ipv6_magic before its fold: the sum of the
// upper-layer pseudo-header (RFC 8200 §8.1) for an upper-layer packet of n
// bytes of protocol nexthdr (TCP, UDP or ICMPv6, never an extension
// header's type). Chain it into inet/header's Checksum over the packet and
// Fold the result, as for IPv4.
func PseudoHeaderSum(saddr, daddr [16]byte, nexthdr uint8, n int) uint32 {
	sum := inethdr.Checksum(saddr[:], 0)
	sum = inethdr.Checksum(daddr[:], sum)
	// The 32-bit length and the zero-padded next header, as two words each.
	return sum + uint32(n)>>16 + uint32(n)&0xffff + uint32(nexthdr)
}

// Checksum and Fold are inet/header's, here so that upper-layer code that
// speaks IPv6 needs one import.
func Checksum(b []byte, initial uint32) uint32 { return inethdr.Checksum(b, initial) }
func Fold(sum uint32) uint16                   { return inethdr.Fold(sum) }
