#!/usr/bin/env bash
# tests/bench/e2e.sh — sockfs end to end against the kernel's own TCP, each
# figure next to the kernel-to-kernel figure over a veth pair measured in the
# same run on the same machine, and printed as a ratio to it.
#
#   bulk       SIZE_MIB (20) through INO/data each way, a kernel nc on the
#              other end of the TAP, sha256 verified, timed with date +%s%N;
#              kernel to kernel: iperf3 for VETH_SECS (3) s when installed,
#              and the same nc piping VETH_MIB (1024) MiB of /dev/zero.
#   req/resp   RR_N (10000) 1-byte ping-pongs on one connection: a kernel
#              client (python3, TCP_NODELAY) against an echo server reading
#              and writing INO/data; kernel to kernel: the same client
#              against the same echo server on a kernel socket.
#   connect    CONN_N (500) connections one after another from a kernel
#              client, each accepted through INO/accept and closed through
#              its ctl (the client waits for that FIN); kernel to kernel: the
#              same client against a kernel accept-and-close loop.
#
# The request/response and connection peers are tests/bench/tcp_peers.py, one
# program for both sides of each comparison. Each figure is the median of
# REPEAT (3) runs. Everything runs in network namespaces this script creates
# and deletes on exit; every step is bounded by a timeout. Environment:
# SOCKFSD (bin/sockfsd), SIZE_MIB, VETH_MIB, VETH_SECS, RR_N, CONN_N, REPEAT,
# MTU (1500).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SOCKFSD=${SOCKFSD:-$root/bin/sockfsd}
SIZE_MIB=${SIZE_MIB:-20}
VETH_MIB=${VETH_MIB:-1024}
VETH_SECS=${VETH_SECS:-3}
RR_N=${RR_N:-10000}
CONN_N=${CONN_N:-500}
REPEAT=${REPEAT:-3}
MTU=${MTU:-1500}
PEERS=$root/tests/bench/tcp_peers.py

[[ -x $SOCKFSD ]] || { echo "bench: $SOCKFSD is missing: make build" >&2; exit 1; }
for tool in ip nc ss sha256sum nsenter timeout python3; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make deps)" >&2; exit 1; }
done

# Namespace names carry the pid so two runs cannot meet.
ns_tap=sfb-tap-$$
ns_a=sfb-a-$$
ns_b=sfb-b-$$
tap=sfb$$
tap=${tap:0:15}
work=$(mktemp -d /tmp/sockfs-bench.XXXXXX)
mnt=$work/mnt
daemon_pid=
bg_pids=()

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [[ -n $daemon_pid ]]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait_gone "$daemon_pid" 10 || kill -KILL "$daemon_pid" 2>/dev/null || true
	fi
	if awk -v d="$mnt" '$2 == d { f = 1 } END { exit !f }' /proc/mounts; then
		fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
	for n in "$ns_tap" "$ns_a" "$ns_b"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_until SECS CMD...: poll CMD every 10 ms up to SECS seconds.
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.01
	done
}
wait_gone() { wait_until "$2" eval "! kill -0 $1 2>/dev/null"; }
listening_in() { ip netns exec "$1" ss -Hltn "src $2:$3" | grep -q .; }
now_ns() { date +%s%N; }

# median of the numbers on stdin (one per line).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1; printf "%.0f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---- kernel to kernel over veth ----------------------------------------------

ip netns add "$ns_a"
ip netns add "$ns_b"
ip -n "$ns_a" link set lo up
ip -n "$ns_b" link set lo up
ip link add veth-a netns "$ns_a" type veth peer name veth-b netns "$ns_b"
ip -n "$ns_a" addr add 198.18.1.1/24 dev veth-a
ip -n "$ns_b" addr add 198.18.1.2/24 dev veth-b
ip -n "$ns_a" link set veth-a mtu "$MTU" up
ip -n "$ns_b" link set veth-b mtu "$MTU" up

# veth_nc: VETH_MIB of zeros through nc, A to B; prints elapsed ns.
veth_nc() {
	local port=$1 t0 t1 rpid
	ip netns exec "$ns_b" timeout 60 nc -l 198.18.1.2 "$port" >/dev/null </dev/null &
	rpid=$!
	bg_pids+=("$rpid")
	wait_until 5 listening_in "$ns_b" 198.18.1.2 "$port"
	t0=$(now_ns)
	dd if=/dev/zero bs=1M count="$VETH_MIB" status=none |
		ip netns exec "$ns_a" timeout 60 nc -N 198.18.1.2 "$port"
	wait "$rpid"
	t1=$(now_ns)
	echo $((t1 - t0))
}

