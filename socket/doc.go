// Package socket is the protocol-independent socket layer: net/socket.c,
// include/linux/net.h and the protocol-neutral half of include/net/sock.h.
//
// It owns struct socket (Socket), the proto_ops vtable (ProtoOps), the
// net_families table filled by SockRegister, the proto list filled by
// ProtoRegister, the common struct sock (Sock) with its queues, wait queue,
// error and buffer accounting, and the entry points the VFS side calls:
// SockCreate (__sock_create), SockSendmsg, SockRecvmsg and SockRelease.
//
// It knows no protocol. A family (package inet for AF_INET) registers a
// create function into a Net; everything after that is reached through the
// ProtoOps and Proto tables that create installs, never through a switch on
// family or type here.
package socket
