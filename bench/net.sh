#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Network benchmark: TCP echo servers (urt-echo against the epoll baseline
# and the raw-liburing floor) and, when urt-httpd is built, urt-httpd against
# nginx. Prints a markdown section on stdout (also written to $OUT), progress
# on stderr.
#
#   bash bench/net.sh [BUILD_DIR]      default BUILD_DIR: build (built with
#                                      ninja first; meson setup if missing)
#
# (a) Echo. Servers, each a "name|ready|command" entry of ECHO_SERVERS below
#     (ready: "line" = wait for "listening on ADDR:PORT" on stdout, or a port
#     number to poll): urt-echo (extra flags from $URT_ECHO_FLAGS),
#     urt-echo-ms (urt-echo --bufring, plus --multishot if it has one; only if
#     `urt-echo --help` mentions --bufring), epoll_echo (bench/epoll_echo.c),
#     raw_echo (bench/raw_echo.c, the io_uring floor). More with
#     EXTRA_ECHO_SERVERS="name|line|command;..." (the command must take a free
#     port and print the ready line). Points (ECHO_POINTS, SIZExCONNS): 64 B at
#     1, 50 and 1000 connections, 4 KiB at 1000; load: urt-load, pipeline 1.
# (b) HTTP, if BUILD_DIR/tools/urt-httpd exists: urt-httpd (extra flags from
#     $URT_HTTPD_FLAGS) against nginx (1 process, no master, started from a
#     config in the work directory, 127.0.0.1:$NGINX_PORT, GET / returns
#     "Hello, World!"), load: wrk -t1 -c{50,256}. nginx and wrk come from
#     apt-get when missing.
#
# Method. Every run starts the server fresh under `taskset -c 0` (the load
# generator runs under `taskset -c 1`), both SCHED_FIFO (see SCHED), waits
# until it is ready, runs the load for DURATION seconds and stops the server
# with SIGTERM. Servers
# alternate within each round and the order rotates from round to round
# (A B C, B C A, C A B, ...); tables give medians over ROUNDS rounds, and
# ratios are medians of the per-round ratios. Figures per run:
#   req/s            from the load generator;
#   CPU us/req       server core's busy time over the run / requests, from the
#                    cpu0 line of /proc/stat read right before and after the
#                    load: user+nice+system+irq+softirq (guest time is part of
#                    user). idle and iowait are not busy; steal is excluded
#                    too (time the host ran something else while this vCPU
#                    wanted to run: not work the server did) and is shown in
#                    the raw numbers. It includes whatever else ran on CPU 0
#                    (loopback softirq work of the server's sends, other
#                    processes), so
#   proc us/req      the server process's own utime+stime (/proc/PID/stat,
#                    all its threads) / requests: the cross-check that other
#                    processes on CPU 0 do not inflate. Over loopback the
#                    protocol work of the server's sends (softirq) runs in the
#                    server's context, and without CONFIG_IRQ_TIME_ACCOUNTING
#                    (as here) it is charged to the process too; CPU 0's
#                    irq+softirq time is in the raw numbers (irq_s);
#   p99              the load generator's 99th percentile latency.
# Syscalls per request: once per server, outside the timed rounds, runs of
# STRACE_SECS at 50 connections (64 B echo; HTTP: wrk -c50):
#   perf   the server started under `perf stat -e raw_syscalls:sys_enter`
#          (an in-kernel count that does not slow the server), minus the
#          count of an idle start/stop of the same server, / requests; left
#          out when perf or the tracepoint is not available;
#   strace `strace -c -f -p PID` attached to the running server: total and
#          the most frequent syscalls / requests. strace stops the server at
#          every syscall, which changes what it measures: io_uring servers
#          find more completions per io_uring_enter, epoll_echo finds the
#          next request already there and skips its EAGAIN reads (seen: 0.1
#          vs 0.4 and 2.2 vs 3.1 syscalls/request). Kept for the per-syscall
#          breakdown; the perf figure is the one to quote.
#
# Environment:
#   ROUNDS=3 DURATION=5      rounds, seconds per run (QUICK=1: 1 round of 1 s,
#                            QUIET_WAIT=3)
#   STRACE_SECS=2            length of each strace / perf run (QUICK=1: 1)
#   ECHO_POINTS="64x1 64x50 64x1000 4096x1000"   echo points (SIZExCONNS)
#   HTTP_CONNS="50 256"      wrk connection counts
#   PARTS="echo http"        which parts to run
#   NGINX_PORT=18080         nginx's listening port (127.0.0.1)
#   SERVER_CPU=0 LOAD_CPU=1  pinning
#   OUT=/tmp/net-results.md  the report is also written here
#   STEAL_MAX_PCT=10 STEAL_RETRIES=2   a timed run with more host steal on the
#                            server core than this is run again (at most this often)
#   QUIET_PCT=15 QUIET_WAIT=10    before each timed run, wait up to QUIET_WAIT s
#                            for the machine (both CPUs) to be at most QUIET_PCT %
#                            busy over 0.5 s (bg_pct in the raw numbers)
#   SCHED=fifo               scheduling of the server, the load generator and
#                            strace: fifo = SCHED_FIFO 50 (chrt -f 50), nice =
#                            nice -20, none = as started. Other people's builds
#                            and tests share these 2 CPUs; at the default
#                            priority a woken server waits for their time slice
#                            (seen: 13k req/s instead of 180k at 50 conns), so
#                            fifo is the default (RT throttling still leaves 5%
#                            to everything else).
#   URT_ECHO_FLAGS= URT_HTTPD_FLAGS=   extra flags for urt-echo / urt-httpd
#
# Fails (exit 1, one line "net.sh: FAILED: ..." on stderr) when a server does
# not start or exits during a run, or when the load generator reports errors
# (urt-load: errors > 0 or non-zero status; wrk: socket errors or non-2xx).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
BUILD_DIR=${1:-${BUILD_DIR:-build}}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-1}
	DURATION=${DURATION:-1}
	STRACE_SECS=${STRACE_SECS:-1}
	QUIET_WAIT=${QUIET_WAIT:-3}
