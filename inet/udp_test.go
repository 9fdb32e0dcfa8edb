package inet

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// dgNode is one stack of the datagram tests: a device on a pair and a
// loopback device, as the daemon sets up.
type dgNode struct {
	in   *Net
	dev  *netdev.NetDevice
	addr netip.Addr
	sb   *ipv4TestSB
}

// newDgNode builds a stack with lo (127.0.0.1/8) and eth0 (pfx) on drv.
func newDgNode(t *testing.T, clock ktime.Clock, drv netdev.Driver, mac byte, pfx string) *dgNode {
	t.Helper()
	h, dev := newTestHost(t, clock, drv, mac, 1500, pfx, nil)
	return &dgNode{in: h.Inet, dev: dev, addr: netip.MustParsePrefix(pfx).Addr(), sb: &ipv4TestSB{}}
}

// newDgPair joins two stacks, 10.0.0.1 and 10.0.0.2, by an in-memory wire.
func newDgPair(t *testing.T, clock ktime.Clock) (a, b *dgNode) {
	ea, eb := netdev.NewPair(0)
	return newDgNode(t, clock, ea, 1, "10.0.0.1/24"), newDgNode(t, clock, eb, 2, "10.0.0.2/24")
}

func (n *dgNode) socket(t *testing.T, typ socket.SockType, proto int) *socket.Socket {
	t.Helper()
	s, err := socket.SockCreate(t.Context(), n.in.sn, n.sb, socket.AF_INET, typ, proto)
	if err != nil {
		t.Fatalf("socket(AF_INET, %v, %d): %v", typ, proto, err)
	}
	t.Cleanup(func() { socket.SockRelease(s) })
	return s
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// dgCtx bounds a test's blocking calls: a lost packet fails the test
// instead of hanging it.
func dgCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sendto(t *testing.T, s *socket.Socket, to string, data []byte) {
	t.Helper()
	msg := socket.Msghdr{}
	if to != "" {
		msg.Name = ap(to)
	}
	n, err := socket.SockSendmsg(t.Context(), s, &msg, data)
	if err != nil || n != len(data) {
		t.Fatalf("sendmsg to %q: %d, %v", to, n, err)
	}
}

func recvfrom(t *testing.T, s *socket.Socket, size int) ([]byte, socket.Msghdr) {
	t.Helper()
	var msg socket.Msghdr
	b := make([]byte, size)
	n, err := socket.SockRecvmsg(dgCtx(t), s, &msg, b, 0)
	if err != nil {
		t.Fatalf("recvmsg: %v", err)
	}
	return b[:n], msg
}

func TestUDPBothWaysOverPair(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	srv := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), srv, ap("0.0.0.0:5000")); err != nil {
		t.Fatal(err)
	}
	cli := b.socket(t, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
	sendto(t, cli, "10.0.0.1:5000", []byte("hello"))
	got, msg := recvfrom(t, srv, 100)
	if string(got) != "hello" {
		t.Fatalf("server read %q", got)
	}
	if msg.Name.Addr() != b.addr || msg.Name.Port() < sysctlIPLocalPortRangeLow || msg.Name.Port() > sysctlIPLocalPortRangeHigh {
		t.Fatalf("sender %v: want 10.0.0.2 and an ephemeral port", msg.Name)
	}
	sendto(t, srv, msg.Name.String(), []byte("world"))
	if got, msg := recvfrom(t, cli, 100); string(got) != "world" || msg.Name != ap("10.0.0.1:5000") {
		t.Fatalf("client read %q from %v", got, msg.Name)
	}
	if v := a.in.mib.Udp.InDatagrams.Load(); v != 1 {
		t.Errorf("InDatagrams = %d", v)
	}
	if v := b.in.mib.Udp.OutDatagrams.Load(); v != 1 {
		t.Errorf("OutDatagrams = %d", v)
	}
}

