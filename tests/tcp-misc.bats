#!/usr/bin/env bats
# TCP behaviour a kernel peer can see, beyond plain transfers: net/tcp read by
# the awk that reads the kernel's /proc/net/tcp, half-close, RST on close
# with unread data and with SO_LINGER 0, RST for closed ports, ephemeral
# ports, and TIME_WAIT after an active close.

load helpers

setup_file() { sockfsd_start sft-misc; }
teardown_file() { sockfsd_stop; }
teardown() {
	if [[ -n ${PEER_PID:-} ]]; then
		kill "$PEER_PID" 2>/dev/null || true
		wait_exit "$PEER_PID" 5 || kill -KILL "$PEER_PID" 2>/dev/null || true
		PEER_PID=
	fi
	common_teardown
}

# tcp_rows FILE: every row of a /proc/net/tcp-style FILE as
# "LOCAL REMOTE ST INODE", addresses dotted and ports decimal. The same awk
# reads the kernel's file and sockfs's: /proc prints each address as the
# 32-bit word in host order (on this little-endian machine 198.18.0.2 is
# 020012C6) and the port in plain hex.
tcp_rows() {
	awk '
	function hex(s,   i, v) {
		v = 0
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1
		return v
	}
	function addr(h,   a, w) {
		split(h, a, ":")
		w = a[1]
		return sprintf("%d.%d.%d.%d:%d", hex(substr(w, 7, 2)), hex(substr(w, 5, 2)),
			hex(substr(w, 3, 2)), hex(substr(w, 1, 2)), hex(a[2]))
	}
	NR > 1 { print addr($2), addr($3), $4, $10 }' "$1"
}

# has_row FILE LOCAL REMOTE ST: tcp_rows of FILE has that connection.
has_row() { tcp_rows "$1" | awk -v l="$2" -v r="$3" -v s="$4" '$1 == l && $2 == r && $3 == s { f = 1 } END { exit !f }'; }

# snmp_tcp FILE NAME: a field of the Tcp: rows of a /proc/net/snmp-style FILE.
snmp_tcp() {
	awk -v n="$2" '$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Tcp:" && h { print $(col[n]); exit }' "$1"
}

# kernel_peer PORT SCRIPT: a python3 TCP server on HOST_ADDR:PORT running
# SCRIPT with `c` the accepted connection and `go` a function that waits
# (at most 20 s) until the file $BATS_TEST_TMPDIR/go exists. Its stdout goes
# to $BATS_TEST_TMPDIR/peer. Sets PEER_PID once it listens.
kernel_peer() {
	local port=$1 script=$2
	python3 -c '
import os, socket, sys, time
addr, port, tmp = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def go():
    deadline = time.time() + 20
    while not os.path.exists(tmp + "/go"):
        if time.time() > deadline:
            sys.exit("no go within 20 s")
        time.sleep(0.01)
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((addr, port))
l.listen(1)
l.settimeout(20)
c, _ = l.accept()
c.settimeout(20)
exec(sys.argv[4])
sys.stdout.flush()
' "$HOST_ADDR" "$port" "$BATS_TEST_TMPDIR" "$script" >"$BATS_TEST_TMPDIR/peer" 2>&1 3>&- &
	PEER_PID=$!
	wait_until 5 listening "$port"
}

# RECV_AFTER_GO: the python snippet that, once told to go, reads until the
# stream ends and prints how it ended: "eof" for a FIN, the error's text for a
# reset (after a line "data N" when N bytes came first; Linux delivers queued
# data before the reset's error).
RECV_AFTER_GO='
go()
n = 0
try:
    while True:
        b = c.recv(65536)
        if not b:
            print("eof")
            break
        if n == 0:
            print("data", end=" ")
        n += len(b)
except OSError as e:
    if n:
        print(n)
    print(e.strerror)
'

# status_is S KEY VALUE: socket S's status shows "KEY: VALUE".
status_is() { [[ $(status_field "$1" "$2") == "$3" ]]; }

# last_line FILE: FILE's last line.
last_line() { tail -n 1 "$1"; }

