package fusefs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bazil.org/fuse"
	"golang.org/x/sys/unix"

	"sockfs/inode"
	"sockfs/socket"
)

// These tests mount sockfs over the in-memory pipe family and drive it the
// way users do, from other processes (bash, cat, python3): a test process
// that did file I/O on its own FUSE mount could deadlock in Go's poller.

type mounted struct {
	dir  string
	fs   *FS
	fam  *pipeFamily
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) logf(format string, args ...any) {
	s.mu.Lock()
	fmt.Fprintf(&s.b, format+"\n", args...)
	s.mu.Unlock()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// mountTest mounts a tree over the pipe family; hook, if given, is its
// requestHook.
func mountTest(t *testing.T, sbc inode.Config, hook ...func(fuse.Request)) *mounted {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	if _, err := exec.LookPath("fusermount3"); err != nil {
		t.Skip("no fusermount3")
	}
	sn := socket.NewNet()
	fam := newPipeFamily()
	if err := fam.register(sn); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	f := New(Config{Net: sn, SB: inode.New(sbc), Logf: logs.logf})
	if len(hook) > 0 {
		f.requestHook = hook[0]
	}
	// Not t.TempDir: other users must reach the mount point for the
	// permission tests.
	dir, err := os.MkdirTemp("", "sockfs-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := fuse.Mount(dir, MountOptions(true)...)
	if err != nil {
		os.Remove(dir)
		t.Fatalf("mount: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- f.Serve(c) }()
	t.Cleanup(func() {
		f.ReleaseAll()
		if err := fuse.Unmount(dir); err != nil {
			t.Logf("unmount: %v; detaching", err)
			unix.Unmount(dir, unix.MNT_DETACH)
		}
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after unmount")
		}
		c.Close()
		os.Remove(dir)
	})
	return &mounted{dir: dir, fs: f, fam: fam, logs: logs}
}

// sh runs a bash script with $M set to the mount point and returns its
// stdout and stderr.
func (m *mounted) sh(t *testing.T, script string, asUid ...int) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := []string{"bash", "-c", script}
	if len(asUid) > 0 {
		u := strconv.Itoa(asUid[0])
		args = append([]string{"setpriv", "--reuid", u, "--regid", u, "--clear-groups"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "M="+m.dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("script timed out:\n%s\nstderr: %s", script, errb.String())
	}
	return out.String(), errb.String(), err
}

func (m *mounted) shOK(t *testing.T, script string, asUid ...int) string {
	t.Helper()
	out, errs, err := m.sh(t, script, asUid...)
	if err != nil {
		t.Fatalf("script failed: %v\n%s\nstdout: %s\nstderr: %s", err, script, out, errs)
	}
	return out
}

// shFails runs a script that must fail with strerror(want) on stderr.
func (m *mounted) shFails(t *testing.T, script string, want syscall.Errno, asUid ...int) {
	t.Helper()
	out, errs, err := m.sh(t, script, asUid...)
	if err == nil {
		t.Errorf("script succeeded, want %v:\n%s\nstdout: %s", want, script, out)
		return
	}
	// libc capitalises its messages; Go's are lower case.
	if !strings.Contains(strings.ToLower(errs), want.Error()) {
		t.Errorf("script failed without %q:\n%s\nstderr: %s", want.Error(), script, errs)
	}
}

// create makes n sockets of the pipe family through the control file and
// returns their numbers.
func (m *mounted) create(t *testing.T, n int) []uint64 {
	t.Helper()
	out := m.shOK(t, fmt.Sprintf(`exec 3<>$M/socket
for i in $(seq %d); do echo "AF_UNIX SOCK_STREAM 0" >&3; done
while read -r s <&3; do echo $s; done`, n))
	var inos []uint64
	for _, f := range strings.Fields(out) {
		ino, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			t.Fatalf("control file gave %q", out)
		}
		inos = append(inos, ino)
	}
	if len(inos) != n {
		t.Fatalf("control file gave %d numbers, want %d: %q", len(inos), n, out)
	}
	return inos
}

// connected makes a listener, a client connected to it and the accepted
// socket, returning (listener, client, accepted).
func (m *mounted) connected(t *testing.T) (uint64, uint64, uint64) {
	t.Helper()
	s := m.create(t, 2)
	out := m.shOK(t, fmt.Sprintf(`l=%d c=%d
echo "bind 127.0.0.1:7" > $M/$l/ctl
echo listen > $M/$l/ctl
echo "connect 127.0.0.1:7" > $M/$c/ctl
read -r a < $M/$l/accept
echo $a`, s[0], s[1]))
	a, err := strconv.ParseUint(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("accept gave %q", out)
	}
	return s[0], s[1], a
}

func waitIno(t *testing.T, ch <-chan uint64, ino uint64, what string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == ino {
				return
			}
		case <-deadline:
			t.Fatalf("no %s on socket %d", what, ino)
		}
	}
}

func TestMountCreate(t *testing.T) {
	m := mountTest(t, inode.Config{})
	if out := m.shOK(t, `cat $M/socket; echo -n end`); out != "end" {
		t.Fatalf("a fresh open of socket read %q, want EOF", out)
	}
	s := m.create(t, 3)
	if s[1] != s[0]+1 || s[2] != s[1]+1 {
		t.Fatalf("numbers %v are not consecutive", s)
	}
	out := m.shOK(t, fmt.Sprintf(`s=%d
stat -c '%%i %%a %%u %%g %%F' $M/$s
stat -c '%%a %%F' $M/$s/data $M/$s/ctl
stat -c '%%a' $M/socket
ls $M/$s | tr '\n' ' '; echo
ls $M | tr '\n' ' '`, s[0]))
	want := fmt.Sprintf("%d 700 0 0 directory\n600 regular empty file\n600 regular empty file\n666\naccept ctl data local msg remote status \n", s[0])
	if !strings.HasPrefix(out, want) {
		t.Fatalf("got\n%s\nwant prefix\n%s", out, want)
	}
	for _, name := range []string{"socket", "net", strconv.FormatUint(s[0], 10), strconv.FormatUint(s[2], 10)} {
		if !strings.Contains(" "+out[len(want):]+" ", " "+name+" ") {
			t.Errorf("root listing %q lacks %s", out[len(want):], name)
		}
	}
	// Files have their own numbers, distinct and stable — except data and
	// ctl, which are a new file at every lookup (lookupPrivate), so that
	// `cat data > data` has two files to compare and a blocked connect
	// does not hold up the next write to ctl.
	out = m.shOK(t, fmt.Sprintf(`stat -c %%i $M/%d/status $M/%d/local $M/%d/status $M/%d/status $M/%d/data $M/%d/data $M/%d/ctl $M/%d/ctl`, s[0], s[0], s[1], s[0], s[0], s[0], s[0], s[0]))
	f := strings.Fields(out)
	if len(f) != 8 || f[0] == f[1] || f[0] == f[2] || f[0] != f[3] || f[4] == f[5] || f[4] == f[0] || f[6] == f[7] || f[6] == f[4] {
		t.Fatalf("file inode numbers %q", out)
	}
	// A plain redirection creates a socket too (O_TRUNC is accepted).
	m.shOK(t, `echo "AF_UNIX SOCK_STREAM 0" > $M/socket`)
	m.shOK(t, fmt.Sprintf(`test -d $M/%d`, s[2]+1))
	// local of an unbound socket.
	if out := m.shOK(t, fmt.Sprintf(`cat $M/%d/local`, s[0])); out != "0.0.0.0:0\n" {
		t.Fatalf("local = %q", out)
	}
}

func TestMountCreateErrors(t *testing.T) {
	m := mountTest(t, inode.Config{MaxPerUid: 2})
	m.shFails(t, `echo "AF_INET SOCK_STREAM 6" > $M/socket`, syscall.EAFNOSUPPORT)
	m.shFails(t, `echo "AF_BOGUS SOCK_STREAM 6" > $M/socket`, syscall.EAFNOSUPPORT)
	m.shFails(t, `echo "AF_UNIX SOCK_DGRAM 0" > $M/socket`, syscall.ESOCKTNOSUPPORT)
	m.shFails(t, `echo "AF_UNIX SOCK_STREAM 6" > $M/socket`, syscall.EPROTONOSUPPORT)
	m.shFails(t, `echo "AF_UNIX SOCK_STREAM" > $M/socket`, syscall.EINVAL)
	m.shFails(t, `echo "AF_UNIX 99 0" > $M/socket`, syscall.EINVAL)
	if !strings.Contains(m.logs.String(), `socket: bad request "AF_UNIX SOCK_STREAM"`) {
		t.Errorf("bad input not logged; log:\n%s", m.logs.String())
	}
	m.create(t, 2)
	m.shFails(t, `echo "AF_UNIX SOCK_STREAM 0" > $M/socket`, syscall.EMFILE)
	// Another user has a limit of its own.
	m.shOK(t, `echo "AF_UNIX SOCK_STREAM 0" > $M/socket`, 1000)
	// Failures left no directory behind: 2 sockets of root, 1 of uid 1000.
	out := m.shOK(t, `ls $M | grep -c '^[0-9]'`)
	if strings.TrimSpace(out) != "3" {
		t.Fatalf("%s socket directories, want 3", strings.TrimSpace(out))
	}
}

func TestMountCtlAndData(t *testing.T) {
	m := mountTest(t, inode.Config{})
	l, c, a := m.connected(t)
	out := m.shOK(t, fmt.Sprintf(`l=%d c=%d a=%d
stat -c %%i $M/$a
cat $M/$c/remote $M/$l/local $M/$a/local
echo hello > $M/$c/data
head -c 6 $M/$a/data
printf 'one' >> $M/$a/data
exec 4<>$M/$c/data
head -c 3 <&4; echo
grep -E '^(family|type|state):' $M/$c/status`, l, c, a))
	want := fmt.Sprintf("%d\n127.0.0.1:7\n127.0.0.1:7\n127.0.0.1:7\nhello\none\nfamily: 1\ntype: SOCK_STREAM\nstate: SS_CONNECTED\n", a)
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}

	// Options: set, get on the same open, and the listing.
	out = m.shOK(t, fmt.Sprintf(`c=%d
echo "setsockopt SO_RCVBUF 65536" > $M/$c/ctl
exec 4<>$M/$c/ctl
echo "getsockopt SO_RCVBUF" >&4
read -r v <&4; echo "v=$v"
cat $M/$c/ctl`, c))
	if !strings.HasPrefix(out, "v=131072\n") || !strings.Contains(out, "\nSO_RCVBUF 131072\n") ||
		!strings.Contains(out, "SO_REUSEADDR 0\n") || strings.Contains(out, "SO_ERROR") || strings.Contains(out, "TCP_") {
		t.Fatalf("options:\n%s", out)
	}

	m.shFails(t, fmt.Sprintf(`echo frobnicate > $M/%d/ctl`, c), syscall.EINVAL)
	m.shFails(t, fmt.Sprintf(`echo "bind 127.0.0.1" > $M/%d/ctl`, c), syscall.EINVAL)
	m.shFails(t, fmt.Sprintf(`echo "setsockopt SO_BOGUS 1" > $M/%d/ctl`, c), syscall.ENOPROTOOPT)
	m.shFails(t, fmt.Sprintf(`echo "getsockopt TCP_NODELAY" > $M/%d/ctl`, c), syscall.ENOPROTOOPT)
	m.shFails(t, fmt.Sprintf(`echo "connect 127.0.0.1:7" > $M/%d/ctl`, c), syscall.EISCONN)
	m.shFails(t, fmt.Sprintf(`head -c1 $M/%d/accept`, c), syscall.EINVAL)
	m.shFails(t, fmt.Sprintf(`cat $M/%d/remote`, l), syscall.ENOTCONN)
	s := m.create(t, 1)
	m.shFails(t, fmt.Sprintf(`echo "connect 127.0.0.1:9" > $M/%d/ctl`, s[0]), syscall.ECONNREFUSED)
	m.shFails(t, fmt.Sprintf(`echo hi > $M/%d/data`, s[0]), syscall.ENOTCONN)

	// Half close: the peer reads to end of stream, and sending after
	// shutdown wr is EPIPE.
	out = m.shOK(t, fmt.Sprintf(`c=%d a=%d
echo "shutdown wr" > $M/$c/ctl
cat $M/$a/data; echo eof`, c, a))
	if out != "eof\n" {
		t.Fatalf("after shutdown: %q", out)
	}
	m.shFails(t, fmt.Sprintf(`echo hi > $M/%d/data`, c), syscall.EPIPE)
}

