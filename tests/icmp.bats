#!/usr/bin/env bats
# ICMP from the stack's side: a ping socket (AF_INET SOCK_DGRAM 1, as
# Linux's ping_prot) pings the kernel, and a raw socket (AF_INET SOCK_RAW 1)
# reads the kernel's echo requests as whole IP packets.

load helpers

setup_file() { sockfsd_start sft-icmp2; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

# read_hex INO: one datagram of INO/data as space-separated hex bytes.
read_hex() { timeout 10 dd if="$M/$1/data" bs=65536 count=1 status=none | od -An -v -tx1 | tr -s ' \n' ' '; }

@test "a ping socket pings the kernel's side" {
	s=$(mk_socket AF_INET SOCK_DGRAM IPPROTO_ICMP)
	ctl "$s" "connect $HOST_ADDR:0"
	# An echo request: type 8, code 0; the stack fills in the identifier
	# and checksum. Sequence 1, data "sockfs".
	printf '\x08\x00\x00\x00\x00\x00\x00\x01sockfs' >"$M/$s/data"
	reply=$(read_hex "$s")
	echo "reply: $reply"
	# Echo reply (type 0), sequence 1, the same data.
	[[ $reply == " 00 00 "* ]]
	[[ $reply == *" 00 01 73 6f 63 6b 66 73 " ]]
	# The identifier is the socket's ident, its local "port".
	ident=$(printf '%02x %02x' $(($(cut -d: -f2 "$M/$s/local") >> 8)) $(($(cut -d: -f2 "$M/$s/local") & 255)))
	[[ $reply == " 00 00 "??" "??" $ident "* ]]
	ctl "$s" close
}

@test "a ping socket rejects a write that is not an echo request" {
	s=$(mk_socket AF_INET SOCK_DGRAM 1)
	ctl "$s" "connect $HOST_ADDR:0"
	run bash -c "echo hello >'$M/$s/data'"
	[ "$status" -ne 0 ]
	[[ $output == *"Invalid argument"* ]]
	ctl "$s" close
}

@test "a raw ICMP socket sees the kernel's ping of the stack, IP header first" {
	s=$(mk_socket AF_INET SOCK_RAW 1)
	timeout 10 ping -n -c 1 -W 2 -p 736f636b6673 "$STACK_ADDR"
	pkt=$(read_hex "$s")
	echo "packet: $pkt"
	read -r -a b <<<"$pkt"
	[ "${b[0]}" = 45 ]  # IPv4, 20-byte header
	[ "${b[9]}" = 01 ]  # protocol ICMP
	[ "$(printf '%d.%d.%d.%d' 0x${b[12]} 0x${b[13]} 0x${b[14]} 0x${b[15]})" = "$HOST_ADDR" ]
	[ "${b[20]}" = 08 ] # echo request
	ctl "$s" close
}

@test "the stack answers the kernel's ping and counts it in net/snmp" {
	timeout 10 ping -n -c 2 -i 0.2 -W 2 "$STACK_ADDR"
	awk '/^IcmpMsg: In/ { for (i = 2; i <= NF; i++) n[i] = $i; next }
	     /^IcmpMsg: [0-9]/ { for (i = 2; i <= NF; i++) if (n[i] == "InType8" && $i >= 2) ok = 1 }
	     END { exit !ok }' "$M/net/snmp"
}
