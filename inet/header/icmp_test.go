package header_test

import (
	"bytes"
	"testing"

	"sockfs/inet/header"
)

func mustICMP(t testing.TB, frame []byte) header.Icmphdr {
	t.Helper()
	h, ok := header.ParseIcmphdr(mustIP(t, frame).Payload())
	if !ok {
		t.Fatal("ParseIcmphdr of a captured message failed")
	}
	return h
}

func TestIcmphdrEcho(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		typ   uint8
		check uint16
	}{
		{"request", frameICMPEcho, header.ICMP_ECHO, 0xbcd3},
		{"reply", frameICMPEchoReply, header.ICMP_ECHOREPLY, 0xc4d3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustICMP(t, tc.frame)
			if h.Type() != tc.typ || h.Code() != 0 || h.Checksum() != tc.check || h.ID() != 5321 || h.Sequence() != 1 {
				t.Fatalf("type %d code %d check %#04x id %d seq %d", h.Type(), h.Code(), h.Checksum(), h.ID(), h.Sequence())
			}
			if len(h.Payload()) != 56 || !bytes.Equal(h.Payload(), tc.frame[ethHlen+28:]) {
				t.Fatalf("payload %d bytes", len(h.Payload()))
			}
			if !h.IsChecksumValid() {
				t.Fatal("captured checksum does not verify")
			}
		})
	}
}

// TestIcmphdrEchoReplyInPlace does what icmp_echo does to a request: flip
// the type and recompute the checksum. The result is byte for byte the
// kernel's reply.
func TestIcmphdrEchoReplyInPlace(t *testing.T) {
	h := header.Icmphdr(mustIP(t, frameICMPEcho).Payload())
	h.SetType(header.ICMP_ECHOREPLY)
	if h.IsChecksumValid() {
		t.Fatal("checksum verifies after SetType without SetChecksum")
	}
	h.SetChecksum()
	if want := mustIP(t, frameICMPEchoReply).Payload(); !bytes.Equal(h, want) {
		t.Fatalf("reply\n got % x\nwant % x", []byte(h), want)
	}
	h.SetID(0xabcd)
	h.SetChecksum()
	if h.ID() != 0xabcd || !h.IsChecksumValid() {
		t.Fatal("SetID")
	}
}

func TestIcmphdrEncodeReproducesCapture(t *testing.T) {
	src := mustICMP(t, frameICMPEcho)
	b := make([]byte, len(src))
	h := header.Icmphdr(b)
	h.Encode(header.ICMPFields{Type: header.ICMP_ECHO, ID: 5321, Sequence: 1})
	if h.Checksum() != 0 {
		t.Fatal("Encode left a checksum")
	}
	copy(h.Payload(), src.Payload())
	h.SetChecksum()
	if !bytes.Equal(b, src) {
		t.Fatalf("Encode\n got % x\nwant % x", b, []byte(src))
	}
}

// TestIcmphdrPortUnreach reads the error as icmp_unreach does: the quoted
// datagram is a whole IPv4 header plus the UDP header that caused it.
func TestIcmphdrPortUnreach(t *testing.T) {
	ip := mustIP(t, frameICMPPortUnreach)
	h := mustICMP(t, frameICMPPortUnreach)
	if h.Type() != header.ICMP_DEST_UNREACH || h.Code() != header.ICMP_PORT_UNREACH || h.Checksum() != 0x1136 ||
		h.ID() != 0 || h.Sequence() != 0 || h.Mtu() != 0 || !h.IsChecksumValid() || len(h) != ip.TotLen()-20 {
		t.Fatalf("type %d code %d check %#04x", h.Type(), h.Code(), h.Checksum())
	}
	inner, e := header.ParseIphdr(h.Payload())
	if e != header.IPOk {
		t.Fatalf("quoted IPv4 header: %v", e)
	}
	if !bytes.Equal(inner, mustIP(t, frameUDPDNS)) {
		t.Fatal("quoted datagram is not the one sent")
	}
	u, ok := header.ParseUdphdr(inner.Payload())
	if !ok || u.Source() != 40000 || u.Dest() != 53 {
		t.Fatal("quoted UDP header")
	}
}

// TestIcmphdrFragNeeded: RFC 1191 §4 puts the next-hop MTU in the low 16
// bits of the second word.
func TestIcmphdrFragNeeded(t *testing.T) {
	b := make([]byte, 8+28)
	h := header.Icmphdr(b)
	h.Encode(header.ICMPFields{Type: header.ICMP_DEST_UNREACH, Code: header.ICMP_FRAG_NEEDED, Sequence: 1400})
	h.SetChecksum()
	p, ok := header.ParseIcmphdr(b)
	if !ok || p.Mtu() != 1400 || p.ID() != 0 || p.Code() != header.ICMP_FRAG_NEEDED || !p.IsChecksumValid() {
		t.Fatalf("% x", b)
	}
	if b[4] != 0 || b[5] != 0 || b[6] != 0x05 || b[7] != 0x78 {
		t.Fatalf("MTU not in bytes 6-7: % x", b[4:8])
	}
}

func TestParseIcmphdrRejects(t *testing.T) {
	for n := 0; n < 8; n++ {
		if h, ok := header.ParseIcmphdr(make([]byte, n)); ok || h != nil {
			t.Fatalf("accepted %d bytes", n)
		}
	}
	if h, ok := header.ParseIcmphdr(make([]byte, 8)); !ok || len(h.Payload()) != 0 {
		t.Fatal("an 8-byte message must parse")
	}
	h := mustICMP(t, frameICMPEcho)
	h[len(h)-1] ^= 0x80
	if h.IsChecksumValid() {
		t.Fatal("a flipped payload bit still verifies")
	}
}
