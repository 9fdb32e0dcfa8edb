#!/usr/bin/env bash
# dns-responder.sh PORT HOSTS — a tiny DNS-style responder (RFC 1035) on
# UDP PORT: A queries for the names in HOSTS (lines "NAME ADDR") get
# their address, anything else NXDOMAIN. One socket answers every client.
#
#   printf 'www.test 198.18.0.80\n' > /tmp/hosts
#   SOCKFS=/mnt/sock examples/dns-responder.sh 5353 /tmp/hosts
#   dig @198.18.0.2 -p 5353 +short www.test    # from the kernel's side
#
# A query is binary: od turns its LEN bytes into hex, bash walks them, and
# the answer goes back as \x escapes through printf. Both parts of the
# reply, the "ADDR:PORT" line and the message, reach msg in ONE write:
# they are piped into dd, which writes its one block at once (bash's own
# echo and printf write each line separately, which would be two
# datagrams). No recursion, no compression beyond the answer's pointer to
# the question (0xc00c), no EDNS: enough for dig and getent-style lookups.
set -euo pipefail
SOCKFS=${SOCKFS:-/mnt/sock}
port=$1 hosts=$2

declare -A table
while read -r name addr; do
	[[ -n $name && $name != \#* ]] && table[${name,,}]=$addr
done < "$hosts"

exec 3<>"$SOCKFS/socket"
echo "AF_INET SOCK_DGRAM 17" >&3
read -r s <&3
exec 3>&-
trap 'echo close > "$SOCKFS/$s/ctl"' EXIT
echo "bind 0.0.0.0:$port" > "$SOCKFS/$s/ctl"
echo "dns-responder: socket $s on port $port, ${#table[@]} names" >&2

# x HEX...: the bytes as printf escapes.
x() { local b; for b; do printf '\\x%s' "$b"; done; }

while read -r from len; do
	# shellcheck disable=SC2207 # od's hex words, one array element each
	q=($(head -c "$len" | od -An -tx1 -v))
	((${#q[@]} >= 17)) || continue # shorter than a header and a question
	# QNAME: length-prefixed labels from offset 12 to a zero byte.
	i=12 name=
	while ((i < ${#q[@]})) && [[ ${q[i]} != 00 ]]; do
		n=$((16#${q[i]}))
		label=$(printf "$(x "${q[@]:i+1:n}")")
		name+=${name:+.}$label
		i=$((i + 1 + n))
	done
	qend=$((i + 5)) # the zero byte, QTYPE, QCLASS
	((qend <= ${#q[@]})) || continue
	qtype=${q[i+1]}${q[i+2]}
	addr=${table[${name,,}]:-}
	rd=$((16#${q[2]} & 1))
	if [[ -n $addr && $qtype == 0001 ]]; then
		IFS=. read -r a b c d <<<"$addr"
		head=$(printf '%02x %02x 00 01 00 01 00 00 00 00' $((0x84 | rd)) 0)
		answer=$(printf 'c0 0c 00 01 00 01 00 00 00 3c 00 04 %02x %02x %02x %02x' "$a" "$b" "$c" "$d")
	elif [[ -n $addr ]]; then # the name exists, not with this type
		head=$(printf '%02x %02x 00 01 00 00 00 00 00 00' $((0x84 | rd)) 0)
		answer=
	else
		head=$(printf '%02x %02x 00 01 00 00 00 00 00 00' $((0x84 | rd)) 3) # NXDOMAIN
		answer=
	fi
	echo "dns-responder: $from asks ${name:-.} type $((16#$qtype)) -> ${addr:-NXDOMAIN}" >&2
	# shellcheck disable=SC2086 # word splitting of the hex lists is the point
	{ echo "$from"; printf "$(x "${q[0]}" "${q[1]}" $head "${q[@]:12:qend-12}" $answer)"; } |
		dd of="$SOCKFS/$s/msg" bs=64k count=1 iflag=fullblock status=none
done < "$SOCKFS/$s/msg"
