package inet

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"sockfs/netdev"
)

// Route types and scopes (include/uapi/linux/rtnetlink.h).
const (
	RTN_UNICAST = 1
	RTN_LOCAL   = 2

	RT_SCOPE_UNIVERSE = 0
	RT_SCOPE_LINK     = 253
	RT_SCOPE_HOST     = 254
)

// Rtable is struct rtable, the result of a route lookup, and at once the
// fib entry it came from: entries are immutable once added, so lookups hand
// out pointers to them and allocate nothing.
type Rtable struct {
	Dst     netip.Prefix
	Gateway netip.Addr // invalid: the destination is on-link
	Dev     *netdev.NetDevice
	PrefSrc netip.Addr
	Type    int
	Scope   int
	Metric  int
}

// MTU is dst_mtu: the device's MTU.
func (rt *Rtable) MTU() int { return rt.Dev.MTU }

// nexthop is rt_nexthop: the gateway, or the destination itself on-link.
func (rt *Rtable) nexthop(daddr netip.Addr) netip.Addr {
	if rt.Gateway.IsValid() {
		return rt.Gateway
	}
	return daddr
}

// fibTable is the FIB (net/ipv4/fib_*.c) reduced to what a host needs: a
// list of routes kept sorted most specific first, so a lookup is the first
// match. Hosts have a handful of routes; a trie would not pay.
type fibTable struct {
	mu     sync.RWMutex
	routes []*Rtable // protected by mu; by prefix length, longest first
}

func (f *fibTable) add(rt *Rtable) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = append(f.routes, rt)
	sort.SliceStable(f.routes, func(i, j int) bool {
		a, b := f.routes[i], f.routes[j]
		if a.Type != b.Type {
			return a.Type == RTN_LOCAL // the local table is looked up first
		}
		if a.Dst.Bits() != b.Dst.Bits() {
			return a.Dst.Bits() > b.Dst.Bits()
		}
		return a.Metric < b.Metric
	})
}

// lookup is fib_lookup: the local table, then the main table, by longest
// prefix.
func (f *fibTable) lookup(daddr netip.Addr) *Rtable {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, rt := range f.routes {
		if rt.Dst.Contains(daddr) {
			return rt
		}
	}
	return nil
}

// Routes returns the main-table routes (not the local ones), for
// /proc/net/route.
func (f *fibTable) mainRoutes() []*Rtable {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []*Rtable
	for _, rt := range f.routes {
		if rt.Type == RTN_UNICAST {
			out = append(out, rt)
		}
	}
	return out
}

// SetGateway adds the default route via gw, which must be on a connected
// subnet.
func (in *Net) SetGateway(gw netip.Addr) error {
	rt := in.fib.lookup(gw)
	if rt == nil || rt.Type != RTN_UNICAST || rt.Gateway.IsValid() {
		return fmt.Errorf("inet: gateway %v is not on a connected network", gw)
	}
	in.fib.add(&Rtable{Dst: netip.PrefixFrom(netip.IPv4Unspecified(), 0), Gateway: gw, Dev: rt.Dev, PrefSrc: rt.PrefSrc, Type: RTN_UNICAST, Scope: RT_SCOPE_UNIVERSE})
	return nil
}

// ipRouteOutput is ip_route_output_key: the route for a packet to daddr,
// from saddr if one is chosen. A source that is not ours, or no route,
// fails like the kernel (EADDRNOTAVAIL, ENETUNREACH).
func (in *Net) ipRouteOutput(daddr, saddr netip.Addr) (*Rtable, error) {
	if saddr.IsValid() && !saddr.IsUnspecified() && !in.inetAddrIsLocal(saddr) {
		return nil, errEADDRNOTAVAIL
	}
	if daddr == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		// Limited broadcast leaves through the first device with an address.
		for _, d := range in.nd.Devices() {
			if d.Flags&netdev.IFF_LOOPBACK == 0 {
				if src := in.devAddr(d); src.IsValid() {
					return &Rtable{Dst: netip.PrefixFrom(daddr, 32), Dev: d, PrefSrc: src, Type: RTN_UNICAST, Scope: RT_SCOPE_LINK}, nil
				}
			}
		}
		in.mib.Ip.OutNoRoutes.Add(1)
		return nil, errENETUNREACH
	}
	rt := in.fib.lookup(daddr)
	if rt == nil {
		in.mib.Ip.OutNoRoutes.Add(1)
		return nil, errENETUNREACH
	}
	return rt, nil
}

// ipRouteConnect is ip_route_connect: route a connecting socket, cache the
// route, and choose its source address if it has none. Mu held.
func (in *Net) ipRouteConnect(isk *InetSock, daddr netip.Addr) error {
	rt, err := in.ipRouteOutput(daddr, isk.Saddr)
	if err != nil {
		return err
	}
	isk.rt = rt
	if !isk.Saddr.IsValid() || isk.Saddr.IsUnspecified() {
		src := rt.PrefSrc
		if rt.Type == RTN_LOCAL && in.inetAddrIsLocal(daddr) {
			src = daddr // talking to ourselves: from the same address
		}
		isk.Saddr = src
		if !isk.RcvSaddr.IsValid() || isk.RcvSaddr.IsUnspecified() {
			isk.RcvSaddr = src
		}
	}
	return nil
}
