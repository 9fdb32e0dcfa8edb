#!/usr/bin/env bats
# INO/msg — recvfrom/sendto with the address framed per datagram (SPEC
# "INO/msg"), and ctl's disconnect (connect with AF_UNSPEC), against kernel
# UDP and ICMP peers across the TAP. Where the kernel shows the same
# behaviour on its own sockets, python3 runs the same steps as reference.

load helpers

setup_file() { sockfsd_start sft-msg; }
teardown_file() { sockfsd_stop; }
teardown() {
	local p
	for p in ${BG_PIDS:-} ${TRACE_PID:-}; do
		kill "$p" 2>/dev/null || true
		wait_exit "$p" 5 || kill -KILL "$p" 2>/dev/null || true
	done
	BG_PIDS= TRACE_PID=
	[[ -z ${TRACE_FD:-} ]] || exec {TRACE_FD}<&-
	TRACE_FD=
	common_teardown
}

# bg CMD...: run CMD in the background, killed by teardown.
bg() {
	"$@" 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
}

udp_listening() { ss -Hlun "src $HOST_ADDR:$1" 2>/dev/null | grep -q .; }

# send_msg INO DEST [FILE]: one datagram to DEST through INO/msg, the
# record built as the docs teach: header line and payload piped into one
# dd write (bash's own printf and echo write each line separately).
send_msg() {
	{ echo "$2"; [[ -z ${3:-} ]] || cat "$3"; } |
		timeout 10 dd of="$M/$1/msg" bs=64k count=1 iflag=fullblock status=none
}

# kernel_udp PORT OUT: a kernel socket on HOST_ADDR:PORT that writes
# "LEN SRCPORT" of the first datagram it gets to OUT.
kernel_udp() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
d, a = s.recvfrom(65536)
open(sys.argv[3], "w").write("%d %d\n" % (len(d), a[1]))
' "$HOST_ADDR" "$1" "$2" 3>&- &
	NC_PID=$!
	wait_until 5 udp_listening "$1"
}

@test "msg: a bash server answers three kernel UDP clients at once, each its own 60 KB datagram intact" {
	port=$(test_port)
	d=$BATS_TEST_TMPDIR
	s=$(mk_socket AF_INET SOCK_DGRAM 17)
	ctl "$s" "bind 0.0.0.0:$port"
	# The whole server: read the header, copy LEN bytes after it, one write.
	bg bash -c 'while read -r from len; do
		{ echo "$from"; head -c "$len"; } | dd of="$1" bs=64k count=1 iflag=fullblock status=none
	done <"$1"' _ "$M/$s/msg"
	pids=()
	for i in 1 2 3; do
		head -c 60000 /dev/urandom >"$d/in$i"
		python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
s.sendto(open(sys.argv[5], "rb").read(), (sys.argv[3], int(sys.argv[4])))
open(sys.argv[6], "wb").write(s.recv(65536))
' "$HOST_ADDR" "$(test_port "$i")" "$STACK_ADDR" "$port" "$d/in$i" "$d/out$i" 3>&- &
		pids+=($!)
	done
	for i in 1 2 3; do
		wait "${pids[i - 1]}"
		same_file "$d/in$i" "$d/out$i"
	done
	ctl "$s" close
}

@test "msg: a zero-length datagram goes both ways" {
	port=$(test_port)
	kport=$(test_port 1)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind 0.0.0.0:$port"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.sendto(b"", (sys.argv[3], int(sys.argv[4])))
' "$HOST_ADDR" "$kport" "$STACK_ADDR" "$port"
	read -r -t 10 from len <"$M/$s/msg"
	[ "$from $len" = "$HOST_ADDR:$kport 0" ]
	# and back: the record is the header line alone
	kernel_udp "$kport" "$BATS_TEST_TMPDIR/got"
	send_msg "$s" "$HOST_ADDR:$kport"
	wait_exit "$NC_PID" 10
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = "0 $port" ]
	ctl "$s" close
}

@test "msg: a short read keeps the rest of the record; bash reads a record byte by byte" {
	port=$(test_port)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind 0.0.0.0:$port"
	for w in one two; do
		echo "$w" | nc -u -w1 -q0 "$STACK_ADDR" "$port"
	done
	exec {fd}<"$M/$s/msg"
	read -r -t 10 from len <&"$fd"
	[ "$len" = 4 ]
	[ "$(head -c 2 <&"$fd")" = on ]
	# ($(...) would drop the newline: od shows it)
	[ "$(head -c 2 <&"$fd" | od -An -c | tr -d ' ')" = 'e\n' ]
	read -r -t 10 from len <&"$fd"
	[ "${from%:*} $len" = "$HOST_ADDR 4" ]
	[ "$(head -c 4 <&"$fd")" = two ]
	exec {fd}<&-
	ctl "$s" close
}

