package header

import "encoding/binary"

// Ipv6OptHdr is struct ipv6_opt_hdr: a hop-by-hop (RFC 8200 §4.3) or
// destination options header (§4.6), a list of TLV options (§4.2).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |  Hdr Ext Len  |                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
//	|                                                               |
//	.                                                               .
//	.                            Options                            .
//	.                                                               .
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Hdr Ext Len counts 8-octet units after the first 8 (ipv6_optlen).
type Ipv6OptHdr []byte

const (
	// Ipv6OptHdrMinLen is the smallest extension header: one 8-octet unit.
	Ipv6OptHdrMinLen = 8

	exthdrNexthdr = 0
	exthdrHdrlen  = 1
	// The options start after the next-header and length bytes.
	optHdrOptions = 2

	// TLV option types (include/uapi/linux/in6.h IPV6_TLV_*).
	IPV6_TLV_PAD1            = 0
	IPV6_TLV_PADN            = 1
	IPV6_TLV_TNL_ENCAP_LIMIT = 4   // RFC 2473
	IPV6_TLV_ROUTERALERT     = 5   // RFC 2711
	IPV6_TLV_CALIPSO         = 7   // RFC 5570
	IPV6_TLV_IOAM            = 49  // RFC 9486
	IPV6_TLV_JUMBO           = 194 // RFC 2675
	IPV6_TLV_HAO             = 201 // RFC 6275
)

// ipv6Optlen is ipv6_optlen: the whole header's length in bytes, for
// options and routing headers alike.
func ipv6Optlen(b []byte) int { return (int(b[exthdrHdrlen]) + 1) * 8 }

// ParseIpv6OptHdr checks that b holds a whole options header: at least its
// two first bytes and the (Hdr Ext Len + 1) * 8 bytes they announce. The
// view is exactly that long. After ok no accessor panics, and walking
// Opts never reads past the header.
func ParseIpv6OptHdr(b []byte) (Ipv6OptHdr, bool) {
	if len(b) < 2 || ipv6Optlen(b) > len(b) {
		return nil, false
	}
	return Ipv6OptHdr(b[:ipv6Optlen(b)]), true
}

func (h Ipv6OptHdr) Nexthdr() uint8 { return h[exthdrNexthdr] }
func (h Ipv6OptHdr) HdrLen() uint8  { return h[exthdrHdrlen] }

// Len is the header's length in bytes.
func (h Ipv6OptHdr) Len() int        { return ipv6Optlen(h) }
func (h Ipv6OptHdr) Options() []byte { return h[optHdrOptions:h.Len()] }

// Opts iterates over the options, as ip6_parse_tlv walks them.
func (h Ipv6OptHdr) Opts() Ipv6OptIter { return Ipv6OptIter{h: h, off: optHdrOptions} }

// Ipv6OptHdrFields is what Encode writes. Options must fill the header to a
// multiple of 8 bytes: len(Options)+2 = (HdrLen+1)*8.
type Ipv6OptHdrFields struct {
	Nexthdr uint8
	Options []byte
}

// Encode writes f into h, which must hold 2+len(f.Options) bytes.
func (h Ipv6OptHdr) Encode(f Ipv6OptHdrFields) {
	h[exthdrNexthdr] = f.Nexthdr
	h[exthdrHdrlen] = uint8((optHdrOptions+len(f.Options))/8 - 1)
	copy(h[optHdrOptions:], f.Options)
}

// Ipv6OptAction is what the two high bits of an option's type tell a node
// that does not know the option to do (RFC 8200 §4.2; ip6_tlvopt_unknown).
type Ipv6OptAction uint8

const (
	// Skip the option and go on with the header.
	Ipv6OptSkip Ipv6OptAction = 0
	// Discard the packet silently.
	Ipv6OptDiscard Ipv6OptAction = 1
	// Discard, and send a parameter problem, code 2 (ICMPV6_UNK_OPTION),
	// pointing at the option's type, whatever the destination.
	Ipv6OptDiscardICMP Ipv6OptAction = 2
	// Discard, and send the parameter problem only if the destination
	// was not a multicast address.
	Ipv6OptDiscardICMPUnlessMulticast Ipv6OptAction = 3
)

func (a Ipv6OptAction) String() string {
	switch a {
	case Ipv6OptSkip:
		return "skip"
	case Ipv6OptDiscard:
		return "discard"
	case Ipv6OptDiscardICMP:
		return "discard+icmp"
	case Ipv6OptDiscardICMPUnlessMulticast:
		return "discard+icmp-unless-multicast"
	}
	return "Ipv6OptAction(?)"
}

