#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build (if needed) and run every urt benchmark; print a markdown table.
#
#   bench/run.sh            from anywhere inside a clone (works from a fresh one)
#
# Environment:
#   BUILD_DIR=build         meson build directory (relative to the repo root)
#   ROUNDS=7                A/B rounds per benchmark
#   PIN="taskset -c 1"      prefix for the benchmarks whose contenders are all
#                           single-threaded (switch, nop, sleepers); spawn, whose
#                           pthread reference is multi-threaded, is never pinned.
#                           PIN="" runs everything unpinned.
#   SLEEPERS_ROUNDS=5       rounds for the sleepers benchmark (~1.5 s per round)
#   STRACE=1                also count io_uring_enter calls of the nop bench with strace -c,
#                           and syscalls per round trip of the offload and wakeup benches
#                           (perf stat syscall tracepoints if they work, else strace -c -f)
#   OFFLOAD_N=100000        offload round trips under $PIN (one CPU)
#   OFFLOAD_FREE_N=20000    offload round trips unpinned (slow on an idle VM: see RESULTS.md)
#   OFFLOAD_M=1000000       offload throughput and queue items (both runs)
#   WAKEUP_N=50000          wakeup round trips under $PIN (batches: N/10 of 64 items)
#   WAKEUP_FREE_N=20000     wakeup round trips unpinned
# offload and wakeup run twice: under $PIN (every thread on one CPU: the
# software path, no cross-CPU wake-ups) and unpinned.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
ROUNDS=${ROUNDS:-7}
PIN=${PIN-taskset -c 1}
STRACE=${STRACE:-1}
SLEEPERS_ROUNDS=${SLEEPERS_ROUNDS:-5}
OFFLOAD_N=${OFFLOAD_N:-100000}
OFFLOAD_FREE_N=${OFFLOAD_FREE_N:-20000}
OFFLOAD_M=${OFFLOAD_M:-1000000}
WAKEUP_N=${WAKEUP_N:-50000}
WAKEUP_FREE_N=${WAKEUP_FREE_N:-20000}

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
benches=(switch spawn nop sleepers offload wakeup backend xloop)
ninja -C "$BUILD_DIR" "${benches[@]/#/bench/bench_}" >/dev/null
bin="$BUILD_DIR/bench"

if [ -n "$PIN" ] && ! $PIN true 2>/dev/null; then
	echo "note: '$PIN' does not work here; running unpinned" >&2
	PIN=""
fi

echo "## urt benchmarks"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r) ($(uname -m))"
echo "- urt: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'uncommitted'), liburing $(pkg-config --modversion liburing 2>/dev/null || echo '?'), $(cc --version | head -1)"
echo "- command: \`bench/run.sh\` (ROUNDS=$ROUNDS, SLEEPERS_ROUNDS=$SLEEPERS_ROUNDS, PIN='${PIN}' for switch/nop/sleepers, spawn unpinned, offload and wakeup both ways; OFFLOAD_N=$OFFLOAD_N, OFFLOAD_FREE_N=$OFFLOAD_FREE_N, OFFLOAD_M=$OFFLOAD_M, WAKEUP_N=$WAKEUP_N, WAKEUP_FREE_N=$WAKEUP_FREE_N); medians of alternating A/B rounds, ratio = median of per-round urt/baseline"
echo

log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { # pin|free name args...
	local pin=$1 name=$2
	shift 2
	[ "$pin" = pin ] && pin=$PIN || pin=""
	echo "### $name${pin:+ (under $pin)}" >>"$log"
	if ! $pin "$bin/bench_$name" "$@" >>"$log.out" 2>&1; then
		cat "$log.out" >&2
		echo "bench_$name FAILED" >&2
		cat "$log.out" >>"$log"
		rm -f "$log.out"
		return 1
	fi
	cat "$log.out" >>"$log"
	rm -f "$log.out"
}
status=0
run pin switch 500000 "$ROUNDS" || status=1
run free spawn 200000 "$ROUNDS" || status=1
run pin nop 1000000 "$ROUNDS" || status=1
run pin sleepers 100000 "$SLEEPERS_ROUNDS" || status=1
run pin offload "$OFFLOAD_N" "$ROUNDS" all "$OFFLOAD_M" || status=1
run free offload "$OFFLOAD_FREE_N" "$ROUNDS" all "$OFFLOAD_M" || status=1
run pin wakeup "$WAKEUP_N" "$ROUNDS" || status=1
run free wakeup "$WAKEUP_FREE_N" "$ROUNDS" || status=1
run pin backend 200000 "$ROUNDS" || status=1

# value LINE-PREFIX KEY: KEY=... from the first output line starting with "LINE-PREFIX ".
value() {
	awk -v p="$1" -v k="$2" '$1 == p { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$log"
}
# le A B: "yes" when A <= B, else "**no**" ("?" when A is missing).
le() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print "?"; else if (a + 0 <= b + 0) print "yes"; else print "**no**" }'; }
pct() { awk -v r="$1" 'BEGIN { if (r == "") print "?"; else printf "%+.1f%%", (r - 1) * 100 }'; }
mops() { awk -v ns="$1" 'BEGIN { if (ns == "" || ns == 0) print "?"; else printf "%.2f M/s (%.1f ns)", 1000 / ns, ns }'; }