fi
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
STRACE_SECS=${STRACE_SECS:-2}
ECHO_POINTS=${ECHO_POINTS:-64x1 64x50 64x1000 4096x1000}
HTTP_CONNS=${HTTP_CONNS:-50 256}
PARTS=${PARTS:-echo http}
NGINX_PORT=${NGINX_PORT:-18080}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-/tmp/net-results.md}
QUIET_PCT=${QUIET_PCT:-15}
STEAL_MAX_PCT=${STEAL_MAX_PCT:-10}
STEAL_RETRIES=${STEAL_RETRIES:-2}
QUIET_WAIT=${QUIET_WAIT:-10}
SCHED=${SCHED:-fifo}
URT_ECHO_FLAGS=${URT_ECHO_FLAGS:-}
URT_HTTPD_FLAGS=${URT_HTTPD_FLAGS:-}
EXTRA_ECHO_SERVERS=${EXTRA_ECHO_SERVERS:-}

note() { echo "net.sh: $*" >&2; }
SPID=""
fail() {
	echo "net.sh: FAILED: $*" >&2
	exit 1
}
has_part() { [[ " $PARTS " == *" $1 "* ]]; }

work=$(mktemp -d /tmp/urt-net-bench.XXXXXX)
cleanup() {
	if [ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null; then
		kill -TERM "$SPID" 2>/dev/null || true
		sleep 0.5
		kill -KILL "$SPID" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build and snapshot the binaries ------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR" >"$work/build.log" 2>&1 || fail "meson setup $BUILD_DIR failed (see: meson setup $BUILD_DIR)"
fi
ninja -C "$BUILD_DIR" tools/urt-echo tools/urt-load bench/epoll_echo bench/raw_echo >"$work/build.log" 2>&1 ||
	fail "ninja -C $BUILD_DIR failed: $(grep -m1 -E 'error|FAILED' "$work/build.log" || tail -1 "$work/build.log")"
have_httpd=""
httpd_skip=""
if has_part http; then
	if ninja -C "$BUILD_DIR" -t targets all 2>/dev/null | grep '^tools/urt-httpd:' >/dev/null; then
		ninja -C "$BUILD_DIR" tools/urt-httpd >"$work/build-httpd.log" 2>&1 ||
			note "building tools/urt-httpd failed; using the binary already there, if any"
	fi
	if [ -x "$BUILD_DIR/tools/urt-httpd" ]; then
		have_httpd=1
	else
		httpd_skip="skipped: $BUILD_DIR/tools/urt-httpd is not built"
		note "HTTP part $httpd_skip"
	fi
fi
# Run copies, so that a rebuild during the run changes nothing.
bin=$work/bin
mkdir -p "$bin"
for f in tools/urt-echo tools/urt-load bench/epoll_echo bench/raw_echo ${have_httpd:+tools/urt-httpd}; do
	cp "$BUILD_DIR/$f" "$bin/"
done
# The tools link liburt.so (build RUNPATH $ORIGIN/..): snapshot it where the
# copies look for it.
lib=$(ldd "$BUILD_DIR/tools/urt-echo" 2>/dev/null | awk '$1 ~ /^liburt\.so/ { print $1 " " $3; exit }')
if [ -n "$lib" ]; then cp -L "${lib#* }" "$work/${lib%% *}"; fi
LOAD=$bin/urt-load

command -v taskset >/dev/null || fail "taskset not found (util-linux)"
apt_install() { # PACKAGE...: install what is missing
	note "installing $*"
	{ apt-get install -y "$@" >"$work/apt.log" 2>&1 ||
		{ apt-get update >>"$work/apt.log" 2>&1 && apt-get install -y "$@" >>"$work/apt.log" 2>&1; }; } ||
		fail "apt-get install $* failed (log: $(tail -1 "$work/apt.log"))"
}
command -v strace >/dev/null || apt_install strace
if [ -n "$have_httpd" ]; then
	missing=""
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="nginx"
	command -v wrk >/dev/null || missing="$missing wrk"
	# shellcheck disable=SC2086 # one word per package
	[ -z "$missing" ] || apt_install $missing
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# Many connections on both ends need fds: 65536 or the hard limit.
nofile=65536
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ]; then nofile=$hard; fi
ulimit -n "$nofile"
PRIO=()
case $SCHED in
fifo)
	if chrt -f 50 true 2>/dev/null; then PRIO=(chrt -f 50); else
		note "cannot use SCHED_FIFO here (chrt -f 50 failed); trying nice -20"
		SCHED="nice"
	fi
	;;
