package fusefs

import (
	"errors"
	"net/netip"
	"reflect"
	"syscall"
	"testing"

	"sockfs/socket"
)

// errnoOf is the errno a parse failure reports.
func errnoOf(err error) syscall.Errno {
	var bi *badInput
	if errors.As(err, &bi) {
		return bi.errno
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

func TestParseSocketTriple(t *testing.T) {
	ok := []struct {
		in   string
		want socketTriple
	}{
		{"AF_INET SOCK_STREAM 6", socketTriple{2, socket.SOCK_STREAM, 6}},
		{"AF_INET SOCK_STREAM 6\n", socketTriple{2, socket.SOCK_STREAM, 6}},
		{"PF_INET SOCK_DGRAM IPPROTO_UDP", socketTriple{2, socket.SOCK_DGRAM, 17}},
		{"2 1 0", socketTriple{2, socket.SOCK_STREAM, 0}},
		{"2 2 17", socketTriple{2, socket.SOCK_DGRAM, 17}},
		{"AF_INET SOCK_RAW IPPROTO_ICMP", socketTriple{2, socket.SOCK_RAW, 1}},
		{"AF_INET 3 1", socketTriple{2, socket.SOCK_RAW, 1}},
		{"  AF_INET\tSOCK_STREAM  IPPROTO_TCP  ", socketTriple{2, socket.SOCK_STREAM, 6}},
		{"AF_INET6 SOCK_STREAM 0", socketTriple{10, socket.SOCK_STREAM, 0}},
		{"AF_UNIX SOCK_SEQPACKET 0", socketTriple{1, 5, 0}},
		{"AF_INET SOCK_STREAM IPPROTO_SCTP", socketTriple{2, socket.SOCK_STREAM, 132}},
	}
	for _, c := range ok {
		got, err := parseSocketTriple(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseSocketTriple(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []struct {
		in   string
		want syscall.Errno
	}{
		{"", syscall.EINVAL},
		{"\n", syscall.EINVAL},
		{"AF_INET SOCK_STREAM", syscall.EINVAL},
		{"AF_INET SOCK_STREAM 6 7", syscall.EINVAL},
		{"AF_BOGUS SOCK_STREAM 6", syscall.EAFNOSUPPORT},
		{"PF_BOGUS SOCK_STREAM 6", syscall.EAFNOSUPPORT},
		{"inet SOCK_STREAM 6", syscall.EAFNOSUPPORT},
		{"AF_INET SOCK_BOGUS 6", syscall.EINVAL},
		{"AF_INET stream 6", syscall.EINVAL},
		{"AF_INET SOCK_STREAM IPPROTO_BOGUS", syscall.EINVAL},
		{"AF_INET SOCK_STREAM tcp", syscall.EINVAL},
	}
	for _, c := range bad {
		_, err := parseSocketTriple(c.in)
		if got := errnoOf(err); got != c.want {
			t.Errorf("parseSocketTriple(%q): %v (%v), want %v", c.in, got, err, c.want)
		}
	}
}

func TestParseAddrPort(t *testing.T) {
	ok := []struct {
		in   string
		want netip.AddrPort
	}{
		{"198.18.0.1:80", netip.MustParseAddrPort("198.18.0.1:80")},
		{"0.0.0.0:0", netip.MustParseAddrPort("0.0.0.0:0")},
		{"*:8080", netip.MustParseAddrPort("0.0.0.0:8080")},
		{"127.0.0.1:65535", netip.MustParseAddrPort("127.0.0.1:65535")},
		{"[2001:2::2]:80", netip.MustParseAddrPort("[2001:2::2]:80")},
		{"[fe80::1%sock0]:80", netip.MustParseAddrPort("[fe80::1%sock0]:80")},
		{"[::ffff:198.18.0.1]:9", netip.MustParseAddrPort("[::ffff:198.18.0.1]:9")},
		{"[::]:0", netip.MustParseAddrPort("[::]:0")},
	}
	for _, c := range ok {
		got, err := parseAddrPort(c.in)
		if err != nil || got != c.want {
			t.Errorf("parseAddrPort(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{
		"", "198.18.0.1", "198.18.0.1:", ":80", "198.18.0.1:65536", "198.18.0.1:-1",
		"198.18.0.1:http", "localhost:80", "::1:80", "1.2.3:80", "*:x",
		"[198.18.0.1]:80", "[::1]", "[::1]:", "[::1%]:80", "[]:80", "[::1:80", "::1]:80",
	} {
		if _, err := parseAddrPort(in); errnoOf(err) != syscall.EINVAL {
			t.Errorf("parseAddrPort(%q): %v, want EINVAL", in, err)
		}
	}
}

func TestParseCtl(t *testing.T) {
	rcvbuf, _ := socket.LookupSockopt("SO_RCVBUF")
	nodelay, _ := socket.LookupSockopt("TCP_NODELAY")
	ok := []struct {
		in   string
		name string
		want ctlArgs
	}{
		{"bind 0.0.0.0:80", "bind", ctlArgs{addr: netip.MustParseAddrPort("0.0.0.0:80")}},
		{"bind *:0\n", "bind", ctlArgs{addr: netip.MustParseAddrPort("0.0.0.0:0"), star: true}},
		{"connect [2001:2::1]:80", "connect", ctlArgs{addr: netip.MustParseAddrPort("[2001:2::1]:80")}},
		{"connect 198.18.0.1:7", "connect", ctlArgs{addr: netip.MustParseAddrPort("198.18.0.1:7")}},
		{"listen", "listen", ctlArgs{n: 128}},
		{"listen 5\n", "listen", ctlArgs{n: 5}},
		{"listen -1", "listen", ctlArgs{n: -1}},
		{"shutdown rd", "shutdown", ctlArgs{n: socket.SHUT_RD}},
		{"shutdown wr", "shutdown", ctlArgs{n: socket.SHUT_WR}},
		{"shutdown rdwr", "shutdown", ctlArgs{n: socket.SHUT_RDWR}},
		{"shutdown SHUT_WR", "shutdown", ctlArgs{n: socket.SHUT_WR}},
		{"setsockopt SO_RCVBUF 65536", "setsockopt", ctlArgs{opt: rcvbuf, n: 65536}},
		{"setsockopt SO_RCVBUF 2147483647", "setsockopt", ctlArgs{opt: rcvbuf, n: 2147483647}},
		{"setsockopt SO_LINGER -1", "setsockopt", ctlArgs{opt: mustOpt(t, "SO_LINGER"), n: -1}},
		{"getsockopt TCP_NODELAY\n", "getsockopt", ctlArgs{opt: nodelay}},
		{"setsockopt IP_MTU_DISCOVER IP_PMTUDISC_DO", "setsockopt", ctlArgs{opt: mustOpt(t, "IP_MTU_DISCOVER"), n: 2}},
		{"setsockopt IP_MTU_DISCOVER 3", "setsockopt", ctlArgs{opt: mustOpt(t, "IP_MTU_DISCOVER"), n: 3}},
		{"setsockopt ICMP6_FILTER FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFDffffffffFFFFFFFF00000001", "setsockopt",
			ctlArgs{opt: mustOpt(t, "ICMP6_FILTER"), words: []uint32{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0), 0xFFFFFFFD, ^uint32(0), ^uint32(0), 1}}},
		{"close", "close", ctlArgs{}},
		{"close\n", "close", ctlArgs{}},
	}
	for _, c := range ok {
		cmd, a, err := parseCtl(c.in)
		if err != nil || cmd.name != c.name || !reflect.DeepEqual(a, c.want) {
			t.Errorf("parseCtl(%q) = %v, %+v, %v; want %s %+v", c.in, cmd, a, err, c.name, c.want)
		}
	}
	bad := []struct {
		in   string
		want syscall.Errno
	}{
		{"", syscall.EINVAL},
		{"\n", syscall.EINVAL},
		{"frobnicate", syscall.EINVAL},
		{"BIND 0.0.0.0:80", syscall.EINVAL},
		{"bind", syscall.EINVAL},
		{"bind 0.0.0.0", syscall.EINVAL},
		{"bind 0.0.0.0:80 0.0.0.0:81", syscall.EINVAL},
		{"connect nowhere:80", syscall.EINVAL},
		{"listen x", syscall.EINVAL},
		{"listen 1 2", syscall.EINVAL},
		{"shutdown", syscall.EINVAL},
		{"shutdown both", syscall.EINVAL},
		{"setsockopt SO_RCVBUF", syscall.EINVAL},
		{"setsockopt SO_RCVBUF big", syscall.EINVAL},
		{"setsockopt SO_RCVBUF 99999999999", syscall.EINVAL}, // beyond a C int
		{"setsockopt SO_RCVBUF 2147483648", syscall.EINVAL},
		{"setsockopt SO_RCVBUF -2147483649", syscall.EINVAL},
		{"setsockopt SO_BOGUS 1", syscall.ENOPROTOOPT},
		{"setsockopt ICMP6_FILTER 0", syscall.EINVAL}, // 64 hex digits, not an int
		{"setsockopt ICMP6_FILTER 00000000000000000000000000000000000000000000000000000000000000000", syscall.EINVAL}, // 65
		{"setsockopt ICMP6_FILTER 0000000000000000000000000000000000000000000000000000000000000x00", syscall.EINVAL},
		{"getsockopt SO_BOGUS", syscall.ENOPROTOOPT},
		{"getsockopt", syscall.EINVAL},
		{"close now", syscall.EINVAL},
		{"listen\nclose", syscall.EINVAL},
	}
	for _, c := range bad {
		_, _, err := parseCtl(c.in)
		if got := errnoOf(err); got != c.want {
			t.Errorf("parseCtl(%q): %v (%v), want %v", c.in, got, err, c.want)
		}
	}
}

func mustOpt(t *testing.T, name string) socket.SockoptName {
	o, ok := socket.LookupSockopt(name)
	if !ok {
		t.Fatalf("no option %s", name)
	}
	return o
}

func TestParseIno(t *testing.T) {
	for in, want := range map[string]uint64{"2": 2, "12": 12, "18446744073709551615": 1<<64 - 1} {
		if got, ok := parseIno(in); !ok || got != want {
			t.Errorf("parseIno(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "0x1", "012", "+1", "-1", "socket", "1a", "18446744073709551616"} {
		if _, ok := parseIno(in); ok {
			t.Errorf("parseIno(%q) accepted", in)
		}
	}
}

func TestInodeRangesDisjoint(t *testing.T) {
	// A socket number and a file number never meet, and a socket's files
	// are distinct from each other and from every other socket's.
	seen := map[uint64]string{rootIno: "root", controlIno: "socket", netDirIno: "net"}
	for _, ino := range []uint64{2, 3, 1000, 1<<59 - 1} {
		if _, dup := seen[ino]; dup {
			t.Fatalf("socket %d collides", ino)
		}
		seen[ino] = "dir"
		for k := fileKind(0); k < nFileKinds; k++ {
			f := sockFileIno(ino, k)
			if who, dup := seen[f]; dup {
				t.Fatalf("file %d of socket %d collides with %s", k, ino, who)
			}
			seen[f] = "file"
		}
	}
}

func TestPollEvents(t *testing.T) {
	mask := uint32(socket.POLLIN | socket.POLLOUT | socket.POLLERR | socket.POLLHUP | socket.POLLRDHUP)
	got := pollEvents(mask)
	if uint32(got) != mask {
		t.Fatalf("pollEvents(%#x) = %#x", mask, uint32(got))
	}
	if pollEvents(0) != 0 {
		t.Fatal("pollEvents(0) != 0")
	}
}
