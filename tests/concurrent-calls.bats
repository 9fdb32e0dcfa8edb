#!/usr/bin/env bats
# A call blocked on a socket does not hold up the socket's other calls
# (issue 13, item 1): while a connect waits for a silent peer, shutdown,
# getsockopt, setsockopt, status and close from other processes each
# complete at once, and the connect ends as Linux's does. The kernel runs
# the same steps on its own socket as the reference.

load helpers

setup_file() { sockfsd_start sft-conc; }
teardown_file() { sockfsd_stop; }
teardown() {
	if [[ -n ${CONN_PID:-} ]]; then
		kill "$CONN_PID" 2>/dev/null || true
		wait_exit "$CONN_PID" 5 || kill -KILL "$CONN_PID" 2>/dev/null || true
		CONN_PID=
	fi
	common_teardown
}

# silent_peer PORT: a kernel listener on HOST_ADDR:PORT that answers no SYN.
# With backlog 0 its accept queue holds one connection, which a kernel
# client fills at once; the listener never accepts, so from then on the
# kernel drops every SYN to it silently (tcp_conn_request, ListenOverflows)
# and a connect to it stays in SYN_SENT. Sets NC_PID.
silent_peer() {
	local ready=$BATS_TEST_TMPDIR/peer-ready
	python3 - "$HOST_ADDR" "$1" "$ready" 3>&- <<-'EOF' &
		import socket, sys, time
		addr, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
		l = socket.socket()
		l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		l.bind((addr, port))
		l.listen(0)
		filler = socket.create_connection((addr, port))
		open(ready, "w").write("ready\n")
		time.sleep(120)
	EOF
	NC_PID=$!
	wait_until 10 test -s "$ready"
}

# connect_bg S ADDR:PORT: a blocking connect on S in the background; its
# stderr goes to $BATS_TEST_TMPDIR/connect.err and its exit status, once it
# ends, to connect.rc. Sets CONN_PID.
connect_bg() {
	rm -f "$BATS_TEST_TMPDIR/connect.rc"
	(
		rc=0
		timeout 80 bash -c 'echo "connect $1" > "$2"' _ "$2" "$M/$1/ctl" \
			2>"$BATS_TEST_TMPDIR/connect.err" || rc=$?
		echo "$rc" >"$BATS_TEST_TMPDIR/connect.rc"
	) 3>&- &
	CONN_PID=$!
}

# pending: the background connect has not ended.
pending() { [[ ! -s $BATS_TEST_TMPDIR/connect.rc ]]; }

# errtext MESSAGE: the strerror part of a shell's "write error: ..." line.
errtext() { sed -n 's/.*write error: //p' "$1"; }

@test "concurrent: shutdown, getsockopt, setsockopt and status complete while connect blocks; connect ends ECONNRESET as on Linux" {
	port=$(test_port)
	silent_peer "$port"

	# the kernel reference: the same steps on a kernel socket
	run python3 - "$HOST_ADDR" "$port" <<-'EOF'
		import socket, sys, threading, time
		addr, port = sys.argv[1], int(sys.argv[2])
		s = socket.socket()
		res = []
		def connect():
		    try:
		        s.connect((addr, port)); res.append("ok")
		    except OSError as e:
		        res.append(e.strerror)
		t = threading.Thread(target=connect)
		t.start()
		deadline = time.time() + 10
		while s.getsockopt(socket.SOL_TCP, socket.TCP_INFO, 1)[0] != 2:  # SYN_SENT
		    assert time.time() < deadline
		    time.sleep(0.02)
		pending = lambda: "pending" if t.is_alive() else "ended"
		print("getsockopt", s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), pending())
		s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
		print("setsockopt ok", pending())
		print("getsockopt", s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), pending())
		s.shutdown(socket.SHUT_RDWR)
		print("shutdown ok")
		t.join(10)
		print("connect", res[0] if res else "still blocked")
		print("after SO_ERROR", s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
	EOF
	echo "kernel: $output"
	kernel=$output
	[ "${lines[4]}" = "connect Connection reset by peer" ]

	s=$(mk_socket AF_INET SOCK_STREAM 6)
	connect_bg "$s" "$HOST_ADDR:$port"
	wait_until 10 field_is "$s" sk_state SYN_SENT
	out=()
	# each command is bounded, so a call that waits behind the connect
	# fails the test rather than hanging it
	v=$(timeout 10 bash -c 'exec 4<>"$1"; echo "getsockopt SO_KEEPALIVE" >&4; read -r v <&4; echo "$v"' _ "$M/$s/ctl")
	pending
	out+=("getsockopt $v pending")
	timeout 10 bash -c 'echo "setsockopt SO_KEEPALIVE 1" > "$1"' _ "$M/$s/ctl"
	pending
	out+=("setsockopt ok pending")
	v=$(timeout 10 bash -c 'exec 4<>"$1"; echo "getsockopt SO_KEEPALIVE" >&4; read -r v <&4; echo "$v"' _ "$M/$s/ctl")
	pending
	out+=("getsockopt $v pending")
	st=$(timeout 10 cat "$M/$s/status")
	pending
	[[ $st == *"sk_state: SYN_SENT"* ]]
	timeout 10 bash -c 'echo "shutdown rdwr" > "$1"' _ "$M/$s/ctl"
	out+=("shutdown ok")
	wait_until 10 not pending
	[ "$(<"$BATS_TEST_TMPDIR/connect.rc")" = 1 ]
	out+=("connect $(errtext "$BATS_TEST_TMPDIR/connect.err")")
	v=$(bash -c 'exec 4<>"$1"; echo "getsockopt SO_ERROR" >&4; read -r v <&4; echo "$v"' _ "$M/$s/ctl")
	out+=("after SO_ERROR $v")
	sockfs=$(printf '%s\n' "${out[@]}")
	echo "sockfs: $sockfs"
	[ "$sockfs" = "$kernel" ]
	[ "$(status_field "$s" sk_state)" = CLOSE ]
	ctl "$s" close
}

@test "concurrent: close while connect blocks releases the socket at once; the connect ends EBADF" {
	port=$(test_port)
	silent_peer "$port"
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	connect_bg "$s" "$HOST_ADDR:$port"
	wait_until 10 field_is "$s" sk_state SYN_SENT
	timeout 10 bash -c 'echo close > "$1"' _ "$M/$s/ctl"
	# sockfs's documented choice (Linux would keep the socket until the
	# connect, which holds its own reference on the file, ends)
	wait_until 10 not pending
	[ "$(<"$BATS_TEST_TMPDIR/connect.rc")" = 1 ]
	[ "$(errtext "$BATS_TEST_TMPDIR/connect.err")" = "Bad file descriptor" ]
	[ ! -e "$M/$s" ]
	# and nothing of it is left in SYN_SENT
	[ -z "$(awk 'NR > 1 && $4 == "02"' "$M/net/tcp")" ]
}
