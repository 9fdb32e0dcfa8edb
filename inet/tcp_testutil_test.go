package inet

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/netip"
	"sockfs/inet/header"
	"strings"
	"sync"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// tcpHost is one stack on one end of the in-memory wire.
type tcpHost struct {
	t    testing.TB
	in   *Net
	sn   *socket.Net
	dev  *netdev.NetDevice
	addr netip.Addr
	sb   *ipv4TestSB
	gate *tcpGate // nil unless tcpPairOpts.gate
	wire *netdev.PairEnd
}

// tcpPairOpts configures newTCPPair.
type tcpPairOpts struct {
	clock  ktime.Clock // nil: a manual clock (tests Advance it), real under netem
	netem  string      // impairment of every frame both ways ("" for none)
	seed   uint64
	mtu    int
	rtoMin time.Duration
	qlen   int
	gate   bool                              // put a tcpGate on each end's transmit side
	wrapA  func(netdev.Driver) netdev.Driver // wraps a's end, outermost
	feat   uint64                            // NETIF_F_* of both devices
}

// newTCPPair builds two stacks joined by netdev.NewPair: a at 10.0.0.1/24
// and b at 10.0.0.2/24. The impairment wraps a's end, so it applies to
// frames in both directions.
func newTCPPair(t *testing.T, o tcpPairOpts) (a, b *tcpHost) { return newTCPPairTB(t, o) }

func newTCPPairTB(t testing.TB, o tcpPairOpts) (a, b *tcpHost) {
	t.Helper()
	switch {
	case o.clock != nil:
	case o.netem != "":
		// An impaired wire recovers on the RTO and delayed-ACK timers
		// while the test's goroutines stream: the real clock drives them.
		o.clock = ktime.NewReal()
	default:
		o.clock = ktime.NewManual()
	}
	if o.mtu == 0 {
		o.mtu = 1500
	}
	if o.qlen == 0 {
		o.qlen = 4096
	}
	pa, pb := netdev.NewPair(o.qlen)
	var da, db netdev.Driver = pa, pb
	var ga, gb *tcpGate
	if o.gate {
		ga, gb = &tcpGate{inner: pa}, &tcpGate{inner: pb}
		da, db = ga, gb
	}
	if o.netem != "" {
		spec, err := netdev.ParseNetem(o.netem)
		if err != nil {
			t.Fatal(err)
		}
		da = netdev.NewNetem(da, spec, o.seed, o.clock)
	}
	if o.wrapA != nil {
		da = o.wrapA(da)
	}
	mk := func(drv netdev.Driver, last byte) *tcpHost {
		addr := netip.AddrFrom4([4]byte{10, 0, 0, last})
		h, dev := newTestHost(t, o.clock, drv, last, o.mtu, netip.PrefixFrom(addr, 24).String(), func(in *Net) {
			if o.rtoMin > 0 {
				in.SetTCPTimers(o.rtoMin, 0)
			}
		})
		dev.Features = o.feat // read on transmit only, none of which has happened yet
		return &tcpHost{t: t, in: h.Inet, sn: h.SockNet, dev: dev, addr: addr, sb: new(ipv4TestSB)}
	}
	a = mk(da, 1)
	b = mk(db, 2)
	a.gate, b.gate = ga, gb
	a.wire, b.wire = pa, pb
	tcpWires.Store(t, pa)
	t.Cleanup(func() { tcpWires.Delete(t) })
	return a, b
}

