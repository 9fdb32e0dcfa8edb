package fusefs

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"
	"testing"

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
