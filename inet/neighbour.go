package inet

// The neighbour core (net/core/neighbour.c), family-neutral: one
// NeighTable per resolution protocol, keyed by netip.Addr, with the
// protocol's calls in NeighOps. ARP (arp.go) is arp_tbl on it; IPv6's
// neighbour discovery (package inet6, ndisc) is nd_tbl on the same core,
// as Linux runs both through neigh_table.
//
// The table's bounds (neigh_alloc, neigh_forced_gc, neigh_periodic_work):
// every packet to a new on-link address makes an entry, so a flood from
// spoofed sources (SYN-ACKs to each) would grow the table without end. As
// Linux: below gc_thresh1 nothing is collected; from gc_thresh2 a new entry
// first collects (at most every 5 s); at gc_thresh3 it must collect room or
// is refused; and a periodic pass drops failed entries and those unused for
// gc_staletime. An entry being resolved (INCOMPLETE, PROBE) is held by its
// timer, as the kernel's timer holds a reference, and is never collected.

import (
	"cmp"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// Neighbour states (include/uapi/linux/neighbour.h NUD_*), the subset a
// host cycles through.
const (
	NUD_INCOMPLETE = 0x01
	NUD_REACHABLE  = 0x02
	NUD_STALE      = 0x04
	NUD_PROBE      = 0x10
	NUD_FAILED     = 0x20
)

// NUD_VALID is the states with a usable hardware address.
const NUD_VALID = NUD_REACHABLE | NUD_STALE | NUD_PROBE

// The default neigh_parms gc sysctls (net.ipv4.neigh.default.gc_*, the
// same for net.ipv6.neigh).
const (
	sysctlNeighGcThresh1 = 128
	sysctlNeighGcThresh2 = 512
	sysctlNeighGcThresh3 = 1024
	neighForcedGcGrace   = 5 * time.Second // neigh_forced_gc's tref, neigh_alloc's last_flush spacing
	// neigh_periodic_work runs every base_reachable_time/2.
	neighGcInterval = sysctlNeighBaseReachableTimeSec * time.Second / 2
)

// NeighOps is struct neigh_ops plus the constructor of struct neigh_table:
// what differs between ARP and neighbour discovery.
type NeighOps struct {
	// Constructor is the part of arp_constructor / ndisc_constructor that
	// needs no resolution (NUD_NOARP): the fixed hardware address of a
	// broadcast or multicast key on dev, or false.
	Constructor func(dev *netdev.NetDevice, key netip.Addr) ([6]byte, bool)
	// Solicit is arp_solicit / ndisc_solicit: ask for key's hardware
	// address, to the link's broadcast (multicast) address, or unicast to
	// ha when re-confirming an entry we have (NUD_PROBE).
	Solicit func(dev *netdev.NetDevice, key netip.Addr, ha [6]byte, unicast bool)
	// ErrorReport is arp_error_report / ndisc_error_report: a packet that
	// waited for a neighbour that never answered; its sender learns
	// EHOSTUNREACH (ip_link_failure, icmpv6_send ADDR_UNREACH). skb holds
	// the packet from its network header; the caller frees it.
	ErrorReport func(skb *netdev.SkBuff)
	// Xmit is dev_queue_xmit as the family calls it (with its trace line).
	Xmit func(dev *netdev.NetDevice, skb *netdev.SkBuff) error
	// Overflow says, rate limited, that a new entry was refused at
	// gc_thresh3 (neigh_alloc's "neighbor table overflow!"); nil says
	// nothing. Called with the table's lock held.
	Overflow func()
}

// neighbour is struct neighbour: what we know of one next hop's hardware
// address, and the packets waiting for it.
type neighbour struct {
	key       netip.Addr
	dev       *netdev.NetDevice
	nudState  int
	ha        [6]byte
	confirmed time.Duration // when last heard from (clock time)
	probes    int
	arpQueue  netdev.SkbQueue // copies of packets waiting for resolution (arp_queue)
	timer     ktime.Timer
	updated   time.Duration // last state change (for the gc)
	used      atomic.Int64  // clock time of the last packet sent through it, read without mu
}

// NeighTable is struct neigh_table: arp_tbl, nd_tbl.
type NeighTable struct {
	protocol uint16 // the link header's ethertype of what it resolves for
	ops      NeighOps
	clock    ktime.Clock
	mu       sync.RWMutex
	m        map[netip.Addr]*neighbour // protected by mu
	gc       neighGcState              // protected by mu
}

// neighGcState is the table's gc bookkeeping, under NeighTable.mu.
type neighGcState struct {
	lastFlush  time.Duration
	flushed    bool
	periodic   bool // the periodic pass is armed
	tableFulls uint64
	forcedGcs  uint64
}

// NeighTableInit is neigh_table_init: an empty table for the link protocol
// protocol (netdev.ETH_P_IP, ETH_P_IPV6) with ops.
func (t *NeighTable) NeighTableInit(protocol uint16, ops NeighOps, clock ktime.Clock) {
	t.protocol = protocol
	t.ops = ops
	t.clock = clock
	t.m = make(map[netip.Addr]*neighbour)
}

// NeighOutput is neigh_output / neigh_resolve_output: find nexthop's
// hardware address (neighEventSend), then push the link header
// (dev_hard_header) and transmit (dev_queue_xmit), in this one place. When
// the address is still being resolved, a copy of skb waits in the
// neighbour's queue instead. The caller keeps skb; its data is restored
// before return.
func (t *NeighTable) NeighOutput(dev *netdev.NetDevice, nexthop netip.Addr, skb *netdev.SkBuff) error {
	ha, ok := t.neighEventSend(dev, nexthop, skb)
	if !ok {
		return nil
	}
	off := skb.Offset()
	defer skb.SetHeadroom(off)
	netdev.EthHeaderPush(skb, ha, dev.HWAddr, t.protocol)
	return t.ops.Xmit(dev, skb)
}

// neighEventSend is neigh_event_send with the constructor's fixed
// addresses: the hardware address to send to nexthop on dev, or false when
// there is none yet (__neigh_event_send queued a copy of skb and started
// resolving). Loopback and NOARP devices send to their own address, the
// constructor's keys to their fixed address; the rest come from the
// table, re-confirming an entry that is no longer fresh while it is used.
func (t *NeighTable) neighEventSend(dev *netdev.NetDevice, nexthop netip.Addr, skb *netdev.SkBuff) ([6]byte, bool) {
	if dev.Flags&(netdev.IFF_NOARP|netdev.IFF_LOOPBACK) != 0 {
		return dev.HWAddr, true
	}
	if ha, ok := t.ops.Constructor(dev, nexthop); ok {
		return ha, true
	}

	now := t.clock.Now()
	t.mu.RLock()
	n := t.m[nexthop]
	if n != nil && n.nudState&NUD_VALID != 0 {
		ha := n.ha
		fresh := n.nudState == NUD_REACHABLE && now-n.confirmed < sysctlNeighBaseReachableTimeSec*time.Second
		n.used.Store(int64(now))
		t.mu.RUnlock()
		if !fresh {
			t.neighProbe(nexthop, dev) // keep sending while we re-check it
		}
		return ha, true
	}
	t.mu.RUnlock()

	// __neigh_event_send: queue a copy and start (or continue) resolving.
	t.mu.Lock()
	n = t.m[nexthop]
	if n == nil {
		if n = t.neighAlloc(nexthop, dev); n == nil {
			// The table is full of entries being resolved: the packet
			// is dropped, as ip_finish_output2 drops it when
			// __neigh_create fails.
			t.mu.Unlock()
			dev.Stats.TxDropped.Add(1)
			return [6]byte{}, false
		}
	}
	n.used.Store(int64(now))
	switch n.nudState {
	case NUD_REACHABLE, NUD_STALE, NUD_PROBE: // resolved meanwhile
		ha := n.ha
		t.mu.Unlock()
		return ha, true
	case 0, NUD_FAILED:
		n.nudState = NUD_INCOMPLETE
		n.updated = now
		n.probes = 0
		t.neighArmTimer(n)
		defer t.ops.Solicit(dev, nexthop, [6]byte{}, false)
	}
	if n.arpQueue.Len() >= sysctlNeighUnresQlen {
		old := n.arpQueue.Dequeue() // neigh drops the oldest, as unres_qlen
		old.Free()
		dev.Stats.TxDropped.Add(1)
	}
	n.arpQueue.QueueTail(skb.Copy())
	t.mu.Unlock()
	return [6]byte{}, false
}

// neighProbe re-confirms a stale entry with a unicast solicitation, as
// NUD_PROBE.
func (t *NeighTable) neighProbe(nexthop netip.Addr, dev *netdev.NetDevice) {
	t.mu.Lock()
	n := t.m[nexthop]
	if n == nil || n.nudState == NUD_PROBE || n.nudState == NUD_INCOMPLETE {
		t.mu.Unlock()
		return
	}
	n.nudState = NUD_PROBE
	n.probes = 0
	ha := n.ha
	t.neighArmTimer(n)
	t.mu.Unlock()
	t.ops.Solicit(dev, nexthop, ha, true)
}

// neighArmTimer arms the entry's retransmit timer. t.mu held.
func (t *NeighTable) neighArmTimer(n *neighbour) {
	d := sysctlNeighRetransTimeMs * time.Millisecond
	if n.timer == nil {
		key := n.key
		n.timer = t.clock.AfterFunc(d, func() { t.neighTimerHandler(key) })
	} else {
		n.timer.Reset(d)
	}
}

// neighTimerHandler is neigh_timer_handler: resend the solicitation, or
// give up after mcast_solicit tries; the packets that waited fail through
// the table's error_report (neigh_invalidate).
func (t *NeighTable) neighTimerHandler(key netip.Addr) {
	t.mu.Lock()
	n := t.m[key]
	if n == nil || n.nudState&(NUD_INCOMPLETE|NUD_PROBE) == 0 {
		t.mu.Unlock()
		return
	}
	n.probes++
	if n.probes < sysctlNeighMcastSolicit {
		unicast := n.nudState == NUD_PROBE
		ha, dev := n.ha, n.dev
		t.neighArmTimer(n)
		t.mu.Unlock()
		t.ops.Solicit(dev, key, ha, unicast)
		return
	}
	n.nudState = NUD_FAILED
	n.updated = t.clock.Now()
	var failed netdev.SkbQueue
	for skb := n.arpQueue.Dequeue(); skb != nil; skb = n.arpQueue.Dequeue() {
		failed.QueueTail(skb)
	}
	t.mu.Unlock()
	for skb := failed.Dequeue(); skb != nil; skb = failed.Dequeue() {
		t.ops.ErrorReport(skb)
		skb.Free()
	}
}

// NeighUpdate is neigh_update: learn ha for addr and send what waited.
// create says whether to add an entry we had not asked about (a request
// for us tells us its sender's address, as arp_process uses it).
func (t *NeighTable) NeighUpdate(dev *netdev.NetDevice, addr netip.Addr, ha [6]byte, create bool) {
	t.neighUpdate(dev, addr, ha, NUD_REACHABLE, create)
}

// NeighEventNs is neigh_event_ns as ndisc_recv_ns calls it: a node that
// asked for one of our addresses told us its link address, which is not
// proof that it is reachable (RFC 4861 §7.2.3): the entry it makes or
// changes is STALE, and one we hold with that same address keeps its
// state (neigh_update with NUD_STALE, OVERRIDE and WEAK_OVERRIDE). It
// returns false when the table had no room for the entry.
func (t *NeighTable) NeighEventNs(dev *netdev.NetDevice, addr netip.Addr, ha [6]byte) bool {
	return t.neighUpdate(dev, addr, ha, NUD_STALE, true)
}

// neighUpdate is __neigh_update with the override flags both callers
// pass: the entry for addr (made when create) takes ha and the state
// nud; NUD_STALE leaves a valid entry whose address is unchanged as it
// is. What waited for the address is sent once it is valid. It returns
// whether there is an entry for addr.
func (t *NeighTable) neighUpdate(dev *netdev.NetDevice, addr netip.Addr, ha [6]byte, nud int, create bool) bool {
	t.mu.Lock()
	n := t.m[addr]
	if n == nil {
		if !create {
			t.mu.Unlock()
			return false
		}
		if n = t.neighAlloc(addr, dev); n == nil {
			t.mu.Unlock()
			return false
		}
	}
	if nud == NUD_STALE && n.nudState&NUD_VALID != 0 && n.ha == ha {
		t.mu.Unlock()
		return true
	}
	now := t.clock.Now()
	n.ha = ha
	n.dev = dev
	n.nudState = nud
	if nud == NUD_REACHABLE {
		n.confirmed = now
	}
	n.updated = now
	n.probes = 0
	if n.timer != nil {
		n.timer.Stop()
	}
	var ready netdev.SkbQueue
	for skb := n.arpQueue.Dequeue(); skb != nil; skb = n.arpQueue.Dequeue() {
		ready.QueueTail(skb)
	}
	t.mu.Unlock()
	// The waiting packets leave as any other, through NeighOutput (Linux's
	// neigh_update calls n->output, neigh_resolve_output).
	for skb := ready.Dequeue(); skb != nil; skb = ready.Dequeue() {
		t.NeighOutput(dev, addr, skb)
		skb.Free()
	}
	return true
}

// neighEntry is one row of a neighbour table as its /proc file shows it.
type neighEntry struct {
	addr  netip.Addr
	ha    [6]byte
	dev   string
	state int
}

// entries lists the table (neigh_seq_start/next), unordered.
func (t *NeighTable) entries() []neighEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]neighEntry, 0, len(t.m))
	for _, n := range t.m {
		out = append(out, neighEntry{addr: n.key, ha: n.ha, dev: n.dev.Name, state: n.nudState})
	}
	return out
}

