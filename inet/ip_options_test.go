package inet

import (
	"testing"

	"sockfs/inet/header"
	"sockfs/netdev"
	"sockfs/netdev/ktime"
)

// withOptions returns an echo request frame for the stack at 10.0.0.2
// whose IP header carries opts (padded by the caller to 4 bytes).
func withOptions(dev *netdev.NetDevice, w *ipWire, opts []byte) []byte {
	e := echoFrame(dev.HWAddr, w.mac, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), 1, 1, []byte("opts"))
	f := make([]byte, 0, len(e)+len(opts))
	f = append(f, e[:netdev.EthHlen+header.IPv4MinLen]...)
	f = append(f, opts...)
	f = append(f, e[netdev.EthHlen+header.IPv4MinLen:]...)
	ip := header.Iphdr(f[netdev.EthHlen:])
	ip[0] = 0x40 | byte((header.IPv4MinLen+len(opts))/4)
	ip.SetTotLen(len(f) - netdev.EthHlen)
	ip.SetCheck()
	return f
}

// TestIPOptionsCompile: ip_options_compile's verdicts, with the pointer
// (offset in the IP header) of the byte at fault.
func TestIPOptionsCompile(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []byte
		ok   bool
		srr  bool
		ptr  int
	}{
		{"NOPs and END", []byte{1, 1, 1, 0}, true, false, 0},
		{"END then garbage", []byte{0, 9, 9, 9}, true, false, 0},
		{"router alert", []byte{148, 4, 0, 0}, true, false, 0},
		{"record route, room for one", []byte{7, 7, 4, 0, 0, 0, 0, 0}, true, false, 0},
		{"record route, full", []byte{7, 7, 8, 1, 2, 3, 4, 0}, true, false, 0},
		{"timestamp only", []byte{68, 8, 5, 0, 0, 0, 0, 0}, true, false, 0},
		{"security", []byte{130, 4, 0, 0}, true, false, 0},
		{"length 0", []byte{7, 0, 0, 0}, false, false, 20},
		{"length 1", []byte{1, 148, 1, 0}, false, false, 21},
		{"length past the header", []byte{1, 1, 68, 40}, false, false, 22},
		{"kind without a length byte", []byte{1, 1, 1, 7}, false, false, 23},
		{"record route pointer below 4", []byte{7, 7, 3, 0, 0, 0, 0, 0}, false, false, 22},
		{"record route pointer mid-slot", []byte{7, 6, 4, 0, 0, 0, 0, 0}, false, false, 22},
		{"timestamp too short", []byte{68, 3, 5, 0}, false, false, 21},
		{"timestamp pointer below 5", []byte{68, 8, 4, 0, 0, 0, 0, 0}, false, false, 22},
		{"timestamp with addresses, no room", []byte{68, 8, 5, 1, 0, 0, 0, 0}, false, false, 22},
		{"timestamp overflow overflows", []byte{68, 4, 5, 0xf0}, false, false, 23},
		{"router alert too short", []byte{148, 2, 0, 0}, false, false, 21},
		{"CIPSO", []byte{134, 8, 0, 0, 0, 1, 0, 0}, false, false, 22},
		{"loose source route", []byte{131, 7, 4, 10, 0, 0, 9, 0}, true, true, 0},
		{"two source routes", []byte{131, 3, 4, 137, 3, 4, 0, 0}, false, false, 23},
		{"source route pointer below 4", []byte{137, 7, 3, 0, 0, 0, 0, 0}, false, false, 22},
	} {
		ip := make([]byte, header.IPv4MinLen+len(c.opts))
		header.Iphdr(ip).Encode(header.IPFields{TotLen: len(ip), TTL: 1, Protocol: IPPROTO_UDP, Options: c.opts})
		ok, srr, ptr := ipOptionsCompile(header.Iphdr(ip))
		if ok != c.ok || srr != c.srr || ptr != c.ptr {
			t.Errorf("%s: ok=%v srr=%v ptr=%d, want %v %v %d", c.name, ok, srr, ptr, c.ok, c.srr, c.ptr)
		}
	}
}

// TestIPOptionsBadDrawsParameterProblem: a ping with a zero-length option
// is not answered; it draws ICMP parameter problem pointing at the option
// and counts in InHdrErrors. A good option still gets the echo reply.
func TestIPOptionsBadDrawsParameterProblem(t *testing.T) {
	in, dev, w := newIPTestStack(t, ktime.NewManual())
	w.send(arpFrame(header.ARPOP_REQUEST, w.mac, [6]byte{}, ipv4(10, 0, 0, 1), ipv4(10, 0, 0, 2), netdev.EthBroadcast))
	w.expect(netdev.ETH_P_ARP)

	w.send(withOptions(dev, w, []byte{1, 1, 7, 0}))
	f := w.expect(netdev.ETH_P_IP)
	ip, _ := header.ParseIphdr(f[netdev.EthHlen:])
	icmp := header.Icmphdr(ip.Payload())
	if icmp.Type() != header.ICMP_PARAMETERPROB || icmp.Code() != 0 || icmp[4] != 22 {
		t.Fatalf("answer type %d code %d pointer %d, want parameter problem at 22", icmp.Type(), icmp.Code(), icmp[4])
	}
	if v := in.mib.Ip.InHdrErrors.Load(); v != 1 {
		t.Fatalf("InHdrErrors = %d", v)
	}
	if v := in.mib.Icmp.OutType[header.ICMP_PARAMETERPROB].Load(); v != 1 {
		t.Fatalf("OutParmProbs = %d", v)
	}

	w.send(withOptions(dev, w, []byte{1, 1, 1, 0}))
	f = w.expect(netdev.ETH_P_IP)
	ip, _ = header.ParseIphdr(f[netdev.EthHlen:])
	if icmp := header.Icmphdr(ip.Payload()); icmp.Type() != header.ICMP_ECHOREPLY {
		t.Fatalf("a good option got type %d", icmp.Type())
	}
}

// FuzzIPOptionsCompile: any option bytes, in a header of any legal length,
// are judged without a panic; a failure points inside the options.
func FuzzIPOptionsCompile(f *testing.F) {
	for _, o := range [][]byte{
		{1, 1, 1, 0}, {7, 0, 0, 0}, {68, 8, 5, 1, 0, 0, 0, 0}, {131, 7, 4, 10, 0, 0, 9, 0},
		{134, 8, 0, 0, 0, 1, 0, 0}, {148, 4, 0, 0}, {68, 4, 5, 0xf0},
	} {
		f.Add(o)
	}
	f.Fuzz(func(t *testing.T, opts []byte) {
		opts = opts[:min(len(opts), 40)]
		for len(opts)%4 != 0 {
			opts = append(opts, 0)
		}
		ip := make([]byte, header.IPv4MinLen+len(opts))
		header.Iphdr(ip).Encode(header.IPFields{TotLen: len(ip), TTL: 1, Protocol: IPPROTO_UDP, Options: opts})
		ok, srr, ptr := ipOptionsCompile(header.Iphdr(ip))
		switch {
		case ok && ptr != 0:
			t.Fatalf("ok with a pointer %d", ptr)
		case !ok && (srr || ptr < header.IPv4MinLen || ptr >= len(ip)):
			t.Fatalf("failure at %d (srr %v) outside the options of %d bytes", ptr, srr, len(opts))
		}
	})
}
