#!/usr/bin/env bats
# --pcap with --netem: the capture shows what crosses the wire, as Linux's
# packet taps (past the qdisc) do: frames netem drops on the way out are
# not in it, frames netem drops on the way in are. The kernel's own
# tcpdump on the TAP is the reference.

load helpers

setup_file() {
	export PCAP=$BATS_FILE_TMPDIR/sockfs.pcap
	sockfsd_start sft-pcapnetem --pcap "$PCAP" --netem "loss 30%" --netem-seed 7
}
teardown_file() { sockfsd_stop; }
teardown() {
	if [[ -n ${DUMP_PID:-} ]]; then
		kill "$DUMP_PID" 2>/dev/null || true
		wait_exit "$DUMP_PID" 5 || true
		DUMP_PID=
	fi
	common_teardown
}

# echoes FILE TYPE: how many ICMP echo TYPE (request, reply) FILE holds.
echoes() {
	tcpdump -r "$1" -nn "icmp[icmptype] == icmp-echo$([[ $2 == reply ]] && echo reply)" 2>/dev/null | wc -l
}

# captures_agree: the kernel's capture and sockfsd's show the same echo
# requests and replies.
captures_agree() {
	local k=$BATS_TEST_TMPDIR/kernel.pcap
	[[ $(echoes "$k" request) == "$(echoes "$PCAP" request)" && $(echoes "$k" reply) == "$(echoes "$PCAP" reply)" ]]
}

@test "pcap under netem: the capture shows the frames the kernel saw cross, not those netem dropped" {
	k=$BATS_TEST_TMPDIR/kernel.pcap
	tcpdump -i "$TAP" -U -nn -w "$k" icmp 2>"$k.err" 3>&- &
	DUMP_PID=$!
	wait_until 5 grep -q "listening on" "$k.err"
	run ping -c 40 -i 0.05 -W 1 "$STACK_ADDR"
	echo "$output" | tail -2 >&2
	# Loss both ways: some requests or replies were lost, some got through.
	[[ $output == *" 0% packet loss"* ]] && false
	[[ $output == *"100% packet loss"* ]] && false
	if ! wait_until 10 captures_agree; then
		echo "kernel saw $(echoes "$k" request) requests, $(echoes "$k" reply) replies;" \
			"sockfsd's capture has $(echoes "$PCAP" request), $(echoes "$PCAP" reply)" >&2
		false
	fi
	# The replies in the capture are what the kernel's ping counted.
	received=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$output")
	[ "$(echoes "$PCAP" reply)" = "$received" ]
}
