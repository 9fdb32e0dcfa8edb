#!/usr/bin/env bats
# Path MTU discovery (RFC 1191) through a real kernel router. The test's
# namespace, which holds the TAP's kernel side (198.18.0.1), forwards; a
# far namespace sits beyond it on a 1280-byte veth link (198.19.0.0/24),
# and a reference namespace beside it on a 1500-byte link (198.18.1.0/24)
# plays the stack's part with a kernel socket:
#
#   sockfs 198.18.0.2 --TAP 1500-- router --veth 1280-- far 198.19.0.2
#   kernel 198.18.1.2 --veth 1500--'
#
# The far peer announces a 1460-byte MSS (its route's advmss, as a host on
# a 1500-byte LAN behind a narrower hop would), so the sender's full-size
# segments meet the router's 1280 and only "fragmentation needed" can make
# the transfer work. Each test runs the same steps on the kernel socket in
# the reference namespace and compares.
#
# The same over IPv6 (RFC 8201), where the router never fragments and
# answers with packet too big: sockfs 2001:2::2 -- router 2001:2::1 --
# far 2001:2:0:1::2 and ::3 (1280, announcing a 1440-byte MSS) and
# reference 2001:2:0:3::2 (1500).

load helpers

# Named namespaces live in /run/netns, which the whole machine shares:
# the names carry the suite's own namespace's inode number, so two runs
# never meet.
FAR_NS=sft-pmtu-far-${SOCKFS_TEST_NETNS//[^0-9]/}
REF_NS=sft-pmtu-ref-${SOCKFS_TEST_NETNS//[^0-9]/}
FAR=198.19.0.2
FAR2=198.19.0.3 # a second destination, whose path MTU no other test taught
REF=198.18.1.2
FAR6=2001:2:0:1::2
FAR6_2=2001:2:0:1::3 # the TCP test's, so the UDP test's path MTU starts at 1500

setup_file() {
	sockfsd_start sft-pmtu --gateway "$HOST_ADDR" --gateway6 2001:2::1
	cat /proc/sys/net/ipv4/ip_forward >"$BATS_FILE_TMPDIR/ip_forward"
	cat /proc/sys/net/ipv6/conf/all/forwarding >"$BATS_FILE_TMPDIR/forwarding6"
	ip netns add "$FAR_NS"
	ip netns add "$REF_NS"
	ip link add sft-pmtu-r0 type veth peer name eth0 netns "$FAR_NS"
	ip link set sft-pmtu-r0 mtu 1280 up
	ip addr add 198.19.0.1/24 dev sft-pmtu-r0
	ip link add sft-pmtu-r1 type veth peer name eth0 netns "$REF_NS"
	ip link set sft-pmtu-r1 up
	ip addr add 198.18.1.1/24 dev sft-pmtu-r1
	ip -n "$FAR_NS" link set lo up
	ip -n "$FAR_NS" link set eth0 mtu 1280 up
	ip -n "$FAR_NS" addr add "$FAR/24" dev eth0
	ip -n "$FAR_NS" addr add "$FAR2/24" dev eth0
	ip -n "$FAR_NS" route add default via 198.19.0.1 advmss 1460
	ip -n "$REF_NS" link set lo up
	ip -n "$REF_NS" link set eth0 up
	ip -n "$REF_NS" addr add "$REF/24" dev eth0
	ip -n "$REF_NS" route add default via 198.18.1.1
	ip addr add 2001:2:0:1::1/64 dev sft-pmtu-r0 nodad
	ip addr add 2001:2:0:3::1/64 dev sft-pmtu-r1 nodad
	ip -n "$FAR_NS" addr add "$FAR6/64" dev eth0 nodad
	ip -n "$FAR_NS" addr add "$FAR6_2/64" dev eth0 nodad
	ip -n "$FAR_NS" -6 route add default via 2001:2:0:1::1 advmss 1440
	ip -n "$REF_NS" addr add 2001:2:0:3::2/64 dev eth0 nodad
	ip -n "$REF_NS" -6 route add default via 2001:2:0:3::1
	sysctl -qw net.ipv4.ip_forward=1
	sysctl -qw net.ipv6.conf.all.forwarding=1
	wait_until 10 grep -q "^20010002000000000000000000000002 [0-9a-f]* 40 00 80 " "$M/net/if_inet6"
	head -c $((20 << 20)) /dev/urandom >"$BATS_FILE_TMPDIR/payload"
}

teardown_file() {
	ip netns del "$FAR_NS" 2>/dev/null || true
	ip netns del "$REF_NS" 2>/dev/null || true
	if [[ -s $BATS_FILE_TMPDIR/ip_forward ]]; then
		sysctl -qw net.ipv4.ip_forward="$(<"$BATS_FILE_TMPDIR/ip_forward")"
	fi
	if [[ -s $BATS_FILE_TMPDIR/forwarding6 ]]; then
		sysctl -qw net.ipv6.conf.all.forwarding="$(<"$BATS_FILE_TMPDIR/forwarding6")"
	fi
	sockfsd_stop
}

teardown() {
	if [[ -n ${PEER_PID:-} ]]; then
		kill "$PEER_PID" 2>/dev/null || true
		wait_exit "$PEER_PID" 5 || kill -KILL "$PEER_PID" 2>/dev/null || true
		PEER_PID=
	fi
	common_teardown
}

# far_listening PROTO PORT: the far namespace has a PROTO (t/u) socket on PORT.
far_listening() {
	ip netns exec "$FAR_NS" ss -Hln"$1" "sport = :$2" 2>/dev/null | grep -q .
}

# getopt INO NAME prints the socket option's value (the answer to a
# getsockopt written on the same open of ctl), or the error's text.
getopt() {
	local fd v
	exec {fd}<>"$M/$1/ctl" || return 1
	if ! echo "getsockopt $2" >&"$fd" 2>/dev/null; then
		exec {fd}>&-
		echo ERR
		return 0
	fi
	read -r -t 5 v <&"$fd" || { exec {fd}>&-; return 1; }
	exec {fd}>&-
	echo "$v"
}

# mtu_is INO MTU [OPT]: the path MTU option (IP_MTU unless OPT) reads MTU.
mtu_is() { [[ $(getopt "$1" "${3:-IP_MTU}") == "$2" ]]; }

# send_n INO N writes one N-byte datagram and prints OK or the errno's name.
send_n() {
	local out
	if out=$(head -c "$2" /dev/zero 2>&1 >"$M/$1/data"); then
		echo OK
	else
		case $out in
		*"Message too long"*) echo EMSGSIZE ;;
		*"Connection refused"*) echo ECONNREFUSED ;;
		*) echo "?$out" ;;
		esac
	fi
}

