package inode

import (
	"cmp"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"sockfs/socket"
)

// Inode is the part of struct inode a socket's file needs: its number, its
// owner and permission bits (inode_init_owner in sock_alloc) and its
// creation time.
type Inode struct {
	Ino   uint64
	Uid   uint32
	Gid   uint32
	Mode  os.FileMode // permission bits of the socket's directory
	Ctime time.Time
}

// SocketAlloc is struct socket_alloc: a socket and its inode, allocated
// together and freed together.
type SocketAlloc struct {
	Socket socket.Socket
	Inode  Inode
}

// Defaults for Config's zero values.
const (
	DefaultMaxPerUid = 1024  // RLIMIT_NOFILE's usual soft limit
	DefaultMaxTotal  = 65536 // a small fs.file-max
	DefaultFirstIno  = 2     // 1 is the filesystem's root
	// DirMode is a socket directory's permission bits: its owner only.
	DirMode os.FileMode = 0o700
)

// Config sets a SuperBlock's limits. Zero fields take the defaults above.
type Config struct {
	MaxPerUid int    // sockets one uid may hold (EMFILE beyond)
	MaxTotal  int    // sockets in all (ENFILE beyond)
	FirstIno  uint64 // the first inode number handed out
	// Now stamps Ctime; time.Now when nil.
	Now func() time.Time
}

// SuperBlock is the sockfs super_block: it hands out inode numbers and
// keeps the ino → SocketAlloc table. It is safe for concurrent use.
type SuperBlock struct {
	maxPerUid int
	maxTotal  int
	now       func() time.Time

	mu      sync.Mutex
	lastIno uint64                  // protected by mu; last number handed out
	inodes  map[uint64]*SocketAlloc // protected by mu
	perUid  map[uint32]int          // protected by mu; live sockets per owner
}

var _ socket.SuperBlock = (*SuperBlock)(nil)

// New returns an empty superblock (mount_pseudo for sockfs).
func New(cfg Config) *SuperBlock {
	sb := &SuperBlock{
		maxPerUid: cfg.MaxPerUid,
		maxTotal:  cfg.MaxTotal,
		now:       cfg.Now,
		inodes:    make(map[uint64]*SocketAlloc),
		perUid:    make(map[uint32]int),
	}
	if sb.maxPerUid <= 0 {
		sb.maxPerUid = DefaultMaxPerUid
	}
	if sb.maxTotal <= 0 {
		sb.maxTotal = DefaultMaxTotal
	}
	if sb.now == nil {
		sb.now = time.Now
	}
	first := cfg.FirstIno
	if first == 0 {
		first = DefaultFirstIno
	}
	sb.lastIno = first - 1
	return sb
}

// SockAlloc is sock_alloc: new_inode_pseudo plus get_next_ino, owned by the
// caller (inode_init_owner), recorded in the table. The socket it returns
// has only Ino set; __sock_create fills in the rest.
func (sb *SuperBlock) SockAlloc(cred socket.Cred) (*socket.Socket, error) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if len(sb.inodes) >= sb.maxTotal {
		return nil, syscall.ENFILE
	}
	if sb.perUid[cred.Uid] >= sb.maxPerUid {
		return nil, socket.EMFILE
	}
	sb.lastIno++
	sa := &SocketAlloc{Inode: Inode{
		Ino:   sb.lastIno,
		Uid:   cred.Uid,
		Gid:   cred.Gid,
		Mode:  DirMode,
		Ctime: sb.now(),
	}}
	sa.Socket.Ino = sa.Inode.Ino
	sa.Socket.Uid = cred.Uid
	sb.inodes[sa.Inode.Ino] = sa
	sb.perUid[cred.Uid]++
	return &sa.Socket, nil
}

// SockFree is the final iput of a socket's inode: the table forgets it and
// its owner's count drops. The number is not handed out again. Freeing a
// socket twice, or one this superblock did not allocate, does nothing.
func (sb *SuperBlock) SockFree(sock *socket.Socket) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sa, ok := sb.inodes[sock.Ino]
	if !ok || &sa.Socket != sock {
		return
	}
	delete(sb.inodes, sock.Ino)
	if sb.perUid[sa.Inode.Uid]--; sb.perUid[sa.Inode.Uid] <= 0 {
		delete(sb.perUid, sa.Inode.Uid)
	}
}

// Lookup finds a live socket by inode number (ilookup, then SOCKET_I).
func (sb *SuperBlock) Lookup(ino uint64) (*SocketAlloc, bool) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	sa, ok := sb.inodes[ino]
	return sa, ok
}

// SocketI is SOCKET_I's inverse, SOCK_INODE: the SocketAlloc that holds
// sock, if sock is live in this superblock.
func (sb *SuperBlock) SocketI(sock *socket.Socket) (*SocketAlloc, bool) {
	sa, ok := sb.Lookup(sock.Ino)
	if !ok || &sa.Socket != sock {
		return nil, false
	}
	return sa, true
}

// Inodes returns the live sockets in inode-number order (the order a
// directory listing shows them).
func (sb *SuperBlock) Inodes() []*SocketAlloc {
	sb.mu.Lock()
	all := make([]*SocketAlloc, 0, len(sb.inodes))
	for _, sa := range sb.inodes {
		all = append(all, sa)
	}
	sb.mu.Unlock()
	slices.SortFunc(all, func(a, b *SocketAlloc) int { return cmp.Compare(a.Inode.Ino, b.Inode.Ino) })
	return all
}

// Len returns the number of live sockets.
func (sb *SuperBlock) Len() int {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return len(sb.inodes)
}
