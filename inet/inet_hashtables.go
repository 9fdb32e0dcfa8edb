package inet

// The TCP hash tables (net/ipv4/inet_hashtables.c, inet_connection_sock.c's
// port allocation): bind hash (ports in use), established hash keyed by the
// 4-tuple, listening hash keyed by port. All live in tcpNet under its mu,
// which is taken after a sock's Mu, never before.
//
// The fields a conflict check reads of another sock (its bound address,
// SO_REUSEADDR at bind time, whether it listens) are mirrored under the
// table lock, so no other sock's Mu is needed.

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"

	"sockfs/socket"
)

// tcpHashKey is the established hash's key: the 4-tuple from our side.
// netip.Addr holds either family's address, so one table serves both, as
// Linux's inet_ehashfn and inet6_ehashfn share one ehash.
type tcpHashKey struct {
	laddr, raddr netip.Addr
	lport, rport uint16
}

// tcpBindInfo is what the bind hash knows of a sock.
type tcpBindInfo struct {
	bindAddr       // the bound local address (invalid or unspecified: any), family and sk_ipv6only
	reuse     bool // sk_reuse when it took the port
	byConnect bool // connect chose the port (a bucket with fastreuse -1)
}

// lookup is __inet_lookup for a full sock: the established hash, then
// the best listener.
func (t *tcpNet) lookup(k tcpHashKey) *tcpSock {
	tp, _ := t.lookupTw(k)
	return tp
}

// lookupTw is __inet_lookup: the established hash with its timewait
// entries, then the best listener. One of the results is nil.
func (t *tcpNet) lookupTw(k tcpHashKey) (*tcpSock, *tcpTimewaitSock) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if tp := t.ehash[k]; tp != nil {
		return tp, nil
	}
	if tw := t.twhash[k]; tw != nil {
		return nil, tw
	}
	return t.lookupListenerLocked(k), nil
}

// lookupListener is __inet_lookup_listener.
func (t *tcpNet) lookupListener(k tcpHashKey) *tcpSock {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.lookupListenerLocked(k)
}

// lookupListenerLocked is compute_score's walk: the listener on the port
// whose address fits best (bindAddr.lookupScore: an exact address before
// the wildcard; for IPv4 an AF_INET listener before a dual-stack AF_INET6
// one), the first of equals.
func (t *tcpNet) lookupListenerLocked(k tcpHashKey) *tcpSock {
	var best *tcpSock
	bestScore := -1
	for _, l := range t.lhash[k.lport] {
		if sc := l.bind.lookupScore(k.laddr); sc > bestScore {
			best, bestScore = l, sc
		}
	}
	return best
}

// bindConflictLocked is inet_csk_bind_conflict: another sock on the port
// whose address overlaps addr's (inet_rcv_saddr_equal: across the
// families too, unless IPV6_V6ONLY) conflicts, unless both set
// SO_REUSEADDR and the other does not listen (Linux's rule; TIME_WAIT
// socks count).
func (t *tcpNet) bindConflictLocked(tp *tcpSock, port uint16, addr bindAddr, reuse bool) bool {
	for _, o := range t.bhash[port] {
		if o == tp || !inetRcvSaddrEqual(addr, o.bind.bindAddr, true) {
			continue
		}
		if reuse && o.bind.reuse && !o.lhashed {
			continue
		}
		return true
	}
	// The port's timewait entries are owners too (tw_bind_node).
	for _, tw := range t.twbhash[port] {
		if inetRcvSaddrEqual(addr, tw.bind.bindAddr, true) && !(reuse && tw.bind.reuse) {
			return true
		}
	}
	return false
}

// portFreeLocked reports that no sock and no timewait entry holds port.
func (t *tcpNet) portFreeLocked(port uint16) bool {
	return len(t.bhash[port]) == 0 && len(t.twbhash[port]) == 0
}

// inetCskGetPort is inet_csk_get_port (Proto.GetPort, Mu held): take the
// given port, or for port 0 a free one (inet_csk_find_open_port). EADDRINUSE
// when taken.
func inetCskGetPort(s socket.Sk, port uint16) error {
	tp := tcpSk(s)
	t := &tp.in.tcp
	addr := tp.bindAddr()
	t.mu.Lock()
	defer t.mu.Unlock()
	if port == 0 {
		p, ok := t.findOpenPortLocked(tp.Reuse, func(p uint16) bool {
			return t.portFreeLocked(p) && !t.bindConflictLocked(tp, p, addr, tp.Reuse)
		})
		if !ok {
			return socket.EADDRINUSE
		}
		port = p
	} else {
		if t.bindConflictLocked(tp, port, addr, tp.Reuse) {
			return socket.EADDRINUSE
		}
		tp.userBound = true
	}
	t.bindLocked(tp, port, addr)
	return nil
}

