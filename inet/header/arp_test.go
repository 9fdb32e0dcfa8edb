package header_test

import (
	"bytes"
	"testing"

	"sockfs/inet/header"
)

func arpBody(frame []byte) []byte { return l3(frame) }

func TestArphdrRealFrames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		frame    []byte
		op       uint16
		sha, tha [6]byte
		sip, tip [4]byte
	}{
		{"kernel request", frameARPRequest, header.ARPOP_REQUEST, mac1, [6]byte{}, addr1, addr2},
		{"arping request", frameARPingRequest, header.ARPOP_REQUEST, mac1,
			[6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, addr1, addr2},
		{"reply", frameARPReply, header.ARPOP_REPLY, mac2, mac1, addr2, addr1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := header.ParseArphdr(arpBody(tc.frame))
			if !ok {
				t.Fatal("ParseArphdr of a captured packet failed")
			}
			if h.Op() != tc.op || h.Sha() != tc.sha || h.Tha() != tc.tha || h.Sip() != tc.sip || h.Tip() != tc.tip {
				t.Fatalf("op %d sha % x sip %v tha % x tip %v", h.Op(), h.Sha(), h.Sip(), h.Tha(), h.Tip())
			}
			out := make([]byte, header.ARPLen)
			header.Arphdr(out).Encode(header.ARPFields{Op: h.Op(), Sha: h.Sha(), Tha: h.Tha(), Sip: h.Sip(), Tip: h.Tip()})
			if !bytes.Equal(out, h) {
				t.Fatalf("Encode\n got % x\nwant % x", out, []byte(h))
			}
		})
	}
}

// TestArphdrPadded: on a real Ethernet the 42-byte ARP frame is padded to 60;
// the view is the 28 bytes of the packet.
func TestArphdrPadded(t *testing.T) {
	b := append(arpBody(frameARPReply), make([]byte, 18)...)
	h, ok := header.ParseArphdr(b)
	if !ok || len(h) != header.ARPLen || h.Tip() != addr1 {
		t.Fatalf("ok %v len %d", ok, len(h))
	}
}

func TestParseArphdrRejects(t *testing.T) {
	req := arpBody(frameARPRequest)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"27 bytes", req[:27]},
		{"hardware type 6 (IEEE 802)", withByte(req, 1, 6)},
		{"hardware type 0x0101", withByte(req, 0, 1)},
		{"protocol 0x86dd", withByte(withByte(req, 2, 0x86), 3, 0xdd)},
		{"protocol 0x0806", withByte(req, 3, 0x06)},
		{"hardware length 8", withByte(req, 4, 8)},
		{"hardware length 0", withByte(req, 4, 0)},
		{"protocol length 16", withByte(req, 5, 16)},
		{"protocol length 0", withByte(req, 5, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h, ok := header.ParseArphdr(tc.b); ok || h != nil {
				t.Fatalf("ParseArphdr accepted % x", tc.b)
			}
		})
	}
}
