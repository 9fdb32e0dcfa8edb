package header

import "encoding/binary"

// Icmphdr is struct icmphdr (RFC 792).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |     Code      |          Checksum             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Identifier (echo) / unused / next-hop MTU (frag needed)   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Data: echo payload, or the offending IP header + 8 bytes     |
type Icmphdr []byte

const (
	ICMPLen = 8

	icmpType     = 0
	icmpCode     = 1
	icmpChecksum = 2
	icmpID       = 4
	icmpSequence = 6

	ICMP_ECHOREPLY      = 0
	ICMP_DEST_UNREACH   = 3
	ICMP_SOURCE_QUENCH  = 4
	ICMP_REDIRECT       = 5
	ICMP_ECHO           = 8
	ICMP_TIME_EXCEEDED  = 11
	ICMP_PARAMETERPROB  = 12
	ICMP_TIMESTAMP      = 13
	ICMP_TIMESTAMPREPLY = 14

	// Codes for ICMP_DEST_UNREACH.
	ICMP_NET_UNREACH  = 0
	ICMP_HOST_UNREACH = 1
	ICMP_PROT_UNREACH = 2
	ICMP_PORT_UNREACH = 3
	ICMP_FRAG_NEEDED  = 4
	ICMP_SR_FAILED    = 5
	ICMP_NET_UNKNOWN  = 6
	ICMP_HOST_UNKNOWN = 7
	NR_ICMP_UNREACH   = 15
)

// ParseIcmphdr checks that b holds the 8-byte ICMP header. After ok no
// accessor panics.
func ParseIcmphdr(b []byte) (Icmphdr, bool) {
	if len(b) < ICMPLen {
		return nil, false
	}
	return Icmphdr(b), true
}

func (h Icmphdr) Type() uint8      { return h[icmpType] }
func (h Icmphdr) Code() uint8      { return h[icmpCode] }
func (h Icmphdr) Checksum() uint16 { return binary.BigEndian.Uint16(h[icmpChecksum:]) }
func (h Icmphdr) ID() uint16       { return binary.BigEndian.Uint16(h[icmpID:]) }
func (h Icmphdr) Sequence() uint16 { return binary.BigEndian.Uint16(h[icmpSequence:]) }
func (h Icmphdr) Mtu() uint16      { return binary.BigEndian.Uint16(h[icmpSequence:]) }
func (h Icmphdr) Payload() []byte  { return h[ICMPLen:] }

// IsChecksumValid verifies the checksum over the whole message.
func (h Icmphdr) IsChecksumValid() bool { return Fold(Checksum(h, 0)) == 0 }

// SetType and SetID edit in place; call SetChecksum after.
func (h Icmphdr) SetType(t uint8) { h[icmpType] = t }
func (h Icmphdr) SetID(id uint16) { binary.BigEndian.PutUint16(h[icmpID:], id) }

// SetChecksum computes the checksum over the whole message.
func (h Icmphdr) SetChecksum() {
	binary.BigEndian.PutUint16(h[icmpChecksum:], 0)
	binary.BigEndian.PutUint16(h[icmpChecksum:], Fold(Checksum(h, 0)))
}

// ICMPFields is what Encode writes: the 4-byte "rest of header" as ID and
// Sequence (for an error, ID=0 and Sequence is unused or the MTU).
type ICMPFields struct {
	Type, Code   uint8
	ID, Sequence uint16
}

// Encode writes the header; SetChecksum must follow once the payload is in.
func (h Icmphdr) Encode(f ICMPFields) {
	h[icmpType] = f.Type
	h[icmpCode] = f.Code
	binary.BigEndian.PutUint16(h[icmpChecksum:], 0)
	binary.BigEndian.PutUint16(h[icmpID:], f.ID)
	binary.BigEndian.PutUint16(h[icmpSequence:], f.Sequence)
}
