#!/usr/bin/env bats
# What the route lookup decides, held to the kernel's answers: connect and
# send towards broadcast, multicast and 0.0.0.0, SO_BROADCAST, bind to the
# subnet broadcast, and the socket's view after a refused connect. Each
# test runs the same steps on a kernel socket (python3, on the kernel's
# side of the TAP, whose address and prefix mirror the stack's) as the
# reference.

load helpers

setup_file() { sockfsd_start sft-route; }
teardown_file() { sockfsd_stop; }
teardown() {
	if [[ -n ${DUMP_PID:-} ]]; then
		kill "$DUMP_PID" 2>/dev/null || true
		wait_exit "$DUMP_PID" 5 || true
		DUMP_PID=
	fi
	common_teardown
}

BCAST=198.18.0.255

# kernel_try SRC... runs a python3 snippet with socket imported and prints
# "OK" or the errno's name it raised (the kernel's answer to the same step).
kernel_try() {
	python3 -c '
import socket, errno, sys
try:
    exec(sys.argv[1]); print("OK")
except OSError as e:
    n = errno.errorcode[e.errno]
    print("EOPNOTSUPP" if n == "ENOTSUP" else n)  # one number, two names
' "$1"
}

# sockfs_try INO CMD prints "OK" or the errno name of a ctl command.
sockfs_try() {
	local out
	if out=$(ctl "$1" "$2" 2>&1); then echo OK; else errno_name "$out"; fi
}

# errno_name MESSAGE maps the shell's "write error: ..." to an errno name.
errno_name() {
	case $1 in
	*"Network is unreachable"*) echo ENETUNREACH ;;
	*"Permission denied"*) echo EACCES ;;
	*"Connection refused"*) echo ECONNREFUSED ;;
	*"Cannot assign requested address"*) echo EADDRNOTAVAIL ;;
	*"Operation not supported"*) echo EOPNOTSUPP ;;
	*"No route to host"*) echo EHOSTUNREACH ;;
	*) echo "?$1" ;;
	esac
}

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

# capture_start FILE: tcpdump on the TAP (what the kernel sees) into FILE,
# packet-buffered; returns once it captures.
capture_start() {
	tcpdump -i "$TAP" -U -nn -w "$1" 2>"$1.err" 3>&- &
	DUMP_PID=$!
	wait_until 5 grep -q "listening on" "$1.err"
}

@test "TCP connect to broadcast or multicast: ENETUNREACH at once, no SYN on the wire (as the kernel)" {
	port=$(test_port)
	capture_start "$BATS_TEST_TMPDIR/wire.pcap"
	for a in "$BCAST" 255.255.255.255 224.0.0.1; do
		want=$(kernel_try "socket.socket().connect(('$a', $port))")
		[ "$want" = ENETUNREACH ] || { echo "kernel said $want for $a" >&2; false; }
		s=$(mk_socket AF_INET SOCK_STREAM 6)
		got=$(sockfs_try "$s" "connect $a:$port")
		[ "$got" = "$want" ] || { echo "connect $a: $got, kernel $want" >&2; false; }
		[ "$(cat "$M/$s/local")" = 0.0.0.0:0 ]
		ctl "$s" close
	done
	# A marker the kernel does see, so the capture is known to be live.
	u=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$u" "connect $HOST_ADDR:$port"
	echo marker >"$M/$u/data"
	wait_until 10 bash -c "tcpdump -r '$BATS_TEST_TMPDIR/wire.pcap' -nn udp 2>/dev/null | grep -q ."
	run bash -c "tcpdump -r '$BATS_TEST_TMPDIR/wire.pcap' -nn 'tcp port $port' 2>/dev/null"
	[ -z "$output" ] || { echo "on the wire: $output" >&2; false; }
	ctl "$u" close
}

