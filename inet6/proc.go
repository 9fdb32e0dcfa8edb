package inet6

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"

	"sockfs/inet"
	"sockfs/netdev"
	"sockfs/socket"
)

// procInit is if6_proc_init, ipv6_route_proc_init, ipv6_misc_proc_init
// (snmp6), tcp6_proc_init, udp6_proc_init, raw6_proc_init and
// sockstat6's: the tables in the layouts of Linux's files of the same names.
func (n *Net) procInit() {
	n.sn.ProcNetCreate("if_inet6", n.if6SeqShow)
	n.sn.ProcNetCreate("ipv6_route", n.ipv6RouteSeqShow)
	n.sn.ProcNetCreate("snmp6", n.snmp6SeqShow)
	if n.in != nil {
		n.sn.ProcNetCreate("tcp6", n.in.TCP6SeqShow) // tcp6_proc_init
		n.sn.ProcNetCreate("udp6", n.udp6SeqShow)
		n.sn.ProcNetCreate("raw6", n.raw6SeqShow)
		n.sn.ProcNetCreate("sockstat6", n.sockstat6SeqShow)
	}
}

// sockstat6SeqShow is /proc/net/sockstat6 (sockstat6_seq_show): the
// AF_INET6 socks in use per proto (sock_prot_inuse_get; no UDP-Lite over
// IPv6 yet, so that is 0) and the reassembly queues and the
// bytes they hold.
func (n *Net) sockstat6SeqShow(b *bytes.Buffer) {
	n.frags.mu.Lock()
	fragInuse, fragMem := len(n.frags.q), n.frags.mem
	n.frags.mu.Unlock()
	fmt.Fprintf(b, "TCP6: inuse %d\n", n.in.TCPv6Inuse())
	fmt.Fprintf(b, "UDP6: inuse %d\n", n.udpv6Prot.InUse.Load())
	fmt.Fprintf(b, "UDPLITE6: inuse %d\n", 0)
	fmt.Fprintf(b, "RAW6: inuse %d\n", n.rawv6Prot.InUse.Load())
	fmt.Fprintf(b, "FRAG6: inuse %d memory %d\n", fragInuse, fragMem)
}

// proc6Addr is how /proc/net/udp6 prints an address, as net/tcp6 does
// (inet.ProcAddr6: four host-order %08X words).
func proc6Addr(a netip.Addr) string {
	var b bytes.Buffer
	inet.ProcAddr6(&b, a)
	return b.String()
}

// udp6SeqShow is /proc/net/udp6 (udp6_seq_show, __ip6_dgram_sock_seq_show):
// the AF_INET6 socks of the shared udp_table, unpadded lines.
func (n *Net) udp6SeqShow(b *bytes.Buffer) {
	b.WriteString("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n")
	n.in.UDPEach(socket.AF_INET6, func(slot int, isk *inet.InetSock, drops int) {
		isk.Mu.Lock()
		src, srcp := isk.RcvSaddr, isk.Num
		var dst netip.Addr
		var dstp uint16
		if isk.State == tcpEstablished {
			dst, dstp = isk.Daddr, isk.Dport
		}
		state, rq, uid := isk.State, isk.RmemAlloc, isk.Uid
		var ino uint64
		if isk.Socket != nil {
			ino = isk.Socket.Ino
		}
		isk.Mu.Unlock()
		fmt.Fprintf(b, "%5d: %s:%04X %s:%04X %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x %d\n",
			slot, proc6Addr(src), srcp, proc6Addr(dst), dstp, state, 0, rq, 0, 0, 0, uid, 0, ino, 2, 0, drops)
	})
}

// raw6SeqShow is /proc/net/raw6 (raw6_seq_show, ip6_dgram_sock_seq_show):
// udp6's columns for the AF_INET6 raw socks, the local port being the
// protocol and the remote port 0. The slot is the protocol, raw_v6_hashinfo's
// bucket before Linux 6.0 hashed it with a per-namespace secret.
func (n *Net) raw6SeqShow(b *bytes.Buffer) {
	b.WriteString("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n")
	n.in.RawV6Each(func(_ int, isk *inet.InetSock, drops int) {
		isk.Mu.Lock()
		src, srcp := isk.RcvSaddr, isk.Num
		var dst netip.Addr
		if isk.State == tcpEstablished {
			dst = isk.Daddr
		}
		state, rq, uid := isk.State, isk.RmemAlloc, isk.Uid
		var ino uint64
		if isk.Socket != nil {
			ino = isk.Socket.Ino
		}
		isk.Mu.Unlock()
		fmt.Fprintf(b, "%5d: %s:%04X %s:%04X %02X %08X:%08X %02X:%08X %08X %5d %8d %d %d %016x %d\n",
			srcp&0xff, proc6Addr(src), srcp, proc6Addr(dst), 0, state, 0, rq, 0, 0, 0, uid, 0, ino, 2, 0, drops)
	})
}

