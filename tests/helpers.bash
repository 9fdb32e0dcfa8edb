# helpers.bash — shared setup for the sockfs end-to-end suite.
#
# Each .bats file loads this, names its own TAP device (so files can never
# collide) and calls sockfsd_start in setup_file and sockfsd_stop in
# teardown_file. The helpers only run inside a private network namespace
# (tests/run makes one); they build nothing: `make test` builds bin/sockfsd
# first.
#
# Every wait is a poll with a deadline; nothing sleeps in place of a
# condition that can be checked.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOCKFSD=${SOCKFSD:-$ROOT/bin/sockfsd}

# Addresses the daemon uses by default (docs/sockfsd.md: RFC 2544 test range).
STACK_ADDR=198.18.0.2
HOST_ADDR=198.18.0.1
# The kernel's address the peer helpers (tcp_client, listening,
# kernel_listen) use: HOST_ADDR unless a file sets it, e.g. to the
# kernel's IPv6 address 2001:2::1 for the same tests over IPv6.
KERNEL_ADDR=${KERNEL_ADDR:-$HOST_ADDR}

# addr_port ADDR PORT prints ADDR:PORT, the address in brackets if IPv6.
addr_port() {
	if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi
}
# IPv6 addresses (2001:2::/48, RFC 5180).
STACK6=2001:2::2
HOST6=2001:2::1

# ---- guards -----------------------------------------------------------------

# require_private_netns fails unless this process is in the network namespace
# tests/run made for the suite: the suite configures links and sends packets,
# which must never reach the machine's real network.
require_private_netns() {
	local here
	here=$(readlink /proc/self/ns/net)
	if [[ -z $here || -z ${SOCKFS_TEST_NETNS:-} || $here != "$SOCKFS_TEST_NETNS" ||
		$here == "${SOCKFS_TEST_PARENT_NETNS:-}" ]]; then
		echo "refusing to run: not inside the private network namespace tests/run makes (run tests/run, or make test)" >&2
		return 1
	fi
	[[ -x $SOCKFSD ]] || { echo "$SOCKFSD is missing: run make build" >&2; return 1; }
}

# ---- polling ----------------------------------------------------------------

# wait_until SECS CMD... runs CMD every 20 ms until it succeeds or SECS
# seconds have passed (then it returns 1).
wait_until() {
	local secs=$1; shift
	local deadline=$((SECONDS + secs))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.02
	done
}

# not CMD...: CMD fails. (In bats, `! CMD` never fails a test: set -e
# ignores a negated command, so assertions of failure use this.)
not() {
	if "$@"; then
		return 1
	fi
}

# pid_gone PID: true once PID has exited.
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# wait_exit PID SECS: bounded wait for a process to end.
wait_exit() { wait_until "${2:-10}" pid_gone "$1"; }

# ---- the daemon -------------------------------------------------------------

# sockfsd_start TAP [FLAGS...] mounts a fresh sockfs with TAP device TAP and
# waits (at most 10 s) for its "serving" line. With SOCKFSD_MNT set it mounts
# there instead of on a fresh directory. It sets:
#   M            the mount point
#   TAP          the TAP name
#   SOCKFSD_PID  the daemon's pid
#   SOCKFSD_LOG  its stderr
#   SOCKFSD_RC   the file its exit status is written to when it ends
# The daemon runs under a small subshell that records its exit status, so
# any later shell (a test or teardown_file) can check how it ended.
sockfsd_start() {
	require_private_netns || return 1
	TAP=$1; shift
	local dir
	dir=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/sockfs.XXXXXX")
	M=${SOCKFSD_MNT:-$dir/mnt}
	# A given mount point may be a dead FUSE mount (the stale-mount test):
	# creating it is the daemon's business then, not ours.
	[[ -n ${SOCKFSD_MNT:-} ]] || mkdir -p "$M"
	SOCKFSD_LOG=$dir/sockfsd.log
	SOCKFSD_RC=$dir/sockfsd.rc
	local pidfile=$dir/sockfsd.pid
	# fd 3 is bats' own output channel: a background child that keeps it
	# open would make bats wait for it.
	(
		"$SOCKFSD" --tap "$TAP" "$@" "$M" </dev/null >>"$SOCKFSD_LOG" 2>&1 &
		echo $! >"$pidfile"
		rc=0
		wait $! || rc=$?
		echo "$rc" >"$SOCKFSD_RC"
	) 3>&- &
	wait_until 5 test -s "$pidfile" || { echo "sockfsd did not start" >&2; return 1; }
	SOCKFSD_PID=$(<"$pidfile")
	local deadline=$((SECONDS + 10))
	until grep -q "sockfsd: serving $M on $TAP" "$SOCKFSD_LOG"; do
		if [[ -s $SOCKFSD_RC ]]; then
			echo "sockfsd exited with status $(<"$SOCKFSD_RC") before serving; log:" >&2
			cat "$SOCKFSD_LOG" >&2
			SOCKFSD_PID=
			return 1
		fi
		if ((SECONDS >= deadline)); then
			echo "sockfsd did not print its serving line within 10 s; log:" >&2
			cat "$SOCKFSD_LOG" >&2
			sockfsd_kill
			return 1
		fi
		sleep 0.02
	done
	export M TAP SOCKFSD_PID SOCKFSD_LOG SOCKFSD_RC
}

