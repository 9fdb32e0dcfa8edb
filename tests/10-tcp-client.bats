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

@test "data of a never-connected or listening socket: write EPIPE, read ENOTCONN, as the kernel's send and recv" {
	port=$(test_port)
	# the kernel reference: send and recv on a fresh and on a listening
	# socket (MSG_NOSIGNAL: the EPIPE without the SIGPIPE)
	run python3 - "$port" <<-'EOF'
		import socket, sys
		def try_(f):
		    try:
		        f(); return "ok"
		    except OSError as e:
		        return e.strerror
		for listening in (False, True):
		    s = socket.socket()
		    if listening:
		        s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
		    print("write", try_(lambda: s.send(b"x\n", socket.MSG_NOSIGNAL)))
		    print("read", try_(lambda: s.recv(10)))
		    s.close()
	EOF
	echo "kernel: $output"
	kernel=$output
	[ "${lines[0]}" = "write Broken pipe" ]

	out=()
	for listening in 0 1; do
		s=$(mk_socket AF_INET SOCK_STREAM 6)
		((listening == 0)) || { ctl "$s" "bind 0.0.0.0:$port"; ctl "$s" listen; }
		# bash ignores SIGPIPE here, so the errno is what it reports
		if err=$(bash -c 'trap "" PIPE; echo x > "$1"' _ "$M/$s/data" 2>&1); then
			out+=("write ok")
		else
			out+=("write ${err##*write error: }")
		fi
		if err=$(timeout 10 cat "$M/$s/data" 2>&1); then
			out+=("read ok")
		else
			out+=("read ${err##*: }")
		fi
		ctl "$s" close
	done
	sockfs=$(printf '%s\n' "${out[@]}")
	echo "sockfs: $sockfs"
	[ "$sockfs" = "$kernel" ]
}