echo "| figure | urt | baseline | ratio | target | met? |"
echo "|---|---|---|---|---|---|"
v=$(value switch urt_ns)
echo "| context switch, urt_yield ping-pong (ns/switch) | $v | $(value switch ucontext_ns) (swapcontext) | $(value switch ratio) | <= 5 ns | $(le "$v" 5) |"
v=$(value spawn_single urt_ns)
echo "| spawn+join, one at a time (ns/task) | $v | $(value spawn_single pthread_ns) (pthread_create+join, reference) | $(value spawn_single ratio) | <= 150 ns | $(le "$v" 150) |"
v=$(value spawn_batch urt_ns)
echo "| spawn 1000 + join 1000 (ns/task) | $v | $(value spawn_batch pthread_ns) (pthread_create+join, reference) | $(value spawn_batch ratio) | <= 150 ns | $(le "$v" 150) |"
r=$(value nop_single ratio)
echo "| urt_nop, 1 task (ops/s) | $(mops "$(value nop_single urt_ns)") | $(mops "$(value nop_single raw_ns)") (raw liburing, 1 NOP per submit_and_wait) | $r ($(pct "$r")) | - | - |"
r=$(value nop_batch ratio)
echo "| urt_nop, 32 tasks (ops/s) | $(mops "$(value nop_batch urt_ns)") | $(mops "$(value nop_batch raw_ns)") (raw liburing, 32 NOPs per submit_and_wait) | $r ($(pct "$r")) | <= +15% | $(le "$r" 1.15) |"
echo "| io_uring_enter per NOP, 1 task (loop counter) | $(value nop_single urt_enters_per_op) | $(value nop_single raw_enters_per_op) | | | |"
echo "| io_uring_enter per NOP, 32 tasks (loop counter) | $(value nop_batch urt_enters_per_op) | $(value nop_batch raw_enters_per_op) | | | |"
v=$(value sleepers_wall urt_ms)
echo "| 100k tasks sleeping 10 ms, spawn..join all (ms wall) | $v | $(value sleepers_wall raw_ms) (100k raw IORING_OP_TIMEOUT 10 ms) | $(value sleepers_wall ratio) | <= 200 ms | $(le "$v" 200) |"
v=$(value sleepers_rss urt_max_mib)
echo "| 100k sleepers, peak RSS (MiB, worst round) | $v (median $(value sleepers_rss urt_mib)) | $(value sleepers_rss raw_mib) (raw timeouts) | $(value sleepers_rss kib_per_task) KiB/task more | <= 1024 MiB | $(le "$v" 1024) |"
# value2 LINE-PREFIX KEY: the same from the second such line (the unpinned run).
value2() {
	awk -v p="$1" -v k="$2" '$1 == p && ++seen == 2 { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$log"
}
on1="${PIN:-unpinned}"
for v in value value2; do
	[ $v = value ] && where="under $on1" || where="unpinned"
	r=$($v offload_rt ratio)
	echo "| urt_offload round trip, 1 task, 1 worker ($where; us) | $($v offload_rt urt_us) | $($v offload_rt pthread_us) (pthread mutex + 2 condvars hand-off, 1 worker) | $r ($(pct "$r")) | - | - |"
	r=$($v offload_tput ratio)
	echo "| urt_offload throughput, 64 tasks, 4 workers ($where; offloads/s) | $(mops "$($v offload_tput urt_ns)") | $(mops "$($v offload_tput pthread_ns)") (mutex/condvar pool, 4 workers, <= 64 outstanding) | $r (time ratio) | - | - |"
done
echo "| urt_queue put/get, producer task -> consumer task, capacity 64 (unpinned; ns/item) | $(value2 queue urt_ns) | $(value2 queue pthread_ns) (mutex + 2 condvars bounded queue, 2 threads, unpinned) | $(value2 queue ratio) | - | - |"
echo "| the same against same-CPU baselines (ns/item) | $(value2 queue urt_ns) | $(value2 queue pinned_ns) (that pthread queue, both threads on one CPU); $(value2 queue ring_ns) (plain ring buffer on one thread: the floor) | $(value2 queue ratio_pinned); $(value2 queue ratio_ring) | - | - |"
for v in value value2; do
	[ $v = value ] && where="under $on1" || where="unpinned"
	echo "| completion wake-up round trip, raw liburing ($where; us) | $($v wakeup_rt efd_us) (eventfd + armed read, urt's choice) | $($v wakeup_rt msg_us) (IORING_OP_MSG_RING from a worker ring) | $($v wakeup_rt ratio) | - | - |"
	echo "| completion wake-up, 64-item batch ($where; us per batch) | $($v wakeup_batch efd_us) (one eventfd write) | $($v wakeup_batch msg64_us) (64 MSG_RING, one enter); $($v wakeup_batch msg1x64_us) (one enter per item); $($v wakeup_batch msg1_us) (one MSG_RING per batch) | $($v wakeup_batch ratio64); $($v wakeup_batch ratio1x64); $($v wakeup_batch ratio1) | - | - |"
