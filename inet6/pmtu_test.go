package inet6

import (
	"context"
	"net/netip"
	"testing"

	"sockfs/inet6/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// udpFrames takes every IPv6 packet the stack has put on the wire (after
// stackIdle) whose next header is nh, fragments included.
func (w *wire) udpFrames(nh uint8) []header.Ipv6hdr {
	var out []header.Ipv6hdr
	for {
		select {
		case f := <-w.frames:
			h := header.Ipv6hdr(f[netdev.EthHlen:])
			if len(f) < netdev.EthHlen+header.IPv6Len || h.Version() != 6 {
				continue
			}
			x, _ := header.Ipv6SkipExthdr(h.Nexthdr(), h.Payload())
			if x.Nexthdr == nh || h.Nexthdr() == header.NEXTHDR_FRAGMENT {
				out = append(out, h)
			}
		default:
			return out
		}
	}
}

// packetTooBig is what a router at from sends to to about pkt: type 2,
// the MTU, and as much of pkt as fits in IPV6_MIN_MTU (RFC 4443 §3.2).
func packetTooBig(from, to netip.Addr, mtu uint32, pkt []byte) []byte {
	return icmp6Error(from, to, header.ICMPV6_PKT_TOOBIG, 0, mtu, pkt)
}

// icmp6Error is an ICMPv6 error of type typ and code from a router at
// from to to, quoting as much of pkt (an IPv6 packet we sent) as fits in
// 1280 bytes (RFC 4443 §2.4 (c)), data32 in its second word.
func icmp6Error(from, to netip.Addr, typ, code uint8, data32 uint32, pkt []byte) []byte {
	q := min(len(pkt), header.IPV6_MIN_MTU-header.IPv6Len-header.ICMP6Len)
	b := make([]byte, header.ICMP6Len+q)
	m := header.Icmp6hdr(b)
	m.Encode(header.ICMP6Fields{Type: typ, Code: code, Data32: data32})
	copy(b[header.ICMP6Len:], pkt[:q])
	m.SetChecksum(from.As16(), to.As16())
	return ip6Packet(from, to, header.NEXTHDR_ICMP, 255, b)
}

// RFC 8201 over a router (the wire, our gateway): a packet too big for a
// far destination lowers its path MTU to what the router said, which a
// connected UDP socket reads in IPV6_MTU and gets once as EMSGSIZE (its
// default IPV6_PMTUDISC_WANT); afterwards the source fragments to 1280
// under WANT, refuses with EMSGSIZE under DO, sizes by the device under
// PROBE; the exception expires after ten minutes, and an MTU below 1280
// is taken as 1280.
func TestUDPv6PacketTooBig(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	u := newUDPHost(t, pa, clk, 2)
	w := newWire(t, pb)
	u.n.ndTbl.NeighUpdate(u.dev, w.addr, w.mac, true)
	if err := u.n.SetGateway(w.addr); err != nil {
		t.Fatal(err)
	}
	far := netip.MustParseAddr("2001:2:0:ff::5")
	sock := u.socket(t)
	ctx := context.Background()
	get := func(opt int) int {
		t.Helper()
		v, err := socket.Getsockopt(sock, socket.SOL_IPV6, opt)
		if err != nil {
			t.Fatalf("getsockopt(%d): %v", opt, err)
		}
		return v
	}
	set := func(opt, val int) {
		t.Helper()
		if err := socket.Setsockopt(sock, socket.SOL_IPV6, opt, val); err != nil {
			t.Fatalf("setsockopt(%d, %d): %v", opt, val, err)
		}
	}
	send := func(n int) error {
		t.Helper()
		_, err := socket.Sendto(ctx, sock, make([]byte, n), 0, netip.AddrPort{})
		stackIdle(t)
		return err
	}
	if v := get(socket.IPV6_MTU_DISCOVER); v != socket.IPV6_PMTUDISC_WANT {
		t.Fatalf("IPV6_MTU_DISCOVER %d, want WANT", v)
	}
	for _, bad := range []int{-1, 6} {
		if err := socket.Setsockopt(sock, socket.SOL_IPV6, socket.IPV6_MTU_DISCOVER, bad); err != socket.EINVAL {
			t.Fatalf("IPV6_MTU_DISCOVER %d: %v, want EINVAL", bad, err)
		}
	}
	if err := socket.Connect(ctx, sock, netip.AddrPortFrom(far, 9), 0); err != nil {
		t.Fatal(err)
	}
	if v := get(socket.IPV6_MTU); v != 1500 {
		t.Fatalf("IPV6_MTU %d before, want 1500", v)
	}
	if err := send(1400); err != nil {
		t.Fatal(err)
	}
	fs := w.udpFrames(header.NEXTHDR_UDP)
	if len(fs) != 1 || len(fs[0]) != header.IPv6Len+8+1400 {
		t.Fatalf("%d packets before the packet too big, want one whole", len(fs))
	}
	w.send(u.dev.HWAddr, packetTooBig(w.addr, u.addr, 1280, fs[0]))
	stackIdle(t)
	if v := get(socket.IPV6_MTU); v != 1280 {
		t.Fatalf("IPV6_MTU %d after packet too big, want 1280", v)
	}
	if err := send(1400); err != socket.EMSGSIZE {
		t.Fatalf("send after packet too big: %v, want the pending EMSGSIZE", err)
	}
	if err := send(1400); err != nil {
		t.Fatal(err)
	}
	set(socket.IPV6_MTU_DISCOVER, socket.IPV6_PMTUDISC_DO)
	w.send(u.dev.HWAddr, packetTooBig(w.addr, u.addr, 1280, fs[0]))
	stackIdle(t)
	if err := send(1400); err != socket.EMSGSIZE {
		t.Fatalf("DO, pending EMSGSIZE and 1400 bytes: %v, want EMSGSIZE", err)
	}
	if err := send(100); err != socket.EMSGSIZE {
		t.Fatalf("DO: a datagram that fits: %v, want the pending EMSGSIZE, which the size check left", err)
	}
	set(socket.IPV6_MTU_DISCOVER, socket.IPV6_PMTUDISC_WANT)
	fs = w.udpFrames(header.NEXTHDR_UDP)
	if len(fs) != 2 || fs[0].Nexthdr() != header.NEXTHDR_FRAGMENT {
		t.Fatalf("WANT: %d packets, want two fragments", len(fs))
	}
	for _, f := range fs {
		if len(f) > 1280 {
			t.Fatalf("WANT: a %d-byte fragment over the 1280 path MTU", len(f))
		}
	}
	set(socket.IPV6_MTU_DISCOVER, socket.IPV6_PMTUDISC_DO)
	if err := send(1400); err != socket.EMSGSIZE {
		t.Fatalf("DO, 1400 bytes: %v, want EMSGSIZE", err)
	}
	if err := send(1280 - header.IPv6Len - 8); err != nil {
		t.Fatalf("DO, a datagram of the path MTU: %v", err)
	}
	set(socket.IPV6_MTU_DISCOVER, socket.IPV6_PMTUDISC_PROBE)
	if err := send(1400); err != nil {
		t.Fatal(err)
	}
	fs = w.udpFrames(header.NEXTHDR_UDP)
	if len(fs) != 2 || len(fs[1]) != header.IPv6Len+8+1400 {
		t.Fatalf("PROBE: %d packets, want the DO one and a whole 1400-byte one", len(fs))
	}
	clk.Advance(ip6RtMtuExpires)
	if v := get(socket.IPV6_MTU); v != 1500 {
		t.Fatalf("IPV6_MTU %d ten minutes on, want 1500", v)
	}
	set(socket.IPV6_MTU_DISCOVER, socket.IPV6_PMTUDISC_DONT)
	w.send(u.dev.HWAddr, packetTooBig(w.addr, u.addr, 1000, fs[1]))
	stackIdle(t)
	if v := get(socket.IPV6_MTU); v != header.IPV6_MIN_MTU {
		t.Fatalf("IPV6_MTU %d after a packet too big of 1000, want 1280", v)
	}
	if err := send(10); err != nil {
		t.Fatalf("DONT: %v, want no pending error", err)
	}
}

// A packet too big quoting an echo request lowers the path MTU whether or
// not a socket sent it (icmpv6_err), and a ping socket under DO then gets
// EMSGSIZE for an echo over it.
func TestPingv6PacketTooBig(t *testing.T) {
	pa, pb := netdev.NewPair(1024)
	clk := ktime.NewManual()
	u := newUDPHost(t, pa, clk, 2)
	w := newWire(t, pb)
	u.n.ndTbl.NeighUpdate(u.dev, w.addr, w.mac, true)
	if err := u.n.SetGateway(w.addr); err != nil {
		t.Fatal(err)
	}
	far := netip.MustParseAddr("2001:2:0:ff::6")
	sock, err := socket.SockCreate(context.Background(), u.h.SockNet, u.sb, socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sock.Ops.Release(sock) })
	echo := make([]byte, 1400)
	echo[0] = header.ICMPV6_ECHO_REQUEST
	if _, err := socket.Sendto(context.Background(), sock, echo, 0, netip.AddrPortFrom(far, 0)); err != nil {
		t.Fatal(err)
	}
	stackIdle(t)
	fs := w.udpFrames(header.NEXTHDR_ICMP)
	if len(fs) != 1 {
		t.Fatalf("%d packets, want one echo request", len(fs))
	}
	w.send(u.dev.HWAddr, packetTooBig(w.addr, u.addr, 1300, fs[0]))
	stackIdle(t)
	dev, nexthop, _ := u.n.ip6RouteOutput(far)
	if m := u.n.ip6DstMtu(dev, nexthop, far); m != 1300 {
		t.Fatalf("path MTU %d, want 1300", m)
	}
	if err := socket.Setsockopt(sock, socket.SOL_IPV6, socket.IPV6_MTU_DISCOVER, socket.IPV6_PMTUDISC_DO); err != nil {
		t.Fatal(err)
	}
	if _, err := socket.Sendto(context.Background(), sock, echo, 0, netip.AddrPortFrom(far, 0)); err != socket.EMSGSIZE {
		t.Fatalf("DO: %v, want EMSGSIZE", err)
	}
}
