#!/usr/bin/env bats
# UDP over IPv6 against the Linux kernel across the TAP (2001:2::2, the
# stack, and 2001:2::1, the kernel): datagrams both ways beside kernel
# python3 sockets, 20000 bytes fragmented and reassembled each way,
# ECONNREFUSED from the kernel's port unreachable, and a bash server on
# INO/msg answering a kernel nc -6 -u (docs/sockfsd.md "IPv6").

load helpers

STACK6=2001:2::2
HOST6=2001:2::1
STACK6_HEX=20010002000000000000000000000002

setup_file() {
	sockfsd_start sft-udp6
	wait_until 10 grep -q "^$STACK6_HEX [0-9a-f]* 40 00 80 " "$M/net/if_inet6"
}
teardown_file() { sockfsd_stop; }
teardown() {
	[[ -n ${TRACE_PID:-} ]] && { kill "$TRACE_PID" 2>/dev/null; wait_exit "$TRACE_PID" 5 || true; }
	TRACE_PID=
	[[ -n ${TRACE_FD:-} ]] && exec {TRACE_FD}<&-
	TRACE_FD=
	common_teardown
}

udp6_listening() { ss -Hlun "src [$HOST6]:$1" 2>/dev/null | grep -q .; }

read_dgram() { timeout 10 dd if="$M/$1/data" bs=65536 count=1 status=none; }

# getopt_val INO NAME: getsockopt through ctl, the answer read on the same open.
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

# kernel_udp6_echo PORT: a kernel AF_INET6 socket on [HOST6]:PORT that
# sends each of the first N datagrams back to its sender. Sets PY_PID.
kernel_udp6_echo() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
for _ in range(int(sys.argv[3])):
    d, a = s.recvfrom(65536)
    s.sendto(d, a)
' "$HOST6" "$1" "${2:-1}" 3>&- &
	PY_PID=$!
	wait_until 5 udp6_listening "$1"
}

@test "UDP6: an AF_INET6 socket is [::]:0, binds [::]:P, and receives a kernel datagram with its v6 sender" {
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	[ "$(cat "$M/$s/local")" = "[::]:0" ]
	[ "$(status_field "$s" family)" = AF_INET6 ]
	port=$(test_port)
	ctl "$s" "bind *:$port"
	[ "$(cat "$M/$s/local")" = "[::]:$port" ]
	kport=$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.sendto(b"hello stack6", (sys.argv[2], int(sys.argv[3])))
print(s.getsockname()[1])
' "$HOST6" "$STACK6" "$port")
	exec {fd}<"$M/$s/msg"
	read -r -t 10 from len <&"$fd"
	IFS= read -r -t 10 -N "$len" body <&"$fd"
	exec {fd}<&-
	[ "$from" = "[$HOST6]:$kport" ]
	[ "$body" = "hello stack6" ]
	run ctl "$s" "bind 198.18.0.2:$port"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]]
	ctl "$s" close
}

@test "UDP6: connected to a kernel echo socket, a datagram goes out and comes back" {
	port=$(test_port)
	kernel_udp6_echo "$port"
	s=$(mk_socket AF_INET6 SOCK_DGRAM 17)
	ctl "$s" "connect [$HOST6]:$port"
	[ "$(cat "$M/$s/remote")" = "[$HOST6]:$port" ]
	[[ $(cat "$M/$s/local") == "[$STACK6]:"* ]]
	echo "hello kernel6" >"$M/$s/data"
	run read_dgram "$s"
	[ "$status" -eq 0 ]
	[ "$output" = "hello kernel6" ]
	wait_exit "$PY_PID" 10
	ctl "$s" close
}

@test "UDP6: a 20000-byte datagram goes out fragmented, comes back reassembled, intact each way" {
	port=$(test_port)
	head -c 20000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	kernel_udp6_echo "$port"
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	ctl "$s" "connect [$HOST6]:$port"
	frag=$(awk '$1 == "Ip6FragCreates" { print $2 }' "$M/net/snmp6")
	reasm=$(awk '$1 == "Ip6ReasmOKs" { print $2 }' "$M/net/snmp6")
	dd if="$BATS_TEST_TMPDIR/big" of="$M/$s/data" bs=20000 count=1 status=none
	read_dgram "$s" >"$BATS_TEST_TMPDIR/got"
	same_file "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/got"
	(( $(awk '$1 == "Ip6FragCreates" { print $2 }' "$M/net/snmp6") - frag == 14 ))
	(( $(awk '$1 == "Ip6ReasmOKs" { print $2 }' "$M/net/snmp6") - reasm == 1 ))
	wait_exit "$PY_PID" 10
	ctl "$s" close
}