func TestMountAcceptByteByByte(t *testing.T) {
	m := mountTest(t, inode.Config{})
	s := m.create(t, 3)
	out := m.shOK(t, fmt.Sprintf(`l=%d
echo "bind 127.0.0.1:8" > $M/$l/ctl
echo "listen 4" > $M/$l/ctl
echo "connect 127.0.0.1:8" > $M/%d/ctl
echo "connect 127.0.0.1:8" > $M/%d/ctl
exec 5<$M/$l/accept
read -r a <&5; read -r b <&5
echo $a $b
test -d $M/$a && test -d $M/$b && echo ok`, s[0], s[1], s[2]))
	f := strings.Fields(out)
	if len(f) != 3 || f[2] != "ok" || f[0] == f[1] {
		t.Fatalf("accepts: %q", out)
	}
	m.shFails(t, fmt.Sprintf(`exec 5<$M/%d/accept; python3 -c '
import os, fcntl
fcntl.fcntl(5, fcntl.F_SETFL, os.O_NONBLOCK)
os.read(5, 10)'`, s[0]), syscall.EAGAIN)
}

func TestMountClose(t *testing.T) {
	m := mountTest(t, inode.Config{})
	l, c, a := m.connected(t)
	out := m.shOK(t, fmt.Sprintf(`l=%d c=%d a=%d
exec 5<>$M/$c/data
echo close > $M/$c/ctl
test -e $M/$c && echo "$c still there"
ls $M | grep -qx $c && echo "$c still listed"
echo hi >&5 2>/dev/null || echo "write after close failed"
rmdir $M/$l
test -e $M/$l && echo "$l still there"
cat $M/$a/data; echo eof`, l, c, a))
	if out != "write after close failed\neof\n" {
		t.Fatalf("got %q", out)
	}
	m.shFails(t, fmt.Sprintf(`stat $M/%d`, c), syscall.ENOENT)
	m.shFails(t, fmt.Sprintf(`exec 5<>$M/%d/ctl; echo close > $M/%d/ctl; echo listen >&5`, a, a), syscall.EBADF)
	m.shFails(t, `rmdir $M/net`, syscall.EPERM)
	m.shFails(t, `rmdir $M/12345`, syscall.ENOENT)
	// Numbers are not reused.
	s := m.create(t, 1)
	if s[0] <= a {
		t.Fatalf("new socket %d reuses a number (last was %d)", s[0], a)
	}
}

