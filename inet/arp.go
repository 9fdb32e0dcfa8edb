package inet

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// Neighbour states (include/uapi/linux/neighbour.h NUD_*), the subset a
// host cycles through.
const (
	NUD_INCOMPLETE = 0x01
	NUD_REACHABLE  = 0x02
	NUD_STALE      = 0x04
	NUD_PROBE      = 0x10
	NUD_FAILED     = 0x20
)

// neighbour is struct neighbour for ARP: what we know of one next hop's
// hardware address, and the packets waiting for it.
type neighbour struct {
	key       netip.Addr
	dev       *netdev.NetDevice
	nudState  int
	ha        [6]byte
	confirmed time.Duration // when last heard from (clock time)
	probes    int
	arpQueue  netdev.SkbQueue // copies of packets waiting for resolution
	timer     ktime.Timer
	updated   time.Duration // last state change (neighbour.go's gc)
	used      atomic.Int64  // clock time of the last packet sent through it, read without mu
}

// neighTable is arp_tbl.
type neighTable struct {
	in *Net
	mu sync.RWMutex
	m  map[netip.Addr]*neighbour // protected by mu
	gc neighGcState              // protected by mu
}

func (t *neighTable) init(in *Net) {
	t.in = in
	t.m = make(map[netip.Addr]*neighbour)
}

// neighOutput is neigh_output / neigh_resolve_output: find nexthop's
// hardware address (neighEventSend), then push the link header
// (dev_hard_header) and transmit (dev_queue_xmit), in this one place. When
// the address is still being resolved, a copy of skb waits in the
// neighbour's queue instead. The caller keeps skb; its data is restored
// before return.
func (in *Net) neighOutput(dev *netdev.NetDevice, nexthop netip.Addr, skb *netdev.SkBuff) error {
	ha, ok := in.neighEventSend(dev, nexthop, skb)
	if !ok {
		return nil
	}
	off := skb.Offset()
	defer skb.SetHeadroom(off)
	netdev.EthHeaderPush(skb, ha, dev.HWAddr, netdev.ETH_P_IP)
	return in.devQueueXmit(dev, skb)
}

// neighEventSend is neigh_event_send with arp_constructor's fixed
// addresses: the hardware address to send to nexthop on dev, or false when
// there is none yet (__neigh_event_send queued a copy of skb and started
// resolving). Loopback and NOARP devices send to their own address,
// broadcasts to the link broadcast, multicast groups to their mapped
// address (NUD_NOARP entries in Linux); the rest come from the ARP cache,
// re-confirming an entry that is no longer fresh while it is used.
func (in *Net) neighEventSend(dev *netdev.NetDevice, nexthop netip.Addr, skb *netdev.SkBuff) ([6]byte, bool) {
	if dev.Flags&(netdev.IFF_NOARP|netdev.IFF_LOOPBACK) != 0 {
		return dev.HWAddr, true
	}
	if nexthop == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || in.inetAddrIsBroadcast(nexthop) {
		return dev.Broadcast, true
	}
	if nexthop.IsMulticast() {
		return ipEthMcMap(nexthop), true
	}

	t := &in.arp
	now := in.clock.Now()
	t.mu.RLock()
	n := t.m[nexthop]
	if n != nil && n.nudState&(NUD_REACHABLE|NUD_STALE|NUD_PROBE) != 0 {
		ha := n.ha
		fresh := n.nudState == NUD_REACHABLE && now-n.confirmed < sysctlNeighBaseReachableTimeSec*time.Second
		n.used.Store(int64(now))
		t.mu.RUnlock()
		if !fresh {
			in.neighProbe(nexthop, dev) // keep sending while we re-check it
		}
		return ha, true
	}
	t.mu.RUnlock()

	// __neigh_event_send: queue a copy and start (or continue) resolving.
	t.mu.Lock()
	n = t.m[nexthop]
	if n == nil {
		if n = in.neighAlloc(nexthop, dev); n == nil {
			// The table is full of entries being resolved: the packet
			// is dropped, as ip_finish_output2 drops it when
			// __neigh_create fails.
			t.mu.Unlock()
			dev.Stats.TxDropped.Add(1)
			return [6]byte{}, false
		}
	}
	n.used.Store(int64(now))
	switch n.nudState {
	case NUD_REACHABLE, NUD_STALE, NUD_PROBE: // resolved meanwhile
		ha := n.ha
		t.mu.Unlock()
		return ha, true
	case 0, NUD_FAILED:
		n.nudState = NUD_INCOMPLETE
		n.updated = now
		n.probes = 0
		in.neighArmTimer(n)
		defer in.arpSend(header.ARPOP_REQUEST, dev, nexthop, netdev.EthBroadcast, [6]byte{})
	}
	if n.arpQueue.Len() >= sysctlNeighUnresQlen {
		old := n.arpQueue.Dequeue() // neigh drops the oldest, as unres_qlen
		old.Free()
		dev.Stats.TxDropped.Add(1)
	}
	n.arpQueue.QueueTail(skb.Copy())
	t.mu.Unlock()
	return [6]byte{}, false
}

