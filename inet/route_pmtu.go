package inet

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"sockfs/netdev"
	"sockfs/socket"
)

// Path MTU discovery (RFC 1191), as net/ipv4/route.c keeps it: what an
// ICMP "fragmentation needed" teaches is a route exception for that one
// destination (struct fib_nh_exception, hung on the nexthop the route
// leads to), holding the smaller MTU until ip_rt_mtu_expires has passed.
// fnheTable knows nothing of IPv4: the IPv6 routes keep their "packet too
// big" exceptions (rt6_exception) in one of their own.

const (
	// ipRtMinPmtu is net.ipv4.route.min_pmtu: an ICMP asking for less is
	// taken as this much, with the MTU locked so DF is no longer set
	// (RFC 1191 §5's defence against forged tiny MTUs).
	ipRtMinPmtu = 512 + 20 + 20
	// ipRtMtuExpires is net.ipv4.route.mtu_expires: a learnt MTU is
	// forgotten after ten minutes (RFC 1191 §6.3), so a path that got
	// bigger is found again.
	ipRtMtuExpires = 10 * time.Minute
	// fnheMax bounds the exceptions: destinations are chosen by whoever
	// sends us ICMP, so the table may not grow without end
	// (FNHE_HASH_SIZE's 2048 buckets, FNHE_RECLAIM_DEPTH deep, reduced to
	// one bound that evicts the oldest as fnhe_remove_oldest does).
	fnheMax = 2048
)

// fibNhException is struct fib_nh_exception, its PMTU fields.
type fibNhException struct {
	dev     *netdev.NetDevice // the nexthop it was learnt through: a
	gw      netip.Addr        // route that changed nexthop ignores it
	pmtu    int               // fnhe_pmtu
	locked  bool              // fnhe_mtu_locked
	expires time.Duration     // fnhe_expires, on the stack's clock
	stamp   time.Duration     // fnhe_stamp: last update, for eviction
}

// fnheTable holds the exceptions by destination address. The count is
// read without the lock so that the usual case, no exception at all,
// costs a packet one atomic load.
type fnheTable struct {
	n  atomic.Int32
	mu sync.RWMutex
	m  map[netip.Addr]fibNhException // protected by mu
}

// lookup is find_exception: the live exception for daddr through
// (dev, gw), if any.
func (t *fnheTable) lookup(daddr netip.Addr, dev *netdev.NetDevice, gw netip.Addr, now time.Duration) (fibNhException, bool) {
	if t.n.Load() == 0 {
		return fibNhException{}, false
	}
	t.mu.RLock()
	e, ok := t.m[daddr]
	t.mu.RUnlock()
	if !ok || e.dev != dev || e.gw != gw || now >= e.expires {
		return fibNhException{}, false
	}
	return e, true
}

// update is update_or_create_fnhe: record pmtu for daddr, evicting the
// expired and, when still full, the oldest entry.
func (t *fnheTable) update(daddr netip.Addr, e fibNhException) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[netip.Addr]fibNhException)
	}
	if _, ok := t.m[daddr]; !ok && len(t.m) >= fnheMax {
		var oldest netip.Addr
		first := true
		for a, x := range t.m {
			if e.stamp >= x.expires {
				delete(t.m, a)
				continue
			}
			if first || x.stamp < t.m[oldest].stamp {
				oldest, first = a, false
			}
		}
		if len(t.m) >= fnheMax {
			delete(t.m, oldest)
		}
	}
	t.m[daddr] = e
	t.n.Store(int32(len(t.m)))
}

// rtException is the exception a packet to daddr over rt takes.
func (in *Net) rtException(rt *Rtable, daddr netip.Addr) (fibNhException, bool) {
	return in.fib.exceptions.lookup(daddr, rt.Dev, rt.Gateway, in.clock.Now())
}

// dstMTU is dst_mtu / ipv4_mtu: the path MTU to daddr over rt, the learnt
// one while it lives, else the device's.
func (in *Net) dstMTU(rt *Rtable, daddr netip.Addr) int {
	mtu := rt.MTU()
	if e, ok := in.rtException(rt, daddr); ok {
		mtu = min(mtu, e.pmtu)
	}
	return mtu
}

