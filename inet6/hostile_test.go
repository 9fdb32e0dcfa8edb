package inet6

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"sockfs/inet"
	"sockfs/inet6/header"
	"sockfs/netdev/ktime"
)

// nsFrom is a neighbour solicitation from src (link address mac) for
// target, to target's solicited-node group, as a neighbour sends it.
func nsFrom(src netip.Addr, mac [6]byte, target netip.Addr) []byte {
	msg := make([]byte, header.NdMsgLen+header.NdOptLladdrLen)
	var opt [header.NdOptLladdrLen]byte
	header.PutNdOptLladdr(opt[:], header.ND_OPT_SOURCE_LL_ADDR, mac)
	header.NdMsg(msg).Encode(header.NdFields{Type: header.NDISC_NEIGHBOUR_SOLICITATION, Target: target.As16(), Options: opt[:]})
	dst := netip.AddrFrom16(header.AddrconfAddrSolictMult(target.As16()))
	header.Icmp6hdr(msg).SetChecksum(src.As16(), dst.As16())
	return ip6Packet(src, dst, header.NEXTHDR_ICMP, 255, msg)
}

// An unsolicited NS tells us its sender's link address, not that the
// sender is reachable (RFC 4861 §7.2.3, ndisc_recv_ns -> neigh_event_ns):
// the entry it makes is STALE, and the first packet through it re-checks
// it with a unicast NS. Another NS with the same address leaves a
// REACHABLE entry alone; one with a new address makes it STALE with that
// address (the override flag).
func TestUnsolicitedNSMakesStale(t *testing.T) {
	h, w := newWiredHost(t, ktime.NewManual(), false)
	peer, mac := netip.MustParseAddr("2001:2::70"), [6]byte{0x02, 0, 0, 0, 0, 0x70}
	w.send(header.Ipv6EthMcMap(header.AddrconfAddrSolictMult(h.addr.As16())), nsFrom(peer, mac, h.addr))
	stackIdle(t)
	if st, ha := h.n.ndTbl.NeighLookup(peer); st != inet.NUD_STALE && st != inet.NUD_PROBE || ha != mac {
		t.Fatalf("entry after an unsolicited NS: state %#x ha %x, want STALE (or PROBE once used) with %x", st, ha, mac)
	}
	// The NA went through the STALE entry: a unicast NS re-checks it.
	probe := w.next(header.NDISC_NEIGHBOUR_SOLICITATION, 0)
	if probe == nil || probe.Dst() != peer {
		t.Fatal("no unicast NS to the peer after the NA through its STALE entry")
	}

	h.n.ndTbl.NeighUpdate(h.dev, peer, mac, false) // confirmed (an NA)
	w.send(header.Ipv6EthMcMap(header.AddrconfAddrSolictMult(h.addr.As16())), nsFrom(peer, mac, h.addr))
	stackIdle(t)
	if st, _ := h.n.ndTbl.NeighLookup(peer); st != inet.NUD_REACHABLE {
		t.Fatalf("a REACHABLE entry after an NS with the same address: %#x, want REACHABLE", st)
	}
	moved := [6]byte{0x02, 0, 0, 0, 0, 0x71}
	w.send(header.Ipv6EthMcMap(header.AddrconfAddrSolictMult(h.addr.As16())), nsFrom(peer, moved, h.addr))
	stackIdle(t)
	if st, ha := h.n.ndTbl.NeighLookup(peer); st&(inet.NUD_STALE|inet.NUD_PROBE) == 0 || ha != moved {
		t.Fatalf("after an NS with a new address: state %#x ha %x, want STALE with %x", st, ha, moved)
	}
}

// A flood of NS from 3000 sources within a second: nd_tbl stops at
// gc_thresh3 (1024; its entries are too young for the forced gc), and,
// as ndisc_recv_ns without an entry, the solicitations it had no room
// for go unanswered.
func TestNSFloodNeighBounded(t *testing.T) {
	clk := ktime.NewManual()
	h, w := newWiredHost(t, clk, false)
	group := header.Ipv6EthMcMap(header.AddrconfAddrSolictMult(h.addr.As16()))
	const n = 3000
	src := func(i int) netip.Addr {
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0, 2, 12: 0xf1, 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
	}
	for i := range n {
		w.send(group, nsFrom(src(i), [6]byte{0x02, 0xf1, 0, byte(i >> 16), byte(i >> 8), byte(i)}, h.addr))
		if i%64 == 63 {
			drain(t, w)
		}
	}
	stackIdle(t)
	entries := 0
	for i := range n {
		if st, _ := h.n.ndTbl.NeighLookup(src(i)); st != 0 {
			entries++
		}
	}
	if entries > 1024 || entries < 512 {
		t.Fatalf("%d entries for %d soliciting sources, want at most gc_thresh3 (1024)", entries, n)
	}
	if na := h.n.mib.msgGet(0x100 + header.NDISC_NEIGHBOUR_ADVERTISEMENT); na != uint64(entries) {
		t.Fatalf("%d NAs sent for %d entries: want one each, none for the rest", na, entries)
	}
	// Once the entries have aged past the forced gc's 5 s, new sources
	// find room again.
	for range 6 { // the probes run out meanwhile, three each
		drain(t, w)
		clk.Advance(time.Second)
	}
	drain(t, w)
	late := netip.MustParseAddr("2001:2::f2:1")
	w.send(group, nsFrom(late, [6]byte{0x02, 0xf2, 0, 0, 0, 1}, h.addr))
	stackIdle(t)
	if st, _ := h.n.ndTbl.NeighLookup(late); st == 0 {
		t.Fatal("no entry for a new source once the flood's had aged")
	}
}

