#!/usr/bin/env bats
# TCP over IPv6 against the Linux kernel across the TAP (2001:2::2, the
# stack, and 2001:2::1, the kernel): a sockfs client to a kernel `nc -6 -l`
# and a kernel `nc -6` client to a sockfs listener, 20 MiB each way at once
# on each connection, checked with sha256, and the trace of the IPv6 path
# (docs/sockfsd.md "IPv6").

load helpers

setup_file() {
	sockfsd_start sft-tcp6
	wait_until 10 addr6_ready
	payloads 20
}
teardown_file() { sockfsd_stop; }
teardown() {
	[[ -n ${TRACE_PID:-} ]] && { kill "$TRACE_PID" 2>/dev/null; wait_exit "$TRACE_PID" 5 || true; }
	TRACE_PID=
	[[ -n ${TRACE_FD:-} ]] && exec {TRACE_FD}<&-
	TRACE_FD=
	common_teardown
}

@test "TCP6: a sockfs client and a kernel nc -6 -l exchange 20 MiB each way intact" {
	port=$(test_port)
	nc -6 -N -l "$HOST6" "$port" <"$BATS_FILE_TMPDIR/down" >"$BATS_TEST_TMPDIR/kgot" 3>&- &
	NC_PID=$!
	wait_until 5 listening "$port" "$HOST6"
	s=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$s" "connect [$HOST6]:$port"
	[ "$(status_field "$s" sk_state)" = ESTABLISHED ]
	[[ $(status_field "$s" local) == "[$STACK6]:"* ]]
	[ "$(status_field "$s" remote)" = "[$HOST6]:$port" ]
	both_ways "$s" "$BATS_FILE_TMPDIR/up" "$BATS_TEST_TMPDIR/got"
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_FILE_TMPDIR/up" "$BATS_TEST_TMPDIR/kgot"
	same_file "$BATS_FILE_TMPDIR/down" "$BATS_TEST_TMPDIR/got"
}

@test "TCP6: a kernel nc -6 client and a sockfs listener on [2001:2::2]:P exchange 20 MiB each way intact" {
	port=$(test_port)
	l=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$l" "bind [$STACK6]:$port"
	ctl "$l" "listen"
	[ "$(status_field "$l" sk_state)" = LISTEN ]
	timeout 60 nc -6 -N "$STACK6" "$port" <"$BATS_FILE_TMPDIR/down" >"$BATS_TEST_TMPDIR/kgot" 3>&- &
	NC_PID=$!
	read -r -t 10 c <"$M/$l/accept"
	[[ $(status_field "$c" remote) == "[$HOST6]:"* ]]
	# sockstat6 counts the listener and the child; sockstat's TCP the
	# AF_INET ones only.
	grep -qx "TCP6: inuse 2" "$M/net/sockstat6"
	both_ways "$c" "$BATS_FILE_TMPDIR/up" "$BATS_TEST_TMPDIR/got"
	ctl "$c" close
	wait_exit "$NC_PID" 30
	ctl "$l" close
	same_file "$BATS_FILE_TMPDIR/up" "$BATS_TEST_TMPDIR/kgot"
	same_file "$BATS_FILE_TMPDIR/down" "$BATS_TEST_TMPDIR/got"
}

@test "TCP6: the trace shows inet6_create, tcp_v6_connect, inet6_sendmsg -> tcp_sendmsg down to ip6_xmit and tcp_v6_rcv up" {
	port=$(test_port)
	nc -6 -l "$HOST6" "$port" >"$BATS_TEST_TMPDIR/kgot" 3>&- &
	NC_PID=$!
	wait_until 5 listening "$port" "$HOST6"
	t=$BATS_TEST_TMPDIR/trace
	exec {TRACE_FD}<"$M/trace"
	cat <&"$TRACE_FD" >"$t" 3>&- &
	TRACE_PID=$!
	s=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$s" "connect [$HOST6]:$port"
	echo "traced" >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/kgot" traced
	ctl "$s" close
	wait_until 10 grep -q "ino=$s sock_release" "$t"
	for re in "ino=$s inet6_create TCPv6\$" \
		"ino=$s inet_stream_connect -> tcp_v6_connect \\[$HOST6\\]:$port\$" \
		"ino=$s sock_write_iter -> inet6_sendmsg -> tcp_sendmsg len=7\$" \
		"inet6_csk_xmit" \
		"ip6_xmit \\[?$STACK6\\]? > \\[?$HOST6\\]? nexthdr=6 " \
		"tcp_v6_rcv \\[$HOST6\\]:$port -> \\[$STACK6\\]:[0-9]+ "; do
		grep -Eq "$re" "$t" || { echo "missing: $re" >&2; cat "$t" >&2; false; }
	done
	wait_exit "$NC_PID" 10
}