@test "msg: sendto on an unbound socket autobinds, and local shows the port" {
	kport=$(test_port)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	[ "$(cat "$M/$s/local")" = "0.0.0.0:0" ]
	kernel_udp "$kport" "$BATS_TEST_TMPDIR/got"
	echo hi >"$BATS_TEST_TMPDIR/p"
	send_msg "$s" "$HOST_ADDR:$kport" "$BATS_TEST_TMPDIR/p"
	wait_exit "$NC_PID" 10
	read -r len sport <"$BATS_TEST_TMPDIR/got"
	[ "$len" = 3 ]
	# as Linux: an unconnected sendto binds the port, not the address
	[ "$(cat "$M/$s/local")" = "0.0.0.0:$sport" ]
	((sport >= 32768 && sport <= 60999))
	# net/udp shows the socket in Linux's layout: 00000000:PORT, state 07
	awk -v p="$(printf %04X "$sport")" 'NR > 1 && $2 == "00000000:" p && $4 == "07" { f = 1 } END { exit !f }' "$M/net/udp"
	ctl "$s" close
}

@test "msg: an address in the header overrides a connected socket's peer" {
	kport=$(test_port)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "connect $HOST_ADDR:$(test_port 1)"
	kernel_udp "$kport" "$BATS_TEST_TMPDIR/got"
	echo override >"$BATS_TEST_TMPDIR/p"
	send_msg "$s" "$HOST_ADDR:$kport" "$BATS_TEST_TMPDIR/p"
	wait_exit "$NC_PID" 10
	[ "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/got")" = 9 ]
	ctl "$s" close
}

@test "msg: malformed headers are EINVAL, oversized datagrams EMSGSIZE, no route ENETUNREACH" {
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	run bash -c 'dd of="$1" status=none <<<"no-port-here"' _ "$M/$s/msg"
	[[ $output == *"Invalid argument"* ]]
	# the header line must end in a newline
	run bash -c 'printf "%s" "$2" | dd of="$1" status=none' _ "$M/$s/msg" "$HOST_ADDR:9"
	[[ $output == *"Invalid argument"* ]]
	run bash -c 'printf "host:53\nx" | dd of="$1" status=none' _ "$M/$s/msg"
	[[ $output == *"Invalid argument"* ]]
	run bash -c '{ echo "$2"; head -c 65508 /dev/zero; } | dd of="$1" bs=64k count=1 iflag=fullblock status=none' _ "$M/$s/msg" "$HOST_ADDR:9"
	[[ $output == *"Message too long"* ]]
	run bash -c 'printf "10.9.9.9:53\nx" | dd of="$1" status=none' _ "$M/$s/msg"
	[[ $output == *"Network is unreachable"* ]]
	ctl "$s" close
}

@test "msg: the kernel's port unreachable is ECONNREFUSED on a connected socket only" {
	kport=$(test_port)
	echo "anyone there?" >"$BATS_TEST_TMPDIR/p"
	# unconnected: the error is not reported (Linux without IP_RECVERR)
	u=$(mk_socket AF_INET SOCK_DGRAM 0)
	unreach() { awk '/^Icmp: [0-9]/ { print $5 }' "$M/net/snmp"; } # InDestUnreachs
	unreach_above() { (($(unreach) > $1)); }
	before=$(unreach)
	send_msg "$u" "$HOST_ADDR:$kport" "$BATS_TEST_TMPDIR/p"
	wait_until 10 unreach_above "$before"
	[ "$(status_field "$u" error)" = 0 ]
	send_msg "$u" "$HOST_ADDR:$kport" "$BATS_TEST_TMPDIR/p"
	# connected: the next send reports it, once
	c=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$c" "connect $HOST_ADDR:$kport"
	send_msg "$c" "$HOST_ADDR:$kport" "$BATS_TEST_TMPDIR/p"
	wait_until 10 field_is "$c" error ECONNREFUSED
	run send_msg "$c" "$HOST_ADDR:$kport" "$BATS_TEST_TMPDIR/p"
	[ "$status" -ne 0 ]
	[[ $output == *"Connection refused"* ]]
	[ "$(status_field "$c" error)" = 0 ]
	ctl "$u" close
	ctl "$c" close
}

