package fusefs

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"
	"bazil.org/fuse/fuseutil"
)

// The request loop. bazil.org/fuse/fs's Server reads each request on one
// goroutine and serves it on a new one; this one serves each request on
// the worker that read it, from a pool of long-lived workers, the way
// libfuse's multi-threaded loop (fuse_loop_mt) does: a worker that takes a
// request starts another when it was the last one reading, so a request
// that blocks (a recv waiting for data, accept, connect) never leaves the
// kernel without a reader, and a worker that finds more than maxIdle others
// reading when it is done exits. A worker's stack has grown to the depth of
// the socket calls once, and stays grown; its read replies go out of one
// buffer it keeps. See doc.go for why the tree has its own loop.
//
// What the server keeps is bazil's Server's, for the requests the tree
// answers: the kernel's node IDs for the nodes it looked up, counted and
// dropped by FORGET; the open handles' IDs; the requests in flight, which
// INTERRUPT cancels; a directory's listing, read once per opendir.

// attrValid and entryValid are how long the kernel may cache a node's
// attributes and a name (bazil's Server's times). Names that must not be
// cached say so themselves (lookupPrivate).
const (
	attrValid  = time.Minute
	entryValid = time.Minute
)

// maxIdle is how many workers may wait for requests at once; one more
// exits when its request is done. Two are enough for a request/response
// exchange (the blocked recv and the send); the rest absorb bursts
// without starting goroutines, whose stacks would have to grow again.
const maxIdle = 4

// startTime is the times of a node that has none of its own.
var startTime = time.Now()

// server answers the kernel's requests on one connection over the tree
// of f.
type server struct {
	conn *fuse.Conn
	fs   *FS

	idle atomic.Int32 // workers reading, or about to read, a request
	wg   sync.WaitGroup

	errMu sync.Mutex
	err   error // protected by errMu: the first error reading a request

	meta        sync.Mutex
	nodes       []*serveNode              // protected by meta: by fuse.NodeID; 0 is none, 1 the root
	nodeRef     map[fs.Node]fuse.NodeID   // protected by meta
	freeNodes   []fuse.NodeID             // protected by meta
	nodeGen     uint64                    // protected by meta: bumped when an ID is reused
	handles     []*serveHandle            // protected by meta: by fuse.HandleID; 0 is none
	freeHandles []fuse.HandleID           // protected by meta
	inflight    map[fuse.RequestID]func() // protected by meta: each request's cancel, for INTERRUPT
}

// serveNode is a node the kernel holds: refs counts the lookups that
// answered it, which FORGET gives back.
type serveNode struct {
	inode      uint64
	generation uint64
	node       fs.Node
	refs       uint64
	// notifying counts notifications about the node in progress; its ID
	// is not reused until they are sent. Add is called under meta.
	notifying sync.WaitGroup
}

// serveHandle is an open file or directory; listing is a directory's
// entries, read at its first READDIR (or a rewind) and served from then on.
type serveHandle struct {
	handle  fs.Handle
	listing []byte
}

// worker is one request loop's own reply state, reused for each request.
type worker struct {
	buf      []byte // read replies are built here: grown to the largest read
	read     fuse.ReadResponse
	write    fuse.WriteResponse
	answered bool // the request being served has left the in-flight table (finish)
}

func newServer(c *fuse.Conn, f *FS) *server {
	root := f.root
	return &server{
		conn:     c,
		fs:       f,
		nodes:    []*serveNode{nil, {inode: rootIno, node: root, refs: 1}},
		nodeRef:  map[fs.Node]fuse.NodeID{root: fuse.RootID},
		handles:  []*serveHandle{nil},
		inflight: make(map[fuse.RequestID]func()),
	}
}

