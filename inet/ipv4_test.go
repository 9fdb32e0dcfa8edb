package inet

import (
	"net/netip"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// wire is the far end of a pair, driven by the test as a peer host would
// be: it injects frames and collects what the stack sends.
type ipWire struct {
	t      *testing.T
	end    *netdev.PairEnd
	frames chan []byte
	mac    [6]byte
}

func newIPWire(t *testing.T, end *netdev.PairEnd) *ipWire {
	w := &ipWire{t: t, end: end, frames: make(chan []byte, 256), mac: [6]byte{0x02, 0, 0, 0, 0, 0x99}}
	go end.Receive(func(skb *netdev.SkBuff) {
		w.frames <- append([]byte(nil), skb.Data()...)
		skb.Free()
	})
	return w
}

func (w *ipWire) send(frame []byte) {
	skb := netdev.AllocSkb(len(frame))
	copy(skb.Put(len(frame)), frame)
	if err := w.end.Xmit(skb); err != nil {
		w.t.Fatal(err)
	}
	skb.Free()
}

// expect returns the next frame of the given EtherType, failing after a
// bounded wait.
func (w *ipWire) expect(ethertype uint16) []byte {
	w.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f := <-w.frames:
			if eth, ok := netdev.ParseEthhdr(f); ok && eth.Proto() == ethertype {
				return f
			}
		case <-deadline:
			w.t.Fatalf("no frame of type %#04x", ethertype)
			return nil
		}
	}
}

// newIPTestStack builds one stack on a pair end, addressed 10.0.0.2/24, with
// the test's wire at 10.0.0.1 on the other end.
func newIPTestStack(t *testing.T, clock ktime.Clock) (*Net, *netdev.NetDevice, *ipWire) {
	t.Helper()
	a, b := netdev.NewPair(0)
	h, dev := newTestHost(t, clock, a, 0x02, 1500, "10.0.0.2/24", nil)
	w := newIPWire(t, b)
	return h.Inet, dev, w
}

func arpFrame(op uint16, sha, tha [6]byte, sip, tip netip.Addr, dst [6]byte) []byte {
	f := make([]byte, netdev.EthHlen+header.ARPLen)
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: dst, Source: sha, Proto: netdev.ETH_P_ARP})
	header.Arphdr(f[netdev.EthHlen:]).Encode(header.ARPFields{Op: op, Sha: sha, Tha: tha, Sip: sip.As4(), Tip: tip.As4()})
	return f
}

func TestARPRequestGetsReply(t *testing.T) {
	_, dev, w := newIPTestStack(t, ktime.NewManual())
	w.send(arpFrame(header.ARPOP_REQUEST, w.mac, [6]byte{}, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), netdev.EthBroadcast))
	f := w.expect(netdev.ETH_P_ARP)
	eth, _ := netdev.ParseEthhdr(f)
	arp, ok := header.ParseArphdr(f[netdev.EthHlen:])
	if !ok || arp.Op() != header.ARPOP_REPLY {
		t.Fatalf("not an ARP reply: % x", f)
	}
	if eth.Dest() != w.mac || arp.Tha() != w.mac || arp.Sha() != dev.HWAddr {
		t.Errorf("reply addressed wrongly: eth dst %x tha %x sha %x", eth.Dest(), arp.Tha(), arp.Sha())
	}
	if netip.AddrFrom4(arp.Sip()) != ipv4(10, 0, 0, 2) || netip.AddrFrom4(arp.Tip()) != ipv4(10, 0, 0, 1) {
		t.Errorf("reply carries wrong addresses: %v -> %v", arp.Sip(), arp.Tip())
	}
}

