#!/usr/bin/env bash
# tests/bench/e2e.sh — end-to-end throughput of sockfs against the kernel's
# own TCP, next to the kernel-to-kernel figure over a veth pair, measured in
# the same run on the same machine.
#
#   sockfs  : SIZE_MIB (20) through INO/data each way, kernel nc on the other
#             end of the TAP, sha256 verified, timed with date +%s%N.
#   kernel  : kernel to kernel over a veth pair between two namespaces:
#             iperf3 for VETH_SECS (3) s when installed, and the same nc used
#             above piping VETH_MIB (1024) MiB of /dev/zero.
#
# Each figure is the median of REPEAT (3) runs. Everything runs in network
# namespaces this script creates and deletes on exit; every step is bounded
# by a timeout. Environment: SOCKFSD (bin/sockfsd), SIZE_MIB, VETH_MIB,
# VETH_SECS, REPEAT, MTU (1500).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SOCKFSD=${SOCKFSD:-$root/bin/sockfsd}
SIZE_MIB=${SIZE_MIB:-20}
VETH_MIB=${VETH_MIB:-1024}
VETH_SECS=${VETH_SECS:-3}
REPEAT=${REPEAT:-3}
MTU=${MTU:-1500}

[[ -x $SOCKFSD ]] || { echo "bench: $SOCKFSD is missing: make build" >&2; exit 1; }
for tool in ip nc ss sha256sum nsenter timeout; do
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

# rate BYTES NS prints "MB/s Gbit/s" (MB = 10^6 bytes).
rate() {
	awk -v b="$1" -v ns="$2" 'BEGIN { s = ns / 1e9; printf "%.1f %.3f", b / s / 1e6, b * 8 / s / 1e9 }'
}

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

# ---- measure -----------------------------------------------------------------

send_ns=() recv_ns=() vnc_ns=() vip_bps=()
for ((i = 0; i < REPEAT; i++)); do
	send_ns+=("$(sockfs_send $((31000 + 2 * i)))")
	recv_ns+=("$(sockfs_recv $((31001 + 2 * i)))")
	vnc_ns+=("$(veth_nc $((32000 + i)))")
	if command -v iperf3 >/dev/null; then
		vip_bps+=("$(veth_iperf3)")
	fi
done

send_med=$(printf '%s\n' "${send_ns[@]}" | median)
recv_med=$(printf '%s\n' "${recv_ns[@]}" | median)
vnc_med=$(printf '%s\n' "${vnc_ns[@]}" | median)
veth_bytes=$((VETH_MIB << 20))

read -r send_mbs send_gbs <<<"$(rate "$size" "$send_med")"
read -r recv_mbs recv_gbs <<<"$(rate "$size" "$recv_med")"
read -r vnc_mbs vnc_gbs <<<"$(rate "$veth_bytes" "$vnc_med")"

echo
echo "sockfs end-to-end throughput, MTU $MTU, median of $REPEAT runs (MB = 10^6 bytes)"
printf '  %-52s %10s %10s\n' path MB/s Gbit/s
printf '  %-52s %10s %10s\n' "sockfs data -> kernel nc over TAP ($SIZE_MIB MiB, sha256 ok)" "$send_mbs" "$send_gbs"
printf '  %-52s %10s %10s\n' "kernel nc -> sockfs data over TAP ($SIZE_MIB MiB, sha256 ok)" "$recv_mbs" "$recv_gbs"
printf '  %-52s %10s %10s\n' "kernel nc -> kernel nc over veth ($VETH_MIB MiB)" "$vnc_mbs" "$vnc_gbs"
ref_gbs=$vnc_gbs
ref_name="kernel nc over veth"
if ((${#vip_bps[@]})); then
	vip_med=$(printf '%s\n' "${vip_bps[@]}" | median)
	read -r vip_mbs vip_gbs <<<"$(awk -v b="$vip_med" 'BEGIN { printf "%.1f %.3f", b / 8 / 1e6, b / 1e9 }')"
	printf '  %-52s %10s %10s\n' "kernel iperf3 -> kernel iperf3 over veth (${VETH_SECS} s)" "$vip_mbs" "$vip_gbs"
	ref_gbs=$vip_gbs
	ref_name="kernel iperf3 over veth"
fi
awk -v s="$send_gbs" -v r="$recv_gbs" -v k="$ref_gbs" -v n="$ref_name" \
	'BEGIN { printf "  ratio to %s: send %.1f%%, receive %.1f%%\n", n, 100 * s / k, 100 * r / k }'
