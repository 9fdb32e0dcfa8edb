package header

import (
	"encoding/binary"
	"math/bits"
)

// Checksum is the Internet checksum's one's-complement sum of b added to
// initial (RFC 1071), not yet complemented. Chain calls to sum a
// pseudo-header and a payload; only the last part may have odd length.
//
// It adds 64-bit words with end-around carry (RFC 1071 §2(B): the sum may
// be taken in any word size and folded), 32 bytes a round: the checksum is
// on every packet's path, so its speed is the stack's.
func Checksum(b []byte, initial uint32) uint32 {
	acc := uint64(initial)
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), c)
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), c)
		b = b[2:]
	}
	if len(b) == 1 {
		acc, c = bits.Add64(acc, uint64(b[0])<<8, c)
	}
	// The last carry, then fold to 16 bits; a carry out of a sum of an
	// addend with its carry cannot carry again.
	acc, c = bits.Add64(acc, 0, c)
	acc += c
	s := acc>>32 + acc&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint32(s)
}

// Fold folds a 32-bit sum to 16 bits and complements it: csum_fold.
func Fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = (sum & 0xffff) + (sum >> 16)
	}
	return ^uint16(sum)
}

// PseudoHeaderSum is csum_tcpudp_nofold: the sum of the IPv4 pseudo-header
// (RFC 793 §3.1, RFC 768) for a transport segment of length n.
func PseudoHeaderSum(saddr, daddr [4]byte, proto uint8, n int) uint32 {
	sum := uint32(binary.BigEndian.Uint16(saddr[:])) + uint32(binary.BigEndian.Uint16(saddr[2:]))
	sum += uint32(binary.BigEndian.Uint16(daddr[:])) + uint32(binary.BigEndian.Uint16(daddr[2:]))
	sum += uint32(proto) + uint32(n)
	return sum
}