// NeighLookup is neigh_lookup: the state and hardware address of key's
// entry (0 when there is none).
func (t *NeighTable) NeighLookup(key netip.Addr) (state int, ha [6]byte) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if n := t.m[key]; n != nil {
		return n.nudState, n.ha
	}
	return 0, ha
}

// neighAlloc is neigh_alloc + ___neigh_create (t.mu held): a new entry for
// key, after a forced collection when the table is large; nil when it is
// full (gc_thresh3) and nothing could be collected ("neighbor table
// overflow", NEIGH_CACHE_STAT table_fulls).
func (t *NeighTable) neighAlloc(key netip.Addr, dev *netdev.NetDevice) *neighbour {
	now := t.clock.Now()
	entries := len(t.m)
	if entries >= sysctlNeighGcThresh3 ||
		(entries >= sysctlNeighGcThresh2 && (!t.gc.flushed || now-t.gc.lastFlush > neighForcedGcGrace)) {
		if t.neighForcedGC(now) == 0 && entries >= sysctlNeighGcThresh3 {
			t.gc.tableFulls++
			if t.ops.Overflow != nil {
				t.ops.Overflow()
			}
			return nil
		}
	}
	n := &neighbour{key: key, dev: dev, updated: now}
	n.used.Store(int64(now))
	t.m[key] = n
	if len(t.m) >= sysctlNeighGcThresh1 && !t.gc.periodic {
		t.gc.periodic = true
		t.clock.AfterFunc(neighGcInterval, t.neighPeriodicWork)
	}
	return n
}

