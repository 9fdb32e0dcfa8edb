package header_test

import (
	"encoding/hex"
	"testing"

	"sockfs/inet/header"
)

// Real Ethernet frames captured with tcpdump on a veth pair between two
// network namespaces (10.0.0.1 d2:46:ab:10:b4:d6 <-> 10.0.0.2
// f6:d2:cf:7e:b3:f6) on Linux, with transmit checksum offload turned off
// (ethtool -K vethN tx off) so every checksum on the wire is final. The
// traffic: arping, ping -c1, a Python TCP connect that sent "hello\n", and a
// DNS-like UDP query to the closed port 53, which drew an ICMP port
// unreachable. veth does not pad short frames, so the ARP frames are 42
// bytes; tests add the 802.3 padding themselves where they need it.
var (
	// The kernel's ARP request for 10.0.0.2 (target hardware address zero).
	frameARPRequest = unhex("ffffffffffffd246ab10b4d60806" +
		"0001080006040001d246ab10b4d60a0000010000000000000a000002")
	// arping's request: target hardware address set to broadcast.
	frameARPingRequest = unhex("ffffffffffffd246ab10b4d60806" +
		"0001080006040001d246ab10b4d60a000001ffffffffffff0a000002")
	frameARPReply = unhex("d246ab10b4d6f6d2cf7eb3f60806" +
		"0001080006040002f6d2cf7eb3f60a000002d246ab10b4d60a000001")

	// ping: echo request id 5321 seq 1 with 56 bytes of data, and the reply.
	frameICMPEcho = unhex("f6d2cf7eb3f6d246ab10b4d60800" +
		"45000054c2624000400164440a0000010a000002" +
		"0800bcd314c90001" +
		"c322026b000000009d01050000000000101112131415161718191a1b1c1d1e1f" +
		"202122232425262728292a2b2c2d2e2f3031323334353637")
	frameICMPEchoReply = unhex("d246ab10b4d6f6d2cf7eb3f60800" +
		"45000054fa57000040016c4f0a0000020a000001" +
		"0000c4d314c90001" +
		"c322026b000000009d01050000000000101112131415161718191a1b1c1d1e1f" +
		"202122232425262728292a2b2c2d2e2f3031323334353637")

	// 10.0.0.1:33468 -> 10.0.0.2:8080 SYN: mss 1460, sackOK, TS val
	// 967254590 ecr 0, nop, wscale 10.
	frameTCPSyn = unhex("f6d2cf7eb3f6d246ab10b4d60800" +
		"4500003ce956400040063d630a0000010a000002" +
		"82bc1f90e292ca6a00000000a002faf08dda0000020405b40402080a39a7223e000000000103030a")
	// The SYN-ACK: mss 1460, sackOK, TS val 1724462081 ecr 967254590, nop,
	// wscale 10; IP id 0 as Linux sends it on a SYN-ACK with DF.
	frameTCPSynAck = unhex("d246ab10b4d6f6d2cf7eb3f60800" +
		"4500003c00004000400626ba0a0000020a000001" +
		"1f9082bc0cf4daede292ca6ba012fe8807850000020405b40402080a66c9340139a7223e0103030a")
	// The third-handshake ACK: nop, nop, TS.
	frameTCPAck = unhex("f6d2cf7eb3f6d246ab10b4d60800" +
		"45000034e957400040063d6a0a0000010a000002" +
		"82bc1f90e292ca6b0cf4daee8010003f349e00000101080a39a7223e66c93401")
	// PSH|ACK carrying "hello\n".
	frameTCPData = unhex("f6d2cf7eb3f6d246ab10b4d60800" +
		"4500003ae958400040063d630a0000010a000002" +
		"82bc1f90e292ca6b0cf4daee8018003ff0b300000101080a39a7223e66c93401" +
		"68656c6c6f0a")

	// 10.0.0.1:40000 -> 10.0.0.2:53, a DNS query "A? example.com" (id
	// 0x1234, RD). UDP length 37: odd, so its checksum pads a zero byte.
	frameUDPDNS = unhex("f6d2cf7eb3f6d246ab10b4d60800" +
		"4500003905df4000401120d30a0000010a000002" +
		"9c40003500256d8a" +
		"123401000001000000000000076578616d706c6503636f6d0000010001")
	// The ICMP port unreachable (tos 0xc0) quoting the whole UDP datagram.
	frameICMPPortUnreach = unhex("d246ab10b4d6f6d2cf7eb3f60800" +
		"45c00055fac3000040016b220a0000020a000001" +
		"0303113600000000" +
		"4500003905df4000401120d30a0000010a0000029c40003500256d8a12340100" +
		"0001000000000000076578616d706c6503636f6d0000010001")
)

const ethHlen = 14

var (
	addr1 = [4]byte{10, 0, 0, 1}
	addr2 = [4]byte{10, 0, 0, 2}
	mac1  = [6]byte{0xd2, 0x46, 0xab, 0x10, 0xb4, 0xd6}
	mac2  = [6]byte{0xf6, 0xd2, 0xcf, 0x7e, 0xb3, 0xf6}
)

// unhex decodes a hex literal written in this package's tests; a typo is a
// test bug, so it panics.
func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// l3 is a fresh copy of the frame's network-layer bytes, so a test may
// mutate it without touching the shared literal.
func l3(frame []byte) []byte { return append([]byte(nil), frame[ethHlen:]...) }

// l4 is a fresh copy of the transport bytes of an IPv4 frame without
// options.
func l4(frame []byte) []byte { return append([]byte(nil), frame[ethHlen+header.IPv4MinLen:]...) }

// mustIP parses the IPv4 header of a captured frame.
func mustIP(t testing.TB, frame []byte) header.Iphdr {
	t.Helper()
	h, e := header.ParseIphdr(l3(frame))
	if e != header.IPOk {
		t.Fatalf("ParseIphdr of a captured frame: %v", e)
	}
	return h
}

// transportSum verifies a TCP or UDP segment carried in ip: the one's
// complement sum over pseudo-header and segment, folded, is 0 when the
// checksum is right.
func transportSum(ip header.Iphdr) uint16 {
	seg := ip.Payload()
	return header.Fold(header.Checksum(seg, header.PseudoHeaderSum(ip.Saddr(), ip.Daddr(), ip.Protocol(), len(seg))))
}
