#!/usr/bin/env bats
# The trace file (docs/sockfsd.md "trace"): while it is read, each layer
# crossing is one line, and the lines of one echo and one cat are the call
# chains of ARCHITECTURE.md, down to the TAP and back up.

load helpers

setup_file() { sockfsd_start sft-trace; }
teardown_file() { sockfsd_stop; }
teardown() {
	[[ -n ${TRACE_PID:-} ]] && { kill "$TRACE_PID" 2>/dev/null; wait_exit "$TRACE_PID" 5 || true; }
	TRACE_PID=
	[[ -n ${TRACE_FD:-} ]] && exec {TRACE_FD}<&-
	TRACE_FD=
	common_teardown
}

# trace_start FILE opens the trace (the open itself subscribes, so every
# line from here on is caught) and copies it to FILE in the background.
trace_start() {
	exec {TRACE_FD}<"$M/trace"
	cat <&"$TRACE_FD" >"$1" 3>&- &
	TRACE_PID=$!
}

# in_order FILE REGEX...: each REGEX matches a line of FILE, each on a line
# after the previous one's; on failure it says which one was missing.
in_order() {
	local file=$1; shift
	awk -v n=$# '
		BEGIN { for (i = 1; i < ARGC; i++) re[i] = ARGV[i]; ARGC = 1; k = 1 }
		k <= n && $0 ~ re[k] { k++ }
		END {
			if (k <= n) { printf "missing in order: %s\n", re[k] > "/dev/stderr"; exit 1 }
		}' "$@" <"$file" || { echo "the trace was:" >&2; cat "$file" >&2; return 1; }
}

@test "the trace file is in the root listing, readable by its owner only" {
	run ls "$M"
	grep -qx trace <<<"$output"
	[ "$(stat -c %a "$M/trace")" = 400 ]
	run bash -c "echo x > '$M/trace'"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
}

@test "a trace of one echo shows the send chain down to dev_queue_xmit and the receive chain back" {
	port=$(test_port)
	# The kernel peer echoes what it gets, so the answer comes in while
	# the trace is read.
	socat "TCP-LISTEN:$port,bind=$HOST_ADDR,reuseaddr" EXEC:cat 3>&- &
	NC_PID=$!
	wait_until 5 listening "$port"
	s=$(tcp_client "$port")
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	echo hello >"$M/$s/data"
	[ "$(timeout 10 head -c 6 "$M/$s/data")" = hello ]
	wait_until 10 grep -q "ino=$s sock_read_iter" "$t"

	# down: file op -> proto_ops -> proto -> TCP output -> IP -> device
	in_order "$t" \
		"ino=$s sock_write_iter -> inet_sendmsg -> tcp_sendmsg len=6\$" \
		"ino=$s tcp_transmit_skb seq=[0-9]+ ack=[0-9]+ len=6 .*-> ip_queue_xmit\$" \
		"ino=$s ip_queue_xmit $STACK_ADDR -> $HOST_ADDR len=58 -> ip_output -> neigh_output\$" \
		"dev_queue_xmit sft-trace len=72\$"
	# up: device -> IP -> TCP input -> the socket's queue -> recvmsg
	in_order "$t" \
		"netif_receive_skb sft-trace -> ip_rcv $HOST_ADDR -> $STACK_ADDR proto=6 len=[0-9]+\$" \
		"tcp_v4_rcv $HOST_ADDR:$port -> $STACK_ADDR:[0-9]+ seq=[0-9]+ ack=[0-9]+ len=6 " \
		"ino=$s tcp_v4_rcv seq=[0-9]+ len=6 -> tcp_rcv_established -> sk_data_ready\$" \
		"ino=$s sock_read_iter -> inet_recvmsg -> tcp_recvmsg len=6\$"
	# every line starts with a timestamp in seconds
	not grep -Evq '^[0-9]+\.[0-9]{6} ' "$t"
	ctl "$s" close
}

