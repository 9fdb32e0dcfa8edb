package inet

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// The whole-stack fuzz target: arbitrary frames into netif_receive_skb of a
// live stack (b) that has a TCP listener, an established connection (from
// stack a, over the in-memory wire), a bound UDP socket and a raw socket.
// After each frame the stack's invariants are checked. The stack lives
// across inputs, as a real one lives across packets; if an input ends the
// connection, the next input gets a new one.

// fuzzStack is one worker's live stack.
type fuzzStack struct {
	clk      *ktime.Manual
	a, b     *tcpHost
	ls       *socket.Socket // b's listener on fuzzTCPPort
	cs, ss   *socket.Socket // a's client and b's accepted end
	udp, raw *socket.Socket // b's UDP socket on fuzzUDPPort, raw IPPROTO_ICMP
	nextPort uint16
}

const (
	fuzzTCPPort = 80
	fuzzUDPPort = 53
	fuzzCliPort = 40000
)

var (
	fuzzOnce sync.Once
	fuzzSt   *fuzzStack
)

// fuzzTB satisfies the helpers' testing.TB for a stack that outlives any
// one test (Cleanup is never run: the stack lives until the process ends).
type fuzzTB struct{ testing.TB }

func (fuzzTB) Cleanup(func()) {}

func newFuzzStack(t testing.TB) *fuzzStack {
	clk := ktime.NewManual()
	a, b := newTCPPairTB(fuzzTB{t}, tcpPairOpts{clock: clk})
	st := &fuzzStack{clk: clk, a: a, b: b, nextPort: fuzzCliPort}
	st.ls = b.listen(fuzzTCPPort)
	st.udp = b.socket2(socket.SOCK_DGRAM, IPPROTO_UDP)
	if err := socket.Bind(context.Background(), st.udp, netip.AddrPortFrom(netip.IPv4Unspecified(), fuzzUDPPort)); err != nil {
		t.Fatal(err)
	}
	st.raw = b.socket2(socket.SOCK_RAW, IPPROTO_ICMP)
	st.connect(t)
	return st
}

func (h *tcpHost) socket2(typ socket.SockType, proto int) *socket.Socket {
	s, err := socket.SockCreate(context.Background(), h.sn, h.sb, socket.AF_INET, typ, proto)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// connect (re)makes the established connection a:PORT -> b:80, from a
// fresh port each time so no TIME_WAIT is in the way.
func (st *fuzzStack) connect(t testing.TB) {
	if st.cs != nil {
		socket.SockRelease(st.cs)
		socket.SockRelease(st.ss)
	}
	// Whatever the fuzzer left in the accept queue goes first.
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		s, err := socket.Accept(ctx, st.b.sb, st.ls, socket.O_NONBLOCK)
		cancel()
		if err != nil {
			break
		}
		socket.SockRelease(s)
	}
	st.nextPort++
	cs := st.a.socket()
	if err := socket.Bind(context.Background(), cs, netip.AddrPortFrom(netip.IPv4Unspecified(), st.nextPort)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := socket.Connect(ctx, cs, netip.AddrPortFrom(st.b.addr, fuzzTCPPort), 0); err != nil {
		t.Fatal("connect:", err)
	}
	st.cs = cs
	st.ss = st.b.accept(st.ls)
}

// fuzzFrame builds an Ethernet frame from a to b carrying an IPv4 packet.
func fuzzFrame(st *fuzzStack, proto uint8, l4 []byte) []byte {
	f := make([]byte, netdev.EthHlen+header.IPv4MinLen+len(l4))
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: st.b.dev.HWAddr, Source: st.a.dev.HWAddr, Proto: netdev.ETH_P_IP})
	ip := header.Iphdr(f[netdev.EthHlen:])
	ip.Encode(header.IPFields{TotLen: header.IPv4MinLen + len(l4), TTL: 64, Protocol: proto, Saddr: st.a.addr.As4(), Daddr: st.b.addr.As4()})
	copy(f[netdev.EthHlen+header.IPv4MinLen:], l4)
	fuzzFixup(f)
	return f
}