# sockfsd_stop sends SIGTERM and asserts the clean shutdown docs/sockfsd.md promises:
# exit status 0 within 10 s, mount gone, TAP gone. On failure it cleans up by
# force (SIGKILL, lazy unmount, link delete) and returns 1 with the reason.
sockfsd_stop() {
	[[ -n ${SOCKFSD_PID:-} ]] || return 0
	local bad=0
	kill -TERM "$SOCKFSD_PID" 2>/dev/null || true
	if ! wait_until 10 test -s "$SOCKFSD_RC"; then
		echo "sockfsd did not exit within 10 s of SIGTERM" >&2
		bad=1
	elif [[ $(<"$SOCKFSD_RC") != 0 ]]; then
		echo "sockfsd exited with status $(<"$SOCKFSD_RC") after SIGTERM" >&2
		bad=1
	fi
	if is_mounted "$M"; then
		echo "$M is still mounted after sockfsd exited" >&2
		bad=1
	fi
	if ip link show "$TAP" >/dev/null 2>&1; then
		echo "TAP $TAP still exists after sockfsd exited" >&2
		bad=1
	fi
	if ((bad != 0)); then
		echo "sockfsd log:" >&2
		cat "$SOCKFSD_LOG" >&2
		sockfsd_kill
	fi
	SOCKFSD_PID=
	return "$bad"
}

# sockfsd_kill removes whatever a failed daemon left behind.
sockfsd_kill() {
	kill -KILL "$SOCKFSD_PID" 2>/dev/null || true
	wait_until 5 test -s "$SOCKFSD_RC" || true
	if is_mounted "$M"; then
		fusermount3 -uz "$M" 2>/dev/null || umount -l "$M" 2>/dev/null || true
	fi
	ip link del "$TAP" 2>/dev/null || true
	SOCKFSD_PID=
}

# is_mounted DIR: DIR is a mount point in /proc/mounts (which does not touch
# the filesystem, so it cannot hang on or be refused by a dead FUSE server;
# realpath -m does not stat either).
is_mounted() {
	local dir
	dir=$(realpath -sm "$1")
	awk -v d="$dir" '$2 == d { found = 1 } END { exit !found }' /proc/mounts
}

# ---- sockets ----------------------------------------------------------------

# mk_socket FAMILY TYPE PROTOCOL creates a socket through the control file as
# docs/sockfsd.md shows (write the triple, read the INO back on the same open) and prints
# its INO.
mk_socket() {
	local fd s
	exec {fd}<>"$M/socket" || return 1
	if ! echo "$*" >&"$fd"; then
		exec {fd}>&-
		return 1
	fi
	if ! read -r -t 10 s <&"$fd"; then
		exec {fd}>&-
		echo "no INO read back from $M/socket" >&2
		return 1
	fi
	exec {fd}>&-
	echo "$s"
}

# ctl INO COMMAND... writes one command to INO/ctl in a child bash bounded by
# a timeout (a blocking connect must not hang the suite). Its stderr is the
# shell's own message, e.g. "echo: write error: Connection refused".
ctl() {
	local s=$1; shift
	timeout 20 bash -c 'echo "$1" > "$2"' ctl "$*" "$M/$s/ctl"
}

# tcp_client PORT: a new TCP socket connected to the kernel's side of the
# TAP (KERNEL_ADDR; an AF_INET6 socket when that is IPv6).
tcp_client() {
	local s family=AF_INET
	[[ $KERNEL_ADDR == *:* ]] && family=AF_INET6
	s=$(mk_socket "$family" SOCK_STREAM 6) || return 1
	ctl "$s" "connect $(addr_port "$KERNEL_ADDR" "$1")" || return 1
	echo "$s"
}

# status_field INO KEY prints the value of "KEY: value" in INO/status.
status_field() {
	awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print; exit }' "$M/$1/status"
}

# field_is INO KEY VALUE: INO/status shows KEY: VALUE. For wait_until, which
# runs its command afresh each try (a "$(...)" argument would be expanded
# once, before the first).
field_is() { [[ $(status_field "$1" "$2") == "$3" ]]; }

# ---- kernel peers -----------------------------------------------------------

# test_port [N] prints a port for this test: distinct per test across the
# suite (and N apart within one test), so a connection that lingers in
# TIME_WAIT never meets a later test's listener.
test_port() {
	echo $(( (${BATS_SUITE_TEST_NUMBER:-0} % 1000) * 20 + 20000 + ${1:-0} ))
}

# listening PORT [ADDR]: the kernel has a TCP listener on ADDR:PORT
# (default KERNEL_ADDR; an IPv6 ADDR without brackets).
listening() {
	ss -Hltn "src $(addr_port "${2:-$KERNEL_ADDR}" "$1")" 2>/dev/null | grep -q .
}

