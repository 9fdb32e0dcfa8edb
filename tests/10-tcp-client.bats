#!/usr/bin/env bats
# A TCP client made of echo and cat, talking to the Linux kernel's own TCP
# (netcat-openbsd) across the TAP: docs/sockfsd.md "INO/ctl", "INO/data" and "INO/status".

load helpers

setup_file() { sockfsd_start sft-tcp; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

@test "connect to a kernel nc -l and send with echo" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	echo "hello from sockfs" >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" "hello from sockfs"
	ctl "$s" close
	# close sends FIN: nc sees end of stream and exits.
	wait_exit "$NC_PID" 10
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = "hello from sockfs" ]
	wait_until 5 test ! -e "$M/$s"
}

@test "status shows ESTABLISHED and SS_CONNECTED once connected" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	[ "$(status_field "$s" sk_state)" = ESTABLISHED ]
	[ "$(status_field "$s" state)" = SS_CONNECTED ]
	[ "$(status_field "$s" error)" = 0 ]
	ctl "$s" close
}

@test "local and remote show the connection's two ends" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	run cat "$M/$s/remote"
	[ "$status" -eq 0 ]
	[ "$output" = "$HOST_ADDR:$port" ]
	run cat "$M/$s/local"
	[ "$status" -eq 0 ]
	[[ $output =~ ^198\.18\.0\.2:([0-9]+)$ ]]
	lport=${BASH_REMATCH[1]}
	((lport > 0 && lport < 65536))
	# the kernel sees the same connection from its side
	ss -Htn state established "dst $STACK_ADDR:$lport" | grep -q "$HOST_ADDR:$port"
	ctl "$s" close
}

@test "cat of data reads a kernel sender's bytes and ends at its FIN" {
	port=$(test_port)
	printf 'line one\nline two\n' >"$BATS_TEST_TMPDIR/in"
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/in"
	s=$(tcp_client "$port")
	run timeout 10 cat "$M/$s/data"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'line one\nline two')" ]
	[ "$(status_field "$s" sk_state)" = CLOSE_WAIT ]
	ctl "$s" close
	wait_exit "$NC_PID" 10
}

@test "data flows both ways on one connection" {
	port=$(test_port)
	printf 'ping\n' >"$BATS_TEST_TMPDIR/in"
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/in"
	s=$(tcp_client "$port")
	echo pong >"$M/$s/data"
	run timeout 10 cat "$M/$s/data"
	[ "$output" = ping ]
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" pong
	ctl "$s" close
	wait_exit "$NC_PID" 10
}

@test "shutdown wr sends FIN while the socket stays open" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	echo "half" >"$M/$s/data"
	ctl "$s" "shutdown wr"
	# nc exits once it has read end of stream and has nothing to send.
	wait_exit "$NC_PID" 10
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = half ]
	[ -d "$M/$s" ]
	run bash -c 'echo more > "$1"' _ "$M/$s/data"
	[ "$status" -eq 1 ]
	[[ $output == *"Broken pipe"* ]]
	ctl "$s" close
}

@test "connect to a closed kernel port gives ECONNREFUSED" {
	port=$(test_port)
	not listening "$port"
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	run ctl "$s" "connect $HOST_ADDR:$port"
	[ "$status" -eq 1 ]
	[[ $output == *"Connection refused"* ]]
}

@test "writing data on an unconnected socket gives ENOTCONN" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	run bash -c 'echo x > "$1"' _ "$M/$s/data"
	[ "$status" -eq 1 ]
	[[ $output == *"Transport endpoint is not connected"* ]]
}
