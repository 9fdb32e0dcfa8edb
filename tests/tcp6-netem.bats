#!/usr/bin/env bats
# 20 MiB each way at once over IPv6 between sockfs and the kernel's TCP
# with every frame on the TAP impaired both ways (sockfsd --netem "loss 2%
# reorder 5%"), as tests/tcp-netem.bats does over IPv4: a sockfs client to
# a kernel nc -6 -l and a kernel nc -6 client to a sockfs listener, checked
# with sha256, the repairs visible in status and the kernel's counters.

load helpers

NETEM="loss 2% reorder 5%"

setup_file() {
	sockfsd_start sft-netem6 --netem "$NETEM"
	wait_until 20 addr6_ready
	payloads 20
}
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

@test "tcp6-netem: IPv6 frames really are lost on the TAP (kernel ping -6 sees loss)" {
	# 200 pings, 4 ms apart: with 2% loss each way about 4% go unanswered.
	run timeout 20 ping -6 -n -q -c 200 -i 0.004 -W 1 "$STACK6"
	echo "$output"
	[[ $output =~ ([0-9]+)\ received ]]
	((BASH_REMATCH[1] < 200 && BASH_REMATCH[1] > 160))
}

@test "tcp6-netem: a sockfs client and a kernel nc -6 -l exchange 20 MiB each way intact under loss and reordering" {
	port=$(test_port)
	before=$(kernel_snmp_tcp RetransSegs)
	KERNEL_ADDR=$HOST6 kernel_listen "$port" "$BATS_TEST_TMPDIR/kgot" "$BATS_FILE_TMPDIR/down"
	s=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$s" "connect [$HOST6]:$port"
	start=$SECONDS
	both_ways "$s" "$BATS_FILE_TMPDIR/up" "$BATS_TEST_TMPDIR/got"
	retrans=$(status_field "$s" retransmits)
	echo "both ways in $((SECONDS - start)) s; status: retransmits $retrans, cwnd $(status_field "$s" cwnd)"
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_FILE_TMPDIR/up" "$BATS_TEST_TMPDIR/kgot"
	same_file "$BATS_FILE_TMPDIR/down" "$BATS_TEST_TMPDIR/got"
	# Both senders repaired losses: ours (status) and the kernel's.
	after=$(kernel_snmp_tcp RetransSegs)
	echo "kernel RetransSegs $before -> $after"
	((retrans > 0 && after > before))
}

@test "tcp6-netem: a kernel nc -6 client and a sockfs listener exchange 20 MiB each way intact under loss and reordering" {
	port=$(test_port)
	before=$(kernel_snmp_tcp RetransSegs)
	l=$(mk_socket AF_INET6 SOCK_STREAM 0)
	ctl "$l" "bind [$STACK6]:$port"
	ctl "$l" listen
	timeout 90 nc -6 -N "$STACK6" "$port" <"$BATS_FILE_TMPDIR/down" >"$BATS_TEST_TMPDIR/kgot" 3>&- &
	NC_PID=$!
	read -r -t 20 c <"$M/$l/accept"
	both_ways "$c" "$BATS_FILE_TMPDIR/up" "$BATS_TEST_TMPDIR/got"
	retrans=$(status_field "$c" retransmits)
	ctl "$c" close
	wait_exit "$NC_PID" 30
	ctl "$l" close
	same_file "$BATS_FILE_TMPDIR/up" "$BATS_TEST_TMPDIR/kgot"
	same_file "$BATS_FILE_TMPDIR/down" "$BATS_TEST_TMPDIR/got"
	after=$(kernel_snmp_tcp RetransSegs)
	echo "status: retransmits $retrans; kernel RetransSegs $before -> $after"
	((retrans > 0 && after > before))
}