@test "UDP6: the kernel's port unreachable is ECONNREFUSED on a connected socket, as on a kernel socket" {
	port=$(test_port)
	# The reference: a kernel AF_INET6 socket, connected to a port of
	# its own host nobody holds, reads ECONNREFUSED after a send.
	run python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"x")
s.settimeout(5)
try:
    s.recv(10)
except ConnectionRefusedError:
    print("ECONNREFUSED")
' "$HOST6" "$port"
	[ "$output" = ECONNREFUSED ]
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	ctl "$s" "connect [$HOST6]:$port"
	echo x >"$M/$s/data"
	run read_dgram "$s"
	[ "$status" -ne 0 ]
	[[ $output == *"Connection refused"* ]]
	ctl "$s" close
}

@test "UDP6: a bash echo server on INO/msg answers a kernel nc -6 -u" {
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	port=$(test_port)
	ctl "$s" "bind [$STACK6]:$port"
	timeout 20 bash -c '
	exec {in}<"$1"
	read -r from len <&$in
	IFS= read -r -N "$len" body <&$in
	printf "%s\n%s" "$from" "$body" | dd of="$1" status=none' _ "$M/$s/msg" &
	srv=$!
	run bash -c 'echo "echo me6" | timeout 10 nc -6 -u -w2 "$1" "$2"' _ "$STACK6" "$port"
	[[ $output == *"echo me6"* ]]
	wait "$srv"
	ctl "$s" close
}

@test "UDP6: net/udp6 has the host's header and a bound and a connected socket in Linux's layout" {
	[ "$(head -1 "$M/net/udp6")" = "$(head -1 /proc/net/udp6)" ]
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	ctl "$s" "bind [$STACK6]:4660"
	c=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	ctl "$c" "connect [$HOST6]:4661"
	cat "$M/net/udp6"
	# 2001:2::2 as four little-endian words, port 4660 is 1234, state 07 (CLOSE).
	grep -Eq "^ *[0-9]+: 02000120000000000000000002000000:1234 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000 +0 +0 $s 2 0000000000000000 0\$" "$M/net/udp6"
	# The connected one: ESTABLISHED (01) to 2001:2::1 port 4661 (1235).
	grep -Eq "^ *[0-9]+: 02000120000000000000000002000000:[0-9A-F]{4} 02000120000000000000000001000000:1235 01 .* $c 2 " "$M/net/udp6"
	# Neither is in net/udp, which lists AF_INET sockets only.
	not grep -q " $s \| $c " "$M/net/udp"
	ctl "$s" close
	ctl "$c" close
}

@test "UDP6: IPV6_UNICAST_HOPS and IPV6_TCLASS, defaults as a kernel socket's, reach the kernel in the header; IPV6_MTU once connected" {
	# The kernel's defaults for an AF_INET6 UDP socket, the reference.
	want=$(python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
print(s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS), s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS))')
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	out=$(cat "$M/$s/ctl")
	got="$(grep '^IPV6_UNICAST_HOPS ' <<<"$out" | cut -d' ' -f2) $(grep '^IPV6_TCLASS ' <<<"$out" | cut -d' ' -f2)"
	[ "$got" = "$want" ]
	not grep -q '^IPV6_MTU ' <<<"$out"
	port=$(test_port)
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVTCLASS, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
d, anc, _, _ = s.recvmsg(100, 256)
v = {t: int.from_bytes(x, sys.byteorder) for _, t, x in anc}
open(sys.argv[3], "w").write("%d %d\n" % (v[socket.IPV6_HOPLIMIT], v[socket.IPV6_TCLASS]))
' "$HOST6" "$port" "$BATS_TEST_TMPDIR/hdr" 3>&- &
	PY_PID=$!
	wait_until 5 udp6_listening "$port"
	ctl "$s" "setsockopt IPV6_UNICAST_HOPS 7"
	ctl "$s" "setsockopt IPV6_TCLASS 40"
	ctl "$s" "connect [$HOST6]:$port"
	[ "$(getopt_val "$s" IPV6_MTU)" = 1500 ]
	echo x >"$M/$s/data"
	wait_exit "$PY_PID" 10
	[ "$(cat "$BATS_TEST_TMPDIR/hdr")" = "7 40" ]
	run ctl "$s" "setsockopt IPV6_UNICAST_HOPS 256"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]]
	ctl "$s" close
}

