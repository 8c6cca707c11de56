#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Thread-per-core scaling: urt-echo and urt-httpd at 1, 2, 4 ... N server
# threads (--threads T --pin), loaded by urt-load --threads; prints a
# markdown table per part on stdout (also written to $OUT), progress on
# stderr.
#
#   bash bench/scale.sh [BUILD_DIR]    default BUILD_DIR: build (built with
#                                      ninja first; meson setup if missing)
#
# CPUs. Of the CPUs this script may use (its affinity mask; all online ones
# normally), the first half (N = half of them, at least 1) run the server,
# under `taskset -c` with --pin (thread i on the i-th), and the other half
# run urt-load --threads (one per load CPU, --pin), so server and load never
# share a core; T goes 1, 2, 4 ... up to N, and N itself. With a single
# CPU both share it. OVERLAP=1 gives the server all the CPUs and T up to
# all of them, and the load all of them too (unpinned, one thread per CPU):
# on a 2-CPU machine that is the only way to compare 1 with 2 server
# threads, and the load then competes with the server for its cores.
#
# Figures per run (a fresh server each time, started the way bench/net.sh
# starts servers: ready line "listening on ADDR:PORT", SIGTERM at the end):
#   req/s            urt-load's merged figure;
#   vs 1             req/s / req/s at T = 1 (with ROUNDS > 1: the median of
#                    the per-round ratios, each against its own round's T = 1);
#   efficiency       (vs 1) / T: 1.00 is perfect scaling;
#   server us/req    the server process's utime+stime over the load run
#                    (/proc/PID/stat, all its threads; loopback softirq work
#                    done in its context included) / requests;
#   conns/thread     how SO_REUSEPORT spread the connections over the
#                    server's loops (from its exit line).
# With ROUNDS > 1 the other figures are medians over rounds (the T values
# rotate order each round), taken over the clean runs only (see
# OTHER_MAX_PCT) where there are any. The raw lines also keep bg_pct, how busy the
# machine was right before each run, and other_pct, the share of the CPUs
# that anything but the server and the load took during it.
#
# Environment:
#   DURATION=3 ROUNDS=1      seconds per run, rounds
#   PARTS="echo http"        which parts to run
#   CONNS=256                connections (split over urt-load's threads)
#   SIZE=64 PIPELINE=1       echo request size; requests per batch (both parts)
#   OVERLAP=0                1: server and load share all the CPUs (see above)
#   MAX_THREADS=             cap on T (default: N, or all CPUs with OVERLAP=1)
#   CPUS=                    the CPUs to use, as taskset lists them ("0-7",
#                            "0,2,4-6"); default: this script's affinity mask
#   DRY_RUN=1                print the plan (CPUs, thread counts, commands)
#                            and exit without building or running anything
#   SCHED=none               none, nice (nice -20) or fifo (chrt -f 50) for the
#                            server and the load; default none: with
#                            OVERLAP=1 a SCHED_FIFO load would starve the
#                            server it shares a core with
#   QUIET_PCT=15 QUIET_WAIT=5   before each run, wait up to QUIET_WAIT s for
#                            the machine to be at most QUIET_PCT % busy
#   OTHER_MAX_PCT=10 RETRIES=2  a run during which anything but the server
#                            and the load (other processes, host steal) took
#                            more than this % of the CPUs is run again, at
#                            most RETRIES times (other_pct in the raw lines)
#   OUT=/tmp/scale-results.md   the report is also written here
#
# Fails (exit 1, one line "scale.sh: FAILED: ..." on stderr) when a server
# does not start, dies, or urt-load reports errors.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
BUILD_DIR=${1:-${BUILD_DIR:-build}}
DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-1}
PARTS=${PARTS:-echo http}
CONNS=${CONNS:-256}
SIZE=${SIZE:-64}
PIPELINE=${PIPELINE:-1}
OVERLAP=${OVERLAP:-0}
MAX_THREADS=${MAX_THREADS:-}
SCHED=${SCHED:-none}
QUIET_PCT=${QUIET_PCT:-15}
QUIET_WAIT=${QUIET_WAIT:-5}
OTHER_MAX_PCT=${OTHER_MAX_PCT:-10}
RETRIES=${RETRIES:-2}
OUT=${OUT:-/tmp/scale-results.md}
CPUS=${CPUS:-}
DRY_RUN=${DRY_RUN:-0}

