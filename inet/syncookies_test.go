package inet

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/socket"
)

func cookieTestNet() *tcpNet {
	t := new(tcpNet)
	t.sysctlSack, t.sysctlTimestamps, t.sysctlWindowScaling = true, true, true
	t.syncookies.Store(1)
	return t
}

var cookieKey = tcpHashKey{
	laddr: netip.AddrFrom4([4]byte{198, 18, 0, 2}), raddr: netip.AddrFrom4([4]byte{198, 18, 7, 9}),
	lport: 80, rport: 40000,
}

var cookieKey6 = tcpHashKey{
	laddr: netip.MustParseAddr("2001:2::2"), raddr: netip.MustParseAddr("2001:2::7:9"),
	lport: 80, rport: 40000,
}

// Each family rounds the peer's MSS down to its table: IPv4's for 576-
// and 1500-byte paths and tunnels, IPv6's for 1280, 1480, 1500 and 9000.
func TestSyncookieMssTable(t *testing.T) {
	for _, c := range []struct {
		tab       []uint16
		mss, want uint16
	}{
		{msstab, 0, 536}, {msstab, 535, 536}, {msstab, 536, 536}, {msstab, 1299, 536}, {msstab, 1300, 1300},
		{msstab, 1439, 1300}, {msstab, 1440, 1440}, {msstab, 1459, 1440}, {msstab, 1460, 1460},
		{msstab, 8960, 1460}, {msstab, 65535, 1460},
		{msstab6, 0, 1220}, {msstab6, 1220, 1220}, {msstab6, 1419, 1220}, {msstab6, 1420, 1420},
		{msstab6, 1440, 1440}, {msstab6, 8939, 1440}, {msstab6, 8940, 8940}, {msstab6, 65535, 8940},
	} {
		if got := c.tab[cookieMssIndex(c.tab, c.mss)]; got != c.want {
			t.Errorf("MSS %d encodes as %d in %v, want %d", c.mss, got, c.tab, c.want)
		}
	}
}

// A cookie decodes to the MSS it was made with for two minute-counter
// values, then is stale; any other tuple or ISN does not decode. The
// same for both families, each with its table.
func TestSyncookieEncodeDecode(t *testing.T) {
	for _, fam := range []struct {
		key  tcpHashKey
		tab  []uint16
		init func(*tcpNet, tcpHashKey, uint32, uint16, time.Duration) (uint32, uint16)
	}{
		{cookieKey, msstab, (*tcpNet).cookieV4InitSequence},
		{cookieKey6, msstab6, (*tcpNet).cookieV6InitSequence},
	} {
		t.Run(fam.key.laddr.String(), func(t *testing.T) { testCookieEncodeDecode(t, fam.key, fam.tab, fam.init) })
	}
}

