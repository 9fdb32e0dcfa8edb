package inet

import (
	"testing"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// rcvIP runs ip_rcv on a packet (data at its IP header) as if eth0 had
// received it.
func rcvIP(in *Net, dev *netdev.NetDevice, pkt []byte) {
	skb := netdev.AllocSkb(len(pkt))
	copy(skb.Put(len(pkt)), pkt)
	skb.Dev = dev
	skb.Protocol = netdev.ETH_P_IP
	skb.NetworkHeader = skb.Offset()
	in.ipRcv(skb)
}

// goodUDP is a valid packet from 10.0.0.1:4000 to 10.0.0.2:53.
func goodUDP(payload string) []byte {
	return udpFrame([6]byte{}, [6]byte{}, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 4000, 53, []byte(payload), true)[netdev.EthHlen:]
}

// udpListener is a UDP socket of in bound to addr, released at the end of
// the test.
func udpListener(t *testing.T, in *Net, addr string) *socket.Socket {
	t.Helper()
	s, err := socket.SockCreate(t.Context(), in.sn, &ipv4TestSB{}, socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { socket.SockRelease(s) })
	if err := socket.Bind(t.Context(), s, ap(addr)); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestIPRcvDropsMalformed: every kind of broken header is dropped and
// counted in InHdrErrors, and nothing reaches the socket; the good packet
// after them does.
func TestIPRcvDropsMalformed(t *testing.T) {
	in, dev, _ := newIPTestStack(t, ktime.NewManual())
	s := udpListener(t, in, "0.0.0.0:53")
	resum := func(p []byte) []byte { header.Iphdr(p).SetCheck(); return p }
	cases := map[string][]byte{
		"truncated below 20 bytes": goodUDP("x")[:19],
		"version 6":                resum(func() []byte { p := goodUDP("x"); p[0] = 0x65; return p }()),
		"IHL 4":                    func() []byte { p := goodUDP("x"); p[0] = 0x44; return p }(),
		"IHL beyond the packet":    func() []byte { p := goodUDP("x")[:24]; p[0] = 0x4f; return p }(),
		"tot_len below IHL":        resum(func() []byte { p := goodUDP("x"); header.Iphdr(p).SetTotLen(12); return p }()),
		"tot_len beyond packet":    resum(func() []byte { p := goodUDP("x"); header.Iphdr(p).SetTotLen(200); return p }()),
		"bad header checksum":      func() []byte { p := goodUDP("x"); p[10] ^= 1; return p }(),
	}
	for name, p := range cases {
		before := in.mib.Ip.InHdrErrors.Load()
		rcvIP(in, dev, p)
		if in.mib.Ip.InHdrErrors.Load() != before+1 {
			t.Errorf("%s: not counted in InHdrErrors", name)
		}
	}
	if in.mib.Ip.InDelivers.Load() != 0 || queued(s) != 0 {
		t.Fatal("a malformed packet was delivered")
	}
	// Link-layer padding is trimmed, not taken for data.
	rcvIP(in, dev, append(goodUDP("ok"), 0, 0, 0, 0))
	if got, _ := recvfrom(t, s, 100); string(got) != "ok" {
		t.Fatalf("read %q", got)
	}
	if v := in.mib.Ip.InReceives.Load(); v != uint64(len(cases)+1) {
		t.Errorf("InReceives = %d", v)
	}
}

// TestIPRcvOptionsSkipped: a header with options is delivered with its
// payload intact.
func TestIPRcvOptionsSkipped(t *testing.T) {
	in, dev, _ := newIPTestStack(t, ktime.NewManual())
	s := udpListener(t, in, "0.0.0.0:53")
	g := goodUDP("with options")
	p := make([]byte, len(g)+4)
	copy(p, g[:header.IPv4MinLen])
	copy(p[header.IPv4MinLen:], []byte{1, 1, 1, 0}) // NOP NOP NOP EOL
	copy(p[header.IPv4MinLen+4:], g[header.IPv4MinLen:])
	p[0] = 0x46
	header.Iphdr(p).SetTotLen(len(p))
	header.Iphdr(p).SetCheck()
	rcvIP(in, dev, p)
	if got, _ := recvfrom(t, s, 100); string(got) != "with options" {
		t.Fatalf("read %q", got)
	}
}

// TestIPRcvNotForUs: a packet for another address is counted in
// InAddrErrors; an unknown protocol in InUnknownProtos.
func TestIPRcvNotForUs(t *testing.T) {
	in, dev, _ := newIPTestStack(t, ktime.NewManual())
	p := goodUDP("x")
	header.Iphdr(p).SetDaddr([4]byte{10, 0, 0, 99})
	header.Iphdr(p).SetCheck()
	rcvIP(in, dev, p)
	if v := in.mib.Ip.InAddrErrors.Load(); v != 1 {
		t.Errorf("InAddrErrors = %d", v)
	}
	p = goodUDP("x")
	header.Iphdr(p).SetProtocol(200)
	header.Iphdr(p).SetCheck()
	rcvIP(in, dev, p)
	if v := in.mib.Ip.InUnknownProtos.Load(); v != 1 {
		t.Errorf("InUnknownProtos = %d", v)
	}
	// UDP with a length beyond its packet is UDP's error.
	p = goodUDP("x")
	p[header.IPv4MinLen+5] = 200
	rcvIP(in, dev, p)
	if v := in.mib.Udp.InErrors.Load(); v != 1 {
		t.Errorf("Udp InErrors = %d", v)
	}
}
