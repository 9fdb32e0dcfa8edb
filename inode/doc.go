// Package inode is the sockfs superblock: the pseudo filesystem that gives
// every socket an inode (net/socket.c's sock_mnt, sockfs_ops and
// sock_alloc_inode, fs/inode.c's new_inode_pseudo and get_next_ino).
//
// In the kernel, sock_alloc takes a struct socket_alloc from the sockfs
// inode cache: a struct socket and a struct inode side by side, so that
// SOCKET_I(inode) and SOCK_INODE(sock) are container_of casts. SocketAlloc
// pairs them the same way here, and SuperBlock is the table from inode
// number to SocketAlloc that the file layer (package fusefs) resolves a
// directory name through.
//
// Unlike get_next_ino, which wraps, inode numbers here come from a 64-bit
// counter and are never reused while the superblock lives, so a stale
// directory name can never name a newer socket.
//
// The superblock also enforces what the kernel enforces on the way to a
// socket's file: a per-user limit (RLIMIT_NOFILE, EMFILE) and a total limit
// (the system file table, ENFILE).
package inode
