#!/usr/bin/env bats
# The stack as an IPv6 host on its TAP: the kernel pings it over IPv6
# (neighbour discovery both ways, fragments both ways), and the v6 tables
# read as Linux's. AF_INET6 sockets are UDP, ping (tests/udp6.bats) and raw.

load helpers

STACK6=2001:2::2
HOST6=2001:2::1
# 2001:2::2 as net/if_inet6 and net/ipv6_route print it.
STACK6_HEX=20010002000000000000000000000002

setup_file() {
	export PCAP=$BATS_FILE_TMPDIR/v6.pcap
	sockfsd_start sft-v6 --pcap "$PCAP"
	# DAD runs for a second or two; the address answers once it ends
	# (flags 80: permanent, no longer tentative).
	wait_until 10 grep -q "^$STACK6_HEX [0-9a-f]* 40 00 80 " "$M/net/if_inet6"
}
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

@test "kernel ping -6 of the stack's address has 0% loss" {
	run timeout 20 ping -6 -n -c 5 -W 1 -i 0.2 "$STACK6"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *" 0% packet loss"* ]]
}

@test "the kernel's neighbour table learns the stack's MAC by neighbour discovery" {
	timeout 10 ping -6 -n -c 1 -W 2 "$STACK6" >/dev/null
	timeout 10 ping -n -c 1 -W 2 "$STACK_ADDR" >/dev/null
	mac6=$(ip -6 neigh show "$STACK6" dev "$TAP" | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
	mac4=$(ip neigh show "$STACK_ADDR" dev "$TAP" | sed -n 's/.*lladdr \([0-9a-f:]*\).*/\1/p')
	echo "v6 $mac6 v4 $mac4"
	[ -n "$mac6" ]
	[ "$mac6" = "$mac4" ]
}

@test "a 3000-byte ping is answered: reassembly in, fragmentation out" {
	run timeout 20 ping -6 -n -c 2 -W 2 -s 3000 "$STACK6"
	echo "$output"
	[[ $output == *" 0% packet loss"* ]]
	awk '$1 == "Ip6ReasmOKs" && $2 > 0 { a = 1 } $1 == "Ip6FragCreates" && $2 > 0 { b = 1 } END { exit !(a && b) }' "$M/net/snmp6"
}

@test "the stack's neighbour discovery is in tcpdump -r of the --pcap capture" {
	timeout 10 ping -6 -n -c 1 -W 2 "$STACK6" >/dev/null
	run timeout 10 tcpdump -n -r "$PCAP" icmp6
	echo "$output" | grep -i neighbor
	# Our DAD probe (from ::, to 2001:2::2's solicited-node group) and our
	# advertisement answering the kernel's solicitation.
	echo "$output" | grep -q "IP6 :: > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has $STACK6"
	echo "$output" | grep -q "IP6 $STACK6 > $HOST6: ICMP6, neighbor advertisement, tgt is $STACK6"
}

@test "net/if_inet6 lists the global and the link-local address as Linux lays them out" {
	row='^[0-9a-f]{32} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2} +[^ ]+$'
	# The kernel's own file has the same shape (its side of the TAP).
	grep -Eq "$row" /proc/net/if_inet6
	cat "$M/net/if_inet6"
	not grep -Evq "$row" "$M/net/if_inet6"
	grep -Eq "^$STACK6_HEX [0-9a-f]{2} 40 00 80 +$TAP\$" "$M/net/if_inet6"
	grep -Eq "^fe80000000000000[0-9a-f]{16} [0-9a-f]{2} 40 20 80 +$TAP\$" "$M/net/if_inet6"
	grep -Eq "^0{31}1 01 80 10 80 +lo\$" "$M/net/if_inet6"
	# The %8s device column lines up as in the kernel's.
	[ "$(grep " lo\$" "$M/net/if_inet6" | cut -c40-)" = "$(grep " lo\$" /proc/net/if_inet6 | cut -c40-)" ]
}

@test "net/ipv6_route: the main and local tables, in Linux's fields and order" {
	cat "$M/net/ipv6_route"
	awk 'NF != 10 { bad = 1 } END { exit bad }' "$M/net/ipv6_route" /proc/net/ipv6_route
	grep -Eq "^20010002000000000000000000000000 40 0{32} 00 0{32} 00000100 [0-9a-f]{8} [0-9a-f]{8} 00000001 +$TAP\$" "$M/net/ipv6_route"
	grep -Eq "^fe800000000000000000000000000000 40 0{32} 00 0{32} 00000100 [0-9a-f]{8} [0-9a-f]{8} 00000001 +$TAP\$" "$M/net/ipv6_route"
	# The local table after it, as the kernel's: our address's /128, and
	# the null entry last.
	grep -Eq "^$STACK6_HEX 80 0{32} 00 0{32} 00000000 [0-9a-f]{8} [0-9a-f]{8} 80200001 +$TAP\$" "$M/net/ipv6_route"
	tail -1 "$M/net/ipv6_route" | grep -Eq "^0{32} 00 0{32} 00 0{32} ffffffff [0-9a-f]{8} [0-9a-f]{8} 00200200 +lo\$"
	tail -1 /proc/net/ipv6_route | grep -Eq "^0{32} 00 0{32} 00 0{32} ffffffff [0-9a-f]{8} [0-9a-f]{8} 00200200 +lo\$"
}

@test "net/snmp6: the same counters in the same order as Linux's" {
	# The per-type rows (Icmp6InType135 ...) appear once nonzero, so
	# they differ with the traffic; every other row is fixed.
	diff <(awk '$1 !~ /Type[0-9]+$/ { print $1 }' /proc/net/snmp6) <(awk '$1 !~ /Type[0-9]+$/ { print $1 }' "$M/net/snmp6")
	diff <(head -3 /proc/net/snmp6 | sed 's/[0-9]*$//') <(head -3 "$M/net/snmp6" | sed 's/[0-9]*$//')
	timeout 10 ping -6 -n -c 1 -W 2 "$STACK6" >/dev/null
	awk '$1 == "Icmp6InEchos" && $2 > 0 { a = 1 } $1 == "Icmp6OutEchoReplies" && $2 > 0 { b = 1 } $1 == "Icmp6InType128" { c = 1 } END { exit !(a && b && c) }' "$M/net/snmp6"
}

@test "--addr6 none: a stack with no IPv6 does not answer, and has no v6 tables" {
	local m2=$BATS_TEST_TMPDIR/mnt2 log=$BATS_TEST_TMPDIR/none.log
	mkdir -p "$m2"
	"$SOCKFSD" --tap sft-v6none --addr 198.18.1.2/24 --host-addr 198.18.1.1/24 \
		--addr6 none --host-addr6 2001:2:0:1::1/64 "$m2" </dev/null >"$log" 2>&1 3>&- &
	local pid=$!
	wait_until 10 grep -q "serving" "$log"
	run timeout 10 ping -6 -n -c 2 -W 1 2001:2:0:1::2
	echo "$output"
	[[ $output == *" 100% packet loss"* ]]
	[ ! -e "$m2/net/if_inet6" ]
	[ ! -e "$m2/net/tcp6" ]
	kill -TERM "$pid"
	wait_exit "$pid"
}

@test "a bad --addr6 is one clear line at startup" {
	run timeout 10 "$SOCKFSD" --tap sft-v6bad --addr6 fe80::2/64 "$BATS_TEST_TMPDIR/mnt"
	echo "$output"
	[ "$status" -ne 0 ]
	[ "$(echo "$output" | wc -l)" -eq 1 ]
	[[ $output == *'bad --addr6 "fe80::2/64"'* ]]
}

@test "--offload: IPv6 over the virtio-net-header TAP, fragments included" {
	local m2=$BATS_TEST_TMPDIR/mnt3 log=$BATS_TEST_TMPDIR/offload.log
	mkdir -p "$m2"
	"$SOCKFSD" --tap sft-v6off --offload --dad off --addr 198.18.2.2/24 --host-addr 198.18.2.1/24 \
		--addr6 2001:2:0:2::2/64 --host-addr6 2001:2:0:2::1/64 "$m2" </dev/null >"$log" 2>&1 3>&- &
	local pid=$!
	wait_until 10 grep -q "serving" "$log"
	run timeout 20 ping -6 -n -c 3 -W 2 -i 0.2 -s 3000 2001:2:0:2::2
	echo "$output"
	kill -TERM "$pid"
	wait_exit "$pid"
	[[ $output == *" 0% packet loss"* ]]
}

@test "AF_INET6: SOCK_STREAM is TCP, SOCK_DGRAM is UDP or ping, SOCK_RAW raw; other types have no inetsw6 row (ESOCKTNOSUPPORT)" {
	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	[ "$(status_field "$s" family)" = AF_INET6 ]
	[ "$(status_field "$s" protocol)" = 17 ]
	ctl "$s" close
	s=$(mk_socket PF_INET6 SOCK_STREAM 0)
	[ "$(status_field "$s" family)" = AF_INET6 ]
	[ "$(status_field "$s" protocol)" = 6 ]
	ctl "$s" close
	run bash -c 'echo "AF_INET6 5 0" > "$1/socket"' _ "$M"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"Socket type not supported"* ]]
	s=$(mk_socket 10 SOCK_RAW IPPROTO_ICMPV6)
	[ "$(status_field "$s" protocol)" = 58 ]
	ctl "$s" close
	s=$(mk_socket AF_INET6 SOCK_DGRAM IPPROTO_ICMPV6)
	[ "$(status_field "$s" protocol)" = 58 ]
	ctl "$s" close
	# A protocol the type does not offer: EPROTONOSUPPORT.
	run bash -c 'echo "AF_INET6 SOCK_DGRAM 6" > "$1/socket"' _ "$M"
	[ "$status" -eq 1 ]
	[[ $output == *"Protocol not supported"* ]]
	# A protocol out of range is EINVAL before any lookup, as inet6_create.
	run bash -c 'echo "AF_INET6 SOCK_DGRAM 256" > "$1/socket"' _ "$M"
	[ "$status" -eq 1 ]
	[[ $output == *"Invalid argument"* ]]
}

