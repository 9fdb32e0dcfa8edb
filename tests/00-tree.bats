#!/usr/bin/env bats
# The tree and socket(2) through the control file: docs/sockfsd.md "The tree" and
# "socket — creating a socket". No packets leave the stack here.

load helpers

setup_file() { sockfsd_start sft-tree; }
teardown_file() { sockfsd_stop; }
teardown() { common_teardown; }

@test "the tree has the socket control file and the net/ directory" {
	[ -e "$M/socket" ]
	[ ! -d "$M/socket" ]
	[ -d "$M/net" ]
}

@test "a plain read of a fresh open of socket returns EOF" {
	run timeout 5 cat "$M/socket"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

@test "AF_INET SOCK_STREAM 6 creates a socket directory named by its inode" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	[[ $s =~ ^[0-9]+$ ]]
	[ -d "$M/$s" ]
	[ "$(stat -c %i "$M/$s")" = "$s" ]
	for f in data ctl msg local remote status; do
		[ -e "$M/$s/$f" ] || { echo "missing $M/$s/$f" >&2; false; }
	done
	[ "$(status_field "$s" state)" = SS_UNCONNECTED ]
}

@test "numeric triple 2 1 0 creates a TCP socket (protocol 0 is the type's default, 6)" {
	s=$(mk_socket 2 1 0)
	[[ $s =~ ^[0-9]+$ ]]
	[ -d "$M/$s" ]
	[ "$(status_field "$s" family)" = AF_INET ]
	[ "$(status_field "$s" type)" = SOCK_STREAM ]
	[ "$(status_field "$s" protocol)" = 6 ]
}

@test "PF_INET SOCK_STREAM IPPROTO_TCP creates a socket" {
	s=$(mk_socket PF_INET SOCK_STREAM IPPROTO_TCP)
	[[ $s =~ ^[0-9]+$ ]]
	[ -d "$M/$s" ]
}

@test "two sockets created on one open read back in order, with distinct inodes" {
	exec 4<>"$M/socket"
	echo "AF_INET SOCK_STREAM 6" >&4
	echo "AF_INET SOCK_STREAM 0" >&4
	read -r -t 5 a <&4
	read -r -t 5 b <&4
	exec 4>&-
	[[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]]
	[ "$a" != "$b" ]
	[ -d "$M/$a" ]
	[ -d "$M/$b" ]
}

@test "an unsupported family gives EAFNOSUPPORT" {
	run bash -c 'echo "AF_PACKET SOCK_RAW 0" > "$1/socket"' _ "$M"
	[ "$status" -eq 1 ]
	[[ $output == *"Address family not supported by protocol"* ]]
}

@test "a type with no inetsw entry gives ESOCKTNOSUPPORT" {
	run bash -c 'echo "AF_INET 5 0" > "$1/socket"' _ "$M"
	[ "$status" -eq 1 ]
	[[ $output == *"Socket type not supported"* ]]
}

@test "a protocol the type does not offer gives EPROTONOSUPPORT" {
	run bash -c 'echo "AF_INET SOCK_STREAM 17" > "$1/socket"' _ "$M"
	[ "$status" -eq 1 ]
	[[ $output == *"Protocol not supported"* ]]
}

@test "two tokens instead of three give EINVAL" {
	run bash -c 'echo "AF_INET SOCK_STREAM" > "$1/socket"' _ "$M"
	[ "$status" -eq 1 ]
	[[ $output == *"Invalid argument"* ]]
}

@test "a new socket's local is 0.0.0.0:0 and remote gives ENOTCONN" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	[ "$(cat "$M/$s/local")" = "0.0.0.0:0" ]
	run cat "$M/$s/remote"
	[ "$status" -ne 0 ]
	[[ $output == *"Transport endpoint is not connected"* ]]
}

@test "ctl close releases the socket and its directory disappears" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	[ -d "$M/$s" ]
	ctl "$s" close
	wait_until 5 test ! -e "$M/$s"
}

@test "rmdir INO releases the socket" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	rmdir "$M/$s"
	[ ! -e "$M/$s" ]
}

@test "a socket's files cannot be removed one by one (EPERM)" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	run rm "$M/$s/data"
	[ "$status" -ne 0 ]
	[[ $output == *"Operation not permitted"* ]]
	[ -e "$M/$s/data" ]
	run rm "$M/socket"
	[[ $output == *"Operation not permitted"* ]]
	ctl "$s" close
}

# eperm CMD...: CMD fails with "Operation not permitted" (EPERM), not EIO.
eperm() {
	run "$@"
	[ "$status" -ne 0 ] || { echo "$* succeeded" >&2; return 1; }
	[[ $output == *"Operation not permitted"* ]] || { echo "$*: $output" >&2; return 1; }
}

@test "net/ tables cannot be removed, renamed or linked to (EPERM, as /proc)" {
	# the reference: the kernel's own table (rm cannot succeed on procfs)
	eperm rm /proc/net/tcp
	eperm rm "$M/net/tcp"
	eperm rm -f "$M/net/tcp"
	eperm mv "$M/net/tcp" "$M/net/tcp2"
	eperm ln "$M/net/tcp" "$M/net/tcp2"
	eperm rmdir "$M/net"
	eperm rm "$M/trace"
	[ -e "$M/net/tcp" ]
	run rm "$M/net/nosuch"
	[[ $output == *"No such file or directory"* ]]
}

@test "chmod and chown of a socket's directory, its files and the fixed files give EPERM and change nothing" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	eperm chmod 777 "$M/$s"
	eperm chmod 700 "$M/$s"
	eperm chown 4242 "$M/$s"
	eperm chgrp 4242 "$M/$s"
	for f in data ctl accept local remote status; do
		eperm chmod 666 "$M/$s/$f"
		eperm chown 4242:4242 "$M/$s/$f"
	done
	eperm chmod 777 "$M/socket"
	eperm chmod 777 "$M/net"
	eperm chmod 666 "$M/net/tcp"
	eperm chmod 777 "$M"
	[ "$(stat -c '%a %u' "$M/$s")" = "700 0" ]
	[ "$(stat -c '%a %u' "$M/$s/ctl")" = "600 0" ]
	[ "$(stat -c '%a' "$M/net/tcp")" = 444 ]
	ctl "$s" close
}

@test "ln, ln -s, mv and mknod in the tree give EPERM, not EIO" {
	s=$(mk_socket AF_INET SOCK_STREAM 6)
	eperm ln "$M/$s/ctl" "$M/$s/ctl2"
	eperm ln -s ctl "$M/$s/ctl2"
	eperm mv "$M/$s/ctl" "$M/$s/ctl2"
	eperm mv "$M/$s" "$M/renamed"
	eperm ln -s "$s" "$M/alias"
	eperm ln "$M/socket" "$M/socket2"
	eperm mknod "$M/fifo" p
	eperm mknod "$M/$s/fifo" p
	[ -e "$M/$s/ctl" ]
	[ ! -e "$M/$s/ctl2" ]
	ctl "$s" close
}
