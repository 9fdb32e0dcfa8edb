#!/usr/bin/env bash
# http-server.sh PORT DIR [ADDR] — a static file server: GET /NAME answers
# with DIR/NAME (index.html for /), 404 otherwise. Each connection is served
# in the background, so slow clients do not hold up others. ADDR is the
# address to listen on (default 0.0.0.0); an IPv6 one (:: or 2001:2::2)
# makes the listener an AF_INET6 socket.
#
#   SOCKFS=/mnt/sock examples/http-server.sh 8080 ./public
#   curl http://198.18.0.2:8080/index.html       # from the kernel's side
#   SOCKFS=/mnt/sock examples/http-server.sh 8080 ./public ::
#   curl -g 'http://[2001:2::2]:8080/'           # -g: the brackets are the address's
set -euo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
port=$1 dir=${2%/} addr=${3:-0.0.0.0}
family=AF_INET
if [[ $addr == *:* ]]; then
	family=AF_INET6 addr="[$addr]"
fi

# socket, setsockopt, bind, listen — each a line into the socket's ctl.
exec 3<>"$SOCKFS/socket"
echo "$family SOCK_STREAM 6" >&3
read -r l <&3
exec 3>&-
trap 'echo close > "$SOCKFS/$l/ctl"' EXIT
echo "setsockopt SO_REUSEADDR 1" > "$SOCKFS/$l/ctl"
echo "bind $addr:$port" > "$SOCKFS/$l/ctl"
echo "listen" > "$SOCKFS/$l/ctl"
echo "http-server: socket $l listening on $addr:$port, serving $dir" >&2

# serve INO answers one request on connected socket INO, then closes it.
serve() {
	local c=$1 method path version line type
	# The data file is this connection: stdin and stdout both.
	exec <>"$SOCKFS/$c/data" >&0
	read -r method path version || return 0
	# Skip the headers, up to the empty line (HTTP ends lines with \r\n).
	while read -r line && [ -n "${line%$'\r'}" ]; do :; done
	path=${path%%\?*}
	[ "$path" = / ] && path=/index.html
	if [ "$method" = GET ] && [[ $path != *..* ]] && [ -f "$dir$path" ]; then
		case $path in
		*.html) type=text/html ;;
		*.txt) type=text/plain ;;
		*) type=application/octet-stream ;;
		esac
		echo -ne "HTTP/1.0 200 OK\r\nContent-Type: $type\r\n\r\n"
		cat "$dir$path"
	else
		echo -ne "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnot found\n"
	fi
	# close(2): FIN after the last byte; the client reads to the end.
	echo close > "$SOCKFS/$c/ctl"
}

# accept(2): each line read from accept is a new connection's INO.
while read -r c; do
	serve "$c" &
done < "$SOCKFS/$l/accept"