@test "msg: O_NONBLOCK gives EAGAIN, Ctrl-C ends a blocked read, the socket is unharmed" {
	port=$(test_port)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind 0.0.0.0:$port"
	run dd if="$M/$s/msg" iflag=nonblock bs=100 count=1
	[ "$status" -ne 0 ]
	[[ $output == *"Resource temporarily unavailable"* ]]
	t0=$(date +%s%N)
	run timeout -s INT 1 cat "$M/$s/msg"
	t1=$(date +%s%N)
	[ "$status" -eq 124 ]
	(( (t1 - t0) / 1000000 < 1900 ))
	echo after | nc -u -w1 -q0 "$STACK_ADDR" "$port"
	read -r -t 10 from len <"$M/$s/msg"
	[ "$len" = 6 ]
	ctl "$s" close
}

@test "msg: a write goes out while another process's read of msg is blocked; each lookup is its own inode" {
	kport=$(test_port)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind 0.0.0.0:$(test_port 1)"
	bg timeout 30 cat "$M/$s/msg"
	kernel_udp "$kport" "$BATS_TEST_TMPDIR/got"
	echo x >"$BATS_TEST_TMPDIR/p"
	send_msg "$s" "$HOST_ADDR:$kport" "$BATS_TEST_TMPDIR/p"
	wait_exit "$NC_PID" 10
	[ "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/got")" = 2 ]
	# two lookups of msg are two inodes, as for data
	[ "$(stat -c %i "$M/$s/msg")" != "$(stat -c %i "$M/$s/msg")" ]
	ctl "$s" close
}

@test "msg: open on a stream socket fails with EOPNOTSUPP" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	ls "$M/$s" | grep -qx msg
	run cat "$M/$s/msg"
	[ "$status" -ne 0 ]
	[[ $output == *"Operation not supported"* ]]
	ctl "$s" close
}

@test "msg: ping and raw sockets read the sender with port 0; a written port is ignored" {
	p=$(mk_socket AF_INET SOCK_DGRAM 1)
	{ echo "$HOST_ADDR:4242"; printf '\x08\x00\x00\x00\x00\x00\x00\x07ping'; } |
		dd of="$M/$p/msg" bs=64k count=1 iflag=fullblock status=none
	exec {fd}<"$M/$p/msg"
	read -r -t 10 from len <&"$fd"
	[ "$from $len" = "$HOST_ADDR:0 12" ]
	# an echo reply, type 0, with our sequence and data
	[ "$(head -c 12 <&"$fd" | od -An -tx1 -j6 | tr -d ' \n')" = 000770696e67 ]
	exec {fd}<&-
	r=$(mk_socket AF_INET SOCK_RAW 1)
	# the checksum is the sender's to fill on a raw socket: 0800 f7fe 0001 0000
	{ echo "$HOST_ADDR:4242"; printf '\x08\x00\xf7\xfe\x00\x01\x00\x00'; } |
		dd of="$M/$r/msg" bs=64k count=1 iflag=fullblock status=none
	read -r -t 10 from len <"$M/$r/msg"
	# the raw socket reads the whole reply, IP header first: 20 + 8 bytes
	[ "$from $len" = "$HOST_ADDR:0 28" ]
	ctl "$p" close
	ctl "$r" close
}

# kernel_disconnect BIND: on a kernel socket, bind to BIND (unless empty),
# connect, connect(AF_UNSPEC), then print getsockname and what a send
# without an address gives. ours_disconnect BIND does the same on ours.
kernel_disconnect() {
	python3 -c '
import ctypes, errno, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[1]:
    h, p = sys.argv[1].rsplit(":", 1); s.bind((h, int(p)))
s.connect((sys.argv[2], 9))
sa = (ctypes.c_ubyte * 16)()  # sa_family 0: AF_UNSPEC
assert libc.connect(s.fileno(), sa, 16) == 0
h, p = s.getsockname()
try:
    s.send(b"x"); print("%s:%d sent" % (h, p))
except OSError as e:
    print("%s:%d %s" % (h, p, errno.errorcode[e.errno]))
' "$1" "$HOST_ADDR"
}

ours_disconnect() {
	local s
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	[[ -z $1 ]] || ctl "$s" "bind $1"
	ctl "$s" "connect $HOST_ADDR:9"
	ctl "$s" disconnect
	[[ $(status_field "$s" sk_state) == CLOSE ]]
	not cat "$M/$s/remote" 2>/dev/null
	local loc err
	loc=$(cat "$M/$s/local")
	err=$(bash -c 'echo x >"$1"' _ "$M/$s/data" 2>&1) || true
	if [[ -z $err ]]; then
		echo "$loc sent"
	elif [[ $err == *"Destination address required"* ]]; then
		echo "$loc EDESTADDRREQ"
	fi
	ctl "$s" close
}

