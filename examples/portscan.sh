#!/usr/bin/env bash
# portscan.sh HOST FROM TO — a TCP connect scan: prints "PORT open" for
# each port from FROM to TO where HOST accepts a connection.
#
#   SOCKFS=/mnt/sock examples/portscan.sh 198.18.0.1 1 1024
#
# Only scan hosts you are allowed to: the kernel's side of sockfs's TAP.
set -uo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
host=$1 from=$2 to=$3

for ((port = from; port <= to; port++)); do
	exec 3<>"$SOCKFS/socket"
	echo "AF_INET SOCK_STREAM 6" >&3
	read -r s <&3
	exec 3>&-
	# A port that does not answer at all would hold connect for minutes
	# of SYN retries; SO_SNDTIMEO bounds connect's wait (then EINPROGRESS).
	echo "setsockopt SO_SNDTIMEO 1000" > "$SOCKFS/$s/ctl"
	# SO_LINGER 0: close sends RST, as a scanner should, not FIN.
	echo "setsockopt SO_LINGER 0" > "$SOCKFS/$s/ctl"
	# connect's errno says it all: success is open, "Connection refused"
	# (the host's RST) is closed, anything else is filtered or down.
	if echo "connect $host:$port" 2>/dev/null > "$SOCKFS/$s/ctl"; then
		echo "$port open"
	fi
	echo close > "$SOCKFS/$s/ctl"
done