// portRange is ip_local_port_range as inet_sk_get_local_port_range gives
// it, made half-open ([32768, 61000)), and the number of ports a scan
// visits: even, so that stepping by two over it visits one parity.
func (t *tcpNet) portRange() (low, high, remaining int) {
	low, high = t.portLow, t.portHigh+1
	remaining = high - low
	if remaining > 1 {
		remaining &^= 1
	}
	return low, high, remaining
}

// scanParity walks the range from low+offset in steps of two, wrapping,
// and returns the first port ok accepts and how many it passed.
func scanParity(low, high, remaining, offset int, ok func(uint16) bool) (uint16, int, bool) {
	port := low + offset
	for i := 0; i < remaining; i, port = i+2, port+2 {
		if port >= high {
			port -= remaining
		}
		if ok(uint16(port)) {
			return uint16(port), i, true
		}
	}
	return 0, 0, false
}

// findOpenPortLocked is inet_csk_find_open_port, for bind(0) and listen's
// automatic bind: from a random point, ports of the parity opposite to the
// range's start (odd ports: connect prefers the even ones, and each keeps
// out of the other's way), then the other parity. With SO_REUSEADDR the
// lower half of the range is tried first, then the upper.
func (t *tcpNet) findOpenPortLocked(reuse bool, ok func(uint16) bool) (uint16, bool) {
	attemptHalf := 0
	if reuse {
		attemptHalf = 1
	}
	for {
		low, high, _ := t.portRange()
		if high-low < 4 {
			attemptHalf = 0
		}
		if attemptHalf != 0 {
			half := low + ((high-low)>>2)<<1
			if attemptHalf == 1 {
				high = half
			} else {
				low = half
			}
		}
		remaining := high - low
		if remaining > 1 {
			remaining &^= 1
		}
		offset := t.randomN(max(remaining, 1)) | 1
		for ; ; offset-- {
			if p, _, found := scanParity(low, high, remaining, offset, ok); found {
				return p, true
			}
			if offset&1 == 0 {
				break
			}
		}
		if attemptHalf != 1 {
			return 0, false
		}
		attemptHalf = 2
	}
}

// bindLocked is inet_bind_hash.
func (t *tcpNet) bindLocked(tp *tcpSock, port uint16, addr bindAddr) {
	if tp.bhashed {
		if tp.Num == port {
			tp.bind = tcpBindInfo{bindAddr: addr, reuse: tp.Reuse}
			return
		}
		t.unbindLocked(tp)
	}
	tp.bind = tcpBindInfo{bindAddr: addr, reuse: tp.Reuse}
	t.bhash[port] = append(t.bhash[port], tp)
	tp.bhashed = true
	tp.Num = port
}

func removeSock(l []*tcpSock, tp *tcpSock) []*tcpSock {
	for i, o := range l {
		if o == tp {
			l[i] = l[len(l)-1]
			l[len(l)-1] = nil
			return l[:len(l)-1]
		}
	}
	return l
}

func (t *tcpNet) unbindLocked(tp *tcpSock) {
	if !tp.bhashed {
		return
	}
	l := removeSock(t.bhash[tp.Num], tp)
	if len(l) == 0 {
		delete(t.bhash, tp.Num)
	} else {
		t.bhash[tp.Num] = l
	}
	tp.bhashed = false
}

// unbind is inet_put_port: give the port back. Mu held.
func (tp *tcpSock) unbind() {
	t := &tp.in.tcp
	t.mu.Lock()
	t.unbindLocked(tp)
	t.mu.Unlock()
	tp.Num = 0
}

// unhash is inet_unhash: leave the established and listening hashes.
func (tp *tcpSock) unhash() {
	t := &tp.in.tcp
	t.mu.Lock()
	defer t.mu.Unlock()
	if tp.ehashed {
		if t.ehash[tp.ehashKey] == tp {
			delete(t.ehash, tp.ehashKey)
		}
		tp.ehashed = false
	}
	if tp.lhashed {
		l := removeSock(t.lhash[tp.Num], tp)
		if len(l) == 0 {
			delete(t.lhash, tp.Num)
		} else {
			t.lhash[tp.Num] = l
		}
		tp.lhashed = false
	}
}

// tcpTablePerturbSize is INET_TABLE_PERTURB_SIZE.
const tcpTablePerturbSize = 1 << 16

