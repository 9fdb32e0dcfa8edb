package inet6

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sockfs/inet"
	inethdr "sockfs/inet/header"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// linuxTCP6 is /proc/net/tcp6 as Linux 6.x wrote it for a listener on
// [::1]:7000, an accepted connection with 5 bytes unread, its client, and
// a TIME_WAIT entry (the kernel's pointers in the 17th column).
const linuxTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1B58 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 14872 1 00000000762719ff 100 0 0 10 0
   1: 00000000000000000000000001000000:1B58 00000000000000000000000001000000:9E0A 01 00000000:00000005 00:00000000 00000000     0        0 14874 1 00000000cbbe9f55 20 4 30 10 -1
   2: 00000000000000000000000001000000:9E0A 00000000000000000000000001000000:1B58 01 00000000:00000000 00:00000000 00000000     0        0 14873 2 00000000e39f498d 20 0 0 11 -1
   3: 00000000000000000000000001000000:9E0E 00000000000000000000000001000000:1B58 06 00000000:00000000 03:0000175C 00000000     0        0 0 3 00000000c358f25a
`

// tcp6Row is the layout of a row of /proc/net/tcp6: get_tcp6_sock's
// format, or get_openreq6's and get_timewait6_sock's shorter one.
var tcp6Row = regexp.MustCompile(`^ {0,3}[0-9]+: [0-9A-F]{32}:[0-9A-F]{4} [0-9A-F]{32}:[0-9A-F]{4} [0-9A-F]{2} [0-9A-F]{8}:[0-9A-F]{8} [0-9A-F]{2}:[0-9A-F]{8} [0-9A-F]{8} [ 0-9]{4}[0-9] [ 0-9]{7}[0-9] [0-9]+ [0-9]+ [0-9a-f]{16}( [0-9]+ [0-9]+ [0-9]+ [0-9]+ -?[0-9]+)?$`)

// procText is net/NAME of u.
func procText(t *testing.T, u *udpHost, name string) string {
	t.Helper()
	files := u.h.SockNet.ProcNetFiles()
	i := slices.IndexFunc(files, func(f socket.ProcNetFile) bool { return f.Name == name })
	if i < 0 {
		t.Fatalf("no net/%s", name)
	}
	var b bytes.Buffer
	files[i].Show(&b)
	return b.String()
}

// tcp6Rows checks net/tcp6 of u line by line against Linux's layout and
// returns its rows by local:remote address pair (columns 2 and 3).
func tcp6Rows(t *testing.T, u *udpHost) map[string][]string {
	t.Helper()
	text := procText(t, u, "tcp6")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if hdr := strings.SplitAfter(linuxTCP6, "\n")[0]; lines[0]+"\n" != hdr {
		t.Fatalf("header %q, want %q", lines[0], hdr)
	}
	rows := map[string][]string{}
	for i, l := range lines[1:] {
		if !tcp6Row.MatchString(l) || !strings.HasPrefix(l, fmt.Sprintf("%4d: ", i)) {
			t.Fatalf("row %d is not in /proc/net/tcp6's layout: %q\n%s", i, l, text)
		}
		f := strings.Fields(l)
		rows[f[1]+" "+f[2]] = f[3:]
	}
	return rows
}

// The layout check accepts Linux's own file, so it can tell.
func TestTCP6RowMatchesLinux(t *testing.T) {
	for _, l := range strings.Split(strings.TrimSuffix(linuxTCP6, "\n"), "\n")[1:] {
		if !tcp6Row.MatchString(l) {
			t.Fatalf("Linux's row %q does not match", l)
		}
	}
	if tcp6Row.MatchString("   0: 0100007F:1B58 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0") {
		t.Fatal("a net/tcp row passes for a net/tcp6 one")
	}
}

// ProcAddr6 prints each 32-bit word of the address as Linux's %08X of
// s6_addr32[i] does on a little-endian machine; a v4-mapped address in
// its 16-byte form.
func TestProcAddr6(t *testing.T) {
	for in, want := range map[string]string{
		"::1":               "00000000000000000000000001000000",
		"2001:2::2":         "02000120000000000000000002000000",
		"::":                "00000000000000000000000000000000",
		"::ffff:198.18.0.1": "0000000000000000FFFF0000010012C6",
		"198.18.0.1":        "0000000000000000FFFF0000010012C6",
	} {
		var b bytes.Buffer
		inet.ProcAddr6(&b, netip.MustParseAddr(in))
		if b.String() != want {
			t.Errorf("%s: %s, want %s", in, b.String(), want)
		}
	}
}

// net/tcp6 between two stacks: the listener, both ends of an established
// connection with its unread bytes, the TIME_WAIT entry of the end that
// closed first, in Linux's layout with the addresses as Linux prints them;
// net/tcp lists none of them, and net/tcp6 no AF_INET connection.
func TestProcNetTCP6(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	a := newUDPHost(t, pa, clk, 1)
	b := newUDPHost(t, pb, clk, 2)
	ctx := context.Background()
	step := func() { stackIdle(t); clk.Advance(5 * time.Millisecond) }

	ls, c := listenConnect(t, a, b, 7000)
	s := accept6(t, b, ls, step)
	if _, err := socket.Sendto(ctx, c, []byte("12345"), 0, netip.AddrPort{}); err != nil {
		t.Fatal(err)
	}
	step()
	// An AF_INET listener on b and a connection to it from a, for
	// net/tcp only.
	c4 := b.sock(t, socket.AF_INET, socket.SOCK_STREAM)
	listenOn(t, a.sock(t, socket.AF_INET, socket.SOCK_STREAM), "198.18.0.1:7001")
	connectStart(t, c4, netip.MustParseAddrPort("198.18.0.1:7001"))
	step()
	step()

	local, _ := c.Ops.Getname(c, false)
	cport := local.Port()
	const (
		hexA = "02000120000000000000000001000000" // 2001:2::1
		hexB = "02000120000000000000000002000000" // 2001:2::2
		any6 = "00000000000000000000000000000000"
	)
	rows := tcp6Rows(t, b)
	if len(rows) != 2 {
		t.Fatalf("b's net/tcp6 rows %v", rows)
	}
	lrow := rows[any6+":1B58 "+any6+":0000"]
	if lrow == nil || strings.Join(lrow[:3], " ") != "0A 00000000:00000000 00:00000000" ||
		lrow[6] != fmt.Sprint(ls.Ino) || lrow[len(lrow)-1] != "0" {
		t.Fatalf("listener row %v", lrow)
	}
	srow := rows[fmt.Sprintf("%s:1B58 %s:%04X", hexB, hexA, cport)]
	if srow == nil || strings.Join(srow[:2], " ") != "01 00000000:00000005" || srow[6] != fmt.Sprint(s.Ino) {
		t.Fatalf("server's row %v in %v", srow, rows)
	}
	// The receiver still owes quick ACKs (16 at the start, 15 after the
	// data's): icsk_ack.quick << 1, as Linux's "30" above.
	if srow[11] != "30" {
		t.Fatalf("server's quick column %q, want 30 as Linux's", srow[11])
	}
	crows := tcp6Rows(t, a)
	crow := crows[fmt.Sprintf("%s:%04X %s:1B58", hexA, cport, hexB)]
	if len(crows) != 1 || crow == nil || crow[0] != "01" || crow[6] != fmt.Sprint(c.Ino) {
		t.Fatalf("client's rows %v", crows)
	}
	for _, u := range []*udpHost{a, b} {
		tcp := procText(t, u, "tcp")
		lines := strings.Split(strings.TrimSuffix(tcp, "\n"), "\n")[1:]
		for _, l := range lines {
			if !strings.Contains(l, ":1B59 ") {
				t.Fatalf("net/tcp lists an AF_INET6 sock:\n%s", tcp)
			}
		}
		if len(lines) == 0 {
			t.Fatalf("net/tcp lacks the AF_INET connection:\n%s", tcp)
		}
	}

	// The client closes first and ends in TIME_WAIT once the server's
	// FIN is in: a timewait entry, still in net/tcp6.
	if err := socket.Shutdown(c, socket.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	step()
	if err := socket.Shutdown(s, socket.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	step()
	c.Ops.Release(c)
	step()
	// TIME_WAIT lasts 60 s: 6000 ticks, less the few steps since.
	want := regexp.MustCompile(`^06 00000000:00000000 03:000017[0-6][0-9A-F] 00000000 0 0 0 3 0000000000000000$`)
	crows = tcp6Rows(t, a)
	crow = crows[fmt.Sprintf("%s:%04X %s:1B58", hexA, cport, hexB)]
	if !want.MatchString(strings.Join(crow, " ")) {
		t.Fatalf("client's row %v, want %v; rows %v", crow, want, crows)
	}
}

// A SYN that is never ACKed leaves a request sock: get_openreq6's row,
// SYN_RECV with the SYN-ACK's retransmit timer and no inode.
func TestProcNetTCP6Openreq(t *testing.T) {
	h, w := newWiredUDPHost(t, ktime.NewManual())
	listenOn(t, h.stream(t), "[2001:2::2]:80")
	seg := make([]byte, inethdr.TCPMinLen)
	inethdr.Tcphdr(seg).Encode(inethdr.TCPFields{Source: 40000, Dest: 80, Seq: 1000, Flags: 0x02, Window: 65535})
	sum := header.PseudoHeaderSum(w.addr.As16(), h.addr.As16(), header.NEXTHDR_TCP, len(seg))
	inethdr.Tcphdr(seg).SetCheck(header.Fold(header.Checksum(seg, sum)))
	w.send(h.dev.HWAddr, ip6Packet(w.addr, h.addr, header.NEXTHDR_TCP, 64, seg))
	stackIdle(t)
	rows := tcp6Rows(t, h)
	req := rows["02000120000000000000000002000000:0050 02000120000000000000000099000000:9C40"]
	// The SYN-ACK's first retransmission is 1 s (100 ticks) away.
	if want := "03 00000000:00000000 01:00000064 00000000 0 0 0 0 0000000000000000"; strings.Join(req, " ") != want {
		t.Fatalf("request sock row %v, want %q; rows %v", req, want, rows)
	}
}

// newWiredUDPHost is a host with TCP and UDP (2001:2::2) whose link's far
// end is a wire the test drives, its neighbour entry already known.
func newWiredUDPHost(t *testing.T, clk ktime.Clock) (*udpHost, *wire) {
	pa, pb := netdev.NewPair(1024)
	h := newUDPHost(t, pa, clk, 2)
	w := newWire(t, pb)
	h.n.ndTbl.NeighUpdate(h.dev, w.addr, w.mac, true)
	return h, w
}
