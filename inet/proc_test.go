package inet

import (
	"bytes"
	"strings"
	"testing"

	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// procFile renders one registered net/ file.
func procFile(t *testing.T, in *Net, name string) string {
	t.Helper()
	for _, f := range in.sn.ProcNetFiles() {
		if f.Name == name {
			var b bytes.Buffer
			f.Show(&b)
			return b.String()
		}
	}
	t.Fatalf("net/%s is not registered", name)
	return ""
}

// The header lines of Linux 6.x's files, byte for byte.
const (
	linuxUDPHeader   = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            "
	linuxRouteHeader = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       "
	linuxARPHeader   = "IP address       HW type     Flags       HW address            Mask     Device"
	linuxDevHeader   = "Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed"
)

func TestProcNetUDP(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	s := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), s, ap("10.0.0.2:53")); err != nil {
		t.Fatal(err)
	}
	c := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), c, ap("0.0.0.0:1234")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Connect(t.Context(), c, ap("10.0.0.1:4660"), 0); err != nil {
		t.Fatal(err)
	}
	sendto(t, a.socket(t, socket.SOCK_DGRAM, 0), "10.0.0.2:53", []byte("queued"))
	idleCheck(t, "the datagram queued", func() bool { return queued(s) == 1 })

	lines := strings.Split(strings.TrimSuffix(procFile(t, b.in, "udp"), "\n"), "\n")
	if lines[0] != linuxUDPHeader {
		t.Fatalf("header %q", lines[0])
	}
	want := map[string][]string{
		// slot, local, remote, st, tx:rx
		"0200000A:0035": {"53:", "0200000A:0035", "00000000:0000", "07"},
		"0200000A:04D2": {"82:", "0200000A:04D2", "0100000A:1234", "01"},
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for _, l := range lines[1:] {
		if len(l) != 127 {
			t.Errorf("row is %d bytes, not padded to 127: %q", len(l), l)
		}
		f := strings.Fields(l)
		if len(f) != 13 {
			t.Fatalf("row has %d fields: %q", len(f), l)
		}
		w, ok := want[f[1]]
		if !ok {
			t.Fatalf("unexpected row %q", l)
		}
		if f[0] != w[0] || f[2] != w[2] || f[3] != w[3] {
			t.Errorf("row %q, want %v", l, w)
		}
		if f[1] == "0200000A:0035" {
			rx := strings.Split(f[4], ":")[1]
			if rx == "00000000" {
				t.Errorf("rx_queue empty with a datagram queued: %q", l)
			}
			if f[9] != "1" && f[9] != "2" { // inode of the socket
				t.Errorf("inode %s", f[9])
			}
		}
	}
}

