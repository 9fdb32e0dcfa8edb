#!/usr/bin/env bats
# The net/ tables: each header equals the header of the Linux file of the
# same name (here, this namespace's /proc/net), and the rows parse with the
# awk that parses Linux's.

load helpers

setup_file() { sockfsd_start sft-net; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

same_header() { # FILE LINES
	diff <(head -n "${2:-1}" "/proc/net/$1") <(head -n "${2:-1}" "$M/net/$1")
}

# udp_ports FILE: the local ports of a /proc/net/udp-style file, decimal.
udp_ports() {
	local p st
	awk 'NR > 1 { split($2, a, ":"); print a[2], $4 }' "$1" | while read -r p st; do echo "$((16#$p)) $st"; done
}

@test "net/udp: Linux's header; rows parse as /proc/net/udp's do" {
	same_header udp
	port=$(test_port)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind $STACK_ADDR:$port"
	python3 -c 'import socket,time,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); time.sleep(5)' "$port" 3>&- &
	NC_PID=$!
	wait_until 5 grep -q ":$(printf %04X "$port") " /proc/net/udp
	# The same awk reads the port and state (07, unconnected) from both.
	udp_ports /proc/net/udp | grep -qx "$port 07"
	udp_ports "$M/net/udp" | grep -qx "$port 07"
	# The address, in /proc's byte order: 198.18.0.2 is 020012C6.
	awk -v p="$(printf %04X "$port")" 'NR > 1 && $2 == "020012C6:" p { f = 1 } END { exit !f }' "$M/net/udp"
	ctl "$s" close
}

@test "net/dev: Linux's two header lines; the TAP's row parses" {
	same_header dev 2
	awk -v d="$TAP:" '$1 == d && NF == 17 && $3 > 0 { f = 1 } END { exit !f }' "$M/net/dev"
	awk '$1 == "lo:" && NF == 17 { f = 1 } END { exit !f }' /proc/net/dev
}

@test "net/arp: Linux's header; the kernel's side is in it after a ping" {
	timeout 10 ping -n -c 1 -W 2 "$STACK_ADDR" >/dev/null
	same_header arp
	mac=$(ip -o link show dev "$TAP" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
	[ -n "$mac" ]
	awk -v ip="$HOST_ADDR" -v mac="$mac" 'NR > 1 && $1 == ip && $3 == "0x2" && $4 == mac { f = 1 } END { exit !f }' "$M/net/arp"
}

@test "net/route: Linux's header; the connected route parses as /proc/net/route's" {
	same_header route
	# 198.18.0.0/24 on the TAP: destination 000012C6, mask 00FFFFFF, flags up.
	awk -F'\t' -v d="$TAP" 'NR > 1 && $1 == d && $2 == "000012C6" && $4 == "0001" && $8 == "00FFFFFF" { f = 1 } END { exit !f }' "$M/net/route"
	awk -F'\t' -v d="$TAP" 'NR > 1 && $1 == d && $2 == "000012C6" { f = 1 } END { exit !f }' /proc/net/route
}

@test "net/snmp: the Ip, Icmp, Tcp, Udp and UdpLite header rows equal Linux's" {
	for p in Ip Icmp Tcp Udp UdpLite; do
		diff <(grep -m1 "^$p: [A-Z]" /proc/net/snmp) <(grep -m1 "^$p: [A-Z]" "$M/net/snmp")
	done
	# Names and values pair up, as readers of /proc/net/snmp assume.
	awk 'NR % 2 == 1 { n = NF; p = $1 } NR % 2 == 0 { if ($1 != p || NF != n) bad = 1 } END { exit bad }' "$M/net/snmp"
}

@test "net/netstat: the TcpExt and IpExt header rows equal Linux's; netstat -s reads it" {
	for p in TcpExt IpExt; do
		diff <(grep -m1 "^$p: [A-Z]" /proc/net/netstat) <(grep -m1 "^$p: [A-Z]" "$M/net/netstat")
	done
	awk 'NR % 2 == 1 { n = NF; p = $1 } NR % 2 == 0 { if ($1 != p || NF != n) bad = 1 } END { exit bad || NR != 4 }' "$M/net/netstat"
	run env SOCKFS="$M" "$ROOT/examples/sockfs-ss.sh" netstat -s -t
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *TcpExt:* && $output != *MPTcpExt:* ]]
}

@test "net/sockstat: the same rows and labels as Linux's" {
	label() { awk '{ l = $1; for (i = 2; i <= NF; i += 2) l = l " " $i; print l }' "$1"; }
	diff <(label /proc/net/sockstat) <(label "$M/net/sockstat")
}

@test "net/protocols: one row per inetsw entry, then inetsw6's" {
	run cat "$M/net/protocols"
	echo "$output"
	[[ $output == *"AF_INET  SOCK_DGRAM  17       inet_dgram_ops   UDP"* ]]
	[[ $output == *"AF_INET  SOCK_DGRAM  1        inet_sockraw_ops PING"* ]]
	[[ $output == *"AF_INET  SOCK_RAW    0        inet_sockraw_ops RAW"* ]]
	[[ $output == *"AF_INET6 SOCK_STREAM 6        inet6_stream_ops TCPv6"* ]]
	[[ $output == *"AF_INET6 SOCK_DGRAM  17       inet6_dgram_ops  UDPv6"* ]]
	[[ $output == *"AF_INET6 SOCK_DGRAM  58       inet6_sockraw_ops PINGv6"* ]]
}
