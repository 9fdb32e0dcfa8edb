#!/usr/bin/env bats
# sockfsd --offload --netem --pcap over IPv6: the kernel is given no
# offloads and sockfs's device no TSO6, so software GSO (ipv6_gso_segment
# over the shared tcp_gso_segment) cuts TCP's super-segments into wire
# frames before netem drops and reorders them. 20 MiB each way intact with
# the kernel's nc -6 under loss and reordering; tcpdump reads the capture,
# every frame at wire size.

load helpers
load lib/offload

KERNEL_ADDR=2001:2::1

setup_file() { offload_setup_file sft-off6n --netem "loss 2% reorder 5%"; }
teardown_file() { sockfsd_stop; }
teardown() { offload_teardown; }

@test "offload6+netem: 20 MiB from sockfs to the kernel's nc -6 arrive intact, super-segments cut by software GSO" {
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	send_intact "$(test_port)" 90
	echo "retransmits: $RETRANS"
	((RETRANS > 0))
	run trace_max "$t" "ino=$s tcp_transmit_skb " segs
	echo "most segments in one skb: $output"
	((output > 1))
}

@test "offload6+netem: 20 MiB from the kernel's nc -6 to sockfs arrive intact" {
	receive_intact "$(test_port)" 90
}

@test "offload6+netem: tcpdump -r reads the capture, every frame at wire size" {
	run bash -c "tcpdump -r '$PCAP' -nn 'ip6 and tcp' 2>/dev/null | wc -l"
	[ "$status" -eq 0 ]
	echo "$output TCP/IPv6 frames captured"
	((output > 1000))
	run capture_longest
	echo "longest frame: $output bytes"
	[ -n "$output" ]
	((output <= 1514))
}
