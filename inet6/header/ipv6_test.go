package header_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	inethdr "sockfs/inet/header"
	"sockfs/inet6/header"
)

func TestIpv6hdrRealFrames(t *testing.T) {
	for _, tc := range []struct {
		name         string
		frame        []byte
		flow         uint32
		payloadLen   int
		nexthdr      uint8
		hopLimit     uint8
		saddr, daddr [16]byte
	}{
		{"dad ns", frameNSDad, 0, 32, header.NEXTHDR_ICMP, 255, [16]byte{}, header.AddrconfAddrSolictMult(addrA)},
		{"mld report", frameMLDReport, 0, 36, header.NEXTHDR_HOP, 1, llA, allMLDv2Routers},
		{"rs", frameRS, 0, 16, header.NEXTHDR_ICMP, 255, llA, allRouters},
		{"echo", frameEcho, 0x18c2c, 64, header.NEXTHDR_ICMP, 64, addrA, addrB},
		{"first fragment", frameFragFirst, 0x18c2c, 1456, header.NEXTHDR_FRAGMENT, 64, addrA, addrB},
		{"tcp syn-ack", frameTCPSynAck, 0x0a37e, 40, header.NEXTHDR_TCP, 64, addrB, addrA},
		{"udp dns", frameUDPDNS, 0xa5519, 37, header.NEXTHDR_UDP, 64, addrA, addrB},
		{"dstopts", frameDstOptSkip, 0x7a9fe, 21, header.NEXTHDR_DEST, 64, addrA, addrB},
		{"rh0", frameRH0, 0, 36, header.NEXTHDR_ROUTING, 64, addrA, addrB},
		{"packet too big", framePktTooBig, 0x12218, 1240, header.NEXTHDR_ICMP, 64, addrB, addrA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustIP6(t, tc.frame)
			if h.Version() != 6 || h.TrafficClass() != 0 || h.FlowLabel() != tc.flow || h.PayloadLen() != tc.payloadLen ||
				h.Nexthdr() != tc.nexthdr || h.HopLimit() != tc.hopLimit {
				t.Errorf("version %d tc %#x flow %#x plen %d nexthdr %d hlim %d",
					h.Version(), h.TrafficClass(), h.FlowLabel(), h.PayloadLen(), h.Nexthdr(), h.HopLimit())
			}
			if h.Saddr() != tc.saddr || h.Daddr() != tc.daddr {
				t.Errorf("saddr %v daddr %v", h.Src(), h.Dst())
			}
			if h.Src() != netip.AddrFrom16(tc.saddr) || h.Dst() != netip.AddrFrom16(tc.daddr) {
				t.Errorf("src %v dst %v", h.Src(), h.Dst())
			}
			if len(h) != header.IPv6Len+tc.payloadLen || !bytes.Equal(h.Payload(), tc.frame[ethHlen+40:]) {
				t.Error("payload is not the bytes after the header")
			}
		})
	}
}

// TestIpv6hdrTrailingPadding: a short packet in a minimum-size Ethernet
// frame arrives with padding; the view stops at the payload length.
func TestIpv6hdrTrailingPadding(t *testing.T) {
	b := append(l3(frameRS), make([]byte, 10)...)
	h, e := header.ParseIpv6hdr(b)
	if e != header.IPv6Ok || len(h) != 56 || len(h.Payload()) != 16 {
		t.Fatalf("ParseIpv6hdr: %v, len %d", e, len(h))
	}
}

func TestParseIpv6hdrRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func([]byte) []byte
		want header.IPv6Error
	}{
		{"empty", func(b []byte) []byte { return nil }, header.IPv6Truncated},
		{"39 bytes", func(b []byte) []byte { return b[:39] }, header.IPv6Truncated},
		{"version 4", func(b []byte) []byte { b[0] = 0x40; return b }, header.IPv6BadVersion},
		{"version 0", func(b []byte) []byte { b[0] &= 0x0f; return b }, header.IPv6BadVersion},
		{"version 7", func(b []byte) []byte { b[0] = 0x70 | b[0]&0x0f; return b }, header.IPv6BadVersion},
		{"payload one past the data", func(b []byte) []byte {
			binary.BigEndian.PutUint16(b[4:], uint16(len(b)-40+1))
			return b
		}, header.IPv6BadPayloadLen},
		{"one byte missing", func(b []byte) []byte { return b[:len(b)-1] }, header.IPv6BadPayloadLen},
		{"payload 65535", func(b []byte) []byte { binary.BigEndian.PutUint16(b[4:], 0xffff); return b }, header.IPv6BadPayloadLen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, e := header.ParseIpv6hdr(tc.mut(l3(frameEcho)))
			if e != tc.want || h != nil {
				t.Fatalf("ParseIpv6hdr = %v (view %d bytes), want %v", e, len(h), tc.want)
			}
		})
	}
	// A zero payload length is an empty payload, not a jumbogram.
	b := l3(frameEcho)
	binary.BigEndian.PutUint16(b[4:], 0)
	if h, e := header.ParseIpv6hdr(b); e != header.IPv6Ok || len(h) != 40 || len(h.Payload()) != 0 {
		t.Fatalf("payload length 0: %v, len %d", e, len(h))
	}
	if header.IPv6BadPayloadLen.String() != "bad payload length" || header.IPv6Error(9).String() != "IPv6Error(?)" {
		t.Fatal("IPv6Error.String")
	}
}

