package socket

import "time"

// Option levels and names (include/uapi/asm-generic/socket.h, linux/tcp.h,
// linux/in.h), with Linux's numbers.
const (
	SOL_IP     = 0
	SOL_SOCKET = 1
	SOL_TCP    = 6
	SOL_UDP    = 17
	SOL_IPV6   = 41
	SOL_ICMPV6 = 58

	SO_REUSEADDR = 2
	SO_TYPE      = 3
	SO_ERROR     = 4
	SO_SNDBUF    = 7
	SO_RCVBUF    = 8
	SO_BROADCAST = 6
	SO_KEEPALIVE = 9
	SO_LINGER    = 13
	SO_RCVTIMEO  = 20
	SO_SNDTIMEO  = 21

	TCP_NODELAY   = 1
	TCP_MAXSEG    = 2
	TCP_KEEPIDLE  = 4
	TCP_KEEPINTVL = 5
	TCP_KEEPCNT   = 6

	IP_TOS          = 1
	IP_TTL          = 2
	IP_MTU_DISCOVER = 10
	IP_MTU          = 14

	IPV6_UNICAST_HOPS = 16
	IPV6_V6ONLY       = 26
	IPV6_MTU_DISCOVER = 23
	IPV6_MTU          = 24
	IPV6_RECVERR      = 25
	IPV6_TCLASS       = 67

	ICMP6_FILTER = 1 // SOL_ICMPV6 (include/uapi/linux/icmpv6.h)

	// IP_MTU_DISCOVER values (include/uapi/linux/in.h).
	IP_PMTUDISC_DONT      = 0 // never set DF; fragment locally
	IP_PMTUDISC_WANT      = 1 // DF when the datagram fits the path MTU (the default)
	IP_PMTUDISC_DO        = 2 // always DF; EMSGSIZE beyond the path MTU
	IP_PMTUDISC_PROBE     = 3 // always DF, sized by the device MTU, path MTU ignored
	IP_PMTUDISC_INTERFACE = 4 // no DF, sized by the device MTU, ICMP-learnt MTUs ignored
	IP_PMTUDISC_OMIT      = 5 // as INTERFACE, but larger datagrams are fragmented

	// IPV6_MTU_DISCOVER values (include/uapi/linux/in6.h): the same
	// numbers and meanings, except that IPv6 has no DF bit: an IPv6
	// datagram is never fragmented by a router, only by its source.
	IPV6_PMTUDISC_DONT      = 0
	IPV6_PMTUDISC_WANT      = 1
	IPV6_PMTUDISC_DO        = 2
	IPV6_PMTUDISC_PROBE     = 3
	IPV6_PMTUDISC_INTERFACE = 4
	IPV6_PMTUDISC_OMIT      = 5
)

// SockoptName maps an option's name, as scripts write it, to its level and
// number.
type SockoptName struct {
	Name    string
	Level   int
	Optname int
	// Words, when not 0, says the value is not an int but a struct of
	// that many u32 words (ICMP6_FILTER's struct icmp6_filter: 8), which
	// ctl writes as that many %08X, word 0 first.
	Words int
}

// sockoptValues names the values of the options whose values have names
// (a script may write either the name or the number).
var sockoptValues = map[string]map[string]int{
	"IP_MTU_DISCOVER":   pmtudiscValues,
	"IPV6_MTU_DISCOVER": pmtudisc6Values,
}

// LookupSockoptValue finds a named value of option o.
func LookupSockoptValue(o SockoptName, name string) (int, bool) {
	v, ok := sockoptValues[o.Name][name]
	return v, ok
}

// pmtudiscValues names IP_MTU_DISCOVER's values.
var pmtudiscValues = map[string]int{
	"IP_PMTUDISC_DONT": IP_PMTUDISC_DONT, "IP_PMTUDISC_WANT": IP_PMTUDISC_WANT,
	"IP_PMTUDISC_DO": IP_PMTUDISC_DO, "IP_PMTUDISC_PROBE": IP_PMTUDISC_PROBE,
	"IP_PMTUDISC_INTERFACE": IP_PMTUDISC_INTERFACE, "IP_PMTUDISC_OMIT": IP_PMTUDISC_OMIT,
}

