package header_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"sockfs/inet/header"
)

// The fuzz targets hold each view to its documented guarantee: Parse agrees
// with an independent statement of the rules, after ok no accessor panics
// and the lengths are what the doc says, and where the wire format is
// canonical, Encode of the parsed fields gives back the header's bytes.
// Seeds are the captured frames at each layer, so the fuzzer starts from
// real packets.

var capturedIP = [][]byte{frameTCPSyn, frameTCPSynAck, frameTCPAck, frameTCPData, frameUDPDNS,
	frameICMPEcho, frameICMPEchoReply, frameICMPPortUnreach}

// sameBacking reports whether view starts at b's first byte: views alias
// the packet, they do not copy it.
func sameBacking(view, b []byte) bool { return len(view) > 0 && &view[0] == &b[0] }

func FuzzIphdr(f *testing.F) {
	for _, fr := range capturedIP {
		f.Add(l3(fr))
	}
	f.Add(append(l3(frameTCPAck), 0, 0, 0, 0, 0, 0)) // Ethernet padding
	opts := make([]byte, 24)
	header.Iphdr(opts).Encode(header.IPFields{TotLen: 24, TTL: 1, Protocol: 2, Options: []byte{0x94, 4, 0, 0}})
	f.Add(opts)
	f.Add([]byte{0x45})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkIphdr(t, b)
		// Random bytes rarely carry a right checksum; also try b with its
		// checksum fixed, so the checks past IPOk see varied headers.
		if len(b) >= 20 {
			c := append([]byte(nil), b...)
			ipFixCheck(c)
			checkIphdr(t, c)
		}
	})
}

func checkIphdr(t *testing.T, b []byte) {
	t.Helper()
	h, e := header.ParseIphdr(b)
	if want := refIPVerdict(b); e != want {
		t.Fatalf("ParseIphdr = %v, want %v", e, want)
	}
	if e != header.IPOk {
		if h != nil {
			t.Fatal("a rejected header returned a view")
		}
		return
	}
	ihl := h.Ihl()
	if h.Version() != 4 || ihl < 20 || ihl > 60 || h.TotLen() != len(h) || !sameBacking(h, b) {
		t.Fatalf("version %d ihl %d totlen %d len %d", h.Version(), ihl, h.TotLen(), len(h))
	}
	if len(h.Options()) != ihl-20 || len(h.Payload()) != h.TotLen()-ihl {
		t.Fatalf("options %d payload %d for ihl %d totlen %d", len(h.Options()), len(h.Payload()), ihl, h.TotLen())
	}
	if !h.IsChecksumValid() {
		t.Fatal("accepted a header whose checksum does not verify")
	}
	if h.FragOffset() != int(h.FragOff()&header.IP_OFFSET)*8 ||
		h.MoreFragments() != (h.FragOff()&header.IP_MF != 0) ||
		h.IsFragment() != (h.MoreFragments() || h.FragOffset() != 0) {
		t.Fatalf("fragment accessors disagree for frag_off %#04x", h.FragOff())
	}
	_, _, _, _, _ = h.Tos(), h.ID(), h.TTL(), h.Protocol(), h.CalcCheck()
	if h.Src() != netip.AddrFrom4(h.Saddr()) || h.Dst() != netip.AddrFrom4(h.Daddr()) {
		t.Fatal("Src/Dst disagree with Saddr/Daddr")
	}
	if again, e := header.ParseIphdr(h); e != header.IPOk || len(again) != len(h) {
		t.Fatalf("the parsed view does not parse again: %v", e)
	}

	out := make([]byte, ihl)
	header.Iphdr(out).Encode(header.IPFields{Tos: h.Tos(), TotLen: h.TotLen(), ID: h.ID(), FragOff: h.FragOff(),
		TTL: h.TTL(), Protocol: h.Protocol(), Saddr: h.Saddr(), Daddr: h.Daddr(), Options: h.Options()})
	if h.Check() == 0xffff {
		// One's complement has two zeros: a sender may write ffff where
		// Encode writes 0000 (RFC 1624 §3). Both verify.
		binary.BigEndian.PutUint16(out[10:], 0xffff)
	}
	if !bytes.Equal(out, h[:ihl]) {
		t.Fatalf("Encode of the parsed fields\n got % x\nwant % x", out, []byte(h[:ihl]))
	}
}