@test "tcp-misc: net/tcp parses with the awk that parses /proc/net/tcp" {
	# Linux's header line, byte for byte
	diff <(head -n 1 /proc/net/tcp) <(head -n 1 "$M/net/tcp")
	# The awk reads the kernel's own file: a kernel-to-kernel connection on
	# lo shows up in this namespace's /proc/net/tcp as ESTABLISHED (01) and
	# its listener as LISTEN (0A).
	lport=$(test_port 1)
	mkfifo "$BATS_TEST_TMPDIR/hold"
	nc -l 127.0.0.1 "$lport" </dev/null >/dev/null 3>&- &
	NC_PID=$!
	wait_until 5 bash -c "ss -Hltn 'src 127.0.0.1:$lport' | grep -q ."
	has_row /proc/net/tcp "127.0.0.1:$lport" 0.0.0.0:0 0A
	timeout 30 nc 127.0.0.1 "$lport" <"$BATS_TEST_TMPDIR/hold" >/dev/null 3>&- &
	PEER_PID=$!
	exec {hold}>"$BATS_TEST_TMPDIR/hold"
	wait_until 5 bash -c "ss -Htn state established 'dst 127.0.0.1:$lport' | grep -q ."
	cport=$(ss -Htn state established "dst 127.0.0.1:$lport" | awk '{ split($3, a, ":"); print a[2]; exit }')
	has_row /proc/net/tcp "127.0.0.1:$cport" "127.0.0.1:$lport" 01
	has_row /proc/net/tcp "127.0.0.1:$lport" "127.0.0.1:$cport" 01
	exec {hold}>&-
	kill "$NC_PID"
	wait_exit "$NC_PID" 5
	NC_PID=

	# The same awk reads sockfs's file: a connection to a kernel listener ...
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	local_addr=$(cat "$M/$s/local")
	tcp_rows "$M/net/tcp"
	has_row "$M/net/tcp" "$local_addr" "$HOST_ADDR:$port" 01
	# ... with the socket's INO in the inode column, as Linux has its inode
	tcp_rows "$M/net/tcp" | awk -v l="$local_addr" -v i="$s" '$1 == l && $4 == i { f = 1 } END { exit !f }'
	# ... and the kernel's file shows the other end of the same connection
	has_row /proc/net/tcp "$HOST_ADDR:$port" "$local_addr" 01
	# a sockfs listener is LISTEN (0A) on the wildcard address
	sport=$(test_port 2)
	l=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$l" "bind 0.0.0.0:$sport"
	ctl "$l" listen
	has_row "$M/net/tcp" "0.0.0.0:$sport" 0.0.0.0:0 0A
	ctl "$l" close
	ctl "$s" close
	wait_exit "$NC_PID" 10
}

@test "tcp-misc: an active close leaves the connection in TIME_WAIT (06) in net/tcp" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	local_addr=$(cat "$M/$s/local")
	ctl "$s" close
	# nc reads the FIN, exits and closes its end: our FIN_WAIT2 becomes TIME_WAIT
	wait_exit "$NC_PID" 10
	wait_until 5 has_row "$M/net/tcp" "$local_addr" "$HOST_ADDR:$port" 06
	# the kernel, the passive closer, has nothing of it left
	wait_until 5 not has_row /proc/net/tcp "$HOST_ADDR:$port" "$local_addr" 08
}

@test "tcp-misc: after shutdown wr the kernel reads EOF, and sockfs still reads what the kernel sends until its FIN" {
	port=$(test_port)
	# The kernel peer reads to EOF, reports it, and only when told sends on
	# its still-open half and then its own FIN. (Debian's nc ends the whole
	# connection at the first EOF it reads, so it cannot play this part.)
	kernel_peer "$port" '
got = b""
while True:
    b = c.recv(65536)
    if not b:
        break
    got += b
print("EOF after %r" % got)
sys.stdout.flush()
go()
c.sendall(b"sent after your FIN\nand more\n")
c.shutdown(socket.SHUT_WR)
c.recv(1)
'
	s=$(tcp_client "$port")
	lport=$(cut -d: -f2 "$M/$s/local")
	echo "before the half-close" >"$M/$s/data"
	ctl "$s" "shutdown wr"
	# the kernel read our data and then EOF; its end is in CLOSE_WAIT
	wait_until 10 file_has "$BATS_TEST_TMPDIR/peer" "EOF after b'before the half-close\n'"
	ss -Htn state close-wait "src $HOST_ADDR:$port" "dst $STACK_ADDR:$lport" | grep -q .
	# ours, its FIN acknowledged, waits in FIN_WAIT2 for the other half
	wait_until 5 status_is "$s" sk_state FIN_WAIT2 || { cat "$M/$s/status"; false; }
	run bash -c 'echo more > "$1"' _ "$M/$s/data"
	[ "$status" -eq 1 ]
	[[ $output == *"Broken pipe"* ]]
	# the kernel still sends; sockfs reads all of it and then the FIN
	touch "$BATS_TEST_TMPDIR/go"
	run timeout 10 cat "$M/$s/data"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf 'sent after your FIN\nand more')" ]
	wait_exit "$PEER_PID" 10
	ctl "$s" close
}