// pmtudisc6Values names IPV6_MTU_DISCOVER's values.
var pmtudisc6Values = map[string]int{
	"IPV6_PMTUDISC_DONT": IPV6_PMTUDISC_DONT, "IPV6_PMTUDISC_WANT": IPV6_PMTUDISC_WANT,
	"IPV6_PMTUDISC_DO": IPV6_PMTUDISC_DO, "IPV6_PMTUDISC_PROBE": IPV6_PMTUDISC_PROBE,
	"IPV6_PMTUDISC_INTERFACE": IPV6_PMTUDISC_INTERFACE, "IPV6_PMTUDISC_OMIT": IPV6_PMTUDISC_OMIT,
}

// Sockopts lists every option the ctl file knows, in the order a read of ctl
// prints them.
var Sockopts = []SockoptName{
	{Name: "SO_REUSEADDR", Level: SOL_SOCKET, Optname: SO_REUSEADDR},
	{Name: "SO_KEEPALIVE", Level: SOL_SOCKET, Optname: SO_KEEPALIVE},
	{Name: "SO_BROADCAST", Level: SOL_SOCKET, Optname: SO_BROADCAST},
	{Name: "SO_LINGER", Level: SOL_SOCKET, Optname: SO_LINGER},
	{Name: "SO_RCVBUF", Level: SOL_SOCKET, Optname: SO_RCVBUF},
	{Name: "SO_SNDBUF", Level: SOL_SOCKET, Optname: SO_SNDBUF},
	{Name: "SO_RCVTIMEO", Level: SOL_SOCKET, Optname: SO_RCVTIMEO},
	{Name: "SO_SNDTIMEO", Level: SOL_SOCKET, Optname: SO_SNDTIMEO},
	{Name: "SO_TYPE", Level: SOL_SOCKET, Optname: SO_TYPE},
	{Name: "SO_ERROR", Level: SOL_SOCKET, Optname: SO_ERROR},
	{Name: "TCP_NODELAY", Level: SOL_TCP, Optname: TCP_NODELAY},
	{Name: "TCP_KEEPIDLE", Level: SOL_TCP, Optname: TCP_KEEPIDLE},
	{Name: "TCP_KEEPINTVL", Level: SOL_TCP, Optname: TCP_KEEPINTVL},
	{Name: "TCP_KEEPCNT", Level: SOL_TCP, Optname: TCP_KEEPCNT},
	{Name: "TCP_MAXSEG", Level: SOL_TCP, Optname: TCP_MAXSEG},
	{Name: "IP_TTL", Level: SOL_IP, Optname: IP_TTL},
	{Name: "IP_TOS", Level: SOL_IP, Optname: IP_TOS},
	{Name: "IP_MTU_DISCOVER", Level: SOL_IP, Optname: IP_MTU_DISCOVER},
	{Name: "IP_MTU", Level: SOL_IP, Optname: IP_MTU},
	{Name: "IPV6_V6ONLY", Level: SOL_IPV6, Optname: IPV6_V6ONLY},
	{Name: "IPV6_UNICAST_HOPS", Level: SOL_IPV6, Optname: IPV6_UNICAST_HOPS},
	{Name: "IPV6_TCLASS", Level: SOL_IPV6, Optname: IPV6_TCLASS},
	{Name: "IPV6_MTU_DISCOVER", Level: SOL_IPV6, Optname: IPV6_MTU_DISCOVER},
	{Name: "IPV6_MTU", Level: SOL_IPV6, Optname: IPV6_MTU},
	{Name: "IPV6_RECVERR", Level: SOL_IPV6, Optname: IPV6_RECVERR},
	{Name: "ICMP6_FILTER", Level: SOL_ICMPV6, Optname: ICMP6_FILTER, Words: 8},
}

// LookupSockopt finds an option by name.
func LookupSockopt(name string) (SockoptName, bool) {
	for _, o := range Sockopts {
		if o.Name == name {
			return o, true
		}
	}
	return SockoptName{}, false
}

// Setsockopt is __sys_setsockopt: SOL_SOCKET goes to sock_setsockopt, the
// other levels to the family's setsockopt.
func Setsockopt(sock *Socket, level, optname, val int) error {
	if level == SOL_SOCKET {
		return SockSetsockopt(sock, optname, val)
	}
	return sock.Ops.Setsockopt(sock, level, optname, val)
}

// WordsSockopter is a sock with options whose value is a struct of u32
// words rather than an int (a raw ICMPv6 sock's ICMP6_FILTER): the
// optval of setsockopt and getsockopt, word by word.
type WordsSockopter interface {
	SetsockoptWords(level, optname int, w []uint32) error
	GetsockoptWords(level, optname int) ([]uint32, error)
}

