package header_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"

	"sockfs/inet/header"
)

func TestIphdrRealFrames(t *testing.T) {
	for _, tc := range []struct {
		name         string
		frame        []byte
		tos          uint8
		totLen       int
		id           uint16
		fragOff      uint16
		proto        uint8
		check        uint16
		saddr, daddr [4]byte
	}{
		{"tcp syn", frameTCPSyn, 0, 60, 0xe956, header.IP_DF, 6, 0x3d63, addr1, addr2},
		{"tcp syn-ack", frameTCPSynAck, 0, 60, 0, header.IP_DF, 6, 0x26ba, addr2, addr1},
		{"tcp data", frameTCPData, 0, 58, 0xe958, header.IP_DF, 6, 0x3d63, addr1, addr2},
		{"udp dns", frameUDPDNS, 0, 57, 0x05df, header.IP_DF, 17, 0x20d3, addr1, addr2},
		{"icmp echo", frameICMPEcho, 0, 84, 0xc262, header.IP_DF, 1, 0x6444, addr1, addr2},
		{"icmp echo reply", frameICMPEchoReply, 0, 84, 0xfa57, 0, 1, 0x6c4f, addr2, addr1},
		{"icmp unreach", frameICMPPortUnreach, 0xc0, 85, 0xfac3, 0, 1, 0x6b22, addr2, addr1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustIP(t, tc.frame)
			if h.Version() != 4 || h.Ihl() != 20 || h.TTL() != 64 {
				t.Errorf("version %d ihl %d ttl %d", h.Version(), h.Ihl(), h.TTL())
			}
			if h.Tos() != tc.tos || h.TotLen() != tc.totLen || h.ID() != tc.id || h.FragOff() != tc.fragOff ||
				h.Protocol() != tc.proto || h.Check() != tc.check {
				t.Errorf("tos %#x totlen %d id %#x fragoff %#x proto %d check %#x",
					h.Tos(), h.TotLen(), h.ID(), h.FragOff(), h.Protocol(), h.Check())
			}
			if h.Saddr() != tc.saddr || h.Daddr() != tc.daddr {
				t.Errorf("saddr %v daddr %v", h.Saddr(), h.Daddr())
			}
			if h.Src() != netip.AddrFrom4(tc.saddr) || h.Dst() != netip.AddrFrom4(tc.daddr) {
				t.Errorf("src %v dst %v", h.Src(), h.Dst())
			}
			if len(h) != tc.totLen || len(h.Options()) != 0 {
				t.Errorf("len %d options %d", len(h), len(h.Options()))
			}
			if !bytes.Equal(h.Payload(), tc.frame[ethHlen+20:ethHlen+tc.totLen]) {
				t.Error("payload is not the bytes after the header")
			}
			if h.IsFragment() || h.MoreFragments() || h.FragOffset() != 0 {
				t.Error("an unfragmented datagram reads as a fragment")
			}
			if !h.IsChecksumValid() || h.CalcCheck() != tc.check {
				t.Errorf("checksum valid %v, CalcCheck %#x", h.IsChecksumValid(), h.CalcCheck())
			}
		})
	}
}

// TestIphdrTrailingPadding: a short datagram in a minimum-size Ethernet
// frame arrives with padding; the view stops at tot_len (pskb_trim_rcsum).
func TestIphdrTrailingPadding(t *testing.T) {
	b := append(l3(frameTCPAck), make([]byte, 6)...)
	h, e := header.ParseIphdr(b)
	if e != header.IPOk {
		t.Fatalf("ParseIphdr: %v", e)
	}
	if len(h) != 52 || len(h.Payload()) != 32 {
		t.Fatalf("len %d payload %d, want 52 and 32", len(h), len(h.Payload()))
	}
}

// ipFixCheck rewrites the header checksum so a test isolates one fault.
func ipFixCheck(b []byte) {
	ihl := int(b[0]&0xf) * 4
	binary.BigEndian.PutUint16(b[10:], 0)
	binary.BigEndian.PutUint16(b[10:], header.Fold(header.Checksum(b[:min(ihl, len(b))], 0)))
}

func TestParseIphdrRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func([]byte) []byte
		want header.IPError
	}{
		{"empty", func(b []byte) []byte { return nil }, header.IPTruncated},
		{"19 bytes", func(b []byte) []byte { return b[:19] }, header.IPTruncated},
		{"version 6", func(b []byte) []byte { b[0] = 0x65; ipFixCheck(b); return b }, header.IPBadVersion},
		{"version 0", func(b []byte) []byte { b[0] = 0x05; ipFixCheck(b); return b }, header.IPBadVersion},
		{"ihl 4", func(b []byte) []byte { b[0] = 0x44; ipFixCheck(b); return b }, header.IPBadIHL},
		{"ihl 0", func(b []byte) []byte { b[0] = 0x40; return b }, header.IPBadIHL},
		{"ihl 15 past the data", func(b []byte) []byte { b[0] = 0x4f; return b[:40] }, header.IPTruncated},
		{"tot_len one past the data", func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[2:], uint16(len(b)+1))
			ipFixCheck(b)
			return b
		}, header.IPBadTotLen},
		{"tot_len 65535", func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 0xffff); ipFixCheck(b); return b }, header.IPBadTotLen},
		{"tot_len < ihl", func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 19); ipFixCheck(b); return b }, header.IPBadTotLen},
		{"tot_len 0", func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 0); ipFixCheck(b); return b }, header.IPBadTotLen},
		{"bad checksum", func(b []byte) []byte { b[10] ^= 1; return b }, header.IPBadChecksum},
		{"ttl changed without checksum", func(b []byte) []byte { b[8]--; return b }, header.IPBadChecksum},
		{"source changed without checksum", func(b []byte) []byte { b[15] = 3; return b }, header.IPBadChecksum},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, e := header.ParseIphdr(tc.mut(l3(frameTCPSyn)))
			if e != tc.want || h != nil {
				t.Fatalf("ParseIphdr = %v (view %d bytes), want %v", e, len(h), tc.want)
			}
		})
	}
	// The same faults fixed up again parse: the mutations above isolate
	// one check each.
	if _, e := header.ParseIphdr(l3(frameTCPSyn)); e != header.IPOk {
		t.Fatalf("unmodified: %v", e)
	}
}