nice | none) ;;
*) fail "SCHED must be fifo, nice or none, not '$SCHED'" ;;
esac
if [ "$SCHED" = nice ]; then
	if [ "$(nice -n -20 nice 2>/dev/null)" = -20 ]; then PRIO=(nice -n -20); else
		note "cannot run at nice -20 here; running at the default priority"
		SCHED=none
	fi
fi
case $SCHED in fifo) sched_desc="SCHED_FIFO 50" ;; nice) sched_desc="nice -20" ;; *) sched_desc="" ;; esac

# --- servers ------------------------------------------------------------------------
# "name|ready|command": ready is "line" (wait for "listening on ADDR:PORT" on
# stdout; the command must pick a free port) or the port number to poll.
ECHO_SERVERS=("urt-echo|line|$bin/urt-echo --port 0 $URT_ECHO_FLAGS")
echo_help=$("$bin/urt-echo" --help 2>&1 || true)
if [[ $echo_help == *--bufring* ]]; then
	ms_flags="--bufring"
	[[ $echo_help != *--multishot* ]] || ms_flags="--multishot $ms_flags"
	ECHO_SERVERS+=("urt-echo-ms|line|$bin/urt-echo --port 0 $ms_flags")
fi
# urt's own epoll backend (for where io_uring is refused): the same binary
ECHO_SERVERS+=("urt-echo-epoll|line|env URT_BACKEND=epoll $bin/urt-echo --port 0 $URT_ECHO_FLAGS")
ECHO_SERVERS+=("epoll_echo|line|$bin/epoll_echo 0" "raw_echo|line|$bin/raw_echo 0")
if [ -n "$EXTRA_ECHO_SERVERS" ]; then
	IFS=';' read -r -a extra <<<"$EXTRA_ECHO_SERVERS"
	ECHO_SERVERS+=("${extra[@]}")
