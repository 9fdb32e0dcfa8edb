#!/usr/bin/env bash
# tests/snippets.sh FILE.md — run a markdown file's shell snippets in order,
# as a reader pasting them into a shell would, and check what they print.
# tests/docs.bats runs it on README.md and docs/tour.md, so the docs cannot
# rot.
#
# Which blocks run, and how, is said by an HTML comment before each code
# block, indented or fenced (comments do not show when the markdown is
# rendered):
#
#   <!-- run -->          the block runs in the reader's shell; it must print
#                         nothing on stderr (no "write error: ...")
#   <!-- run: fails -->   likewise, but it must print an error on stderr
#   <!-- run: bg NAME --> the block is another terminal: it runs in the
#                         background, its output collected under NAME and its
#                         stdin a pipe that checks type into
#   <!-- skip -->         not run (make run itself, sample output)
#   <!-- check: CMD -->   not shown: CMD runs in the reader's shell at that
#                         point and must succeed; one command a line, and the
#                         comment may span lines
#
# Every code block must have one of the first four, so a new snippet is
# never silently left out. The helpers checks use are below (out_has,
# bg_has, typein, ctrl_d, stop, gone, eventually).
#
# The mount point /mnt/sock becomes $M, and the namespace `sockfs` (as in
# `ip netns exec sockfs`) becomes $NS, so the run never touches a live
# `make run`. M and NS must be set; the caller runs this inside a private
# network namespace with a sockfsd serving $M whose TAP is in $NS.
# SNIPPET_TIMEOUT bounds each block's run (default 30 s).
set -uo pipefail

