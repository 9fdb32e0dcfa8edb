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
		isk.Tos = uint8(val) &^ 3 // the ECN bits belong to TCP (RFC 3168)
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
	}
	return 0, socket.ENOPROTOOPT
}
