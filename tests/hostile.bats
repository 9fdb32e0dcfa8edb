#!/usr/bin/env bats
# Hostile frames from the wire (issue 8): crafted on the kernel's end of the
# TAP by tests/lib/frames.py (AF_PACKET, bounded counts), each answered as
# Linux answers it. Where the kernel can be shown the same frame (on its
# own loopback, through a raw socket), it is the reference.

load helpers

FRAMES=$ROOT/tests/lib/frames.py

setup_file() { sockfsd_start sft-hostile; }
teardown_file() { sockfsd_stop; }
teardown() {
	kref_down
	if [[ -n ${KPID:-} ]]; then
		kill "$KPID" 2>/dev/null || true
		KPID=
	fi
	common_teardown
}

frames() { timeout 20 python3 "$FRAMES" "$TAP" "$STACK_ADDR" "$@"; }

# The kernel reference: an address of the kernel's on its own lo, and a
# peer on lo's subnet that does not exist, so answers to it leave through
# lo where frames.py sees them.
KREF_ADDR=198.18.99.1
KREF_PEER=198.18.99.2
kref_up() { ip addr add "$KREF_ADDR/24" dev lo; }
kref_down() { ip addr del "$KREF_ADDR/24" dev lo 2>/dev/null || true; }
kframes() { timeout 20 python3 "$FRAMES" lo "$KREF_ADDR" "$@"; }

# lo_packets: received packets on the stack's lo (net/dev; the name and
# the first number may touch once it has 8 digits).
lo_packets() { awk -F: '$1 ~ /^ *lo$/ { split($2, f, " "); print f[2] }' "$M/net/dev"; }

# sockfs_listener PORT: a sockfs TCP socket listening on 0.0.0.0:PORT.
sockfs_listener() {
	local s
	s=$(mk_socket AF_INET SOCK_STREAM 6) || return 1
	ctl "$s" "bind 0.0.0.0:$1" || return 1
	ctl "$s" "listen 8" || return 1
	echo "$s"
}

@test "a LAND SYN (our address and port, to ourselves) from the wire is a martian: no loop on lo" {
	port=$(test_port)
	l=$(sockfs_listener "$port")
	before=$(lo_packets)
	run frames tcp --src "$STACK_ADDR:$port" --dst "$STACK_ADDR:$port" --seg S:1000
	[ "$status" -eq 0 ]
	# The ping's reply comes after the SYN has been handled.
	timeout 10 ping -n -c 1 -W 2 "$STACK_ADDR" >/dev/null
	after=$(lo_packets)
	echo "lo packets $before -> $after"
	((after - before < 10))
	wait_until 5 file_has "$SOCKFSD_LOG" "martian source $STACK_ADDR from $STACK_ADDR, on dev $TAP"
	# the stack's lines are in the mount's log too, as in dmesg
	grep -qF "] martian source $STACK_ADDR from $STACK_ADDR, on dev $TAP" "$M/log"
	# No half-open child of the listener talks to itself.
	hex=$(printf '020012C6:%04X' "$port")
	not grep -q "$hex $hex" "$M/net/tcp"
	ctl "$l" close
}

# kernel_martian_src: the kernel's in_martian_src, summed over CPUs
# (/proc/net/stat/rt_cache; the counter is the machine's, not the
# namespace's, so it can only be asked to rise).
kernel_martian_src() {
	local n=0 f
	while read -r -a f; do
		[[ ${f[0]} == entries ]] && continue
		n=$((n + 16#${f[7]}))
	done </proc/net/stat/rt_cache
	echo "$n"
}
martians_above() { (($(kernel_martian_src) > $1)); }

@test "the kernel, the reference, drops the same LAND SYN as a martian source" {
	port=$(test_port)
	kref_up
	timeout 20 python3 -c '
import socket, sys, time
l = socket.socket()
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(8)
print("up", flush=True)
time.sleep(30)
' "$KREF_ADDR" "$port" >"$BATS_TEST_TMPDIR/k" 3>&- &
	KPID=$!
	wait_until 5 file_has "$BATS_TEST_TMPDIR/k" up
	before=$(kernel_martian_src)
	run kframes tcp --src "$KREF_ADDR:$port" --dst "$KREF_ADDR:$port" --seg S:1000
	[ "$status" -eq 0 ]
	wait_until 5 martians_above "$before"
	# No half-open connection from ourselves to ourselves.
	[ -z "$(ss -Htn state syn-recv "sport = :$port")" ]
}

@test "SYN+FIN to a listener gets no answer; the SYN after it does" {
	port=$(test_port)
	l=$(sockfs_listener "$port")
	sport=$(test_port 1)
	# Both from one raw socket: the first answer seen is to whichever
	# segment drew one (a SYN-ACK to the SYN+FIN would ack 1001).
	run frames tcp --src "$HOST_ADDR:$sport" --dst "$STACK_ADDR:$port" --seg SF:1000 --seg S:5000 --replies 1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "tcp flags=SA seq="*" ack=5001" ]]
	ctl "$l" close
}

