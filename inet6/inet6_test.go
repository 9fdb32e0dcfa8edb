package inet6

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sockfs/inet"
	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

type v6Host struct {
	n    *Net
	dev  *netdev.NetDevice
	addr netip.Addr
}

func newV6Host(t *testing.T, drv netdev.Driver, clock ktime.Clock, last byte, dad bool) *v6Host {
	t.Helper()
	sn := socket.NewNet()
	nd := netdev.NewNet()
	n := Init(sn, nd, clock, nil)
	n.SetDAD(dad)
	lo := &netdev.NetDevice{Name: "lo", MTU: 65536, Flags: netdev.IFF_LOOPBACK, HardHeaderLen: netdev.EthHlen}
	loDrv := netdev.NewLoopback()
	nd.RegisterNetdevice(lo, loDrv)
	registerQueues(t, loDrv, drv)
	lo.DevOpen()
	if err := n.DevAdd(lo, netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	dev := &netdev.NetDevice{Name: "eth0", MTU: 1500, HWAddr: [6]byte{0x02, 0, 0, 0, 0, last}, HardHeaderLen: netdev.EthHlen,
		Flags: netdev.IFF_BROADCAST | netdev.IFF_MULTICAST}
	nd.RegisterNetdevice(dev, drv)
	dev.DevOpen()
	addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0, 2, 15: last})
	if err := n.DevAdd(dev, netip.PrefixFrom(addr, 64)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.DevClose(); lo.DevClose() })
	return &v6Host{n: n, dev: dev, addr: addr}
}

// echoRequest builds an ICMPv6 echo request body from src to dst.
func echoRequest(src, dst netip.Addr, id, seq uint16, data []byte) []byte {
	b := make([]byte, header.ICMP6Len+len(data))
	h := header.Icmp6hdr(b)
	h.Encode(header.ICMP6Fields{Type: header.ICMPV6_ECHO_REQUEST, Data32: uint32(id)<<16 | uint32(seq)})
	copy(b[header.ICMP6Len:], data)
	h.SetChecksum(src.As16(), dst.As16())
	return b
}

// ping sends one echo request from h to dst through h's own output path.
func (h *v6Host) ping(dst netip.Addr, seq uint16) {
	msg := echoRequest(h.addr, dst, 7, seq, []byte("sockfs ipv6 ping"))
	skb := netdev.AllocSkb(len(msg))
	copy(skb.Put(len(msg)), msg)
	h.n.icmpv6Xmit(skb, h.addr, dst, header.ICMPV6_ECHO_REQUEST, sysctlHopLimit)
	skb.Free()
}

// Two stacks over the in-memory link with 5% loss each way resolve each
// other by neighbour discovery and answer every ping (each retried until
// its reply comes, as ping's user would, a second apart on the manual
// clock), and both nd_tbl entries hold the peer's MAC.
func TestPingOverNDWithLoss(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	spec, _ := netdev.ParseNetem("loss 5%")
	clk := ktime.NewManual()
	a := newV6Host(t, netdev.NewNetem(pa, spec, 3, clk), clk, 1, false)
	b := newV6Host(t, pb, clk, 2, false)
	// The wire under the netem is a's too: b's end shares its count.
	for seq := range uint16(20) {
		answered := false
		for try := 0; try < 20 && !answered; try++ {
			before := a.n.mib.msgGet(header.ICMPV6_ECHO_REPLY)
			a.ping(b.addr, seq)
			stackIdle(t)
			if answered = a.n.mib.msgGet(header.ICMPV6_ECHO_REPLY) > before; !answered {
				clk.Advance(time.Second) // ping's interval; ND retransmits meanwhile
				stackIdle(t)
			}
		}
		if !answered {
			t.Fatalf("echo %d never answered", seq)
		}
	}
	if st, ha := a.n.ndTbl.NeighLookup(b.addr); st&inet.NUD_VALID == 0 || ha != b.dev.HWAddr {
		t.Fatalf("a's entry for b: state %#x ha %x", st, ha)
	}
	if st, ha := b.n.ndTbl.NeighLookup(a.addr); st&inet.NUD_VALID == 0 || ha != a.dev.HWAddr {
		t.Fatalf("b's entry for a: state %#x ha %x", st, ha)
	}
	if a.n.mib.msgGet(0x100+header.NDISC_NEIGHBOUR_SOLICITATION) == 0 || b.n.mib.msgGet(header.NDISC_NEIGHBOUR_SOLICITATION) == 0 {
		t.Fatal("no neighbour solicitation crossed")
	}
	// The reply to a 3000-byte ping crosses fragmented both ways.
	before := a.n.mib.msgGet(header.ICMPV6_ECHO_REPLY)
	for try := 0; try < 20 && a.n.mib.msgGet(header.ICMPV6_ECHO_REPLY) == before; try++ {
		msg := echoRequest(a.addr, b.addr, 7, 99, bytes.Repeat([]byte{0xa5}, 3000))
		skb := netdev.AllocSkb(len(msg))
		copy(skb.Put(len(msg)), msg)
		a.n.icmpv6Xmit(skb, a.addr, b.addr, header.ICMPV6_ECHO_REQUEST, sysctlHopLimit)
		skb.Free()
		stackIdle(t)
		if a.n.mib.msgGet(header.ICMPV6_ECHO_REPLY) == before {
			clk.Advance(time.Second)
			stackIdle(t)
		}
	}
	if a.n.mib.msgGet(header.ICMPV6_ECHO_REPLY) == before || b.n.mib.get(ip6ReasmOKs) == 0 || a.n.mib.get(ip6FragCreates) == 0 {
		t.Fatalf("3000-byte ping: replies %d, b ReasmOKs %d, a FragCreates %d", a.n.mib.msgGet(header.ICMPV6_ECHO_REPLY)-before, b.n.mib.get(ip6ReasmOKs), a.n.mib.get(ip6FragCreates))
	}
}