// SetsockoptWords is __sys_setsockopt for an option of SockoptName.Words
// words; a sock that has none answers ENOPROTOOPT, as an unknown level.
func SetsockoptWords(sock *Socket, level, optname int, w []uint32) error {
	if ws, ok := sock.Sk.(WordsSockopter); ok {
		return ws.SetsockoptWords(level, optname, w)
	}
	return ENOPROTOOPT
}

// GetsockoptWords is __sys_getsockopt for such an option.
func GetsockoptWords(sock *Socket, level, optname int) ([]uint32, error) {
	if ws, ok := sock.Sk.(WordsSockopter); ok {
		return ws.GetsockoptWords(level, optname)
	}
	return nil, ENOPROTOOPT
}

// Getsockopt is __sys_getsockopt.
func Getsockopt(sock *Socket, level, optname int) (int, error) {
	if level == SOL_SOCKET {
		return SockGetsockopt(sock, optname)
	}
	return sock.Ops.Getsockopt(sock, level, optname)
}

// SockSetsockopt is sock_setsockopt (net/core/sock.c). Integer values as the
// ctl file carries them (a C int: the ctl parser refuses what does not fit): booleans 0/1, SO_LINGER in seconds (negative turns
// lingering off), SO_RCVTIMEO/SO_SNDTIMEO in milliseconds.
func SockSetsockopt(sock *Socket, optname, val int) error {
	s := sock.Sk
	sk := s.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	switch optname {
	case SO_REUSEADDR:
		sk.Reuse = val != 0
	case SO_KEEPALIVE:
		if sk.Prot.Keepalive != nil {
			sk.Prot.Keepalive(s, val != 0)
		}
		sk.KeepOpen = val != 0
	case SO_BROADCAST:
		sk.Broadcast = val != 0
	case SO_LINGER:
		if val < 0 {
			sk.Linger = false
			sk.LingerTime = 0
		} else {
			sk.Linger = true
			sk.LingerTime = time.Duration(val) * time.Second
		}
	case SO_SNDBUF:
		// As Linux: the value is doubled for bookkeeping overhead, capped
		// by wmem_max, floored at SOCK_MIN_SNDBUF. It is compared as a
		// u32 (min_t(u32, val, wmem_max)), so a negative one caps too.
		v := int(min(uint32(val), uint32(SysctlWmemMax)))
		sk.UserLocks |= SOCK_SNDBUF_LOCK
		sk.SndBuf = max(v*2, SockMinSndbuf)
		sk.WriteSpace(sk)
	case SO_RCVBUF:
		v := int(min(uint32(val), uint32(SysctlRmemMax)))
		sk.UserLocks |= SOCK_RCVBUF_LOCK
		sk.RcvBuf = max(v*2, SockMinRcvbuf)
	case SO_RCVTIMEO:
		if val < 0 {
			return EINVAL
		}
		sk.RcvTimeo = time.Duration(val) * time.Millisecond
	case SO_SNDTIMEO:
		if val < 0 {
			return EINVAL
		}
		sk.SndTimeo = time.Duration(val) * time.Millisecond
	case SO_TYPE, SO_ERROR:
		return ENOPROTOOPT
	default:
		return ENOPROTOOPT
	}
	return nil
}

// SockGetsockopt is sk_getsockopt for SOL_SOCKET, in the units
// SockSetsockopt takes (SO_LINGER is -1 when off).
func SockGetsockopt(sock *Socket, optname int) (int, error) {
	sk := sock.Sk.SK()
	sk.Mu.Lock()
	defer sk.Mu.Unlock()
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	switch optname {
	case SO_REUSEADDR:
		return b(sk.Reuse), nil
	case SO_KEEPALIVE:
		return b(sk.KeepOpen), nil
	case SO_BROADCAST:
		return b(sk.Broadcast), nil
	case SO_LINGER:
		if !sk.Linger {
			return -1, nil
		}
		return int(sk.LingerTime / time.Second), nil
	case SO_SNDBUF:
		return sk.SndBuf, nil
	case SO_RCVBUF:
		return sk.RcvBuf, nil
	case SO_RCVTIMEO:
		return int(sk.RcvTimeo / time.Millisecond), nil
	case SO_SNDTIMEO:
		return int(sk.SndTimeo / time.Millisecond), nil
	case SO_TYPE:
		return int(sk.Type), nil
	case SO_ERROR:
		return int(sk.SockError()), nil
	}
	return 0, ENOPROTOOPT
}
