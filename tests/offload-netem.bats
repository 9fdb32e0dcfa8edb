#!/usr/bin/env bats
# sockfsd --offload with --netem and --pcap: the impairment sits at the
# device boundary and acts per wire frame (the kernel is given no offloads,
# so it finishes checksums and cuts its segments to the MTU before they
# cross), and the capture records the frames as they cross. 20 MiB each way
# intact under loss and reordering; tcpdump reads the capture.

load helpers
load lib/offload

setup_file() { offload_setup_file sft-offn --netem "loss 2% reorder 5%"; }
teardown_file() { sockfsd_stop; }
teardown() { offload_teardown; }

@test "offload+netem: 20 MiB from sockfs to the kernel arrive intact" {
	send_intact "$(test_port)" 70
	echo "retransmits: $RETRANS"
	((RETRANS > 0))
}

@test "offload+netem: 20 MiB from the kernel to sockfs arrive intact" {
	receive_intact "$(test_port)" 70
}

@test "offload+netem: TCP still builds super-segments; software GSO cuts them before netem" {
	port=$(test_port)
	head -c $((2 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/in"
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	timeout 30 dd if="$BATS_TEST_TMPDIR/in" of="$M/$s/data" bs=128k status=none
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	run trace_max "$t" "ino=$s tcp_transmit_skb " segs
	echo "most segments in one skb: $output"
	((output > 1))
	# Each crossed the TAP cut to wire size: the capture, below netem,
	# holds no frame longer than the MTU (the next test).
}

@test "offload+netem: tcpdump -r reads the capture, every frame at wire size" {
	run bash -c "tcpdump -r '$PCAP' -nn -e 'tcp' 2>/dev/null | wc -l"
	[ "$status" -eq 0 ]
	echo "$output TCP frames captured"
	((output > 1000))
	# tcpdump -e prints each frame's length; none exceeds the MTU plus
	# the Ethernet header
	run capture_longest
	echo "longest frame: $output bytes"
	[ -n "$output" ]
	((output <= 1514))
}