// wire is the far end of a pair, a peer host driven by the test.
type wire struct {
	t      *testing.T
	end    *netdev.PairEnd
	frames chan []byte
	mac    [6]byte
	addr   netip.Addr
}

func newWire(t *testing.T, end *netdev.PairEnd) *wire {
	w := &wire{t: t, end: end, frames: make(chan []byte, 256), mac: [6]byte{0x02, 0, 0, 0, 0, 0x99}, addr: netip.MustParseAddr("2001:2::99")}
	go end.Receive(func(skb *netdev.SkBuff) {
		w.frames <- append([]byte(nil), skb.Data()...)
		skb.Free()
	})
	return w
}

// send puts an IPv6 packet (header included) on the wire to dstMAC.
func (w *wire) send(dstMAC [6]byte, pkt []byte) {
	f := make([]byte, netdev.EthHlen+len(pkt))
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: dstMAC, Source: w.mac, Proto: netdev.ETH_P_IPV6})
	copy(f[netdev.EthHlen:], pkt)
	skb := netdev.AllocSkb(len(f))
	copy(skb.Put(len(f)), f)
	if err := w.end.Xmit(skb); err != nil {
		w.t.Fatal(err)
	}
	skb.Free()
}

// next returns the next IPv6 packet the stack sent whose ICMPv6 type is
// typ, or nil after d. With d 0 it looks only at what was sent already: a
// test that has waited for the wire to go idle (stackIdle) has every frame
// the stack sent in frames.
func (w *wire) next(typ uint8, d time.Duration) header.Ipv6hdr {
	var deadline <-chan time.Time
	if d > 0 {
		deadline = time.After(d)
	}
	for {
		var f []byte
		if d == 0 {
			select {
			case f = <-w.frames:
			default:
				return nil
			}
		} else {
			select {
			case f = <-w.frames:
			case <-deadline:
				return nil
			}
		}
		eth, ok := netdev.ParseEthhdr(f)
		if !ok || eth.Proto() != netdev.ETH_P_IPV6 {
			continue
		}
		h, e := header.ParseIpv6hdr(f[netdev.EthHlen:])
		if e != header.IPv6Ok {
			continue
		}
		if x, _ := header.Ipv6SkipExthdr(h.Nexthdr(), h.Payload()); x.Nexthdr == header.NEXTHDR_ICMP &&
			len(h.Payload()) > x.Off && h.Payload()[x.Off] == typ {
			return h
		}
	}
}

func ip6Packet(src, dst netip.Addr, nexthdr, hlim uint8, payload []byte) []byte {
	b := make([]byte, header.IPv6Len+len(payload))
	header.Ipv6hdr(b).Encode(header.IPv6Fields{PayloadLen: len(payload), Nexthdr: nexthdr, HopLimit: hlim, Saddr: src.As16(), Daddr: dst.As16()})
	copy(b[header.IPv6Len:], payload)
	return b
}