func TestARPRequestForOtherHostIgnored(t *testing.T) {
	_, _, w := newIPTestStack(t, ktime.NewManual())
	w.send(arpFrame(header.ARPOP_REQUEST, w.mac, [6]byte{}, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 77), netdev.EthBroadcast))
	// Ask for ourselves afterwards: the only reply must be to that one.
	w.send(arpFrame(header.ARPOP_REQUEST, w.mac, [6]byte{}, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), netdev.EthBroadcast))
	arp, _ := header.ParseArphdr(w.expect(netdev.ETH_P_ARP)[netdev.EthHlen:])
	if netip.AddrFrom4(arp.Sip()) != ipv4(10, 0, 0, 2) {
		t.Fatalf("answered for %v, which is not ours", netip.AddrFrom4(arp.Sip()))
	}
}

func echoFrame(dstMAC, srcMAC [6]byte, src, dst netip.Addr, id, seq uint16, payload []byte) []byte {
	n := netdev.EthHlen + header.IPv4MinLen + header.ICMPLen + len(payload)
	f := make([]byte, n)
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: dstMAC, Source: srcMAC, Proto: netdev.ETH_P_IP})
	ip := f[netdev.EthHlen:]
	icmp := header.Icmphdr(ip[header.IPv4MinLen:])
	icmp.Encode(header.ICMPFields{Type: header.ICMP_ECHO, ID: id, Sequence: seq})
	copy(icmp[header.ICMPLen:], payload)
	icmp.SetChecksum()
	header.Iphdr(ip).Encode(header.IPFields{TotLen: len(ip), ID: 1, TTL: 64, Protocol: IPPROTO_ICMP, Saddr: src.As4(), Daddr: dst.As4()})
	return f
}

func TestICMPEchoReply(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	// The request for us teaches the stack our MAC, so the reply needs no ARP.
	w.send(arpFrame(header.ARPOP_REQUEST, w.mac, [6]byte{}, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), netdev.EthBroadcast))
	w.expect(netdev.ETH_P_ARP)
	w.send(echoFrame(dev.HWAddr, w.mac, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 0x1234, 7, []byte("hello, ping")))
	f := w.expect(netdev.ETH_P_IP)
	ip, perr := header.ParseIphdr(f[netdev.EthHlen:])
	if perr != header.IPOk {
		t.Fatalf("bad IP header in reply: %v", perr)
	}
	icmp, _ := header.ParseIcmphdr(ip.Payload())
	if icmp.Type() != header.ICMP_ECHOREPLY || icmp.ID() != 0x1234 || icmp.Sequence() != 7 || string(icmp.Payload()) != "hello, ping" {
		t.Fatalf("wrong echo reply: type %d id %#x seq %d payload %q", icmp.Type(), icmp.ID(), icmp.Sequence(), icmp.Payload())
	}
	if !icmp.IsChecksumValid() || ip.Src() != ipv4(10, 0, 0, 2) || ip.Dst() != ipv4(10, 0, 0, 1) {
		t.Fatalf("reply checksum or addresses wrong: %v -> %v", ip.Src(), ip.Dst())
	}
	if got := in.mib.Icmp.OutType[header.ICMP_ECHOREPLY].Load(); got != 1 {
		t.Errorf("OutEchoReps = %d, want 1", got)
	}
}

