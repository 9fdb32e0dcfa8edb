// Package fusefs is the VFS side of sockfs: what fs/ and the file half of
// net/socket.c are in the kernel, served over FUSE with bazil.org/fuse.
//
// The mapping, piece by piece:
//
//   - the control file "socket" is the socket(2) system call, __sys_socket:
//     a write of "FAMILY TYPE PROTOCOL" runs sock_create, and a read returns
//     the new socket's inode number. Like fs/libfs.c's simple_transaction
//     files, the answer to a write is read back on the same open file.
//   - each live socket is a directory named by its inode number; its files
//     are the socket's file operations, socket_file_ops: data's read and
//     write are sock_read_iter and sock_write_iter, its poll is sock_poll;
//     ctl carries the other system calls (bind, connect, disconnect,
//     listen, shutdown, setsockopt, getsockopt, close) one per write, also
//     transaction-style; accept is accept(2); msg is __sys_recvfrom and
//     __sys_sendto, each datagram a record with its address; local, remote
//     and status are getsockname, getpeername and the socket's diagnostics.
//   - closing a socket (ctl "close", rmdir) is sock_close → sock_release.
//     In the kernel that happens on the last fput of the file; here the
//     directory stands for the file, so the file layer keeps its own count
//     of calls in flight on the socket (the file reference each system call
//     holds) and release cancels them and waits for them first. Then the
//     kernel is told the directory's names are gone (dropDentries), so it
//     drops their dentries and FORGETs the nodes, which hold the socket:
//     a kernel socket's dentry is never cached, and nothing here may be
//     either, or each closed socket would stay in memory.
//   - net/ holds the /proc/net views (proc_create_net), whatever the
//     registered families put in socket.Net.ProcNetFiles.
//   - trace, the call-path trace, joins the root's fixed entries (rootEntries)
//     when it is built.
//   - log is the kernel's log buffer as dmesg reads it (kernel/printk): the
//     daemon's recent lines in a bounded ring, each user's own to that user
//     (log.go).
//
// The request loop (serve.go) is the tree's own, over bazil.org/fuse's
// connection, not bazil.org/fuse/fs's Server, whose node interfaces the
// tree still implements. That Server starts a goroutine per request, whose
// stack then grows through the socket calls (runtime.newstack was a fifth
// of a request/response profile), and allocates and zeroes a reply buffer
// of the reader's size per read (128 KiB for `cat`); its Config offers no
// pool, and its loop and its node and handle tables are private, so the
// hot requests alone (read and write on data) cannot be taken from it: a
// handle ID is only its to resolve. Here a
// pool of long-lived workers each reads a request and serves it to the end
// itself, as libfuse's fuse_loop_mt does, and starts another worker when it
// takes the last idle one's place, so a blocked recv, accept or connect
// never leaves the kernel without a reader; a read's reply is built in the
// worker's own buffer. The rest is what the Server did for the requests
// the tree answers: node IDs counted by lookups and dropped by FORGET, the
// open handles, a directory's listing per opendir, INTERRUPT cancelling the
// request it names, and InvalidateEntry and poll wakeups by node.
//
// Inode numbers: the root is 1, a socket's directory is the socket's own
// inode number from package inode, its files live in a range above any
// socket number (sockFileIno), and the fixed files in another (staticIno),
// so no two names ever share a number and none is reused while mounted.
// The files whose writes may block (data, ctl) get a fresh number at every
// lookup instead (privateInode), because the kernel serializes writes to one
// FUSE inode.
package fusefs
