package fusefs

import (
	"context"
	"errors"
	"os"
	"strconv"
	"sync"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/inode"
	"sockfs/socket"
)

// fileKind names a file in a socket's directory.
type fileKind uint8

const (
	fileData fileKind = iota
	fileCtl
	fileAccept
	fileLocal
	fileRemote
	fileStatus
	fileMsg
	nFileKinds
)

// inodeKind is how a socket's file is numbered.
type inodeKind uint8

const (
	// sharedInode: one inode for every lookup (sockFileIno), for files
	// whose calls never block while holding it: reads, which the kernel's
	// FUSE client does not serialize, and writes that never wait.
	sharedInode inodeKind = iota
	// privateInode: a fresh inode for each path lookup (lookupPrivate).
	// The kernel's FUSE client serializes writes to one inode (the inode
	// lock fuse_direct_write_iter takes, and O_TRUNC's do_truncate), so a
	// file whose write may block — send on data, connect on ctl — needs
	// one per open, or a blocked write would hold up every other write of
	// the socket (a shutdown or close behind a pending connect).
	privateInode
)

// sockFileOps is socket_file_ops spread over the directory: each file's
// name, how it is numbered, what opening it gives, and, for a file only
// some sockets support, the check its open makes first.
var sockFileOps = [nFileKinds]struct {
	name  string
	inode inodeKind
	open  func(f *sockFile, req *fuse.OpenRequest) fs.Handle
	check func(sock *socket.Socket) error
}{
	fileData:   {"data", privateInode, openData, nil},
	fileCtl:    {"ctl", privateInode, openCtl, nil},
	fileAccept: {"accept", sharedInode, openAccept, nil},
	fileLocal:  {"local", sharedInode, openLocal, nil},
	fileRemote: {"remote", sharedInode, openRemote, nil},
	fileStatus: {"status", sharedInode, openStatus, nil},
	// msg's sends never wait, but each open is a file of its own as a
	// socket's every open file is, like data's.
	fileMsg: {"msg", privateInode, openMsg, msgSupported},
}

// sockDir is a live socket's directory, INO/. It stands for the socket's
// open file: calls on the socket hold a reference on it (fget) for their
// duration, and release, like the last fput, runs sock_release once no call
// is left.
type sockDir struct {
	fixedAttrs
	fixedNames
	fs    *FS
	sa    *inode.SocketAlloc
	sock  *socket.Socket
	files [nFileKinds]*sockFile

	// ctx is cancelled by release; every call in flight runs under a
	// context derived from it, so a blocked recv, send, connect or accept
	// ends (the socket layer returns EINTR; see call for what is reported).
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	idle     sync.Cond // signalled when inflight drops to zero after release
	inflight int       // protected by mu: calls holding a reference
	released bool      // protected by mu
	stopped  bool      // protected by mu: released by the daemon's shutdown, not by close
	// looked has bit k set once the kernel has looked up file k: a
	// dentry it may still hold when the socket is released (see
	// dropDentries). Protected by mu.
	looked uint8
}

var (
	_ fs.Node                = (*sockDir)(nil)
	_ fs.NodeRequestLookuper = (*sockDir)(nil)
	_ fs.NodeOpener          = (*sockDir)(nil)
	_ fs.HandleReadDirAller  = (*sockDir)(nil)
	_ fs.NodeRemover         = (*sockDir)(nil)
)

func newSockDir(f *FS, sa *inode.SocketAlloc) *sockDir {
	d := &sockDir{fs: f, sa: sa, sock: &sa.Socket}
	d.idle.L = &d.mu
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for k := range d.files {
		d.files[k] = &sockFile{dir: d, kind: fileKind(k)}
	}
	return d
}

func (d *sockDir) ino() uint64 { return d.sa.Inode.Ino }

func (d *sockDir) name() string { return strconv.FormatUint(d.ino(), 10) }

func (d *sockDir) isReleased() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.released
}

// fget takes a reference for one call: errReleased once the socket is
// released. The returned context carries the caller's credentials and ends
// when either the request is interrupted or the socket is released; put
// must be called when the call is done.
func (d *sockDir) fget(ctx context.Context, h *fuse.Header) (context.Context, func(), error) {
	d.mu.Lock()
	if d.released {
		d.mu.Unlock()
		return nil, nil, errReleased
	}
	d.inflight++
	d.mu.Unlock()
	cctx, cancel := context.WithCancel(credOf(ctx, h))
	stop := context.AfterFunc(d.ctx, cancel)
	return cctx, func() {
		stop()
		cancel()
		d.fput()
	}, nil
}

func (d *sockDir) fput() {
	d.mu.Lock()
	d.inflight--
	if d.inflight == 0 && d.released {
		d.idle.Broadcast()
	}
	d.mu.Unlock()
}