@test "ping6: a ping socket (AF_INET6 SOCK_DGRAM IPPROTO_ICMPV6) pings the kernel's 2001:2::1" {
	s=$(mk_socket AF_INET6 SOCK_DGRAM IPPROTO_ICMPV6)
	ctl "$s" "connect [$HOST6]:0"
	# An echo request: type 128, code 0; the stack fills in the identifier
	# and checksum. Sequence 1, data "sockfs".
	printf '\x80\x00\x00\x00\x00\x00\x00\x01sockfs' >"$M/$s/data"
	reply=$(timeout 10 dd if="$M/$s/data" bs=100 count=1 status=none | od -An -tx1 | tr -d '\n')
	echo "reply: $reply"
	# Echo reply (type 129), sequence 1, the same data.
	[[ $reply == " 81 00 "* ]]
	[[ $reply == *" 00 01 73 6f 63 6b 66 73" ]]
	# The identifier is the socket's ident, its local "port".
	local=$(cat "$M/$s/local")
	port=${local##*:}
	ident=$(printf '%02x %02x' $((port >> 8)) $((port & 255)))
	[[ $reply == " 81 00 "??" "??" $ident "* ]]
	# Anything but an echo request is EINVAL.
	run bash -c 'printf "\x81\x00\x00\x00\x00\x00\x00\x01" >"$1"' _ "$M/$s/data"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]]
	ctl "$s" close
}

@test "UDP6: net/sockstat6 has the host's rows and counts the AF_INET6 UDP sockets" {
	[ "$(cut -d' ' -f1,2 "$M/net/sockstat6" | tr '\n' ' ')" = "$(cut -d' ' -f1,2 /proc/net/sockstat6 | tr '\n' ' ')" ]
	grep -qx 'FRAG6: inuse 0 memory 0' "$M/net/sockstat6"
	before=$(awk '$1 == "UDP6:" { print $3 }' "$M/net/sockstat6")
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	t=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	[ "$(awk '$1 == "UDP6:" { print $3 }' "$M/net/sockstat6")" -eq $((before + 2)) ]
	ctl "$s" close
	ctl "$t" close
	[ "$(awk '$1 == "UDP6:" { print $3 }' "$M/net/sockstat6")" -eq "$before" ]
}

@test "UDP6: the trace shows inet6_create, inet6_bind, ip6_datagram_connect, udpv6_sendmsg down to ip6_xmit and udpv6_rcv up" {
	port=$(test_port)
	kernel_udp6_echo "$port"
	t=$BATS_TEST_TMPDIR/trace
	exec {TRACE_FD}<"$M/trace"
	cat <&"$TRACE_FD" >"$t" 3>&- &
	TRACE_PID=$!
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	ctl "$s" "bind [$STACK6]:0"
	ctl "$s" "connect [$HOST6]:$port"
	echo "traced" >"$M/$s/data"
	read_dgram "$s" >/dev/null
	ctl "$s" close
	wait_until 10 grep -q "ino=$s sock_release" "$t"
	for re in "ino=$s inet6_create UDPv6\$" \
		"ino=$s __sys_bind -> inet6_bind \\[$STACK6\\]:0\$" \
		"ino=$s inet_dgram_connect -> ip6_datagram_connect \\[$HOST6\\]:$port\$" \
		"ino=$s sock_write_iter -> inet6_sendmsg -> udpv6_sendmsg len=7\$" \
		"ino=$s udp_v6_send_skb \\[$STACK6\\]:[0-9]+ -> \\[$HOST6\\]:$port len=7 -> ip6_xmit\$" \
		"ip6_input_finish -> udpv6_rcv \\[$HOST6\\]:$port -> \\[$STACK6\\]:[0-9]+ len=7\$" \
		"ino=$s sock_read_iter -> inet6_recvmsg -> udpv6_recvmsg len=7\$" \
		"ino=$s sock_release -> inet_release -> dgram_close\$"; do
		grep -Eq "$re" "$t" || { echo "missing: $re" >&2; cat "$t" >&2; false; }
	done
	wait_exit "$PY_PID" 10
}
