#!/usr/bin/env bash
# ping.sh ADDR [COUNT] — ping(8) through a ping socket (SOCK_DGRAM,
# IPPROTO_ICMP): COUNT echo requests (default 4), one a second (PING_INTERVAL
# seconds), each reply's round-trip time, then ping's summary.
#
#   SOCKFS=/mnt/sock examples/ping.sh 198.18.0.1 3
#
# A ping socket takes the 8-byte ICMP header from the writer (type 8 echo
# request, code 0, checksum, identifier, sequence) and fills in the
# checksum and identifier itself, as Linux's ping_v4_sendmsg does; the
# written port in "ADDR:PORT" means nothing here, and a read reports the
# sender as ADDR:0. The request goes out as ONE write: header line, ICMP
# header and payload piped into dd.
set -euo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
addr=$1 count=${2:-4} interval=${PING_INTERVAL:-1}
datalen=56 # as ping(8): 56 data bytes, 64 with the ICMP header

exec 3<>"$SOCKFS/socket"
echo "AF_INET SOCK_DGRAM 1" >&3
read -r s <&3
exec 3>&-
trap 'echo close > "$SOCKFS/$s/ctl"' EXIT
# A read waits at most a second (EAGAIN then): bash's `read -t` cannot do
# it here, as bash ignores -t on a regular file, which a FUSE file is.
echo "setsockopt SO_RCVTIMEO 1000" > "$SOCKFS/$s/ctl"
exec 4<"$SOCKFS/$s/msg"

usec() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }
ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

echo "PING $addr $datalen($((datalen + 28))) bytes of data."
sent=0 got=0 min= max=0 sum=0
for ((seq = 1; seq <= count; seq++)); do
	t0=$(usec)
	seqx=$(printf '\\x%02x\\x%02x' $((seq >> 8)) $((seq & 255)))
	{ echo "$addr:0"; printf "\x08\x00\x00\x00\x00\x00$seqx"; head -c "$datalen" /dev/zero; } |
		dd of="$SOCKFS/$s/msg" bs=64k count=1 iflag=fullblock status=none
	sent=$((sent + 1))
	# Wait up to a second for this sequence number's reply; a late reply
	# to an earlier request is read and skipped.
	while read -r from len <&4 2>/dev/null; do
		read -r -a h < <(head -c "$len" <&4 | od -An -tx1 -v)
		[[ ${h[0]} == 00 && $((16#${h[6]}${h[7]})) == "$seq" ]] || continue
		rtt=$(($(usec) - t0))
		got=$((got + 1)) sum=$((sum + rtt))
		if ((rtt > max)); then max=$rtt; fi
		if [[ -z $min ]] || ((rtt < min)); then min=$rtt; fi
		echo "$len bytes from ${from%:*}: icmp_seq=$seq time=$(ms "$rtt") ms"
		break
	done
	((seq == count)) || sleep "$interval"
done
echo
echo "--- $addr ping statistics ---"
echo "$sent packets transmitted, $got received, $(((sent - got) * 100 / sent))% packet loss"
if ((got > 0)); then
	echo "rtt min/avg/max = $(ms "$min")/$(ms $((sum / got)))/$(ms "$max") ms"
fi
((got > 0))
