#!/usr/bin/env bash
# udp-echo.sh PORT PEER — an echo service (RFC 862) on UDP PORT for the
# client at PEER (ADDR:PORT): every datagram it sends comes back to it.
#
#   SOCKFS=/mnt/sock examples/udp-echo.sh 7007 198.18.0.1:5555
#   nc -u -p 5555 198.18.0.2 7007          # from the kernel's side
#
# The tree has no recvfrom/sendto: a write goes to the connected peer,
# so the peer is named up front and the socket is connected to it, which
# also makes the socket accept datagrams from that peer only (connect(2)
# on a UDP socket does both).
set -euo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
port=$1 peer=$2

exec 3<>"$SOCKFS/socket"
echo "AF_INET SOCK_DGRAM 17" >&3
read -r s <&3
exec 3>&-
trap 'echo close > "$SOCKFS/$s/ctl"' EXIT
echo "bind 0.0.0.0:$port" > "$SOCKFS/$s/ctl"
echo "connect $peer" > "$SOCKFS/$s/ctl"
echo "udp-echo: socket $s on port $port, echoing to $peer" >&2

# On a datagram socket each read returns one datagram and each write
# sends one. dd writes exactly what each read gave it, so dd from the data
# file into the data file is the whole echo loop. (cat would do the same,
# but refuses to copy a file onto itself; bash's read takes a byte at a
# time, and a datagram read short loses its rest, as recv(2) does.)
dd if="$SOCKFS/$s/data" of="$SOCKFS/$s/data" bs=65536 status=none
