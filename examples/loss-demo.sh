#!/usr/bin/env bash
# loss-demo.sh [BYTES] — watch TCP recover from loss. It starts a sockfsd
# of its own with --netem "loss 3%" (3% of frames dropped each way), sends
# BYTES (default 2 MiB) to a kernel nc through it, and shows from the trace
# file the segments that went out twice and the sender's congestion state
# changes, and from status the count of retransmissions. The data arrives
# intact all the same.
#
#   examples/loss-demo.sh
#
# It needs root (a FUSE mount and a TAP). Everything runs inside a network
# namespace of its own (unshare -n), so no packet reaches a real network.
# It mounts its own sockfsd on a fresh temporary directory, or on $SOCKFS if
# set (which must not be in use); a directory it made, it removes at exit.
set -euo pipefail
SOCKFS=${SOCKFS:-}
bytes=${1:-2097152}
here=$(cd "$(dirname "$0")" && pwd)
SOCKFSD=${SOCKFSD:-$here/../bin/sockfsd}

# Re-run inside a private network namespace (once).
if [ -z "${LOSS_DEMO_NETNS:-}" ]; then
	LOSS_DEMO_NETNS=1 exec unshare -n "$0" "$@"
fi
ip link set lo up
if [ -n "$SOCKFS" ] && grep -q " $SOCKFS fuse" /proc/mounts; then
	echo "loss-demo: $SOCKFS is in use; stop that sockfsd or set SOCKFS to a free directory" >&2
	exit 1
fi
# The mount point apart from the work directory, so that rm -rf never
# walks into a mount; rmdir of a mount point still mounted just fails.
made=
if [ -z "$SOCKFS" ]; then
	SOCKFS=$(mktemp -d) made=$SOCKFS
elif [ ! -d "$SOCKFS" ]; then
	mkdir -p "$SOCKFS"
	made=$SOCKFS
fi
work=$(mktemp -d)

# The daemon, with loss on its TAP; stopped (SIGTERM) when the demo ends.
"$SOCKFSD" --tap lossdemo0 --netem "loss 3%" "$SOCKFS" 2>"$work/sockfsd.log" &
daemon=$!
# The daemon unmounts before it exits, so a mount point we made is empty.
trap 'kill $daemon 2>/dev/null; wait $daemon; [ -z "$made" ] || rmdir "$made"; rm -rf "$work"' EXIT
for ((i = 0; i < 200; i++)); do
	grep -q serving "$work/sockfsd.log" && break
	sleep 0.05
done
grep -q serving "$work/sockfsd.log" || { cat "$work/sockfsd.log" >&2; exit 1; }

# The kernel's side: nc receives into a file and exits at our FIN.
nc -l 198.18.0.1 9000 > "$work/received" &
sink=$!
for ((i = 0; i < 100; i++)); do
	ss -Hltn "src 198.18.0.1:9000" | grep -q . && break
	sleep 0.05
done
head -c "$bytes" /dev/urandom > "$work/sent"

# Read the trace while the transfer runs. The open itself subscribes, so
# no line is missed; cat copies it out in the background.
exec 4< "$SOCKFS/trace"
cat <&4 > "$work/trace" &
tracer=$!

# The transfer: socket, connect, cat into data.
exec 3<>"$SOCKFS/socket"
echo "AF_INET SOCK_STREAM 6" >&3
read -r s <&3
exec 3>&-
echo "connect 198.18.0.1:9000" > "$SOCKFS/$s/ctl"
cat "$work/sent" > "$SOCKFS/$s/data"
# Everything is in the send queue; wait until the peer has acked it all.
while read -r key value < <(grep '^tx_queue:' "$SOCKFS/$s/status"); [ "$value" != 0 ]; do
	sleep 0.05
done
cat "$SOCKFS/$s/status" > "$work/status"
echo close > "$SOCKFS/$s/ctl"
wait $sink
kill $tracer
exec 4<&-

# Each retransmission is a tcp_retransmit_skb line of the trace.
echo "== segments sent again (tcp_retransmit_skb in $SOCKFS/trace):"
resent=0
while read -r line; do
	[[ $line == *" ino=$s tcp_retransmit_skb "* ]] || continue
	((resent += 1))
	((resent <= 5)) && echo "  $line"
done < "$work/trace"
echo "  ... $resent segments in all"

# Recovery as it happened: each congestion state change (tcp_set_ca_state)
# and retransmission timeout (tcp_retransmit_timer), with cwnd and ssthresh.
echo "== congestion state changes and timeouts (cwnd and ssthresh in segments):"
changes=0
while read -r line; do
	[[ $line == *" ino=$s tcp_set_ca_state "* || $line == *" ino=$s tcp_retransmit_timer "* ]] || continue
	((changes += 1))
	((changes <= 6)) && echo "  $line"
done < "$work/trace"
echo "  ... $changes in all"

echo "== the socket's counters (from $SOCKFS/$s/status):"
while read -r key value; do
	case $key in
	retransmits: | cwnd: | ssthresh: | rtt_us: | lost: | sacked:) echo "  $key $value" ;;
	esac
done < "$work/status"

if cmp -s "$work/sent" "$work/received"; then
	echo "== all $bytes bytes arrived intact despite the loss"
else
	echo "== the data differs!" >&2
	exit 1
fi
