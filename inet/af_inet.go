package inet

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// Net is the IPv4 family's state in one namespace (struct netns_ipv4 and the
// tables the kernel keeps as globals): inetsw, inet_protos, interface
// addresses, routes, neighbours, the transport protocols' hash tables and
// the MIB counters. Everything hangs off it, so two stacks can share a
// process.
type Net struct {
	sn    *socket.Net
	nd    *netdev.Net
	clock ktime.Clock

	mu     sync.RWMutex
	inetsw [socket.SOCK_MAX][]InetProtosw // protected by mu
	protos [256]*NetProtocol              // protected by mu; inet_protos
	// inetsw6 gives AF_INET6's inetsw6 rows, for net/protocols (set by
	// package inet6: SetInetsw6). Protected by mu.
	inetsw6 func() []InetProtosw

	devinet devinet          // interface addresses (devinet.go)
	fib     fibTable         // routes (route.go)
	arp     NeighTable       // arp_tbl (arp.go, on neighbour.go)
	mib     mib              // SNMP counters (snmp.go)
	ipIdent ipIdent          // IP ID generator (ip_output.go)
	icmpRL  icmpRateLimit    // icmp_global (icmp.go)
	rtStat  rtCacheStat      // route input statistics (route_input.go)
	oowMib  tcpAckSkippedMib // TcpExt counters of the out-of-window ACK limits (tcp_oow.go)

	netRL socket.RatelimitState            // net_ratelimit (ratelimit.go)
	logFn func(format string, args ...any) // set before traffic (SetLogf)

	tcp   tcpNet   // TCP's hash tables and per-namespace state (tcp_ipv4.go)
	dgram dgramNet // UDP, ping and raw tables, IP reassembly (datagram.go)
}

// InetProtosw is struct inet_protosw: one row of inetsw.
type InetProtosw struct {
	Type     socket.SockType
	Protocol int
	Prot     *socket.Proto
	Ops      *socket.ProtoOps
}

// NetProtocol is struct net_protocol: the receive handlers ip_local_deliver
// dispatches to by IP protocol number. Handler owns the skb, whose data
// starts at the transport header with NetworkHeader set. ErrHandler gets
// ICMP errors about packets this protocol sent (tcp_v4_err, udp_err).
type NetProtocol struct {
	Handler    func(skb *netdev.SkBuff)
	ErrHandler func(skb *netdev.SkBuff, typ, code uint8, info uint32)
}

// Init is inet_init: the protocols' own state (tcp_init, udp_init, ...),
// then AF_INET, inet_protos and inetsw filled from their tables, the IPv4
// and ARP packet handlers, and the /proc/net tables.
func Init(sn *socket.Net, nd *netdev.Net, clock ktime.Clock) *Net {
	in := &Net{sn: sn, nd: nd, clock: clock}
	sn.Clock = clock // socket timeouts run on the stack's clock too
	in.netRL = socket.RatelimitState{Interval: socket.NetMsgCost, Burst: socket.NetMsgBurst}
	in.arpInit()
	in.ipIdent.init()
	for _, p := range in.protocolInits() {
		p(in)
	}
	sn.SockRegister(&socket.NetProtoFamily{Family: socket.AF_INET, Create: in.inetCreate})
	for protocol, p := range in.inetProtos() {
		in.inetAddProtocol(protocol, p)
	}
	for _, q := range in.inetswArray() {
		// proto_register: here each proto has one row.
		sn.ProtoRegister(q.Prot)
		in.inetRegisterProtosw(q)
	}
	nd.DevAddPack(netdev.ETH_P_IP, in.ipRcv)
	nd.DevAddPack(netdev.ETH_P_ARP, in.arpRcv)
	nd.DevAddOffload(netdev.ETH_P_IP, inetGsoSegment)
	in.procInit()
	return in
}