// drain waits for the stacks to go idle while throwing away what they
// send on the wire (more than its reader holds would hold them up).
func drain(t *testing.T, w *wire) {
	t.Helper()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-w.frames:
			case <-done:
				return
			}
		}
	}()
	stackIdle(t)
	close(done)
	<-stopped
}

// destOpts is a destination options header of 8 bytes whose next header
// is nh, holding one skippable option of type 0x1e (action 00) with two
// data bytes and a PadN, or, with opts > 1, that many 0-length
// skippable options padded to a multiple of 8 (RFC 8200 §4.2).
func destOpts(nh uint8, opts int) []byte {
	body := []byte{nh, 0}
	for range opts {
		body = append(body, 0x1e, 0)
	}
	for (len(body)+2)%8 != 0 && len(body)%8 != 0 {
		body = append(body, 0) // Pad1
	}
	if len(body)%8 != 0 {
		body = append(body, header.IPV6_TLV_PADN, 0)
	}
	body[1] = byte(len(body)/8 - 1)
	return body
}

// Extension header chains are bounded as Linux bounds them: a chain of
// more than IP6_MAX_EXT_HDRS_CNT headers is dropped (Ip6InHdrErrors), and
// so is one destination options header holding more than
// max_dst_opts_number (8) options (ip6_parse_tlv's tlv_count); within
// both bounds the echo request is answered.
func TestExthdrChainBounded(t *testing.T) {
	h, w := newWiredHost(t, ktime.NewManual(), false)
	echo := echoRequest(w.addr, h.addr, 9, 1, nil)
	chain := func(headers, opts int) []byte {
		pkt := echo
		nh := uint8(header.NEXTHDR_ICMP)
		for range headers {
			pkt = append(destOpts(nh, opts), pkt...)
			nh = header.NEXTHDR_DEST
		}
		return ip6Packet(w.addr, h.addr, nh, 64, pkt)
	}
	for _, c := range []struct {
		headers, opts int
		answered      bool
	}{
		{header.IP6_MAX_EXT_HDRS_CNT, 1, true},
		{header.IP6_MAX_EXT_HDRS_CNT + 1, 1, false},
		{200, 1, false},
		{1, 8, true},
		{1, 9, false},
	} {
		before := h.n.mib.get(ip6InHdrErrors)
		w.send(h.dev.HWAddr, chain(c.headers, c.opts))
		stackIdle(t)
		got := w.next(header.ICMPV6_ECHO_REPLY, 0) != nil
		if got != c.answered {
			t.Errorf("%d headers of %d options: answered %v, want %v", c.headers, c.opts, got, c.answered)
		}
		if dropped := h.n.mib.get(ip6InHdrErrors) > before; dropped == c.answered {
			t.Errorf("%d headers of %d options: Ip6InHdrErrors moved %v", c.headers, c.opts, dropped)
		}
	}
}

// Router advertisements are ignored by a host with static addresses and
// routes: one offering a default route and an autonomous prefix changes
// neither net/ipv6_route nor net/if_inet6.
func TestRouterAdvertisementIgnored(t *testing.T) {
	h, w := newWiredHost(t, ktime.NewManual(), false)
	show := func() string {
		var b bytes.Buffer
		h.n.if6SeqShow(&b)
		h.n.ipv6RouteSeqShow(&b)
		return b.String()
	}
	before := show()
	from := netip.MustParseAddr("fe80::99")
	all := netip.MustParseAddr("ff02::1")
	w.send(header.Ipv6EthMcMap(all.As16()), ip6Packet(from, all, header.NEXTHDR_ICMP, 255, routerAdvert(from, all, w.mac)))
	stackIdle(t)
	if h.n.mib.msgGet(header.NDISC_ROUTER_ADVERTISEMENT) != 1 {
		t.Fatal("the RA was not received")
	}
	if after := show(); after != before {
		t.Fatalf("tables changed by an RA:\n%s\nthen\n%s", before, after)
	}
}

// routerAdvert is an RA from a router at from (link address mac) for a
// default route of 1800 s and the autonomous, on-link prefix 2001:2:0:5::/64
// (RFC 4861 §4.2, §4.6.2).
func routerAdvert(from, to netip.Addr, mac [6]byte) []byte {
	b := make([]byte, 16+8+32)
	b[0] = header.NDISC_ROUTER_ADVERTISEMENT
	b[4] = 64               // cur hop limit
	b[6], b[7] = 0x07, 0x08 // router lifetime 1800
	o := b[16:]
	o[0], o[1] = header.ND_OPT_SOURCE_LL_ADDR, 1
	copy(o[2:8], mac[:])
	p := b[24:]
	p[0], p[1], p[2], p[3] = 3, 4, 64, 0xc0 // prefix information, /64, L and A
	for i := 4; i < 12; i++ {
		p[i] = 0xff // valid and preferred lifetimes: infinite
	}
	pfx := netip.MustParseAddr("2001:2:0:5::").As16()
	copy(p[16:], pfx[:])
	header.Icmp6hdr(b).SetChecksum(from.As16(), to.As16())
	return b
}
