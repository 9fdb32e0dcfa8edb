#!/usr/bin/env bats
# sockfsd --offload: the TAP carries virtio-net headers and the kernel hands
# over TSO super-frames and frames whose checksum it leaves to us; sockfs's
# TCP hands it super-segments the same way. 20 MiB each way intact against
# kernel nc; a super-frame reaches tcp_v4_rcv whole; sockfs's own leave as
# super-segments in the capture; the trace of one write still shows the
# whole chain.

load helpers

setup_file() {
	export PCAP=$BATS_FILE_TMPDIR/offload.pcap
	sockfsd_start sft-off --offload --pcap "$PCAP"
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

trace_start() {
	exec {TRACE_FD}<"$M/trace"
	cat <&"$TRACE_FD" >"$1" 3>&- &
	TRACE_PID=$!
}

@test "offload: 20 MiB from sockfs to the kernel arrive intact" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	timeout 60 dd if="$BATS_FILE_TMPDIR/payload" of="$M/$s/data" bs=128k status=none
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
}

@test "offload: 20 MiB from the kernel to sockfs arrive intact, cat ending at FIN" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/nc.out" "$BATS_FILE_TMPDIR/payload"
	s=$(tcp_client "$port")
	timeout 60 cat "$M/$s/data" >"$BATS_TEST_TMPDIR/got"
	ctl "$s" close
	wait_exit "$NC_PID" 10
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
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
	run awk -v p="$HOST_ADDR:$port" '$0 ~ "tcp_v4_rcv " p " -> " {
		for (i = 1; i <= NF; i++) if ($i ~ /^len=/) { l = substr($i, 5) + 0; if (l > max) max = l }
	} END { print max + 0 }' "$t"
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
	run awk '/ino='"$s"' tcp_transmit_skb / { for (i = 1; i <= NF; i++) if ($i ~ /^segs=/) { n = substr($i, 6) + 0; if (n > max) max = n } }
		END { print max + 0 }' "$t"
	echo "most segments in one skb: $output"
	((output > 1))
	# The capture sits at the TAP: sockfs's frames cross it longer than
	# the MTU, as tcpdump shows them on a Linux TSO device.
	run bash -c "tcpdump -r '$PCAP' -nn -e 'src host $STACK_ADDR and tcp port $port' 2>/dev/null |
		sed -n 's/.*, length \([0-9]*\): .*/\1/p' | sort -n | tail -1"
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
