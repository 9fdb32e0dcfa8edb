package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"sync"
	"time"

	"bazil.org/fuse"
	"golang.org/x/sys/unix"

	"sockfs/fusefs"
	"sockfs/inet"
	"sockfs/inet6"
	"sockfs/inode"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/netdev/tap"
	"sockfs/socket"
)

// serveTimeout bounds the wait for the FUSE server to finish after the
// unmount; every call blocked on a socket has been ended by then.
const serveTimeout = 5 * time.Second

// checkHost reports, in words a user can act on, what the machine lacks.
func checkHost() error {
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return fmt.Errorf("/dev/net/tun: %v (is the tun module loaded? modprobe tun)", errorText(err))
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("/dev/fuse: %v (is the fuse module loaded? modprobe fuse)", errorText(err))
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		return errors.New("fusermount3 not found in PATH (install the fuse3 package)")
	}
	return nil
}

// stack is the network namespace sockfsd builds: inet.NewHost's socket
// layer, device layer, inet and lo, then the TAP device.
type stack struct {
	host *inet.Host
	sn   *socket.Net
	in   *inet.Net
	in6  *inet6.Net // nil with --addr6 none
	tap  *tap.Device
	// driver is the TAP's driver chain while it is not yet a device's.
	driver netdev.Driver
	pcap   *os.File
}

// newStack is start_kernel's network part and inet_init, then the device
// configuration ip(8) would do: TAP and loopback up with their addresses,
// the default route, and the kernel's side of the TAP.
func newStack(cfg *config) (_ *stack, err error) {
	// st is not the named result: a failing return sets that to nil, and
	// the deferred close must still see what was built.
	st := &stack{}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	clock := ktime.NewReal()
	if st.host, err = inet.NewHost(clock); err != nil {
		return nil, fmt.Errorf("lo: %v", err)
	}
	st.sn, st.in = st.host.SockNet, st.host.Inet
	st.in.SetLogf(logf)
	if err := st.in.SetTCPCongestionControl(cfg.congestion); err != nil {
		return nil, fmt.Errorf("--tcp-congestion %s: %v", cfg.congestion, err)
	}
	st.in.SetTCPTimers(0, cfg.timeWait)
	st.in.SetTCPFinTimeout(cfg.finTimeout)
	st.in.SetTCPSynRetries(cfg.synRetries, cfg.synLinear)
	st.in.SetTCPSyncookies(cfg.syncookies)
	st.inet6Init(cfg, clock)
	if err := st.inet6DevAdd(st.host.Lo, cfg); err != nil {
		return nil, err
	}

	if st.tap, err = openTap(cfg); err != nil {
		return nil, err
	}
	st.driver = st.tap
	// The capture wraps the TAP itself and netem wraps the capture, as
	// Linux's packet taps sit past the qdisc: the file shows the frames
	// that cross the wire, not those netem dropped.
	if cfg.pcap != "" {
		if st.pcap, err = os.Create(cfg.pcap); err != nil {
			return nil, fmt.Errorf("--pcap: %v", err)
		}
		if st.driver, err = netdev.NewPcap(st.driver, st.pcap); err != nil {
			return nil, fmt.Errorf("--pcap %s: %v", cfg.pcap, err)
		}
	}
	if cfg.netem != nil {
		st.driver = netdev.NewNetem(st.driver, *cfg.netem, cfg.netemSeed, clock)
	}
	mac, err := randomMAC()
	if err != nil {
		return nil, err
	}
	dev := &netdev.NetDevice{
		Name:          st.tap.Name(),
		MTU:           cfg.mtu,
		HWAddr:        mac,
		HardHeaderLen: netdev.EthHlen,
		Flags:         netdev.IFF_BROADCAST | netdev.IFF_MULTICAST,
	}
	if cfg.offload {
		// TCP builds super-segments for the TAP, over IPv4 and IPv6.
		// The tun driver takes them whole (NETIF_F_TSO, NETIF_F_TSO6)
		// unless netem sits in front of it: then dev_queue_xmit cuts
		// them first (software GSO), so the impairment acts per wire
		// frame.
		dev.Features = netdev.NETIF_F_GSO
		if cfg.netem == nil {
			dev.Features |= netdev.NETIF_F_TSO | netdev.NETIF_F_TSO6
		}
	}
	drv := st.driver
	st.driver = nil // the device owns the chain from here
	if err := st.host.AddDevice(dev, drv, cfg.addr); err != nil {
		return nil, fmt.Errorf("--addr %v: %v", cfg.addr, err)
	}
	if err := st.inet6DevAdd(dev, cfg); err != nil {
		return nil, err
	}

	if cfg.gateway.IsValid() {
		if err := st.in.SetGateway(cfg.gateway); err != nil {
			return nil, fmt.Errorf("--gateway %v: %v", cfg.gateway, err)
		}
	}
	if cfg.hostAddr.IsValid() {
		if err := st.tap.ConfigureHost(cfg.hostAddr); err != nil {
			return nil, fmt.Errorf("--host-addr %v: %v", cfg.hostAddr, err)
		}
	}
	if err := st.configureHost6(cfg); err != nil {
		return nil, err
	}
	return st, nil
}

