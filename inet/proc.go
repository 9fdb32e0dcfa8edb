package inet

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"sort"
	"sync/atomic"

	"sockfs/socket"
)

// The net/ tables, each in the layout of the Linux file of the same name
// (net/ipv4/proc.c, udp.c's udp4_seq_show, route.c/fib_trie.c's
// fib_route_seq_show, arp.c's arp_seq_show, net/core/net-procfs.c's
// dev_seq_show), so that tools written for /proc/net read them unchanged.
// net/protocols is the exception docs/sockfsd.md makes: one row per inetsw
// entry.

// procInit is ip_proc_init, udp4_proc_init, arp_proc_init,
// dev_proc_net_init and ip_rt_proc_init in one.
func (in *Net) procInit() {
	in.sn.ProcNetCreate("udp", in.udp4SeqShow)
	in.sn.ProcNetCreate("dev", in.devSeqShow)
	in.sn.ProcNetCreate("arp", in.arpSeqShow)
	in.sn.ProcNetCreate("route", in.fibRouteSeqShow)
	in.sn.ProcNetCreate("snmp", in.snmpSeqShow)
	in.sn.ProcNetCreate("netstat", in.netstatSeqShow)
	in.sn.ProcNetCreate("sockstat", in.sockstatSeqShow)
	in.sn.ProcNetCreate("protocols", in.protocolsSeqShow)
}

// procAddr is how /proc/net prints an IPv4 address: the __be32 as a
// host-order %08X, which on little-endian machines reads byte-reversed
// (192.168.0.2 is 0200A8C0).
func procAddr(a netip.Addr) uint32 {
	if !a.IsValid() {
		return 0
	}
	b := a.As4()
	return binary.LittleEndian.Uint32(b[:])
}

// seqPad is seq_setwidth(seq, 127) + seq_pad(seq, '\n'): the line from
// start padded with spaces to 127 bytes, then a newline.
func seqPad(b *bytes.Buffer, start int) {
	for b.Len()-start < 127 {
		b.WriteByte(' ')
	}
	b.WriteByte('\n')
}

// udp4SeqShow is /proc/net/udp.
func (in *Net) udp4SeqShow(b *bytes.Buffer) {
	start := b.Len()
	b.WriteString("   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops")
	seqPad(b, start)
	in.dgram.udp.each(func(slot int, s socket.Sk) {
		us := s.(*udpSock)
		if us.Family != socket.AF_INET {
			return // udp_get_first's family filter: udp6 lists those
		}
		us.Mu.Lock()
		src, srcp := us.RcvSaddr, us.Num
		var dst netip.Addr
		var dstp uint16
		if us.State == TCP_ESTABLISHED {
			dst, dstp = us.Daddr, us.Dport
		}
		state, rq, drops, uid := us.State, us.RmemAlloc, us.drops, us.Uid
		var ino uint64
		if us.Socket != nil {
			ino = us.Socket.Ino
		}
		us.Mu.Unlock()
		start := b.Len()
		fmt.Fprintf(b, "%5d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x %d",
			slot, procAddr(src), srcp, procAddr(dst), dstp, state, 0, rq, 0, 0, 0, uid, 0, ino, 2, 0, drops)
		seqPad(b, start)
	})
}

// devSeqShow is /proc/net/dev.
func (in *Net) devSeqShow(b *bytes.Buffer) {
	b.WriteString("Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n")
	for _, d := range in.nd.Devices() {
		st := &d.Stats
		fmt.Fprintf(b, "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n",
			d.Name, st.RxBytes.Load(), st.RxPackets.Load(), st.RxErrors.Load(), st.RxDropped.Load(),
			0, 0, 0, st.RxMulticast.Load(),
			st.TxBytes.Load(), st.TxPackets.Load(), st.TxErrors.Load(), st.TxDropped.Load(),
			0, 0, 0, 0)
	}
}

// arpSeqShow is /proc/net/arp.
func (in *Net) arpSeqShow(b *bytes.Buffer) {
	b.WriteString("IP address       HW type     Flags       HW address            Mask     Device\n")
	entries := in.arp.entries()
	sort.Slice(entries, func(i, j int) bool { return entries[i].addr.Less(entries[j].addr) })
	for _, e := range entries {
		flags := 0
		if e.state&(NUD_REACHABLE|NUD_STALE|NUD_PROBE) != 0 {
			flags = 0x2 // ATF_COM
		}
		ha := fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", e.ha[0], e.ha[1], e.ha[2], e.ha[3], e.ha[4], e.ha[5])
		fmt.Fprintf(b, "%-16s 0x%-10x0x%-10x%-17s     %-8s %s\n", e.addr, 1, flags, ha, "*", e.dev)
	}
}

// Route flags (include/uapi/linux/route.h).
const (
	RTF_UP      = 0x0001
	RTF_GATEWAY = 0x0002
	RTF_HOST    = 0x0004
)

// fibRouteSeqShow is /proc/net/route: the main table, in the trie's order
// (by destination, then longer prefix first).
func (in *Net) fibRouteSeqShow(b *bytes.Buffer) {
	fmt.Fprintf(b, "%-127s\n", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT")
	routes := in.fib.mainRoutes()
	sort.SliceStable(routes, func(i, j int) bool {
		a, c := routes[i].Dst, routes[j].Dst
		if a.Addr() != c.Addr() {
			return a.Addr().Less(c.Addr())
		}
		return a.Bits() > c.Bits()
	})
	for _, rt := range routes {
		flags := RTF_UP
		if rt.Gateway.IsValid() {
			flags |= RTF_GATEWAY
		}
		if rt.Dst.Bits() == 32 {
			flags |= RTF_HOST
		}
		mask := netip.AddrFrom4([4]byte{})
		if bits := rt.Dst.Bits(); bits > 0 {
			var m [4]byte
			for i := range bits {
				m[i/8] |= 0x80 >> (i % 8)
			}
			mask = netip.AddrFrom4(m)
		}
		start := b.Len()
		fmt.Fprintf(b, "%s\t%08X\t%08X\t%04X\t%d\t%d\t%d\t%08X\t%d\t%d\t%d",
			rt.Dev.Name, procAddr(rt.Dst.Addr()), procAddr(rt.Gateway), flags, 0, 0, rt.Metric, procAddr(mask), 0, 0, 0)
		seqPad(b, start)
	}
}

// icmpmibmap is icmpmibmap (net/ipv4/proc.c): the per-type columns of the
// Icmp rows, in Linux's order.
var icmpmibmap = [...]struct {
	name string
	typ  uint8
}{
	{"DestUnreachs", 3}, {"TimeExcds", 11}, {"ParmProbs", 12}, {"SrcQuenchs", 4},
	{"Redirects", 5}, {"Echos", 8}, {"EchoReps", 0}, {"Timestamps", 13},
	{"TimestampReps", 14}, {"AddrMasks", 17}, {"AddrMaskReps", 18},
}

// snmpSeqShow is /proc/net/snmp: Ip, Icmp, IcmpMsg, Tcp, Udp and UdpLite,
// each a header line of names and a line of values.
func (in *Net) snmpSeqShow(b *bytes.Buffer) {
	m := &in.mib
	ip := &m.Ip
	b.WriteString("Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits\n")
	fmt.Fprintf(b, "Ip: %d %d", 2, sysctlIPDefaultTTL) // 2: not forwarding (RFC 1213)
	writeVals(b, &ip.InReceives, &ip.InHdrErrors, &ip.InAddrErrors, &ip.ForwDatagrams, &ip.InUnknownProtos,
		&ip.InDiscards, &ip.InDelivers, &ip.OutRequests, &ip.OutDiscards, &ip.OutNoRoutes,
		&ip.ReasmTimeout, &ip.ReasmReqds, &ip.ReasmOKs, &ip.ReasmFails, &ip.FragOKs, &ip.FragFails,
		&ip.FragCreates, &ip.OutTransmits)

	ic := &m.Icmp
	b.WriteString("\nIcmp: InMsgs InErrors InCsumErrors")
	for _, e := range icmpmibmap {
		b.WriteString(" In" + e.name)
	}
	b.WriteString(" OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost")
	for _, e := range icmpmibmap {
		b.WriteString(" Out" + e.name)
	}
	b.WriteString("\nIcmp:")
	writeVals(b, &ic.InMsgs, &ic.InErrors, &ic.InCsumErrors)
	for _, e := range icmpmibmap {
		fmt.Fprintf(b, " %d", ic.InType[e.typ].Load())
	}
	writeVals(b, &ic.OutMsgs, &ic.OutErrors, &ic.OutRateLimitGlobal, &ic.OutRateLimitHost)
	for _, e := range icmpmibmap {
		fmt.Fprintf(b, " %d", ic.OutType[e.typ].Load())
	}
	icmpmsgPut(b, ic)

	t := &m.Tcp
	b.WriteString("\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n")
	b.WriteString("Tcp: 1 200 120000 -1") // RFC 6298's algorithm, TCP_RTO_MIN/MAX in ms, no limit
	writeVals(b, &t.ActiveOpens, &t.PassiveOpens, &t.AttemptFails, &t.EstabResets, &t.CurrEstab,
		&t.InSegs, &t.OutSegs, &t.RetransSegs, &t.InErrs, &t.OutRsts, &t.InCsumErrors)

	u := &m.Udp
	const udpNames = " InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors"
	b.WriteString("\nUdp:" + udpNames + "\nUdp:")
	writeVals(b, &u.InDatagrams, &u.NoPorts, &u.InErrors, &u.OutDatagrams, &u.RcvbufErrors,
		&u.SndbufErrors, &u.InCsumErrors, &u.IgnoredMulti, &u.MemErrors)
	// No UDP-Lite here, but Linux prints its rows; readers may count on them.
	b.WriteString("\nUdpLite:" + udpNames + "\nUdpLite: 0 0 0 0 0 0 0 0 0\n")
}

func writeVals(b *bytes.Buffer, vals ...*atomic.Uint64) {
	for _, v := range vals {
		fmt.Fprintf(b, " %d", v.Load())
	}
}

// icmpmsgPut is icmpmsg_put: the IcmpMsg rows name only the message types
// seen, in and then out, sixteen to a pair of lines, and are absent while
// every count is zero.
func icmpmsgPut(b *bytes.Buffer, ic *icmpMib) {
	const perLine = 16
	var types [perLine]int
	var vals [perLine]uint64
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		b.WriteString("\nIcmpMsg:")
		for j := range n {
			dir := "In"
			if types[j]&0x100 != 0 {
				dir = "Out"
			}
			fmt.Fprintf(b, " %sType%d", dir, types[j]&0xff)
		}
		b.WriteString("\nIcmpMsg:")
		for j := range n {
			fmt.Fprintf(b, " %d", vals[j])
		}
		n = 0
	}
	for i := range 512 {
		var v uint64
		if i < 256 {
			v = ic.InType[i].Load()
		} else {
			v = ic.OutType[i-256].Load()
		}
		if v != 0 {
			types[n], vals[n] = i, v
			n++
		}
		if n == perLine {
			flush()
		}
	}
	flush()
}