note() { echo "scale.sh: $*" >&2; }
SPID=""
fail() {
	echo "scale.sh: FAILED: $*" >&2
	exit 1
}
has_part() { [[ " $PARTS " == *" $1 "* ]]; }
case $SCHED in none | nice | fifo) ;; *) fail "SCHED must be none, nice or fifo, not '$SCHED'" ;; esac

work=$(mktemp -d /tmp/urt-scale-bench.XXXXXX)
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

# --- CPUs --------------------------------------------------------------------------------
# expand_cpus LIST: "0-3,8,10-11" -> "0 1 2 3 8 10 11"
expand_cpus() {
	awk -v l="$1" 'BEGIN { n = split(l, r, ","); for (i = 1; i <= n; i++) {
		m = split(r[i], ab, "-"); for (c = ab[1]; c <= (m > 1 ? ab[2] : ab[1]); c++) printf "%d ", c } }'
}
[ -n "$CPUS" ] || CPUS=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
[[ $CPUS =~ ^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$ ]] || fail "CPUS must be a CPU list such as 0-7 or 0,2,4-6, not '$CPUS'"
read -r -a cpus <<<"$(expand_cpus "$CPUS")"
ncpu=${#cpus[@]}
[ "$ncpu" -ge 1 ] || fail "no CPUs in '$CPUS'"
join_cpus() { local IFS=,; echo "$*"; }
if [ "$OVERLAP" = 1 ] || [ "$ncpu" = 1 ]; then
	half=$ncpu
	srv_cpus=$(join_cpus "${cpus[@]}")
	load_cpus=$srv_cpus
	load_threads=$ncpu
	load_pin=""
	mode="overlap: server and load share CPUs $srv_cpus"
	[ "$OVERLAP" = 1 ] || mode="$mode (a single CPU)"
else
	half=$((ncpu / 2))
	srv_cpus=$(join_cpus "${cpus[@]:0:half}")
	load_cpus=$(join_cpus "${cpus[@]:half}")
	load_threads=$((ncpu - half))
	load_pin=--pin
	mode="server on CPUs $srv_cpus, urt-load on CPUs $load_cpus"
fi
top=${MAX_THREADS:-$half}
[ "$top" -ge 1 ] || top=1
steps=()
for ((t = 1; t < top; t *= 2)); do steps+=("$t"); done
steps+=("$top")
note "$mode; server threads: ${steps[*]}; urt-load --threads $load_threads"
if [ "$DRY_RUN" = 1 ]; then
	for t in "${steps[@]}"; do
		echo "taskset -c $srv_cpus urt-echo|urt-httpd --port 0 --threads $t --pin"
	done
	echo "taskset -c $load_cpus urt-load [--mode http] --conns $CONNS --duration $DURATION --threads $load_threads${load_pin:+ $load_pin}"
	exit 0
fi

# --- build and snapshot the binaries (as bench/net.sh) --------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR" >"$work/build.log" 2>&1 || fail "meson setup $BUILD_DIR failed (see: meson setup $BUILD_DIR)"
fi
ninja -C "$BUILD_DIR" tools/urt-echo tools/urt-load tools/urt-httpd >"$work/build.log" 2>&1 ||
	fail "ninja -C $BUILD_DIR failed: $(grep -m1 -E 'error|FAILED' "$work/build.log" || tail -1 "$work/build.log")"
bin=$work/bin
mkdir -p "$bin"
for f in tools/urt-echo tools/urt-load tools/urt-httpd; do cp "$BUILD_DIR/$f" "$bin/"; done
lib=$(ldd "$BUILD_DIR/tools/urt-echo" 2>/dev/null | awk '$1 ~ /^liburt\.so/ { print $1 " " $3; exit }')
if [ -n "$lib" ]; then cp -L "${lib#* }" "$work/${lib%% *}"; fi
"$bin/urt-echo" --help | grep -q -- --threads || fail "$BUILD_DIR/tools/urt-echo has no --threads"
command -v taskset >/dev/null || fail "taskset not found (util-linux)"

nofile=65536
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ]; then nofile=$hard; fi
ulimit -n "$nofile"
PRIO=()
case $SCHED in
fifo) if chrt -f 50 true 2>/dev/null; then PRIO=(chrt -f 50); else note "chrt -f 50 failed; SCHED=none"; SCHED=none; fi ;;
nice) if [ "$(nice -n -20 nice 2>/dev/null)" = -20 ]; then PRIO=(nice -n -20); else note "cannot nice -20; SCHED=none"; SCHED=none; fi ;;
none) ;;
*) fail "SCHED must be none, nice or fifo, not '$SCHED'" ;;
esac

