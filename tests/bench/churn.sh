#!/usr/bin/env bash
# tests/bench/churn.sh — does sockfsd give back what connections cost?
#
# CHURN_N (10000) connections from a kernel client (tests/bench/tcp_peers.py
# conn-client), one after another, each accepted through INO/accept and
# closed at once by sockfs, which so closes first and holds each in
# TIME_WAIT, here --time-wait 1s. sockfsd's own memory is read from its
# MOUNTPOINT/meminfo (a garbage collection, then /proc/meminfo-style rows)
# before, right after the last connection, and once every TIME_WAIT has
# expired (net/tcp has no state 06 row left); VmRSS comes from /proc. The
# script fails unless the heap in use after expiry is within 2x of the
# baseline. Everything runs in a network namespace this script creates and
# deletes; every step is bounded by a timeout. Environment: SOCKFSD
# (bin/sockfsd), CHURN_N.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SOCKFSD=${SOCKFSD:-$root/bin/sockfsd}
CHURN_N=${CHURN_N:-10000}
PEERS=$root/tests/bench/tcp_peers.py

[[ -x $SOCKFSD ]] || { echo "churn: $SOCKFSD is missing: make build" >&2; exit 1; }
for tool in ip ss nsenter timeout python3; do
	command -v "$tool" >/dev/null || { echo "churn: $tool is missing (make deps)" >&2; exit 1; }
done

ns=sfc-$$
tap=sfc$$
tap=${tap:0:15}
work=$(mktemp -d /tmp/sockfs-churn.XXXXXX)
mnt=$work/mnt
daemon_pid=
bg_pids=()

wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}
gone() { ! kill -0 "$1" 2>/dev/null; }

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [[ -n $daemon_pid ]]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait_until 10 gone "$daemon_pid" || kill -KILL "$daemon_pid" 2>/dev/null || true
	fi
	if awk -v d="$mnt" '$2 == d { f = 1 } END { exit !f }' /proc/mounts; then
		fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns"
ip -n "$ns" link set lo up
mkdir "$mnt"
nsenter --net="/run/netns/$ns" "$SOCKFSD" --tap "$tap" --time-wait 1s "$mnt" \
	</dev/null 2>"$work/sockfsd.log" &
daemon_pid=$!
if ! wait_until 10 grep -q "sockfsd: serving" "$work/sockfsd.log"; then
	echo "churn: sockfsd did not start; its log:" >&2
	cat "$work/sockfsd.log" >&2
	exit 1
fi

# heap: HeapInuse (kB) and HeapObjects from one read of meminfo; rss:
# VmRSS (kB).
heap() { awk '$1 == "HeapInuse:" { h = $2 } $1 == "HeapObjects:" { o = $2 } END { print h, o }' "$mnt/meminfo"; }
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$daemon_pid/status"; }
no_time_wait() { ! awk 'NR > 1 && $4 == "06" { f = 1 } END { exit !f }' "$mnt/net/tcp"; }

exec {fd}<>"$mnt/socket"
echo "AF_INET SOCK_STREAM 6" >&"$fd"
read -r -t 10 ls <&"$fd"
exec {fd}>&-
port=7000
timeout 20 bash -c 'echo "bind 0.0.0.0:$1" > "$2" && echo "listen" > "$2"' _ "$port" "$mnt/$ls/ctl"

read -r heap0 obj0 < <(heap)
rss0=$(rss)
t0=$(date +%s%N)
timeout 600 python3 "$PEERS" conn-sockfs "$mnt" "$ls" "$CHURN_N" &
bg_pids+=($!)
rate=$(timeout 600 ip netns exec "$ns" python3 "$PEERS" conn-client 198.18.0.2 "$port" "$CHURN_N")
wait "${bg_pids[-1]}"
t1=$(date +%s%N)
read -r heap1 obj1 < <(heap)
rss1=$(rss)
tw=$(awk 'NR > 1 && $4 == "06"' "$mnt/net/tcp" | wc -l)
if ! wait_until 60 no_time_wait; then
	echo "churn: TIME_WAIT entries still there 60 s after the last connection" >&2
	exit 1
fi
read -r heap2 obj2 < <(heap)
rss2=$(rss)

printf '%s\n' "churn: $CHURN_N connections accepted and closed by sockfs in $(((t1 - t0) / 1000000)) ms ($rate/s), --time-wait 1s"
printf '  %-36s %10s %12s %10s\n' "" "heap kB" "heap objects" "RSS kB"
printf '  %-36s %10s %12s %10s\n' "before" "$heap0" "$obj0" "$rss0"
printf '  %-36s %10s %12s %10s\n' "after the last close ($tw TIME_WAIT)" "$heap1" "$obj1" "$rss1"
printf '  %-36s %10s %12s %10s\n' "after TIME_WAIT expiry" "$heap2" "$obj2" "$rss2"
if ((heap2 > 2 * heap0)); then
	echo "churn: FAIL: heap in use $heap2 kB after expiry, more than twice the $heap0 kB baseline" >&2
	exit 1
fi
echo "churn: ok: heap in use returned to $(awk -v a="$heap2" -v b="$heap0" 'BEGIN { printf "%.2f", a / b }')x the baseline"
