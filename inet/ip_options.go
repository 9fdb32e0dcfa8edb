package inet

import (
	"sockfs/inet/header"
	"sockfs/netdev"
)

// IP options on receive (net/ipv4/ip_options.c, RFC 791 §3.1). Options are
// validated as ip_options_compile does and a malformed one drops the packet
// with ICMP parameter problem pointing at the offending byte; valid ones
// are not acted on (no record-route or timestamp is filled in, nothing is
// echoed), and a source route is dropped as accept_source_route=0 does.

// IP option types (include/uapi/linux/ip.h).
const (
	IPOPT_END       = 0
	IPOPT_NOOP      = 1
	IPOPT_RR        = 7
	IPOPT_TIMESTAMP = 68
	IPOPT_SEC       = 130
	IPOPT_LSRR      = 131
	IPOPT_CIPSO     = 134
	IPOPT_SID       = 136
	IPOPT_SSRR      = 137
	IPOPT_RA        = 148

	IPOPT_TS_TSONLY    = 0
	IPOPT_TS_TSANDADDR = 1
	IPOPT_TS_PRESPEC   = 3
)

// ipOptionsCompile is __ip_options_compile for a received header: it
// returns ok, whether a source route is present, and on failure the offset
// from the start of the IP header of the byte at fault (pp_ptr - iph).
func ipOptionsCompile(iph header.Iphdr) (ok, srr bool, ptr int) {
	opts := iph[header.IPv4MinLen:iph.Ihl()]
	base := header.IPv4MinLen
	var seenSrr bool
	for i := 0; i < len(opts); {
		l := len(opts) - i
		switch opts[i] {
		case IPOPT_END:
			return true, seenSrr, 0
		case IPOPT_NOOP:
			i++
			continue
		}
		if l < 2 {
			return false, false, base + i
		}
		optlen := int(opts[i+1])
		if optlen < 2 || optlen > l {
			return false, false, base + i
		}
		o := opts[i : i+optlen]
		switch o[0] {
		case IPOPT_SSRR, IPOPT_LSRR:
			if optlen < 3 {
				return false, false, base + i + 1
			}
			if o[2] < 4 {
				return false, false, base + i + 2
			}
			if seenSrr { // RFC 1812 §5.2.4.1: one source route only
				return false, false, base + i
			}
			seenSrr = true
		case IPOPT_RR:
			if optlen < 3 {
				return false, false, base + i + 1
			}
			if o[2] < 4 {
				return false, false, base + i + 2
			}
			if int(o[2]) <= optlen && int(o[2])+3 > optlen {
				return false, false, base + i + 2
			}
		case IPOPT_TIMESTAMP:
			if optlen < 4 {
				return false, false, base + i + 1
			}
			if o[2] < 5 {
				return false, false, base + i + 2
			}
			if int(o[2]) <= optlen {
				if int(o[2])+3 > optlen {
					return false, false, base + i + 2
				}
				switch o[3] & 0xf {
				case IPOPT_TS_TSANDADDR, IPOPT_TS_PRESPEC:
					if int(o[2])+7 > optlen {
						return false, false, base + i + 2
					}
				}
			} else if o[3]&0xf != IPOPT_TS_PRESPEC && o[3]>>4 == 15 {
				return false, false, base + i + 3 // the overflow count overflows
			}
		case IPOPT_RA:
			if optlen < 4 {
				return false, false, base + i + 1
			}
		case IPOPT_CIPSO:
			// cipso_v4_validate: no CIPSO DOI is configured, so every
			// label fails: too short at its length, else at its DOI.
			if optlen < 8 {
				return false, false, base + i + 1
			}
			return false, false, base + i + 2
		}
		i += optlen
	}
	return true, seenSrr, 0
}

// ipRcvOptions is ip_rcv_options: it reports whether the packet must be
// dropped. A malformed option draws ICMP parameter problem and counts in
// IpInHdrErrors; a source route is dropped silently.
func (in *Net) ipRcvOptions(skb *netdev.SkBuff, iph header.Iphdr) bool {
	ok, srr, ptr := ipOptionsCompile(iph)
	if !ok {
		in.mib.Ip.InHdrErrors.Add(1)
		in.icmpSend(skb, header.ICMP_PARAMETERPROB, 0, uint32(ptr)<<24)
		return true
	}
	return srr
}
