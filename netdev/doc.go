// Package netdev is the device layer: net/core/dev.c, net/core/skbuff.c,
// net/ethernet/eth.c and the drivers, with struct net_device (NetDevice) and
// struct sk_buff (SkBuff).
//
// A NetDevice sits on a Driver — the TAP device (water), the loopback, or an
// in-memory pair for tests — optionally wrapped by Pcap (capture) and that by
// Netem (impairment), so the capture sees the wire past the impairment, as
// Linux's packet taps sit past the qdisc. Output goes through DevQueueXmit; input arrives on the device's
// one receive loop (which plays the softirq), is stripped of its Ethernet
// header (eth_type_trans) and handed by NetifReceiveSkb to the packet-type
// handler registered for its EtherType (ip_rcv, arp_rcv). The in-memory
// pair and the loopback report when every frame queued on them has been
// handed up (Idle, Sent), so two-stack tests wait for that, on the manual
// clock, instead of on wall time.
//
// VirtioNetHdr is include/uapi/linux/virtio_net.h's header, which a TAP
// opened with IFF_VNET_HDR (sockfsd --offload) puts before every frame;
// SkBuff.IPSummed and GsoSize carry what it says up the stack.
//
// It knows no socket and no IP: upper layers register into it.
package netdev