@test "tcp-misc: close with unread data sends RST; the kernel peer sees Connection reset by peer" {
	port=$(test_port)
	rsts=$(snmp_tcp "$M/net/snmp" OutRsts)
	kernel_peer "$port" 'c.sendall(b"never read by sockfs\n")'"$RECV_AFTER_GO"
	s=$(tcp_client "$port")
	wait_until 10 status_is "$s" rx_queue 21
	ctl "$s" close
	touch "$BATS_TEST_TMPDIR/go"
	wait_exit "$PEER_PID" 25
	cat "$BATS_TEST_TMPDIR/peer"
	[ "$(last_line "$BATS_TEST_TMPDIR/peer")" = "Connection reset by peer" ]
	(($(snmp_tcp "$M/net/snmp" OutRsts) > rsts))
}

@test "tcp-misc: close with SO_LINGER 0 sends RST, though nothing is unread" {
	port=$(test_port)
	kernel_peer "$port" "$RECV_AFTER_GO"
	s=$(tcp_client "$port")
	ctl "$s" "setsockopt SO_LINGER 0"
	echo "linger before close" >"$M/$s/data"
	# wait until it is acknowledged: an abort discards what is still unsent
	wait_until 10 status_is "$s" tx_queue 0
	ctl "$s" close
	touch "$BATS_TEST_TMPDIR/go"
	wait_exit "$PEER_PID" 25
	cat "$BATS_TEST_TMPDIR/peer"
	# the data sent before the close still arrives, then the reset
	[ "$(head -n 1 "$BATS_TEST_TMPDIR/peer")" = "data 20" ]
	[ "$(last_line "$BATS_TEST_TMPDIR/peer")" = "Connection reset by peer" ]
}

@test "tcp-misc: a plain close with nothing unread sends FIN, not RST (the control case)" {
	port=$(test_port)
	kernel_peer "$port" "$RECV_AFTER_GO"
	s=$(tcp_client "$port")
	ctl "$s" close
	touch "$BATS_TEST_TMPDIR/go"
	wait_exit "$PEER_PID" 25
	cat "$BATS_TEST_TMPDIR/peer"
	[ "$(last_line "$BATS_TEST_TMPDIR/peer")" = eof ]
}

@test "tcp-misc: a kernel connect to a closed sockfs port is refused (RST to the SYN)" {
	port=$(test_port)
	run timeout 10 nc -z -w 5 "$STACK_ADDR" "$port"
	[ "$status" -eq 1 ]
	run timeout 10 python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
    print("connected")
except OSError as e:
    print(e.strerror)
' "$STACK_ADDR" "$port"
	[ "$output" = "Connection refused" ]
}

@test "tcp-misc: ephemeral ports come from 32768-60999 and differ per connection" {
	port=$(test_port)
	ports=()
	for i in 1 2 3 4 5; do
		nc -l "$HOST_ADDR" $((port + i)) </dev/null >/dev/null 3>&- &
		pids[i]=$!
		wait_until 5 listening $((port + i))
		s=$(tcp_client $((port + i)))
		lp=$(cut -d: -f2 "$M/$s/local")
		ports+=("$lp")
		((lp >= 32768 && lp <= 60999))
		ctl "$s" close
		wait_exit "${pids[i]}" 10
	done
	echo "ports: ${ports[*]}"
	[ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" -eq 5 ]
}