// run serves until the connection ends (unmount) and every worker is
// done; it returns the first error reading a request other than the end.
func (s *server) run() error {
	s.spawn()
	s.wg.Wait()
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

func (s *server) spawn() {
	s.idle.Add(1)
	s.wg.Add(1)
	go s.loop(&worker{})
}

// loop reads and serves requests until the connection ends or the pool
// has readers enough.
func (s *server) loop(w *worker) {
	defer s.wg.Done()
	for {
		req, err := s.conn.ReadRequest()
		if err != nil {
			// ENOENT: the request being read was interrupted away;
			// EINTR, EAGAIN: nothing was read (libfuse's receive loop
			// retries the same three).
			if err == syscall.ENOENT || err == syscall.EINTR || err == syscall.EAGAIN {
				continue
			}
			s.idle.Add(-1)
			s.fail(err)
			return
		}
		if s.idle.Add(-1) == 0 {
			s.spawn()
		}
		s.serve(w, req)
		if s.idle.Add(1) > maxIdle {
			s.idle.Add(-1)
			return
		}
	}
}

// fail records the first error that ended a worker; the end of the
// connection (io.EOF, at unmount) is none.
func (s *server) fail(err error) {
	if err == io.EOF {
		return
	}
	s.errMu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.errMu.Unlock()
}

// serve answers one request. Every request that gets a reply is entered
// in the in-flight table first, so that an INTERRUPT for it finds it, and
// leaves it before the reply (finish), after which the kernel may reuse
// its ID.
func (s *server) serve(w *worker, r fuse.Request) {
	if hook := s.fs.requestHook; hook != nil {
		hook(r)
	}
	switch r := r.(type) {
	case *fuse.ForgetRequest:
		s.forget(r.Node, r.N)
		r.Respond()
		return
	case *fuse.BatchForgetRequest:
		for _, item := range r.Forget {
			s.forget(item.NodeID, item.N)
		}
		r.Respond()
		return
	case *fuse.InterruptRequest:
		s.interrupt(r)
		return
	case *fuse.NotifyReply:
		// Only a NotifyRetrieve, which the tree never sends, is
		// answered.
		return
	}
	hdr := r.Hdr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.meta.Lock()
	s.inflight[hdr.ID] = cancel
	var sn *serveNode
	if id := hdr.Node; id != 0 && id < fuse.NodeID(len(s.nodes)) {
		sn = s.nodes[id]
	}
	s.meta.Unlock()
	w.answered = false
	defer func() {
		if v := recover(); v != nil {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, false)]
			s.fs.logf("panic serving %v: %v\n%s", r, v, buf)
			if !w.answered {
				s.finish(w, hdr)
				r.RespondError(syscall.EIO)
			}
		}
	}()
	var err error
	if hdr.Node != 0 && sn == nil {
		// A node the kernel was told to forget, or never given.
		err = syscall.ESTALE
	} else {
		err = s.handle(ctx, w, sn, r)
	}
	if err == nil {
		return
	}
	if err == context.Canceled && ctx.Err() != nil {
		// Interrupted: what the caller's signal makes of a system call.
		err = syscall.EINTR
	}
	s.finish(w, hdr)
	r.RespondError(err)
}

// finish takes the request out of the in-flight table before its reply.
func (s *server) finish(w *worker, hdr *fuse.Header) {
	s.meta.Lock()
	delete(s.inflight, hdr.ID)
	s.meta.Unlock()
	w.answered = true
}

// interrupt is FUSE_INTERRUPT: the request it names ends with EINTR (the
// tree's blocking calls watch their context). A request not in the table
// is either answered already or still on its way to the table from the
// worker that read it; EAGAIN has the kernel send the interrupt again
// (fuse_dev_do_write requeues it), and drop it once the request has its
// reply.
func (s *server) interrupt(r *fuse.InterruptRequest) {
	s.meta.Lock()
	cancel, ok := s.inflight[r.IntrID]
	s.meta.Unlock()
	if !ok {
		r.RespondError(syscall.EAGAIN)
		return
	}
	cancel()
	r.Respond()
}

