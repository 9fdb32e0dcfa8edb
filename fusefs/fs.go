package fusefs

import (
	"cmp"
	"context"
	"errors"
	"log"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/inode"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// Inode numbers of everything that is not a socket's directory. Socket
// numbers come from package inode's counter and stay far below 1<<59, so
// these ranges cannot meet them.
const (
	rootIno = 1

	// staticIno marks the fixed files: the control file, trace, log, net/
	// and the files in it.
	staticIno      = 1 << 63
	controlIno     = staticIno | 1
	netDirIno      = staticIno | 3
	procNetInoBase = staticIno | 0x100

	// sockFileBit marks a file inside a socket's directory; see sockFileIno.
	sockFileBit = 1 << 62
	// sockPrivateBit marks the per-lookup inodes of a socket's
	// privateInode files (lookupPrivate), numbered by a counter of their
	// own.
	sockPrivateBit = 1 << 61
)

// sockFileIno is the inode number of file k in socket ino's directory.
func sockFileIno(ino uint64, k fileKind) uint64 { return sockFileBit | ino<<3 | uint64(k) }

// Config is what New needs: the namespace whose families sockets are
// created in, and the superblock that numbers them.
type Config struct {
	Net *socket.Net
	SB  *inode.SuperBlock
	// Logf writes one line to the daemon's stderr: bad input and errors
	// that are not an errno. Nil means log.Printf. Each line also goes
	// into the log file's ring.
	Logf func(format string, args ...any)
	// Clock times the log's rate limit (net_ratelimit) and stamps its
	// lines. Nil means the wall clock.
	Clock ktime.Clock
}

// FS is the mounted sockfs tree.
type FS struct {
	net *socket.Net
	sb  *inode.SuperBlock
	// logf writes a line of the daemon's own (f.Logf); stderrf is where
	// every line goes besides the ring.
	logf    func(format string, args ...any)
	stderrf func(format string, args ...any)
	klog    *logBuf // the log file's ring
	// logLimit bounds the lines each user's requests put in the log.
	logLimit *socket.NetRatelimit[uint32]
	uid      uint32 // owner of the fixed files: whoever runs the daemon
	gid      uint32

	// srv is set once by Serve, before the first request; poll wakeups
	// and entry invalidations go through it.
	srv atomic.Pointer[server]
	// requestHook, when set before Serve, sees each request as it
	// arrives (tests count requests with it).
	requestHook func(fuse.Request)

	root    *rootDir
	control *controlFile
	netDir  *netDir
	// rootEntries are the root's fixed names, in listing order. The call
	// trace file joins them when it is built.
	rootEntries []rootEntry

	pollKeys    atomic.Uint64 // WaitQueue poller keys, one per open handle
	privateInos atomic.Uint64 // numbers lookupPrivate hands out

	mu      sync.Mutex
	socks   map[uint64]*sockDir // protected by mu: the live sockets' directories
	closing bool                // protected by mu: ReleaseAll has begun
}

type rootEntry struct {
	name string
	node fs.Node
	ino  uint64
	typ  fuse.DirentType
}

var (
	_ fs.FS          = (*FS)(nil)
	_ fs.FSDestroyer = (*FS)(nil)
)

// New builds the tree over cfg's namespace and superblock.
func New(cfg Config) *FS {
	f := &FS{
		net:     cfg.Net,
		sb:      cfg.SB,
		stderrf: cfg.Logf,
		uid:     uint32(os.Getuid()),
		gid:     uint32(os.Getgid()),
		socks:   make(map[uint64]*sockDir),
	}
	if f.stderrf == nil {
		f.stderrf = log.Printf
	}
	f.logf = f.Logf
	clock := cfg.Clock
	if clock == nil {
		clock = ktime.NewReal()
	}
	f.klog = &logBuf{clock: clock}
	f.logLimit = socket.NewNetRatelimit[uint32](clock)
	f.root = &rootDir{fs: f}
	f.control = &controlFile{fs: f}
	f.netDir = &netDir{fs: f, files: make(map[string]*procNetNode)}
	f.rootEntries = []rootEntry{
		{"socket", f.control, controlIno, fuse.DT_File},
		{"trace", &traceFile{fs: f}, traceIno, fuse.DT_File},
		{"log", &logFile{fs: f}, logIno, fuse.DT_File},
		{"net", f.netDir, netDirIno, fuse.DT_Dir},
		{"meminfo", &meminfoFile{fs: f}, meminfoIno, fuse.DT_File},
	}
	return f
}

// Root is the filesystem's root directory.
func (f *FS) Root() (fs.Node, error) { return f.root, nil }

// Serve answers requests on c until the filesystem is unmounted (serve.go).
func (f *FS) Serve(c *fuse.Conn) error {
	srv := newServer(c, f)
	f.srv.Store(srv)
	return srv.run()
}

// Destroy is FUSE_DESTROY, which Linux sends only for block-device mounts;
// the daemon calls ReleaseAll itself.
func (f *FS) Destroy() { f.ReleaseAll() }

// ReleaseAll releases every live socket as close would (the sockets' last
// fput at unmount), ending any call blocked on one. Sockets created after it
// starts are released at once. It returns how many it released.
func (f *FS) ReleaseAll() int {
	f.mu.Lock()
	f.closing = true
	dirs := make([]*sockDir, 0, len(f.socks))
	for _, d := range f.socks {
		dirs = append(dirs, d)
	}
	f.mu.Unlock()
	slices.SortFunc(dirs, func(a, b *sockDir) int { return cmp.Compare(a.ino(), b.ino()) })
	n := 0
	for _, d := range dirs {
		if d.release(true) {
			n++
		}
	}
	return n
}

// sockAttach gives a newly created or accepted socket its directory
// (sock_alloc_file + fd_install).
func (f *FS) sockAttach(sock *socket.Socket) (*sockDir, error) {
	sa, ok := f.sb.SocketI(sock)
	if !ok {
		// The socket layer allocates every socket through f.sb; one that
		// is not there is a bug below us, not the caller's mistake.
		f.logf("socket %d not in the superblock", sock.Ino)
		socket.SockRelease(sock)
		return nil, syscall.EIO
	}
	d := newSockDir(f, sa)
	f.mu.Lock()
	if f.closing {
		f.mu.Unlock()
		d.release(true)
		return nil, syscall.ENOTCONN
	}
	f.socks[sa.Inode.Ino] = d
	f.mu.Unlock()
	return d, nil
}

// lookupSock finds a live socket's directory.
func (f *FS) lookupSock(ino uint64) (*sockDir, bool) {
	f.mu.Lock()
	d, ok := f.socks[ino]
	f.mu.Unlock()
	if !ok || d.isReleased() {
		return nil, false
	}
	return d, true
}

// forget drops a released socket's directory from the tree.
func (f *FS) forget(d *sockDir) {
	f.mu.Lock()
	if f.socks[d.ino()] == d {
		delete(f.socks, d.ino())
	}
	f.mu.Unlock()
}

// sockDirs returns the live directories in inode order.
func (f *FS) sockDirs() []*sockDir {
	f.mu.Lock()
	dirs := make([]*sockDir, 0, len(f.socks))
	for _, d := range f.socks {
		dirs = append(dirs, d)
	}
	f.mu.Unlock()
	slices.SortFunc(dirs, func(a, b *sockDir) int { return cmp.Compare(a.ino(), b.ino()) })
	return dirs
}

// invalidate drops the kernel's cached dentry for name in dir. An entry
// the kernel does not hold (ErrNotCached) is no error: it was never looked
// up, or has gone already.
func (f *FS) invalidate(srv *server, dir fs.Node, name string) {
	if err := srv.InvalidateEntry(dir, name); err != nil && !errors.Is(err, fuse.ErrNotCached) {
		f.logf("invalidate %s: %v", name, err)
	}
}

// errno turns a result of uid's request into what crosses FUSE: bare
// errnos pass as they are (the kernel's exact choice); anything else is a
// bug below, logged and reported as EIO.
func (f *FS) errno(uid uint32, op string, err error) error {
	if err == nil {
		return nil
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		if e != err {
			f.userLogf(uid, "%s: %v", op, err)
		}
		return e
	}
	f.userLogf(uid, "%s: %v", op, err)
	return syscall.EIO
}

// userLogf logs a line on behalf of uid's request, under uid's own
// net_ratelimit: a burst, then silence for the rest of the interval, then
// the count of what was suppressed. Every line a user can cause goes
// through here, so no user can flood the log or silence another's lines.
// The lines are uid's in the log file.
func (f *FS) userLogf(uid uint32, format string, args ...any) {
	ok, missed := f.logLimit.Ratelimit(uid)
	if missed > 0 {
		f.printk(uid, "net_ratelimit: %d callbacks suppressed (uid %d)", missed, uid)
	}
	if ok {
		f.printk(uid, format, args...)
	}
}

// permit is the owner check of a socket's directory and files (mode 0700
// and 0600): the owner and root pass, anyone else gets EACCES.
func permit(uid uint32, sa *inode.SocketAlloc) error {
	if uid == 0 || uid == sa.Inode.Uid {
		return nil
	}
	return socket.EACCES
}

// credOf is the caller of a request, as the socket layer's current_cred().
func credOf(ctx context.Context, h *fuse.Header) context.Context {
	return socket.WithCred(ctx, socket.Cred{Uid: h.Uid, Gid: h.Gid, Pid: h.Pid})
}

// parseIno accepts a directory name that is exactly a socket's decimal
// inode number (no sign, no leading zero).
func parseIno(name string) (uint64, bool) {
	ino, err := strconv.ParseUint(name, 10, 64)
	if err != nil || strconv.FormatUint(ino, 10) != name {
		return 0, false
	}
	return ino, true
}

// rootDir is the mount's root: the fixed entries and one directory per
// live socket.
type rootDir struct {
	fixedAttrs
	fixedNames
	fs *FS
}

var (
	_ fs.Node                = (*rootDir)(nil)
	_ fs.NodeRequestLookuper = (*rootDir)(nil)
	_ fs.HandleReadDirAller  = (*rootDir)(nil)
	_ fs.NodeRemover         = (*rootDir)(nil)
)

func (r *rootDir) Attr(ctx context.Context, a *fuse.Attr) error {
	a.Inode = rootIno
	a.Mode = os.ModeDir | 0o755
	a.Nlink = 2
	a.Uid, a.Gid = r.fs.uid, r.fs.gid
	return nil
}

func (r *rootDir) Lookup(ctx context.Context, req *fuse.LookupRequest, resp *fuse.LookupResponse) (fs.Node, error) {
	for _, e := range r.fs.rootEntries {
		if e.name == req.Name {
			return e.node, nil
		}
	}
	ino, ok := parseIno(req.Name)
	if !ok {
		return nil, syscall.ENOENT
	}
	d, ok := r.fs.lookupSock(ino)
	if !ok {
		return nil, syscall.ENOENT
	}
	return d, nil
}

func (r *rootDir) ReadDirAll(ctx context.Context) ([]fuse.Dirent, error) {
	dirs := r.fs.sockDirs()
	out := make([]fuse.Dirent, 0, len(r.fs.rootEntries)+len(dirs))
	for _, e := range r.fs.rootEntries {
		out = append(out, fuse.Dirent{Inode: e.ino, Type: e.typ, Name: e.name})
	}
	for _, d := range dirs {
		out = append(out, fuse.Dirent{Inode: d.ino(), Type: fuse.DT_Dir, Name: strconv.FormatUint(d.ino(), 10)})
	}
	return out, nil
}

// Remove is rmdir INO: sock_release, as ctl's close. The kernel drops the
// directory's own dentry when rmdir succeeds, and only then may the
// entries of its files that are still open be invalidated (dropDentries).
func (r *rootDir) Remove(ctx context.Context, req *fuse.RemoveRequest) error {
	for _, e := range r.fs.rootEntries {
		if e.name == req.Name {
			return syscall.EPERM
		}
	}
	ino, ok := parseIno(req.Name)
	if !ok {
		return syscall.ENOENT
	}
	d, ok := r.fs.lookupSock(ino)
	if !ok {
		return syscall.ENOENT
	}
	if !req.Dir {
		return syscall.EISDIR
	}
	if err := permit(req.Uid, d.sa); err != nil {
		return err
	}
	if d.release(false) {
		go d.dropDentries(false)
	}
	return nil
}
