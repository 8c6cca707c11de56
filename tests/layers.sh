#!/bin/bash
# SPDX-License-Identifier: MIT
# The layer rules of src/, checked on what the library really calls: for
# every object of the internal library, the symbols it uses (nm -u) that
# an object of another src/ folder defines (nm --defined-only) make an
# arrow "folder -> folder symbol". Calls through static inline functions
# in headers count (they compile into the caller), so a header cannot hide
# an arrow the way core/backend.h's prototypes once did.
#
# Usage: tests/layers.sh LIBRARY.a ALLOWED
#   LIBRARY.a  the internal static library (meson's liburt_internal.a)
#   ALLOWED    arrows that break the rules today and are known (issue 22's
#              debt), one "from -> to symbol" a line; # starts a comment
#
# The rules (README, Layout): a folder may use the folders listed for it.
#   arch:  nothing       core: arch           uring, epoll: core, arch
#   sync:  core          exec: core, sync     io: core, sync, exec, uring, epoll
# Exit 0: every arrow is allowed or listed. 1: a new wrong arrow (listed
# with the symbol and the object that uses it). Listed arrows that no
# longer occur are reported, to be removed from ALLOWED.
set -u
lib=${1:?usage: layers.sh LIBRARY.a ALLOWED}
allowed=${2:?usage: layers.sh LIBRARY.a ALLOWED}
command -v nm >/dev/null || { echo "layers.sh: needs nm (binutils)"; exit 77; }

declare -A may=(
	[arch]=""
	[core]="arch"
	[uring]="core arch"
	[epoll]="core arch"
	[sync]="core"
	[exec]="core sync"
	[io]="core sync exec uring epoll"
)

# folder of an archive member: src_<folder>_<file>.o
folder() { local m=${1#src_}; echo "${m%%_*}"; }

declare -A def=()
while read -r member sym; do
	def[$sym]=$(folder "$member")
done < <(nm -A --defined-only -g "$lib" 2>/dev/null |
	awk '{ split($1, p, ":"); m = p[2]; sub(/.*\//, "", m); print m, $NF }')

declare -A listed=() seen=()
while read -r line; do
	line=${line%%#*}
	read -r from arrow to sym <<<"$line" || true
	[ -n "${sym:-}" ] && listed["$from -> $to $sym"]=1
done <"$allowed"

bad=0 total=0
while read -r member sym; do
	from=$(folder "$member")
	to=${def[$sym]:-}
	[ -n "$to" ] && [ "$to" != "$from" ] || continue
	total=$((total + 1))
	case " ${may[$from]-} " in *" $to "*) continue ;; esac
	key="$from -> $to $sym"
	seen[$key]=1
	if [ -z "${listed[$key]:-}" ]; then
		echo "wrong arrow: $key (used by ${member})"
		bad=1
	fi
done < <(nm -A -u "$lib" 2>/dev/null | awk '{ split($1, p, ":"); m = p[2]; sub(/.*\//, "", m); print m, $NF }' | sort -u)

for key in "${!listed[@]}"; do
	[ -n "${seen[$key]:-}" ] || echo "gone: $key (remove it from $allowed)"
done
echo "layers: $total calls between folders checked, ${#seen[@]} against the rules, ${#listed[@]} listed as known"
[ $bad -eq 0 ] || { echo "layers: FAIL: a folder uses one it may not (see README, Layout)"; exit 1; }
exit 0
