package header_test

import (
	"bytes"
	"testing"

	"sockfs/inet6/header"
)

// opts collects what an options header's walk yields.
func opts(t testing.TB, h header.Ipv6OptHdr) []header.Ipv6Opt {
	t.Helper()
	var out []header.Ipv6Opt
	it := h.Opts()
	for {
		o, ok := it.Next()
		if !ok {
			if it.Malformed() {
				t.Fatalf("walk of a captured header stopped at a malformed option at %d", it.Off())
			}
			return out
		}
		out = append(out, o)
	}
}

// TestIpv6OptHdrHopByHop reads the hop-by-hop header in front of an MLD
// report: a Router Alert for MLD (value 0, RFC 2711) and a PadN of 0
// bytes filling the 8-byte unit.
func TestIpv6OptHdrHopByHop(t *testing.T) {
	ip := mustIP6(t, frameMLDReport)
	h, ok := header.ParseIpv6OptHdr(ip.Payload())
	if !ok || h.Nexthdr() != header.NEXTHDR_ICMP || h.HdrLen() != 0 || h.Len() != 8 || len(h) != 8 {
		t.Fatalf("hop-by-hop header: ok %v, % x", ok, []byte(h))
	}
	o := opts(t, h)
	if len(o) != 2 ||
		o[0].Type != header.IPV6_TLV_ROUTERALERT || o[0].Off != 2 || !bytes.Equal(o[0].Data, []byte{0, 0}) || o[0].Len() != 4 ||
		o[1].Type != header.IPV6_TLV_PADN || o[1].Off != 6 || len(o[1].Data) != 0 || o[1].Len() != 2 {
		t.Fatalf("options %+v", o)
	}
	if o[0].IsPad() || !o[1].IsPad() || o[0].Action() != header.Ipv6OptSkip || o[0].MayChange() {
		t.Fatal("router alert: a skippable, unchanging, non-pad option")
	}
	if !bytes.Equal(h.Options(), []byte{5, 2, 0, 0, 1, 0}) {
		t.Fatalf("Options % x", h.Options())
	}
	// Behind it, the MLDv2 report, to the link-scope group of MLDv2
	// routers with hop limit 1 (RFC 3810 §5).
	m := mustICMP6(t, frameMLDReport)
	if m.Type() != header.ICMPV6_MLD2_REPORT || m.IsError() || ip.HopLimit() != 1 ||
		header.Ipv6AddrSrcScope(ip.Daddr()) != header.IPV6_ADDR_SCOPE_LINKLOCAL {
		t.Fatalf("MLD report type %d", m.Type())
	}
}

// TestIpv6OptHdrDestOpts reads the two destination options headers A sent
// and checks the pointer the kernel put in its parameter problem: the
// unknown option's Off, plus the header's place in the packet.
func TestIpv6OptHdrDestOpts(t *testing.T) {
	ip := mustIP6(t, frameDstOptSkip)
	h, ok := header.ParseIpv6OptHdr(ip.Payload())
	if !ok || h.Nexthdr() != header.NEXTHDR_UDP || h.Len() != 8 {
		t.Fatal("skip header")
	}
	o := opts(t, h)
	if len(o) != 2 || o[0].Type != 0x1e || o[0].Action() != header.Ipv6OptSkip || !bytes.Equal(o[0].Data, []byte{0xab, 0xcd}) ||
		o[1].Type != header.IPV6_TLV_PADN {
		t.Fatalf("options %+v", o)
	}

	ip = mustIP6(t, frameDstOptBad)
	h, _ = header.ParseIpv6OptHdr(ip.Payload())
	o = opts(t, h)
	if len(o) != 2 || o[0].Type != header.IPV6_TLV_PADN || o[1].Type != 0x9e || o[1].Off != 4 ||
		o[1].Action() != header.Ipv6OptDiscardICMP || o[1].MayChange() {
		t.Fatalf("options %+v", o)
	}
	pp := mustICMP6(t, frameParamProbOption)
	if pp.Type() != header.ICMPV6_PARAMPROB || pp.Code() != header.ICMPV6_UNK_OPTION ||
		pp.Pointer() != uint32(header.IPv6Len+o[1].Off) {
		t.Fatalf("kernel's parameter problem: code %d pointer %d, option at %d", pp.Code(), pp.Pointer(), header.IPv6Len+o[1].Off)
	}
	// The kernel quoted the packet whole.
	if !bytes.Equal(pp.Payload(), l3(frameDstOptBad)) {
		t.Fatal("quoted packet")
	}
}

