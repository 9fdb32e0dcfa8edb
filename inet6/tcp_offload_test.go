package inet6

import (
	"bytes"
	"context"
	"net/netip"
	"regexp"
	"strconv"
	"testing"
	"time"

	inethdr "sockfs/inet/header"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/netdev/netdevtest"
	"sockfs/socket"
)

// TSO6 and software GSO for TCP over IPv6 (ip6_offload.go, and the
// tcp_gso_segment both families share): what TCP builds for a device with
// NETIF_F_TSO6 or NETIF_F_GSO, how the segmenter cuts it, and a TSO6
// super-frame received whole.

// v6Frame is the TCP segment in an Ethernet frame carrying IPv6 (its
// payload length, not the frame's end, bounding it).
func v6Frame(f []byte) (ip header.Ipv6hdr, th inethdr.Tcphdr, ok bool) {
	eth, ok := netdev.ParseEthhdr(f)
	if !ok || eth.Proto() != netdev.ETH_P_IPV6 {
		return nil, nil, false
	}
	ip, perr := header.ParseIpv6hdr(f[netdev.EthHlen:])
	if perr != header.IPv6Ok || ip.Nexthdr() != header.NEXTHDR_TCP {
		return nil, nil, false
	}
	th, ok = inethdr.ParseTcphdr(ip[header.IPv6Len:])
	return ip, th, ok
}

// parseV6Data is netdevtest.TSONic's Parse for IPv6 frames.
func parseV6Data(f []byte) (uint32, int, bool) {
	_, th, ok := v6Frame(f)
	if !ok {
		return 0, 0, false
	}
	return th.Seq(), len(th.Payload()), true
}

// v6TCPChecksumOK verifies a frame's TCP checksum with the IPv6
// pseudo-header.
func v6TCPChecksumOK(ip header.Ipv6hdr, th inethdr.Tcphdr) bool {
	return header.Fold(header.Checksum(th, header.PseudoHeaderSum(ip.Saddr(), ip.Daddr(), header.NEXTHDR_TCP, len(th)))) == 0
}

// v6Super builds a TCP/IPv6 super-segment as TCP hands it to the device:
// Ethernet, IPv6 and TCP headers (with a timestamp option), payload, the
// checksum partial (tcp_v6_send_check's pseudo-header sum), gso_size mss.
func v6Super(saddr, daddr netip.Addr, seq uint32, flags uint8, payload []byte, mss int) *netdev.SkBuff {
	opts := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	skb := netdev.AllocSkb(netdev.EthHlen + header.IPv6Len + inethdr.TCPMinLen + len(opts) + len(payload))
	b := skb.Put(inethdr.TCPMinLen + len(opts) + len(payload))
	inethdr.Tcphdr(b).Encode(inethdr.TCPFields{Source: 40000, Dest: 80, Seq: seq, AckSeq: 7, Flags: flags, Window: 512, Options: opts})
	copy(b[inethdr.TCPMinLen+len(opts):], payload)
	skb.IPSummed = netdev.CHECKSUM_PARTIAL
	tcpV6SendCheck(skb, saddr, daddr)
	skb.TransportHeader = skb.Offset()
	header.Ipv6hdr(skb.Push(header.IPv6Len)).Encode(header.IPv6Fields{PayloadLen: len(b), Nexthdr: header.NEXTHDR_TCP, HopLimit: 64, Saddr: saddr.As16(), Daddr: daddr.As16()})
	netdev.EthHeaderPush(skb, [6]byte{2, 0, 0, 0, 0, 2}, [6]byte{2, 0, 0, 0, 0, 1}, netdev.ETH_P_IPV6)
	skb.GsoSize = mss
	return skb
}

