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

	mib     ipv6Mib
	inetsw6 [socket.SOCK_MAX][]inet.InetProtosw // protected by mu; inetsw6

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
	sn.SockRegister(&socket.NetProtoFamily{Family: socket.AF_INET6, Create: n.inet6Create})
	for _, q := range n.inetsw6Array() {
		sn.ProtoRegister(q.Prot)
		n.inet6RegisterProtosw(q)
	}
	n.procInit()
	return n
}

// inetsw6Array is inetsw6's rows as inet6_init registers them (net/ipv6/
// af_inet6.c registers them from tcpv6_init, udpv6_init, pingv6_init and
// rawv6_init): the AF_INET6 transports this stack has. It has none yet, so
// every type is ESOCKTNOSUPPORT, the answer inet6_create gives a type
// without rows; a transport is a new row here.
func (n *Net) inetsw6Array() []inet.InetProtosw { return nil }

// inet6RegisterProtosw is inet6_register_protosw.
func (n *Net) inet6RegisterProtosw(p inet.InetProtosw) {
	n.mu.Lock()
	n.inetsw6[p.Type] = append(n.inetsw6[p.Type], p)
	n.mu.Unlock()
}

// inet6Create is inet6_create (net/ipv6/af_inet6.c): the same search and
// errno rules as inet_create (inet.LookupProtosw) over inetsw6, then the
// row's ops and a sock from its proto, run through the proto's init.
func (n *Net) inet6Create(net *socket.Net, sock *socket.Socket, protocol int, kern bool) error {
	if protocol < 0 || protocol >= inet.IPPROTO_MAX {
		return socket.EINVAL
	}
	sock.State = socket.SS_UNCONNECTED
	n.mu.RLock()
	answer, protocol, err := inet.LookupProtosw(n.inetsw6[sock.Type], protocol)
	n.mu.RUnlock()
	if err != nil {
		return err
	}
	sock.Ops = answer.Ops
	s := socket.SkAlloc(net, socket.AF_INET6, answer.Prot)
	s.SK().Protocol = protocol
	socket.SockInitData(sock, s)
	if answer.Prot.Init != nil {
		if err := answer.Prot.Init(s); err != nil {
			answer.Prot.InUse.Add(-1)
			sock.Sk = nil
			return err
		}
	}
	return nil
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