// refIPVerdict states ParseIphdr's contract on its own, with the RFC 1071
// reference sum.
func refIPVerdict(b []byte) header.IPError {
	switch {
	case len(b) < 20:
		return header.IPTruncated
	case b[0]>>4 != 4:
		return header.IPBadVersion
	case int(b[0]&0xf) < 5:
		return header.IPBadIHL
	}
	ihl := int(b[0]&0xf) * 4
	if len(b) < ihl {
		return header.IPTruncated
	}
	if tot := int(b[2])<<8 | int(b[3]); tot < ihl || tot > len(b) {
		return header.IPBadTotLen
	}
	if refSum(b[:ihl], 0) != 0xffff {
		return header.IPBadChecksum
	}
	return header.IPOk
}

func FuzzTcphdr(f *testing.F) {
	for _, fr := range [][]byte{frameTCPSyn, frameTCPSynAck, frameTCPAck, frameTCPData} {
		f.Add(l4(fr))
	}
	f.Add(withByte(l4(frameTCPSyn), 12, 0xf0))
	f.Add(withByte(l4(frameTCPSyn), 12, 0x4f))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := header.ParseTcphdr(b)
		want := len(b) >= 20 && int(b[12]>>4)*4 >= 20 && int(b[12]>>4)*4 <= len(b)
		if ok != want {
			t.Fatalf("ParseTcphdr ok=%v, want %v", ok, want)
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		doff := h.Doff()
		if doff < 20 || doff > 60 || doff > len(h) || len(h) != len(b) || !sameBacking(h, b) {
			t.Fatalf("doff %d len %d", doff, len(h))
		}
		if len(h.Options()) != doff-20 || len(h.Payload()) != len(b)-doff {
			t.Fatalf("options %d payload %d for doff %d", len(h.Options()), len(h.Payload()), doff)
		}
		_, _, _, _, _ = h.Seq(), h.AckSeq(), h.Window(), h.UrgPtr(), h.Check()
		header.ParseTCPOptions(h.Options(), h.Flags()&header.TCP_SYN != 0)

		out := make([]byte, doff)
		o := header.Tcphdr(out)
		o.Encode(header.TCPFields{Source: h.Source(), Dest: h.Dest(), Seq: h.Seq(), AckSeq: h.AckSeq(),
			Flags: h.Flags(), Window: h.Window(), UrgPtr: h.UrgPtr(), Options: h.Options()})
		if o.Check() != 0 {
			t.Fatal("Encode wrote a checksum")
		}
		o.SetCheck(h.Check())
		// The reserved bits beside doff (RFC 9293 §3.1) have no field in
		// TCPFields; Encode writes them as zero, which a sender must.
		ref := append([]byte(nil), h[:doff]...)
		ref[12] &= 0xf0
		if !bytes.Equal(out, ref) {
			t.Fatalf("Encode of the parsed fields\n got % x\nwant % x", out, ref)
		}
	})
}

func FuzzTCPOptions(f *testing.F) {
	for _, fr := range [][]byte{frameTCPSyn, frameTCPSynAck, frameTCPAck} {
		f.Add(mustTCP(f, fr).Options(), fr[ethHlen+20+13]&header.TCP_SYN != 0)
	}
	f.Add(cat(optNOP, optNOP, optSACKBlock(1, 2, 3, 4, 5, 6, 7, 8)), false)
	f.Add(cat(optMSS1460, []byte{3, 3, 200}, []byte{2, 0}), true)
	f.Add([]byte{5, 255, 0, 0}, false)
	f.Fuzz(func(t *testing.T, opts []byte, syn bool) {
		o := header.ParseTCPOptions(opts, syn)
		if o.WScale < -1 || o.WScale > 14 {
			t.Fatalf("wscale %d outside [-1, 14]", o.WScale)
		}
		if !syn && (o.MSS != 0 || o.WScale != -1 || o.SackPerm) {
			t.Fatalf("SYN-only option taken from a non-SYN: %+v", o)
		}
		if syn && o.NumSACK != 0 {
			t.Fatalf("SACK blocks taken from a SYN: %+v", o)
		}
		if o.NumSACK < 0 || o.NumSACK > 4 || o.NumSACK > 0 && 2+8*o.NumSACK > len(opts) {
			t.Fatalf("NumSACK %d from %d bytes", o.NumSACK, len(opts))
		}
		for k := o.NumSACK; k < len(o.SACKBlocks); k++ {
			if o.SACKBlocks[k] != [2]uint32{} {
				t.Fatalf("block %d set beyond NumSACK %d", k, o.NumSACK)
			}
		}
		if !o.HasTS && (o.TSVal != 0 || o.TSEcr != 0) {
			t.Fatal("timestamp values without HasTS")
		}
		// A NOP in front only shifts the walk by one byte.
		if p := header.ParseTCPOptions(append([]byte{header.TCPOPT_NOP}, opts...), syn); p != o {
			t.Fatalf("a leading NOP changed the result:\n%+v\n%+v", p, o)
		}
		// Nothing after an EOL is read.
		if q := header.ParseTCPOptions(append([]byte{header.TCPOPT_EOL}, opts...), syn); q != (header.TCPOptions{WScale: -1}) {
			t.Fatalf("read past EOL: %+v", q)
		}
	})
}