// TestUDPConnected: a connected socket sends to its peer with write and
// hears only from it.
func TestUDPConnected(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	srv := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), srv, ap("10.0.0.1:5001")); err != nil {
		t.Fatal(err)
	}
	other := a.socket(t, socket.SOCK_DGRAM, 0)
	cli := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Connect(t.Context(), cli, ap("10.0.0.1:5001"), 0); err != nil {
		t.Fatal(err)
	}
	local, _ := socket.Getname(cli, false)
	if peer, err := socket.Getname(cli, true); err != nil || peer != ap("10.0.0.1:5001") {
		t.Fatalf("getpeername: %v %v", peer, err)
	}
	sendto(t, cli, "", []byte("one"))
	_, msg := recvfrom(t, srv, 10)
	if msg.Name != local {
		t.Fatalf("from %v, want %v", msg.Name, local)
	}
	// A stranger's datagram is not for a connected socket: it gets port
	// unreachable instead.
	sendto(t, other, local.String(), []byte("stranger"))
	sendto(t, srv, local.String(), []byte("peer"))
	if got, _ := recvfrom(t, cli, 100); string(got) != "peer" {
		t.Fatalf("connected socket read %q", got)
	}
}

func TestUDPSendErrors(t *testing.T) {
	_, b := newDgPair(t, ktime.NewManual())
	s := b.socket(t, socket.SOCK_DGRAM, 0)
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{}, []byte("x")); err != socket.EDESTADDRREQ {
		t.Errorf("send without peer: %v, want EDESTADDRREQ", err)
	}
	big := make([]byte, 65508)
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{Name: ap("10.0.0.1:9")}, big); err != socket.EMSGSIZE {
		t.Errorf("65508 bytes: %v, want EMSGSIZE", err)
	}
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{Name: ap("10.0.0.1:9")}, big[:65507]); err != nil {
		t.Errorf("65507 bytes: %v", err)
	}
	if err := socket.Connect(t.Context(), s, ap("10.9.9.9:53"), 0); err != socket.ENETUNREACH {
		t.Errorf("connect with no route: %v, want ENETUNREACH", err)
	}
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{Name: ap("10.9.9.9:53")}, []byte("x")); err != socket.ENETUNREACH {
		t.Errorf("sendto with no route: %v, want ENETUNREACH", err)
	}
	if err := b.in.SetGateway(ipv4(10, 0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := socket.Connect(t.Context(), s, ap("10.9.9.9:53"), 0); err != nil {
		t.Errorf("connect via the gateway: %v", err)
	}
}

func TestUDPBindConflicts(t *testing.T) {
	a, _ := newDgPair(t, ktime.NewManual())
	s1 := a.socket(t, socket.SOCK_DGRAM, 0)
	s2 := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), s1, ap("0.0.0.0:6000")); err != nil {
		t.Fatal(err)
	}
	if err := socket.Bind(t.Context(), s2, ap("10.0.0.1:6000")); err != socket.EADDRINUSE {
		t.Fatalf("second bind: %v, want EADDRINUSE", err)
	}
	if err := socket.Bind(t.Context(), s2, ap("10.0.0.7:6001")); err != socket.EADDRNOTAVAIL {
		t.Fatalf("bind to a foreign address: %v, want EADDRNOTAVAIL", err)
	}
	s3 := a.socket(t, socket.SOCK_DGRAM, 0)
	s4 := a.socket(t, socket.SOCK_DGRAM, 0)
	for _, s := range []*socket.Socket{s3, s4} {
		if err := socket.Setsockopt(s, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); err != nil {
			t.Fatal(err)
		}
		if err := socket.Bind(t.Context(), s, ap("0.0.0.0:6002")); err != nil {
			t.Fatalf("bind with SO_REUSEADDR on both: %v", err)
		}
	}
	if err := socket.Bind(t.Context(), s2, ap("0.0.0.0:0")); err != nil {
		t.Fatal(err)
	}
	if l, _ := socket.Getname(s2, false); l.Port() < sysctlIPLocalPortRangeLow || l.Port() > sysctlIPLocalPortRangeHigh {
		t.Fatalf("ephemeral port %d", l.Port())
	}
}

// TestUDPConnRefused: ICMP port unreachable turns into ECONNREFUSED on a
// connected socket's next call, once.
func TestUDPConnRefused(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	s := b.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Connect(t.Context(), s, ap("10.0.0.1:7"), 0); err != nil {
		t.Fatal(err)
	}
	sendto(t, s, "", []byte("anyone?"))
	var msg socket.Msghdr
	if _, err := socket.SockRecvmsg(dgCtx(t), s, &msg, make([]byte, 10), 0); err != socket.ECONNREFUSED {
		t.Fatalf("recv: %v, want ECONNREFUSED", err)
	}
	if v := a.in.mib.Udp.NoPorts.Load(); v != 1 {
		t.Errorf("NoPorts = %d", v)
	}
	if v := a.in.mib.Icmp.OutType[header.ICMP_DEST_UNREACH].Load(); v != 1 {
		t.Errorf("OutDestUnreachs = %d", v)
	}
	// Reported once: the socket works again.
	if _, err := socket.SockSendmsg(t.Context(), s, &socket.Msghdr{}, []byte("x")); err != nil {
		t.Fatalf("send after the error was reported: %v", err)
	}
	// An unconnected socket is not told.
	u := b.socket(t, socket.SOCK_DGRAM, 0)
	sendto(t, u, "10.0.0.1:8", []byte("x"))
	idleCheck(t, "three datagrams to closed ports", func() bool { return a.in.mib.Udp.NoPorts.Load() == 3 })
	if _, err := socket.SockRecvmsg(t.Context(), u, &msg, make([]byte, 10), socket.MSG_DONTWAIT); err != socket.EAGAIN {
		t.Fatalf("unconnected socket: %v, want EAGAIN", err)
	}
}