// fuzzFixup recomputes the IPv4 header checksum and the TCP, UDP or ICMP
// checksum of a frame that parses far enough, so that mutated frames get
// past the checksums and reach the protocols' state machines.
func fuzzFixup(f []byte) {
	if len(f) < netdev.EthHlen+header.IPv4MinLen || binary.BigEndian.Uint16(f[12:]) != netdev.ETH_P_IP {
		return
	}
	ip := f[netdev.EthHlen:]
	ihl := int(ip[0]&0xf) * 4
	tot := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < header.IPv4MinLen || ihl > len(ip) {
		return
	}
	header.Iphdr(ip).SetCheck()
	if tot < ihl || tot > len(ip) || binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return // fragments keep their checksums: the transport sum covers the whole
	}
	l4 := ip[ihl:tot]
	var saddr, daddr [4]byte
	copy(saddr[:], ip[12:16])
	copy(daddr[:], ip[16:20])
	switch ip[9] {
	case IPPROTO_TCP:
		if len(l4) >= header.TCPMinLen {
			l4[16], l4[17] = 0, 0
			sum := header.PseudoHeaderSum(saddr, daddr, IPPROTO_TCP, len(l4))
			binary.BigEndian.PutUint16(l4[16:], header.Fold(header.Checksum(l4, sum)))
		}
	case IPPROTO_UDP:
		if len(l4) >= 8 {
			l4[6], l4[7] = 0, 0
			sum := header.PseudoHeaderSum(saddr, daddr, IPPROTO_UDP, len(l4))
			c := header.Fold(header.Checksum(l4, sum))
			if c == 0 {
				c = 0xffff
			}
			binary.BigEndian.PutUint16(l4[6:], c)
		}
	case IPPROTO_ICMP:
		if len(l4) >= 4 {
			l4[2], l4[3] = 0, 0
			binary.BigEndian.PutUint16(l4[2:], header.Fold(header.Checksum(l4, 0)))
		}
	}
}

func tcpSeg(sport, dport uint16, seq, ack uint32, flags uint8, opts, payload []byte) []byte {
	b := make([]byte, header.TCPMinLen+len(opts)+len(payload))
	header.Tcphdr(b).Encode(header.TCPFields{Source: sport, Dest: dport, Seq: seq, AckSeq: ack, Flags: flags, Window: 65535, Options: opts})
	copy(b[header.TCPMinLen+len(opts):], payload)
	return b
}

