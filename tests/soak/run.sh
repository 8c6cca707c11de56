#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The soak (issue 23; doc/soak.md): the echo soak, urt-httpd against
# hostile clients, and the runtime soak, each on both backends, at one of
# three sizes chosen by SOAK (or the second argument):
#   ci     (default) 10,000 echo connections x 10 s, 10,000 idle HTTP
#          connections, 1M spawn/exit cycles and 1M cancellations, 100k
#          cross-loop submissions; about 2 minutes on 2 cores
#   long   the sizes and more: 10,000 echo connections x 60 s,
#          10,000 idle HTTP connections for 12 s under load, 10M cycles,
#          1M submissions; about 5 minutes
#   smoke  tiny, for meson test (suite 'soak'): about 25 s; the storm is
#          500 clients, not a timed one, so as to leave few TIME_WAIT
#          sockets to the tests that follow
# Every size variable of the three scripts can still be set by hand.
# Usage: run.sh BUILD_DIR [ci|long|smoke]
set -u
build=$1
size=${2:-${SOAK:-ci}}
here=$(dirname "$0")
case "$size" in
ci)
	: "${CONNS:=10000}" "${DURATION:=10}" "${IDLE:=10000}" "${STORM:=10000}" "${LOAD_S:=3}"
	: "${CYCLES:=1000000}" "${SUBMISSIONS:=100000}" ;;
long)
	: "${CONNS:=10000}" "${DURATION:=60}" "${WARMUP:=5}" "${IDLE:=10000}" "${STORM:=50000}" "${LOAD_S:=10}"
	: "${SLOW:=32}" "${HT:=10}" "${BURSTS:=20}" "${NOFILE_CONNS:=1000}" "${SLOWREAD:=16}"
	: "${CYCLES:=10000000}" "${SUBMISSIONS:=1000000}" ;;
smoke)
	: "${CONNS:=200}" "${DURATION:=1}" "${WARMUP:=0.5}" "${IDLE:=200}" "${STORM:=500}" "${LOAD_S:=1}"
	: "${SLOW:=2}" "${HT:=1}" "${BURSTS:=1}" "${NOFILE_CONNS:=100}" "${RATE_MIN_PCT:=0}" "${STORM_S:=0}"
	: "${SLOWREAD:=2}"
	: "${CYCLES:=20000}" "${SUBMISSIONS:=20000}" ;;
*)
	echo "usage: run.sh BUILD_DIR [ci|long|smoke]" >&2
	exit 2 ;;
esac
export CONNS DURATION IDLE STORM LOAD_S CYCLES SUBMISSIONS
for v in WARMUP SLOW HT BURSTS NOFILE_CONNS RATE_MIN_PCT STORM_S SLOWREAD; do
	[ -n "${!v:-}" ] && export "${v?}"
done

start=$(date +%s)
status=0
for s in echo_soak httpd_soak runtime_soak; do
	t0=$(date +%s)
	bash "$here/$s.sh" "$build" || { rc=$?; [ "$rc" = 77 ] && echo "$s: skipped" || status=1; }
	echo "-- $s: $(($(date +%s) - t0)) s"
	echo
done
echo "== soak ($size) $( [ $status = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - start)) s"
exit $status
