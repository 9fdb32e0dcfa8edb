package inet6

import (
	"errors"
	"net/netip"

	"sockfs/netdev"
)

// Route flags (include/uapi/linux/route.h) and the metrics Linux gives
// kernel and user routes (IP6_RT_PRIO_USER, IP6_RT_PRIO_ADDRCONF).
const (
	RTF_UP        = 0x0001
	RTF_GATEWAY   = 0x0002
	ip6RtPrioUser = 1024
	// Prefix routes of addresses and fe80::/64 (addrconf_prefix_route).
	ip6RtPrioAddrconf = 256
)

// rt6Info is struct fib6_info: one route of the main table.
type rt6Info struct {
	dst     netip.Prefix
	gateway netip.Addr // invalid: on-link
	dev     *netdev.NetDevice
	metric  int
}

// rt6AddRoute is ip6_route_add (fib6_add): routes are kept longest prefix
// first, then by metric, so the first match is fib6_lookup's.
func (n *Net) rt6AddRoute(rt rt6Info) {
	if rt.metric == ip6RtPrioUser && !rt.gateway.IsValid() {
		rt.metric = ip6RtPrioAddrconf
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	i := 0
	for i < len(n.routes) && (n.routes[i].dst.Bits() > rt.dst.Bits() ||
		n.routes[i].dst.Bits() == rt.dst.Bits() && n.routes[i].metric <= rt.metric) {
		i++
	}
	n.routes = append(n.routes, rt6Info{})
	copy(n.routes[i+1:], n.routes[i:])
	n.routes[i] = rt
}

// SetGateway adds the default route ::/0 via gw, which must be on a
// connected prefix or link-local (ip -6 route add default via gw).
func (n *Net) SetGateway(gw netip.Addr) error {
	if !gw.Is6() || gw.Is4In6() || gw.IsMulticast() || gw.IsUnspecified() {
		return errors.New("not a unicast IPv6 address")
	}
	dev, _, ok := n.ip6RouteOutput(gw)
	if !ok || dev == n.lo {
		return errors.New("not on a connected network")
	}
	n.rt6AddRoute(rt6Info{dst: netip.PrefixFrom(netip.IPv6Unspecified(), 0), gateway: gw, dev: dev, metric: ip6RtPrioUser})
	return nil
}

// ip6RouteOutput is ip6_route_output: the device and next hop for dst.
// Our own addresses and ::1 are reached through lo (the local table);
// multicast groups leave on the device that has a link-local route.
func (n *Net) ip6RouteOutput(dst netip.Addr) (dev *netdev.NetDevice, nexthop netip.Addr, ok bool) {
	if n.ipv6GetIfaddr(dst) != nil {
		n.mu.RLock()
		lo := n.lo
		n.mu.RUnlock()
		return lo, dst, lo != nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if dst.IsMulticast() {
		ll := netip.MustParseAddr("fe80::") // ff02::/16 goes where fe80::/64 does
		for _, rt := range n.routes {
			if rt.dst.Contains(ll) {
				return rt.dev, dst, true
			}
		}
		return nil, netip.Addr{}, false
	}
	for _, rt := range n.routes {
		if rt.dst.Contains(dst) {
			if rt.gateway.IsValid() {
				return rt.dev, rt.gateway, true
			}
			return rt.dev, dst, true
		}
	}
	return nil, netip.Addr{}, false
}
