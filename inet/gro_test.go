package inet

import (
	"bytes"
	"context"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// superFrame builds what a TAP with --offload hands up for a TSO burst of
// the kernel's: one Ethernet frame holding a TCP segment of len(payload)
// bytes, longer than the MTU, with GsoSize the wire segment size. With
// partial set its TCP checksum field holds garbage, as a NEEDS_CSUM frame's
// holds only the pseudo-header sum, and IPSummed says so.
func superFrame(h, peer *tcpHost, sport, dport uint16, seq, ack uint32, payload []byte, gsoSize int, partial bool) *netdev.SkBuff {
	n := netdev.EthHlen + header.IPv4MinLen + header.TCPMinLen + len(payload)
	skb := netdev.AllocSkb(n)
	f := skb.Put(n)
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: h.dev.HWAddr, Source: peer.dev.HWAddr, Proto: netdev.ETH_P_IP})
	ip := header.Iphdr(f[netdev.EthHlen:])
	ip.Encode(header.IPFields{TotLen: n - netdev.EthHlen, TTL: 64, Protocol: IPPROTO_TCP, Saddr: peer.addr.As4(), Daddr: h.addr.As4()})
	ip.SetCheck()
	th := header.Tcphdr(f[netdev.EthHlen+header.IPv4MinLen:])
	th.Encode(header.TCPFields{Source: sport, Dest: dport, Seq: seq, AckSeq: ack, Flags: header.TCP_ACK | header.TCP_PSH, Window: 1024})
	copy(th[header.TCPMinLen:], payload)
	if partial {
		th.SetCheck(0xbeef)
		skb.IPSummed = netdev.CHECKSUM_PARTIAL
	} else {
		th.SetCheck(header.Fold(header.Checksum(th, header.PseudoHeaderSum(peer.addr.As4(), h.addr.As4(), IPPROTO_TCP, len(th)))))
	}
	skb.GsoSize = gsoSize
	return skb
}

// A GRO-sized super-frame (as --offload's TAP delivers a TSO burst) goes
// through ip_rcv and tcp_v4_rcv as one skb: all its bytes are queued at
// once, the checksum the kernel left partial is not verified, and the
// receiver measures the peer's MSS by the segment size, not the frame.
func TestTCPReceiveSuperFrame(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{})
	cs, ss, _ := tcpConnPair(t, a, b, 80)
	ctp, stp := skOf(cs), skOf(ss)
	sport, dport := withSk(ctp, func(tp *tcpSock) uint16 { return tp.Sport }), withSk(ctp, func(tp *tcpSock) uint16 { return tp.Dport })
	seq := withSk(stp, func(tp *tcpSock) uint32 { return tp.rcvNxt })
	ack := withSk(stp, func(tp *tcpSock) uint32 { return tp.sndNxt })

	payload := testPayload(20*1448, 3)
	b.dev.NetifReceiveSkb(superFrame(b, a, sport, dport, seq, ack, payload, 1448, true))
	q, qb := withSk(stp, func(tp *tcpSock) int { return tp.ReceiveQueue.Len() }), withSk(stp, func(tp *tcpSock) int { return tp.ReceiveQueue.Bytes() })
	if q != 1 || qb != len(payload) {
		t.Fatalf("receive queue: %d skbs, %d bytes; want the super-frame as 1 skb of %d", q, qb, len(payload))
	}
	if e := b.in.mib.Tcp.InCsumErrors.Load(); e != 0 {
		t.Fatalf("%d checksum errors: the partial checksum was verified", e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got := make([]byte, 0, len(payload))
	buf := make([]byte, 64<<10)
	for len(got) < len(payload) {
		n, err := socket.SockRecvmsg(ctx, ss, &socket.Msghdr{}, buf, 0)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("the super-frame's bytes arrived changed")
	}
	if mss := withSk(stp, func(tp *tcpSock) int { return tp.rcvMss }); mss != 1448 {
		t.Errorf("rcv_mss %d, want the segment size 1448", mss)
	}

	// The same frame without the device's word for its checksum is
	// verified, and its garbage checksum drops it.
	seq += uint32(len(payload))
	bad := superFrame(b, a, sport, dport, seq, ack, payload, 1448, true)
	bad.IPSummed = netdev.CHECKSUM_NONE
	b.dev.NetifReceiveSkb(bad)
	if e := b.in.mib.Tcp.InCsumErrors.Load(); e != 1 {
		t.Fatalf("InCsumErrors %d after a bad checksum nobody vouched for, want 1", e)
	}
}

// A UDP datagram whose checksum the device verified (DATA_VALID) is not
// verified again: even a wrong checksum field passes, which is how a test
// tells that the check was skipped.
func TestUDPChecksumVouchedFor(t *testing.T) {
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
	frame := udpFrame(dev.HWAddr, w.mac, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 1234, 53, []byte("vouched"), true)
	uh := header.Udphdr(frame[netdev.EthHlen+header.IPv4MinLen:])
	uh.SetCheck(^uh.Check())
	skb := netdev.AllocSkb(len(frame))
	copy(skb.Put(len(frame)), frame)
	skb.IPSummed = netdev.CHECKSUM_UNNECESSARY
	dev.NetifReceiveSkb(skb)
	if got, _ := recvfrom(t, s, 100); string(got) != "vouched" {
		t.Fatalf("read %q", got)
	}
	if v := in.mib.Udp.InCsumErrors.Load(); v != 0 {
		t.Errorf("InCsumErrors = %d", v)
	}
}