func TestIpv6OptActions(t *testing.T) {
	for _, tc := range []struct {
		typ       uint8
		action    header.Ipv6OptAction
		mayChange bool
		name      string
	}{
		{0x1e, header.Ipv6OptSkip, false, "skip"},
		{0x3e, header.Ipv6OptSkip, true, "skip"},
		{0x5e, header.Ipv6OptDiscard, false, "discard"},
		{0x9e, header.Ipv6OptDiscardICMP, false, "discard+icmp"},
		{header.IPV6_TLV_JUMBO, header.Ipv6OptDiscardICMPUnlessMulticast, false, "discard+icmp-unless-multicast"},
		{header.IPV6_TLV_HAO, header.Ipv6OptDiscardICMPUnlessMulticast, false, "discard+icmp-unless-multicast"},
	} {
		o := header.Ipv6Opt{Type: tc.typ}
		if o.Action() != tc.action || o.MayChange() != tc.mayChange || o.Action().String() != tc.name {
			t.Errorf("type %#x: action %v may change %v", tc.typ, o.Action(), o.MayChange())
		}
	}
}

// TestIpv6OptIterMalformed: an option running past the header stops the
// walk, which reports where, as ip6_parse_tlv's "bad".
func TestIpv6OptIterMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		n    int // good options before the bad one
		off  int
	}{
		{"length past the end", []byte{17, 0, 1, 0, 0x1e, 3, 0, 0}, 1, 4},
		{"type in the last byte", []byte{17, 0, 0, 0, 0, 0, 0, 0x1e}, 5, 7},
		{"padn too long", []byte{17, 0, 1, 5, 0, 0, 0, 0}, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := header.ParseIpv6OptHdr(tc.b)
			if !ok {
				t.Fatal("header")
			}
			it := h.Opts()
			n := 0
			for {
				if _, ok := it.Next(); !ok {
					break
				}
				n++
			}
			if !it.Malformed() || n != tc.n || it.Off() != tc.off {
				t.Fatalf("malformed %v after %d options at %d", it.Malformed(), n, it.Off())
			}
			if _, ok := it.Next(); ok {
				t.Fatal("the walk went on after a malformed option")
			}
		})
	}
	// Pad1 everywhere is a well-formed header of padding.
	h, _ := header.ParseIpv6OptHdr([]byte{17, 0, 0, 0, 0, 0, 0, 0})
	if o := opts(t, h); len(o) != 6 || o[5].Off != 7 || o[5].Len() != 1 || !o[5].IsPad() {
		t.Fatalf("Pad1: %+v", o)
	}
}

func TestParseIpv6OptHdrRejects(t *testing.T) {
	for _, b := range [][]byte{nil, {17}, {17, 0, 1, 0, 0, 0, 0}, {17, 1, 1, 0, 0, 0, 0, 0, 0, 0}} {
		if h, ok := header.ParseIpv6OptHdr(b); ok || h != nil {
			t.Errorf("accepted % x", b)
		}
	}
	// The view is the header alone, whatever follows.
	h, ok := header.ParseIpv6OptHdr(append([]byte{6, 1}, make([]byte, 20)...))
	if !ok || len(h) != 16 || len(h.Options()) != 14 {
		t.Fatalf("ok %v len %d", ok, len(h))
	}
}

func TestIpv6OptHdrEncodeReproducesCapture(t *testing.T) {
	for _, frame := range [][]byte{frameMLDReport, frameDstOptSkip, frameDstOptBad} {
		src, _ := header.ParseIpv6OptHdr(mustIP6(t, frame).Payload())
		out := make([]byte, src.Len())
		header.Ipv6OptHdr(out).Encode(header.Ipv6OptHdrFields{Nexthdr: src.Nexthdr(), Options: src.Options()})
		if !bytes.Equal(out, src) {
			t.Errorf("Encode\n got % x\nwant % x", out, []byte(src))
		}
	}
}

