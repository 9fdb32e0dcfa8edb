package inet

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/netip"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/socket"
)

// tcpCoreFiles are the files of the TCP core that, as Linux's tcp.c,
// tcp_input.c, tcp_output.c, tcp_timer.c, tcp_cong.c, inet_timewait_sock.c,
// inet_connection_sock.c and inet_hashtables.c, serve every family: what
// the network layer does for them goes through the sock's afOps
// (inet_connection_sock_af_ops). syncookies.go is not one: it holds
// cookie_v4_check and cookie_v6_check beside the math they share.
var tcpCoreFiles = []string{
	"tcp.go", "tcp_input.go", "tcp_output.go", "tcp_timer.go", "tcp_cong.go",
	"tcp_oow.go", "tcp_states.go", "inet_timewait_sock.go",
	"inet_connection_sock.go", "inet_hashtables.go", "tcp_rcv.go",
}

// familyName matches the identifiers that belong to IPv4: IP-layer
// functions (ipQueueXmit, ipHdr, ipRouteConnect, ipBuildAndSendPkt), the
// tcp_v4_* glue (tcpV4SendReset, v4SendSynack), ICMP, IPv4 headers, routes
// and flows, the pseudo-header helper that takes 4-byte addresses, and
// 4-byte address conversions.
var familyName = regexp.MustCompile(`^(ip[A-Z].*|ipv4.*|IPv4.*|tcpV4.*|v4[A-Z].*|icmp.*|Icmp.*|Iphdr|ParseIphdr|PseudoHeaderSum|As4|AddrFrom4|skRouteSet|flowi4|fl4|Rtable|RTCF_.*|AF_INET)$`)

// familyIdents lists where src names an IPv4-only identifier (comments
// aside).
func familyIdents(t *testing.T, name string, src []byte) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && familyName.MatchString(id.Name) {
			found = append(found, fset.Position(id.Pos()).String()+": "+id.Name)
		}
		return true
	})
	return found
}

// TestTCPCoreIsFamilyFree: no TCP core file calls or names an IPv4-only
// function, type or constant; tcp_ipv4.go reaches the core through
// ipv4Specific and the core reaches IPv4 only through afOps (STYLE.md 15).
func TestTCPCoreIsFamilyFree(t *testing.T) {
	for _, name := range tcpCoreFiles {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range familyIdents(t, name, src) {
			t.Errorf("%s: IPv4-only name in the TCP core; go through tp.afOps", f)
		}
	}
}

// TestTCPCoreCheckerFinds: the checker above sees a direct call, a
// header type and a 4-byte address, so it can fail.
func TestTCPCoreCheckerFinds(t *testing.T) {
	src := []byte(`package inet
// ipQueueXmit in a comment is no use.
func f(tp *tcpSock, skb *netdev.SkBuff) {
	tp.in.ipQueueXmit(&tp.InetSock, skb)
	var h header.Iphdr
	_ = tp.Saddr.As4()
	tp.in.tcpV4SendReset(skb, nil)
}
`)
	got := familyIdents(t, "x.go", src)
	if len(got) != 4 {
		t.Fatalf("found %v, want ipQueueXmit, Iphdr, As4 and tcpV4SendReset", got)
	}
}

