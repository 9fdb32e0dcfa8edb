package inet6

import (
	"bytes"
	"fmt"
	"net/netip"
)

// procInit is if6_proc_init, ipv6_route_proc_init and ipv6_misc_proc_init
// (snmp6): the tables in the layouts of Linux's files of the same names.
func (n *Net) procInit() {
	n.sn.ProcNetCreate("if_inet6", n.if6SeqShow)
	n.sn.ProcNetCreate("ipv6_route", n.ipv6RouteSeqShow)
	n.sn.ProcNetCreate("snmp6", n.snmp6SeqShow)
}

// hex32 is %pi6: the address as 32 hex digits.
func hex32(a netip.Addr) string {
	if !a.IsValid() {
		a = netip.IPv6Unspecified()
	}
	b := a.As16()
	return fmt.Sprintf("%x", b[:])
}

// if6SeqShow is /proc/net/if_inet6: address, ifindex, prefix length,
// scope, flags, device.
func (n *Net) if6SeqShow(b *bytes.Buffer) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, ifa := range n.addrs {
		fmt.Fprintf(b, "%s %02x %02x %02x %02x %8s\n", hex32(ifa.addr), ifa.dev.Ifindex, ifa.plen, ifa.scope, ifa.flags, ifa.dev.Name)
	}
}

// ipv6RouteSeqShow is /proc/net/ipv6_route (ipv6_route_native_seq_show):
// destination and length, source and length, next hop, metric, refcount,
// use, flags, device; the main table's routes.
func (n *Net) ipv6RouteSeqShow(b *bytes.Buffer) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, rt := range n.routes {
		flags := RTF_UP
		if rt.gateway.IsValid() {
			flags |= RTF_GATEWAY
		}
		fmt.Fprintf(b, "%s %02x %s %02x %s %08x %08x %08x %08x %8s\n",
			hex32(rt.dst.Addr()), rt.dst.Bits(), hex32(netip.Addr{}), 0, hex32(rt.gateway),
			rt.metric, 1, 0, flags, rt.dev.Name)
	}
}
