package header_test

import (
	"testing"

	"sockfs/inet/header"
)

// fullSizePacket is a 1500-byte IPv4/TCP datagram as the receive path sees
// it: a 20-byte IP header, a 32-byte TCP header carrying timestamps (as
// every Linux data segment does), and 1448 bytes of payload.
func fullSizePacket(tb testing.TB) []byte {
	tb.Helper()
	b := make([]byte, 1500)
	ip := header.Iphdr(b)
	tcp := header.Tcphdr(b[20:])
	tcp.Encode(header.TCPFields{Source: 33468, Dest: 8080, Seq: 1, AckSeq: 2,
		Flags: header.TCP_ACK, Window: 512, Options: cat(optNOP, optNOP, optTS)})
	for i := range tcp.Payload() {
		tcp.Payload()[i] = byte(i)
	}
	ip.Encode(header.IPFields{TotLen: 1500, ID: 1, FragOff: header.IP_DF, TTL: 64, Protocol: 6,
		Saddr: addr1, Daddr: addr2})
	tcp.SetCheck(header.Fold(header.Checksum(tcp, header.PseudoHeaderSum(addr1, addr2, 6, len(tcp)))))
	if _, e := header.ParseIphdr(b); e != header.IPOk {
		tb.Fatalf("test packet: %v", e)
	}
	return b
}

// rcvPath is what ip_rcv and tcp_v4_rcv do with the views for one packet:
// parse, verify both checksums, read the fields the demux and the state
// machine need, and parse the options.
func rcvPath(b []byte) bool {
	ip, e := header.ParseIphdr(b)
	if e != header.IPOk {
		return false
	}
	tcp, ok := header.ParseTcphdr(ip.Payload())
	if !ok {
		return false
	}
	if header.Fold(header.Checksum(tcp, header.PseudoHeaderSum(ip.Saddr(), ip.Daddr(), ip.Protocol(), len(tcp)))) != 0 {
		return false
	}
	o := header.ParseTCPOptions(tcp.Options(), tcp.Flags()&header.TCP_SYN != 0)
	_ = ip.Src()
	_ = ip.Dst()
	return tcp.Source() != 0 && tcp.Dest() != 0 && o.HasTS && len(tcp.Payload()) == 1448
}

// TestRcvPathAllocatesNothing is STYLE point 11's proof: parsing and
// verifying a full-size packet through the views allocates nothing.
func TestRcvPathAllocatesNothing(t *testing.T) {
	b := fullSizePacket(t)
	if !rcvPath(b) {
		t.Fatal("the test packet does not pass the receive path")
	}
	for name, f := range map[string]func(){
		"receive path": func() { rcvPath(b) },
		"ParseIphdr":   func() { header.ParseIphdr(b) },
		"ParseTcphdr":  func() { header.ParseTcphdr(b[20:]) },
		"Checksum":     func() { header.Checksum(b, 0) },
		"Encode+SetCheck": func() {
			header.Iphdr(b).Encode(header.IPFields{TotLen: 1500, TTL: 64, Protocol: 6, Saddr: addr1, Daddr: addr2})
		},
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

func BenchmarkParseIphdr(b *testing.B) {
	pkt := fullSizePacket(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, e := header.ParseIphdr(pkt); e != header.IPOk {
			b.Fatal(e)
		}
	}
}

func BenchmarkParseTcphdr(b *testing.B) {
	seg := fullSizePacket(b)[20:]
	b.ReportAllocs()
	for b.Loop() {
		h, ok := header.ParseTcphdr(seg)
		if !ok {
			b.Fatal("ParseTcphdr")
		}
		header.ParseTCPOptions(h.Options(), false)
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	pkt := fullSizePacket(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		header.Checksum(pkt, 0)
	}
}

func BenchmarkRcvPath(b *testing.B) {
	pkt := fullSizePacket(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if !rcvPath(pkt) {
			b.Fatal("rcvPath")
		}
	}
}
