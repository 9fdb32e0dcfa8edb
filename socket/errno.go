package socket

import "syscall"

// Errno is an errno value as the socket calls return it.
type Errno = syscall.Errno

// Errors cross to the filesystem as bare syscall.Errno values so that FUSE
// hands the kernel's exact choice to the caller (a wrapped errno would reach
// the user as EIO). These names keep the kernel's spelling.
const (
	EINTR           = syscall.EINTR
	EAGAIN          = syscall.EAGAIN
	EINVAL          = syscall.EINVAL
	EACCES          = syscall.EACCES
	EMFILE          = syscall.EMFILE
	EPIPE           = syscall.EPIPE
	ENOMEM          = syscall.ENOMEM
	EAFNOSUPPORT    = syscall.EAFNOSUPPORT
	ESOCKTNOSUPPORT = syscall.ESOCKTNOSUPPORT
	EPROTONOSUPPORT = syscall.EPROTONOSUPPORT
	EOPNOTSUPP      = syscall.EOPNOTSUPP
	ENOPROTOOPT     = syscall.ENOPROTOOPT
	ENOTCONN        = syscall.ENOTCONN
	EISCONN         = syscall.EISCONN
	EALREADY        = syscall.EALREADY
	EINPROGRESS     = syscall.EINPROGRESS
	ECONNREFUSED    = syscall.ECONNREFUSED
	ECONNRESET      = syscall.ECONNRESET
	ECONNABORTED    = syscall.ECONNABORTED
	ETIMEDOUT       = syscall.ETIMEDOUT
	EHOSTUNREACH    = syscall.EHOSTUNREACH
	ENETUNREACH     = syscall.ENETUNREACH
	EADDRINUSE      = syscall.EADDRINUSE
	EADDRNOTAVAIL   = syscall.EADDRNOTAVAIL
	EDESTADDRREQ    = syscall.EDESTADDRREQ
	EMSGSIZE        = syscall.EMSGSIZE
	ENOBUFS         = syscall.ENOBUFS
	EBADF           = syscall.EBADF
	EPROTO          = syscall.EPROTO
	EPERM           = syscall.EPERM
)

// ErrnoName returns the errno's symbolic name ("ECONNRESET"), or "0" for no
// error, as the status file shows sk_err.
func ErrnoName(e syscall.Errno) string {
	if e == 0 {
		return "0"
	}
	if n, ok := errnoNames[e]; ok {
		return n
	}
	return "E" + e.Error()
}

var errnoNames = map[syscall.Errno]string{
	syscall.ENOENT: "ENOENT", syscall.EIO: "EIO",
	EPERM: "EPERM", EINTR: "EINTR", EAGAIN: "EAGAIN", EINVAL: "EINVAL", EACCES: "EACCES",
	EMFILE: "EMFILE", EPIPE: "EPIPE", ENOMEM: "ENOMEM",
	EAFNOSUPPORT: "EAFNOSUPPORT", ESOCKTNOSUPPORT: "ESOCKTNOSUPPORT",
	EPROTONOSUPPORT: "EPROTONOSUPPORT", EOPNOTSUPP: "EOPNOTSUPP",
	ENOPROTOOPT: "ENOPROTOOPT", ENOTCONN: "ENOTCONN", EISCONN: "EISCONN",
	EALREADY: "EALREADY", EINPROGRESS: "EINPROGRESS",
	ECONNREFUSED: "ECONNREFUSED", ECONNRESET: "ECONNRESET",
	ECONNABORTED: "ECONNABORTED", ETIMEDOUT: "ETIMEDOUT",
	EHOSTUNREACH: "EHOSTUNREACH", ENETUNREACH: "ENETUNREACH",
	EADDRINUSE: "EADDRINUSE", EADDRNOTAVAIL: "EADDRNOTAVAIL",
	EDESTADDRREQ: "EDESTADDRREQ", EMSGSIZE: "EMSGSIZE", ENOBUFS: "ENOBUFS",
	EBADF: "EBADF", EPROTO: "EPROTO",
}
