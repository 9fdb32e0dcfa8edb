package inet

import (
	"sockfs/socket"
)

// The trace hooks: each layer crossing emits one line while the trace file
// is read. Every hook tests Tracer.On first, so a stack nobody traces pays
// one atomic load per crossing.

func (in *Net) trace(sock *socket.Socket, path, detail string) {
	if t := in.sn.Trace; t.On() {
		if detail != "" {
			t.Emitf(sock.Ino, "%s %s", path, detail)
		} else {
			t.Emitf(sock.Ino, "%s", path)
		}
	}
}

func (in *Net) traceLen(sock *socket.Socket, path string, n int) {
	if t := in.sn.Trace; t.On() {
		t.Emitf(sock.Ino, "%s len=%d", path, n)
	}
}

// traceSk is for protocol code that has a sock, maybe orphaned.
func (in *Net) traceSk(s socket.Sk, format string, args ...any) {
	if t := in.sn.Trace; t.On() {
		var ino uint64
		if sock := s.SK().Socket; sock != nil {
			ino = sock.Ino
		}
		t.Emitf(ino, format, args...)
	}
}

// traceOn reports whether a hook would print, for callers that build
// arguments.
func (in *Net) traceOn() bool { return in.sn.Trace.On() }

// shutdownHow names shutdown's how, SHUT_RD..SHUT_RDWR.
var shutdownHow = [...]string{"SHUT_RD", "SHUT_WR", "SHUT_RDWR"}

// traceErr is the suffix a control-path line gets when the call failed:
// " = -EADDRINUSE", as strace shows a failed call.
func traceErr(err error) string {
	if e, ok := err.(socket.Errno); ok {
		return " = -" + socket.ErrnoName(e)
	}
	if err != nil {
		return " = " + err.Error()
	}
	return ""
}
