package inet

import (
	"net/netip"
	"sync"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/socket"
)

// icmpErrConvert is icmp_err_convert: the errno each destination-unreachable
// code means to a socket, and whether it is fatal (a hard error).
var icmpErrConvert = [header.NR_ICMP_UNREACH + 1]struct {
	errno socket.Errno
	fatal bool
}{
	header.ICMP_NET_UNREACH:  {socket.ENETUNREACH, false},
	header.ICMP_HOST_UNREACH: {socket.EHOSTUNREACH, false},
	header.ICMP_PROT_UNREACH: {socket.ENOPROTOOPT, true},
	header.ICMP_PORT_UNREACH: {socket.ECONNREFUSED, true},
	header.ICMP_FRAG_NEEDED:  {socket.EMSGSIZE, false},
	header.ICMP_SR_FAILED:    {socket.EOPNOTSUPP, false},
	header.ICMP_NET_UNKNOWN:  {socket.ENETUNREACH, true},
	header.ICMP_HOST_UNKNOWN: {socket.EHOSTUNREACH, true},
	8:                        {socket.ENETUNREACH, true},  // ICMP_HOST_ISOLATED
	9:                        {socket.ENETUNREACH, true},  // ICMP_NET_ANO
	10:                       {socket.EHOSTUNREACH, true}, // ICMP_HOST_ANO
	11:                       {socket.ENETUNREACH, false}, // ICMP_NET_UNR_TOS
	12:                       {socket.EHOSTUNREACH, false},
	13:                       {socket.EHOSTUNREACH, true}, // ICMP_PKT_FILTERED
	14:                       {socket.EHOSTUNREACH, true},
	15:                       {socket.EHOSTUNREACH, true},
}

// icmpErrno returns the errno and fatality of an ICMP error, as each
// protocol's err handler computes it.
func icmpErrno(typ, code uint8) (socket.Errno, bool) {
	switch typ {
	case header.ICMP_DEST_UNREACH:
		if int(code) < len(icmpErrConvert) {
			e := icmpErrConvert[code]
			return e.errno, e.fatal
		}
		return socket.EHOSTUNREACH, false
	case header.ICMP_TIME_EXCEEDED:
		return socket.EHOSTUNREACH, false
	case header.ICMP_PARAMETERPROB:
		return socket.EPROTO, true
	}
	return 0, false
}

// icmpRcv is icmp_rcv: check the message, answer echo requests, and pass
// errors to the protocol of the packet they are about.
func (in *Net) icmpRcv(skb *netdev.SkBuff) {
	defer skb.Free()
	in.mib.Icmp.InMsgs.Add(1)
	icmph, ok := header.ParseIcmphdr(skb.Data())
	if !ok {
		in.mib.Icmp.InErrors.Add(1)
		return
	}
	if !icmph.IsChecksumValid() {
		in.mib.Icmp.InCsumErrors.Add(1)
		in.mib.Icmp.InErrors.Add(1)
		return
	}
	typ := icmph.Type()
	in.mib.Icmp.InType[typ].Add(1)
	switch typ {
	case header.ICMP_ECHO:
		in.icmpEcho(skb, icmph)
	case header.ICMP_ECHOREPLY:
		in.pingRcv(skb)
	case header.ICMP_DEST_UNREACH, header.ICMP_TIME_EXCEEDED, header.ICMP_PARAMETERPROB, header.ICMP_SOURCE_QUENCH:
		inner, perr := parseInnerIphdr(icmph.Payload())
		if !perr {
			in.mib.Icmp.InErrors.Add(1)
			return
		}
		var info uint32
		if typ == header.ICMP_DEST_UNREACH && icmph.Code() == header.ICMP_FRAG_NEEDED {
			info = uint32(icmph.Mtu())
		}
		in.icmpErrDeliver(inner, typ, icmph.Code(), info)
	}
}

// parseInnerIphdr reads the header quoted in an ICMP error: a whole IPv4
// header followed by at least 8 bytes of its payload (RFC 792). Its
// tot_len describes the original packet, so only the header is checked.
func parseInnerIphdr(b []byte) (header.Iphdr, bool) {
	if len(b) < header.IPv4MinLen || b[0]>>4 != 4 {
		return nil, false
	}
	ihl := int(b[0]&0xf) * 4
	if ihl < header.IPv4MinLen || len(b) < ihl+8 {
		return nil, false
	}
	return header.Iphdr(b), true
}

// icmpErrDeliver is icmp_unreach's tail (icmp_socket_deliver): hand an
// error about the packet whose header is inner to that packet's protocol.
// The handler gets an skb whose data is inner, starting at the IP header.
func (in *Net) icmpErrDeliver(inner header.Iphdr, typ, code uint8, info uint32) {
	in.rawErr(inner, typ, code, info)
	p := in.inetProtocol(inner.Protocol())
	if p == nil || p.ErrHandler == nil {
		return
	}
	skb := netdev.AllocSkb(len(inner))
	copy(skb.Put(len(inner)), inner)
	skb.NetworkHeader = skb.Offset()
	p.ErrHandler(skb, typ, code, info)
	skb.Free()
}

