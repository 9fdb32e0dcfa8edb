#!/usr/bin/env bats
# The shell experience (docs/sockfsd.md "INO/data", "INO/ctl"): poll-driven tools,
# O_NONBLOCK, interrupts, nonblocking connect and every socket option, each
# against the Linux kernel's own TCP on the far side of the TAP.

load helpers

setup_file() { sockfsd_start sft-shell; }
teardown_file() { sockfsd_stop; }
teardown() {
	# A peer a test stopped (SIGSTOP) must run again to take SIGTERM.
	[[ -n ${NC_PID:-} ]] && kill -CONT "$NC_PID" 2>/dev/null
	common_teardown
	bg_kill
}


# now_ms prints a monotonic-enough wall clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# getopt_val INO NAME: getsockopt through one open of ctl (write the
# command, read the answer back on the same open), as docs/sockfsd.md describes.
getopt_val() {
	local fd v
	exec {fd}<>"$M/$1/ctl" || return 1
	if ! echo "getsockopt $2" >&"$fd"; then
		exec {fd}>&-
		return 1
	fi
	read -r -t 5 v <&"$fd" || { exec {fd}>&-; return 1; }
	exec {fd}>&-
	echo "$v"
}

@test "socat holds an interactive exchange with a kernel peer over data" {
	port=$(test_port)
	d=$BATS_TEST_TMPDIR
	mkfifo "$d/kin" "$d/sin"
	# The kernel side: nc reading its input from one fifo; -N sends FIN
	# when that input ends.
	nc -N -l "$HOST_ADDR" "$port" <"$d/kin" >"$d/kout" 3>&- &
	NC_PID=$!
	exec {kin}>"$d/kin"
	wait_until 5 listening "$port"
	s=$(tcp_client "$port")
	# Our side: socat polls the data file and stdin (the other fifo).
	# (It must not inherit the kernel fifo's writer, or nc never sees EOF.)
	timeout 30 socat - "OPEN:$M/$s/data" <"$d/sin" >"$d/sout" 2>"$d/serr" 3>&- {kin}>&- &
	BG_PIDS=$!
	exec {sin}>"$d/sin"

	echo "question one" >&"$sin"
	wait_until 10 file_has "$d/kout" "question one"
	echo "answer one" >&"$kin"
	wait_until 10 file_has "$d/sout" "answer one"
	echo "question two" >&"$sin"
	wait_until 10 file_has "$d/kout" "question two"
	echo "answer two" >&"$kin"
	wait_until 10 file_has "$d/sout" "answer two"
	[ "$(cat "$d/kout")" = "$(printf 'question one\nquestion two')" ]
	[ "$(cat "$d/sout")" = "$(printf 'answer one\nanswer two')" ]

	# The kernel shuts down its side (FIN): poll reports it and socat ends
	# by itself.
	exec {kin}>&-
	wait_exit "$BG_PIDS" 10
	exec {sin}>&-
	[ ! -s "$d/serr" ]
	ctl "$s" close
}

@test "socat on accept wakes when a kernel client connects" {
	port=$(test_port)
	l=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$l" "bind $STACK_ADDR:$port"
	ctl "$l" listen
	timeout 20 socat -u "OPEN:$M/$l/accept,rdonly" - >"$BATS_TEST_TMPDIR/acc" 3>&- &
	BG_PIDS=$!
	# nc -z connects and closes at once; the connection is still accepted.
	timeout 10 nc -z "$STACK_ADDR" "$port"
	wait_until 10 test -s "$BATS_TEST_TMPDIR/acc"
	c=$(head -n1 "$BATS_TEST_TMPDIR/acc")
	[[ $c =~ ^[0-9]+$ ]]
	[ -d "$M/$c" ]
	[ "$(cut -d: -f1 "$M/$c/remote")" = "$HOST_ADDR" ]
	ctl "$c" close
	ctl "$l" close
}

@test "dd iflag=nonblock on an empty socket gives EAGAIN" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	run dd if="$M/$s/data" iflag=nonblock bs=1 count=1
	[ "$status" -ne 0 ]
	[[ $output == *"Resource temporarily unavailable"* ]]
	# and an empty accept queue likewise
	l=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$l" "bind $STACK_ADDR:$(test_port 1)"
	ctl "$l" listen
	run dd if="$M/$l/accept" iflag=nonblock bs=16 count=1
	[ "$status" -ne 0 ]
	[[ $output == *"Resource temporarily unavailable"* ]]
	# the connection is unharmed: data still flows
	echo "after EAGAIN" >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" "after EAGAIN"
	ctl "$s" close
	ctl "$l" close
}

@test "timeout -s INT 1 cat data returns at once and the socket stays ESTABLISHED" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	t0=$(now_ms)
	run timeout -s INT 1 cat "$M/$s/data"
	t1=$(now_ms)
	# timeout reports 124 when it had to signal; the read ended well
	# before a second had passed after SIGINT.
	[ "$status" -eq 124 ]
	(( t1 - t0 < 1900 ))
	[ "$(status_field "$s" sk_state)" = ESTABLISHED ]
	[ "$(status_field "$s" state)" = SS_CONNECTED ]
	echo "still here" >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" "still here"
	ctl "$s" close
}

@test "O_NONBLOCK connect through ctl gives EINPROGRESS, then status shows ESTABLISHED" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	run bash -c 'echo "connect $1" | dd of="$2" oflag=nonblock conv=notrunc status=none' _ "$HOST_ADDR:$port" "$M/$s/ctl"
	[ "$status" -ne 0 ]
	[[ $output == *"Operation now in progress"* ]]
	wait_until 10 field_is "$s" sk_state ESTABLISHED
	# As in Linux, sock->state stays SS_CONNECTING until connect is
	# called again; the connection is usable already.
	[ "$(status_field "$s" state)" = SS_CONNECTING ]
	echo "async hello" >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" "async hello"
	ctl "$s" close
}