// TestUDPFragmented: 20000 bytes leave in 14 fragments and arrive whole.
func TestUDPFragmented(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	srv := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), srv, ap("0.0.0.0:5002")); err != nil {
		t.Fatal(err)
	}
	cli := b.socket(t, socket.SOCK_DGRAM, 0)
	data := make([]byte, 20000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	sendto(t, cli, "10.0.0.1:5002", data)
	got, _ := recvfrom(t, srv, 65536)
	if !bytes.Equal(got, data) {
		t.Fatalf("reassembled %d bytes, differ", len(got))
	}
	if v := b.in.mib.Ip.FragCreates.Load(); v != 14 {
		t.Errorf("FragCreates = %d, want 14", v)
	}
	if v := b.in.mib.Ip.FragOKs.Load(); v != 1 {
		t.Errorf("FragOKs = %d", v)
	}
	if r, ok := a.in.mib.Ip.ReasmReqds.Load(), a.in.mib.Ip.ReasmOKs.Load(); r != 14 || ok != 1 {
		t.Errorf("ReasmReqds = %d, ReasmOKs = %d", r, ok)
	}
}

// TestUDPShortRead: a read shorter than the datagram gets its head and
// MSG_TRUNC; the rest is gone.
func TestUDPShortRead(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	srv := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), srv, ap("0.0.0.0:5003")); err != nil {
		t.Fatal(err)
	}
	cli := b.socket(t, socket.SOCK_DGRAM, 0)
	sendto(t, cli, "10.0.0.1:5003", []byte("0123456789"))
	sendto(t, cli, "10.0.0.1:5003", []byte("next"))
	got, msg := recvfrom(t, srv, 4)
	if string(got) != "0123" || msg.Flags&socket.MSG_TRUNC == 0 {
		t.Fatalf("short read %q flags %#x", got, msg.Flags)
	}
	if got, _ := recvfrom(t, srv, 100); string(got) != "next" {
		t.Fatalf("then %q", got)
	}
}

// TestUDPRcvbufBound: datagrams beyond SO_RCVBUF are dropped and counted.
func TestUDPRcvbufBound(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	srv := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Setsockopt(srv, socket.SOL_SOCKET, socket.SO_RCVBUF, 1); err != nil {
		t.Fatal(err)
	}
	if err := socket.Bind(t.Context(), srv, ap("0.0.0.0:5004")); err != nil {
		t.Fatal(err)
	}
	cli := b.socket(t, socket.SOCK_DGRAM, 0)
	for range 10 {
		sendto(t, cli, "10.0.0.1:5004", []byte("x"))
	}
	idleCheck(t, "ten datagrams queued or dropped", func() bool { return a.in.mib.Udp.RcvbufErrors.Load()+uint64(queued(srv)) == 10 })
	if v := a.in.mib.Udp.RcvbufErrors.Load(); v == 0 || v > 9 {
		t.Fatalf("RcvbufErrors = %d", v)
	}
}

