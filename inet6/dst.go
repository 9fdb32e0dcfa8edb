package inet6

import (
	"net/netip"

	"sockfs/netdev"
)

// rt6Dst is the part of struct rt6_info a connected TCP sock caches
// (inet.DstEntry): the device and next hop ip6_route_output chose. The
// path MTU to the peer is the route exceptions' (ip6DstMtu).
type rt6Dst struct {
	dev     *netdev.NetDevice
	nexthop netip.Addr
}

// Device is dst->dev.
func (rt *rt6Dst) Device() *netdev.NetDevice { return rt.dev }

// MTU is the device's MTU.
func (rt *rt6Dst) MTU() int { return rt.dev.MTU }
