package socket

// Address families, socket types and the flags of include/linux/socket.h and
// include/linux/net.h, with Linux's numeric values so that a script may use
// either spelling.
const (
	AF_UNSPEC = 0
	AF_INET   = 2
	AF_INET6  = 10
	NPROTO    = 46 // AF_MAX: size of net_families
)

// SockType is enum sock_type.
type SockType int

const (
	SOCK_STREAM SockType = 1
	SOCK_DGRAM  SockType = 2
	SOCK_RAW    SockType = 3
	SOCK_MAX             = 11
)

func (t SockType) String() string {
	switch t {
	case SOCK_STREAM:
		return "SOCK_STREAM"
	case SOCK_DGRAM:
		return "SOCK_DGRAM"
	case SOCK_RAW:
		return "SOCK_RAW"
	}
	return itoa(int(t))
}

// IP protocol numbers (include/uapi/linux/in.h).
const (
	IPPROTO_IP     = 0
	IPPROTO_ICMP   = 1
	IPPROTO_TCP    = 6
	IPPROTO_UDP    = 17
	IPPROTO_ICMPV6 = 58
	IPPROTO_RAW    = 255
)

// Message flags (MSG_*) understood by sendmsg and recvmsg.
const (
	MSG_PEEK     = 0x2
	MSG_TRUNC    = 0x20
	MSG_DONTWAIT = 0x40
	MSG_WAITALL  = 0x100
	MSG_NOSIGNAL = 0x4000
)

// How values for shutdown(2), and the sk_shutdown bits they set.
const (
	SHUT_RD   = 0
	SHUT_WR   = 1
	SHUT_RDWR = 2

	RCV_SHUTDOWN  = 1
	SEND_SHUTDOWN = 2
	SHUTDOWN_MASK = 3
)

// File flags that matter to a socket (O_NONBLOCK becomes MSG_DONTWAIT).
const O_NONBLOCK = 0x800

// SocketState is socket_state (include/uapi/linux/net.h).
type SocketState int

const (
	SS_FREE SocketState = iota
	SS_UNCONNECTED
	SS_CONNECTING
	SS_CONNECTED
	SS_DISCONNECTING
)

var socketStateNames = [...]string{"SS_FREE", "SS_UNCONNECTED", "SS_CONNECTING", "SS_CONNECTED", "SS_DISCONNECTING"}

func (s SocketState) String() string {
	if int(s) < len(socketStateNames) {
		return socketStateNames[s]
	}
	return itoa(int(s))
}

// Poll bits (include/uapi/asm-generic/poll.h), as ProtoOps.Poll returns them.
const (
	POLLIN     = 0x001
	POLLPRI    = 0x002
	POLLOUT    = 0x004
	POLLERR    = 0x008
	POLLHUP    = 0x010
	POLLRDNORM = 0x040
	POLLWRNORM = 0x100
	POLLRDHUP  = 0x2000
)

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
