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

func TestVirtioNetHdrParse(t *testing.T) {
	h, ok := netdev.ParseVirtioNetHdr(append(vnetTSO4, 0xee))
	if !ok {
		t.Fatal("ParseVirtioNetHdr rejected a header")
	}
	if len(h) != netdev.VirtioNetHdrLen {
		t.Fatalf("view of %d bytes", len(h))
	}
	if h.Flags() != netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM || h.GsoType() != netdev.VIRTIO_NET_HDR_GSO_TCPV4 ||
		h.HdrLen() != 66 || h.GsoSize() != 1448 || h.CsumStart() != 34 || h.CsumOffset() != 16 {
		t.Fatalf("fields %+v", h.Fields())
	}
	if _, ok := netdev.ParseVirtioNetHdr(vnetTSO4[:9]); ok {
		t.Fatal("9 bytes parsed")
	}
	out := make([]byte, netdev.VirtioNetHdrLen)
	netdev.VirtioNetHdr(out).Encode(h.Fields())
	if !bytes.Equal(out, vnetTSO4) {
		t.Fatalf("Encode\n got % x\nwant % x", out, vnetTSO4)
	}
}

func FuzzVirtioNetHdr(f *testing.F) {
	f.Add(vnetTSO4)
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
