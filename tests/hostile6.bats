#!/usr/bin/env bats
# Hostile input over IPv6 (issue 12): what tests/hostile.bats gives IPv4,
# crafted on the kernel's end of the TAP by tests/lib/frames.py (AF_PACKET,
# bounded counts). The kernel is the reference where it can be shown the
# same frames: a veth pair in the suite's namespace, the kernel's side
# holding 2001:2:0:9::1, frames.py writing on the other.

load helpers

FRAMES=$ROOT/tests/lib/frames.py
STACK6=2001:2::2
KREF6=2001:2:0:9::1
KVETH=sft-h6k
FVETH=sft-h6f

setup_file() {
	sockfsd_start sft-host6
	wait_until 10 grep -q "^20010002000000000000000000000002 [0-9a-f]* 40 00 80 " "$M/net/if_inet6"
	ip link add "$KVETH" type veth peer name "$FVETH"
	sysctl -qw "net.ipv6.conf.$FVETH.disable_ipv6=1" # frames.py's side says nothing itself
	ip link set "$KVETH" up
	ip link set "$FVETH" up
	ip addr add "$KREF6/64" dev "$KVETH" nodad
}

teardown_file() {
	ip link del "$KVETH" 2>/dev/null || true
	sockfsd_stop
}

teardown() { common_teardown; }

# frames6 ARGS: frames.py at the stack's IPv6 address, its MAC found by an
# NS from the kernel's; kframes6 ARGS: the same at the kernel's veth.
frames6() { timeout 30 python3 "$FRAMES" "$TAP" "$STACK6" --arp-from 2001:2::1 "$@"; }
kframes6() { timeout 30 python3 "$FRAMES" "$FVETH" "$KREF6" --arp-from 2001:2:0:9::99 "$@"; }

# snmp6 FILE NAME: a counter of a /proc/net/snmp6 style file.
snmp6() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

@test "martian sources over IPv6 (::1, a group) are dropped as Ip6InHdrErrors, our own address as Ip6InAddrErrors; the kernel drops the first two alike" {
	hdr0=$(snmp6 "$M/net/snmp6" Ip6InHdrErrors)
	addr0=$(snmp6 "$M/net/snmp6" Ip6InAddrErrors)
	got=$(for src in ::1 ff02::1 "$STACK6" 2001:2::1; do frames6 --timeout 2 echo6 --src "$src"; done)
	echo "sockfs: $got"
	[ "$got" = "none
none
none
icmp6 type=129 code=0" ]
	(($(snmp6 "$M/net/snmp6" Ip6InHdrErrors) - hdr0 == 2))
	(($(snmp6 "$M/net/snmp6" Ip6InAddrErrors) - addr0 == 1))

	khdr0=$(snmp6 /proc/net/snmp6 Ip6InHdrErrors)
	kernel=$(for src in ::1 ff02::1 2001:2:0:9::99; do kframes6 --timeout 2 echo6 --src "$src"; done)
	echo "kernel: $kernel"
	[ "$kernel" = "none
none
icmp6 type=129 code=0" ]
	(($(snmp6 /proc/net/snmp6 Ip6InHdrErrors) - khdr0 == 2))
}

@test "an unsolicited NS makes a STALE entry, which the first packet through it re-checks with a unicast NS, as the kernel's" {
	run frames6 --timeout 8 ns6 --src 2001:2::77 --mac 02:00:00:00:00:77 --probe
	echo "sockfs: $output"
	[ "$output" = "1 advertisements
probed" ]
	run kframes6 --timeout 8 ns6 --src 2001:2:0:9::77 --mac 02:00:00:00:00:77 --probe
	echo "kernel: $output"
	[ "$output" = "1 advertisements
probed" ]
	ip -6 neigh show 2001:2:0:9::77 dev "$KVETH" | tee /dev/stderr | grep -q -E 'STALE|DELAY|PROBE|FAILED'
}

@test "an NS flood from 3000 sources: nd_tbl stops at gc_thresh3, the rest go unanswered, and the overflow is said" {
	# From 2001:2::1:0 on, on-link, so that each NA goes through an entry.
	run frames6 --timeout 5 ns6 --src 2001:2:: --mac 02:f1:00:00:00:00 --count 3000
	echo "$output"
	n=${output%% *}
	((n >= 512 && n <= 1024))
	wait_until 5 grep -q "ndisc_cache: neighbor table overflow!" "$SOCKFSD_LOG"
	# The stack still answers its kernel neighbour.
	[ "$(frames6 echo6 --src 2001:2::1)" = "icmp6 type=129 code=0" ]
}

@test "a router advertisement changes neither net/ipv6_route nor net/if_inet6: a host with static addresses ignores it" {
	before=$(cat "$M/net/ipv6_route" "$M/net/if_inet6")
	in0=$(snmp6 "$M/net/snmp6" Icmp6InRouterAdvertisements)
	frames6 ra6 --src fe80::99 --mac 02:00:00:00:00:99 --prefix 2001:2:0:5::
	# The echo's reply comes after the RA has been handled.
	[ "$(frames6 echo6 --src 2001:2::1)" = "icmp6 type=129 code=0" ]
	(($(snmp6 "$M/net/snmp6" Icmp6InRouterAdvertisements) - in0 == 1))
	after=$(cat "$M/net/ipv6_route" "$M/net/if_inet6")
	[ "$before" = "$after" ]
}

@test "extension headers: 8 options in a header are taken and 9 dropped, as the kernel; chains past 12 headers are dropped, where the kernel walks on" {
	for opts in 8 9; do
		got+=" $(frames6 --timeout 2 echo6 --src 2001:2::1 --dest-opts 1 --opts "$opts")"
		kernel+=" $(kframes6 --timeout 2 echo6 --src 2001:2:0:9::99 --dest-opts 1 --opts "$opts")"
	done
	echo "one header of 8, 9 options: sockfs$got; kernel$kernel"
	[ "$got" = "$kernel" ]
	[ "$got" = " icmp6 type=129 code=0 none" ]

	hdr0=$(snmp6 "$M/net/snmp6" Ip6InHdrErrors)
	chains=
	for n in 12 13 100; do
		chains+=" $(frames6 --timeout 2 echo6 --src 2001:2::1 --dest-opts "$n")"
	done
	echo "chains of 12, 13, 100 headers: sockfs$chains"
	[ "$chains" = " icmp6 type=129 code=0 none none" ]
	(($(snmp6 "$M/net/snmp6" Ip6InHdrErrors) - hdr0 == 2))
	# Linux bounds a chain by the packet's length alone: the reference
	# answers 100 headers (RFC 8504 §5.3 lets a host set the limit lower).
	[ "$(kframes6 --timeout 2 echo6 --src 2001:2:0:9::99 --dest-opts 100)" = "icmp6 type=129 code=0" ]
}
