package inet

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"sockfs/netdev/ktime"
	"sockfs/socket"
)

func TestTCPHandshake(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	cs, ss, ls := tcpConnPair(t, a, b, 80)
	if st := stateOf(skOf(cs)); st != TCP_ESTABLISHED {
		t.Fatalf("client state %s", tcpStateName(st))
	}
	waitState(t, skOf(ss), time.Second, TCP_ESTABLISHED)
	local, _ := socket.Getname(cs, false)
	remote, _ := socket.Getname(ss, true)
	if local != remote {
		t.Fatalf("client local %v != server's remote %v", local, remote)
	}
	if p := local.Port(); p < 32768 || p > 60999 {
		t.Fatalf("ephemeral port %d outside 32768-60999", p)
	}
	if cs.State != socket.SS_CONNECTED || ss.State != socket.SS_CONNECTED {
		t.Fatalf("socket states %v %v", cs.State, ss.State)
	}
	if got := a.in.mib.Tcp.ActiveOpens.Load(); got != 1 {
		t.Fatalf("ActiveOpens %d", got)
	}
	if got := b.in.mib.Tcp.PassiveOpens.Load(); got != 1 {
		t.Fatalf("PassiveOpens %d", got)
	}
	// Options were negotiated both ways.
	withSk(skOf(cs), func(tp *tcpSock) bool {
		if !tp.tstampOk || !tp.sackOk || !tp.wscaleOk || tp.mssCache != 1448 {
			t.Errorf("client options ts=%v sack=%v ws=%v mss=%d", tp.tstampOk, tp.sackOk, tp.wscaleOk, tp.mssCache)
		}
		return true
	})
	socket.SockRelease(cs)
	socket.SockRelease(ss)
	socket.SockRelease(ls)
}

func TestTCPConnRefused(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	s, err := a.connect(b, 9)
	if !errors.Is(err, socket.ECONNREFUSED) {
		t.Fatalf("connect to closed port: %v, want ECONNREFUSED", err)
	}
	if st := stateOf(skOf(s)); st != TCP_CLOSE {
		t.Fatalf("state after refusal %s", tcpStateName(st))
	}
	if b.in.mib.Tcp.OutRsts.Load() == 0 {
		t.Fatal("no RST counted")
	}
	if a.in.mib.Tcp.AttemptFails.Load() != 1 {
		t.Fatalf("AttemptFails %d", a.in.mib.Tcp.AttemptFails.Load())
	}
	// As Linux, connect's sock_error disconnects the refused socket: it
	// is unconnected again (reads: ENOTCONN), keeps its port and forgets
	// the source address and the peer.
	n, err := socket.SockRecvmsg(context.Background(), s, &socket.Msghdr{}, make([]byte, 10), 0)
	if n != 0 || !errors.Is(err, socket.ENOTCONN) {
		t.Fatalf("recv on refused socket: %d %v, want ENOTCONN", n, err)
	}
	if la, _ := s.Ops.Getname(s, false); !la.Addr().IsUnspecified() || la.Port() == 0 {
		t.Fatalf("getsockname after refusal %v, want 0.0.0.0:PORT", la)
	}
	if _, err := s.Ops.Getname(s, true); !errors.Is(err, socket.ENOTCONN) {
		t.Fatalf("getpeername after refusal: %v, want ENOTCONN", err)
	}
	st := statusOf(s)
	if st["remote"] != "0.0.0.0:0" || st["tx_queue"] != "0" || st["local"] != "0.0.0.0:"+strconv.Itoa(int(inetSk(s.Sk).Sport)) {
		t.Fatalf("status after refusal disagrees with the files: %v", st)
	}
	// A socket that never connected: recv is ENOTCONN, send EPIPE (as
	// Linux's sk_stream_wait_connect).
	f := a.socket()
	if _, err := socket.SockRecvmsg(context.Background(), f, &socket.Msghdr{}, make([]byte, 10), 0); !errors.Is(err, socket.ENOTCONN) {
		t.Fatalf("recv on fresh socket: %v", err)
	}
	if _, err := socket.SockSendmsg(context.Background(), f, &socket.Msghdr{}, []byte("x")); !errors.Is(err, socket.EPIPE) {
		t.Fatalf("send on fresh socket: %v", err)
	}
}

