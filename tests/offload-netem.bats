#!/usr/bin/env bats
# sockfsd --offload with --netem and --pcap: the impairment sits at the
# device boundary and acts per wire frame (the kernel is given no offloads,
# so it finishes checksums and cuts its segments to the MTU before they
# cross), and the capture records the frames as they cross. 20 MiB each way
# intact under loss and reordering; tcpdump reads the capture.

load helpers

setup_file() {
	export PCAP=$BATS_FILE_TMPDIR/offload.pcap
	sockfsd_start sft-offn --offload --netem "loss 2% reorder 5%" --pcap "$PCAP"
	head -c $((20 << 20)) /dev/urandom >"$BATS_FILE_TMPDIR/payload"
}
teardown_file() { sockfsd_stop; }
teardown() {
	[[ -n ${TRACE_PID:-} ]] && { kill "$TRACE_PID" 2>/dev/null; wait_exit "$TRACE_PID" 5 || true; }
	TRACE_PID=
	[[ -n ${TRACE_FD:-} ]] && exec {TRACE_FD}<&-
	TRACE_FD=
	common_teardown
}

@test "offload+netem: 20 MiB from sockfs to the kernel arrive intact" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	timeout 70 dd if="$BATS_FILE_TMPDIR/payload" of="$M/$s/data" bs=128k status=none
	retrans=$(status_field "$s" retransmits)
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
	echo "retransmits: $retrans"
	((retrans > 0))
}

@test "offload+netem: 20 MiB from the kernel to sockfs arrive intact" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/nc.out" "$BATS_FILE_TMPDIR/payload"
	s=$(tcp_client "$port")
	timeout 70 cat "$M/$s/data" >"$BATS_TEST_TMPDIR/got"
	ctl "$s" close
	wait_exit "$NC_PID" 10
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
}

@test "offload+netem: TCP still builds super-segments; software GSO cuts them before netem" {
	port=$(test_port)
	head -c $((2 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/in"
	t=$BATS_TEST_TMPDIR/trace
	exec {TRACE_FD}<"$M/trace"
	cat <&"$TRACE_FD" >"$t" 3>&- &
	TRACE_PID=$!
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	timeout 30 dd if="$BATS_TEST_TMPDIR/in" of="$M/$s/data" bs=128k status=none
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	run awk '/ino='"$s"' tcp_transmit_skb / { for (i = 1; i <= NF; i++) if ($i ~ /^segs=/) { n = substr($i, 6) + 0; if (n > max) max = n } }
		END { print max + 0 }' "$t"
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
	run bash -c "tcpdump -r '$PCAP' -nn -e 2>/dev/null | sed -n 's/.*, length \([0-9]*\): .*/\1/p' | sort -n | tail -1"
	echo "longest frame: $output bytes"
	[ -n "$output" ]
	((output <= 1514))
}
