package inet6

import (
	"net/netip"
	"sync"
	"time"

	"sockfs/inet"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// Path MTU discovery for IPv6 (RFC 8201), as net/ipv6/route.c keeps it:
// a "packet too big" for a destination becomes a route exception
// (struct rt6_exception) holding the smaller MTU until ip6_rt_mtu_expires
// has passed. IPv6 routers never fragment: the source sizes its packets by
// this MTU and fragments them itself (ip6_fragment).

const (
	// ip6RtMtuExpires is net.ipv6.route.mtu_expires (RFC 8201 §4: a
	// learnt MTU is tried again after ten minutes at the soonest).
	ip6RtMtuExpires = 10 * time.Minute
	// rt6MaxExceptions is FIB6_MAX_DEPTH * rt6_exception_bucket size
	// reduced to one bound: the destinations come from whoever sends us
	// ICMPv6, so the table evicts the oldest (rt6_exception_remove_oldest).
	rt6MaxExceptions = 2048
)

// rt6Exception is struct rt6_exception: a cached route for one
// destination with its learnt MTU.
type rt6Exception struct {
	dev     *netdev.NetDevice // the route it was learnt through: a
	gw      netip.Addr        // route that changed nexthop ignores it
	pmtu    int
	expires time.Duration // on the stack's clock
	stamp   time.Duration // rt6i_stamp: for eviction
}

// rt6Exceptions is a route's exception bucket list, one table for all of
// them, by destination.
type rt6Exceptions struct {
	mu sync.Mutex
	m  map[netip.Addr]rt6Exception // protected by mu
}

// rt6FindCachedRt is rt6_find_cached_rt: the live exception for daddr
// over (dev, gw).
func (n *Net) rt6FindCachedRt(daddr netip.Addr, dev *netdev.NetDevice, gw netip.Addr) (rt6Exception, bool) {
	t := &n.pmtu
	t.mu.Lock()
	e, ok := t.m[daddr]
	t.mu.Unlock()
	if !ok || e.dev != dev || e.gw != gw || n.clock.Now() >= e.expires {
		return rt6Exception{}, false
	}
	return e, true
}

// ip6DstMtu is dst_mtu for the route to daddr through dev and nexthop:
// the learnt MTU while it lives, else the device's.
func (n *Net) ip6DstMtu(dev *netdev.NetDevice, nexthop, daddr netip.Addr) int {
	mtu := dev.MTU
	if e, ok := n.rt6FindCachedRt(daddr, dev, nexthop); ok {
		mtu = min(mtu, e.pmtu)
	}
	return mtu
}

// ip6UpdatePmtu is ip6_update_pmtu -> __ip6_rt_update_pmtu: a router said
// a packet to daddr needed mtu. An MTU below IPV6_MIN_MTU is taken as
// IPV6_MIN_MTU (RFC 8201 §4: a node never reduces its estimate below
// 1280); only a smaller MTU than the path's is kept, and our own
// addresses (lo) and multicast learn nothing.
func (n *Net) ip6UpdatePmtu(daddr netip.Addr, mtu int) {
	dev, nexthop, ok := n.ip6RouteOutput(daddr)
	if !ok || dev.Flags&netdev.IFF_LOOPBACK != 0 || daddr.IsMulticast() {
		return
	}
	mtu = max(mtu, header.IPV6_MIN_MTU)
	if mtu >= n.ip6DstMtu(dev, nexthop, daddr) {
		return
	}
	now := n.clock.Now()
	t := &n.pmtu
	t.mu.Lock()
	if t.m == nil {
		t.m = make(map[netip.Addr]rt6Exception)
	}
	if _, ok := t.m[daddr]; !ok && len(t.m) >= rt6MaxExceptions {
		var oldest netip.Addr
		first := true
		for a, x := range t.m {
			if now >= x.expires {
				delete(t.m, a)
				continue
			}
			if first || x.stamp < t.m[oldest].stamp {
				oldest, first = a, false
			}
		}
		if len(t.m) >= rt6MaxExceptions {
			delete(t.m, oldest)
		}
	}
	t.m[daddr] = rt6Exception{dev: dev, gw: nexthop, pmtu: mtu, expires: now + ip6RtMtuExpires, stamp: now}
	t.mu.Unlock()
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "ip6_update_pmtu %v mtu=%d", daddr, mtu)
	}
}

// ip6SkAcceptPmtu is ip6_sk_accept_pmtu: INTERFACE and OMIT ignore what
// routers say.
func ip6SkAcceptPmtu(np *inet.Ipv6Pinfo) bool {
	return np.Pmtudisc != socket.IPV6_PMTUDISC_INTERFACE && np.Pmtudisc != socket.IPV6_PMTUDISC_OMIT
}

// ip6SkIgnoreDf is ip6_sk_ignore_df: datagrams larger than the MTU are
// fragmented by the source rather than refused.
func ip6SkIgnoreDf(np *inet.Ipv6Pinfo) bool {
	return np.Pmtudisc < socket.IPV6_PMTUDISC_DO || np.Pmtudisc == socket.IPV6_PMTUDISC_OMIT
}

// ip6SkbDstMtu is ip6_skb_dst_mtu for a socket's packet: the path MTU,
// or the device's for PROBE and above.
func (n *Net) ip6SkbDstMtu(np *inet.Ipv6Pinfo, dev *netdev.NetDevice, nexthop, daddr netip.Addr) int {
	if np.Pmtudisc >= socket.IPV6_PMTUDISC_PROBE {
		return dev.MTU
	}
	return n.ip6DstMtu(dev, nexthop, daddr)
}

// ip6AppendMtu is __ip6_append_data's size check for a datagram of plen
// bytes above the IPv6 header: the MTU its packets are cut to (the cork's
// fragsize), or EMSGSIZE when it exceeds the path MTU on a socket that
// will not fragment (DO, PROBE, INTERFACE).
func (n *Net) ip6AppendMtu(np *inet.Ipv6Pinfo, dev *netdev.NetDevice, nexthop, daddr netip.Addr, plen int) (int, error) {
	mtu := n.ip6SkbDstMtu(np, dev, nexthop, daddr)
	if !ip6SkIgnoreDf(np) && header.IPv6Len+plen > mtu {
		return 0, socket.EMSGSIZE
	}
	return mtu, nil
}
