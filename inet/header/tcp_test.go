package header_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"sockfs/inet/header"
)

func mustTCP(t testing.TB, frame []byte) header.Tcphdr {
	t.Helper()
	h, ok := header.ParseTcphdr(mustIP(t, frame).Payload())
	if !ok {
		t.Fatal("ParseTcphdr of a captured segment failed")
	}
	return h
}

func TestTcphdrRealFrames(t *testing.T) {
	for _, tc := range []struct {
		name          string
		frame         []byte
		source, dest  uint16
		seq, ackSeq   uint32
		doff          int
		flags         uint8
		window, check uint16
		payload       string
		syn           bool
		mss           uint16
		wscale        int8
		sackPerm      bool
		tsVal, tsEcr  uint32
	}{
		{"syn", frameTCPSyn, 33468, 8080, 3801270890, 0, 40, header.TCP_SYN, 64240, 0x8dda, "", true,
			1460, 10, true, 967254590, 0},
		{"syn-ack", frameTCPSynAck, 8080, 33468, 217373421, 3801270891, 40, header.TCP_SYN | header.TCP_ACK,
			65160, 0x0785, "", true, 1460, 10, true, 1724462081, 967254590},
		{"ack", frameTCPAck, 33468, 8080, 3801270891, 217373422, 32, header.TCP_ACK, 63, 0x349e, "", false,
			0, -1, false, 967254590, 1724462081},
		{"data", frameTCPData, 33468, 8080, 3801270891, 217373422, 32, header.TCP_PSH | header.TCP_ACK,
			63, 0xf0b3, "hello\n", false, 0, -1, false, 967254590, 1724462081},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := mustTCP(t, tc.frame)
			if h.Source() != tc.source || h.Dest() != tc.dest || h.Seq() != tc.seq || h.AckSeq() != tc.ackSeq {
				t.Errorf("ports %d>%d seq %d ack %d", h.Source(), h.Dest(), h.Seq(), h.AckSeq())
			}
			if h.Doff() != tc.doff || h.Flags() != tc.flags || h.Window() != tc.window || h.Check() != tc.check ||
				h.UrgPtr() != 0 {
				t.Errorf("doff %d flags %#x window %d check %#x urg %d", h.Doff(), h.Flags(), h.Window(), h.Check(), h.UrgPtr())
			}
			if len(h.Options()) != tc.doff-20 || string(h.Payload()) != tc.payload {
				t.Errorf("options %d bytes, payload %q", len(h.Options()), h.Payload())
			}
			o := header.ParseTCPOptions(h.Options(), h.Flags()&header.TCP_SYN != 0)
			want := header.TCPOptions{MSS: tc.mss, WScale: tc.wscale, SackPerm: tc.sackPerm,
				HasTS: true, TSVal: tc.tsVal, TSEcr: tc.tsEcr}
			if o != want {
				t.Errorf("options %+v, want %+v", o, want)
			}
		})
	}
}

func TestParseTcphdrRejects(t *testing.T) {
	syn := l4(frameTCPSyn) // 40-byte header, no payload
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"19 bytes", syn[:19]},
		{"doff 0", withByte(syn, 12, 0x00)},
		{"doff 4", withByte(syn, 12, 0x40)},
		{"doff 10 with 39 bytes", syn[:39]},
		{"doff 11 with 40 bytes", withByte(syn, 12, 0xb0)},
		{"doff 15 with 40 bytes", withByte(syn, 12, 0xf0)},
		{"doff 6 with 20 bytes", withByte(syn[:20], 12, 0x60)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if h, ok := header.ParseTcphdr(tc.b); ok || h != nil {
				t.Fatalf("ParseTcphdr accepted % x", tc.b)
			}
		})
	}
	for _, tc := range []struct {
		name string
		b    []byte
		doff int
	}{
		{"doff 5, header only", withByte(syn[:20], 12, 0x50), 20},
		{"doff 10, exact", syn, 40},
		{"doff 15, exact", withByte(append(append([]byte(nil), syn...), make([]byte, 20)...), 12, 0xf0), 60},
	} {
		h, ok := header.ParseTcphdr(tc.b)
		if !ok || h.Doff() != tc.doff || len(h.Payload()) != 0 || len(h.Options()) != tc.doff-20 {
			t.Errorf("%s: ok %v doff %d", tc.name, ok, h.Doff())
		}
	}
}

// withByte is a copy of b with b[i] = v.
func withByte(b []byte, i int, v byte) []byte {
	c := append([]byte(nil), b...)
	c[i] = v
	return c
}

