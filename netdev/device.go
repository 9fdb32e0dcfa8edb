package netdev

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Driver is the hardware half of a net_device: what net_device_ops and the
// driver's receive interrupt are in the kernel.
type Driver interface {
	// Xmit sends skb.Data() as one frame (ndo_start_xmit). The caller keeps
	// the skb: a driver that needs the bytes after Xmit returns copies them.
	Xmit(skb *SkBuff) error
	// Receive is the driver's receive loop: it reads frames into fresh skbs
	// and hands each to rx, which takes ownership, until Close. It returns
	// nil after Close.
	Receive(rx func(*SkBuff)) error
	// Close stops Receive and releases the hardware.
	Close() error
}

// Interface flags (include/uapi/linux/if.h).
const (
	IFF_UP        = 0x1
	IFF_BROADCAST = 0x2
	IFF_LOOPBACK  = 0x8
	IFF_RUNNING   = 0x40
	IFF_NOARP     = 0x80
	IFF_MULTICAST = 0x1000
)

// Device features (netdev_features_t, include/linux/netdev_features.h),
// the ones this stack knows. They decide what TCP builds (sk_can_gso) and
// what dev_queue_xmit must finish in software before the driver sees it.
const (
	// NETIF_F_GSO: the stack may build TCP super-segments for this device
	// (software GSO); dev_queue_xmit cuts them into wire frames unless the
	// device also has NETIF_F_TSO.
	NETIF_F_GSO = 1 << 0
	// NETIF_F_TSO: the device (driver) takes a TCPv4 super-segment with
	// skb.GsoSize set and a CHECKSUM_PARTIAL checksum and segments it
	// itself, as a NIC with TCP segmentation offload does.
	NETIF_F_TSO = 1 << 1
	// NETIF_F_TSO6: the same for a TCP/IPv6 super-segment.
	NETIF_F_TSO6 = 1 << 2
)

// GsoFeature is the feature a device needs to take the super-segment
// skb whole (net_gso_ok over skb_shinfo(skb)->gso_type, which TCP sets
// from the family: SKB_GSO_TCPV4 or SKB_GSO_TCPV6). Only TCP builds
// super-segments here, so the frame's EtherType says which.
func GsoFeature(skb *SkBuff) uint64 {
	if eth, ok := ParseEthhdr(skb.Data()); ok && eth.Proto() == ETH_P_IPV6 {
		return NETIF_F_TSO6
	}
	return NETIF_F_TSO
}

// GsoMaxSize is GSO_LEGACY_MAX_SIZE: the largest super-segment, the IPv4
// total length field's limit.
const GsoMaxSize = 65535

// DevStats is rtnl_link_stats64, the counters /proc/net/dev prints.
type DevStats struct {
	RxPackets, RxBytes, RxErrors, RxDropped atomic.Uint64
	TxPackets, TxBytes, TxErrors, TxDropped atomic.Uint64
	RxMulticast                             atomic.Uint64
}

// NetDevice is struct net_device.
type NetDevice struct {
	Name          string
	Ifindex       int
	MTU           int
	HWAddr        [6]byte // dev_addr
	Broadcast     [6]byte
	Flags         uint32
	HardHeaderLen int    // ETH_HLEN for Ethernet, also on loopback as in Linux
	Features      uint64 // NETIF_F_*, fixed before RegisterNetdevice
	Stats         DevStats

	// Ptr is the protocol's per-device state (dev->ip_ptr: in_device).
	Ptr any

	driver Driver
	xmit   func(*SkBuff) error // xmitOne as a value, made once (no closure per GSO skb)
	net    *Net
	done   chan struct{}
	up     atomic.Bool // IFF_UP|IFF_RUNNING: changes while others send
}

// ErrDeviceDown is returned by DevQueueXmit on a device that is not up.
var ErrDeviceDown = errors.New("netdev: device down")

// Net is the device layer's part of a namespace: its devices and the
// packet-type handlers (ptype_base) that NetifReceiveSkb dispatches to.
type Net struct {
	mu      sync.RWMutex
	devs    []*NetDevice              // protected by mu
	ptypes  map[uint16]PacketFunc     // protected by mu
	ifindex int                       // protected by mu
	taps    []func(*SkBuff, bool)     // protected by mu; dev_queue_xmit_nit
	gso     map[uint16]GsoSegmentFunc // protected by mu; offload_base
}

// GsoSegmentFunc is a packet_offload's gso_segment (inet_gso_segment →
// tcp4_gso_segment for IPv4, ipv6_gso_segment → tcp6_gso_segment for
// IPv6): cut the super-segment skb (from its link
// header on, skb.GsoSize set) into wire-sized frames with their headers
// and checksums complete, handing each to xmit, which does not keep it.
type GsoSegmentFunc func(skb *SkBuff, xmit func(*SkBuff) error) error

// PacketFunc is a packet_type's func: it owns the skb it is given.
type PacketFunc func(skb *SkBuff)

// NewNet returns a device layer with no devices.
func NewNet() *Net { return &Net{ptypes: make(map[uint16]PacketFunc)} }

// DevAddPack is dev_add_pack: handle frames of one EtherType.
func (n *Net) DevAddPack(ethertype uint16, fn PacketFunc) {
	n.mu.Lock()
	n.ptypes[ethertype] = fn
	n.mu.Unlock()
}

// DevAddOffload is dev_add_offload: the software segmentation of one
// EtherType's super-segments, for devices without the hardware feature.
func (n *Net) DevAddOffload(ethertype uint16, fn GsoSegmentFunc) {
	n.mu.Lock()
	if n.gso == nil {
		n.gso = make(map[uint16]GsoSegmentFunc)
	}
	n.gso[ethertype] = fn
	n.mu.Unlock()
}