// ipMtuLocked is ip_mtu_locked: the path MTU to daddr was clamped at
// min_pmtu, so DF is no longer wanted.
func (in *Net) ipMtuLocked(rt *Rtable, daddr netip.Addr) bool {
	e, ok := in.rtException(rt, daddr)
	return ok && e.locked
}

// ipRtUpdatePmtu is __ip_rt_update_pmtu: a router said a packet to daddr
// needed an MTU of mtu. Only ever lowers the path MTU; below min_pmtu the
// MTU is taken as min_pmtu and locked. An unchanged MTU refreshes the
// exception only once half its life has passed, as Linux does, so a
// stream of repeats does not keep it alive for ever.
func (in *Net) ipRtUpdatePmtu(rt *Rtable, daddr netip.Addr, mtu int) {
	if rt.Type != RTN_UNICAST {
		return // local, broadcast and multicast routes learn nothing
	}
	old := in.dstMTU(rt, daddr)
	if old < mtu {
		return
	}
	lock := false
	if mtu < ipRtMinPmtu {
		lock = true
		mtu = min(old, ipRtMinPmtu)
	}
	now := in.clock.Now()
	if e, ok := in.rtException(rt, daddr); ok && e.pmtu == mtu && !lock && now < e.expires-ipRtMtuExpires/2 {
		return
	}
	in.fib.exceptions.update(daddr, fibNhException{
		dev: rt.Dev, gw: rt.Gateway, pmtu: mtu, locked: lock,
		expires: now + ipRtMtuExpires, stamp: now,
	})
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "__ip_rt_update_pmtu %v mtu=%d locked=%v", daddr, mtu, lock)
	}
}

// ipv4SkUpdatePmtu is ipv4_sk_update_pmtu: a datagram socket's ICMP
// "fragmentation needed" for a packet it sent to daddr from saddr. The
// route is looked up afresh, as __ipv4_sk_update_pmtu does, since an
// unconnected socket has none cached. Mu held.
func (in *Net) ipv4SkUpdatePmtu(isk *InetSock, daddr, saddr netip.Addr, mtu int) {
	if !ipSkAcceptPmtu(isk) {
		return
	}
	rt, err := in.ipRouteOutput(daddr, saddr)
	if err != nil {
		return
	}
	in.ipRtUpdatePmtu(rt, daddr, mtu)
}

// ipSkAcceptPmtu is ip_sk_accept_pmtu: INTERFACE and OMIT ignore what
// routers say.
func ipSkAcceptPmtu(isk *InetSock) bool {
	return isk.Pmtudisc != socket.IP_PMTUDISC_INTERFACE && isk.Pmtudisc != socket.IP_PMTUDISC_OMIT
}

// ipSkUsePmtu is ip_sk_use_pmtu: below PROBE, packets are sized by the
// path MTU; PROBE and above size them by the device's.
func ipSkUsePmtu(isk *InetSock) bool { return isk.Pmtudisc < socket.IP_PMTUDISC_PROBE }

// ipSkIgnoreDf is ip_sk_ignore_df: the socket's datagrams larger than the
// MTU are fragmented rather than refused.
func ipSkIgnoreDf(isk *InetSock) bool {
	return isk.Pmtudisc < socket.IP_PMTUDISC_DO || isk.Pmtudisc == socket.IP_PMTUDISC_OMIT
}

// ipDontFragment is ip_dont_fragment: DO always sets DF, WANT unless the
// path MTU was locked at min_pmtu.
func (in *Net) ipDontFragment(isk *InetSock, rt *Rtable, daddr netip.Addr) bool {
	return isk.Pmtudisc == socket.IP_PMTUDISC_DO ||
		(isk.Pmtudisc == socket.IP_PMTUDISC_WANT && !in.ipMtuLocked(rt, daddr))
}

// ipSkbDstMtu is ip_skb_dst_mtu for a socket's packet: the path MTU, or
// the device's for PROBE and above.
func (in *Net) ipSkbDstMtu(isk *InetSock, rt *Rtable, daddr netip.Addr) int {
	if ipSkUsePmtu(isk) {
		return in.dstMTU(rt, daddr)
	}
	return rt.MTU()
}
