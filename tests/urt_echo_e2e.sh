#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end test of urt-echo (run by meson test): it prints its address,
# echoes what clients send (several clients at once, a large payload), keeps
# serving after a client resets, and exits 0 on SIGTERM with clients still
# connected; urt-load runs against it. Each accept/receive mode is run:
# multishot accept (default), --single-accept, and the provided-buffer
# ring, including a ring of 2 buffers that runs dry all the time. Usage: urt_echo_e2e.sh URT-ECHO [URT-LOAD]
set -u
ECHO=$1
LOAD=${2:-}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

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

for mode in "" --single-accept --bufring --bufring=2; do
	one_mode $mode || exit 1
	echo "ok mode '$mode'"
done


# bad usage
"$ECHO" --port 70000 >/dev/null 2>&1 && fail "--port 70000 accepted"
"$ECHO" --host not-an-ip --port 0 >/dev/null 2>"$work/err2" && fail "bad host accepted"
grep -q "cannot listen" "$work/err2" || fail "no message for a bad host"
echo "ok urt-echo"
