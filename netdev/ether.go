package netdev

import "encoding/binary"

// Ethhdr is struct ethhdr viewed over a frame (RFC 894 / IEEE 802.3).
//
//	 0                   1
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3
//	+-----------+-----------+---+
//	|   dest    |  source   |typ|
//	+-----------+-----------+---+
type Ethhdr []byte

const (
	EthAlen = 6
	EthHlen = 14

	ethDest   = 0
	ethSource = 6
	ethProto  = 12

	ETH_P_IP   = 0x0800
	ETH_P_ARP  = 0x0806
	ETH_P_IPV6 = 0x86DD
)

// ParseEthhdr returns a view of b's Ethernet header; after ok, no accessor
// panics.
func ParseEthhdr(b []byte) (Ethhdr, bool) {
	if len(b) < EthHlen {
		return nil, false
	}
	return Ethhdr(b[:EthHlen]), true
}

func (h Ethhdr) Dest() (a [6]byte)   { copy(a[:], h[ethDest:]); return }
func (h Ethhdr) Source() (a [6]byte) { copy(a[:], h[ethSource:]); return }
func (h Ethhdr) Proto() uint16       { return binary.BigEndian.Uint16(h[ethProto:]) }

// EthFields is what Encode writes.
type EthFields struct {
	Dest, Source [6]byte
	Proto        uint16
}

// Encode writes f into h (len(h) >= EthHlen).
func (h Ethhdr) Encode(f EthFields) {
	copy(h[ethDest:], f.Dest[:])
	copy(h[ethSource:], f.Source[:])
	binary.BigEndian.PutUint16(h[ethProto:], f.Proto)
}

// EthHeaderPush is eth_header (dev_hard_header): push an Ethernet header
// onto skb in place.
func EthHeaderPush(skb *SkBuff, dst, src [6]byte, proto uint16) {
	skb.MacHeader = skb.Offset() - EthHlen
	Ethhdr(skb.Push(EthHlen)).Encode(EthFields{Dest: dst, Source: src, Proto: proto})
}

// EthBroadcast is the all-ones destination.
var EthBroadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
