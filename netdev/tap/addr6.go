package tap

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// ConfigureHost6 gives the kernel side of the TAP the IPv6 address addr
// (e.g. 2001:2::1/64) without duplicate address detection, as `ip -6 addr
// add ADDR dev TAP nodad` does (RTM_NEWADDR with IFA_F_NODAD), so the
// address is usable at once; the device is brought up first. The ioctl
// interface (SIOCSIFADDR on an AF_INET6 socket) cannot say nodad.
func (d *Device) ConfigureHost6(addr netip.Prefix) error {
	if !addr.IsValid() || !addr.Addr().Is6() || addr.Addr().Is4In6() {
		return &Error{Name: d.name, Msg: fmt.Sprintf("host address %v is not an IPv6 prefix", addr), Err: syscall.EINVAL}
	}
	step := "bring up"
	var ifindex int
	err := ifreqCall(func(fd int) error {
		ifr, err := unix.NewIfreq(d.name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return err
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			return err
		}
		step = "get ifindex"
		idx, err := unix.NewIfreq(d.name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, idx); err != nil {
			return err
		}
		ifindex = int(idx.Uint32())
		return nil
	})
	if err == nil {
		step = "add address"
		err = rtmNewaddr6(ifindex, addr)
	}
	if err != nil {
		return &Error{Name: d.name, Msg: fmt.Sprintf("%s %v: %v", step, addr, err), Err: err}
	}
	return nil
}

// rtmNewaddr6 sends one RTM_NEWADDR (struct ifaddrmsg, IFA_LOCAL and
// IFA_ADDRESS) on a NETLINK_ROUTE socket and reads its acknowledgement.
func rtmNewaddr6(ifindex int, addr netip.Prefix) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	a := addr.Addr().As16()
	const rtaLen = unix.SizeofRtAttr + 16
	msg := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfAddrmsg+2*rtaLen)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.RTM_NEWADDR)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	ne.PutUint32(msg[8:], 1) // sequence
	ifa := msg[unix.SizeofNlMsghdr:]
	ifa[0] = unix.AF_INET6
	ifa[1] = byte(addr.Bits())
	ifa[2] = unix.IFA_F_NODAD
	ifa[3] = unix.RT_SCOPE_UNIVERSE
	ne.PutUint32(ifa[4:], uint32(ifindex))
	off := unix.SizeofNlMsghdr + unix.SizeofIfAddrmsg
	for _, typ := range []uint16{unix.IFA_LOCAL, unix.IFA_ADDRESS} {
		ne.PutUint16(msg[off:], rtaLen)
		ne.PutUint16(msg[off+2:], typ)
		copy(msg[off+unix.SizeofRtAttr:], a[:])
		off += rtaLen
	}
	if err := unix.Sendto(fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	if n < unix.SizeofNlMsghdr+4 || ne.Uint16(buf[4:]) != unix.NLMSG_ERROR {
		return fmt.Errorf("unexpected netlink answer (%d bytes)", n)
	}
	if e := int32(ne.Uint32(buf[unix.SizeofNlMsghdr:])); e != 0 {
		return syscall.Errno(-e)
	}
	return nil
}