// ipv6_gso_segment cuts a super-segment into wire frames of gso_size
// payload bytes: each with its own payload length, sequence number and a
// full TCP checksum; FIN and PSH on the last only, the payload unchanged.
func TestIPv6GsoSegment(t *testing.T) {
	saddr, daddr := netip.MustParseAddr("2001:2::1"), netip.MustParseAddr("2001:2::2")
	payload := bytes.Repeat([]byte("sockfs tso6 "), 875) // 10500 bytes: 10 of 1000 and one of 500
	const seq0, mss = 0xfffff000, 1000                   // the sequence space wraps inside
	skb := v6Super(saddr, daddr, seq0, inethdr.TCP_ACK|inethdr.TCP_PSH|inethdr.TCP_FIN, payload, mss)
	defer skb.Free()
	var frames [][]byte
	err := ipv6GsoSegment(skb, func(seg *netdev.SkBuff) error {
		frames = append(frames, append([]byte(nil), seg.Data()...))
		if seg.TransportHeader-seg.Offset() != netdev.EthHlen+header.IPv6Len {
			t.Errorf("segment %d: transport header at %d", len(frames), seg.TransportHeader-seg.Offset())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 11 {
		t.Fatalf("%d frames, want 11", len(frames))
	}
	var got []byte
	for i, f := range frames {
		ip, th, ok := v6Frame(f)
		if !ok {
			t.Fatalf("frame %d does not parse", i)
		}
		n := min(mss, len(payload)-i*mss)
		if len(f) != netdev.EthHlen+header.IPv6Len+32+n || ip.PayloadLen() != 32+n {
			t.Errorf("frame %d: %d bytes, payload length %d; want %d of payload", i, len(f), ip.PayloadLen(), n)
		}
		if th.Seq() != seq0+uint32(i*mss) {
			t.Errorf("frame %d: seq %#x, want %#x", i, th.Seq(), seq0+uint32(i*mss))
		}
		want := uint8(inethdr.TCP_ACK)
		if i == len(frames)-1 {
			want |= inethdr.TCP_PSH | inethdr.TCP_FIN
		}
		if th.Flags() != want {
			t.Errorf("frame %d: flags %#x, want %#x", i, th.Flags(), want)
		}
		if !v6TCPChecksumOK(ip, th) {
			t.Errorf("frame %d: bad TCP checksum %#04x", i, th.Check())
		}
		got = append(got, th.Payload()...)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("the segments' payloads are not the super-segment's")
	}

	// Not TCP (an extension header first), or no segment size: refused,
	// nothing sent.
	sent := 0
	count := func(*netdev.SkBuff) error { sent++; return nil }
	noSize := v6Super(saddr, daddr, 1, inethdr.TCP_ACK, payload, 0)
	defer noSize.Free()
	ext := v6Super(saddr, daddr, 1, inethdr.TCP_ACK, payload, mss)
	defer ext.Free()
	header.Ipv6hdr(ext.Data()[netdev.EthHlen:]).SetNexthdr(header.NEXTHDR_DEST)
	for _, bad := range []*netdev.SkBuff{noSize, ext} {
		if err := ipv6GsoSegment(bad, count); err == nil || sent != 0 {
			t.Errorf("a bad super-segment: err %v, %d frames sent", err, sent)
		}
	}
}

// tcp6Conn connects a TCP socket on a to a listener on b at port, on the
// manual clock, and returns both ends.
func tcp6Conn(t *testing.T, a, b *udpHost, clk *ktime.Manual, port uint16) (c, s *socket.Socket) {
	t.Helper()
	ctx := context.Background()
	ls := b.stream(t)
	if err := socket.Bind(ctx, ls, netip.AddrPortFrom(netip.IPv6Unspecified(), port)); err != nil {
		t.Fatal(err)
	}
	if err := socket.Listen(ls, 8); err != nil {
		t.Fatal(err)
	}
	c = a.stream(t)
	if err := socket.Connect(ctx, c, netip.AddrPortFrom(b.addr, port), socket.O_NONBLOCK); err != socket.EINPROGRESS {
		t.Fatalf("connect: %v", err)
	}
	return c, accept6(t, b, ls, func() { stackIdle(t); clk.Advance(5 * time.Millisecond) })
}

// accept6 takes the first connection from the listener ls on b without
// blocking, running step (the stacks to idle, the clock on) between tries,
// at most 2000 times.
func accept6(t *testing.T, b *udpHost, ls *socket.Socket, step func()) *socket.Socket {
	t.Helper()
	for range 2000 {
		step()
		s, err := socket.Accept(context.Background(), b.sb, ls, socket.O_NONBLOCK)
		switch err {
		case nil:
			t.Cleanup(func() { s.Ops.Release(s) })
			return s
		case socket.EAGAIN:
		default:
			t.Fatalf("accept: %v", err)
		}
	}
	t.Fatal("no connection after 2000 steps")
	return nil
}

// send6 moves data from c to s, c then shutting down its side, on the
// manual clock (5 ms a step, for the delayed ACK and any timeout), and
// checks s reads it all intact up to the FIN.
func send6(t *testing.T, c, s *socket.Socket, clk *ktime.Manual, data []byte) {
	t.Helper()
	out, shut := data, false
	var in, none []byte
	for i := 0; !pump(t, s, &none, &in); i++ {
		if i == 100000 {
			t.Fatalf("after %d steps: %d of %d bytes arrived", i, len(in), len(data))
		}
		pump(t, c, &out, &none)
		if len(out) == 0 && !shut {
			shut = true
			if err := socket.Shutdown(c, socket.SHUT_WR); err != nil {
				t.Fatal(err)
			}
		}
		stackIdle(t)
		clk.Advance(5 * time.Millisecond)
	}
	if !bytes.Equal(in, data) {
		t.Fatalf("received %d bytes, not the %d sent", len(in), len(data))
	}
}

// payload6 is n bytes that differ from one MSS to the next.
func payload6(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + i>>10)
	}
	return b
}

// With TSO6 the sender hands the device super-segments of many MSS; wire
// segments lost from the middle of them are SACKed around and only the
// lost MSS units go again, as for IPv4 (inet's TestTCPTSOLossPerMSS, on
// the same test NIC): the retransmission count is per MSS.
func TestTCPv6TSOLossPerMSS(t *testing.T) {
	pa, pb := netdev.NewPair(4096)
	nic := &netdevtest.TSONic{Inner: pa, Segment: ipv6GsoSegment, Parse: parseV6Data, Drop: map[int]bool{30: true, 31: true, 77: true, 150: true}}
	clk := ktime.NewManual()
	a := newFeatHost(t, nic, clk, 1, netdev.NETIF_F_TSO6)
	b := newUDPHost(t, pb, clk, 2)
	c, s := tcp6Conn(t, a, b, clk, 5001)
	mss, err := socket.Getsockopt(c, socket.SOL_TCP, socket.TCP_MAXSEG)
	if err != nil || mss != 1500-40-20-12 {
		t.Fatalf("TCP_MAXSEG %d, %v: want the IPv6 MSS with timestamps, 1428", mss, err)
	}
	send6(t, c, s, clk, payload6(1<<20))
	if nic.Supers(netdev.EthHlen+header.IPv6Len+32+mss) == 0 {
		t.Fatal("no super-segments handed to the device")
	}
	if err := nic.CheckResends(mss); err != nil {
		t.Fatal(err)
	}
	if r := procField(t, a, "snmp", "Tcp:", "RetransSegs"); r != strconv.Itoa(len(nic.Drop)) {
		t.Fatalf("RetransSegs %s for %d lost wire segments", r, len(nic.Drop))
	}
}

// traceUntil reads r until what it has read matches re, failing t after
// 5 s without.
func traceUntil(t *testing.T, r *socket.TraceReader, re *regexp.Regexp) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var seen []byte
	buf := make([]byte, 64<<10)
	for !re.Match(seen) {
		n, err := r.Read(ctx, buf, false)
		if err != nil {
			t.Fatalf("no trace line matching %q: %v; trace:\n%s", re, err, seen)
		}
		seen = append(seen, buf[:n]...)
	}
}