// TestUDPBadChecksum: a corrupted datagram is counted and dropped, and a
// zero checksum means none.
func TestUDPBadChecksum(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	sb := &ipv4TestSB{}
	s, err := socket.SockCreate(t.Context(), in.sn, sb, socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer socket.SockRelease(s)
	if err := socket.Bind(t.Context(), s, ap("0.0.0.0:53")); err != nil {
		t.Fatal(err)
	}
	frame := udpFrame(dev.HWAddr, w.mac, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 1234, 53, []byte("payload"), true)
	frame[len(frame)-1] ^= 0xff
	w.send(frame)
	w.send(udpFrame(dev.HWAddr, w.mac, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 1234, 53, []byte("nocsum"), false))
	got, _ := recvfrom(t, s, 100)
	if string(got) != "nocsum" {
		t.Fatalf("read %q", got)
	}
	if v := in.mib.Udp.InCsumErrors.Load(); v != 1 {
		t.Errorf("InCsumErrors = %d", v)
	}
	if v := in.mib.Udp.InErrors.Load(); v != 1 {
		t.Errorf("InErrors = %d", v)
	}
}

// udpFrame builds an Ethernet frame with one UDP datagram.
func udpFrame(dstMAC, srcMAC [6]byte, src, dst netip.Addr, sport, dport uint16, payload []byte, csum bool) []byte {
	ulen := header.UDPLen + len(payload)
	f := make([]byte, netdev.EthHlen+header.IPv4MinLen+ulen)
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: dstMAC, Source: srcMAC, Proto: netdev.ETH_P_IP})
	header.Iphdr(f[netdev.EthHlen:]).Encode(header.IPFields{TotLen: header.IPv4MinLen + ulen, ID: 1, TTL: 64,
		Protocol: IPPROTO_UDP, Saddr: src.As4(), Daddr: dst.As4()})
	uh := header.Udphdr(f[netdev.EthHlen+header.IPv4MinLen:])
	uh.Encode(header.UDPFields{Source: sport, Dest: dport, Len: ulen})
	copy(uh[header.UDPLen:], payload)
	if csum {
		c := header.Fold(header.Checksum(uh, header.PseudoHeaderSum(src.As4(), dst.As4(), IPPROTO_UDP, ulen)))
		if c == 0 {
			c = 0xffff
		}
		uh.SetCheck(c)
	}
	return f
}

// TestUDPLoopback: a client reaches a server on the same stack at
// 127.0.0.1 and at the stack's own address, through lo.
func TestUDPLoopback(t *testing.T) {
	a, _ := newDgPair(t, ktime.NewManual())
	srv := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), srv, ap("0.0.0.0:7000")); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"127.0.0.1:7000", "10.0.0.1:7000"} {
		cli := a.socket(t, socket.SOCK_DGRAM, 0)
		if err := socket.Connect(t.Context(), cli, ap(to), 0); err != nil {
			t.Fatal(err)
		}
		sendto(t, cli, "", []byte("ping "+to))
		got, msg := recvfrom(t, srv, 100)
		if string(got) != "ping "+to || msg.Name.Addr() != ap(to).Addr() {
			t.Fatalf("server read %q from %v", got, msg.Name)
		}
		sendto(t, srv, msg.Name.String(), []byte("pong"))
		if got, _ := recvfrom(t, cli, 100); string(got) != "pong" {
			t.Fatalf("client read %q", got)
		}
	}
	if lo := a.in.nd.DevGetByName("lo"); lo.Stats.TxPackets.Load() < 4 {
		t.Errorf("lo carried %d packets", lo.Stats.TxPackets.Load())
	}
	if v := a.dev.Stats.TxPackets.Load(); v != 0 {
		t.Errorf("eth0 sent %d frames for local traffic", v)
	}
}

// TestUDPPoll: datagram_poll's bits follow the queue and sk_err.
func TestUDPPoll(t *testing.T) {
	a, b := newDgPair(t, ktime.NewManual())
	srv := a.socket(t, socket.SOCK_DGRAM, 0)
	if err := socket.Bind(t.Context(), srv, ap("0.0.0.0:5005")); err != nil {
		t.Fatal(err)
	}
	if m := srv.Ops.Poll(srv); m&socket.POLLIN != 0 || m&socket.POLLOUT == 0 {
		t.Fatalf("idle poll %#x", m)
	}
	cli := b.socket(t, socket.SOCK_DGRAM, 0)
	sendto(t, cli, "10.0.0.1:5005", []byte("x"))
	idleCheck(t, "POLLIN", func() bool { return srv.Ops.Poll(srv)&socket.POLLIN != 0 })
	if err := socket.Connect(t.Context(), cli, ap("10.0.0.1:5999"), 0); err != nil {
		t.Fatal(err)
	}
	sendto(t, cli, "", []byte("x"))
	idleCheck(t, "POLLERR", func() bool { return cli.Ops.Poll(cli)&socket.POLLERR != 0 })
}

// queued is the socket's receive queue length.
func queued(s *socket.Socket) int {
	sk := s.Sk.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	return sk.ReceiveQueue.Len()
}
