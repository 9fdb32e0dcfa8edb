#!/usr/bin/env bats
# A SYN flood from 20k spoofed on-link sources at a sockfsd listener while a
# kernel client connects (issue 8): with SYN cookies (tcp_syncookies = 1, the
# default) the client is served on its first SYN, net/netstat counts the
# cookies, and the neighbour table (ARP for the SYN-ACKs to the spoofed
# sources) stays within gc_thresh3. The same over IPv6 (issue 12), from
# spoofed sources in 2001:2::/64, where each SYN-ACK needs neighbour
# discovery. The flood is crafted on the kernel's end of the TAP with an
# AF_PACKET socket (tests/synflood.py), bounded in count and time; all of
# it stays in the suite's namespace.

load helpers

# A /16, so that 20k spoofed sources are on-link and each SYN-ACK needs ARP.
STACK6=2001:2::2
setup_file() {
	sockfsd_start sft-cookie --addr "$STACK_ADDR/16" --host-addr "$HOST_ADDR/16"
	wait_until 10 grep -q "^20010002000000000000000000000002 [0-9a-f]* 40 00 80 " "$M/net/if_inet6"
}
teardown_file() { sockfsd_stop; }
teardown() {
	[[ -z ${FLOOD_PID:-} ]] || kill "$FLOOD_PID" 2>/dev/null || true
	common_teardown
}

# netstat_field FILE TABLE NAME: the value of NAME in a /proc/net/netstat or
# /proc/net/snmp style FILE (a names line, then a values line).
netstat_field() {
	awk -v t="$2:" -v k="$3" '$1 == t && !n { for (i = 2; i <= NF; i++) col[$i] = i; n = 1; next }
		$1 == t && n { print $col[k]; exit }' "$1"
}

# synq_overflowed_over N: the SYN queue was found full more than N times.
synq_overflowed_over() {
	local f=$M/net/netstat
	(($(netstat_field "$f" TcpExt TCPReqQFullDoCookies) + $(netstat_field "$f" TcpExt TCPReqQFullDrop) > $1))
}

# serve_client LISTENER ADDR PORT: a kernel client connects to ADDR:PORT
# (the kernel resolving the stack's address again first, so the stack's
# entry for it is fresh when its SYN-ACK goes out), is accepted on the
# sockfs LISTENER and served a line; prints the accepted socket's inode.
serve_client() {
	local c pid
	ip neigh flush dev "$TAP"
	ip -6 neigh flush dev "$TAP"
	timeout 20 python3 - "$2" "$3" >"$BATS_TEST_TMPDIR/client.out" 3>&- <<-'PY' &
		import socket, sys
		c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=15)
		c.settimeout(15)
		print(c.recv(100).decode().strip())
	PY
	pid=$!
	c=$(timeout 15 bash -c 'read -r c <"$1" && echo "$c"' _ "$M/$1/accept")
	[ -n "$c" ] || return 1
	echo served >"$M/$c/data"
	wait "$pid" || return 1
	[[ $(<"$BATS_TEST_TMPDIR/client.out") == served ]] || return 1
	echo "$c"
}

# flood_serve LISTENER ADDR SRC_NET PORT: 20k SYNs from spoofed sources in
# SRC_NET to the sockfs LISTENER on ADDR:PORT; once its SYN queue has
# overflowed often, a kernel client is served (serve_client; its inode
# left in C); while the flood lasts, MAXROWS keeps the most rows net/arp
# showed. The flood sends all of its SYNs, and the kernel never resends its
# SYN: the discriminator is a count.
flood_serve() {
	local v6= mac retrans0 segs0 full0 retrans1 segs1 sent rows
	[[ $2 == *:* ]] && v6=-6
	timeout 10 ping $v6 -n -c 1 -W 2 "$2" >/dev/null
	mac=$(ip $v6 neigh show "$2" dev "$TAP" | awk '{ print $3 }')
	[[ $mac == *:*:*:*:*:* ]] || return 1
	retrans0=$(netstat_field /proc/net/netstat TcpExt TCPSynRetrans)
	segs0=$(netstat_field /proc/net/snmp Tcp RetransSegs)
	full0=$(($(netstat_field "$M/net/netstat" TcpExt TCPReqQFullDoCookies) + $(netstat_field "$M/net/netstat" TcpExt TCPReqQFullDrop)))

	timeout 90 python3 "$ROOT/tests/synflood.py" "$TAP" "$mac" "$2" "$4" 20000 4000 "$3" \
		>"$BATS_TEST_TMPDIR/flood.out" 3>&- &
	FLOOD_PID=$!
	# The SYN queue (16) overflowed long ago: now the client.
	wait_until 30 synq_overflowed_over $((full0 + 100)) || return 1
	C=$(serve_client "$1" "$2" "$4") || return 1
	MAXROWS=0
	while kill -0 "$FLOOD_PID" 2>/dev/null; do
		rows=$(($(wc -l <"$M/net/arp") - 1))
		((rows > MAXROWS)) && MAXROWS=$rows
		sleep 0.05
	done
	wait "$FLOOD_PID"
	FLOOD_PID=
	sent=$(<"$BATS_TEST_TMPDIR/flood.out")
	echo "flood: $sent SYNs"
	((sent == 20000)) || return 1

	retrans1=$(netstat_field /proc/net/netstat TcpExt TCPSynRetrans)
	segs1=$(netstat_field /proc/net/snmp Tcp RetransSegs)
	echo "kernel TCPSynRetrans $retrans0 -> $retrans1, RetransSegs $segs0 -> $segs1"
	((retrans1 == retrans0 && segs1 == segs0))
}

