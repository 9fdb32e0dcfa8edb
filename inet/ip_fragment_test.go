package inet

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// fragSkb builds one received IPv4 fragment, data at its IP header, as
// ip_local_deliver hands it to ip_defrag.
func fragSkb(id uint16, off int, mf bool, data []byte) *netdev.SkBuff {
	n := header.IPv4MinLen + len(data)
	skb := netdev.AllocSkb(n)
	b := skb.Put(n)
	fo := uint16(off / 8)
	if mf {
		fo |= header.IP_MF
	}
	header.Iphdr(b).Encode(header.IPFields{TotLen: n, ID: id, FragOff: fo, TTL: 64, Protocol: IPPROTO_UDP,
		Saddr: [4]byte{10, 0, 0, 1}, Daddr: [4]byte{10, 0, 0, 2}})
	copy(b[header.IPv4MinLen:], data)
	skb.NetworkHeader = skb.Offset()
	skb.Protocol = netdev.ETH_P_IP
	return skb
}

func fragPayload(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*31 + i>>8)
	}
	return p
}

// fragPieces cuts p at the given offsets into (off, mf, data) fragments.
type piece struct {
	off int
	mf  bool
	d   []byte
}

func cut(p []byte, at ...int) []piece {
	var out []piece
	prev := 0
	for _, a := range append(at, len(p)) {
		out = append(out, piece{prev, a < len(p), p[prev:a]})
		prev = a
	}
	return out
}

// checkWhole asserts skb is the reassembled datagram of payload p.
func checkWhole(t *testing.T, skb *netdev.SkBuff, p []byte) {
	t.Helper()
	if skb == nil {
		t.Fatal("datagram not reassembled")
	}
	defer skb.Free()
	iph, perr := header.ParseIphdr(skb.Data())
	if perr != header.IPOk {
		t.Fatalf("reassembled header invalid: %v", perr)
	}
	if iph.IsFragment() || iph.TotLen() != header.IPv4MinLen+len(p) {
		t.Fatalf("frag_off %#x tot_len %d", iph.FragOff(), iph.TotLen())
	}
	if !bytes.Equal(iph.Payload(), p) {
		t.Fatal("reassembled payload differs")
	}
}

func feed(in *Net, id uint16, ps ...piece) *netdev.SkBuff {
	var out *netdev.SkBuff
	for _, f := range ps {
		if r := in.ipDefrag(fragSkb(id, f.off, f.mf, f.d)); r != nil {
			out = r
		}
	}
	return out
}

func TestDefragOutOfOrder(t *testing.T) {
	in, _, _ := newIPTestStack(t, ktime.NewManual())
	p := fragPayload(3000)
	f := cut(p, 1024, 2048)
	checkWhole(t, feed(in, 1, f[2], f[0], f[1]), p)
	checkWhole(t, feed(in, 2, f[1], f[2], f[0]), p)
	if r, ok := in.mib.Ip.ReasmReqds.Load(), in.mib.Ip.ReasmOKs.Load(); r != 6 || ok != 2 {
		t.Errorf("ReasmReqds %d ReasmOKs %d", r, ok)
	}
	if q, mem := in.dgram.frags.stats(); q != 0 || mem != 0 {
		t.Errorf("%d queues, %d bytes left", q, mem)
	}
}

// TestDefragDuplicate: a fragment again, or one inside what is queued,
// is dropped alone; the datagram still completes.
func TestDefragDuplicate(t *testing.T) {
	in, _, _ := newIPTestStack(t, ktime.NewManual())
	p := fragPayload(4000)
	f := cut(p, 1000, 2000, 3000)
	inside := piece{1008, true, p[1008:1504]} // within the run [0, 2000)
	checkWhole(t, feed(in, 3, f[0], f[0], f[1], inside, f[1], f[3], f[2]), p)
	if v := in.mib.Ip.ReasmFails.Load(); v != 0 {
		t.Errorf("ReasmFails = %d", v)
	}
}

// TestDefragOverlap: a fragment that overlaps queued data in part
// condemns the datagram (RFC 5722, as Linux does for IPv4).
func TestDefragOverlap(t *testing.T) {
	in, _, _ := newIPTestStack(t, ktime.NewManual())
	p := fragPayload(3000)
	if r := feed(in, 4, piece{0, true, p[:1024]}, piece{512, true, p[512:1536]}); r != nil {
		t.Fatal("reassembled across an overlap")
	}
	if v := in.mib.Ip.ReasmFails.Load(); v != 1 {
		t.Errorf("ReasmFails = %d", v)
	}
	if q, mem := in.dgram.frags.stats(); q != 0 || mem != 0 {
		t.Errorf("%d queues, %d bytes left", q, mem)
	}
	// A conflicting end (two different last fragments) fails too.
	if r := feed(in, 5, piece{0, true, p[:1024]}, piece{2048, false, p[2048:3000]}, piece{2048, false, p[2048:2500]}); r != nil {
		t.Fatal("reassembled with two lengths")
	}
	if v := in.mib.Ip.ReasmFails.Load(); v != 2 {
		t.Errorf("ReasmFails = %d", v)
	}
}

