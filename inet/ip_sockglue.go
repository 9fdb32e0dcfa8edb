package inet

import "sockfs/socket"

// ipSetsockopt is do_ip_setsockopt for the options docs/sockfsd.md names.
func ipSetsockopt(s socket.Sk, optname, val int) error {
	isk := inetSk(s)
	isk.Mu.Lock()
	defer isk.Mu.Unlock()
	switch optname {
	case socket.IP_TTL:
		if val == -1 {
			isk.UcTTL = -1 // back to the default
			return nil
		}
		if val < 1 || val > 255 {
			return socket.EINVAL
		}
		isk.UcTTL = val
	case socket.IP_TOS:
		if val < 0 || val > 255 {
			return socket.EINVAL
		}
		tos := uint8(val)
		if isk.Type == socket.SOCK_STREAM {
			// TCP owns the ECN field (RFC 3168): keep its bits, as
			// __ip_sock_set_tos does; other types set all eight.
			tos = tos&^3 | isk.Tos&3
		}
		isk.Tos = tos
	case socket.IP_MTU_DISCOVER:
		if val < socket.IP_PMTUDISC_DONT || val > socket.IP_PMTUDISC_OMIT {
			return socket.EINVAL
		}
		isk.Pmtudisc = val
	default:
		return socket.ENOPROTOOPT
	}
	return nil
}

// ipGetsockopt is do_ip_getsockopt.
func ipGetsockopt(s socket.Sk, optname int) (int, error) {
	isk := inetSk(s)
	isk.Mu.Lock()
	defer isk.Mu.Unlock()
	switch optname {
	case socket.IP_TTL:
		return int(isk.ttl()), nil
	case socket.IP_TOS:
		return int(isk.Tos), nil
	case socket.IP_MTU_DISCOVER:
		return isk.Pmtudisc, nil
	case socket.IP_MTU:
		// The path MTU of the route the socket has cached: only a
		// connected socket has one (sk_dst_get).
		rt := isk.rtable()
		if rt == nil || !isk.Daddr.IsValid() || isk.Daddr.IsUnspecified() {
			return 0, socket.ENOTCONN
		}
		return isk.in.dstMTU(rt, isk.Daddr), nil
	}
	return 0, socket.ENOPROTOOPT
}

// ipGetsockoptOther is ip_getsockopt reached with a level that is not
// SOL_IP: what the datagram protocols (udp_getsockopt, ping's and raw's)
// answer for another layer's option, such as TCP_MAXSEG on a UDP socket.
// do_ip_getsockopt says EOPNOTSUPP where do_ip_setsockopt says ENOPROTOOPT.
func ipGetsockoptOther(s socket.Sk, level, optname int) (int, error) {
	return 0, socket.EOPNOTSUPP
}
