#!/bin/sh
# Static analysis of src/ and tools/ (tools/bootstrap static; doc/leaks.md):
# cppcheck over the sources, then clang's scan-build over a clang build of
# the library and the tools (with fault injection compiled in, so that code
# is analysed too). Fails on any finding. False positives are suppressed
# inline (/* cppcheck-suppress <id> */ after a comment saying why).
# usage: tools/static.sh [build dir for scan-build, default build-static]
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build-static}
status=0

echo "== cppcheck src tools"
cppcheck -q --enable=warning,portability,performance --inline-suppr --std=c11 \
  -I include -I src --error-exitcode=1 src tools || status=1

echo "== scan-build (clang static analyzer)"
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang meson setup "$dir" -Dtests=disabled -Dbench=disabled -Dtools=enabled \
    -Dfault_injection=true >/dev/null
fi
ninja -C "$dir" -t clean >/dev/null
scan-build --status-bugs -o "$dir/scan" ninja -C "$dir" || status=1

exit $status
