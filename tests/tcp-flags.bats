#!/usr/bin/env bats
# The daemon's TCP knobs: --tcp-congestion picks the congestion control
# (net.ipv4.tcp_congestion_control) and --time-wait shortens TIME_WAIT, which
# is Linux's 60 s otherwise.

load helpers

setup_file() { sockfsd_start sft-tflag --tcp-congestion reno --time-wait 1s; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

# tw_rows PORT: net/tcp rows in TIME_WAIT (06) with remote port PORT.
tw_rows() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" 'NR > 1 { split($3, r, ":"); if (r[2] == p && $4 == "06") n++ } END { print n + 0 }' "$M/net/tcp"
}

# tw_is PORT N: N connections to PORT are in TIME_WAIT (for wait_until,
# which runs its command afresh each try).
tw_is() { [[ $(tw_rows "$1") == "$2" ]]; }

@test "--tcp-congestion reno is the connection's congestion control" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	[ "$(status_field "$s" congestion)" = reno ]
	ctl "$s" close
}

@test "--time-wait 1s: the active closer's TIME_WAIT ends after a second" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	echo bye >"$M/$s/data"
	ctl "$s" close
	wait_exit "$NC_PID" 10
	# We closed first, so our side waits in TIME_WAIT, listed in net/tcp...
	wait_until 5 tw_is "$port" 1
	# (the first test's connection may still be in TIME_WAIT too)
	grep -Eq "^TCP: inuse [0-9]+ orphan 0 tw [1-9]" "$M/net/sockstat"
	# ...and gone once the shortened 2 MSL has passed.
	wait_until 10 tw_is "$port" 0
}

@test "a bad --tcp-congestion or --time-wait is one clear line and a non-zero exit" {
	run timeout 10 "$SOCKFSD" --tcp-congestion bbr "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	[[ $output == *'bad --tcp-congestion "bbr"'* ]]
	run timeout 10 "$SOCKFSD" --time-wait 1ms "$BATS_TEST_TMPDIR"
	[ "$status" -eq 2 ]
	[[ $output == *'bad --time-wait 1ms'* ]]
}
