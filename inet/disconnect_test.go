package inet

import (
	"net/netip"
	"syscall"
	"testing"

	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// connect(AF_UNSPEC) on datagram sockets, as __udp_disconnect: the peer is
// forgotten; what bind chose stays and what connect chose goes.

func TestUDPDisconnectKeepsABoundPort(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	s := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), s, ap("0.0.0.0:5000")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Connect(t.Context(), s, ap("10.0.0.2:7000"), 0); err != nil {
		t.Fatal(err)
	}
	if err := socket.Disconnect(t.Context(), s, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := socket.Getname(s, false); got != ap("0.0.0.0:5000") {
		t.Fatalf("local %v, want 0.0.0.0:5000", got)
	}
	if _, err := socket.Getname(s, true); err != syscall.ENOTCONN {
		t.Fatalf("getpeername: %v, want ENOTCONN", err)
	}
	// Unconnected again: a datagram from a port other than the old peer's
	// is received.
	other := b.socket(t, socket.SOCK_DGRAM, 0)
	sendto(t, other, "10.0.0.1:5000", []byte("anyone"))
	if got, _ := recvfrom(t, s, 100); string(got) != "anyone" {
		t.Fatalf("read %q", got)
	}
}

func TestUDPDisconnectGivesBackAnAutoboundPortAndAddress(t *testing.T) {
	a, _ := newDgPair(t, ktime.NewManual())
	s := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Connect(t.Context(), s, ap("10.0.0.2:7000"), 0); err != nil {
		t.Fatal(err)
	}
	before, _ := socket.Getname(s, false)
	if before.Addr() != a.addr || before.Port() == 0 {
		t.Fatalf("local after connect %v", before)
	}
	if err := socket.Disconnect(t.Context(), s, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := socket.Getname(s, false); got != ap("0.0.0.0:0") {
		t.Fatalf("local %v, want 0.0.0.0:0", got)
	}
	if a.in.dgram.udp.lookup(before.Port(), netip.MustParseAddr("10.0.0.2"), 7000, a.addr) != nil {
		t.Fatal("the autobound port is still in the table")
	}
	// The next send autobinds anew.
	sendto(t, s, "10.0.0.2:7000", []byte("x"))
	if got, _ := socket.Getname(s, false); got.Port() == 0 {
		t.Fatalf("local after send %v: not autobound", got)
	}
}

// TestRawDisconnectUnhashes: a raw socket's disconnect takes it out of the
// raw table (raw_unhash_sk), so it hears nothing more, as Linux 6.18 does.
func TestRawDisconnectUnhashes(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	raw := a.socket(t, socket.SOCK_RAW, socket.IPPROTO_ICMP)
	if err := socket.Connect(t.Context(), raw, ap("10.0.0.2:0"), 0); err != nil {
		t.Fatal(err)
	}
	if err := socket.Disconnect(t.Context(), raw, 0); err != nil {
		t.Fatal(err)
	}
	p := b.socket(t, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
	sendto(t, p, "10.0.0.1:0", echoRequest(1, "deaf"))
	recvfrom(t, p, 100) // the reply: the request has reached a
	var msg socket.Msghdr
	if _, err := socket.SockRecvmsg(t.Context(), raw, &msg, make([]byte, 200), socket.MSG_DONTWAIT); err != syscall.EAGAIN {
		t.Fatalf("raw read after disconnect: %v, want EAGAIN", err)
	}
}

// TestTCPDisconnectStopsAListener: connect(AF_UNSPEC) on a listener is
// tcp_disconnect: listening stops (CLOSE), the bound port stays, and the
// socket may listen again.
func TestTCPDisconnectStopsAListener(t *testing.T) {
	a, _ := newDgPair(t, ktime.NewManual())
	s := a.socket(t, socket.SOCK_STREAM, 0)
	if err := socket.Bind(t.Context(), s, ap("0.0.0.0:5000")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(s, 8); err != nil {
		t.Fatal(err)
	}
	if err := socket.Disconnect(t.Context(), s, 0); err != nil {
		t.Fatalf("disconnect: %v", err)
	}
	sk := s.Sk.SK()
	sk.Mu.Lock()
	st := sk.State
	sk.Mu.Unlock()
	if st != TCP_CLOSE || s.State != socket.SS_UNCONNECTED {
		t.Fatalf("after disconnect: sk_state %v, state %v", st, s.State)
	}
	if got, _ := socket.Getname(s, false); got != ap("0.0.0.0:5000") {
		t.Fatalf("local %v", got)
	}
	if err := socket.Listen(s, 8); err != nil {
		t.Fatalf("listen again: %v", err)
	}
}
