#!/usr/bin/env bats
# IPV6_RECVERR on an unconnected AF_INET6 UDP socket, beside a kernel UDP
# socket doing the same (docs/sockfsd.md "IPv6"): without it the port
# unreachable a send draws is lost; with it the next read fails with
# ECONNREFUSED.

load helpers

setup_file() {
	sockfsd_start sft-recverr6
	wait_until 10 addr6_ready
}
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

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
	echo "$output"
	[ "$output" = $'0 nothing\n1 refused' ]

	s=$(mk_socket AF_INET6 SOCK_DGRAM 0)
	grep -qx "IPV6_RECVERR 0" "$M/$s/ctl"
	send_unreach "$s" "$closed"
	run dd if="$M/$s/msg" iflag=nonblock bs=64k count=1 status=none
	[[ $output == *"Resource temporarily unavailable"* ]]
	ctl "$s" "setsockopt IPV6_RECVERR 1"
	grep -qx "IPV6_RECVERR 1" "$M/$s/ctl"
	send_unreach "$s" "$closed"
	run dd if="$M/$s/msg" iflag=nonblock bs=64k count=1 status=none
	[[ $output == *"Connection refused"* ]]
	# Read once: the error is gone after it.
	run dd if="$M/$s/msg" iflag=nonblock bs=64k count=1 status=none
	[[ $output == *"Resource temporarily unavailable"* ]]
	ctl "$s" close
}
