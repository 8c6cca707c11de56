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
#   arch:  nothing
#   core:  arch
#   uring, epoll (src/backend/uring, src/backend/epoll): core, arch
#   backend (src/backend/select.c, the choice of one): core, uring, epoll
#   sync:  core
#   exec:  core, sync, backend
#   io:    core, sync, exec
# and past those, the two documented fast paths into io_uring (README,
# Design): io/ may include backend/uring/op.h for the op entry (io/req.h)
# and core/ backend/uring/poll.h for the loop's turn, calling only the
# symbols in $fast below.
# Nothing may use io/ (the top). So core names no backend, exec/ or sync/,
# and the backends name neither each other nor anything above them.
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
	[backend]="core uring epoll"
	[sync]="core"
	[exec]="core sync backend"
	[io]="core sync exec"
	[tls]="core io"
)
# what the inline fast paths call: urt__uring_io (io/req.h) and
# urt__uring_poll (core/loop.c)
fast=" urt__uring_has_op urt__uring_sync urt__sq_make_room urt__op_wait urt__reap "

# folder of a path below src/: its first directory, where a backend's
# folder is src/backend/<name>/ and a file of src/backend/ itself is in
# "backend"
layer() {
	case $1 in
	backend/uring/* | backend/epoll/*) local m=${1#backend/}; echo "${m%%/*}" ;;
	*) echo "${1%%/*}" ;;
	esac
}
# folder of an archive member, src_<path with / as _>.o
folder() { local m=${1#src_}; layer "${m//_//}"; }

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
	case "$from -> $to" in
	"io -> uring" | "core -> uring") case $fast in *" $sym "*) continue ;; esac ;;
	esac
	key="$from -> $to $sym"
	seen[$key]=1
	if [ -z "${listed[$key]:-}" ]; then
		echo "wrong arrow: $key (used by ${member})"
		bad=1
	fi
done < <(nm -A -u "$lib" 2>/dev/null | awk '{ split($1, p, ":"); m = p[2]; sub(/.*\//, "", m); print m, $NF }' | sort -u)

# The same rules on the include graph (a header of a folder one may not
# use is a wrong arrow even where nothing is called through it yet): every
# #include "folder/..." of src/, by the including file's folder.
src=$(cd "$(dirname "$0")/../src" && pwd)
while IFS=: read -r file line; do
	rel=${file#"$src"/}
	from=$(layer "$rel")
	hdr=$(sed -n 's/^#include "\([^"]*\)".*/\1/p' <<<"$line")
	case $hdr in */*) ;; *) continue ;; esac
	to=$(layer "$hdr")
	[ "$to" != "$from" ] || continue
	case " ${may[$from]-} " in *" $to "*) continue ;; esac
	case "$rel $hdr" in # the fast paths
	"io/req.h backend/uring/op.h" | "core/loop.c backend/uring/poll.h") continue ;;
	esac
	key="$from -> $to $hdr"
	seen[$key]=1
	if [ -z "${listed[$key]:-}" ]; then
		echo "wrong include: $key (in src/$rel)"
		bad=1
	fi
done < <(grep -rn --include='*.[ch]' '^#include "' "$src" | cut -d: -f1,3-)

for key in "${!listed[@]}"; do
	[ -n "${seen[$key]:-}" ] || echo "gone: $key (remove it from $allowed)"
done
echo "layers: $total calls between folders checked, ${#seen[@]} against the rules, ${#listed[@]} listed as known"
[ $bad -eq 0 ] || { echo "layers: FAIL: a folder uses one it may not (see README, Layout)"; exit 1; }
exit 0
