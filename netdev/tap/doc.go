// Package tap is the TAP driver: the user-space end of drivers/net/tun.c.
//
// The stack's frames go out by write(2) on the TAP file descriptor and
// arrive as the kernel's packets to the host side of the interface; what the
// kernel sends to that interface is read(2) back, one frame per read
// (IFF_NO_PI, no packet-information prefix). The kernel is thus the peer on
// an Ethernet link, with its own ARP, IPv4, TCP and UDP.
//
// It owns opening the TAP (TUNSETIFF through github.com/songgao/water),
// telling whether sockfsd created the interface (a non-persistent TAP is
// destroyed by tun_chr_close when its descriptor closes; a persistent one a
// user made with `ip tuntap add` is left as it was), setting the kernel
// side's MTU, address and IFF_UP with the SIOCSIF* ioctls of
// net/ipv4/devinet.c and net/core/dev_ioctl.c, and the netdev.Driver
// methods: one read or one write per frame, straight into and out of skbs.
//
// OpenOffload is the other opener, for sockfsd --offload: it does TUNSETIFF
// itself through golang.org/x/sys/unix, because water cannot set
// IFF_VNET_HDR, and sets the TUN_F_* offloads (TUNSETOFFLOAD). Each frame
// then crosses behind a virtio_net_hdr (netdev.VirtioNetHdr): on receive it
// becomes the skb's IPSummed and GsoSize (virtio_net_hdr_to_skb), a TSO4
// or TSO6 super-frame staying one skb; on transmit it asks the kernel to
// finish a TCP super-segment of either family (virtio_net_hdr_from_skb),
// and is all zero for a frame already finished.
package tap
