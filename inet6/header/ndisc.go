package header

import (
	"encoding/binary"
	"net/netip"
)

// NdMsg is struct nd_msg: a neighbour solicitation (RFC 4861 §4.3) or
// advertisement (§4.4), an ICMPv6 header followed by the target address and
// the options.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|R|S|O|                     Reserved                            |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+                       Target Address                          +
//	|                                                               |
//	+                                                               +
//	|                                                               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Options ...
//	+-+-+-+-+-+-+-+-+-+-+-+-
//
// The flags are an NA's (all reserved in an NS).
type NdMsg []byte

const (
	NdMsgLen = ICMP6Len + 16

	ndTarget  = ICMP6Len
	ndOptions = NdMsgLen

	// An NA's flags in the second word (host order; the kernel's
	// icmp6_router, icmp6_solicited, icmp6_override bitfields).
	ND_NA_FLAG_ROUTER    = 0x80000000
	ND_NA_FLAG_SOLICITED = 0x40000000
	ND_NA_FLAG_OVERRIDE  = 0x20000000
)

// ParseNdMsg checks that b holds an NS or NA as ndisc_recv_ns/na do
// before they read it: at least the 24 bytes up to the target, and options
// that ndisc_parse_options accepts (each whole and none of length 0,
// RFC 4861 §4.6). After ok no accessor panics and walking Opts never
// reports Malformed. The type, code, hop limit (255) and checksum are the
// caller's to check (RFC 4861 §7.1.1, §7.1.2).
func ParseNdMsg(b []byte) (NdMsg, bool) {
	if len(b) < NdMsgLen || !ValidNdOpts(b[ndOptions:]) {
		return nil, false
	}
	return NdMsg(b), true
}

// Icmp6hdr is the message's ICMPv6 header.
func (m NdMsg) Icmp6hdr() Icmp6hdr     { return Icmp6hdr(m) }
func (m NdMsg) Type() uint8            { return m[icmp6Type] }
func (m NdMsg) Flags() uint32          { return binary.BigEndian.Uint32(m[icmp6Data:]) }
func (m NdMsg) Router() bool           { return m.Flags()&ND_NA_FLAG_ROUTER != 0 }
func (m NdMsg) Solicited() bool        { return m.Flags()&ND_NA_FLAG_SOLICITED != 0 }
func (m NdMsg) Override() bool         { return m.Flags()&ND_NA_FLAG_OVERRIDE != 0 }
func (m NdMsg) Target() [16]byte       { return [16]byte(m[ndTarget:ndOptions]) }
func (m NdMsg) TargetAddr() netip.Addr { return netip.AddrFrom16(m.Target()) }
func (m NdMsg) Options() []byte        { return m[ndOptions:] }
func (m NdMsg) Opts() NdOptIter        { return NdOpts(m[ndOptions:]) }

// NdFields is what Encode writes: Flags are ND_NA_FLAG_* for an NA, 0 for
// an NS; Options are already encoded (PutNdOptLladdr), multiples of 8.
type NdFields struct {
	Type    uint8
	Flags   uint32
	Target  [16]byte
	Options []byte
}

// Encode writes f into m, which must hold NdMsgLen+len(f.Options) bytes,
// with a zero checksum; SetChecksum on Icmp6hdr must follow (ndisc_send_skb).
func (m NdMsg) Encode(f NdFields) {
	Icmp6hdr(m).Encode(ICMP6Fields{Type: f.Type, Data32: f.Flags})
	copy(m[ndTarget:], f.Target[:])
	copy(m[ndOptions:], f.Options)
}

// NdOpt is struct nd_opt_hdr and the option it starts (RFC 4861 §4.6): a
// type, a length in units of 8 octets covering the whole option, and data.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |    Length     |              ...              |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	~                              ...                              ~
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The iterator hands out only whole options, so no accessor panics.
type NdOpt []byte

const (
	ndOptType = 0
	ndOptLen  = 1

	// Option types (include/net/ndisc.h).
	ND_OPT_SOURCE_LL_ADDR = 1  // RFC 4861 §4.6.1
	ND_OPT_TARGET_LL_ADDR = 2  // RFC 4861 §4.6.1
	ND_OPT_PREFIX_INFO    = 3  // RFC 4861 §4.6.2
	ND_OPT_REDIRECT_HDR   = 4  // RFC 4861 §4.6.3
	ND_OPT_MTU            = 5  // RFC 4861 §4.6.4
	ND_OPT_NONCE          = 14 // RFC 3971 §5.3.2, sent by enhanced DAD (RFC 7527)
	ND_OPT_ROUTE_INFO     = 24 // RFC 4191
	ND_OPT_RDNSS          = 25 // RFC 8106
	ND_OPT_DNSSL          = 31 // RFC 8106

	// An Ethernet link-layer address option: 2 + 6 bytes, one unit
	// (ndisc_opt_addr_space for ETH_ALEN).
	NdOptLladdrLen = 8
	// The MTU option: 2 reserved bytes, then the MTU.
	NdOptMtuLen = 8
	// The prefix information option (struct prefix_info).
	NdOptPrefixInfoLen = 32

	// Prefix information flags (RFC 4861 §4.6.2).
	ND_OPT_PI_FLAG_ONLINK = 0x80
	ND_OPT_PI_FLAG_AUTO   = 0x40
)