func newWiredHost(t *testing.T, clock ktime.Clock, dad bool) (*v6Host, *wire) {
	pa, pb := netdev.NewPair(1024)
	h := newV6Host(t, pa, clock, 2, dad)
	w := newWire(t, pb)
	h.n.ndTbl.NeighUpdate(h.dev, w.addr, w.mac, true)
	return h, w
}

// fragments cuts an ICMPv6 message into IPv6 fragments at the given
// [off, end) ranges (multiples of 8 except the last end).
func fragments(src, dst netip.Addr, id uint32, msg []byte, ranges [][2]int) [][]byte {
	var out [][]byte
	for _, r := range ranges {
		mf := uint16(header.IP6_MF)
		if r[1] == len(msg) {
			mf = 0
		}
		p := make([]byte, header.Frag6Len+r[1]-r[0])
		header.Frag6hdr(p).Encode(header.Frag6Fields{Nexthdr: header.NEXTHDR_ICMP, FragOff: uint16(r[0]) | mf, Identification: id})
		copy(p[header.Frag6Len:], msg[r[0]:r[1]])
		out = append(out, ip6Packet(src, dst, header.NEXTHDR_FRAGMENT, 64, p))
	}
	return out
}

// RFC 5722 as Linux applies it: a fragment wholly inside data already
// held is a duplicate and dropped alone (the datagram still completes);
// one that overlaps partly discards the whole datagram.
func TestReassemblyOverlap(t *testing.T) {
	h, w := newWiredHost(t, ktime.NewManual(), false)
	msg := echoRequest(w.addr, h.addr, 1, 1, bytes.Repeat([]byte{0x5a}, 200))
	// In order, with an exact duplicate and a fragment inside the run.
	fr := fragments(w.addr, h.addr, 1, msg, [][2]int{{0, 64}, {64, 128}, {0, 64}, {8, 120}, {128, len(msg)}})
	for _, p := range fr {
		w.send(h.dev.HWAddr, p)
	}
	if w.next(header.ICMPV6_ECHO_REPLY, 3*time.Second) == nil {
		t.Fatal("no reply to a datagram with duplicate fragments")
	}
	// A partial overlap kills the datagram: the rest cannot complete it.
	fr = fragments(w.addr, h.addr, 2, msg, [][2]int{{0, 64}, {56, 128}, {64, 128}, {128, len(msg)}})
	for _, p := range fr {
		w.send(h.dev.HWAddr, p)
	}
	stackIdle(t)
	if p := w.next(header.ICMPV6_ECHO_REPLY, 0); p != nil {
		t.Fatal("an overlapping datagram was reassembled and answered")
	}
	if h.n.mib.get(ip6ReasmFails) == 0 {
		t.Fatal("the overlap was not counted in Ip6ReasmFails")
	}
}

