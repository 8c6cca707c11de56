#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# urt-httpd against hostile clients (issue 23; doc/soak.md), on each
# backend in BACKENDS. tests/soak/hostile_httpd plays the hostile side
# (plain sockets, no urt); urt-load --mode http is the well-behaved load
# beside it, and must see no error (a non-2xx answer is one) and, beside
# the idle and the slowloris clients, keep at least RATE_MIN_PCT % of the
# rate it had alone (a loose bound: the machine is shared; the storm
# client competes for the same cores, so there only errors count).
# Scenarios, in order, on one server:
#   idle       IDLE keep-alive connections held idle while urt-load runs;
#              afterwards each answers a second request on the same
#              connection
#   slowloris  SLOW clients sending one byte a second: each closed (408)
#              within --header-timeout (HT) + 2 s of its first byte, while
#              urt-load runs at full rate
#   pipeline   BURSTS bursts of 1,000 pipelined requests, all answered in
#              order
#   storm      at least STORM connect-and-vanish clients, and for at least
#              STORM_S seconds (default: as long as urt-load runs beside them)
# on a second server, with --idle-timeout HT:
#   slowread   SLOWREAD clients (at most 64) that pipeline requests and never
#              read the answers: each closed within HT + 2 s of its last
#              write (its sends wait under the idle timeout), urt-load
#              beside them sees no error
# and on a third server started with ulimit -n 64:
#   nofile     NOFILE_CONNS connections (more than its fds): it serves the
#              ones it has, stays under 10 % CPU while out of fds and idle,
#              and answers the rest once those close
# Usage: httpd_soak.sh BUILD_DIR
#   env: IDLE (10000), SLOW (8), HT (3), BURSTS (5), STORM (10000),
#        LOAD_S (3), STORM_S (LOAD_S), SLOWREAD (8), NOFILE_CONNS (200), RATE_MIN_PCT (30), BACKENDS
set -u
build=$1
HTTPD=$build/tools/urt-httpd
LOAD=$build/tools/urt-load
H=$build/tests/soak/hostile_httpd
IDLE=${IDLE:-10000}
SLOW=${SLOW:-8}
HT=${HT:-3}
BURSTS=${BURSTS:-5}
STORM=${STORM:-10000}
LOAD_S=${LOAD_S:-3}
STORM_S=${STORM_S:-$LOAD_S} # the storm goes on at least this long
NOFILE_CONNS=${NOFILE_CONNS:-200}
SLOWREAD=${SLOWREAD:-8}
RATE_MIN_PCT=${RATE_MIN_PCT:-30}
BACKENDS=${BACKENDS:-uring epoll}
work=$(mktemp -d)
pid= hpid=
cleanup() {
	[ -n "$hpid" ] && kill -9 "$hpid" 2>/dev/null
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

want=$((IDLE + 512))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
	ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	[ "$(ulimit -n)" -ge "$want" ] || { echo "SKIP: ulimit -n $(ulimit -n) < $want"; exit 77; }
fi

status=0
rows=()
row() { rows+=("$(printf '%-6s %-10s %-4s %s' "$be" "$1" "$2" "$3")"); [ "$2" = ok ] || status=1; }
get() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# start_server ARGS...: urt-httpd on a free port (sets pid, port)
start_server() {
	rm -f "$work/out"
	"${envbe[@]}" "$HTTPD" --port 0 "$@" >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 200); do grep -qs listening "$work/out" && break; sleep 0.05; done
	line=$(head -1 "$work/out")
	case "$line" in "urt-httpd: listening on 127.0.0.1:"*) ;; *) fail "$be: no address line: '$line'" ;; esac
	port=${line##*:}
}
stop_server() {
	kill -0 "$pid" 2>/dev/null || fail "$be: urt-httpd died: $(cat "$work/err")"
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "$be: urt-httpd did not stop on SIGTERM"
	wait "$pid"; local rc=$?; pid=
	[ "$rc" = 0 ] || fail "$be: urt-httpd exit status $rc: $(cat "$work/err")"
}
# load SECS: urt-load --mode http; prints its req/s, "" on failure
load() {
	timeout $(($1 + 30)) "$LOAD" --mode http --port "$port" --conns 50 --duration "$1" >"$work/load" 2>&1 || {
		echo "urt-load failed: $(cat "$work/load")" >&2; return; }
	grep -q "errors 0$" "$work/load" || { echo "urt-load saw errors: $(cat "$work/load")" >&2; return; }
	grep -oE "[0-9]+ req/s" "$work/load" | cut -d' ' -f1
}
# rate_ok RATE: at least RATE_MIN_PCT % of the baseline
rate_ok() { [ -n "$1" ] && [ "$1" -gt 0 ] && [ $(($1 * 100)) -ge $((base * RATE_MIN_PCT)) ]; }
# hostile MODE ARGS...: run hostile_httpd in the background (sets hpid)
hostile() { "$H" "$1" "$port" "${@:2}" >"$work/h" 2>"$work/h.err" & hpid=$!; }
hwait() { wait "$hpid"; local rc=$?; hpid=; return $rc; }

