package main

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseArgsDefaults(t *testing.T) {
	cfg, err := parseArgs([]string{"/mnt/sock"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.mountpoint != "/mnt/sock" || cfg.tap != "sock0" || cfg.mtu != 1500 ||
		cfg.addr != netip.MustParsePrefix("198.18.0.2/24") ||
		cfg.hostAddr != netip.MustParsePrefix("198.18.0.1/24") ||
		cfg.gateway.IsValid() || cfg.netem != nil || cfg.pcap != "" || cfg.allowOther || cfg.netemSeed != 1 ||
		cfg.congestion != "cubic" || cfg.timeWait != 60*time.Second || cfg.offload || cfg.cpuProfile != "" ||
		cfg.finTimeout != 60*time.Second || cfg.synRetries != 6 || cfg.synLinear != 4 || cfg.syncookies != 1 {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestParseArgsFlags(t *testing.T) {
	cfg, err := parseArgs([]string{
		"--tap", "t1", "--addr", "10.9.0.5/16", "--host-addr", "10.9.0.1/16",
		"--gateway", "10.9.0.254", "--mtu", "9000", "--netem", "loss 2% delay 10ms",
		"--netem-seed", "7", "--pcap", "/tmp/x.pcap", "--allow-other",
		"--tcp-congestion", "reno", "--time-wait", "2s", "--cpuprofile", "/tmp/cpu.pprof", "--offload",
		"--tcp-fin-timeout", "3s", "--tcp-syn-retries", "2", "--tcp-syn-linear-timeouts", "0", "--tcp-syncookies", "2", "/m",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.tap != "t1" || cfg.addr.String() != "10.9.0.5/16" || cfg.hostAddr.String() != "10.9.0.1/16" ||
		cfg.gateway.String() != "10.9.0.254" || cfg.mtu != 9000 || cfg.netem == nil ||
		cfg.netemSeed != 7 || cfg.pcap != "/tmp/x.pcap" || !cfg.allowOther || cfg.mountpoint != "/m" ||
		cfg.congestion != "reno" || cfg.timeWait != 2*time.Second || cfg.cpuProfile != "/tmp/cpu.pprof" || !cfg.offload ||
		cfg.finTimeout != 3*time.Second || cfg.synRetries != 2 || cfg.synLinear != 0 || cfg.syncookies != 2 {
		t.Fatalf("flags: %+v", cfg)
	}
	cfg, err = parseArgs([]string{"--host-addr", "none", "/m"})
	if err != nil || cfg.hostAddr.IsValid() {
		t.Fatalf("--host-addr none: %+v, %v", cfg, err)
	}
}

func TestParseArgsErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "missing MOUNTPOINT"},
		{[]string{"/a", "/b"}, "one MOUNTPOINT"},
		{[]string{"--bogus", "/m"}, "flag provided but not defined"},
		{[]string{"--addr", "x", "/m"}, `bad --addr "x"`},
		{[]string{"--tcp-fin-timeout", "100ms", "/m"}, "bad --tcp-fin-timeout 100ms"},
		{[]string{"--tcp-syn-retries", "0", "/m"}, "bad --tcp-syn-retries 0"},
		{[]string{"--tcp-syn-linear-timeouts", "-1", "/m"}, "bad --tcp-syn-linear-timeouts -1"},
		{[]string{"--addr", "198.18.0.2", "/m"}, "no prefix length"},
		{[]string{"--addr", "fd00::2/64", "/m"}, "not an IPv4 address"},
		{[]string{"--addr", "198.18.0.0/24", "/m"}, "network's own address"},
		{[]string{"--addr", "198.18.0.255/24", "/m"}, "broadcast"},
		{[]string{"--addr", "198.18.0.2/32", "/m"}, "prefix length"},
		{[]string{"--host-addr", "10.0.0.1/24", "/m"}, `bad --host-addr "10.0.0.1/24": not on --addr's network`},
		{[]string{"--host-addr", "198.18.0.2/24", "/m"}, "same address"},
		{[]string{"--host-addr", "nope", "/m"}, `bad --host-addr "nope"`},
		{[]string{"--gateway", "10.0.0.1", "/m"}, `bad --gateway "10.0.0.1": not on --addr's network`},
		{[]string{"--gateway", "gw", "/m"}, "not an IP address"},
		{[]string{"--gateway", "198.18.0.2", "/m"}, "own address"},
		{[]string{"--mtu", "67", "/m"}, "bad --mtu 67"},
		{[]string{"--mtu", "65536", "/m"}, "bad --mtu 65536"},
		{[]string{"--mtu", "big", "/m"}, "invalid value"},
		{[]string{"--netem", "lose 2%", "/m"}, `bad --netem "lose 2%"`},
		{[]string{"--tap", "", "/m"}, "bad --tap"},
		{[]string{"--tap", "a-very-long-tap-name", "/m"}, "longer than 15"},
		{[]string{"--tap", "a/b", "/m"}, "bad --tap"},
		{[]string{""}, "empty MOUNTPOINT"},
		{[]string{"--tcp-congestion", "bbr", "/m"}, `bad --tcp-congestion "bbr"`},
		{[]string{"--time-wait", "10ms", "/m"}, "bad --time-wait 10ms"},
		{[]string{"--time-wait", "1h", "/m"}, "bad --time-wait 1h0m0s"},
		{[]string{"--tcp-syncookies", "3", "/m"}, "bad --tcp-syncookies 3"},
		{[]string{"--tcp-syncookies", "-1", "/m"}, "bad --tcp-syncookies -1"},
	}
	for _, c := range cases {
		_, err := parseArgs(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseArgs(%q) = %v, want an error with %q", c.args, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("parseArgs(%q): error is not one line: %q", c.args, err)
		}
	}
}

func TestParseArgsHelpVersion(t *testing.T) {
	for _, a := range []string{"--help", "-h", "-help"} {
		if _, err := parseArgs([]string{a}); !errors.Is(err, errHelp) {
			t.Errorf("%s: %v", a, err)
		}
	}
	if _, err := parseArgs([]string{"--version"}); !errors.Is(err, errVersion) {
		t.Errorf("--version: %v", err)
	}
	u := usage()
	for _, f := range []string{"-tap", "-addr", "-host-addr", "-gateway", "-mtu", "-netem", "-pcap", "-allow-other", "-version", "-help"} {
		if !strings.Contains(u, f) {
			t.Errorf("usage lacks %s", f)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	in := `22 1 0:21 / /proc rw,nosuid - proc proc rw
36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
120 22 0:52 / /tmp/a\040b rw,nosuid,nodev,relatime shared:60 - fuse.sockfs sockfs rw,user_id=0,group_id=0
`
	got, err := parseMountinfo(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []mountEntry{
		{"/proc", "proc", "proc"},
		{"/mnt2", "ext3", "/dev/root"},
		{"/tmp/a b", "fuse.sockfs", "sockfs"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := parseMountinfo(strings.NewReader("1 2 3\n")); err == nil {
		t.Error("a malformed line parsed")
	}
}

func TestRandomMAC(t *testing.T) {
	for i := 0; i < 50; i++ {
		mac, err := randomMAC()
		if err != nil {
			t.Fatal(err)
		}
		if mac[0]&1 != 0 || mac[0]&2 == 0 {
			t.Fatalf("%x is not a unicast, locally administered address", mac)
		}
	}
}