# tcp_pmtu FAMILY FAR OPT OPTNUM LEVEL: 20 MiB from a sockfs socket of
# FAMILY to nc on FAR in the far namespace arrive intact, with the socket
# option OPT (the path MTU) read before and after; then the same from a
# kernel socket in the reference namespace (OPTNUM at LEVEL, as python
# names them), whose readings must be sockfs's.
tcp_pmtu() {
	local family=$1 far=$2 opt=$3 optnum=$4 level=$5 port s before after kernel dest nc6=
	port=$(test_port)
	dest="$far:$port"
	if [[ $family == AF_INET6 ]]; then
		nc6=-6
		dest="[$far]:$port"
	fi
	ip netns exec "$FAR_NS" nc $nc6 -l "$far" "$port" >"$BATS_TEST_TMPDIR/got" 3>&- &
	PEER_PID=$!
	wait_until 5 far_listening t "$port"
	s=$(mk_socket "$family" SOCK_STREAM 6)
	ctl "$s" "connect $dest"
	before=$(getopt "$s" "$opt")
	timeout 60 dd if="$BATS_FILE_TMPDIR/payload" of="$M/$s/data" bs=128k status=none
	after=$(getopt "$s" "$opt")
	ctl "$s" close
	wait_exit "$PEER_PID" 30
	PEER_PID=
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
	[ "$before $after" = "1500 1280" ] || { echo "sockfs $opt before/after: $before $after" >&2; false; }

	# The kernel, from the reference namespace: the same transfer.
	ip netns exec "$FAR_NS" nc $nc6 -l "$far" "$((port + 1))" >"$BATS_TEST_TMPDIR/kgot" 3>&- &
	PEER_PID=$!
	wait_until 5 far_listening t "$((port + 1))"
	kernel=$(ip netns exec "$REF_NS" timeout 60 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
level, opt = getattr(socket, sys.argv[5]), int(sys.argv[4])
before = s.getsockopt(level, opt)
s.sendall(open(sys.argv[3], "rb").read())
print(before, s.getsockopt(level, opt))
s.close()
' "$far" "$((port + 1))" "$BATS_FILE_TMPDIR/payload" "$optnum" "$level" 3>&-)
	wait_exit "$PEER_PID" 30
	PEER_PID=
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/kgot"
	[ "$kernel" = "$before $after" ] || { echo "kernel $opt before/after: $kernel; sockfs: $before $after" >&2; false; }
}

@test "TCP: 20 MiB to a peer behind a 1280-byte hop arrive intact after fragmentation needed; IP_MTU reads 1280 (as the kernel)" {
	tcp_pmtu AF_INET "$FAR" IP_MTU 14 IPPROTO_IP
}

@test "TCP over IPv6: 20 MiB to a peer behind a 1280-byte hop arrive intact after packet too big; IPV6_MTU reads 1280 (as the kernel)" {
	tcp_pmtu AF_INET6 "$FAR6_2" IPV6_MTU 24 IPPROTO_IPV6
}

# udp_pmtu_do FAMILY ADDR PORT SOCAT OPT: a connected UDP socket under
# IP(V6)_PMTUDISC_DO sends 1400 bytes to ADDR:PORT in the far namespace
# (where socat's address SOCAT receives), waits for the path MTU option
# OPT to read 1280 after the router's error, then sends 1400 (EMSGSIZE),
# 100 (the pending EMSGSIZE), 100, the largest that fits and one byte
# more; sockfs and a kernel socket in the reference namespace must agree,
# and the kernel must say what RFC 1191/8201 want.
udp_pmtu_do() {
	local family=$1 addr=$2 port=$3 recv=$4 opt=$5 s kernel out
	ip netns exec "$FAR_NS" socat -u "$recv" /dev/null 3>&- &
	PEER_PID=$!
	wait_until 5 far_listening u "$port"
	# The largest datagram a 1280-byte path takes whole.
	local dest=$addr:$port fits=1252
	if [[ $family == AF_INET6 ]]; then
		dest=[$addr]:$port
		fits=1232
	fi

	kernel=$(ip netns exec "$REF_NS" timeout 20 python3 -c '
import socket, errno, sys, time
v6 = sys.argv[3] == "AF_INET6"
fam, level = (socket.AF_INET6, socket.IPPROTO_IPV6) if v6 else (socket.AF_INET, socket.IPPROTO_IP)
discover, mtuopt = (23, 24) if v6 else (10, 14)  # IP(V6)_MTU_DISCOVER, IP(V6)_MTU
fits = int(sys.argv[4])
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(level, discover, 2)  # IP(V6)_PMTUDISC_DO
s.connect((sys.argv[1], int(sys.argv[2])))
def send(n):
    try:
        s.send(bytes(n)); return "OK"
    except OSError as e:
        return errno.errorcode[e.errno]
def mtu():
    return s.getsockopt(level, mtuopt)
out = [str(mtu()), send(1400)]
deadline = time.time() + 10
while mtu() != 1280 and time.time() < deadline:
    time.sleep(0.02)
out += [str(mtu()), send(1400), send(100), send(100), send(fits), send(fits + 1)]
print(" ".join(out))
' "$addr" "$port" "$family" "$fits" 3>&-)

	s=$(mk_socket "$family" SOCK_DGRAM 17)
	ctl "$s" "setsockopt ${opt}_DISCOVER ${opt%_MTU}_PMTUDISC_DO"
	[ "$(getopt "$s" "${opt}_DISCOVER")" = 2 ]
	ctl "$s" "connect $dest"
	out=("$(getopt "$s" "$opt")" "$(send_n "$s" 1400)")
	wait_until 10 mtu_is "$s" 1280 "$opt" || true
	out+=("$(getopt "$s" "$opt")" "$(send_n "$s" 1400)" "$(send_n "$s" 100)" "$(send_n "$s" 100)" \
		"$(send_n "$s" "$fits")" "$(send_n "$s" $((fits + 1)))")
	ctl "$s" close
	[ "${out[*]}" = "$kernel" ] || { echo "sockfs: ${out[*]}; kernel: $kernel" >&2; false; }
	[ "$kernel" = "1500 OK 1280 EMSGSIZE EMSGSIZE OK OK EMSGSIZE" ] || { echo "kernel: $kernel" >&2; false; }
}

@test "UDP with IP_MTU_DISCOVER 2: frag needed, then EMSGSIZE over the path MTU and once from sk_err (as the kernel)" {
	port=$(test_port)
	udp_pmtu_do AF_INET "$FAR2" "$port" "UDP4-RECV:$port,bind=$FAR2" IP_MTU
}

@test "IP_MTU: ENOTCONN on an unconnected socket, as the kernel; IP_MTU_DISCOVER takes names and numbers, EINVAL beyond 5" {
	want=$(python3 -c '
import socket, errno
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.getsockopt(socket.IPPROTO_IP, 14); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
try:
    s.setsockopt(socket.IPPROTO_IP, 10, 6); print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
')
	s=$(mk_socket AF_INET SOCK_DGRAM 17)
	run ctl "$s" "getsockopt IP_MTU"
	got=$([[ $output == *"not connected"* ]] && echo ENOTCONN || echo "?$output")
	run ctl "$s" "setsockopt IP_MTU_DISCOVER 6"
	got+=$'\n'$([[ $output == *"Invalid argument"* ]] && echo EINVAL || echo "?$output")
	[ "$got" = "$want" ] || { echo "sockfs: $got; kernel: $want" >&2; false; }
	[ "$(getopt "$s" IP_MTU_DISCOVER)" = 1 ]
	ctl "$s" "setsockopt IP_MTU_DISCOVER 3"
	[ "$(getopt "$s" IP_MTU_DISCOVER)" = 3 ]
	ctl "$s" "setsockopt IP_MTU_DISCOVER IP_PMTUDISC_DONT"
	[ "$(getopt "$s" IP_MTU_DISCOVER)" = 0 ]
	ctl "$s" close
}

@test "UDP over IPv6 with IPV6_MTU_DISCOVER DO: packet too big, IPV6_MTU 1280, then EMSGSIZE over it and once pending (as the kernel)" {
	port=$(test_port)
	udp_pmtu_do AF_INET6 "$FAR6" "$port" "UDP6-RECV:$port,bind=[$FAR6]" IPV6_MTU
}