@test "20k spoofed SYNs: the kernel client is served on its first SYN, cookies are counted, ARP stays bounded" {
	port=$(test_port)
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$s" "bind 0.0.0.0:$port"
	ctl "$s" "listen 16"
	flood_serve "$s" "$STACK_ADDR" 198.18 "$port"
	c=$C maxrows=$MAXROWS

	grep -E '^(TcpExt|IpExt):' "$M/net/netstat" | head -n 2 | cut -c1-400
	cs=$(netstat_field "$M/net/netstat" TcpExt SyncookiesSent)
	cr=$(netstat_field "$M/net/netstat" TcpExt SyncookiesRecv)
	full=$(netstat_field "$M/net/netstat" TcpExt TCPReqQFullDoCookies)
	echo "SyncookiesSent $cs SyncookiesRecv $cr TCPReqQFullDoCookies $full"
	((cs > 10000 && cr >= 1 && full == cs))
	# The first overflow was logged, once, as tcp_syn_flood_action does.
	[[ $(grep -c "Possible SYN flooding on port 0.0.0.0:$port. Sending cookies." "$SOCKFSD_LOG") == 1 ]]
	# netstat -s (net-tools) reads them as it reads Linux's file.
	run env SOCKFS="$M" "$ROOT/examples/sockfs-ss.sh" netstat -s
	echo "$output" | grep -i -E 'cookie|listen'
	[[ $output == *"$cs SYN cookies sent"* && $output == *"$cr SYN cookies received"* ]]

	# The neighbour table held at most gc_thresh3 entries throughout.
	rows=$(($(wc -l <"$M/net/arp") - 1))
	echo "net/arp: at most $maxrows entries during the flood, $rows after"
	((maxrows <= 1024 && rows <= 1024 && maxrows > 0))
	ctl "$c" close
	ctl "$s" close
}

@test "20k spoofed SYNs over IPv6: the kernel client is served on its first SYN, cookies are counted, the neighbour table is bounded" {
	port=$(test_port)
	s=$(mk_socket AF_INET6 SOCK_STREAM 6)
	ctl "$s" "bind [::]:$port"
	ctl "$s" "listen 16"
	cs0=$(netstat_field "$M/net/netstat" TcpExt SyncookiesSent)
	cr0=$(netstat_field "$M/net/netstat" TcpExt SyncookiesRecv)
	flood_serve "$s" "$STACK6" 2001:2:: "$port"
	c=$C

	cs=$(($(netstat_field "$M/net/netstat" TcpExt SyncookiesSent) - cs0))
	cr=$(($(netstat_field "$M/net/netstat" TcpExt SyncookiesRecv) - cr0))
	echo "this flood: SyncookiesSent $cs SyncookiesRecv $cr"
	((cs > 10000 && cr >= 1))
	[[ $(grep -c "request_sock_TCPv6: Possible SYN flooding on port \[::\]:$port. Sending cookies." "$SOCKFSD_LOG") == 1 ]]
	# Each SYN-ACK to a spoofed source waits on neighbour discovery that
	# never ends before 3 s: the table filled to gc_thresh3 and refused
	# the rest (neigh_alloc's line), yet the client above was served.
	overflows=$(grep -c "ndisc_cache: neighbor table overflow!" "$SOCKFSD_LOG" || true)
	echo "neighbor table overflow lines: $overflows"
	((overflows >= 1))
	ctl "$c" close
	ctl "$s" close
}
