#!/bin/bash
# SPDX-License-Identifier: MIT
# End-to-end test of urt's installation and of using it from other projects:
#  1. meson install of this build dir into a temporary DESTDIR: the shared
#     library (versioned soname), the static library, urt.h + urt_version.h,
#     urt.pc;
#  2. tests/consumer/consumer.c built with `pkg-config --cflags --libs urt`
#     and run (shared, LD_LIBRARY_PATH), and with `pkg-config --static` (the
#     binary must not need liburt.so); URT_VERSION_STRING must equal
#     pkg-config's version; the shared library exports only urt_* symbols;
#  3. urt.h compiled as C++ (g++ -std=c++17 -pedantic -Werror), linked, run;
#  4. the same consumer from a Makefile, and from CMake (pkg_check_modules)
#     when cmake is installed;
#  5. a meson parent project with urt as a subproject (dependency('urt',
#     fallback : 'urt')): it builds and runs the consumer, and urt's tests,
#     tools and benchmarks are off there (criterion is not even looked up);
#  6. the installed tools start with no liburt.so in the loader's path: from
#     the staged install, from a build configured with a prefix under /tmp
#     and installed there, and copied somewhere else (issue 20: they needed
#     liburt.so.0 and failed to start).
#
#   install_e2e.sh BUILD_DIR SOURCE_DIR VERSION MESON
set -euo pipefail

build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
version=$3
meson=$4
cons=$src/tests/consumer

