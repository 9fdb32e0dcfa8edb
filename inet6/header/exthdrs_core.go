package header

import "encoding/binary"

// IP6_MAX_EXT_HDRS_CNT bounds the extension headers a walk crosses
// (include/net/ipv6.h): without it a 64 KiB packet of 8-byte headers costs
// 8000 steps. RFC 8200 §4.1's occurrence rules allow about 8; Linux leaves
// room for odd setups.
const IP6_MAX_EXT_HDRS_CNT = 12

// Ipv6ExtHdr is ipv6_ext_hdr: whether nexthdr names an extension header
// that a walk steps over (NEXTHDR_NONE included, as the end of one) rather
// than an upper-layer protocol. ESP is upper-layer here, as in Linux.
func Ipv6ExtHdr(nexthdr uint8) bool {
	switch nexthdr {
	case NEXTHDR_HOP, NEXTHDR_ROUTING, NEXTHDR_FRAGMENT, NEXTHDR_AUTH, NEXTHDR_NONE, NEXTHDR_DEST:
		return true
	}
	return false
}

// ExthdrError says why Ipv6SkipExthdr stopped short of the upper layer.
type ExthdrError int

const (
	ExthdrOk        ExthdrError = iota
	ExthdrTruncated             // the header at Off runs past the bytes
	ExthdrTooMany               // the header at Off would be the 13th
)

func (e ExthdrError) String() string {
	switch e {
	case ExthdrOk:
		return "ok"
	case ExthdrTruncated:
		return "truncated extension header"
	case ExthdrTooMany:
		return "too many extension headers"
	}
	return "ExthdrError(?)"
}

// Exthdrs is where Ipv6SkipExthdr stopped. Offsets count from the start of
// the bytes after the fixed header.
type Exthdrs struct {
	// Nexthdr is the upper-layer protocol; NEXTHDR_NONE when the chain
	// says no header follows (RFC 8200 §4.7); NEXTHDR_FRAGMENT for a
	// fragment other than the first, whose upper-layer header travels in
	// another packet (then Off is the fragment header's). After an error
	// it is the type of the header the walk could not cross.
	Nexthdr uint8
	// Off is where the header Nexthdr names starts.
	Off int
	// NhOff is the offset of the byte that holds Nexthdr, or -1 when that
	// is the fixed header's next-header field (NexthdrPtr).
	NhOff int
	// FragOff is the frag_off of the last fragment header crossed (Linux's
	// *frag_offp), 0 when none was.
	FragOff uint16
	// Count is the number of extension headers crossed.
	Count int
}

// NexthdrPtr is the offset of the byte that holds Nexthdr from the start of
// the IPv6 header: the pointer of a parameter problem, code 1
// (ICMPV6_UNK_NEXTHDR), for a protocol nobody handles, as
// ip6_protocol_deliver_rcu's nhoff.
func (x Exthdrs) NexthdrPtr() int {
	if x.NhOff < 0 {
		return Ip6NexthdrOff
	}
	return IPv6Len + x.NhOff
}

// Ipv6SkipExthdr is ipv6_skip_exthdr (net/ipv6/exthdrs_core.c): given the
// fixed header's next header and the bytes after the fixed header (its
// Payload, or the quoted packet of an ICMPv6 error), it steps over the
// extension headers to the upper-layer protocol. It walks as Linux does:
// hop-by-hop, routing and destination options by their Hdr Ext Len, the
// authentication header by its own unit (RFC 4302 §2.2), the first fragment
// header by its 8 bytes, stopping at a fragment with a non-zero offset; it
// judges no header's contents nor their order (a hop-by-hop header past the
// first place, RFC 8200 §4.1, is the input path's to refuse). Two things
// are stricter than Linux's, which reads only each header's first bytes:
// every header crossed must be whole (ExthdrTruncated, with Off at the one
// that is not: for a first fragment, the incomplete chain of RFC 7112), and
// at most IP6_MAX_EXT_HDRS_CNT are crossed (ExthdrTooMany). It never reads
// outside b nor allocates.
func Ipv6SkipExthdr(nexthdr uint8, b []byte) (Exthdrs, ExthdrError) {
	x := Exthdrs{Nexthdr: nexthdr, NhOff: -1}
	for Ipv6ExtHdr(x.Nexthdr) && x.Nexthdr != NEXTHDR_NONE {
		if x.Count >= IP6_MAX_EXT_HDRS_CNT {
			return x, ExthdrTooMany
		}
		rest := b[x.Off:]
		if len(rest) < 2 {
			return x, ExthdrTruncated
		}
		var n int
		switch x.Nexthdr {
		case NEXTHDR_FRAGMENT:
			if len(rest) < Frag6Len {
				return x, ExthdrTruncated
			}
			x.FragOff = binary.BigEndian.Uint16(rest[fragFragOff:])
			if x.FragOff&IP6_OFFSET != 0 {
				return x, ExthdrOk
			}
			n = Frag6Len
		case NEXTHDR_AUTH:
			n = (int(rest[exthdrHdrlen]) + 2) * 4
		default:
			n = ipv6Optlen(rest)
		}
		if n > len(rest) {
			return x, ExthdrTruncated
		}
		x.NhOff = x.Off + exthdrNexthdr
		x.Nexthdr = rest[exthdrNexthdr]
		x.Off += n
		x.Count++
	}
	return x, ExthdrOk
}
