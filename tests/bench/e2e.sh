#!/usr/bin/env bash
# tests/bench/e2e.sh — sockfs end to end against the kernel's own TCP, each
# figure next to gVisor's netstack on a TAP of its own (tests/bench/gvisor,
# driven by the same kernel-side peers with the same bytes) and the
# kernel-to-kernel figure over a veth pair, all measured in the same run on
# the same machine, with the ratios sockfs/gVisor and sockfs/kernel.
#
#   bulk       SIZE_MIB (64) through INO/data each way, a kernel nc on the
#              other end of the TAP, sha256 verified, timed with date +%s%N,
#              once per configuration in CONFIGS ("1500 65000 1500/offload":
#              an MTU, /offload for sockfsd --offload and gVisor with
#              virtio-net headers); gVisor: the same nc and
#              bytes, its peer writing and reading in 128 KiB calls as dd
#              does on INO/data (its send clock includes the connect, one
#              round trip); kernel to kernel: iperf3 for VETH_SECS (3) s
#              when installed, and the same nc piping VETH_MIB (256) MiB of
#              /dev/zero, at the same MTU.
#   ping       PING_N (200) pings from the kernel, PING_I (0.005) s apart;
#              the median RTT (first configuration only, as the two rows
#              below).
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
# SOCKFSD (bin/sockfsd), GVISOR_PEER (bin/gvisor-peer, built by make
# bench), SIZE_MIB, VETH_MIB, VETH_SECS, RR_N, CONN_N, PING_N, PING_I,
# REPEAT, CONFIGS (MTU alone is the one-configuration shorthand).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SOCKFSD=${SOCKFSD:-$root/bin/sockfsd}
SIZE_MIB=${SIZE_MIB:-64}
VETH_MIB=${VETH_MIB:-256}
VETH_SECS=${VETH_SECS:-3}
RR_N=${RR_N:-10000}
CONN_N=${CONN_N:-500}
PING_N=${PING_N:-200}
PING_I=${PING_I:-0.005}
REPEAT=${REPEAT:-3}
# Each configuration is an MTU, with "/offload" for sockfsd --offload (and
# gVisor over the same kind of TAP, with virtio-net headers).
CONFIGS=${CONFIGS:-${MTU:-1500 65000 1500/offload}}
GVISOR_PEER=${GVISOR_PEER:-$root/bin/gvisor-peer}
PEERS=$root/tests/bench/tcp_peers.py

[[ -x $SOCKFSD ]] || { echo "bench: $SOCKFSD is missing: make build" >&2; exit 1; }
[[ -x $GVISOR_PEER ]] || { echo "bench: $GVISOR_PEER is missing: make gvisor-peer" >&2; exit 1; }
for tool in ip nc ss sha256sum nsenter timeout python3 ping; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make deps)" >&2; exit 1; }
done

# Namespace names carry the pid so two runs cannot meet.
ns_tap=sfb-tap-$$
ns_gv=sfb-gv-$$
ns_a=sfb-a-$$
ns_b=sfb-b-$$
tap=sfb$$
tap=${tap:0:15}
gvtap=gvb$$
gvtap=${gvtap:0:15}
work=$(mktemp -d /tmp/sockfs-bench.XXXXXX)
mnt=$work/mnt
daemon_pid=
gv_pid=
bg_pids=()

cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	stop_sockfsd
	stop_gvisor
	for n in "$ns_tap" "$ns_gv" "$ns_a" "$ns_b"; do ip netns del "$n" 2>/dev/null || true; done
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
ip -n "$ns_a" link set veth-a up
ip -n "$ns_b" link set veth-b up
veth_mtu() {
	ip -n "$ns_a" link set veth-a mtu "$1"
	ip -n "$ns_b" link set veth-b mtu "$1"
}

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

# ---- sockfs over its TAP, gVisor over another --------------------------------

# Both stacks sit at 198.18.0.2 behind a TAP whose kernel side is
# 198.18.0.1/24, each in a namespace of its own, so every kernel-side command
# below is the same for both: only the namespace differs ($ns_tap, $ns_gv).
ip netns add "$ns_tap"
ip -n "$ns_tap" link set lo up
ip netns add "$ns_gv"
ip -n "$ns_gv" link set lo up
mkdir "$mnt"

