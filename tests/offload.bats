#!/usr/bin/env bats
# sockfsd --offload: the TAP carries virtio-net headers and the kernel hands
# over TSO super-frames and frames whose checksum it leaves to us; sockfs's
# TCP hands it super-segments the same way. 20 MiB each way intact against
# kernel nc; a super-frame reaches tcp_v4_rcv whole; sockfs's own leave as
# super-segments in the capture; the trace of one write still shows the
# whole chain.

load helpers
load lib/offload

setup_file() { offload_setup_file sft-off; }
teardown_file() { sockfsd_stop; }
teardown() { offload_teardown; }

@test "offload: 20 MiB from sockfs to the kernel arrive intact" {
	send_intact "$(test_port)" 60
}

@test "offload: 20 MiB from the kernel to sockfs arrive intact, cat ending at FIN" {
	receive_intact "$(test_port)" 60
}

@test "offload: the kernel's TSO super-frames reach tcp_v4_rcv whole" {
	port=$(test_port)
	head -c $((1 << 20)) /dev/urandom >"$BATS_TEST_TMPDIR/in"
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	kernel_listen "$port" "$BATS_TEST_TMPDIR/nc.out" "$BATS_TEST_TMPDIR/in"
	s=$(tcp_client "$port")
	timeout 20 cat "$M/$s/data" >"$BATS_TEST_TMPDIR/got"
	same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	# One segment at MTU 1500 carries at most 1460 bytes; a longer one at
	# tcp_v4_rcv is a super-frame that went up as one skb.
	wait_until 10 grep -q "tcp_v4_rcv $HOST_ADDR:$port -> " "$t"
	run trace_max "$t" "tcp_v4_rcv $HOST_ADDR:$port -> " len
	echo "longest segment at tcp_v4_rcv: $output bytes"
	((output > 1460))
	ctl "$s" close
}

@test "offload: sockfs's TCP sends TSO super-segments, in the trace and in the capture" {
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
	# The trace shows each skb as TCP built it, with its MSS count.
	run trace_max "$t" "ino=$s tcp_transmit_skb " segs
	echo "most segments in one skb: $output"
	((output > 1))
	# The capture sits at the TAP: sockfs's frames cross it longer than
	# the MTU, as tcpdump shows them on a Linux TSO device.
	run capture_longest "src host $STACK_ADDR and tcp port $port"
	echo "longest frame from sockfs: $output bytes"
	[ -n "$output" ]
	((output > 1514))
}

@test "offload: a trace of one echo shows the send chain down to dev_queue_xmit and the receive chain back" {
	port=$(test_port)
	socat "TCP-LISTEN:$port,bind=$HOST_ADDR,reuseaddr" EXEC:cat 3>&- &
	NC_PID=$!
	wait_until 5 listening "$port"
	s=$(tcp_client "$port")
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	echo hello >"$M/$s/data"
	[ "$(timeout 10 head -c 6 "$M/$s/data")" = hello ]
	wait_until 10 grep -q "ino=$s sock_read_iter" "$t"
	in_order() {
		local file=$1; shift
		awk -v n=$# '
			BEGIN { for (i = 1; i < ARGC; i++) re[i] = ARGV[i]; ARGC = 1; k = 1 }
			k <= n && $0 ~ re[k] { k++ }
			END { if (k <= n) { printf "missing in order: %s\n", re[k] > "/dev/stderr"; exit 1 } }' "$@" <"$file" ||
			{ echo "the trace was:" >&2; cat "$file" >&2; return 1; }
	}
	in_order "$t" \
		"ino=$s sock_write_iter -> inet_sendmsg -> tcp_sendmsg len=6\$" \
		"ino=$s tcp_transmit_skb seq=[0-9]+ ack=[0-9]+ len=6 .*-> ip_queue_xmit\$" \
		"ino=$s ip_queue_xmit $STACK_ADDR -> $HOST_ADDR len=58 -> ip_output -> neigh_output\$" \
		"dev_queue_xmit sft-off len=72\$"
	in_order "$t" \
		"netif_receive_skb sft-off -> ip_rcv $HOST_ADDR -> $STACK_ADDR proto=6 len=[0-9]+\$" \
		"tcp_v4_rcv $HOST_ADDR:$port -> $STACK_ADDR:[0-9]+ seq=[0-9]+ ack=[0-9]+ len=6 " \
		"ino=$s tcp_v4_rcv seq=[0-9]+ len=6 -> tcp_rcv_established -> sk_data_ready\$" \
		"ino=$s sock_read_iter -> inet_recvmsg -> tcp_recvmsg len=6\$"
	ctl "$s" close
}
