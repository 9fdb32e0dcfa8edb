package fusefs

import (
	"strings"
	"sync/atomic"
	"testing"

	"bazil.org/fuse"

	"sockfs/inode"
)

// countRequests returns a request hook (FS.requestHook) that counts the
// requests of type T, and the count.
func countRequests[T any]() (func(fuse.Request), *atomic.Int64) {
	var n atomic.Int64
	return func(r fuse.Request) {
		if _, ok := r.(T); ok {
			n.Add(1)
		}
	}, &n
}

// The first close's flush is answered ENOSYS, which the kernel remembers
// for the mount: later closes send none, and closing still succeeds.
func TestFlushOnlyOnce(t *testing.T) {
	hook, flushes := countRequests[*fuse.FlushRequest]()
	m := mountTest(t, inode.Config{}, hook)
	m.shOK(t, `for i in 1 2 3; do exec 3<>"$M/socket"; exec 3>&-; done; exec 3<"$M/trace"; exec 3<&-`)
	if n := flushes.Load(); n != 1 {
		t.Errorf("%d FLUSH requests for 4 files opened and closed, want 1", n)
	}
}

// getxattr and listxattr fail with EOPNOTSUPP (ENOTSUP) as before, and after the
// first of each the kernel answers by itself.
func TestXattrNotSupportedOnce(t *testing.T) {
	hook, gets := countRequests[*fuse.GetxattrRequest]()
	m := mountTest(t, inode.Config{}, hook)
	out := m.shOK(t, `python3 - "$M" <<'PY'
import errno, os, sys
m = sys.argv[1]
for p in ("socket", "socket", "net", "trace"):
    try:
        os.getxattr(os.path.join(m, p), "user.x")
        print("getxattr succeeded")
    except OSError as e:
        print(errno.errorcode[e.errno])
try:
    os.listxattr(m)
    print("listxattr succeeded")
except OSError as e:
    print(errno.errorcode[e.errno])
PY`)
	if got, want := strings.Fields(out), []string{"ENOTSUP", "ENOTSUP", "ENOTSUP", "ENOTSUP", "ENOTSUP"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("errors %v, want %v", got, want)
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("%d GETXATTR requests for 4 getxattr calls, want 1", n)
	}
}
