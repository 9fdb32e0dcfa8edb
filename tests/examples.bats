#!/usr/bin/env bats
# Every script in examples/ runs green against the Linux kernel's own
# tools (nc, curl, dig, ping replies) on the far side of the TAP.

load helpers

EX=$ROOT/examples

setup_file() { sockfsd_start sft-ex; }
teardown_file() { sockfsd_stop; }
teardown() {
	bg_kill
	common_teardown
}

# listener_on PORT: INO of a socket of ours listening on PORT.
listener_on() {
	local d loc st
	for d in "$M"/[0-9]*; do
		read -r loc 2>/dev/null <"$d/local" || continue
		[[ ${loc##*:} == "$1" ]] || continue
		st=$(status_field "${d##*/}" sk_state 2>/dev/null) || continue
		[[ $st == LISTEN ]] && { echo "${d##*/}"; return 0; }
	done
	return 1
}

# connected_on PORT: how many connected sockets of ours have local port PORT.
connected_on() {
	local d loc rem n=0
	for d in "$M"/[0-9]*; do
		read -r loc 2>/dev/null <"$d/local" || continue
		[[ ${loc##*:} == "$1" ]] || continue
		read -r rem 2>/dev/null <"$d/remote" || continue
		n=$((n + 1))
	done
	echo "$n"
}
# no_socket_to ADDR:PORT: none of our sockets has that peer.
no_socket_to() {
	local d rem
	for d in "$M"/[0-9]*; do
		read -r rem 2>/dev/null <"$d/remote" || continue
		[[ $rem != "$1" ]] || return 1
	done
}
connected_count_is() { [[ $(connected_on "$1") == "$2" ]]; }

@test "http-get.sh fetches a page from a kernel HTTP server" {
	port=$(test_port)
	printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello from the kernel\n' >"$BATS_TEST_TMPDIR/resp"
	kernel_listen "$port" "$BATS_TEST_TMPDIR/req" "$BATS_TEST_TMPDIR/resp"
	run env SOCKFS="$M" timeout 20 "$EX/http-get.sh" "$HOST_ADDR" "$port" /hello.txt
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "HTTP/1.0 200 OK"* ]]
	[ "${lines[-1]}" = "hello from the kernel" ]
	wait_until 10 file_has "$BATS_TEST_TMPDIR/req" "GET /hello.txt HTTP/1.0"
	grep -q "^Host: $HOST_ADDR" "$BATS_TEST_TMPDIR/req"
	# the script closed its socket
	wait_until 5 no_socket_to "$HOST_ADDR:$port"
	wait_exit "$NC_PID" 10
}

@test "http-get.sh reports a refused connection and fails" {
	run env SOCKFS="$M" timeout 20 "$EX/http-get.sh" "$HOST_ADDR" 9 /
	[ "$status" -ne 0 ]
	[[ $output == *"Connection refused"* ]]
}

@test "http-server.sh serves files to curl, several at once, and 404s the rest" {
	port=$(test_port)
	www=$BATS_TEST_TMPDIR/www
	mkdir -p "$www"
	echo "<h1>sockfs</h1>" >"$www/index.html"
	head -c 300000 /dev/urandom >"$www/blob.bin"
	bg env SOCKFS="$M" "$EX/http-server.sh" "$port" "$www"
	wait_until 10 listener_on "$port"

	run curl -sS --max-time 10 "http://$STACK_ADDR:$port/"
	[ "$status" -eq 0 ]
	[ "$output" = "<h1>sockfs</h1>" ]
	run curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{content_type}' "http://$STACK_ADDR:$port/index.html"
	[ "$output" = "200 text/html" ]
	run curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$STACK_ADDR:$port/nope.txt"
	[ "$output" = 404 ]
	run curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$STACK_ADDR:$port/../etc/passwd"
	[ "$output" = 404 ]

	# five fetches of a 300 kB file at once, each intact
	pids=()
	for i in 1 2 3 4 5; do
		curl -sS --max-time 20 -o "$BATS_TEST_TMPDIR/got$i" "http://$STACK_ADDR:$port/blob.bin" 3>&- &
		pids+=($!)
	done
	for i in 1 2 3 4 5; do
		wait "${pids[i - 1]}"
		same_file "$www/blob.bin" "$BATS_TEST_TMPDIR/got$i"
	done
	# every served connection was closed by the server
	wait_until 10 connected_count_is "$port" 0
}

@test "chat-server.sh relays each client's lines to all the others" {
	port=$(test_port)
	d=$BATS_TEST_TMPDIR
	bg env SOCKFS="$M" "$EX/chat-server.sh" "$port"
	wait_until 10 listener_on "$port"
	# three kernel clients, each fed from a fifo this test writes into
	for c in a b c; do
		mkfifo "$d/in-$c"
		# (the fifo is opened in the background child: it blocks until
		# this test opens the writing end)
		bg bash -c 'exec nc -N "$1" "$2" <"$3" >"$4"' _ "$STACK_ADDR" "$port" "$d/in-$c" "$d/out-$c"
	done
	exec {fa}>"$d/in-a" {fb}>"$d/in-b" {fc}>"$d/in-c"
	wait_until 10 connected_count_is "$port" 3

	echo "hello from a" >&"$fa"
	wait_until 10 file_has "$d/out-b" "hello from a"
	wait_until 10 file_has "$d/out-c" "hello from a"
	echo "and b answers" >&"$fb"
	wait_until 10 file_has "$d/out-a" "and b answers"
	wait_until 10 file_has "$d/out-c" "and b answers"
	# lines carry the sender's address
	grep -q "^\[$HOST_ADDR:[0-9]*\] hello from a$" "$d/out-b"
	# nobody hears themselves
	not grep -q "hello from a" "$d/out-a"
	not grep -q "and b answers" "$d/out-b"
	# c hangs up: the others are told, and c's socket is closed
	exec {fc}>&-
	wait_until 10 file_has "$d/out-a" "left"
	wait_until 10 connected_count_is "$port" 2
	exec {fa}>&- {fb}>&-
	wait_until 10 connected_count_is "$port" 0
}

# bound_on PORT: one of our sockets has local port PORT.
bound_on() {
	local d loc
	for d in "$M"/[0-9]*; do
		read -r loc 2>/dev/null <"$d/local" || continue
		[[ ${loc##*:} == "$1" ]] && return 0
	done
	return 1
}

@test "udp-echo.sh answers several kernel nc -u clients at once, each its own datagrams" {
	port=$(test_port)
	d=$BATS_TEST_TMPDIR
	bg env SOCKFS="$M" "$EX/udp-echo.sh" "$port"
	wait_until 10 bound_on "$port"
	pids=()
	for i in 1 2 3; do
		printf 'client %d, first\nclient %d, second\n' "$i" "$i" >"$d/in$i"
		# -w2: nc -u ends two seconds after the last reply
		timeout 20 nc -u -w2 "$STACK_ADDR" "$port" <"$d/in$i" >"$d/out$i" 3>&- &
		pids+=($!)
	done
	for i in 1 2 3; do
		wait "${pids[i - 1]}" || true
		same_file "$d/in$i" "$d/out$i"
	done
}

@test "dns-responder.sh answers dig: an A record, NXDOMAIN, and names case-insensitively" {
	port=$(test_port)
	printf 'www.test 198.18.0.80\nmail.test 198.18.0.25\n' >"$BATS_TEST_TMPDIR/hosts"
	bg env SOCKFS="$M" "$EX/dns-responder.sh" "$port" "$BATS_TEST_TMPDIR/hosts"
	wait_until 10 bound_on "$port"
	q() { timeout 10 dig @"$STACK_ADDR" -p "$port" +tries=1 +time=3 "$@"; }
	[ "$(q +short www.test)" = 198.18.0.80 ]
	[ "$(q +short MAIL.Test)" = 198.18.0.25 ]
	run q nope.test
	[[ $output == *"status: NXDOMAIN"* ]]
	# the name exists, not as an MX: an empty answer, no error
	run q www.test MX
	[[ $output == *"status: NOERROR"* && $output == *"ANSWER: 0"* ]]
}

@test "ping.sh pings the kernel through a ping socket and prints RTTs like ping(8)" {
	run env SOCKFS="$M" PING_INTERVAL=0.1 timeout 30 "$EX/ping.sh" "$HOST_ADDR" 3
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "PING $HOST_ADDR 56(84) bytes of data." ]
	for seq in 1 2 3; do
		[[ ${lines[seq]} =~ ^64\ bytes\ from\ $HOST_ADDR:\ icmp_seq=$seq\ time=[0-9]+\.[0-9]{3}\ ms$ ]]
	done
	[[ $output == *"3 packets transmitted, 3 received, 0% packet loss"* ]]
	[[ $output =~ rtt\ min/avg/max\ =\ [0-9.]+/[0-9.]+/[0-9.]+\ ms ]]
	# an address nobody has: every request lost, and ping.sh fails as ping does
	run env SOCKFS="$M" PING_INTERVAL=0.1 timeout 30 "$EX/ping.sh" 198.18.0.77 1
	[ "$status" -eq 1 ]
	[[ $output == *"1 packets transmitted, 0 received, 100% packet loss"* ]]
}

@test "portscan.sh finds exactly the kernel's open ports" {
	base=$(test_port)
	nc -l "$HOST_ADDR" $((base + 3)) >/dev/null 3>&- &
	BG_PIDS="$!"
	nc -l "$HOST_ADDR" $((base + 7)) >/dev/null 3>&- &
	BG_PIDS="$BG_PIDS $!"
	wait_until 5 listening $((base + 3))
	wait_until 5 listening $((base + 7))
	run env SOCKFS="$M" timeout 60 "$EX/portscan.sh" "$HOST_ADDR" "$base" $((base + 9))
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '%d open\n%d open' $((base + 3)) $((base + 7)))" ]
	# every probe socket is gone
	for ((p = base; p <= base + 9; p++)); do
		no_socket_to "$HOST_ADDR:$p"
	done
}

@test "loss-demo.sh shows retransmissions in trace and status under 3% loss" {
	# Its mount point and work files go under TMPDIR; none may be left.
	tmp=$BATS_TEST_TMPDIR/tmp
	mkdir "$tmp"
	run env -u SOCKFS TMPDIR="$tmp" SOCKFSD="$SOCKFSD" timeout 120 "$EX/loss-demo.sh"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ \.\.\.\ ([0-9]+)\ segments\ in\ all ]]
	(( BASH_REMATCH[1] > 0 ))
	[[ $output =~ retransmits:\ ([0-9]+) ]]
	(( BASH_REMATCH[1] > 0 ))
	[[ $output == *"tcp_retransmit_skb seq="* ]]
	[[ $output =~ tcp_set_ca_state\ [A-Za-z]+\ -\>\ (Recovery|Loss)\ cwnd=[0-9]+\ ssthresh=[0-9]+ ]]
	[[ $output == *"arrived intact despite the loss"* ]]
	[ -z "$(ls -A "$tmp")" ]
	# A mount point it was given and had to make, it removes too.
	run env SOCKFS="$tmp/given" SOCKFSD="$SOCKFSD" timeout 120 "$EX/loss-demo.sh" 65536
	[ "$status" -eq 0 ]
	[ ! -e "$tmp/given" ]
}
