#!/usr/bin/env bats
# The daemon's TCP knobs: --tcp-congestion picks the congestion control
# (net.ipv4.tcp_congestion_control), --time-wait shortens TIME_WAIT, which
# is Linux's 60 s otherwise, and --tcp-fin-timeout an orphan's FIN_WAIT2
# (net.ipv4.tcp_fin_timeout), which ends without a RST as on Linux; and the
# handshake's windows, held to the kernel's own on the wire.

load helpers

setup_file() { sockfsd_start sft-tflag --tcp-congestion reno --time-wait 1s --tcp-fin-timeout 1s; }
teardown_file() { sockfsd_stop; }
teardown() {
	for p in ${PEER_PID:-} ${DUMP_PID:-}; do
		kill "$p" 2>/dev/null || true
		wait_exit "$p" 5 || kill -KILL "$p" 2>/dev/null || true
	done
	PEER_PID= DUMP_PID=
	common_teardown
}

# rows_in PORT ST N: net/tcp has N rows in state ST (hex) with remote port
# PORT.
rows_in() {
	local hex
	hex=$(printf '%04X' "$1")
	[[ $(awk -v p="$hex" -v st="$2" 'NR > 1 { split($3, r, ":"); if (r[2] == p && $4 == st) n++ } END { print n + 0 }' "$M/net/tcp") == "$3" ]]
}

# FIN_WAIT2_PEER: a python3 TCP server on HOST_ADDR:PORT (argv 1, 2) whose
# accepted connection reads to EOF, prints "eof", waits for the file argv 3
# to exist, then sends one byte and prints "sent N" (or the error), then
# waits for the socket's error and prints it ("then Broken pipe": a RST
# came, tcp_reset in CLOSE_WAIT). With argv 4 set
# it first runs the same steps as the reference with a kernel client of its
# own on PORT+1, whose tcp_fin_timeout is 1 s (TCP_LINGER2), printing each
# line prefixed "kernel:".
FIN_WAIT2_PEER='
import os, socket, sys, time
addr, port, go, ref = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "ref"
def fin_wait2_gone(lport):
    # the client side of the connection has left /proc/net/tcp
    hexport = ":%04X" % lport
    with open("/proc/net/tcp") as f:
        return not any(l.split()[1].endswith(hexport) for l in f.readlines()[1:])
def serve(c, prefix, wait):
    c.settimeout(20)
    while c.recv(65536):
        pass
    print(prefix + "eof", flush=True)
    wait()
    try:
        print(prefix + "sent %d" % c.send(b"x"), flush=True)
    except OSError as e:
        print(prefix + "send: " + e.strerror, flush=True)
    deadline = time.time() + 5
    while True:
        e = c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if e or time.time() > deadline:
            print(prefix + "then " + (os.strerror(e) if e else "nothing"), flush=True)
            break
        time.sleep(0.01)
def listener(p):
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((addr, p))
    l.listen(1)
    l.settimeout(20)
    return l
if ref:
    l = listener(port + 1)
    k = socket.socket()
    k.setsockopt(socket.IPPROTO_TCP, socket.TCP_LINGER2, 1)
    k.connect((addr, port + 1))
    c, _ = l.accept()
    lport = k.getsockname()[1]
    k.close()
    def wait_gone():
        deadline = time.time() + 10
        while not fin_wait2_gone(lport):
            if time.time() > deadline:
                sys.exit("the kernel FIN_WAIT2 did not expire")
            time.sleep(0.02)
    serve(c, "kernel:", wait_gone)
l = listener(port)
c, _ = l.accept()
def wait_go():
    deadline = time.time() + 20
    while not os.path.exists(go):
        if time.time() > deadline:
            sys.exit("no go within 20 s")
        time.sleep(0.01)
serve(c, "", wait_go)
'

# fin_wait2_peer PORT [ref]: starts FIN_WAIT2_PEER (output in
# $BATS_TEST_TMPDIR/peer, PEER_PID) and waits until it listens on PORT.
fin_wait2_peer() {
	python3 -c "$FIN_WAIT2_PEER" "$HOST_ADDR" "$1" "$BATS_TEST_TMPDIR/go" "${2:-}" >"$BATS_TEST_TMPDIR/peer" 2>&1 3>&- &
	PEER_PID=$!
	wait_until 15 listening "$1"
}

