package inet

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"testing"
)

// tcpCoreFiles are the files of the TCP core that, as Linux's tcp.c,
// tcp_input.c, tcp_output.c, tcp_timer.c, tcp_cong.c, inet_timewait_sock.c,
// inet_connection_sock.c and inet_hashtables.c, serve every family: what
// the network layer does for them goes through the sock's afOps
// (inet_connection_sock_af_ops). syncookies.go is not one: like
// net/ipv4/syncookies.c it is IPv4's (cookie_v4_check reads the IP header).
var tcpCoreFiles = []string{
	"tcp.go", "tcp_input.go", "tcp_output.go", "tcp_timer.go", "tcp_cong.go",
	"tcp_oow.go", "tcp_states.go", "inet_timewait_sock.go",
	"inet_connection_sock.go", "inet_hashtables.go",
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
