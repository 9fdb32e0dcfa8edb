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
	in    *inet.Net // the IPv4 family, whose UDP core udpv6 shares
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

	udpv6Prot  *socket.Proto // udpv6_prot (udp.go)
	pingv6Prot *socket.Proto // pingv6_prot (ping.go)
	rawv6Prot  *socket.Proto // rawv6_prot (raw.go)
	tcpv6Prot  *socket.Proto // tcpv6_prot (tcp.go)

	frags  fragQueues    // reassembly.go
	icmpRL icmpv6Limiter // icmp.go
	pmtu   rt6Exceptions // route_pmtu.go

	fragIdent atomic.Uint32 // ipv6_select_ident's counter, from a random start

	netRL socket.RatelimitState // net_ratelimit
	logFn func(format string, args ...any)
}

// Init is inet6_init: nd_tbl (ndisc_init), the IPv6 packet handler
// (ipv6_packet_init), AF_INET6 with inetsw6 (sock_register, udpv6_init)
// and the net/ tables. in is the IPv4 family, whose UDP core udpv6 shares
// as net/ipv6/udp.c shares net/ipv4/udp.c's; nil (tests of the IPv6 core
// alone) leaves inetsw6 without UDP. DAD is on, as accept_dad=1 (SetDAD).
func Init(sn *socket.Net, nd *netdev.Net, clock ktime.Clock, in *inet.Net) *Net {
	n := &Net{in: in, sn: sn, nd: nd, clock: clock, dad: true}
	n.netRL = socket.RatelimitState{Interval: socket.NetMsgCost, Burst: socket.NetMsgBurst}
	n.fragIdent.Store(rand.Uint32())
	n.ndiscInit()
	n.frags.init()
	n.icmpRL.init()
	nd.DevAddPack(netdev.ETH_P_IPV6, n.ipv6Rcv)
	nd.DevAddOffload(netdev.ETH_P_IPV6, ipv6GsoSegment)
	if in != nil {
		n.udpv6Init()
		n.pingv6Init()
		n.tcpv6Init()
		n.rawv6Init()
	}
	sn.SockRegister(&socket.NetProtoFamily{Family: socket.AF_INET6, Create: n.inet6Create})
	for _, q := range n.inetsw6Array() {
		sn.ProtoRegister(q.Prot)
		n.inet6RegisterProtosw(q)
	}
	n.procInit()
	if in != nil {
		in.SetInetsw6(n.inetsw6Rows)
	}
	return n
}

// inetsw6Rows is inetsw6's rows in inet6_create's search order, for
// net/protocols.
func (n *Net) inetsw6Rows() []inet.InetProtosw {
	n.mu.RLock()
	defer n.mu.RUnlock()
	var out []inet.InetProtosw
	for _, l := range n.inetsw6 {
		out = append(out, l...)
	}
	return out
}

// inetsw6Array is inetsw6's rows as inet6_init registers them (net/ipv6/
// af_inet6.c registers them from tcpv6_init, udpv6_init, pingv6_init and
// rawv6_init): SOCK_STREAM is TCP, SOCK_DGRAM is UDP, or ping with
// IPPROTO_ICMPV6; SOCK_RAW takes any protocol; every other type is
// ESOCKTNOSUPPORT, the answer inet6_create gives a type without rows. A
// transport is a new row here.
func (n *Net) inetsw6Array() []inet.InetProtosw {
	if n.udpv6Prot == nil {
		return nil
	}
	return []inet.InetProtosw{
		{Type: socket.SOCK_STREAM, Protocol: socket.IPPROTO_TCP, Prot: n.tcpv6Prot, Ops: n.inet6StreamOps()},
		{Type: socket.SOCK_DGRAM, Protocol: socket.IPPROTO_UDP, Prot: n.udpv6Prot, Ops: n.inet6DgramOps("inet6_dgram_ops")},
		{Type: socket.SOCK_DGRAM, Protocol: socket.IPPROTO_ICMPV6, Prot: n.pingv6Prot, Ops: n.inet6DgramOps("inet6_sockraw_ops")},
		{Type: socket.SOCK_RAW, Protocol: socket.IPPROTO_IP, Prot: n.rawv6Prot, Ops: n.inet6DgramOps("inet6_sockraw_ops")},
	}
}

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
	if n.in != nil {
		n.in.InetSkInit(s)
		inet.InetSk(s).Pinet6 = &inet.Ipv6Pinfo{HopLimit: -1, Pmtudisc: socket.IPV6_PMTUDISC_WANT}
		if sock.Type == socket.SOCK_RAW {
			inet.InetSk(s).Num = uint16(protocol) // a raw socket's number is its protocol
		}
	}
	socket.SockInitData(sock, s)
	if answer.Prot.Init != nil {
		if err := answer.Prot.Init(s); err != nil {
			answer.Prot.InUse.Add(-1)
			sock.Sk = nil
			return err
		}
	}
	if n.in != nil && inet.InetSk(s).Num != 0 && answer.Prot.Hash != nil {
		sk := s.SK()
		sk.Mu.Lock()
		err := answer.Prot.Hash(s)
		sk.Mu.Unlock()
		if err != nil {
			return err
		}
	}
	n.trace(sock, "inet6_create", answer.Prot.Name)
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

// trace emits one line for sock while the trace file is read.
func (n *Net) trace(sock *socket.Socket, path, detail string) {
	if t := n.sn.Trace; t.On() {
		if detail != "" {
			t.Emitf(sock.Ino, "%s %s", path, detail)
		} else {
			t.Emitf(sock.Ino, "%s", path)
		}
	}
}

// traceSk is for protocol code that has a sock.
func (n *Net) traceSk(isk *inet.InetSock, format string, args ...any) {
	if t := n.sn.Trace; t.On() {
		var ino uint64
		if sock := isk.Socket; sock != nil {
			ino = sock.Ino
		}
		t.Emitf(ino, format, args...)
	}
}

// traceErr is a trace line's " err=ERRNO" suffix, empty on success.
func traceErr(err error) string {
	if e, ok := err.(socket.Errno); ok {
		return " = -" + socket.ErrnoName(e)
	}
	if err != nil {
		return " = " + err.Error()
	}
	return ""
}
