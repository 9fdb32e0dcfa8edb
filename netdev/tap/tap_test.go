package tap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/internal/race"
	"sockfs/netdev"
)

// netnsEnv is set for the test binary re-executed inside its own network
// namespace, to the namespace it was started from, so that it does not
// re-execute itself again and can check that it really left.
const netnsEnv = "SOCKFS_TAP_TEST_NETNS"

// TestMain runs the tests in a network namespace of their own: every frame
// they write reaches only a kernel stack that exists for this test run.
func TestMain(m *testing.M) {
	if os.Geteuid() == 0 && !privateNetns() {
		cmd := exec.Command("unshare", append([]string{"-n", "--", os.Args[0]}, os.Args[1:]...)...)
		parent, err := os.Readlink("/proc/self/ns/net")
		if err != nil {
			fmt.Fprintf(os.Stderr, "tap tests: %v\n", err)
			os.Exit(1)
		}
		cmd.Env = append(os.Environ(), netnsEnv+"="+parent)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		err = cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			os.Exit(0)
		case errors.As(err, &exit):
			os.Exit(exit.ExitCode())
		default:
			fmt.Fprintf(os.Stderr, "tap tests: re-exec under unshare -n: %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// privateNetns reports whether this process is in a network namespace of
// its own: the one TestMain made, or one that differs from init's. When
// init's cannot be read (a sandbox may hide it) it cannot tell, and says no.
func privateNetns() bool {
	self, err1 := os.Readlink("/proc/self/ns/net")
	if parent := os.Getenv(netnsEnv); parent != "" {
		return err1 == nil && strings.HasPrefix(parent, "net:[") && self != parent
	}
	init, err2 := os.Readlink("/proc/1/ns/net")
	return err1 == nil && err2 == nil && self != init
}

// needNetns skips without root and fails if the namespace is not private.
func needNetns(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for /dev/net/tun and a network namespace")
	}
	if !privateNetns() {
		t.Fatal("not in a private network namespace; refusing to create interfaces")
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
}

func ip(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	return string(out), err
}

func exists(t testing.TB, name string) bool {
	t.Helper()
	ok, err := ifExists(name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

var (
	hostAddr = netip.MustParsePrefix("198.18.0.1/24")
	ourIP    = [4]byte{198, 18, 0, 2}
	ourMAC   = [6]byte{0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}
)

// arpRequest builds "who has 198.18.0.1? tell 198.18.0.2" from ourMAC.
func arpRequest() *netdev.SkBuff {
	skb := netdev.AllocSkb(netdev.EthHlen + header.ARPLen)
	header.Arphdr(skb.Put(header.ARPLen)).Encode(header.ARPFields{
		Op:  header.ARPOP_REQUEST,
		Sha: ourMAC,
		Sip: ourIP,
		Tip: hostAddr.Addr().As4(),
	})
	netdev.EthHeaderPush(skb, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ourMAC, netdev.ETH_P_ARP)
	return skb
}

// arpReplies runs d's receive loop, passing on the kernel's ARP replies to
// us and freeing everything else (IPv6 neighbour discovery and the like).
func arpReplies(d *Device) (<-chan *netdev.SkBuff, <-chan error) {
	replies := make(chan *netdev.SkBuff, 16)
	done := make(chan error, 1)
	go func() {
		done <- d.Receive(func(skb *netdev.SkBuff) {
			eth, ok := netdev.ParseEthhdr(skb.Data())
			if ok && eth.Proto() == netdev.ETH_P_ARP && eth.Dest() == ourMAC {
				if arp, ok := header.ParseArphdr(skb.Data()[netdev.EthHlen:]); ok && arp.Op() == header.ARPOP_REPLY {
					replies <- skb
					return
				}
			}
			skb.Free()
		})
	}()
	return replies, done
}

// opens are the two ways to open a TAP: water's, and OpenOffload's with a
// virtio-net header and every offload sockfsd asks for.
var opens = []struct {
	name string
	open func(name string, mtu int) (*Device, error)
}{
	{"plain", Open},
	{"offload", func(name string, mtu int) (*Device, error) {
		return OpenOffload(name, mtu, OffloadCsum|OffloadTSO4|OffloadTSO6)
	}},
}

func TestTapARPWithTheKernel(t *testing.T) {
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) { testTapARP(t, o.open) })
	}
}

func testTapARP(t *testing.T, open func(string, int) (*Device, error)) {
	needNetns(t)
	d, err := open("sockt0", 1400)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.Created() || d.Name() != "sockt0" || d.MTU() != 1400 {
		t.Fatalf("Created %v Name %q MTU %d", d.Created(), d.Name(), d.MTU())
	}
	if err := d.ConfigureHost(hostAddr); err != nil {
		t.Fatal(err)
	}
	out, err := ip(t, "-4", "addr", "show", "dev", "sockt0")
	if err != nil || !strings.Contains(out, "inet 198.18.0.1/24") || !strings.Contains(out, "mtu 1400") || !strings.Contains(out, ",UP") {
		t.Fatalf("kernel side not configured (%v):\n%s", err, out)
	}

	replies, done := arpReplies(d)
	req := arpRequest()
	defer req.Free()
	var reply *netdev.SkBuff
	// The first request may race the link coming up; ask at most 5 times.
	for try := 0; try < 5 && reply == nil; try++ {
		if err := d.Xmit(req); err != nil {
			t.Fatal(err)
		}
		select {
		case reply = <-replies:
		case <-time.After(time.Second):
		}
	}
	if reply == nil {
		t.Fatal("no ARP reply from the kernel")
	}
	arp, _ := header.ParseArphdr(reply.Data()[netdev.EthHlen:])
	if arp.Sip() != hostAddr.Addr().As4() || arp.Tip() != ourIP || arp.Tha() != ourMAC {
		t.Errorf("reply sip %v tip %v tha %x", arp.Sip(), arp.Tip(), arp.Tha())
	}
	if eth, _ := netdev.ParseEthhdr(reply.Data()); eth.Source() != arp.Sha() {
		t.Errorf("reply from %x claims %x", eth.Source(), arp.Sha())
	}
	reply.Free()

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Receive after Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end Receive")
	}
	if exists(t, "sockt0") {
		t.Error("the TAP Open created is still there after Close")
	}
}

func TestTapPersistentLeftAlone(t *testing.T) {
	needNetns(t)
	if out, err := ip(t, "tuntap", "add", "dev", "sockp0", "mode", "tap"); err != nil {
		t.Fatalf("ip tuntap add: %v: %s", err, out)
	}
	defer ip(t, "tuntap", "del", "dev", "sockp0", "mode", "tap")
	for range 2 { // the second round proves the first left it persistent
		d, err := Open("sockp0", 1500)
		if err != nil {
			t.Fatal(err)
		}
		if d.Created() {
			t.Error("Created() on a TAP that existed")
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if !exists(t, "sockp0") {
			t.Fatal("Close removed a persistent TAP it did not create")
		}
	}
}

func TestTapBusy(t *testing.T) {
	needNetns(t)
	d, err := Open("sockb0", 1500)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = Open("sockb0", 1500)
	if err == nil || err.Error() != "tap sockb0: device busy (another sockfsd?)" || !errors.Is(err, syscall.EBUSY) {
		t.Errorf("second Open: %v", err)
	}
}

func TestTapBadArguments(t *testing.T) {
	needNetns(t)
	if _, err := Open("a-name-that-is-too-long", 1500); err == nil || !strings.Contains(err.Error(), "bad interface name") {
		t.Errorf("long name: %v", err)
	}
	if _, err := Open("sockm0", 20); err == nil || !strings.Contains(err.Error(), "bad MTU 20") {
		t.Errorf("tiny MTU: %v", err)
	}
	d, err := Open("sockm0", 1500)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.ConfigureHost(netip.MustParsePrefix("fd00::1/64")); err == nil {
		t.Error("ConfigureHost took an IPv6 prefix")
	}
}

// A Receive blocked in read with nothing to read ends on Close.
func TestTapCloseUnblocksReceive(t *testing.T) {
	needNetns(t)
	d, err := Open("sockc0", 1500)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- d.Receive(func(skb *netdev.SkBuff) { skb.Free() }) }()
	// The link is down, so the kernel sends nothing; Receive sits in read
	// or is about to: either way Close must end it.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Receive: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not unblock Receive")
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// In steady state a request out and its reply in allocate nothing: the
// write goes straight from the skb and the read straight into a pooled one.
func TestTapNoAllocsPerFrame(t *testing.T) {
	for _, o := range opens {
		t.Run(o.name, func(t *testing.T) { testTapNoAllocs(t, o.open) })
	}
}

func testTapNoAllocs(t *testing.T, open func(string, int) (*Device, error)) {
	needNetns(t)
	if race.Enabled {
		t.Skip("sync.Pool drops Puts at random under -race")
	}
	d, err := open("socka0", 1500)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.ConfigureHost(hostAddr); err != nil {
		t.Fatal(err)
	}
	replies, _ := arpReplies(d)
	req := arpRequest()
	defer req.Free()
	timeout := time.NewTimer(time.Hour)
	failed := false
	roundTrip := func() {
		if err := d.Xmit(req); err != nil {
			failed = true
			return
		}
		timeout.Reset(5 * time.Second)
		select {
		case r := <-replies:
			r.Free()
		case <-timeout.C:
			failed = true
		}
	}
	for range 20 { // warm up the pools and the neighbour entry
		roundTrip()
	}
	allocs := testing.AllocsPerRun(200, roundTrip)
	if failed {
		t.Fatal("an ARP round trip failed")
	}
	if allocs != 0 {
		t.Errorf("%.2f allocations per ARP round trip", allocs)
	}
}

func BenchmarkTapXmit(b *testing.B) {
	needNetns(b)
	d, err := Open("sockx0", 1500)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	if err := d.ConfigureHost(hostAddr); err != nil {
		b.Fatal(err)
	}
	// A full-size frame for a MAC that is not the kernel's: it is counted
	// and dropped as PACKET_OTHERHOST, never routed anywhere.
	skb := netdev.AllocSkb(1514)
	clear(skb.Put(1500))
	netdev.EthHeaderPush(skb, [6]byte{0x02, 0, 0, 0, 0, 0x99}, ourMAC, 0x88b5)
	defer skb.Free()
	b.ReportAllocs()
	b.SetBytes(int64(skb.Len()))
	for b.Loop() {
		if err := d.Xmit(skb); err != nil {
			b.Fatal(err)
		}
	}
}

// vnetRx turns the header into the skb's checksum state and segment size,
// takes it off, and refuses the GSO types this TAP never enabled.
func TestVnetRx(t *testing.T) {
	cases := []struct {
		hdr      netdev.VirtioNetFields
		ok       bool
		summed   uint8
		gsoSize  int
		describe string
	}{
		{netdev.VirtioNetFields{}, true, netdev.CHECKSUM_NONE, 0, "plain frame"},
		{netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_DATA_VALID}, true, netdev.CHECKSUM_UNNECESSARY, 0, "verified"},
		{netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, CsumStart: 34, CsumOffset: 16}, true, netdev.CHECKSUM_PARTIAL, 0, "partial"},
		{netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV4, GsoSize: 1448, HdrLen: 66, CsumStart: 34, CsumOffset: 16}, true, netdev.CHECKSUM_PARTIAL, 1448, "TSO4 super-frame"},
		{netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV4 | netdev.VIRTIO_NET_HDR_GSO_ECN, GsoSize: 1448}, true, netdev.CHECKSUM_PARTIAL, 1448, "TSO4 with ECN"},
		{netdev.VirtioNetFields{GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV4}, false, 0, 0, "TSO4 without a segment size"},
		{netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV6, GsoSize: 1428, HdrLen: 86, CsumStart: 54, CsumOffset: 16}, true, netdev.CHECKSUM_PARTIAL, 1428, "TSO6 super-frame"},
		{netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_DATA_VALID, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV6 | netdev.VIRTIO_NET_HDR_GSO_ECN, GsoSize: 1428}, true, netdev.CHECKSUM_UNNECESSARY, 1428, "TSO6 with ECN, verified"},
		{netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV6}, false, 0, 0, "TSO6 without a segment size"},
		{netdev.VirtioNetFields{GsoType: netdev.VIRTIO_NET_HDR_GSO_UDP, GsoSize: 1428}, false, 0, 0, "UFO, never enabled"},
	}
	for _, c := range cases {
		skb := netdev.AllocSkb(netdev.VirtioNetHdrLen + 60)
		netdev.VirtioNetHdr(skb.Put(netdev.VirtioNetHdrLen)).Encode(c.hdr)
		frame := skb.Put(60)
		frame[0] = 0xab
		ok := vnetRx(skb)
		if ok != c.ok {
			t.Errorf("%s: vnetRx = %v", c.describe, ok)
		} else if ok && (skb.IPSummed != c.summed || skb.GsoSize != c.gsoSize || skb.Len() != 60 || skb.Data()[0] != 0xab) {
			t.Errorf("%s: ip_summed %d gso_size %d len %d", c.describe, skb.IPSummed, skb.GsoSize, skb.Len())
		}
		skb.Free()
	}
	short := netdev.AllocSkb(9)
	short.Put(9)
	if vnetRx(short) {
		t.Error("vnetRx took 9 bytes")
	}
	short.Free()
}

