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