// DAD on the manual clock: the address is tentative (unanswered) until
// one probe, an NS from :: to its solicited-node group without a
// link-layer option, has gone unanswered for retrans_time; then it works.
// An NA for a tentative address fails its DAD for good.
func TestDAD(t *testing.T) {
	clk := ktime.NewManual()
	h, w := newWiredHost(t, clk, true)
	show := func() string {
		var b bytes.Buffer
		h.n.if6SeqShow(&b)
		return b.String()
	}
	if s := show(); !strings.Contains(s, "20010002000000000000000000000002 02 40 00 c0     eth0") {
		t.Fatalf("if_inet6 before DAD:\n%s", s)
	}
	w.send(h.dev.HWAddr, ip6Packet(w.addr, h.addr, header.NEXTHDR_ICMP, 64, echoRequest(w.addr, h.addr, 1, 1, nil)))
	stackIdle(t)
	if h.n.mib.get(ip6InAddrErrors) != 1 {
		t.Fatal("a packet to a tentative address was not discarded")
	}
	clk.Advance(sysctlRtrSolicitDelay)
	found := false
	for !found {
		p := w.next(header.NDISC_NEIGHBOUR_SOLICITATION, 2*time.Second)
		if p == nil {
			t.Fatal("no DAD probe")
		}
		m, _ := header.ParseNdMsg(p.Payload())
		if m.TargetAddr() == h.addr {
			found = true
			if !p.Src().IsUnspecified() || p.Dst() != netip.MustParseAddr("ff02::1:ff00:2") || len(m.Options()) != 0 || p.HopLimit() != 255 {
				t.Fatalf("DAD probe from %v to %v, %d option bytes, hop limit %d", p.Src(), p.Dst(), len(m.Options()), p.HopLimit())
			}
		}
	}
	clk.Advance(sysctlNdiscRetransTimeMs * time.Millisecond)
	if s := show(); !strings.Contains(s, "20010002000000000000000000000002 02 40 00 80     eth0") {
		t.Fatalf("if_inet6 after DAD:\n%s", s)
	}
	w.send(h.dev.HWAddr, ip6Packet(w.addr, h.addr, header.NEXTHDR_ICMP, 64, echoRequest(w.addr, h.addr, 1, 2, nil)))
	if w.next(header.ICMPV6_ECHO_REPLY, 3*time.Second) == nil {
		t.Fatal("no reply once DAD completed")
	}

	// A second stack whose address someone else has.
	clk2 := ktime.NewManual()
	h2, w2 := newWiredHost(t, clk2, true)
	na := make([]byte, header.NdMsgLen+header.NdOptLladdrLen)
	var opt [header.NdOptLladdrLen]byte
	header.PutNdOptLladdr(opt[:], header.ND_OPT_TARGET_LL_ADDR, w2.mac)
	header.NdMsg(na).Encode(header.NdFields{Type: header.NDISC_NEIGHBOUR_ADVERTISEMENT, Flags: header.ND_NA_FLAG_OVERRIDE, Target: h2.addr.As16(), Options: opt[:]})
	all := netip.MustParseAddr("ff02::1")
	header.Icmp6hdr(na).SetChecksum(w2.addr.As16(), all.As16())
	w2.send(header.Ipv6EthMcMap(all.As16()), ip6Packet(w2.addr, all, header.NEXTHDR_ICMP, 255, na))
	stackIdle(t)
	clk2.Advance(5 * time.Second)
	var b bytes.Buffer
	h2.n.if6SeqShow(&b)
	if !strings.Contains(b.String(), "20010002000000000000000000000002 02 40 00 c8     eth0") {
		t.Fatalf("if_inet6 after a conflicting NA:\n%s", b.String())
	}
}

// Martian sources are dropped unanswered: a group, ::1, and our own
// address.
func TestMartians(t *testing.T) {
	h, w := newWiredHost(t, ktime.NewManual(), false)
	for _, src := range []netip.Addr{netip.MustParseAddr("ff02::1"), netip.IPv6Loopback(), h.addr} {
		w.send(h.dev.HWAddr, ip6Packet(src, h.addr, header.NEXTHDR_ICMP, 64, echoRequest(src, h.addr, 1, 1, nil)))
	}
	stackIdle(t)
	if h.n.mib.get(ip6InHdrErrors) != 2 || h.n.mib.get(ip6InAddrErrors) != 1 {
		t.Fatalf("InHdrErrors %d, InAddrErrors %d; want 2, 1", h.n.mib.get(ip6InHdrErrors), h.n.mib.get(ip6InAddrErrors))
	}
	if p := w.next(header.ICMPV6_ECHO_REPLY, 0); p != nil {
		t.Fatalf("a martian was answered: %v > %v", p.Src(), p.Dst())
	}
	if h.n.mib.msgGet(header.ICMPV6_ECHO_REQUEST) != 0 {
		t.Fatal("a martian reached ICMPv6")
	}
}

