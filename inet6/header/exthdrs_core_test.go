package header_test

import (
	"testing"

	"sockfs/inet6/header"
)

// TestIpv6SkipExthdrCaptured walks every captured chain to its upper layer.
func TestIpv6SkipExthdrCaptured(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frame   []byte
		nexthdr uint8
		off     int
		nhOff   int
		fragOff uint16
		count   int
	}{
		{"no extension header", frameTCPSyn, header.NEXTHDR_TCP, 0, -1, 0, 0},
		{"hop-by-hop", frameMLDReport, header.NEXTHDR_ICMP, 8, 0, 0, 1},
		{"destination options", frameDstOptBad, header.NEXTHDR_UDP, 8, 0, 0, 1},
		{"routing", frameRH0, header.NEXTHDR_UDP, 24, 0, 0, 1},
		{"first fragment", frameFragFirst, header.NEXTHDR_ICMP, 8, 0, header.IP6_MF, 1},
		// A later fragment stops at its fragment header, as Linux's
		// does: the upper-layer header is in the first.
		{"last fragment", frameFragLast, header.NEXTHDR_FRAGMENT, 0, -1, 2896, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := mustIP6(t, tc.frame)
			x, e := header.Ipv6SkipExthdr(ip.Nexthdr(), ip.Payload())
			if e != header.ExthdrOk || x.Nexthdr != tc.nexthdr || x.Off != tc.off || x.NhOff != tc.nhOff ||
				x.FragOff != tc.fragOff || x.Count != tc.count {
				t.Fatalf("%v %+v", e, x)
			}
		})
	}
}

// TestIpv6SkipExthdrQuoted walks the invoking packets the kernel quoted in
// its errors, as icmpv6_notify does to find the socket, including one cut
// short to fit the error in 1280 bytes.
func TestIpv6SkipExthdrQuoted(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frame   []byte
		nexthdr uint8
		off     int
	}{
		{"port unreachable", frameICMPPortUnreach, header.NEXTHDR_UDP, 0},
		{"option", frameParamProbOption, header.NEXTHDR_UDP, 8},
		{"rh0", frameParamProbRH0, header.NEXTHDR_UDP, 24},
		{"time exceeded", frameTimeExceeded, header.NEXTHDR_ICMP, 0},
		{"packet too big", framePktTooBig, header.NEXTHDR_ICMP, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := mustICMP6(t, tc.frame).Payload()
			if len(q) < header.IPv6Len {
				t.Fatal("quoted header cut")
			}
			inner := header.Ipv6hdr(q[:header.IPv6Len])
			x, e := header.Ipv6SkipExthdr(inner.Nexthdr(), q[header.IPv6Len:])
			if e != header.ExthdrOk || x.Nexthdr != tc.nexthdr || x.Off != tc.off {
				t.Fatalf("%v %+v", e, x)
			}
		})
	}
}

// chain builds n destination options headers of 8 bytes ending in proto.
func chain(n int, proto uint8) []byte {
	b := make([]byte, 0, 8*n+8)
	for i := 0; i < n; i++ {
		next := uint8(header.NEXTHDR_DEST)
		if i == n-1 {
			next = proto
		}
		b = append(b, next, 0, 1, 4, 0, 0, 0, 0)
	}
	return append(b, make([]byte, 8)...)
}

// TestIpv6SkipExthdrBound: twelve headers are crossed, a thirteenth is not
// (IP6_MAX_EXT_HDRS_CNT), and the error says where the walk stopped.
func TestIpv6SkipExthdrBound(t *testing.T) {
	x, e := header.Ipv6SkipExthdr(header.NEXTHDR_DEST, chain(header.IP6_MAX_EXT_HDRS_CNT, header.NEXTHDR_UDP))
	if e != header.ExthdrOk || x.Nexthdr != header.NEXTHDR_UDP || x.Count != 12 || x.Off != 96 || x.NhOff != 88 {
		t.Fatalf("12 headers: %v %+v", e, x)
	}
	x, e = header.Ipv6SkipExthdr(header.NEXTHDR_DEST, chain(13, header.NEXTHDR_UDP))
	if e != header.ExthdrTooMany || x.Nexthdr != header.NEXTHDR_DEST || x.Count != 12 || x.Off != 96 {
		t.Fatalf("13 headers: %v %+v", e, x)
	}
	// "No next header" ends a chain of twelve without counting.
	if x, e := header.Ipv6SkipExthdr(header.NEXTHDR_DEST, chain(12, header.NEXTHDR_NONE)); e != header.ExthdrOk ||
		x.Nexthdr != header.NEXTHDR_NONE || x.Count != 12 {
		t.Fatalf("12 + none: %v %+v", e, x)
	}
	if header.ExthdrTooMany.String() != "too many extension headers" {
		t.Fatal("String")
	}
}

func TestIpv6SkipExthdrTruncated(t *testing.T) {
	full := l3(frameRH0)[header.IPv6Len:]
	for _, tc := range []struct {
		name  string
		first uint8
		b     []byte
		off   int
	}{
		{"empty", header.NEXTHDR_HOP, nil, 0},
		{"one byte", header.NEXTHDR_DEST, []byte{17}, 0},
		{"routing header cut", header.NEXTHDR_ROUTING, full[:23], 0},
		{"second header cut", header.NEXTHDR_DEST, chain(2, header.NEXTHDR_TCP)[:12], 8},
		{"fragment header cut", header.NEXTHDR_FRAGMENT, []byte{58, 0, 0, 1, 0, 0, 0}, 0},
		{"authentication header cut", header.NEXTHDR_AUTH, []byte{6, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, e := header.Ipv6SkipExthdr(tc.first, tc.b)
			if e != header.ExthdrTruncated || x.Off != tc.off {
				t.Fatalf("%v %+v", e, x)
			}
		})
	}
	// The whole routing header crosses, even with no upper-layer bytes
	// after it: the walk judges extension headers only.
	if x, e := header.Ipv6SkipExthdr(header.NEXTHDR_ROUTING, full[:24]); e != header.ExthdrOk || x.Off != 24 {
		t.Fatalf("%v %+v", e, x)
	}
}

// TestIpv6SkipExthdrAuthAndPointer: the authentication header counts in
// 4-octet units plus 2 (RFC 4302 §2.2), and NexthdrPtr points at the byte
// that names the protocol nobody may handle (ICMPV6_UNK_NEXTHDR).
func TestIpv6SkipExthdrAuthAndPointer(t *testing.T) {
	b := []byte{header.NEXTHDR_DEST, 4, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	b = append(b, 253, 0, 1, 4, 0, 0, 0, 0) // experimental protocol 253
	x, e := header.Ipv6SkipExthdr(header.NEXTHDR_AUTH, b)
	if e != header.ExthdrOk || x.Nexthdr != 253 || x.Off != 32 || x.NhOff != 24 || x.Count != 2 {
		t.Fatalf("%v %+v", e, x)
	}
	if x.NexthdrPtr() != 40+24 {
		t.Fatalf("pointer %d", x.NexthdrPtr())
	}
	x, _ = header.Ipv6SkipExthdr(253, nil)
	if x.NexthdrPtr() != 6 {
		t.Fatalf("pointer for the fixed header's next header: %d", x.NexthdrPtr())
	}
	// ESP is upper-layer, as in Linux.
	if header.Ipv6ExtHdr(header.NEXTHDR_ESP) || !header.Ipv6ExtHdr(header.NEXTHDR_NONE) || !header.Ipv6ExtHdr(header.NEXTHDR_AUTH) {
		t.Fatal("Ipv6ExtHdr")
	}
}
