//go:build !race

// The race detector makes sync.Pool drop items at random, so allocation
// counts mean something only without it.

package inet

import (
	"context"
	"fmt"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/netdevtest"
	"sockfs/socket"
)

// The receive path of --offload allocates nothing per super-frame: the skb
// comes from the 64 KiB pool, goes up whole through netif_receive_skb,
// ip_rcv and tcp_v4_rcv, and is read out and freed.
func TestTCPSuperFrameReceiveAllocs(t *testing.T) {
	// The injected super-frames' sender is not a real peer: a's answers
	// are kept off the wire and out of the count.
	mute := &netdevtest.Recorder{}
	a, b := newTCPPair(t, tcpPairOpts{wrapA: func(d netdev.Driver) netdev.Driver { mute.Inner = d; return mute }})
	// b connects to a: a receives, and a's transmit side is the muted one.
	cs, ss, _ := tcpConnPair(t, b, a, 80)
	ctp, stp := skOf(cs), skOf(ss)
	sport, dport := withSk(ctp, func(tp *tcpSock) uint16 { return tp.Sport }), withSk(ctp, func(tp *tcpSock) uint16 { return tp.Dport })
	seq := withSk(stp, func(tp *tcpSock) uint32 { return tp.rcvNxt })
	ack := withSk(stp, func(tp *tcpSock) uint32 { return tp.sndNxt })
	mute.Mute.Store(true)
	payload := testPayload(44*1448, 5)
	buf := make([]byte, 128<<10)
	msg := &socket.Msghdr{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	netdevtest.NoAllocsPerRound(t, fmt.Sprintf("%d-byte super-frame", len(payload)), func() bool {
		a.dev.NetifReceiveSkb(superFrame(a, b, sport, dport, seq, ack, payload, 1448, true))
		seq += uint32(len(payload))
		for got := 0; got < len(payload); {
			*msg = socket.Msghdr{}
			n, err := socket.SockRecvmsg(ctx, ss, msg, buf, 0)
			if err != nil {
				return false
			}
			got += n
		}
		return true
	})
}