// handle answers r, about node sn (nil for the requests about none, as
// DESTROY): nil after it replied, or the error to reply with.
func (s *server) handle(ctx context.Context, w *worker, sn *serveNode, r fuse.Request) error {
	var node fs.Node
	if sn != nil {
		node = sn.node
	}
	hdr := r.Hdr()
	switch r := r.(type) {
	// The hot pair first: recv and send on INO/data.
	case *fuse.ReadRequest:
		sh := s.getHandle(r.Handle)
		if sh == nil {
			return syscall.ESTALE
		}
		if cap(w.buf) < r.Size {
			w.buf = make([]byte, r.Size)
		}
		resp := &w.read
		resp.Data = w.buf[:0]
		if r.Dir {
			if err := s.readDir(ctx, sn, sh, r, resp); err != nil {
				return err
			}
		} else {
			h, ok := sh.handle.(fs.HandleReader)
			if !ok {
				return syscall.ENOTSUP
			}
			if err := h.Read(ctx, r, resp); err != nil {
				return err
			}
		}
		s.finish(w, hdr)
		r.Respond(resp)
		// Respond copied the bytes: the buffer is ours again.
		resp.Data = nil
		return nil

	case *fuse.WriteRequest:
		sh := s.getHandle(r.Handle)
		if sh == nil {
			return syscall.ESTALE
		}
		h, ok := sh.handle.(fs.HandleWriter)
		if !ok {
			return syscall.EIO
		}
		resp := &w.write
		resp.Size = 0
		if err := h.Write(ctx, r, resp); err != nil {
			return err
		}
		s.finish(w, hdr)
		r.Respond(resp)
		return nil

	case *fuse.PollRequest:
		sh := s.getHandle(r.Handle)
		if sh == nil {
			return syscall.ESTALE
		}
		resp := &fuse.PollResponse{REvents: fuse.DefaultPollMask}
		if h, ok := sh.handle.(fs.HandlePoller); ok {
			resp.REvents = 0
			if err := h.Poll(ctx, r, resp); err != nil {
				return err
			}
		}
		s.finish(w, hdr)
		r.Respond(resp)
		return nil

	case *fuse.LookupRequest:
		resp := &fuse.LookupResponse{EntryValid: entryValid}
		var n2 fs.Node
		var err error
		switch n := node.(type) {
		case fs.NodeStringLookuper:
			n2, err = n.Lookup(ctx, r.Name)
		case fs.NodeRequestLookuper:
			n2, err = n.Lookup(ctx, r, resp)
		default:
			return syscall.ENOENT
		}
		if err == nil {
			err = s.saveLookup(ctx, resp, sn, r.Name, n2)
		}
		if err != nil {
			return err
		}
		s.finish(w, hdr)
		r.Respond(resp)
		return nil

	case *fuse.GetattrRequest:
		resp := &fuse.GetattrResponse{}
		if err := sn.attr(ctx, &resp.Attr); err != nil {
			return err
		}
		s.finish(w, hdr)
		r.Respond(resp)
		return nil

	case *fuse.SetattrRequest:
		resp := &fuse.SetattrResponse{}
		if n, ok := node.(fs.NodeSetattrer); ok {
			if err := n.Setattr(ctx, r, resp); err != nil {
				return err
			}
		}
		if err := sn.attr(ctx, &resp.Attr); err != nil {
			return err
		}
		s.finish(w, hdr)
		r.Respond(resp)
		return nil

	case *fuse.AccessRequest:
		if n, ok := node.(fs.NodeAccesser); ok {
			if err := n.Access(ctx, r); err != nil {
				return err
			}
		}
		s.finish(w, hdr)
		r.Respond()
		return nil

	case *fuse.OpenRequest:
		resp := &fuse.OpenResponse{}
		var h fs.Handle = node
		if n, ok := node.(fs.NodeOpener); ok {
			var err error
			if h, err = n.Open(ctx, r, resp); err != nil {
				return err
			}
		}
		resp.Handle = s.saveHandle(h)
		s.finish(w, hdr)
		r.Respond(resp)
		return nil

	case *fuse.ReleaseRequest:
		sh := s.getHandle(r.Handle)
		if sh == nil {
			return syscall.ESTALE
		}
		s.dropHandle(r.Handle)
		if h, ok := sh.handle.(fs.HandleReleaser); ok {
			if err := h.Release(ctx, r); err != nil {
				return err
			}
		}
		s.finish(w, hdr)
		r.Respond()
		return nil

	case *fuse.FlushRequest:
		sh := s.getHandle(r.Handle)
		if sh == nil {
			return syscall.ESTALE
		}
		if h, ok := sh.handle.(fs.HandleFlusher); ok {
			if err := h.Flush(ctx, r); err != nil {
				return err
			}
		}
		s.finish(w, hdr)
		r.Respond()
		return nil

	case *fuse.RemoveRequest:
		n, ok := node.(fs.NodeRemover)
		if !ok {
			return syscall.EIO
		}
		if err := n.Remove(ctx, r); err != nil {
			return err
		}
		s.finish(w, hdr)
		r.Respond()
		return nil

	case *fuse.StatfsRequest:
		// Zeros, as bazil's default: the daemon's startup probe asks.
		s.finish(w, hdr)
		r.Respond(&fuse.StatfsResponse{})
		return nil

	case *fuse.DestroyRequest:
		s.fs.Destroy()
		s.finish(w, hdr)
		r.Respond()
		return nil

	case *fuse.GetxattrRequest:
		n, ok := node.(fs.NodeGetxattrer)
		if !ok {
			return syscall.ENOTSUP
		}
		resp := &fuse.GetxattrResponse{}
		if err := n.Getxattr(ctx, r, resp); err != nil {
			return err
		}
		if r.Size != 0 && uint64(len(resp.Xattr)) > uint64(r.Size) {
			return syscall.ERANGE
		}
		s.finish(w, hdr)
		r.Respond(resp)
		return nil

	case *fuse.ListxattrRequest:
		n, ok := node.(fs.NodeListxattrer)
		if !ok {
			return syscall.ENOTSUP
		}
		resp := &fuse.ListxattrResponse{}
		if err := n.Listxattr(ctx, r, resp); err != nil {
			return err
		}
		if r.Size != 0 && uint64(len(resp.Xattr)) > uint64(r.Size) {
			return syscall.ERANGE
		}
		s.finish(w, hdr)
		r.Respond(resp)
		return nil

	case *fuse.SetxattrRequest:
		n, ok := node.(fs.NodeSetxattrer)
		if !ok {
			return syscall.ENOTSUP
		}
		if err := n.Setxattr(ctx, r); err != nil {
			return err
		}
		s.finish(w, hdr)
		r.Respond()
		return nil

	case *fuse.RemovexattrRequest:
		n, ok := node.(fs.NodeRemovexattrer)
		if !ok {
			return syscall.ENOTSUP
		}
		if err := n.Removexattr(ctx, r); err != nil {
			return err
		}
		s.finish(w, hdr)
		r.Respond()
		return nil

	// The tree makes names only through its own calls: these reach
	// fixedNames, which refuses them, or a node without them.
	case *fuse.MkdirRequest, *fuse.CreateRequest:
		return syscall.EPERM
	case *fuse.SymlinkRequest:
		n, ok := node.(fs.NodeSymlinker)
		if !ok {
			return syscall.EIO
		}
		n2, err := n.Symlink(ctx, r)
		if err != nil {
			return err
		}
		return s.respondLookup(ctx, w, sn, hdr, r.NewName, n2, func(l *fuse.LookupResponse) {
			r.Respond(&fuse.SymlinkResponse{LookupResponse: *l})
		})
	case *fuse.LinkRequest:
		n, ok := node.(fs.NodeLinker)
		if !ok {
			return syscall.EIO
		}
		old := s.node(r.OldNode)
		if old == nil {
			return syscall.EIO
		}
		n2, err := n.Link(ctx, r, old)
		if err != nil {
			return err
		}
		return s.respondLookup(ctx, w, sn, hdr, r.NewName, n2, r.Respond)
	case *fuse.MknodRequest:
		n, ok := node.(fs.NodeMknoder)
		if !ok {
			return syscall.EIO
		}
		n2, err := n.Mknod(ctx, r)
		if err != nil {
			return err
		}
		return s.respondLookup(ctx, w, sn, hdr, r.Name, n2, r.Respond)
	case *fuse.RenameRequest:
		n, ok := node.(fs.NodeRenamer)
		newDir := s.node(r.NewDir)
		if !ok || newDir == nil {
			return syscall.EIO
		}
		if err := n.Rename(ctx, r, newDir); err != nil {
			return err
		}
		s.finish(w, hdr)
		r.Respond()
		return nil

	case *fuse.ReadlinkRequest, *fuse.FsyncRequest:
		return syscall.EIO
	case *fuse.LockRequest, *fuse.LockWaitRequest, *fuse.UnlockRequest, *fuse.QueryLockRequest, *fuse.FAllocateRequest:
		return syscall.ENOTSUP
	}
	// ENOSYS tells the kernel this server never implements the request.
	return syscall.ENOSYS
}

