package fusefs

import (
	"context"
	"syscall"

	"bazil.org/fuse"
	"bazil.org/fuse/fs"
)

// The tree is the stack's, not the user's: its names are made and unmade
// only by the calls that stand for them (socket, accept, close, rmdir), and
// its modes and owners are fixed (SPEC: 0700/0600, the creator's). Every
// other change is refused with EPERM, as /proc and sysfs refuse what their
// inode operations do not offer (vfs_link, vfs_rename and vfs_mknod on a
// directory without the operation, proc_setattr on a mode).

// fixedAttrs is embedded by every node: chmod and chown fail with EPERM
// rather than succeed and change nothing; what shell redirections send
// (O_TRUNC's size 0, times) is accepted and ignored, as a socket's file
// has no size.
type fixedAttrs struct{}

var _ fs.NodeSetattrer = fixedAttrs{}

func (fixedAttrs) Setattr(ctx context.Context, req *fuse.SetattrRequest, resp *fuse.SetattrResponse) error {
	if req.Valid.Mode() || req.Valid.Uid() || req.Valid.Gid() {
		return syscall.EPERM
	}
	return nil
}

// fixedNames is embedded by every directory: ln, ln -s, mv and mknod fail
// with EPERM (the FUSE library's default for them is EIO).
type fixedNames struct{}

var (
	_ fs.NodeLinker    = fixedNames{}
	_ fs.NodeSymlinker = fixedNames{}
	_ fs.NodeRenamer   = fixedNames{}
	_ fs.NodeMknoder   = fixedNames{}
)

func (fixedNames) Link(ctx context.Context, req *fuse.LinkRequest, old fs.Node) (fs.Node, error) {
	return nil, syscall.EPERM
}

func (fixedNames) Symlink(ctx context.Context, req *fuse.SymlinkRequest) (fs.Node, error) {
	return nil, syscall.EPERM
}

func (fixedNames) Rename(ctx context.Context, req *fuse.RenameRequest, newDir fs.Node) error {
	return syscall.EPERM
}

func (fixedNames) Mknod(ctx context.Context, req *fuse.MknodRequest) (fs.Node, error) {
	return nil, syscall.EPERM
}

// The tree has no extended attributes. ENOSYS, unlike the FUSE library's
// default ENOTSUP, is the answer the kernel remembers for the whole mount
// (fc->no_getxattr and its siblings): the caller gets the same
// EOPNOTSUPP, and the next `echo ... > ctl`'s O_TRUNC no longer costs a
// round trip for its security.capability check
// (cap_inode_need_killpriv).
var (
	_ fs.NodeGetxattrer    = fixedAttrs{}
	_ fs.NodeListxattrer   = fixedAttrs{}
	_ fs.NodeSetxattrer    = fixedAttrs{}
	_ fs.NodeRemovexattrer = fixedAttrs{}
)

func (fixedAttrs) Getxattr(ctx context.Context, req *fuse.GetxattrRequest, resp *fuse.GetxattrResponse) error {
	return syscall.ENOSYS
}

func (fixedAttrs) Listxattr(ctx context.Context, req *fuse.ListxattrRequest, resp *fuse.ListxattrResponse) error {
	return syscall.ENOSYS
}

func (fixedAttrs) Setxattr(ctx context.Context, req *fuse.SetxattrRequest) error {
	return syscall.ENOSYS
}

func (fixedAttrs) Removexattr(ctx context.Context, req *fuse.RemovexattrRequest) error {
	return syscall.ENOSYS
}

// noFlush is embedded by every open file's handle. close(2) of a socket
// flushes nothing, and a FUSE flush is a round trip the closing process
// waits for; ENOSYS makes the kernel stop sending it for the whole mount
// (fuse_flush sets fc->no_flush and reports success), so from the first
// close on, closing a ctl, data or accept file costs no request but the
// asynchronous release.
type noFlush struct{}

var _ fs.HandleFlusher = noFlush{}

func (noFlush) Flush(ctx context.Context, req *fuse.FlushRequest) error { return syscall.ENOSYS }