_sn_md=$1
: "${M:?M must be the mount point}" "${NS:?NS must be the network namespace}"
_sn_tmp=$(mktemp -d)
_sn_name=${_sn_md##*/}
# How long one block may run (ping -c 3 takes 2 s).
_sn_limit=${SNIPPET_TIMEOUT:-30}
declare -A _sn_w=() _sn_pid=()
_sn_bgpids=()
_sn_out=/dev/null _sn_err=/dev/null

# ---- parsing -----------------------------------------------------------------

# Steps: parallel arrays of kind (run, fails, bg, skip, check), line, arg, code.
_sn_kind=() _sn_line=() _sn_arg=() _sn_code=()
_sn_parse() {
	local -a lines
	mapfile -t lines <"$_sn_md"
	local n=${#lines[@]} i=0 line pending="" pending_arg="" pending_line=0 code start prev=""
	while ((i < n)); do
		line=${lines[i]}
		if [[ $line =~ ^\<!--\ (run|run:\ fails|run:\ bg\ [A-Za-z0-9_-]+|skip)\ --\>$ ]]; then
			[[ -z $pending ]] || { echo "$_sn_name:$((i + 1)): two markers in a row" >&2; return 1; }
			case ${BASH_REMATCH[1]} in
			run) pending=run ;;
			"run: fails") pending=fails ;;
			skip) pending=skip ;;
			*) pending=bg pending_arg=${BASH_REMATCH[1]#run: bg } ;;
			esac
			pending_line=$((i + 1))
			prev=$line
			((i++))
			continue
		fi
		if [[ $line == "<!-- check:"* ]]; then
			start=$((i + 1))
			code=${line#"<!-- check:"}
			while [[ $code != *"-->" ]]; do
				((i++))
				((i < n)) || { echo "$_sn_name:$start: unterminated check" >&2; return 1; }
				code+=$'\n'${lines[i]}
			done
			code=${code%"-->"}
			_sn_kind+=(check) _sn_line+=("$start") _sn_arg+=("") _sn_code+=("$code")
			prev=$line
			((i++))
			continue
		fi
		# An indented code block starts after a blank line (or a marker); a
		# fenced one (```) anywhere.
		if [[ $line == '```'* || ( $line == "    "* && ( -z $prev || $prev == "<!--"* ) ) ]]; then
			start=$((i + 1))
			code=""
			if [[ $line == '```'* ]]; then
				((i++))
				while ((i < n)) && [[ ${lines[i]} != '```'* ]]; do
					code+=${lines[i]}$'\n'
					((i++))
				done
				((i++))
			else
				while ((i < n)) && [[ ${lines[i]} == "    "* || -z ${lines[i]} ]]; do
					code+=${lines[i]#    }$'\n'
					((i++))
				done
			fi
			if [[ -z $pending ]]; then
				echo "$_sn_name:$start: code block without a <!-- run / skip --> marker" >&2
				return 1
			fi
			# The reader's mount point and namespace become the test's.
			code=${code//\/mnt\/sock/$M}
			code=${code//ip netns exec sockfs /ip netns exec $NS }
			_sn_kind+=("$pending") _sn_line+=("$start") _sn_arg+=("$pending_arg") _sn_code+=("$code")
			pending="" pending_arg=""
			prev=""
			continue
		fi
		if [[ -n $pending && -n $line ]]; then
			echo "$_sn_name:$pending_line: marker not followed by a code block" >&2
			return 1
		fi
		prev=$line
		((i++))
	done
	[[ -z $pending ]] || { echo "$_sn_name:$pending_line: marker at the end" >&2; return 1; }
}

# ---- helpers for checks -------------------------------------------------------

# wait_for SECS CMD...: poll CMD every 20 ms for at most SECS seconds.
_sn_wait() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.02
	done
}
# out_has TEXT: the last run block's output (stdout and stderr) has TEXT;
# output of its background jobs counts too, so this polls for a while.
out_has() { _sn_wait 10 grep -qF -- "$1" "$_sn_out" "$_sn_err"; }
# bg_has NAME TEXT: background block NAME has printed TEXT (polled).
bg_has() { _sn_wait 10 grep -qF -- "$2" "$_sn_tmp/$1.out"; }
# typein NAME LINE: type LINE and Enter into background block NAME.
typein() { printf '%s\n' "$2" >&"${_sn_w[$1]}"; }
# ctrl_d NAME: end NAME's input (Ctrl-D).
ctrl_d() {
	eval "exec ${_sn_w[$1]}>&-"
	unset "_sn_w[$1]"
}
# stop NAME: Ctrl-C in background block NAME's terminal: SIGINT to its
# process group; then wait for it to end.
stop() {
	kill -INT -- "-${_sn_pid[$1]}" 2>/dev/null
	gone "$1"
}
# gone NAME: background block NAME has ended (by itself, e.g. at EOF).
gone() { _sn_wait 10 _sn_dead "${_sn_pid[$1]}"; }
_sn_dead() { ! kill -0 "$1" 2>/dev/null; }
# eventually CMD...: CMD succeeds within 10 s.
eventually() { _sn_wait 10 "$@"; }
# kernel_listens ADDR:PORT: a kernel socket in $NS listens there.
kernel_listens() { ip netns exec "$NS" ss -Hltn "src $1" | grep -q .; }
# stack_listens PORT: a sockfs socket listens on PORT (net/tcp or
# net/tcp6 state 0A).
stack_listens() { grep -Eq ":$(printf %04X "$1") (0{8}|0{32}):0000 0A" "$M/net/tcp" "$M/net/tcp6"; }
# addr6_ready: the stack's 2001:2::2 has left DAD (net/if_inet6 flags 80).
addr6_ready() { grep -q "^20010002000000000000000000000002 [0-9a-f]* 40 00 80 " "$M/net/if_inet6"; }
# bg_opened NAME FILE: a process of background block NAME has FILE open
# (a reader of trace sees lines only from its open on).
bg_opened() {
	local p fd
	for p in $(pgrep -g "${_sn_pid[$1]}"); do
		for fd in /proc/"$p"/fd/*; do
			[[ $(readlink "$fd" 2>/dev/null) == "$2" ]] && return 0
		done
	done
	return 1
}
# not CMD...: CMD fails.
not() { ! "$@"; }
# refused ADDR PORT: a kernel connect from $NS to ADDR:PORT is refused.
refused() { ! ip netns exec "$NS" nc -z -w 2 "$1" "$2" 2>/dev/null; }

# ---- running -----------------------------------------------------------------

_sn_fail() {
	echo "$_sn_name:$1: $2" >&2
	shift 2
	local f
	for f in "$@"; do
		[[ -s $f ]] && { echo "--- ${f##*/}:"; cat "$f"; } >&2
	done
	exit 1
}

# Every pipe we type into is closed in everything else we start, so that
# ctrl_d is an EOF for its reader alone.
_sn_closers() {
	local fd s=""
	for fd in "${_sn_w[@]}"; do s+=" $fd>&-"; done
	echo "$s"
}

_sn_cleanup() {
	local p
	# Jobs the blocks left running (cat trace &), and the background
	# blocks with their children.
	pkill -TERM -P $$ 2>/dev/null
	for p in "${_sn_bgpids[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null
	done
	rm -rf "$_sn_tmp"
}
trap _sn_cleanup EXIT

_sn_parse || exit 1
for ((_sn_i = 0; _sn_i < ${#_sn_kind[@]}; _sn_i++)); do
	_sn_k=${_sn_kind[_sn_i]} _sn_l=${_sn_line[_sn_i]}
	case $_sn_k in
	skip) continue ;;
	check)
		while IFS= read -r _sn_c; do
			[[ $_sn_c =~ ^[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]] || continue
			_sn_c=${BASH_REMATCH[1]}
			eval "$_sn_c" || _sn_fail "$_sn_l" "check failed: $_sn_c" "$_sn_out" "$_sn_err"
		done <<<"${_sn_code[_sn_i]}"
		;;
	run | fails)
		printf '%s\n' "${_sn_code[_sn_i]}" >"$_sn_tmp/block"
		# A file per block: jobs a block leaves in the background go on
		# writing to it.
		_sn_out=$_sn_tmp/out.$_sn_l _sn_err=$_sn_tmp/err.$_sn_l
		# A block that hangs (a client that never exits) fails here, with
		# its line, rather than at the caller's timeout: the watchdog ends
		# the whole process group.
		{ sleep "$_sn_limit" && echo "$_sn_name:$_sn_l: block still running after $_sn_limit s" >&2 && kill -TERM 0; } 3>&- &
		_sn_wd=$!
		eval "{ . \"\$_sn_tmp/block\"; } </dev/null >\"\$_sn_out\" 2>\"\$_sn_err\" $(_sn_closers)"
		pkill -P "$_sn_wd" sleep
		kill "$_sn_wd" 2>/dev/null
		if [[ $_sn_k == run && -s $_sn_err ]]; then
			_sn_fail "$_sn_l" "block printed an error" "$_sn_tmp/block" "$_sn_err"
		elif [[ $_sn_k == fails && ! -s $_sn_err ]]; then
			_sn_fail "$_sn_l" "block was to fail, but printed no error" "$_sn_tmp/block" "$_sn_out"
		fi
		;;
	bg)
		_sn_a=${_sn_arg[_sn_i]}
		printf '%s\n' "${_sn_code[_sn_i]}" >"$_sn_tmp/$_sn_a.sh"
		mkfifo "$_sn_tmp/$_sn_a.in"
		# A job of its own (set -m), as in a terminal: its own process
		# group, which Ctrl-C (stop) signals, and SIGINT not ignored.
		set -m
		eval "( . \"\$_sn_tmp/\$_sn_a.sh\" ) <\"\$_sn_tmp/\$_sn_a.in\" >\"\$_sn_tmp/\$_sn_a.out\" 2>&1 $(_sn_closers) &"
		set +m
		_sn_pid[$_sn_a]=$!
		_sn_bgpids+=($!)
		exec {_sn_fd}>"$_sn_tmp/$_sn_a.in"
		_sn_w[$_sn_a]=$_sn_fd
		;;
	esac
	echo "$_sn_name:$_sn_l: ok ($_sn_k)"
done