// hashConnect is inet_hash_connect / __inet_hash_connect (Mu held): an
// unbound sock gets an ephemeral port by RFC 6056's Algorithm 4 as Linux
// runs it: a keyed hash of the addresses and the remote port picks where
// the scan starts, a perturbation table moves that start on after each
// use, even ports come first (bind(0) takes the odd ones), and a port
// other connects hold is shared when the 4-tuple is new. Then the sock
// enters the established hash. EADDRNOTAVAIL when no port is left or the
// 4-tuple of a bound sock is taken.
func (tp *tcpSock) hashConnect() error {
	t := &tp.in.tcp
	t.mu.Lock()
	defer t.mu.Unlock()
	key := tcpHashKey{laddr: tp.Saddr, raddr: tp.Daddr, rport: tp.Dport}
	if tp.Num == 0 {
		unique := func(p uint16) bool {
			key.lport = p
			return t.ehash[key] == nil && t.twhash[key] == nil
		}
		ok := func(p uint16) bool {
			return (t.portFreeLocked(p) || t.connectSharedLocked(p)) && unique(p)
		}
		low, high, remaining := t.portRange()
		portOffset := t.portOffset(key)
		if t.perturb == nil {
			t.perturb = make([]uint32, tcpTablePerturbSize)
		}
		index := portOffset & (tcpTablePerturbSize - 1)
		offset := int((uint64(t.perturb[index]) + portOffset>>32) % uint64(max(remaining, 1)))
		offset &^= 1 // first the parity of low: even
		var p uint16
		var i int
		found := false
		for {
			if p, i, found = scanParity(low, high, remaining, offset, ok); found {
				break
			}
			offset++
			if offset&1 == 0 || remaining <= 1 {
				return socket.EADDRNOTAVAIL
			}
		}
		// A little randomness in where the next scan starts, most when
		// the ports are not contended.
		i = max(i, t.randomN(8)*2)
		t.perturb[index] += uint32(i + 2)
		t.bindLocked(tp, p, tp.bindAddr())
		tp.bind.byConnect = true
	}
	key.lport = tp.Num
	if t.ehash[key] != nil || t.twhash[key] != nil {
		// __inet_check_established: a timewait entry keeps its 4-tuple
		// (tcp_tw_reuse is for loopback only by default).
		return socket.EADDRNOTAVAIL
	}
	tp.Sport = tp.Num
	tp.ehashKey = key
	t.ehash[key] = tp
	tp.ehashed = true
	return nil
}

// connectSharedLocked reports that every holder of port took it through
// connect (a bind bucket with fastreuse -1), so another connect may share
// it with a different 4-tuple; a port anyone bound or listens on is not.
func (t *tcpNet) connectSharedLocked(port uint16) bool {
	for _, o := range t.bhash[port] {
		if !o.bind.byConnect {
			return false
		}
	}
	for _, tw := range t.twbhash[port] {
		if !tw.bind.byConnect {
			return false
		}
	}
	return true
}

// portOffset is inet_sk_port_offset (secure_ipv4_port_ephemeral, or
// secure_ipv6_port_ephemeral for IPv6 addresses): a keyed hash of the
// local and remote addresses and the remote port.
func (t *tcpNet) portOffset(k tcpHashKey) uint64 {
	var b [32 + 4 + 2*16 + 2]byte
	copy(b[:], t.isnKey[:])
	copy(b[32:], "port")
	n := 36
	n += putAddr(b[n:], k.laddr)
	n += putAddr(b[n:], k.raddr)
	binary.BigEndian.PutUint16(b[n:], k.rport)
	h := sha256.Sum256(b[:n+2])
	return binary.BigEndian.Uint64(h[:])
}

// hashChild is __inet_inherit_port + inet_ehash_nolisten for a new child:
// it shares the listener's port and enters the established hash. false if
// the 4-tuple is already there.
func (tp *tcpSock) hashChild(key tcpHashKey, reuse bool) bool {
	t := &tp.in.tcp
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ehash[key] != nil || t.twhash[key] != nil {
		return false
	}
	tp.bind = tcpBindInfo{bindAddr: tp.bindAddr(), reuse: reuse}
	t.bhash[tp.Num] = append(t.bhash[tp.Num], tp)
	tp.bhashed = true
	tp.ehashKey = key
	t.ehash[key] = tp
	tp.ehashed = true
	return true
}

// listenHash is inet_hash for a listener, re-checking the port as
// inet_csk_listen_start does (a listener conflicts with SO_REUSEADDR
// binds too).
func (tp *tcpSock) listenHash() error {
	t := &tp.in.tcp
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bindConflictLocked(tp, tp.Num, tp.bindAddr(), tp.Reuse) {
		return socket.EADDRINUSE
	}
	// A listener's own reuse no longer lets others in (inet_csk_bind_conflict
	// treats listeners as exclusive).
	tp.bind.reuse = tp.Reuse
	t.lhash[tp.Num] = append(t.lhash[tp.Num], tp)
	tp.lhashed = true
	return nil
}

// allSocks returns every TCP sock that holds a port, listeners first, for
// net/tcp.
func (t *tcpNet) allSocks() []*tcpSock {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var l, e []*tcpSock
	for _, b := range t.bhash {
		for _, tp := range b {
			if tp.lhashed {
				l = append(l, tp)
			} else {
				e = append(e, tp)
			}
		}
	}
	return append(l, e...)
}
