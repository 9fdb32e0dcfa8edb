#!/usr/bin/env bash
# http-get.sh HOST PORT PATH — fetch PATH over HTTP/1.0 through sockfs and
# print the whole response (status line, headers, body).
#
#   SOCKFS=/mnt/sock examples/http-get.sh 198.18.0.1 8080 /index.html
#
# A socket is a directory; this is socket(2), connect(2), send and recv
# done with echo, cat and read.
set -euo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
host=$1 port=$2 path=$3

# socket(2): write the triple to the control file and read the new
# socket's inode number back on the same open file.
exec 3<>"$SOCKFS/socket"
echo "AF_INET SOCK_STREAM 6" >&3
read -r s <&3
exec 3>&-
# close(2) when we are done, whatever happens (the directory disappears).
trap 'echo close > "$SOCKFS/$s/ctl"' EXIT

# connect(2) blocks until the handshake is done; a refusal is an error
# from echo ("write error: Connection refused") and set -e stops us.
echo "connect $host:$port" > "$SOCKFS/$s/ctl"

# One write is one send: the request, ended by an empty line.
echo -ne "GET $path HTTP/1.0\r\nHost: $host\r\nConnection: close\r\n\r\n" > "$SOCKFS/$s/data"

# HTTP/1.0: the server closes after the response, so cat ends at its FIN.
cat "$SOCKFS/$s/data"
