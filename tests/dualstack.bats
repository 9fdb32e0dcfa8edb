#!/usr/bin/env bats
# Dual stack (docs/sockfsd.md "IPv6"): an AF_INET6 socket that is not
# IPV6_V6ONLY takes IPv4 peers, shown v4-mapped (::ffff:198.18.0.1), and
# reaches them at their v4-mapped addresses. Each behaviour is shown
# against the kernel across the TAP (198.18.0.2 and 2001:2::2 the stack,
# 198.18.0.1 and 2001:2::1 the kernel), then the same steps are run with
# the roles swapped, a kernel AF_INET6 socket (python3) against the
# stack's IPv4, as the reference.

load helpers

STACK4=198.18.0.2
HOST4=198.18.0.1
STACK6=2001:2::2
HOST6=2001:2::1
STACK6_HEX=20010002000000000000000000000002

setup_file() {
	sockfsd_start sft-dual
	wait_until 10 grep -q "^$STACK6_HEX [0-9a-f]* 40 00 80 " "$M/net/if_inet6"
}
teardown_file() { sockfsd_stop; }
teardown() {
	[[ -n ${PY_PID:-} ]] && { kill "$PY_PID" 2>/dev/null; wait_exit "$PY_PID" 5 || true; }
	PY_PID=
	[[ -n ${TRACE_PID:-} ]] && { kill "$TRACE_PID" 2>/dev/null; wait_exit "$TRACE_PID" 5 || true; }
	TRACE_PID=
	[[ -n ${TRACE_FD:-} ]] && exec {TRACE_FD}<&-
	TRACE_FD=
	common_teardown
}

# v6only INO: getsockopt IPV6_V6ONLY, read back on the same open.
v6only() {
	timeout 10 bash -c 'exec 4<>"$1"; echo "getsockopt IPV6_V6ONLY" >&4; read -r v <&4; echo "$v"' _ "$M/$1/ctl"
}

# sockfs_listener PORT [V6ONLY]: an AF_INET6 listener on [::]:PORT.
sockfs_listener() {
	local l
	l=$(mk_socket AF_INET6 SOCK_STREAM 0) || return 1
	[[ -z ${2:-} ]] || ctl "$l" "setsockopt IPV6_V6ONLY $2" || return 1
	ctl "$l" "bind [::]:$1" || return 1
	ctl "$l" listen || return 1
	echo "$l"
}

# kernel_dual_listener PORT V6ONLY OUT: a kernel AF_INET6 listener on
# [::]:PORT with IPV6_V6ONLY set to V6ONLY, which writes the peer of the
# one connection it accepts to OUT. Sets PY_PID.
kernel_dual_listener() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(sys.argv[2]))
s.bind(("::", int(sys.argv[1])))
s.listen()
s.settimeout(20)
c, a = s.accept()
open(sys.argv[3], "w").write("[%s]:%d\n" % a[:2])
' "$1" "$2" "$3" 3>&- &
	PY_PID=$!
	wait_until 15 bash -c "ss -Hltn 'sport = :$1' | grep -q ."
}

