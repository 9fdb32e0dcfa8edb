package header

import "encoding/binary"

// Address classes of ipv6_addr_type (include/net/ipv6.h IPV6_ADDR_*). The
// low 16 bits of Ipv6AddrType are these flags; bits 16 and up hold the scope
// (IPV6_ADDR_SCOPE_*), as __ipv6_addr_type packs them.
const (
	IPV6_ADDR_ANY        = 0x0000
	IPV6_ADDR_UNICAST    = 0x0001
	IPV6_ADDR_MULTICAST  = 0x0002
	IPV6_ADDR_LOOPBACK   = 0x0010
	IPV6_ADDR_LINKLOCAL  = 0x0020
	IPV6_ADDR_SITELOCAL  = 0x0040
	IPV6_ADDR_COMPATv4   = 0x0080
	IPV6_ADDR_SCOPE_MASK = 0x00f0
	IPV6_ADDR_MAPPED     = 0x1000

	// Scopes (RFC 4291 §2.7's multicast scope values).
	IPV6_ADDR_SCOPE_NODELOCAL = 0x01
	IPV6_ADDR_SCOPE_LINKLOCAL = 0x02
	IPV6_ADDR_SCOPE_SITELOCAL = 0x05
	IPV6_ADDR_SCOPE_ORGLOCAL  = 0x08
	IPV6_ADDR_SCOPE_GLOBAL    = 0x0e
)

// scopeType is IPV6_ADDR_SCOPE_TYPE.
func scopeType(scope int) int { return scope << 16 }

// scope2type is ipv6_addr_scope2type: a multicast group of node-, link- or
// site-local scope also gets the matching class flag.
func scope2type(scope int) int {
	switch scope {
	case IPV6_ADDR_SCOPE_NODELOCAL:
		return scopeType(scope) | IPV6_ADDR_LOOPBACK
	case IPV6_ADDR_SCOPE_LINKLOCAL:
		return scopeType(scope) | IPV6_ADDR_LINKLOCAL
	case IPV6_ADDR_SCOPE_SITELOCAL:
		return scopeType(scope) | IPV6_ADDR_SITELOCAL
	}
	return scopeType(scope)
}

// Ipv6AddrTypeScope is __ipv6_addr_type (net/ipv6/addrconf_core.c): the class
// flags of a, and its scope shifted left by 16 (RFC 6724 §3's scopes:
// loopback is link-local, ::ffff:0:0/96 and global unicast are global).
func Ipv6AddrTypeScope(a [16]byte) int {
	st := binary.BigEndian.Uint32(a[0:])
	// Everything outside 000/3 and 111/3 is global unicast (RFC 4291 §2.4).
	if st&0xe0000000 != 0 && st&0xe0000000 != 0xe0000000 {
		return IPV6_ADDR_UNICAST | scopeType(IPV6_ADDR_SCOPE_GLOBAL)
	}
	switch {
	case st&0xff000000 == 0xff000000:
		return IPV6_ADDR_MULTICAST | scope2type(Ipv6AddrMcScope(a))
	case st&0xffc00000 == 0xfe800000:
		return IPV6_ADDR_LINKLOCAL | IPV6_ADDR_UNICAST | scopeType(IPV6_ADDR_SCOPE_LINKLOCAL)
	case st&0xffc00000 == 0xfec00000:
		return IPV6_ADDR_SITELOCAL | IPV6_ADDR_UNICAST | scopeType(IPV6_ADDR_SCOPE_SITELOCAL)
	case st&0xfe000000 == 0xfc000000: // unique local, RFC 4193
		return IPV6_ADDR_UNICAST | scopeType(IPV6_ADDR_SCOPE_GLOBAL)
	}
	w1 := binary.BigEndian.Uint32(a[4:])
	w2 := binary.BigEndian.Uint32(a[8:])
	w3 := binary.BigEndian.Uint32(a[12:])
	if st|w1 == 0 {
		if w2 == 0 {
			switch w3 {
			case 0:
				return IPV6_ADDR_ANY
			case 1:
				return IPV6_ADDR_LOOPBACK | IPV6_ADDR_UNICAST | scopeType(IPV6_ADDR_SCOPE_LINKLOCAL)
			}
			return IPV6_ADDR_COMPATv4 | IPV6_ADDR_UNICAST | scopeType(IPV6_ADDR_SCOPE_GLOBAL)
		}
		if w2 == 0x0000ffff {
			return IPV6_ADDR_MAPPED | scopeType(IPV6_ADDR_SCOPE_GLOBAL)
		}
	}
	return IPV6_ADDR_UNICAST | scopeType(IPV6_ADDR_SCOPE_GLOBAL)
}

// Ipv6AddrType is ipv6_addr_type: the class flags alone.
func Ipv6AddrType(a [16]byte) int { return Ipv6AddrTypeScope(a) & 0xffff }

// Ipv6AddrSrcScope is ipv6_addr_src_scope: the scope RFC 6724 source
// address selection compares (IPV6_ADDR_SCOPE_*), -1 for the unspecified
// address (__IPV6_ADDR_SCOPE_INVALID).
func Ipv6AddrSrcScope(a [16]byte) int {
	t := Ipv6AddrTypeScope(a)
	if t == IPV6_ADDR_ANY {
		return -1
	}
	return t >> 16
}

// Ipv6AddrMcScope is IPV6_ADDR_MC_SCOPE: a multicast address's scope field
// (RFC 4291 §2.7). Meaningful for multicast addresses only.
func Ipv6AddrMcScope(a [16]byte) int { return int(a[1] & 0x0f) }

// AddrconfAddrSolictMult is addrconf_addr_solict_mult: the solicited-node multicast
// group of a, ff02::1:ff00:0/104 with a's low 24 bits (RFC 4291 §2.7.1),
// where neighbour solicitations for a are sent.
func AddrconfAddrSolictMult(a [16]byte) [16]byte {
	return [16]byte{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, a[13], a[14], a[15]}
}

// Ipv6AddrIsSolictMult reports whether a is a solicited-node group
// (ipv6_addr_is_solict_mult).
func Ipv6AddrIsSolictMult(a [16]byte) bool {
	return [13]byte(a[:13]) == [13]byte{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff}
}

// Ipv6EthMcMap is ipv6_eth_mc_map: the Ethernet group address a multicast
// IPv6 address is sent to, 33:33 and its low 32 bits (RFC 2464 §7).
func Ipv6EthMcMap(a [16]byte) [6]byte {
	return [6]byte{0x33, 0x33, a[12], a[13], a[14], a[15]}
}

// AddrconfIfidEui48 is addrconf_ifid_eui48: the modified EUI-64 interface
// identifier of an Ethernet address (RFC 4291 §2.5.1 and App. A): ff:fe in
// the middle, the universal/local bit inverted.
func AddrconfIfidEui48(mac [6]byte) [8]byte {
	return [8]byte{mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
}

// LinkLocalFromMAC is the link-local address addrconf_addr_gen gives an
// Ethernet device by default (addr_gen_mode eui64): fe80::/64 and
// AddrconfIfidEui48(mac) (RFC 4862 §5.3).
func LinkLocalFromMAC(mac [6]byte) [16]byte {
	a := [16]byte{0xfe, 0x80}
	id := AddrconfIfidEui48(mac)
	copy(a[8:], id[:])
	return a
}