// errReleased is what fget and run report for a call that release ended
// or that came after it; call turns it into the errno the user sees.
var errReleased = errors.New("socket released")

// run runs fn holding a reference. A call that release ended, rather than
// the caller's signal, reports errReleased.
func (d *sockDir) run(ctx context.Context, h *fuse.Header, fn func(ctx context.Context) error) error {
	cctx, put, err := d.fget(ctx, h)
	if err != nil {
		return err
	}
	err = fn(cctx)
	put()
	if err == socket.EINTR && ctx.Err() == nil {
		err = errReleased
	}
	return err
}

// call runs fn holding a reference, and turns its result into the errno
// that crosses FUSE. A call ended by close reports EBADF, as a system call
// on a closed descriptor would; one ended by the daemon's shutdown reports
// ENOTCONN, what every call on the mount gets once the daemon is gone.
func (d *sockDir) call(ctx context.Context, h *fuse.Header, op string, fn func(ctx context.Context) error) error {
	return d.callErrno(h, op, d.run(ctx, h, fn))
}

func (d *sockDir) callErrno(h *fuse.Header, op string, err error) error {
	if err == errReleased {
		if d.isStopped() {
			return syscall.ENOTCONN
		}
		return socket.EBADF
	}
	return d.fs.errno(h.Uid, op, err)
}

// readCall is call for the reads that may block (recv on data, accept):
// one ended by the daemon's shutdown is end of file, so `cat data` and a
// `while read` loop over accept end cleanly; fn must leave the reply
// empty when it fails.
func (d *sockDir) readCall(ctx context.Context, h *fuse.Header, op string, fn func(ctx context.Context) error) error {
	if err := d.run(ctx, h, fn); err != errReleased || !d.isStopped() {
		return d.callErrno(h, op, err)
	}
	return nil
}

func (d *sockDir) isStopped() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopped
}

// release is sock_close → sock_release, run once: no new call may start,
// calls in flight are cancelled and waited for, then the protocol closes
// the socket and its inode is freed. stopping says the daemon's shutdown
// releases it rather than close or rmdir. It reports whether this call
// did it.
func (d *sockDir) release(stopping bool) bool {
	d.mu.Lock()
	if d.released {
		d.mu.Unlock()
		return false
	}
	d.released = true
	d.stopped = stopping
	d.cancel()
	for d.inflight > 0 {
		d.idle.Wait()
	}
	d.mu.Unlock()
	socket.SockRelease(d.sock)
	d.fs.sb.SockFree(d.sock)
	d.fs.forget(d)
	return true
}

// dropDentries tells the kernel that a released socket's names are gone
// (FUSE_NOTIFY_INVAL_ENTRY, d_invalidate in the kernel): each file it has
// looked up, then, if withDir, the directory's own entry in the root (so
// that it is gone at once, not when the entry's cache time runs out).
//
// A kernel socket's file is never in the dcache (d_alloc_pseudo), so its
// close frees everything. Here the kernel holds a dentry for each name it
// looked up, and the directory and file nodes until it sends FORGET, which
// it does only once their dentries die. An entry that is not in use dies
// when it is invalidated; one that is — the ctl being written "close" to,
// or a file some process still has open — is unhashed now and freed, with
// its parent, at its last close. Left hashed, such an entry would keep the
// directory, the socket's inode and their nodes until memory pressure: the
// dentries of a closed socket's files are not freed at their last close on
// their own, as the kernel keeps unused entries cached.
//
// It must not run inside a request for which the kernel holds the inode
// lock of a directory it invalidates in: the notification waits for that
// lock. ctl's close holds only ctl's own; rmdir holds the root's and the
// socket directory's, so Remove runs this afterwards, and the kernel drops
// the directory's own entry itself.
func (d *sockDir) dropDentries(withDir bool) {
	srv := d.fs.srv.Load()
	if srv == nil {
		return
	}
	d.mu.Lock()
	looked := d.looked
	d.mu.Unlock()
	for k, op := range sockFileOps {
		if looked&(1<<k) != 0 {
			d.fs.invalidate(srv, d, op.name)
		}
	}
	if withDir {
		d.fs.invalidate(srv, d.fs.root, d.name())
	}
}

func (d *sockDir) Attr(ctx context.Context, a *fuse.Attr) error {
	a.Inode = d.ino()
	a.Mode = os.ModeDir | d.sa.Inode.Mode
	a.Nlink = 2
	a.Uid, a.Gid = d.sa.Inode.Uid, d.sa.Inode.Gid
	a.Atime, a.Mtime, a.Ctime = d.sa.Inode.Ctime, d.sa.Inode.Ctime, d.sa.Inode.Ctime
	return nil
}