func TestMountReadInterrupted(t *testing.T) {
	m := mountTest(t, inode.Config{})
	_, c, a := m.connected(t)
	cat := exec.Command("cat", fmt.Sprintf("%s/%d/data", m.dir, a))
	var errb bytes.Buffer
	cat.Stderr = &errb
	if err := cat.Start(); err != nil {
		t.Fatal(err)
	}
	waitIno(t, m.fam.recvWaits, a, "blocked read")
	if err := cat.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cat.Wait() }()
	select {
	case err := <-exited:
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
			t.Fatalf("cat ended with %v, want killed by SIGINT; stderr %s", err, errb.String())
		}
	case <-time.After(10 * time.Second):
		cat.Process.Kill()
		t.Fatal("blocked read did not end on SIGINT")
	}
	// The socket is unharmed.
	out := m.shOK(t, fmt.Sprintf(`echo ping > $M/%d/data; head -c 5 $M/%d/data`, c, a))
	if out != "ping\n" {
		t.Fatalf("after interrupt: %q", out)
	}

	// A read blocked when its socket is closed ends with EBADF.
	cat = exec.Command("cat", fmt.Sprintf("%s/%d/data", m.dir, a))
	errb.Reset()
	cat.Stderr = &errb
	if err := cat.Start(); err != nil {
		t.Fatal(err)
	}
	waitIno(t, m.fam.recvWaits, a, "blocked read")
	m.shOK(t, fmt.Sprintf(`echo close > $M/%d/ctl`, a))
	go func() { exited <- cat.Wait() }()
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(strings.ToLower(errb.String()), syscall.EBADF.Error()) {
			t.Fatalf("cat ended with %v, stderr %q; want EBADF", err, errb.String())
		}
	case <-time.After(10 * time.Second):
		cat.Process.Kill()
		t.Fatal("blocked read did not end on close")
	}
}