func FuzzUdphdr(f *testing.F) {
	f.Add(l4(frameUDPDNS))
	f.Add(append(l4(frameUDPDNS), 1, 2, 3))
	f.Add([]byte{0, 1, 0, 2, 0, 8, 0, 0})
	f.Add([]byte{0, 1, 0, 2, 0, 7, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := header.ParseUdphdr(b)
		want := len(b) >= 8 && int(binary.BigEndian.Uint16(b[4:])) >= 8 && int(binary.BigEndian.Uint16(b[4:])) <= len(b)
		if ok != want {
			t.Fatalf("ParseUdphdr ok=%v, want %v", ok, want)
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		if len(h) != h.Len() || len(h.Payload()) != h.Len()-8 || !sameBacking(h, b) {
			t.Fatalf("len %d Len %d payload %d", len(h), h.Len(), len(h.Payload()))
		}
		out := make([]byte, 8)
		o := header.Udphdr(out)
		o.Encode(header.UDPFields{Source: h.Source(), Dest: h.Dest(), Len: h.Len()})
		o.SetCheck(h.Check())
		if !bytes.Equal(out, h[:8]) {
			t.Fatalf("Encode of the parsed fields\n got % x\nwant % x", out, []byte(h[:8]))
		}
	})
}

func FuzzIcmphdr(f *testing.F) {
	for _, fr := range [][]byte{frameICMPEcho, frameICMPEchoReply, frameICMPPortUnreach} {
		f.Add(mustIP(f, fr).Payload())
	}
	f.Add(make([]byte, 8))
	f.Add([]byte{3, 4, 0, 0, 0, 0, 5, 0x78})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := header.ParseIcmphdr(b)
		if ok != (len(b) >= 8) {
			t.Fatalf("ParseIcmphdr ok=%v for %d bytes", ok, len(b))
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		if len(h) != len(b) || len(h.Payload()) != len(b)-8 || h.Mtu() != h.Sequence() || !sameBacking(h, b) {
			t.Fatalf("len %d payload %d", len(h), len(h.Payload()))
		}
		valid := h.IsChecksumValid()
		if valid != (refSum(b, 0) == 0xffff) {
			t.Fatalf("IsChecksumValid %v disagrees with the reference sum", valid)
		}
		out := make([]byte, len(h))
		o := header.Icmphdr(out)
		o.Encode(header.ICMPFields{Type: h.Type(), Code: h.Code(), ID: h.ID(), Sequence: h.Sequence()})
		copy(o.Payload(), h.Payload())
		o.SetChecksum()
		if !o.IsChecksumValid() {
			t.Fatalf("SetChecksum wrote %#04x that does not verify", o.Checksum())
		}
		if valid && h.Checksum() != 0xffff && !bytes.Equal(out, h) {
			// Outside the negative-zero case a valid checksum is unique.
			t.Fatalf("Encode+SetChecksum\n got % x\nwant % x", out, []byte(h))
		}
	})
}

func FuzzArphdr(f *testing.F) {
	for _, fr := range [][]byte{frameARPRequest, frameARPingRequest, frameARPReply} {
		f.Add(l3(fr))
	}
	f.Add(append(l3(frameARPReply), make([]byte, 18)...))
	f.Add(withByte(l3(frameARPRequest), 4, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := header.ParseArphdr(b)
		want := len(b) >= 28 && b[0] == 0 && b[1] == 1 && b[2] == 8 && b[3] == 0 && b[4] == 6 && b[5] == 4
		if ok != want {
			t.Fatalf("ParseArphdr ok=%v, want %v", ok, want)
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected packet returned a view")
			}
			return
		}
		if len(h) != header.ARPLen || !sameBacking(h, b) {
			t.Fatalf("len %d", len(h))
		}
		out := make([]byte, header.ARPLen)
		header.Arphdr(out).Encode(header.ARPFields{Op: h.Op(), Sha: h.Sha(), Sip: h.Sip(), Tha: h.Tha(), Tip: h.Tip()})
		if !bytes.Equal(out, h) {
			t.Fatalf("Encode of the parsed fields\n got % x\nwant % x", out, []byte(h))
		}
	})
}
