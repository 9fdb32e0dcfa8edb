package inet6

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"time"

	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// Address flags (include/uapi/linux/if_addr.h IFA_F_*) and scopes (the
// rtnetlink RT_SCOPE_* values ipv6_addr_scope gives, as if_inet6 prints).
const (
	IFA_F_NODAD     = 0x02
	IFA_F_DADFAILED = 0x08
	IFA_F_TENTATIVE = 0x40
	IFA_F_PERMANENT = 0x80

	ifaGlobal = 0x00
	ifaLink   = 0x20
	ifaHost   = 0x10
)

// The net.ipv6.conf.default sysctls addrconf follows.
const (
	sysctlDadTransmits       = 1
	sysctlRtrSolicitDelay    = time.Second // the random delay before the first probe
	sysctlNdiscRetransTimeMs = 1000
)

// inet6Ifaddr is struct inet6_ifaddr: one address on one device.
type inet6Ifaddr struct {
	addr      netip.Addr
	plen      int
	dev       *netdev.NetDevice
	scope     int
	flags     uint8 // protected by Net.mu
	dadProbes int   // protected by Net.mu
	dadTimer  ktime.Timer
}

// ipv6AddrScope is ipv6_addr_scope as if_inet6 shows it.
func ipv6AddrScope(a netip.Addr) int {
	switch {
	case a.IsLoopback():
		return ifaHost
	case a.IsLinkLocalUnicast():
		return ifaLink
	}
	return ifaGlobal
}

// DevAdd is addrconf_notify(NETDEV_UP) plus inet6_addr_add: dev gets its
// link-local address derived from the MAC (modified EUI-64, RFC 4862
// §5.3) and fe80::/64, then global (if valid) and its connected prefix
// route. On lo it is ::1/128 (init_loopback), and lo carries the traffic
// to our own addresses. Each address starts tentative and becomes usable
// when DAD ends (without blocking the caller), or at once with DAD off.
func (n *Net) DevAdd(dev *netdev.NetDevice, global netip.Prefix) error {
	if dev.Flags&netdev.IFF_LOOPBACK != 0 {
		n.mu.Lock()
		n.lo = dev
		n.mu.Unlock()
		return n.ipv6AddAddr(dev, netip.PrefixFrom(netip.IPv6Loopback(), 128))
	}
	if global.IsValid() && (!global.Addr().Is6() || global.Addr().Is4In6()) {
		return errors.New("not an IPv6 prefix")
	}
	ll := netip.AddrFrom16(header.LinkLocalFromMAC(dev.HWAddr))
	if err := n.ipv6AddAddr(dev, netip.PrefixFrom(ll, 64)); err != nil {
		return err
	}
	n.rt6AddRoute(rt6Info{dst: netip.MustParsePrefix("fe80::/64"), dev: dev, metric: ip6RtPrioUser})
	if global.IsValid() {
		if err := n.ipv6AddAddr(dev, global); err != nil {
			return err
		}
		n.rt6AddRoute(rt6Info{dst: global.Masked(), dev: dev, metric: ip6RtPrioUser})
	}
	return nil
}

// ipv6AddAddr is ipv6_add_addr + addrconf_dad_start.
func (n *Net) ipv6AddAddr(dev *netdev.NetDevice, p netip.Prefix) error {
	a := p.Addr()
	if a.IsMulticast() || a.IsUnspecified() {
		return errors.New("not a unicast address")
	}
	n.mu.Lock()
	for _, ifa := range n.addrs {
		if ifa.addr == a {
			n.mu.Unlock()
			return errors.New("address already in use")
		}
	}
	ifa := &inet6Ifaddr{addr: a, plen: p.Bits(), dev: dev, scope: ipv6AddrScope(a), flags: IFA_F_PERMANENT | IFA_F_TENTATIVE}
	n.addrs = append(n.addrs, ifa)
	// addrconf_dad_begin: no DAD on loopback or NOARP devices, nor with
	// accept_dad 0; the address is usable at once.
	if !n.dad || dev.Flags&(netdev.IFF_LOOPBACK|netdev.IFF_NOARP) != 0 {
		ifa.flags &^= IFA_F_TENTATIVE
		n.mu.Unlock()
		return nil
	}
	// addrconf_dad_kick: the first probe after a random delay up to
	// rtr_solicit_delay, so hosts that start together do not collide.
	delay := time.Duration(rand.Int64N(int64(sysctlRtrSolicitDelay)))
	ifa.dadTimer = n.clock.AfterFunc(delay, func() { n.addrconfDadWork(ifa) })
	n.mu.Unlock()
	return nil
}

