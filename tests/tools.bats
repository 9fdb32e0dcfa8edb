#!/usr/bin/env bats
# The usual tools on sockfs's tables (docs/sockfsd.md "net/"): iproute2's ss
# reads them through PROC_ROOT / PROC_NET_TCP, net-tools' netstat, arp and
# route through examples/sockfs-ss.sh's private /proc. Each parses a live
# sockfs connection to a kernel nc; the kernel's own ss and netstat, run the
# same way on the kernel's tables, show the other end of that connection.

load helpers

SS=$ROOT/examples/sockfs-ss.sh

setup_file() { sockfsd_start sft-tools; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

# A sockfs socket ESTABLISHED to a kernel nc: sets S, PORT and LPORT (the
# sockfs end's port).
connect_to_kernel_nc() {
	PORT=$(test_port)
	kernel_listen "$PORT" "$BATS_TEST_TMPDIR/nc.out"
	S=$(tcp_client "$PORT")
	local loc
	read -r loc <"$M/$S/local"
	LPORT=${loc##*:}
}

@test "ss reads sockfs's tcp table through PROC_NET_TCP and PROC_ROOT" {
	connect_to_kernel_nc
	row="^ESTAB +0 +0 +198\.18\.0\.2:$LPORT +198\.18\.0\.1:$PORT( |$)"
	run env PROC_NET_TCP="$M/net/tcp" ss -Htan
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $(grep -cE "$row" <<<"$output") == 1 ]]
	run env PROC_ROOT="$M" ss -Htan
	[[ $(grep -cE "$row" <<<"$output") == 1 ]]
	run env SOCKFS="$M" "$SS"
	[[ $(grep -cE "$row" <<<"$output") == 1 ]]
	# The kernel's own ss (netlink) has the other end, and not this row.
	run ss -Htan
	echo "$output"
	[[ $(grep -cE "^ESTAB +0 +0 +198\.18\.0\.1:$PORT +198\.18\.0\.2:$LPORT( |$)" <<<"$output") == 1 ]]
	[[ $(grep -cE "$row" <<<"$output") == 0 ]]
	ctl "$S" close
}

@test "netstat -tan reads sockfs's tcp table in sockfs-ss.sh's private /proc" {
	connect_to_kernel_nc
	row="^tcp +0 +0 198\.18\.0\.2:$LPORT +198\.18\.0\.1:$PORT +ESTABLISHED"
	run env SOCKFS="$M" "$SS" netstat -tan
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $(grep -cE "$row" <<<"$output") == 1 ]]
	# The kernel's table, read by the same netstat outside: the other end.
	run netstat -tan
	echo "$output"
	[[ $(grep -cE "^tcp +0 +0 198\.18\.0\.1:$PORT +198\.18\.0\.2:$LPORT +ESTABLISHED" <<<"$output") == 1 ]]
	[[ $(grep -cE "$row" <<<"$output") == 0 ]]
	ctl "$S" close
}

@test "bind-mounting a table over the real /proc/net/tcp changes nothing" {
	# The documented pitfall: /proc/net is /proc/self/net, so the mount
	# succeeds on the mounting shell's own /proc/PID/net and netstat, another
	# process, still reads the kernel's table.
	connect_to_kernel_nc
	run unshare -m sh -c 'mount --bind "$1/net/tcp" /proc/net/tcp && netstat -tan' sh "$M"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"198.18.0.1:$PORT "*"198.18.0.2:$LPORT "* ]]
	[[ $output != *"198.18.0.2:$LPORT "*"198.18.0.1:$PORT "* ]]
	ctl "$S" close
}

@test "netstat -s, arp -n and route -n read sockfs's snmp, arp and route" {
	connect_to_kernel_nc
	ctl "$S" close
	run env SOCKFS="$M" "$SS" netstat -s
	echo "$output"
	[ "$status" -eq 0 ]
	# The counters are sockfs's: its active opens, not the kernel's (0 in
	# this namespace, where only sockfs connects out).
	[[ $output =~ ([0-9]+)\ active\ connection\ openings ]]
	((BASH_REMATCH[1] > 0))
	grep -q '^Tcp: .* ActiveOpens' "$M/net/snmp"
	opens=$(awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ActiveOpens") c = i; h = 1 } else print $c }' "$M/net/snmp")
	[[ ${BASH_REMATCH[1]} == "$opens" ]]

	run env SOCKFS="$M" "$SS" arp -n
	echo "$output"
	[ "$status" -eq 0 ]
	mac=$(ip -br link show "$TAP" | awk '{ print $3 }')
	[[ $(grep -cE "^198\.18\.0\.1 +ether +$mac +C +$TAP\$" <<<"$output") == 1 ]]

	run env SOCKFS="$M" "$SS" route -n
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $(grep -cE "^198\.18\.0\.0 +0\.0\.0\.0 +255\.255\.255\.0 +U +0 +0 +0 +$TAP\$" <<<"$output") == 1 ]]
}