// hex32 is %pi6: the address as 32 hex digits.
func hex32(a netip.Addr) string {
	if !a.IsValid() {
		a = netip.IPv6Unspecified()
	}
	b := a.As16()
	return fmt.Sprintf("%x", b[:])
}

// if6SeqShow is /proc/net/if_inet6: address, ifindex, prefix length,
// scope, flags, device.
func (n *Net) if6SeqShow(b *bytes.Buffer) {
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, ifa := range n.addrs {
		fmt.Fprintf(b, "%s %02x %02x %02x %02x %8s\n", hex32(ifa.addr), ifa.dev.Ifindex, ifa.plen, ifa.scope, ifa.flags, ifa.dev.Name)
	}
}

// Flags of the local table's rows (include/uapi/linux/ipv6_route.h).
const (
	RTF_REJECT    = 0x0200
	RTF_NONEXTHOP = 0x00200000
	RTF_LOCAL     = 0x80000000
)

// ipv6RouteSeqShow is /proc/net/ipv6_route (ipv6_route_native_seq_show):
// destination and length, source and length, next hop, metric, refcount,
// use, flags, device. As Linux, the main table comes first, then the
// local table: a /128 route per usable address (through its device, ::1
// through lo), ff00::/8 on each multicast device, and the null entry;
// each table in the order of a walk of fib6's tree (an address's longer
// prefixes before the shorter ones that hold them). The refcount column,
// a count of kernel references in Linux, is 1 here.
func (n *Net) ipv6RouteSeqShow(b *bytes.Buffer) {
	type row struct {
		dst     netip.Prefix
		gateway netip.Addr
		metric  uint32
		flags   uint32
		dev     string
	}
	n.mu.RLock()
	var main, local []row
	for _, rt := range n.routes {
		flags := uint32(RTF_UP)
		if rt.gateway.IsValid() {
			flags |= RTF_GATEWAY
		}
		main = append(main, row{rt.dst, rt.gateway, uint32(rt.metric), flags, rt.dev.Name})
	}
	mcast := map[string]bool{}
	for _, ifa := range n.addrs {
		if ifa.flags&IFA_F_TENTATIVE == 0 {
			local = append(local, row{netip.PrefixFrom(ifa.addr, 128), netip.Addr{}, 0, RTF_LOCAL | RTF_NONEXTHOP | RTF_UP, ifa.dev.Name})
		}
		if ifa.dev.Flags&netdev.IFF_MULTICAST != 0 && !mcast[ifa.dev.Name] {
			mcast[ifa.dev.Name] = true
			local = append(local, row{netip.MustParsePrefix("ff00::/8"), netip.Addr{}, ip6RtPrioAddrconf, RTF_UP, ifa.dev.Name})
		}
	}
	n.mu.RUnlock()
	walk := func(x, y row) int {
		switch {
		case x.dst.Bits() < y.dst.Bits() && x.dst.Contains(y.dst.Addr()):
			return 1
		case y.dst.Bits() < x.dst.Bits() && y.dst.Contains(x.dst.Addr()):
			return -1
		}
		return x.dst.Addr().Compare(y.dst.Addr())
	}
	slices.SortStableFunc(main, walk)
	slices.SortStableFunc(local, walk)
	local = append(local, row{netip.PrefixFrom(netip.IPv6Unspecified(), 0), netip.Addr{}, 0xffffffff, RTF_REJECT | RTF_NONEXTHOP, "lo"})
	for _, r := range append(main, local...) {
		fmt.Fprintf(b, "%s %02x %s %02x %s %08x %08x %08x %08x %8s\n",
			hex32(r.dst.Addr()), r.dst.Bits(), hex32(netip.Addr{}), 0, hex32(r.gateway),
			r.metric, 1, 0, r.flags, r.dev)
	}
}
