package inet6

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"sockfs/inet"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

type testSB struct{ next uint64 }

func (sb *testSB) SockAlloc(socket.Cred) (*socket.Socket, error) {
	sb.next++
	return &socket.Socket{Ino: sb.next}, nil
}
func (sb *testSB) SockFree(*socket.Socket) {}

// inet6_init registers AF_INET6, and inet6_create answers with
// inet_create's rules over inetsw6: no rows for a type is ESOCKTNOSUPPORT,
// a protocol out of range EINVAL; a row found gives an AF_INET6 sock of
// its proto with its ops.
func TestInet6Create(t *testing.T) {
	sn := socket.NewNet()
	n := Init(sn, netdev.NewNet(), ktime.NewManual(), nil)
	ctx := context.Background()
	sb := &testSB{}
	for _, typ := range []socket.SockType{socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW} {
		if _, err := socket.SockCreate(ctx, sn, sb, socket.AF_INET6, typ, 0); err != socket.ESOCKTNOSUPPORT {
			t.Errorf("AF_INET6 %v 0: %v, want ESOCKTNOSUPPORT", typ, err)
		}
	}
	if _, err := socket.SockCreate(ctx, sn, sb, socket.AF_INET6, socket.SOCK_DGRAM, 256); err != socket.EINVAL {
		t.Errorf("protocol 256: %v, want EINVAL", err)
	}

	prot := &socket.Proto{Name: "TEST6", Alloc: func() socket.Sk { return new(socket.Sock) }}
	ops := &socket.ProtoOps{Name: "test6_ops", Family: socket.AF_INET6}
	n.inet6RegisterProtosw(inet.InetProtosw{Type: socket.SOCK_DGRAM, Protocol: socket.IPPROTO_UDP, Prot: prot, Ops: ops})
	if _, err := socket.SockCreate(ctx, sn, sb, socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6); err != socket.EPROTONOSUPPORT {
		t.Errorf("SOCK_DGRAM IPPROTO_ICMPV6 beside a UDP row: %v, want EPROTONOSUPPORT", err)
	}
	sock, err := socket.SockCreate(ctx, sn, sb, socket.AF_INET6, socket.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sk := sock.Sk.SK(); sock.Ops != ops || sk.Family != socket.AF_INET6 || sk.Protocol != socket.IPPROTO_UDP || sk.Prot != prot {
		t.Errorf("created ops %v family %d protocol %d prot %v", sock.Ops.Name, sk.Family, sk.Protocol, sk.Prot.Name)
	}
	if got := prot.InUse.Load(); got != 1 {
		t.Errorf("InUse %d, want 1", got)
	}
}

// net/protocols lists inetsw6's rows after inetsw's, in the same columns:
// what a write to socket takes, the proto_ops table and the proto.
func TestProtocolsInetsw6(t *testing.T) {
	pa, _ := netdev.NewPair(16)
	u := newUDPHost(t, pa, ktime.NewManual(), 2)
	var prot string
	for _, f := range u.h.SockNet.ProcNetFiles() {
		if f.Name == "protocols" {
			var b bytes.Buffer
			f.Show(&b)
			prot = b.String()
		}
	}
	want := "AF_INET  SOCK_RAW    0        inet_sockraw_ops RAW\n" +
		"AF_INET6 SOCK_STREAM 6        inet6_stream_ops TCPv6\n" +
		"AF_INET6 SOCK_DGRAM  17       inet6_dgram_ops  UDPv6\n" +
		"AF_INET6 SOCK_DGRAM  58       inet6_sockraw_ops PINGv6\n" +
		"AF_INET6 SOCK_RAW    0        inet6_sockraw_ops RAWv6\n"
	if !strings.HasSuffix(prot, want) {
		t.Fatalf("net/protocols:\n%s\nwant it to end with:\n%s", prot, want)
	}
}