// protocolInits lists the transport protocols' init functions, in the order
// inet_init calls them (tcp_init, udp_init, ...). Each builds its proto
// (tcp_prot, udp_prot, ...) and its tables; inetswArray and inetProtos
// then say where they plug in.
func (in *Net) protocolInits() []func(*Net) {
	return []func(*Net){
		(*Net).tcpInit,
		(*Net).udpInit,
		(*Net).pingInit,
		(*Net).rawInit,
	}
}

// inetswArray is inetsw_array (net/ipv4/af_inet.c): which proto and which
// proto_ops a socket of each type and protocol gets. inet_create searches
// it in this order within a type, so a type's first row is its default
// (protocol 0). Raw's protocol IPPROTO_IP takes any protocol number. A new
// protocol is a new row. A method rather than a package var because each
// namespace has its own protos (their InUse counts, their tables).
func (in *Net) inetswArray() []InetProtosw {
	return []InetProtosw{
		{Type: socket.SOCK_STREAM, Protocol: IPPROTO_TCP, Prot: in.tcp.prot, Ops: &inetStreamOps},
		{Type: socket.SOCK_DGRAM, Protocol: IPPROTO_UDP, Prot: in.dgram.udp.prot, Ops: &inetDgramOps},
		{Type: socket.SOCK_DGRAM, Protocol: IPPROTO_ICMP, Prot: in.dgram.ping.prot, Ops: &inetSockrawOps},
		{Type: socket.SOCK_RAW, Protocol: socket.IPPROTO_IP, Prot: in.dgram.raw.prot, Ops: &inetSockrawOps},
	}
}

// inetProtos is inet_init's inet_add_protocol calls with the net_protocol
// structs af_inet.c defines beside inetsw_array (icmp_protocol,
// udp_protocol, tcp_protocol): the receive and ICMP-error handlers by IP
// protocol number. ICMP's error handler is how errors about ping's echo
// requests arrive (icmp_err -> ping_err).
func (in *Net) inetProtos() map[uint8]*NetProtocol {
	return map[uint8]*NetProtocol{
		IPPROTO_ICMP: {Handler: in.icmpRcv, ErrHandler: in.icmpErr},
		IPPROTO_UDP:  {Handler: in.udpRcv, ErrHandler: in.udpErr},
		IPPROTO_TCP:  {Handler: in.tcpV4Rcv, ErrHandler: in.tcpV4Err},
	}
}

// inetRegisterProtosw is inet_register_protosw.
func (in *Net) inetRegisterProtosw(p InetProtosw) {
	in.mu.Lock()
	in.inetsw[p.Type] = append(in.inetsw[p.Type], p)
	in.mu.Unlock()
}

// Protosw returns every inetsw row, by type then registration order (for
// net/protocols).
func (in *Net) Protosw() []InetProtosw {
	in.mu.RLock()
	defer in.mu.RUnlock()
	var out []InetProtosw
	for _, l := range in.inetsw {
		out = append(out, l...)
	}
	return out
}

// SetInetsw6 is how package inet6 shows its inetsw6 in net/protocols,
// after inetsw's rows: fn returns them in inet6_create's search order.
func (in *Net) SetInetsw6(fn func() []InetProtosw) {
	in.mu.Lock()
	in.inetsw6 = fn
	in.mu.Unlock()
}

// inetAddProtocol is inet_add_protocol.
func (in *Net) inetAddProtocol(protocol uint8, p *NetProtocol) {
	in.mu.Lock()
	in.protos[protocol] = p
	in.mu.Unlock()
}

func (in *Net) inetProtocol(protocol uint8) *NetProtocol {
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.protos[protocol]
}

// IP protocol numbers as uint8, for the IP layer.
const (
	IPPROTO_ICMP = 1
	IPPROTO_TCP  = 6
	IPPROTO_UDP  = 17
	IPPROTO_RAW  = 255
	IPPROTO_MAX  = 256
)

