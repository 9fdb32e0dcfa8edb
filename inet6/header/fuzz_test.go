package header_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"sockfs/inet6/header"
)

// The fuzz targets hold each view to its documented guarantee: Parse agrees
// with an independent statement of the rules, after ok no accessor panics
// and the lengths are what the doc says, and where the wire format is
// canonical, Encode of the parsed fields gives back the header's bytes.
// Seeds are the captured frames at each layer, so the fuzzer starts from
// real packets.

var captured = [][]byte{frameNSDad, frameMLDReport, frameRS, frameNS, frameNA, frameEcho, frameEchoReply,
	frameFragFirst, frameFragLast, frameTCPSyn, frameTCPSynAck, frameTCPData, frameUDPDNS, frameICMPPortUnreach,
	frameDstOptSkip, frameDstOptBad, frameParamProbOption, frameRH0, frameParamProbRH0, framePktTooBig,
	frameTimeExceeded, frameNoRoute}

// sameBacking reports whether view starts at b's first byte: views alias
// the packet, they do not copy it.
func sameBacking(view, b []byte) bool { return len(view) > 0 && &view[0] == &b[0] }

// payloads are the bytes after the fixed header of each captured frame.
func payloads() [][]byte {
	var out [][]byte
	for _, fr := range captured {
		out = append(out, l3(fr)[header.IPv6Len:])
	}
	return out
}

func FuzzIpv6hdr(f *testing.F) {
	for _, fr := range captured {
		f.Add(l3(fr))
	}
	f.Add(append(l3(frameRS), 0, 0, 0, 0)) // Ethernet padding
	f.Add(make([]byte, 40))
	f.Add([]byte{0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, e := header.ParseIpv6hdr(b)
		want := header.IPv6Ok
		switch {
		case len(b) < 40:
			want = header.IPv6Truncated
		case b[0]>>4 != 6:
			want = header.IPv6BadVersion
		case 40+(int(b[4])<<8|int(b[5])) > len(b):
			want = header.IPv6BadPayloadLen
		}
		if e != want {
			t.Fatalf("ParseIpv6hdr = %v, want %v", e, want)
		}
		if e != header.IPv6Ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		if h.Version() != 6 || len(h) != 40+h.PayloadLen() || len(h.Payload()) != h.PayloadLen() || !sameBacking(h, b) {
			t.Fatalf("len %d payload %d", len(h), h.PayloadLen())
		}
		if h.FlowLabel() > 0xfffff || h.Src() != netip.AddrFrom16(h.Saddr()) || h.Dst() != netip.AddrFrom16(h.Daddr()) {
			t.Fatal("flow label or addresses")
		}
		if again, e := header.ParseIpv6hdr(h); e != header.IPv6Ok || len(again) != len(h) {
			t.Fatalf("the parsed view does not parse again: %v", e)
		}
		out := make([]byte, 40)
		header.Ipv6hdr(out).Encode(header.IPv6Fields{TrafficClass: h.TrafficClass(), FlowLabel: h.FlowLabel(),
			PayloadLen: h.PayloadLen(), Nexthdr: h.Nexthdr(), HopLimit: h.HopLimit(), Saddr: h.Saddr(), Daddr: h.Daddr()})
		if !bytes.Equal(out, h[:40]) {
			t.Fatalf("Encode of the parsed fields\n got % x\nwant % x", out, []byte(h[:40]))
		}
	})
}

