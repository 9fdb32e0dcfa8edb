package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"sockfs/netdev"
)

// config is everything the flags decide.
type config struct {
	mountpoint string
	tap        string
	addr       netip.Prefix // the stack's own address on the TAP
	hostAddr   netip.Prefix // the kernel side's; invalid for "none"
	gateway    netip.Addr   // invalid for none
	addr6      netip.Prefix // the stack's IPv6 address; invalid for "none" (no IPv6)
	hostAddr6  netip.Prefix // the kernel side's IPv6 address; invalid for "none"
	gateway6   netip.Addr   // invalid for none
	dad        bool         // duplicate address detection on our IPv6 addresses
	mtu        int
	netem      *netdev.NetemSpec // nil for none
	netemSeed  uint64
	pcap       string
	allowOther bool
	congestion string        // tcp_congestion_control: cubic or reno
	timeWait   time.Duration // TIME_WAIT's length (2 MSL)
	cpuProfile string        // runtime/pprof CPU profile file, "" for none
	offload    bool          // TAP with IFF_VNET_HDR and the kernel's offloads
	finTimeout time.Duration // tcp_fin_timeout
	synRetries int           // tcp_syn_retries
	synLinear  int           // tcp_syn_linear_timeouts
	syncookies int           // net.ipv4.tcp_syncookies: 0, 1 or 2
}

// Errors parseArgs returns for --help and --version, which are not
// failures.
var (
	errHelp    = errors.New("help requested")
	errVersion = errors.New("version requested")
)

// version is stamped with -ldflags "-X main.version=..."; otherwise the
// module's build info supplies it.
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

const usageHead = `usage: sockfsd [flags] MOUNTPOINT

Serves the Linux socket layer, rebuilt in user space, as a FUSE filesystem
at MOUNTPOINT, with its own IPv4 stack on a TAP device.

flags:
`

