package header_test

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"sockfs/inet/header"
)

// refSum is the RFC 1071 §1 definition, written for clarity rather than
// speed: 16-bit big-endian words (an odd final byte padded with a zero byte
// on the right), added with end-around carry. It returns the folded sum, not
// complemented.
func refSum(b []byte, initial uint64) uint16 {
	sum := initial
	for i := 0; i < len(b); i += 2 {
		w := uint64(b[i]) << 8
		if i+1 < len(b) {
			w |= uint64(b[i+1])
		}
		sum += w
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// TestChecksumRFC1071Example is the worked example of RFC 1071 §3: the bytes
// 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (before complement).
func TestChecksumRFC1071Example(t *testing.T) {
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := ^header.Fold(header.Checksum(b, 0)); got != 0xddf2 {
		t.Fatalf("sum = %#04x, want 0xddf2", got)
	}
	if got := header.Fold(header.Checksum(b, 0)); got != 0x220d {
		t.Fatalf("checksum = %#04x, want 0x220d", got)
	}
	// §2(B): the sum is independent of the order of the 16-bit words.
	swapped := []byte{0xf6, 0xf7, 0xf4, 0xf5, 0xf2, 0x03, 0x00, 0x01}
	if header.Fold(header.Checksum(swapped, 0)) != 0x220d {
		t.Fatal("sum depends on word order")
	}
}

func TestChecksumOddLength(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want uint32
	}{
		{nil, 0},
		{[]byte{0xab}, 0xab00}, // the odd byte is the high half of a word
		{[]byte{0x12, 0x34, 0x56}, 0x1234 + 0x5600},
		{[]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0x0102 + 0x0304 + 0x0506 + 0x0708 + 0x0900},
	} {
		if got := header.Checksum(tc.b, 0); got != tc.want {
			t.Errorf("Checksum(% x) = %#x, want %#x", tc.b, got, tc.want)
		}
	}
}

// TestChecksumMatchesReference covers every length up to two 8-byte strides
// past a full frame's tail handling, random and all-ones data (the worst case
// for carries), and nonzero initial sums.
func TestChecksumMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1600)
	for n := 0; n <= 80; n++ {
		for _, fill := range []string{"random", "ones", "zeros"} {
			b := buf[:n]
			for i := range b {
				switch fill {
				case "random":
					b[i] = byte(r.Uint32())
				case "ones":
					b[i] = 0xff
				default:
					b[i] = 0
				}
			}
			for _, initial := range []uint32{0, 1, 0xffff, 0x1fffe, 0x3fffc, 0xfffff} {
				got := header.Fold(header.Checksum(b, initial))
				want := ^refSum(b, uint64(initial))
				if got != want {
					t.Fatalf("n=%d %s initial=%#x: Fold(Checksum) = %#04x, want %#04x", n, fill, initial, got, want)
				}
			}
		}
	}
	for i := range buf {
		buf[i] = 0xff
	}
	if got, want := header.Fold(header.Checksum(buf, 0)), ^refSum(buf, 0); got != want {
		t.Fatalf("1600 bytes of 0xff: %#04x, want %#04x", got, want)
	}
}

// TestChecksumChained: summing a prefix of even length and passing the
// result as initial gives the sum of the whole, which is how callers add the
// pseudo-header and then the segment.
func TestChecksumChained(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	b := make([]byte, 1501)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	whole := header.Fold(header.Checksum(b, 0))
	for _, cut := range []int{0, 2, 8, 20, 40, 1000, 1500} {
		if got := header.Fold(header.Checksum(b[cut:], header.Checksum(b[:cut], 0))); got != whole {
			t.Errorf("cut at %d: %#04x, want %#04x", cut, got, whole)
		}
	}
}

// TestChecksumLargeInitial: Checksum takes any 32-bit partial sum, as
// csum_partial takes any __wsum. An initial sum near 2^32 must not lose the
// carry out of bit 31.
func TestChecksumLargeInitial(t *testing.T) {
	b := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for _, initial := range []uint32{0xfffffff0, 0xffffffff, 0xfffc0000} {
		got := header.Fold(header.Checksum(b, initial))
		want := ^refSum(b, uint64(initial))
		if got != want {
			t.Fatalf("Checksum(8 x 0xff, %#x) folds to %#04x, want %#04x: the carry out of bit 31 was lost", initial, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	for _, tc := range []struct {
		sum  uint32
		want uint16
	}{
		{0, 0xffff},
		{0xffff, 0},       // negative zero complements to zero
		{0x1fffe, 0},      // ffff + 1 carry
		{0x2ddf0, 0x220d}, // RFC 1071 §3 before the carry
		{0xffffffff, 0},
		{0x00010000, 0xfffe},
	} {
		if got := header.Fold(tc.sum); got != tc.want {
			t.Errorf("Fold(%#x) = %#04x, want %#04x", tc.sum, got, tc.want)
		}
	}
}

// TestPseudoHeaderSum checks the pseudo-header against captured segments
// whose checksums the kernel computed: with the checksum field in place the
// total folds to 0, and with it zeroed the fold reproduces the field.
func TestPseudoHeaderSum(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
		proto uint8
		check uint16
		off   int // checksum offset within the segment
	}{
		{"tcp syn", frameTCPSyn, 6, 0x8dda, 16},
		{"tcp syn-ack", frameTCPSynAck, 6, 0x0785, 16},
		{"tcp data", frameTCPData, 6, 0xf0b3, 16},
		{"udp dns (odd length)", frameUDPDNS, 17, 0x6d8a, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := l4(tc.frame)
			ps := header.PseudoHeaderSum(addr1, addr2, tc.proto, len(seg))
			if tc.frame[ethHlen+12+3] == 2 { // sent by 10.0.0.2
				ps = header.PseudoHeaderSum(addr2, addr1, tc.proto, len(seg))
			}
			if got := header.Fold(header.Checksum(seg, ps)); got != 0 {
				t.Fatalf("verify: fold = %#04x, want 0", got)
			}
			binary.BigEndian.PutUint16(seg[tc.off:], 0)
			if got := header.Fold(header.Checksum(seg, ps)); got != tc.check {
				t.Fatalf("compute: %#04x, want %#04x", got, tc.check)
			}
		})
	}
	// The pseudo-header words by hand: 0a00+0001+0a00+0002+0006+0028.
	if got := header.PseudoHeaderSum(addr1, addr2, 6, 40); got != 0x0a00+0x0001+0x0a00+0x0002+6+40 {
		t.Fatalf("PseudoHeaderSum = %#x", got)
	}
}