fi
HTTP_SERVERS=(
	"urt-httpd|line|$bin/urt-httpd --port 0 $URT_HTTPD_FLAGS"
	"urt-httpd-epoll|line|env URT_BACKEND=epoll $bin/urt-httpd --port 0 $URT_HTTPD_FLAGS"
	"nginx|$NGINX_PORT|$NGINX -p $work/nginx/ -c $work/nginx/nginx.conf -e $work/nginx/error.log"
)
ent_name() { echo "${1%%|*}"; }
ent_ready() { local r=${1#*|}; echo "${r%%|*}"; }
ent_cmd() { local r=${1#*|}; echo "${r#*|}"; }
names() { local e; for e in "$@"; do ent_name "$e"; done; }

# start_server ENTRY: start it on SERVER_CPU (under the WRAP command, if
# any); sets SPID and SPORT.
WRAP=()
start_server() {
	local name ready cmd i
	name=$(ent_name "$1")
	ready=$(ent_ready "$1")
	cmd=$(ent_cmd "$1")
	if [ "$ready" != line ] && (exec 3<>"/dev/tcp/127.0.0.1/$ready") 2>/dev/null; then
		fail "port $ready is already in use, cannot start $name"
	fi
	: >"$work/srv.out"
	# shellcheck disable=SC2086 # the command is split into words on purpose
	"${PRIO[@]}" "${WRAP[@]}" taskset -c "$SERVER_CPU" $cmd >"$work/srv.out" 2>&1 </dev/null &
	SPID=$!
	SPORT=""
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$SPID" 2>/dev/null; then
			wait "$SPID" 2>/dev/null || true
			SPID=""
			fail "server '$name' exited during start-up: $(head -c 300 "$work/srv.out" | tr '\n' ' ')"
		fi
		if [ "$ready" = line ]; then
			SPORT=$(sed -n 's/.*listening on [0-9a-fA-F.:]*:\([0-9][0-9]*\).*/\1/p' "$work/srv.out" | head -1)
		elif (exec 3<>"/dev/tcp/127.0.0.1/$ready") 2>/dev/null; then
			SPORT=$ready
		fi
		[ -z "$SPORT" ] || return 0
		sleep 0.05
	done
	fail "server '$name' not ready after 10 s ($cmd)"
}
# stop_server NAME: SIGTERM (SIGKILL after 5 s), reap.
stop_server() {
	local i
	kill -0 "$SPID" 2>/dev/null || fail "server '$1' died during the run: $(head -c 300 "$work/srv.out" | tr '\n' ' ')"
	kill -TERM "$SPID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$SPID" 2>/dev/null; then
		note "server '$1' ignored SIGTERM for 5 s; SIGKILL"
		kill -KILL "$SPID" 2>/dev/null || true
	fi
	wait "$SPID" 2>/dev/null || true
	SPID=""
}
# cpustat: "busy steal irq+softirq" jiffies of SERVER_CPU (busy = user+nice+system+irq+softirq).
cpustat() { awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8, $9, $7 + $8; exit }' /proc/stat; }
# proctime PID: utime+stime jiffies of the process (all threads).
proctime() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
HZ=$(getconf CLK_TCK)

# run_echo_load PORT CONNS SIZE SECS NAME: urt-load on LOAD_CPU; sets RPS
# REQS P50 P99 (us); fails on errors.
run_echo_load() {
	local rc=0 line errs dur
	"${PRIO[@]}" taskset -c "$LOAD_CPU" "$LOAD" --host 127.0.0.1 --port "$1" --conns "$2" --duration "$4" \
		--size "$3" --pipeline 1 >"$work/load.out" 2>"$work/load.err" </dev/null || rc=$?
	line=$(grep -m1 'req/s' "$work/load.out" || true)
	RPS=$(sed -n 's/.* \([0-9.][0-9.]*\) req\/s.*/\1/p' <<<"$line")
	errs=$(sed -n 's/.*errors \([0-9][0-9]*\).*/\1/p' <<<"$line")
	dur=$(sed -n 's/.*duration=\([0-9.][0-9.]*\)s.*/\1/p' <<<"$line")
	if [ "$rc" != 0 ] || [ -z "$RPS" ] || [ "${errs:-1}" != 0 ]; then
		fail "urt-load against $5 (${3} B, $2 conns) reported errors (status $rc): $(cat "$work/load.out" "$work/load.err" | tr '\n' ' ' | head -c 400)"
	fi
	REQS=$(awk -v r="$RPS" -v d="${dur:-$4}" 'BEGIN { printf "%.0f", r * d }')
	P50=$(sed -n 's/.*p50 \([0-9.][0-9.]*\) us.*/\1/p' <<<"$line")
	P99=$(sed -n 's/.*p99 \([0-9.][0-9.]*\) us.*/\1/p' <<<"$line")
}
# wrk_us VALUE: wrk's "1.23ms" / "456.00us" / "1.02s" in us.
wrk_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /m$/) print n * 6e7; else if (v ~ /s$/) print n * 1e6; else print "" }'; }
# run_http_load PORT CONNS SECS NAME: wrk on LOAD_CPU; sets RPS REQS P50 P99.
run_http_load() {
	local rc=0 bad
	"${PRIO[@]}" taskset -c "$LOAD_CPU" wrk -t1 -c"$2" -d"${3}s" --latency "http://127.0.0.1:$1/" >"$work/load.out" 2>&1 </dev/null || rc=$?
	RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$work/load.out")
	REQS=$(awk '/requests in/ { print $1; exit }' "$work/load.out")
	bad=$(awk '/^ *Non-2xx/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$work/load.out")
	if [ "$rc" != 0 ] || [ -z "$RPS" ] || [ -z "$REQS" ] || [ "$bad" != 0 ]; then
		fail "wrk against $4 ($2 conns) reported errors (status $rc): $(tr '\n' ' ' <"$work/load.out" | tr -s ' ' | head -c 400)"
	fi
	P50=$(wrk_us "$(awk '$1 == "50%" { print $2 }' "$work/load.out")")
	P99=$(wrk_us "$(awk '$1 == "99%" { print $2 }' "$work/load.out")")
}
# http_check PORT NAME: GET / must answer 200 "Hello, World!".
http_check() {
	local body
	body=$(curl -s --max-time 5 "http://127.0.0.1:$1/" 2>/dev/null || true)
	[ "$body" = "Hello, World!" ] || fail "$2: GET / answered '$(head -c 80 <<<"$body")', want 'Hello, World!'"
}

# background_busy: busy % of SERVER_CPU over 1 s with no server running (what
# else runs there: other processes and the host's noise land in CPU us/req).
background_busy() {
	local b0 s0 b1 s1 t0 t1
	read -r b0 s0 < <(cpustat)
	t0=$(date +%s%N)
	sleep 1
	read -r b1 s1 < <(cpustat)
	t1=$(date +%s%N)
	awk -v b="$((b1 - b0))" -v hz="$HZ" -v t="$((t1 - t0))" 'BEGIN { printf "%.1f", 100 * b / hz / (t / 1e9) }'
}
bg_before=$(background_busy)
awk -v v="$bg_before" 'BEGIN { exit !(v > 10) }' &&
	note "warning: CPU $SERVER_CPU is already $bg_before% busy with no server running; CPU us/req will include that"

# wait_quiet: before a timed run, wait (up to QUIET_WAIT s) until the whole
# machine is below QUIET_PCT % busy over 0.5 s (other people's builds and
# tests share these 2 CPUs); sets BG (the last busy %, both CPUs together).
wait_quiet() {
	local t0=$SECONDS a0 a1 n0 n1 said=""
	while :; do
		read -r a0 n0 < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat)
		sleep 0.5
		read -r a1 n1 < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat)
		BG=$(awk -v b="$((a1 - a0))" -v n="$((n1 - n0))" 'BEGIN { printf "%.0f", (n > 0 ? 100 * b / n : 0) }')
		[ "$BG" -gt "$QUIET_PCT" ] || return 0
		if [ $((SECONDS - t0)) -ge "$QUIET_WAIT" ]; then
			note "machine still $BG% busy after ${QUIET_WAIT} s of waiting; running anyway"
			return 0
		fi
		[ -n "$said" ] || note "machine $BG% busy (other processes); waiting for it to calm down (QUIET_PCT=$QUIET_PCT)"
		said=1
	done
}

raw=$work/raw.log # one line per run: SECTION key=value ...
: >"$raw"
# measured SECTION POINT ROUND NAME LOADFN ARGS...: CPU figures around one load run.
measured() {
	local sec=$1 point=$2 r=$3 who=$4 fn=$5 b0 s0 q0 b1 s1 q1 p0 p1 try
	shift 5
	# A run during which the host stole more than STEAL_MAX_PCT % of the
	# server core's time is repeated (up to STEAL_RETRIES times): in such
	# bursts every server's figures collapse together (seen: 16k instead of
	# 160k req/s with 1.2-2.1 s of 4 s stolen), which swamps the medians.
	for ((try = 0; ; try++)); do
		wait_quiet
		p0=$(proctime "$SPID")
		read -r b0 s0 q0 < <(cpustat)
		"$fn" "$@"
		read -r b1 s1 q1 < <(cpustat)
		p1=$(proctime "$SPID") || p1=$p0
		[ "$try" -lt "$STEAL_RETRIES" ] || break
		awk -v b="$((b1 - b0))" -v s="$((s1 - s0))" -v m="$STEAL_MAX_PCT" \
			'BEGIN { exit !(b + s > 0 && 100 * s / (b + s) > m) }' || break
		note "$who: $((s1 - s0)) of $((b1 - b0 + s1 - s0)) jiffies stolen by the host; running again"
	done
	awk -v sec="$sec" -v pt="$point" -v r="$r" -v w="$who" -v rps="$RPS" -v n="$REQS" -v hz="$HZ" \
		-v b="$((b1 - b0))" -v s="$((s1 - s0))" -v q="$((q1 - q0))" -v p="$((p1 - p0))" \
		-v p50="${P50:-0}" -v p99="${P99:-0}" -v bg="$BG" 'BEGIN {
		printf "%s point=%s round=%d who=%s rps=%.0f requests=%d busy_s=%.2f steal_s=%.2f irq_s=%.2f proc_s=%.2f cpu_us=%.3f proc_us=%.3f p50_us=%s p99_us=%s bg_pct=%s\n",
			sec, pt, r, w, rps, n, b / hz, s / hz, q / hz, p / hz, (n > 0 ? b / hz * 1e6 / n : 0),
			(n > 0 ? p / hz * 1e6 / n : 0), p50, p99, bg }' >>"$raw"
}
# straced SECTION NAME LOADFN ARGS...: syscalls/request of the running server.
straced() {
	local sec=$1 who=$2 fn=$3 st=$work/strace.$2 spid i calls
	shift 3
	"${PRIO[@]}" strace -c -f -p "$SPID" -o "$st" 2>"$work/strace.err" &
	spid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q attached "$work/strace.err" 2>/dev/null && break
		sleep 0.05
	done
	"$fn" "$@"
	kill -TERM "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	calls=$(awk '$NF == "total" { print $4 }' "$st" 2>/dev/null)
	[ -n "$calls" ] || fail "strace -c -p on $who produced no summary: $(head -c 200 "$work/strace.err" | tr '\n' ' ')"
	# top syscalls: name=calls per request
	top=$(awk '$1 ~ /^[0-9.]+$/ && $NF != "total" { print $4, $NF }' "$st" |
		sort -rn | head -4 | awk -v n="$REQS" '{ printf "%s%s:%.3f", (NR > 1 ? "," : ""), $2, (n > 0 ? $1 / n : 0) }')
	echo "$sec who=$who requests=$REQS syscalls=$calls per_req=$(awk -v c="$calls" -v n="$REQS" 'BEGIN { printf "%.3f", (n > 0 ? c / n : 0) }') top=$top" >>"$raw"
}