for be in $BACKENDS; do
	envbe=()
	[ "$be" = epoll ] && envbe=(env URT_BACKEND=epoll)
	start_server --header-timeout "$HT" --idle-timeout 300 --max-conns $((IDLE + 1000))
	base=$(load "$LOAD_S")
	[ -n "$base" ] || fail "$be: baseline urt-load failed"
	row baseline ok "urt-load alone: $base req/s"

	# idle keep-alive connections + active load
	hostile idle "$IDLE" $((LOAD_S + 2))
	for _ in $(seq 1200); do grep -qs '^ready' "$work/h" && break; kill -0 "$hpid" 2>/dev/null || break; sleep 0.05; done
	rate=$(load "$LOAD_S")
	hwait; rc=$?
	v=ok
	{ [ "$rc" = 0 ] && rate_ok "$rate"; } || { v=FAIL; echo "FAIL: $be idle: exit $rc, rate '$rate': $(head -5 "$work/h.err")"; }
	row idle $v "$(get idle_conns "$work/h") idle conns held, $(get idle_held "$work/h") answered after idling; urt-load beside them: ${rate:-?} req/s"

	# slowloris
	hostile slowloris "$SLOW" "$HT"
	rate=$(load "$HT")
	hwait; rc=$?
	v=ok
	{ [ "$rc" = 0 ] && rate_ok "$rate"; } || { v=FAIL; echo "FAIL: $be slowloris: exit $rc, rate '$rate': $(head -5 "$work/h.err")"; }
	row slowloris $v "$(get slowloris_closed "$work/h")/$SLOW closed ($(get slowloris_408 "$work/h") with 408) $(get close_after_min_s "$work/h")-$(get close_after_max_s "$work/h") s after the first byte (header timeout $HT s); urt-load beside them: ${rate:-?} req/s"

	# pipelined bursts
	timeout 120 "$H" pipeline "$port" "$BURSTS" 1000 >"$work/h" 2>"$work/h.err"; rc=$?
	v=ok
	[ "$rc" = 0 ] || { v=FAIL; echo "FAIL: $be pipeline: exit $rc: $(head -5 "$work/h.err")"; }
	row pipeline $v "$(get pipeline_answered "$work/h") of $((BURSTS * 1000)) answered in order ($BURSTS bursts of 1000)"

	# accept storm
	hostile storm "$STORM" "$STORM_S"
	rate=$(load "$LOAD_S")
	hwait; rc=$?
	v=ok
	# no rate bound: the storm competes for the same two cores by design
	{ [ "$rc" = 0 ] && [ -n "$rate" ]; } || { v=FAIL; echo "FAIL: $be storm: exit $rc, rate '$rate': $(head -5 "$work/h.err")"; }
	row storm $v "$(get storm_clients "$work/h") connect-and-vanish clients in $(get storm_s "$work/h") s, a request after: $(get after_storm "$work/h"); urt-load beside them: ${rate:-?} req/s"
	stop_server

	# slow readers, on a server whose idle timeout is HT
	start_server --idle-timeout "$HT"
	hostile slowread "$SLOWREAD" "$HT"
	rate=$(load $((SLOWREAD / 2 + 1)))
	hwait; rc=$?
	v=ok
	{ [ "$rc" = 0 ] && [ -n "$rate" ]; } || { v=FAIL; echo "FAIL: $be slowread: exit $rc, rate '$rate': $(head -5 "$work/h.err")"; }
	row slowread $v "$(get slowread_closed "$work/h")/$SLOWREAD never reading closed at most $(get slowread_close_after_max_s "$work/h") s after their last write ($(get slowread_sent_bytes "$work/h") B of requests sent; idle timeout $HT s); urt-load beside them: ${rate:-?} req/s"
	stop_server

	# RLIMIT_NOFILE exhausted while accepting
	rm -f "$work/out"
	( ulimit -n 64; exec "${envbe[@]}" "$HTTPD" --port 0 ) >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 200); do grep -qs listening "$work/out" && break; sleep 0.05; done
	line=$(head -1 "$work/out")
	port=${line##*:}
	timeout 120 "$H" nofile "$port" "$NOFILE_CONNS" "$pid" >"$work/h" 2>"$work/h.err"; rc=$?
	v=ok
	[ "$rc" = 0 ] || { v=FAIL; echo "FAIL: $be nofile: exit $rc: $(head -5 "$work/h.err")"; }
	row nofile $v "ulimit -n 64, $NOFILE_CONNS conns: $(get nofile_served_at_once "$work/h") served at once (and again: $(get nofile_served_again "$work/h")), $(get nofile_idle_cpu_pct "$work/h") % CPU out of fds and idle, $(get nofile_answered_after_recovery "$work/h")/$(get nofile_waiting "$work/h") waiting ones answered after recovery"
	stop_server
done

echo "== urt-httpd hostile clients (idle $IDLE, slowloris $SLOW at 1 B/s with header timeout $HT s, $BURSTS x 1000 pipelined, storm $STORM, slow readers $SLOWREAD, nofile $NOFILE_CONNS)"
printf '%-6s %-10s %-4s %s\n' backend scenario res measured
for r in "${rows[@]}"; do echo "$r"; done
exit $status
