package header

import "encoding/binary"

// Arphdr is struct arphdr with the Ethernet/IPv4 body that follows it
// (RFC 826).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Hardware type         |         Protocol type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  HW addr len  | Proto addr len|           Operation           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	| Sender HW address (6) | Sender IP (4) | Target HW (6) | Target IP (4)
type Arphdr []byte

const (
	ARPLen = 28

	arpHrd = 0
	arpPro = 2
	arpHln = 4
	arpPln = 5
	arpOp  = 6
	arpSha = 8
	arpSip = 14
	arpTha = 18
	arpTip = 24

	ARPHRD_ETHER  = 1
	ARPOP_REQUEST = 1
	ARPOP_REPLY   = 2
)

// ParseArphdr checks that b is an Ethernet/IPv4 ARP packet (hardware type
// 1, protocol 0x0800, lengths 6 and 4). After ok no accessor panics.
func ParseArphdr(b []byte) (Arphdr, bool) {
	if len(b) < ARPLen {
		return nil, false
	}
	if binary.BigEndian.Uint16(b[arpHrd:]) != ARPHRD_ETHER ||
		binary.BigEndian.Uint16(b[arpPro:]) != 0x0800 ||
		b[arpHln] != 6 || b[arpPln] != 4 {
		return nil, false
	}
	return Arphdr(b[:ARPLen]), true
}

func (h Arphdr) Op() uint16   { return binary.BigEndian.Uint16(h[arpOp:]) }
func (h Arphdr) Sha() [6]byte { return [6]byte(h[arpSha : arpSha+6]) }
func (h Arphdr) Sip() [4]byte { return [4]byte(h[arpSip : arpSip+4]) }
func (h Arphdr) Tha() [6]byte { return [6]byte(h[arpTha : arpTha+6]) }
func (h Arphdr) Tip() [4]byte { return [4]byte(h[arpTip : arpTip+4]) }

// ARPFields is what Encode writes.
type ARPFields struct {
	Op       uint16
	Sha, Tha [6]byte
	Sip, Tip [4]byte
}

// Encode writes an Ethernet/IPv4 ARP packet into h (len(h) >= ARPLen).
func (h Arphdr) Encode(f ARPFields) {
	binary.BigEndian.PutUint16(h[arpHrd:], ARPHRD_ETHER)
	binary.BigEndian.PutUint16(h[arpPro:], 0x0800)
	h[arpHln] = 6
	h[arpPln] = 4
	binary.BigEndian.PutUint16(h[arpOp:], f.Op)
	copy(h[arpSha:], f.Sha[:])
	copy(h[arpSip:], f.Sip[:])
	copy(h[arpTha:], f.Tha[:])
	copy(h[arpTip:], f.Tip[:])
}
