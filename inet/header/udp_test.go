package header_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"sockfs/inet/header"
)

var dnsQuery = unhex("123401000001000000000000076578616d706c6503636f6d0000010001")

func TestUdphdrRealFrame(t *testing.T) {
	ip := mustIP(t, frameUDPDNS)
	h, ok := header.ParseUdphdr(ip.Payload())
	if !ok {
		t.Fatal("ParseUdphdr of the captured datagram failed")
	}
	if h.Source() != 40000 || h.Dest() != 53 || h.Len() != 37 || h.Check() != 0x6d8a {
		t.Fatalf("source %d dest %d len %d check %#04x", h.Source(), h.Dest(), h.Len(), h.Check())
	}
	if !bytes.Equal(h.Payload(), dnsQuery) || len(h) != 37 {
		t.Fatalf("payload % x", h.Payload())
	}
	if transportSum(ip) != 0 {
		t.Fatal("captured UDP checksum does not verify")
	}
}

// TestUdphdrTrailingBytes: the view ends at the UDP length, not at the end
// of the buffer (udp_rcv trims to uh->len).
func TestUdphdrTrailingBytes(t *testing.T) {
	b := append(l4(frameUDPDNS), 0xde, 0xad)
	h, ok := header.ParseUdphdr(b)
	if !ok || len(h) != 37 || !bytes.Equal(h.Payload(), dnsQuery) {
		t.Fatalf("ok %v len %d", ok, len(h))
	}
}

func TestParseUdphdrRejects(t *testing.T) {
	setLen := func(n uint16) []byte {
		b := l4(frameUDPDNS)
		binary.BigEndian.PutUint16(b[4:], n)
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"7 bytes", l4(frameUDPDNS)[:7]},
		{"length 0", setLen(0)},
		{"length 7", setLen(7)},
		{"length one past the data", setLen(38)},
		{"length 65535", setLen(0xffff)},
		{"header only, length 9", setLen(9)[:8]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h, ok := header.ParseUdphdr(tc.b); ok || h != nil {
				t.Fatalf("ParseUdphdr accepted % x", tc.b)
			}
		})
	}
	if h, ok := header.ParseUdphdr(setLen(8)); !ok || len(h.Payload()) != 0 {
		t.Fatal("an empty datagram (length 8) must parse")
	}
}

func TestUdphdrEncodeReproducesCapture(t *testing.T) {
	b := make([]byte, 37)
	h := header.Udphdr(b)
	h.Encode(header.UDPFields{Source: 40000, Dest: 53, Len: 37})
	if h.Check() != 0 {
		t.Fatalf("Encode left checksum %#04x", h.Check())
	}
	copy(b[8:], dnsQuery)
	h.SetCheck(header.Fold(header.Checksum(b, header.PseudoHeaderSum(addr1, addr2, 17, len(b)))))
	if want := l4(frameUDPDNS); !bytes.Equal(b, want) {
		t.Fatalf("Encode\n got % x\nwant % x", b, want)
	}
	p, ok := header.ParseUdphdr(b)
	if !ok || p.Source() != 40000 || p.Dest() != 53 || p.Len() != 37 {
		t.Fatal("round trip")
	}
}
