package inet6

import (
	"net/netip"
	"sync"
	"time"

	"sockfs/inet6/header"
	"sockfs/netdev"
)

// The net.ipv6.icmp sysctls and icmp_global's (shared with IPv4 in Linux;
// this family keeps its own bucket).
const (
	sysctlIcmpv6Ratelimit = time.Second
	sysctlIcmpMsgsPerSec  = 1000
	sysctlIcmpMsgsBurst   = 50
	xrlimBurstFactor      = 6
	icmpv6PeersMax        = 4096 // bound on the per-destination buckets
)

// icmpv6Limiter is icmpv6_xrlim_allow's state: icmp_global's token bucket
// and the per-destination inet_peer buckets.
type icmpv6Limiter struct {
	mu           sync.Mutex
	globalTokens time.Duration // in units of 1/msgs_per_sec
	globalLast   time.Duration
	globalInit   bool
	peers        map[netip.Addr]*xrlimPeer
}

type xrlimPeer struct{ tokens, last time.Duration }

func (l *icmpv6Limiter) init() { l.peers = make(map[netip.Addr]*xrlimPeer) }

// icmpv6XrlimAllow is icmpv6_mask_allow + icmp_global_allow +
// icmpv6_xrlim_allow: informational messages and packet too big are never
// limited, nor messages to ourselves; the rest pass a global bucket
// (msgs_per_sec, msgs_burst) and one per destination, whose refill
// interval is ratelimit shortened by the route's prefix length as
// Linux's: 1 s >> ((128 - plen) >> 5).
func (n *Net) icmpv6XrlimAllow(typ uint8, dst netip.Addr, plen int) bool {
	if typ&header.ICMPV6_INFOMSG_MASK != 0 || typ == header.ICMPV6_PKT_TOOBIG || n.ipv6GetIfaddr(dst) != nil {
		return true
	}
	l := &n.icmpRL
	now := n.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// icmp_global_allow: a token per 1/msgs_per_sec, up to msgs_burst.
	per := time.Second / sysctlIcmpMsgsPerSec
	if !l.globalInit {
		l.globalInit, l.globalTokens, l.globalLast = true, sysctlIcmpMsgsBurst*per, now
	}
	l.globalTokens = min(l.globalTokens+now-l.globalLast, sysctlIcmpMsgsBurst*per)
	l.globalLast = now
	if l.globalTokens < per {
		return false
	}
	tmo := sysctlIcmpv6Ratelimit
	if plen < 128 {
		tmo >>= (128 - plen) >> 5
	}
	p := l.peers[dst]
	if p == nil {
		if len(l.peers) >= icmpv6PeersMax {
			for k := range l.peers { // inet_peer's gc, crudely: make room
				delete(l.peers, k)
				break
			}
		}
		// inet_getpeer starts a peer 60 s in the past: a full bucket.
		p = &xrlimPeer{last: now - 60*time.Second}
		l.peers[dst] = p
	}
	// inet_peer_xrlim_allow.
	p.tokens = min(p.tokens+now-p.last, xrlimBurstFactor*tmo)
	p.last = now
	if p.tokens < tmo {
		return false
	}
	p.tokens -= tmo
	l.globalTokens -= per
	return true
}