// icmpEcho is icmp_echo: answer with the same identifier, sequence and
// data (RFC 792; RFC 1122 §3.2.2.6).
func (in *Net) icmpEcho(skb *netdev.SkBuff, req header.Icmphdr) {
	iph := ipHdr(skb)
	if in.inetAddrIsBroadcast(iph.Dst()) {
		return // icmp_echo_ignore_broadcasts
	}
	n := len(req)
	reply := netdev.AllocSkb(n)
	b := reply.Put(n)
	copy(b, req)
	r := header.Icmphdr(b)
	r.SetType(header.ICMP_ECHOREPLY)
	r.SetChecksum()
	in.icmpXmit(reply, iph.Dst(), iph.Src(), header.ICMP_ECHOREPLY, iph.Tos())
	reply.Free()
}

// icmpXmit sends an ICMP message built in skb from saddr to daddr.
func (in *Net) icmpXmit(skb *netdev.SkBuff, saddr, daddr netip.Addr, typ, tos uint8) {
	// icmp_out_count: counted as sent before it leaves, as the kernel does.
	in.mib.Icmp.OutMsgs.Add(1)
	in.mib.Icmp.OutType[typ].Add(1)
	if err := in.ipBuildAndSendPkt(skb, saddr, daddr, IPPROTO_ICMP, sysctlIPDefaultTTL, tos); err != nil {
		in.mib.Icmp.OutErrors.Add(1)
	}
}

// icmpRateLimit is the global token bucket of icmp_global_allow
// (icmp_msgs_per_sec with icmp_msgs_burst).
type icmpRateLimit struct {
	mu     sync.Mutex
	tokens int
	last   time.Duration
	primed bool // the bucket starts full, at the first message
}

func (in *Net) icmpGlobalAllow() bool {
	rl := &in.icmpRL
	rl.mu.Lock()
	defer rl.mu.Unlock()
	now := in.clock.Now()
	if !rl.primed {
		rl.primed = true
		rl.tokens = sysctlICMPMsgsBurst
		rl.last = now
	}
	if el := now - rl.last; el > 0 {
		add := int(el * sysctlICMPMsgsPerSec / time.Second)
		if add > 0 {
			rl.tokens = min(rl.tokens+add, sysctlICMPMsgsBurst)
			rl.last = now
		}
	}
	if rl.tokens == 0 {
		return false
	}
	rl.tokens--
	return true
}

// icmpSend is __icmp_send: report an error about a received packet to its
// sender. skb's NetworkHeader marks the offending packet. As RFC 1122
// §3.2.2 requires, no error answers an ICMP error, a non-first fragment, or
// a broadcast/multicast; errors are rate limited.
func (in *Net) icmpSend(skb *netdev.SkBuff, typ, code uint8, info uint32) {
	iph := ipHdr(skb)
	if in.inetAddrIsBroadcast(iph.Dst()) || iph.Dst().IsMulticast() || iph.Src().IsUnspecified() {
		return
	}
	if iph.FragOffset() != 0 {
		return
	}
	if iph.Protocol() == IPPROTO_ICMP {
		if len(iph) < iph.Ihl()+1 {
			return
		}
		switch iph[iph.Ihl()] { // inner type: only informational ones may get errors
		case header.ICMP_ECHO, header.ICMP_ECHOREPLY, header.ICMP_TIMESTAMP, header.ICMP_TIMESTAMPREPLY:
		default:
			return
		}
	}
	if !in.icmpGlobalAllow() {
		in.mib.Icmp.OutRateLimitGlobal.Add(1)
		return
	}
	// Quote as much of the packet as fits in 576 bytes (RFC 1812 §4.3.2.3).
	quote := min(len(iph), 576-header.IPv4MinLen-header.ICMPLen)
	out := netdev.AllocSkb(header.ICMPLen + quote)
	b := out.Put(header.ICMPLen + quote)
	h := header.Icmphdr(b)
	f := header.ICMPFields{Type: typ, Code: code}
	if typ == header.ICMP_DEST_UNREACH && code == header.ICMP_FRAG_NEEDED {
		f.Sequence = uint16(info)
	}
	if typ == header.ICMP_PARAMETERPROB {
		f.ID = uint16(info >> 16) // the pointer is the first byte of the rest of the header
	}
	h.Encode(f)
	copy(b[header.ICMPLen:], iph[:quote])
	h.SetChecksum()
	src := iph.Dst()
	if !in.inetAddrIsLocal(src) {
		src = netip.Addr{}
	}
	in.icmpXmit(out, src, iph.Src(), typ, iph.Tos())
	out.Free()
}

func ipv4(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }
