package inet

import (
	"testing"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
	"sockfs/socket"
)

// TestICMPPortUnreachable: a datagram to a closed port is answered with
// destination unreachable (port) quoting it.
func TestICMPPortUnreachable(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	in.neighUpdate(dev, ipv4(10, 0, 0, 1), w.mac, true)
	w.send(udpFrame(dev.HWAddr, w.mac, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 4000, 9, []byte("closed?"), true))
	f := w.expect(netdev.ETH_P_IP)
	iph := header.Iphdr(f[netdev.EthHlen:])
	icmp := header.Icmphdr(iph.Payload())
	if icmp.Type() != header.ICMP_DEST_UNREACH || icmp.Code() != header.ICMP_PORT_UNREACH || !icmp.IsChecksumValid() {
		t.Fatalf("got type %d code %d", icmp.Type(), icmp.Code())
	}
	quoted := header.Iphdr(icmp.Payload())
	if quoted.Protocol() != IPPROTO_UDP || header.Udphdr(quoted[quoted.Ihl():]).Dest() != 9 {
		t.Fatalf("quote % x", icmp.Payload())
	}
	if v := in.mib.Udp.NoPorts.Load(); v != 1 {
		t.Errorf("NoPorts = %d", v)
	}
}

// TestICMPRateLimit: unreachables beyond the burst are not sent, and are
// counted.
func TestICMPRateLimit(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	in.neighUpdate(dev, ipv4(10, 0, 0, 1), w.mac, true)
	for i := range sysctlICMPMsgsBurst + 10 {
		w.send(udpFrame(dev.HWAddr, w.mac, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 4000, uint16(100+i), nil, true))
	}
	idleCheck(t, "every datagram to a closed port", func() bool { return in.mib.Udp.NoPorts.Load() == sysctlICMPMsgsBurst+10 })
	if v := in.mib.Icmp.OutType[header.ICMP_DEST_UNREACH].Load(); v != sysctlICMPMsgsBurst {
		t.Errorf("sent %d unreachables, want %d", v, sysctlICMPMsgsBurst)
	}
	if v := in.mib.Icmp.OutRateLimitGlobal.Load(); v != 10 {
		t.Errorf("OutRateLimitGlobal = %d", v)
	}
}

// icmpErrFrame is an ICMP error from the wire about a UDP datagram the
// stack sent from sport to 10.0.0.1:dport.
func icmpErrFrame(w *ipWire, dstMAC [6]byte, typ, code uint8, sport, dport uint16) []byte {
	orig := udpFrame(w.mac, dstMAC, ipv4(10, 0, 0, 2), ipv4(10, 0, 0, 1), sport, dport, []byte("data"), true)[netdev.EthHlen:]
	body := make([]byte, header.ICMPLen+len(orig))
	h := header.Icmphdr(body)
	h.Encode(header.ICMPFields{Type: typ, Code: code})
	copy(body[header.ICMPLen:], orig)
	h.SetChecksum()
	f := make([]byte, netdev.EthHlen+header.IPv4MinLen+len(body))
	netdev.Ethhdr(f).Encode(netdev.EthFields{Dest: dstMAC, Source: w.mac, Proto: netdev.ETH_P_IP})
	header.Iphdr(f[netdev.EthHlen:]).Encode(header.IPFields{TotLen: header.IPv4MinLen + len(body), ID: 9, TTL: 64,
		Protocol: IPPROTO_ICMP, Saddr: [4]byte{10, 0, 0, 1}, Daddr: [4]byte{10, 0, 0, 2}})
	copy(f[netdev.EthHlen+header.IPv4MinLen:], body)
	return f
}

// TestICMPErrorsToSockets: each hard ICMP error reaches the connected
// socket it is about as its errno; soft ones do not, as on Linux.
func TestICMPErrorsToSockets(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	in.neighUpdate(dev, ipv4(10, 0, 0, 1), w.mac, true)
	sb := &ipv4TestSB{}
	for _, c := range []struct {
		typ, code uint8
		want      socket.Errno
	}{
		{header.ICMP_DEST_UNREACH, header.ICMP_PORT_UNREACH, socket.ECONNREFUSED},
		{header.ICMP_DEST_UNREACH, header.ICMP_HOST_UNKNOWN, socket.EHOSTUNREACH},
		{header.ICMP_DEST_UNREACH, header.ICMP_NET_UNKNOWN, socket.ENETUNREACH},
		{header.ICMP_DEST_UNREACH, header.ICMP_PROT_UNREACH, socket.ENOPROTOOPT},
		{header.ICMP_PARAMETERPROB, 0, socket.EPROTO},
		{header.ICMP_DEST_UNREACH, header.ICMP_HOST_UNREACH, 0}, // soft
		{header.ICMP_TIME_EXCEEDED, 0, 0},                       // soft
	} {
		s, err := socket.SockCreate(t.Context(), in.sn, sb, socket.AF_INET, socket.SOCK_DGRAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := socket.Connect(t.Context(), s, ap("10.0.0.1:4444"), 0); err != nil {
			t.Fatal(err)
		}
		local, _ := socket.Getname(s, false)
		before := in.mib.Icmp.InMsgs.Load()
		w.send(icmpErrFrame(w, dev.HWAddr, c.typ, c.code, local.Port(), 4444))
		idleCheck(t, "the ICMP received", func() bool { return in.mib.Icmp.InMsgs.Load() == before+1 })
		sk := s.Sk.SK()
		sk.Mu.Lock()
		got := sk.Err
		sk.Mu.Unlock()
		if got != c.want {
			t.Errorf("ICMP %d/%d: sk_err %v, want %v", c.typ, c.code, got, c.want)
		}
		socket.SockRelease(s)
	}
}
