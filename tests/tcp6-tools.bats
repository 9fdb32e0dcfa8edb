#!/usr/bin/env bats
# TCP over IPv6 seen from outside (docs/sockfsd.md "IPv6" and "net/"):
# net/tcp6 in /proc/net/tcp6's layout beside the kernel's own file, read by
# iproute2's ss and net-tools' netstat as the recipes for net/tcp read it
# (tests/tools.bats), a listener, an established connection and a
# TIME_WAIT entry each with the kernel's socket in the same state as the
# reference; curl -g fetching from examples/http-server.sh on an AF_INET6
# listener; neighbour discovery and the handshakes both ways in tcpdump -r
# of the --pcap capture; IPV6_UNICAST_HOPS and IPV6_TCLASS on the wire as
# a kernel TCP socket's.

load helpers

SS=$ROOT/examples/sockfs-ss.sh
# 2001:2::2 and 2001:2::1 as /proc/net/tcp6 prints them (four host-order
# words of a little-endian machine).
STACK6_PROC=02000120000000000000000002000000
HOST6_PROC=02000120000000000000000001000000
ANY6_PROC=00000000000000000000000000000000
HOST6_2=2001:2::3
# A row of /proc/net/tcp6: get_tcp6_sock's columns, or the shorter ones of
# get_openreq6 and get_timewait6_sock.
TCP6_ROW='^ {0,3}[0-9]+: [0-9A-F]{32}:[0-9A-F]{4} [0-9A-F]{32}:[0-9A-F]{4} [0-9A-F]{2} [0-9A-F]{8}:[0-9A-F]{8} [0-9A-F]{2}:[0-9A-F]{8} [0-9A-F]{8} [ 0-9]{4}[0-9] [ 0-9]{7}[0-9] [0-9]+ [0-9]+ [0-9a-f]{16}( [0-9]+ [0-9]+ [0-9]+ [0-9]+ -?[0-9]+)?$'

setup_file() {
	export PCAP=$BATS_FILE_TMPDIR/tcp6.pcap
	sockfsd_start sft-tcp6t --pcap "$PCAP"
	wait_until 10 addr6_ready
}
teardown_file() { sockfsd_stop; }
teardown() {
	bg_kill
	ip -6 addr del "$HOST6_2/64" dev "$TAP" 2>/dev/null || true
	common_teardown
}

hex4() { printf %04X "$1"; }

# once RE...: each RE matches exactly one line of $output.
once() {
	local re
	for re; do
		[[ $(grep -cE "$re" <<<"$output") == 1 ]] || { echo "not once: $re"; return 1; }
	done
}

# port_of INO: the local port of a socket of ours.
port_of() {
	local loc
	read -r loc <"$M/$1/local"
	echo "${loc##*:}"
}

# kport_to PORT: the local port of the kernel's connection to [STACK6]:PORT.
kport_to() {
	ss -Htn state established "dst [$STACK6]:$1" | awk '{ n = split($3, a, ":"); print a[n]; exit }'
}

# tcp6_has REGEX: some row of net/tcp6 matches.
tcp6_has() { grep -Eq "$1" "$M/net/tcp6"; }

# three_states N: sockets of ours in the three states the tools show, on
# ports test_port N.. :
#   L      a listener on [STACK6]:LPORT
#   C      its child, ESTABLISHED to a kernel nc -6 from [HOST6]:KPORT
#   TWPORT our local port of a TIME_WAIT entry with [HOST6]:KLPORT (we
#          closed first; the kernel nc then closed too)
#   KTW    the kernel's port of a connection to LPORT it closed first: its
#          TIME_WAIT, the reference
three_states() {
	LPORT=$(test_port "$1")
	KLPORT=$(test_port $(($1 + 1)))
	L=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$L" "bind [$STACK6]:$LPORT"
	ctl "$L" "listen"
	bg timeout 60 nc -6 -d "$STACK6" "$LPORT"
	read -r -t 10 C <"$M/$L/accept"
	KPORT=$(kport_to "$LPORT")
	[[ -n $KPORT ]]

	KERNEL_ADDR=$HOST6 kernel_listen "$KLPORT" /dev/null
	local s
	s=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$s" "connect [$HOST6]:$KLPORT"
	TWPORT=$(port_of "$s")
	ctl "$s" close
	wait_exit "$NC_PID" 10
	wait_until 10 tcp6_has "^ *[0-9]+: $STACK6_PROC:$(hex4 "$TWPORT") $HOST6_PROC:$(hex4 "$KLPORT") 06 "

	# The kernel's own TIME_WAIT: nc -N sends its FIN at once, we answer
	# with ours.
	timeout 10 nc -6 -N "$STACK6" "$LPORT" </dev/null &
	local knc=$! k
	read -r -t 10 k <"$M/$L/accept"
	wait_until 10 field_is "$k" sk_state CLOSE_WAIT
	ctl "$k" close
	wait_exit "$knc" 10
	KTW=$(ss -Htn state time-wait "dst [$STACK6]:$LPORT" | awk '{ n = split($3, a, ":"); print a[n]; exit }')
	[[ -n $KTW ]]
}

