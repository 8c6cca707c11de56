#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/layers.sh must be able to fail: on an archive whose core/ object
# calls into the epoll backend (core -> epoll: a wrong arrow) it exits 1,
# and on the same archive without that call it exits 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
command -v "$cc" >/dev/null && command -v ar >/dev/null || { echo "needs cc and ar"; exit 77; }
d=$(mktemp -d) && trap 'rm -rf "$d"' EXIT
cd "$d" || exit 1
mk() { # member name, C source
	printf '%s\n' "$2" >x.c && "$cc" -c -o "$1" x.c || exit 1
}
mk src_backend_epoll_loop.c.o 'int urt__epoll_x(void) { return 1; }'
mk src_core_loop.c.o 'int urt__core_y(void) { return 2; }'
mk src_io_poll.c.o 'int urt__core_y(void); int urt__io_z(void) { return urt__core_y(); }'
ar rc ok.a src_backend_epoll_loop.c.o src_core_loop.c.o src_io_poll.c.o
mk src_core_loop.c.o 'int urt__epoll_x(void); int urt__core_y(void) { return urt__epoll_x(); }'
ar rc bad.a src_backend_epoll_loop.c.o src_core_loop.c.o src_io_poll.c.o
: >allowed
bash "$here/layers.sh" ok.a allowed >out 2>&1 || { cat out; echo "FAIL: a clean archive was refused"; exit 1; }
if bash "$here/layers.sh" bad.a allowed >out 2>&1; then
	cat out; echo "FAIL: core -> epoll was not caught"; exit 1
fi
grep -q "wrong arrow: core -> epoll urt__epoll_x" out || { cat out; echo "FAIL: not named"; exit 1; }
echo "layers-selftest: ok"
