package inet

import (
	"testing"

	"sockfs/inet/header"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// echoRequest is what a ping socket's user writes: an ICMP echo header
// (identifier and checksum are the stack's to fill) and data.
func echoRequest(seq uint16, data string) []byte {
	b := make([]byte, header.ICMPLen+len(data))
	header.Icmphdr(b).Encode(header.ICMPFields{Type: header.ICMP_ECHO, Sequence: seq})
	copy(b[header.ICMPLen:], data)
	return b
}

// TestPingSocket: a ping socket's echo request is answered by the other
// stack and the reply, matched by ident, is read back whole.
func TestPingSocket(t *testing.T) {
	_, b := newDgPair(t, ktime.NewManual())
	for _, to := range []string{"10.0.0.1:0", "127.0.0.1:0", "10.0.0.2:0"} {
		s := b.socket(t, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
		sendto(t, s, to, echoRequest(7, "abcdefgh"))
		got, msg := recvfrom(t, s, 100)
		r, ok := header.ParseIcmphdr(got)
		if !ok || !r.IsChecksumValid() || r.Type() != header.ICMP_ECHOREPLY || r.Sequence() != 7 || string(r.Payload()) != "abcdefgh" {
			t.Fatalf("%s: reply % x", to, got)
		}
		local, _ := socket.Getname(s, false)
		if r.ID() != local.Port() || r.ID() == 0 {
			t.Fatalf("%s: reply id %d, socket ident %d", to, r.ID(), local.Port())
		}
		if msg.Name.Addr() != ap(to).Addr() {
			t.Fatalf("%s: reply from %v", to, msg.Name)
		}
	}
	if v := b.in.mib.Icmp.OutType[header.ICMP_ECHO].Load(); v != 3 {
		t.Errorf("OutEchos = %d", v)
	}
}

// TestPingSocketConnectedAndErrors: a connected ping socket writes with
// no address; a write that is not an echo request is EINVAL.
func TestPingSocketConnectedAndErrors(t *testing.T) {
	_, b := newDgPair(t, ktime.NewManual())
	s := b.socket(t, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{}, echoRequest(1, "")); err != socket.EDESTADDRREQ {
		t.Errorf("unconnected write: %v, want EDESTADDRREQ", err)
	}
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{Name: ap("10.0.0.1:0")}, []byte("hello\n")); err != socket.EINVAL {
		t.Errorf("not an echo request: %v, want EINVAL", err)
	}
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{Name: ap("10.0.0.1:0")}, []byte{8, 0}); err != socket.EINVAL {
		t.Errorf("shorter than a header: %v, want EINVAL", err)
	}
	if err := socket.Connect(t.Context(), s, ap("10.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	sendto(t, s, "", echoRequest(2, "x"))
	if got, _ := recvfrom(t, s, 100); header.Icmphdr(got).Sequence() != 2 {
		t.Fatalf("reply % x", got)
	}
	// Another ping socket does not see this one's replies.
	other := b.socket(t, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
	sendto(t, other, "10.0.0.1:0", echoRequest(3, "y"))
	if got, _ := recvfrom(t, other, 100); header.Icmphdr(got).Sequence() != 3 {
		t.Fatalf("other socket read % x", got)
	}
	if n := queued(s); n != 0 {
		t.Fatalf("first socket got %d replies meant for the other", n)
	}
}