@test "an IPv6 address in brackets on an AF_INET socket is EAFNOSUPPORT, as inet_bind" {
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	run ctl "$s" "bind [2001:2::2]:5000"
	[ "$status" -ne 0 ]
	[[ $output == *"Address family not supported by protocol"* ]]
	run ctl "$s" "connect [fe80::1%sock0]:5000"
	[ "$status" -ne 0 ]
	[[ $output == *"Address family not supported by protocol"* ]]
	# Without brackets it is not an address at all.
	run ctl "$s" "bind 2001:2::2:5000"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]]
}

@test "raw6: an IPPROTO_ICMPV6 raw socket reads the kernel's echo request as its ICMPv6 message, from [host]:0, as a kernel raw socket reads the reply" {
	r=$(mk_socket AF_INET6 SOCK_RAW IPPROTO_ICMPV6)
	# The kernel's own raw ICMPv6 socket beside it reads what arrives
	# from the stack (the echo reply), the reference for the layout.
	timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.settimeout(10)
print(open("/proc/net/raw6").readline().rstrip("\n"))
sys.stdout.flush()
while True:
    d, a = s.recvfrom(2000)
    if d[0] == 129:
        print("%s %d %d %s" % (a[0], a[1], len(d), d[8:].decode()))
        break
' >"$BATS_TEST_TMPDIR/kernel" 3>&- &
	NC_PID=$! # common_teardown ends it if the test fails first
	# The kernel's socket exists once it has printed the header.
	wait_until 10 test -s "$BATS_TEST_TMPDIR/kernel"
	timeout 10 ping -6 -n -c 1 -W 5 -p 736f636b6673 -s 6 "$STACK6" >/dev/null
	wait_exit "$NC_PID" 10
	NC_PID=
	kernel=$(<"$BATS_TEST_TMPDIR/kernel")
	echo "kernel: $kernel"
	{ read -r from len; head -c "$len" | od -An -v -tx1 | tr -s ' \n' ' ' >"$BATS_TEST_TMPDIR/msg"; } < <(timeout 10 cat "$M/$r/msg")
	pkt=$(<"$BATS_TEST_TMPDIR/msg")
	echo "sockfs: $from $len: $pkt"
	read -r -a b <<<"$pkt"
	[ "${b[0]}" = 80 ] # an echo request: no IPv6 header before it
	[ "$from" = "[$HOST6]:0" ]
	[ "$len" = 14 ]
	[ "${pkt: -18}" = "73 6f 63 6b 66 73 " ]
	# The kernel's raw socket saw the stack's reply the same way: the
	# sender with port 0, the 8-byte header and the data, no IPv6 header.
	[ "$(sed -n 2p <<<"$kernel")" = "$STACK6 0 14 sockfs" ]
	# net/raw6 has the host's header and the socket, protocol 58 as its port.
	[ "$(head -1 "$M/net/raw6")" = "$(head -1 <<<"$kernel")" ]
	grep -q "^   58: 00000000000000000000000000000000:003A 00000000000000000000000000000000:0000 07 " "$M/net/raw6"
	grep -q "^RAW6: inuse 1$" "$M/net/sockstat6"
	ctl "$r" close
}
