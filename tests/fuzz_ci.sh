#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run every libFuzzer target for FUZZ_SECONDS (default 60) from its seed
# corpus, and the mutation run of the ASan-built urt-httpd over sockets
# (tests/httpd_mutate.py, "httpd_mutate" here) as long, two at a time (CI
# has two cores). Fails when any of them reports a crash, a leak, a sanitizer report
# or a broken property, and says how to replay it. doc/fuzzing.md.
#
# Usage: tests/fuzz_ci.sh BUILD_DIR   (a clang build with the fuzz_* targets:
#                                      tools/bootstrap fuzz makes one)
# Environment: FUZZ_SECONDS (per target), FUZZ_SEED (libFuzzer's -seed and
# the mutation run's; default: a fresh one, printed), FUZZ_TARGETS (a
# subset, space-separated), FUZZ_KEEP=1 (keep the scratch directory).
set -u
cd "$(dirname "$0")/.."
build=${1:?usage: tests/fuzz_ci.sh BUILD_DIR}
build=$(cd "$build" && pwd)
secs=${FUZZ_SECONDS:-60}
seed=${FUZZ_SEED:-$(( $(od -An -N4 -tu4 /dev/urandom) % 2147483647 + 1 ))}

# target and its -max_len (as in tests/meson.build's smoke runs)
declare -A max_len=([http_parse]=2048 [http_path]=1024 [resp_head]=2048 [stream]=1024 [cp_args]=512)
targets=${FUZZ_TARGETS:-http_parse http_path resp_head stream cp_args httpd_mutate}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/urt-fuzz.XXXXXX")
[ "${FUZZ_KEEP:-0}" = 1 ] || trap 'rm -rf "$scratch"' EXIT
echo "fuzz: ${secs} s per target, seed $seed, scratch $scratch"

# Sanitizer settings: any report ends the run with an error (UBSan's checks
# are recoverable as built, halt_on_error makes them fatal); leaks are
# reported at the end of each input by libFuzzer (-detect_leaks=1).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}

# start TARGET: fuzz it in the background; pids[TARGET]
declare -A pids
start() {
	local t=$1 w=$scratch/$1 exe=$build/tests/fuzz_$1
	if [ "$t" = httpd_mutate ]; then
		mkdir -p "$w"
		python3 tests/httpd_mutate.py --httpd "$build/tools/urt-httpd" --seed "$seed" \
			--seconds "$secs" >"$w/log" 2>&1 &
		pids[$t]=$!
		return 0
	fi
	if [ ! -x "$exe" ]; then
		echo "fuzz: $exe is missing (not a clang build?)" >&2
		return 1
	fi
	mkdir -p "$w/corpus" "$w/artifacts"
	# the seeds are copied: libFuzzer adds what it finds to its corpus
	cp tests/fuzz/"$t"/* "$w/corpus/"
	"$exe" -max_total_time="$secs" -max_len="${max_len[$t]}" -seed="$seed" \
		-detect_leaks=1 -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$w/artifacts/" "$w/corpus" >"$w/log" 2>&1 &
	pids[$t]=$!
}

# finish TARGET: wait for it and judge it; 0 when clean
finish() {
	local t=$1 w=$scratch/$1 rc=0
	wait "${pids[$t]}" || rc=$?
	if [ "$t" = httpd_mutate ]; then
		if [ "$rc" = 0 ]; then
			echo "fuzz: $t: ok, $(tail -1 "$w/log")"
			return 0
		fi
		echo "fuzz: $t: FAILED (exit $rc); its log:"
		tail -60 "$w/log" | sed 's/^/  | /'
		echo "fuzz: $t: replay: python3 tests/httpd_mutate.py --httpd $build/tools/urt-httpd --seed $seed --seconds $secs"
		return 1
	fi
	local execs
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$w/log")
	local corpus
	corpus=$(find "$w/corpus" -type f | wc -l)
	# a report with a zero exit (a recovered UBSan check) still fails
	if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$w/log"; then
		[ "$rc" = 0 ] && rc=1
	fi
	if [ "$rc" = 0 ]; then
		echo "fuzz: $t: ok, ${execs:-?} executions in $secs s, corpus $corpus inputs"
		return 0
	fi
	echo "fuzz: $t: FAILED (exit $rc) after ${execs:-?} executions; its log:"
	grep -vE '^#[0-9]+.*(NEW|REDUCE|pulse)' "$w/log" | tail -60 | sed 's/^/  | /'
	local a keep=${FUZZ_ARTIFACTS:-$(pwd)/fuzz-artifacts}
	mkdir -p "$keep"
	for a in "$w"/artifacts/*; do
		[ -e "$a" ] || continue
		cp "$a" "$keep/$t-$(basename "$a")"
		echo "fuzz: $t: reproducer: $keep/$t-$(basename "$a")"
		echo "fuzz: $t: replay: $build/tests/fuzz_$t $keep/$t-$(basename "$a")"
	done
	return 1
}

fail=0
set -- $targets
while [ $# -gt 0 ]; do
	a=$1 b=${2:-}
	shift
	[ $# -gt 0 ] && shift
	start "$a" || { fail=1; a=; }
	[ -n "$b" ] && { start "$b" || { fail=1; b=; }; }
	[ -n "$a" ] && { finish "$a" || fail=1; }
	[ -n "$b" ] && { finish "$b" || fail=1; }
done
[ "$fail" = 0 ] && echo "fuzz: all clean" || echo "fuzz: FAILED"
exit "$fail"
