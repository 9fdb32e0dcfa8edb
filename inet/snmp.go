package inet

import "sync/atomic"

// mib holds the SNMP counters /proc/net/snmp prints (include/uapi/linux/snmp.h),
// one atomic per field in the file's column order.
type mib struct {
	Ip      ipMib
	Icmp    icmpMib
	IcmpMsg icmpMsgMib
	Tcp     tcpMib
	Udp     udpMib
	Ext     linuxMib // TcpExt, /proc/net/netstat (netstat.go)
	IpExt   ipExtMib // IpExt, likewise
}

// ipMib is IPSTATS_MIB_* as the "Ip:" rows show them.
type ipMib struct {
	InReceives, InHdrErrors, InAddrErrors, ForwDatagrams, InUnknownProtos,
	InDiscards, InDelivers, OutRequests, OutDiscards, OutNoRoutes,
	ReasmTimeout, ReasmReqds, ReasmOKs, ReasmFails, FragOKs, FragFails,
	FragCreates, OutTransmits atomic.Uint64
}

// icmpMib is ICMP_MIB_* ("Icmp:" rows): totals, then per type in and out.
type icmpMib struct {
	InMsgs, InErrors, InCsumErrors, OutMsgs, OutErrors, OutRateLimitGlobal, OutRateLimitHost atomic.Uint64
	InType, OutType                                                                          [256]atomic.Uint64 // ICMPMSG_MIB: also feeds the per-type Icmp columns
}

// icmpMsgMib is kept in icmpMib's per-type arrays; the type exists so the
// "IcmpMsg:" rows have a name of their own.
type icmpMsgMib struct{}

// tcpMib is TCP_MIB_* ("Tcp:" rows).
type tcpMib struct {
	ActiveOpens, PassiveOpens, AttemptFails, EstabResets, CurrEstab,
	InSegs, OutSegs, RetransSegs, InErrs, OutRsts, InCsumErrors atomic.Uint64
}

// udpMib is UDP_MIB_* ("Udp:" rows).
type udpMib struct {
	InDatagrams, NoPorts, InErrors, OutDatagrams, RcvbufErrors,
	SndbufErrors, InCsumErrors, IgnoredMulti, MemErrors atomic.Uint64
}