func FuzzIpv6OptHdr(f *testing.F) {
	for _, fr := range [][]byte{frameMLDReport, frameDstOptSkip, frameDstOptBad} {
		f.Add(l3(fr)[header.IPv6Len:])
	}
	f.Add([]byte{17, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{17, 0, 1, 5, 0, 0, 0, 0})
	f.Add([]byte{17, 1, 0xc2, 4, 0, 1, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := header.ParseIpv6OptHdr(b)
		if want := len(b) >= 2 && (int(b[1])+1)*8 <= len(b); ok != want {
			t.Fatalf("ParseIpv6OptHdr ok=%v, want %v", ok, want)
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		if len(h) != h.Len() || h.Len() != (int(h.HdrLen())+1)*8 || len(h.Options()) != h.Len()-2 || !sameBacking(h, b) {
			t.Fatalf("len %d Len %d", len(h), h.Len())
		}
		// The options tile the header from byte 2, each where the last
		// ended, until the end or one that does not fit.
		it := h.Opts()
		next := 2
		for {
			o, ok := it.Next()
			if !ok {
				break
			}
			if o.Off != next || o.Type != h[o.Off] || next+o.Len() > len(h) || (o.Type == 0) != (o.Len() == 1) {
				t.Fatalf("option %+v at %d", o, next)
			}
			if o.Type != 0 && !bytes.Equal(o.Data, h[o.Off+2:o.Off+o.Len()]) {
				t.Fatal("option data")
			}
			_, _, _ = o.Action(), o.MayChange(), o.IsPad()
			next += o.Len()
		}
		if it.Off() != next {
			t.Fatalf("walk stopped at %d, options ended at %d", it.Off(), next)
		}
		if it.Malformed() != (next < len(h)) {
			t.Fatalf("malformed %v with %d of %d bytes walked", it.Malformed(), next, len(h))
		}
		if it.Malformed() {
			rest := h[next:]
			if rest[0] == 0 || len(rest) >= 2 && 2+int(rest[1]) <= len(rest) {
				t.Fatalf("a well-formed option at %d reported malformed", next)
			}
		}
		out := make([]byte, h.Len())
		header.Ipv6OptHdr(out).Encode(header.Ipv6OptHdrFields{Nexthdr: h.Nexthdr(), Options: h.Options()})
		if !bytes.Equal(out, h) {
			t.Fatalf("Encode\n got % x\nwant % x", out, []byte(h))
		}
	})
}

func FuzzIpv6RtHdr(f *testing.F) {
	f.Add(l3(frameRH0)[header.IPv6Len:])
	f.Add([]byte{6, 0, 4, 0, 0, 0, 0, 0})
	f.Add([]byte{6, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := header.ParseIpv6RtHdr(b)
		if want := len(b) >= 4 && (int(b[1])+1)*8 <= len(b); ok != want {
			t.Fatalf("ParseIpv6RtHdr ok=%v, want %v", ok, want)
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		if len(h) != h.Len() || len(h.Data()) != h.Len()-4 || h.Type() != b[2] || h.SegmentsLeft() != b[3] || !sameBacking(h, b) {
			t.Fatalf("len %d", len(h))
		}
		out := make([]byte, h.Len())
		header.Ipv6RtHdr(out).Encode(header.Ipv6RtHdrFields{Nexthdr: h.Nexthdr(), Type: h.Type(),
			SegmentsLeft: h.SegmentsLeft(), Data: h.Data()})
		if !bytes.Equal(out, h) {
			t.Fatalf("Encode\n got % x\nwant % x", out, []byte(h))
		}
	})
}

func FuzzFrag6hdr(f *testing.F) {
	f.Add(l3(frameFragFirst)[header.IPv6Len:])
	f.Add(l3(frameFragLast)[header.IPv6Len:])
	f.Add([]byte{17, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := header.ParseFrag6hdr(b)
		if ok != (len(b) >= 8) {
			t.Fatalf("ParseFrag6hdr ok=%v for %d bytes", ok, len(b))
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		fo := binary.BigEndian.Uint16(b[2:])
		if len(h) != 8 || !sameBacking(h, b) || h.Offset() != int(fo>>3)*8 || h.MoreFragments() != (fo&1 == 1) ||
			h.IsAtomic() != (h.Offset() == 0 && !h.MoreFragments()) || h.Identification() != binary.BigEndian.Uint32(b[4:]) {
			t.Fatalf("frag_off %#x: offset %d M %v", fo, h.Offset(), h.MoreFragments())
		}
		out := make([]byte, 8)
		header.Frag6hdr(out).Encode(header.Frag6Fields{Nexthdr: h.Nexthdr(), FragOff: h.FragOff(), Identification: h.Identification()})
		// The reserved byte and bits have no field; Encode writes them
		// as zero, as a sender must.
		ref := append([]byte(nil), h...)
		ref[1] = 0
		ref[3] &^= 0x06
		if !bytes.Equal(out, ref) {
			t.Fatalf("Encode\n got % x\nwant % x", out, ref)
		}
	})
}

// refSkip is ipv6_skip_exthdr's walk restated: recursive, header by
// header, with the two limits Ipv6SkipExthdr documents.
func refSkip(nexthdr uint8, b []byte, off, count int) (uint8, int, header.ExthdrError) {
	switch nexthdr {
	case header.NEXTHDR_HOP, header.NEXTHDR_ROUTING, header.NEXTHDR_FRAGMENT, header.NEXTHDR_AUTH, header.NEXTHDR_DEST:
	default:
		return nexthdr, off, header.ExthdrOk
	}
	if count == 12 {
		return nexthdr, off, header.ExthdrTooMany
	}
	if len(b)-off < 2 {
		return nexthdr, off, header.ExthdrTruncated
	}
	n := 8 * (int(b[off+1]) + 1)
	switch nexthdr {
	case header.NEXTHDR_FRAGMENT:
		if len(b)-off < 8 {
			return nexthdr, off, header.ExthdrTruncated
		}
		if b[off+2] != 0 || b[off+3]&0xf8 != 0 {
			return nexthdr, off, header.ExthdrOk
		}
		n = 8
	case header.NEXTHDR_AUTH:
		n = 4 * (int(b[off+1]) + 2)
	}
	if off+n > len(b) {
		return nexthdr, off, header.ExthdrTruncated
	}
	return refSkip(b[off], b, off+n, count+1)
}

func FuzzIpv6SkipExthdr(f *testing.F) {
	for _, fr := range captured {
		ip := l3(fr)
		f.Add(ip[6], ip[header.IPv6Len:])
	}
	f.Add(uint8(header.NEXTHDR_DEST), chain(13, header.NEXTHDR_UDP))
	f.Add(uint8(header.NEXTHDR_AUTH), []byte{6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, nexthdr uint8, b []byte) {
		x, e := header.Ipv6SkipExthdr(nexthdr, b)
		wantNh, wantOff, wantE := refSkip(nexthdr, b, 0, 0)
		if e != wantE || x.Nexthdr != wantNh || x.Off != wantOff {
			t.Fatalf("Ipv6SkipExthdr = %v %+v, reference %v nexthdr %d off %d", e, x, wantE, wantNh, wantOff)
		}
		if x.Count > header.IP6_MAX_EXT_HDRS_CNT || x.Off > len(b) || x.NhOff >= x.Off && x.Count > 0 {
			t.Fatalf("%+v for %d bytes", x, len(b))
		}
		if (x.Count == 0) != (x.NhOff == -1) {
			t.Fatalf("NhOff %d after %d headers", x.NhOff, x.Count)
		}
		if x.NhOff >= 0 && b[x.NhOff] != x.Nexthdr {
			t.Fatalf("byte %d is %d, not the next header %d", x.NhOff, b[x.NhOff], x.Nexthdr)
		}
		if x.NhOff < 0 && x.Nexthdr != nexthdr {
			t.Fatal("no header crossed, but the protocol changed")
		}
		if p := x.NexthdrPtr(); p != 6 && p != header.IPv6Len+x.NhOff {
			t.Fatalf("pointer %d", p)
		}
	})
}

func FuzzIcmp6hdr(f *testing.F) {
	for _, fr := range captured {
		ip := l3(fr)
		if x, e := header.Ipv6SkipExthdr(ip[6], ip[40:]); e == header.ExthdrOk && x.Nexthdr == header.NEXTHDR_ICMP {
			f.Add(ip[40+x.Off:])
		}
	}
	f.Add(make([]byte, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := header.ParseIcmp6hdr(b)
		if ok != (len(b) >= 8) {
			t.Fatalf("ParseIcmp6hdr ok=%v for %d bytes", ok, len(b))
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		if len(h) != len(b) || len(h.Payload()) != len(b)-8 || !sameBacking(h, b) ||
			h.Mtu() != h.Data32() || h.Pointer() != h.Data32() || h.Data32() != uint32(h.Identifier())<<16|uint32(h.Sequence()) ||
			h.IsError() != (h.Type() < 128) {
			t.Fatalf("len %d payload %d", len(h), len(h.Payload()))
		}
		valid := h.IsChecksumValid(addrA, addrB)
		if valid != (refSum(b, refPseudoSum(addrA, addrB, 58, len(b))) == 0xffff) {
			t.Fatalf("IsChecksumValid %v disagrees with the reference sum", valid)
		}
		out := make([]byte, len(h))
		o := header.Icmp6hdr(out)
		o.Encode(header.ICMP6Fields{Type: h.Type(), Code: h.Code(), Data32: h.Data32()})
		copy(o.Payload(), h.Payload())
		o.SetChecksum(addrA, addrB)
		if !o.IsChecksumValid(addrA, addrB) {
			t.Fatalf("SetChecksum wrote %#04x that does not verify", o.Cksum())
		}
		if valid && h.Cksum() != 0xffff && !bytes.Equal(out, h) {
			// Outside the negative-zero case a valid checksum is unique.
			t.Fatalf("Encode+SetChecksum\n got % x\nwant % x", out, []byte(h))
		}
	})
}

// refNdOptsOK is ndisc_parse_options' verdict restated.
func refNdOptsOK(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 2 || b[1] == 0 || int(b[1])*8 > len(b) {
			return false
		}
		b = b[int(b[1])*8:]
	}
	return true
}

func FuzzNdMsg(f *testing.F) {
	for _, fr := range [][]byte{frameNSDad, frameNS, frameNA} {
		f.Add(l3(fr)[header.IPv6Len:])
	}
	f.Add(append(l3(frameNS)[40:64:64], unhex("0501000000000500030440c000278d0000093a800000000020010002000000000000000000000000")...))
	f.Add(append(l3(frameNA)[40:64:64], 2, 0, 0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := header.ParseNdMsg(b)
		if want := len(b) >= 24 && refNdOptsOK(b[24:]); ok != want {
			t.Fatalf("ParseNdMsg ok=%v, want %v", ok, want)
		}
		// Any byte string walks safely as an options area.
		it := header.NdOpts(b)
		n := 0
		for {
			o, ok := it.Next()
			if !ok {
				break
			}
			if o.Len() == 0 || o.Len() > len(b)-n || !sameBacking(o, b[n:]) {
				t.Fatalf("option of %d bytes at %d", o.Len(), n)
			}
			_, _ = o.Lladdr()
			_, _ = o.Mtu()
			if pi, ok := o.PrefixInfo(); ok && pi.Prefix != [16]byte(o[16:32]) {
				t.Fatal("prefix")
			}
			n += o.Len()
		}
		if it.Malformed() == refNdOptsOK(b) || it.Off() != n {
			t.Fatalf("malformed %v at %d, walked %d", it.Malformed(), it.Off(), n)
		}
		if !ok {
			if m != nil {
				t.Fatal("a rejected message returned a view")
			}
			return
		}
		if len(m) != len(b) || len(m.Options()) != len(b)-24 || m.TargetAddr() != netip.AddrFrom16(m.Target()) ||
			m.Router() != (b[4]&0x80 != 0) || m.Solicited() != (b[4]&0x40 != 0) || m.Override() != (b[4]&0x20 != 0) {
			t.Fatalf("len %d flags %#x", len(m), m.Flags())
		}
		walk := m.Opts()
		for {
			if _, ok := walk.Next(); !ok {
				break
			}
		}
		if walk.Malformed() {
			t.Fatal("a parsed message's options walk reported malformed")
		}
		out := make([]byte, len(m))
		header.NdMsg(out).Encode(header.NdFields{Type: m.Type(), Flags: m.Flags(), Target: m.Target(), Options: m.Options()})
		ref := append([]byte(nil), m...)
		ref[1], ref[2], ref[3] = 0, 0, 0 // code and checksum: Encode writes zero
		if !bytes.Equal(out, ref) {
			t.Fatalf("Encode\n got % x\nwant % x", out, ref)
		}
	})
}