@test "UDP connect: the route decides EACCES/ENETUNREACH, SO_BROADCAST lets it through (as the kernel)" {
	port=$(test_port)
	# address, bound?, SO_BROADCAST?; the kernel's socket binds $HOST_ADDR
	# where ours binds $STACK_ADDR.
	while read -r a bound bc; do
		pre=
		[ "$bc" = 1 ] && pre="s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); "
		[ "$bound" = 1 ] && pre+="s.bind(('$HOST_ADDR', 0)); "
		want=$(kernel_try "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ${pre}s.connect(('$a', $port))")
		s=$(mk_socket AF_INET SOCK_DGRAM 0)
		[ "$bc" = 1 ] && ctl "$s" "setsockopt SO_BROADCAST 1"
		[ "$bound" = 1 ] && ctl "$s" "bind $STACK_ADDR:0"
		got=$(sockfs_try "$s" "connect $a:$port")
		[ "$got" = "$want" ] || { echo "connect $a bound=$bound bc=$bc: $got, kernel $want" >&2; false; }
		ctl "$s" close
	done <<-EOF
		$BCAST 0 0
		$BCAST 0 1
		$BCAST 1 0
		$BCAST 1 1
		255.255.255.255 0 0
		255.255.255.255 0 1
		255.255.255.255 1 0
		255.255.255.255 1 1
		224.0.0.1 0 0
		224.0.0.1 1 0
	EOF
}

# kernel_bcast_recv ADDR PORT OUT: a kernel UDP socket bound to ADDR:PORT
# that writes the first datagram and its destination address (IP_PKTINFO)
# to OUT. Sets NC_PID.
kernel_bcast_recv() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 8, 1)  # IP_PKTINFO
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
d, anc, _, src = s.recvmsg(65536, 256)
dst = socket.inet_ntoa(anc[0][2][8:12])
open(sys.argv[3], "w").write("%s to %s: %s" % (src[0], dst, d.decode()))
' "$1" "$2" "$3" 3>&- &
	NC_PID=$!
	wait_until 5 bash -c "ss -Hlun 'sport = :$2' | grep -q ."
}

@test "SO_BROADCAST: a data write to the subnet broadcast reaches a kernel listener bound to it" {
	port=$(test_port)
	kernel_bcast_recv "$BCAST" "$port" "$BATS_TEST_TMPDIR/got"
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	[ "$(sockfs_try "$s" "connect $BCAST:$port")" = EACCES ]
	ctl "$s" "setsockopt SO_BROADCAST 1"
	ctl "$s" "connect $BCAST:$port"
	[ "$(cat "$M/$s/local")" = "$STACK_ADDR:$(cut -d: -f2 "$M/$s/local")" ]
	echo "to all" >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" "$STACK_ADDR to $BCAST: to all"
	ctl "$s" close
}

@test "SO_BROADCAST: 255.255.255.255 from a socket bound to our address reaches the kernel" {
	port=$(test_port)
	kernel_bcast_recv 0.0.0.0 "$port" "$BATS_TEST_TMPDIR/got"
	u=$(mk_socket AF_INET SOCK_DGRAM 0)
	[ "$(sockfs_try "$u" "connect 255.255.255.255:$port")" = ENETUNREACH ]
	ctl "$u" close
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind $STACK_ADDR:0"
	[ "$(sockfs_try "$s" "connect 255.255.255.255:$port")" = EACCES ]
	ctl "$s" "setsockopt SO_BROADCAST 1"
	ctl "$s" "connect 255.255.255.255:$port"
	echo "to everyone" >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" "$STACK_ADDR to 255.255.255.255: to everyone"
	ctl "$s" close
}

@test "bind to the subnet broadcast: allowed for TCP and UDP; such a UDP socket gets the kernel's broadcasts" {
	port=$(test_port)
	for type in SOCK_STREAM SOCK_DGRAM; do
		want=$(kernel_try "socket.socket(socket.AF_INET, socket.$type).bind(('198.18.0.255', 0))")
		s=$(mk_socket AF_INET "$type" 0)
		[ "$(sockfs_try "$s" "bind $BCAST:0")" = "$want" ]
		ctl "$s" close
	done
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind $BCAST:$port"
	[ "$(cat "$M/$s/local")" = "$BCAST:$port" ]
	# The kernel needs SO_BROADCAST for it too: EACCES without.
	[ "$(kernel_try "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('$BCAST', $port))")" = EACCES ]
	kernel_try "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1); s.sendto(b'hello all', ('$BCAST', $port))"
	run bash -c "timeout 10 dd if='$M/$s/data' bs=65536 count=1 status=none"
	[ "$output" = "hello all" ]
	ctl "$s" close
}

