//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts mean something only without it.

package inet6

import (
	"context"
	"strconv"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/netdev/netdevtest"
	"sockfs/socket"
)

// TCP over IPv6 with offload allocates nothing per packet: super-segments
// handed whole to a device with TSO6, or cut by software GSO into pooled
// skbs, as for IPv4 (inet's TestTCPSteadyStateAllocsTSO and ...GSO).
func TestTCPv6SteadyStateAllocsTSO6(t *testing.T) { tcpv6SteadyStateAllocs(t, netdev.NETIF_F_TSO6) }
func TestTCPv6SteadyStateAllocsGSO(t *testing.T)  { tcpv6SteadyStateAllocs(t, netdev.NETIF_F_GSO) }

func tcpv6SteadyStateAllocs(t *testing.T, feat uint64) {
	pa, pb := netdev.NewPair(4096)
	clk := ktime.NewManual()
	a := newFeatHost(t, pa, clk, 1, feat)
	b := newFeatHost(t, pb, clk, 2, feat)
	c, s := tcp6Conn(t, a, b, clk, 80)
	// TCP_NODELAY: the manual clock never fires the delayed ACK that a
	// Nagle-held tail would wait for.
	if err := socket.Setsockopt(c, socket.SOL_TCP, socket.TCP_NODELAY, 1); err != nil {
		t.Fatal(err)
	}
	data, buf := payload6(64<<10), make([]byte, 64<<10)
	var wmsg, rmsg socket.Msghdr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	failed := false
	round := func() {
		for b := data; len(b) > 0 && !failed; {
			n, err := socket.SockSendmsg(ctx, c, &wmsg, b)
			failed = err != nil
			b = b[n:]
		}
		for got := 0; got < len(data) && !failed; {
			n, err := socket.SockRecvmsg(ctx, s, &rmsg, buf, 0)
			failed = err != nil || n == 0
			got += n
		}
	}
	for range 100 {
		round()
	}
	outSegs := func() int {
		n, _ := strconv.Atoi(procField(t, a, "snmp", "Tcp:", "OutSegs"))
		m, _ := strconv.Atoi(procField(t, b, "snmp", "Tcp:", "OutSegs"))
		return n + m
	}
	segs := outSegs()
	allocs := testing.AllocsPerRun(200, round)
	if failed {
		t.Fatal("a send or receive failed")
	}
	perRun := float64(outSegs()-segs) / 201
	t.Logf("%.1f allocations per 64 KiB round (%.0f segments)", allocs, perRun)
	if allocs > perRun/10 {
		t.Fatalf("%.1f allocations for %.0f segments: allocating per packet", allocs, perRun)
	}
}

// The receive path of a TSO6 super-frame allocates nothing: the skb comes
// from the 64 KiB pool, goes up whole through ipv6_rcv and tcp_v6_rcv, and
// is read out and freed.
func TestTCPv6SuperFrameReceiveAllocs(t *testing.T) {
	a, b, mute, ss, sport, dport, seq, ack := superFrameConn(t)
	mute.Mute.Store(true)
	payload := payload6(44 * 1428)
	buf := make([]byte, 128<<10)
	var msg socket.Msghdr
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	netdevtest.NoAllocsPerRound(t, "TSO6 super-frame", func() bool {
		a.dev.NetifReceiveSkb(superFrame6(a, b, sport, dport, seq, ack, payload, true))
		seq += uint32(len(payload))
		for got := 0; got < len(payload); {
			n, err := socket.SockRecvmsg(ctx, ss, &msg, buf, 0)
			if err != nil {
				return false
			}
			got += n
		}
		return true
	})
}
