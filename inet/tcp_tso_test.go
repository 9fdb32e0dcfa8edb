package inet

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"sort"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/netdevtest"
	"sockfs/socket"
)

// parseSentData is TSONic's Parse for IPv4 frames.
func parseSentData(f []byte) (uint32, int, bool) {
	s, ok := parseSentSeg(f)
	return s.seq, s.dataLen, ok
}

// sendOneWay writes data from a to b over a fresh connection and checks b
// reads it all intact; it returns the sender once everything is acked.
// watch, if not nil, runs every millisecond meanwhile with the sender's
// lock held. sndbuf > 0 fixes the sender's buffer, as SO_SNDBUF does.
func sendOneWay(t *testing.T, a, b *tcpHost, data []byte, sndbuf int, watch func(tp *tcpSock)) *tcpSock {
	t.Helper()
	cs, ss, ls := tcpConnPair(t, a, b, 5001)
	socket.SockRelease(ls)
	if sndbuf > 0 {
		withSk(skOf(cs), func(tp *tcpSock) bool {
			tp.SndBuf = sndbuf
			tp.UserLocks |= socket.SOCK_SNDBUF_LOCK
			return true
		})
	}
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for watch != nil {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				withSk(skOf(cs), func(tp *tcpSock) bool { watch(tp); return true })
			}
		}
	}()
	defer func() { close(stop); <-watched }()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		err := writeAll(ctx, cs, data)
		if err == nil {
			err = socket.Shutdown(cs, socket.SHUT_WR)
		}
		errc <- err
	}()
	got := make([]byte, 0, len(data))
	buf := make([]byte, 64<<10)
	for {
		n, err := socket.SockRecvmsg(ctx, ss, &socket.Msghdr{}, buf, 0)
		if err != nil {
			t.Fatal("read:", err)
		}
		if n == 0 {
			break
		}
		got = append(got, buf[:n]...)
	}
	if err := <-errc; err != nil {
		t.Fatal("write:", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, not the %d sent", len(got), len(data))
	}
	tp := skOf(cs)
	tcpWaitFor(t, "every segment acked", 10*time.Second, func() bool {
		return withSk(tp, func(tp *tcpSock) bool { return tp.packetsOut == 0 })
	})
	t.Cleanup(func() { socket.SockRelease(cs); socket.SockRelease(ss) })
	return tp
}

// With TSO the sender hands super-segments of many MSS to the device;
// wire segments lost from the middle of them are SACKed around, the
// partial ACKs trim them, and only the lost MSS units go again: the
// scoreboard counts per MSS, not per skb.
func TestTCPTSOLossPerMSS(t *testing.T) {
	nic := &netdevtest.TSONic{Segment: inetGsoSegment, Parse: parseSentData, Drop: map[int]bool{30: true, 31: true, 77: true, 150: true}}
	a, b := newTCPPair(t, tcpPairOpts{feat: netdev.NETIF_F_TSO,
		wrapA: func(d netdev.Driver) netdev.Driver { nic.Inner = d; return nic }})
	tp := sendOneWay(t, a, b, testPayload(1<<20, 7), 0, nil)
	mss := withSk(tp, func(tp *tcpSock) int { return tp.mssCache })

	if nic.Supers(netdev.EthHlen+header.IPv4MinLen+header.TCPMinLen+tcpolenTSAligned+mss) == 0 {
		t.Fatal("no super-segments handed to the device")
	}
	if err := nic.CheckResends(mss); err != nil {
		t.Fatal(err)
	}
	st := withSk(tp, func(tp *tcpSock) [5]uint32 {
		return [5]uint32{tp.packetsOut, tp.sackedOut, tp.lostOut, tp.retransOut, tp.totalRetrans}
	})
	if st != [5]uint32{0, 0, 0, 0, uint32(len(nic.Drop))} {
		t.Fatalf("packets_out sacked_out lost_out retrans_out total_retrans = %v", st)
	}
}

