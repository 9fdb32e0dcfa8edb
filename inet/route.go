package inet

import (
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"sockfs/netdev"
	"sockfs/socket"
)

// Route types, flags and scopes (include/uapi/linux/rtnetlink.h,
// include/uapi/linux/in_route.h).
const (
	RTN_UNICAST   = 1
	RTN_LOCAL     = 2
	RTN_BROADCAST = 3
	RTN_MULTICAST = 5

	RTCF_BROADCAST = 0x10000000
	RTCF_MULTICAST = 0x20000000
	RTCF_LOCAL     = 0x80000000

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
	Flags   int // RTCF_*: set on lookup results, as rt_flags
	Scope   int
	Metric  int
}

// MTU is the device's MTU (dst->dev->mtu); the path MTU to one
// destination, which an ICMP may have lowered, is Net.dstMTU.
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

	exceptions fnheTable // path MTUs learnt per destination (route_pmtu.go)
}

func (f *fibTable) add(rt *Rtable) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = append(f.routes, rt)
	sort.SliceStable(f.routes, func(i, j int) bool {
		a, b := f.routes[i], f.routes[j]
		if la, lb := a.localTable(), b.localTable(); la != lb {
			return la // the local table is looked up first
		}
		if a.Dst.Bits() != b.Dst.Bits() {
			return a.Dst.Bits() > b.Dst.Bits()
		}
		return a.Metric < b.Metric
	})
}

// localTable reports whether the entry belongs in the local table, where
// fib_add_ifaddr puts the host's own addresses and the broadcast ones.
func (rt *Rtable) localTable() bool { return rt.Type == RTN_LOCAL || rt.Type == RTN_BROADCAST }

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

// flowi4 is struct flowi4 reduced to the two addresses a lookup reads and
// fills in: an unset source becomes the one the route chooses, and the
// destination 0.0.0.0 becomes this host.
type flowi4 struct {
	daddr, saddr netip.Addr
}