proctime() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
HZ=$(getconf CLK_TCK)

# wait_quiet: up to QUIET_WAIT s for the machine to be <= QUIET_PCT % busy
# over 0.5 s; sets BG (that busy %)
wait_quiet() {
	local t0=$SECONDS a0 n0 a1 n1
	while :; do
		read -r a0 n0 < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat)
		sleep 0.5
		read -r a1 n1 < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat)
		BG=$(awk -v b="$((a1 - a0))" -v n="$((n1 - n0))" 'BEGIN { printf "%.0f", (n > 0 ? 100 * b / n : 0) }')
		[ "$BG" -gt "$QUIET_PCT" ] || return 0
		[ $((SECONDS - t0)) -lt "$QUIET_WAIT" ] || { note "machine still $BG% busy; running anyway"; return 0; }
	done
}

# start_server NAME T: the server with T loops on the server CPUs; sets SPID, SPORT
start_server() {
	local i
	: >"$work/srv.out"
	"${PRIO[@]}" taskset -c "$srv_cpus" "$bin/$1" --port 0 --threads "$2" --pin >"$work/srv.out" 2>&1 </dev/null &
	SPID=$!
	SPORT=""
	for ((i = 0; i < 200; i++)); do
		kill -0 "$SPID" 2>/dev/null || { SPID=""; fail "$1 exited during start-up: $(head -c 300 "$work/srv.out")"; }
		SPORT=$(sed -n 's/.*listening on [0-9a-fA-F.:]*:\([0-9][0-9]*\).*/\1/p' "$work/srv.out" | head -1)
		[ -z "$SPORT" ] || return 0
		sleep 0.05
	done
	fail "$1 not ready after 10 s"
}
# stop_server NAME: SIGTERM, must exit 0 within 5 s; sets SPREAD (conns per loop)
stop_server() {
	local i rc=0
	kill -0 "$SPID" 2>/dev/null || fail "$1 died during the run: $(head -c 300 "$work/srv.out")"
	kill -TERM "$SPID"
	for ((i = 0; i < 100; i++)); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$SPID" 2>/dev/null && { kill -KILL "$SPID"; fail "$1 ignored SIGTERM for 5 s"; }
	wait "$SPID" || rc=$?
	SPID=""
	[ "$rc" = 0 ] || fail "$1 exited with status $rc: $(head -c 300 "$work/srv.out")"
	SPREAD=$(sed -n 's/.*(threads: \([0-9+]*\) connections).*/\1/p' "$work/srv.out")
	[ -n "$SPREAD" ] || SPREAD=$(sed -n 's/.*served \([0-9]*\) connections.*/\1/p' "$work/srv.out")
}

# busy: busy jiffies (user+nice+system+irq+softirq, and steal: time the host
# took) summed over the CPUs in use
busy() {
	awk -v list=" ${cpus[*]} " '$1 ~ /^cpu[0-9]+$/ && index(list, " " substr($1, 4) " ") {
		b += $2 + $3 + $4 + $7 + $8 + $9 } END { print b + 0 }' /proc/stat
}
# children_cpu VAR: VAR = jiffies of user+system time of this shell's
# waited-for children (`times` in this shell: a subshell has its own)
children_cpu() {
	times >"$work/times"
	printf -v "$1" '%s' "$(awk -v hz="$HZ" 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] } printf "%.0f", t * hz }' "$work/times")"
}

