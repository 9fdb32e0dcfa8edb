#!/usr/bin/env bats
# The daemon's life: clean shutdown on SIGTERM, stale mounts, startup errors
# (docs/sockfsd.md "Startup", "Signals and shutdown"). Each test starts its own sockfsd, on an address range
# of its own so it can never meet another file's TAP.

load helpers

FLAGS=(--addr 198.19.0.2/24 --host-addr 198.19.0.1/24)

setup_file() { require_private_netns; }

# failed_startup checks the last `run` of sockfsd: it exited by itself (not by
# the timeout) with a non-zero status, after exactly one line of output.
failed_startup() {
	[ "$status" -ne 0 ]
	[ "$status" -ne 124 ]
	[ "${#lines[@]}" -eq 1 ]
}

teardown() {
	common_teardown
	if [[ -n ${SOCKFSD_PID:-} ]]; then sockfsd_kill; fi
	if [[ -n ${M:-} ]] && is_mounted "$M"; then fusermount3 -uz "$M" || umount -l "$M"; fi
	ip link del sft-life 2>/dev/null || true
}

@test "SIGTERM closes sockets, unmounts, removes the TAP and exits 0" {
	sockfsd_start sft-life "${FLAGS[@]}"
	ip link show sft-life
	is_mounted "$M"
	# a connected socket is released as close would: the kernel peer gets FIN
	port=$(test_port)
	nc -l 198.19.0.1 "$port" </dev/null >"$BATS_TEST_TMPDIR/got" 2>&1 3>&- &
	NC_PID=$!
	wait_until 5 bash -c "ss -Hltn 'sport = :$port' | grep -q ."
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$s" "connect 198.19.0.1:$port"
	echo bye >"$M/$s/data"
	wait_until 10 file_has "$BATS_TEST_TMPDIR/got" bye
	sockfsd_stop
	wait_exit "$NC_PID" 10
	run ip link show sft-life
	[ "$status" -ne 0 ]
	not is_mounted "$M"
}

# blocked_in_read PID: PID sleeps in read(2) waiting for the FUSE daemon's
# answer (x86-64's read is system call 0).
blocked_in_read() {
	local nr
	read -r nr _ </proc/"$1"/syscall 2>/dev/null || return 1
	[[ $nr == 0 && $(</proc/"$1"/wchan) == request_wait_answer ]]
}

@test "reads blocked in data and accept at SIGTERM end with end of file, not EBADF" {
	sockfsd_start sft-life "${FLAGS[@]}"
	port=$(test_port)
	nc -l 198.19.0.1 "$port" </dev/null >/dev/null 2>&1 3>&- &
	NC_PID=$!
	wait_until 5 bash -c "ss -Hltn 'sport = :$port' | grep -q ."
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$s" "connect 198.19.0.1:$port"
	l=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$l" "listen"
	# the kernel peer sends nothing and nobody connects: both reads block
	cat "$M/$s/data" >/dev/null 2>"$BATS_TEST_TMPDIR/data.err" 3>&- &
	data_pid=$!
	cat "$M/$l/accept" >/dev/null 2>"$BATS_TEST_TMPDIR/accept.err" 3>&- &
	accept_pid=$!
	wait_until 10 blocked_in_read "$data_pid"
	wait_until 10 blocked_in_read "$accept_pid"
	sockfsd_stop
	rc=0
	wait "$data_pid" || rc=$?
	cat "$BATS_TEST_TMPDIR/data.err"
	[ "$rc" = 0 ]
	wait "$accept_pid" || rc=$?
	cat "$BATS_TEST_TMPDIR/accept.err"
	[ "$rc" = 0 ]
}

@test "a stale mount left by a killed sockfsd is cleaned up at start" {
	sockfsd_start sft-life "${FLAGS[@]}"
	stale=$M
	kill -KILL "$SOCKFSD_PID"
	wait_until 10 test -s "$SOCKFSD_RC"
	SOCKFSD_PID=
	is_mounted "$stale"
	# a TAP that outlived its process is not the point here
	ip link del sft-life 2>/dev/null || true
	# start again on the very same mount point
	SOCKFSD_MNT=$stale sockfsd_start sft-life "${FLAGS[@]}"
	[ "$M" = "$stale" ]
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	[ -d "$M/$s" ]
	sockfsd_stop
}

@test "a missing mount point is one clear line and a non-zero exit" {
	run timeout 10 "$SOCKFSD" --tap sft-life "${FLAGS[@]}" "$BATS_TEST_TMPDIR/nonexistent"
	failed_startup
	[[ $output == *nonexistent* ]]
	run ip link show sft-life
	[ "$status" -ne 0 ]
}

@test "a TAP another sockfsd holds is one clear line, and the first keeps serving" {
	sockfsd_start sft-life "${FLAGS[@]}"
	mkdir "$BATS_TEST_TMPDIR/mnt2"
	run timeout 10 "$SOCKFSD" --tap sft-life "${FLAGS[@]}" "$BATS_TEST_TMPDIR/mnt2"
	failed_startup
	[[ $output == *"device busy"* ]]
	not is_mounted "$BATS_TEST_TMPDIR/mnt2"
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	[ -d "$M/$s" ]
	sockfsd_stop
}

@test "a --pcap file that cannot be created is one clear line, and no TAP is left" {
	mkdir "$BATS_TEST_TMPDIR/mnt"
	run timeout 10 "$SOCKFSD" --tap sft-life "${FLAGS[@]}" --pcap "$BATS_TEST_TMPDIR/no/such/dir/x.pcap" "$BATS_TEST_TMPDIR/mnt"
	failed_startup
	[[ $output == *"--pcap"* ]]
	not is_mounted "$BATS_TEST_TMPDIR/mnt"
	run ip link show sft-life
	[ "$status" -ne 0 ]
}

@test "a bad flag value is one clear line and a non-zero exit" {
	mkdir "$BATS_TEST_TMPDIR/mnt"
	for bad in "--mtu abc" "--addr 198.19.0.300/24" "--host-addr nonsense" "--gateway 1.2.3"; do
		# shellcheck disable=SC2086
		run timeout 10 "$SOCKFSD" --tap sft-life $bad "$BATS_TEST_TMPDIR/mnt"
		echo "$bad -> status $status: $output"
		failed_startup
		not is_mounted "$BATS_TEST_TMPDIR/mnt"
	done
}

@test "--version and --help answer and exit 0" {
	run timeout 5 "$SOCKFSD" --version
	[ "$status" -eq 0 ]
	[ -n "$output" ]
	run timeout 5 "$SOCKFSD" --help
	[ "$status" -eq 0 ]
	[[ $output == *tap* ]]
}

@test "--cpuprofile writes a CPU profile of the run, closed at the clean shutdown" {
	prof=$BATS_TEST_TMPDIR/cpu.pprof
	sockfsd_start sft-life "${FLAGS[@]}" --cpuprofile "$prof"
	[ -e "$prof" ]
	ping -c 3 -i 0.01 -W 2 198.19.0.2
	sockfsd_stop
	# runtime/pprof writes a gzipped profile.proto at StopCPUProfile
	[ "$(head -c 2 "$prof" | od -An -tx1 | tr -d ' ')" = 1f8b ]
	gzip -t "$prof"
}
