package main

import (
	"fmt"
	"net/netip"

	"sockfs/inet6"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// inet6Init is inet6_init, unless --addr6 none turned IPv6 off (then the
// stack has no IPv6 at all: no handler for its frames, no v6 tables).
func (st *stack) inet6Init(cfg *config, clock ktime.Clock) {
	if !cfg.addr6.IsValid() {
		return
	}
	st.in6 = inet6.Init(st.sn, st.host.DevNet, clock, st.in)
	st.in6.SetLogf(logf)
	st.in6.SetDAD(cfg.dad)
}

// inet6DevAdd gives a device its IPv6 addresses (::1 on lo; the
// link-local and --addr6 on the TAP) and, for the TAP, the --gateway6
// default route.
func (st *stack) inet6DevAdd(dev *netdev.NetDevice, cfg *config) error {
	if st.in6 == nil {
		return nil
	}
	if dev.Flags&netdev.IFF_LOOPBACK != 0 {
		if err := st.in6.DevAdd(dev, netip.Prefix{}); err != nil {
			return fmt.Errorf("lo: %v", err)
		}
		return nil
	}
	if err := st.in6.DevAdd(dev, cfg.addr6); err != nil {
		return fmt.Errorf("--addr6 %v: %v", cfg.addr6, err)
	}
	if cfg.gateway6.IsValid() {
		if err := st.in6.SetGateway(cfg.gateway6); err != nil {
			return fmt.Errorf("--gateway6 %v: %v", cfg.gateway6, err)
		}
	}
	return nil
}

// configureHost6 gives the kernel's side of the TAP --host-addr6, without
// DAD.
func (st *stack) configureHost6(cfg *config) error {
	if !cfg.hostAddr6.IsValid() {
		return nil
	}
	if err := st.tap.ConfigureHost6(cfg.hostAddr6); err != nil {
		return fmt.Errorf("--host-addr6 %v: %v", cfg.hostAddr6, err)
	}
	return nil
}
