package header_test

import (
	"testing"

	inethdr "sockfs/inet/header"
	"sockfs/inet6/header"
)

// fullSizePacket6 is a 1500-byte IPv6/TCP packet as the receive path sees
// it: the 40-byte fixed header, a 32-byte TCP header carrying timestamps,
// and 1428 bytes of payload.
func fullSizePacket6(tb testing.TB) []byte {
	tb.Helper()
	b := make([]byte, 1500)
	ip := header.Ipv6hdr(b)
	tcp := inethdr.Tcphdr(b[header.IPv6Len:])
	tcp.Encode(inethdr.TCPFields{Source: 60836, Dest: 8080, Seq: 1, AckSeq: 2, Flags: inethdr.TCP_ACK, Window: 512,
		Options: []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}})
	for i := range tcp.Payload() {
		tcp.Payload()[i] = byte(i)
	}
	ip.Encode(header.IPv6Fields{FlowLabel: 0x2efa4, PayloadLen: len(tcp), Nexthdr: header.NEXTHDR_TCP, HopLimit: 64,
		Saddr: addrA, Daddr: addrB})
	tcp.SetCheck(header.Fold(header.Checksum(tcp, header.PseudoHeaderSum(addrA, addrB, header.NEXTHDR_TCP, len(tcp)))))
	if !rcvPath6(b) {
		tb.Fatal("the test packet does not pass the receive path")
	}
	return b
}

// rcvPath6 is what ipv6_rcv, ip6_input and tcp_v6_rcv will do with the
// views for one packet: parse, walk the extension headers, verify the
// checksum over the pseudo-header, read the demux fields and the options.
func rcvPath6(b []byte) bool {
	ip, e := header.ParseIpv6hdr(b)
	if e != header.IPv6Ok || header.Ipv6AddrType(ip.Saddr())&header.IPV6_ADDR_MULTICAST != 0 {
		return false
	}
	x, xe := header.Ipv6SkipExthdr(ip.Nexthdr(), ip.Payload())
	if xe != header.ExthdrOk || x.Nexthdr != header.NEXTHDR_TCP {
		return false
	}
	seg := ip.Payload()[x.Off:]
	tcp, ok := inethdr.ParseTcphdr(seg)
	if !ok || header.Fold(header.Checksum(seg, header.PseudoHeaderSum(ip.Saddr(), ip.Daddr(), x.Nexthdr, len(seg)))) != 0 {
		return false
	}
	o := inethdr.ParseTCPOptions(tcp.Options(), false)
	_ = ip.Src()
	_ = ip.Dst()
	return tcp.Source() != 0 && o.HasTS && len(tcp.Payload()) == 1428
}

// ndRcv is what ndisc_recv_ns will do with an NS: parse, verify, walk the
// options for the source link-layer address.
func ndRcv(b []byte) bool {
	ip, e := header.ParseIpv6hdr(b)
	if e != header.IPv6Ok || ip.Nexthdr() != header.NEXTHDR_ICMP || ip.HopLimit() != 255 {
		return false
	}
	m, ok := header.ParseNdMsg(ip.Payload())
	if !ok || !m.Icmp6hdr().IsChecksumValid(ip.Saddr(), ip.Daddr()) ||
		ip.Daddr() != header.AddrconfAddrSolictMult(m.Target()) {
		return false
	}
	for it := m.Opts(); ; {
		o, ok := it.Next()
		if !ok {
			return false
		}
		if mac, ok := o.Lladdr(); ok {
			return mac == macA
		}
	}
}

// hbhWalk walks the MLD report's hop-by-hop options as ip6_parse_tlv.
func hbhWalk(b []byte) bool {
	h, ok := header.ParseIpv6OptHdr(b[header.IPv6Len:])
	if !ok {
		return false
	}
	ra := false
	for it := h.Opts(); ; {
		o, ok := it.Next()
		if !ok {
			return ra && !it.Malformed()
		}
		ra = ra || o.Type == header.IPV6_TLV_ROUTERALERT && o.Action() == header.Ipv6OptSkip
	}
}

// TestRcvPathAllocatesNothing is STYLE point 11's proof for IPv6: parsing
// and verifying through the views allocates nothing.
func TestRcvPathAllocatesNothing(t *testing.T) {
	pkt := fullSizePacket6(t)
	ns := l3(frameNS)
	mld := l3(frameMLDReport)
	frag := l3(frameFragFirst)
	if !ndRcv(ns) || !hbhWalk(mld) {
		t.Fatal("the captured NS or MLD report does not pass")
	}
	for name, f := range map[string]func(){
		"tcp receive path": func() { rcvPath6(pkt) },
		"ndisc receive":    func() { ndRcv(ns) },
		"hop-by-hop walk":  func() { hbhWalk(mld) },
		"fragment header": func() {
			h, _ := header.ParseFrag6hdr(frag[header.IPv6Len:])
			_ = h.Offset()
		},
		"addresses": func() {
			_ = header.LinkLocalFromMAC(macA)
			_ = header.Ipv6EthMcMap(header.AddrconfAddrSolictMult(addrB))
			_ = header.Ipv6AddrSrcScope(llA)
		},
		"Encode": func() {
			header.Ipv6hdr(pkt).Encode(header.IPv6Fields{PayloadLen: 1460, Nexthdr: header.NEXTHDR_TCP, HopLimit: 64,
				Saddr: addrA, Daddr: addrB})
		},
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

func BenchmarkRcvPath6(b *testing.B) {
	pkt := fullSizePacket6(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if !rcvPath6(pkt) {
			b.Fatal("rcvPath6")
		}
	}
}

func BenchmarkParseIpv6hdr(b *testing.B) {
	pkt := fullSizePacket6(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, e := header.ParseIpv6hdr(pkt); e != header.IPv6Ok {
			b.Fatal(e)
		}
	}
}

func BenchmarkNdRcv(b *testing.B) {
	ns := l3(frameNS)
	b.ReportAllocs()
	for b.Loop() {
		if !ndRcv(ns) {
			b.Fatal("ndRcv")
		}
	}
}