// addrconfDadWork is addrconf_dad_work / addrconf_dad_timer: send the
// next probe (an NS from :: for the address, to its solicited-node group,
// RFC 4862 §5.4.2), or, dad_transmits probes and a retrans_time later
// without an answer, complete DAD: the address loses IFA_F_TENTATIVE.
func (n *Net) addrconfDadWork(ifa *inet6Ifaddr) {
	n.mu.Lock()
	if ifa.flags&IFA_F_TENTATIVE == 0 || ifa.flags&IFA_F_DADFAILED != 0 {
		n.mu.Unlock()
		return
	}
	if ifa.dadProbes >= sysctlDadTransmits {
		ifa.flags &^= IFA_F_TENTATIVE // addrconf_dad_completed
		n.mu.Unlock()
		return
	}
	ifa.dadProbes++
	ifa.dadTimer.Reset(sysctlNdiscRetransTimeMs * time.Millisecond)
	n.mu.Unlock()
	target := ifa.addr
	n.ndiscSendNs(ifa.dev, target, netip.AddrFrom16(header.AddrconfAddrSolictMult(addr16(target))), netip.IPv6Unspecified(), [6]byte{}, false)
}

// addrconfDadFailure is addrconf_dad_failure: another node has or wants
// the tentative address; it stays tentative (unusable) and is marked
// IFA_F_DADFAILED, as Linux does for a static address.
func (n *Net) addrconfDadFailure(ifa *inet6Ifaddr, ha [6]byte) {
	n.mu.Lock()
	if ifa.flags&IFA_F_DADFAILED != 0 {
		n.mu.Unlock()
		return
	}
	ifa.flags |= IFA_F_DADFAILED
	if ifa.dadTimer != nil {
		ifa.dadTimer.Stop()
	}
	n.mu.Unlock()
	n.logf("IPv6: %s: IPv6 duplicate address %v used by %02x:%02x:%02x:%02x:%02x:%02x detected!",
		ifa.dev.Name, ifa.addr, ha[0], ha[1], ha[2], ha[3], ha[4], ha[5])
}

// ipv6GetIfaddr is ipv6_get_ifaddr: our entry for a (tentative or not), or
// nil.
func (n *Net) ipv6GetIfaddr(a netip.Addr) *inet6Ifaddr {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, ifa := range n.addrs {
		if ifa.addr == a {
			return ifa
		}
	}
	return nil
}

// ipv6ChkAddr is ipv6_chk_addr: a is one of our addresses and usable (not
// tentative).
func (n *Net) ipv6ChkAddr(a netip.Addr) bool {
	ifa := n.ipv6GetIfaddr(a)
	if ifa == nil {
		return false
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return ifa.flags&IFA_F_TENTATIVE == 0
}

// ipv6ChkMcastAddr is ipv6_chk_mcast_addr for the groups a static host's
// device joins: all-nodes (ff02::1) and the solicited-node group of each
// of its addresses, tentative ones included (RFC 4862 §5.4.2). MLD is not
// spoken: the link is one segment, and switches that snoop are absent.
func (n *Net) ipv6ChkMcastAddr(dev *netdev.NetDevice, group netip.Addr) bool {
	g := addr16(group)
	if g == [16]byte{0xff, 0x02, 15: 0x01} || g == [16]byte{0xff, 0x01, 15: 0x01} {
		return true
	}
	if !header.Ipv6AddrIsSolictMult(g) {
		return false
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, ifa := range n.addrs {
		if ifa.dev == dev && header.AddrconfAddrSolictMult(addr16(ifa.addr)) == g {
			return true
		}
	}
	return false
}

// ipv6DevGetSaddr is ipv6_dev_get_saddr reduced to what a device with one
// link-local and one global address needs (RFC 6724 §5 rules 1, 2 and 8
// amount to: the same address; the same scope; the longest matching
// prefix): a usable address of dev whose scope fits dst's.
func (n *Net) ipv6DevGetSaddr(dev *netdev.NetDevice, dst netip.Addr) (netip.Addr, bool) {
	wantLink := dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() || dst.IsInterfaceLocalMulticast()
	n.mu.RLock()
	defer n.mu.RUnlock()
	var best *inet6Ifaddr
	bestLen := -1
	for _, ifa := range n.addrs {
		if ifa.dev != dev || ifa.flags&IFA_F_TENTATIVE != 0 {
			continue
		}
		if ifa.addr == dst {
			return ifa.addr, true
		}
		if (ifa.scope == ifaLink) != wantLink {
			continue
		}
		if l := commonPrefixLen(ifa.addr, dst); l > bestLen {
			best, bestLen = ifa, l
		}
	}
	if best == nil {
		return netip.Addr{}, false
	}
	return best.addr, true
}

func commonPrefixLen(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	for i := range 16 {
		if d := x[i] ^ y[i]; d != 0 {
			l := i * 8
			for d&0x80 == 0 {
				l++
				d <<= 1
			}
			return l
		}
	}
	return 128
}