// vnetHdrFromSkb: a frame with its checksum done crosses with a zero
// header; a single segment left partial asks for the checksum from the TCP
// header on; a super-segment is TSO4 or TSO6 by its EtherType, csum_start
// and hdr_len past the family's network header.
func TestVnetHdrFromSkb(t *testing.T) {
	frame := func(proto uint16, nhlen int, summed uint8, gsoSize int) *netdev.SkBuff {
		skb := netdev.AllocSkb(netdev.EthHlen + nhlen + 32 + 4000)
		b := skb.Put(netdev.EthHlen + nhlen + 32 + 4000)
		binary.BigEndian.PutUint16(b[12:], proto)
		b[netdev.EthHlen+nhlen+12] = 8 << 4 // doff: 32 bytes of TCP header
		skb.TransportHeader = skb.Offset() + netdev.EthHlen + nhlen
		skb.IPSummed, skb.GsoSize = summed, gsoSize
		return skb
	}
	for _, c := range []struct {
		skb      *netdev.SkBuff
		want     netdev.VirtioNetFields
		describe string
	}{
		{frame(netdev.ETH_P_IP, 20, netdev.CHECKSUM_NONE, 0), netdev.VirtioNetFields{}, "checksummed"},
		{frame(netdev.ETH_P_IPV6, 40, netdev.CHECKSUM_PARTIAL, 0), netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, CsumStart: 54, CsumOffset: 16}, "partial, one segment"},
		{frame(netdev.ETH_P_IP, 20, netdev.CHECKSUM_PARTIAL, 1448), netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV4,
			HdrLen: 66, GsoSize: 1448, CsumStart: 34, CsumOffset: 16}, "TSO4"},
		{frame(netdev.ETH_P_IPV6, 40, netdev.CHECKSUM_PARTIAL, 1428), netdev.VirtioNetFields{Flags: netdev.VIRTIO_NET_HDR_F_NEEDS_CSUM, GsoType: netdev.VIRTIO_NET_HDR_GSO_TCPV6,
			HdrLen: 86, GsoSize: 1428, CsumStart: 54, CsumOffset: 16}, "TSO6"},
	} {
		if got := vnetHdrFromSkb(c.skb); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.describe, got, c.want)
		}
		c.skb.Free()
	}
}
