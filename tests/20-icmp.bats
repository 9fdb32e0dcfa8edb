#!/usr/bin/env bats
# The kernel pings the stack across the TAP: ARP resolution both ways, IPv4
# input and output, ICMP echo reply.

load helpers

setup_file() { sockfsd_start sft-icmp; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

@test "ping of the stack's address has 0% loss" {
	run timeout 15 ping -n -c 3 -W 1 -i 0.2 "$STACK_ADDR"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *" 0% packet loss"* ]]
}

@test "the kernel's neighbour table learns the stack's MAC over ARP" {
	timeout 10 ping -n -c 1 -W 1 "$STACK_ADDR" >/dev/null
	run ip neigh show "$STACK_ADDR" dev "$TAP"
	[[ $output =~ lladdr\ ([0-9a-f]{2}:){5}[0-9a-f]{2} ]]
}