@test "the control path is traced: socket, connect, handshake, close" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	s=$(tcp_client "$port")
	ctl "$s" close
	wait_until 10 grep -q "ino=$s tcp_set_state ESTABLISHED -> FIN_WAIT1" "$t"
	in_order "$t" \
		"ino=$s inet_create TCP\$" \
		"ino=$s inet_stream_connect -> tcp_v4_connect $HOST_ADDR:$port\$" \
		"ino=$s tcp_set_state CLOSE -> SYN_SENT\$" \
		"ino=$s tcp_transmit_skb .* flags=S " \
		"tcp_v4_rcv $HOST_ADDR:$port -> .* flags=S\\. *\$" \
		"ino=$s tcp_set_state SYN_SENT -> ESTABLISHED\$" \
		"ino=$s tcp_set_state ESTABLISHED -> FIN_WAIT1\$"
}

@test "a read with no lines blocks; O_NONBLOCK gives EAGAIN; SIGINT ends it" {
	run dd if="$M/trace" iflag=nonblock bs=4096 count=1
	[ "$status" -ne 0 ]
	[[ $output == *"Resource temporarily unavailable"* ]]
	t0=$(date +%s%N)
	run timeout -s INT 1 cat "$M/trace"
	t1=$(date +%s%N)
	[ "$status" -eq 124 ]
	(( (t1 - t0) / 1000000 < 1900 ))
}

@test "poll on trace wakes when lines arrive (socat)" {
	t=$BATS_TEST_TMPDIR/trace
	timeout 20 socat -u "OPEN:$M/trace,rdonly" - >"$t" 3>&- &
	TRACE_PID=$!
	# socat's open subscribes; keep making sockets until a line shows up,
	# bounded in count.
	for i in $(seq 50); do
		u=$(mk_socket AF_INET SOCK_DGRAM 0)
		ctl "$u" close
		grep -q "ino=$u inet_create UDP" "$t" && break
		sleep 0.05
	done
	grep -q "ino=$u inet_create UDP" "$t"
}

@test "a reader that stops reading loses lines, counted in its stream; the stack never waits for it" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	# Opened and never read while 4 MiB go by: thousands of lines.
	exec {TRACE_FD}<"$M/trace"
	head -c 4194304 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
	timeout 60 cat "$BATS_TEST_TMPDIR/blob" >"$M/$s/data"
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_TEST_TMPDIR/blob" "$BATS_TEST_TMPDIR/got"
	# Reading now finds the gap reported where it happened.
	run timeout 10 grep -a -m1 -E '^# trace: [0-9]+ lines lost \(reader too slow\)$' <&"$TRACE_FD"
	[ "$status" -eq 0 ]
	[[ $output =~ ([0-9]+)\ lines ]]
	(( BASH_REMATCH[1] > 0 ))
}

@test "bind, listen, shutdown and close are traced with ino=, a failed call with its errno" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	l=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$l" "bind $STACK_ADDR:$((port + 1))"
	run ctl "$l" "bind $STACK_ADDR:$((port + 2))"
	[[ $output == *"Invalid argument"* ]]
	ctl "$l" "listen 5"
	c=$(tcp_client "$port")
	ctl "$c" "shutdown SHUT_WR"
	ctl "$c" close
	ctl "$l" close
	wait_until 10 grep -q "ino=$l sock_release" "$t"
	in_order "$t" \
		"ino=$l inet_create TCP\$" \
		"ino=$l __sys_bind -> inet_bind $STACK_ADDR:$((port + 1))\$" \
		"ino=$l __sys_bind -> inet_bind $STACK_ADDR:$((port + 2)) = -EINVAL\$" \
		"ino=$l tcp_set_state CLOSE -> LISTEN\$" \
		"ino=$l __sys_listen -> inet_listen -> inet_csk_listen_start backlog=5\$" \
		"ino=$c inet_stream_connect -> tcp_v4_connect $HOST_ADDR:$port\$" \
		"ino=$c tcp_set_state ESTABLISHED -> FIN_WAIT1\$" \
		"ino=$c __sys_shutdown -> inet_shutdown -> tcp_shutdown SHUT_WR\$" \
		"ino=$c sock_release -> inet_release -> tcp_close\$" \
		"ino=$l sock_release -> inet_release -> tcp_close\$"
}

