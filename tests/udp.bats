#!/usr/bin/env bats
# UDP against the Linux kernel across the TAP: datagrams both ways, a
# datagram that must be fragmented and reassembled each way, EDESTADDRREQ,
# and ECONNREFUSED from the kernel's port unreachable (docs/sockfsd.md "INO/data").

load helpers

setup_file() { sockfsd_start sft-udp; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

# udp_listening PORT: the kernel has a UDP socket bound on HOST_ADDR:PORT.
udp_listening() { ss -Hlun "src $HOST_ADDR:$1" 2>/dev/null | grep -q .; }

# read_dgram INO reads one datagram: one read(2) of INO/data, bounded.
read_dgram() { timeout 10 dd if="$M/$1/data" bs=65536 count=1 status=none; }

# kernel_udp_recv PORT OUT: a kernel socket on HOST_ADDR:PORT that writes
# the first datagram it gets (up to 64 KiB) to OUT. Sets NC_PID.
kernel_udp_recv() {
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(20)
d = s.recv(65536)
open(sys.argv[3], "wb").write(d)
' "$HOST_ADDR" "$1" "$2" 3>&- &
	NC_PID=$!
	wait_until 5 udp_listening "$1"
}

@test "UDP: a datagram from the stack reaches a kernel nc -u" {
	port=$(test_port)
	nc -u -l "$HOST_ADDR" "$port" >"$BATS_TEST_TMPDIR/got" 3>&- &
	NC_PID=$!
	wait_until 5 udp_listening "$port"
	s=$(mk_socket AF_INET SOCK_DGRAM 17)
	ctl "$s" "connect $HOST_ADDR:$port"
	echo "hello kernel" >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" "hello kernel"
	[ "$(status_field "$s" sk_state)" = ESTABLISHED ]
	[ "$(cat "$M/$s/remote")" = "$HOST_ADDR:$port" ]
	ctl "$s" close
}

@test "UDP: a datagram from kernel nc -u is read whole by one read" {
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	port=$(test_port)
	ctl "$s" "bind 0.0.0.0:$port"
	[ "$(cat "$M/$s/local")" = "0.0.0.0:$port" ]
	echo "hello stack" | timeout 10 nc -u -w1 -q0 "$STACK_ADDR" "$port"
	run read_dgram "$s"
	[ "$status" -eq 0 ]
	[ "$output" = "hello stack" ]
	ctl "$s" close
}

@test "UDP: a write with no peer fails with EDESTADDRREQ" {
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	run bash -c "echo x >'$M/$s/data'"
	[ "$status" -ne 0 ]
	[[ $output == *"Destination address required"* ]]
	ctl "$s" close
}

@test "UDP: a 20000-byte datagram goes out fragmented and arrives intact" {
	port=$(test_port)
	head -c 20000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	kernel_udp_recv "$port" "$BATS_TEST_TMPDIR/got"
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "connect $HOST_ADDR:$port"
	before=$(awk '/^Ip: [0-9]/ { print $20 }' "$M/net/snmp") # FragCreates
	dd if="$BATS_TEST_TMPDIR/big" of="$M/$s/data" bs=20000 count=1 status=none
	wait_exit "$NC_PID" 10
	same_file "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/got"
	after=$(awk '/^Ip: [0-9]/ { print $20 }' "$M/net/snmp")
	((after - before == 14))
	ctl "$s" close
}

@test "UDP: a 20000-byte datagram from the kernel is reassembled intact" {
	port=$(test_port)
	head -c 20000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "bind 0.0.0.0:$port"
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(open(sys.argv[3], "rb").read(), (sys.argv[1], int(sys.argv[2])))
' "$STACK_ADDR" "$port" "$BATS_TEST_TMPDIR/big"
	read_dgram "$s" >"$BATS_TEST_TMPDIR/got"
	same_file "$BATS_TEST_TMPDIR/big" "$BATS_TEST_TMPDIR/got"
	awk '/^Ip: [0-9]/ { exit !($16 >= 1) }' "$M/net/snmp" # ReasmOKs
	ctl "$s" close
}

@test "UDP: a connected socket gets ECONNREFUSED after the kernel's port unreachable" {
	port=$(test_port)
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$s" "connect $HOST_ADDR:$port"
	echo "anyone there?" >"$M/$s/data"
	wait_until 10 field_is "$s" error ECONNREFUSED
	run bash -c "echo again >'$M/$s/data'"
	[ "$status" -ne 0 ]
	[[ $output == *"Connection refused"* ]]
	# Reported once: the error is cleared.
	[ "$(status_field "$s" error)" = 0 ]
	ctl "$s" close
}

@test "UDP: connect with no route fails with ENETUNREACH" {
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	run ctl "$s" "connect 10.9.9.9:53"
	[ "$status" -ne 0 ]
	[[ $output == *"Network is unreachable"* ]]
	ctl "$s" close
}

@test "UDP: a second bind of the same port fails with EADDRINUSE" {
	port=$(test_port)
	a=$(mk_socket AF_INET SOCK_DGRAM 0)
	b=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$a" "bind 0.0.0.0:$port"
	run ctl "$b" "bind $STACK_ADDR:$port"
	[ "$status" -ne 0 ]
	[[ $output == *"Address already in use"* ]]
	ctl "$a" close
	ctl "$b" close
}