# perf_life ENTRY OUTFILE [LOADFN ARGS...]: start the server under perf stat,
# run the load (if any; an argument @PORT becomes the server's port), stop
# it; the syscall count goes to OUTFILE.n.
perf_life() {
	local ent=$1 of=$2 srv i a
	local -a cmd=()
	shift 2
	WRAP=(perf stat -e raw_syscalls:sys_enter "-x," -o "$of" --)
	start_server "$ent"
	WRAP=()
	srv=$(pgrep -P "$SPID" | head -1)
	[ -n "$srv" ] || fail "perf stat: no server process under pid $SPID"
	for a in "$@"; do
		if [ "$a" = @PORT ]; then cmd+=("$SPORT"); else cmd+=("$a"); fi
	done
	if [ ${#cmd[@]} -gt 0 ]; then "${cmd[@]}"; fi
	kill -TERM "$srv" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$SPID" 2>/dev/null && kill -KILL "$srv" 2>/dev/null
	wait "$SPID" 2>/dev/null || true
	SPID=""
	awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 + 0; exit }' "$of" >"$of.n"
}
# perfcounted SECTION WHO ENTRY LOADFN ARGS...: syscalls/request, unperturbed.
perfcounted() {
	local sec=$1 who=$2 ent=$3 idle total
	shift 3
	[ -n "$have_perf" ] || return 0
	perf_life "$ent" "$work/perf.idle"
	perf_life "$ent" "$work/perf.load" "$@"
	idle=$(cat "$work/perf.idle.n")
	total=$(cat "$work/perf.load.n")
	echo "$sec who=$who requests=$REQS syscalls=$total idle_syscalls=$idle per_req=$(awk -v c="$total" -v i="$idle" -v n="$REQS" 'BEGIN { printf "%.3f", (n > 0 ? (c - i) / n : 0) }')" >>"$raw"
}
have_perf=""
if command -v perf >/dev/null && [ "$(perf stat -e raw_syscalls:sys_enter -x, -o "$work/perf.probe" -- true 2>/dev/null &&
	awk -F, '$3 == "raw_syscalls:sys_enter" { print ($1 ~ /^[0-9]+$/) ? "ok" : "no" }' "$work/perf.probe")" = ok ]; then
	have_perf=1
else
	note "perf stat -e raw_syscalls:sys_enter does not work here; syscalls/request from strace only"
fi

# --- helpers for the report (as in bench/cp.sh) ------------------------------------------
field() { # SECTION POINT WHO KEY: one value per round
	awk -v c="$1" -v p="$2" -v w="$3" -v k="$4" '$1 == c {
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["point"] == p && f["who"] == w) print f[k] }' "$raw"
}
sfield() { # SECTION WHO KEY: strace line value
	awk -v c="$1" -v w="$2" -v k="$3" '$1 == c {
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = substr($i, length(kv[1]) + 2) }
		if (f["who"] == w) { print f[k]; exit } }' "$raw"
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratios() { # SECTION POINT NUM DEN KEY: per-round KEY(NUM)/KEY(DEN)
	awk -v c="$1" -v p="$2" -v num="$3" -v den="$4" -v k="$5" '$1 == c {
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["point"] != p) next
		v[f["round"] + 0, f["who"]] = f[k]; if (f["round"] + 0 > n) n = f["round"] + 0
	}
	END { for (r = 1; r <= n; r++) if (((r, num) in v) && ((r, den) in v) && v[r, den] > 0) printf "%.4f\n", v[r, num] / v[r, den] }' "$raw"
}
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "") print "?"; else printf f, v }'; }
order() { # ROUND NAME...: rotated so that round r starts with the ((r-1) mod n)-th
	local r=$1
	shift
	local n=$# i
	local -a a=("$@")
	for ((i = 0; i < n; i++)); do echo "${a[(i + r - 1) % n]}"; done
}
entry_of() { # NAME ENTRY...: the entry called NAME
	local want=$1 e
	shift
	for e in "$@"; do [ "$(ent_name "$e")" != "$want" ] || { echo "$e"; return; }; done
}

