#!/usr/bin/env bats
# 20 MiB each way between sockfs and the kernel's TCP with every frame on the
# TAP impaired both ways (sockfsd --netem "loss 3% duplicate 1% reorder 5%"):
# loss recovery, reassembly of reordered and duplicated segments, checked with
# sha256 and bounded in time; the retransmissions show in status and in the
# kernel's own counters.

load helpers

NETEM="loss 3% duplicate 1% reorder 5%"

setup_file() {
	sockfsd_start sft-netem --netem "$NETEM"
	head -c $((20 << 20)) /dev/urandom >"$BATS_FILE_TMPDIR/payload"
}
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

@test "tcp-netem: frames really are lost on the TAP (kernel ping sees loss)" {
	# 200 pings, 4 ms apart: with 3% loss each way about 6% go unanswered;
	# none lost at all would mean --netem did nothing.
	run timeout 20 ping -n -q -c 200 -i 0.004 -W 1 "$STACK_ADDR"
	echo "$output"
	[[ $output =~ ([0-9]+)\ received ]]
	received=${BASH_REMATCH[1]}
	((received < 200 && received > 150))
}

@test "tcp-netem: 20 MiB from sockfs to the kernel arrive intact under loss, duplication and reordering" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	start=$SECONDS
	timeout 70 dd if="$BATS_FILE_TMPDIR/payload" of="$M/$s/data" bs=128k status=none
	retrans=$(status_field "$s" retransmits)
	echo "sent in $((SECONDS - start)) s; status: retransmits $retrans, cwnd $(status_field "$s" cwnd), rtt_us $(status_field "$s" rtt_us)"
	ctl "$s" close
	wait_exit "$NC_PID" 30
	echo "all acknowledged and FIN read by nc after $((SECONDS - start)) s"
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
	# losses were repaired by sockfs's own retransmissions
	[[ $retrans =~ ^[0-9]+$ ]]
	((retrans > 0))
}

@test "tcp-netem: 20 MiB from the kernel to sockfs arrive intact under loss, duplication and reordering" {
	port=$(test_port)
	before=$(kernel_snmp_tcp RetransSegs)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/nc.out" "$BATS_FILE_TMPDIR/payload"
	s=$(tcp_client "$port")
	start=$SECONDS
	timeout 70 cat "$M/$s/data" >"$BATS_TEST_TMPDIR/got"
	echo "received in $((SECONDS - start)) s"
	ctl "$s" close
	wait_exit "$NC_PID" 10
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
	# the kernel, the sender here, had to retransmit what the TAP dropped
	after=$(kernel_snmp_tcp RetransSegs)
	echo "kernel RetransSegs $before -> $after"
	((after > before))
}

@test "tcp-netem: an echo round trip of 1 MiB both ways on one connection survives the impairment" {
	port=$(test_port)
	head -c $((1 << 20)) "$BATS_FILE_TMPDIR/payload" >"$BATS_TEST_TMPDIR/in"
	# a kernel echo server: it sends back what it reads, then FIN at EOF
	python3 - "$HOST_ADDR" "$port" <<-'EOF' 3>&- &
		import socket, sys
		l = socket.socket()
		l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
		l.bind((sys.argv[1], int(sys.argv[2])))
		l.listen(1)
		l.settimeout(30)
		c, _ = l.accept()
		c.settimeout(30)
		while True:
		    b = c.recv(65536)
		    if not b:
		        break
		    c.sendall(b)
		c.shutdown(socket.SHUT_WR)
		c.close()
	EOF
	NC_PID=$!
	wait_until 5 listening "$port"
	s=$(tcp_client "$port")
	timeout 60 cat "$M/$s/data" >"$BATS_TEST_TMPDIR/got" &
	reader=$!
	timeout 60 dd if="$BATS_TEST_TMPDIR/in" of="$M/$s/data" bs=64k status=none
	ctl "$s" "shutdown wr"
	wait "$reader"
	same_file "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/got"
	ctl "$s" close
	wait_exit "$NC_PID" 10
}