// RegisterNetdevice is register_netdevice: give dev an ifindex and list it.
// The device does not receive until DevOpen.
func (n *Net) RegisterNetdevice(dev *NetDevice, drv Driver) {
	n.mu.Lock()
	n.ifindex++
	dev.Ifindex = n.ifindex
	dev.driver = drv
	dev.xmit = dev.xmitOne
	dev.net = n
	if dev.Broadcast == ([6]byte{}) && dev.Flags&IFF_LOOPBACK == 0 {
		dev.Broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	n.devs = append(n.devs, dev)
	n.mu.Unlock()
}

// Driver is the driver dev was registered on (netdev_priv's view of the
// hardware): tests reach an in-memory device's queue through it.
func (dev *NetDevice) Driver() Driver { return dev.driver }

// Devices returns the registered devices in ifindex order.
func (n *Net) Devices() []*NetDevice {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return append([]*NetDevice(nil), n.devs...)
}

// DevGetByName is dev_get_by_name.
func (n *Net) DevGetByName(name string) *NetDevice {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, d := range n.devs {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// DevOpen is dev_open: mark the device up and start its receive loop, which
// plays the NET_RX softirq for this device. Flags keeps the static flags;
// whether the device is up is IsUp, since that changes while others read.
func (dev *NetDevice) DevOpen() {
	dev.up.Store(true)
	dev.done = make(chan struct{})
	go func() {
		defer close(dev.done)
		if err := dev.driver.Receive(dev.NetifReceiveSkb); err != nil {
			dev.Stats.RxErrors.Add(1)
		}
	}()
}

// DevClose is dev_close: stop the driver and wait for the receive loop.
func (dev *NetDevice) DevClose() error {
	dev.up.Store(false)
	err := dev.driver.Close()
	if dev.done != nil {
		<-dev.done
	}
	return err
}

// IsUp reports IFF_UP (dev_open has run and dev_close has not).
func (dev *NetDevice) IsUp() bool { return dev.up.Load() }

// FlagsNow returns Flags with IFF_UP and IFF_RUNNING as they are now, as
// dev_get_flags does.
func (dev *NetDevice) FlagsNow() uint32 {
	if dev.up.Load() {
		return dev.Flags | IFF_UP | IFF_RUNNING
	}
	return dev.Flags
}

// DevQueueXmit is dev_queue_xmit: hand a finished frame (link header
// included) to the driver. Unlike the kernel, the caller keeps the skb, so a
// protocol can transmit from its own queue without cloning.
func (dev *NetDevice) DevQueueXmit(skb *SkBuff) error {
	if !dev.up.Load() {
		dev.Stats.TxDropped.Add(1)
		return ErrDeviceDown
	}
	skb.Dev = dev
	if skb.GsoSize > 0 && dev.Features&GsoFeature(skb) == 0 {
		return dev.gsoXmit(skb)
	}
	return dev.xmitOne(skb)
}

// xmitOne is dev_hard_start_xmit for one frame.
func (dev *NetDevice) xmitOne(skb *SkBuff) error {
	n := skb.Len()
	if err := dev.driver.Xmit(skb); err != nil {
		dev.Stats.TxErrors.Add(1)
		return fmt.Errorf("%s: xmit: %w", dev.Name, err)
	}
	dev.Stats.TxPackets.Add(1)
	dev.Stats.TxBytes.Add(uint64(n))
	return nil
}

// gsoXmit is validate_xmit_skb's software GSO (skb_gso_segment) for a
// device lacking NETIF_F_TSO (NETIF_F_TSO6 for IPv6): the super-segment goes out as the wire
// frames a device with TSO would have cut, so what sits below (netem, the
// packet taps, the driver) sees each one.
func (dev *NetDevice) gsoXmit(skb *SkBuff) error {
	var fn GsoSegmentFunc
	if eth, ok := ParseEthhdr(skb.Data()); ok {
		dev.net.mu.RLock()
		fn = dev.net.gso[eth.Proto()]
		dev.net.mu.RUnlock()
	}
	if fn == nil {
		dev.Stats.TxDropped.Add(1)
		return fmt.Errorf("%s: no GSO for this frame", dev.Name)
	}
	return fn(skb, dev.xmit)
}

// NetifReceiveSkb is netif_receive_skb: the receive loop's entry. It strips
// the Ethernet header (eth_type_trans), drops frames for other hosts, and
// hands the rest to the handler for their EtherType, which owns the skb.
func (dev *NetDevice) NetifReceiveSkb(skb *SkBuff) {
	skb.Dev = dev
	dev.Stats.RxPackets.Add(1)
	dev.Stats.RxBytes.Add(uint64(skb.Len()))
	eth, ok := ParseEthhdr(skb.Data())
	if !ok {
		dev.Stats.RxErrors.Add(1)
		skb.Free()
		return
	}
	dst := eth.Dest()
	switch {
	case dst == dev.HWAddr:
	case dst[0]&1 != 0: // broadcast or multicast
		dev.Stats.RxMulticast.Add(1)
	case dev.Flags&IFF_LOOPBACK != 0:
	default: // PACKET_OTHERHOST: not ours
		dev.Stats.RxDropped.Add(1)
		skb.Free()
		return
	}
	skb.MacHeader = skb.Offset()
	skb.Protocol = eth.Proto()
	skb.Pull(EthHlen)
	skb.NetworkHeader = skb.Offset()

	dev.net.mu.RLock()
	fn := dev.net.ptypes[skb.Protocol]
	dev.net.mu.RUnlock()
	if fn == nil {
		dev.Stats.RxDropped.Add(1)
		skb.Free()
		return
	}
	fn(skb)
}