@test "disconnect: a datagram socket forgets its peer (EDESTADDRREQ), keeping what was bound, as Linux" {
	port=$(test_port)
	# autobound by connect: the port goes back, as __udp_disconnect does
	[ "$(ours_disconnect "")" = "$(kernel_disconnect "")" ]
	[ "$(ours_disconnect "")" = "0.0.0.0:0 EDESTADDRREQ" ]
	# a bound port stays
	[ "$(ours_disconnect "0.0.0.0:$port")" = "0.0.0.0:$port EDESTADDRREQ" ]
	[ "$(kernel_disconnect "0.0.0.0:$port")" = "0.0.0.0:$port EDESTADDRREQ" ]
	# and a bound address (each side binds its own)
	[ "$(ours_disconnect "$STACK_ADDR:$port")" = "$STACK_ADDR:$port EDESTADDRREQ" ]
	[ "$(kernel_disconnect "$HOST_ADDR:$port")" = "$HOST_ADDR:$port EDESTADDRREQ" ]
}

@test "disconnect: a TCP connection aborts to CLOSE with a reset, as connect(AF_UNSPEC)" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	ctl "$s" disconnect
	[ "$(status_field "$s" sk_state)" = CLOSE ]
	[ "$(status_field "$s" state)" = SS_UNCONNECTED ]
	# the kernel's nc saw the reset and ended
	wait_exit "$NC_PID" 10
	ctl "$s" close
}

@test "msg: both directions are traced, naming the socket a datagram was queued on" {
	port=$(test_port)
	kport=$(test_port 1)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind 0.0.0.0:$port"
	t=$BATS_TEST_TMPDIR/trace
	exec {TRACE_FD}<"$M/trace"
	cat <&"$TRACE_FD" >"$t" 3>&- &
	TRACE_PID=$!
	kernel_udp "$kport" "$BATS_TEST_TMPDIR/got"
	echo out >"$BATS_TEST_TMPDIR/p"
	send_msg "$s" "$HOST_ADDR:$kport" "$BATS_TEST_TMPDIR/p"
	echo in | nc -u -w1 -q0 "$STACK_ADDR" "$port"
	read -r -t 10 from len <"$M/$s/msg"
	traced() { grep -qE -- "$1" "$t"; }
	wait_until 10 traced "ino=$s __sys_recvfrom -> inet_recvmsg -> udp_recvmsg from=$HOST_ADDR:[0-9]+ len=3\$"
	grep -qE "ino=$s __sys_sendto -> inet_sendmsg -> udp_sendmsg to=$HOST_ADDR:$kport len=4\$" "$t"
	grep -qE "ino=$s udp_queue_rcv_skb from=$HOST_ADDR:[0-9]+ len=3\$" "$t"
	ctl "$s" close
}

@test "msg: poll wakes a reader when a datagram arrives (socat)" {
	port=$(test_port)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind 0.0.0.0:$port"
	out=$BATS_TEST_TMPDIR/out
	# socat polls the open before each read
	bg timeout 20 socat -u "OPEN:$M/$s/msg,rdonly" "OPEN:$out,creat,trunc"
	echo polled | nc -u -w1 -q0 "$STACK_ADDR" "$port"
	wait_until 10 file_has "$out" "polled"
	grep -qE "^$HOST_ADDR:[0-9]+ 7\$" "$out"
	ctl "$s" close
}

@test "msg: a send to the subnet broadcast is EACCES without SO_BROADCAST, delivered with it" {
	port=$(test_port)
	bcast=198.18.0.255
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
open(sys.argv[3], "wb").write(s.recv(100))
' "$bcast" "$port" "$BATS_TEST_TMPDIR/got" 3>&- &
	NC_PID=$!
	wait_until 5 bash -c "ss -Hlun 'sport = :$port' | grep -q ."
	echo "to all" >"$BATS_TEST_TMPDIR/p"
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	run send_msg "$s" "$bcast:$port" "$BATS_TEST_TMPDIR/p"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
	ctl "$s" "setsockopt SO_BROADCAST 1"
	send_msg "$s" "$bcast:$port" "$BATS_TEST_TMPDIR/p"
	wait_exit "$NC_PID" 10
	[ "$(cat "$BATS_TEST_TMPDIR/got")" = "to all" ]
	ctl "$s" close
}