// respondLookup saves n2 as name in sn and replies with its entry through
// respond (Link, Symlink, Mknod).
func (s *server) respondLookup(ctx context.Context, w *worker, sn *serveNode, hdr *fuse.Header, name string, n2 fs.Node, respond func(*fuse.LookupResponse)) error {
	resp := &fuse.LookupResponse{EntryValid: entryValid}
	if err := s.saveLookup(ctx, resp, sn, name, n2); err != nil {
		return err
	}
	s.finish(w, hdr)
	respond(resp)
	return nil
}

// readDir serves READDIR from the listing ReadDirAll made at offset 0.
func (s *server) readDir(ctx context.Context, sn *serveNode, sh *serveHandle, r *fuse.ReadRequest, resp *fuse.ReadResponse) error {
	h, ok := sh.handle.(fs.HandleReadDirAller)
	if !ok {
		return nil // an empty directory, as bazil's Server lists one
	}
	if r.Offset == 0 {
		// opendir, or rewinddir: a fresh listing.
		sh.listing = nil
	}
	if sh.listing == nil {
		dirs, err := h.ReadDirAll(ctx)
		if err != nil {
			return err
		}
		data := []byte{}
		for _, d := range dirs {
			if d.Inode == 0 {
				d.Inode = fs.GenerateDynamicInode(sn.inode, d.Name)
			}
			data = fuse.AppendDirent(data, d)
		}
		sh.listing = data
	}
	fuseutil.HandleRead(r, resp, sh.listing)
	return nil
}

