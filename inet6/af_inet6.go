package inet6

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"

	"sockfs/inet"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// Net is the IPv6 part of a namespace (struct netns_ipv6).
type Net struct {
	sn    *socket.Net
	nd    *netdev.Net
	clock ktime.Clock

	ndTbl inet.NeighTable // nd_tbl (ndisc.go)
	dad   bool            // accept_dad (SetDAD)

	mu     sync.RWMutex
	addrs  []*inet6Ifaddr // protected by mu; inet6_addr_lst
	routes []rt6Info      // protected by mu; the main fib6 table
	lo     *netdev.NetDevice

	mib    ipv6Mib
	frags  fragQueues    // reassembly.go
	icmpRL icmpv6Limiter // icmp.go

	fragIdent atomic.Uint32 // ipv6_select_ident's counter, from a random start

	netRL socket.RatelimitState // net_ratelimit
	logFn func(format string, args ...any)
}

// Init is inet6_init's part this package has: nd_tbl (ndisc_init), the
// IPv6 packet handler (ipv6_packet_init) and the net/ tables. DAD is on,
// as accept_dad=1 (SetDAD).
func Init(sn *socket.Net, nd *netdev.Net, clock ktime.Clock) *Net {
	n := &Net{sn: sn, nd: nd, clock: clock, dad: true}
	n.netRL = socket.RatelimitState{Interval: socket.NetMsgCost, Burst: socket.NetMsgBurst}
	n.fragIdent.Store(rand.Uint32())
	n.ndiscInit()
	n.frags.init()
	n.icmpRL.init()
	nd.DevAddPack(netdev.ETH_P_IPV6, n.ipv6Rcv)
	n.procInit()
	return n
}

// SetDAD is net.ipv6.conf.all.accept_dad: 1 probes each new address
// before it is used, 0 makes it usable at once.
func (n *Net) SetDAD(on bool) { n.dad = on }

// SetLogf sets where the stack's log lines go (net_ratelimit'ed pr_info).
func (n *Net) SetLogf(f func(format string, args ...any)) { n.logFn = f }

func (n *Net) logf(format string, args ...any) {
	if n.logFn != nil {
		n.logFn(format, args...)
	}
}

// netRatelimit is net_ratelimit for the lines packets can trigger.
func (n *Net) netRatelimit() bool {
	ok, suppressed := n.netRL.Ratelimit(n.clock.Now())
	if ok && suppressed > 0 {
		n.logf("net_ratelimit: %d callbacks suppressed", suppressed)
	}
	return ok
}

func (n *Net) traceOn() bool { return n.sn.Trace.On() }

// addr16 is an address as the wire views take it.
func addr16(a netip.Addr) [16]byte { return a.As16() }
