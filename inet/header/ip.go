package header

import (
	"encoding/binary"
	"net/netip"
)

// Iphdr is struct iphdr (RFC 791 §3.1).
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|Version|  IHL  |Type of Service|          Total Length         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|         Identification        |Flags|      Fragment Offset    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|  Time to Live |    Protocol   |         Header Checksum       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       Source Address                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Destination Address                        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                    Options                    |    Padding    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Iphdr []byte

const (
	IPv4MinLen = 20
	IPv4MaxLen = 60

	ipVerIhl   = 0
	ipTos      = 1
	ipTotLen   = 2
	ipID       = 4
	ipFragOff  = 6
	ipTTL      = 8
	ipProtocol = 9
	ipCheck    = 10
	ipSaddr    = 12
	ipDaddr    = 16

	// Flags in FragOff (host order).
	IP_CE     = 0x8000
	IP_DF     = 0x4000
	IP_MF     = 0x2000
	IP_OFFSET = 0x1fff
)

// IPv4 parse results: why ParseIphdr refused a header, so ip_rcv can count
// each in the right SNMP counter.
type IPError int

const (
	IPOk          IPError = iota
	IPTruncated           // shorter than 20 bytes or than its IHL
	IPBadVersion          // version is not 4
	IPBadIHL              // IHL < 5
	IPBadTotLen           // tot_len < IHL*4 or beyond the bytes present
	IPBadChecksum         // header checksum does not verify
)

// ParseIphdr checks b as ip_rcv_core does: version 4, IHL >= 5, the whole
// header present, tot_len consistent with the bytes, and the checksum (the
// kernel checks the checksum before tot_len; only the counter a doubly
// broken header lands in differs). After
// IPOk no accessor panics, and Payload is exactly tot_len - IHL*4 bytes.
func ParseIphdr(b []byte) (Iphdr, IPError) {
	if len(b) < IPv4MinLen {
		return nil, IPTruncated
	}
	if b[ipVerIhl]>>4 != 4 {
		return nil, IPBadVersion
	}
	ihl := int(b[ipVerIhl]&0xf) * 4
	if ihl < IPv4MinLen {
		return nil, IPBadIHL
	}
	if len(b) < ihl {
		return nil, IPTruncated
	}
	tot := int(binary.BigEndian.Uint16(b[ipTotLen:]))
	if tot < ihl || tot > len(b) {
		return nil, IPBadTotLen
	}
	if Fold(Checksum(b[:ihl], 0)) != 0 {
		return nil, IPBadChecksum
	}
	return Iphdr(b[:tot]), IPOk
}

func (h Iphdr) Version() uint8   { return h[ipVerIhl] >> 4 }
func (h Iphdr) Ihl() int         { return int(h[ipVerIhl]&0xf) * 4 }
func (h Iphdr) Tos() uint8       { return h[ipTos] }
func (h Iphdr) TotLen() int      { return int(binary.BigEndian.Uint16(h[ipTotLen:])) }
func (h Iphdr) ID() uint16       { return binary.BigEndian.Uint16(h[ipID:]) }
func (h Iphdr) FragOff() uint16  { return binary.BigEndian.Uint16(h[ipFragOff:]) }
func (h Iphdr) TTL() uint8       { return h[ipTTL] }
func (h Iphdr) Protocol() uint8  { return h[ipProtocol] }
func (h Iphdr) Check() uint16    { return binary.BigEndian.Uint16(h[ipCheck:]) }
func (h Iphdr) Saddr() [4]byte   { return [4]byte(h[ipSaddr : ipSaddr+4]) }
func (h Iphdr) Daddr() [4]byte   { return [4]byte(h[ipDaddr : ipDaddr+4]) }
func (h Iphdr) Src() netip.Addr  { return netip.AddrFrom4(h.Saddr()) }
func (h Iphdr) Dst() netip.Addr  { return netip.AddrFrom4(h.Daddr()) }
func (h Iphdr) Options() []byte  { return h[IPv4MinLen:h.Ihl()] }
func (h Iphdr) Payload() []byte  { return h[h.Ihl():h.TotLen()] }
func (h Iphdr) IsFragment() bool { return h.FragOff()&(IP_MF|IP_OFFSET) != 0 }

// FragOffset is the fragment's offset in bytes.
func (h Iphdr) FragOffset() int { return int(h.FragOff()&IP_OFFSET) * 8 }

// MoreFragments reports the MF flag.
func (h Iphdr) MoreFragments() bool { return h.FragOff()&IP_MF != 0 }

// SetTTL and friends edit a header in place; call SetCheck afterwards.
func (h Iphdr) SetTTL(t uint8)      { h[ipTTL] = t }
func (h Iphdr) SetTotLen(n int)     { binary.BigEndian.PutUint16(h[ipTotLen:], uint16(n)) }
func (h Iphdr) SetFragOff(f uint16) { binary.BigEndian.PutUint16(h[ipFragOff:], f) }
func (h Iphdr) SetDaddr(a [4]byte)  { copy(h[ipDaddr:], a[:]) }
func (h Iphdr) SetSaddr(a [4]byte)  { copy(h[ipSaddr:], a[:]) }
func (h Iphdr) SetProtocol(p uint8) { h[ipProtocol] = p }
func (h Iphdr) SetID(id uint16)     { binary.BigEndian.PutUint16(h[ipID:], id) }
func (h Iphdr) CalcCheck() uint16   { return Fold(Checksum(h[:h.Ihl()], 0) + uint32(^h.Check())) }
func (h Iphdr) SetCheck() {
	binary.BigEndian.PutUint16(h[ipCheck:], 0)
	binary.BigEndian.PutUint16(h[ipCheck:], Fold(Checksum(h[:h.Ihl()], 0)))
}
func (h Iphdr) IsChecksumValid() bool { return Fold(Checksum(h[:h.Ihl()], 0)) == 0 }

// IPFields is what Encode writes. Options must be a multiple of 4 bytes.
type IPFields struct {
	Tos      uint8
	TotLen   int
	ID       uint16
	FragOff  uint16 // flags and offset in 8-byte units, as on the wire
	TTL      uint8
	Protocol uint8
	Saddr    [4]byte
	Daddr    [4]byte
	Options  []byte
}

// Encode writes f into h, which must hold IPv4MinLen+len(f.Options) bytes,
// and fills in the header checksum.
func (h Iphdr) Encode(f IPFields) {
	ihl := IPv4MinLen + len(f.Options)
	h[ipVerIhl] = 4<<4 | uint8(ihl/4)
	h[ipTos] = f.Tos
	binary.BigEndian.PutUint16(h[ipTotLen:], uint16(f.TotLen))
	binary.BigEndian.PutUint16(h[ipID:], f.ID)
	binary.BigEndian.PutUint16(h[ipFragOff:], f.FragOff)
	h[ipTTL] = f.TTL
	h[ipProtocol] = f.Protocol
	binary.BigEndian.PutUint16(h[ipCheck:], 0)
	copy(h[ipSaddr:], f.Saddr[:])
	copy(h[ipDaddr:], f.Daddr[:])
	copy(h[IPv4MinLen:], f.Options)
	binary.BigEndian.PutUint16(h[ipCheck:], Fold(Checksum(h[:ihl], 0)))
}