// inetCreate is inet_create (net/ipv4/af_inet.c): find the inetsw row for
// the type and protocol, install its ops, allocate the sock from its proto
// and run the proto's init.
func (in *Net) inetCreate(net *socket.Net, sock *socket.Socket, protocol int, kern bool) error {
	if protocol < 0 || protocol >= IPPROTO_MAX {
		return socket.EINVAL
	}
	sock.State = socket.SS_UNCONNECTED

	in.mu.RLock()
	answer, protocol, err := LookupProtosw(in.inetsw[sock.Type], protocol)
	in.mu.RUnlock()
	if err != nil {
		return err
	}

	sock.Ops = answer.Ops
	s := socket.SkAlloc(net, socket.AF_INET, answer.Prot)
	sk := s.SK()
	sk.Protocol = protocol
	isk := inetSk(s)
	isk.in = in
	isk.UcTTL = -1
	isk.Pmtudisc = socket.IP_PMTUDISC_WANT // ip_no_pmtu_disc is 0
	if sock.Type == socket.SOCK_RAW {
		isk.Num = uint16(protocol)
	}
	socket.SockInitData(sock, s)
	if answer.Prot.Init != nil {
		if err := answer.Prot.Init(s); err != nil {
			answer.Prot.InUse.Add(-1)
			sock.Sk = nil
			return err
		}
	}
	if isk.Num != 0 && answer.Prot.Hash != nil {
		sk.Mu.Lock()
		err := answer.Prot.Hash(s)
		sk.Mu.Unlock()
		if err != nil {
			return err
		}
	}
	in.trace(sock, "inet_create", answer.Prot.Name)
	return nil
}

// LookupProtosw is inet_create's search of one type's inetsw list (and
// inet6_create's of inetsw6, the same loop): the row for protocol, with
// protocol 0 meaning the type's first row and a row of protocol 0 (raw)
// taking any protocol. It returns the row and the protocol the socket
// gets. A type with no rows is ESOCKTNOSUPPORT; rows none of which match,
// EPROTONOSUPPORT.
func LookupProtosw(rows []InetProtosw, protocol int) (*InetProtosw, int, error) {
	err := error(socket.ESOCKTNOSUPPORT)
	for i := range rows {
		a := &rows[i]
		err = nil
		if protocol == a.Protocol {
			if protocol != socket.IPPROTO_IP {
				return a, protocol, nil
			}
		} else {
			if protocol == socket.IPPROTO_IP {
				return a, a.Protocol, nil
			}
			if a.Protocol == socket.IPPROTO_IP {
				return a, protocol, nil
			}
		}
		err = socket.EPROTONOSUPPORT
	}
	if err == nil {
		err = socket.EPROTONOSUPPORT
	}
	return nil, protocol, err
}

// inetRelease is inet_release: the proto's close does the protocol's part
// (FIN, RST, or lingering in TIME_WAIT without a socket).
func inetRelease(sock *socket.Socket) error {
	s := sock.Sk
	if s == nil {
		return nil
	}
	sk := s.SK()
	if in := inetSk(s).in; in.traceOn() {
		in.trace(sock, "sock_release -> inet_release -> "+sk.Prot.CloseName, "")
	}
	sk.Prot.Close(s)
	sock.Sk = nil
	return nil
}