// neighProbe re-confirms a stale entry with a unicast request, as NUD_PROBE.
func (in *Net) neighProbe(nexthop netip.Addr, dev *netdev.NetDevice) {
	t := &in.arp
	t.mu.Lock()
	n := t.m[nexthop]
	if n == nil || n.nudState == NUD_PROBE || n.nudState == NUD_INCOMPLETE {
		t.mu.Unlock()
		return
	}
	n.nudState = NUD_PROBE
	n.probes = 0
	ha := n.ha
	in.neighArmTimer(n)
	t.mu.Unlock()
	in.arpSend(header.ARPOP_REQUEST, dev, nexthop, ha, ha)
}

// neighArmTimer arms the entry's retransmit timer. t.mu held.
func (in *Net) neighArmTimer(n *neighbour) {
	d := sysctlNeighRetransTimeMs * time.Millisecond
	if n.timer == nil {
		key := n.key
		n.timer = in.clock.AfterFunc(d, func() { in.neighTimerHandler(key) })
	} else {
		n.timer.Reset(d)
	}
}

// neighTimerHandler is neigh_timer_handler: resend the request, or give up
// after mcast_solicit tries; the packets that waited fail as the kernel's
// do, with a host-unreachable error to their senders (ip_link_failure).
func (in *Net) neighTimerHandler(key netip.Addr) {
	t := &in.arp
	t.mu.Lock()
	n := t.m[key]
	if n == nil || n.nudState&(NUD_INCOMPLETE|NUD_PROBE) == 0 {
		t.mu.Unlock()
		return
	}
	n.probes++
	if n.probes < sysctlNeighMcastSolicit {
		dst, tha := netdev.EthBroadcast, [6]byte{}
		if n.nudState == NUD_PROBE {
			dst, tha = n.ha, n.ha
		}
		dev := n.dev
		in.neighArmTimer(n)
		t.mu.Unlock()
		in.arpSend(header.ARPOP_REQUEST, dev, key, dst, tha)
		return
	}
	n.nudState = NUD_FAILED
	n.updated = in.clock.Now()
	var failed netdev.SkbQueue
	for skb := n.arpQueue.Dequeue(); skb != nil; skb = n.arpQueue.Dequeue() {
		failed.QueueTail(skb)
	}
	t.mu.Unlock()
	for skb := failed.Dequeue(); skb != nil; skb = failed.Dequeue() {
		in.ipLinkFailure(skb)
		skb.Free()
	}
}

// neighUpdate is neigh_update: learn ha for addr and send what waited.
// create says whether to add an entry we had not asked about (a request
// for us tells us its sender's address, as arp_process uses it).
func (in *Net) neighUpdate(dev *netdev.NetDevice, addr netip.Addr, ha [6]byte, create bool) {
	t := &in.arp
	t.mu.Lock()
	n := t.m[addr]
	if n == nil {
		if !create {
			t.mu.Unlock()
			return
		}
		if n = in.neighAlloc(addr, dev); n == nil {
			t.mu.Unlock()
			return
		}
	}
	n.ha = ha
	n.dev = dev
	n.nudState = NUD_REACHABLE
	n.confirmed = in.clock.Now()
	n.updated = n.confirmed
	n.probes = 0
	if n.timer != nil {
		n.timer.Stop()
	}
	var ready netdev.SkbQueue
	for skb := n.arpQueue.Dequeue(); skb != nil; skb = n.arpQueue.Dequeue() {
		ready.QueueTail(skb)
	}
	t.mu.Unlock()
	// The waiting packets leave as any other, through neighOutput (Linux's
	// neigh_update calls n->output, neigh_resolve_output).
	for skb := ready.Dequeue(); skb != nil; skb = ready.Dequeue() {
		in.neighOutput(dev, addr, skb)
		skb.Free()
	}
}