// superSkbs matches the trace lines of skbs TCP built of several MSS.
var superSkbs = regexp.MustCompile(`tcp_transmit_skb seq=\d+ ack=\d+ len=\d+ segs=([2-9]|\d\d+) `)

// A device without NETIF_F_TSO6 gets wire-sized frames: TCP still builds
// super-segments (NETIF_F_GSO), and dev_queue_xmit cuts them in software,
// also on a device that has TSO for IPv4 only; each frame at most the
// MTU, with a correct checksum, the data contiguous and complete.
func TestTCPv6SoftwareGSO(t *testing.T) {
	for _, c := range []struct {
		name string
		feat uint64
	}{{"GSO", netdev.NETIF_F_GSO}, {"TSO4 only", netdev.NETIF_F_GSO | netdev.NETIF_F_TSO}} {
		t.Run(c.name, func(t *testing.T) {
			pa, pb := netdev.NewPair(4096)
			rec := &netdevtest.Recorder{Inner: pa}
			clk := ktime.NewManual()
			a := newFeatHost(t, rec, clk, 1, c.feat)
			b := newUDPHost(t, pb, clk, 2)
			cs, ss := tcp6Conn(t, a, b, clk, 5002)
			r := a.h.SockNet.Trace.Subscribe(8 << 20)
			defer r.Close()
			data := payload6(300 << 10)
			send6(t, cs, ss, clk, data)
			traceUntil(t, r, superSkbs)
			var iss uint32
			seqs := map[uint32]int{}
			for _, f := range rec.Frames() {
				ip, th, ok := v6Frame(f)
				if !ok {
					continue
				}
				if len(f) > netdev.EthHlen+1500 {
					t.Fatalf("a %d-byte frame on the wire", len(f))
				}
				if !v6TCPChecksumOK(ip, th) {
					t.Fatalf("bad checksum at seq %d", th.Seq())
				}
				if th.Flags()&inethdr.TCP_SYN != 0 {
					iss = th.Seq()
				}
				if n := len(th.Payload()); n > 0 {
					seqs[th.Seq()] = n
				}
			}
			next := iss + 1
			for seqs[next] > 0 {
				next += uint32(seqs[next])
			}
			if int(next-iss-1) != len(data) {
				t.Fatalf("wire segments cover %d contiguous bytes of %d", next-iss-1, len(data))
			}
		})
	}
}