func TestProcNetRouteDevARP(t *testing.T) {
	_, b := newDgPair(t, ktime.NewManual())
	if err := b.in.SetGateway(ipv4(10, 0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	sendto(t, b.socket(t, socket.SOCK_DGRAM, 0), "10.0.0.1:9", []byte("resolve"))
	idleCheck(t, "the neighbour resolved", func() bool { return strings.Contains(procFile(t, b.in, "arp"), "0x2") })

	route := strings.Split(strings.TrimSuffix(procFile(t, b.in, "route"), "\n"), "\n")
	if route[0] != linuxRouteHeader {
		t.Fatalf("route header %q", route[0])
	}
	wantRoutes := []string{
		"eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0",
		"eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
	}
	if len(route) != 1+len(wantRoutes) {
		t.Fatalf("route:\n%s", strings.Join(route, "\n"))
	}
	for i, w := range wantRoutes {
		if strings.TrimRight(route[i+1], " ") != w || len(route[i+1]) != 127 {
			t.Errorf("route row %q, want %q padded to 127", route[i+1], w)
		}
	}

	arp := strings.Split(strings.TrimSuffix(procFile(t, b.in, "arp"), "\n"), "\n")
	if arp[0] != linuxARPHeader || len(arp) != 2 {
		t.Fatalf("arp:\n%s", strings.Join(arp, "\n"))
	}
	if want := "10.0.0.1         0x1         0x2         02:00:00:00:00:01     *        eth0"; arp[1] != want {
		t.Errorf("arp row\n%q\nwant\n%q", arp[1], want)
	}

	dev := procFile(t, b.in, "dev")
	if !strings.HasPrefix(dev, linuxDevHeader+"\n") {
		t.Fatalf("dev header:\n%s", dev)
	}
	rows := strings.Split(strings.TrimSuffix(dev, "\n"), "\n")[2:]
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "    lo:") || !strings.HasPrefix(rows[1], "  eth0:") {
		t.Fatalf("dev rows:\n%s", strings.Join(rows, "\n"))
	}
	for _, r := range rows {
		if f := strings.Fields(r); len(f) != 17 {
			t.Errorf("dev row has %d fields: %q", len(f), r)
		}
	}
}

// TestProcNetSnmp: each row is a names line and a values line with the
// same prefix and as many fields, in Linux's order.
func TestProcNetSnmp(t *testing.T) {
	_, b := newDgPair(t, ktime.NewManual())
	p := b.socket(t, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
	sendto(t, p, "10.0.0.1:0", echoRequest(1, ""))
	recvfrom(t, p, 100)
	lines := strings.Split(strings.TrimSuffix(procFile(t, b.in, "snmp"), "\n"), "\n")
	var prefixes []string
	for i := 0; i < len(lines); i += 2 {
		names, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if names[0] != vals[0] || len(names) != len(vals) {
			t.Fatalf("rows %q / %q do not pair", lines[i], lines[i+1])
		}
		prefixes = append(prefixes, names[0])
	}
	if got := strings.Join(prefixes, " "); got != "Ip: Icmp: IcmpMsg: Tcp: Udp: UdpLite:" {
		t.Fatalf("rows %s", got)
	}
	if !strings.HasPrefix(lines[0], "Ip: Forwarding DefaultTTL InReceives ") || !strings.HasPrefix(lines[1], "Ip: 2 64 ") {
		t.Errorf("Ip rows %q / %q", lines[0], lines[1])
	}
	if lines[4] != "IcmpMsg: InType0 OutType8" || lines[5] != "IcmpMsg: 1 1" {
		t.Errorf("IcmpMsg rows %q / %q", lines[4], lines[5])
	}
	if !strings.HasPrefix(lines[7], "Tcp: 1 200 120000 -1 ") {
		t.Errorf("Tcp values %q", lines[7])
	}
}

func TestProcNetSockstatProtocols(t *testing.T) {
	_, b := newDgPair(t, ktime.NewManual())
	b.socket(t, socket.SOCK_DGRAM, 0)
	b.socket(t, socket.SOCK_RAW, 1)
	st := procFile(t, b.in, "sockstat")
	lines := strings.Split(strings.TrimSuffix(st, "\n"), "\n")
	want := []string{"sockets: used 2", "TCP: inuse", "UDP: inuse 1 mem 0", "UDPLITE: inuse 0", "RAW: inuse 1", "FRAG: inuse 0 memory 0"}
	if len(lines) != len(want) {
		t.Fatalf("sockstat:\n%s", st)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("sockstat line %q, want %q", lines[i], w)
		}
	}
	prot := procFile(t, b.in, "protocols")
	for _, w := range []string{
		"AF_INET  SOCK_DGRAM  17       inet_dgram_ops   UDP\n",
		"AF_INET  SOCK_DGRAM  1        inet_sockraw_ops PING\n",
		"AF_INET  SOCK_RAW    0        inet_sockraw_ops RAW\n",
	} {
		if !strings.Contains(prot, w) {
			t.Errorf("protocols lacks %q:\n%s", w, prot)
		}
	}
}

// net/netstat: a TcpExt and an IpExt pair of lines, names and values
// pairing up, Linux 6.x's first and last names, and a counter showing
// under its name.
func TestProcNetNetstat(t *testing.T) {
	in, _, _ := newIPTestStack(t, ktime.NewManual())
	in.mib.Ext[LINUX_MIB_SYNCOOKIESRECV].Add(7)
	in.mib.Ext[LINUX_MIB_TCPCHALLENGEACK].Add(1)
	in.oowMib.TCPChallengeACK.Add(2) // tcp_oow.go's own field shows in the same column
	lines := strings.Split(strings.TrimSuffix(procFile(t, in, "netstat"), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4", len(lines))
	}
	vals := map[string]string{}
	for i := 0; i < 4; i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) != len(values) || names[0] != values[0] {
			t.Fatalf("lines %d/%d do not pair: %d names, %d values", i, i+1, len(names), len(values))
		}
		for j := 1; j < len(names); j++ {
			vals[names[0]+names[j]] = values[j]
		}
	}
	if !strings.HasPrefix(lines[0], "TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts") ||
		!strings.HasSuffix(lines[0], " TCPAOGood TCPAODroppedIcmps") ||
		lines[2] != "IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets InMcastOctets OutMcastOctets InBcastOctets OutBcastOctets InCsumErrors InNoECTPkts InECT1Pkts InECT0Pkts InCEPkts ReasmOverlaps" {
		t.Fatalf("names differ from Linux 6.x's:\n%s\n%s", lines[0], lines[2])
	}
	if len(strings.Fields(lines[0])) != 1+135 {
		t.Errorf("%d TcpExt fields, Linux 6.18 prints 135", len(strings.Fields(lines[0]))-1)
	}
	if vals["TcpExt:SyncookiesRecv"] != "7" || vals["TcpExt:TCPChallengeACK"] != "3" || vals["TcpExt:SyncookiesSent"] != "0" {
		t.Errorf("counters: SyncookiesRecv %s TCPChallengeACK %s SyncookiesSent %s",
			vals["TcpExt:SyncookiesRecv"], vals["TcpExt:TCPChallengeACK"], vals["TcpExt:SyncookiesSent"])
	}
}