func (h *tcpHost) socket() *socket.Socket {
	h.t.Helper()
	s, err := socket.SockCreate(context.Background(), h.sn, h.sb, socket.AF_INET, socket.SOCK_STREAM, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *tcpHost) listen(port uint16) *socket.Socket {
	h.t.Helper()
	s := h.socket()
	if err := socket.Bind(context.Background(), s, netip.AddrPortFrom(netip.IPv4Unspecified(), port)); err != nil {
		h.t.Fatal(err)
	}
	if err := socket.Listen(s, 128); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *tcpHost) connect(to *tcpHost, port uint16) (*socket.Socket, error) {
	s := h.socket()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return s, socket.Connect(ctx, s, netip.AddrPortFrom(to.addr, port), 0)
}

func (h *tcpHost) accept(ls *socket.Socket) *socket.Socket {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := socket.Accept(ctx, h.sb, ls, 0)
	if err != nil {
		h.t.Fatal("accept:", err)
	}
	return s
}

// tcpConnPair opens a connection from a to b's port and returns both ends.
func tcpConnPair(t *testing.T, a, b *tcpHost, port uint16) (cs, ss, ls *socket.Socket) {
	return tcpConnPairTB(t, a, b, port)
}

func tcpConnPairTB(t testing.TB, a, b *tcpHost, port uint16) (cs, ss, ls *socket.Socket) {
	t.Helper()
	ls = b.listen(port)
	cs, err := a.connect(b, port)
	if err != nil {
		t.Fatal("connect:", err)
	}
	ss = b.accept(ls)
	return cs, ss, ls
}

// skOf returns the tcp sock behind a socket, to be read under its Mu.
func skOf(s *socket.Socket) *tcpSock { return tcpSk(s.Sk) }

// withSk runs f with the sock's Mu held.
func withSk[T any](tp *tcpSock, f func(tp *tcpSock) T) T {
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	return f(tp)
}

func stateOf(tp *tcpSock) uint8 { return withSk(tp, func(tp *tcpSock) uint8 { return tp.State }) }

// tcpWires maps a test to the wire of its pair, for tcpWaitFor.
var tcpWires sync.Map // testing.TB -> *netdev.PairEnd

// tcpWaitFor waits for cond, checking it each time the test's wire has gone
// idle: frames cross the wire and are handled on the receive loops'
// goroutines, so a check at idle sees everything the last frames did. When
// cond does not hold at idle it sleeps until the next frame is sent (a
// goroutine of the test, or a timer on the real clock, sends one); on the
// manual clock nothing else can happen, so the test must Advance first. d
// bounds the whole wait in wall time so that a broken stack fails instead of
// hanging; it is never what makes the condition true.
func tcpWaitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	w, ok := tcpWires.Load(t)
	if !ok {
		t.Fatalf("tcpWaitFor(%s): the test has no pair", what)
	}
	wire := w.(*netdev.PairEnd)
	bound := time.NewTimer(d)
	defer bound.Stop()
	for {
		sent := wire.Sent()
		select {
		case <-wire.Idle():
		case <-bound.C:
			t.Fatalf("timed out waiting for %s: the wire never went idle", what)
		}
		if cond() {
			return
		}
		select {
		case <-sent:
		case <-bound.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func waitState(t *testing.T, tp *tcpSock, d time.Duration, states ...uint8) {
	t.Helper()
	tcpWaitFor(t, "state "+tcpStateName(states[0]), d, func() bool {
		st := stateOf(tp)
		for _, s := range states {
			if st == s {
				return true
			}
		}
		return false
	})
}

// writeAll sends b through sock_sendmsg.
func writeAll(ctx context.Context, s *socket.Socket, b []byte) error {
	for len(b) > 0 {
		n, err := socket.SockSendmsg(ctx, s, &socket.Msghdr{}, b)
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// readAllHash reads until EOF and returns the byte count and sha256.
func readAllHash(ctx context.Context, s *socket.Socket) (int, [32]byte, error) {
	h := sha256.New()
	buf := make([]byte, 64<<10)
	total := 0
	for {
		n, err := socket.SockRecvmsg(ctx, s, &socket.Msghdr{}, buf, 0)
		if err != nil {
			return total, [32]byte{}, err
		}
		if n == 0 {
			var sum [32]byte
			copy(sum[:], h.Sum(nil))
			return total, sum, nil
		}
		h.Write(buf[:n])
		total += n
	}
}

// testPayload is n deterministic pseudo-random bytes.
func testPayload(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

var _ io.Reader // keep io for helpers that stream

// diagString is the status file's TCP lines on one line, for failures.
func diagString(tp *tcpSock) string {
	tp.Mu.Lock()
	defer tp.Mu.Unlock()
	var b strings.Builder
	tcpDiag(tp, func(k, v string) { b.WriteString(k + "=" + v + " ") })
	fmt.Fprintf(&b, "sndUna=%d sndNxt=%d writeSeq=%d rcvNxt=%d rtx=%d qlen=%d ofo=%d rcvq=%d", tp.sndUna, tp.sndNxt, tp.writeSeq, tp.rcvNxt, tp.rtxPending, tp.writeQueue.Len(), tp.ofoQueue.Len(), tp.ReceiveQueue.Bytes())
	return b.String()
}

// tcpGate is a test driver around a pair end: it records what its stack
// sends and can drop or hold it, so a test decides when the peer hears
// what (the way a test holds a packet in flight to see FIN_WAIT1).
var _ netdev.Driver = (*tcpGate)(nil)

type tcpGate struct {
	inner netdev.Driver

	mu     sync.Mutex
	drop   bool             // protected by mu: lose every TCP frame
	hold   bool             // protected by mu: keep TCP frames until release
	pass   int              // protected by mu: TCP frames let through before drop/hold apply
	held   []*netdev.SkBuff // protected by mu
	frames [][]byte         // protected by mu: copies of every frame sent
}

func (g *tcpGate) Xmit(skb *netdev.SkBuff) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frames = append(g.frames, append([]byte(nil), skb.Data()...))
	if _, isTCP := parseSentSeg(skb.Data()); !isTCP {
		return g.inner.Xmit(skb) // ARP and the rest always pass
	}
	if (g.drop || g.hold) && g.pass > 0 {
		g.pass--
		return g.inner.Xmit(skb)
	}
	switch {
	case g.drop:
		return nil
	case g.hold:
		g.held = append(g.held, skb.Copy())
		return nil
	}
	return g.inner.Xmit(skb)
}

func (g *tcpGate) Receive(rx func(*netdev.SkBuff)) error { return g.inner.Receive(rx) }
func (g *tcpGate) Close() error                          { return g.inner.Close() }

func (g *tcpGate) setHold(on bool) {
	g.mu.Lock()
	g.hold = on
	g.mu.Unlock()
}

func (g *tcpGate) setDrop(on bool) {
	g.mu.Lock()
	g.drop = on
	g.mu.Unlock()
}

// release sends what was held, in order, and stops holding.
func (g *tcpGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold = false
	for _, skb := range g.held {
		g.inner.Xmit(skb)
		skb.Free()
	}
	g.held = nil
}

// segs returns the TCP segments sent so far, from the first index on.
func (g *tcpGate) segs(from int) []sentSeg {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []sentSeg
	for _, f := range g.frames[min(from, len(g.frames)):] {
		if s, ok := parseSentSeg(f); ok {
			out = append(out, s)
		}
	}
	return out
}

func (g *tcpGate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.frames)
}

// sentSeg is a TCP segment seen on the wire.
type sentSeg struct {
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	win          uint16
	dataLen      int
	opts         header.TCPOptions
}

func parseSentSeg(f []byte) (sentSeg, bool) {
	eth, ok := netdev.ParseEthhdr(f)
	if !ok || eth.Proto() != netdev.ETH_P_IP {
		return sentSeg{}, false
	}
	ip := f[netdev.EthHlen:]
	if len(ip) < header.IPv4MinLen || ip[9] != IPPROTO_TCP {
		return sentSeg{}, false
	}
	iph := header.Iphdr(ip)
	th, ok := header.ParseTcphdr(ip[iph.Ihl():iph.TotLen()])
	if !ok {
		return sentSeg{}, false
	}
	return sentSeg{sport: th.Source(), dport: th.Dest(), seq: th.Seq(), ack: th.AckSeq(), flags: th.Flags(), win: th.Window(),
		dataLen: len(th.Payload()), opts: header.ParseTCPOptions(th.Options(), th.Flags()&header.TCP_SYN != 0)}, true
}

// inject delivers a hand-made segment to h as if from peer, through the
// device's receive path.
func (h *tcpHost) inject(peer *tcpHost, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, payload []byte) {
	h.injectOpts(peer, sport, dport, seq, ack, flags, win, nil, payload)
}

// injectOpts is inject with TCP options (padded to 4 bytes by the caller).
func (h *tcpHost) injectOpts(peer *tcpHost, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, opts, payload []byte) {
	n := netdev.EthHlen + header.IPv4MinLen + header.TCPMinLen + len(opts) + len(payload)
	skb := netdev.AllocSkb(n)
	f := skb.Put(n)
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: h.dev.HWAddr, Source: peer.dev.HWAddr, Proto: netdev.ETH_P_IP})
	ip := header.Iphdr(f[netdev.EthHlen:])
	ip.Encode(header.IPFields{TotLen: n - netdev.EthHlen, TTL: 64, Protocol: IPPROTO_TCP, Saddr: peer.addr.As4(), Daddr: h.addr.As4()})
	ip.SetCheck()
	th := header.Tcphdr(f[netdev.EthHlen+header.IPv4MinLen:])
	th.Encode(header.TCPFields{Source: sport, Dest: dport, Seq: seq, AckSeq: ack, Flags: flags, Window: win, Options: opts})
	copy(th[header.TCPMinLen+len(opts):], payload)
	sum := header.PseudoHeaderSum(peer.addr.As4(), h.addr.As4(), IPPROTO_TCP, len(th))
	th.SetCheck(header.Fold(header.Checksum(th, sum)))
	h.dev.NetifReceiveSkb(skb)
}

// arpSettle waits until h's neighbour entry for peer is REACHABLE, so that
// a manual-clock Advance does not outrun an ARP reply still crossing the
// wire.
func (h *tcpHost) arpSettle(peer *tcpHost) {
	h.t.Helper()
	tcpWaitFor(h.t, "ARP reachable", 2*time.Second, func() bool {
		h.in.arp.mu.RLock()
		defer h.in.arp.mu.RUnlock()
		n := h.in.arp.m[peer.addr]
		return n != nil && n.nudState == NUD_REACHABLE && h.in.clock.Now()-n.confirmed < sysctlNeighBaseReachableTimeSec*time.Second
	})
}

// twOf returns the timewait entry that took tp's place, or nil.
func twOf(tp *tcpSock) *tcpTimewaitSock {
	key := withSk(tp, func(tp *tcpSock) tcpHashKey { return tp.ehashKey })
	t := &tp.in.tcp
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.twhash[key]
}

// twState is the substate of tp's timewait entry: FIN_WAIT2 or TIME_WAIT,
// 0 when there is none.
func twState(tp *tcpSock) uint8 {
	tw := twOf(tp)
	if tw == nil {
		return 0
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.dead {
		return 0
	}
	return tw.substate
}

// waitTw waits until tp's connection lives in a timewait entry in state
// (the full sock then reads CLOSE).
func waitTw(t *testing.T, tp *tcpSock, d time.Duration, state uint8) {
	t.Helper()
	tcpWaitFor(t, "timewait entry in "+tcpStateName(state), d, func() bool { return twState(tp) == state })
	mustState(t, tp, TCP_CLOSE)
}

// advanceUntil settles the wire and checks cond, advancing the manual clock
// by step between checks (bounded at ten thousand steps), for conditions
// that wait on the stack's timers as well as on frames.
func (h *tcpHost) advanceUntil(clk *ktime.Manual, step time.Duration, what string, cond func() bool) {
	h.t.Helper()
	for i := 0; ; i++ {
		h.settle()
		if cond() {
			return
		}
		if i == 10000 {
			h.t.Fatalf("%s did not happen within %v of clock time", what, time.Duration(i)*step)
		}
		clk.Advance(step)
	}
}

// waitSock sleeps on tp's wait queue until cond holds under tp's Mu: for
// changes that no frame on the pair's wire signals (an error coming back
// through lo, a timer) but that wake the socket, as sk_wait_event sleeps.
func waitSock(t testing.TB, tp *tcpSock, what string, d time.Duration, cond func(tp *tcpSock) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	tp.Mu.Lock()
	err := tp.WaitEvent(ctx, false, socket.Deadline{}, func() bool { return cond(tp) })
	tp.Mu.Unlock()
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// settle waits until the wire is idle: everything sent so far has been
// handled by the peer, and everything that provoked has been too.
func (h *tcpHost) settle() {
	h.t.Helper()
	tcpWaitFor(h.t, "the wire idle", 5*time.Second, func() bool { return true })
}