// superFrame6 is what a TAP with --offload hands up for a TSO6 burst of
// the kernel's: one frame from peer to h with a TCP segment of
// len(payload) bytes, the IPv6 payload length covering it all, GsoSize
// the wire segment size. With partial its checksum field holds garbage,
// as a NEEDS_CSUM frame's holds only the pseudo-header sum, and IPSummed
// says so; without, the garbage stands.
func superFrame6(h, peer *udpHost, sport, dport uint16, seq, ack uint32, payload []byte, partial bool) *netdev.SkBuff {
	n := netdev.EthHlen + header.IPv6Len + inethdr.TCPMinLen + len(payload)
	skb := netdev.AllocSkb(n)
	f := skb.Put(n)
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: h.dev.HWAddr, Source: peer.dev.HWAddr, Proto: netdev.ETH_P_IPV6})
	header.Ipv6hdr(f[netdev.EthHlen:]).Encode(header.IPv6Fields{PayloadLen: n - netdev.EthHlen - header.IPv6Len, Nexthdr: header.NEXTHDR_TCP, HopLimit: 64,
		Saddr: peer.addr.As16(), Daddr: h.addr.As16()})
	th := inethdr.Tcphdr(f[netdev.EthHlen+header.IPv6Len:])
	th.Encode(inethdr.TCPFields{Source: sport, Dest: dport, Seq: seq, AckSeq: ack, Flags: inethdr.TCP_ACK | inethdr.TCP_PSH, Window: 1024})
	copy(th[inethdr.TCPMinLen:], payload)
	th.SetCheck(0xbeef)
	if partial {
		skb.IPSummed = netdev.CHECKSUM_PARTIAL
	}
	skb.GsoSize = 1428
	return skb
}

