#!/usr/bin/env bash
# udp-echo.sh PORT — an echo service (RFC 862) on UDP PORT for any number
# of clients at once: every datagram goes back to whoever sent it.
#
#   SOCKFS=/mnt/sock examples/udp-echo.sh 7007
#   nc -u 198.18.0.2 7007                  # from the kernel's side, as many as you like
#
# INO/msg is recvfrom/sendto: each read gives a record "ADDR:PORT LEN\n"
# and then exactly LEN bytes, so `read` takes the header and `head -c`
# the payload from the same open. A write is one datagram whose first line
# is where it goes. It must be ONE write(2): the reply is put together in
# a file (binary-safe, NUL bytes included) and dd writes it in one go
# (bs larger than the largest record, count=1, iflag=fullblock).
set -euo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
port=$1

exec 3<>"$SOCKFS/socket"
echo "AF_INET SOCK_DGRAM 17" >&3
read -r s <&3
exec 3>&-
tmp=$(mktemp -d)
trap 'echo close > "$SOCKFS/$s/ctl"; rm -rf "$tmp"' EXIT
echo "bind 0.0.0.0:$port" > "$SOCKFS/$s/ctl"
echo "udp-echo: socket $s on port $port" >&2

while read -r from len; do
	{ echo "$from"; head -c "$len"; } > "$tmp/reply"
	dd if="$tmp/reply" of="$SOCKFS/$s/msg" bs=65536 count=1 iflag=fullblock status=none
done < "$SOCKFS/$s/msg"