raw=$work/raw.log # one line per run: part T round rps requests cpu_s spread bg_pct other_pct
: >"$raw"
# load_once PART: one load run against the running server; sets RPS REQS
# CPU_S (the server's) OTHER (% of the CPUs in use taken by anything but
# the server and the load: other processes, the host's steal)
load_once() {
	local args line dur p0 p1 b0 b1 c0 c1 t0 t1 rc=0
	if [ "$1" = echo ]; then args=(--size "$SIZE"); else args=(--mode http); fi
	wait_quiet
	children_cpu c0
	p0=$(proctime "$SPID") b0=$(busy) t0=$(date +%s%N)
	# shellcheck disable=SC2086 # load_pin is empty or one word
	"${PRIO[@]}" taskset -c "$load_cpus" "$bin/urt-load" "${args[@]}" --port "$SPORT" --conns "$CONNS" \
		--pipeline "$PIPELINE" --duration "$DURATION" --threads "$load_threads" $load_pin \
		>"$work/load.out" 2>&1 </dev/null || rc=$?
	p1=$(proctime "$SPID") b1=$(busy) t1=$(date +%s%N)
	children_cpu c1
	line=$(grep -m1 'req/s' "$work/load.out" || true)
	RPS=$(sed -n 's/.* \([0-9.][0-9.]*\) req\/s.*/\1/p' <<<"$line")
	dur=$(sed -n 's/.*duration=\([0-9.][0-9.]*\)s.*/\1/p' <<<"$line")
	if [ "$rc" != 0 ] || [ -z "$RPS" ] || [[ $line != *"errors 0" ]]; then
		fail "urt-load against the server (status $rc): $(tr '\n' ' ' <"$work/load.out" | head -c 400)"
	fi
	REQS=$(awk -v r="$RPS" -v d="$dur" 'BEGIN { printf "%.0f", r * d }')
	CPU_S=$(awk -v p="$((p1 - p0))" -v hz="$HZ" 'BEGIN { printf "%.3f", p / hz }')
	OTHER=$(awk -v o="$((b1 - b0 - (p1 - p0) - (c1 - c0)))" -v n="$ncpu" -v hz="$HZ" -v ns="$((t1 - t0))" \
		'BEGIN { v = 100 * o / (n * hz * ns / 1e9); printf "%.0f", v < 0 ? 0 : v }')
}
# run PART T ROUND: one measured run on a fresh server; a run during which
# anything else took more than OTHER_MAX_PCT % of the CPUs is repeated (at
# most RETRIES times): other people's benchmarks on a shared machine swamp
# the figures (seen: 13k instead of 115k req/s)
run() {
	local part=$1 t=$2 r=$3 server try
	if [ "$part" = echo ]; then server=urt-echo; else server=urt-httpd; fi
	for ((try = 0; ; try++)); do
		start_server "$server" "$t"
		load_once "$part"
		stop_server "$server"
		[ "$OTHER" -gt "$OTHER_MAX_PCT" ] && [ "$try" -lt "$RETRIES" ] || break
		note "$part $server --threads $t: other processes took $OTHER% of the CPUs; running again"
	done
	echo "$part $t $r $RPS $REQS $CPU_S $SPREAD $BG $OTHER" >>"$raw"
	note "$part round $r/$ROUNDS: $server --threads $t: $RPS req/s, conns per thread $SPREAD, others $OTHER%"
}