func (o NdOpt) Type() uint8 { return o[ndOptType] }

// Len is the option's length in bytes, type and length included.
func (o NdOpt) Len() int     { return int(o[ndOptLen]) * 8 }
func (o NdOpt) Data() []byte { return o[2:o.Len()] }

// Lladdr is the Ethernet address of a source or target link-layer address
// option; false if the option is not one unit long, which
// ndisc_opt_addr_data refuses on Ethernet.
func (o NdOpt) Lladdr() ([6]byte, bool) {
	if (o.Type() != ND_OPT_SOURCE_LL_ADDR && o.Type() != ND_OPT_TARGET_LL_ADDR) || o.Len() != NdOptLladdrLen {
		return [6]byte{}, false
	}
	return [6]byte(o[2:8]), true
}

// Mtu is an MTU option's value; false if the option is not one.
func (o NdOpt) Mtu() (uint32, bool) {
	if o.Type() != ND_OPT_MTU || o.Len() != NdOptMtuLen {
		return 0, false
	}
	return binary.BigEndian.Uint32(o[4:]), true
}

// NdPrefixInfo is the content of a prefix information option.
type NdPrefixInfo struct {
	PrefixLen         uint8
	Flags             uint8 // ND_OPT_PI_FLAG_*
	ValidLifetime     uint32
	PreferredLifetime uint32
	Prefix            [16]byte
}

// PrefixInfo reads a prefix information option; false if the option is
// not one of 32 bytes (addrconf_prefix_rcv's length check).
func (o NdOpt) PrefixInfo() (NdPrefixInfo, bool) {
	if o.Type() != ND_OPT_PREFIX_INFO || o.Len() != NdOptPrefixInfoLen {
		return NdPrefixInfo{}, false
	}
	return NdPrefixInfo{
		PrefixLen:         o[2],
		Flags:             o[3],
		ValidLifetime:     binary.BigEndian.Uint32(o[4:]),
		PreferredLifetime: binary.BigEndian.Uint32(o[8:]),
		Prefix:            [16]byte(o[16:32]),
	}, true
}

// PutNdOptLladdr writes a source or target link-layer address option for
// an Ethernet address into b (NdOptLladdrLen bytes), as ndisc_fill_addr_option.
func PutNdOptLladdr(b []byte, typ uint8, mac [6]byte) {
	b[ndOptType] = typ
	b[ndOptLen] = NdOptLladdrLen / 8
	copy(b[2:NdOptLladdrLen], mac[:])
}

// NdOptIter walks the options of an ND message, as ndisc_parse_options.
type NdOptIter struct {
	b   []byte
	off int
	bad bool
}

// NdOpts iterates over b, the options area of an ND message.
func NdOpts(b []byte) NdOptIter { return NdOptIter{b: b} }

// Next returns the next option, or false at the end or at a malformed one:
// a length of 0 (RFC 4861 §4.6: the node must discard the packet) or one
// that runs past the message.
func (it *NdOptIter) Next() (NdOpt, bool) {
	if it.bad || it.off >= len(it.b) {
		return nil, false
	}
	rest := it.b[it.off:]
	if len(rest) < 2 || rest[ndOptLen] == 0 || int(rest[ndOptLen])*8 > len(rest) {
		it.bad = true
		return nil, false
	}
	n := int(rest[ndOptLen]) * 8
	it.off += n
	return NdOpt(rest[:n]), true
}

// Malformed reports that the walk stopped at a malformed option (at Off):
// the whole message is to be dropped.
func (it *NdOptIter) Malformed() bool { return it.bad }

// Off is the offset of the next option, or of the malformed one.
func (it *NdOptIter) Off() int { return it.off }

// ValidNdOpts reports whether every option in b is whole and of non-zero
// length: ndisc_parse_options' verdict.
func ValidNdOpts(b []byte) bool {
	it := NdOpts(b)
	for {
		if _, ok := it.Next(); !ok {
			return !it.Malformed()
		}
	}
}