// tcpBulk moves n bytes each way at once, half-closes, checks both streams
// by sha256, and closes; it returns the two socks for state checks.
func tcpBulk(t *testing.T, a, b *tcpHost, n int) (*tcpSock, *tcpSock) {
	t.Helper()
	cs, ss, ls := tcpConnPair(t, a, b, 5001)
	socket.SockRelease(ls)
	up, down := testPayload(n, 1), testPayload(n, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	type result struct {
		n   int
		sum [32]byte
		err error
	}
	var wg sync.WaitGroup
	var rc, rs result
	var wc, ws error
	wg.Add(4)
	go func() {
		defer wg.Done()
		wc = writeAll(ctx, cs, up)
		if wc == nil {
			wc = socket.Shutdown(cs, socket.SHUT_WR)
		}
	}()
	go func() {
		defer wg.Done()
		ws = writeAll(ctx, ss, down)
		if ws == nil {
			ws = socket.Shutdown(ss, socket.SHUT_WR)
		}
	}()
	go func() { defer wg.Done(); rs.n, rs.sum, rs.err = readAllHash(ctx, ss) }()
	go func() { defer wg.Done(); rc.n, rc.sum, rc.err = readAllHash(ctx, cs) }()
	wg.Wait()
	if wc != nil || ws != nil || rc.err != nil || rs.err != nil {
		t.Logf("client: %s", diagString(skOf(cs)))
		t.Logf("server: %s", diagString(skOf(ss)))
		t.Fatalf("errors: write c=%v s=%v read c=%v s=%v", wc, ws, rc.err, rs.err)
	}
	if rs.n != n || rs.sum != sha256.Sum256(up) {
		t.Fatalf("client->server: %d bytes, hash mismatch=%v", rs.n, rs.sum != sha256.Sum256(up))
	}
	if rc.n != n || rc.sum != sha256.Sum256(down) {
		t.Fatalf("server->client: %d bytes, hash mismatch=%v", rc.n, rc.sum != sha256.Sum256(down))
	}
	ctp, stp := skOf(cs), skOf(ss)
	socket.SockRelease(cs)
	socket.SockRelease(ss)
	return ctp, stp
}

func TestTCPBulk10MiB(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	ctp, stp := tcpBulk(t, a, b, 10<<20)
	// Both sides half-closed, then closed: each ends in CLOSE, and the
	// side whose FIN went first leaves a TIME_WAIT entry.
	waitState(t, ctp, 5*time.Second, TCP_CLOSE)
	waitState(t, stp, 5*time.Second, TCP_CLOSE)
	if twState(ctp) != TCP_TIME_WAIT && twState(stp) != TCP_TIME_WAIT {
		t.Fatal("neither side in TIME_WAIT")
	}
	// On a clean wire, what one side sends the other receives, with no
	// retransmission (the MIB counts of net/snmp).
	am, bm := &a.in.mib.Tcp, &b.in.mib.Tcp
	if am.OutSegs.Load() != bm.InSegs.Load() || bm.OutSegs.Load() != am.InSegs.Load() ||
		am.RetransSegs.Load()+bm.RetransSegs.Load() != 0 || am.CurrEstab.Load()+bm.CurrEstab.Load() != 0 {
		t.Fatalf("MIB: a out %d in %d retrans %d, b out %d in %d retrans %d",
			am.OutSegs.Load(), am.InSegs.Load(), am.RetransSegs.Load(), bm.OutSegs.Load(), bm.InSegs.Load(), bm.RetransSegs.Load())
	}
}

func TestTCPBulkLoss2(t *testing.T) {
	// Loss recovery runs on the RTO timer while the transfer streams: the
	// real clock drives it.
	a, b := newTCPPair(t, tcpPairOpts{clock: ktime.NewReal(), netem: "loss 2%", seed: 7, rtoMin: 20 * time.Millisecond})
	ctp, stp := tcpBulk(t, a, b, 10<<20)
	waitState(t, ctp, 10*time.Second, TCP_CLOSE)
	waitState(t, stp, 10*time.Second, TCP_CLOSE)
	if r := a.in.mib.Tcp.RetransSegs.Load() + b.in.mib.Tcp.RetransSegs.Load(); r == 0 {
		t.Fatal("no retransmissions under loss")
	}
}

var _ = netip.Addr{}