// TestTcphdrEncodeReproducesCapture builds the captured SYN and data
// segment from their fields and checks every byte, checksum included.
func TestTcphdrEncodeReproducesCapture(t *testing.T) {
	for _, frame := range [][]byte{frameTCPSyn, frameTCPSynAck, frameTCPData} {
		ip := mustIP(t, frame)
		src := mustTCP(t, frame)
		seg := make([]byte, len(src))
		h := header.Tcphdr(seg)
		h.Encode(header.TCPFields{
			Source: src.Source(), Dest: src.Dest(), Seq: src.Seq(), AckSeq: src.AckSeq(),
			Flags: src.Flags(), Window: src.Window(), UrgPtr: src.UrgPtr(), Options: src.Options(),
		})
		if h.Check() != 0 {
			t.Fatalf("Encode left checksum %#04x, want 0", h.Check())
		}
		copy(h.Payload(), src.Payload())
		h.SetCheck(header.Fold(header.Checksum(seg, header.PseudoHeaderSum(ip.Saddr(), ip.Daddr(), 6, len(seg)))))
		if !bytes.Equal(seg, src) {
			t.Errorf("Encode\n got % x\nwant % x", seg, []byte(src))
		}
	}
}

func TestTcphdrEncodeRoundTrip(t *testing.T) {
	f := header.TCPFields{Source: 1, Dest: 65535, Seq: 0xffffffff, AckSeq: 0x80000000,
		Flags:  header.TCP_FIN | header.TCP_RST | header.TCP_URG | header.TCP_ECE | header.TCP_CWR,
		Window: 0, UrgPtr: 0xabcd, Options: []byte{1, 1, 1, 0}}
	b := make([]byte, 24+3)
	header.Tcphdr(b).Encode(f)
	h, ok := header.ParseTcphdr(b)
	if !ok {
		t.Fatal("ParseTcphdr after Encode failed")
	}
	if h.Source() != f.Source || h.Dest() != f.Dest || h.Seq() != f.Seq || h.AckSeq() != f.AckSeq ||
		h.Flags() != f.Flags || h.Window() != f.Window || h.UrgPtr() != f.UrgPtr || h.Doff() != 24 ||
		!bytes.Equal(h.Options(), f.Options) || len(h.Payload()) != 3 {
		t.Fatalf("round trip: % x", b)
	}
	h.SetCheck(0x1234)
	if h.Check() != 0x1234 || binary.BigEndian.Uint16(b[16:]) != 0x1234 {
		t.Fatal("SetCheck")
	}
}

