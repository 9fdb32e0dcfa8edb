package header

import "encoding/binary"

// Checksum is the Internet checksum's one's-complement sum of b added to
// initial (RFC 1071), not yet complemented. Chain calls to sum a
// pseudo-header and a payload.
func Checksum(b []byte, initial uint32) uint32 {
	sum := initial&0xffff + initial>>16 // fold first so no carry is lost
	for len(b) >= 8 {
		sum += uint32(binary.BigEndian.Uint16(b)) + uint32(binary.BigEndian.Uint16(b[2:])) +
			uint32(binary.BigEndian.Uint16(b[4:])) + uint32(binary.BigEndian.Uint16(b[6:]))
		b = b[8:]
		sum = (sum & 0xffff) + (sum >> 16)
	}
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
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