// seeds are real frames: a SYN (with the usual options) to the listener,
// data, FIN, RST and a SYN on the established connection with its
// current sequence numbers, a cookie-looking ACK, UDP, ICMP echo, a raw
// protocol's packet, a first fragment, and an ARP request.
func (st *fuzzStack) seeds() [][]byte {
	var snd, rcv uint32
	var cport uint16
	withSk(skOf(st.ss), func(tp *tcpSock) bool {
		snd, rcv, cport = tp.rcvNxt, tp.sndNxt, tp.Dport
		return true
	})
	synOpts := []byte{header.TCPOPT_MSS, 4, 0x05, 0xb4, header.TCPOPT_SACK_PERM, 2, header.TCPOPT_TIMESTAMP, 10, 0, 0, 0, 1, 0, 0, 0, 0, header.TCPOPT_NOP, header.TCPOPT_WINDOW, 3, 7}
	var out [][]byte
	add := func(proto uint8, l4 []byte) { out = append(out, fuzzFrame(st, proto, l4)) }
	add(IPPROTO_TCP, tcpSeg(1234, fuzzTCPPort, 1000, 0, tcpFlagSYN, synOpts, nil))
	add(IPPROTO_TCP, tcpSeg(cport, fuzzTCPPort, snd, rcv, tcpFlagACK|tcpFlagPSH, nil, []byte("hello, stack")))
	add(IPPROTO_TCP, tcpSeg(cport, fuzzTCPPort, snd, rcv, tcpFlagACK|tcpFlagFIN, nil, nil))
	add(IPPROTO_TCP, tcpSeg(cport, fuzzTCPPort, snd, 0, tcpFlagRST, nil, nil))
	add(IPPROTO_TCP, tcpSeg(cport, fuzzTCPPort, snd+100, rcv, tcpFlagACK, nil, []byte("out of order")))
	add(IPPROTO_TCP, tcpSeg(cport, fuzzTCPPort, snd-1, 0, tcpFlagSYN, synOpts, nil))
	add(IPPROTO_TCP, tcpSeg(1235, fuzzTCPPort, 2001, 0x5eed0001, tcpFlagACK, nil, nil))
	add(IPPROTO_TCP, tcpSeg(1236, fuzzTCPPort, 3000, 0, tcpFlagSYN|tcpFlagFIN, nil, nil))
	udp := make([]byte, 8+5)
	binary.BigEndian.PutUint16(udp[0:], 5000)
	binary.BigEndian.PutUint16(udp[2:], fuzzUDPPort)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], "query")
	add(IPPROTO_UDP, udp)
	add(IPPROTO_ICMP, []byte{header.ICMP_ECHO, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g'})
	add(253, []byte("experimental protocol"))
	frag := fuzzFrame(st, IPPROTO_UDP, udp)
	binary.BigEndian.PutUint16(frag[netdev.EthHlen+6:], 0x2000) // MF
	fuzzFixup(frag)
	out = append(out, frag)
	out = append(out, arpFrame(header.ARPOP_REQUEST, st.a.dev.HWAddr, [6]byte{}, st.a.addr, st.b.addr, netdev.EthBroadcast))
	return out
}

// checkInvariants holds for every reachable sock after any input: states
// in range and where their tables say, sequence spaces ordered, queues
// within their bounds, the neighbour table within gc_thresh3.
func (st *fuzzStack) checkInvariants() error {
	in := st.b.in
	t := &in.tcp
	t.mu.RLock()
	var est, lis []*tcpSock
	for _, tp := range t.ehash {
		est = append(est, tp)
	}
	for _, l := range t.lhash {
		lis = append(lis, l...)
	}
	t.mu.RUnlock()
	for _, tp := range est {
		tp.Mu.Lock()
		err := func() error {
			if tp.destroyed {
				return nil
			}
			if tp.State == 0 || tp.State >= TCP_MAX_STATES || tp.State == TCP_LISTEN || tp.State == TCP_CLOSE {
				return fmt.Errorf("%v:%d in the established hash in state %d", tp.Daddr, tp.Dport, tp.State)
			}
			if seqAfter(tp.sndUna, tp.sndNxt) || seqAfter(tp.sndNxt, tp.writeSeq) {
				return fmt.Errorf("%v:%d: snd_una %d snd_nxt %d write_seq %d out of order", tp.Daddr, tp.Dport, tp.sndUna, tp.sndNxt, tp.writeSeq)
			}
			if seqAfter(tp.copiedSeq, tp.rcvNxt) {
				return fmt.Errorf("%v:%d: copied_seq %d beyond rcv_nxt %d", tp.Daddr, tp.Dport, tp.copiedSeq, tp.rcvNxt)
			}
			if tp.sackedOut+tp.lostOut > tp.packetsOut { // tcp_verify_left_out
				return fmt.Errorf("%v:%d: lost %d of %d in flight", tp.Daddr, tp.Dport, tp.lostOut, tp.packetsOut)
			}
			if n := tp.ofoQueue.Len(); n > 4096 {
				return fmt.Errorf("%v:%d: %d segments out of order", tp.Daddr, tp.Dport, n)
			}
			return nil
		}()
		tp.Mu.Unlock()
		if err != nil {
			return err
		}
	}
	for _, lp := range lis {
		lp.Mu.Lock()
		q, a, backlog := lp.synQlen.Load(), lp.acceptQlen.Load(), lp.maxBacklog.Load()
		state := lp.State
		lp.Mu.Unlock()
		if state != TCP_LISTEN {
			return fmt.Errorf("state %d in the listening hash", state)
		}
		if q < 0 || q > max(backlog, 1) || a < 0 || a > backlog+1 {
			return fmt.Errorf("listener: SYN queue %d accept queue %d, backlog %d", q, a, backlog)
		}
	}
	for _, s := range []*socket.Socket{st.udp, st.raw} {
		sk := s.Sk.SK()
		sk.Mu.Lock()
		rmem, rcvbuf := sk.RmemAlloc, sk.RcvBuf
		sk.Mu.Unlock()
		if rmem < 0 || rmem > rcvbuf+2*65536 {
			return fmt.Errorf("datagram socket holds %d bytes, rcvbuf %d", rmem, rcvbuf)
		}
	}
	in.arp.mu.RLock()
	n := len(in.arp.m)
	in.arp.mu.RUnlock()
	if n > sysctlNeighGcThresh3 {
		return fmt.Errorf("%d neighbours, beyond gc_thresh3", n)
	}
	return nil
}

// FuzzNetifReceiveSkb feeds one frame per input to the live stack. The
// first byte steers: bit 0 asks for the checksums to be made right (so the
// frame reaches the protocols), the rest advances the manual clock by that
// many 10 ms ticks first (timers: retransmits, TIME_WAIT, ARP).
func FuzzNetifReceiveSkb(f *testing.F) {
	fuzzOnce.Do(func() { fuzzSt = newFuzzStack(f) })
	st := fuzzSt
	for _, s := range st.seeds() {
		f.Add(append([]byte{1}, s...))
		f.Add(append([]byte{0x21}, s...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 || len(data) > 9000 {
			return
		}
		ctl, frame := data[0], append([]byte(nil), data[1:]...)
		if ctl&1 != 0 {
			fuzzFixup(frame)
		}
		if d := time.Duration(ctl>>1) * 10 * time.Millisecond; d > 0 {
			st.clk.Advance(d)
		}
		skb := netdev.AllocSkb(len(frame))
		copy(skb.Put(len(frame)), frame)
		st.b.dev.NetifReceiveSkb(skb)
		if err := st.checkInvariants(); err != nil {
			t.Fatalf("after frame %x: %v", frame, err)
		}
		if stateOf(skOf(st.ss)) != TCP_ESTABLISHED || stateOf(skOf(st.cs)) != TCP_ESTABLISHED {
			st.connect(t)
		}
	})
}