// icmpv6Rcv is icmpv6_rcv: the message at off checked (its checksum
// unless the device vouched for it, as a --offload TAP does for a frame
// the kernel handed with a partial checksum: skb_csum_unnecessary),
// counted, and dispatched: echo requests answered, neighbour discovery to
// ndisc, the rest (MLD, router messages, errors about packets we sent)
// counted and dropped, as a static host with no IPv6 sockets does.
func (n *Net) icmpv6Rcv(skb *netdev.SkBuff, off int) {
	defer skb.Free()
	pkt := skb.Data()
	hdr := header.Ipv6hdr(pkt)
	n.mib.icmpInc(icmp6InMsgs)
	msg, ok := header.ParseIcmp6hdr(pkt[off:])
	if !ok {
		n.mib.icmpInc(icmp6InErrors)
		return
	}
	if !skb.CsumUnnecessary() && !msg.IsChecksumValid(hdr.Saddr(), hdr.Daddr()) {
		n.mib.icmpInc(icmp6InCsumErrors)
		n.mib.icmpInc(icmp6InErrors)
		return
	}
	n.mib.msgIn(msg.Type())
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "ipv6_rcv -> icmpv6_rcv type=%d code=%d %v > %v", msg.Type(), msg.Code(), hdr.Src(), hdr.Dst())
	}
	switch msg.Type() {
	case header.ICMPV6_ECHO_REQUEST:
		n.icmpv6EchoReply(skb, hdr, msg)
	case header.NDISC_ROUTER_SOLICITATION, header.NDISC_ROUTER_ADVERTISEMENT,
		header.NDISC_NEIGHBOUR_SOLICITATION, header.NDISC_NEIGHBOUR_ADVERTISEMENT, header.NDISC_REDIRECT:
		n.ndiscRcv(skb, hdr, msg)
	case header.ICMPV6_ECHO_REPLY:
		if n.in != nil {
			n.pingRcv(skb, off, hdr, msg)
		}
	case header.ICMPV6_DEST_UNREACH, header.ICMPV6_PKT_TOOBIG, header.ICMPV6_PARAMPROB, header.ICMPV6_TIME_EXCEED:
		n.icmpv6Notify(msg, msg.Type(), msg.Code(), msg.Data32())
	}
}

// icmpv6Notify is icmpv6_notify: the error quotes a packet we sent; hand
// it to the raw sockets of its protocol (raw6_icmp_error) and to its upper
// layer (udpv6_err, tcp_v6_err, icmpv6_err). info is the message's fourth
// word, a packet too big's MTU. Only a quote whose upper-layer header
// comes right away is followed: this stack sends no extension headers but
// the fragment header, and a fragment's error quotes the first fragment,
// whose upper-layer header follows the fragment header.
func (n *Net) icmpv6Notify(msg header.Icmp6hdr, typ, code uint8, info uint32) {
	if len(msg) < header.ICMP6Len+header.IPv6Len || n.in == nil {
		return
	}
	inner := header.Ipv6hdr(msg[header.ICMP6Len:])
	rest := msg[header.ICMP6Len+header.IPv6Len:]
	nh := inner.Nexthdr()
	if nh == header.NEXTHDR_FRAGMENT {
		fh, ok := header.ParseFrag6hdr(rest)
		if !ok || fh.Offset() != 0 {
			return
		}
		nh, rest = fh.Nexthdr(), rest[header.Frag6Len:]
	}
	n.rawv6Err(inner.Src(), inner.Dst(), nh, typ, code, info)
	switch nh {
	case header.NEXTHDR_UDP:
		n.udpv6Err(inner.Src(), inner.Dst(), rest, typ, code, info)
	case header.NEXTHDR_TCP:
		n.tcpV6Err(inner.Src(), inner.Dst(), rest, typ, code, info)
	case header.NEXTHDR_ICMP:
		// icmpv6_err: a packet too big about an ICMPv6 message lowers
		// the path MTU whichever socket (if any) sent it.
		if typ == header.ICMPV6_PKT_TOOBIG {
			n.ip6UpdatePmtu(inner.Dst(), int(min(info, 1<<20)))
		}
		n.pingErr(inner.Src(), inner.Dst(), rest, typ, code)
	}
}

// icmpv6EchoReply is icmpv6_echo_reply: the same identifier, sequence and
// data back, from the address asked (or, for a group, the source address
// selected for the asker).
func (n *Net) icmpv6EchoReply(skb *netdev.SkBuff, hdr header.Ipv6hdr, req header.Icmp6hdr) {
	saddr, daddr := hdr.Dst(), hdr.Src()
	if daddr.IsUnspecified() {
		return
	}
	if saddr.IsMulticast() {
		var ok bool
		if saddr, ok = n.ipv6DevGetSaddr(skb.Dev, daddr); !ok {
			return
		}
	}
	reply := netdev.AllocSkb(len(req))
	b := header.Icmp6hdr(reply.Put(len(req)))
	copy(b, req)
	b.SetType(header.ICMPV6_ECHO_REPLY)
	b.SetChecksum(addr16(saddr), addr16(daddr))
	n.icmpv6Xmit(reply, saddr, daddr, header.ICMPV6_ECHO_REPLY, sysctlHopLimit)
	reply.Free()
}

