package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ourFstype is how a sockfs mount appears in /proc/self/mountinfo
// (fuse.Subtype("sockfs") on a fuse mount).
const ourFstype = "fuse.sockfs"

// mountEntry is one line of /proc/self/mountinfo, the fields used here.
type mountEntry struct {
	mountpoint string
	fstype     string
	source     string
}

// parseMountinfo reads /proc/PID/mountinfo's format (proc(5)).
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 5 || sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("mountinfo: malformed line %q", sc.Text())
		}
		out = append(out, mountEntry{
			mountpoint: unescapeMountinfo(f[4]),
			fstype:     f[sep+1],
			source:     f[sep+2],
		})
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space, ...) the
// kernel writes in mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// absMountpoint is dir as mountinfo shows it: absolute, with the parent's
// symbolic links resolved. The last element is not resolved, since stat of
// a dead FUSE mount fails.
func absMountpoint(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(parent, filepath.Base(abs)), nil
}

// mountsAt returns the mounts stacked on dir, topmost last.
func mountsAt(dir string) ([]mountEntry, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	all, err := parseMountinfo(f)
	if err != nil {
		return nil, err
	}
	var out []mountEntry
	for _, m := range all {
		if m.mountpoint == dir {
			out = append(out, m)
		}
	}
	return out, nil
}

// prepareMountpoint checks MOUNTPOINT and clears a stale sockfs mount a
// crashed sockfsd left there: one whose server is gone answers every
// request with ENOTCONN ("transport endpoint is not connected"). A live
// sockfs mount is another daemon's, and is an error.
func prepareMountpoint(dir string) error {
	abs, err := absMountpoint(dir)
	if err != nil {
		return fmt.Errorf("mount point %s: %v", dir, errorText(err))
	}
	mounts, err := mountsAt(abs)
	if err != nil {
		return err
	}
	statErr := probe(abs)
	if len(mounts) > 0 && mounts[len(mounts)-1].fstype == ourFstype {
		if !errors.Is(statErr, syscall.ENOTCONN) {
			return fmt.Errorf("mount point %s: already served by a running sockfsd", dir)
		}
		if err := lazyUnmount(abs); err != nil {
			return fmt.Errorf("mount point %s: a stale sockfs mount is there and unmounting it failed: %v", dir, err)
		}
		logf("cleaned up a stale sockfs mount at %s", dir)
		statErr = probe(abs)
	} else if errors.Is(statErr, syscall.ENOTCONN) {
		fs := "a dead FUSE filesystem"
		if len(mounts) > 0 {
			fs = mounts[len(mounts)-1].fstype
		}
		return fmt.Errorf("mount point %s: %s is mounted there and not answering; not ours to unmount", dir, fs)
	}
	if statErr != nil {
		return fmt.Errorf("mount point %s: %v", dir, errorText(statErr))
	}
	st, _ := os.Stat(abs)
	if !st.IsDir() {
		return fmt.Errorf("mount point %s: not a directory", dir)
	}
	return nil
}

// probe asks the filesystem at dir a question only its server can answer:
// statfs always goes to a FUSE server, whereas stat may be answered from
// attributes the kernel cached while the server lived.
func probe(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	return nil
}

// lazyUnmount detaches the mount at dir (umount -l), through fusermount3
// when the direct call is not permitted.
func lazyUnmount(dir string) error {
	err := unix.Unmount(dir, unix.MNT_DETACH)
	if err == nil {
		return nil
	}
	out, ferr := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput()
	if ferr != nil {
		return fmt.Errorf("umount: %v; fusermount3: %v %s", err, ferr, strings.TrimSpace(string(out)))
	}
	return nil
}

// errorText is an error without the Go operation and path around the
// errno, for messages that name the path themselves.
func errorText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