// The counters stay consistent with the queue while recovering: after
// every ACK, packets_out is the sum of the queued skbs' segment counts and
// sacked_out/lost_out/retrans_out those of the marked ones.
func TestTCPTSOScoreboardSums(t *testing.T) {
	a, b := newTCPPair(t, tcpPairOpts{feat: netdev.NETIF_F_GSO, netem: "loss 3% reorder 5%", seed: 21,
		rtoMin: 20 * time.Millisecond})
	var bad string
	tp := sendOneWay(t, a, b, testPayload(4<<20, 3), 0, func(tp *tcpSock) {
		var out, sacked, lost, retrans uint32
		q := &tp.writeQueue
		for skb := q.Peek(); skb != nil && skb != tp.sendHead; skb = q.Next(skb) {
			pc := skbPcount(skb)
			out += pc
			if skb.Cb.Sacked&tcpcbSackedAcked != 0 {
				sacked += pc
			}
			if skb.Cb.Sacked&tcpcbLost != 0 {
				lost += pc
			}
			if skb.Cb.Sacked&tcpcbSackedRetrans != 0 {
				retrans += pc
			}
		}
		if bad == "" && (out != tp.packetsOut || sacked != tp.sackedOut || lost != tp.lostOut || retrans != tp.retransOut) {
			bad = fmt.Sprintf("queue: out=%d sacked=%d lost=%d retrans=%d; %s", out, sacked, lost, retrans, diagString(tp))
		}
	})
	if bad != "" {
		t.Fatal("counters off the queue:", bad)
	}
	if withSk(tp, func(tp *tcpSock) uint32 { return tp.totalRetrans }) == 0 {
		t.Fatal("no retransmissions under loss")
	}
}

// Software GSO (a device without NETIF_F_TSO) puts on the wire what a
// stack without GSO sends: the same MSS-sized segments at the same
// sequence numbers, each with a correct IP and TCP checksum.
func TestTCPSoftwareGSOMatchesPlain(t *testing.T) {
	data := testPayload(300<<10, 5)
	run := func(feat uint64) (segs []sentWire, supers int) {
		rec := &netdevtest.Recorder{}
		a, b := newTCPPair(t, tcpPairOpts{feat: feat,
			wrapA: func(d netdev.Driver) netdev.Driver { rec.Inner = d; return rec }})
		r := a.sn.Trace.Subscribe(4 << 20)
		tp := sendOneWay(t, a, b, data, 2*len(data), nil)
		r.Close()
		// The trace shows the skbs as TCP built them.
		supers = len(regexp.MustCompile(`tcp_transmit_skb seq=\d+ ack=\d+ len=\d+ segs=([2-9]|\d\d+) `).FindAllString(drainTrace(r), -1))
		iss := withSk(tp, func(tp *tcpSock) uint32 { return tp.iss })
		for _, f := range rec.Frames() {
			s, ok := parseSentSeg(f)
			if !ok || s.dataLen == 0 {
				continue
			}
			if !wireChecksumsOK(f) {
				t.Fatalf("bad checksum on the wire at seq %d", s.seq-iss)
			}
			segs = append(segs, sentWire{s.seq - iss, s.dataLen})
		}
		return segs, supers
	}
	plain, _ := run(0)
	soft, supers := run(netdev.NETIF_F_GSO)
	if supers == 0 {
		t.Fatal("no super-segments built with NETIF_F_GSO")
	}
	sort.Slice(soft, func(i, j int) bool { return soft[i].seq < soft[j].seq })
	sort.Slice(plain, func(i, j int) bool { return plain[i].seq < plain[j].seq })
	next := uint32(1)
	for _, w := range soft {
		if w.seq != next {
			t.Fatalf("GSO segments not contiguous: %d after %d", w.seq, next)
		}
		next += uint32(w.n)
	}
	if int(next-1) != len(data) {
		t.Fatalf("GSO segments cover %d bytes of %d", next-1, len(data))
	}
	if len(soft) != len(plain) {
		for i := range min(len(soft), len(plain)) {
			if soft[i] != plain[i] {
				t.Logf("first difference at %d: %+v with GSO, %+v without", i, soft[i], plain[i])
				break
			}
		}
		t.Logf("gso %v\nplain %v", soft, plain)
		t.Fatalf("%d segments with GSO, %d without", len(soft), len(plain))
	}
	for i := range soft {
		if soft[i] != plain[i] {
			t.Fatalf("segment %d: %+v with GSO, %+v without", i, soft[i], plain[i])
		}
	}
}

// sentWire is a data segment on the wire: its sequence number, its length.
type sentWire struct {
	seq uint32
	n   int
}

// wireChecksumsOK verifies an Ethernet frame's IPv4 header checksum and
// its TCP checksum with the pseudo-header.
func wireChecksumsOK(f []byte) bool {
	ip := header.Iphdr(f[netdev.EthHlen:])
	if header.Fold(header.Checksum(ip[:ip.Ihl()], 0)) != 0 {
		return false
	}
	seg := ip[ip.Ihl():ip.TotLen()]
	sum := header.PseudoHeaderSum(ip.Saddr(), ip.Daddr(), IPPROTO_TCP, len(seg))
	return header.Fold(header.Checksum(seg, sum)) == 0
}