# start_sockfsd MTU [FLAGS...]: sockfsd on a fresh TAP; nsenter enters the network
# namespace alone, so the mount stays visible here.
start_sockfsd() {
	: >"$work/sockfsd.log"
	nsenter --net="/run/netns/$ns_tap" "$SOCKFSD" --tap "$tap" --mtu "$1" "${@:2}" "$mnt" \
		</dev/null 2>"$work/sockfsd.log" &
	daemon_pid=$!
	if ! wait_until 10 grep -q "sockfsd: serving" "$work/sockfsd.log"; then
		echo "bench: sockfsd did not start; its log:" >&2
		cat "$work/sockfsd.log" >&2
		exit 1
	fi
}

stop_sockfsd() {
	if [[ -n $daemon_pid ]]; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait_gone "$daemon_pid" 10 || kill -KILL "$daemon_pid" 2>/dev/null || true
		daemon_pid=
	fi
	if awk -v d="$mnt" '$2 == d { f = 1 } END { exit !f }' /proc/mounts; then
		fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
}

# start_gvisor MTU [-vnet]: the gVisor peer as a coprocess on a fresh TAP, which it
# creates; the kernel's side is configured here once it says "ready".
start_gvisor() {
	local line
	coproc GV { exec nsenter --net="/run/netns/$ns_gv" timeout 900 "$GVISOR_PEER" -tap "$gvtap" -mtu "$@" 2>>"$work/gvisor.log"; }
	gv_pid=$GV_PID
	# Own copies of the pipe ends, the coproc's closed, so that closing
	# gv_in alone gives the peer EOF on stdin, which ends it.
	exec {gv_in}>&"${GV[1]}" {gv_out}<&"${GV[0]}"
	eval "exec ${GV[1]}>&- ${GV[0]}<&-"
	read -r -t 10 line <&"$gv_out" || { echo "bench: gvisor-peer did not start: $(cat "$work/gvisor.log")" >&2; exit 1; }
	ip -n "$ns_gv" addr add 198.18.0.1/24 dev "$gvtap"
	ip -n "$ns_gv" link set "$gvtap" mtu "$1" up
}

stop_gvisor() {
	if [[ -n $gv_pid ]]; then
		exec {gv_in}>&- {gv_out}<&-
		wait_gone "$gv_pid" 10 || kill -KILL "$gv_pid" 2>/dev/null || true
		gv_pid=
	fi
}

# gv CMD...: one command to the gVisor peer; waits for its "ok".
gv() {
	local line
	echo "$*" >&"$gv_in"
	read -r -t 90 line <&"$gv_out" || { echo "bench: gvisor-peer: no answer to $*: $(cat "$work/gvisor.log")" >&2; exit 1; }
	[[ $line == ok ]] || { echo "bench: gvisor-peer: $* answered $line" >&2; exit 1; }
}

# gv_done: waits for the "ok" that ends a listening command.
gv_done() {
	local line
	read -r -t 90 line <&"$gv_out" || { echo "bench: gvisor-peer: no answer: $(cat "$work/gvisor.log")" >&2; exit 1; }
	[[ $line == ok ]] || { echo "bench: gvisor-peer answered $line" >&2; exit 1; }
}

# gv_listen CMD...: a listening command; returns once the peer listens.
gv_listen() {
	local line
	echo "$*" >&"$gv_in"
	read -r -t 20 line <&"$gv_out" || { echo "bench: gvisor-peer: no answer to $*: $(cat "$work/gvisor.log")" >&2; exit 1; }
	[[ $line == listening ]] || { echo "bench: gvisor-peer: $* answered $line" >&2; exit 1; }
}

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

# gvisor_send, gvisor_recv: the same two transfers with gVisor's stack on
# the other end of its TAP: the same kernel nc, the same payload, the same
# checks. Print elapsed ns.
gvisor_send() {
	local port=$1 t0 t1 rpid
	ip netns exec "$ns_gv" timeout 60 nc -l 198.18.0.1 "$port" >"$work/got" </dev/null &
	rpid=$!
	bg_pids+=("$rpid")
	wait_until 5 listening_in "$ns_gv" 198.18.0.1 "$port"
	t0=$(now_ns)
	gv send 198.18.0.1 "$port" "$work/payload"
	wait "$rpid"
	t1=$(now_ns)
	check_sum "$work/got" "gVisor -> kernel"
	echo $((t1 - t0))
}