// superFrameConn is a connection from b's client to a's server, settled,
// with what a super-frame from the client must carry to be next in
// sequence: its ports, its seq and ack. a's transmissions go through
// mute, which the caller may turn on so that a's answers to injected
// frames stay off the wire.
func superFrameConn(t *testing.T) (a, b *udpHost, mute *netdevtest.Recorder, ss *socket.Socket, sport, dport uint16, seq, ack uint32) {
	t.Helper()
	pa, pb := netdev.NewPair(4096)
	mute = &netdevtest.Recorder{Inner: pa}
	rec := &netdevtest.Recorder{Inner: pb}
	clk := ktime.NewManual()
	a = newUDPHost(t, mute, clk, 1)
	b = newFeatHost(t, rec, clk, 2, 0)
	registerQueues(t, pb)
	cs, ss := tcp6Conn(t, b, a, clk, 80)
	// One byte from the client, read: its frame holds the sequence
	// numbers both ends are at.
	one, got := []byte{'x'}, []byte(nil)
	for i := 0; len(got) == 0; i++ {
		if i == 100 {
			t.Fatal("the first byte never arrived")
		}
		pump(t, cs, &one, &[]byte{})
		stackIdle(t)
		clk.Advance(50 * time.Millisecond) // the delayed ACK goes too
		pump(t, ss, &[]byte{}, &got)
	}
	stackIdle(t)
	for _, f := range rec.Frames() {
		if _, th, ok := v6Frame(f); ok && len(th.Payload()) == 1 {
			sport, dport, seq, ack = th.Source(), th.Dest(), th.Seq()+1, th.AckSeq()
		}
	}
	if sport == 0 {
		t.Fatal("the client's data frame was not seen")
	}
	return a, b, mute, ss, sport, dport, seq, ack
}

// A TSO6 super-frame from the kernel goes through ipv6_rcv and tcp_v6_rcv
// as one skb (the trace shows its whole length there), its partial
// checksum taken unverified, all its bytes read out; the same garbage
// checksum without the device's word for it is a checksum error.
func TestTCPv6ReceiveSuperFrame(t *testing.T) {
	a, b, mute, ss, sport, dport, seq, ack := superFrameConn(t)
	mute.Mute.Store(true)
	r := a.h.SockNet.Trace.Subscribe(1 << 20)
	defer r.Close()
	payload := payload6(20 * 1428)
	a.dev.NetifReceiveSkb(superFrame6(a, b, sport, dport, seq, ack, payload, true))
	stackIdle(t)
	var got []byte
	if pump(t, ss, &[]byte{}, &got); !bytes.Equal(got, payload) {
		t.Fatalf("read %d bytes of the %d-byte super-frame, or they differ", len(got), len(payload))
	}
	whole := regexp.MustCompile(`tcp_v6_rcv \[` + regexp.QuoteMeta(b.addr.String()) + `\]:\d+ -> \S+ seq=\d+ ack=\d+ len=` + strconv.Itoa(len(payload)) + ` `)
	traceUntil(t, r, whole)
	if e := procField(t, a, "snmp", "Tcp:", "InCsumErrors"); e != "0" {
		t.Fatalf("InCsumErrors %s: the partial checksum was verified", e)
	}
	a.dev.NetifReceiveSkb(superFrame6(a, b, sport, dport, seq+uint32(len(payload)), ack, payload, false))
	stackIdle(t)
	if e := procField(t, a, "snmp", "Tcp:", "InCsumErrors"); e != "1" {
		t.Fatalf("InCsumErrors %s for a garbage checksum nobody vouched for, want 1", e)
	}
}