for r in $(seq 1 "$ROUNDS"); do
	for part in echo http; do
		has_part "$part" || continue
		n=${#steps[@]}
		for ((i = 0; i < n; i++)); do run "$part" "${steps[(i + r - 1) % n]}" "$r"; done
	done
done

# --- report ------------------------------------------------------------------------------
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# use PART T: the raw lines the figures of PART at T come from: the clean
# runs (other_pct <= OTHER_MAX_PCT), or all of them when none is clean
use() {
	awk -v p="$1" -v t="$2" -v m="$OTHER_MAX_PCT" '$1 == p && $2 == t { all[++n] = $0; if ($9 <= m) ok[++k] = $0 }
		END { for (i = 1; i <= (k ? k : n); i++) print (k ? ok[i] : all[i]) }' "$raw"
}
clean() { awk -v p="$1" -v t="$2" -v m="$OTHER_MAX_PCT" '$1 == p && $2 == t { n++; k += $9 <= m } END { print k "/" n }' "$raw"; }
col() { use "$1" "$2" | awk -v c="$3" '{ print $c }'; }
# ratio PART T: req/s(T) / req/s(1) per round (the rounds both are used from;
# none in common: the ratio of the medians)
ratio() {
	local r
	r=$({ use "$1" "${steps[0]}" | sed 's/^/base /'; use "$1" "$2"; } |
		awk '$1 == "base" { b[$4] = $5; next } ($3 in b) && b[$3] > 0 { printf "%.4f\n", $4 / b[$3] }' | median)
	[ -n "$r" ] || r=$(awk -v a="$(col "$1" "$2" 4 | median)" -v b="$(col "$1" "${steps[0]}" 4 | median)" 'BEGIN { if (b > 0) printf "%.4f", a / b }')
	echo "$r"
}
cpu_us() { use "$1" "$2" | awk '$5 > 0 { printf "%.3f\n", $6 * 1e6 / $5 }'; }
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit + uncommitted changes"; fi
knobs="DURATION=$DURATION ROUNDS=$ROUNDS CONNS=$CONNS SIZE=$SIZE PIPELINE=$PIPELINE SCHED=$SCHED"
[ "$OVERLAP" != 1 ] || knobs="OVERLAP=1 $knobs"
[ -z "$MAX_THREADS" ] || knobs="$knobs MAX_THREADS=$MAX_THREADS"
[ "$OTHER_MAX_PCT/$RETRIES" = 10/2 ] || knobs="$knobs OTHER_MAX_PCT=$OTHER_MAX_PCT RETRIES=$RETRIES"
[ "$CPUS" = "$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)" ] || knobs="$knobs CPUS=$CPUS"
{
	echo "## Thread-per-core scaling (bench/scale.sh)"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); urt: $commit"
	echo "- machine: $ncpu usable CPUs ($(nproc --all) online), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r)"
	echo "- command: \`$knobs bash bench/scale.sh $BUILD_DIR\`; $mode; server \`--threads T --pin\` under \`taskset -c $srv_cpus\`, load \`urt-load --threads $load_threads${load_pin:+ --pin}\` under \`taskset -c $load_cpus\`, $CONNS connections, ${DURATION} s per run, fresh server per run${PRIO[*]:+, both under \`${PRIO[*]}\`}"
	echo "- figures are medians over the clean runs (other processes and the host took at most OTHER_MAX_PCT=$OTHER_MAX_PCT % of the CPUs; runs were repeated up to RETRIES=$RETRIES times to get one; where none was clean, over all runs); vs 1 thread: median of per-round ratios; server us/req: the server process's utime+stime (/proc/PID/stat, all threads) over the load run / requests; conns/thread: SO_REUSEPORT's spread in the last run used, from the server's exit line"
	for part in echo http; do
		has_part "$part" || continue
		echo
		if [ "$part" = echo ]; then echo "### Echo (urt-echo, $SIZE B, pipeline $PIPELINE)"; else echo "### HTTP (urt-httpd, GET / -> \"Hello, World!\", pipeline $PIPELINE)"; fi
		echo
		echo "| server threads | req/s | vs 1 thread | efficiency | server us/req | conns/thread | clean runs |"
		echo "|---|---|---|---|---|---|---|"
		for t in "${steps[@]}"; do
			awk -v t="$t" -v rps="$(col "$part" "$t" 4 | median)" -v ratio="$(ratio "$part" "$t")" \
				-v cpu="$(cpu_us "$part" "$t" | median)" -v s="$(col "$part" "$t" 7 | tail -1)" -v k="$(clean "$part" "$t")" 'BEGIN {
				printf "| %d | %.0f | %.2f | %.2f | %.2f | %s | %s |\n", t, rps, ratio, ratio / t, cpu, s, k }'
		done
	done
	echo
	echo "<details><summary>raw runs (part threads round req/s requests server_cpu_s conns/thread bg_pct other_pct)</summary>"
	echo
	echo '```'
	cat "$raw"
	echo '```'
	echo "</details>"
} | tee "$OUT"
note "report written to $OUT"
