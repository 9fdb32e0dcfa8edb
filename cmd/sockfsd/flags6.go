package main

import (
	"errors"
	"fmt"
	"net/netip"
)

// parseFlags6 checks --addr6, --host-addr6, --gateway6 and --dad, each
// error one line naming the flag and the value.
func parseFlags6(cfg *config, raw rawFlags) error {
	switch raw.dad {
	case "on":
		cfg.dad = true
	case "off":
		cfg.dad = false
	default:
		return fmt.Errorf("bad --dad %q: want on or off", raw.dad)
	}
	var err error
	if raw.hostAddr6 != "none" {
		// The kernel's side is configured even with --addr6 none: its
		// packets then reach a stack that has no IPv6.
		if cfg.hostAddr6, err = parseIPv6Prefix(raw.hostAddr6); err != nil {
			return fmt.Errorf("bad --host-addr6 %q: %v", raw.hostAddr6, err)
		}
	}
	if raw.addr6 == "none" {
		if raw.gateway6 != "" {
			return fmt.Errorf("bad --gateway6 %q: IPv6 is off (--addr6 none)", raw.gateway6)
		}
		return nil
	}
	if cfg.addr6, err = parseIPv6Prefix(raw.addr6); err != nil {
		return fmt.Errorf("bad --addr6 %q: %v", raw.addr6, err)
	}
	if cfg.hostAddr6.IsValid() {
		if cfg.hostAddr6.Addr() == cfg.addr6.Addr() {
			return fmt.Errorf("bad --host-addr6 %q: the same address as --addr6", raw.hostAddr6)
		}
		if !cfg.addr6.Masked().Contains(cfg.hostAddr6.Addr()) {
			return fmt.Errorf("bad --host-addr6 %q: not on --addr6's network %v", raw.hostAddr6, cfg.addr6.Masked())
		}
	}
	if raw.gateway6 != "" {
		gw, err := netip.ParseAddr(raw.gateway6)
		switch {
		case err != nil || gw.Zone() != "":
			return fmt.Errorf("bad --gateway6 %q: not an IPv6 address", raw.gateway6)
		case !gw.Is6() || gw.Is4In6():
			return fmt.Errorf("bad --gateway6 %q: not an IPv6 address", raw.gateway6)
		case gw == cfg.addr6.Addr():
			return fmt.Errorf("bad --gateway6 %q: the stack's own address", raw.gateway6)
		case !gw.IsLinkLocalUnicast() && !cfg.addr6.Masked().Contains(gw):
			return fmt.Errorf("bad --gateway6 %q: neither link-local nor on --addr6's network %v", raw.gateway6, cfg.addr6.Masked())
		}
		cfg.gateway6 = gw
	}
	return nil
}

// parseIPv6Prefix parses an IPv6 interface address in CIDR form: a global
// or unique-local unicast address with a prefix length of 1 to 128.
func parseIPv6Prefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil && a.Is6() {
			return p, errors.New("no prefix length (e.g. /64)")
		}
		return p, errors.New("not an IPv6 address with a prefix length (CIDR)")
	}
	a := p.Addr()
	switch {
	case !a.Is6() || a.Is4In6():
		return p, errors.New("not an IPv6 address")
	case p.Bits() == 0:
		return p, errors.New("prefix length must be 1 to 128")
	case a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast():
		return p, errors.New("not a global unicast address (the link-local one is derived from the MAC)")
	}
	return p, nil
}
