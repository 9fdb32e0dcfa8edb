package netdev

import "encoding/binary"

// VirtioNetHdr is struct virtio_net_hdr (include/uapi/linux/virtio_net.h),
// the 10 bytes a TAP opened with IFF_VNET_HDR puts in front of every frame
// both ways: how the kernel tells its peer which offloads a frame needs or
// already had (tun_put_user → virtio_net_hdr_from_skb on the way to us,
// tun_get_user → virtio_net_hdr_to_skb on the way back). The TAP is set
// little-endian (TUNSETVNETLE), so the fields are little-endian on any host.
//
//	 0        1        2        4        6        8        10
//	+--------+--------+--------+--------+--------+--------+
//	| flags  |gso_type| hdr_len|gso_size|csum_start|csum_offset|
//	+--------+--------+--------+--------+--------+--------+
type VirtioNetHdr []byte

const (
	VirtioNetHdrLen = 10

	vnetFlags      = 0
	vnetGsoType    = 1
	vnetHdrLen     = 2
	vnetGsoSize    = 4
	vnetCsumStart  = 6
	vnetCsumOffset = 8

	// flags
	VIRTIO_NET_HDR_F_NEEDS_CSUM = 1 // checksum from csum_start, stored at csum_start+csum_offset, still to do
	VIRTIO_NET_HDR_F_DATA_VALID = 2 // the checksum was verified

	// gso_type
	VIRTIO_NET_HDR_GSO_NONE  = 0
	VIRTIO_NET_HDR_GSO_TCPV4 = 1
	VIRTIO_NET_HDR_GSO_UDP   = 3
	VIRTIO_NET_HDR_GSO_TCPV6 = 4
	VIRTIO_NET_HDR_GSO_ECN   = 0x80 // flag: the TCP segments carry CWR
)

// ParseVirtioNetHdr returns a view of b's first VirtioNetHdrLen bytes; after
// ok no accessor panics. Any field values parse: what they mean for the
// frame is the receive path's to judge (as virtio_net_hdr_to_skb does).
func ParseVirtioNetHdr(b []byte) (VirtioNetHdr, bool) {
	if len(b) < VirtioNetHdrLen {
		return nil, false
	}
	return VirtioNetHdr(b[:VirtioNetHdrLen]), true
}

func (h VirtioNetHdr) Flags() uint8   { return h[vnetFlags] }
func (h VirtioNetHdr) GsoType() uint8 { return h[vnetGsoType] }
func (h VirtioNetHdr) HdrLen() uint16 { return binary.LittleEndian.Uint16(h[vnetHdrLen:]) }
func (h VirtioNetHdr) GsoSize() uint16 {
	return binary.LittleEndian.Uint16(h[vnetGsoSize:])
}
func (h VirtioNetHdr) CsumStart() uint16 { return binary.LittleEndian.Uint16(h[vnetCsumStart:]) }
func (h VirtioNetHdr) CsumOffset() uint16 {
	return binary.LittleEndian.Uint16(h[vnetCsumOffset:])
}

// VirtioNetFields is what Encode writes.
type VirtioNetFields struct {
	Flags, GsoType                         uint8
	HdrLen, GsoSize, CsumStart, CsumOffset uint16
}

// Encode writes f into h (len(h) >= VirtioNetHdrLen).
func (h VirtioNetHdr) Encode(f VirtioNetFields) {
	h[vnetFlags] = f.Flags
	h[vnetGsoType] = f.GsoType
	binary.LittleEndian.PutUint16(h[vnetHdrLen:], f.HdrLen)
	binary.LittleEndian.PutUint16(h[vnetGsoSize:], f.GsoSize)
	binary.LittleEndian.PutUint16(h[vnetCsumStart:], f.CsumStart)
	binary.LittleEndian.PutUint16(h[vnetCsumOffset:], f.CsumOffset)
}

// Fields returns the parsed fields, so that Encode(h.Fields()) gives h back.
func (h VirtioNetHdr) Fields() VirtioNetFields {
	return VirtioNetFields{
		Flags: h.Flags(), GsoType: h.GsoType(), HdrLen: h.HdrLen(),
		GsoSize: h.GsoSize(), CsumStart: h.CsumStart(), CsumOffset: h.CsumOffset(),
	}
}