// inetBind is inet_bind / __inet_bind.
func inetBind(ctx context.Context, sock *socket.Socket, addr netip.AddrPort) (err error) {
	s := sock.Sk
	sk := s.SK()
	isk := inetSk(s)
	if sk.Prot.Bind != nil { // raw sockets bind their own way
		err = sk.Prot.Bind(ctx, s, addr)
		if isk.in.traceOn() {
			isk.in.trace(sock, "__sys_bind -> inet_bind -> raw_bind", addr.String()+traceErr(err))
		}
		return err
	}
	if isk.in.traceOn() {
		defer func() { isk.in.trace(sock, "__sys_bind -> inet_bind", addr.String()+traceErr(err)) }()
	}
	if !addr.Addr().Is4() {
		return socket.EAFNOSUPPORT
	}
	a := addr.Addr()
	// inet_addr_valid_or_nonlocal: any, one of ours, a broadcast (the
	// subnet's too) or a multicast group.
	chkAddrRet := isk.in.inetAddrType(a)
	if !a.IsUnspecified() && chkAddrRet == RTN_UNICAST {
		return socket.EADDRNOTAVAIL
	}
	port := addr.Port()
	if port != 0 && port < sysctlIPUnprivilegedPortStart && !socket.CredFrom(ctx).Capable() {
		return socket.EACCES
	}
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if sk.State != TCP_CLOSE || isk.Num != 0 {
		return socket.EINVAL
	}
	isk.RcvSaddr = a
	isk.Saddr = a
	if !a.IsUnspecified() {
		sk.UserLocks |= socket.SOCK_BINDADDR_LOCK
	}
	if chkAddrRet == RTN_MULTICAST || chkAddrRet == RTN_BROADCAST {
		isk.Saddr = netip.IPv4Unspecified() // use the device's
	}
	if err := sk.Prot.GetPort(s, port); err != nil {
		isk.RcvSaddr, isk.Saddr = netip.Addr{}, netip.Addr{}
		sk.UserLocks &^= socket.SOCK_BINDADDR_LOCK
		return err
	}
	if !a.IsUnspecified() {
		isk.userlocks |= sockBindAddrLock
	}
	if port != 0 {
		isk.userlocks |= sockBindPortLock
	}
	isk.Sport = isk.Num
	isk.Daddr = netip.Addr{}
	isk.Dport = 0
	isk.rt = nil
	return nil
}

// inetStreamConnect is inet_stream_connect / __inet_stream_connect: start
// the protocol's connect and wait for it to finish, unless the file is
// nonblocking (EINPROGRESS). An AF_UNSPEC address (the zero AddrPort) is
// the protocol's disconnect, in any state: TCP aborts to CLOSE.
func inetStreamConnect(ctx context.Context, sock *socket.Socket, addr netip.AddrPort, flags int) error {
	s := sock.Sk
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if !addr.IsValid() {
		inetSk(s).in.trace(sock, "inet_stream_connect -> tcp_disconnect", "")
		err := sk.Prot.Disconnect(s, flags)
		sock.State = stateAfterDisconnect(err)
		return err
	}
	// The family's connect checks the address (tcp_v4_connect's
	// sin_family, tcp_v6_connect's); AF_INET's here, before the state.
	connectName := "tcp_v4_connect"
	if sk.Family == socket.AF_INET6 {
		connectName = "tcp_v6_connect"
	} else if !addr.Addr().Is4() {
		return socket.EAFNOSUPPORT
	}
	var err error // what a wait that runs out of SO_SNDTIMEO returns
	switch sock.State {
	case socket.SS_CONNECTED:
		return socket.EISCONN
	case socket.SS_CONNECTING:
		if sk.State == TCP_CLOSE {
			// A nonblocking connect that failed: report its error once.
			return inetConnectSockError(sock, flags)
		}
		if (1<<sk.State)&(TCPF_SYN_SENT|TCPF_SYN_RECV) == 0 {
			// The nonblocking connect has finished: this call reports
			// its success, as Linux's falls through to SS_CONNECTED.
			sock.State = socket.SS_CONNECTED
			return nil
		}
		// Still connecting: EALREADY, at once when nonblocking, else
		// after waiting SO_SNDTIMEO once more.
		err = socket.EALREADY
		if flags&socket.O_NONBLOCK != 0 {
			return err
		}
	case socket.SS_UNCONNECTED:
		if sk.State != TCP_CLOSE {
			return socket.EISCONN
		}
		inetSk(s).in.trace(sock, "inet_stream_connect -> "+connectName, addr.String())
		if err := sk.Prot.Connect(ctx, s, addr, flags); err != nil {
			return err
		}
		sock.State = socket.SS_CONNECTING
		err = socket.EINPROGRESS
		if flags&socket.O_NONBLOCK != 0 {
			return err
		}
	default:
		return socket.EINVAL
	}

	// inet_wait_for_connect
	if werr := sk.WaitEvent(ctx, false, sk.SndDeadline(), func() bool {
		return (1<<sk.State)&(TCPF_SYN_SENT|TCPF_SYN_RECV) == 0
	}); werr != nil {
		if werr == socket.EAGAIN {
			return err // timed out by SO_SNDTIMEO: EINPROGRESS, or EALREADY for a second connect
		}
		return werr
	}
	if sk.State == TCP_CLOSE {
		return inetConnectSockError(sock, flags)
	}
	sock.State = socket.SS_CONNECTED
	return nil
}