# --- (a) echo ---------------------------------------------------------------------------
echo_names=$(names "${ECHO_SERVERS[@]}")
if has_part echo; then
	for r in $(seq 1 "$ROUNDS"); do
		for pt in $ECHO_POINTS; do
			size=${pt%x*}
			conns=${pt#*x}
			# shellcheck disable=SC2086
			for who in $(order "$r" $echo_names); do
				start_server "$(entry_of "$who" "${ECHO_SERVERS[@]}")"
				measured echo "$pt" "$r" "$who" run_echo_load "$SPORT" "$conns" "$size" "$DURATION" "$who"
				stop_server "$who"
				note "echo round $r/$ROUNDS ${size}B x $conns: $who $(fmt "$RPS" %.0f) req/s"
			done
		done
	done
	for who in $echo_names; do
		start_server "$(entry_of "$who" "${ECHO_SERVERS[@]}")"
		straced strace_echo "$who" run_echo_load "$SPORT" 50 64 "$STRACE_SECS" "$who"
		stop_server "$who"
		perfcounted perf_echo "$who" "$(entry_of "$who" "${ECHO_SERVERS[@]}")" \
			run_echo_load @PORT 50 64 "$STRACE_SECS" "$who"
		note "syscalls/request of $who: strace $(sfield strace_echo "$who" per_req)${have_perf:+, perf $(sfield perf_echo "$who" per_req)}"
	done
fi

# --- (b) HTTP -------------------------------------------------------------------------------
http_names=""
if has_part http && [ -n "$have_httpd" ]; then
	mkdir -p "$work/nginx/tmp"
	cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location = / {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
}
EOF
	http_names=$(names "${HTTP_SERVERS[@]}")
	for who in $http_names; do # once: the right answer
		start_server "$(entry_of "$who" "${HTTP_SERVERS[@]}")"
		http_check "$SPORT" "$who"
		stop_server "$who"
	done
	for r in $(seq 1 "$ROUNDS"); do
		for c in $HTTP_CONNS; do
			# shellcheck disable=SC2086
			for who in $(order "$r" $http_names); do
				start_server "$(entry_of "$who" "${HTTP_SERVERS[@]}")"
				measured http "c$c" "$r" "$who" run_http_load "$SPORT" "$c" "$DURATION" "$who"
				stop_server "$who"
				note "http round $r/$ROUNDS $c conns: $who $(fmt "$RPS" %.0f) req/s"
			done
		done
	done
	for who in $http_names; do
		start_server "$(entry_of "$who" "${HTTP_SERVERS[@]}")"
		straced strace_http "$who" run_http_load "$SPORT" 50 "$STRACE_SECS" "$who"
		stop_server "$who"
		perfcounted perf_http "$who" "$(entry_of "$who" "${HTTP_SERVERS[@]}")" \
			run_http_load @PORT 50 "$STRACE_SECS" "$who"
		note "syscalls/request of $who: strace $(sfield strace_http "$who" per_req)${have_perf:+, perf $(sfield perf_http "$who" per_req)}"
	done
fi

# --- report ------------------------------------------------------------------------------------
bg_after=$(background_busy)
bgmed=$(awk '$1 == "echo" || $1 == "http" { for (i = 2; i <= NF; i++) if ($i ~ /^bg_pct=/) print substr($i, 8) }' "$raw" | median)
bgmax=$(awk '$1 == "echo" || $1 == "http" { for (i = 2; i <= NF; i++) if ($i ~ /^bg_pct=/) print substr($i, 8) }' "$raw" | sort -g | tail -1)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit + uncommitted changes"; fi
knobs="ROUNDS=$ROUNDS DURATION=$DURATION STRACE_SECS=$STRACE_SECS SCHED=$SCHED"
[ "$QUICK" != 1 ] || knobs="QUICK=1 $knobs"
[ -z "$URT_ECHO_FLAGS" ] || knobs="$knobs URT_ECHO_FLAGS='$URT_ECHO_FLAGS'"
[ -z "$URT_HTTPD_FLAGS" ] || knobs="$knobs URT_HTTPD_FLAGS='$URT_HTTPD_FLAGS'"
steal=$(awk '$1 == "echo" || $1 == "http" { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } s += f["steal_s"]; b += f["busy_s"] } END { if (b > 0) printf "%.1f", 100 * s / (s + b); else print "?" }' "$raw")
# row SECTION POINT WHO BASE1 [BASE2]: req/s, ratios, CPU figures
row() {
	local sec=$1 pt=$2 who=$3 b1=$4 b2=${5:-} rps cpu rr cr cr2 b
	rps=$(field "$sec" "$pt" "$who" rps | median)
	cpu=$(field "$sec" "$pt" "$who" cpu_us | median)
	if [ "$who" = "$b1" ]; then rr=1; cr=1; else
		rr=$(fmt "$(ratios "$sec" "$pt" "$who" "$b1" rps | median)" %.2f)
		cr=$(fmt "$(ratios "$sec" "$pt" "$who" "$b1" cpu_us | median)" %.2f)
	fi
	printf '| %s | %s | %s | %s | %s | %s' "$pt" "$who" "$(fmt "$rps" %.0f)" "$rr" "$(fmt "$cpu" %.2f)" "$cr"
	if [ -n "$b2" ]; then
		if [ "$who" = "$b2" ]; then cr2=1; else cr2=$(fmt "$(ratios "$sec" "$pt" "$who" "$b2" cpu_us | median)" %.2f); fi
		printf ' | %s' "$cr2"
	fi
	printf ' | %s' "$(fmt "$(field "$sec" "$pt" "$who" proc_us | median)" %.2f)"
	for b in "$b1" $b2; do
		if [ "$who" = "$b" ]; then printf ' | 1'; else printf ' | %s' "$(fmt "$(ratios "$sec" "$pt" "$who" "$b" proc_us | median)" %.2f)"; fi
	done
	printf ' | %s |\n' "$(fmt "$(field "$sec" "$pt" "$who" p99_us | median)" %.0f)"
}
pretty_point() { awk -v p="$1" 'BEGIN { split(p, a, "x"); s = a[1] >= 1024 && a[1] % 1024 == 0 ? a[1] / 1024 " KiB" : a[1] " B"; print s ", " a[2] " conn" (a[2] == 1 ? "" : "s") }'; }
# syscall_table echo|http WHAT: the syscalls-per-request table.
syscall_table() {
	local sec=$1 who names
	if [ "$sec" = echo ]; then names=$echo_names; else names=$http_names; fi
	echo "Syscalls per request ($2, ${STRACE_SECS} s runs outside the timed rounds):${have_perf:+ perf = in-kernel count of raw_syscalls:sys_enter over the whole server run minus an idle start/stop, not slowed;} strace = \`strace -c -f -p\`, which slows every syscall (approximate):"
	echo
	if [ -n "$have_perf" ]; then
		echo "| server | syscalls/req (perf) | requests (perf run) | syscalls/req (strace) | top syscalls per req (strace) |"
		echo "|---|---|---|---|---|"
	else
		echo "| server | syscalls/req (strace) | requests (strace run) | top syscalls per req (strace) |"
		echo "|---|---|---|---|"
	fi
	for who in $names; do
		if [ -n "$have_perf" ]; then
			printf '| %s | %s | %s | %s' "$who" "$(sfield "perf_$sec" "$who" per_req)" "$(sfield "perf_$sec" "$who" requests)" \
				"$(sfield "strace_$sec" "$who" per_req)"
		else
			printf '| %s | %s | %s' "$who" "$(sfield "strace_$sec" "$who" per_req)" "$(sfield "strace_$sec" "$who" requests)"
		fi
		printf ' | %s |\n' "$(sfield "strace_$sec" "$who" top | sed 's/,/, /g; s/:/ /g')"
	done
	echo
}
report_echo() {
	echo "## Network benchmark (bench/net.sh)"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r) ($(uname -m)); steal on CPU $SERVER_CPU during the timed runs: $steal% of its non-idle time; CPU $SERVER_CPU busy with no server running (1 s, before / after): $bg_before% / $bg_after%; whole machine busy right before the timed runs (QUIET_PCT=$QUIET_PCT): median $bgmed%, max $bgmax%"
	echo "- urt: $commit; liburing $(pkg-config --modversion liburing 2>/dev/null || echo '?'); $(cc --version | head -1)$([ -z "$have_httpd" ] || echo "; $("$NGINX" -v 2>&1 | sed 's/.*: //'); $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }')")"
	echo "- command: \`$knobs bash bench/net.sh $BUILD_DIR\`; server under \`taskset -c $SERVER_CPU\`, load under \`taskset -c $LOAD_CPU\`${sched_desc:+, both $sched_desc}, fresh server per run, order rotated each round; medians over $ROUNDS rounds; ratios are medians of per-round ratios"
	echo "- CPU us/req: CPU $SERVER_CPU busy time (/proc/stat user+nice+system+irq+softirq; idle, iowait and steal excluded) over the load run / requests; proc us/req: the server process's utime+stime / requests (not inflated by other processes on CPU $SERVER_CPU; includes the loopback softirq work done in the server's context); p99: load generator's, us"
	# shellcheck disable=SC2016 # markdown backquotes
	has_part echo && echo "- servers:$(for e in "${ECHO_SERVERS[@]}"; do printf ' %s = `%s`;' "$(ent_name "$e")" "$(ent_cmd "$e" | sed "s|$bin/||g; s/ *$//")"; done | sed 's/;$//')"
	echo
	if has_part echo; then
		echo "### Echo (urt-load, pipeline 1, ${DURATION} s per run)"
		echo
		echo "| point | server | req/s | req/s vs epoll | CPU us/req | CPU/req vs epoll | CPU/req vs raw | proc us/req | vs epoll | vs raw | p99 us |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|"
		for pt in $ECHO_POINTS; do
			for who in $echo_names; do row echo "$pt" "$who" epoll_echo raw_echo; done | sed "s/^| $pt |/| $(pretty_point "$pt") |/"
		done
		echo
		syscall_table echo "64 B, 50 conns"

	fi
}
report_http() {
	[ -n "$have_httpd" ] || [ -n "$httpd_skip" ] || return 0
	echo "### HTTP (wrk -t1, GET / -> \"Hello, World!\", keep-alive, ${DURATION} s per run)"
	echo
	if [ -n "$httpd_skip" ]; then
		echo "$httpd_skip"
		echo
		return 0
	fi
	# shellcheck disable=SC2016 # markdown backquotes
	echo "servers:$(for e in "${HTTP_SERVERS[@]}"; do printf ' %s = `%s`;' "$(ent_name "$e")" "$(ent_cmd "$e" | sed "s|$bin/||g; s|$work/|\$TMP/|g; s/ *$//")"; done | sed 's/;$//') (nginx: 1 process, master_process off, access_log off, keepalive_requests 1000000)"
	echo
	echo "| conns | server | req/s | req/s vs nginx | CPU us/req | CPU/req vs nginx | proc us/req | vs nginx | p99 us |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for c in $HTTP_CONNS; do
		for who in $http_names; do row http "c$c" "$who" nginx; done | sed "s/^| c$c |/| $c |/"
	done
	echo
	syscall_table http "wrk -c50"
}
{
	report_echo
	if has_part http; then report_http; fi
	echo "<details><summary>raw per-run numbers</summary>"
	echo
	echo '```'
	cat "$raw"
	echo '```'
	echo "</details>"
} | tee "$OUT"
note "report written to $OUT"
