package header_test

import (
	"net/netip"
	"testing"

	"sockfs/inet6/header"
)

// TestLinkLocalFromMAC: the kernel derived fe80::5e:10ff:fe00:1 from
// 02:5e:10:00:00:01 (the captured MLD report's source); the
// universal/local bit flips both ways.
func TestLinkLocalFromMAC(t *testing.T) {
	if got := header.LinkLocalFromMAC(macA); got != llA || got != mustIP6(t, frameMLDReport).Saddr() {
		t.Fatalf("link-local %v", netip.AddrFrom16(got))
	}
	for _, tc := range []struct {
		mac  [6]byte
		want string
	}{
		{[6]byte{0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e}, "fe80::21b:21ff:fe3c:4d5e"},
		{[6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}, "fe80::5054:ff:fe12:3456"},
	} {
		if got := netip.AddrFrom16(header.LinkLocalFromMAC(tc.mac)).String(); got != tc.want {
			t.Errorf("%x: %s, want %s", tc.mac, got, tc.want)
		}
	}
	if id := header.AddrconfIfidEui48(macB); id != [8]byte{0, 0x5e, 0x10, 0xff, 0xfe, 0, 0, 2} {
		t.Fatalf("interface id % x", id)
	}
}

// TestSolicitedNode checks the groups and MACs the captured NS frames were
// sent to, and RFC 4291 §2.7.1's own example range.
func TestSolicitedNode(t *testing.T) {
	for _, frame := range [][]byte{frameNSDad, frameNS} {
		ip := mustIP6(t, frame)
		m := mustNd(t, frame)
		g := header.AddrconfAddrSolictMult(m.Target())
		if g != ip.Daddr() || !header.Ipv6AddrIsSolictMult(g) || header.Ipv6EthMcMap(g) != [6]byte(frame[:6]) {
			t.Fatalf("group %v for %v, frame to %x", netip.AddrFrom16(g), m.TargetAddr(), frame[:6])
		}
	}
	a := netip.MustParseAddr("4037::01:800:200e:8c6c").As16()
	if got := netip.AddrFrom16(header.AddrconfAddrSolictMult(a)).String(); got != "ff02::1:ff0e:8c6c" {
		t.Fatalf("solicited-node %s", got)
	}
	if header.Ipv6AddrIsSolictMult(allRouters) || header.Ipv6AddrIsSolictMult(addrA) {
		t.Fatal("not solicited-node groups")
	}
	// The MLDv2 report went to ff02::16 on 33:33:00:00:00:16 (RFC 2464 §7).
	if header.Ipv6EthMcMap(allMLDv2Routers) != [6]byte(frameMLDReport[:6]) {
		t.Fatal("ipv6_eth_mc_map")
	}
}

func TestIpv6AddrType(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		typ      int
		srcScope int
	}{
		{"::", header.IPV6_ADDR_ANY, -1},
		{"::1", header.IPV6_ADDR_LOOPBACK | header.IPV6_ADDR_UNICAST, header.IPV6_ADDR_SCOPE_LINKLOCAL},
		{"::ffff:198.18.0.1", header.IPV6_ADDR_MAPPED, header.IPV6_ADDR_SCOPE_GLOBAL},
		{"::198.18.0.1", header.IPV6_ADDR_COMPATv4 | header.IPV6_ADDR_UNICAST, header.IPV6_ADDR_SCOPE_GLOBAL},
		{"fe80::5e:10ff:fe00:1", header.IPV6_ADDR_LINKLOCAL | header.IPV6_ADDR_UNICAST, header.IPV6_ADDR_SCOPE_LINKLOCAL},
		{"febf::1", header.IPV6_ADDR_LINKLOCAL | header.IPV6_ADDR_UNICAST, header.IPV6_ADDR_SCOPE_LINKLOCAL},
		{"fec0::1", header.IPV6_ADDR_SITELOCAL | header.IPV6_ADDR_UNICAST, header.IPV6_ADDR_SCOPE_SITELOCAL},
		{"fd00::1", header.IPV6_ADDR_UNICAST, header.IPV6_ADDR_SCOPE_GLOBAL},
		{"2001:2::2", header.IPV6_ADDR_UNICAST, header.IPV6_ADDR_SCOPE_GLOBAL},
		{"ff01::1", header.IPV6_ADDR_MULTICAST | header.IPV6_ADDR_LOOPBACK, header.IPV6_ADDR_SCOPE_NODELOCAL},
		{"ff02::1:ff00:2", header.IPV6_ADDR_MULTICAST | header.IPV6_ADDR_LINKLOCAL, header.IPV6_ADDR_SCOPE_LINKLOCAL},
		{"ff05::2", header.IPV6_ADDR_MULTICAST | header.IPV6_ADDR_SITELOCAL, header.IPV6_ADDR_SCOPE_SITELOCAL},
		{"ff08::1", header.IPV6_ADDR_MULTICAST, header.IPV6_ADDR_SCOPE_ORGLOCAL},
		{"ff0e::1", header.IPV6_ADDR_MULTICAST, header.IPV6_ADDR_SCOPE_GLOBAL},
		{"ff12::1", header.IPV6_ADDR_MULTICAST | header.IPV6_ADDR_LINKLOCAL, header.IPV6_ADDR_SCOPE_LINKLOCAL},
		{"0:0:0:1::", header.IPV6_ADDR_UNICAST, header.IPV6_ADDR_SCOPE_GLOBAL},
	} {
		a := netip.MustParseAddr(tc.addr).As16()
		if got := header.Ipv6AddrType(a); got != tc.typ {
			t.Errorf("%s: type %#x, want %#x", tc.addr, got, tc.typ)
		}
		if got := header.Ipv6AddrSrcScope(a); got != tc.srcScope {
			t.Errorf("%s: scope %#x, want %#x", tc.addr, got, tc.srcScope)
		}
		if got := header.Ipv6AddrTypeScope(a); tc.srcScope >= 0 && got != tc.typ|tc.srcScope<<16 {
			t.Errorf("%s: __ipv6_addr_type %#x", tc.addr, got)
		}
		if mc := header.Ipv6AddrType(a)&header.IPV6_ADDR_MULTICAST != 0; mc && header.Ipv6AddrMcScope(a) != tc.srcScope {
			t.Errorf("%s: multicast scope %d", tc.addr, header.Ipv6AddrMcScope(a))
		}
	}
}