// inetConnectSockError is __inet_stream_connect's sock_error: a connect
// that ended in CLOSE (RST, timeout, ICMP error) reports its error once and
// disconnects the sock, which forgets the peer and the source address it
// chose, so getsockname shows 0.0.0.0 and the port. Mu held.
func inetConnectSockError(sock *socket.Socket, flags int) error {
	sk := sock.Sk.SK()
	err := error(socket.ECONNABORTED)
	if e := sk.SockError(); e != 0 {
		err = e
	}
	sock.State = socket.SS_UNCONNECTED
	if sk.Prot.Disconnect(sock.Sk, flags) != nil {
		sock.State = socket.SS_DISCONNECTING
	}
	return err
}

// inetAccept is inet_accept: take an established sock from the listener's
// accept queue and graft it onto newsock.
func inetAccept(ctx context.Context, sock, newsock *socket.Socket, flags int) error {
	s := sock.Sk
	sk := s.SK()
	if sk.Prot.Accept == nil {
		return socket.EOPNOTSUPP
	}
	s2, err := sk.Prot.Accept(ctx, s, flags)
	if err != nil {
		return err
	}
	sk2 := s2.SK()
	sk2.Mu.Lock()
	// sock_graft
	sk2.Wq = newsock.Wq
	sk2.Socket = newsock
	newsock.Sk = s2
	newsock.State = socket.SS_CONNECTED
	sk2.Mu.Unlock()
	inetSk(s2).in.trace(newsock, "inet_accept", "")
	return nil
}

// inetListen is inet_listen.
func inetListen(sock *socket.Socket, backlog int) (err error) {
	s := sock.Sk
	sk := s.SK()
	started := false
	if in := inetSk(s).in; in.traceOn() {
		defer func() {
			path := "__sys_listen -> inet_listen"
			if started {
				path += " -> inet_csk_listen_start"
			}
			in.trace(sock, path, fmt.Sprintf("backlog=%d%s", backlog, traceErr(err)))
		}()
	}
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if sock.State != socket.SS_UNCONNECTED || sock.Type != socket.SOCK_STREAM {
		return socket.EINVAL
	}
	if (1<<sk.State)&(TCPF_CLOSE|TCPF_LISTEN) == 0 {
		return socket.EINVAL
	}
	if sk.State != TCP_LISTEN {
		started = true
		if err := inetCskListenStart(s, backlog); err != nil {
			return err
		}
	}
	// A second listen only changes the backlog, as in Linux.
	sk.MaxAckBacklog = backlog
	tcpSk(s).maxBacklog.Store(int32(backlog))
	return nil
}

// inetGetname is inet_getname.
func inetGetname(sock *socket.Socket, peer bool) (netip.AddrPort, error) {
	s := sock.Sk
	sk := s.SK()
	isk := inetSk(s)
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if peer {
		if isk.Dport == 0 || ((1<<sk.State)&(TCPF_CLOSE|TCPF_SYN_SENT) != 0 && sock.Type == socket.SOCK_STREAM) {
			return netip.AddrPort{}, socket.ENOTCONN
		}
		return netip.AddrPortFrom(isk.Daddr, isk.Dport), nil
	}
	return netip.AddrPortFrom(isk.localAddr(), isk.Sport), nil
}

