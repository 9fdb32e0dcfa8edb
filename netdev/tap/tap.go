package tap

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/songgao/water"
	"golang.org/x/sys/unix"

	"sockfs/netdev"
)

var _ netdev.Driver = (*Device)(nil)

// Device is an open TAP interface.
type Device struct {
	name    string
	mtu     int
	created bool
	file    *os.File // the /dev/net/tun descriptor, in the runtime poller

	vnet     bool // IFF_VNET_HDR: a virtio-net header before each frame (OpenOffload)
	offloads int  // the TUN_F_* set given to TUNSETOFFLOAD
	rxErrors atomic.Uint64

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Error is a failure to open or configure a TAP, saying which in words a
// user can act on; it unwraps to the errno.
type Error struct {
	Name string
	Msg  string
	Err  error
}

func (e *Error) Error() string { return "tap " + e.Name + ": " + e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Open attaches to the TAP interface name, creating it if it does not
// exist, and sets the kernel side's MTU to mtu. A TAP that Open created is
// not persistent, so the kernel removes it when Close releases the
// descriptor (also if the daemon dies); a persistent TAP that existed
// before stays after Close.
func Open(name string, mtu int) (*Device, error) {
	if err := checkArgs(name, mtu); err != nil {
		return nil, err
	}
	existed, err := ifExists(name)
	if err != nil {
		return nil, openError(name, err, false)
	}
	ifce, err := water.New(water.Config{
		DeviceType:             water.TAP,
		PlatformSpecificParams: water.PlatformSpecificParams{Name: name},
	})
	if err != nil {
		return nil, openError(name, err, existed)
	}
	f, ok := ifce.ReadWriteCloser.(*os.File)
	if !ok {
		ifce.Close()
		return nil, &Error{Name: name, Msg: fmt.Sprintf("water returned a %T, not a file", ifce.ReadWriteCloser)}
	}
	d := &Device{name: ifce.Name(), mtu: mtu, created: !existed, file: f}
	if existed {
		// water clears IFF_PERSIST on every open. Only a persistent TAP
		// can exist with nobody attached, so this one was persistent:
		// set the flag back, or closing would destroy a user's interface.
		if err := d.tunIoctl(unix.TUNSETPERSIST, 1); err != nil {
			d.Close()
			return nil, &Error{Name: name, Msg: fmt.Sprintf("restore persistence: %v", err), Err: err}
		}
	}
	if err := d.setMTU(mtu); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func checkArgs(name string, mtu int) error {
	if name == "" || len(name) >= unix.IFNAMSIZ {
		return &Error{Name: name, Msg: fmt.Sprintf("bad interface name (1 to %d bytes)", unix.IFNAMSIZ-1), Err: syscall.EINVAL}
	}
	if mtu < 68 || mtu > 65535 {
		return &Error{Name: name, Msg: fmt.Sprintf("bad MTU %d (68 to 65535)", mtu), Err: syscall.EINVAL}
	}
	return nil
}

// openError says in words why the TAP could not be opened.
func openError(name string, err error, existed bool) error {
	var msg string
	switch {
	case errors.Is(err, syscall.EBUSY):
		msg = "device busy (another sockfsd?)"
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		msg = "no /dev/net/tun (is the tun module loaded?)"
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		msg = "permission denied (needs root or CAP_NET_ADMIN)"
	case existed && errors.Is(err, syscall.EINVAL):
		msg = "exists and is not a plain TAP device"
	default:
		msg = err.Error()
	}
	return &Error{Name: name, Msg: msg, Err: err}
}

// tunIoctl runs an ioctl with an integer argument on the TAP descriptor.
func (d *Device) tunIoctl(req uint, arg int) error {
	rc, err := d.file.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = unix.IoctlSetInt(int(fd), req, arg) }); err != nil {
		return err
	}
	return ioErr
}

// ifreqCall runs SIOC* ioctls on the interface through an AF_INET datagram
// socket, as ifconfig does: the interface ioctls are served by any socket
// of the namespace (sock_ioctl → dev_ioctl / devinet_ioctl).
func ifreqCall(fn func(fd int) error) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return fn(fd)
}

