#!/usr/bin/env bats
# --pcap FILE (docs/sockfsd.md "Flags"): every frame sent or received goes to FILE
# in libpcap format, which tcpdump reads while the daemon still runs.

load helpers

setup_file() {
	export PCAP=$BATS_FILE_TMPDIR/sockfs.pcap
	sockfsd_start sft-pcap --pcap "$PCAP"
}
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

# tcpdump_port PORT prints the capture's TCP segments on PORT, one a line,
# with numeric addresses and absolute sequence numbers.
tcpdump_port() {
	tcpdump -r "$PCAP" -nn -S "tcp port $1" 2>/dev/null
}

@test "tcpdump -r shows a connection's handshake: SYN, SYN-ACK, ACK" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	lport=$(cut -d: -f2 "$M/$s/local")
	c="$STACK_ADDR.$lport"
	k="$HOST_ADDR.$port"
	run tcpdump_port "$port"
	[ "$status" -eq 0 ]
	echo "$output"
	# the first three segments of the connection, in order
	mapfile -t seg < <(head -n 3 <<<"$output")
	[[ ${seg[0]} == *"IP $c > $k: Flags [S], seq "* ]]
	[[ ${seg[1]} == *"IP $k > $c: Flags [S.], seq "* ]]
	[[ ${seg[2]} == *"IP $c > $k: Flags [.], ack "* ]]
	# the SYN-ACK acknowledges the SYN's sequence number plus one
	[[ ${seg[0]} =~ seq\ ([0-9]+) ]]
	isn=${BASH_REMATCH[1]}
	[[ ${seg[1]} == *"ack $((isn + 1)),"* ]]
	ctl "$s" close
}

@test "the capture has the data both ways and the FIN exchange" {
	port=$(test_port)
	echo "from the kernel" >"$BATS_TEST_TMPDIR/in"
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/in"
	s=$(tcp_client "$port")
	echo "from sockfs" >"$M/$s/data"
	[ "$(timeout 10 cat "$M/$s/data")" = "from the kernel" ]
	ctl "$s" close
	wait_exit "$NC_PID" 10
	run bash -c "tcpdump -r '$PCAP' -nn -A 'tcp port $port' 2>/dev/null"
	[[ $output == *"from sockfs"* ]]
	[[ $output == *"from the kernel"* ]]
	run tcpdump_port "$port"
	grep -q "IP $STACK_ADDR\.[0-9]* > $HOST_ADDR.$port: Flags \[F\.\]" <<<"$output"
	grep -q "IP $HOST_ADDR.$port > $STACK_ADDR\.[0-9]*: Flags \[F\.\]" <<<"$output"
}

@test "ARP and ICMP are captured too" {
	ping -c 1 -W 5 "$STACK_ADDR" >/dev/null
	run bash -c "tcpdump -r '$PCAP' -nn 'arp or icmp' 2>/dev/null"
	[[ $output == *"ARP, Request who-has"* ]]
	[[ $output == *"ARP, Reply"* ]]
	[[ $output == *"IP $HOST_ADDR > $STACK_ADDR: ICMP echo request"* ]]
	[[ $output == *"IP $STACK_ADDR > $HOST_ADDR: ICMP echo reply"* ]]
}
