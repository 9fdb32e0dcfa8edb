package header_test

import (
	"bytes"
	"testing"

	"sockfs/inet6/header"
)

func mustNd(t testing.TB, frame []byte) header.NdMsg {
	t.Helper()
	m, ok := header.ParseNdMsg(mustICMP6(t, frame))
	if !ok {
		t.Fatal("ParseNdMsg of a captured message failed")
	}
	return m
}

// ndOpts collects what an ND options walk yields.
func ndOpts(t testing.TB, it header.NdOptIter) []header.NdOpt {
	t.Helper()
	var out []header.NdOpt
	for {
		o, ok := it.Next()
		if !ok {
			if it.Malformed() {
				t.Fatalf("malformed option at %d", it.Off())
			}
			return out
		}
		out = append(out, o)
	}
}

// TestNdMsgResolution reads address resolution as A and B did it: the NS
// to B's solicited-node group carrying A's link-layer address, and B's
// solicited NA (S and O, not R: B was a host then) carrying its own.
func TestNdMsgResolution(t *testing.T) {
	ns := mustNd(t, frameNS)
	ip := mustIP6(t, frameNS)
	if ns.Type() != header.NDISC_NEIGHBOUR_SOLICITATION || ns.Flags() != 0 || ns.Target() != addrB ||
		ns.TargetAddr().String() != "2001:2::2" || ip.HopLimit() != 255 {
		t.Fatalf("NS type %d flags %#x target %v", ns.Type(), ns.Flags(), ns.TargetAddr())
	}
	// The NS goes to the target's solicited-node group, on its MAC.
	if ip.Daddr() != header.AddrconfAddrSolictMult(ns.Target()) ||
		[6]byte(frameNS[:6]) != header.Ipv6EthMcMap(ip.Daddr()) {
		t.Fatalf("NS sent to %v, %x", ip.Dst(), frameNS[:6])
	}
	o := ndOpts(t, ns.Opts())
	if len(o) != 1 || o[0].Type() != header.ND_OPT_SOURCE_LL_ADDR || o[0].Len() != 8 {
		t.Fatalf("NS options %x", ns.Options())
	}
	if mac, ok := o[0].Lladdr(); !ok || mac != macA || mac != [6]byte(frameNS[6:12]) {
		t.Fatalf("source link-layer address %x", mac)
	}

	na := mustNd(t, frameNA)
	if na.Type() != header.NDISC_NEIGHBOUR_ADVERTISEMENT || na.Router() || !na.Solicited() || !na.Override() ||
		na.Flags() != header.ND_NA_FLAG_SOLICITED|header.ND_NA_FLAG_OVERRIDE || na.Target() != addrB {
		t.Fatalf("NA flags %#x target %v", na.Flags(), na.TargetAddr())
	}
	o = ndOpts(t, na.Opts())
	if len(o) != 1 || o[0].Type() != header.ND_OPT_TARGET_LL_ADDR {
		t.Fatalf("NA options %x", na.Options())
	}
	if mac, ok := o[0].Lladdr(); !ok || mac != macB {
		t.Fatalf("target link-layer address %x", mac)
	}
	if _, ok := o[0].Mtu(); ok {
		t.Fatal("a link-layer option read as an MTU")
	}
}

// TestNdMsgEncodeReproducesCapture builds B's NA as ndisc_send_na does and
// gets the kernel's bytes, checksum included.
func TestNdMsgEncodeReproducesCapture(t *testing.T) {
	opt := make([]byte, header.NdOptLladdrLen)
	header.PutNdOptLladdr(opt, header.ND_OPT_TARGET_LL_ADDR, macB)
	b := make([]byte, header.NdMsgLen+len(opt))
	m := header.NdMsg(b)
	m.Encode(header.NdFields{Type: header.NDISC_NEIGHBOUR_ADVERTISEMENT,
		Flags: header.ND_NA_FLAG_SOLICITED | header.ND_NA_FLAG_OVERRIDE, Target: addrB, Options: opt})
	m.Icmp6hdr().SetChecksum(addrB, addrA)
	if want := mustIP6(t, frameNA).Payload(); !bytes.Equal(b, want) {
		t.Fatalf("NA\n got % x\nwant % x", b, want)
	}
	// And A's NS.
	header.PutNdOptLladdr(opt, header.ND_OPT_SOURCE_LL_ADDR, macA)
	m.Encode(header.NdFields{Type: header.NDISC_NEIGHBOUR_SOLICITATION, Target: addrB, Options: opt})
	m.Icmp6hdr().SetChecksum(addrA, header.AddrconfAddrSolictMult(addrB))
	if want := mustIP6(t, frameNS).Payload(); !bytes.Equal(b, want) {
		t.Fatalf("NS\n got % x\nwant % x", b, want)
	}
	// The router flag, which a forwarding host sets.
	m.Encode(header.NdFields{Type: header.NDISC_NEIGHBOUR_ADVERTISEMENT, Flags: header.ND_NA_FLAG_ROUTER, Target: addrB})
	if !m.Router() || m.Solicited() || m.Override() || b[4] != 0x80 {
		t.Fatalf("R flag: % x", b[4:8])
	}
}