// attr fills a with the node's attributes over the defaults.
func (sn *serveNode) attr(ctx context.Context, a *fuse.Attr) error {
	a.Valid = attrValid
	a.Nlink = 1
	a.Atime, a.Mtime, a.Ctime = startTime, startTime, startTime
	err := sn.node.Attr(ctx, a)
	if a.Inode == 0 {
		a.Inode = sn.inode
	}
	return err
}

// saveLookup answers a lookup of name in sn with n2: its attributes, and
// the node ID the kernel will name it by from now on.
func (s *server) saveLookup(ctx context.Context, resp *fuse.LookupResponse, sn *serveNode, name string, n2 fs.Node) error {
	a := &resp.Attr
	a.Valid = attrValid
	a.Nlink = 1
	a.Atime, a.Mtime, a.Ctime = startTime, startTime, startTime
	if err := n2.Attr(ctx, a); err != nil {
		return err
	}
	if a.Inode == 0 {
		a.Inode = fs.GenerateDynamicInode(sn.inode, name)
	}
	resp.Node, resp.Generation = s.saveNode(a.Inode, n2)
	return nil
}

// saveNode gives node a node ID, or another reference on the one it has.
func (s *server) saveNode(inode uint64, node fs.Node) (fuse.NodeID, uint64) {
	s.meta.Lock()
	defer s.meta.Unlock()
	if id, ok := s.nodeRef[node]; ok {
		sn := s.nodes[id]
		sn.refs++
		return id, sn.generation
	}
	sn := &serveNode{inode: inode, node: node, refs: 1}
	var id fuse.NodeID
	if n := len(s.freeNodes); n > 0 {
		id = s.freeNodes[n-1]
		s.freeNodes = s.freeNodes[:n-1]
		s.nodes[id] = sn
		s.nodeGen++
	} else {
		id = fuse.NodeID(len(s.nodes))
		s.nodes = append(s.nodes, sn)
	}
	sn.generation = s.nodeGen
	s.nodeRef[node] = id
	return id, sn.generation
}