// inetSendmsg is inet_sendmsg.
func inetSendmsg(ctx context.Context, sock *socket.Socket, msg *socket.Msghdr, b []byte) (int, error) {
	s := sock.Sk
	// Guarded here, not only inside traceLen: building the path string
	// allocates, and a stack nobody traces must not pay for it.
	if in := inetSk(s).in; in.traceOn() {
		if msg.Sendto {
			in.trace(sock, "__sys_sendto -> inet_sendmsg -> "+s.SK().Prot.SendmsgName, fmt.Sprintf("to=%v len=%d", msg.Name, len(b)))
		} else {
			in.traceLen(sock, "sock_write_iter -> inet_sendmsg -> "+s.SK().Prot.SendmsgName, len(b))
		}
	}
	if err := inetSendPrepare(s); err != nil {
		return 0, err
	}
	return s.SK().Prot.Sendmsg(ctx, s, msg, b)
}

// inetSendPrepare is inet_send_prepare: a datagram socket without a local
// port gets one before anything else is checked, so even a send that
// fails (EDESTADDRREQ, EMSGSIZE) leaves it bound, as in Linux.
func inetSendPrepare(s socket.Sk) error {
	sk := s.SK()
	if sk.Prot.NoAutobind {
		return nil
	}
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	return inetAutobind(s)
}

// inetAutobind is inet_autobind: take an ephemeral port if the socket has
// none. EAGAIN when none is free. Mu held.
func inetAutobind(s socket.Sk) error {
	isk := inetSk(s)
	if isk.Num == 0 {
		if err := isk.Prot.GetPort(s, 0); err != nil {
			return socket.EAGAIN
		}
		isk.Sport = isk.Num
	}
	return nil
}

// inetRecvmsg is inet_recvmsg.
func inetRecvmsg(ctx context.Context, sock *socket.Socket, msg *socket.Msghdr, b []byte, flags int) (int, error) {
	s := sock.Sk
	n, err := s.SK().Prot.Recvmsg(ctx, s, msg, b, flags)
	if in := inetSk(s).in; err == nil && in.traceOn() {
		if msg.Recvfrom {
			in.trace(sock, "__sys_recvfrom -> inet_recvmsg -> "+s.SK().Prot.RecvmsgName, fmt.Sprintf("from=%v len=%d", msg.Name, n))
		} else {
			in.traceLen(sock, "sock_read_iter -> inet_recvmsg -> "+s.SK().Prot.RecvmsgName, n)
		}
	}
	return n, err
}

// inetShutdown is inet_shutdown.
func inetShutdown(sock *socket.Socket, how int) (err error) {
	how++ // SHUT_RD..SHUT_RDWR become RCV_SHUTDOWN..SHUTDOWN_MASK
	if how&^socket.SHUTDOWN_MASK != 0 || how == 0 {
		return socket.EINVAL
	}
	s := sock.Sk
	sk := s.SK()
	var called string // the proto's function the shutdown ran, for the trace
	if in := inetSk(s).in; in.traceOn() {
		defer func() {
			path := "__sys_shutdown -> inet_shutdown"
			if called != "" {
				path += " -> " + called
			}
			in.trace(sock, path, shutdownHow[how-1]+traceErr(err))
		}()
	}
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if sock.State == socket.SS_CONNECTING {
		if (1<<sk.State)&(TCPF_SYN_SENT|TCPF_SYN_RECV|TCPF_CLOSE) != 0 {
			sock.State = socket.SS_DISCONNECTING
		} else {
			sock.State = socket.SS_CONNECTED
		}
	}
	switch sk.State {
	case TCP_LISTEN:
		if how&socket.RCV_SHUTDOWN == 0 {
			break
		}
		called = sk.Prot.DisconnectName
		err = sk.Prot.Disconnect(s, socket.O_NONBLOCK)
		sock.State = stateAfterDisconnect(err)
	case TCP_SYN_SENT:
		called = sk.Prot.DisconnectName
		err = sk.Prot.Disconnect(s, socket.O_NONBLOCK)
		sock.State = stateAfterDisconnect(err)
	case TCP_CLOSE:
		// Still mark the shutdown so pollers see a hang-up, as Linux.
		err = socket.ENOTCONN
		fallthrough
	default:
		sk.Shutdown |= how
		if sk.Prot.Shutdown != nil {
			called = sk.Prot.ShutdownName
			sk.Prot.Shutdown(s, how)
		}
	}
	sk.StateChange(sk)
	return err
}