@test "connect 0.0.0.0:P is this host: UDP peer 127.0.0.1, TCP refused over loopback (as the kernel)" {
	port=$(test_port)
	want=$(python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('0.0.0.0', $port))
print('%s:%d' % s.getpeername())")
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "connect 0.0.0.0:$port"
	[ "$(cat "$M/$s/remote")" = "$want" ]
	[[ $(cat "$M/$s/local") == 127.0.0.1:* ]]
	ctl "$s" close
	want=$(kernel_try "socket.socket().connect(('0.0.0.0', $port))")
	t=$(mk_socket AF_INET SOCK_STREAM 6)
	[ "$(sockfs_try "$t" "connect 0.0.0.0:$port")" = "$want" ]
	ctl "$t" close
}

@test "after a refused connect: local 0.0.0.0:PORT, and status agrees with local and remote (as the kernel)" {
	port=$(test_port)
	want=$(python3 -c "
import socket
s = socket.socket()
try: s.connect(('$HOST_ADDR', $port))
except ConnectionRefusedError: pass
print(s.getsockname()[0])")
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	[ "$(sockfs_try "$s" "connect $HOST_ADDR:$port")" = ECONNREFUSED ]
	local=$(cat "$M/$s/local")
	[ "${local%:*}" = "$want" ]
	[ "${local#*:}" != 0 ]
	run cat "$M/$s/remote"
	[[ $output == *"not connected"* ]]
	[ "$(status_field "$s" local)" = "$local" ]
	[ "$(status_field "$s" remote)" = 0.0.0.0:0 ]
	[ "$(status_field "$s" tx_queue)" = 0 ]
	ctl "$s" close
}

@test "UDP: IP_TOS keeps the ECN bits, TCP_MAXSEG reads EOPNOTSUPP, a failed send still binds (as the kernel)" {
	want=$(python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 255)
print(s.getsockopt(socket.IPPROTO_IP, socket.IP_TOS))")
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "setsockopt IP_TOS 255"
	[ "$(getopt_val "$s" IP_TOS)" = "$want" ]
	want=$(kernel_try "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)")
	[ "$(sockfs_try "$s" "getsockopt TCP_MAXSEG")" = "$want" ]
	run bash -c "echo x >'$M/$s/data'"
	[[ $output == *"Destination address required"* ]]
	[[ $(cat "$M/$s/local") == 0.0.0.0:* && $(cat "$M/$s/local") != 0.0.0.0:0 ]]
	ctl "$s" close
}

# icmp_field FILE NAME prints FILE's (net/snmp's layout) Icmp counter NAME.
icmp_field() {
	awk -v k="$2" '$1 == "Icmp:" { if (!n) { for (i = 2; i <= NF; i++) col[$i] = i; n = 1 } else print $col[k] }' "$1"
}

# icmp_counts_agree FILE IN OUT ERR: since the counts IN OUT ERR were read,
# FILE's Icmp counters rose by as many messages received as sent (each
# error went out and came back through lo), at least one, and every error
# that found no socket (InErrors) is among the messages received.
icmp_counts_agree() {
	local din dout derr
	din=$(($(icmp_field "$1" InMsgs) - $2))
	dout=$(($(icmp_field "$1" OutMsgs) - $3))
	derr=$(($(icmp_field "$1" InErrors) - $4))
	echo "$1: InMsgs +$din OutMsgs +$dout InErrors +$derr" >&2
	((din >= 1 && din == dout && derr < din))
}

@test "an unanswered ARP: EHOSTUNREACH, and net/snmp counts each ICMP error sent and received (as the kernel)" {
	port=$(test_port)
	k=/proc/net/snmp
	read -r kin kout kerr < <(echo "$(icmp_field $k InMsgs) $(icmp_field $k OutMsgs) $(icmp_field $k InErrors)")
	[ "$(kernel_try "socket.socket().connect(('198.18.0.78', $port))")" = EHOSTUNREACH ]
	icmp_counts_agree $k "$kin" "$kout" "$kerr"
	f=$M/net/snmp
	read -r in out err < <(echo "$(icmp_field "$f" InMsgs) $(icmp_field "$f" OutMsgs) $(icmp_field "$f" InErrors)")
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	[ "$(sockfs_try "$s" "connect 198.18.0.77:$port")" = EHOSTUNREACH ]
	icmp_counts_agree "$f" "$in" "$out" "$err"
	ctl "$s" close
}
