#!/usr/bin/env bash
# chat-server.sh PORT — a line chat: every line a client sends goes to
# every other client, prefixed with the sender's address.
#
#   SOCKFS=/mnt/sock examples/chat-server.sh 7777
#   nc 198.18.0.2 7777       # from the kernel's side, in several terminals
#
# There is no list of members: the tree is the list. The members are the
# connected sockets whose local port is PORT, each a directory in $SOCKFS.
set -euo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
port=$1

exec 3<>"$SOCKFS/socket"
echo "AF_INET SOCK_STREAM 6" >&3
read -r l <&3
exec 3>&-
trap 'echo close > "$SOCKFS/$l/ctl"' EXIT
echo "setsockopt SO_REUSEADDR 1" > "$SOCKFS/$l/ctl"
echo "bind 0.0.0.0:$port" > "$SOCKFS/$l/ctl"
echo "listen" > "$SOCKFS/$l/ctl"
echo "chat-server: socket $l listening on port $port" >&2

# broadcast FROM TEXT writes TEXT to every member but FROM.
broadcast() {
	local from=$1 text=$2 d loc rem
	for d in "$SOCKFS"/[0-9]*; do
		[ "${d##*/}" = "$from" ] && continue
		# Another user's socket, or one just closed, cannot be read: skip.
		read -r loc 2>/dev/null < "$d/local" || continue
		[ "${loc##*:}" = "$port" ] || continue
		# The listener has no peer: reading remote fails (ENOTCONN).
		read -r rem 2>/dev/null < "$d/remote" || continue
		echo "$text" > "$d/data" 2>/dev/null || true
	done
}

# member INO relays one client's lines until it hangs up.
member() {
	local c=$1 who line
	read -r who < "$SOCKFS/$c/remote"
	broadcast "$c" "* $who joined"
	while read -r line; do
		broadcast "$c" "[$who] $line"
	done < "$SOCKFS/$c/data"
	echo close > "$SOCKFS/$c/ctl"
	broadcast "$c" "* $who left"
}

while read -r c; do
	member "$c" &
done < "$SOCKFS/$l/accept"
