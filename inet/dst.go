package inet

import "sockfs/netdev"

// DstEntry is the part of struct dst_entry a sock caches (sk_dst_cache)
// that the family-free code reads: the device the route leaves by and its
// MTU. *Rtable (an IPv4 route) and inet6's route meet it, so the TCP core
// holds either without naming a family; the path MTU to the peer, which an
// ICMP "fragmentation needed" or ICMPv6 "packet too big" lowers per
// destination, is the family's (dst_mtu through dst->ops->mtu: ipv4_mtu,
// ip6_mtu), reached through afOps.dstMTU.
type DstEntry interface {
	// Device is dst->dev.
	Device() *netdev.NetDevice
	// MTU is the device's MTU (dst->dev->mtu).
	MTU() int
}

// Device is dst->dev of an IPv4 route.
func (rt *Rtable) Device() *netdev.NetDevice { return rt.Dev }

// rtable is the sock's cached route as IPv4 code wants it (Linux's
// (struct rtable *)__sk_dst_get(sk)): nil when there is none or it is
// another family's.
func (isk *InetSock) rtable() *Rtable {
	rt, _ := isk.rt.(*Rtable)
	return rt
}
