#!/usr/bin/env bats
# A sockfs client reaches a sockfs server on the same stack, at 127.0.0.1
# and at the stack's own address: through the loopback device, never the
# TAP (docs/sockfsd.md: routes and loopback).

load helpers

# IPv6 is off here: the stack's own IPv6 traffic on the TAP (DAD, neighbour
# discovery answering the kernel) would move the TAP counters these tests
# hold still, and nothing here is about IPv6.
setup_file() { sockfsd_start sft-lo --addr6 none; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

read_dgram() { timeout 10 dd if="$M/$1/data" bs=65536 count=1 status=none; }

# tap_tx: frames the stack has sent on the TAP (net/dev's transmit packets).
tap_tx() { awk -v d="$TAP:" '$1 == d { print $11 }' "$M/net/dev"; }

udp_over() {
	local addr=$1 port srv cli
	port=$(test_port)
	srv=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$srv" "bind 0.0.0.0:$port"
	cli=$(mk_socket AF_INET SOCK_DGRAM 0)
	ctl "$cli" "connect $addr:$port"
	local before
	before=$(tap_tx)
	echo "to $addr" >"$M/$cli/data"
	[ "$(read_dgram "$srv")" = "to $addr" ]
	# The server answers the client's address:port from its local file.
	ctl "$srv" "connect $(cat "$M/$cli/local")"
	echo "back" >"$M/$srv/data"
	[ "$(read_dgram "$cli")" = "back" ]
	[ "$(tap_tx)" = "$before" ]
	ctl "$srv" close
	ctl "$cli" close
}

@test "UDP client to a UDP server on 127.0.0.1" {
	udp_over 127.0.0.1
}

@test "UDP client to a UDP server on the stack's own address" {
	udp_over "$STACK_ADDR"
}

tcp_over() {
	local addr=$1 port srv cli conn
	port=$(test_port)
	srv=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$srv" "bind 0.0.0.0:$port"
	ctl "$srv" "listen"
	cli=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$cli" "connect $addr:$port"
	read -r -t 10 conn <"$M/$srv/accept"
	echo "hello over $addr" >"$M/$cli/data"
	[ "$(timeout 10 head -n 1 "$M/$conn/data")" = "hello over $addr" ]
	echo "and back" >"$M/$conn/data"
	[ "$(timeout 10 head -n 1 "$M/$cli/data")" = "and back" ]
	ctl "$cli" close
	ctl "$conn" close
	ctl "$srv" close
}

@test "TCP client to a TCP server on 127.0.0.1" {
	tcp_over 127.0.0.1
}

@test "TCP client to a TCP server on the stack's own address" {
	tcp_over "$STACK_ADDR"
}