# kernel_listen PORT OUT [IN] starts a kernel `nc -l` (`nc -6 -l` for an
# IPv6 KERNEL_ADDR) on KERNEL_ADDR:PORT that writes what it receives to
# OUT; with IN it sends IN's bytes and then shuts down its write side (FIN).
# It waits (at most 5 s) until the listener is up and sets NC_PID. Run it
# directly, not in $(...), so NC_PID reaches the test.
kernel_listen() {
	local port=$1 out=$2 in=${3:-/dev/null} nflag=()
	[[ $in != /dev/null ]] && nflag=(-N)
	[[ $KERNEL_ADDR == *:* ]] && nflag+=(-6)
	nc "${nflag[@]}" -l "$KERNEL_ADDR" "$port" <"$in" >"$out" 3>&- &
	NC_PID=$!
	if ! wait_until 5 listening "$port"; then
		echo "kernel nc did not listen on $(addr_port "$KERNEL_ADDR" "$port")" >&2
		return 1
	fi
}

# addr6_ready: the stack's IPv6 address (STACK6) has left DAD: net/if_inet6
# shows it with flags 80 (permanent), no longer tentative.
addr6_ready() {
	grep -q "^20010002000000000000000000000002 [0-9a-f]* 40 00 80 " "$M/net/if_inet6"
}

# payloads N: files up and down of N MiB of random bytes in
# BATS_FILE_TMPDIR, for both_ways.
payloads() {
	head -c $(($1 << 20)) /dev/urandom >"$BATS_FILE_TMPDIR/up"
	head -c $(($1 << 20)) /dev/urandom >"$BATS_FILE_TMPDIR/down"
}

# both_ways S UP GOT: UP's bytes into S/data and S/data into GOT at once;
# our FIN (shutdown wr) goes only once the peer's whole stream has arrived
# (cat ends at its FIN), because nc exits as soon as its network input ends
# and would cut its own sending short. Sets and clears CAT_PID (for
# common_teardown to kill).
both_ways() {
	local s=$1 up=$2 got=$3
	timeout 60 cat "$M/$s/data" >"$got" 3>&- &
	CAT_PID=$!
	timeout 60 dd if="$up" of="$M/$s/data" bs=128k status=none
	wait_exit "$CAT_PID" 60
	CAT_PID=
	ctl "$s" "shutdown wr"
}

# kernel_snmp_tcp NAME: a field of the Tcp: rows of this namespace's
# /proc/net/snmp (the kernel's side of the TAP lives here; IPv4 and IPv6
# share them).
kernel_snmp_tcp() {
	awk -v n="$1" '$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "Tcp:" && h { print $(col[n]); exit }' /proc/net/snmp
}

# file_has FILE STRING: FILE contains STRING (for polling a peer's output).
file_has() { grep -qF -- "$2" "$1" 2>/dev/null; }

# same_file A B: equal sha256, with both sums shown on failure.
same_file() {
	local a b
	a=$(sha256sum <"$1" | cut -d' ' -f1)
	b=$(sha256sum <"$2" | cut -d' ' -f1)
	if [[ $a != "$b" ]]; then
		echo "sha256 differ: $1=$a ($(stat -c %s "$1") bytes) $2=$b ($(stat -c %s "$2") bytes)" >&2
		return 1
	fi
}

# ---- per-test cleanup -------------------------------------------------------

# bg CMD...: run CMD in the background (without bats' fd 3), for bg_kill to
# end in teardown.
bg() {
	"$@" 3>&- &
	BG_PIDS="${BG_PIDS:-} $!"
}

# bg_kill ends what bg and the test put in BG_PIDS: SIGTERM, then SIGKILL
# after 5 s.
bg_kill() {
	local p
	for p in ${BG_PIDS:-}; do
		kill "$p" 2>/dev/null || true
		wait_exit "$p" 5 || kill -KILL "$p" 2>/dev/null || true
	done
	BG_PIDS=
}

# common_teardown stops a test's kernel peer and its background reader
# (both_ways' CAT_PID) and, when the test failed, shows the end of the
# daemon's log next to bats' report.
common_teardown() {
	if [[ -n ${CAT_PID:-} ]]; then
		kill "$CAT_PID" 2>/dev/null || true
		wait_exit "$CAT_PID" 5 || true
		CAT_PID=
	fi
	if [[ -n ${NC_PID:-} ]]; then
		kill "$NC_PID" 2>/dev/null || true
		wait_exit "$NC_PID" 5 || kill -KILL "$NC_PID" 2>/dev/null || true
		NC_PID=
	fi
	if [[ -z ${BATS_TEST_COMPLETED:-} && -n ${SOCKFSD_LOG:-} && -f $SOCKFSD_LOG ]]; then
		echo "# last lines of sockfsd's log:" >&3
		tail -n 20 "$SOCKFSD_LOG" | sed 's/^/#   /' >&3
	fi
}