# veth_iperf3: bits per second of a VETH_SECS iperf3 run, A to B.
veth_iperf3() {
	local spid out
	ip netns exec "$ns_b" timeout $((VETH_SECS + 20)) iperf3 -s -1 -B 198.18.1.2 -p 5201 >/dev/null &
	spid=$!
	bg_pids+=("$spid")
	wait_until 5 listening_in "$ns_b" 198.18.1.2 5201
	out=$(ip netns exec "$ns_a" timeout $((VETH_SECS + 20)) iperf3 -c 198.18.1.2 -p 5201 -t "$VETH_SECS" -f m)
	wait "$spid" || true
	awk '/receiver$/ { for (i = 1; i <= NF; i++) if ($(i) ~ /bits\/sec/) { v = $(i - 1); u = $(i) } }
		END { m = (u ~ /^G/) ? 1e9 : (u ~ /^M/) ? 1e6 : (u ~ /^K/) ? 1e3 : 1; printf "%.0f\n", v * m }' <<<"$out"
}

# ---- sockfs over its TAP -----------------------------------------------------

ip netns add "$ns_tap"
ip -n "$ns_tap" link set lo up
mkdir "$mnt"
# nsenter enters the network namespace alone, so the mount stays visible here.
nsenter --net="/run/netns/$ns_tap" "$SOCKFSD" --tap "$tap" --mtu "$MTU" "$mnt" \
	</dev/null 2>"$work/sockfsd.log" &
daemon_pid=$!
if ! wait_until 10 grep -q "sockfsd: serving" "$work/sockfsd.log"; then
	echo "bench: sockfsd did not start; its log:" >&2
	cat "$work/sockfsd.log" >&2
	exit 1
fi

head -c $((SIZE_MIB << 20)) /dev/urandom >"$work/payload"
payload_sum=$(sha256sum <"$work/payload" | cut -d' ' -f1)
size=$((SIZE_MIB << 20))

mk_socket() {
	local fd s
	exec {fd}<>"$mnt/socket"
	echo "AF_INET SOCK_STREAM 6" >&"$fd"
	read -r -t 10 s <&"$fd"
	exec {fd}>&-
	echo "$s"
}
ctl() { timeout 20 bash -c 'echo "$1" > "$2"' ctl "$2" "$mnt/$1/ctl"; }
check_sum() {
	local got
	got=$(sha256sum <"$1" | cut -d' ' -f1)
	[[ $got == "$payload_sum" ]] || { echo "bench: $2: sha256 mismatch ($(stat -c %s "$1") bytes arrived)" >&2; exit 1; }
}

# sockfs_send: payload through INO/data to a kernel nc; the clock stops when
# nc has read the FIN, i.e. every byte has arrived. Prints elapsed ns.
sockfs_send() {
	local port=$1 s t0 t1 rpid
	ip netns exec "$ns_tap" timeout 60 nc -l 198.18.0.1 "$port" >"$work/got" </dev/null &
	rpid=$!
	bg_pids+=("$rpid")
	wait_until 5 listening_in "$ns_tap" 198.18.0.1 "$port"
	s=$(mk_socket)
	ctl "$s" "connect 198.18.0.1:$port"
	t0=$(now_ns)
	timeout 60 dd if="$work/payload" of="$mnt/$s/data" bs=128k status=none
	ctl "$s" close
	wait "$rpid"
	t1=$(now_ns)
	check_sum "$work/got" "sockfs -> kernel"
	echo $((t1 - t0))
}

# sockfs_recv: a kernel nc sends the payload and FIN; cat of INO/data ends
# at the FIN. The clock includes the connect, since nc starts sending at
# once. Prints elapsed ns.
sockfs_recv() {
	local port=$1 s t0 t1 rpid
	ip netns exec "$ns_tap" timeout 60 nc -N -l 198.18.0.1 "$port" <"$work/payload" >/dev/null &
	rpid=$!
	bg_pids+=("$rpid")
	wait_until 5 listening_in "$ns_tap" 198.18.0.1 "$port"
	s=$(mk_socket)
	t0=$(now_ns)
	ctl "$s" "connect 198.18.0.1:$port"
	timeout 60 cat "$mnt/$s/data" >"$work/got"
	t1=$(now_ns)
	ctl "$s" close
	wait "$rpid" || true
	check_sum "$work/got" "kernel -> sockfs"
	echo $((t1 - t0))
}

# ---- request/response and connections ---------------------------------------

# sockfs_listener PORT: a sockfs TCP socket listening on 0.0.0.0:PORT; prints
# its INO.
sockfs_listener() {
	local s
	s=$(mk_socket)
	ctl "$s" "bind 0.0.0.0:$1"
	ctl "$s" "listen"
	echo "$s"
}

# peer NS ARGS...: tcp_peers.py in namespace NS (or here, for the sockfs
# side, with NS "-"), bounded in time.
peer() {
	local ns=$1; shift
	if [[ $ns == - ]]; then
		timeout 120 python3 "$PEERS" "$@"
	else
		ip netns exec "$ns" timeout 120 python3 "$PEERS" "$@"
	fi
}

# sockfs_rr PORT: round trips per second, kernel client to a sockfs echo server.
sockfs_rr() {
	local port=$1 ls spid rate
	ls=$(sockfs_listener "$port")
	peer - rr-sockfs "$mnt" "$ls" &
	spid=$!
	bg_pids+=("$spid")
	rate=$(peer "$ns_tap" rr-client 198.18.0.2 "$port" "$RR_N")
	wait "$spid"
	ctl "$ls" close
	echo "$rate"
}

