package fusefs

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"sockfs/inode"
)

// TestMountClosedSocketsAreForgotten closes sockets every way a user can —
// ctl's close by path and through an open ctl, rmdir, with files looked up
// or still open at the close — and checks that each socket's directory,
// which holds the socket, becomes garbage once the files are closed: the
// kernel must have dropped every entry and FORGOTten every node (each
// node, private ones included, points at the directory).
func TestMountClosedSocketsAreForgotten(t *testing.T) {
	m := mountTest(t, inode.Config{})
	ways := []string{
		`echo close > $M/$s/ctl`,
		`cat $M/$s/status $M/$s/local >/dev/null; ls $M/$s >/dev/null; echo close > $M/$s/ctl`,
		`stat $M/$s/status >/dev/null; rmdir $M/$s`,
		`exec 5<>$M/$s/data; echo close > $M/$s/ctl; exec 5>&-`,
		`exec 5<>$M/$s/data 6<$M/$s/status; rmdir $M/$s; exec 5>&- 6<&-`,
		`exec 5<>$M/$s/ctl; echo close >&5; exec 5>&-`,
	}
	s := m.create(t, 2*len(ways))
	dirs := make([]weak.Pointer[sockDir], len(s))
	m.fs.mu.Lock()
	for i, ino := range s {
		dirs[i] = weak.Make(m.fs.socks[ino])
	}
	m.fs.mu.Unlock()
	var script strings.Builder
	for i, ino := range s {
		fmt.Fprintf(&script, "s=%d\n%s\n", ino, ways[i%len(ways)])
	}
	m.shOK(t, script.String())
	// FORGET comes after the last close, asynchronously: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		var live []string
		for i, w := range dirs {
			if w.Value() != nil {
				live = append(live, fmt.Sprintf("%d (%s)", s[i], ways[i%len(ways)]))
			}
		}
		if len(live) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("closed sockets still held:\n%s", strings.Join(live, "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
