#!/bin/bash
# SPDX-License-Identifier: MIT
# Every function include/urt.h declares is exported by liburt.so (issue 20:
# urt_backend_name was declared without URT_API, so the shared library did
# not export it and a pkg-config consumer calling it failed to link). The
# declarations are the compiler's own list (gcc -aux-info writes a
# prototype for each function a translation unit declares), so a
# declaration written in any style is caught; the library's side is
# nm -D --defined-only. (install_e2e.sh checks the converse: nothing but
# urt_* is exported.)
#
#   exports_e2e.sh LIBURT_SO INCLUDE_DIR GENERATED_INCLUDE_DIR
set -euo pipefail

so=$1
inc=$2
geninc=$3
gcc=$(command -v gcc || true)
if [ -z "$gcc" ]; then
	echo "SKIP: gcc not found (-aux-info is gcc's)"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/urt-exports.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

printf '#include "urt.h"\n' > "$tmp/all.c"
"$gcc" -std=gnu11 -I"$inc" -I"$geninc" -fsyntax-only -aux-info "$tmp/aux" "$tmp/all.c"
# /* .../urt.h:140:NC */ extern const char *urt_backend_name (void);
sed -n 's|^/\* [^ ]*urt\.h:[0-9]*:[A-Z]* \*/ extern \([^(]*\) (.*|\1|p' "$tmp/aux" |
	sed 's/.*[ *]//' | sort -u > "$tmp/declared"
n=$(wc -l < "$tmp/declared")
# a floor, so that a change in gcc's format cannot make this pass vacuously
if [ "$n" -lt 100 ]; then
	echo "FAIL: found only $n function declarations in urt.h (gcc -aux-info format?)" >&2
	exit 1
fi
nm -D --defined-only "$so" | awk '$2 == "T" || $2 == "W" || $2 == "i" { print $3 }' |
	sed 's/@.*//' | sort -u > "$tmp/exported"
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
if [ -n "$missing" ]; then
	echo "FAIL: declared in urt.h but not exported by $(basename "$so") (URT_API missing?):" >&2
	echo "$missing" | sed 's/^/  /' >&2
	exit 1
fi
echo "exports: all $n functions urt.h declares are exported by $(basename "$so")"