// TestDefragTimeout: an incomplete datagram is dropped after 30 s, and
// its sender gets time exceeded (reassembly) if its first fragment came.
func TestDefragTimeout(t *testing.T) {
	clock := ktime.NewManual()
	in, dev, w := newIPTestStack(t, clock)
	p := fragPayload(3000)
	f := cut(p, 1024, 2048)
	feed(in, 6, f[0], f[2])
	feed(in, 7, f[1]) // no first fragment: no ICMP when it expires
	clock.Advance(29 * time.Second)
	if q, _ := in.dgram.frags.stats(); q != 2 {
		t.Fatalf("%d queues before the timeout", q)
	}
	in.neighUpdate(dev, ipv4(10, 0, 0, 1), w.mac, true) // fresh, so no ARP probe timer
	clock.Advance(2 * time.Second)
	if q, mem := in.dgram.frags.stats(); q != 0 || mem != 0 {
		t.Fatalf("%d queues, %d bytes after the timeout", q, mem)
	}
	if v := in.mib.Ip.ReasmTimeout.Load(); v != 2 {
		t.Errorf("ReasmTimeout = %d", v)
	}
	frame := w.expect(netdev.ETH_P_IP)
	iph := header.Iphdr(frame[netdev.EthHlen:])
	icmp := header.Icmphdr(iph.Payload())
	if iph.Protocol() != IPPROTO_ICMP || icmp.Type() != header.ICMP_TIME_EXCEEDED || icmp.Code() != ICMP_EXC_FRAGTIME {
		t.Fatalf("sent proto %d type %d code %d", iph.Protocol(), icmp.Type(), icmp.Code())
	}
	if quoted := header.Iphdr(icmp.Payload()); quoted.ID() != 6 {
		t.Errorf("quotes datagram id %d", quoted.ID())
	}
	if v := in.mib.Icmp.OutType[header.ICMP_TIME_EXCEEDED].Load(); v != 1 {
		t.Errorf("OutTimeExcds = %d", v)
	}
	if clock.Pending() != 0 {
		t.Errorf("%d timers left", clock.Pending())
	}
}

// TestDefragMemoryBound: past ipfrag_high_thresh the oldest datagrams
// are evicted.
func TestDefragMemoryBound(t *testing.T) {
	clock := ktime.NewManual()
	in, _, _ := newIPTestStack(t, clock)
	d := fragPayload(1480)
	for id := range 4000 {
		in.ipDefrag(fragSkb(uint16(id), 0, true, d))
		clock.Advance(time.Millisecond)
	}
	_, mem := in.dgram.frags.stats()
	if mem > sysctlIPFragHighThresh+4096 {
		t.Fatalf("%d bytes queued, bound %d", mem, sysctlIPFragHighThresh)
	}
	if v := in.mib.Ip.ReasmFails.Load(); v == 0 {
		t.Fatal("nothing evicted")
	}
	// The newest datagram survived: completing it works.
	last := uint16(3999)
	checkWhole(t, in.ipDefrag(fragSkb(last, 1480, false, d)), append(append([]byte(nil), d...), d...))
}

// TestFragmentOutput: ip_fragment cuts a datagram into MTU-sized pieces
// with offsets in 8-byte units and MF on all but the last.
func TestFragmentOutput(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	in.neighUpdate(dev, ipv4(10, 0, 0, 1), w.mac, true)
	p := fragPayload(4000)
	skb := netdev.AllocSkb(len(p))
	copy(skb.Put(len(p)), p)
	if err := in.ipBuildAndSendPkt(skb, netip.Addr{}, ipv4(10, 0, 0, 1), 253, 64, 0); err != nil {
		t.Fatal(err)
	}
	skb.Free()
	var got []byte
	for want := 0; want < len(p); {
		f := w.expect(netdev.ETH_P_IP)
		iph, perr := header.ParseIphdr(f[netdev.EthHlen:])
		if perr != header.IPOk || len(f)-netdev.EthHlen > dev.MTU {
			t.Fatalf("fragment invalid (%v) or %d bytes", perr, len(f)-netdev.EthHlen)
		}
		if iph.FragOffset() != want {
			t.Fatalf("offset %d, want %d", iph.FragOffset(), want)
		}
		want += len(iph.Payload())
		if iph.MoreFragments() != (want < len(p)) {
			t.Fatalf("MF wrong at %d", want)
		}
		got = append(got, iph.Payload()...)
	}
	if !bytes.Equal(got, p) {
		t.Fatal("fragments do not add up to the datagram")
	}
}