// A type 0 routing header with segments left gets parameter problem,
// erroneous header field, pointing at its type (RFC 5095); an unknown
// option whose action bits say so gets code 2 at the option.
func TestExthdrErrors(t *testing.T) {
	h, w := newWiredHost(t, ktime.NewManual(), false)
	echo := echoRequest(w.addr, h.addr, 1, 1, nil)
	rt := make([]byte, 24+len(echo))
	header.Ipv6RtHdr(rt).Encode(header.Ipv6RtHdrFields{Nexthdr: header.NEXTHDR_ICMP, Type: 0, SegmentsLeft: 1, Data: make([]byte, 20)})
	copy(rt[24:], echo)
	w.send(h.dev.HWAddr, ip6Packet(w.addr, h.addr, header.NEXTHDR_ROUTING, 64, rt))
	p := w.next(header.ICMPV6_PARAMPROB, 3*time.Second)
	if p == nil {
		t.Fatal("no parameter problem for a type 0 routing header")
	}
	if m := header.Icmp6hdr(p.Payload()); m.Code() != header.ICMPV6_HDR_FIELD || m.Pointer() != header.IPv6Len+2 {
		t.Fatalf("code %d pointer %d; want 0, 42", m.Code(), m.Pointer())
	}
	// Destination options with an unknown option of action 10 (0x80).
	do := make([]byte, 8+len(echo))
	do[0], do[1] = header.NEXTHDR_ICMP, 0
	do[2], do[3] = 0x80, 4 // type 0x80, 4 bytes of data
	copy(do[8:], echo)
	w.send(h.dev.HWAddr, ip6Packet(w.addr, h.addr, header.NEXTHDR_DEST, 64, do))
	p = w.next(header.ICMPV6_PARAMPROB, 3*time.Second)
	if p == nil {
		t.Fatal("no parameter problem for an unknown option")
	}
	if m := header.Icmp6hdr(p.Payload()); m.Code() != header.ICMPV6_UNK_OPTION || m.Pointer() != header.IPv6Len+2 {
		t.Fatalf("code %d pointer %d; want 2, 42", m.Code(), m.Pointer())
	}
	// Hop-by-hop options anywhere but first: unrecognized next header,
	// pointing at the byte that named them (RFC 8200 §4.1).
	hop := make([]byte, 8+8+len(echo))
	hop[0] = header.NEXTHDR_HOP              // destination options, padded, then...
	hop[2], hop[3] = header.IPV6_TLV_PADN, 4 // PadN
	hop[8] = header.NEXTHDR_ICMP             // ...a hop-by-hop header, PadN
	hop[10], hop[11] = header.IPV6_TLV_PADN, 4
	copy(hop[16:], echo)
	w.send(h.dev.HWAddr, ip6Packet(w.addr, h.addr, header.NEXTHDR_DEST, 64, hop))
	p = w.next(header.ICMPV6_PARAMPROB, 3*time.Second)
	if p == nil {
		t.Fatal("no parameter problem for a hop-by-hop header in second place")
	}
	if m := header.Icmp6hdr(p.Payload()); m.Code() != header.ICMPV6_UNK_NEXTHDR || m.Pointer() != header.IPv6Len {
		t.Fatalf("code %d pointer %d; want 1, 40", m.Code(), m.Pointer())
	}
}

// A packet that waits for a neighbour that never answers fails after
// three solicitations; its sender (the stack itself) gets destination
// unreachable, address unreachable, through lo.
func TestNeighFailureAddrUnreach(t *testing.T) {
	clk := ktime.NewManual()
	h, w := newWiredHost(t, clk, false)
	gone := netip.MustParseAddr("2001:2::77")
	h.ping(gone, 1)
	if p := w.next(header.NDISC_NEIGHBOUR_SOLICITATION, 3*time.Second); p == nil || p.Dst() != netip.MustParseAddr("ff02::1:ff00:77") {
		t.Fatal("no solicitation to the solicited-node group")
	}
	for range 3 {
		clk.Advance(sysctlNdiscRetransTimeMs * time.Millisecond)
	}
	stackIdle(t)
	if h.n.mib.msgGet(0x100+header.ICMPV6_DEST_UNREACH) != 1 || h.n.mib.msgGet(header.ICMPV6_DEST_UNREACH) != 1 {
		t.Fatalf("Icmp6OutDestUnreachs %d, Icmp6InDestUnreachs %d; want 1, 1",
			h.n.mib.msgGet(0x100+header.ICMPV6_DEST_UNREACH), h.n.mib.msgGet(header.ICMPV6_DEST_UNREACH))
	}
	if st, _ := h.n.ndTbl.NeighLookup(gone); st != inet.NUD_FAILED {
		t.Fatalf("entry state %#x, want FAILED", st)
	}
}

// net/ipv6_route lists the main table, then the local one, each in fib6's
// walk order, as Linux's file does.
func TestIpv6RouteTable(t *testing.T) {
	h, _ := newWiredHost(t, ktime.NewManual(), false)
	if err := h.n.SetGateway(netip.MustParseAddr("2001:2::1")); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	h.n.ipv6RouteSeqShow(&b)
	z := strings.Repeat("0", 32)
	ll := hex32(netip.AddrFrom16(header.LinkLocalFromMAC(h.dev.HWAddr)))
	want := strings.Join([]string{
		"20010002000000000000000000000000 40 " + z + " 00 " + z + " 00000100 00000001 00000000 00000001     eth0",
		"fe800000000000000000000000000000 40 " + z + " 00 " + z + " 00000100 00000001 00000000 00000001     eth0",
		z + " 00 " + z + " 00 20010002000000000000000000000001 00000400 00000001 00000000 00000003     eth0",
		"00000000000000000000000000000001 80 " + z + " 00 " + z + " 00000000 00000001 00000000 80200001       lo",
		"20010002000000000000000000000002 80 " + z + " 00 " + z + " 00000000 00000001 00000000 80200001     eth0",
		ll + " 80 " + z + " 00 " + z + " 00000000 00000001 00000000 80200001     eth0",
		"ff000000000000000000000000000000 08 " + z + " 00 " + z + " 00000100 00000001 00000000 00000001     eth0",
		z + " 00 " + z + " 00 " + z + " ffffffff 00000001 00000000 00200200       lo",
	}, "\n") + "\n"
	if b.String() != want {
		t.Fatalf("ipv6_route:\n%s\nwant:\n%s", b.String(), want)
	}
}

