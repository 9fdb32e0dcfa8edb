package inet

import (
	"fmt"
	"net/netip"
	"sync"

	"sockfs/netdev"
)

// Defaults of the net.ipv4 sysctls this stack follows.
const (
	sysctlIPDefaultTTL              = 64
	sysctlIPUnprivilegedPortStart   = 1024
	sysctlIPLocalPortRangeLow       = 32768
	sysctlIPLocalPortRangeHigh      = 60999
	sysctlICMPRateLimitMs           = 1000
	sysctlICMPMsgsPerSec            = 1000
	sysctlICMPMsgsBurst             = 50
	sysctlIPFragHighThresh          = 4 << 20
	sysctlIPFragTimeSeconds         = 30
	sysctlNeighRetransTimeMs        = 1000
	sysctlNeighMcastSolicit         = 3
	sysctlNeighBaseReachableTimeSec = 30
	sysctlNeighGcStaleTimeSec       = 60
	sysctlNeighUnresQlen            = 101
)

// inIfaddr is struct in_ifaddr: one address on one device.
type inIfaddr struct {
	dev    *netdev.NetDevice
	local  netip.Addr   // ifa_local
	prefix netip.Prefix // ifa_address/ifa_prefixlen, masked
	bcast  netip.Addr   // ifa_broadcast
}

// devinet is the namespace's interface addresses (the in_device lists).
type devinet struct {
	mu    sync.RWMutex
	addrs []inIfaddr // protected by mu
}

// DevInetAdd is inet_insert_ifa plus fib_add_ifaddr: give dev an address
// and install the local route for it and the connected route for its
// subnet. On a loopback device the whole prefix is local (127.0.0.0/8).
func (in *Net) DevInetAdd(dev *netdev.NetDevice, pfx netip.Prefix) error {
	if !pfx.Addr().Is4() {
		return fmt.Errorf("inet: %v is not an IPv4 prefix", pfx)
	}
	local := pfx.Addr()
	masked := pfx.Masked()
	ifa := inIfaddr{dev: dev, local: local, prefix: masked, bcast: broadcastOf(masked)}
	in.devinet.mu.Lock()
	for _, a := range in.devinet.addrs {
		if a.local == local {
			in.devinet.mu.Unlock()
			return fmt.Errorf("inet: address %v already assigned to %s", local, a.dev.Name)
		}
	}
	in.devinet.addrs = append(in.devinet.addrs, ifa)
	in.devinet.mu.Unlock()

	if dev.Flags&netdev.IFF_LOOPBACK != 0 {
		in.fib.add(&Rtable{Dst: masked, Dev: dev, PrefSrc: local, Type: RTN_LOCAL, Flags: RTCF_LOCAL, Scope: RT_SCOPE_HOST})
	} else {
		in.fib.add(&Rtable{Dst: netip.PrefixFrom(local, 32), Dev: in.loopbackDev(dev), PrefSrc: local, Type: RTN_LOCAL, Flags: RTCF_LOCAL, Scope: RT_SCOPE_HOST})
		in.fib.add(&Rtable{Dst: masked, Dev: dev, PrefSrc: local, Type: RTN_UNICAST, Scope: RT_SCOPE_LINK})
	}
	// The subnet's broadcast address, in the local table, "when it makes
	// sense" (not on /31 and /32, RFC 3021).
	if masked.Bits() < 31 {
		in.fib.add(&Rtable{Dst: netip.PrefixFrom(ifa.bcast, 32), Dev: dev, PrefSrc: local, Type: RTN_BROADCAST, Flags: RTCF_BROADCAST | RTCF_LOCAL, Scope: RT_SCOPE_LINK})
	}
	return nil
}

// loopbackDev is the device local traffic goes through: the loopback if
// one is registered, else the device that owns the address (so a stack
// without lo still answers itself, the way it would through lo).
func (in *Net) loopbackDev(fallback *netdev.NetDevice) *netdev.NetDevice {
	for _, d := range in.nd.Devices() {
		if d.Flags&netdev.IFF_LOOPBACK != 0 {
			return d
		}
	}
	return fallback
}

func broadcastOf(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	bits := p.Bits()
	for i := bits; i < 32; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(a)
}

// inetAddrIsLocal reports whether a is one of our addresses (inet_addr_type
// == RTN_LOCAL): an interface address, or inside a loopback prefix.
func (in *Net) inetAddrIsLocal(a netip.Addr) bool {
	in.devinet.mu.RLock()
	defer in.devinet.mu.RUnlock()
	for _, ifa := range in.devinet.addrs {
		if ifa.local == a {
			return true
		}
		if ifa.dev.Flags&netdev.IFF_LOOPBACK != 0 && ifa.prefix.Contains(a) {
			return true
		}
	}
	return false
}

// inetAddrType is inet_addr_type: what address a is to this host.
// 0.0.0.0/8 and 255.255.255.255 count as broadcast, as in Linux; otherwise
// the local table says (our addresses, the subnet broadcasts), and anything
// else is unicast.
func (in *Net) inetAddrType(a netip.Addr) int {
	switch {
	case ipv4IsZeronet(a), a == addrLbcast:
		return RTN_BROADCAST
	case a.IsMulticast():
		return RTN_MULTICAST
	}
	if rt := in.fib.lookup(a); rt != nil && rt.localTable() {
		return rt.Type
	}
	return RTN_UNICAST
}

// inetAddrIsBroadcast reports whether a is the limited broadcast or a
// directed broadcast of one of our subnets (RTN_BROADCAST).
func (in *Net) inetAddrIsBroadcast(a netip.Addr) bool {
	if a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return true
	}
	in.devinet.mu.RLock()
	defer in.devinet.mu.RUnlock()
	for _, ifa := range in.devinet.addrs {
		if ifa.dev.Flags&netdev.IFF_LOOPBACK == 0 && ifa.bcast == a {
			return true
		}
	}
	return false
}

// devAddr returns dev's primary address (inet_select_addr), or an invalid
// Addr.
func (in *Net) devAddr(dev *netdev.NetDevice) netip.Addr {
	in.devinet.mu.RLock()
	defer in.devinet.mu.RUnlock()
	for _, ifa := range in.devinet.addrs {
		if ifa.dev == dev {
			return ifa.local
		}
	}
	return netip.Addr{}
}

// devOwnsAddr reports whether a is one of dev's addresses (the ARP target
// check of arp_process).
func (in *Net) devOwnsAddr(dev *netdev.NetDevice, a netip.Addr) bool {
	in.devinet.mu.RLock()
	defer in.devinet.mu.RUnlock()
	for _, ifa := range in.devinet.addrs {
		if ifa.dev == dev && ifa.local == a {
			return true
		}
	}
	return false
}
