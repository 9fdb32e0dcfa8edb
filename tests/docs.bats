#!/usr/bin/env bats
# The README's and the tour's snippets, run in order as a reader pasting them
# would, each against a fresh sockfsd: tests/snippets.sh takes them from the
# markdown itself (the <!-- run --> markers say which and how) and checks
# what they print, so the docs cannot drift from the code.
#
# The docs speak of /mnt/sock and the namespace `sockfs` that `make run`
# makes; here the mount is a fresh directory and the namespace a name of our
# own given to this private network namespace, so a live `make run` is never
# touched.

load helpers

setup() {
	# Each doc needs a fresh stack: its inode numbers and ports start anew.
	sockfsd_start sft-docs
	NS=sockfs-docs-$$
	ip netns attach "$NS" $$
}

teardown() {
	sockfsd_stop
	ip netns del "$NS" 2>/dev/null || true
	common_teardown
}

# run_doc FILE: run FILE's snippets from the repository root (as the docs
# assume), bounded in time; every process they start is in timeout's process
# group or a job the runner kills on exit.
run_doc() {
	cd "$ROOT"
	run env M="$M" NS="$NS" timeout -k 5 80 tests/snippets.sh "$1" 3>&-
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *": ok (run)"* ]]
}

@test "README.md: every snippet works when pasted in order" {
	run_doc README.md
}

@test "docs/tour.md: every snippet works when pasted in order" {
	run_doc docs/tour.md
}

@test "snippets.sh refuses a code block without a marker" {
	printf '# doc\n\n    echo unmarked\n' >"$BATS_TEST_TMPDIR/bad.md"
	run env M="$M" NS="$NS" tests/snippets.sh "$BATS_TEST_TMPDIR/bad.md"
	[ "$status" -ne 0 ]
	[[ $output == *"bad.md:3: code block without a <!-- run / skip --> marker"* ]]
}

@test "snippets.sh fails a snippet that prints an error, and a failed check" {
	printf '<!-- run -->\n\n    echo close > /mnt/sock/999/ctl\n' >"$BATS_TEST_TMPDIR/err.md"
	run env M="$M" NS="$NS" tests/snippets.sh "$BATS_TEST_TMPDIR/err.md"
	[ "$status" -ne 0 ]
	[[ $output == *"err.md:3: block printed an error"* ]]
	printf '<!-- run -->\n\n    echo one\n\n<!-- check: test one = two -->\n' >"$BATS_TEST_TMPDIR/chk.md"
	run env M="$M" NS="$NS" tests/snippets.sh "$BATS_TEST_TMPDIR/chk.md"
	[ "$status" -ne 0 ]
	[[ $output == *"chk.md:5: check failed: test one = two"* ]]
}

@test "snippets.sh fails a snippet that never ends, naming it" {
	printf '<!-- run -->\n\n    echo start\n    sleep 100\n' >"$BATS_TEST_TMPDIR/hang.md"
	run env M="$M" NS="$NS" SNIPPET_TIMEOUT=2 timeout 60 tests/snippets.sh "$BATS_TEST_TMPDIR/hang.md"
	[ "$status" -ne 0 ]
	[[ $output == *"hang.md:3: block still running after 2 s"* ]]
}

@test "README.md names the Go version go.mod requires" {
	want=$(awk '$1 == "go" { print $2 }' "$ROOT/go.mod")
	[ -n "$want" ]
	grep -q "Go $want or newer (the \`go\` line of \`go.mod\`)" "$ROOT/README.md"
}

@test "snippets.sh runs fenced blocks too, and refuses an unmarked one" {
	printf '<!-- run -->\n\n```sh\necho fenced > %s/f\n```\n\n```\necho unmarked\n```\n' "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/fence.md"
	run env M="$M" NS="$NS" tests/snippets.sh "$BATS_TEST_TMPDIR/fence.md"
	[ "$status" -ne 0 ]
	[[ $output == *"fence.md:7: code block without a <!-- run / skip --> marker"* ]]
	head -5 "$BATS_TEST_TMPDIR/fence.md" >"$BATS_TEST_TMPDIR/fence2.md"
	run env M="$M" NS="$NS" tests/snippets.sh "$BATS_TEST_TMPDIR/fence2.md"
	[ "$status" -eq 0 ]
	[[ $(<"$BATS_TEST_TMPDIR/f") == fenced ]]
}
