#!/usr/bin/env bats
# Permissions (docs/sockfsd.md "Permissions", "INO/ctl"): with --allow-other a mount is
# shared between users, and each user's sockets stay its own: directories
# 0700 and files 0600 owned by the creator, EACCES for anyone else; ports
# below 1024 need uid 0; a per-user socket limit gives EMFILE.

load helpers

# Two unprivileged users: nobody, and a uid with no passwd entry.
U1=65534
U2=4242

setup_file() {
	# Other users must be able to reach the mount point itself, so it is
	# not under bats' private (0700) temporary directory.
	PERMS_MNT=$(mktemp -d /tmp/sockfs-perms.XXXXXX)
	chmod 755 "$PERMS_MNT"
	export PERMS_MNT
	SOCKFSD_MNT=$PERMS_MNT sockfsd_start sft-perms --allow-other
}
teardown_file() {
	sockfsd_stop
	rmdir "$PERMS_MNT"
}
teardown() { common_teardown; }

# as UID CMD...: run CMD as UID (gid the same, no supplementary groups).
as() {
	local uid=$1; shift
	setpriv --reuid "$uid" --regid "$uid" --clear-groups -- "$@"
}

# user_socket UID TRIPLE: a socket created by UID; prints its INO.
user_socket() {
	local uid=$1; shift
	as "$uid" bash -c 'exec 4<>"$1/socket" && echo "$2" >&4 && read -r -t 10 s <&4 && echo "$s"' _ "$M" "$*"
}

@test "a socket belongs to its creator: 0700 directory, 0600 files, creator's uid and gid" {
	s=$(user_socket $U1 AF_INET SOCK_STREAM 6)
	[ "$(stat -c '%u %g %a' "$M/$s")" = "$U1 $U1 700" ]
	for f in data ctl accept msg local remote status; do
		[ "$(stat -c '%u %g %a' "$M/$s/$f")" = "$U1 $U1 600" ] || { stat "$M/$s/$f" >&2; false; }
	done
	# its owner uses it
	run as $U1 cat "$M/$s/local"
	[ "$status" -eq 0 ]
	[ "$output" = "0.0.0.0:0" ]
	run as $U1 bash -c "echo 'bind 0.0.0.0:$(test_port)' > '$M/$s/ctl'"
	[ "$status" -eq 0 ]
	as $U1 bash -c "echo close > '$M/$s/ctl'"
	wait_until 5 test ! -e "$M/$s"
}

@test "another user's socket gives EACCES for every file, rmdir and close" {
	s=$(user_socket $U1 AF_INET SOCK_STREAM 6)
	run as $U2 ls "$M/$s"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
	for f in data ctl status local remote accept msg; do
		run as $U2 cat "$M/$s/$f"
		[ "$status" -ne 0 ]
		[[ $output == *"Permission denied"* ]] || { echo "$f: $output" >&2; false; }
	done
	run as $U2 bash -c "echo close > '$M/$s/ctl'"
	[[ $output == *"Permission denied"* ]]
	run as $U2 rmdir "$M/$s"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
	# the socket is untouched, and root (the daemon's user) may look in
	[ -d "$M/$s" ]
	[ "$(status_field "$s" sk_state)" = CLOSE ]
	# and the owner still closes it
	as $U1 rmdir "$M/$s"
	wait_until 5 test ! -e "$M/$s"
}

@test "root's sockets are closed to other users too" {
	s=$(mk_socket AF_INET SOCK_DGRAM 0)
	run as $U1 cat "$M/$s/status"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
	ctl "$s" close
}

@test "binding a port below 1024 as non-root gives EACCES; 1024 and up, and root, may" {
	s=$(user_socket $U1 AF_INET SOCK_STREAM 6)
	run as $U1 bash -c "echo 'bind 0.0.0.0:80' > '$M/$s/ctl'"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
	[ "$(cat "$M/$s/local")" = "0.0.0.0:0" ]
	run as $U1 bash -c "echo 'bind $STACK_ADDR:1024' > '$M/$s/ctl'"
	[ "$status" -eq 0 ]
	as $U1 bash -c "echo close > '$M/$s/ctl'"

	u=$(user_socket $U1 AF_INET SOCK_DGRAM 0)
	run as $U1 bash -c "echo 'bind 0.0.0.0:53' > '$M/$u/ctl'"
	[[ $output == *"Permission denied"* ]]
	as $U1 bash -c "echo close > '$M/$u/ctl'"

	r=$(mk_socket AF_INET SOCK_STREAM 6)
	ctl "$r" "bind 0.0.0.0:80"
	[ "$(cat "$M/$r/local")" = "0.0.0.0:80" ]
	ctl "$r" close
}

@test "the trace file is the daemon owner's: another user gets EACCES" {
	run as $U1 cat "$M/trace"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
}

@test "meminfo is the daemon owner's: root reads /proc/meminfo-style rows, another user gets EACCES" {
	grep -E '^HeapInuse: +[0-9]+ kB$' "$M/meminfo"
	grep -E '^Goroutines: +[0-9]+$' "$M/meminfo"
	run as $U1 cat "$M/meminfo"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
}