// TestARPFailureReportsHostUnreachable checks ip_link_failure: packets that
// waited for a neighbour that never answers reach their protocol's error
// handler as host unreachable, after mcast_solicit requests a second apart.
func TestARPFailureReportsHostUnreachable(t *testing.T) {
	clock := ktime.NewManual()
	in, _, w := newIPTestStack(t, clock)
	got := make(chan [2]uint8, 1)
	const testProto = 253 // RFC 3692 experimental
	in.inetAddProtocol(testProto, &NetProtocol{
		Handler:    func(skb *netdev.SkBuff) { skb.Free() },
		ErrHandler: func(skb *netdev.SkBuff, typ, code uint8, info uint32) { got <- [2]uint8{typ, code} },
	})
	skb := netdev.AllocSkb(8)
	copy(skb.Put(8), "payload!")
	if err := in.ipBuildAndSendPkt(skb, netip.Addr{}, ipv4(10, 0, 0, 9), testProto, 64, 0); err != nil {
		t.Fatal(err)
	}
	skb.Free()
	for i := 0; i < sysctlNeighMcastSolicit; i++ {
		arp, ok := header.ParseArphdr(w.expect(netdev.ETH_P_ARP)[netdev.EthHlen:])
		if !ok || arp.Op() != header.ARPOP_REQUEST || netip.AddrFrom4(arp.Tip()) != ipv4(10, 0, 0, 9) {
			t.Fatalf("request %d is not an ARP request for 10.0.0.9", i)
		}
		clock.Advance(sysctlNeighRetransTimeMs * time.Millisecond)
	}
	select {
	case tc := <-got:
		if tc != [2]uint8{header.ICMP_DEST_UNREACH, header.ICMP_HOST_UNREACH} {
			t.Fatalf("error handler got type %d code %d", tc[0], tc[1])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("error handler never called")
	}
	// icmp_send's message went to ourselves through lo: counted sent and
	// received, as Linux's netstat -s shows it.
	ic := &in.mib.Icmp
	if ic.OutMsgs.Load() != 1 || ic.InMsgs.Load() != 1 || ic.InErrors.Load() != 0 ||
		ic.OutType[header.ICMP_DEST_UNREACH].Load() != 1 || ic.InType[header.ICMP_DEST_UNREACH].Load() != 1 {
		t.Fatalf("Icmp OutMsgs %d InMsgs %d InErrors %d OutDestUnreachs %d InDestUnreachs %d, want 1 1 0 1 1",
			ic.OutMsgs.Load(), ic.InMsgs.Load(), ic.InErrors.Load(), ic.OutType[header.ICMP_DEST_UNREACH].Load(), ic.InType[header.ICMP_DEST_UNREACH].Load())
	}
}

func TestRouteOutput(t *testing.T) {
	in, dev, _ := newIPTestStack(t, ktime.NewManual())
	if _, err := in.ipRouteOutput(ipv4(192, 0, 2, 1), netip.Addr{}); err != socket.ENETUNREACH {
		t.Fatalf("no route: got %v, want ENETUNREACH", err)
	}
	rt, err := in.ipRouteOutput(ipv4(10, 0, 0, 7), netip.Addr{})
	if err != nil || rt.Dev != dev || rt.Gateway.IsValid() || rt.PrefSrc != ipv4(10, 0, 0, 2) {
		t.Fatalf("connected route wrong: %+v %v", rt, err)
	}
	if err := in.SetGateway(ipv4(192, 0, 2, 1)); err == nil {
		t.Fatal("gateway off-link accepted")
	}
	if err := in.SetGateway(ipv4(10, 0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	rt, err = in.ipRouteOutput(ipv4(192, 0, 2, 1), netip.Addr{})
	if err != nil || rt.Gateway != ipv4(10, 0, 0, 1) || rt.nexthop(ipv4(192, 0, 2, 1)) != ipv4(10, 0, 0, 1) {
		t.Fatalf("default route wrong: %+v %v", rt, err)
	}
	if _, err := in.ipRouteOutput(ipv4(10, 0, 0, 7), ipv4(10, 0, 0, 50)); err != socket.ENETUNREACH {
		t.Fatalf("foreign source: got %v, want ENETUNREACH", err)
	}
	if rt, _ := in.ipRouteOutput(ipv4(10, 0, 0, 2), netip.Addr{}); rt == nil || rt.Type != RTN_LOCAL {
		t.Fatalf("own address not routed locally: %+v", rt)
	}
}

// TestInetCreateErrors checks inet_create's answers for each bad triple.
func TestInetCreateErrors(t *testing.T) {
	in, _, _ := newIPTestStack(t, ktime.NewManual())
	sb := &ipv4TestSB{}
	for _, c := range []struct {
		typ   socket.SockType
		proto int
		want  error
	}{
		{socket.SOCK_STREAM, socket.IPPROTO_UDP, socket.EPROTONOSUPPORT},
		{5, 0, socket.ESOCKTNOSUPPORT}, // SOCK_SEQPACKET has no inetsw row
		{socket.SOCK_STREAM, 300, socket.EINVAL},
		{socket.SOCK_STREAM, -1, socket.EINVAL},
	} {
		_, err := socket.SockCreate(t.Context(), in.sn, sb, socket.AF_INET, c.typ, c.proto)
		if err != c.want {
			t.Errorf("socket(AF_INET, %d, %d) = %v, want %v", c.typ, c.proto, err, c.want)
		}
	}
	if _, err := socket.SockCreate(t.Context(), in.sn, sb, 10, socket.SOCK_STREAM, 0); err != socket.EAFNOSUPPORT {
		t.Errorf("AF_INET6: %v, want EAFNOSUPPORT", err)
	}
	if sb.live() != 0 {
		t.Errorf("%d inodes left behind by failed creates", sb.live())
	}
}

// TestOpsTablesHaveNoNilSlots (STYLE.md item 2): an unsupported operation
// must be a sock_no_* function, never nil, in every proto_ops table of
// inetsw; and each table and proto names itself for net/protocols and the
// trace. Slots are found by reflection, so a slot added to ProtoOps is
// checked too.
func TestOpsTablesHaveNoNilSlots(t *testing.T) {
	in, _, _ := newIPTestStack(t, ktime.NewManual())
	rows := in.inetswArray()
	if got := len(in.Protosw()); got != len(rows) {
		t.Errorf("inetsw holds %d rows, inetswArray %d", got, len(rows))
	}
	for _, p := range rows {
		o := reflect.ValueOf(p.Ops).Elem()
		for i := range o.NumField() {
			f := o.Field(i)
			if f.Kind() == reflect.Func && f.IsNil() {
				t.Errorf("%s (%v, %d): %s.%s is nil", p.Prot.Name, p.Type, p.Protocol, p.Ops.Name, o.Type().Field(i).Name)
			}
		}
		if p.Ops.Name == "" || p.Prot.Name == "" {
			t.Errorf("%s (%v, %d): unnamed table: ops %q", p.Prot.Name, p.Type, p.Protocol, p.Ops.Name)
		}
		// The trace names a proto's slot by its XName field: set exactly
		// when the slot is.
		pr := p.Prot
		for slot, named := range map[string][2]bool{
			"Sendmsg":    {pr.Sendmsg != nil, pr.SendmsgName != ""},
			"Recvmsg":    {pr.Recvmsg != nil, pr.RecvmsgName != ""},
			"Close":      {pr.Close != nil, pr.CloseName != ""},
			"Shutdown":   {pr.Shutdown != nil, pr.ShutdownName != ""},
			"Disconnect": {pr.Disconnect != nil, pr.DisconnectName != ""},
		} {
			if named[0] != named[1] {
				t.Errorf("%s: slot %s set %v, its name set %v", pr.Name, slot, named[0], named[1])
			}
		}
	}
}

// ipv4TestSB is the tests' sockfs superblock: it numbers sockets and
// counts the live ones, safely from any goroutine.
type ipv4TestSB struct {
	next atomic.Uint64
	n    atomic.Int64
}

func (sb *ipv4TestSB) SockAlloc(socket.Cred) (*socket.Socket, error) {
	sb.n.Add(1)
	return &socket.Socket{Ino: sb.next.Add(1), Wq: new(socket.WaitQueue)}, nil
}

func (sb *ipv4TestSB) SockFree(*socket.Socket) { sb.n.Add(-1) }

// live is how many sockets are allocated and not freed.
func (sb *ipv4TestSB) live() int64 { return sb.n.Load() }