done

# the two backends, same task code, alternating loop by loop
for f in nop:"urt_nop, 1 task (ns/op)" pipe_rt:"pipe ping-pong between 2 tasks (ns/round trip)" pread4k:"urt_read 4 KiB, page cache hot (ns/op)" statx:"urt_statx (ns/op; epoll: on a worker)"; do
	k=backend_${f%%:*}
	echo "| backend: ${f#*:} | $(value "$k" uring_ns) (io_uring) | $(value "$k" epoll_ns) (urt on epoll) | $(value "$k" ratio) (epoll / io_uring) | - | - |"
done

if [ "$STRACE" = 1 ] && command -v strace >/dev/null; then
	n=100000
	declare -A enters
	for m in urt-single raw-single urt-batch raw-batch; do
		out=$(mktemp)
		if $PIN strace -f -c -e trace=io_uring_enter -o "$out" "$bin/bench_nop" "$n" 1 "$m" >/dev/null 2>&1; then
			c=$(awk '$NF == "io_uring_enter" { print $4 }' "$out")
			enters[$m]=$(awk -v c="${c:-0}" -v n="$n" 'BEGIN { printf "%.4f", c / n }')
		else
			enters[$m]="?"
		fi
		rm -f "$out"
	done
	echo "| io_uring_enter per NOP, 1 task (strace -c -f, $n ops) | ${enters[urt-single]} | ${enters[raw-single]} | | | |"
	echo "| io_uring_enter per NOP, 32 tasks (strace -c -f, $n ops) | ${enters[urt-batch]} | ${enters[raw-batch]} | | | |"
fi

# Syscalls per iteration of the offload/wakeup benches (single-mode runs under
# $PIN): io_uring_enter + write + read + futex, divided by the iterations
# including the warm-up (set-up calls of other kinds excluded). Counted with
# perf's syscall tracepoints when they work (they do not slow the run down),
# else with strace -c -f (which does, and so changes how often the threads
# find each other asleep: the futex figure drifts).
if [ "$STRACE" = 1 ]; then
	if perf stat -e syscalls:sys_enter_futex true >/dev/null 2>&1; then
		tool=perf
	elif command -v strace >/dev/null; then
		tool=strace
	else
		tool=
	fi
	sysc() { # bench mode n
		local out line iters
		out=$(mktemp)
		if [ $tool = perf ]; then
			line=$($PIN perf stat -x, -o "$out" -e syscalls:sys_enter_io_uring_enter,syscalls:sys_enter_write,syscalls:sys_enter_read,syscalls:sys_enter_futex "$bin/bench_$1" "$3" 1 "$2" 2>/dev/null | tail -1) || line=
			sed -i -n 's/^\([0-9]*\),.*syscalls:sys_enter_\([a-z_]*\).*/0 0 0 \1 \2/p' "$out"
		else
			line=$($PIN strace -f -c -o "$out" "$bin/bench_$1" "$3" 1 "$2" 2>/dev/null | tail -1) || line=
		fi
		iters=$(echo "$line" | tr ' ' '\n' | awk -F= '$1 == "total_iters" || $1 == "total_ops" { print $2 }')
		if [ -n "$iters" ]; then
			awk -v it="$iters" '$NF ~ /^(io_uring_enter|write|read|futex)$/ { c[$NF] = $4; t += $4 }
				END { printf "%.2f (enter %.2f, write %.2f, read %.2f, futex %.2f)", t / it, c["io_uring_enter"] / it, c["write"] / it, c["read"] / it, c["futex"] / it }' "$out"
		else
			echo "?"
		fi
		rm -f "$out"
	}
	if [ -n "$tool" ]; then
		n=20000
		how="$tool, under $on1, $n"
		echo "| syscalls per urt_offload round trip ($how) | $(sysc offload urt-rt $n) | $(sysc offload pth-rt $n) (pthread hand-off) | | | |"
		echo "| syscalls per wake-up round trip ($how) | $(sysc wakeup efd-rt $n) (eventfd) | $(sysc wakeup msg-rt $n) (MSG_RING) | | | |"
		echo "| syscalls per 64-item batch ($tool, under $on1, $((n / 10)) batches) | $(sysc wakeup efd-batch $n) (eventfd) | $(sysc wakeup msg64-batch $n) (64 MSG_RING, one enter); $(sysc wakeup msg1x64-batch $n) (enter per item); $(sysc wakeup msg1-batch $n) (one MSG_RING) | | | |"
	fi
fi

# cross-loop figures (two loops of urt_run_loops; bench_xloop pins them itself)
if [ "$(nproc)" -ge 2 ]; then
	echo
	if ! "$bin/bench_xloop" "${XLOOP_N:-20000}" "$ROUNDS"; then
		echo "bench_xloop FAILED" >&2
		status=1
	fi
fi

echo
echo "<details><summary>raw output</summary>"
echo
echo '```'
cat "$log"
echo '```'
echo "</details>"
exit $status
