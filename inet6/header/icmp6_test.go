package header_test

import (
	"bytes"
	"testing"

	"sockfs/inet6/header"
)

func TestIcmp6hdrEcho(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		typ   uint8
		cksum uint16
	}{
		{"request", frameEcho, header.ICMPV6_ECHO_REQUEST, 0x1e47},
		{"reply", frameEchoReply, header.ICMPV6_ECHO_REPLY, 0x1d47},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustICMP6(t, tc.frame)
			if h.Type() != tc.typ || h.Code() != 0 || h.Cksum() != tc.cksum || h.Identifier() != 3298 || h.Sequence() != 1 ||
				h.IsError() || len(h.Payload()) != 56 {
				t.Fatalf("type %d code %d cksum %#04x id %d seq %d", h.Type(), h.Code(), h.Cksum(), h.Identifier(), h.Sequence())
			}
		})
	}
}

// TestIcmp6hdrEchoReplyInPlace does what icmpv6_echo_reply amounts to for
// this request: the type flipped, the addresses swapped, the checksum
// recomputed. The result is byte for byte the kernel's reply.
func TestIcmp6hdrEchoReplyInPlace(t *testing.T) {
	ip := mustIP6(t, frameEcho)
	h := header.Icmp6hdr(ip.Payload())
	h.SetType(header.ICMPV6_ECHO_REPLY)
	if h.IsChecksumValid(addrB, addrA) {
		t.Fatal("checksum verifies after SetType without SetChecksum")
	}
	h.SetChecksum(addrB, addrA)
	if want := mustIP6(t, frameEchoReply).Payload(); !bytes.Equal(h, want) {
		t.Fatalf("reply\n got % x\nwant % x", []byte(h), want)
	}
	// The pseudo-header is in the sum: other addresses do not verify.
	if h.IsChecksumValid(addrB, addrC) {
		t.Fatal("checksum verifies for another destination")
	}
	h.SetIdentifier(0xabcd)
	h.SetChecksum(addrB, addrA)
	if h.Identifier() != 0xabcd || h.Sequence() != 1 || !h.IsChecksumValid(addrB, addrA) {
		t.Fatal("SetIdentifier")
	}
}

func TestIcmp6hdrEncodeReproducesCapture(t *testing.T) {
	src := mustICMP6(t, frameEcho)
	b := make([]byte, len(src))
	h := header.Icmp6hdr(b)
	h.Encode(header.ICMP6Fields{Type: header.ICMPV6_ECHO_REQUEST, Data32: 3298<<16 | 1})
	if h.Cksum() != 0 {
		t.Fatal("Encode left a checksum")
	}
	copy(h.Payload(), src.Payload())
	h.SetChecksum(addrA, addrB)
	if !bytes.Equal(b, src) {
		t.Fatalf("Encode\n got % x\nwant % x", b, []byte(src))
	}
}

// TestIcmp6hdrErrors reads the kernel's error messages: their types and
// codes, the packet too big's 32-bit MTU, and the quoted packet, no larger
// than fits the error in IPV6_MIN_MTU (RFC 4443 §2.4 (c)).
func TestIcmp6hdrErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frame  []byte
		typ    uint8
		code   uint8
		data32 uint32
		quoted []byte // the invoking packet, when captured too
		dst    [16]byte
	}{
		{"port unreachable", frameICMPPortUnreach, header.ICMPV6_DEST_UNREACH, header.ICMPV6_PORT_UNREACH, 0, l3(frameUDPDNS), addrB},
		{"no route", frameNoRoute, header.ICMPV6_DEST_UNREACH, header.ICMPV6_NOROUTE, 0, nil,
			[16]byte{0x20, 0x01, 0, 2, 0, 0, 0, 9, 15: 1}},
		{"packet too big", framePktTooBig, header.ICMPV6_PKT_TOOBIG, 0, header.IPV6_MIN_MTU, nil, addrC},
		{"time exceeded", frameTimeExceeded, header.ICMPV6_TIME_EXCEED, header.ICMPV6_EXC_HOPLIMIT, 0, nil, addrC},
		{"parameter problem, option", frameParamProbOption, header.ICMPV6_PARAMPROB, header.ICMPV6_UNK_OPTION, 44, l3(frameDstOptBad), addrB},
		{"parameter problem, header", frameParamProbRH0, header.ICMPV6_PARAMPROB, header.ICMPV6_HDR_FIELD, 42, l3(frameRH0), addrB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip := mustIP6(t, tc.frame)
			h := mustICMP6(t, tc.frame)
			if h.Type() != tc.typ || h.Code() != tc.code || h.Data32() != tc.data32 || !h.IsError() {
				t.Fatalf("type %d code %d data %d", h.Type(), h.Code(), h.Data32())
			}
			if h.Mtu() != h.Data32() || h.Pointer() != h.Data32() {
				t.Fatal("Mtu/Pointer are the second word")
			}
			if len(ip) > header.IPV6_MIN_MTU {
				t.Fatalf("error of %d bytes", len(ip))
			}
			q := h.Payload()
			if tc.quoted != nil && !bytes.Equal(q, tc.quoted) {
				t.Fatal("quoted packet is not the one sent")
			}
			inner := header.Ipv6hdr(q[:header.IPv6Len])
			if inner.Version() != 6 || inner.Saddr() != addrA || inner.Daddr() != tc.dst {
				t.Fatalf("quoted header %v -> %v", inner.Src(), inner.Dst())
			}
			// The too-big packet is cut: it does not parse as whole,
			// which is why icmpv6_notify walks it with skip_exthdr.
			if _, e := header.ParseIpv6hdr(q); (e == header.IPv6Ok) != (tc.typ != header.ICMPV6_PKT_TOOBIG) {
				t.Fatalf("quoted packet parses: %v", e)
			}
		})
	}
}

func TestParseIcmp6hdrRejects(t *testing.T) {
	for n := 0; n < 8; n++ {
		if h, ok := header.ParseIcmp6hdr(make([]byte, n)); ok || h != nil {
			t.Fatalf("accepted %d bytes", n)
		}
	}
	if h, ok := header.ParseIcmp6hdr(make([]byte, 8)); !ok || len(h.Payload()) != 0 {
		t.Fatal("an 8-byte message must parse")
	}
	h := mustICMP6(t, frameEcho)
	h[len(h)-1] ^= 0x80
	if h.IsChecksumValid(addrA, addrB) {
		t.Fatal("a flipped payload bit still verifies")
	}
}

// TestIcmp6TypeClasses: errors are the types below 128 (RFC 4443 §2.1).
func TestIcmp6TypeClasses(t *testing.T) {
	for typ := 0; typ < 256; typ++ {
		b := make([]byte, 8)
		h := header.Icmp6hdr(b)
		h.Encode(header.ICMP6Fields{Type: uint8(typ)})
		if h.IsError() != (typ <= header.ICMPV6_ERRMSG_MAX) {
			t.Fatalf("type %d: IsError %v", typ, h.IsError())
		}
	}
}
