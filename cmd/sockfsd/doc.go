// Command sockfsd is sockfs's daemon: what start_kernel and the inet_init
// initcall are to the kernel's network stack. It parses its flags, builds
// the namespace (socket.Net, netdev.Net, inet.Init registering AF_INET),
// opens the TAP and the loopback (register_netdevice, dev_open), gives them
// addresses (devinet_ioctl's SIOCSIFADDR), mounts the FUSE filesystem and
// serves it until a signal or an unmount, then tears everything down in
// order: every socket released as close(2) would, the filesystem unmounted,
// the devices closed (which removes a TAP it created).
//
//	sockfsd [flags] MOUNTPOINT
//
// See docs/sockfsd.md ("Flags", "Startup", "Signals and shutdown") for the
// flags and the promises about startup errors, the serving line and shutdown.
package main