@test "O_NONBLOCK connect to a closed port: EINPROGRESS, then status error ECONNREFUSED" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	run bash -c 'echo "connect $1" | dd of="$2" oflag=nonblock conv=notrunc status=none' _ "$HOST_ADDR:9" "$M/$s/ctl"
	[ "$status" -ne 0 ]
	[[ $output == *"Operation now in progress"* ]]
	wait_until 10 field_is "$s" error ECONNREFUSED
	[ "$(status_field "$s" sk_state)" = CLOSE ]
	# connect again reports the pending error, as connect(2) does
	run ctl "$s" "connect $HOST_ADDR:9"
	[ "$status" -ne 0 ]
	[[ $output == *"Connection refused"* ]]
	ctl "$s" close
}

@test "reading ctl lists every option docs/sockfsd.md names" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	run cat "$M/$s/ctl"
	[ "$status" -eq 0 ]
	for name in SO_REUSEADDR SO_KEEPALIVE SO_LINGER SO_RCVBUF SO_SNDBUF SO_RCVTIMEO \
		SO_SNDTIMEO TCP_NODELAY TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT TCP_MAXSEG IP_TTL IP_TOS IP_MTU_DISCOVER; do
		grep -Eq "^$name -?[0-9]+$" <<<"$output" || { echo "ctl listing lacks $name" >&2; false; }
	done
	# fresh socket: Linux's defaults
	grep -qx 'SO_LINGER -1' <<<"$output"
	grep -qx 'TCP_NODELAY 0' <<<"$output"
	grep -qx 'IP_TTL 64' <<<"$output"
	grep -qx 'TCP_KEEPIDLE 7200' <<<"$output"
	grep -qx 'IP_MTU_DISCOVER 1' <<<"$output"
	# IP_MTU is ENOTCONN until connected, so it is not listed yet
	not grep -q '^IP_MTU ' <<<"$output"
	ctl "$s" close
}

@test "setsockopt then getsockopt of every documented option" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	# NAME VALUE EXPECTED (SO_RCVBUF/SO_SNDBUF come back doubled, as Linux)
	while read -r name val want; do
		ctl "$s" "setsockopt $name $val"
		got=$(getopt_val "$s" "$name")
		[ "$got" = "$want" ] || { echo "$name: set $val, got $got, want $want" >&2; false; }
	done <<-EOF
		SO_REUSEADDR 1 1
		SO_KEEPALIVE 1 1
		SO_LINGER 5 5
		SO_RCVBUF 65536 131072
		SO_SNDBUF 65536 131072
		SO_RCVTIMEO 250 250
		SO_SNDTIMEO 300 300
		TCP_NODELAY 1 1
		TCP_KEEPIDLE 60 60
		TCP_KEEPINTVL 10 10
		TCP_KEEPCNT 3 3
		TCP_MAXSEG 1000 1000
		IP_TTL 32 32
		IP_TOS 16 16
		IP_MTU_DISCOVER 2 2
		IP_MTU_DISCOVER IP_PMTUDISC_PROBE 3
		SO_LINGER -1 -1
	EOF
	# the listing shows the new values too
	grep -qx 'TCP_KEEPCNT 3' "$M/$s/ctl"
	ctl "$s" close
}

@test "setsockopt errors: unknown name ENOPROTOOPT, bad value EINVAL" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	run ctl "$s" "setsockopt SO_NOSUCH 1"
	[ "$status" -ne 0 ]
	[[ $output == *"Protocol not available"* ]]
	run ctl "$s" "getsockopt SO_NOSUCH"
	[[ $output == *"Protocol not available"* ]]
	for bad in "IP_TTL 0" "IP_TTL 256" "TCP_MAXSEG 10" "TCP_KEEPCNT 0" "SO_RCVTIMEO -1" "SO_RCVBUF x"; do
		run ctl "$s" "setsockopt $bad"
		[ "$status" -ne 0 ]
		[[ $output == *"Invalid argument"* ]] || { echo "setsockopt $bad: $output" >&2; false; }
	done
	# a TCP option on a UDP socket is not that protocol's
	u=$(mk_socket AF_INET SOCK_DGRAM 0)
	run ctl "$u" "setsockopt TCP_NODELAY 1"
	[[ $output == *"Protocol not available"* ]]
	# nothing changed
	[ "$(getopt_val "$s" IP_TTL)" = 64 ]
	ctl "$s" close
	ctl "$u" close
}

@test "SO_RCVTIMEO: a read with nothing to read gives EAGAIN when it expires" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	ctl "$s" "setsockopt SO_RCVTIMEO 300"
	t0=$(now_ms)
	run timeout 10 cat "$M/$s/data"
	t1=$(now_ms)
	[ "$status" -eq 1 ]
	[[ $output == *"Resource temporarily unavailable"* ]]
	(( t1 - t0 >= 250 && t1 - t0 < 3000 ))
	[ "$(status_field "$s" sk_state)" = ESTABLISHED ]
	ctl "$s" close
}

@test "SO_SNDTIMEO: a write into a full send buffer gives EAGAIN when it expires" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	# The kernel peer stops reading; its receive buffer, then ours, fill.
	kill -STOP "$NC_PID"
	ctl "$s" "setsockopt SO_SNDTIMEO 300"
	run timeout 60 dd if=/dev/zero of="$M/$s/data" bs=64k count=2000 conv=notrunc
	[ "$status" -eq 1 ]
	[[ $output == *"Resource temporarily unavailable"* ]]
	[ "$(status_field "$s" sk_state)" = ESTABLISHED ]
	kill -CONT "$NC_PID"
	ctl "$s" close
}
