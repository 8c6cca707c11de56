#!/bin/bash
# The per-test leak check fails a test and names what it leaked
# (tests/leak_selftest.c). usage: leak_selftest.sh <build>/tests/leak_selftest [asan]
# (asan: an ASan build, where lost memory must fail the test too)
set -u
exe=$1
fail=0
run() { # filter: the test's output and exit status in $out, $rc
	out=$("$exe" --filter "leak_selftest/$1" 2>&1)
	rc=$?
}
expect() { # filter, what the failure must say (an extended regexp)
	run "$1"
	if [ "$rc" = 0 ] || ! grep -Eq "leak check: the test left behind:.*$2" <<<"$out"; then
		echo "FAIL: leak_selftest/$1: want a failure matching '$2', got rc $rc:"
		echo "$out"
		fail=1
	fi
}
run clean
if [ "$rc" != 0 ]; then
	echo "FAIL: leak_selftest/clean failed:"; echo "$out"; fail=1
fi
expect fd 'fd [0-9]+ \(pipe:'
expect task '1 loop\(s\) still open;.* task stack\(s\) still mapped;.*1 task\(s\) not ended'
if [ "${2:-}" = asan ]; then
	expect memory "memory \\(LeakSanitizer's report above\\)"
else
	run memory # no LSan: nothing to see
	if [ "$rc" != 0 ]; then
		echo "FAIL: leak_selftest/memory failed without LSan:"; echo "$out"; fail=1
	fi
fi
exit $fail
