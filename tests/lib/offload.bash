# lib/offload.bash — what the offload*.bats files share: the daemon with
# --offload and a capture, a 20 MiB payload, a background copy of the
# trace file, and the measures their checks take (the largest segs= or
# len= in a trace, the longest frame in the capture). Load it after
# helpers.

# offload_setup_file TAP [FLAGS...]: sockfsd --offload on TAP with FLAGS,
# capturing into $PCAP, and $BATS_FILE_TMPDIR/payload of 20 MiB. With an
# IPv6 KERNEL_ADDR it also waits for the stack's address to finish
# duplicate address detection, so the first connection is not refused.
offload_setup_file() {
	export PCAP=$BATS_FILE_TMPDIR/offload.pcap
	sockfsd_start "$1" --offload --pcap "$PCAP" "${@:2}" || return 1
	if [[ $KERNEL_ADDR == *:* ]]; then
		# 2001:2::2 in net/if_inet6 with no tentative flag (IFA_F_PERMANENT)
		wait_until 10 grep -q "^20010002000000000000000000000002 [0-9a-f]* 40 00 80 " "$M/net/if_inet6" || return 1
	fi
	head -c $((20 << 20)) /dev/urandom >"$BATS_FILE_TMPDIR/payload"
}

# offload_teardown: stop a test's trace reader, then common_teardown.
offload_teardown() {
	[[ -n ${TRACE_PID:-} ]] && { kill "$TRACE_PID" 2>/dev/null; wait_exit "$TRACE_PID" 5 || true; }
	TRACE_PID=
	[[ -n ${TRACE_FD:-} ]] && exec {TRACE_FD}<&-
	TRACE_FD=
	common_teardown
}

# trace_start FILE: copy the trace file into FILE in the background until
# offload_teardown.
trace_start() {
	exec {TRACE_FD}<"$M/trace"
	cat <&"$TRACE_FD" >"$1" 3>&- &
	TRACE_PID=$!
}

# trace_max FILE TEXT FIELD prints the largest FIELD=N among FILE's lines
# that contain TEXT (0 if none).
trace_max() {
	awk -v text="$2" -v f="$3=" 'index($0, text) {
		for (i = 1; i <= NF; i++) if (index($i, f) == 1) { n = substr($i, length(f) + 1) + 0; if (n > max) max = n }
	} END { print max + 0 }' "$1"
}

# capture_longest [FILTER] prints the length of the longest frame in $PCAP
# that matches the tcpdump FILTER, as tcpdump -e reports it.
capture_longest() {
	tcpdump -r "$PCAP" -nn -e "$@" 2>/dev/null |
		sed -n 's/.*, length \([0-9]*\): .*/\1/p' | sort -n | tail -1
}

# send_intact PORT SECS: a sockfs client sends the payload to a kernel nc
# listening on PORT, which gets it intact. RETRANS is the client's
# retransmits before it closed.
send_intact() {
	kernel_listen "$1" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$1")
	timeout "$2" dd if="$BATS_FILE_TMPDIR/payload" of="$M/$s/data" bs=128k status=none
	RETRANS=$(status_field "$s" retransmits)
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
}

# receive_intact PORT SECS: a kernel nc on PORT sends the payload and its
# FIN to a sockfs client, whose cat ends at the FIN with it intact.
receive_intact() {
	kernel_listen "$1" "$BATS_TEST_TMPDIR/nc.out" "$BATS_FILE_TMPDIR/payload"
	s=$(tcp_client "$1")
	timeout "$2" cat "$M/$s/data" >"$BATS_TEST_TMPDIR/got"
	ctl "$s" close
	wait_exit "$NC_PID" 10
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
}