// arpSend is arp_send: build and transmit one ARP packet from dev's
// address.
func (in *Net) arpSend(op uint16, dev *netdev.NetDevice, tip netip.Addr, dst, tha [6]byte) {
	sip := in.devAddr(dev)
	if !sip.IsValid() {
		return
	}
	skb := netdev.AllocSkb(header.ARPLen)
	header.Arphdr(skb.Put(header.ARPLen)).Encode(header.ARPFields{
		Op: op, Sha: dev.HWAddr, Sip: sip.As4(), Tha: tha, Tip: tip.As4(),
	})
	netdev.EthHeaderPush(skb, dst, dev.HWAddr, netdev.ETH_P_ARP)
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "arp_send op=%d who-has %v tell %v -> dev_queue_xmit %s", op, tip, sip, dev.Name)
	}
	in.devQueueXmit(dev, skb)
	skb.Free()
}

// arpRcv is arp_rcv / arp_process: answer requests for our addresses and
// learn from both requests and replies (RFC 826's merge rule).
func (in *Net) arpRcv(skb *netdev.SkBuff) {
	defer skb.Free()
	arp, ok := header.ParseArphdr(skb.Data())
	if !ok {
		return
	}
	dev := skb.Dev
	sip := netip.AddrFrom4(arp.Sip())
	tip := netip.AddrFrom4(arp.Tip())
	sha := arp.Sha()
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "netif_receive_skb %s -> arp_rcv op=%d %v is-at %x for %v", dev.Name, arp.Op(), sip, sha, tip)
	}
	if sha[0]&1 != 0 || sip.IsUnspecified() && arp.Op() != header.ARPOP_REQUEST {
		return // a multicast sender address is bogus
	}
	if !sip.IsUnspecified() && in.inetLookupIfaddr(sip) {
		// Someone claims one of our addresses. Linux never lets it into
		// the table (arp_process's ip_route_input_noref fails on the
		// martian source, and no entry for our own address exists to
		// update); we also say so, rate-limited.
		if in.netRatelimit() {
			in.logf("arp: %s on %s claims our address %v", llHeader(sha[:]), dev.Name, sip)
		}
		return
	}
	ours := in.devOwnsAddr(dev, tip)
	switch arp.Op() {
	case header.ARPOP_REQUEST:
		if !ours {
			// Not for us; still refresh an entry we have (merge flag).
			in.neighUpdate(dev, sip, sha, false)
			return
		}
		if !sip.IsUnspecified() { // not a duplicate-address probe
			in.neighUpdate(dev, sip, sha, true)
		}
		reply := netdev.AllocSkb(header.ARPLen)
		header.Arphdr(reply.Put(header.ARPLen)).Encode(header.ARPFields{
			Op: header.ARPOP_REPLY, Sha: dev.HWAddr, Sip: tip.As4(), Tha: sha, Tip: sip.As4(),
		})
		netdev.EthHeaderPush(reply, sha, dev.HWAddr, netdev.ETH_P_ARP)
		in.devQueueXmit(dev, reply)
		reply.Free()
	case header.ARPOP_REPLY:
		in.neighUpdate(dev, sip, sha, ours)
	}
}

// NeighEntry is one row of net/arp.
type neighEntry struct {
	addr  netip.Addr
	ha    [6]byte
	dev   string
	state int
}

func (t *neighTable) entries() []neighEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]neighEntry, 0, len(t.m))
	for _, n := range t.m {
		out = append(out, neighEntry{addr: n.key, ha: n.ha, dev: n.dev.Name, state: n.nudState})
	}
	return out
}

// devQueueXmit is the IP side's call of dev_queue_xmit, with the trace line
// closing each output chain.
func (in *Net) devQueueXmit(dev *netdev.NetDevice, skb *netdev.SkBuff) error {
	if in.traceOn() {
		in.sn.Trace.Emitf(0, "dev_queue_xmit %s len=%d", dev.Name, skb.Len())
	}
	return dev.DevQueueXmit(skb)
}

// ipEthMcMap is ip_eth_mc_map (arp_mc_map): a group's Ethernet address is
// 01:00:5e and the group's low 23 bits (RFC 1112 §6.4); no ARP is needed.
func ipEthMcMap(group netip.Addr) [6]byte {
	a := group.As4()
	return [6]byte{0x01, 0x00, 0x5e, a[1] & 0x7f, a[2], a[3]}
}