# connect_errno FAMILY ADDR PORT: a kernel client's connect outcome.
connect_errno() {
	python3 -c '
import errno, socket, sys
s = socket.socket(getattr(socket, sys.argv[1]), socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect((sys.argv[2], int(sys.argv[3])))
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
' "$@"
}

@test "dual stack: a sockfs listener on [::]:P serves a kernel IPv4 nc and a kernel IPv6 nc, the IPv4 one at [::ffff:198.18.0.1]" {
	port=$(test_port)
	l=$(sockfs_listener "$port")
	[ "$(v6only "$l")" = 0 ]
	run ctl "$l" "setsockopt IPV6_V6ONLY 1"
	[[ $output == *"Invalid argument"* ]] # fixed once bound, as Linux's EINVAL

	echo "from v4" | timeout 20 nc -N "$STACK4" "$port" >"$BATS_TEST_TMPDIR/kgot4" 3>&- &
	NC_PID=$!
	read -r -t 10 c <"$M/$l/accept"
	[ "$(status_field "$c" family)" = AF_INET6 ]
	[[ $(cat "$M/$c/remote") == "[::ffff:$HOST4]:"* ]]
	[ "$(status_field "$c" remote)" = "$(cat "$M/$c/remote")" ]
	[ "$(cat "$M/$c/local")" = "[::ffff:$STACK4]:$port" ]
	read -r -t 10 line <"$M/$c/data"
	[ "$line" = "from v4" ]
	echo "to v4" >"$M/$c/data"
	ctl "$c" close
	wait_exit "$NC_PID" 20
	NC_PID=
	[ "$(cat "$BATS_TEST_TMPDIR/kgot4")" = "to v4" ]

	echo "from v6" | timeout 20 nc -6 -N "$STACK6" "$port" >"$BATS_TEST_TMPDIR/kgot6" 3>&- &
	NC_PID=$!
	read -r -t 10 c6 <"$M/$l/accept"
	[[ $(cat "$M/$c6/remote") == "[$HOST6]:"* ]]
	read -r -t 10 line <"$M/$c6/data"
	[ "$line" = "from v6" ]
	echo "to v6" >"$M/$c6/data"
	ctl "$c6" close
	wait_exit "$NC_PID" 20
	[ "$(cat "$BATS_TEST_TMPDIR/kgot6")" = "to v6" ]
	ctl "$l" close
}

@test "dual stack: the kernel's own [::] listener takes the stack's IPv4 connection as ::ffff:198.18.0.2 (reference)" {
	port=$(test_port)
	kernel_dual_listener "$port" 0 "$BATS_TEST_TMPDIR/peer"
	s=$(mk_socket AF_INET SOCK_STREAM 0)
	ctl "$s" "connect $HOST4:$port"
	wait_exit "$PY_PID" 20
	PY_PID=
	local_port=$(cat "$M/$s/local")
	[ "$(cat "$BATS_TEST_TMPDIR/peer")" = "[::ffff:$STACK4]:${local_port##*:}" ]
	ctl "$s" close
}

@test "dual stack: with IPV6_V6ONLY 1 a [::] listener refuses IPv4 (RST, ECONNREFUSED) and serves IPv6, on sockfs as on the kernel" {
	port=$(test_port)
	l=$(sockfs_listener "$port" 1)
	[ "$(v6only "$l")" = 1 ]
	[ "$(connect_errno AF_INET "$STACK4" "$port")" = ECONNREFUSED ]
	run timeout 10 nc -z "$STACK4" "$port"
	[ "$status" -ne 0 ]
	echo "from v6" | timeout 20 nc -6 -N "$STACK6" "$port" >/dev/null 3>&- &
	NC_PID=$!
	read -r -t 10 c <"$M/$l/accept"
	[[ $(cat "$M/$c/remote") == "[$HOST6]:"* ]]
	ctl "$c" close
	ctl "$l" close

	# The reference: a kernel IPV6_V6ONLY listener refuses the stack's
	# IPv4 connect the same way.
	kport=$(test_port 1)
	kernel_dual_listener "$kport" 1 "$BATS_TEST_TMPDIR/peer"
	s=$(mk_socket AF_INET SOCK_STREAM 0)
	run ctl "$s" "connect $HOST4:$kport"
	[ "$status" -ne 0 ]
	[[ $output == *"Connection refused"* ]]
}

@test "dual stack: a sockfs AF_INET6 client reaches a kernel IPv4 nc at [::ffff:198.18.0.1]:P; IPV6_V6ONLY makes it ENETUNREACH, as on the kernel" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/kgot" <(echo "hello mapped")
	t=$BATS_TEST_TMPDIR/trace
	exec {TRACE_FD}<"$M/trace"
	cat <&"$TRACE_FD" >"$t" 3>&- &
	TRACE_PID=$!
	s=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$s" "connect [::ffff:$HOST4]:$port"
	[ "$(cat "$M/$s/remote")" = "[::ffff:$HOST4]:$port" ]
	[[ $(cat "$M/$s/local") == "[::ffff:$STACK4]:"* ]]
	read -r -t 10 line <"$M/$s/data"
	[ "$line" = "hello mapped" ]
	echo "over IPv4" >"$M/$s/data"
	ctl "$s" close
	wait_exit "$NC_PID" 20
	NC_PID=
	[ "$(cat "$BATS_TEST_TMPDIR/kgot")" = "over IPv4" ]
	# The path: tcp_v6_connect hands over to tcp_v4_connect, and the
	# segments leave by ip_queue_xmit (ipv6_mapped).
	wait_until 10 grep -q "ino=$s sock_release" "$t"
	grep -q "ino=$s tcp_v6_connect \[::ffff:$HOST4\]:$port -> tcp_v4_connect" "$t"
	grep -Eq "ino=$s tcp_transmit_skb .* ip_queue_xmit" "$t"

	o=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$o" "setsockopt IPV6_V6ONLY 1"
	run ctl "$o" "connect [::ffff:$HOST4]:$port"
	[[ $output == *"Network is unreachable"* ]]
	# The reference, a kernel IPV6_V6ONLY socket to the stack's v4-mapped
	# address:
	[ "$(python3 -c '
import errno, socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
try:
    s.connect(("::ffff:" + sys.argv[1], 9))
except OSError as e:
    print(errno.errorcode[e.errno])
' "$STACK4")" = ENETUNREACH ]
}

@test "dual stack: UDP on [::] takes a kernel IPv4 datagram from ::ffff:198.18.0.1 and answers it; a kernel [::] socket does the same with the stack's (reference)" {
	port=$(test_port)
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	ctl "$s" "bind [::]:$port"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(10)
s.sendto(b"v4 datagram", (sys.argv[2], int(sys.argv[3])))
d, a = s.recvfrom(100)
open(sys.argv[4], "w").write("%s %s:%d %d\n" % (d.decode(), a[0], a[1], s.getsockname()[1]))
' "$HOST4" "$STACK4" "$port" "$BATS_TEST_TMPDIR/kgot" 3>&- &
	PY_PID=$!
	exec {fd}<"$M/$s/msg"
	read -r -t 10 from len <&"$fd"
	IFS= read -r -t 10 -N "$len" body <&"$fd"
	exec {fd}<&-
	[[ $from == "[::ffff:$HOST4]:"* ]]
	[ "$body" = "v4 datagram" ]
	printf '%s\n%s' "$from" "answer" | dd of="$M/$s/msg" status=none
	wait_exit "$PY_PID" 10
	PY_PID=
	read -r got src kport <"$BATS_TEST_TMPDIR/kgot"
	[ "$got" = answer ]
	[ "$src" = "$STACK4:$port" ]
	[ "$from" = "[::ffff:$HOST4]:$kport" ]

	# The reference: a kernel AF_INET6 socket on [::] and the stack's
	# AF_INET socket.
	kport=$(test_port 1)
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", int(sys.argv[1])))
s.settimeout(10)
d, a = s.recvfrom(100)
open(sys.argv[2], "w").write("[%s]:%d\n" % a[:2])
' "$kport" "$BATS_TEST_TMPDIR/kpeer" 3>&- &
	PY_PID=$!
	wait_until 15 bash -c "ss -Hlun 'sport = :$kport' | grep -q ."
	u=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$u" "bind $STACK4:0"
	printf '%s\n%s' "$HOST4:$kport" "v4 to kernel" | dd of="$M/$u/msg" status=none
	wait_exit "$PY_PID" 10
	PY_PID=
	uport=$(cat "$M/$u/local")
	[ "$(cat "$BATS_TEST_TMPDIR/kpeer")" = "[::ffff:$STACK4]:${uport##*:}" ]
}

@test "dual stack: a UDP socket connected to [::ffff:198.18.0.1]:P talks IPv4; IPV6_V6ONLY refuses it with ENETUNREACH, as the kernel" {
	port=$(test_port)
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(10)
d, a = s.recvfrom(100)
open(sys.argv[3], "w").write("%s %s:%d\n" % (d.decode(), a[0], a[1]))
' "$HOST4" "$port" "$BATS_TEST_TMPDIR/kgot" 3>&- &
	PY_PID=$!
	wait_until 15 bash -c "ss -Hlun 'src $HOST4:$port' | grep -q ."
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	ctl "$s" "connect [::ffff:$HOST4]:$port"
	[ "$(cat "$M/$s/remote")" = "[::ffff:$HOST4]:$port" ]
	[[ $(cat "$M/$s/local") == "[::ffff:$STACK4]:"* ]]
	echo -n "connected" >"$M/$s/data"
	wait_exit "$PY_PID" 10
	PY_PID=
	lport=$(cat "$M/$s/local")
	[ "$(cat "$BATS_TEST_TMPDIR/kgot")" = "connected $STACK4:${lport##*:}" ]
	# net/udp6 lists it (AF_INET6), its addresses v4-mapped as Linux
	# prints them (198.18.0.2 is the word 020012C6); net/udp does not.
	hexport=$(printf %04X "${lport##*:}")
	grep -q " 0000000000000000FFFF0000020012C6:$hexport 0000000000000000FFFF0000010012C6:$(printf %04X "$port") 01 " "$M/net/udp6"
	run grep -q ":$hexport " "$M/net/udp"
	[ "$status" -ne 0 ]

	o=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	ctl "$o" "setsockopt IPV6_V6ONLY 1"
	run ctl "$o" "connect [::ffff:$HOST4]:$port"
	[[ $output == *"Network is unreachable"* ]]
	[ "$(python3 -c '
import errno, socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
try:
    s.connect(("::ffff:198.18.0.2", 9))
except OSError as e:
    print(errno.errorcode[e.errno])
')" = ENETUNREACH ]
}

@test "dual stack: AF_INET 0.0.0.0:P then AF_INET6 [::]:P is EADDRINUSE, and succeeds with IPV6_V6ONLY, for TCP and UDP, as the kernel answers" {
	for type in SOCK_STREAM SOCK_DGRAM; do
		port=$(test_port)
		a=$(mk_socket AF_INET "$type" 0)
		ctl "$a" "bind 0.0.0.0:$port"
		b=$(mk_socket AF_INET6 "$type" 0)
		run ctl "$b" "bind [::]:$port"
		[[ $output == *"Address already in use"* ]]
		c=$(mk_socket AF_INET6 "$type" 0)
		ctl "$c" "setsockopt IPV6_V6ONLY 1"
		ctl "$c" "bind [::]:$port"
		ctl "$a" close
		ctl "$b" close
		ctl "$c" close
		# The kernel, the same steps:
		[ "$(python3 -c '
import errno, socket, sys
t = getattr(socket, sys.argv[1])
a = socket.socket(socket.AF_INET, t)
a.bind(("0.0.0.0", 0))
p = a.getsockname()[1]
out = []
for only in (0, 1):
    b = socket.socket(socket.AF_INET6, t)
    b.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, only)
    try:
        b.bind(("::", p))
        out.append("ok")
    except OSError as e:
        out.append(errno.errorcode[e.errno])
print(" ".join(out))
' "$type")" = "EADDRINUSE ok" ]
	done
}
