package inet

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// This file is what UDP, ping and raw sockets share: inet_dgram_ops with
// inet_dgram_connect and ip4_datagram_connect (net/ipv4/af_inet.c,
// net/ipv4/datagram.c), datagram_poll and the receive-queue half of
// __skb_recv_datagram (net/core/datagram.c), and the port/ident/protocol
// hash table each of the three keeps (udp_table, ping_table, raw_v4_hashinfo).

// dgramNet is the datagram protocols' per-namespace state.
type dgramNet struct {
	udp   dgTable
	ping  dgTable
	raw   dgTable
	raw6  dgTable // raw_v6_hashinfo (raw_ipv6.go)
	frags ipFrags // ip_fragment.go
}

// dgKey is what a lookup matches a datagram sock on: its local number (UDP
// port, ping ident, raw protocol), bound address, and connected peer. It is
// a copy of the sock's fields kept under the table's lock, so that the
// receive path can search without taking every sock's Mu.
type dgKey struct {
	num   uint16
	bound bindAddr   // the bound address, family and sk_ipv6only (inet_rcv_saddr.go)
	daddr netip.Addr // invalid: not connected
	dport uint16
	reuse bool
}

// dgEntry is one sock's place in a dgTable; each datagram sock embeds one.
type dgEntry struct {
	s      socket.Sk
	t      *dgTable
	key    dgKey // protected by t.mu
	hashed bool  // protected by t.mu
}

// dgSocker is satisfied by the datagram socks through their embedded
// dgEntry.
type dgSocker interface{ dgEnt() *dgEntry }

func (e *dgEntry) dgEnt() *dgEntry { return e }

// dgHashSize is the number of slots: UDP_HTABLE_SIZE_MIN, which is also
// what /proc/net/udp's "sl" column counts in.
const dgHashSize = 128

// dgTable is a hash of datagram socks by local number. Its lock nests
// inside a sock's Mu, never around it.
type dgTable struct {
	// noPorts: the peer's port plays no part in matching (ping, raw),
	// since their packets have none.
	noPorts bool

	// prot is the proto whose socks the table holds (udp_prot,
	// ping_prot, raw_prot); set by the protocol's init.
	prot *socket.Proto

	mu    sync.RWMutex
	slots [dgHashSize][]*dgEntry // protected by mu
	rover uint16                 // protected by mu; next ident to try (ping)
}

func dgSlot(num uint16) int { return int(num) & (dgHashSize - 1) }

// keyOf snapshots the lookup key of a sock. Mu held.
func keyOf(isk *InetSock) dgKey {
	k := dgKey{num: isk.Num, bound: isk.bindAddr(), reuse: isk.Reuse}
	if isk.State == TCP_ESTABLISHED {
		k.daddr, k.dport = isk.Daddr, isk.Dport
	}
	return k
}

// inuseLocked is udp_lib_lport_inuse: another sock holds num on an
// overlapping address (inet_rcv_saddr_equal, across the families unless
// IPV6_V6ONLY), and the two do not both allow sharing (SO_REUSEADDR).
// t.mu held.
func (t *dgTable) inuseLocked(self *dgEntry, num uint16, bound bindAddr, reuse bool) bool {
	for _, e := range t.slots[dgSlot(num)] {
		if e == self || e.key.num != num {
			continue
		}
		if reuse && e.key.reuse {
			continue
		}
		if !inetRcvSaddrEqual(bound, e.key.bound, true) {
			continue
		}
		return true
	}
	return false
}

func anyAddr(a netip.Addr) bool { return !a.IsValid() || a.IsUnspecified() }

// getPort is udp_lib_get_port (and ping_get_port): take num, or with num
// 0 a free one from [low, high] starting at a random point (RFC 6056's
// simple random search), and hash the sock. Mu held; EADDRINUSE when taken
// or when the range is exhausted.
func (t *dgTable) getPort(s socket.Sk, num uint16, low, high int) error {
	isk := inetSk(s)
	e := s.(dgSocker).dgEnt()
	t.mu.Lock()
	defer t.mu.Unlock()
	if num == 0 {
		n := high - low + 1
		start := rand.IntN(n)
		found := false
		for i := range n {
			p := uint16(low + (start+i)%n)
			if !t.inuseLocked(e, p, isk.bindAddr(), isk.Reuse) {
				num, found = p, true
				break
			}
		}
		if !found {
			return socket.EADDRINUSE
		}
	} else if t.inuseLocked(e, num, isk.bindAddr(), isk.Reuse) {
		return socket.EADDRINUSE
	}
	isk.Num = num
	t.hashLocked(e, s)
	return nil
}

