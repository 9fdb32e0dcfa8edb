#!/usr/bin/env bats
# 20 MiB each way between the data file and the kernel's TCP, checked with
# sha256: segmentation, windows, ACK clocking and FIN on a real transfer.

load helpers

setup_file() {
	sockfsd_start sft-bulk
	head -c $((20 << 20)) /dev/urandom >"$BATS_FILE_TMPDIR/payload"
}
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

@test "20 MiB from sockfs to the kernel arrive intact" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/got"
	s=$(tcp_client "$port")
	timeout 60 dd if="$BATS_FILE_TMPDIR/payload" of="$M/$s/data" bs=128k status=none
	ctl "$s" close
	wait_exit "$NC_PID" 30
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
}

@test "20 MiB from the kernel to sockfs arrive intact, cat ending at FIN" {
	port=$(test_port)
	kernel_listen "$port" "$BATS_TEST_TMPDIR/nc.out" "$BATS_FILE_TMPDIR/payload"
	s=$(tcp_client "$port")
	timeout 60 cat "$M/$s/data" >"$BATS_TEST_TMPDIR/got"
	ctl "$s" close
	wait_exit "$NC_PID" 10
	same_file "$BATS_FILE_TMPDIR/payload" "$BATS_TEST_TMPDIR/got"
}
