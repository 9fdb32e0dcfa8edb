#!/usr/bin/env bats
# IPv6 socket options whose effect shows beside a kernel socket doing the
# same (docs/sockfsd.md "IPv6"): IPV6_RECVERR on an unconnected UDP socket
# (without it the port unreachable a send draws is lost; with it the next
# read fails with ECONNREFUSED) and ICMP6_FILTER on a raw ICMPv6 socket.

load helpers

setup_file() {
	sockfsd_start sft-v6opts
	wait_until 10 addr6_ready
}
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

# msg_fails_with INO TEXT: a nonblocking read of INO/msg fails with TEXT.
msg_fails_with() {
	local out
	out=$(dd if="$M/$1/msg" iflag=nonblock bs=64k count=1 status=none 2>&1 >/dev/null) && return 1
	[[ $out == *"$2"* ]] || { echo "read: $out" >&2; return 1; }
}

# output_is TEXT: run's output is TEXT (shown either way).
output_is() {
	echo "$output"
	[ "$output" = "$1" ]
}

# opt_is INO NAME VALUE: a read of INO/ctl lists NAME with VALUE.
opt_is() { grep -qx "$2 $3" "$M/$1/ctl"; }

icmp6_unreach_in() { awk '$1 == "Icmp6InDestUnreachs" { print $2 }' "$M/net/snmp6"; }
unreach_above() { (($(icmp6_unreach_in) > $1)); }

# send_unreach S PORT: S sends a datagram to the kernel's closed PORT and
# waits for the kernel's port unreachable to arrive.
send_unreach() {
	local before
	before=$(icmp6_unreach_in)
	printf '[%s]:%s\nhello' "$HOST6" "$2" | dd of="$M/$1/msg" bs=64k status=none
	wait_until 10 unreach_above "$before"
}

@test "IPV6_RECVERR: an unconnected UDP socket reads the port unreachable its send drew as ECONNREFUSED, as a kernel socket does" {
	closed=$(test_port)
	# The kernel's socket, each way, to a port of ours where nothing listens.
	run timeout 10 python3 - "$STACK6" "$((closed + 1))" <<-'EOF'
		import socket, sys
		for recverr in (0, 1):
		    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
		    s.setsockopt(socket.IPPROTO_IPV6, 25, recverr)  # IPV6_RECVERR
		    s.settimeout(1)
		    s.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
		    try:
		        s.recvfrom(100)
		        print(recverr, "data")
		    except socket.timeout:
		        print(recverr, "nothing")
		    except ConnectionRefusedError:
		        print(recverr, "refused")
	EOF
	output_is $'0 nothing\n1 refused'

	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	opt_is "$s" IPV6_RECVERR 0
	send_unreach "$s" "$closed"
	msg_fails_with "$s" "Resource temporarily unavailable"
	ctl "$s" "setsockopt IPV6_RECVERR 1"
	opt_is "$s" IPV6_RECVERR 1
	send_unreach "$s" "$closed"
	msg_fails_with "$s" "Connection refused"
	# Read once: the error is gone after it.
	msg_fails_with "$s" "Resource temporarily unavailable"
	ctl "$s" close
}

# first_type INO: the ICMPv6 type of the next message raw socket INO reads
# (its msg record's first payload byte), waiting at most 5 s.
first_type() {
	timeout 5 bash -c '{ read -r from len && head -c "$len" | od -An -tu1 -N1 | tr -d " "; } <"$1"' _ "$M/$1/msg"
}

@test "ICMP6_FILTER: a raw ICMPv6 socket reads only the types its filter passes, as a kernel raw socket" {
	# struct icmp6_filter as 8 words: a set bit 1 << (type & 31) of word
	# type >> 5 blocks the type. All blocked, and all but 128 / 129.
	all=FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF
	but128=FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF
	# The kernel's raw socket sees the stack's echo reply through a filter
	# passing 129 only, and nothing through one blocking all.
	run timeout 20 python3 - "$STACK6" <<-'EOF'
		import socket, struct, subprocess, sys
		def raw(words):
		    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
		    s.setsockopt(socket.IPPROTO_ICMPV6, 1, struct.pack("8I", *words))  # ICMP6_FILTER
		    s.settimeout(1)
		    return s
		all = [0xFFFFFFFF] * 8
		but129 = list(all)
		but129[4] &= ~(1 << 1)
		passing, blocking = raw(but129), raw(all)
		subprocess.run(["ping", "-6", "-n", "-c", "1", "-W", "2", sys.argv[1]], check=True, capture_output=True)
		print("passing", passing.recv(100)[0])
		try:
		    print("blocking", blocking.recv(100)[0])
		except socket.timeout:
		    print("blocking nothing")
	EOF
	output_is $'passing 129\nblocking nothing'

	s=$(mk_socket AF_INET6 SOCK_RAW 58)
	opt_is "$s" ICMP6_FILTER 0000000000000000000000000000000000000000000000000000000000000000
	ctl "$s" "setsockopt ICMP6_FILTER $but128"
	opt_is "$s" ICMP6_FILTER $but128
	timeout 10 ping -6 -n -c 1 -W 2 "$STACK6" >/dev/null
	[ "$(first_type "$s")" = 128 ]
	msg_fails_with "$s" "Resource temporarily unavailable"
	ctl "$s" "setsockopt ICMP6_FILTER $all"
	# The stack still answers what the socket does not see.
	timeout 10 ping -6 -n -c 1 -W 2 "$STACK6" >/dev/null
	msg_fails_with "$s" "Resource temporarily unavailable"
	# Not a 64-digit mask: EINVAL; not a raw ICMPv6 socket: EOPNOTSUPP.
	run ctl "$s" "setsockopt ICMP6_FILTER 1"
	[[ $output == *"Invalid argument"* ]]
	r=$(mk_socket AF_INET6 SOCK_RAW 253)
	run ctl "$r" "setsockopt ICMP6_FILTER $all"
	[[ $output == *"Operation not supported"* ]]
	ctl "$r" close
	ctl "$s" close
}
