// Package inet6 is the IPv6 family as a host runs it (net/ipv6/): the
// device addresses and duplicate address detection (addrconf.go, as
// addrconf.c), routes and source address selection (route.go, as route.c
// and addrconf.c's ipv6_dev_get_saddr), ipv6_rcv and the extension headers
// (ip6_input.go, exthdrs.go), fragment reassembly (reassembly.go, as
// reassembly.c), ip6_output and fragmentation (ip6_output.go), ICMPv6
// (icmp.go), neighbour discovery (ndisc.go, nd_tbl on inet's neighbour
// core), the MIB counters (snmp.go) and the net/ tables (proc.go:
// if_inet6, ipv6_route, snmp6).
//
// The wire formats are inet6/header's views. This package knows no
// sockets yet: AF_INET6 is not registered with the socket layer, so the
// stack answers on the link (echo, neighbour discovery, errors) and has
// no IPv6 sockets of its own.
package inet6