func testCookieEncodeDecode(t *testing.T, key tcpHashKey, tab []uint16, initSeq func(*tcpNet, tcpHashKey, uint32, uint16, time.Duration) (uint32, uint16)) {
	tn := cookieTestNet()
	const seq = 0x12345678
	check := func(tn *tcpNet, k tcpHashKey, seq, ack uint32, now time.Duration) uint16 {
		return tn.cookieCheckSeq(tab, k, seq, ack, now)
	}
	for _, mss := range []uint16{536, 1220, 1300, 1440, 1460, 9000} {
		for _, made := range []time.Duration{0, 59 * time.Second, 61 * time.Second, 1000 * time.Hour} {
			cookie, enc := initSeq(tn, key, seq, mss, made)
			if enc != tab[cookieMssIndex(tab, mss)] {
				t.Fatalf("MSS %d: encoded %d", mss, enc)
			}
			minute := made.Truncate(time.Minute)
			for _, at := range []time.Duration{made, minute + 60*time.Second, minute + 119*time.Second} {
				if got := check(tn, key, seq+1, cookie+1, at); got != enc {
					t.Errorf("MSS %d made %v checked %v: %d, want %d", mss, made, at, got, enc)
				}
			}
			// MAX_SYNCOOKIE_AGE: two minutes on, it is stale.
			if got := check(tn, key, seq+1, cookie+1, minute+120*time.Second); got != 0 {
				t.Errorf("stale cookie accepted (MSS %d)", got)
			}
			// From a minute counter the clock has not reached: refused.
			if made >= time.Minute {
				if got := check(tn, key, seq+1, cookie+1, made-time.Minute); got != 0 {
					t.Errorf("cookie from the future accepted (MSS %d)", got)
				}
			}
		}
	}
	now := 5 * time.Minute
	cookie, _ := initSeq(tn, key, seq, 1460, now)
	other := key
	other.rport++
	if got := check(tn, other, seq+1, cookie+1, now); got != 0 {
		t.Errorf("cookie valid for another port: %d", got)
	}
	other = key
	other.raddr = other.raddr.Next()
	if got := check(tn, other, seq+1, cookie+1, now); got != 0 {
		t.Errorf("cookie valid for another address: %d", got)
	}
	// The peer's ISN is added in, so another ISN shifts the encoded data:
	// by 4 or more it falls outside the table (as in Linux, a cookie's
	// low two bits are data, not check).
	if got := check(tn, key, seq+1+1<<10, cookie+1, now); got != 0 {
		t.Errorf("cookie valid for another ISN: %d", got)
	}
	// Forgeries: every change of a bit above the data fails.
	for bit := 2; bit < 32; bit++ {
		if got := check(tn, key, seq+1, cookie^1<<bit+1, now); got != 0 {
			t.Errorf("cookie with bit %d flipped accepted: %d", bit, got)
		}
	}
	// Another namespace (other secrets) rejects it.
	if got := check(cookieTestNet(), key, seq+1, cookie+1, now); got != 0 {
		t.Errorf("another stack's secret accepts the cookie: %d", got)
	}
}

// The options ride in the timestamp's low bits, the timestamp never runs
// ahead of the clock, and the decode gives them back.
func TestSyncookieTimestampOptions(t *testing.T) {
	tn := cookieTestNet()
	for _, nowMs := range []uint32{0, 63, 64, 1000, 0xffffffc0, 0xffffffff} {
		for ws := int8(-1); ws <= 14; ws++ {
			for _, sack := range []bool{false, true} {
				o := header.TCPOptions{WScale: ws, SackPerm: sack}
				ts := cookieInitTimestamp(nowMs, &o)
				if nowMs >= 64 && (ts > nowMs || nowMs-ts >= 128) {
					t.Fatalf("now %d: timestamp %d", nowMs, ts)
				}
				got := header.TCPOptions{HasTS: true, WScale: 3, SackPerm: !sack}
				if !tn.cookieTimestampDecode(&got, ts) {
					t.Fatalf("ws %d sack %v: decode failed", ws, sack)
				}
				if got.WScale != ws || got.SackPerm != sack {
					t.Errorf("ws %d sack %v: decoded ws %d sack %v", ws, sack, got.WScale, got.SackPerm)
				}
			}
		}
	}
	// No timestamps: no options at all (tcp_clear_options).
	o := header.TCPOptions{WScale: 7, SackPerm: true}
	if !tn.cookieTimestampDecode(&o, 0) || o.WScale != -1 || o.SackPerm {
		t.Errorf("without timestamps: %+v", o)
	}
	// ECN was never offered; SACK echoed after the sysctl went off.
	o = header.TCPOptions{HasTS: true}
	if tn.cookieTimestampDecode(&o, tsOptEcn|tsOptWscaleNone) {
		t.Error("ECN bit accepted")
	}
	tn.sysctlSack = false
	if tn.cookieTimestampDecode(&o, tsOptSack|tsOptWscaleNone) {
		t.Error("SACK accepted with tcp_sack off")
	}
}

