package socket

import (
	"context"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"sockfs/netdev/ktime"
)

type fakeSB struct {
	next uint64
	live int
}

func (sb *fakeSB) SockAlloc(Cred) (*Socket, error) {
	sb.next++
	sb.live++
	return &Socket{Ino: sb.next}, nil
}
func (sb *fakeSB) SockFree(*Socket) { sb.live-- }

type fakeSock struct{ Sock }

// newFakeFamily returns a create function with a proto of its own, so
// each test counts its own socks.
func newFakeFamily() (*Proto, func(*Net, *Socket, int, bool) error) {
	prot := &Proto{Name: "FAKE", Alloc: func() Sk { return new(fakeSock) }, Close: func(Sk) {}}
	return prot, func(net *Net, sock *Socket, protocol int, kern bool) error {
		if sock.Type != SOCK_DGRAM {
			return ESOCKTNOSUPPORT
		}
		if protocol != 0 {
			return EPROTONOSUPPORT
		}
		sock.Ops = &fakeOps
		SockInitData(sock, SkAlloc(net, 7, prot))
		return nil
	}
}

var fakeOps = ProtoOps{
	Family:  7,
	Release: func(sock *Socket) error { sock.Sk.SK().Prot.Close(sock.Sk); return nil },
	Bind:    SockNoBind, Connect: SockNoConnect, Accept: SockNoAccept, Listen: SockNoListen,
	Shutdown: SockNoShutdown, Getname: SockNoGetname, Sendmsg: SockNoSendmsg, Recvmsg: SockNoRecvmsg,
	Poll:       func(*Socket) uint32 { return 0 },
	Setsockopt: func(*Socket, int, int, int) error { return ENOPROTOOPT },
	Getsockopt: func(*Socket, int, int) (int, error) { return 0, ENOPROTOOPT },
}

func TestSockCreate(t *testing.T) {
	n := NewNet()
	fakeProt, fakeCreate := newFakeFamily()
	if err := n.SockRegister(&NetProtoFamily{Family: 7, Create: fakeCreate}); err != nil {
		t.Fatal(err)
	}
	if err := n.SockRegister(&NetProtoFamily{Family: 7, Create: fakeCreate}); err == nil {
		t.Fatal("second registration of a family accepted")
	}
	sb := &fakeSB{}
	ctx := context.Background()
	for _, c := range []struct {
		family int
		typ    SockType
		proto  int
		want   error
	}{
		{99, SOCK_DGRAM, 0, EAFNOSUPPORT},
		{-1, SOCK_DGRAM, 0, EAFNOSUPPORT},
		{NPROTO, SOCK_DGRAM, 0, EAFNOSUPPORT},
		{7, 0, 0, EINVAL},
		{7, SOCK_MAX, 0, EINVAL},
		{7, SOCK_STREAM, 0, ESOCKTNOSUPPORT},
		{7, SOCK_DGRAM, 5, EPROTONOSUPPORT},
	} {
		if _, err := SockCreate(ctx, n, sb, c.family, c.typ, c.proto); err != c.want {
			t.Errorf("SockCreate(%d, %d, %d) = %v, want %v", c.family, c.typ, c.proto, err, c.want)
		}
	}
	if sb.live != 0 {
		t.Fatalf("failed creates left %d inodes", sb.live)
	}
	sock, err := SockCreate(ctx, n, sb, 7, SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sock.State != SS_UNCONNECTED || sock.Sk == nil || sock.Sk.SK().Socket != sock || sock.Sk.SK().Wq != sock.Wq {
		t.Fatalf("socket and sock not paired: %+v", sock)
	}
	if n.SocketsInUse.Load() != 1 || fakeProt.InUse.Load() != 1 {
		t.Fatalf("in-use counts %d/%d, want 1/1", n.SocketsInUse.Load(), fakeProt.InUse.Load())
	}
	if _, err := Getname(sock, false); err != EOPNOTSUPP {
		t.Errorf("sock_no_getname: %v", err)
	}
	if err := Bind(ctx, sock, netip.AddrPort{}); err != EOPNOTSUPP {
		t.Errorf("sock_no_bind: %v", err)
	}
	SockRelease(sock)
	SockRelease(sock) // a second release is harmless
	if !sock.Released() || n.SocketsInUse.Load() != 0 {
		t.Fatalf("release: released=%v in use=%d", sock.Released(), n.SocketsInUse.Load())
	}
}

func TestWaitEventWakes(t *testing.T) {
	sk := &Sock{Wq: new(WaitQueue)}
	ready := false
	done := make(chan error)
	go func() {
		sk.Mu.Lock()
		err := sk.WaitEvent(context.Background(), false, Deadline{}, func() bool { return ready })
		sk.Mu.Unlock()
		done <- err
	}()
	// The waiter may or may not be asleep yet; either way the wakeup after
	// the change under the lock must not be lost.
	sk.Mu.Lock()
	ready = true
	sk.Mu.Unlock()
	sk.Wq.WakeUp()
	if err := <-done; err != nil {
		t.Fatalf("WaitEvent: %v", err)
	}
}

func TestWaitEventInterruptedAndTimeout(t *testing.T) {
	sk := &Sock{Wq: new(WaitQueue)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		sk.Mu.Lock()
		defer sk.Mu.Unlock()
		done <- sk.WaitEvent(ctx, false, Deadline{}, func() bool { return false })
	}()
	cancel()
	if err := <-done; err != EINTR {
		t.Fatalf("cancelled wait: %v, want EINTR", err)
	}
	// The timeout runs on the clock it was taken from: a manual clock
	// expires it only when advanced past it.
	clock := ktime.NewManual()
	dl := DeadlineAfter(clock, 10*time.Millisecond)
	go func() {
		sk.Mu.Lock()
		defer sk.Mu.Unlock()
		done <- sk.WaitEvent(context.Background(), false, dl, func() bool { return false })
	}()
	for sk.Wq.Sleepers() == 0 { // the deadline is taken before the sleep
		runtime.Gosched()
	}
	clock.Advance(9 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("wait ended before its deadline: %v", err)
	default:
	}
	clock.Advance(time.Millisecond)
	if err := <-done; err != EAGAIN {
		t.Fatalf("timed-out wait: %v, want EAGAIN", err)
	}
	if err := Wait(context.Background(), nil, dl); err != EAGAIN {
		t.Fatalf("wait past its deadline: %v, want EAGAIN", err)
	}
	sk.Mu.Lock()
	err := sk.WaitEvent(context.Background(), true, Deadline{}, func() bool { return false })
	sk.Mu.Unlock()
	if err != EAGAIN {
		t.Fatalf("nonblocking wait: %v, want EAGAIN", err)
	}
}

func TestPollerCalledOnceOnWakeUp(t *testing.T) {
	var wq WaitQueue
	var mu sync.Mutex
	calls := 0
	wq.AddPoller(1, func() { mu.Lock(); calls++; mu.Unlock() })
	wq.WakeUp()
	wq.WakeUp()
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("poller called %d times, want once (FUSE wakeups are one-shot)", calls)
	}
}

