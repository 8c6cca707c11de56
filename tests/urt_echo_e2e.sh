#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end test of urt-echo (run by meson test): it prints its address,
# echoes what clients send (several clients at once, a large payload), keeps
# serving after a client resets, and exits 0 on SIGTERM with clients still
# connected; urt-load runs against it. Each accept/receive mode is run:
# multishot accept (default), --single-accept, and the provided-buffer
# ring, including a ring of 2 buffers that runs dry all the time, and two
# loops (--threads 2; tests/threads_e2e.sh tests those in depth).
# Usage: urt_echo_e2e.sh URT-ECHO [URT-LOAD]
set -u
ECHO=$1
LOAD=${2:-}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# load_big ARGS...: urt-load ARGS against the server must end within 10 s
# (a hang is what is tested, so the bound is generous: the runs take 1 s),
# exit 0, and report requests and no errors
load_big() {
	local t0 rc ms
	t0=$(date +%s%N)
	timeout 10 "$LOAD" --port "$port" "$@" >"$work/load3" 2>&1; rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$rc" != 124 ] || fail "urt-load $* still running after 10 s"
	[ "$rc" = 0 ] || fail "urt-load $*: exit status $rc: $(cat "$work/load3")"
	grep -q "errors 0$" "$work/load3" || fail "urt-load $* saw errors: $(cat "$work/load3")"
	grep -qE " [1-9][0-9]* req/s" "$work/load3" || fail "urt-load $* did no requests: $(cat "$work/load3")"
	echo "urt-load $*: $ms ms: $(cat "$work/load3")"
}

# Everything below runs once per server mode.
one_mode() {
	rm -f "$work/out" # the previous mode's ready line must not be read
	"$ECHO" "$@" --port 0 >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 200); do grep -qs listening "$work/out" && break; sleep 0.05; done
	line=$(head -1 "$work/out")
	case "$line" in "urt-echo: listening on 127.0.0.1:"*) ;; *) fail "no address line: '$line'" ;; esac
	port=${line##*:}

	# one client, several lines
	exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
	for i in 1 2 3; do
		printf 'line %d\n' "$i" >&3
		read -r -t 5 got <&3 || fail "no echo for line $i"
		[ "$got" = "line $i" ] || fail "echoed '$got' for 'line $i'"
	done

	# a second client at the same time, with 1 MiB of data
	head -c 1048576 /dev/urandom >"$work/big"
	exec 4<>"/dev/tcp/127.0.0.1/$port" || fail "connect 2"
	cat "$work/big" >&4 &
	head -c 1048576 <&4 >"$work/big.echo"
	cmp -s "$work/big" "$work/big.echo" || fail "1 MiB echo differs"

	# a client that resets; the server keeps serving the first one
	python3 - "$port" <<-'PY' 2>/dev/null || perl -MSocket -e '
		socket(my $s, PF_INET, SOCK_STREAM, 0) or exit 0;
		connect($s, pack_sockaddr_in($ARGV[0], inet_aton("127.0.0.1"))) or exit 0;
		setsockopt($s, SOL_SOCKET, SO_LINGER, pack("ii", 1, 0)); close($s);' "$port"
	import socket, struct, sys
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
	s.close()
	PY
	printf 'after reset\n' >&3
	read -r -t 5 got <&3 || fail "no echo after a reset client"
	[ "$got" = "after reset" ] || fail "echoed '$got' after reset"

	# urt-load (optional second argument) against it: 0 errors, some requests
	if [ -n "$LOAD" ]; then
		"$LOAD" --port "$port" --conns 20 --duration 0.5 >"$work/load" 2>&1 || fail "urt-load failed: $(cat "$work/load")"
		grep -q "errors 0$" "$work/load" || fail "urt-load saw errors: $(cat "$work/load")"
		grep -qE " [1-9][0-9]* req/s" "$work/load" || fail "urt-load did no requests: $(cat "$work/load")"
		"$LOAD" --port "$port" --conns 1 --duration 0.2 --pipeline 8 --size 3000 >"$work/load2" 2>&1 ||
			fail "urt-load --pipeline failed: $(cat "$work/load2")"
		# batches larger than the socket buffers hold: sending all of one
		# before reading deadlocked (the run never ended); now the run ends
		# at its duration (a batch in flight then is dropped, not an error)
		load_big --conns 2 --size 1M --pipeline 8 --duration 0.5
		if [ -z "$*" ]; then
			load_big --conns 1 --size 16777216 --duration 1
			load_big --conns 3 --size 64K --pipeline 1024 --duration 1
		fi
	fi

	# SIGTERM with clients connected: exits 0, promptly
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && fail "still running 5 s after SIGTERM"
	wait "$pid"; rc=$?
	pid=
	[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
	exec 3<&- 4<&-
}

for mode in "" --single-accept --bufring --bufring=2 "--threads 2" "--threads 2 --bufring=2 --single-accept"; do
	one_mode $mode || exit 1
	echo "ok mode '$mode'"
done

# a server that accepts (the kernel does, from the backlog) and never
# answers: the run still ends at its duration, with nothing done (exit 1)
# and no error counted; each connection used to wait for its answer forever
if [ -n "$LOAD" ]; then
	perl -MSocket -e 'socket(S, PF_INET, SOCK_STREAM, 0) or die; bind(S, pack_sockaddr_in(0, inet_aton("127.0.0.1"))) or die;
		listen(S, 64) or die; my ($p) = unpack_sockaddr_in(getsockname(S)); $| = 1; print "$p\n"; sleep 30' >"$work/silent" &
	pid=$!
	for _ in $(seq 100); do [ -s "$work/silent" ] && break; sleep 0.05; done
	port=$(head -1 "$work/silent")
	[ -n "$port" ] || fail "no silent server"
	for mode in echo http; do
		timeout 10 "$LOAD" --mode $mode --port "$port" --conns 3 --duration 1 >"$work/load4" 2>&1; rc=$?
		[ "$rc" != 124 ] || fail "urt-load --mode $mode against a silent server still running after 10 s"
		[ "$rc" = 1 ] || fail "urt-load --mode $mode against a silent server: exit status $rc: $(cat "$work/load4")"
		grep -q " 0 req/s.*errors 0$" "$work/load4" || fail "urt-load against a silent server: $(cat "$work/load4")"
	done
	kill "$pid"; wait "$pid" 2>/dev/null
	pid=
	echo "ok urt-load against a silent server"
fi

# bad usage
"$ECHO" --port 70000 >/dev/null 2>&1 && fail "--port 70000 accepted"
"$ECHO" --host not-an-ip --port 0 >/dev/null 2>"$work/err2" && fail "bad host accepted"
grep -q "cannot listen" "$work/err2" || fail "no message for a bad host"
echo "ok urt-echo"
