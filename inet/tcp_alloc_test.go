//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts mean something only without it.

package inet

import (
	"testing"

	"sockfs/netdev"
)

// The data path allocates nothing per packet: skbs come from pools,
// headers are built in place, timers are re-armed. What is left is per
// call, where a reader sleeps (the wait queue's channel).
func TestTCPSteadyStateAllocs(t *testing.T) { tcpSteadyStateAllocs(t, 0) }

// With offload the sender builds super-segments: handed whole to a device
// with TSO, or cut by software GSO into pooled skbs; neither allocates.
func TestTCPSteadyStateAllocsTSO(t *testing.T) { tcpSteadyStateAllocs(t, netdev.NETIF_F_TSO) }
func TestTCPSteadyStateAllocsGSO(t *testing.T) { tcpSteadyStateAllocs(t, netdev.NETIF_F_GSO) }

func tcpSteadyStateAllocs(t *testing.T, feat uint64) {
	a, b := newTCPPair(t, tcpPairOpts{feat: feat})
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	// TCP_NODELAY: the manual clock never fires the delayed ACK, so a
	// sub-MSS tail that Nagle holds behind an odd last segment (software
	// GSO cuts 64 KiB into 46 wire segments, acked two by two) would wait
	// for it forever.
	withSk(skOf(cs), func(tp *tcpSock) bool { tp.nodelay = true; return true })
	p := &tcpPingPong{cs: cs, ss: ss, data: testPayload(64<<10, 9), buf: make([]byte, 64<<10)}
	for i := 0; i < 100; i++ {
		p.run(t)
	}
	segs := a.in.mib.Tcp.OutSegs.Load() + b.in.mib.Tcp.OutSegs.Load()
	allocs := testing.AllocsPerRun(200, func() { p.run(t) })
	perRun := float64(a.in.mib.Tcp.OutSegs.Load()+b.in.mib.Tcp.OutSegs.Load()-segs) / 201
	t.Logf("%.1f allocations per 64 KiB round (%.0f segments)", allocs, perRun)
	if allocs > perRun/10 {
		t.Fatalf("%.1f allocations for %.0f segments: allocating per packet", allocs, perRun)
	}
}
