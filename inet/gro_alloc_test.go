//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts mean something only without it.

package inet

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/socket"
)

// muteTx drops every frame its device sends while on: the injected
// super-frames' sender is not a real peer, so the receiver's ACKs, and the
// exchanges they would start on the in-memory wire, are kept out of the
// count.
type muteTx struct {
	netdev.Driver
	on atomic.Bool
}

func (m *muteTx) Xmit(skb *netdev.SkBuff) error {
	if m.on.Load() {
		return nil
	}
	return m.Driver.Xmit(skb)
}

// The receive path of --offload allocates nothing per super-frame: the skb
// comes from the 64 KiB pool, goes up whole through netif_receive_skb,
// ip_rcv and tcp_v4_rcv, and is read out and freed.
func TestTCPSuperFrameReceiveAllocs(t *testing.T) {
	mute := &muteTx{}
	a, b := newTCPPair(t, tcpPairOpts{wrapA: func(d netdev.Driver) netdev.Driver { mute.Driver = d; return mute }})
	// b connects to a: a receives, and a's transmit side is the muted one.
	cs, ss, _ := tcpConnPair(t, b, a, 80)
	ctp, stp := skOf(cs), skOf(ss)
	sport, dport := withSk(ctp, func(tp *tcpSock) uint16 { return tp.Sport }), withSk(ctp, func(tp *tcpSock) uint16 { return tp.Dport })
	seq := withSk(stp, func(tp *tcpSock) uint32 { return tp.rcvNxt })
	ack := withSk(stp, func(tp *tcpSock) uint32 { return tp.sndNxt })
	mute.on.Store(true)
	payload := testPayload(44*1448, 5)
	buf := make([]byte, 128<<10)
	msg := &socket.Msghdr{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	failed := false
	round := func() {
		a.dev.NetifReceiveSkb(superFrame(a, b, sport, dport, seq, ack, payload, 1448, true))
		seq += uint32(len(payload))
		for got := 0; got < len(payload); {
			*msg = socket.Msghdr{}
			n, err := socket.SockRecvmsg(ctx, ss, msg, buf, 0)
			if err != nil {
				failed = true
				return
			}
			got += n
		}
	}
	for range 20 {
		round()
	}
	allocs := testing.AllocsPerRun(200, round)
	if failed {
		t.Fatal("a read failed")
	}
	t.Logf("%.2f allocations per %d-byte super-frame", allocs, len(payload))
	if allocs != 0 {
		t.Fatalf("%.2f allocations per super-frame: allocating per packet", allocs)
	}
}
