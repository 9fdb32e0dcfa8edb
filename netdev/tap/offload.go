package tap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"sockfs/netdev"
)

// Offloads are the TUN_F_* features OpenOffload can tell the kernel the
// TAP takes (TUNSETOFFLOAD; include/uapi/linux/if_tun.h).
const (
	// OffloadCsum (TUN_F_CSUM): the kernel may hand over frames with the
	// transport checksum not yet computed (NEEDS_CSUM) and need not
	// checksum what it hands over at all; it marks frames whose checksum
	// it verified (DATA_VALID).
	OffloadCsum = unix.TUN_F_CSUM
	// OffloadTSO4 (TUN_F_TSO4, needs OffloadCsum): the kernel may hand
	// over TCP/IPv4 super-frames of up to 64 KiB that stand for several
	// MSS-sized segments (gso_type TCPV4, gso_size the MSS), as GRO would
	// have built them.
	OffloadTSO4 = unix.TUN_F_TSO4
	// OffloadTSO6 (TUN_F_TSO6, needs OffloadCsum): the same for TCP/IPv6
	// (gso_type TCPV6), the IPv6 payload length covering the whole
	// super-frame.
	OffloadTSO6 = unix.TUN_F_TSO6
)

// rxCopybreak is the largest received frame copied out of the 64 KiB
// receive buffer into a small skb, as drivers' rx_copybreak does: an ACK
// or a small datagram then pins 2 KiB, not 64, and the big buffer is read
// into again at once.
const rxCopybreak = 1536

// OpenOffload is Open for --offload: the TAP opened with IFF_VNET_HDR, so
// every frame crosses with a struct virtio_net_hdr in front
// (netdev.VirtioNetHdr), and the kernel told which offloads it may use
// (offloads, a set of Offload* flags; 0 for none).
//
// water, which Open uses, sets only IFF_TAP|IFF_NO_PI and IFF_VNET_HDR
// cannot be added after TUNSETIFF, so this one opener does TUNSETIFF itself
// through golang.org/x/sys/unix: /dev/net/tun, TUNSETIFF with
// IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, TUNSETVNETLE (little-endian header
// fields on any host), TUNSETVNETHDRSZ 10, TUNSETOFFLOAD. Everything else
// (persistence, MTU, ConfigureHost, Close) is Open's. Without --offload
// sockfsd keeps to Open, so the default TAP is exactly what water gives.
func OpenOffload(name string, mtu int, offloads int) (*Device, error) {
	if err := checkArgs(name, mtu); err != nil {
		return nil, err
	}
	existed, err := ifExists(name)
	if err != nil {
		return nil, openError(name, err, false)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, openError(name, err, existed)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, &Error{Name: name, Msg: err.Error(), Err: err}
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, openError(name, err, existed)
	}
	for _, io := range []struct {
		name string
		do   func() error
	}{
		{"TUNSETVNETLE", func() error { return unix.IoctlSetPointerInt(fd, unix.TUNSETVNETLE, 1) }},
		{"TUNSETVNETHDRSZ", func() error { return unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, netdev.VirtioNetHdrLen) }},
		{"TUNSETOFFLOAD", func() error { return unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, offloads) }},
	} {
		if err := io.do(); err != nil {
			unix.Close(fd)
			return nil, &Error{Name: name, Msg: fmt.Sprintf("%s: %v", io.name, err), Err: err}
		}
	}
	// In the runtime poller, as water's file is: reads park the goroutine,
	// and Close wakes a blocked Receive.
	f := os.NewFile(uintptr(fd), "/dev/net/tun")
	d := &Device{name: ifr.Name(), mtu: mtu, created: !existed, file: f, vnet: true, offloads: offloads}
	if err := d.setMTU(mtu); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Offloads is the TUN_F_* set OpenOffload gave the kernel; Vnet reports
// whether frames cross with a virtio-net header at all.
func (d *Device) Offloads() int { return d.offloads }
func (d *Device) Vnet() bool    { return d.vnet }

// xmitVnet writes skb behind its virtio-net header (vnetHdrFromSkb). The
// header goes into the skb's headroom for the write and comes off again,
// since the caller keeps the skb; an skb without the headroom (none is
// built so) is copied.
func (d *Device) xmitVnet(skb *netdev.SkBuff) error {
	if skb.Headroom() < netdev.VirtioNetHdrLen {
		c := skb.Copy()
		defer c.Free()
		skb = c
	}
	f := vnetHdrFromSkb(skb)
	h := netdev.VirtioNetHdr(skb.Push(netdev.VirtioNetHdrLen))
	h.Encode(f)
	_, err := d.file.Write(skb.Data())
	skb.Pull(netdev.VirtioNetHdrLen)
	if err != nil {
		return fmt.Errorf("tap %s: write: %w", d.name, err)
	}
	return nil
}