// Ipv6Opt is one TLV option of an options header.
type Ipv6Opt struct {
	Type uint8
	// Off is the offset of the option's type byte from the start of the
	// extension header: a parameter problem's pointer is the header's
	// offset in the packet plus Off.
	Off int
	// Data is the option's value: empty for Pad1, the padding bytes for
	// PadN (RFC 8200 §4.2 wants them zero; ip6_parse_tlv checks).
	Data []byte
}

// Action is the option's unrecognized-option action, its type's two high
// bits.
func (o Ipv6Opt) Action() Ipv6OptAction { return Ipv6OptAction(o.Type >> 6) }

// MayChange reports the third-highest bit of the type: the option's data
// may change en route, so it counts as zero in an authentication value.
func (o Ipv6Opt) MayChange() bool { return o.Type&0x20 != 0 }

// IsPad reports Pad1 and PadN, which ip6_parse_tlv counts as padding (at
// most 7 bytes in a row) rather than as options.
func (o Ipv6Opt) IsPad() bool { return o.Type == IPV6_TLV_PAD1 || o.Type == IPV6_TLV_PADN }

// Len is the option's length in bytes, type and length bytes included.
func (o Ipv6Opt) Len() int {
	if o.Type == IPV6_TLV_PAD1 {
		return 1
	}
	return 2 + len(o.Data)
}

// Ipv6OptIter walks an options header's TLVs. It is a value, so a walk
// allocates nothing:
//
//	for it := h.Opts(); ; {
//		o, ok := it.Next()
//		if !ok {
//			if it.Malformed() { drop }
//			break
//		}
//		...
//	}
type Ipv6OptIter struct {
	h   Ipv6OptHdr
	off int
	bad bool
}

// Next returns the next option, or false at the end of the header or at an
// option whose length runs past it.
func (it *Ipv6OptIter) Next() (Ipv6Opt, bool) {
	if it.bad || it.off >= len(it.h) {
		return Ipv6Opt{}, false
	}
	off := it.off
	t := it.h[off]
	if t == IPV6_TLV_PAD1 {
		it.off++
		return Ipv6Opt{Type: t, Off: off, Data: it.h[off+1 : off+1]}, true
	}
	if off+2 > len(it.h) || off+2+int(it.h[off+1]) > len(it.h) {
		it.bad = true
		return Ipv6Opt{}, false
	}
	end := off + 2 + int(it.h[off+1])
	it.off = end
	return Ipv6Opt{Type: t, Off: off, Data: it.h[off+2 : end]}, true
}

// Malformed reports that the walk stopped at an option whose length (or
// length byte) runs past the header, at offset Off; ip6_parse_tlv drops
// such a packet without an ICMPv6 error.
func (it *Ipv6OptIter) Malformed() bool { return it.bad }

// Off is where the walk stands: the offset of the next option, or of the
// malformed one.
func (it *Ipv6OptIter) Off() int { return it.off }

// Ipv6RtHdr is struct ipv6_rt_hdr, the routing header (RFC 8200 §4.4).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |  Hdr Ext Len  |  Routing Type | Segments Left |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	.                                                               .
//	.                       type-specific data                      .
//	.                                                               .
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// A host knows no routing type: RFC 8200 §4.4 ignores a header with
// Segments Left 0 and answers any other with a parameter problem, code 0,
// pointing at the Routing Type (RtHdrTypeOff); RFC 5095 makes that the
// rule for type 0 too.
type Ipv6RtHdr []byte

const (
	rtType         = 2
	rtSegmentsLeft = 3
	rtData         = 4

	// RtHdrTypeOff is the Routing Type's offset in the header, for the
	// parameter problem's pointer.
	RtHdrTypeOff = rtType

	// Routing types (include/uapi/linux/ipv6.h IPV6_SRCRT_*).
	IPV6_SRCRT_TYPE_0 = 0 // deprecated by RFC 5095
	IPV6_SRCRT_TYPE_2 = 2 // Mobile IPv6, RFC 6275
	IPV6_SRCRT_TYPE_3 = 3 // RPL, RFC 6554
	IPV6_SRCRT_TYPE_4 = 4 // segment routing, RFC 8754
)