// synAck finds b's SYN-ACK to dport among the segments b sent from index n.
func synAckTo(t *testing.T, h *tcpHost, n int, what string) sentSeg {
	t.Helper()
	var found sentSeg
	tcpWaitFor(t, what, 2*time.Second, func() bool {
		for _, s := range h.gate.segs(n) {
			if s.flags == tcpFlagSYN|tcpFlagACK {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

func ext(h *tcpHost, i int) uint64 { return h.in.mib.Ext[i].Load() }

func tsOpt(val, ecr uint32) []byte {
	b := []byte{header.TCPOPT_NOP, header.TCPOPT_NOP, header.TCPOPT_TIMESTAMP, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], val)
	binary.BigEndian.PutUint32(b[8:], ecr)
	return b
}

// With tcp_syncookies = 2 every SYN gets a cookie; the connection made from
// the ACK alone has the options the SYN offered and carries data.
func TestSyncookieHandshake(t *testing.T) {
	_, a, b := manualPair(t)
	b.in.SetTCPSyncookies(2)
	ls := b.listen(80)
	cs, err := a.connect(b, 80)
	if err != nil {
		t.Fatal("connect:", err)
	}
	ss := b.accept(ls)
	if s, r := ext(b, LINUX_MIB_SYNCOOKIESSENT), ext(b, LINUX_MIB_SYNCOOKIESRECV); s != 1 || r != 1 {
		t.Fatalf("SyncookiesSent %d SyncookiesRecv %d, want 1 1", s, r)
	}
	if n := ext(b, LINUX_MIB_TCPREQQFULLDOCOOKIES); n != 0 {
		t.Errorf("TCPReqQFullDoCookies %d with the queue empty", n)
	}
	if q := skOf(ls).synQlen.Load(); q != 0 {
		t.Errorf("SYN queue %d: a cookie keeps nothing", q)
	}
	srv, cli := skOf(ss), skOf(cs)
	withSk(srv, func(tp *tcpSock) bool {
		if tp.State != TCP_ESTABLISHED || !tp.tstampOk || !tp.sackOk || !tp.wscaleOk || tp.mssClamp != 1460 {
			t.Errorf("server: state %s ts %v sack %v ws %v mss_clamp %d", tcpStateName(tp.State), tp.tstampOk, tp.sackOk, tp.wscaleOk, tp.mssClamp)
		}
		return true
	})
	cliRcvWs := withSk(cli, func(tp *tcpSock) uint8 { return tp.rcvWscale })
	srvRcvWs := withSk(srv, func(tp *tcpSock) uint8 { return tp.rcvWscale })
	if got := withSk(srv, func(tp *tcpSock) uint8 { return tp.sndWscale }); got != cliRcvWs {
		t.Errorf("server's snd_wscale %d, client offered %d", got, cliRcvWs)
	}
	if got := withSk(cli, func(tp *tcpSock) uint8 { return tp.sndWscale }); got != srvRcvWs {
		t.Errorf("client's snd_wscale %d, server's rcv_wscale %d", got, srvRcvWs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg := testPayload(100000, 3)
	go writeAll(ctx, cs, msg)
	got := make([]byte, 0, len(msg))
	buf := make([]byte, 65536)
	for len(got) < len(msg) {
		n, err := socket.SockRecvmsg(ctx, ss, &socket.Msghdr{}, buf, 0)
		if err != nil || n == 0 {
			t.Fatalf("recv after %d bytes: %d %v", len(got), n, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != string(msg) {
		t.Fatal("data differs")
	}
}

// tcp_syncookies = 1: cookies only once the SYN queue is full; 0: the SYN
// is dropped and counted.
func TestSyncookieOnOverflow(t *testing.T) {
	for _, mode := range []int{1, 0} {
		_, a, b := manualPair(t)
		a.gate.setDrop(true) // a's stack would reset the SYN-ACKs to its closed ports
		b.in.SetTCPSyncookies(mode)
		var logMu sync.Mutex
		var logged []string
		b.in.SetLogf(func(format string, args ...any) {
			logMu.Lock()
			logged = append(logged, fmt.Sprintf(format, args...))
			logMu.Unlock()
		})
		ls := b.socket()
		if err := socket.Bind(context.Background(), ls, netip.AddrPortFrom(netip.IPv4Unspecified(), 80)); err != nil {
			t.Fatal(err)
		}
		if err := socket.Listen(ls, 1); err != nil {
			t.Fatal(err)
		}
		n := b.gate.count()
		b.inject(a, 4000, 80, 1000, 0, tcpFlagSYN, 65535, nil) // a request that never completes
		synAckTo(t, b, n, "SYN-ACK to the first SYN")
		if q := skOf(ls).synQlen.Load(); q != 1 {
			t.Fatalf("mode %d: SYN queue %d, want 1", mode, q)
		}
		n = b.gate.count()
		b.inject(a, 4001, 80, 2000, 0, tcpFlagSYN, 65535, nil)
		b.inject(a, 4009, 80, 9000, 0, tcpFlagSYN, 65535, nil) // a second overflow is not logged again
		want := map[int]string{0: "Dropping request", 1: "Sending cookies"}[mode]
		logMu.Lock()
		if len(logged) != 1 || logged[0] != "request_sock_TCP: Possible SYN flooding on port 0.0.0.0:80. "+want+"." {
			t.Errorf("mode %d: logged %q", mode, logged)
		}
		logMu.Unlock()
		if mode == 0 {
			if d, f := ext(b, LINUX_MIB_LISTENDROPS), ext(b, LINUX_MIB_TCPREQQFULLDROP); d != 2 || f != 2 {
				t.Fatalf("mode 0: ListenDrops %d TCPReqQFullDrop %d, want 2 2", d, f)
			}
			if s := ext(b, LINUX_MIB_SYNCOOKIESSENT); s != 0 {
				t.Fatalf("mode 0 sent %d cookies", s)
			}
			continue
		}
		sa := synAckTo(t, b, n, "cookie SYN-ACK")
		if s, f := ext(b, LINUX_MIB_SYNCOOKIESSENT), ext(b, LINUX_MIB_TCPREQQFULLDOCOOKIES); s != 2 || f != 2 {
			t.Fatalf("SyncookiesSent %d TCPReqQFullDoCookies %d, want 2 2", s, f)
		}
		if q := skOf(ls).synQlen.Load(); q != 1 {
			t.Fatalf("the cookie took a place in the SYN queue: %d", q)
		}
		// No timestamps in the SYN: the SYN-ACK offers none of the options.
		if sa.opts.HasTS || sa.opts.WScale >= 0 || sa.opts.SackPerm || sa.opts.MSS == 0 {
			t.Errorf("cookie SYN-ACK options %+v", sa.opts)
		}
		b.inject(a, 4001, 80, 2001, sa.seq+1, tcpFlagACK, 65535, nil)
		tcpWaitFor(t, "cookie child in the accept queue", 2*time.Second, func() bool { return skOf(ls).acceptQlen.Load() == 1 })
		if r := ext(b, LINUX_MIB_SYNCOOKIESRECV); r != 1 {
			t.Fatalf("SyncookiesRecv %d", r)
		}
		c := b.accept(ls)
		withSk(skOf(c), func(tp *tcpSock) bool {
			if tp.State != TCP_ESTABLISHED || tp.mssClamp != 536 || tp.sackOk || tp.wscaleOk || tp.tstampOk {
				t.Errorf("cookie child: %s mss_clamp %d sack %v ws %v ts %v", tcpStateName(tp.State), tp.mssClamp, tp.sackOk, tp.wscaleOk, tp.tstampOk)
			}
			return true
		})
	}
}

// A forged ACK, and a real cookie's ACK two minutes late, are reset and
// counted; a cookie's ACK within its lifetime, with timestamps, makes a
// connection with the options the timestamp carried.
func TestSyncookieRejectsStaleAndForged(t *testing.T) {
	clk, a, b := manualPair(t)
	a.gate.setDrop(true) // a's stack would reset the SYN-ACKs to its closed ports
	b.in.SetTCPSyncookies(2)
	ls := b.listen(80)
	synOpts := append([]byte{header.TCPOPT_MSS, 4, 0x05, 0x78, header.TCPOPT_SACK_PERM, 2, header.TCPOPT_NOP, header.TCPOPT_WINDOW, 3, 9, header.TCPOPT_NOP, header.TCPOPT_NOP}, tsOpt(777, 0)...)

	rstFor := func(n int, seq uint32) bool {
		for _, s := range b.gate.segs(n) {
			if s.flags == tcpFlagRST && s.seq == seq {
				return true
			}
		}
		return false
	}

	// Forged: an ACK for no SYN-ACK we sent.
	n := b.gate.count()
	b.inject(a, 5000, 80, 1001, 0xdeadbeef, tcpFlagACK, 1000, nil)
	// No cookie sent yet: not even checked, just the listener's RST.
	tcpWaitFor(t, "RST to the first forgery", time.Second, func() bool { return rstFor(n, 0xdeadbeef) })
	if f := ext(b, LINUX_MIB_SYNCOOKIESFAILED); f != 0 {
		t.Fatalf("a listener that sent no cookie checked one: SyncookiesFailed %d", f)
	}

	n = b.gate.count()
	b.injectOpts(a, 5001, 80, 1000, 0, tcpFlagSYN, 65535, synOpts, nil)
	sa := synAckTo(t, b, n, "cookie SYN-ACK")
	if !sa.opts.HasTS || sa.opts.MSS == 0 || !sa.opts.SackPerm || sa.opts.WScale < 0 {
		t.Fatalf("SYN-ACK options %+v", sa.opts)
	}

	for i, ack := range []uint32{sa.seq + 1 + 64, sa.seq + 1 - 1<<20, sa.seq ^ 0x80000000 + 1, 0xdeadbeef} {
		n = b.gate.count()
		b.injectOpts(a, 5001, 80, 1001, ack, tcpFlagACK, 1000, tsOpt(778, sa.opts.TSVal), nil)
		tcpWaitFor(t, "RST to a forged cookie", time.Second, func() bool { return rstFor(n, ack) })
		if f := ext(b, LINUX_MIB_SYNCOOKIESFAILED); f != uint64(i+1) {
			t.Fatalf("forgery %d: SyncookiesFailed %d", i, f)
		}
	}

	// Stale: the real cookie, two minute-counter ticks later.
	clk.Advance(2 * time.Minute)
	n = b.gate.count()
	b.injectOpts(a, 5001, 80, 1001, sa.seq+1, tcpFlagACK, 1000, tsOpt(778, sa.opts.TSVal), nil)
	tcpWaitFor(t, "RST to a stale cookie", time.Second, func() bool { return rstFor(n, sa.seq+1) })
	if f, r := ext(b, LINUX_MIB_SYNCOOKIESFAILED), ext(b, LINUX_MIB_SYNCOOKIESRECV); f != 5 || r != 0 {
		t.Fatalf("stale: SyncookiesFailed %d SyncookiesRecv %d", f, r)
	}

	// Fresh: within its life the same kind of ACK makes a connection.
	n = b.gate.count()
	b.injectOpts(a, 5002, 80, 3000, 0, tcpFlagSYN, 65535, synOpts, nil)
	sa = synAckTo(t, b, n, "second cookie SYN-ACK")
	clk.Advance(50 * time.Second)
	b.injectOpts(a, 5002, 80, 3001, sa.seq+1, tcpFlagACK, 1000, tsOpt(800, sa.opts.TSVal), []byte("hi"))
	tcpWaitFor(t, "cookie child", 2*time.Second, func() bool { return skOf(ls).acceptQlen.Load() == 1 })
	c := b.accept(ls)
	withSk(skOf(c), func(tp *tcpSock) bool {
		if tp.State != TCP_ESTABLISHED || tp.mssClamp != 1300 || !tp.sackOk || !tp.wscaleOk ||
			tp.sndWscale != 9 || !tp.tstampOk || tp.tsRecent != 800 || tp.rcvNxt != 3003 {
			t.Errorf("cookie child: %s mss_clamp %d sack %v ws %v/%d ts %v recent %d rcv_nxt %d",
				tcpStateName(tp.State), tp.mssClamp, tp.sackOk, tp.wscaleOk, tp.sndWscale, tp.tstampOk, tp.tsRecent, tp.rcvNxt)
		}
		if tp.tsVal()-sa.opts.TSVal > 60000 {
			t.Errorf("timestamps went backwards: SYN-ACK %d, now %d", sa.opts.TSVal, tp.tsVal())
		}
		return true
	})
	buf := make([]byte, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if k, err := socket.SockRecvmsg(ctx, c, &socket.Msghdr{}, buf, 0); err != nil || string(buf[:k]) != "hi" {
		t.Fatalf("data on the ACK: %q %v", buf[:k], err)
	}
}