// TestNdMsgDad: a DAD probe comes from the unspecified address with no
// link-layer option (RFC 4861 §4.3) and, from Linux, a nonce option.
func TestNdMsgDad(t *testing.T) {
	ip := mustIP6(t, frameNSDad)
	m := mustNd(t, frameNSDad)
	if header.Ipv6AddrType(ip.Saddr()) != header.IPV6_ADDR_ANY || m.Target() != addrA ||
		ip.Daddr() != header.AddrconfAddrSolictMult(addrA) {
		t.Fatalf("DAD from %v for %v to %v", ip.Src(), m.TargetAddr(), ip.Dst())
	}
	o := ndOpts(t, m.Opts())
	if len(o) != 1 || o[0].Type() != header.ND_OPT_NONCE || o[0].Len() != 8 || len(o[0].Data()) != 6 {
		t.Fatalf("options % x", m.Options())
	}
	if _, ok := o[0].Lladdr(); ok {
		t.Fatal("a nonce read as a link-layer address")
	}
}

// TestNdOptsRouterSolicitation: an RS has no target (struct rs_msg); its
// options follow the ICMPv6 header.
func TestNdOptsRouterSolicitation(t *testing.T) {
	h := mustICMP6(t, frameRS)
	if h.Type() != header.NDISC_ROUTER_SOLICITATION || h.Data32() != 0 || !header.ValidNdOpts(h.Payload()) {
		t.Fatalf("RS type %d", h.Type())
	}
	o := ndOpts(t, header.NdOpts(h.Payload()))
	if mac, ok := o[0].Lladdr(); len(o) != 1 || !ok || mac != macA {
		t.Fatalf("RS options % x", h.Payload())
	}
}

// TestNdOptsMtuAndPrefix reads the options of a router advertisement,
// written here byte by byte from RFC 4861 §4.6.2 and §4.6.4 (no router
// sent one during the capture): MTU 1280, and prefix 2001:2::/64 on-link
// and autonomous, valid 2592000 s, preferred 604800 s.
func TestNdOptsMtuAndPrefix(t *testing.T) {
	b := unhex("0501000000000500" +
		"030440c000278d0000093a8000000000" + "20010002000000000000000000000000")
	if !header.ValidNdOpts(b) {
		t.Fatal("valid options refused")
	}
	o := ndOpts(t, header.NdOpts(b))
	if len(o) != 2 {
		t.Fatalf("%d options", len(o))
	}
	if mtu, ok := o[0].Mtu(); !ok || mtu != 1280 {
		t.Fatalf("MTU %d %v", mtu, ok)
	}
	pi, ok := o[1].PrefixInfo()
	if !ok || pi.PrefixLen != 64 || pi.Flags != header.ND_OPT_PI_FLAG_ONLINK|header.ND_OPT_PI_FLAG_AUTO ||
		pi.ValidLifetime != 2592000 || pi.PreferredLifetime != 604800 || pi.Prefix != [16]byte{0x20, 0x01, 0, 2} {
		t.Fatalf("prefix info %+v %v", pi, ok)
	}
	if _, ok := o[0].PrefixInfo(); ok {
		t.Fatal("an MTU option read as prefix information")
	}
	// A prefix option of the wrong size is not one.
	b[9] = 3
	if _, ok := header.NdOpt(b[8:32]).PrefixInfo(); ok {
		t.Fatal("a 24-byte prefix option accepted")
	}
}

// TestNdOptsRejects: a zero length must make the node drop the message
// (RFC 4861 §4.6), as must an option running past it.
func TestNdOptsRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		good int
		off  int
	}{
		{"zero length", []byte{1, 0, 0, 0, 0, 0, 0, 0}, 0, 0},
		{"zero length second", []byte{1, 1, 2, 0, 0, 0, 0, 1, 5, 0}, 1, 8},
		{"past the end", []byte{1, 2, 0, 0, 0, 0, 0, 0}, 0, 0},
		{"one byte left", []byte{1, 1, 0, 0, 0, 0, 0, 0, 1}, 1, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := header.NdOpts(tc.b)
			n := 0
			for {
				if _, ok := it.Next(); !ok {
					break
				}
				n++
			}
			if !it.Malformed() || n != tc.good || it.Off() != tc.off || header.ValidNdOpts(tc.b) {
				t.Fatalf("malformed %v after %d at %d", it.Malformed(), n, it.Off())
			}
			msg := append(mustIP6(t, frameNS).Payload()[:header.NdMsgLen:header.NdMsgLen], tc.b...)
			if m, ok := header.ParseNdMsg(msg); ok || m != nil {
				t.Fatal("ParseNdMsg accepted a message with a malformed option")
			}
		})
	}
	if m, ok := header.ParseNdMsg(mustIP6(t, frameNS).Payload()[:23]); ok || m != nil {
		t.Fatal("accepted 23 bytes")
	}
	if m, ok := header.ParseNdMsg(mustIP6(t, frameNS).Payload()[:24]); !ok || len(m.Options()) != 0 {
		t.Fatal("an NS without options must parse")
	}
}