// TestIpv6RtHdrType0 reads the type 0 routing header and checks the
// kernel's answer: a parameter problem, code 0, pointing at the routing
// type (RFC 5095 §3).
func TestIpv6RtHdrType0(t *testing.T) {
	ip := mustIP6(t, frameRH0)
	h, ok := header.ParseIpv6RtHdr(ip.Payload())
	if !ok || h.Nexthdr() != header.NEXTHDR_UDP || h.HdrLen() != 2 || h.Len() != 24 ||
		h.Type() != header.IPV6_SRCRT_TYPE_0 || h.SegmentsLeft() != 1 {
		t.Fatalf("routing header: ok %v % x", ok, []byte(h))
	}
	if len(h.Data()) != 20 || [16]byte(h.Data()[4:]) != [16]byte{0x20, 0x01, 0, 2, 15: 3} {
		t.Fatalf("type 0 data % x", h.Data())
	}
	pp := mustICMP6(t, frameParamProbRH0)
	if pp.Type() != header.ICMPV6_PARAMPROB || pp.Code() != header.ICMPV6_HDR_FIELD ||
		pp.Pointer() != header.IPv6Len+header.RtHdrTypeOff {
		t.Fatalf("kernel's parameter problem: code %d pointer %d", pp.Code(), pp.Pointer())
	}
	out := make([]byte, h.Len())
	header.Ipv6RtHdr(out).Encode(header.Ipv6RtHdrFields{Nexthdr: h.Nexthdr(), Type: h.Type(),
		SegmentsLeft: h.SegmentsLeft(), Data: h.Data()})
	if !bytes.Equal(out, h) {
		t.Fatalf("Encode\n got % x\nwant % x", out, []byte(h))
	}
	for _, b := range [][]byte{nil, {17, 0, 0}, {17, 0, 0, 0, 0, 0, 0}, {17, 1, 0, 0, 0, 0, 0, 0}} {
		if r, ok := header.ParseIpv6RtHdr(b); ok || r != nil {
			t.Errorf("accepted % x", b)
		}
	}
}

// TestFrag6hdrCaptured reads the fragment headers of ping -s 3000's
// request: the first carries M and offset 0, the last offset 2896 and no
// M; both the same identification.
func TestFrag6hdrCaptured(t *testing.T) {
	for _, tc := range []struct {
		name    string
		frame   []byte
		nexthdr uint8
		offset  int
		more    bool
		dataLen int
	}{
		{"first", frameFragFirst, header.NEXTHDR_ICMP, 0, true, 1448},
		{"last", frameFragLast, header.NEXTHDR_ICMP, 2896, false, 112},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := mustIP6(t, tc.frame)
			h, ok := header.ParseFrag6hdr(ip.Payload())
			if !ok || len(h) != 8 || h.Nexthdr() != tc.nexthdr || h.Offset() != tc.offset ||
				h.MoreFragments() != tc.more || h.Identification() != 0x8c595aa8 || h.IsAtomic() {
				t.Fatalf("ok %v nexthdr %d offset %d M %v id %#x", ok, h.Nexthdr(), h.Offset(), h.MoreFragments(), h.Identification())
			}
			if n := len(ip.Payload()) - len(h); n != tc.dataLen || n%8 != 0 && tc.more {
				t.Fatalf("fragment data %d bytes", n)
			}
			out := make([]byte, 8)
			header.Frag6hdr(out).Encode(header.Frag6Fields{Nexthdr: h.Nexthdr(), FragOff: h.FragOff(), Identification: h.Identification()})
			if !bytes.Equal(out, h) {
				t.Fatalf("Encode\n got % x\nwant % x", out, []byte(h))
			}
		})
	}
	// Reserved bits are written as zero; an atomic fragment is offset 0
	// without M.
	b := make([]byte, 8)
	h := header.Frag6hdr(b)
	h.Encode(header.Frag6Fields{Nexthdr: header.NEXTHDR_UDP, FragOff: 1448 | 0x6 | header.IP6_MF, Identification: 7})
	if h.FragOff() != 1448|header.IP6_MF || h.Offset() != 1448 || !h.MoreFragments() {
		t.Fatalf("frag_off %#x", h.FragOff())
	}
	h.Encode(header.Frag6Fields{Nexthdr: header.NEXTHDR_UDP})
	if !h.IsAtomic() {
		t.Fatal("atomic fragment")
	}
	if f, ok := header.ParseFrag6hdr(b[:7]); ok || f != nil {
		t.Fatal("accepted 7 bytes")
	}
}
