package fusefs

import (
	"bytes"
	"context"
	"os"
	"sync"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"

	"sockfs/socket"
)

// netDir is net/: the /proc/net tables the registered families created
// (proc_create_net), read-only for everyone.
type netDir struct {
	fixedAttrs
	fixedNames
	fs *FS

	mu    sync.Mutex
	files map[string]*procNetNode // protected by mu: one node per name, for stable inode numbers
}

var (
	_ fs.Node               = (*netDir)(nil)
	_ fs.NodeStringLookuper = (*netDir)(nil)
	_ fs.HandleReadDirAller = (*netDir)(nil)
	_ fs.NodeRemover        = (*netDir)(nil)
)

func (n *netDir) Attr(ctx context.Context, a *fuse.Attr) error {
	a.Inode = netDirIno
	a.Mode = os.ModeDir | 0o555
	a.Nlink = 2
	a.Uid, a.Gid = n.fs.uid, n.fs.gid
	return nil
}

// node returns the one node for a registered file, numbering it the first
// time it is seen.
func (n *netDir) node(pf socket.ProcNetFile) *procNetNode {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.files[pf.Name]
	if !ok {
		p = &procNetNode{dir: n, ino: procNetInoBase + uint64(len(n.files))}
		n.files[pf.Name] = p
	}
	p.show = pf.Show
	return p
}

func (n *netDir) Lookup(ctx context.Context, name string) (fs.Node, error) {
	for _, pf := range n.fs.net.ProcNetFiles() {
		if pf.Name == name {
			return n.node(pf), nil
		}
	}
	return nil, syscall.ENOENT
}

// Remove is unlink of a table: EPERM, as /proc/net's files are the
// kernel's to add and remove.
func (n *netDir) Remove(ctx context.Context, req *fuse.RemoveRequest) error {
	for _, pf := range n.fs.net.ProcNetFiles() {
		if pf.Name == req.Name {
			return syscall.EPERM
		}
	}
	return syscall.ENOENT
}

func (n *netDir) ReadDirAll(ctx context.Context) ([]fuse.Dirent, error) {
	pfs := n.fs.net.ProcNetFiles()
	out := make([]fuse.Dirent, 0, len(pfs))
	for _, pf := range pfs {
		out = append(out, fuse.Dirent{Inode: n.node(pf).ino, Type: fuse.DT_File, Name: pf.Name})
	}
	return out, nil
}

// procNetNode is one net/ table.
type procNetNode struct {
	fixedAttrs
	dir  *netDir
	ino  uint64
	show func(b *bytes.Buffer) // protected by dir.mu
}

var (
	_ fs.Node       = (*procNetNode)(nil)
	_ fs.NodeOpener = (*procNetNode)(nil)
)

func (p *procNetNode) Attr(ctx context.Context, a *fuse.Attr) error {
	a.Inode = p.ino
	a.Mode = 0o444
	a.Uid, a.Gid = p.dir.fs.uid, p.dir.fs.gid
	return nil
}

// Open renders nothing yet: the table is taken at the first read, and
// that snapshot is what the whole open reads.
func (p *procNetNode) Open(ctx context.Context, req *fuse.OpenRequest, resp *fuse.OpenResponse) (fs.Handle, error) {
	if !req.Flags.IsReadOnly() {
		return nil, syscall.EACCES
	}
	// The size is not known before rendering, so reads bypass the page
	// cache, which would stop at the attribute's size of 0.
	resp.Flags |= fuse.OpenDirectIO
	p.dir.mu.Lock()
	show := p.show
	p.dir.mu.Unlock()
	return &textHandle{render: func(context.Context, *fuse.Header) ([]byte, error) {
		var b bytes.Buffer
		show(&b)
		return b.Bytes(), nil
	}}, nil
}