func stateAfterDisconnect(err error) socket.SocketState {
	if err != nil {
		return socket.SS_DISCONNECTING
	}
	return socket.SS_UNCONNECTED
}

// inetSetsockopt is sock_common_setsockopt: IP-level options are ip's, the
// rest the proto's.
func inetSetsockopt(sock *socket.Socket, level, optname, val int) error {
	s := sock.Sk
	if level == socket.SOL_IP {
		return ipSetsockopt(s, optname, val)
	}
	if s.SK().Prot.Setsockopt == nil {
		return socket.ENOPROTOOPT
	}
	return s.SK().Prot.Setsockopt(s, level, optname, val)
}

// inetGetsockopt is sock_common_getsockopt.
func inetGetsockopt(sock *socket.Socket, level, optname int) (int, error) {
	s := sock.Sk
	if level == socket.SOL_IP {
		return ipGetsockopt(s, optname)
	}
	if s.SK().Prot.Getsockopt == nil {
		return 0, socket.ENOPROTOOPT
	}
	return s.SK().Prot.Getsockopt(s, level, optname)
}

// The proto_ops tables (af_inet.c): the socket calls of each type. Every
// slot is set; an unsupported one holds a sock_no_* function.

// inetStreamOps is inet_stream_ops.
var inetStreamOps = socket.ProtoOps{
	Name:       "inet_stream_ops",
	Family:     socket.AF_INET,
	Release:    inetRelease,
	Bind:       inetBind,
	Connect:    inetStreamConnect,
	Accept:     inetAccept,
	Getname:    inetGetname,
	Poll:       tcpPoll,
	Listen:     inetListen,
	Shutdown:   inetShutdown,
	Setsockopt: inetSetsockopt,
	Getsockopt: inetGetsockopt,
	Sendmsg:    inetSendmsg,
	Recvmsg:    inetRecvmsg,
}

// inetDgramOps is inet_dgram_ops: UDP's socket-level calls.
var inetDgramOps = socket.ProtoOps{
	Name:       "inet_dgram_ops",
	Family:     socket.AF_INET,
	Release:    inetRelease,
	Bind:       inetBind,
	Connect:    inetDgramConnect,
	Accept:     socket.SockNoAccept,
	Getname:    inetGetname,
	Poll:       datagramPoll,
	Listen:     socket.SockNoListen,
	Shutdown:   inetShutdown,
	Setsockopt: inetSetsockopt,
	Getsockopt: inetGetsockopt,
	Sendmsg:    inetSendmsg,
	Recvmsg:    inetRecvmsg,
}

// inetSockrawOps is inet_sockraw_ops: raw and ping sockets' calls. Linux's
// differs from inet_dgram_ops only in poll (datagram_poll where UDP has
// udp_poll); here both poll with datagramPoll.
var inetSockrawOps = socket.ProtoOps{
	Name:       "inet_sockraw_ops",
	Family:     socket.AF_INET,
	Release:    inetRelease,
	Bind:       inetBind,
	Connect:    inetDgramConnect,
	Accept:     socket.SockNoAccept,
	Getname:    inetGetname,
	Poll:       datagramPoll,
	Listen:     socket.SockNoListen,
	Shutdown:   inetShutdown,
	Setsockopt: inetSetsockopt,
	Getsockopt: inetGetsockopt,
	Sendmsg:    inetSendmsg,
	Recvmsg:    inetRecvmsg,
}