# veth_rr PORT: the same client against a kernel echo server over veth.
veth_rr() {
	local port=$1 spid rate
	peer "$ns_b" rr-server 198.18.1.2 "$port" &
	spid=$!
	bg_pids+=("$spid")
	wait_until 5 listening_in "$ns_b" 198.18.1.2 "$port"
	rate=$(peer "$ns_a" rr-client 198.18.1.2 "$port" "$RR_N")
	wait "$spid"
	echo "$rate"
}

# sockfs_conn PORT: connections per second from a kernel client, each
# accepted and closed by sockfs.
sockfs_conn() {
	local port=$1 ls spid rate
	ls=$(sockfs_listener "$port")
	peer - conn-sockfs "$mnt" "$ls" "$CONN_N" &
	spid=$!
	bg_pids+=("$spid")
	rate=$(peer "$ns_tap" conn-client 198.18.0.2 "$port" "$CONN_N")
	wait "$spid"
	ctl "$ls" close
	echo "$rate"
}

# veth_conn PORT: the same client against a kernel accept-and-close loop.
veth_conn() {
	local port=$1 spid rate
	peer "$ns_b" conn-server 198.18.1.2 "$port" "$CONN_N" &
	spid=$!
	bg_pids+=("$spid")
	wait_until 5 listening_in "$ns_b" 198.18.1.2 "$port"
	rate=$(peer "$ns_a" conn-client 198.18.1.2 "$port" "$CONN_N")
	wait "$spid"
	echo "$rate"
}

# ---- measure -----------------------------------------------------------------

send_ns=() recv_ns=() vnc_ns=() vip_bps=() rr=() vrr=() conn=() vconn=()
for ((i = 0; i < REPEAT; i++)); do
	send_ns+=("$(sockfs_send $((31000 + 2 * i)))")
	recv_ns+=("$(sockfs_recv $((31001 + 2 * i)))")
	vnc_ns+=("$(veth_nc $((32000 + i)))")
	if command -v iperf3 >/dev/null; then
		vip_bps+=("$(veth_iperf3)")
	fi
	rr+=("$(sockfs_rr $((33000 + i)))")
	vrr+=("$(veth_rr $((33100 + i)))")
	conn+=("$(sockfs_conn $((34000 + i)))")
	vconn+=("$(veth_conn $((34100 + i)))")
done

med() { printf '%s\n' "$@" | median; }
size_bits=$((size * 8))
veth_bits=$(((VETH_MIB << 20) * 8))
# bits per second from bits and nanoseconds
bps() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.0f\n", b / (ns / 1e9) }'; }
send_bps=$(bps "$size_bits" "$(med "${send_ns[@]}")")
recv_bps=$(bps "$size_bits" "$(med "${recv_ns[@]}")")
vnc_bps=$(bps "$veth_bits" "$(med "${vnc_ns[@]}")")
ref_bps=$vnc_bps
ref_name="nc over veth"
if ((${#vip_bps[@]})); then
	ref_bps=$(med "${vip_bps[@]}")
	ref_name="iperf3 over veth"
fi
rr_med=$(med "${rr[@]}")
vrr_med=$(med "${vrr[@]}")
conn_med=$(med "${conn[@]}")
vconn_med=$(med "${vconn[@]}")

gbit() { awk -v b="$1" 'BEGIN { printf "%.3f Gbit/s", b / 1e9 }'; }
per_s() { awk -v r="$1" 'BEGIN { printf "%.0f /s", r }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
row() { printf '  %-44s %16s %16s %8s\n' "$@"; }

echo
echo "sockfs end to end against the kernel over its TAP, MTU $MTU, median of $REPEAT runs;"
echo "ratio = sockfs / kernel-to-kernel over a veth pair, measured in this run"
echo
row "measure" "sockfs" "kernel (veth)" "ratio"
row "bulk sockfs -> kernel ($SIZE_MIB MiB, sha256 ok)" "$(gbit "$send_bps")" "$(gbit "$ref_bps")" "$(ratio "$send_bps" "$ref_bps")"
row "bulk kernel -> sockfs ($SIZE_MIB MiB, sha256 ok)" "$(gbit "$recv_bps")" "$(gbit "$ref_bps")" "$(ratio "$recv_bps" "$ref_bps")"
row "request/response, 1 byte, 1 connection" "$(per_s "$rr_med")" "$(per_s "$vrr_med")" "$(ratio "$rr_med" "$vrr_med")"
row "new connections accepted (and closed)" "$(per_s "$conn_med")" "$(per_s "$vconn_med")" "$(ratio "$conn_med" "$vconn_med")"
echo
echo "  bulk reference: kernel $ref_name; kernel nc over veth ($VETH_MIB MiB) ran at $(gbit "$vnc_bps")"
echo "  request/response: $RR_N round trips; connections: $CONN_N, one after another; peers: tests/bench/tcp_peers.py"