func (d *sockDir) Lookup(ctx context.Context, req *fuse.LookupRequest, resp *fuse.LookupResponse) (fs.Node, error) {
	if err := permit(req.Uid, d.sa); err != nil {
		return nil, err
	}
	for k, op := range sockFileOps {
		if op.name == req.Name {
			if !d.lookedUp(fileKind(k)) {
				return nil, syscall.ENOENT
			}
			if op.inode == privateInode {
				return d.lookupPrivate(fileKind(k), resp), nil
			}
			return d.files[k], nil
		}
	}
	return nil, syscall.ENOENT
}

// lookedUp records that the kernel is about to hold a dentry for file k,
// unless the socket is released (false), so that release's dropDentries
// sees every name a lookup answered before it.
func (d *sockDir) lookedUp(k fileKind) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.released {
		return false
	}
	d.looked |= 1 << k
	return true
}

// lookupPrivate gives each path lookup of a file an inode of its own, never
// cached, as a real socket's every socket(2) or accept(2) is a file of its
// own. Writes to one FUSE inode are serialized by the kernel, so this is
// what lets a shutdown, setsockopt or close reach the socket while a
// connect blocks in another open of ctl, or a second writer of data go
// while the first waits for send buffer.
//
// It is also what lets `cat data > data` — the one-line echo server — run:
// GNU cat refuses to copy a regular file onto itself ("input file is
// output file") when input and output share st_dev/st_ino and its lseek
// fails, as it must on a socket (bash's read relies on that ESPIPE to read
// a line byte by byte without losing what follows). A real socket is no
// regular file and never meets that check; a FUSE file has to be one to be
// opened at all.
func (d *sockDir) lookupPrivate(k fileKind, resp *fuse.LookupResponse) *sockFile {
	resp.EntryValid = 0
	return &sockFile{dir: d, kind: k, ino: sockPrivateBit | d.fs.privateInos.Add(1)}
}

// Remove is unlink of a socket's file: the files are the socket's, made and
// unmade with it, so removing one is not permitted (EPERM, as in /proc).
func (d *sockDir) Remove(ctx context.Context, req *fuse.RemoveRequest) error {
	if err := permit(req.Uid, d.sa); err != nil {
		return err
	}
	for _, op := range sockFileOps {
		if op.name == req.Name {
			return syscall.EPERM
		}
	}
	return syscall.ENOENT
}

func (d *sockDir) Open(ctx context.Context, req *fuse.OpenRequest, resp *fuse.OpenResponse) (fs.Handle, error) {
	if err := permit(req.Uid, d.sa); err != nil {
		return nil, err
	}
	if d.isReleased() {
		return nil, syscall.ENOENT
	}
	return d, nil
}

func (d *sockDir) ReadDirAll(ctx context.Context) ([]fuse.Dirent, error) {
	out := make([]fuse.Dirent, 0, nFileKinds)
	for k, op := range sockFileOps {
		out = append(out, fuse.Dirent{Inode: sockFileIno(d.ino(), fileKind(k)), Type: fuse.DT_File, Name: op.name})
	}
	return out, nil
}

// sockFile is one file of a socket's directory.
type sockFile struct {
	fixedAttrs
	dir  *sockDir
	kind fileKind
	ino  uint64 // a privateInode file's own number (lookupPrivate); 0 for the rest
}

var (
	_ fs.Node          = (*sockFile)(nil)
	_ fs.NodeOpener    = (*sockFile)(nil)
	_ fs.NodeSetattrer = (*sockFile)(nil)
	_ fs.NodeAccesser  = (*sockFile)(nil)
)

// fileMode is every socket file's permission bits: its owner reads and
// writes.
const fileMode os.FileMode = 0o600

func (f *sockFile) Attr(ctx context.Context, a *fuse.Attr) error {
	in := &f.dir.sa.Inode
	a.Inode = sockFileIno(in.Ino, f.kind)
	if f.ino != 0 {
		a.Inode = f.ino
	}
	a.Mode = fileMode
	a.Uid, a.Gid = in.Uid, in.Gid
	a.Atime, a.Mtime, a.Ctime = in.Ctime, in.Ctime, in.Ctime
	return nil
}

func (f *sockFile) Access(ctx context.Context, req *fuse.AccessRequest) error {
	return permit(req.Uid, f.dir.sa)
}

func (f *sockFile) Open(ctx context.Context, req *fuse.OpenRequest, resp *fuse.OpenResponse) (fs.Handle, error) {
	if err := permit(req.Uid, f.dir.sa); err != nil {
		return nil, err
	}
	if f.dir.isReleased() {
		return nil, syscall.ENOENT
	}
	if check := sockFileOps[f.kind].check; check != nil {
		if err := check(f.dir.sock); err != nil {
			return nil, err
		}
	}
	// Every read and write goes to the socket as it is made: no page
	// cache, and no offsets.
	resp.Flags |= fuse.OpenDirectIO | fuse.OpenNonSeekable
	return sockFileOps[f.kind].open(f, req), nil
}
