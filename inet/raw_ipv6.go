package inet

import (
	"context"
	"net/netip"

	"sockfs/netdev"
	"sockfs/socket"
)

// What net/ipv6/raw.c shares with net/ipv4/raw.c: struct raw_sock and the
// datagram core under it. Linux keeps AF_INET6 raw sockets in a table of
// their own (raw_v6_hashinfo), keyed as raw_v4_hashinfo by protocol.

// RawV6Ops is what rawv6_prot has of its own: its sendmsg, recvmsg,
// connect and bind (rawv6_bind, which inet6_bind defers to).
type RawV6Ops struct {
	UDPv6Ops
	Bind func(ctx context.Context, s socket.Sk, addr netip.AddrPort) error
}

// RawV6Prot builds rawv6_prot over the datagram core: a raw sock's number
// is its protocol, hashed at create (raw_hash_sk) in raw_v6_hashinfo.
func (in *Net) RawV6Prot(ops RawV6Ops) *socket.Proto {
	t := &in.dgram.raw6
	t.noPorts = true
	t.prot = &socket.Proto{
		Name:           "RAWv6",
		SendmsgName:    "rawv6_sendmsg",
		RecvmsgName:    "rawv6_recvmsg",
		CloseName:      "dgram_close",
		DisconnectName: "udp_disconnect",
		Alloc:          func() socket.Sk { return new(rawSock) },
		Init:           dgramInit,
		Close:          dgramClose,
		Connect:        ops.Connect,
		Disconnect:     udpDisconnect,
		Sendmsg:        ops.Sendmsg,
		Recvmsg:        ops.Recvmsg,
		Bind:           ops.Bind,
		Hash:           func(s socket.Sk) error { t.hash(s); return nil },
		Unhash:         unhash,
		Diag:           dgramDiag,
	}
	return t.prot
}

// RawV6Lookup is raw_v6_match's walk over raw_v6_hashinfo: every AF_INET6
// raw sock of protocol nexthdr that a packet from saddr to daddr fits
// (bound address, connected peer), appended to out.
func (in *Net) RawV6Lookup(out []socket.Sk, nexthdr uint8, saddr, daddr netip.Addr) []socket.Sk {
	return in.dgram.raw6.lookupAll(out, uint16(nexthdr), saddr, 0, daddr)
}

// RawV6Each calls fn for every AF_INET6 raw sock with its slot and drop
// count, in slot order (raw_seq_start's walk, for net/raw6). fn runs
// without the table's lock.
func (in *Net) RawV6Each(fn func(slot int, isk *InetSock, drops int)) {
	in.dgram.raw6.each(func(slot int, s socket.Sk) {
		rs := s.(*rawSock)
		rs.Mu.Lock()
		drops := rs.drops
		rs.Mu.Unlock()
		fn(slot, &rs.InetSock, drops)
	})
}

// RawV6QueueRcvSkb is rawv6_rcv's queueing (sock_queue_rcv_skb): skb,
// the sock's own copy, onto its receive queue, or counted in sk_drops and
// freed when the buffer is full.
func RawV6QueueRcvSkb(s socket.Sk, skb *netdev.SkBuff) {
	rs := s.(*rawSock)
	rs.Mu.Lock()
	ok := dgramQueueRcvSkb(&rs.Sock, skb)
	if !ok {
		rs.drops++
	}
	rs.Mu.Unlock()
	if !ok {
		skb.Free()
	}
}

var _ socket.WordsSockopter = (*rawSock)(nil)

// icmp6FilterOpt is where rawv6_setsockopt and rawv6_getsockopt send
// ICMP6_FILTER: SOL_ICMPV6 is AF_INET6's alone (an AF_INET raw sock's
// raw_setsockopt hands it to ip_setsockopt, ENOPROTOOPT), and the filter
// only an IPPROTO_ICMPV6 sock's (rawv6_seticmpfilter: EOPNOTSUPP).
func (rs *rawSock) icmp6FilterOpt(level, optname int) error {
	switch {
	case rs.Family != socket.AF_INET6 || level != socket.SOL_ICMPV6 || optname != socket.ICMP6_FILTER:
		return socket.ENOPROTOOPT
	case rs.Num != socket.IPPROTO_ICMPV6:
		return socket.EOPNOTSUPP
	}
	return nil
}

// SetsockoptWords is rawv6_seticmpfilter: the new struct icmp6_filter.
func (rs *rawSock) SetsockoptWords(level, optname int, w []uint32) error {
	if err := rs.icmp6FilterOpt(level, optname); err != nil {
		return err
	}
	if len(w) != len(rs.filter) {
		return socket.EINVAL
	}
	rs.Mu.Lock()
	copy(rs.filter[:], w)
	rs.Mu.Unlock()
	return nil
}

// GetsockoptWords is rawv6_geticmpfilter.
func (rs *rawSock) GetsockoptWords(level, optname int) ([]uint32, error) {
	if err := rs.icmp6FilterOpt(level, optname); err != nil {
		return nil, err
	}
	rs.Mu.Lock()
	defer rs.Mu.Unlock()
	return append([]uint32(nil), rs.filter[:]...), nil
}

// RawV6Icmp6Filter is icmpv6_filter: whether raw sock s's ICMP6_FILTER
// blocks ICMPv6 messages of type typ.
func RawV6Icmp6Filter(s socket.Sk, typ uint8) bool {
	rs := s.(*rawSock)
	rs.Mu.Lock()
	defer rs.Mu.Unlock()
	return rs.filter[typ>>5]&(1<<(typ&31)) != 0
}