// TestTCPAfOpsCarryTheFamily: the core reaches the network layer only
// through the sock's table, and what a listener holds its children and
// their timewait entries inherit. A counting copy of ipv4_specific on a
// listener sees the child made, its SYN-ACK and data checksummed and
// queued, and the timewait entry's ACK; a stray ACK's RST is chosen by
// the segment's family instead.
func TestTCPAfOpsCarryTheFamily(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	var xmit, check, connReq, synRecv, rst, ack atomic.Int32
	ops := ipv4Specific
	ops.queueXmit = func(tp *tcpSock, skb *netdev.SkBuff) error {
		xmit.Add(1)
		return ipv4Specific.queueXmit(tp, skb)
	}
	ops.sendCheck = func(tp *tcpSock, skb *netdev.SkBuff) {
		check.Add(1)
		ipv4Specific.sendCheck(tp, skb)
	}
	ops.connRequest = func(lp *tcpSock, skb *netdev.SkBuff, seg tcpSegment) {
		connReq.Add(1)
		ipv4Specific.connRequest(lp, skb, seg)
	}
	ops.synRecvSock = func(lp *tcpSock, laddr, raddr netip.Addr, rport uint16) *tcpSock {
		synRecv.Add(1)
		return ipv4Specific.synRecvSock(lp, laddr, raddr, rport)
	}
	ops.sendReset = func(in *Net, skb *netdev.SkBuff, seg tcpSegment) {
		rst.Add(1)
		ipv4Specific.sendReset(in, skb, seg)
	}
	ops.sendAck = func(in *Net, k tcpHashKey, seq, ackSeq uint32, win uint16, ts bool, tsval, tsecr uint32, ttl, tos uint8) {
		ack.Add(1)
		ipv4Specific.sendAck(in, k, seq, ackSeq, win, ts, tsval, tsecr, ttl, tos)
	}
	ls := b.listen(80)
	withSk(skOf(ls), func(tp *tcpSock) bool { tp.afOps = &ops; return true })

	cs, err := a.connect(b, 80)
	if err != nil {
		t.Fatal(err)
	}
	ss := b.accept(ls)
	stp := skOf(ss)
	if got := withSk(stp, func(tp *tcpSock) *inetConnectionSockAfOps { return tp.afOps }); got != &ops {
		t.Fatal("the child does not carry its listener's table")
	}
	if connReq.Load() != 1 || synRecv.Load() != 1 {
		t.Fatalf("conn_request %d, syn_recv_sock %d, want 1 each", connReq.Load(), synRecv.Load())
	}
	before := xmit.Load()
	if before == 0 || check.Load() != before {
		t.Fatalf("queue_xmit %d, send_check %d: the SYN-ACK went another way", before, check.Load())
	}
	if err := writeAll(context.Background(), ss, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	tcpWaitFor(t, "the data through queue_xmit", time.Second, func() bool { return xmit.Load() > before })

	// An ACK to the listener from nowhere: the RST of the segment's
	// family, which its receive path picks (tcp_v4_do_rcv's reset), not
	// the listener's table: a dual-stack AF_INET6 listener answers an
	// IPv4 segment with an IPv4 RST.
	rsts := b.in.mib.Tcp.OutRsts.Load()
	b.inject(a, 4444, 80, 1, 1, tcpFlagACK, 1024, nil)
	if rst.Load() != 0 || b.in.mib.Tcp.OutRsts.Load() != rsts+1 {
		t.Fatalf("send_reset through the table %d (want 0), RSTs sent %d (want 1)", rst.Load(), b.in.mib.Tcp.OutRsts.Load()-rsts)
	}

	// The server closes first; its timewait entry answers a FIN again
	// with the family's ACK.
	socket.SockRelease(ss)
	if n, _, err := readAllHash(context.Background(), cs); err != nil || n != 5 {
		t.Fatalf("read %d bytes, %v; want the 5 sent and EOF", n, err)
	}
	socket.SockRelease(cs)
	waitTw(t, stp, time.Second, TCP_TIME_WAIT)
	tw := twOf(stp)
	if tw.afOps != &ops {
		t.Fatal("the timewait entry does not carry the sock's table")
	}
	tw.mu.Lock()
	seq, una, cport := tw.rcvNxt-1, tw.sndNxt, tw.key.rport
	tw.mu.Unlock()
	acks := ack.Load()
	b.inject(a, cport, 80, seq, una, tcpFlagFIN|tcpFlagACK, 1024, nil)
	if ack.Load() != acks+1 {
		t.Fatalf("send_ack %d after the FIN, want %d", ack.Load(), acks+1)
	}
}
