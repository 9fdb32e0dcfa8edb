package fusefs

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"bazil.org/fuse"

	"sockfs/inode"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

func TestClipBoundsQuotedInput(t *testing.T) {
	if got := fmt.Sprintf("%q", clip("AF_INET x")); got != `"AF_INET x"` {
		t.Fatalf("short input: %s", got)
	}
	big := strings.Repeat("\x00", 1<<20)
	got := fmt.Sprintf("%q", clip(big))
	want := `"` + strings.Repeat(`\x00`, clipMax/2) + `"... (1048576 bytes)`
	if got != want {
		t.Fatalf("1 MiB input quoted as %d bytes: %.100s", len(got), got)
	}
	// bad clips the words it quotes from the request too.
	err := bad(syscall.EINVAL, "unknown command %q", strings.Repeat("y", 5000))
	if len(err.Error()) > 200 {
		t.Fatalf("bad() message is %d bytes", len(err.Error()))
	}
}

func TestBadRequestLogBoundedAndRatelimitedPerUser(t *testing.T) {
	var log bytes.Buffer
	clock := ktime.NewManual()
	f := New(Config{
		Net:   socket.NewNet(),
		SB:    inode.New(inode.Config{}),
		Logf:  func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) },
		Clock: clock,
	})
	garbage := bytes.Repeat([]byte("x"), 1<<20)
	h := &fuse.Header{Uid: 1000}
	for range 100 {
		_, err := parseSocketTriple(string(garbage))
		if e := f.inputErrno(h, "socket", garbage, err); e != syscall.EINVAL {
			t.Fatalf("errno %v", e)
		}
	}
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(lines) != socket.NetMsgBurst {
		t.Fatalf("100 bad requests logged %d lines, want the burst %d", len(lines), socket.NetMsgBurst)
	}
	for _, l := range lines {
		if len(l) > 300 || !strings.Contains(l, "(1048576 bytes)") {
			t.Fatalf("line of %d bytes: %.300s", len(l), l)
		}
	}
	// Another user is still heard.
	log.Reset()
	f.inputErrno(&fuse.Header{Uid: 1001}, "ctl", []byte("frob"), bad(syscall.EINVAL, "unknown command %q", "frob"))
	if got := log.String(); got != "ctl: bad request \"frob\": unknown command \"frob\"\n" {
		t.Fatalf("uid 1001 after 1000's flood: %q", got)
	}
	// The next interval says how many of uid 1000's were dropped.
	log.Reset()
	clock.Advance(socket.NetMsgCost)
	f.inputErrno(h, "ctl", []byte("frob"), bad(syscall.EINVAL, "unknown command %q", "frob"))
	if got := log.String(); !strings.HasPrefix(got, "net_ratelimit: 90 callbacks suppressed (uid 1000)\nctl: bad request") {
		t.Fatalf("next interval: %q", got)
	}
}

func TestLogRingShowsEachUserTheirOwnLines(t *testing.T) {
	clock := ktime.NewManual()
	f := New(Config{
		Net:   socket.NewNet(),
		SB:    inode.New(inode.Config{}),
		Logf:  func(string, ...any) {},
		Clock: clock,
	})
	clock.Advance(1234567 * time.Microsecond)
	f.userLogf(1000, "ctl: mine")
	f.userLogf(1001, "ctl: theirs")
	f.Logf("serving")
	if got := string(f.klog.render(1000, f.uid)); got != "[    1.234567] ctl: mine\n" {
		t.Fatalf("uid 1000 reads %q", got)
	}
	if got := string(f.klog.render(1001, f.uid)); got != "[    1.234567] ctl: theirs\n" {
		t.Fatalf("uid 1001 reads %q", got)
	}
	want := "[    1.234567] ctl: mine\n[    1.234567] ctl: theirs\n[    1.234567] serving\n"
	if got := string(f.klog.render(0, 12345)); got != want {
		t.Fatalf("root reads %q", got)
	}
	if got := string(f.klog.render(12345, 12345)); got != want {
		t.Fatalf("the daemon's owner reads %q", got)
	}
}

func TestLogRingIsBounded(t *testing.T) {
	b := &logBuf{clock: ktime.NewManual()}
	long := strings.Repeat("z", 10*logLineMax)
	for i := range 10000 {
		b.add(uint32(i%7), fmt.Sprintf("line %d %s", i, long[:i%(2*logLineMax)]))
	}
	if b.bytes > logBufLen {
		t.Fatalf("ring holds %d bytes, bound %d", b.bytes, logBufLen)
	}
	out := b.render(0, 0)
	if len(out) > logBufLen+len(b.recs)*20 {
		t.Fatalf("rendered %d bytes for %d lines", len(out), len(b.recs))
	}
	// The newest line is kept, the oldest gone, and a long line is cut.
	if !strings.Contains(string(out), "line 9999 ") || strings.Contains(string(out), "line 0 ") {
		t.Fatalf("ring lost the newest or kept the oldest")
	}
	for _, r := range b.recs {
		if len(r.text) > logLineMax {
			t.Fatalf("a line of %d bytes", len(r.text))
		}
	}
	if cap(b.recs) > 4*len(b.recs)+64 {
		t.Fatalf("ring array grew to %d for %d lines", cap(b.recs), len(b.recs))
	}
}

func TestHostNameWhereAnAddressIsExpected(t *testing.T) {
	_, err := parseAddrPort("localhost:80")
	if err == nil || !strings.Contains(err.Error(), "resolve it first (getent ahostsv4 localhost)") {
		t.Fatalf("localhost: %v", err)
	}
	for _, s := range []string{"1.2.3:80", "::1:80", "1.2.3.4.5:80"} {
		_, err := parseAddrPort(s)
		if err == nil || strings.Contains(err.Error(), "host name") || !strings.Contains(err.Error(), "not an IPv4 address") {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