// A frame a --offload TAP hands over with CHECKSUM_PARTIAL (the kernel
// left the checksum for an offload) is taken without verifying it, as
// skb_csum_unnecessary; the same bytes without that mark fail the check.
func TestIcmpv6PartialChecksum(t *testing.T) {
	h, w := newWiredHost(t, ktime.NewManual(), false)
	msg := echoRequest(w.addr, h.addr, 1, 1, []byte("partial"))
	msg[2], msg[3] = 0x12, 0x34 // only a pseudo-header sum, not the checksum
	pkt := ip6Packet(w.addr, h.addr, header.NEXTHDR_ICMP, 64, msg)
	for _, summed := range []uint8{netdev.CHECKSUM_NONE, netdev.CHECKSUM_PARTIAL} {
		skb := netdev.AllocSkb(len(pkt))
		copy(skb.Put(len(pkt)), pkt)
		skb.Dev = h.dev
		skb.IPSummed = summed
		h.n.ipv6Rcv(skb)
	}
	if got := h.n.mib.icmpGet(icmp6InCsumErrors); got != 1 {
		t.Fatalf("Icmp6InCsumErrors %d, want 1", got)
	}
	p := w.next(header.ICMPV6_ECHO_REPLY, 3*time.Second)
	if p == nil {
		t.Fatal("the partial-checksum echo was not answered")
	}
	if !header.Icmp6hdr(p.Payload()).IsChecksumValid(p.Saddr(), p.Daddr()) {
		t.Fatal("the reply's checksum is wrong")
	}
}

// The trace shows IPv6's chains: an NS answered with an NA, an echo
// answered through ip6_xmit.
func TestTraceIPv6Chains(t *testing.T) {
	h, w := newWiredHost(t, ktime.NewManual(), false)
	r := h.n.sn.Trace.Subscribe(4096)
	defer r.Close()
	ns := make([]byte, header.NdMsgLen+header.NdOptLladdrLen)
	var opt [header.NdOptLladdrLen]byte
	header.PutNdOptLladdr(opt[:], header.ND_OPT_SOURCE_LL_ADDR, w.mac)
	header.NdMsg(ns).Encode(header.NdFields{Type: header.NDISC_NEIGHBOUR_SOLICITATION, Target: h.addr.As16(), Options: opt[:]})
	snm := netip.AddrFrom16(header.AddrconfAddrSolictMult(h.addr.As16()))
	header.Icmp6hdr(ns).SetChecksum(w.addr.As16(), snm.As16())
	w.send(header.Ipv6EthMcMap(snm.As16()), ip6Packet(w.addr, snm, header.NEXTHDR_ICMP, 255, ns))
	w.send(h.dev.HWAddr, ip6Packet(w.addr, h.addr, header.NEXTHDR_ICMP, 64, echoRequest(w.addr, h.addr, 1, 1, nil)))
	var seen strings.Builder
	buf := make([]byte, 64<<10)
	for _, want := range []string{
		"-> ipv6_rcv 2001:2::99 > ff02::1:ff00:2 nexthdr=58",
		"ipv6_rcv -> icmpv6_rcv type=135 code=0",
		"ndisc_send_na 2001:2::2 is-at 020000000002 -> 2001:2::99",
		"ipv6_rcv -> icmpv6_rcv type=128 code=0",
		"ip6_xmit 2001:2::2 > 2001:2::99 nexthdr=58 len=48 -> ip6_finish_output2",
		"dev_queue_xmit eth0 len=62",
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		for !strings.Contains(seen.String(), want) {
			n, err := r.Read(ctx, buf, false)
			if err != nil {
				cancel()
				t.Fatalf("no line with %q: %v; trace:\n%s", want, err, seen.String())
			}
			seen.Write(buf[:n])
		}
		cancel()
	}
}
