package netdev_test

import (
	"bytes"
	"encoding/hex"
	"testing"

	"sockfs/netdev"
)

// Frames captured with tcpdump on a veth pair between two network
// namespaces (d2:46:ab:10:b4:d6 10.0.0.1 <-> f6:d2:cf:7e:b3:f6 10.0.0.2);
// the same capture inet/header's tests use.
var (
	ethARPRequest = ethUnhex("ffffffffffffd246ab10b4d60806" +
		"0001080006040001d246ab10b4d60a0000010000000000000a000002")
	ethARPReply = ethUnhex("d246ab10b4d6f6d2cf7eb3f60806" +
		"0001080006040002f6d2cf7eb3f60a000002d246ab10b4d60a000001")
	ethTCPSyn = ethUnhex("f6d2cf7eb3f6d246ab10b4d60800" +
		"4500003ce956400040063d630a0000010a000002" +
		"82bc1f90e292ca6a00000000a002faf08dda0000020405b40402080a39a7223e000000000103030a")

	ethMAC1      = [6]byte{0xd2, 0x46, 0xab, 0x10, 0xb4, 0xd6}
	ethMAC2      = [6]byte{0xf6, 0xd2, 0xcf, 0x7e, 0xb3, 0xf6}
	ethBroadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

func ethUnhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestEthhdrRealFrames(t *testing.T) {
	for _, tc := range []struct {
		name      string
		frame     []byte
		dest, src [6]byte
		proto     uint16
	}{
		{"arp request", ethARPRequest, ethBroadcast, ethMAC1, netdev.ETH_P_ARP},
		{"arp reply", ethARPReply, ethMAC1, ethMAC2, netdev.ETH_P_ARP},
		{"tcp syn", ethTCPSyn, ethMAC2, ethMAC1, netdev.ETH_P_IP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := netdev.ParseEthhdr(tc.frame)
			if !ok {
				t.Fatal("ParseEthhdr of a captured frame failed")
			}
			if len(h) != netdev.EthHlen || h.Dest() != tc.dest || h.Source() != tc.src || h.Proto() != tc.proto {
				t.Fatalf("len %d dest % x source % x proto %#04x", len(h), h.Dest(), h.Source(), h.Proto())
			}
			out := make([]byte, netdev.EthHlen)
			netdev.Ethhdr(out).Encode(netdev.EthFields{Dest: h.Dest(), Source: h.Source(), Proto: h.Proto()})
			if !bytes.Equal(out, h) {
				t.Fatalf("Encode\n got % x\nwant % x", out, []byte(h))
			}
		})
	}
}

func TestParseEthhdrRejectsShort(t *testing.T) {
	for n := 0; n < netdev.EthHlen; n++ {
		if h, ok := netdev.ParseEthhdr(ethTCPSyn[:n]); ok || h != nil {
			t.Fatalf("accepted %d bytes", n)
		}
	}
	if h, ok := netdev.ParseEthhdr(ethTCPSyn[:netdev.EthHlen]); !ok || h.Proto() != netdev.ETH_P_IP {
		t.Fatal("a bare 14-byte header must parse")
	}
}

// TestEthhdrAccessorsCopy: Dest and Source return arrays, so a caller that
// keeps one does not see the frame's buffer reused under it.
func TestEthhdrAccessorsCopy(t *testing.T) {
	b := append([]byte(nil), ethARPReply...)
	h, _ := netdev.ParseEthhdr(b)
	d, s := h.Dest(), h.Source()
	for i := range b[:12] {
		b[i] = 0
	}
	if d != ethMAC1 || s != ethMAC2 {
		t.Fatal("Dest/Source alias the frame")
	}
}

// TestEthHeaderPush builds the captured SYN as dev_hard_header does: the IP
// datagram in an skb, the Ethernet header pushed in front of it in place.
func TestEthHeaderPush(t *testing.T) {
	skb := netdev.AllocSkb(len(ethTCPSyn))
	defer skb.Free()
	copy(skb.Put(len(ethTCPSyn)-netdev.EthHlen), ethTCPSyn[netdev.EthHlen:])
	before := skb.Offset()
	netdev.EthHeaderPush(skb, ethMAC2, ethMAC1, netdev.ETH_P_IP)
	if skb.Offset() != before-netdev.EthHlen || skb.MacHeader != skb.Offset() {
		t.Fatalf("data at %d (was %d), mac header at %d", skb.Offset(), before, skb.MacHeader)
	}
	if !bytes.Equal(skb.Data(), ethTCPSyn) {
		t.Fatalf("pushed frame\n got % x\nwant % x", skb.Data(), ethTCPSyn)
	}
	if h, ok := netdev.ParseEthhdr(skb.At(skb.MacHeader)); !ok || h.Dest() != ethMAC2 {
		t.Fatal("MacHeader does not point at the pushed header")
	}
}

func TestEthhdrAllocatesNothing(t *testing.T) {
	frame := append([]byte(nil), ethTCPSyn...)
	skb := netdev.AllocSkb(len(frame))
	defer skb.Free()
	skb.Put(len(frame) - netdev.EthHlen)
	off := skb.Offset()
	n := testing.AllocsPerRun(100, func() {
		h, ok := netdev.ParseEthhdr(frame)
		if !ok || h.Proto() != netdev.ETH_P_IP || h.Dest() != ethMAC2 || h.Source() != ethMAC1 {
			panic("ParseEthhdr")
		}
		netdev.EthHeaderPush(skb, ethMAC2, ethMAC1, netdev.ETH_P_IP)
		skb.SetHeadroom(off)
	})
	if n != 0 {
		t.Fatalf("%v allocations per frame, want 0", n)
	}
}

func BenchmarkParseEthhdr(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		h, ok := netdev.ParseEthhdr(ethTCPSyn)
		if !ok || h.Proto() != netdev.ETH_P_IP {
			b.Fatal("ParseEthhdr")
		}
	}
}

func FuzzEthhdr(f *testing.F) {
	for _, fr := range [][]byte{ethARPRequest, ethARPReply, ethTCPSyn, ethTCPSyn[:netdev.EthHlen], ethTCPSyn[:13]} {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := netdev.ParseEthhdr(b)
		if ok != (len(b) >= netdev.EthHlen) {
			t.Fatalf("ParseEthhdr ok=%v for %d bytes", ok, len(b))
		}
		if !ok {
			if h != nil {
				t.Fatal("a rejected frame returned a view")
			}
			return
		}
		if len(h) != netdev.EthHlen || &h[0] != &b[0] {
			t.Fatalf("view of %d bytes, or not aliasing the frame", len(h))
		}
		if h.Proto() != uint16(b[12])<<8|uint16(b[13]) || h.Dest() != [6]byte(b[0:6]) || h.Source() != [6]byte(b[6:12]) {
			t.Fatal("accessors read the wrong offsets")
		}
		out := make([]byte, netdev.EthHlen)
		netdev.Ethhdr(out).Encode(netdev.EthFields{Dest: h.Dest(), Source: h.Source(), Proto: h.Proto()})
		if !bytes.Equal(out, h) {
			t.Fatalf("Encode of the parsed fields\n got % x\nwant % x", out, []byte(h))
		}
	})
}
