package header

import "encoding/binary"

// Icmp6hdr is struct icmp6hdr (RFC 4443 §2.1).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Identifier / Sequence (echo), MTU (packet too big), Pointer  |
//	|  (parameter problem), R|S|O flags (NA), unused (errors)       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Body: echo data, as much of the invoking packet as fits in   |
//	|  IPV6_MIN_MTU (errors), the ND target and options (NdMsg)     |
//
// The checksum covers the upper-layer pseudo-header (RFC 4443 §2.3), so
// the methods that compute it take the addresses.
type Icmp6hdr []byte

const (
	ICMP6Len = 8

	icmp6Type     = 0
	icmp6Code     = 1
	icmp6Cksum    = 2
	icmp6Data     = 4 // icmp6_dataun
	icmp6Sequence = 6

	// Error messages (types below 128, RFC 4443 §2.1).
	ICMPV6_DEST_UNREACH = 1
	ICMPV6_PKT_TOOBIG   = 2
	ICMPV6_TIME_EXCEED  = 3
	ICMPV6_PARAMPROB    = 4
	ICMPV6_ERRMSG_MAX   = 127
	ICMPV6_INFOMSG_MASK = 0x80

	// Informational messages.
	ICMPV6_ECHO_REQUEST  = 128
	ICMPV6_ECHO_REPLY    = 129
	ICMPV6_MGM_QUERY     = 130 // MLD query (RFC 2710, RFC 3810)
	ICMPV6_MGM_REPORT    = 131 // MLDv1 report
	ICMPV6_MGM_REDUCTION = 132 // MLDv1 done
	ICMPV6_MLD2_REPORT   = 143 // MLDv2 report (RFC 3810 §5.2)

	// Neighbour discovery (RFC 4861 §4; include/net/ndisc.h).
	NDISC_ROUTER_SOLICITATION     = 133
	NDISC_ROUTER_ADVERTISEMENT    = 134
	NDISC_NEIGHBOUR_SOLICITATION  = 135
	NDISC_NEIGHBOUR_ADVERTISEMENT = 136
	NDISC_REDIRECT                = 137

	// Codes for ICMPV6_DEST_UNREACH.
	ICMPV6_NOROUTE        = 0
	ICMPV6_ADM_PROHIBITED = 1
	ICMPV6_NOT_NEIGHBOUR  = 2 // beyond scope of source address
	ICMPV6_ADDR_UNREACH   = 3
	ICMPV6_PORT_UNREACH   = 4
	ICMPV6_POLICY_FAIL    = 5
	ICMPV6_REJECT_ROUTE   = 6

	// Codes for ICMPV6_TIME_EXCEED.
	ICMPV6_EXC_HOPLIMIT = 0
	ICMPV6_EXC_FRAGTIME = 1

	// Codes for ICMPV6_PARAMPROB.
	ICMPV6_HDR_FIELD   = 0
	ICMPV6_UNK_NEXTHDR = 1
	ICMPV6_UNK_OPTION  = 2
	ICMPV6_HDR_INCOMP  = 3 // first fragment without the whole chain, RFC 7112
)

// ParseIcmp6hdr checks that b holds the 8-byte ICMPv6 header. After ok no
// accessor panics; Payload is the rest of b. The checksum is not checked
// here: it needs the addresses (IsChecksumValid).
func ParseIcmp6hdr(b []byte) (Icmp6hdr, bool) {
	if len(b) < ICMP6Len {
		return nil, false
	}
	return Icmp6hdr(b), true
}

func (h Icmp6hdr) Type() uint8     { return h[icmp6Type] }
func (h Icmp6hdr) Code() uint8     { return h[icmp6Code] }
func (h Icmp6hdr) Cksum() uint16   { return binary.BigEndian.Uint16(h[icmp6Cksum:]) }
func (h Icmp6hdr) Data32() uint32  { return binary.BigEndian.Uint32(h[icmp6Data:]) }
func (h Icmp6hdr) Payload() []byte { return h[ICMP6Len:] }

// Identifier and Sequence are an echo's (RFC 4443 §4.1).
func (h Icmp6hdr) Identifier() uint16 { return binary.BigEndian.Uint16(h[icmp6Data:]) }
func (h Icmp6hdr) Sequence() uint16   { return binary.BigEndian.Uint16(h[icmp6Sequence:]) }

// Mtu is a packet too big's next-hop MTU (RFC 4443 §3.2), a whole 32-bit
// word unlike IPv4's.
func (h Icmp6hdr) Mtu() uint32 { return h.Data32() }

// Pointer is a parameter problem's offset of the fault in the invoking
// packet (RFC 4443 §3.4).
func (h Icmp6hdr) Pointer() uint32 { return h.Data32() }

// IsError reports an error message, which must never be answered with
// another (RFC 4443 §2.4 (e.1)).
func (h Icmp6hdr) IsError() bool { return h.Type()&ICMPV6_INFOMSG_MASK == 0 }

// IsChecksumValid verifies the checksum over the pseudo-header and the
// whole message, as icmpv6_rcv does.
func (h Icmp6hdr) IsChecksumValid(saddr, daddr [16]byte) bool {
	return Fold(Checksum(h, PseudoHeaderSum(saddr, daddr, NEXTHDR_ICMP, len(h)))) == 0
}

// SetType and SetData32 edit in place; call SetChecksum after.
func (h Icmp6hdr) SetType(t uint8)        { h[icmp6Type] = t }
func (h Icmp6hdr) SetData32(v uint32)     { binary.BigEndian.PutUint32(h[icmp6Data:], v) }
func (h Icmp6hdr) SetIdentifier(v uint16) { binary.BigEndian.PutUint16(h[icmp6Data:], v) }

// SetChecksum computes the checksum over the pseudo-header and the whole
// message (icmpv6_push_pending_frames).
func (h Icmp6hdr) SetChecksum(saddr, daddr [16]byte) {
	binary.BigEndian.PutUint16(h[icmp6Cksum:], 0)
	binary.BigEndian.PutUint16(h[icmp6Cksum:], Fold(Checksum(h, PseudoHeaderSum(saddr, daddr, NEXTHDR_ICMP, len(h)))))
}

// ICMP6Fields is what Encode writes. Data32 is the second word: for an
// echo Identifier<<16 | Sequence, the MTU, the pointer, or the NA flags
// (NdMsg's ND_* flags), as on the wire.
type ICMP6Fields struct {
	Type, Code uint8
	Data32     uint32
}

// Encode writes the header with a zero checksum; SetChecksum must follow
// once the body is in.
func (h Icmp6hdr) Encode(f ICMP6Fields) {
	h[icmp6Type] = f.Type
	h[icmp6Code] = f.Code
	binary.BigEndian.PutUint16(h[icmp6Cksum:], 0)
	binary.BigEndian.PutUint32(h[icmp6Data:], f.Data32)
}