# dump_rsts PORT: tcpdump on the TAP (the kernel's side of the wire)
# writing every RST on PORT to $BATS_TEST_TMPDIR/rsts; sets DUMP_PID once
# it captures.
dump_rsts() {
	tcpdump -i "$TAP" -nn -l "tcp port $1 and tcp[tcpflags] & tcp-rst != 0" \
		>"$BATS_TEST_TMPDIR/rsts" 2>"$BATS_TEST_TMPDIR/dump.err" 3>&- &
	DUMP_PID=$!
	wait_until 5 file_has "$BATS_TEST_TMPDIR/dump.err" "listening on"
}

# tw_rows PORT: net/tcp rows in TIME_WAIT (06) with remote port PORT.
tw_rows() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" 'NR > 1 { split($3, r, ":"); if (r[2] == p && $4 == "06") n++ } END { print n + 0 }' "$M/net/tcp"
}

# tw_is PORT N: N connections to PORT are in TIME_WAIT (for wait_until,
# which runs its command afresh each try).
tw_is() { [[ $(tw_rows "$1") == "$2" ]]; }

@test "--tcp-congestion reno is the connection's congestion control" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	[ "$(status_field "$s" congestion)" = reno ]
	ctl "$s" close
}

@test "--time-wait 1s: the active closer's TIME_WAIT ends after a second" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	echo bye >"$M/$s/data"
	ctl "$s" close
	wait_exit "$NC_PID" 10
	# We closed first, so our side waits in TIME_WAIT, listed in net/tcp...
	wait_until 5 tw_is "$port" 1
	# (the first test's connection may still be in TIME_WAIT too)
	grep -Eq "^TCP: inuse [0-9]+ orphan 0 tw [1-9]" "$M/net/sockstat"
	# ...and gone once the shortened 2 MSL has passed.
	wait_until 10 tw_is "$port" 0
}

@test "a bad --tcp-congestion, --time-wait or --tcp-fin-timeout is one clear line and a non-zero exit" {
	run timeout 10 "$SOCKFSD" --tcp-congestion bbr "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	[[ $output == *'bad --tcp-congestion "bbr"'* ]]
	run timeout 10 "$SOCKFSD" --time-wait 1ms "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	[[ $output == *'bad --time-wait 1ms'* ]]
	run timeout 10 "$SOCKFSD" --tcp-fin-timeout 0s "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	[[ $output == *'bad --tcp-fin-timeout 0s'* ]]
}

@test "--tcp-fin-timeout 1s: an orphaned FIN_WAIT2 expires silently, and the kernel peer's next send succeeds, as with a kernel socket" {
	port=$(test_port)
	dump_rsts "$port"
	fin_wait2_peer "$port" ref
	# The reference first: a kernel client closes, its FIN_WAIT2 expires,
	# and the server's next send still succeeds; the RST comes after.
	wait_until 15 file_has "$BATS_TEST_TMPDIR/peer" "kernel:then" || { cat "$BATS_TEST_TMPDIR/peer"; false; }
	grep -qx "kernel:sent 1" "$BATS_TEST_TMPDIR/peer"
	grep -qx "kernel:then Broken pipe" "$BATS_TEST_TMPDIR/peer"
	s=$(tcp_client "$port")
	lport=$(cut -d: -f2 "$M/$s/local")
	ctl "$s" close
	wait_until 10 file_has "$BATS_TEST_TMPDIR/peer" "eof"
	# Our side waits for the kernel's FIN in a timewait entry: net/tcp lists
	# it as FIN_WAIT2 (05) with the timewait timer, the socket is gone.
	wait_until 5 rows_in "$port" 05 1 || { cat "$M/net/tcp"; false; }
	awk -v p="$(printf '%04X' "$lport")" 'NR > 1 && $2 ~ ":" p "$" { exit !($6 ~ /^03:/) }' "$M/net/tcp"
	# After a second it is gone, and nothing crossed the wire for it.
	wait_until 5 rows_in "$port" 05 0
	[ ! -s "$BATS_TEST_TMPDIR/rsts" ] || { cat "$BATS_TEST_TMPDIR/rsts"; false; }
	# The kernel's send succeeds; only the segment itself draws a RST.
	touch "$BATS_TEST_TMPDIR/go"
	wait_exit "$PEER_PID" 10
	tail -n 3 "$BATS_TEST_TMPDIR/peer" >"$BATS_TEST_TMPDIR/ours"
	printf 'eof\nsent 1\nthen Broken pipe\n' | diff - "$BATS_TEST_TMPDIR/ours"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/rsts"
}

