// Package header holds the wire formats of the IPv6 family as views over
// byte slices, named after the kernel's structs: Ipv6hdr, the extension
// headers Ipv6OptHdr, Ipv6RtHdr and Frag6hdr, Icmp6hdr, and the neighbour
// discovery message NdMsg with its options; the upper-layer pseudo-header
// sum; the extension-header walk of ipv6_skip_exthdr; and the address
// helpers of net/ipv6 (solicited-node groups, their multicast MACs,
// modified EUI-64 link-local addresses, ipv6_addr_type).
//
// Kernel counterparts: include/uapi/linux/ipv6.h (struct ipv6hdr,
// ipv6_opt_hdr, ipv6_rt_hdr), include/net/ipv6.h (NEXTHDR_*, struct
// frag_hdr, ipv6_addr_type's IPV6_ADDR_*), include/uapi/linux/icmpv6.h,
// include/net/ndisc.h, net/ipv6/exthdrs_core.c (ipv6_ext_hdr,
// ipv6_skip_exthdr) and net/ipv6/addrconf_core.c (__ipv6_addr_type).
//
// It follows sockfs/inet/header, whose Internet checksum it uses: each view
// is a []byte type with accessors at unexported offsets written under the
// RFC's diagram. A Parse... function checks the length (and what else makes
// the accessors safe); after it returns ok, no accessor panics. Encode
// writes a header from a Fields struct. Views alias the packet: they copy
// nothing and allocate nothing. What to do with what they show (drop,
// answer with an ICMPv6 error, count) is the protocol code's in inet6.
package header
