package inet

import (
	"net/netip"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// Packets to thousands of unresolvable on-link addresses (SYN-ACKs to a
// spoofed flood) do not grow the ARP table past gc_thresh3; entries that
// failed make room for new ones, and the periodic pass clears them.
func TestNeighTableBounded(t *testing.T) {
	clk := ktime.NewManual()
	in, dev, w := newIPTestStack(t, clk)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // the ARP requests go nowhere
		for {
			select {
			case <-w.frames:
			case <-stop:
				return
			}
		}
	}()
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) }
	send := func(from, to int) {
		for i := from; i < to; i++ {
			skb := netdev.AllocSkb(64)
			skb.Put(20)
			in.neighOutput(dev, addr(i), skb)
			skb.Free()
		}
	}
	size := func() int {
		in.arp.mu.RLock()
		defer in.arp.mu.RUnlock()
		return len(in.arp.m)
	}
	has := func(i int) bool {
		in.arp.mu.RLock()
		defer in.arp.mu.RUnlock()
		return in.arp.m[addr(i)] != nil
	}

	send(0, 3000)
	// Every entry is still being resolved, so none can go: the table
	// stops at gc_thresh3 and refuses the rest.
	if n := size(); n != sysctlNeighGcThresh3 {
		t.Fatalf("%d entries after 3000 destinations, want %d", n, sysctlNeighGcThresh3)
	}
	if f := in.arp.gc.tableFulls; f != 3000-sysctlNeighGcThresh3 {
		t.Fatalf("table_fulls %d, want %d", f, 3000-sysctlNeighGcThresh3)
	}
	// mcast_solicit requests a second apart, then FAILED.
	for range sysctlNeighMcastSolicit {
		clk.Advance(sysctlNeighRetransTimeMs * time.Millisecond)
	}
	// A forced collection makes room for new destinations.
	send(3000, 3100)
	if n := size(); n > sysctlNeighGcThresh3 {
		t.Fatalf("%d entries, beyond gc_thresh3", n)
	}
	if !has(3099) {
		t.Fatal("no entry for a new destination once the failed ones could go")
	}
	// The periodic pass drops what failed since.
	clk.Advance(neighGcInterval)
	if n := size(); n >= sysctlNeighGcThresh1 {
		t.Fatalf("%d entries after the periodic gc, want under gc_thresh1", n)
	}
}
