package header

import "encoding/binary"

// Udphdr is struct udphdr (RFC 768).
//
//	 0      7 8     15 16    23 24    31
//	+--------+--------+--------+--------+
//	|     Source      |   Destination   |
//	|      Port       |      Port       |
//	+--------+--------+--------+--------+
//	|     Length      |    Checksum     |
//	+--------+--------+--------+--------+
type Udphdr []byte

const (
	UDPLen = 8

	udpSource = 0
	udpDest   = 2
	udpLen    = 4
	udpCheck  = 6
)

// ParseUdphdr checks that b holds a UDP header whose length field is at
// least 8 and no more than len(b). After ok no accessor panics; Payload is
// Len()-8 bytes.
func ParseUdphdr(b []byte) (Udphdr, bool) {
	if len(b) < UDPLen {
		return nil, false
	}
	l := int(binary.BigEndian.Uint16(b[udpLen:]))
	if l < UDPLen || l > len(b) {
		return nil, false
	}
	return Udphdr(b[:l]), true
}

func (h Udphdr) Source() uint16  { return binary.BigEndian.Uint16(h[udpSource:]) }
func (h Udphdr) Dest() uint16    { return binary.BigEndian.Uint16(h[udpDest:]) }
func (h Udphdr) Len() int        { return int(binary.BigEndian.Uint16(h[udpLen:])) }
func (h Udphdr) Check() uint16   { return binary.BigEndian.Uint16(h[udpCheck:]) }
func (h Udphdr) Payload() []byte { return h[UDPLen:h.Len()] }

// SetCheck stores the checksum.
func (h Udphdr) SetCheck(c uint16) { binary.BigEndian.PutUint16(h[udpCheck:], c) }

// UDPFields is what Encode writes.
type UDPFields struct {
	Source, Dest uint16
	Len          int
}

// Encode writes f with a zero checksum.
func (h Udphdr) Encode(f UDPFields) {
	binary.BigEndian.PutUint16(h[udpSource:], f.Source)
	binary.BigEndian.PutUint16(h[udpDest:], f.Dest)
	binary.BigEndian.PutUint16(h[udpLen:], uint16(f.Len))
	binary.BigEndian.PutUint16(h[udpCheck:], 0)
}
