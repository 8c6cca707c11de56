#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# urt where io_uring is refused: every tool run under tests/noring.c's
# seccomp filter (io_uring_setup/enter/register fail with EPERM, as under
# Docker's and Podman's default profiles) must pick the epoll backend by
# itself and work: the backend probe, urt-echo with urt-load, urt-httpd
# with curl (or urt-load), urt-cp on a file and a tree. A second pass runs
# the same tool checks with URT_BACKEND=epoll and no filter (forced, not
# denied). One line per check; exit 77 (skip) where no filter can be set.
#
#   noring_e2e.sh NORING PROBE URT_ECHO URT_LOAD URT_HTTPD URT_CP
set -u
NORING=$1 PROBE=$2 ECHO=$3 LOAD=$4 HTTPD=$5 CP=$6
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "PASS: $*"; }

"$NORING" true 2>"$work/err" || { echo "SKIP: cannot install a seccomp filter here: $(cat "$work/err")"; exit 77; }

# the filter really refuses io_uring: forced io_uring must fail with EPERM
if URT_BACKEND=io_uring "$NORING" "$PROBE" >"$work/p" 2>&1; then
	fail "URT_BACKEND=io_uring ran under the filter: $(cat "$work/p")"
fi
grep -q -- "-1 (Operation not permitted)" "$work/p" || fail "forced io_uring: $(cat "$work/p")"
pass "the filter refuses io_uring_setup (forced io_uring: EPERM)"
"$NORING" "$PROBE" >"$work/p" 2>&1 || fail "probe under the filter: $(cat "$work/p")"
[ "$(cat "$work/p")" = "$(printf 'epoll\nok')" ] || fail "probe printed: $(cat "$work/p")"
pass "urt picks epoll by itself and does file I/O and a sleep"
"$PROBE" >"$work/p" 2>&1 || fail "probe without the filter: $(cat "$work/p")"
[ "$(head -1 "$work/p")" = io_uring ] || fail "without the filter: $(cat "$work/p")"

# start_tool NAME CMD...: start a server that prints "NAME: listening on
# 127.0.0.1:PORT"; sets port
start_tool() {
	local name=$1 out=$work/$1.out
	shift
	# a fresh file: the previous pass's ready line must not be read before
	# this server's shell has truncated it
	rm -f "$out"
	"$@" >"$out" 2>"$work/$name.err" &
	pids+=($!)
	for _ in $(seq 200); do grep -qs listening "$out" && break; sleep 0.05; done
	local line
	line=$(head -1 "$out")
	case "$line" in "$name: listening on 127.0.0.1:"*) ;; *) fail "$name: no address line: '$line' $(cat "$work/$name.err")" ;; esac
	port=${line##*:}
}

tools_pass() { # WRAP...: the tool checks, each command prefixed by WRAP
	local how=$1
	shift
	start_tool urt-echo "$@" "$ECHO" --port 0
	"$@" "$LOAD" --port "$port" --conns 4 --duration 0.5 >"$work/load" 2>&1 ||
		fail "$how: urt-load against urt-echo: $(cat "$work/load")"
	grep -q "errors 0$" "$work/load" || fail "$how: urt-load saw errors: $(cat "$work/load")"
	grep -qE " [1-9][0-9]* req/s" "$work/load" || fail "$how: no requests: $(cat "$work/load")"
	pass "$how: urt-echo + urt-load ($(tail -1 "$work/load"))"

	mkdir -p "$work/www"
	head -c 300000 /dev/urandom >"$work/www/f.bin"
	start_tool urt-httpd "$@" "$HTTPD" --port 0 --root "$work/www"
	if command -v curl >/dev/null; then
		curl -sf -o "$work/got" "http://127.0.0.1:$port/f.bin" || fail "$how: curl GET failed"
		cmp -s "$work/www/f.bin" "$work/got" || fail "$how: urt-httpd served different bytes"
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")
		[ "$code" = 404 ] || fail "$how: /nope gave $code"
		pass "$how: urt-httpd serves a file to curl, 404 for a missing one"
	else
		"$@" "$LOAD" --mode http --port "$port" --conns 2 --duration 0.3 --path /f.bin >"$work/load" 2>&1 ||
			fail "$how: urt-load http: $(cat "$work/load")"
		pass "$how: urt-httpd serves urt-load (no curl here)"
	fi

	rm -rf "$work/src" "$work/dst" "$work/one"
	mkdir -p "$work/src/a/b"
	head -c 3145728 /dev/urandom >"$work/src/big"
	for i in 1 2 3 4 5; do head -c $((i * 5000)) /dev/urandom >"$work/src/a/f$i"; done
	echo x >"$work/src/a/b/x"
	"$@" "$CP" "$work/src/big" "$work/one" 2>"$work/cp.err" || fail "$how: urt-cp file: $(cat "$work/cp.err")"
	cmp -s "$work/src/big" "$work/one" || fail "$how: urt-cp copy of a 3 MiB file differs"
	"$@" "$CP" -r "$work/src" "$work/dst" 2>"$work/cp.err" || fail "$how: urt-cp -r: $(cat "$work/cp.err")"
	diff -r "$work/src" "$work/dst" >/dev/null || fail "$how: urt-cp -r copy differs"
	pass "$how: urt-cp copies a 3 MiB file and a tree"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	pids=()
}

tools_pass "io_uring denied (seccomp)" "$NORING"
tools_pass "URT_BACKEND=epoll" env URT_BACKEND=epoll
echo "all noring checks passed"