// TestIphdrEncodeReproducesCapture: Encode from the captured fields writes
// the kernel's bytes, checksum included.
func TestIphdrEncodeReproducesCapture(t *testing.T) {
	for _, frame := range [][]byte{frameTCPSyn, frameTCPSynAck, frameUDPDNS, frameICMPEcho, frameICMPPortUnreach} {
		src := mustIP(t, frame)
		out := make([]byte, 20)
		header.Iphdr(out).Encode(header.IPFields{
			Tos: src.Tos(), TotLen: src.TotLen(), ID: src.ID(), FragOff: src.FragOff(),
			TTL: src.TTL(), Protocol: src.Protocol(), Saddr: src.Saddr(), Daddr: src.Daddr(),
		})
		if !bytes.Equal(out, src[:20]) {
			t.Errorf("Encode\n got % x\nwant % x", out, []byte(src[:20]))
		}
	}
}

func TestIphdrEncodeRoundTrip(t *testing.T) {
	opts := []byte{0x94, 0x04, 0x00, 0x00} // Router Alert (RFC 2113)
	f := header.IPFields{
		Tos: 0x10, TotLen: 24 + 100, ID: 0xbeef, FragOff: header.IP_MF | 185,
		TTL: 1, Protocol: 17, Saddr: [4]byte{192, 0, 2, 1}, Daddr: [4]byte{198, 51, 100, 7},
		Options: opts,
	}
	b := make([]byte, f.TotLen)
	header.Iphdr(b).Encode(f)
	h, e := header.ParseIphdr(b)
	if e != header.IPOk {
		t.Fatalf("ParseIphdr after Encode: %v", e)
	}
	if h.Ihl() != 24 || h.Tos() != f.Tos || h.TotLen() != f.TotLen || h.ID() != f.ID || h.FragOff() != f.FragOff ||
		h.TTL() != f.TTL || h.Protocol() != f.Protocol || h.Saddr() != f.Saddr || h.Daddr() != f.Daddr {
		t.Fatalf("fields did not round-trip: % x", []byte(h[:24]))
	}
	if !bytes.Equal(h.Options(), opts) || len(h.Payload()) != 100 {
		t.Fatalf("options % x payload %d", h.Options(), len(h.Payload()))
	}
	if !h.IsFragment() || !h.MoreFragments() || h.FragOffset() != 1480 {
		t.Fatalf("fragment: %v %v %d", h.IsFragment(), h.MoreFragments(), h.FragOffset())
	}
	// The last fragment: offset only, no MF.
	h.SetFragOff(185)
	h.SetCheck()
	if !h.IsFragment() || h.MoreFragments() || h.FragOffset() != 1480 {
		t.Fatal("last fragment misread")
	}
	// DF alone is not a fragment.
	h.SetFragOff(header.IP_DF)
	if h.IsFragment() || h.MoreFragments() || h.FragOffset() != 0 {
		t.Fatal("DF read as a fragment")
	}
}

// TestIphdrSetters edits a header as ip_forward and the output path do and
// checks that SetCheck makes it verify again and CalcCheck agrees.
func TestIphdrSetters(t *testing.T) {
	h := mustIP(t, frameUDPDNS)
	h.SetTTL(63)
	if h.IsChecksumValid() {
		t.Fatal("checksum still verifies after SetTTL")
	}
	want := h.CalcCheck()
	h.SetCheck()
	if !h.IsChecksumValid() || h.Check() != want {
		t.Fatalf("SetCheck wrote %#04x, CalcCheck said %#04x", h.Check(), want)
	}
	h.SetSaddr([4]byte{192, 0, 2, 9})
	h.SetDaddr([4]byte{192, 0, 2, 10})
	h.SetProtocol(6)
	h.SetID(7)
	h.SetTotLen(40)
	h.SetCheck()
	if h.Saddr() != [4]byte{192, 0, 2, 9} || h.Daddr() != [4]byte{192, 0, 2, 10} || h.Protocol() != 6 ||
		h.ID() != 7 || h.TotLen() != 40 || h.TTL() != 63 {
		t.Fatalf("setters: % x", []byte(h[:20]))
	}
	if _, e := header.ParseIphdr(h); e != header.IPOk {
		t.Fatalf("edited header no longer parses: %v", e)
	}
}

// TestIphdrCalcCheck: CalcCheck is the checksum the header should carry,
// whatever is in the field now. Random headers reach partial sums below the
// stored checksum, where a plain uint32 subtraction would wrap.
func TestIphdrCalcCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 100000; i++ {
		b := make([]byte, 20)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		b[0] = 0x45
		orig := append([]byte(nil), b...)
		h := header.Iphdr(b)
		got := h.CalcCheck()
		binary.BigEndian.PutUint16(b[10:], 0)
		want := header.Fold(header.Checksum(b, 0))
		if got != want {
			t.Fatalf("CalcCheck of % x = %#04x, want %#04x", orig, got, want)
		}
	}
}
