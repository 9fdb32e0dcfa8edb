package inet

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// tcpTestSB is a tiny sockfs superblock: it numbers sockets and nothing
// else.
type tcpTestSB struct{ ino atomic.Uint64 }

func (sb *tcpTestSB) SockAlloc(socket.Cred) (*socket.Socket, error) {
	return &socket.Socket{Ino: sb.ino.Add(1), Wq: new(socket.WaitQueue)}, nil
}
func (sb *tcpTestSB) SockFree(*socket.Socket) {}

// tcpHost is one stack on one end of the in-memory wire.
type tcpHost struct {
	t    *testing.T
	in   *Net
	sn   *socket.Net
	dev  *netdev.NetDevice
	addr netip.Addr
	sb   *tcpTestSB
}

// tcpPairOpts configures newTCPPair.
type tcpPairOpts struct {
	clock  ktime.Clock // nil: the real clock
	netem  string      // impairment of every frame both ways ("" for none)
	seed   uint64
	mtu    int
	rtoMin time.Duration
	qlen   int
}

// newTCPPair builds two stacks joined by netdev.NewPair: a at 10.0.0.1/24
// and b at 10.0.0.2/24. The impairment wraps a's end, so it applies to
// frames in both directions.
func newTCPPair(t *testing.T, o tcpPairOpts) (a, b *tcpHost) {
	t.Helper()
	if o.clock == nil {
		o.clock = ktime.NewReal()
	}
	if o.mtu == 0 {
		o.mtu = 1500
	}
	if o.qlen == 0 {
		o.qlen = 4096
	}
	pa, pb := netdev.NewPair(o.qlen)
	var da netdev.Driver = pa
	if o.netem != "" {
		spec, err := netdev.ParseNetem(o.netem)
		if err != nil {
			t.Fatal(err)
		}
		da = netdev.NewNetem(pa, spec, o.seed, o.clock)
	}
	mk := func(drv netdev.Driver, last byte) *tcpHost {
		sn := socket.NewNet()
		nd := netdev.NewNet()
		in := Init(sn, nd, o.clock)
		if o.rtoMin > 0 {
			in.SetTCPTimers(o.rtoMin, 0)
		}
		dev := &netdev.NetDevice{Name: "eth0", MTU: o.mtu, HWAddr: [6]byte{0x02, 0, 0, 0, 0, last}, HardHeaderLen: netdev.EthHlen}
		nd.RegisterNetdevice(dev, drv)
		dev.DevOpen()
		addr := netip.AddrFrom4([4]byte{10, 0, 0, last})
		if err := in.DevInetAdd(dev, netip.PrefixFrom(addr, 24)); err != nil {
			t.Fatal(err)
		}
		return &tcpHost{t: t, in: in, sn: sn, dev: dev, addr: addr, sb: new(tcpTestSB)}
	}
	a = mk(da, 1)
	b = mk(pb, 2)
	t.Cleanup(func() {
		a.dev.DevClose()
		b.dev.DevClose()
	})
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

// waitFor waits (in real time, bounded) for cond, checking it whenever the
// sock's wait queue wakes and at least every millisecond (frames cross the
// wire on other goroutines, and orphaned socks wake nobody).
func tcpWaitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
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
