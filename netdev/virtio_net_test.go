package netdev_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"sockfs/netdev"
)

// vnetTSO4 is the header the kernel puts in front of a TCP super-frame it
// hands to a TAP with TUN_F_TSO4|TUN_F_CSUM: checksum still to do from the
// TCP header (csum_start 34 = Ethernet + IPv4, csum_offset 16 = tcphdr.check),
// cut at gso_size 1448 (MSS with timestamps), headers 66 bytes
// (Ethernet + IPv4 + TCP with 12 bytes of options).
var vnetTSO4 = []byte{0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00}

// vnetTSO6 is the same for TCP/IPv6 with TUN_F_TSO6: csum_start 54 =
// Ethernet + IPv6, gso_type TCPV6, gso_size 1428 (the IPv6 MSS with
// timestamps), headers 86 bytes.
var vnetTSO6 = []byte{0x01, 0x04, 0x56, 0x00, 0x94, 0x05, 0x36, 0x00, 0x10, 0x00}

func TestVirtioNetHdrParse(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want netdev.VirtioNetFields
	}{
		{"TSO4", vnetTSO4, netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV4,
			HdrLen: 66, GsoSize: 1448, CsumStart: 34, CsumOffset: 16}},
		{"TSO6", vnetTSO6, netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV6,
			HdrLen: 86, GsoSize: 1428, CsumStart: 54, CsumOffset: 16}},
	} {
		h, ok := netdev.ParseVirtioNetHdr(append(c.b, 0xee))
		if !ok {
			t.Fatalf("%s: ParseVirtioNetHdr rejected a header", c.name)
		}
		if len(h) != netdev.VirtioNetHdrLen {
			t.Fatalf("%s: view of %d bytes", c.name, len(h))
		}
		if h.Fields() != c.want {
			t.Fatalf("%s: fields %+v, want %+v", c.name, h.Fields(), c.want)
		}
		if _, ok := netdev.ParseVirtioNetHdr(c.b[:9]); ok {
			t.Fatalf("%s: 9 bytes parsed", c.name)
		}
		out := make([]byte, netdev.VirtioNetHdrLen)
		netdev.VirtioNetHdr(out).Encode(c.want)
		if !bytes.Equal(out, c.b) {
			t.Fatalf("%s: Encode\n got % x\nwant % x", c.name, out, c.b)
		}
	}
}

func FuzzVirtioNetHdr(f *testing.F) {
	f.Add(vnetTSO4)
	f.Add(vnetTSO6)
	f.Add(make([]byte, netdev.VirtioNetHdrLen))
	f.Add([]byte{netdev.VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(vnetTSO4[:5])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := netdev.ParseVirtioNetHdr(b)
		if ok != (len(b) >= netdev.VirtioNetHdrLen) {
			t.Fatalf("ParseVirtioNetHdr ok=%v for %d bytes", ok, len(b))
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected header returned a view")
			}
			return
		}
		if len(h) != netdev.VirtioNetHdrLen || &h[0] != &b[0] {
			t.Fatalf("view of %d bytes, or not aliasing the frame", len(h))
		}
		le := binary.LittleEndian
		if h.Flags() != b[0] || h.GsoType() != b[1] || h.HdrLen() != le.Uint16(b[2:]) ||
			h.GsoSize() != le.Uint16(b[4:]) || h.CsumStart() != le.Uint16(b[6:]) || h.CsumOffset() != le.Uint16(b[8:]) {
			t.Fatal("accessors read the wrong offsets")
		}
		out := make([]byte, netdev.VirtioNetHdrLen)
		netdev.VirtioNetHdr(out).Encode(h.Fields())
		if !bytes.Equal(out, h) {
			t.Fatalf("Encode of the parsed fields\n got % x\nwant % x", out, []byte(h))
		}
	})
}