// TestIpv6hdrEncodeReproducesCapture: Encode from the captured fields
// writes the kernel's bytes.
func TestIpv6hdrEncodeReproducesCapture(t *testing.T) {
	for _, frame := range [][]byte{frameNSDad, frameMLDReport, frameEcho, frameTCPSyn, frameUDPDNS, framePktTooBig} {
		src := mustIP6(t, frame)
		out := make([]byte, header.IPv6Len)
		header.Ipv6hdr(out).Encode(header.IPv6Fields{
			TrafficClass: src.TrafficClass(), FlowLabel: src.FlowLabel(), PayloadLen: src.PayloadLen(),
			Nexthdr: src.Nexthdr(), HopLimit: src.HopLimit(), Saddr: src.Saddr(), Daddr: src.Daddr(),
		})
		if !bytes.Equal(out, src[:40]) {
			t.Errorf("Encode\n got % x\nwant % x", out, []byte(src[:40]))
		}
	}
}

// TestIpv6hdrTrafficClassAndFlowLabel: the traffic class straddles the
// first two bytes and the flow label keeps 20 bits; Encode masks a wider
// label instead of spilling into the class.
func TestIpv6hdrTrafficClassAndFlowLabel(t *testing.T) {
	b := make([]byte, 40)
	h := header.Ipv6hdr(b)
	h.Encode(header.IPv6Fields{TrafficClass: 0xb8, FlowLabel: 0xfff12345, HopLimit: 1})
	if h.Version() != 6 || h.TrafficClass() != 0xb8 || h.FlowLabel() != 0x12345 {
		t.Fatalf("tc %#x flow %#x: % x", h.TrafficClass(), h.FlowLabel(), b[:4])
	}
	if !bytes.Equal(b[:4], []byte{0x6b, 0x81, 0x23, 0x45}) {
		t.Fatalf("first word % x", b[:4])
	}
}

func TestIpv6hdrSetters(t *testing.T) {
	h := mustIP6(t, frameEcho)
	h.SetHopLimit(63)
	h.SetSaddr(addrB)
	h.SetDaddr(addrC)
	h.SetNexthdr(header.NEXTHDR_NONE)
	h.SetPayloadLen(8)
	if h.HopLimit() != 63 || h.Saddr() != addrB || h.Daddr() != addrC || h.Nexthdr() != header.NEXTHDR_NONE ||
		h.PayloadLen() != 8 || h.FlowLabel() != 0x18c2c {
		t.Fatalf("setters: % x", []byte(h[:40]))
	}
	if p, e := header.ParseIpv6hdr(h); e != header.IPv6Ok || len(p) != 48 {
		t.Fatalf("edited header: %v", e)
	}
}

// TestPseudoHeaderSumVerifiesCaptures: every captured TCP, UDP and ICMPv6
// checksum verifies over RFC 8200 §8.1's pseudo-header, with the upper
// layer's own length and protocol even behind extension headers.
func TestPseudoHeaderSumVerifiesCaptures(t *testing.T) {
	for _, frame := range [][]byte{frameNSDad, frameMLDReport, frameRS, frameNS, frameNA, frameEcho, frameEchoReply,
		frameTCPSyn, frameTCPSynAck, frameTCPData, frameUDPDNS, frameICMPPortUnreach, frameDstOptSkip, frameDstOptBad,
		frameParamProbOption, frameParamProbRH0, framePktTooBig, frameTimeExceeded, frameNoRoute} {
		ip := mustIP6(t, frame)
		p, b := upper(t, frame)
		sum := header.PseudoHeaderSum(ip.Saddr(), ip.Daddr(), p, len(b))
		if got := header.Fold(header.Checksum(b, sum)); got != 0 {
			t.Errorf("%d bytes of protocol %d: folded sum %#04x, want 0", len(b), p, got)
		}
		if uint64(sum)%0xffff != refPseudoSum(ip.Saddr(), ip.Daddr(), p, len(b))%0xffff {
			t.Errorf("pseudo-header sum %#x disagrees with the reference", sum)
		}
	}
	// The TCP segment through inet/header's view, as tcp_v6_rcv will.
	ip := mustIP6(t, frameTCPData)
	tcp, ok := inethdr.ParseTcphdr(ip.Payload())
	if !ok || tcp.Source() != 60836 || tcp.Dest() != 8080 || string(tcp.Payload()) != "hello\n" || tcp.Check() != 0x5494 {
		t.Fatalf("TCP segment: %v", ok)
	}
	o := inethdr.ParseTCPOptions(mustIP6(t, frameTCPSyn).Payload()[20:40], true)
	if o.MSS != 1440 { // 1500 - 40 - 20: the IPv6 header's size
		t.Fatalf("SYN MSS %d, want 1440", o.MSS)
	}
}

// TestPseudoHeaderSumLength: the length is a 32-bit field (RFC 8200 §8.1),
// so a jumbo length counts its high half too.
func TestPseudoHeaderSumLength(t *testing.T) {
	for _, n := range []int{0, 1, 0xffff, 0x10000, 0x12345678} {
		got := uint64(header.PseudoHeaderSum(addrA, addrC, header.NEXTHDR_UDP, n))
		want := refPseudoSum(addrA, addrC, header.NEXTHDR_UDP, n)
		if got%0xffff != want%0xffff {
			t.Errorf("n=%#x: sum %#x, reference %#x", n, got, want)
		}
	}
}
