package main

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseArgsIPv6(t *testing.T) {
	cfg, err := parseArgs([]string{"/m"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr6 != netip.MustParsePrefix("2001:2::2/64") || cfg.hostAddr6 != netip.MustParsePrefix("2001:2::1/64") ||
		cfg.gateway6.IsValid() || !cfg.dad {
		t.Fatalf("IPv6 defaults: %v %v %v %v", cfg.addr6, cfg.hostAddr6, cfg.gateway6, cfg.dad)
	}
	cfg, err = parseArgs([]string{"--addr6", "2001:2:0:1::5/64", "--host-addr6", "none", "--gateway6", "fe80::1", "--dad", "off", "/m"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.addr6.String() != "2001:2:0:1::5/64" || cfg.hostAddr6.IsValid() || cfg.gateway6.String() != "fe80::1" || cfg.dad {
		t.Fatalf("IPv6 flags: %v %v %v %v", cfg.addr6, cfg.hostAddr6, cfg.gateway6, cfg.dad)
	}
	cfg, err = parseArgs([]string{"--addr6", "none", "/m"})
	if err != nil || cfg.addr6.IsValid() || !cfg.hostAddr6.IsValid() {
		t.Fatalf("--addr6 none: %v, %v %v", err, cfg.addr6, cfg.hostAddr6)
	}
	for _, c := range []struct{ args, want string }{
		{"--addr6 2001:2::2", `bad --addr6 "2001:2::2": no prefix length (e.g. /64)`},
		{"--addr6 198.18.0.2/24", `bad --addr6 "198.18.0.2/24": not an IPv6 address`},
		{"--addr6 fe80::2/64", `bad --addr6 "fe80::2/64": not a global unicast address`},
		{"--addr6 ff02::2/64", `bad --addr6 "ff02::2/64": not a global unicast address`},
		{"--host-addr6 2001:2::2/64", `bad --host-addr6 "2001:2::2/64": the same address as --addr6`},
		{"--host-addr6 2001:3::1/64", `bad --host-addr6 "2001:3::1/64": not on --addr6's network 2001:2::/64`},
		{"--gateway6 2001:3::1", `bad --gateway6 "2001:3::1": neither link-local nor on --addr6's network`},
		{"--gateway6 10.0.0.1", `bad --gateway6 "10.0.0.1": not an IPv6 address`},
		{"--addr6 none --gateway6 2001:2::1", `bad --gateway6 "2001:2::1": IPv6 is off`},
		{"--dad maybe", `bad --dad "maybe": want on or off`},
	} {
		_, err := parseArgs(append(strings.Fields(c.args), "/m"))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want %q", c.args, err, c.want)
		}
	}
}
