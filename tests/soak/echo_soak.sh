#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Echo soak (issue 23; doc/soak.md): CONNS concurrent connections to
# urt-echo for DURATION seconds, every byte verified by tests/soak/soak_echo
# (plain epoll, no urt), zero errors; the server's RSS after warm-up and at
# the end (connections still open) must not grow by more than
# RSS_SLACK_KIB + RSS_SLACK_PCT % of the start. Run once per backend in
# BACKENDS (default "uring epoll"). Prints one summary row per backend.
# Usage: echo_soak.sh BUILD_DIR
#   env: CONNS (10000), DURATION (s, 10), WARMUP (s, 2), SEED (1),
#        RSS_SLACK_KIB (8192), RSS_SLACK_PCT (10), BACKENDS, ECHO_ARGS
set -u
build=$1
ECHO=$build/tools/urt-echo
CLIENT=$build/tests/soak/soak_echo
CONNS=${CONNS:-10000}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
SEED=${SEED:-1}
RSS_SLACK_KIB=${RSS_SLACK_KIB:-8192}
RSS_SLACK_PCT=${RSS_SLACK_PCT:-10}
BACKENDS=${BACKENDS:-uring epoll}
ECHO_ARGS=${ECHO_ARGS:-} # more urt-echo options, e.g. --bufring or --threads 2
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 10,000 connections: the client and the server each hold CONNS fds
want=$((CONNS + 256))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
	ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	[ "$(ulimit -n)" -ge "$want" ] || { echo "SKIP: ulimit -n $(ulimit -n) < $want"; exit 77; }
fi

rows=()
status=0
for be in $BACKENDS; do
	envbe=()
	[ "$be" = epoll ] && envbe=(env URT_BACKEND=epoll)
	rm -f "$work/out"
	"${envbe[@]}" "$ECHO" --port 0 $ECHO_ARGS >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 200); do grep -qs listening "$work/out" && break; sleep 0.05; done
	line=$(head -1 "$work/out")
	case "$line" in "urt-echo: listening on 127.0.0.1:"*) ;; *) fail "$be: no address line: '$line'" ;; esac
	port=${line##*:}
	t0=$(date +%s)
	"$CLIENT" --port "$port" --conns "$CONNS" --duration "$DURATION" --warmup "$WARMUP" \
		--seed "$SEED" --pid "$pid" >"$work/client" 2>"$work/client.err"
	rc=$?
	secs=$(($(date +%s) - t0))
	# the server must still be alive and stop cleanly
	kill -0 "$pid" 2>/dev/null || fail "$be: urt-echo died: $(cat "$work/err")"
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && fail "$be: urt-echo did not stop on SIGTERM"
	wait "$pid"; src=$?; pid=
	[ "$src" = 0 ] || fail "$be: urt-echo exit status $src: $(cat "$work/err")"
	get() { awk -v k="$1" '$1 == k { print $2 }' "$work/client"; }
	held=$(get held) bytes=$(get bytes_verified) errs=$(get errors) msgs=$(get messages)
	r0=$(get rss_start_kib) r1=$(get rss_end_kib) rmax=$(get rss_max_kib)
	verdict=ok
	if [ "$rc" != 0 ] || [ "$held" != "$CONNS" ] || [ "$errs" != 0 ]; then
		verdict=FAIL
		echo "FAIL: $be: client exit $rc, held ${held:-?}/$CONNS, errors ${errs:-?}: $(head -20 "$work/client.err")"
	elif [ -z "$r0" ] || [ "$r0" -le 0 ] || [ -z "$r1" ] || [ "$r1" -le 0 ]; then
		verdict=FAIL
		echo "FAIL: $be: no RSS sample (start '$r0', end '$r1')"
	else
		bound=$((r0 + RSS_SLACK_KIB + r0 * RSS_SLACK_PCT / 100))
		if [ "$r1" -gt "$bound" ]; then
			verdict=FAIL
			echo "FAIL: $be: server RSS grew from $r0 KiB to $r1 KiB (bound $bound KiB)"
		fi
	fi
	[ "$verdict" = ok ] || status=1
	rows+=("$(printf '%-6s %7s %7s %10s %14s %6s %10s %10s %10s %5s  %s' "$be" "$CONNS" "$held" \
		"$msgs" "$bytes" "$errs" "$r0" "$r1" "$rmax" "$secs" "$verdict")")
done

echo "== echo soak: $CONNS connections x ${DURATION} s per backend (RSS in KiB; bound: start + $RSS_SLACK_KIB KiB + $RSS_SLACK_PCT %)"
printf '%-6s %7s %7s %10s %14s %6s %10s %10s %10s %5s  %s\n' backend conns held messages bytes_verified errors \
	rss_start rss_end rss_max secs result
for r in "${rows[@]}"; do echo "$r"; done
exit $status
