#!/usr/bin/env bash
# sockfs-ss.sh [TOOL [ARGS...]] — the usual tools on sockfs's tables: ss,
# netstat, arp or route, reading $SOCKFS/net/ where they would read the
# kernel's /proc/net.
#
#   SOCKFS=/mnt/sock examples/sockfs-ss.sh              # ss -tan
#   SOCKFS=/mnt/sock examples/sockfs-ss.sh ss -uan
#   SOCKFS=/mnt/sock examples/sockfs-ss.sh netstat -tan    # or -s, -i
#   SOCKFS=/mnt/sock examples/sockfs-ss.sh arp -n          # or route -n
#
# ss asks the kernel over netlink unless PROC_ROOT (or PROC_NET_TCP,
# PROC_NET_UDP, ...) names the files to read, so for ss the variable is all
# it takes. net-tools always open /proc/net/..., so they run in a private
# mount namespace (unshare -m; needs root) whose /proc is a tmpfs holding
# only net/, with each of sockfs's tables bind-mounted in. Bind-mounting a
# table straight over the real /proc/net/tcp succeeds and changes nothing:
# /proc/net is a link to /proc/self/net, so the mount lands on the mounting
# process's own /proc/PID/net, and every other process, the tool included,
# still reads the kernel's.
set -euo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
[ -r "$SOCKFS/net/tcp" ] || { echo "sockfs-ss: no sockfs tables at $SOCKFS/net (set SOCKFS)" >&2; exit 1; }
(($# > 0)) || set -- ss -tan

if [ "$1" = ss ]; then
	PROC_ROOT=$SOCKFS exec "$@"
fi

# The namespace's own shell: /proc becomes a tmpfs with net/ and the tables
# in it, then the tool runs. The tmpfs and the mounts vanish with it.
exec unshare -m bash -euc '
	net=$1; shift
	mount --make-rprivate /
	mount -t tmpfs sockfs-proc /proc
	mkdir /proc/net
	for f in "$net"/*; do
		: >"/proc/net/${f##*/}"
		mount --bind "$f" "/proc/net/${f##*/}"
	done
	exec "$@"
' sockfs-ss "$SOCKFS/net" "$@"