func newFlagSet(cfg *config, raw *rawFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("sockfsd", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by main
	fs.StringVar(&cfg.tap, "tap", "sock0", "TAP `NAME` to send and receive Ethernet frames on (created if missing, removed at exit if created)")
	fs.StringVar(&raw.addr, "addr", "198.18.0.2/24", "the stack's own IPv4 address and prefix (`CIDR`)")
	fs.StringVar(&raw.hostAddr, "host-addr", "198.18.0.1/24", "address for the kernel's side of the TAP (`CIDR`), or none to leave it alone")
	fs.StringVar(&raw.gateway, "gateway", "", "default route of the stack (`IP`)")
	fs.StringVar(&raw.addr6, "addr6", "2001:2::2/64", "the stack's own IPv6 address and prefix (`CIDR`), or none for no IPv6; a link-local address is derived from the MAC")
	fs.StringVar(&raw.hostAddr6, "host-addr6", "2001:2::1/64", "IPv6 address for the kernel's side of the TAP, added without DAD (`CIDR`), or none to leave it alone")
	fs.StringVar(&raw.gateway6, "gateway6", "", "default IPv6 route of the stack (`IP`)")
	fs.StringVar(&raw.dad, "dad", "on", "IPv6 duplicate address detection on the stack's addresses, on or off (`MODE`)")
	fs.IntVar(&cfg.mtu, "mtu", 1500, "`MTU` of the TAP, both sides (68 to 65535)")
	fs.BoolVar(&cfg.offload, "offload", false, "open the TAP with virtio-net headers and let the kernel hand over checksum-offloaded and TSO super-frames (see docs/sockfsd.md)")
	fs.StringVar(&raw.netem, "netem", "", "impair every frame both ways, e.g. \"loss 2% delay 10ms\" (`SPEC`)")
	fs.Uint64Var(&cfg.netemSeed, "netem-seed", 1, "seed of --netem's random choices, for repeatable runs (`N`)")
	fs.StringVar(&cfg.pcap, "pcap", "", "write every frame sent or received to `FILE` in pcap format")
	fs.BoolVar(&cfg.allowOther, "allow-other", false, "let users other than the mounting one use the mount")
	fs.StringVar(&cfg.congestion, "tcp-congestion", "cubic", "TCP congestion control, cubic or reno (`NAME`; net.ipv4.tcp_congestion_control)")
	fs.DurationVar(&cfg.timeWait, "time-wait", 60*time.Second, "how long a closed TCP connection stays in TIME_WAIT (`DURATION`, 2 MSL; 1s to 10m)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile (runtime/pprof) of the whole run to `FILE`, for go tool pprof")
	fs.DurationVar(&cfg.finTimeout, "tcp-fin-timeout", 60*time.Second, "how long an orphaned TCP connection waits in FIN_WAIT2 for the peer's FIN (`DURATION`; net.ipv4.tcp_fin_timeout; 1s to 10m)")
	fs.IntVar(&cfg.synRetries, "tcp-syn-retries", 6, "SYN retransmissions after the linear ones before connect gives up (`N`; net.ipv4.tcp_syn_retries; 1 to 127)")
	fs.IntVar(&cfg.synLinear, "tcp-syn-linear-timeouts", 4, "SYN retransmissions at the initial 1 s RTO before backing off (`N`; net.ipv4.tcp_syn_linear_timeouts; 0 to 127)")
	fs.IntVar(&cfg.syncookies, "tcp-syncookies", 1, "SYN cookies for TCP over IPv4 and IPv6: 0 never, 1 when a listener's SYN queue overflows, 2 always (`N`; net.ipv4.tcp_syncookies)")
	fs.BoolVar(&raw.version, "version", false, "print the version and exit")
	return fs
}

// rawFlags are the flag values that need parsing after flag.Parse.
type rawFlags struct {
	addr, hostAddr, gateway, netem  string
	addr6, hostAddr6, gateway6, dad string
	version                         bool
}

// usage is --help's text.
func usage() string {
	var b strings.Builder
	b.WriteString(usageHead)
	var cfg config
	var raw rawFlags
	fs := newFlagSet(&cfg, &raw)
	fs.SetOutput(&b)
	fs.PrintDefaults()
	b.WriteString("  -help\n    \tprint this help and exit\n")
	return b.String()
}

// parseArgs parses and checks the command line. Each error is one line
// naming the flag and the value.
func parseArgs(args []string) (*config, error) {
	cfg := &config{}
	var raw rawFlags
	fs := newFlagSet(cfg, &raw)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if raw.version {
		return nil, errVersion
	}
	switch fs.NArg() {
	case 0:
		return nil, errors.New("missing MOUNTPOINT")
	case 1:
		cfg.mountpoint = fs.Arg(0)
	default:
		return nil, fmt.Errorf("one MOUNTPOINT, got %d arguments: %q", fs.NArg(), fs.Args())
	}
	if cfg.mountpoint == "" {
		return nil, errors.New("empty MOUNTPOINT")
	}
	if err := checkIfname(cfg.tap); err != nil {
		return nil, fmt.Errorf("bad --tap %q: %v", cfg.tap, err)
	}
	var err error
	if cfg.addr, err = parseIPv4Prefix(raw.addr); err != nil {
		return nil, fmt.Errorf("bad --addr %q: %v", raw.addr, err)
	}
	if raw.hostAddr != "none" {
		if cfg.hostAddr, err = parseIPv4Prefix(raw.hostAddr); err != nil {
			return nil, fmt.Errorf("bad --host-addr %q: %v", raw.hostAddr, err)
		}
		if cfg.hostAddr.Addr() == cfg.addr.Addr() {
			return nil, fmt.Errorf("bad --host-addr %q: the same address as --addr", raw.hostAddr)
		}
		if !cfg.addr.Masked().Contains(cfg.hostAddr.Addr()) {
			return nil, fmt.Errorf("bad --host-addr %q: not on --addr's network %v", raw.hostAddr, cfg.addr.Masked())
		}
	}
	if raw.gateway != "" {
		gw, err := netip.ParseAddr(raw.gateway)
		switch {
		case err != nil:
			return nil, fmt.Errorf("bad --gateway %q: not an IP address", raw.gateway)
		case !gw.Is4():
			return nil, fmt.Errorf("bad --gateway %q: not an IPv4 address", raw.gateway)
		case gw == cfg.addr.Addr():
			return nil, fmt.Errorf("bad --gateway %q: the stack's own address", raw.gateway)
		case !cfg.addr.Masked().Contains(gw):
			return nil, fmt.Errorf("bad --gateway %q: not on --addr's network %v", raw.gateway, cfg.addr.Masked())
		}
		cfg.gateway = gw
	}
	if err := parseFlags6(cfg, raw); err != nil {
		return nil, err
	}
	if cfg.mtu < 68 || cfg.mtu > 65535 {
		return nil, fmt.Errorf("bad --mtu %d: want 68 to 65535", cfg.mtu)
	}
	switch cfg.congestion {
	case "cubic", "reno":
	default:
		return nil, fmt.Errorf("bad --tcp-congestion %q: want cubic or reno", cfg.congestion)
	}
	if cfg.timeWait < time.Second || cfg.timeWait > 10*time.Minute {
		return nil, fmt.Errorf("bad --time-wait %v: want 1s to 10m", cfg.timeWait)
	}
	if cfg.finTimeout < time.Second || cfg.finTimeout > 10*time.Minute {
		return nil, fmt.Errorf("bad --tcp-fin-timeout %v: want 1s to 10m", cfg.finTimeout)
	}
	if cfg.synRetries < 1 || cfg.synRetries > 127 {
		return nil, fmt.Errorf("bad --tcp-syn-retries %d: want 1 to 127", cfg.synRetries)
	}
	if cfg.synLinear < 0 || cfg.synLinear > 127 {
		return nil, fmt.Errorf("bad --tcp-syn-linear-timeouts %d: want 0 to 127", cfg.synLinear)
	}
	if cfg.syncookies < 0 || cfg.syncookies > 2 {
		return nil, fmt.Errorf("bad --tcp-syncookies %d: want 0, 1 or 2", cfg.syncookies)
	}
	if raw.netem != "" {
		spec, err := netdev.ParseNetem(raw.netem)
		if err != nil {
			return nil, fmt.Errorf("bad --netem %q: %v", raw.netem, err)
		}
		cfg.netem = &spec
	}
	return cfg, nil
}

// parseIPv4Prefix parses an interface address in CIDR form: an IPv4 host
// address with its prefix length, which is neither the network's own
// address nor its broadcast address.
func parseIPv4Prefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if _, aerr := netip.ParseAddr(s); aerr == nil {
			return p, errors.New("no prefix length (e.g. /24)")
		}
		return p, errors.New("not an IPv4 address with a prefix length (CIDR)")
	}
	if !p.Addr().Is4() {
		return p, errors.New("not an IPv4 address")
	}
	if p.Bits() == 0 || p.Bits() > 30 {
		return p, errors.New("prefix length must be 1 to 30")
	}
	if p.Addr() == p.Masked().Addr() {
		return p, errors.New("that is the network's own address")
	}
	if p.Addr() == broadcast(p) {
		return p, errors.New("that is the network's broadcast address")
	}
	return p, nil
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// checkIfname checks an interface name as dev_valid_name does.
func checkIfname(name string) error {
	const ifnamsiz = 16
	switch {
	case name == "":
		return errors.New("empty interface name")
	case len(name) >= ifnamsiz:
		return errors.New("longer than " + strconv.Itoa(ifnamsiz-1) + " bytes")
	case name == "." || name == "..":
		return errors.New("not an interface name")
	case strings.ContainsAny(name, "/: \t\n"):
		return errors.New("contains '/', ':' or white space")
	}
	return nil
}
