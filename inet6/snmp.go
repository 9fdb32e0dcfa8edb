package inet6

import (
	"bytes"
	"fmt"
	"sync/atomic"
)

// ipv6Mib is the namespace's IPv6 MIB (ipv6_statistics, icmpv6_statistics,
// icmpv6msg_statistics), in the order snmp6_seq_show prints them.
type ipv6Mib struct {
	ip   [ip6MibMax]atomic.Uint64
	icmp [icmp6MibMax]atomic.Uint64
	// msg is ICMP6MSG_MIB: per type, In at [type], Out at [0x100+type].
	msg [0x200]atomic.Uint64
	udp [udp6MibMax]atomic.Uint64
}

// IPSTATS_MIB_* as snmp6_ipstats_list names them.
const (
	ip6InReceives = iota
	ip6InHdrErrors
	ip6InTooBigErrors
	ip6InNoRoutes
	ip6InAddrErrors
	ip6InUnknownProtos
	ip6InTruncatedPkts
	ip6InDiscards
	ip6InDelivers
	ip6OutForwDatagrams
	ip6OutRequests
	ip6OutDiscards
	ip6OutNoRoutes
	ip6ReasmTimeout
	ip6ReasmReqds
	ip6ReasmOKs
	ip6ReasmFails
	ip6FragOKs
	ip6FragFails
	ip6FragCreates
	ip6InMcastPkts
	ip6OutMcastPkts
	ip6InOctets
	ip6OutOctets
	ip6InMcastOctets
	ip6OutMcastOctets
	ip6InBcastOctets
	ip6OutBcastOctets
	ip6InNoECTPkts // + the ECN field: ECT1, ECT0, CE
	ip6InECT1Pkts
	ip6InECT0Pkts
	ip6InCEPkts
	ip6OutTransmits
	ip6MibMax
)

var ip6MibNames = [ip6MibMax]string{
	"Ip6InReceives", "Ip6InHdrErrors", "Ip6InTooBigErrors", "Ip6InNoRoutes", "Ip6InAddrErrors",
	"Ip6InUnknownProtos", "Ip6InTruncatedPkts", "Ip6InDiscards", "Ip6InDelivers",
	"Ip6OutForwDatagrams", "Ip6OutRequests", "Ip6OutDiscards", "Ip6OutNoRoutes",
	"Ip6ReasmTimeout", "Ip6ReasmReqds", "Ip6ReasmOKs", "Ip6ReasmFails",
	"Ip6FragOKs", "Ip6FragFails", "Ip6FragCreates", "Ip6InMcastPkts", "Ip6OutMcastPkts",
	"Ip6InOctets", "Ip6OutOctets", "Ip6InMcastOctets", "Ip6OutMcastOctets",
	"Ip6InBcastOctets", "Ip6OutBcastOctets", "Ip6InNoECTPkts", "Ip6InECT1Pkts",
	"Ip6InECT0Pkts", "Ip6InCEPkts", "Ip6OutTransmits",
}

// ICMP6_MIB_* as snmp6_icmp6_list names them.
const (
	icmp6InMsgs = iota
	icmp6InErrors
	icmp6OutMsgs
	icmp6OutErrors
	icmp6InCsumErrors
	icmp6OutRateLimitHost
	icmp6MibMax
)

var icmp6MibNames = [icmp6MibMax]string{
	"Icmp6InMsgs", "Icmp6InErrors", "Icmp6OutMsgs", "Icmp6OutErrors", "Icmp6InCsumErrors", "Icmp6OutRateLimitHost",
}

// icmp6type2name names the types snmp6_seq_show_icmpv6msg prints always.
var icmp6type2name = map[int]string{
	1: "DestUnreachs", 2: "PktTooBigs", 3: "TimeExcds", 4: "ParmProblems",
	128: "Echos", 129: "EchoReplies", 130: "GroupMembQueries", 131: "GroupMembResponses",
	132: "GroupMembReductions", 133: "RouterSolicits", 134: "RouterAdvertisements",
	135: "NeighborSolicits", 136: "NeighborAdvertisements", 137: "Redirects", 143: "MLDv2Reports",
}

// UDP_MIB_* as snmp6_udp6_list names them (udpv6_rcv and udp_v6_send_skb
// count them; UDP-Lite is not spoken, so its rows stay 0).
const (
	udp6InDatagrams = iota
	udp6NoPorts
	udp6InErrors
	udp6OutDatagrams
	udp6RcvbufErrors
	udp6SndbufErrors
	udp6InCsumErrors
	udp6IgnoredMulti
	udp6MemErrors
	udp6MibMax
)

var udp6Names = []string{"Udp6InDatagrams", "Udp6NoPorts", "Udp6InErrors", "Udp6OutDatagrams",
	"Udp6RcvbufErrors", "Udp6SndbufErrors", "Udp6InCsumErrors", "Udp6IgnoredMulti", "Udp6MemErrors"}
var udplite6Names = []string{"UdpLite6InDatagrams", "UdpLite6NoPorts", "UdpLite6InErrors", "UdpLite6OutDatagrams",
	"UdpLite6RcvbufErrors", "UdpLite6SndbufErrors", "UdpLite6InCsumErrors", "UdpLite6MemErrors"}

func (m *ipv6Mib) inc(i int)            { m.ip[i].Add(1) }
func (m *ipv6Mib) add(i int, v int)     { m.ip[i].Add(uint64(v)) }
func (m *ipv6Mib) icmpInc(i int)        { m.icmp[i].Add(1) }
func (m *ipv6Mib) udpInc(i int)         { m.udp[i].Add(1) }
func (m *ipv6Mib) msgIn(typ uint8)      { m.msg[typ].Add(1) }
func (m *ipv6Mib) msgOut(typ uint8)     { m.msg[0x100+int(typ)].Add(1) }
func (m *ipv6Mib) get(i int) uint64     { return m.ip[i].Load() }
func (m *ipv6Mib) icmpGet(i int) uint64 { return m.icmp[i].Load() }
func (m *ipv6Mib) msgGet(i int) uint64  { return m.msg[i].Load() }

// snmp6SeqShow is /proc/net/snmp6: "%-32s\t%lu\n" per counter.
func (n *Net) snmp6SeqShow(b *bytes.Buffer) {
	row := func(name string, v uint64) { fmt.Fprintf(b, "%-32s\t%d\n", name, v) }
	for i, name := range ip6MibNames {
		row(name, n.mib.get(i))
	}
	for i, name := range icmp6MibNames {
		row(name, n.mib.icmpGet(i))
	}
	for i := range 0x200 {
		if name, ok := icmp6type2name[i&0xff]; ok {
			dir := "In"
			if i&0x100 != 0 {
				dir = "Out"
			}
			row("Icmp6"+dir+name, n.mib.msgGet(i))
		}
	}
	for i := range 0x200 {
		if v := n.mib.msgGet(i); v != 0 {
			dir := "In"
			if i&0x100 != 0 {
				dir = "Out"
			}
			row(fmt.Sprintf("Icmp6%sType%d", dir, i&0xff), v)
		}
	}
	for i, name := range udp6Names {
		row(name, n.mib.udp[i].Load())
	}
	for _, name := range udplite6Names {
		row(name, 0)
	}
}