// forget is FORGET: the kernel gives back n references on node id; at none
// the ID is free, and the node, which holds its socket's directory, is
// garbage.
func (s *server) forget(id fuse.NodeID, n uint64) {
	s.meta.Lock()
	defer s.meta.Unlock()
	var sn *serveNode
	if id < fuse.NodeID(len(s.nodes)) {
		sn = s.nodes[id]
	}
	if sn == nil {
		// The kernel's count and ours disagree: nothing left to drop.
		return
	}
	sn.refs -= min(n, sn.refs)
	if sn.refs > 0 {
		return
	}
	sn.notifying.Wait()
	s.nodes[id] = nil
	delete(s.nodeRef, sn.node)
	s.freeNodes = append(s.freeNodes, id)
}

// node is the node with ID id, nil if the kernel holds no such node.
func (s *server) node(id fuse.NodeID) fs.Node {
	s.meta.Lock()
	defer s.meta.Unlock()
	if id < fuse.NodeID(len(s.nodes)) && s.nodes[id] != nil {
		return s.nodes[id].node
	}
	return nil
}

func (s *server) saveHandle(h fs.Handle) fuse.HandleID {
	s.meta.Lock()
	defer s.meta.Unlock()
	sh := &serveHandle{handle: h}
	if n := len(s.freeHandles); n > 0 {
		id := s.freeHandles[n-1]
		s.freeHandles = s.freeHandles[:n-1]
		s.handles[id] = sh
		return id
	}
	s.handles = append(s.handles, sh)
	return fuse.HandleID(len(s.handles) - 1)
}

// handle0 is the open handle with ID id, nil if there is none.
func (s *server) getHandle(id fuse.HandleID) *serveHandle {
	s.meta.Lock()
	defer s.meta.Unlock()
	if id < fuse.HandleID(len(s.handles)) {
		return s.handles[id]
	}
	return nil
}

func (s *server) dropHandle(id fuse.HandleID) {
	s.meta.Lock()
	s.handles[id] = nil
	s.freeHandles = append(s.freeHandles, id)
	s.meta.Unlock()
}

// InvalidateEntry is FUSE_NOTIFY_INVAL_ENTRY for name in parent: the
// kernel drops its dentry. fuse.ErrNotCached when the kernel holds no
// node for parent.
func (s *server) InvalidateEntry(parent fs.Node, name string) error {
	s.meta.Lock()
	id, ok := s.nodeRef[parent]
	if ok {
		sn := s.nodes[id]
		sn.notifying.Add(1)
		defer sn.notifying.Done()
	}
	s.meta.Unlock()
	if !ok {
		return fuse.ErrNotCached
	}
	return s.conn.InvalidateEntry(id, name)
}

// NotifyPollWakeup wakes the kernel's pollers of the file that asked for
// wakeup.
func (s *server) NotifyPollWakeup(wakeup fuse.PollWakeup) error {
	return s.conn.NotifyPollWakeup(wakeup)
}
