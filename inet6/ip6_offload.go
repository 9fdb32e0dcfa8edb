package inet6

import (
	"sockfs/inet"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// Software GSO for IPv6 (net/ipv6/ip6_offload.c and tcpv6_offload.c): what
// dev_queue_xmit runs for a TCP/IPv6 super-segment on a device without
// NETIF_F_TSO6 (sockfsd --offload with --netem). The TCP part, cutting the
// payload and finishing each checksum, is the one tcp4_gso_segment uses
// (inet.TCPGsoSegment); only the network header differs.

// ipv6GsoSegment is ipv6_gso_segment → tcp6_gso_segment: the IPv6 header
// checked, then each wire frame cut from the super-segment gets its own
// payload length (ipv6GsoFixup). TCP here sends no extension headers, so a
// super-segment whose next header is not TCP is refused, as
// ipv6_gso_segment refuses one it has no offload for.
func ipv6GsoSegment(skb *netdev.SkBuff, xmit func(*netdev.SkBuff) error) error {
	b := skb.Data()
	if len(b) < netdev.EthHlen+header.IPv6Len {
		return socket.EMSGSIZE
	}
	if header.Ipv6hdr(b[netdev.EthHlen:]).Nexthdr() != header.NEXTHDR_TCP {
		return socket.EMSGSIZE
	}
	return inet.TCPGsoSegment(skb, netdev.EthHlen+header.IPv6Len, ipv6GsoFixup, xmit)
}

// ipv6GsoFixup is ipv6_gso_segment's loop over the segments: the frame's
// IPv6 header (a copy of the super-segment's) gets the payload length of
// tcpLen bytes of TCP. IPv6 has no header checksum and no per-packet ID.
func ipv6GsoFixup(f []byte, _, tcpLen int) {
	header.Ipv6hdr(f[netdev.EthHlen:]).SetPayloadLen(tcpLen)
}
