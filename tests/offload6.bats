#!/usr/bin/env bats
# sockfsd --offload over IPv6: the TAP also takes TUN_F_TSO6, so the kernel
# hands over TCP/IPv6 super-frames (gso_type TCPV6) and sockfs's TCP hands
# it TSO6 super-segments, as offload.bats checks for IPv4. The same tests,
# against the kernel's 2001:2::1 with nc -6: 20 MiB each way intact; a
# super-frame reaches tcp_v6_rcv whole; sockfs's own leave as
# super-segments in the trace and the capture.

load helpers
load lib/offload

KERNEL_ADDR=2001:2::1
STACK6=2001:2::2

setup_file() { offload_setup_file sft-off6; }
teardown_file() { sockfsd_stop; }
teardown() { offload_teardown; }

@test "offload6: 20 MiB from sockfs to the kernel's nc -6 arrive intact" {
	send_intact "$(test_port)" 60
}

@test "offload6: 20 MiB from the kernel's nc -6 to sockfs arrive intact, cat ending at FIN" {
	receive_intact "$(test_port)" 60
}

@test "offload6: the kernel's TSO6 super-frames reach tcp_v6_rcv whole" {
	port=$(test_port)
	head -c $((1 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/in"
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	kernel_listen "$port" "$BATS_TEST_TMPDIR/nc.out" "$BATS_TEST_TMPDIR/in"
	s=$(tcp_client "$port")
	timeout 20 cat "$M/$s/data" >"$BATS_TEST_TMPDIR/got"
	same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	# One segment at MTU 1500 carries at most 1440 bytes over IPv6; a
	# longer one at tcp_v6_rcv is a super-frame that went up as one skb.
	from="tcp_v6_rcv [$KERNEL_ADDR]:$port -> "
	wait_until 10 grep -qF "$from" "$t"
	run trace_max "$t" "$from" len
	echo "longest segment at tcp_v6_rcv: $output bytes"
	((output > 1440))
	ctl "$s" close
}

@test "offload6: sockfs's TCP sends TSO6 super-segments, in the trace and in the capture" {
	port=$(test_port)
	head -c $((4 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/in"
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	timeout 20 dd if="$BATS_TEST_TMPDIR/in" of="$M/$s/data" bs=128k status=none
	ctl "$s" close
	wait_exit "$NC_PID" 20
	same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	run trace_max "$t" "ino=$s tcp_transmit_skb " segs
	echo "most segments in one skb: $output"
	((output > 1))
	# ip6_xmit passes it whole: its payload length covers every segment.
	run trace_max "$t" "ip6_xmit $STACK6 > $KERNEL_ADDR nexthdr=6 " len
	echo "longest datagram at ip6_xmit: $output bytes"
	((output > 1500))
	# The capture sits at the TAP: the frames cross it longer than the MTU.
	run capture_longest "ip6 and src host $STACK6 and tcp port $port"
	echo "longest frame from sockfs: $output bytes"
	[ -n "$output" ]
	((output > 1514))
}
