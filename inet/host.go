package inet

import (
	"errors"
	"fmt"
	"net/netip"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// Host is one network namespace brought up the way boot and ip(8) do it:
// the socket layer (socket.Net), the device table (netdev.Net), inet_init,
// then lo at 127.0.0.1/8 and the Ethernet devices with their addresses and
// prefix routes. The daemon (cmd/sockfsd) and the two-stack tests build
// their stacks with it, so both run the same bring-up.
type Host struct {
	SockNet *socket.Net
	DevNet  *netdev.Net
	Inet    *Net
	Clock   ktime.Clock
	Lo      *netdev.NetDevice

	devs []*netdev.NetDevice // open devices, closed in reverse order
}

// NewHost builds a namespace on clock and brings lo up. lo comes first, as
// in Linux (ifindex 1): DevInetAdd routes each later address's local route
// through the loopback device registered then.
func NewHost(clock ktime.Clock) (*Host, error) {
	h := &Host{SockNet: socket.NewNet(), DevNet: netdev.NewNet(), Clock: clock}
	h.Inet = Init(h.SockNet, h.DevNet, clock)
	h.Lo = &netdev.NetDevice{
		Name:          "lo",
		MTU:           65536,
		HardHeaderLen: netdev.EthHlen,
		Flags:         netdev.IFF_LOOPBACK | netdev.IFF_NOARP,
	}
	if err := h.AddDevice(h.Lo, netdev.NewLoopback(), netip.MustParsePrefix("127.0.0.1/8")); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// AddDevice registers dev on drv, opens it and gives it addr with its
// prefix route (register_netdevice, dev_open, inet_insert_ifa). The device
// is open, and Close closes it, even when the address is refused.
func (h *Host) AddDevice(dev *netdev.NetDevice, drv netdev.Driver, addr netip.Prefix) error {
	h.DevNet.RegisterNetdevice(dev, drv)
	dev.DevOpen()
	h.devs = append(h.devs, dev)
	return h.Inet.DevInetAdd(dev, addr)
}

// Close closes the devices, the last opened first, and returns their
// errors, each naming its device.
func (h *Host) Close() error {
	var errs []error
	for i := len(h.devs) - 1; i >= 0; i-- {
		if err := h.devs[i].DevClose(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %v", h.devs[i].Name, err))
		}
	}
	h.devs = nil
	return errors.Join(errs...)
}