// ParseIpv6RtHdr checks that b holds a whole routing header: its four
// first bytes and the (Hdr Ext Len + 1) * 8 bytes announced. The view is
// exactly that long. After ok no accessor panics.
func ParseIpv6RtHdr(b []byte) (Ipv6RtHdr, bool) {
	if len(b) < rtData || ipv6Optlen(b) > len(b) {
		return nil, false
	}
	return Ipv6RtHdr(b[:ipv6Optlen(b)]), true
}

func (h Ipv6RtHdr) Nexthdr() uint8      { return h[exthdrNexthdr] }
func (h Ipv6RtHdr) HdrLen() uint8       { return h[exthdrHdrlen] }
func (h Ipv6RtHdr) Len() int            { return ipv6Optlen(h) }
func (h Ipv6RtHdr) Type() uint8         { return h[rtType] }
func (h Ipv6RtHdr) SegmentsLeft() uint8 { return h[rtSegmentsLeft] }
func (h Ipv6RtHdr) Data() []byte        { return h[rtData:h.Len()] }

// Ipv6RtHdrFields is what Encode writes. Data fills the header to a multiple
// of 8 bytes: len(Data)+4 = (HdrLen+1)*8.
type Ipv6RtHdrFields struct {
	Nexthdr      uint8
	Type         uint8
	SegmentsLeft uint8
	Data         []byte
}

// Encode writes f into h, which must hold 4+len(f.Data) bytes.
func (h Ipv6RtHdr) Encode(f Ipv6RtHdrFields) {
	h[exthdrNexthdr] = f.Nexthdr
	h[exthdrHdrlen] = uint8((rtData+len(f.Data))/8 - 1)
	h[rtType] = f.Type
	h[rtSegmentsLeft] = f.SegmentsLeft
	copy(h[rtData:], f.Data)
}

// Frag6hdr is struct frag_hdr, the fragment header (RFC 8200 §4.5).
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Identification                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The offset counts 8-octet units in the high 13 bits, so the 16-bit
// field masked with IP6_OFFSET is the offset in bytes.
type Frag6hdr []byte

const (
	Frag6Len = 8

	fragNexthdr  = 0
	fragReserved = 1
	fragFragOff  = 2
	fragID       = 4

	// Parts of frag_off (host order; include/net/ipv6.h).
	IP6_OFFSET = 0xfff8
	IP6_MF     = 0x0001
)

// ParseFrag6hdr checks that b holds the 8-byte fragment header. After ok no
// accessor panics; the view is the header alone, the fragment's data being
// what follows it in the packet.
func ParseFrag6hdr(b []byte) (Frag6hdr, bool) {
	if len(b) < Frag6Len {
		return nil, false
	}
	return Frag6hdr(b[:Frag6Len]), true
}

func (h Frag6hdr) Nexthdr() uint8         { return h[fragNexthdr] }
func (h Frag6hdr) FragOff() uint16        { return binary.BigEndian.Uint16(h[fragFragOff:]) }
func (h Frag6hdr) Identification() uint32 { return binary.BigEndian.Uint32(h[fragID:]) }

// Offset is the fragment's offset in bytes.
func (h Frag6hdr) Offset() int { return int(h.FragOff() & IP6_OFFSET) }

// MoreFragments reports the M flag.
func (h Frag6hdr) MoreFragments() bool { return h.FragOff()&IP6_MF != 0 }

// IsAtomic reports an atomic fragment (RFC 6946): offset 0 and no M flag,
// a whole packet that ipv6_frag_rcv hands on without reassembly.
func (h Frag6hdr) IsAtomic() bool { return h.FragOff()&(IP6_OFFSET|IP6_MF) == 0 }

// Frag6Fields is what Encode writes. FragOff is frag_off as on the wire:
// the offset in bytes (a multiple of 8) ORed with IP6_MF.
type Frag6Fields struct {
	Nexthdr        uint8
	FragOff        uint16
	Identification uint32
}

// Encode writes f into h (Frag6Len bytes) with the reserved fields zero,
// as a sender must (RFC 8200 §4.5).
func (h Frag6hdr) Encode(f Frag6Fields) {
	h[fragNexthdr] = f.Nexthdr
	h[fragReserved] = 0
	binary.BigEndian.PutUint16(h[fragFragOff:], f.FragOff&(IP6_OFFSET|IP6_MF))
	binary.BigEndian.PutUint32(h[fragID:], f.Identification)
}