@test "shutdown wr, then the kernel's FIN: the socket reads CLOSE and net/tcp lists its TIME_WAIT, as Linux" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got" /dev/null
	s=$(tcp_client "$port")
	ctl "$s" "shutdown wr"
	wait_exit "$NC_PID" 10
	wait_until 5 field_is "$s" sk_state CLOSE || { cat "$M/$s/status"; false; }
	wait_until 5 tw_is "$port" 1
	[ "$(timeout 5 cat "$M/$s/data")" = "" ]
	ctl "$s" close
}

# syn_opts FILE FLAGS: "win N wscale N" of the first segment with tcpdump
# flags FLAGS ([S] or [S.]) in FILE (tcpdump -nn -v text).
syn_opts() {
	grep -F "Flags $2," "$1" | head -n 1 | sed -nE 's/.* win ([0-9]+),.*wscale ([0-9]+).*/win \1 wscale \2/p'
}

# syns_seen N: the capture holds at least N SYN or SYN-ACK segments.
syns_seen() { (($(grep -c 'Flags \[S' "$BATS_TEST_TMPDIR/syns") >= $1)); }

@test "SYN and SYN-ACK carry the kernel's windows and window scale (64240 and 65160 at MSS 1460, scale 10 on Linux 6.x)" {
	port=$(test_port)
	tcpdump -i "$TAP" -nn -l "tcp[tcpflags] & tcp-syn != 0 and (port $port or port $((port + 1)))" \
		>"$BATS_TEST_TMPDIR/syns" 2>"$BATS_TEST_TMPDIR/dump.err" 3>&- &
	DUMP_PID=$!
	wait_until 5 file_has "$BATS_TEST_TMPDIR/dump.err" "listening on"
	# sockfs connects to a kernel listener: our SYN, the kernel's SYN-ACK.
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	ctl "$s" close
	# The kernel connects to a sockfs listener: its SYN, our SYN-ACK.
	l=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$l" "bind 0.0.0.0:$((port + 1))"
	ctl "$l" listen
	timeout 5 nc -z "$STACK_ADDR" "$((port + 1))"
	wait_until 5 syns_seen 4 || { cat "$BATS_TEST_TMPDIR/syns"; false; }
	d=$BATS_TEST_TMPDIR
	grep -F "> $HOST_ADDR.$port:" "$d/syns" >"$d/our-syn" || true
	grep -F "$HOST_ADDR.$port >" "$d/syns" >"$d/kernel-synack" || true
	grep -F "> $STACK_ADDR.$((port + 1)):" "$d/syns" >"$d/kernel-syn" || true
	grep -F "$STACK_ADDR.$((port + 1)) >" "$d/syns" >"$d/our-synack" || true
	ours=$(syn_opts "$BATS_TEST_TMPDIR/our-syn" '[S]')
	theirs=$(syn_opts "$BATS_TEST_TMPDIR/kernel-syn" '[S]')
	[ -n "$ours" ] && [ "$ours" = "$theirs" ] || { echo "SYN: ours '$ours', kernel '$theirs'"; cat "$BATS_TEST_TMPDIR/syns"; false; }
	ours=$(syn_opts "$BATS_TEST_TMPDIR/our-synack" '[S.]')
	theirs=$(syn_opts "$BATS_TEST_TMPDIR/kernel-synack" '[S.]')
	[ -n "$ours" ] && [ "$ours" = "$theirs" ] || { echo "SYN-ACK: ours '$ours', kernel '$theirs'"; cat "$BATS_TEST_TMPDIR/syns"; false; }
	ctl "$l" close
}