// The options tests spell out option lists as the kernel lays them out.
var (
	optMSS1460   = []byte{2, 4, 0x05, 0xb4}
	optSackPerm  = []byte{4, 2}
	optWScale7   = []byte{3, 3, 7}
	optTS        = []byte{8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	optNOP       = []byte{1}
	optEOL       = []byte{0}
	optExp       = []byte{254, 4, 0xf9, 0x89} // RFC 6994 experimental
	optSACKBlock = func(edges ...uint32) []byte {
		b := []byte{5, byte(2 + 4*len(edges))}
		for _, e := range edges {
			b = binary.BigEndian.AppendUint32(b, e)
		}
		return b
	}
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseTCPOptions(t *testing.T) {
	none := header.TCPOptions{WScale: -1}
	withTS := header.TCPOptions{WScale: -1, HasTS: true, TSVal: 1, TSEcr: 2}
	for _, tc := range []struct {
		name string
		opts []byte
		syn  bool
		want header.TCPOptions
	}{
		{"empty", nil, true, none},
		{"syn set", cat(optMSS1460, optSackPerm, optTS, optNOP, optWScale7), true,
			header.TCPOptions{MSS: 1460, WScale: 7, SackPerm: true, HasTS: true, TSVal: 1, TSEcr: 2}},
		// RFC 9293 §3.7.1, RFC 7323 §2.2, RFC 2018 §2: these are only
		// meaningful on a SYN, and tcp_parse_options ignores them otherwise.
		{"syn-only options off a syn", cat(optMSS1460, optSackPerm, optTS, optNOP, optWScale7), false, withTS},
		{"wscale 14", []byte{3, 3, 14}, true, header.TCPOptions{WScale: 14}},
		{"wscale 15 capped", []byte{3, 3, 15}, true, header.TCPOptions{WScale: 14}},
		{"wscale 255 capped", []byte{3, 3, 255}, true, header.TCPOptions{WScale: 14}},
		{"wscale 0", []byte{3, 3, 0}, true, header.TCPOptions{WScale: 0}},
		{"mss wrong length", []byte{2, 3, 5, 1, 1, 1}, true, none},
		{"wscale wrong length", []byte{3, 4, 7, 0}, true, none},
		{"sackperm wrong length", []byte{4, 3, 0}, true, none},
		{"timestamp wrong length", []byte{8, 8, 0, 0, 0, 1, 0, 0}, false, none},
		{"nops then timestamp", cat(optNOP, optNOP, optTS), false, withTS},
		{"eol stops the walk", cat(optNOP, optEOL, optTS), false, none},
		{"options after eol ignored", cat(optTS, optEOL, optMSS1460), true,
			header.TCPOptions{WScale: -1, HasTS: true, TSVal: 1, TSEcr: 2}},
		{"unknown kind skipped", cat(optExp, optTS), false, withTS},
		{"sack 1 block", cat(optNOP, optNOP, optSACKBlock(100, 200)), false,
			header.TCPOptions{WScale: -1, NumSACK: 1, SACKBlocks: [4][2]uint32{{100, 200}}}},
		{"sack 3 blocks with ts", cat(optNOP, optNOP, optTS, optNOP, optNOP, optSACKBlock(1, 2, 3, 4, 5, 6)), false,
			header.TCPOptions{WScale: -1, HasTS: true, TSVal: 1, TSEcr: 2, NumSACK: 3,
				SACKBlocks: [4][2]uint32{{1, 2}, {3, 4}, {5, 6}}}},
		{"sack 4 blocks", cat(optNOP, optNOP, optSACKBlock(1, 2, 3, 4, 5, 6, 0xfffffff0, 0xffffffff)), false,
			header.TCPOptions{WScale: -1, NumSACK: 4,
				SACKBlocks: [4][2]uint32{{1, 2}, {3, 4}, {5, 6}, {0xfffffff0, 0xffffffff}}}},
		{"sack on a syn ignored", optSACKBlock(100, 200), true, none},
		{"sack length not 2+8n skipped", cat([]byte{5, 6, 0, 0, 0, 1}, optTS), false, withTS},
		// Malformed lengths stop the walk (tcp_parse_options: "don't parse
		// partial options"); what came before stays.
		{"length 0", cat(optTS, []byte{2, 0}, optMSS1460), true,
			header.TCPOptions{WScale: -1, HasTS: true, TSVal: 1, TSEcr: 2}},
		{"length 1", cat(optMSS1460, []byte{3, 1, 7}, optWScale7), true, header.TCPOptions{MSS: 1460, WScale: -1}},
		{"overlong", cat(optMSS1460, []byte{8, 10, 0, 0}), true, header.TCPOptions{MSS: 1460, WScale: -1}},
		{"overlong sack", []byte{5, 18, 0, 0, 0, 1, 0, 0, 0, 2}, false, none},
		{"kind with no length byte", cat(optMSS1460, []byte{3}), true, header.TCPOptions{MSS: 1460, WScale: -1}},
		{"lone timestamp kind", []byte{8}, false, none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := header.ParseTCPOptions(tc.opts, tc.syn); got != tc.want {
				t.Fatalf("ParseTCPOptions(% x, syn=%v)\n got %+v\nwant %+v", tc.opts, tc.syn, got, tc.want)
			}
		})
	}
}

// TestParseTCPOptionsEveryTruncation: every prefix of a full 40-byte SYN
// option list parses without panicking, and yields nothing the full list does
// not.
func TestParseTCPOptionsEveryTruncation(t *testing.T) {
	full := cat(optMSS1460, optSackPerm, optTS, optNOP, optWScale7, optExp)
	for len(full) < 39 {
		full = append(full, optNOP...)
	}
	full = append(full, optEOL...)
	if all := header.ParseTCPOptions(full, true); all.MSS != 1460 || all.WScale != 7 || !all.SackPerm || !all.HasTS {
		t.Fatalf("full list: %+v", all)
	}
	all := header.ParseTCPOptions(full, true)
	for n := 0; n <= len(full); n++ {
		o := header.ParseTCPOptions(full[:n], true)
		if o.MSS != 0 && o.MSS != all.MSS || o.WScale != -1 && o.WScale != all.WScale ||
			o.SackPerm && !all.SackPerm || o.HasTS && (o.TSVal != all.TSVal || o.TSEcr != all.TSEcr) {
			t.Fatalf("prefix %d: %+v not a subset of %+v", n, o, all)
		}
	}
}