// hash adds a sock whose Num is already set (raw sockets at create). Mu
// held.
func (t *dgTable) hash(s socket.Sk) {
	t.mu.Lock()
	t.hashLocked(s.(dgSocker).dgEnt(), s)
	t.mu.Unlock()
}

func (t *dgTable) hashLocked(e *dgEntry, s socket.Sk) {
	e.s, e.t = s, t
	e.key = keyOf(inetSk(s))
	if t.noPorts {
		e.key.dport = 0
	}
	if e.hashed {
		t.unhashLocked(e)
	}
	slot := &t.slots[dgSlot(e.key.num)]
	*slot = append(*slot, e)
	e.hashed = true
}

// rehash refreshes the sock's key after connect or bind changed it
// (udp_lib_rehash). Mu held.
func rehash(s socket.Sk) {
	e := s.(dgSocker).dgEnt()
	t := e.t
	if t == nil {
		return
	}
	t.mu.Lock()
	if e.hashed {
		t.unhashLocked(e)
		t.hashLocked(e, s)
	}
	t.mu.Unlock()
}

// unhash is udp_lib_unhash.
func unhash(s socket.Sk) {
	e := s.(dgSocker).dgEnt()
	if e.t == nil {
		return
	}
	e.t.mu.Lock()
	if e.hashed {
		e.t.unhashLocked(e)
	}
	e.t.mu.Unlock()
}

func (t *dgTable) unhashLocked(e *dgEntry) {
	slot := &t.slots[dgSlot(e.key.num)]
	for i, x := range *slot {
		if x == e {
			*slot = append((*slot)[:i], (*slot)[i+1:]...)
			break
		}
	}
	e.hashed = false
}

// score is compute_score (net/ipv4/udp.c, net/ipv6/udp.c): -1 when the
// sock cannot take a packet from saddr:sport to daddr:num, else higher for
// a more specific match, so a connected sock beats a bound one beats a
// wildcard. dual lets an AF_INET6 sock that is not IPV6_V6ONLY take IPv4
// (UDP); ping and raw socks only ever take their own family's packets
// (ping_lookup checks sk_family; raw keeps a table per family).
func (k *dgKey) score(num uint16, saddr netip.Addr, sport uint16, daddr netip.Addr, dual bool) int {
	if k.num != num || !dual && k.bound.v6 != daddr.Is6() {
		return -1
	}
	score := k.bound.lookupScore(daddr)
	if score < 0 {
		return -1
	}
	if k.daddr.IsValid() { // a v4-mapped connect holds an IPv4 peer, which no IPv6 saddr equals
		if k.daddr != saddr {
			return -1
		}
		score += 4
	}
	if k.dport != 0 {
		if k.dport != sport {
			return -1
		}
		score += 4
	}
	return score
}

