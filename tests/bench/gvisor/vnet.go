package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openVnetRelay opens the TAP with IFF_VNET_HDR and the offloads sockfsd
// --offload asks for (TUN_F_CSUM|TUN_F_TSO4), and returns one end of a
// SOCK_SEQPACKET socketpair whose other end is relayed to and from the TAP
// frame by frame, virtio-net header included, by two goroutines.
func openVnetRelay(name string) (int, error) {
	tfd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return -1, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
	if err := unix.IoctlIfreq(tfd, unix.TUNSETIFF, ifr); err != nil {
		return -1, fmt.Errorf("TUNSETIFF %s: %w", name, err)
	}
	if err := unix.IoctlSetPointerInt(tfd, unix.TUNSETVNETHDRSZ, 10); err != nil {
		return -1, fmt.Errorf("TUNSETVNETHDRSZ: %w", err)
	}
	if err := unix.IoctlSetInt(tfd, unix.TUNSETOFFLOAD, unix.TUN_F_CSUM|unix.TUN_F_TSO4); err != nil {
		return -1, fmt.Errorf("TUNSETOFFLOAD: %w", err)
	}
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socketpair: %w", err)
	}
	// Room for several 64 KiB frames each way, so the relay is no narrower
	// than the TAP's own queue.
	for _, fd := range sp {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	}
	if err := unix.SetNonblock(sp[1], true); err != nil {
		return -1, err
	}
	tap := os.NewFile(uintptr(tfd), "/dev/net/tun")
	sock := os.NewFile(uintptr(sp[1]), "relay")
	go relay(tap, sock)
	go relay(sock, tap)
	return sp[0], nil
}

// relay copies one frame per read from src to dst until either fails; a
// frame dst has no room for is dropped, as a full TAP queue drops.
func relay(src, dst *os.File) {
	buf := make([]byte, 10+14+65535+64)
	for {
		n, err := src.Read(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gvisor-peer: relay:", err)
			os.Exit(1)
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			fmt.Fprintln(os.Stderr, "gvisor-peer: relay:", err)
			os.Exit(1)
		}
	}
}