@test "net/tcp6 has /proc/net/tcp6's header and row layout; our address reads as the kernel's file writes it" {
	three_states 0
	cat "$M/net/tcp6"
	[ "$(head -1 "$M/net/tcp6")" = "$(head -1 /proc/net/tcp6)" ]
	# Every row of both files has the one layout (the kernel's rows are
	# there: its nc, its listener's TIME_WAIT).
	((($(wc -l <"$M/net/tcp6") - 1) >= 3))
	[ "$(tail -n +2 "$M/net/tcp6" | grep -cvE "$TCP6_ROW")" = 0 ]
	((($(wc -l </proc/net/tcp6) - 1) >= 2))
	[ "$(tail -n +2 /proc/net/tcp6 | grep -cvE "$TCP6_ROW")" = 0 ]
	# Listener, established child (with its inode), TIME_WAIT.
	tcp6_has "^ *[0-9]+: $STACK6_PROC:$(hex4 "$LPORT") $ANY6_PROC:0000 0A 00000000:00000000 00:00000000 00000000 +[0-9]+ +0 $L 2 0{16} "
	tcp6_has "^ *[0-9]+: $STACK6_PROC:$(hex4 "$LPORT") $HOST6_PROC:$(hex4 "$KPORT") 01 [0-9A-F]{8}:[0-9A-F]{8} 0[0-4]:[0-9A-F]{8} [0-9A-F]{8} +[0-9]+ +[0-9]+ $C 2 "
	# The kernel's row of the same connection, mirrored: the same two
	# address columns the other way round.
	grep -Eq "^ *[0-9]+: $HOST6_PROC:$(hex4 "$KPORT") $STACK6_PROC:$(hex4 "$LPORT") 01 " /proc/net/tcp6
	# The kernel's TIME_WAIT and ours in the same columns: no inode,
	# refcount 3, timer 3.
	grep -Eq "^ *[0-9]+: $HOST6_PROC:$(hex4 "$KTW") $STACK6_PROC:$(hex4 "$LPORT") 06 00000000:00000000 03:[0-9A-F]{8} 00000000 +0 +0 0 3 [0-9a-f]{16}$" /proc/net/tcp6
	tcp6_has "^ *[0-9]+: $STACK6_PROC:$(hex4 "$TWPORT") $HOST6_PROC:$(hex4 "$KLPORT") 06 00000000:00000000 03:[0-9A-F]{8} 00000000 +0 +0 0 3 0{16}$"
	# net/tcp is AF_INET's alone.
	not grep -q ":$(hex4 "$LPORT") " "$M/net/tcp"
	not grep -q ":$(hex4 "$TWPORT") " "$M/net/tcp"
	ctl "$C" close
	ctl "$L" close
}

@test "ss reads net/tcp6 through PROC_NET_TCP6 or PROC_ROOT: LISTEN, ESTAB and TIME-WAIT, as it reads the kernel's /proc/net/tcp6" {
	three_states 2
	kl=$(test_port 4)
	KERNEL_ADDR=$HOST6 kernel_listen "$kl" /dev/null
	# ss prints a listener's peer read from a file as *:* (from netlink
	# [::]:*), for the kernel's file as for ours (below).
	listen="^LISTEN +0 +0 +\[$STACK6\]:$LPORT +\*:\*"
	estab="^ESTAB +0 +0 +\[$STACK6\]:$LPORT +\[$HOST6\]:$KPORT( |$)"
	tw="^TIME-WAIT +0 +0 +\[$STACK6\]:$TWPORT +\[$HOST6\]:$KLPORT( |$)"
	# ss leaves netlink for the files only when PROC_NET_TCP or PROC_ROOT
	# is set; PROC_NET_TCP6 then names the IPv6 table.
	run env PROC_NET_TCP="$M/net/tcp" PROC_NET_TCP6="$M/net/tcp6" ss -Htan
	echo "$output"
	[ "$status" -eq 0 ]
	once "$listen" "$estab" "$tw"
	run env PROC_ROOT="$M" ss -6Htan
	echo "$output"
	once "$listen" "$estab" "$tw"
	# PROC_NET_TCP6 alone is not enough: ss asks the kernel over netlink.
	run env PROC_NET_TCP6="$M/net/tcp6" ss -Htan
	[[ $(grep -cE "$listen" <<<"$output") == 0 ]]
	# The same recipe on the kernel's own files shows the kernel's ends, in
	# the same states: so the two files read alike.
	run env PROC_NET_TCP=/proc/net/tcp PROC_NET_TCP6=/proc/net/tcp6 ss -Htan
	echo "$output"
	once "^ESTAB +0 +0 +\[$HOST6\]:$KPORT +\[$STACK6\]:$LPORT( |$)" \
		"^TIME-WAIT +0 +0 +\[$HOST6\]:$KTW +\[$STACK6\]:$LPORT( |$)" \
		"^LISTEN +0 +0 +\[$HOST6\]:$kl +\*:\*"
	[[ $(grep -cE "$estab" <<<"$output") == 0 ]]
	ctl "$C" close
	ctl "$L" close
}

