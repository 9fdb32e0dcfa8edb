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
	"net/netip"

	"sockfs/socket"
)

// tcpHashKey is the established hash's key: the 4-tuple from our side.
type tcpHashKey struct {
	laddr, raddr [4]byte
	lport, rport uint16
}

// tcpBindInfo is what the bind hash knows of a sock.
type tcpBindInfo struct {
	addr  netip.Addr // the bound local address; unspecified = any
	reuse bool       // sk_reuse when it took the port
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

func (t *tcpNet) lookupListenerLocked(k tcpHashKey) *tcpSock {
	var wild *tcpSock
	for _, l := range t.lhash[k.lport] {
		if l.bind.addr.IsUnspecified() || !l.bind.addr.IsValid() {
			wild = l
		} else if l.bind.addr.As4() == k.laddr {
			return l
		}
	}
	return wild
}

func addrsOverlap(a, b netip.Addr) bool {
	return !a.IsValid() || !b.IsValid() || a.IsUnspecified() || b.IsUnspecified() || a == b
}

// bindConflictLocked is inet_csk_bind_conflict: another sock on the port
// with an overlapping address conflicts, unless both set SO_REUSEADDR and
// the other does not listen (Linux's rule; TIME_WAIT socks count).
func (t *tcpNet) bindConflictLocked(tp *tcpSock, port uint16, addr netip.Addr, reuse bool) bool {
	for _, o := range t.bhash[port] {
		if o == tp || !addrsOverlap(o.bind.addr, addr) {
			continue
		}
		if reuse && o.bind.reuse && !o.lhashed {
			continue
		}
		return true
	}
	// The port's timewait entries are owners too (tw_bind_node).
	for _, tw := range t.twbhash[port] {
		if addrsOverlap(tw.bind.addr, addr) && !(reuse && tw.bind.reuse) {
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
// given port, or pick a free one at random from the ephemeral range
// (RFC 6056 §3.3.1) for port 0. EADDRINUSE when taken.
func inetCskGetPort(s socket.Sk, port uint16) error {
	tp := tcpSk(s)
	t := &tp.in.tcp
	addr := tp.RcvSaddr
	t.mu.Lock()
	defer t.mu.Unlock()
	if port == 0 {
		p, ok := t.findFreePortLocked(func(p uint16) bool { return !t.bindConflictLocked(tp, p, addr, tp.Reuse) })
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

// findFreePortLocked is RFC 6056 Algorithm 1: start at a random point of
// the range and walk it.
func (t *tcpNet) findFreePortLocked(ok func(uint16) bool) (uint16, bool) {
	n := t.portHigh - t.portLow + 1
	off := t.randomN(n)
	for i := 0; i < n; i++ {
		p := uint16(t.portLow + (off+i)%n)
		if t.portFreeLocked(p) && ok(p) {
			return p, true
		}
	}
	return 0, false
}

// bindLocked is inet_bind_hash.
func (t *tcpNet) bindLocked(tp *tcpSock, port uint16, addr netip.Addr) {
	if tp.bhashed {
		if tp.Num == port {
			tp.bind = tcpBindInfo{addr: addr, reuse: tp.Reuse}
			return
		}
		t.unbindLocked(tp)
	}
	tp.bind = tcpBindInfo{addr: addr, reuse: tp.Reuse}
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

// hashConnect is inet_hash_connect (Mu held): an unbound sock gets a random
// ephemeral port whose 4-tuple is free; then the sock enters the
// established hash. EADDRNOTAVAIL when no port is left or the 4-tuple of a
// bound sock is taken.
func (tp *tcpSock) hashConnect() error {
	t := &tp.in.tcp
	t.mu.Lock()
	defer t.mu.Unlock()
	key := tcpHashKey{laddr: tp.Saddr.As4(), raddr: tp.Daddr.As4(), rport: tp.Dport}
	if tp.Num == 0 {
		p, ok := t.findFreePortLocked(func(p uint16) bool {
			key.lport = p
			return t.ehash[key] == nil && t.twhash[key] == nil
		})
		if !ok {
			return socket.EADDRNOTAVAIL
		}
		t.bindLocked(tp, p, tp.RcvSaddr)
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
	tp.bind = tcpBindInfo{addr: tp.RcvSaddr, reuse: reuse}
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
	if t.bindConflictLocked(tp, tp.Num, tp.RcvSaddr, tp.Reuse) {
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