// ifExists asks the current network namespace (not /sys, which shows the
// namespace that mounted it) whether an interface is called name.
func ifExists(name string) (bool, error) {
	var exists bool
	err := ifreqCall(func(fd int) error {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		switch err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); {
		case err == nil:
			exists = true
		case errors.Is(err, unix.ENODEV):
		default:
			return err
		}
		return nil
	})
	return exists, err
}

func (d *Device) setMTU(mtu int) error {
	err := ifreqCall(func(fd int) error {
		ifr, err := unix.NewIfreq(d.name)
		if err != nil {
			return err
		}
		ifr.SetUint32(uint32(mtu))
		return unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr)
	})
	if err != nil {
		return &Error{Name: d.name, Msg: fmt.Sprintf("set MTU %d: %v", mtu, err), Err: err}
	}
	return nil
}

// ConfigureHost gives the kernel side of the TAP the IPv4 address and
// netmask of addr (e.g. 10.0.0.1/24) and brings it up: SIOCSIFADDR,
// SIOCSIFNETMASK, then SIOCSIFFLAGS with IFF_UP added to the current flags.
func (d *Device) ConfigureHost(addr netip.Prefix) error {
	if !addr.IsValid() || !addr.Addr().Is4() {
		return &Error{Name: d.name, Msg: fmt.Sprintf("host address %v is not an IPv4 prefix", addr), Err: syscall.EINVAL}
	}
	ip := addr.Addr().As4()
	mask := net.CIDRMask(addr.Bits(), 32)
	step := ""
	err := ifreqCall(func(fd int) error {
		ifr, err := unix.NewIfreq(d.name)
		if err != nil {
			return err
		}
		step = "set address"
		if err := ifr.SetInet4Addr(ip[:]); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFADDR, ifr); err != nil {
			return err
		}
		step = "set netmask"
		if err := ifr.SetInet4Addr(mask); err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFNETMASK, ifr); err != nil {
			return err
		}
		step = "bring up"
		flags, err := unix.NewIfreq(d.name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, flags); err != nil {
			return err
		}
		flags.SetUint16(flags.Uint16() | unix.IFF_UP)
		return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, flags)
	})
	if err != nil {
		return &Error{Name: d.name, Msg: fmt.Sprintf("%s %v: %v", step, addr, err), Err: err}
	}
	return nil
}

// Name is the interface's name.
func (d *Device) Name() string { return d.name }

// MTU is the MTU Open set.
func (d *Device) MTU() int { return d.mtu }

// Created reports whether Open created the interface, so that it goes away
// on Close.
func (d *Device) Created() bool { return d.created }

// Xmit writes the frame to the kernel with one write(2) (tun_chr_write_iter
// → tun_get_user → netif_rx on the kernel side).
func (d *Device) Xmit(skb *netdev.SkBuff) error {
	if d.vnet {
		return d.xmitVnet(skb)
	}
	if _, err := d.file.Write(skb.Data()); err != nil {
		return fmt.Errorf("tap %s: write: %w", d.name, err)
	}
	return nil
}

// Receive reads frames until Close, each straight into the tailroom of a
// fresh skb sized for the MTU, and hands each to rx. It returns nil after
// Close.
func (d *Device) Receive(rx func(*netdev.SkBuff)) error {
	if d.vnet {
		return d.receiveVnet(rx)
	}
	for {
		skb := netdev.AllocSkb(d.mtu + netdev.EthHlen)
		// A TAP read returns one whole frame; read into the whole tailroom
		// and keep what came.
		n, err := d.file.Read(skb.Put(skb.Tailroom()))
		if err != nil {
			skb.Free()
			if d.closed.Load() {
				return nil
			}
			return fmt.Errorf("tap %s: read: %w", d.name, err)
		}
		if n == 0 {
			skb.Free()
			continue
		}
		skb.Trim(n)
		rx(skb)
	}
}

// RxErrors counts frames read and dropped for a virtio-net header this
// TAP never asked for (too short, an offload not enabled).
func (d *Device) RxErrors() uint64 { return d.rxErrors.Load() }

// Close releases the descriptor, which ends a Receive blocked in read and,
// for a TAP that Open created, makes the kernel remove the interface.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		if err := d.file.Close(); err != nil {
			d.closeErr = fmt.Errorf("tap %s: close: %w", d.name, err)
		}
	})
	return d.closeErr
}