@test "a UDP socket's bind and close are traced too (dgram_close)" {
	port=$(test_port)
	t=$BATS_TEST_TMPDIR/trace
	trace_start "$t"
	u=$(mk_socket AF_INET SOCK_DGRAM 17)
	ctl "$u" "bind $STACK_ADDR:$port"
	run ctl "$u" "shutdown SHUT_RD" # unconnected: ENOTCONN, as Linux
	[[ $output == *"not connected"* ]]
	ctl "$u" close
	wait_until 10 grep -q "ino=$u sock_release" "$t"
	in_order "$t" \
		"ino=$u inet_create UDP\$" \
		"ino=$u __sys_bind -> inet_bind $STACK_ADDR:$port\$" \
		"ino=$u __sys_shutdown -> inet_shutdown SHUT_RD = -ENOTCONN\$" \
		"ino=$u sock_release -> inet_release -> dgram_close\$"
}

@test "under --netem loss the trace shows recovery: congestion state changes with cwnd and ssthresh" {
	# A daemon of its own, with 5% of frames lost each way, on a subnet of
	# its own beside the file's.
	mnt=$(mktemp -d /tmp/sockfs-trace-netem.XXXXXX)
	log=$BATS_TEST_TMPDIR/sockfsd-netem.log
	"$SOCKFSD" --tap sft-trace2 --addr 198.18.1.2/24 --host-addr 198.18.1.1/24 \
		--netem "loss 5%" "$mnt" </dev/null 2>"$log" 3>&- &
	pid=$!
	wait_until 10 grep -q "serving $mnt" "$log" || { cat "$log" >&2; kill "$pid"; rmdir "$mnt"; false; }
	port=$(test_port)
	nc -l 198.18.1.1 "$port" >"$BATS_TEST_TMPDIR/got" 3>&- &
	sink=$!
	wait_until 5 bash -c "ss -Hltn 'src 198.18.1.1:$port' | grep -q ."
	head -c 1048576 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
	t=$BATS_TEST_TMPDIR/trace
	exec {TRACE_FD}<"$mnt/trace"
	cat <&"$TRACE_FD" >"$t" 3>&- &
	TRACE_PID=$!
	s=$(M=$mnt mk_socket AF_INET SOCK_STREAM 6)
	M=$mnt ctl "$s" "connect 198.18.1.1:$port"
	timeout 60 cat "$BATS_TEST_TMPDIR/blob" >"$mnt/$s/data"
	M=$mnt ctl "$s" close
	ok=0
	wait_exit "$sink" 60 && same_file "$BATS_TEST_TMPDIR/blob" "$BATS_TEST_TMPDIR/got" && ok=1
	kill "$TRACE_PID"; wait_exit "$TRACE_PID" 5 || true
	exec {TRACE_FD}<&-
	TRACE_FD= TRACE_PID=
	kill -TERM "$pid"
	wait_exit "$pid" 10
	rmdir "$mnt"
	((ok))
	grep -E "ino=$s tcp_set_state|ino=$s tcp_set_ca_state|ino=$s tcp_retransmit_timer" "$t" | head -20
	grep -Eq "ino=$s tcp_set_ca_state (Open|Disorder) -> (Recovery|Loss) cwnd=[0-9]+ ssthresh=[0-9]+\$" "$t"
	grep -Eq "ino=$s tcp_set_ca_state (Recovery|Loss) -> (Open|Disorder) cwnd=[0-9]+ ssthresh=[0-9]+\$" "$t"
}
