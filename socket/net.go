package socket

import (
	"sync"
	"sync/atomic"

	"sockfs/netdev/ktime"
)

// Net is the socket layer's part of one network namespace (struct net): the
// net_families table that SockRegister fills and the proto list that
// ProtoRegister fills. Everything is per instance, so two stacks can live in
// one process (the two-stack tests do).
type Net struct {
	mu       sync.RWMutex
	families [NPROTO]*NetProtoFamily // protected by mu
	protos   []*Proto                // protected by mu; proto_list order
	procNet  []ProcNetFile           // protected by mu; /proc/net entries

	// SocketsInUse counts live sockets (sockstat's "sockets: used").
	SocketsInUse atomic.Int64

	// Trace streams call-path lines to the trace file's readers.
	Trace *Tracer

	// Clock is the namespace's clock, on which socket timeouts
	// (SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER) expire. NewNet starts it on the
	// wall clock; the family's init replaces it with the stack's own clock
	// (inet.Init), so one clock drives every timer in the namespace.
	Clock ktime.Clock
}

// NewNet returns an empty namespace: no family is registered until one's
// init (inet.Init) calls SockRegister.
func NewNet() *Net { return &Net{Trace: NewTracer(), Clock: ktime.NewReal()} }

// NetProtoFamily is struct net_proto_family: the family's create function,
// which __sock_create calls to fill in sock.Ops and sock.Sk.
type NetProtoFamily struct {
	Family int
	Create func(net *Net, sock *Socket, protocol int, kern bool) error
}

// SockRegister is sock_register: it adds a family to net_families. A second
// registration of the same family fails with EEXIST as in the kernel.
func (n *Net) SockRegister(ops *NetProtoFamily) error {
	if ops.Family < 0 || ops.Family >= NPROTO {
		return ENOBUFS
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.families[ops.Family] != nil {
		return errEEXIST
	}
	n.families[ops.Family] = ops
	return nil
}

// SockUnregister is sock_unregister.
func (n *Net) SockUnregister(family int) {
	n.mu.Lock()
	if family >= 0 && family < NPROTO {
		n.families[family] = nil
	}
	n.mu.Unlock()
}

func (n *Net) family(f int) *NetProtoFamily {
	if f < 0 || f >= NPROTO {
		return nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.families[f]
}

// ProtoRegister is proto_register: it adds prot to the list that
// /proc/net/protocols and sockstat walk.
func (n *Net) ProtoRegister(prot *Proto) {
	n.mu.Lock()
	n.protos = append(n.protos, prot)
	n.mu.Unlock()
}

// Protos returns the registered protos in registration order.
func (n *Net) Protos() []*Proto {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return append([]*Proto(nil), n.protos...)
}