tmp=$(mktemp -d "${TMPDIR:-/tmp}/urt-install-e2e.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

printf 'urt-consumer data\n' > "$tmp/data.txt"

# --- 1. install ------------------------------------------------------------
step "meson install --destdir"
dest=$tmp/dest
"$meson" install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
pc=$(find "$dest" -name urt.pc -path '*/pkgconfig/*' | head -n1)
[ -n "$pc" ] || { echo "FAIL: no urt.pc installed" >&2; exit 1; }
hdr=$(find "$dest" -name urt.h | head -n1)
[ -n "$hdr" ] || { echo "FAIL: urt.h not installed" >&2; exit 1; }
[ -f "$(dirname "$hdr")/urt_version.h" ] || fail "urt_version.h not installed next to urt.h"
grep -q '^#define URT_VERSION_STRING "'"$version"'"' "$(dirname "$hdr")/urt_version.h" ||
	fail "installed urt_version.h does not say $version"

# pkg-config on the staged tree: a copy of urt.pc whose prefix is moved
# under DESTDIR, as if installed there (PKG_CONFIG_SYSROOT_DIR would move
# liburing's system paths too, which CMake then rejects).
grep -q '^prefix=/' "$pc" || { echo "FAIL: urt.pc has no absolute prefix=" >&2; exit 1; }
mkdir "$tmp/pc"
sed "s|^prefix=|prefix=$dest|" "$pc" > "$tmp/pc/urt.pc"
saved_pcp=${PKG_CONFIG_PATH-}
export PKG_CONFIG_PATH=$tmp/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
pcv=$(pkg-config --modversion urt)
[ "$pcv" = "$version" ] || fail "pkg-config --modversion urt: '$pcv', project version $version"
libdir=$(pkg-config --variable=libdir urt)
[ -d "$libdir" ] || { echo "FAIL: urt.pc libdir $libdir is not under the install" >&2; exit 1; }

so=""
if [ -e "$libdir/liburt.so" ]; then
	so=$libdir/liburt.so
	soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	[ "$soname" = "liburt.so.${version%%.*}" ] || fail "soname '$soname', want liburt.so.${version%%.*}"
	[ -e "$libdir/$soname" ] || fail "$soname not installed"
	[ -e "$libdir/liburt.so.$version" ] || fail "liburt.so.$version not installed"
	extra=$(nm -D --defined-only "$so" | awk '$3 !~ /^urt_/ { print $3 }')
	[ -z "$extra" ] || fail "liburt.so exports non-API symbols: $extra"
fi
have_a=""
[ -e "$libdir/liburt.a" ] && have_a=1
[ -n "$so$have_a" ] || { echo "FAIL: neither liburt.so nor liburt.a installed" >&2; exit 1; }
# With a shared library, liburing and threads are private (needed only for
# static links); meson makes them public when only liburt.a is installed,
# so that plain `pkg-config --libs urt` links.
if [ -n "$so" ]; then
	grep -q '^Requires.private:.*liburing' "$pc" || fail "urt.pc: liburing not in Requires.private"
	grep -q '^Libs.private:.*pthread' "$pc" || fail "urt.pc: threads not in Libs.private"
else
	grep -q '^Requires.*liburing' "$pc" || fail "urt.pc: liburing not required"
	grep -q '^Libs.*pthread' "$pc" || fail "urt.pc: threads not in Libs"
fi
echo "installed: ${so:+shared }${have_a:+static}; urt.pc $pcv"

CC=${CC:-cc}
run_consumer() { # binary [env...]
	local bin=$1; shift
	if ! env "$@" "$bin" "$tmp/data.txt" "$pcv"; then fail "$(basename "$bin") failed"; fi
}

# --- 2. C consumer through pkg-config -------------------------------------
if [ -n "$so" ]; then
	step "consumer, shared, pkg-config --cflags --libs urt"
	# shellcheck disable=SC2046
	# strict C11 + POSIX, as urt.h asks of strict modes
	"$CC" -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -pedantic -Werror -o "$tmp/consumer-shared" "$cons/consumer.c" \
		$(pkg-config --cflags --libs urt)
	readelf -d "$tmp/consumer-shared" | grep -q 'NEEDED.*liburt\.so' || fail "consumer-shared does not need liburt.so"
	run_consumer "$tmp/consumer-shared" LD_LIBRARY_PATH="$libdir"
fi
if [ -n "$have_a" ]; then
	step "consumer, static, pkg-config --static"
	# -Bstatic: take liburt.a (and liburing.a) even where liburt.so is installed too.
	# shellcheck disable=SC2046
	"$CC" -Wall -Wextra -Werror -o "$tmp/consumer-static" "$cons/consumer.c" \
		$(pkg-config --cflags urt) -Wl,-Bstatic $(pkg-config --static --libs urt) -Wl,-Bdynamic
	if readelf -d "$tmp/consumer-static" | grep -q 'NEEDED.*liburt'; then
		fail "consumer-static needs liburt.so"
	fi
	if ldd "$tmp/consumer-static" | grep -q liburt; then fail "ldd: consumer-static loads liburt"; fi
	run_consumer "$tmp/consumer-static" LD_LIBRARY_PATH=/nonexistent
fi

# --- 3. C++ ---------------------------------------------------------------
step "urt.h as C++ (g++ -std=c++17)"
if command -v g++ >/dev/null; then
	if [ -n "$so" ]; then cxxlibs=$(pkg-config --libs urt)
	else cxxlibs="-Wl,-Bstatic $(pkg-config --static --libs urt) -Wl,-Bdynamic"; fi
	# shellcheck disable=SC2086
	if g++ -std=c++17 -Wall -Wextra -pedantic -Werror -o "$tmp/consumer-cxx" "$cons/consumer.cpp" \
		$(pkg-config --cflags urt) $cxxlibs; then
		if ! LD_LIBRARY_PATH=$libdir "$tmp/consumer-cxx"; then fail "consumer-cxx failed"; fi
	else
		fail "urt.h does not compile as C++17"
	fi
else
	fail "g++ not found (sh tools/bootstrap installs it)"
fi

# --- 4. make and CMake ----------------------------------------------------
if command -v make >/dev/null; then
	step "consumer from a Makefile"
	mkdir "$tmp/make" && cp "$cons/Makefile" "$cons/consumer.c" "$tmp/make/"
	if make -s -C "$tmp/make" CC="$CC" >/dev/null; then
		run_consumer "$tmp/make/consumer-make" LD_LIBRARY_PATH="$libdir"
	else
		fail "make build"
	fi
else
	echo "== make not installed: Makefile build skipped"
fi
if command -v cmake >/dev/null; then
	step "consumer from CMake (pkg_check_modules)"
	mkdir "$tmp/cmake" && cp "$cons/CMakeLists.txt" "$cons/consumer.c" "$tmp/cmake/"
	if cmake -S "$tmp/cmake" -B "$tmp/cmake/b" >"$tmp/cmake.log" 2>&1 &&
		cmake --build "$tmp/cmake/b" >>"$tmp/cmake.log" 2>&1; then
		run_consumer "$tmp/cmake/b/consumer-cmake" LD_LIBRARY_PATH="$libdir"
	else
		cat "$tmp/cmake.log" >&2
		fail "CMake build"
	fi
else
	echo "== cmake not installed: CMake build skipped"
fi
# The parent project must not find the staged install.
if [ -n "$saved_pcp" ]; then export PKG_CONFIG_PATH=$saved_pcp; else unset PKG_CONFIG_PATH; fi

# --- 5. meson subproject --------------------------------------------------
step "meson parent project, urt as a subproject"
par=$tmp/parent
mkdir -p "$par/subprojects"
cp "$cons/parent/meson.build" "$cons/consumer.c" "$tmp/data.txt" "$par/"
ln -s "$src" "$par/subprojects/urt"
if "$meson" setup "$par/b" "$par" --force-fallback-for=urt >"$tmp/parent.log" 2>&1 &&
	ninja -C "$par/b" >>"$tmp/parent.log" 2>&1 &&
	"$meson" test -C "$par/b" --print-errorlogs >>"$tmp/parent.log" 2>&1; then
	log=$par/b/meson-logs/meson-log.txt
	if grep -q 'criterion found: YES' "$log"; then fail "subproject looked up criterion (tests should be off)"; fi
	targets=$("$meson" introspect --targets "$par/b")
	for t in test_task urt-cp urt-httpd bench_switch; do
		if grep -q "\"name\": \"$t\"" <<<"$targets"; then fail "subproject built target $t"; fi
	done
	tests=$("$meson" introspect --tests "$par/b")
	if grep -q '"name": "task"' <<<"$tests"; then fail "subproject registered urt's tests"; fi
	"$meson" install -C "$par/b" --quiet --destdir "$tmp/pdest" >/dev/null
	if find "$tmp/pdest" -name 'urt-*' -type f | grep -q .; then fail "subproject installed urt's tools"; fi
	echo "parent project: built, consumer ran; no urt tests/tools/bench in it"
else
	cat "$tmp/parent.log" >&2
	fail "parent project with urt as a subproject"
fi

# --- 6. installed tools -----------------------------------------------------
# Each run copies a file with urt-cp (a loop, the ring or epoll, the pool)
# and checks every tool's --help, with LD_LIBRARY_PATH unset.
run_tools() { # bindir label
	local bin=$1 label=$2 t
	for t in urt-cp urt-echo urt-load urt-httpd; do
		[ -x "$bin/$t" ] || { fail "$label: $t not installed in $bin"; continue; }
		if readelf -d "$bin/$t" | grep -q 'NEEDED.*liburt'; then fail "$label: $t needs liburt.so"; fi
		if ! env -u LD_LIBRARY_PATH "$bin/$t" --help >/dev/null 2>"$tmp/tool.err"; then
			cat "$tmp/tool.err" >&2
			fail "$label: $t --help did not run"
		fi
	done
	rm -f "$tmp/tool-copy.txt"
	if env -u LD_LIBRARY_PATH "$bin/urt-cp" "$tmp/data.txt" "$tmp/tool-copy.txt" 2>"$tmp/tool.err" &&
		cmp -s "$tmp/data.txt" "$tmp/tool-copy.txt"; then
		echo "$label: tools start, urt-cp copied a file"
	else
		cat "$tmp/tool.err" >&2
		fail "$label: urt-cp did not copy a file"
	fi
}
staged_bin=$(dirname "$(find "$dest" -type f -name urt-cp -path '*/bin/*' | head -n1)")
if [ -x "$staged_bin/urt-cp" ]; then
	step "installed tools, staged install ($staged_bin)"
	run_tools "$staged_bin" "staged install"
	step "installed tools, copied elsewhere"
	mkdir "$tmp/elsewhere"
	cp "$staged_bin"/urt-* "$tmp/elsewhere/"
	run_tools "$tmp/elsewhere" "copied tools"
else
	fail "the tools were not installed (bin/urt-cp)"
fi
step "installed tools, a build with --prefix under /tmp"
pfx=$tmp/prefix
if "$meson" setup "$tmp/pbuild" "$src" --prefix="$pfx" -Dtests=disabled -Dbench=disabled \
		-Dtools=enabled >"$tmp/pbuild.log" 2>&1 &&
	ninja -C "$tmp/pbuild" >>"$tmp/pbuild.log" 2>&1 &&
	"$meson" install -C "$tmp/pbuild" --no-rebuild --quiet >>"$tmp/pbuild.log" 2>&1; then
	run_tools "$pfx/bin" "prefix $pfx"
else
	cat "$tmp/pbuild.log" >&2
	fail "build and install with --prefix=$pfx"
fi

if [ "$fails" -ne 0 ]; then
	echo "install_e2e: $fails failure(s)" >&2
	exit 1
fi
echo "install_e2e: all ok"
