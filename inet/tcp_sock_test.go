package inet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"sockfs/netdev/ktime"
	"sockfs/socket"
)

func TestTCPBindConflicts(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	ctx := context.Background()
	any := func(p uint16) netip.AddrPort { return netip.AddrPortFrom(netip.IPv4Unspecified(), p) }
	l := b.listen(80)
	s := b.socket()
	if err := socket.Bind(ctx, s, any(80)); !errors.Is(err, socket.EADDRINUSE) {
		t.Fatalf("bind over a listener: %v", err)
	}
	s.Sk.SK().Reuse = true
	if err := socket.Bind(ctx, s, netip.AddrPortFrom(b.addr, 80)); !errors.Is(err, socket.EADDRINUSE) {
		t.Fatalf("SO_REUSEADDR bind over a listener: %v", err)
	}
	// Two SO_REUSEADDR sockets share a port until one listens.
	r1, r2 := b.socket(), b.socket()
	for _, r := range []*socket.Socket{r1, r2} {
		if err := socket.Setsockopt(r, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); err != nil {
			t.Fatal(err)
		}
		if err := socket.Bind(ctx, r, any(8080)); err != nil {
			t.Fatalf("SO_REUSEADDR bind: %v", err)
		}
	}
	if err := socket.Listen(r1, 5); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(r2, 5); !errors.Is(err, socket.EADDRINUSE) {
		t.Fatalf("second listen on a shared port: %v", err)
	}
	// Port 0 picks an ephemeral port.
	e := b.socket()
	if err := socket.Bind(ctx, e, any(0)); err != nil {
		t.Fatal(err)
	}
	if ap, _ := socket.Getname(e, false); ap.Port() < 32768 || ap.Port() > 60999 {
		t.Fatalf("bind 0 gave %v", ap)
	}
	// A server that closes first keeps its port in TIME_WAIT: a new
	// listener needs SO_REUSEADDR (and the old one had it).
	socket.SockRelease(l)
	ls := b.socket()
	socket.Setsockopt(ls, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	if err := socket.Bind(ctx, ls, any(90)); err != nil {
		t.Fatal(err)
	}
	socket.Listen(ls, 5)
	cs, err := a.connect(b, 90)
	if err != nil {
		t.Fatal(err)
	}
	ss := b.accept(ls)
	stp := skOf(ss)
	socket.SockRelease(ss)
	socket.SockRelease(cs)
	socket.SockRelease(ls)
	waitTw(t, stp, time.Second, TCP_TIME_WAIT)
	n := b.socket()
	if err := socket.Bind(ctx, n, any(90)); !errors.Is(err, socket.EADDRINUSE) {
		t.Fatalf("bind over TIME_WAIT without SO_REUSEADDR: %v", err)
	}
	socket.Setsockopt(n, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	if err := socket.Bind(ctx, n, any(90)); err != nil {
		t.Fatalf("bind over TIME_WAIT with SO_REUSEADDR: %v", err)
	}
}

// Ephemeral ports as Linux 6.x: connect takes even ports (RFC 6056
// Algorithm 4 with __inet_hash_connect's parity), bind(0) and listen's
// automatic bind odd ones (inet_csk_find_open_port), all from
// ip_local_port_range.
func TestTCPEphemeralPortParity(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	ls := b.listen(80)
	ctx := context.Background()
	seen := map[uint16]bool{}
	for i := 0; i < 20; i++ {
		cs, err := a.connect(b, 80)
		if err != nil {
			t.Fatal(err)
		}
		b.accept(ls)
		ap, _ := socket.Getname(cs, false)
		p := ap.Port()
		if p < 32768 || p > 60999 || seen[p] || p%2 != 0 {
			t.Fatalf("connect %d took port %d", i, p)
		}
		seen[p] = true
	}
	for i := 0; i < 20; i++ {
		s := a.socket()
		if err := socket.Bind(ctx, s, netip.AddrPortFrom(netip.IPv4Unspecified(), 0)); err != nil {
			t.Fatal(err)
		}
		if ap, _ := socket.Getname(s, false); ap.Port()%2 != 1 {
			t.Fatalf("bind 0 took port %d", ap.Port())
		}
	}
	l := a.socket()
	if err := socket.Listen(l, 5); err != nil {
		t.Fatal(err)
	}
	if ap, _ := socket.Getname(l, false); ap.Port()%2 != 1 {
		t.Fatalf("listen's automatic bind took port %d", ap.Port())
	}
}

// Connects share a port they chose while their 4-tuples differ (a bind
// bucket made by connect); a port bind(0) took is not shared, and when
// every port is held, connect gives EADDRNOTAVAIL.
func TestTCPEphemeralPortShared(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	a.in.tcp.portLow, a.in.tcp.portHigh = 40000, 40001
	b.listen(80)
	b.listen(81)
	ctx := context.Background()
	s := a.socket()
	if err := socket.Bind(ctx, s, netip.AddrPortFrom(netip.IPv4Unspecified(), 0)); err != nil {
		t.Fatal(err)
	}
	if ap, _ := socket.Getname(s, false); ap.Port() != 40001 {
		t.Fatalf("bind 0 took %d, want the odd 40001", ap.Port())
	}
	for _, port := range []uint16{80, 81} {
		cs, err := a.connect(b, port)
		if err != nil {
			t.Fatalf("connect to %d: %v", port, err)
		}
		if ap, _ := socket.Getname(cs, false); ap.Port() != 40000 {
			t.Fatalf("connect to %d took %d, want the shared 40000", port, ap.Port())
		}
	}
	if _, err := a.connect(b, 80); !errors.Is(err, socket.EADDRNOTAVAIL) {
		t.Fatalf("a second connect to :80 with no port left: %v", err)
	}
}

func TestTCPAcceptErrors(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	ctx := context.Background()
	s := b.socket()
	if _, err := socket.Accept(ctx, b.sb, s, 0); !errors.Is(err, socket.EINVAL) {
		t.Fatalf("accept on a non-listening socket: %v", err)
	}
	ls := b.listen(80)
	if _, err := socket.Accept(ctx, b.sb, ls, socket.O_NONBLOCK); !errors.Is(err, socket.EAGAIN) {
		t.Fatalf("nonblocking accept with nothing queued: %v", err)
	}
	if m := tcpPoll(ls); m != 0 {
		t.Fatalf("idle listener poll %#x", m)
	}
	cs, err := a.connect(b, 80)
	if err != nil {
		t.Fatal(err)
	}
	tcpWaitFor(t, "listener readable", time.Second, func() bool { return tcpPoll(ls)&socket.POLLIN != 0 })
	// Closing the listener resets what waits in its accept queue.
	socket.SockRelease(ls)
	waitState(t, skOf(cs), time.Second, TCP_CLOSE)
	if _, err := socket.SockRecvmsg(ctx, cs, &socket.Msghdr{}, make([]byte, 4), 0); !errors.Is(err, socket.ECONNRESET) {
		t.Fatalf("client of a closed listener: %v", err)
	}
	if got := b.in.tcp.prot.InUse.Load(); got != 1 { // s
		t.Fatalf("socks in use %d", got)
	}
}

// The SYN queue and accept queue are bounded by the backlog: without SYN
// cookies (tcp_syncookies = 0; syncookies_test.go has them) SYNs beyond it
// are dropped, and the clients retry.
func TestTCPBacklog(t *testing.T) {
	clk, a, b := manualPair(t)
	b.in.SetTCPSyncookies(0)
	ls := b.socket()
	ctx := context.Background()
	socket.Bind(ctx, ls, netip.AddrPortFrom(netip.IPv4Unspecified(), 80))
	if err := socket.Listen(ls, 2); err != nil {
		t.Fatal(err)
	}
	var cs []*socket.Socket
	for i := 0; i < 5; i++ {
		s := a.socket()
		err := socket.Connect(ctx, s, netip.AddrPortFrom(b.addr, 80), socket.O_NONBLOCK)
		if !errors.Is(err, socket.EINPROGRESS) {
			t.Fatal(err)
		}
		cs = append(cs, s)
	}
	lp := skOf(ls)
	queued := func(n int) {
		t.Helper()
		defer func() {
			if t.Failed() {
				t.Log(withSk(lp, func(tp *tcpSock) string { return fmt.Sprint(len(tp.acceptQ), tp.synQlen.Load()) }))
			}
		}()
		tcpWaitFor(t, fmt.Sprintf("%d in the accept queue", n), time.Second, func() bool {
			return withSk(lp, func(tp *tcpSock) bool { return len(tp.acceptQ) == n })
		})
	}
	// The SYN queue takes two and drops the SYNs behind them. Whether a
	// third SYN finds the first two already moved on to the accept queue
	// (not full yet: sk_acceptq_is_full is ack_backlog > backlog) depends
	// on how the two receive loops interleave, so two or three wait in
	// the accept queue once the wire is idle.
	a.settle()
	if n := withSk(lp, func(tp *tcpSock) int { return len(tp.acceptQ) }); n != 2 && n != 3 {
		t.Fatalf("%d in the accept queue after the first SYNs, want 2 or 3", n)
	}
	a.arpSettle(b)
	clk.Advance(time.Second) // the clients retry
	queued(3)                // a full accept queue takes no more
	a.arpSettle(b)
	clk.Advance(2 * time.Second)
	queued(3) // never more: further ACKs and SYNs are dropped
	if n := withSk(lp, func(tp *tcpSock) int32 { return tp.synQlen.Load() }); n > 2 {
		t.Fatalf("SYN queue %d beyond the backlog", n)
	}
	// Accepting makes room: a waiting child's SYN-ACK retransmission
	// draws the ACK that completes it.
	b.accept(ls)
	for i := 0; i < 5 && withSk(lp, func(tp *tcpSock) int { return len(tp.acceptQ) }) < 3; i++ {
		a.arpSettle(b)
		clk.Advance(2 * time.Second)
	}
	queued(3)
	for _, s := range cs {
		socket.SockRelease(s)
	}
}

// net/tcp has exactly /proc/net/tcp's layout.
func TestTCPProcNet(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	writeAll(context.Background(), cs, []byte("12345"))
	tcpWaitFor(t, "data queued", time.Second, func() bool {
		return withSk(skOf(ss), func(tp *tcpSock) bool { return tp.ReceiveQueue.Bytes() == 5 })
	})
	var buf bytes.Buffer
	b.in.tcp4SeqShow(&buf)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	const hdr = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
	if strings.TrimRight(lines[0], " ") != hdr {
		t.Fatalf("header %q", lines[0])
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if len(l) != 149 {
			t.Fatalf("line of %d columns: %q", len(l), l)
		}
	}
	cport := withSk(skOf(cs), func(tp *tcpSock) uint16 { return tp.Sport })
	listen := strings.Fields(lines[1])
	if listen[1] != "00000000:0050" || listen[2] != "00000000:0000" || listen[3] != "0A" {
		t.Fatalf("listener row %q", lines[1])
	}
	est := strings.Fields(lines[2])
	want := fmt.Sprintf("0200000A:0050 0100000A:%04X 01 00000000:00000005", cport)
	if got := strings.Join(est[1:5], " "); got != want {
		t.Fatalf("established row %q, want %q", got, want)
	}
	if ino, _ := strconv.Atoi(est[9]); uint64(ino) != ss.Ino {
		t.Fatalf("inode %s, want %d", est[9], ss.Ino)
	}
	// The status file's TCP keys.
	st := string(socket.Status(cs))
	for _, k := range []string{"sk_state: ESTABLISHED", "local: 10.0.0.1:", "remote: 10.0.0.2:80", "rx_queue: 0", "tx_queue:", "error: 0", "rtt_us:", "cwnd: 10", "retransmits: 0"} {
		if !strings.Contains(st, k) {
			t.Fatalf("status lacks %q:\n%s", k, st)
		}
	}
}

func TestTCPPoll(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	fresh := a.socket()
	if m := tcpPoll(fresh); m&(socket.POLLIN|socket.POLLOUT|socket.POLLHUP) != 0 {
		t.Fatalf("fresh socket poll %#x", m)
	}
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	if m := tcpPoll(cs); m != socket.POLLOUT|socket.POLLWRNORM {
		t.Fatalf("idle connection poll %#x", m)
	}
	writeAll(context.Background(), cs, []byte("x"))
	tcpWaitFor(t, "readable", time.Second, func() bool { return tcpPoll(ss)&socket.POLLIN != 0 })
	socket.Shutdown(cs, socket.SHUT_WR)
	tcpWaitFor(t, "RDHUP", time.Second, func() bool { return tcpPoll(ss)&socket.POLLRDHUP != 0 })
	socket.SockRelease(ss) // unread byte: RST
	tcpWaitFor(t, "error and hang-up", time.Second, func() bool {
		m := tcpPoll(cs)
		return m&socket.POLLERR != 0 && m&socket.POLLHUP != 0
	})
}

func TestTCPSockopts(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	s := a.socket()
	for _, c := range []struct {
		name, val int
		err       error
	}{
		{socket.TCP_KEEPIDLE, 0, socket.EINVAL}, {socket.TCP_KEEPIDLE, 32768, socket.EINVAL}, {socket.TCP_KEEPIDLE, 30, nil},
		{socket.TCP_KEEPINTVL, 0, socket.EINVAL}, {socket.TCP_KEEPINTVL, 5, nil},
		{socket.TCP_KEEPCNT, 128, socket.EINVAL}, {socket.TCP_KEEPCNT, 4, nil},
		{socket.TCP_MAXSEG, 87, socket.EINVAL}, {socket.TCP_MAXSEG, 32768, socket.EINVAL}, {socket.TCP_MAXSEG, 1000, nil},
		{socket.TCP_NODELAY, 1, nil}, {99, 1, socket.ENOPROTOOPT},
	} {
		if err := socket.Setsockopt(s, socket.SOL_TCP, c.name, c.val); !errors.Is(err, c.err) && !(err == nil && c.err == nil) {
			t.Errorf("setsockopt(%d, %d) = %v, want %v", c.name, c.val, err, c.err)
		}
	}
	for _, c := range []struct{ name, want int }{
		{socket.TCP_KEEPIDLE, 30}, {socket.TCP_KEEPINTVL, 5}, {socket.TCP_KEEPCNT, 4}, {socket.TCP_MAXSEG, 1000}, {socket.TCP_NODELAY, 1},
	} {
		if v, err := socket.Getsockopt(s, socket.SOL_TCP, c.name); err != nil || v != c.want {
			t.Errorf("getsockopt(%d) = %d %v, want %d", c.name, v, err, c.want)
		}
	}
	// TCP_MAXSEG clamps what both sides send.
	b.listen(80)
	if err := socket.Connect(context.Background(), s, netip.AddrPortFrom(b.addr, 80), 0); err != nil {
		t.Fatal(err)
	}
	if v, _ := socket.Getsockopt(s, socket.SOL_TCP, socket.TCP_MAXSEG); v != 1000-12 {
		t.Fatalf("MSS of the connection %d, want 988 (1000 less timestamps)", v)
	}
}

// Window scaling (RFC 7323 §2) lets the receive window grow past 64 KiB
// as auto-tuning raises the buffer.
func TestTCPWindowGrows(t *testing.T) {
	// Auto-tuning (tcp_rcv_space_adjust) measures what arrived per RTT of
	// elapsed time, while two goroutines stream: the real clock drives it.
	a, b := newTCPPair(t, tcpPairOpts{clock: ktime.NewReal()})
	cs, ss, ls := tcpConnPair(t, a, b, 80)
	socket.SockRelease(ls)
	ctx := context.Background()
	go writeAll(ctx, cs, testPayload(8<<20, 5))
	buf := make([]byte, 64<<10)
	for got := 0; got < 8<<20; {
		n, err := socket.SockRecvmsg(ctx, ss, &socket.Msghdr{}, buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		got += n
	}
	rcvbuf, wnd, ws := withSk(skOf(ss), func(tp *tcpSock) int { return tp.RcvBuf }),
		withSk(skOf(cs), func(tp *tcpSock) uint32 { return tp.maxWindow }),
		withSk(skOf(cs), func(tp *tcpSock) uint8 { return tp.sndWscale })
	if ws != 10 || rcvbuf <= tcpRmemDefault || wnd <= 65535 {
		t.Fatalf("wscale %d, receiver buffer %d, largest window %d", ws, rcvbuf, wnd)
	}
}
