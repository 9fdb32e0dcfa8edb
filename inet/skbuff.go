package inet

// IPv4's helpers on an skb, as include/linux/ip.h keeps ip_hdr() beside
// the skbuff accessors: where the IP header of a packet is, and the copy a
// socket keeps of one.

import (
	"sockfs/inet/header"
	"sockfs/netdev"
)

// ipHdr returns the IPv4 header of a received skb: the view runs from the
// header to the end of the packet (ip_rcv trimmed it to tot_len).
func ipHdr(skb *netdev.SkBuff) header.Iphdr {
	return header.Iphdr(skb.At(skb.NetworkHeader))
}

// skbCloneNetwork copies a received packet from its IP header on, with
// the same offset of data past the header as skb: what a socket keeps of a
// packet the IP layer still owns (skb_clone for raw and ping delivery).
func skbCloneNetwork(skb *netdev.SkBuff) *netdev.SkBuff {
	iph := ipHdr(skb)
	n := netdev.AllocSkb(len(iph))
	copy(n.Put(len(iph)), iph)
	n.Dev = skb.Dev
	n.Protocol = skb.Protocol
	n.NetworkHeader = n.Offset()
	n.Pull(skb.Offset() - skb.NetworkHeader)
	n.TransportHeader = n.Offset()
	return n
}
