package inet

// The neighbour table's bounds (net/core/neighbour.c: neigh_alloc,
// neigh_forced_gc, neigh_periodic_work). Every packet to a new on-link
// address makes an entry, so a flood from spoofed sources (SYN-ACKs to
// each) would grow the table without end. As Linux: below gc_thresh1
// nothing is collected; from gc_thresh2 a new entry first collects (at
// most every 5 s); at gc_thresh3 it must collect room or is refused; and a
// periodic pass drops failed entries and those unused for gc_staletime.
// An entry being resolved (INCOMPLETE, PROBE) is held by its timer, as the
// kernel's timer holds a reference, and is never collected.

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"sockfs/netdev"
)

// The arp_tbl gc sysctls (net.ipv4.neigh.default.gc_*).
const (
	sysctlNeighGcThresh1 = 128
	sysctlNeighGcThresh2 = 512
	sysctlNeighGcThresh3 = 1024
	neighForcedGcGrace   = 5 * time.Second // neigh_forced_gc's tref, neigh_alloc's last_flush spacing
	// neigh_periodic_work runs every base_reachable_time/2.
	neighGcInterval = sysctlNeighBaseReachableTimeSec * time.Second / 2
)

// neighGcState is the table's gc bookkeeping, under neighTable.mu.
type neighGcState struct {
	lastFlush  time.Duration
	flushed    bool
	periodic   bool // the periodic pass is armed
	tableFulls uint64
	forcedGcs  uint64
}

// neighAlloc is neigh_alloc + ___neigh_create (t.mu held): a new entry for
// key, after a forced collection when the table is large; nil when it is
// full (gc_thresh3) and nothing could be collected ("neighbor table
// overflow", NEIGH_CACHE_STAT table_fulls).
func (in *Net) neighAlloc(key netip.Addr, dev *netdev.NetDevice) *neighbour {
	t := &in.arp
	now := in.clock.Now()
	entries := len(t.m)
	if entries >= sysctlNeighGcThresh3 ||
		(entries >= sysctlNeighGcThresh2 && (!t.gc.flushed || now-t.gc.lastFlush > neighForcedGcGrace)) {
		if in.neighForcedGC(now) == 0 && entries >= sysctlNeighGcThresh3 {
			t.gc.tableFulls++
			return nil
		}
	}
	n := &neighbour{key: key, dev: dev, updated: now}
	n.used.Store(int64(now))
	t.m[key] = n
	if len(t.m) >= sysctlNeighGcThresh1 && !t.gc.periodic {
		t.gc.periodic = true
		in.clock.AfterFunc(neighGcInterval, in.neighPeriodicWork)
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
func (in *Net) neighForcedGC(now time.Duration) int {
	t := &in.arp
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
		in.neighRemoveLocked(n)
	}
	return len(victims)
}

// neighPeriodicWork is neigh_periodic_work: while the table holds at least
// gc_thresh1 entries, drop the failed ones and those unused for
// gc_staletime; it stops rearming once the table is small again.
func (in *Net) neighPeriodicWork() {
	t := &in.arp
	t.mu.Lock()
	defer t.mu.Unlock()
	now := in.clock.Now()
	if len(t.m) >= sysctlNeighGcThresh1 {
		for _, n := range t.m {
			if n.neighCollectable() &&
				(n.nudState == NUD_FAILED || now-time.Duration(n.used.Load()) > sysctlNeighGcStaleTimeSec*time.Second) {
				in.neighRemoveLocked(n)
			}
		}
	}
	if len(t.m) < sysctlNeighGcThresh1 {
		t.gc.periodic = false
		return
	}
	in.clock.AfterFunc(neighGcInterval, in.neighPeriodicWork)
}

// neighRemoveLocked is neigh_remove_one (t.mu held): the entry leaves the
// table; its timer stops and what waited on it is dropped.
func (in *Net) neighRemoveLocked(n *neighbour) {
	delete(in.arp.m, n.key)
	if n.timer != nil {
		n.timer.Stop()
	}
	for skb := n.arpQueue.Dequeue(); skb != nil; skb = n.arpQueue.Dequeue() {
		skb.Free()
	}
}