// sockstatSeqShow is /proc/net/sockstat. Memory is in pages, as Linux
// counts it.
func (in *Net) sockstatSeqShow(b *bytes.Buffer) {
	inuse := func(name string) int64 {
		for _, p := range in.sn.Protos() {
			if p.Name == name {
				return p.InUse.Load()
			}
		}
		return 0
	}
	udpMem := 0
	in.dgram.udp.each(func(_ int, s socket.Sk) {
		sk := s.SK()
		sk.Mu.Lock()
		udpMem += sk.RmemAlloc
		sk.Mu.Unlock()
	})
	const pageSize = 4096
	fragQueues, fragMem := in.dgram.frags.stats()
	// TCP: inuse counts the hashed full socks, orphan the closed-but-
	// finishing ones, tw the timewait entries (inet_timewait_sock.go),
	// alloc every tcp sock, mem their queues in pages.
	var tcpInuse, tcpOrphan, tcpMem int
	in.tcp.mu.RLock()
	tcpTw := len(in.tcp.twhash)
	in.tcp.mu.RUnlock()
	for _, tp := range in.tcp.allSocks() {
		tp.Mu.Lock()
		switch {
		case tp.destroyed || tp.State == TCP_CLOSE:
		default:
			if tp.Family == socket.AF_INET { // tcp_prot's; tcpv6_prot's are sockstat6's
				tcpInuse++
			}
			if tp.Dead {
				tcpOrphan++
			}
		}
		tcpMem += tp.RmemAlloc + tp.WmemQueued
		tp.Mu.Unlock()
	}
	fmt.Fprintf(b, "sockets: used %d\n", in.sn.SocketsInUse.Load())
	fmt.Fprintf(b, "TCP: inuse %d orphan %d tw %d alloc %d mem %d\n", tcpInuse, tcpOrphan, tcpTw, inuse("TCP"), (tcpMem+pageSize-1)/pageSize)
	fmt.Fprintf(b, "UDP: inuse %d mem %d\n", inuse("UDP"), (udpMem+pageSize-1)/pageSize)
	fmt.Fprintf(b, "UDPLITE: inuse %d\n", 0)
	fmt.Fprintf(b, "RAW: inuse %d\n", inuse("RAW"))
	fmt.Fprintf(b, "FRAG: inuse %d memory %d\n", fragQueues, fragMem)
}

// protocolsSeqShow is net/protocols as docs/sockfsd.md defines it: the
// inetsw table, one "FAMILY TYPE PROTOCOL ops proto" row per entry, in the
// order inet_create searches it, then AF_INET6's inetsw6 in the same
// form. The first three columns are what a write to the socket file takes.
func (in *Net) protocolsSeqShow(b *bytes.Buffer) {
	fmt.Fprintf(b, "%-8s %-11s %-8s %-16s %s\n", "family", "type", "protocol", "ops", "proto")
	for _, p := range in.Protosw() {
		fmt.Fprintf(b, "%-8s %-11s %-8d %-16s %s\n", "AF_INET", p.Type, p.Protocol, p.Ops.Name, p.Prot.Name)
	}
	in.mu.RLock()
	sw6 := in.inetsw6
	in.mu.RUnlock()
	if sw6 == nil {
		return
	}
	for _, p := range sw6() {
		fmt.Fprintf(b, "%-8s %-11s %-8d %-16s %s\n", "AF_INET6", p.Type, p.Protocol, p.Ops.Name, p.Prot.Name)
	}
}