gvisor_recv() {
	local port=$1 t0 t1 rpid
	ip netns exec "$ns_gv" timeout 60 nc -N -l 198.18.0.1 "$port" <"$work/payload" >/dev/null &
	rpid=$!
	bg_pids+=("$rpid")
	wait_until 5 listening_in "$ns_gv" 198.18.0.1 "$port"
	t0=$(now_ns)
	gv recv 198.18.0.1 "$port" "$work/got"
	t1=$(now_ns)
	wait "$rpid" || true
	check_sum "$work/got" "kernel -> gVisor"
	echo $((t1 - t0))
}

# ping_rtt NS ADDR: the median RTT in microseconds of PING_N pings from the
# kernel in NS to ADDR.
ping_rtt() {
	ip netns exec "$1" timeout 60 ping -n -c "$PING_N" -i "$PING_I" "$2" |
		sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' | awk '{ printf "%.0f\n", $1 * 1000 }' | median
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

# gvisor_rr PORT: the same client against gVisor's echo server.
gvisor_rr() {
	local port=$1 rate
	gv_listen echo "$port"
	rate=$(peer "$ns_gv" rr-client 198.18.0.2 "$port" "$RR_N")
	gv_done
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

# gvisor_conn PORT: the same client against gVisor's accept-and-close loop.
gvisor_conn() {
	local port=$1 rate
	gv_listen accept "$port" "$CONN_N"
	rate=$(peer "$ns_gv" conn-client 198.18.0.2 "$port" "$CONN_N")
	gv_done
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

# Per MTU: bulk each way for the three stacks. At the first MTU also ping,
# request/response and connections. Both user-space stacks run side by side
# for the whole MTU, each in its own namespace.
declare -A res
med() { printf '%s\n' "$@" | median; }
size_bits=$(((SIZE_MIB << 20) * 8))
veth_bits=$(((VETH_MIB << 20) * 8))
# bits per second from bits and nanoseconds
bps() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.0f\n", b / (ns / 1e9) }'; }
first=1
# ports: 20 per repetition, 1000 per MTU, none reused
port=31000
for conf in $CONFIGS; do
	mtu=${conf%%/*}
	sflags=() gflags=()
	if [[ $conf == */offload ]]; then
		sflags=(--offload) gflags=(-vnet)
	fi
	start_sockfsd "$mtu" "${sflags[@]}"
	start_gvisor "$mtu" "${gflags[@]}"
	veth_mtu "$mtu"
	s_send=() s_recv=() g_send=() g_recv=() vnc_ns=() vip_bps=()
	s_ping=() g_ping=() v_ping=() rr=() grr=() vrr=() conn=() gconn=() vconn=()
	for ((i = 0; i < REPEAT; i++)); do
		p=$((port + 20 * i))
		s_send+=("$(sockfs_send $((p + 0)))")
		g_send+=("$(gvisor_send $((p + 1)))")
		s_recv+=("$(sockfs_recv $((p + 2)))")
		g_recv+=("$(gvisor_recv $((p + 3)))")
		vnc_ns+=("$(veth_nc $((p + 4)))")
		if command -v iperf3 >/dev/null; then
			vip_bps+=("$(veth_iperf3)")
		fi
		((first)) || continue
		s_ping+=("$(ping_rtt "$ns_tap" 198.18.0.2)")
		g_ping+=("$(ping_rtt "$ns_gv" 198.18.0.2)")
		v_ping+=("$(ping_rtt "$ns_a" 198.18.1.2)")
		rr+=("$(sockfs_rr $((p + 5)))")
		grr+=("$(gvisor_rr $((p + 6)))")
		vrr+=("$(veth_rr $((p + 7)))")
		conn+=("$(sockfs_conn $((p + 8)))")
		gconn+=("$(gvisor_conn $((p + 9)))")
		vconn+=("$(veth_conn $((p + 10)))")
	done
	stop_sockfsd
	stop_gvisor
	port=$((port + 1000))
	res[send,s,$conf]=$(bps "$size_bits" "$(med "${s_send[@]}")")
	res[send,g,$conf]=$(bps "$size_bits" "$(med "${g_send[@]}")")
	res[recv,s,$conf]=$(bps "$size_bits" "$(med "${s_recv[@]}")")
	res[recv,g,$conf]=$(bps "$size_bits" "$(med "${g_recv[@]}")")
	res[vnc,$conf]=$(bps "$veth_bits" "$(med "${vnc_ns[@]}")")
	res[ref,$conf]=${res[vnc,$conf]}
	ref_name="nc over veth"
	if ((${#vip_bps[@]})); then
		res[ref,$conf]=$(med "${vip_bps[@]}")
		ref_name="iperf3 over veth"
	fi
	if ((first)); then
		res[ping,s]=$(med "${s_ping[@]}") res[ping,g]=$(med "${g_ping[@]}") res[ping,v]=$(med "${v_ping[@]}")
		res[rr,s]=$(med "${rr[@]}") res[rr,g]=$(med "${grr[@]}") res[rr,v]=$(med "${vrr[@]}")
		res[conn,s]=$(med "${conn[@]}") res[conn,g]=$(med "${gconn[@]}") res[conn,v]=$(med "${vconn[@]}")
		first_mtu=$mtu
	fi
	first=0
done

gbit() { awk -v b="$1" 'BEGIN { printf "%.3f Gbit/s", b / 1e9 }'; }
per_s() { awk -v r="$1" 'BEGIN { printf "%.0f /s", r }'; }
usec() { awk -v r="$1" 'BEGIN { printf "%.0f us", r }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { printf '  %-40s %14s %14s %14s %9s %9s\n' "$@"; }
# brow NAME KEY CONF: one bulk row.
brow() {
	local s=${res[$2,s,$3]} g=${res[$2,g,$3]} k=${res[ref,$3]}
	row "$1" "$(gbit "$s")" "$(gbit "$g")" "$(gbit "$k")" "$(ratio "$s" "$g")" "$(ratio "$s" "$k")"
}
# orow NAME KEY FMT: one row of the first MTU's other measures.
orow() {
	local s=${res[$2,s]} g=${res[$2,g]} k=${res[$2,v]}
	row "$1" "$($3 "$s")" "$($3 "$g")" "$($3 "$k")" "$(ratio "$s" "$g")" "$(ratio "$s" "$k")"
}

echo
echo "sockfs, gVisor's netstack and the kernel end to end against the kernel's TCP, median of $REPEAT runs,"
echo "measured side by side in this run: sockfs and gVisor each over a TAP, the kernel over a veth pair"
echo
row "measure" "sockfs" "gVisor" "kernel" "s/gVisor" "s/kernel"
for conf in $CONFIGS; do
	what="MTU ${conf%%/*}"
	[[ $conf == */offload ]] && what+=", offload"
	brow "bulk sockfs -> kernel, $what" send "$conf"
	brow "bulk kernel -> sockfs, $what" recv "$conf"
done
orow "ping RTT from the kernel (median)" ping usec
orow "request/response, 1 byte, 1 connection" rr per_s
orow "new connections accepted (and closed)" conn per_s
echo
echo "  bulk: $SIZE_MIB MiB each way, sha256 checked; the kernel column is $ref_name"
for conf in $CONFIGS; do
	echo "    (at MTU ${conf%%/*}, kernel nc over veth, $VETH_MIB MiB, ran at $(gbit "${res[vnc,$conf]}"))"
done
echo "  offload: sockfsd --offload; gVisor's fdbased endpoint with virtio-net headers (GSO, checksum offload)"
echo "  ping: $PING_N pings ${PING_I}s apart; request/response: $RR_N round trips; connections: $CONN_N,"
echo "  one after another; all three at MTU $first_mtu; peers: tests/bench/tcp_peers.py and tests/bench/gvisor"
echo "  ratios: sockfs / gVisor and sockfs / kernel (for ping RTT, lower is faster)"