@test "the per-user socket limit gives EMFILE, and only to that user" {
	# The default limit is RLIMIT_NOFILE's usual 1024 per uid. One open
	# of the control file makes them all, bounded at 1100 tries.
	run as $U2 bash -c '
		exec 4<>"$1/socket" || exit 1
		for ((i = 0; i < 1100; i++)); do
			echo "AF_INET SOCK_DGRAM 0" >&4 || break
		done
		echo "made $i"' _ "$M"
	[[ $output == *"Too many open files"* ]]
	[[ $output == *"made 1024"* ]]
	# another user is not affected
	s=$(user_socket $U1 AF_INET SOCK_DGRAM 0)
	[ -d "$M/$s" ]
	as $U1 rmdir "$M/$s"
	# closing one lets the user make one again
	victim=$(find "$M" -mindepth 1 -maxdepth 1 -type d -uid $U2 -print -quit)
	as $U2 rmdir "$victim"
	wait_until 5 test ! -e "$victim"
	s=$(user_socket $U2 AF_INET SOCK_DGRAM 0)
	[ -d "$M/$s" ]
	# clean up: every socket of U2's, by its owner
	as $U2 bash -c 'for d in "$1"/[0-9]*; do [ -O "$d" ] && rmdir "$d"; done; true' _ "$M"
	[ -z "$(find "$M" -mindepth 1 -maxdepth 1 -type d -uid $U2 -print -quit)" ]
}

@test "without --allow-other, other users cannot reach the mount at all" {
	mnt=$(mktemp -d /tmp/sockfs-perms2.XXXXXX)
	chmod 755 "$mnt"
	log=$BATS_TEST_TMPDIR/sockfsd2.log
	"$SOCKFSD" --tap sft-perms2 --addr 198.18.1.2/24 --host-addr 198.18.1.1/24 "$mnt" 2>"$log" 3>&- &
	pid=$!
	wait_until 10 grep -q "serving $mnt" "$log" || { cat "$log" >&2; kill "$pid"; false; }
	run as $U1 ls "$mnt"
	kill -TERM "$pid"
	wait_exit "$pid" 10
	rmdir "$mnt"
	[ "$status" -ne 0 ]
	[[ $output == *"Permission denied"* ]]
}

@test "a 1 MiB garbage write to socket logs one short line; a user's flood is rate-limited without silencing another user" {
	before=$(wc -l <"$SOCKFSD_LOG")
	# 40 writes of 1 MiB of garbage as one user, each one write(2)
	# (dd's fullblock gathers the MiB first), each EINVAL
	run as $U2 bash -c '
		fails=0
		for ((i = 0; i < 40; i++)); do
			head -c 1048576 /dev/zero | tr "\0" "\377" |
				dd of="$1/socket" bs=1M count=1 iflag=fullblock status=none 2>&1 |
				grep -q "Invalid argument" && ((++fails))
		done
		echo "$fails"' _ "$M"
	echo "$output"
	[ "$output" = 40 ]
	# another user's bad request is still logged
	run as $U1 bash -c 'echo "U1MARK SOCK_STREAM" > "$1/socket"' _ "$M"
	[[ $output == *"Invalid argument"* ]]
	wait_until 5 grep -q U1MARK "$SOCKFSD_LOG"
	new=$(tail -n +$((before + 1)) "$SOCKFSD_LOG")
	echo "$new" | cut -c1-200
	# every line is short: the request is quoted by a prefix and its size
	longest=$(echo "$new" | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
	[ "$longest" -le 300 ]
	[[ $new == *'"\xff\xff'*'"... ('*' bytes)'* ]]
	# the flood costs a burst (net_ratelimit's 10 per 5 s), not 40 lines
	flood=$(echo "$new" | grep -c '\\xff')
	[ "$flood" -ge 10 ]
	[ "$flood" -le 21 ]
}

@test "log shows each user the reasons for their own failed requests, and root everyone's" {
	[ "$(stat -c '%a' "$M/log")" = 444 ]
	u3=4243 u4=4244
	s=$(user_socket $u3 AF_INET SOCK_STREAM 6)
	run as $u3 bash -c 'echo "connect localhost:80" > "$1/$2/ctl"' _ "$M" "$s"
	[[ $output == *"Invalid argument"* ]]
	run as $u4 bash -c 'echo "U4MARK SOCK_STREAM" > "$1/socket"' _ "$M"
	[[ $output == *"Invalid argument"* ]]
	why='ctl: bad request "connect localhost:80": "localhost": a host name, not an IPv4 address: resolve it first (getent ahostsv4 localhost)'
	run as $u3 cat "$M/log"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ $output == *"$why"* ]]
	[[ $output != *U4MARK* ]]
	[[ $output != *serving* ]] # the daemon's own lines are root's
	# dmesg's layout: seconds since the start, then the line
	[[ $output =~ ^\[\ *[0-9]+\.[0-9]{6}\]\ ctl:\ bad\ request ]]
	run as $u4 cat "$M/log"
	[[ $output == *U4MARK* ]]
	[[ $output != *localhost* ]]
	run cat "$M/log"
	[[ $output == *"$why"* ]]
	[[ $output == *U4MARK* ]]
	[[ $output == *"serving $M"* ]]
	as $u3 rmdir "$M/$s"
	# read-only for everyone, root too
	run bash -c "echo x > '$M/log'"
	[ "$status" -ne 0 ]
}

@test "log is bounded: many users' bursts keep the newest 32 KiB" {
	# 40 users, 12 bad requests each: net_ratelimit lets 10 of each
	# through, about 70 KiB of lines in all
	for ((u = 5000; u < 5040; u++)); do
		as $u bash -c 'for ((i = 0; i < 12; i++)); do
			echo "FILL$2-$i $(printf "%0200d" 0) SOCK_STREAM" >"$1/socket"
		done 2>/dev/null; true' _ "$M" "$u"
	done
	[ "$(wc -c <"$M/log")" -le 32768 ]
	run cat "$M/log"
	[[ $output == *"FILL5039-9 "* ]]
	[[ $output != *"FILL5000-"* ]]
	# and one user sees only their own share
	run as 5039 cat "$M/log"
	[ "$(grep -c FILL <<<"$output")" -eq 10 ]
	[ "$(grep -c FILL5039 <<<"$output")" -eq 10 ]
}
