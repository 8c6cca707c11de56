#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runtime soak (issue 23; doc/soak.md): tests/soak/soak_runtime's three
# modes -- spawn/exit cycles, cancellations, cross-loop submissions racing
# loop shutdown (with and without max_tasks refusals) -- on each backend in BACKENDS, with a summary table.
# Usage: runtime_soak.sh BUILD_DIR
#   env: CYCLES (spawn and cancel, 1000000), SUBMISSIONS (remote, 100000),
#        LOOPS (4), SUBMITTERS (2), RSS_BOUND_KIB (1024), BACKENDS
set -u
build=$1
RT=$build/tests/soak/soak_runtime
CYCLES=${CYCLES:-1000000}
SUBMISSIONS=${SUBMISSIONS:-100000}
BACKENDS=${BACKENDS:-uring epoll}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rows=()
status=0
for be in $BACKENDS; do
	for mode in spawn cancel remote remote-limit; do
		n=$CYCLES
		case $mode in remote*) n=$SUBMISSIONS ;; esac
		envbe=()
		[ "$be" = epoll ] && envbe=(env URT_BACKEND=epoll)
		# a hang is a failure too: a generous bound
		timeout 600 "${envbe[@]}" "$RT" "$mode" "$n" >"$work/out" 2>"$work/err"
		rc=$?
		get() { awk -v k="$1" '$1 == k { print $2 }' "$work/out"; }
		verdict=ok
		if [ "$rc" != 0 ]; then
			verdict=FAIL
			status=1
			echo "FAIL: $be $mode $n: exit $rc: $(head -20 "$work/err")"
		fi
		if [ "${mode#remote}" != "$mode" ]; then
			detail="accepted $(get accepted), refused $(get refused), no loop $(get no_loop), not started $(get not_started), ran once $(get ran_once), twice $(get ran_twice); $(get generations) loop generations"
		elif [ "$mode" = cancel ]; then
			detail="RSS $(get rss_warm_kib) -> $(get rss_end_kib) KiB; sleep $(get in_sleep), recv $(get in_recv), join $(get in_join), accept $(get in_accept), poll $(get in_poll), lock $(get in_lock), before start $(get before_start)"
		else
			detail="RSS $(get rss_warm_kib) -> $(get rss_end_kib) KiB; ran $(get ran)"
		fi
		rows+=("$(printf '%-6s %-12s %9s %7s  %-4s %s' "$be" "$mode" "$n" "$(get seconds)" "$verdict" "$detail")")
	done
done
echo "== runtime soak (RSS bound: ${RSS_BOUND_KIB:-1024} KiB of growth after warm-up)"
printf '%-6s %-12s %9s %7s  %-4s %s\n' backend mode cycles secs res detail
for r in "${rows[@]}"; do echo "$r"; done
exit $status