// openTap opens the TAP: through water by default; with --offload through
// tap.OpenOffload with a virtio-net header, the kernel allowed to skip
// checksums (TUN_F_CSUM) and to hand over TSO super-frames (TUN_F_TSO4,
// TUN_F_TSO6).
// With --netem it is allowed neither, so the kernel finishes and cuts every
// frame to wire size before it crosses (dev_queue_xmit's software GSO and
// checksum for a device lacking the features) and the impairment acts per
// wire frame, with checksums that catch its corruption.
func openTap(cfg *config) (*tap.Device, error) {
	if !cfg.offload {
		return tap.Open(cfg.tap, cfg.mtu)
	}
	offloads := tap.OffloadCsum | tap.OffloadTSO4 | tap.OffloadTSO6
	if cfg.netem != nil {
		offloads = 0
	}
	return tap.OpenOffload(cfg.tap, cfg.mtu, offloads)
}

// close is dev_close on every device, newest first; closing the TAP's
// driver chain removes a TAP that sockfsd created.
func (st *stack) close() {
	if st.host != nil {
		if err := st.host.Close(); err != nil {
			logf("%v", err)
		}
		st.host = nil
	}
	if st.driver != nil {
		// A chain no device took (startup failed before register):
		// closing it closes the TAP beneath.
		st.driver.Close()
		st.driver = nil
	}
	if st.pcap != nil {
		if err := st.pcap.Close(); err != nil {
			logf("--pcap: %v", err)
		}
		st.pcap = nil
	}
}

// randomMAC is eth_random_addr: a random unicast, locally administered
// address.
func randomMAC() ([6]byte, error) {
	var mac [6]byte
	if _, err := rand.Read(mac[:]); err != nil {
		return mac, fmt.Errorf("random MAC address: %v", err)
	}
	mac[0] = mac[0]&^0x01 | 0x02
	return mac, nil
}

// daemon is a running sockfsd: what shutdown must undo.
type daemon struct {
	cfg    *config
	st     *stack
	fsys   *fusefs.FS
	conn   *fuse.Conn
	served chan error // Serve's result; read once

	once sync.Once
}

// run builds the stack, mounts and serves until ctx ends (a signal) or the
// filesystem is unmounted from outside, then shuts down cleanly.
func run(ctx context.Context, cfg *config) error {
	if err := checkHost(); err != nil {
		return err
	}
	if err := prepareMountpoint(cfg.mountpoint); err != nil {
		return err
	}
	if cfg.cpuProfile != "" {
		stop, err := startCPUProfile(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	st, err := newStack(cfg)
	if err != nil {
		return err
	}
	d := &daemon{cfg: cfg, st: st, served: make(chan error, 1)}
	d.fsys = fusefs.New(fusefs.Config{Net: st.sn, SB: inode.New(inode.Config{}), Logf: stderrf})
	tree.Store(d.fsys)
	d.conn, err = fuse.Mount(cfg.mountpoint, fusefs.MountOptions(cfg.allowOther)...)
	if err != nil {
		st.close()
		return fmt.Errorf("mount %s: %v", cfg.mountpoint, err)
	}
	go func() { d.served <- d.fsys.Serve(d.conn) }()
	go d.announce()

	select {
	case <-ctx.Done():
		d.shutdown(false)
	case err := <-d.served:
		if err != nil {
			logf("serve: %v", err)
		}
		logf("%s was unmounted; shutting down", cfg.mountpoint)
		d.shutdown(true)
	}
	return nil
}

// startCPUProfile starts runtime/pprof's CPU profile into file; stop ends
// it and closes the file, so the profile covers the run until the clean
// shutdown (a second signal's os.Exit loses it).
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile %s: %v", file, err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			logf("--cpuprofile: %v", err)
		}
	}, nil
}

// announce prints the serving line once the mount answers: statfs of the
// mount point is a request only the server can answer.
func (d *daemon) announce() {
	if err := probe(d.cfg.mountpoint); err != nil {
		logf("mount point does not answer: %v", err)
		return
	}
	logf("serving %s on %s (%v)", d.cfg.mountpoint, d.st.tap.Name(), d.cfg.addr)
}

// shutdown is the one teardown, whichever way the daemon ends: release
// every socket as close(2) would while the devices can still carry the
// FINs and RSTs, unmount, wait for the server, close the devices.
func (d *daemon) shutdown(unmounted bool) {
	d.once.Do(func() {
		if n := d.fsys.ReleaseAll(); n > 0 {
			logf("released %d sockets", n)
		}
		closeConn := true
		if !unmounted {
			closeConn = d.unmount()
		}
		if closeConn {
			if err := d.conn.Close(); err != nil {
				logf("close /dev/fuse: %v", err)
			}
		}
		d.st.close()
	})
}

// unmount takes the filesystem away and waits for the server to finish. A
// mount some process still has files open on cannot be unmounted; it is
// detached instead (umount -l), and the server cannot finish until those
// files close, so it is left running: the daemon's exit closes /dev/fuse,
// which aborts the connection, and the files get ENOTCONN. It reports
// whether the connection may be closed now (closing it under a server
// still reading it would block).
func (d *daemon) unmount() bool {
	// umount(2) directly when permitted (root), which says EBUSY plainly;
	// fusermount3 otherwise.
	err := unix.Unmount(d.cfg.mountpoint, 0)
	if errors.Is(err, unix.EPERM) {
		err = fuse.Unmount(d.cfg.mountpoint)
	}
	if err != nil {
		logf("unmount %s: %v; detaching it", d.cfg.mountpoint, err)
		if err := lazyUnmount(d.cfg.mountpoint); err != nil {
			logf("unmount %s: %v", d.cfg.mountpoint, err)
		}
		return false
	}
	select {
	case err := <-d.served:
		if err != nil {
			logf("serve: %v", err)
		}
		return true
	case <-time.After(serveTimeout):
		logf("the FUSE server did not stop within %v", serveTimeout)
		return false
	}
}