// vnetHdrFromSkb is virtio_net_hdr_from_skb: the header for the frame in
// skb. A frame that is one segment with its checksum done gets a zero
// header (no offload asked for). A TCP super-segment (skb.GsoSize set,
// which TCP builds only while the device has NETIF_F_TSO or NETIF_F_TSO6)
// gets gso_type TCPV4 or TCPV6 by its EtherType (the kernel reads
// skb_shinfo's gso_type), gso_size, hdr_len and NEEDS_CSUM with
// csum_start/csum_offset on the TCP checksum field, which holds the
// pseudo-header sum: the kernel's tun cuts it into segments
// (tcp_gso_segment) or hands it to its TCP whole, as it does with a TSO
// frame from a guest. csum_start counts from the Ethernet header, so it
// covers the network header, 20 bytes or more for IPv4, 40 for IPv6.
func vnetHdrFromSkb(skb *netdev.SkBuff) netdev.VirtioNetFields {
	var f netdev.VirtioNetFields
	if skb.IPSummed != netdev.CHECKSUM_PARTIAL {
		return f
	}
	// TransportHeader is the TCP header's offset in the buffer, the
	// frame starting at skb.Offset(); csum_offset is th->check's.
	start := skb.TransportHeader - skb.Offset()
	f.Flags = netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM
	f.CsumStart, f.CsumOffset = uint16(start), 16
	if skb.GsoSize > 0 {
		b := skb.Data()
		f.GsoType = netdev.VIRTIO_NET_HDR_GSO_TCPV4
		if netdev.GsoFeature(skb) == netdev.NETIF_F_TSO6 {
			f.GsoType = netdev.VIRTIO_NET_HDR_GSO_TCPV6
		}
		f.GsoSize = uint16(skb.GsoSize)
		f.HdrLen = uint16(start + int(b[start+12]>>4)*4)
	}
	return f
}

// vnetRxBuf is the receive buffer's size with a virtio-net header: the
// header, then an Ethernet frame of up to 64 KiB (a GSO super-frame's IP
// datagram is at most 65535 bytes; an IPv6 one's payload length is, with
// the 40-byte header in front).
const vnetRxBuf = netdev.VirtioNetHdrLen + netdev.EthHlen + 40 + 65535

// receiveVnet is Receive with a virtio-net header in front of each frame:
// the header is taken off and turned into the skb's IPSummed and GsoSize
// (virtio_net_hdr_to_skb), and a GSO super-frame goes up whole, one skb,
// as GRO would have handed it to netif_receive_skb.
func (d *Device) receiveVnet(rx func(*netdev.SkBuff)) error {
	var big *netdev.SkBuff
	defer func() { big.Free() }()
	for {
		if big == nil {
			big = netdev.AllocSkb(vnetRxBuf)
		}
		n, err := d.file.Read(big.Put(big.Tailroom()))
		if err != nil {
			if d.closed.Load() {
				return nil
			}
			return fmt.Errorf("tap %s: read: %w", d.name, err)
		}
		big.Trim(n)
		skb := big
		if n <= rxCopybreak+netdev.VirtioNetHdrLen {
			skb = netdev.AllocSkb(n)
			copy(skb.Put(n), big.Data())
		} else {
			big = nil
		}
		if big != nil {
			big.Trim(0)
		}
		if vnetRx(skb) {
			rx(skb)
		} else {
			d.rxErrors.Add(1)
			skb.Free()
		}
	}
}

// vnetRx takes the virtio-net header off skb and applies it, reporting
// whether the frame is one to take. As virtio_net_hdr_to_skb: NEEDS_CSUM
// makes the checksum partial, DATA_VALID verified; a TCPv4 or TCPv6 GSO
// frame keeps its segment size, which must not be 0; any other GSO type
// (UDP) is one this TAP never allowed.
func vnetRx(skb *netdev.SkBuff) bool {
	h, ok := netdev.ParseVirtioNetHdr(skb.Pull(netdev.VirtioNetHdrLen))
	if !ok {
		return false
	}
	switch {
	case h.Flags()&netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM != 0:
		skb.IPSummed = netdev.CHECKSUM_PARTIAL
	case h.Flags()&netdev.VIRTIO_NET_HDR_F_DATA_VALID != 0:
		skb.IPSummed = netdev.CHECKSUM_UNNECESSARY
	}
	switch h.GsoType() &^ netdev.VIRTIO_NET_HDR_GSO_ECN {
	case netdev.VIRTIO_NET_HDR_GSO_NONE:
	case netdev.VIRTIO_NET_HDR_GSO_TCPV4, netdev.VIRTIO_NET_HDR_GSO_TCPV6:
		if h.GsoSize() == 0 {
			return false
		}
		skb.GsoSize = int(h.GsoSize())
	default:
		return false
	}
	return true
}