@test "the kernel, the reference, answers the same SYN+FIN and SYN the same way" {
	port=$(test_port)
	kref_up
	timeout 20 python3 -c '
import socket, sys, time
l = socket.socket()
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(8)
print("up", flush=True)
time.sleep(30)
' "$KREF_ADDR" "$port" >"$BATS_TEST_TMPDIR/k" 3>&- &
	KPID=$!
	wait_until 5 file_has "$BATS_TEST_TMPDIR/k" up
	run kframes tcp --src "$KREF_PEER:$(test_port 1)" --dst "$KREF_ADDR:$port" --seg SF:1000 --seg S:5000 --replies 1
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "tcp flags=SA seq="*" ack=5001" ]]
}

@test "a ping with a zero-length IP option gets parameter problem pointing at it, not a reply" {
	run frames ping --src "$HOST_ADDR" --ip-options 01010700
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "icmp type=12 code=0 pointer=22" ]
	# An option running past the header: the same, at the option.
	run frames ping --src "$HOST_ADDR" --ip-options 01014428
	echo "$output"
	[ "$output" = "icmp type=12 code=0 pointer=22" ]
	# Good options are skipped and the ping answered.
	run frames ping --src "$HOST_ADDR" --ip-options 01010100
	echo "$output"
	[ "$output" = "icmp type=0 code=0" ]
}

@test "the kernel, the reference, answers the same bad-option ping the same way" {
	kref_up
	run kframes ping --src "$KREF_PEER" --ip-options 01010700
	echo "$output"
	[ "$output" = "icmp type=12 code=0 pointer=22" ]
	run kframes ping --src "$KREF_PEER" --ip-options 01014428
	[ "$output" = "icmp type=12 code=0 pointer=22" ]
}

# arp_has ADDR_OR_MAC: net/arp lists it.
arp_has() { grep -qiF -- "$1" "$M/net/arp"; }

@test "an ARP request or reply claiming $STACK_ADDR does not enter the neighbour table" {
	evil=02:ee:00:00:00:01
	run frames arp --op request --sha "$evil" --sip "$STACK_ADDR" --tip "$STACK_ADDR" --marker-ip "$HOST_ADDR"
	echo "$output"
	[ "$output" = "marker answered" ]
	run frames arp --op reply --sha "$evil" --sip "$STACK_ADDR" --tip "$HOST_ADDR" --marker-ip "$HOST_ADDR"
	[ "$output" = "marker answered" ]
	cat "$M/net/arp"
	not arp_has "$STACK_ADDR "
	not arp_has "$evil"
	# The marker's sender did get in: the table was being updated.
	arp_has "$HOST_ADDR "
	grep -q "claims our address $STACK_ADDR" "$SOCKFSD_LOG"
}

# tcp_outsegs: the stack's Tcp OutSegs (net/snmp).
tcp_outsegs() {
	awk '$1 == "Tcp:" && $2 ~ /^[0-9]/ { print $12 }' "$M/net/snmp"
}

@test "out-of-window ACKs at a connection draw one duplicate ACK per 500 ms, not one each" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	sport=$(status_field "$s" local)
	sport=${sport##*:}
	kport=$(ss -Htn "dst $STACK_ADDR:$sport" | awk '{ split($4, a, ":"); print a[2] }')
	[ -n "$kport" ]
	# One probe: its duplicate ACK says RCV.NXT (its ack field).
	run frames tcp --src "$HOST_ADDR:$kport" --dst "$STACK_ADDR:$sport" --seg A:123456789:0 --replies 1
	echo "$output"
	[[ $output =~ ack=([0-9]+)$ ]]
	far=$(((BASH_REMATCH[1] + (1 << 30)) % (1 << 32)))
	before=$(tcp_outsegs)
	# Twenty bare ACKs a quarter of the sequence space away: outside any
	# window. The ping's reply comes after all of them are handled.
	run frames tcp --src "$HOST_ADDR:$kport" --dst "$STACK_ADDR:$sport" --seg "A:$far:0" --count 20
	[ "$status" -eq 0 ]
	timeout 10 ping -n -c 1 -W 2 "$STACK_ADDR" >/dev/null
	after=$(tcp_outsegs)
	echo "OutSegs $before -> $after"
	# At most one: the probe's may still be within the last 500 ms.
	((after - before <= 1))
	[ "$(status_field "$s" sk_state)" = ESTABLISHED ]
	ctl "$s" close
}
