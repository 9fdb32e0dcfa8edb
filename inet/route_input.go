package inet

import (
	"net/netip"
	"sync/atomic"

	"sockfs/netdev"
)

// Input routing's address checks (ip_route_input_slow and
// fib_validate_source, net/ipv4/route.c and fib_frontend.c): which packets
// arriving from a link are "martians" that no real peer can send. A host
// that answered them could be made to talk to itself (a SYN from our own
// address and port to ourselves, the LAND attack) or to reflect traffic
// at broadcast and multicast groups.
//
// The rules are Linux 6.18's with its defaults (rp_filter 0, accept_local
// 0, route_localnet 0), including the unicast extensions: 0.0.0.0/8 other
// than 0.0.0.0 itself and 240.0.0.0/4 are ordinary unicast sources
// (tools/testing/selftests/net/unicast_extensions.sh).

// rtCacheStat is the part of struct rt_cache_stat (/proc/net/stat/rt_cache)
// that input routing keeps.
type rtCacheStat struct {
	InBrd, InMartianDst, InMartianSrc atomic.Uint64
}

// martian is ipRouteInputMartian's verdict.
type martian uint8

const (
	martianNone martian = iota
	martianSource
	martianDestination
)

func (m martian) String() string {
	switch m {
	case martianSource:
		return "martian source"
	case martianDestination:
		return "martian destination"
	}
	return "ok"
}

// ipRouteInputMartian is the martian half of ip_route_input_slow for a
// packet from saddr to daddr received on a link (packets that loop back
// carry their route and are never checked, as in Linux). forUs is the
// destination's route type being RTN_LOCAL or RTN_BROADCAST, which ipRcv
// has looked up. It does not decide delivery: a unicast destination that
// is not ours is ipRcv's business (IpInAddrErrors).
func (in *Net) ipRouteInputMartian(saddr, daddr netip.Addr, forUs bool) martian {
	// The weirdest martians, before any lookup.
	if saddr.IsMulticast() || saddr == bcastAll {
		return martianSource
	}
	if daddr == bcastAll || saddr.IsUnspecified() && daddr.IsUnspecified() {
		// brd_input: 0.0.0.0 may send to the limited broadcast (DHCP);
		// any other source must pass fib_validate_source.
		if !saddr.IsUnspecified() && in.inetLookupIfaddr(saddr) {
			return martianSource
		}
		return martianNone
	}
	// ipv4_is_zeronet is exactly 0.0.0.0 since the unicast extensions.
	if saddr.IsUnspecified() {
		return martianSource
	}
	if daddr.IsUnspecified() {
		return martianDestination
	}
	if isLoopback4(daddr) {
		return martianDestination // no route_localnet
	}
	if isLoopback4(saddr) {
		return martianSource
	}
	// RTN_LOCAL and RTN_BROADCAST destinations validate the source
	// (fib_validate_source).
	if forUs && in.inetLookupIfaddr(saddr) {
		return martianSource
	}
	return martianNone
}

// inetLookupIfaddr is inet_lookup_ifaddr_rcu as fib_validate_source uses
// it with rp_filter and accept_local off: whether a is one of our
// interface addresses, which makes it a martian source.
func (in *Net) inetLookupIfaddr(a netip.Addr) bool {
	in.devinet.mu.RLock()
	defer in.devinet.mu.RUnlock()
	for _, ifa := range in.devinet.addrs {
		if ifa.local == a {
			return true
		}
	}
	return false
}

func isLoopback4(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 127 }

// ipHandleMartian is ip_handle_martian_source and the martian_destination
// arm: count the packet in rt_cache_stat and log it (as log_martians=1
// would), rate-limited by net_ratelimit, with the link-layer header the
// way Linux prints it.
func (in *Net) ipHandleMartian(m martian, skb *netdev.SkBuff, saddr, daddr netip.Addr) {
	if m == martianSource {
		in.rtStat.InMartianSrc.Add(1)
	} else {
		in.rtStat.InMartianDst.Add(1)
	}
	if !in.netRatelimit() {
		return
	}
	dev := skb.Dev.Name
	if m == martianSource {
		// Linux prints the destination first: "martian source D from S".
		in.logf("martian source %v from %v, on dev %s", daddr, saddr, dev)
	} else {
		in.logf("martian destination %v from %v, dev %s", daddr, saddr, dev)
	}
	if skb.Dev.HardHeaderLen == netdev.EthHlen && skb.NetworkHeader-skb.MacHeader == netdev.EthHlen {
		in.logf("ll header: %s", llHeader(skb.At(skb.MacHeader)[:netdev.EthHlen]))
	}
}

// llHeader prints a link-layer header as ip_handle_martian_source does:
// bytes in hex, colon-separated ("ll header: 02:00:...:08:00").
func llHeader(h []byte) string {
	const hexd = "0123456789abcdef"
	b := make([]byte, 0, 3*len(h))
	for i, c := range h {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hexd[c>>4], hexd[c&15])
	}
	return string(b)
}
