// Package inet6 is the IPv6 family as a host runs it (net/ipv6/): the
// device addresses and duplicate address detection (addrconf.go, as
// addrconf.c), routes and source address selection (route.go, as route.c
// and addrconf.c's ipv6_dev_get_saddr), ipv6_rcv and the extension headers
// (ip6_input.go, exthdrs.go), fragment reassembly (reassembly.go, as
// reassembly.c), ip6_output and fragmentation (ip6_output.go), software
// GSO for TCP super-segments (ip6_offload.go, as ip6_offload.c and
// tcpv6_offload.c over the TCP part inet shares), ICMPv6
// (icmp.go), neighbour discovery (ndisc.go, nd_tbl on inet's neighbour
// core), the MIB counters (snmp.go) and the net/ tables (proc.go:
// if_inet6, ipv6_route, snmp6).
//
// The wire formats are inet6/header's views. AF_INET6 is registered with
// the socket layer (af_inet6.go: inet6_create over inetsw6, with
// inet_create's errno rules through inet.LookupProtosw). Its transports
// so far are UDP (udp.go, as net/ipv6/udp.c: udpv6_prot over inet's UDP
// core and its one udp_table, inet6_dgram_ops, ip6_datagram_connect,
// udpv6_rcv and udpv6_err; net/udp6 lists its sockets, proc.go) and ping
// sockets (ping.go, as net/ipv6/ping.c, on inet's ping_table).
package inet6