// neighCollectable: no timer holds the entry (refcnt 1 in Linux).
func (n *neighbour) neighCollectable() bool {
	return n.nudState&(NUD_INCOMPLETE|NUD_PROBE) == 0
}

// neighForcedGC is neigh_forced_gc (t.mu held): drop failed entries and
// entries not updated for 5 s, oldest first, until the table is back at
// gc_thresh2. It returns how many went.
func (t *NeighTable) neighForcedGC(now time.Duration) int {
	t.gc.lastFlush, t.gc.flushed = now, true
	t.gc.forcedGcs++
	maxClean := len(t.m) - sysctlNeighGcThresh2
	if maxClean <= 0 {
		return 0
	}
	var victims []*neighbour
	for _, n := range t.m {
		if n.neighCollectable() && (n.nudState == NUD_FAILED || now-n.updated > neighForcedGcGrace) {
			victims = append(victims, n)
		}
	}
	// Linux walks gc_list, least recently updated first.
	if len(victims) > maxClean {
		slices.SortFunc(victims, func(a, b *neighbour) int { return cmp.Compare(a.updated, b.updated) })
		victims = victims[:maxClean]
	}
	for _, n := range victims {
		t.neighRemoveLocked(n)
	}
	return len(victims)
}

// neighPeriodicWork is neigh_periodic_work: while the table holds at least
// gc_thresh1 entries, drop the failed ones and those unused for
// gc_staletime; it stops rearming once the table is small again.
func (t *NeighTable) neighPeriodicWork() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	if len(t.m) >= sysctlNeighGcThresh1 {
		for _, n := range t.m {
			if n.neighCollectable() &&
				(n.nudState == NUD_FAILED || now-time.Duration(n.used.Load()) > sysctlNeighGcStaleTimeSec*time.Second) {
				t.neighRemoveLocked(n)
			}
		}
	}
	if len(t.m) < sysctlNeighGcThresh1 {
		t.gc.periodic = false
		return
	}
	t.clock.AfterFunc(neighGcInterval, t.neighPeriodicWork)
}

// neighRemoveLocked is neigh_remove_one (t.mu held): the entry leaves the
// table; its timer stops and what waited on it is dropped.
func (t *NeighTable) neighRemoveLocked(n *neighbour) {
	delete(t.m, n.key)
	if n.timer != nil {
		n.timer.Stop()
	}
	for skb := n.arpQueue.Dequeue(); skb != nil; skb = n.arpQueue.Dequeue() {
		skb.Free()
	}
}