var (
	addrLoopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	addrLbcast   = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// ipv4IsZeronet is ipv4_is_zeronet: 0.0.0.0/8, "this network".
func ipv4IsZeronet(a netip.Addr) bool { return a.As4()[0] == 0 }

// ipRouteOutput is ip_route_output_key for callers that already know both
// addresses: the route for a packet from saddr (or any) to daddr.
func (in *Net) ipRouteOutput(daddr, saddr netip.Addr) (*Rtable, error) {
	fl4 := flowi4{daddr: daddr, saddr: saddr}
	return in.ipRouteOutputKey(&fl4)
}

// ipRouteOutputKey is __ip_route_output_key (ip_route_output_key_hash_rcu
// and __mkroute_output): the route for fl4, filling in its source and, for
// 0.0.0.0, its destination. The result's type and flags say what the
// destination is, and callers decide with them: TCP refuses broadcast and
// multicast (tcp_v4_connect), datagram sockets refuse broadcast without
// SO_BROADCAST.
//
//   - A source that is not ours: ENETUNREACH (EINVAL for a multicast,
//     broadcast or 0/8 source).
//   - To 255.255.255.255 or a multicast group from a bound source: out of
//     the device that has the source, with no table lookup (the "special
//     hack" that lets a bound socket broadcast without a route).
//   - To 0.0.0.0: this host, over loopback, to the source or 127.0.0.1.
//   - Otherwise fib_lookup, local table first (our addresses, the subnet
//     broadcasts), then main; no route: ENETUNREACH. 255.255.255.255 and
//     multicast found through a main-table route (the default) become
//     broadcast or multicast routes on its device, without its gateway.
func (in *Net) ipRouteOutputKey(fl4 *flowi4) (*Rtable, error) {
	daddr := fl4.daddr
	if anyAddr(fl4.saddr) {
		fl4.saddr = netip.Addr{}
	} else {
		s := fl4.saddr
		if s.IsMulticast() || s == addrLbcast || ipv4IsZeronet(s) {
			return nil, socket.EINVAL
		}
		dev := in.ipDevFind(s)
		if dev == nil {
			return nil, errENETUNREACH
		}
		if daddr.IsMulticast() || daddr == addrLbcast {
			return in.mkrouteOutput(fl4, &Rtable{Dst: netip.PrefixFrom(daddr, 32), Dev: dev, PrefSrc: s, Type: RTN_UNICAST, Scope: RT_SCOPE_LINK})
		}
	}
	if anyAddr(daddr) {
		if !fl4.saddr.IsValid() {
			fl4.saddr = addrLoopback
		}
		fl4.daddr = fl4.saddr
		res := in.fib.lookup(fl4.daddr)
		if res == nil || res.Type != RTN_LOCAL {
			return nil, errENETUNREACH
		}
		return res, nil
	}
	res := in.fib.lookup(daddr)
	if res == nil {
		in.mib.Ip.OutNoRoutes.Add(1)
		return nil, errENETUNREACH
	}
	if !fl4.saddr.IsValid() {
		fl4.saddr = res.PrefSrc
		if res.Type == RTN_LOCAL && !fl4.saddr.IsValid() {
			fl4.saddr = daddr
		}
	}
	return in.mkrouteOutput(fl4, res)
}

// mkrouteOutput is __mkroute_output: the type and flags of the result. A
// fib entry that already says what it is (local, a subnet broadcast) is
// handed out as it is; the limited broadcast and multicast get a route of
// their own on the entry's device, on-link.
func (in *Net) mkrouteOutput(fl4 *flowi4, res *Rtable) (*Rtable, error) {
	daddr := fl4.daddr
	typ := res.Type
	switch {
	case daddr == addrLbcast:
		typ = RTN_BROADCAST
	case daddr.IsMulticast():
		typ = RTN_MULTICAST
	case ipv4IsZeronet(daddr):
		return nil, socket.EINVAL
	}
	if typ == res.Type {
		return res, nil
	}
	rt := &Rtable{Dst: netip.PrefixFrom(daddr, 32), Dev: res.Dev, PrefSrc: fl4.saddr, Type: typ, Scope: RT_SCOPE_LINK, Flags: RTCF_LOCAL}
	if typ == RTN_BROADCAST {
		rt.Flags |= RTCF_BROADCAST
	} else {
		// No group is joined here, so nothing loops back (ip_check_mc_rcu
		// fails and RTCF_LOCAL is cleared).
		rt.Flags = RTCF_MULTICAST
	}
	return rt, nil
}

// ipDevFind is __ip_dev_find: the device that has address a, or nil.
func (in *Net) ipDevFind(a netip.Addr) *netdev.NetDevice {
	in.devinet.mu.RLock()
	defer in.devinet.mu.RUnlock()
	for _, ifa := range in.devinet.addrs {
		if ifa.local == a {
			return ifa.dev
		}
	}
	for _, ifa := range in.devinet.addrs {
		if ifa.dev.Flags&netdev.IFF_LOOPBACK != 0 && ifa.prefix.Contains(a) {
			return ifa.dev // 127.0.0.0/8 is all lo's
		}
	}
	return nil
}

// ipRouteConnect is ip_route_connect: the route a connecting socket will
// use, and the flow with the source it would take and the destination it
// would talk to (0.0.0.0 becomes this host). The socket is not changed:
// the caller checks the route first (tcp_v4_connect refuses broadcast,
// ip4_datagram_connect wants SO_BROADCAST), then takes it with
// skRouteSet. Mu held.
func (in *Net) ipRouteConnect(isk *InetSock, daddr netip.Addr) (*Rtable, flowi4, error) {
	fl4 := flowi4{daddr: daddr, saddr: isk.Saddr}
	rt, err := in.ipRouteOutputKey(&fl4)
	return rt, fl4, err
}

// skRouteSet caches rt on the socket and, if it has no source address yet,
// takes the flow's (inet_bhash2_update_saddr, __ip4_datagram_connect's
// part). Mu held.
func (isk *InetSock) skRouteSet(rt *Rtable, fl4 flowi4) {
	isk.rt = nil // a nil *Rtable must not become a non-nil DstEntry
	if rt != nil {
		isk.rt = rt
	}
	if anyAddr(isk.Saddr) {
		isk.Saddr = fl4.saddr
		if anyAddr(isk.RcvSaddr) {
			isk.RcvSaddr = fl4.saddr
		}
	}
}
