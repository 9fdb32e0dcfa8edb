package inet

import (
	"testing"

	"sockfs/inet/header"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// TestRawSocketSeesICMP: a raw ICMP socket reads whole IP packets: the
// echo request another stack sends, and the reply to one it sends itself.
func TestRawSocketSeesICMP(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	raw := a.socket(t, socket.SOCK_RAW, socket.IPPROTO_ICMP)
	p := b.socket(t, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
	sendto(t, p, "10.0.0.1:0", echoRequest(9, "seen"))
	if _, _ = recvfrom(t, p, 100); a.in.mib.Icmp.OutType[header.ICMP_ECHOREPLY].Load() != 1 {
		t.Fatal("stack a did not answer the ping")
	}
	got, msg := recvfrom(t, raw, 200)
	iph, perr := header.ParseIphdr(got)
	if perr != header.IPOk || iph.Protocol() != IPPROTO_ICMP || iph.Src() != b.addr || iph.Dst() != a.addr {
		t.Fatalf("raw read % x", got)
	}
	if icmp := header.Icmphdr(iph.Payload()); icmp.Type() != header.ICMP_ECHO || string(icmp.Payload()) != "seen" {
		t.Fatalf("raw read ICMP % x", iph.Payload())
	}
	if msg.Name.Addr() != b.addr {
		t.Fatalf("from %v", msg.Name)
	}

	// Writes carry the ICMP message; the stack adds the IP header.
	req := echoRequest(10, "raw")
	header.Icmphdr(req).SetID(0x4242)
	header.Icmphdr(req).SetChecksum()
	sendto(t, raw, "10.0.0.2:0", req)
	got, _ = recvfrom(t, raw, 200)
	iph, _ = header.ParseIphdr(got)
	if icmp := header.Icmphdr(iph.Payload()); icmp.Type() != header.ICMP_ECHOREPLY || icmp.ID() != 0x4242 || icmp.Sequence() != 10 {
		t.Fatalf("raw read reply % x", got)
	}
}

// TestRawSocketKeepsProtocolReachable: with a raw socket for an otherwise
// unknown protocol, the stack does not answer protocol unreachable, and the
// socket gets the packet.
func TestRawSocketKeepsProtocolReachable(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	const proto = 253 // RFC 3692 experimental
	send := b.socket(t, socket.SOCK_RAW, proto)
	sendto(t, send, "10.0.0.1:0", []byte("nobody"))
	idleCheck(t, "the unknown protocol counted", func() bool { return a.in.mib.Ip.InUnknownProtos.Load() == 1 })
	if err := socket.Connect(t.Context(), send, ap("10.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	// The protocol unreachable came back while the socket was unconnected.
	idleCheck(t, "the protocol unreachable received", func() bool { return b.in.mib.Icmp.InType[header.ICMP_DEST_UNREACH].Load() == 1 })
	recv := a.socket(t, socket.SOCK_RAW, proto)
	sendto(t, send, "", []byte("somebody"))
	got, _ := recvfrom(t, recv, 100)
	if iph := header.Iphdr(got); iph.Protocol() != proto || string(iph.Payload()) != "somebody" {
		t.Fatalf("raw read % x", got)
	}
	if v := a.in.mib.Ip.InUnknownProtos.Load(); v != 1 {
		t.Errorf("InUnknownProtos = %d", v)
	}
}