@test "netstat -6tan reads net/tcp6 in sockfs-ss.sh's private /proc, as it reads the kernel's" {
	three_states 6
	run env SOCKFS="$M" "$SS" netstat -6tan
	echo "$output"
	[ "$status" -eq 0 ]
	once "^tcp6 +0 +0 $STACK6:$LPORT +:::\* +LISTEN" \
		"^tcp6 +0 +0 $STACK6:$LPORT +$HOST6:$KPORT +ESTABLISHED" \
		"^tcp6 +0 +0 $STACK6:$TWPORT +$HOST6:$KLPORT +TIME_WAIT"
	# The kernel's table, read by the same netstat outside: the other ends.
	run netstat -6tan
	echo "$output"
	once "^tcp6 +0 +0 $HOST6:$KPORT +$STACK6:$LPORT +ESTABLISHED" \
		"^tcp6 +0 +0 $HOST6:$KTW +$STACK6:$LPORT +TIME_WAIT"
	[[ $(grep -cE "^tcp6 +0 +0 $STACK6:$LPORT " <<<"$output") == 0 ]]
	ctl "$C" close
	ctl "$L" close
}

@test "curl -g 'http://[2001:2::2]:PORT/' fetches from http-server.sh's bash accept loop on an AF_INET6 listener" {
	port=$(test_port)
	mkdir "$BATS_TEST_TMPDIR/www"
	echo "hello over IPv6" >"$BATS_TEST_TMPDIR/www/index.html"
	echo "second page" >"$BATS_TEST_TMPDIR/www/b.txt"
	bg env SOCKFS="$M" "$ROOT/examples/http-server.sh" "$port" "$BATS_TEST_TMPDIR/www" ::
	wait_until 10 tcp6_has "^ *[0-9]+: $ANY6_PROC:$(hex4 "$port") $ANY6_PROC:0000 0A "
	run timeout 20 curl -g -sS "http://[$STACK6]:$port/"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "hello over IPv6" ]
	run timeout 20 curl -g -sS -o /dev/null -w '%{http_code} %{remote_ip} %{local_ip}' "http://[$STACK6]:$port/b.txt"
	[ "$output" = "200 $STACK6 $HOST6" ]
	run timeout 20 curl -g -sS -o /dev/null -w '%{http_code}' "http://[$STACK6]:$port/nothing"
	[ "$output" = 404 ]
	# Stopping the script closes its listener (its trap).
	kill $BG_PIDS
	wait_until 10 not tcp6_has "^ *[0-9]+: $ANY6_PROC:$(hex4 "$port") $ANY6_PROC:0000 0A "
}

# handshake_in_pcap FROM TO PORT: tcpdump -r shows SYN, SYN-ACK and ACK of
# a connection from FROM to TO:PORT.
handshake_in_pcap() {
	local out
	out=$(timeout 10 tcpdump -n -r "$PCAP" "ip6 and tcp port $3" 2>/dev/null)
	grep -Eq "IP6 $1\.[0-9]+ > $2\.$3: Flags \[S\], seq [0-9]+," <<<"$out" &&
		grep -Eq "IP6 $2\.$3 > $1\.[0-9]+: Flags \[S\.\], seq [0-9]+, ack [0-9]+," <<<"$out" &&
		grep -Eq "IP6 $1\.[0-9]+ > $2\.$3: Flags \[\.\], ack 1," <<<"$out"
}