// A read blocked when the daemon shuts down (ReleaseAll, before the
// unmount) ends with end of file, not EBADF.
func TestMountReadAtShutdown(t *testing.T) {
	m := mountTest(t, inode.Config{})
	// c is released before its peer (ReleaseAll goes in inode order), so
	// its read is ended by its own release, not by the peer's end.
	_, c, _ := m.connected(t)
	cat := exec.Command("cat", fmt.Sprintf("%s/%d/data", m.dir, c))
	var errb bytes.Buffer
	cat.Stderr = &errb
	if err := cat.Start(); err != nil {
		t.Fatal(err)
	}
	waitIno(t, m.fam.recvWaits, c, "blocked read")
	m.fs.ReleaseAll()
	exited := make(chan error, 1)
	go func() { exited <- cat.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("cat ended with %v, stderr %q; want end of file", err, errb.String())
		}
	case <-time.After(10 * time.Second):
		cat.Process.Kill()
		t.Fatal("blocked read did not end on ReleaseAll")
	}
}

func TestMountPoll(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	m := mountTest(t, inode.Config{})
	_, c, a := m.connected(t)
	py := exec.Command("python3", "-c", `
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
try:
    os.read(fd, 10)
    print("read did not block")
except BlockingIOError:
    print("EAGAIN")
p = select.poll()
p.register(fd, select.POLLIN)
ev = p.poll(15000)
print("POLLIN" if ev and ev[0][1] & select.POLLIN else "timeout %r" % ev)
print(os.read(fd, 100).decode().strip())
`, fmt.Sprintf("%s/%d/data", m.dir, a))
	var out, errb bytes.Buffer
	py.Stdout, py.Stderr = &out, &errb
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	// The poll that sleeps has registered its wakeup before the family's
	// Poll runs; data sent after it must wake it.
	waitIno(t, m.fam.polls, a, "poll")
	m.shOK(t, fmt.Sprintf(`echo pong > $M/%d/data`, c))
	done := make(chan error, 1)
	go func() { done <- py.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("python: %v\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		py.Process.Kill()
		t.Fatal("poll was not woken")
	}
	if got := out.String(); got != "EAGAIN\nPOLLIN\npong\n" {
		t.Fatalf("got %q", got)
	}
}

func TestMountPermissions(t *testing.T) {
	m := mountTest(t, inode.Config{})
	out := m.shOK(t, `exec 3<>$M/socket; echo "AF_UNIX SOCK_STREAM 0" >&3; read -r s <&3; echo $s`, 1000)
	s := strings.TrimSpace(out)
	if !regexp.MustCompile(`^[0-9]+$`).MatchString(s) {
		t.Fatalf("uid 1000 got %q", out)
	}
	if got := m.shOK(t, `stat -c '%u %g %a' $M/`+s+` $M/`+s+`/data`); got != "1000 1000 700\n1000 1000 600\n" {
		t.Fatalf("ownership: %q", got)
	}
	m.shOK(t, `cat $M/`+s+`/local $M/`+s+`/status >/dev/null`, 1000)
	m.shOK(t, `cat $M/`+s+`/local >/dev/null`) // root passes
	m.shOK(t, `cat $M/net/* >/dev/null; ls $M >/dev/null`, 1001)
	m.shFails(t, `ls $M/`+s, syscall.EACCES, 1001)
	m.shFails(t, `cat $M/`+s+`/status`, syscall.EACCES, 1001)
	m.shFails(t, `echo close > $M/`+s+`/ctl`, syscall.EACCES, 1001)
	m.shFails(t, `rmdir $M/`+s, syscall.EACCES, 1001)
	m.shOK(t, `rmdir $M/`+s, 1000)
}

// More reads block at once than the pool keeps idle workers: each blocked
// read holds a worker, and the pool grows so that the tree still answers
// (a new socket, a send), then shrinks back once the reads are done.
func TestMountManyBlockedReads(t *testing.T) {
	m := mountTest(t, inode.Config{})
	const n = 3 * maxIdle
	clients := make([]uint64, n)
	reads := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	l, c, a := m.connected(t)
	for i := range n {
		if i > 0 {
			c = m.create(t, 1)[0]
			out := m.shOK(t, fmt.Sprintf(`echo "connect 127.0.0.1:7" > $M/%d/ctl; read -r a < $M/%d/accept; echo $a`, c, l))
			var err error
			if a, err = strconv.ParseUint(strings.TrimSpace(out), 10, 64); err != nil {
				t.Fatalf("accept gave %q", out)
			}
		}
		clients[i] = c
		outs[i] = &bytes.Buffer{}
		reads[i] = exec.Command("head", "-c", "5", fmt.Sprintf("%s/%d/data", m.dir, a))
		reads[i].Stdout = outs[i]
		if err := reads[i].Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reads[i].Process.Kill() })
		waitIno(t, m.fam.recvWaits, a, "blocked read")
	}
	m.create(t, 1)
	for i, c := range clients {
		m.shOK(t, fmt.Sprintf(`echo ping > $M/%d/data`, c))
		if err := reads[i].Wait(); err != nil || outs[i].String() != "ping\n" {
			t.Fatalf("read %d: %v, %q", i, err, outs[i].String())
		}
	}
	srv := m.fs.srv.Load()
	deadline := time.Now().Add(10 * time.Second)
	for srv.idle.Load() > maxIdle {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers, want at most %d", srv.idle.Load(), maxIdle)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