func TestTracerOffCostsNothingAndDeliversWhenRead(t *testing.T) {
	tr := NewTracer()
	if tr.On() {
		t.Fatal("tracer on with no reader")
	}
	if a := testing.AllocsPerRun(100, func() {
		if tr.On() {
			tr.Emitf(1, "x %d", 1)
		}
	}); a != 0 {
		t.Fatalf("disabled trace hook allocates %v", a)
	}
	r := tr.Subscribe(4)
	tr.Emitf(12, "sock_write_iter -> inet_sendmsg len=%d", 6)
	buf := make([]byte, 10)
	var got []byte
	for len(got) == 0 || got[len(got)-1] != '\n' {
		n, err := r.Read(context.Background(), buf, false)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if want := "ino=12 sock_write_iter -> inet_sendmsg len=6\n"; len(got) < len(want) || string(got[len(got)-len(want):]) != want {
		t.Fatalf("trace line %q", got)
	}
	for i := 0; i < 10; i++ { // a slow reader loses lines, never blocks
		tr.Emitf(0, "line %d", i)
	}
	if tr.Dropped.Load() == 0 {
		t.Fatal("overflow not counted")
	}
	r.Close()
	if tr.On() {
		t.Fatal("tracer still on after the reader closed")
	}
}

func TestSockoptsRoundTrip(t *testing.T) {
	n := NewNet()
	_, fakeCreate := newFakeFamily()
	n.SockRegister(&NetProtoFamily{Family: 7, Create: fakeCreate})
	sock, err := SockCreate(context.Background(), n, &fakeSB{}, 7, SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		set     int
		want    int
		wantErr error
	}{
		{"SO_REUSEADDR", 1, 1, nil},
		{"SO_KEEPALIVE", 1, 1, nil},
		{"SO_LINGER", 5, 5, nil},
		{"SO_LINGER", -1, -1, nil},
		{"SO_RCVBUF", 10000, 20000, nil},               // doubled, as Linux
		{"SO_SNDBUF", 100, SockMinSndbuf, nil},         // floored
		{"SO_RCVBUF", 1 << 30, 2 * SysctlRmemMax, nil}, // capped silently
		{"SO_SNDBUF", -1, 2 * SysctlWmemMax, nil},      // a u32 compare: capped too
		{"SO_RCVTIMEO", 250, 250, nil},
		{"SO_SNDTIMEO", -5, 0, EINVAL},
	} {
		o, ok := LookupSockopt(c.name)
		if !ok {
			t.Fatalf("%s unknown", c.name)
		}
		if err := Setsockopt(sock, o.Level, o.Optname, c.set); err != c.wantErr {
			t.Errorf("setsockopt %s %d: %v, want %v", c.name, c.set, err, c.wantErr)
			continue
		}
		if c.wantErr != nil {
			continue
		}
		if v, err := Getsockopt(sock, o.Level, o.Optname); err != nil || v != c.want {
			t.Errorf("getsockopt %s = %d, %v; want %d", c.name, v, err, c.want)
		}
	}
	if _, ok := LookupSockopt("SO_BOGUS"); ok {
		t.Error("unknown option found")
	}
}