@test "tcpdump -r of the --pcap capture shows neighbour discovery and the handshakes both ways over IPv6" {
	# A second kernel address the stack has never heard from, so that
	# reaching it takes our own solicitation (for 2001:2::1 the kernel's
	# solicitation may have taught us its MAC first, as it would Linux).
	ip -6 addr add "$HOST6_2/64" dev "$TAP" nodad
	kport=$(test_port) sport=$(test_port 1)
	KERNEL_ADDR=$HOST6_2 kernel_listen "$kport" "$BATS_TEST_TMPDIR/got"
	s=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$s" "connect [$HOST6_2]:$kport"
	echo out >"$M/$s/data"
	ctl "$s" close
	wait_exit "$NC_PID" 10
	l=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$l" "bind [::]:$sport"
	ctl "$l" listen
	# The kernel forgets our MAC, so its connection begins with its
	# solicitation.
	ip -6 neigh flush dev "$TAP"
	echo in | timeout 10 nc -6 -N -s "$HOST6" "$STACK6" "$sport" &
	read -r -t 10 c <"$M/$l/accept"
	[ "$(head -c 3 "$M/$c/data")" = in ]
	ctl "$c" close
	ctl "$l" close
	wait_until 10 handshake_in_pcap "$STACK6" "$HOST6_2" "$kport"
	wait_until 10 handshake_in_pcap "$HOST6" "$STACK6" "$sport"
	run timeout 10 tcpdump -n -r "$PCAP" icmp6
	echo "$output" | grep neighbor
	# Our solicitation for the new address (to its solicited-node group)
	# and the kernel's answer; then the kernel's for ours and our answer.
	echo "$output" | grep -q "IP6 $STACK6 > ff02::1:ff00:3: ICMP6, neighbor solicitation, who has $HOST6_2"
	echo "$output" | grep -q "IP6 $HOST6_2 > $STACK6: ICMP6, neighbor advertisement, tgt is $HOST6_2"
	echo "$output" | grep -Eq "IP6 [0-9a-f:]+ > [0-9a-f:]+: ICMP6, neighbor solicitation, who has $STACK6"
	echo "$output" | grep -q "IP6 $STACK6 > [0-9a-f:]*: ICMP6, neighbor advertisement, tgt is $STACK6"
}

# hlim_class_in_pcap FILTER: every TCP segment tcpdump's FILTER selects
# (at least 3: the handshake's and data) carries class 0x28 and hop limit 9.
hlim_class_in_pcap() {
	local out n
	out=$(timeout 10 tcpdump -v -n -r "$PCAP" "ip6 and tcp and $1" 2>/dev/null | grep '^[0-9:.]* IP6 (')
	n=$(grep -c . <<<"$out")
	((n >= 3)) && [[ $(grep -cE 'IP6 \(class 0x28,( flowlabel 0x[0-9a-f]+,)? hlim 9, next-header TCP' <<<"$out") == "$n" ]]
}

@test "IPV6_UNICAST_HOPS and IPV6_TCLASS on an AF_INET6 TCP socket reach the wire, as a kernel TCP socket's do" {
	kport=$(test_port) sport=$(test_port 1)
	KERNEL_ADDR=$HOST6 kernel_listen "$kport" "$BATS_TEST_TMPDIR/got"
	s=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$s" "setsockopt IPV6_UNICAST_HOPS 9"
	ctl "$s" "setsockopt IPV6_TCLASS 40"
	grep -qx "IPV6_UNICAST_HOPS 9" "$M/$s/ctl"
	grep -qx "IPV6_TCLASS 40" "$M/$s/ctl"
	ctl "$s" "connect [$HOST6]:$kport"
	echo hops >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" hops
	ctl "$s" close
	wait_exit "$NC_PID" 10
	wait_until 10 hlim_class_in_pcap "src host $STACK6 and dst port $kport"
	# The reference: a kernel socket with the same options, to a listener
	# of ours that has them too (its child answers with them).
	l=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$l" "setsockopt IPV6_UNICAST_HOPS 9"
	ctl "$l" "setsockopt IPV6_TCLASS 40"
	ctl "$l" "bind [$STACK6]:$sport"
	ctl "$l" listen
	timeout 10 python3 - "$STACK6" "$sport" <<-'EOF' 3>&- &
		import socket, sys
		c = socket.socket(socket.AF_INET6)
		c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 9)
		c.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, 40)
		c.connect((sys.argv[1], int(sys.argv[2])))
		c.sendall(b"hops\n")
		c.shutdown(socket.SHUT_WR)
		c.recv(1)
	EOF
	py=$!
	read -r -t 10 c <"$M/$l/accept"
	[ "$(cat "$M/$c/data")" = hops ]
	ctl "$c" close
	ctl "$l" close
	wait "$py"
	wait_until 10 hlim_class_in_pcap "src host $HOST6 and dst port $sport"
	wait_until 10 hlim_class_in_pcap "src host $STACK6 and src port $sport"
}