// icmpv6Xmit sends one built message and counts it (ICMP6MSGOUT_INC_STATS).
func (n *Net) icmpv6Xmit(skb *netdev.SkBuff, saddr, daddr netip.Addr, typ uint8, hlim uint8) {
	n.mib.icmpInc(icmp6OutMsgs)
	n.mib.msgOut(typ)
	if err := n.ip6Output(skb, saddr, daddr, header.NEXTHDR_ICMP, hlim); err != nil {
		n.mib.icmpInc(icmp6OutErrors)
	}
}

// icmpv6ParamProb is icmpv6_param_prob: parameter problem, code, pointing
// at byte pos of the packet.
func (n *Net) icmpv6ParamProb(skb *netdev.SkBuff, code uint8, pos int) {
	n.icmp6Send(skb, header.ICMPV6_PARAMPROB, code, uint32(pos))
}

// icmp6Send is icmp6_send: an error about the packet skb holds (from its
// IPv6 header), with RFC 4443 §2.4's limits: never about an ICMPv6 error,
// nor (except packet too big and an unrecognized option, e.3) about a
// packet to a group, nor to a source that is unspecified or a group; rate
// limited (icmpv6_xrlim_allow); quoting as much of the packet as fits the
// minimum MTU.
func (n *Net) icmp6Send(skb *netdev.SkBuff, typ, code uint8, info uint32) {
	pkt := skb.Data()
	if len(pkt) < header.IPv6Len {
		return
	}
	hdr := header.Ipv6hdr(pkt)
	src, dst := hdr.Src(), hdr.Dst()
	if dst.IsMulticast() && typ != header.ICMPV6_PKT_TOOBIG &&
		!(typ == header.ICMPV6_PARAMPROB && code == header.ICMPV6_UNK_OPTION) {
		return
	}
	if src.IsUnspecified() || src.IsMulticast() {
		return
	}
	// is_ineligible: the offending packet is itself an ICMPv6 error.
	if x, e := header.Ipv6SkipExthdr(hdr.Nexthdr(), pkt[header.IPv6Len:]); e == header.ExthdrOk && x.Nexthdr == header.NEXTHDR_ICMP {
		rest := pkt[header.IPv6Len+x.Off:]
		if len(rest) < 1 || rest[0]&header.ICMPV6_INFOMSG_MASK == 0 {
			return
		}
	}
	saddr := dst
	switch {
	case n.ipv6GetIfaddr(src) != nil:
		// About a packet of our own (ndisc_error_report): from and to the
		// address it came from, through lo.
		saddr = src
	case dst.IsMulticast() || n.ipv6GetIfaddr(dst) == nil:
		dev, _, ok := n.ip6RouteOutput(src)
		if !ok {
			return
		}
		if saddr, ok = n.ipv6DevGetSaddr(dev, src); !ok {
			return
		}
	}
	if !n.icmpv6XrlimAllow(typ, src, n.routePlen(src)) {
		n.mib.icmpInc(icmp6OutRateLimitHost)
		return
	}
	quote := min(len(pkt), header.IPV6_MIN_MTU-header.IPv6Len-header.ICMP6Len)
	m := netdev.AllocSkb(header.ICMP6Len + quote)
	b := m.Put(header.ICMP6Len + quote)
	h := header.Icmp6hdr(b)
	h.Encode(header.ICMP6Fields{Type: typ, Code: code, Data32: info})
	copy(b[header.ICMP6Len:], pkt[:quote])
	h.SetChecksum(addr16(saddr), addr16(src))
	if n.traceOn() {
		n.sn.Trace.Emitf(0, "icmp6_send type=%d code=%d info=%d -> %v", typ, code, info, src)
	}
	n.icmpv6Xmit(m, saddr, src, typ, sysctlHopLimit)
	m.Free()
}

// routePlen is the prefix length of the route to dst (128 for ours).
func (n *Net) routePlen(dst netip.Addr) int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, rt := range n.routes {
		if rt.dst.Contains(dst) {
			return rt.dst.Bits()
		}
	}
	return 128
}