// lookup is __udp4_lib_lookup: the best-scoring sock, first hashed wins a
// tie.
func (t *dgTable) lookup(num uint16, saddr netip.Addr, sport uint16, daddr netip.Addr) socket.Sk {
	if t.noPorts {
		sport = 0
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	var best socket.Sk
	bestScore := -1
	for _, e := range t.slots[dgSlot(num)] {
		if sc := e.key.score(num, saddr, sport, daddr, !t.noPorts); sc > bestScore {
			best, bestScore = e.s, sc
		}
	}
	return best
}

// lookupAll appends every sock that would take the packet (broadcast
// delivery, raw sockets).
func (t *dgTable) lookupAll(out []socket.Sk, num uint16, saddr netip.Addr, sport uint16, daddr netip.Addr) []socket.Sk {
	if t.noPorts {
		sport = 0
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.slots[dgSlot(num)] {
		if e.key.score(num, saddr, sport, daddr, !t.noPorts) >= 0 {
			out = append(out, e.s)
		}
	}
	return out
}

// each calls fn for every hashed sock with its slot, in slot order (for
// the /proc/net tables). fn must not take the table's lock.
func (t *dgTable) each(fn func(slot int, s socket.Sk)) {
	t.mu.RLock()
	var all []*dgEntry
	var slots []int
	for i := range t.slots {
		for _, e := range t.slots[i] {
			all = append(all, e)
			slots = append(slots, i)
		}
	}
	t.mu.RUnlock()
	for i, e := range all {
		fn(slots[i], e.s)
	}
}

// dgramQueueRcvSkb is __sock_queue_rcv_skb: charge skb to the receive
// buffer and queue it, or refuse it when the buffer is full. Mu held.
func dgramQueueRcvSkb(sk *socket.Sock, skb *netdev.SkBuff) bool {
	if sk.RmemAlloc > sk.RcvBuf || sk.Shutdown&socket.RCV_SHUTDOWN != 0 {
		return false
	}
	sk.RmemAlloc += skb.Truesize()
	sk.ReceiveQueue.QueueTail(skb)
	sk.DataReady(sk)
	return true
}

// dgramPurge drops the receive queue (sk_common_release). Mu held.
func dgramPurge(sk *socket.Sock) {
	for skb := sk.ReceiveQueue.Dequeue(); skb != nil; skb = sk.ReceiveQueue.Dequeue() {
		sk.RmemAlloc -= skb.Truesize()
		skb.Free()
	}
}

// dgramRecvmsg is the datagram protocols' recvmsg: __skb_recv_datagram
// (wait for a datagram, an error, or shutdown) and the copy out. view
// returns the bytes a read gets from a queued skb and its sender. A read
// shorter than the datagram gets its head and MSG_TRUNC; the rest is
// dropped with it. It returns the bytes copied, and whether a datagram was
// read (for the protocol's counters).
func dgramRecvmsg(ctx context.Context, s socket.Sk, msg *socket.Msghdr, b []byte, flags int,
	view func(skb *netdev.SkBuff) ([]byte, netip.AddrPort)) (int, bool, error) {
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if e := sk.SockError(); e != 0 {
		return 0, false, e
	}
	err := sk.WaitEvent(ctx, flags&socket.MSG_DONTWAIT != 0, sk.RcvDeadline(), func() bool {
		return !sk.ReceiveQueue.Empty() || sk.Err != 0 || sk.Shutdown&socket.RCV_SHUTDOWN != 0 || sk.Socket == nil
	})
	if err != nil {
		return 0, false, err
	}
	skb := sk.ReceiveQueue.Peek()
	if skb == nil {
		if e := sk.SockError(); e != 0 {
			return 0, false, e
		}
		return 0, false, nil // shut down for reading: end of file
	}
	data, from := view(skb)
	n := copy(b, data)
	if msg != nil {
		msg.Name = from
		if n < len(data) {
			msg.Flags |= socket.MSG_TRUNC
		}
	}
	if flags&socket.MSG_PEEK == 0 {
		sk.ReceiveQueue.Unlink(skb)
		sk.RmemAlloc -= skb.Truesize()
		skb.Free()
	}
	if flags&socket.MSG_TRUNC != 0 {
		return len(data), true, nil // the datagram's real length, as recv(MSG_TRUNC)
	}
	return n, true, nil
}

// datagramPoll is datagram_poll (udp_poll and the raw and ping sockets'
// poll): readable with a datagram queued, always writable (a datagram send
// never waits for buffer space here), error with sk_err pending.
func datagramPoll(sock *socket.Socket) uint32 {
	s := sock.Sk
	if s == nil {
		return socket.POLLERR | socket.POLLHUP
	}
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	var mask uint32
	if sk.Err != 0 {
		mask |= socket.POLLERR
	}
	if sk.Shutdown&socket.RCV_SHUTDOWN != 0 {
		mask |= socket.POLLRDHUP | socket.POLLIN | socket.POLLRDNORM
	}
	if sk.Shutdown == socket.SHUTDOWN_MASK {
		mask |= socket.POLLHUP
	}
	if !sk.ReceiveQueue.Empty() {
		mask |= socket.POLLIN | socket.POLLRDNORM
	}
	mask |= socket.POLLOUT | socket.POLLWRNORM
	return mask
}

// inetDgramConnect is inet_dgram_connect: bind a local port first if the
// socket has none (inet_autobind), then the proto's connect
// (ip4_datagram_connect). The socket's state stays SS_UNCONNECTED, as in
// Linux; sk_state becomes ESTABLISHED. An AF_UNSPEC address (the zero
// AddrPort) is the proto's disconnect instead.
func inetDgramConnect(ctx context.Context, sock *socket.Socket, addr netip.AddrPort, flags int) error {
	s := sock.Sk
	sk := s.SK()
	isk := inetSk(s)
	if !addr.IsValid() {
		sk.Mu.Lock()
		defer sk.Mu.Unlock()
		isk.in.trace(sock, "inet_dgram_connect -> udp_disconnect", "")
		return sk.Prot.Disconnect(s, flags)
	}
	if !addr.Addr().Is4() {
		return socket.EAFNOSUPPORT
	}
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	if err := inetAutobind(s); err != nil {
		return err
	}
	isk.in.trace(sock, "inet_dgram_connect -> ip4_datagram_connect", addr.String())
	return sk.Prot.Connect(ctx, s, addr, flags)
}

// ip4DatagramConnect is ip4_datagram_connect / __ip4_datagram_connect:
// route to the peer (the route lookup decides: no route is ENETUNREACH, a
// broadcast route needs SO_BROADCAST, else EACCES), take the route's
// source address if the socket is unbound, and remember the peer as the
// route has it (0.0.0.0 is this host). Mu held.
func ip4DatagramConnect(ctx context.Context, s socket.Sk, addr netip.AddrPort, flags int) error {
	isk := inetSk(s)
	in := isk.in
	isk.rt = nil
	rt, fl4, err := in.ipRouteConnect(isk, addr.Addr())
	if err != nil {
		return err
	}
	if rt.Flags&RTCF_BROADCAST != 0 && !isk.Broadcast {
		return socket.EACCES
	}
	isk.skRouteSet(rt, fl4)
	isk.Daddr = fl4.daddr
	isk.Dport = addr.Port()
	isk.State = TCP_ESTABLISHED
	isk.ID = uint16(rand.Uint32())
	rehash(s)
	return nil
}

// dgramDest is the destination of a datagram send: msg_name when given
// (sendto), else the connected peer; EDESTADDRREQ with neither. Mu held.
func dgramDest(isk *InetSock, msg *socket.Msghdr) (netip.AddrPort, bool, error) {
	if msg != nil && msg.Name.IsValid() {
		if !msg.Name.Addr().Is4() {
			return netip.AddrPort{}, false, socket.EAFNOSUPPORT
		}
		return msg.Name, false, nil
	}
	if isk.State != TCP_ESTABLISHED {
		return netip.AddrPort{}, false, socket.EDESTADDRREQ
	}
	return netip.AddrPortFrom(isk.Daddr, isk.Dport), true, nil
}

// dgramRoute finds the route and the flow (source address, and the
// destination as routed: 0.0.0.0 is this host) for a datagram: the
// connected socket's cached route, or a lookup, which refuses a broadcast
// route without SO_BROADCAST (EACCES), as udp_sendmsg, ping_v4_sendmsg and
// raw_sendmsg do. Mu held.
func dgramRoute(isk *InetSock, daddr netip.Addr, connected bool) (*Rtable, flowi4, error) {
	fl4 := flowi4{daddr: daddr, saddr: isk.Saddr}
	if rt := isk.rtable(); connected && rt != nil {
		return rt, fl4, nil
	}
	rt, err := isk.in.ipRouteOutputKey(&fl4)
	if err != nil {
		return nil, fl4, err
	}
	if rt.Flags&RTCF_BROADCAST != 0 && !isk.Broadcast {
		return nil, fl4, socket.EACCES
	}
	if connected {
		isk.skRouteSet(rt, fl4)
	}
	return rt, fl4, nil
}

// dgramDiag reports a datagram sock for the status file. Mu held.
func dgramDiag(s socket.Sk, emit func(key, value string)) {
	sk := s.SK()
	isk := inetSk(s)
	emit("sk_state", tcpStateName(sk.State))
	emit("local", isk.localAddrPort().String())
	remote := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	if sk.State == TCP_ESTABLISHED {
		remote = netip.AddrPortFrom(isk.familyAddr(isk.Daddr), isk.Dport)
	}
	emit("remote", remote.String())
	emit("rx_queue", strconv.Itoa(sk.RmemAlloc))
	emit("tx_queue", "0")
	emit("error", socket.ErrnoName(sk.Err))
}

// dgramInit is the datagram protos' init: a new sock is closed
// (sock_init_data's sk_state = TCP_CLOSE), which is what bind checks.
func dgramInit(s socket.Sk) error {
	s.SK().State = TCP_CLOSE
	return nil
}

// dgramClose is udp_lib_close / sk_common_release, for UDP, ping and raw:
// nothing to say goodbye to, so the sock leaves its table and drops its
// queue at once.
func dgramClose(s socket.Sk) {
	sk := s.SK()
	sk.Mu.Lock()
	unhash(s)
	dgramPurge(sk)
	sk.State = TCP_CLOSE
	inetSk(s).rt = nil
	sk.SockOrphan()
	sk.Mu.Unlock()
	sk.Prot.InUse.Add(-1)
}

// udpDisconnect is __udp_disconnect (UDP's, ping's and raw's disconnect):
// forget the peer. What the user bound stays; what connect chose goes, as
// Linux 6.18 measures: a source address connect picked is reset
// (inet_reset_saddr), and a port autobind picked is given back (the proto's
// unhash), so `local` reads 0.0.0.0:0 again and the next send autobinds
// anew. A raw sock is unhashed too and hears nothing more, as in Linux.
// Mu held.
func udpDisconnect(s socket.Sk, flags int) error {
	isk := inetSk(s)
	isk.State = TCP_CLOSE
	isk.Daddr, isk.Dport = netip.Addr{}, 0
	if isk.userlocks&sockBindAddrLock == 0 {
		isk.Saddr, isk.RcvSaddr = netip.Addr{}, netip.Addr{}
		rehash(s)
	}
	if isk.userlocks&sockBindPortLock == 0 {
		isk.Prot.Unhash(s)
		isk.Sport = 0
	}
	isk.rt = nil
	return nil
}

// udpLibUnhash is udp_lib_unhash (and ping_unhash): out of the table, and
// the port is free again (inet_num = 0).
func udpLibUnhash(s socket.Sk) {
	unhash(s)
	inetSk(s).Num = 0
}

// dgramIcmpErr is the shared body of __udp4_lib_err, ping_err and raw_err:
// the errno an ICMP error means, recorded as sk_err only when it is a hard
// error and the socket is connected, as Linux without IP_RECVERR does (an
// unconnected socket cannot tell which of its sends failed). Mu held.
//
// "Fragmentation needed" first teaches the route the path MTU to the
// quoted packet's destination (ipv4_sk_update_pmtu), then is EMSGSIZE:
// hard for UDP and raw unless IP_PMTUDISC_DONT (for UDP with DONT it is
// no error at all), hard for ping only with IP_PMTUDISC_DO, as
// __udp4_lib_err, raw_err and ping_err each decide.
func (in *Net) dgramIcmpErr(isk *InetSock, inner header.Iphdr, typ, code uint8, info uint32) {
	sk := &isk.Sock
	var err socket.Errno
	hard := false
	switch typ {
	case header.ICMP_SOURCE_QUENCH:
		return
	case header.ICMP_DEST_UNREACH:
		if code == header.ICMP_FRAG_NEEDED {
			in.ipv4SkUpdatePmtu(isk, inner.Dst(), inner.Src(), int(info))
			err = socket.EMSGSIZE
			switch {
			case isk.Type == socket.SOCK_RAW:
				hard = isk.Pmtudisc != socket.IP_PMTUDISC_DONT
			case isk.Protocol == IPPROTO_ICMP:
				hard = isk.Pmtudisc == socket.IP_PMTUDISC_DO
			case isk.Pmtudisc == socket.IP_PMTUDISC_DONT:
				return
			default:
				hard = true
			}
			break
		}
		err, hard = icmpErrno(typ, code)
	case header.ICMP_PARAMETERPROB:
		err, hard = socket.EPROTO, true
	default:
		err = socket.EHOSTUNREACH
	}
	if !hard || sk.State != TCP_ESTABLISHED {
		return
	}
	sk.Err = err
	sk.ErrorReport(sk)
}

// dgramSendPrepare is the head the datagram sendmsgs share (udp_sendmsg,
// ping_v4_sendmsg, raw_sendmsg), with Mu held: no sending after
// shutdown(SHUT_WR), the destination (msg_name or the connected peer),
// and the route, source address and routed destination. A pending error
// (an ICMP port unreachable on a connected socket) is the caller's to
// report once, after ipAppendCheck: Linux's sock_alloc_send_skb reports it
// only once ip_append_data has accepted the datagram's size. The local port was taken before, by
// inet_send_prepare (a raw socket's number is its protocol). needPort
// refuses a zero destination port (UDP).
func dgramSendPrepare(s socket.Sk, msg *socket.Msghdr, needPort bool) (dst netip.AddrPort, rt *Rtable, saddr netip.Addr, err error) {
	isk := inetSk(s)
	sk := &isk.Sock
	if sk.Shutdown&socket.SEND_SHUTDOWN != 0 {
		return dst, nil, saddr, socket.EPIPE
	}
	dst, connected, err := dgramDest(isk, msg)
	if err != nil {
		return dst, nil, saddr, err
	}
	if needPort && dst.Port() == 0 {
		return dst, nil, saddr, socket.EINVAL
	}
	rt, fl4, err := dgramRoute(isk, dst.Addr(), connected)
	return netip.AddrPortFrom(fl4.daddr, dst.Port()), rt, fl4.saddr, err
}
