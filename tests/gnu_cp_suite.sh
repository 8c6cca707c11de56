#!/bin/bash
# Run coreutils 9.1's own cp tests (tests/cp/*.sh) against GNU cp and against
# another cp (urt-cp), the way coreutils' `make check` runs them, and compare.
#
# Usage: tests/gnu_cp_suite.sh [OPTION]...
#   --cp PATH          the cp to test (e.g. build/tools/urt-cp); it is run
#                      under the name `cp`. Without it only GNU cp runs.
#   --gnu-cp PATH      the reference cp (default: the system's GNU cp)
#   --no-reference     skip the GNU cp run (then --expected cannot judge)
#   --only NAME...     run only these tests (acl, acl.sh or cp/acl.sh);
#                      the names run up to the next option
#   --keep DIR         results: summary, and the logs of every test that did
#                      not pass (default: a new directory under $TMPDIR)
#   --keep-testdirs    leave each test's gt-NAME.XXXX directory in the work
#                      tree (init.sh's KEEP=yes) and keep the work tree
#   --work DIR         where the tests run (default: new dir under $TMPDIR);
#                      its file system is the one under test
#   --cache DIR        where the tarball is looked for first and downloaded
#                      to (default: ${XDG_CACHE_HOME:-~/.cache}/urt, which
#                      is also looked in when --cache is given)
#   --tarball PATH     use this coreutils_9.1.orig.tar.xz (also: the
#                      environment variable GNU_CP_SUITE_TARBALL)
#   --user NAME        (as root) run the tests as this user, with setpriv
#   --expected FILE    check mode: exit 1 if a test that GNU cp passes does
#                      not pass with --cp, unless FILE lists it (lines of
#                      "cp/NAME.sh  reason"; # starts a comment)
#   --no-expensive     leave out the tests coreutils marks expensive
#                      (cp/link-heap.sh, cp/perm.sh: they then skip)
#   --timeout SECONDS  per test (default 120; GNU cp's slowest, perm.sh,
#                      takes 7-25 s on 2 busy cores); a test past it FAILs
#
# Exit status: 0 done (and, with --expected, no unexpected failure), 1 an
# unexpected failure, 2 a usage error, 77 the tarball cannot be had (no
# network and nothing cached): meson reads that as a skip.
#
# What `make check` does, and this script reproduces: automake's harness
# runs build-aux/test-driver for each test, from the top build directory,
# with the TESTS_ENVIRONMENT of the tarball's tests/local.mk (the locale
# reset of tests/lang-default, tests/envvar-check, the build variables
# exported, the built programs first on PATH, fd 9 = the terminal's stderr).
# Each test sources tests/init.sh, which makes a gt-NAME.XXXX directory in
# the current directory and enters it; `path_prepend_ ./src` puts
# $abs_top_builddir/src first on PATH; `print_ver_ cp` skips unless cp is
# in $built_programs; require_*_ helpers (init.cfg) skip for missing
# features, some by grepping $CONFIG_HEADER. Instead of building coreutils,
# the "build tree" here is a src/ directory of symlinks to the system's
# coreutils programs (Debian 12 ships 9.1) with the cp under test copied in
# as src/cp, and a lib/config.h declaring the features Debian's build has.
#
# The test scripts are downloaded, never copied into this project.
set -u

VERSION=9.1
TARBALL_NAME=coreutils_$VERSION.orig.tar.xz
TARBALL_URL=http://deb.debian.org/debian/pool/main/c/coreutils/$TARBALL_NAME
# The upstream coreutils-9.1.tar.xz, which Debian ships unchanged as orig.
TARBALL_SHA256=61a1f410d78ba7e7f37a5a4f50e6d1320aca33375484a3255eddf17a38580423

me=${0##*/}
die() { echo "$me: $*" >&2; exit 2; }
skip() { echo "$me: SKIP: $*" >&2; exit 77; }
note() { echo "$me: $*" >&2; }

# ---------------------------------------------------------------- options
test_cp=
gnu_cp=
reference=yes
only=()
keep=
keep_testdirs=no
work=
cache=
tarball=${GNU_CP_SUITE_TARBALL:-}
run_user=
expected=
expensive=yes
per_test_timeout=120

while test $# -gt 0; do
	case $1 in
	--cp) test $# -ge 2 || die "--cp needs a path"; test_cp=$2; shift 2 ;;
	--gnu-cp) test $# -ge 2 || die "--gnu-cp needs a path"; gnu_cp=$2; shift 2 ;;
	--no-reference) reference=no; shift ;;
	--only)
		shift
		while test $# -gt 0 && case $1 in --*) false ;; esac; do
			only+=("$1"); shift
		done
		test ${#only[@]} -gt 0 || die "--only needs test names" ;;
	--keep) test $# -ge 2 || die "--keep needs a directory"; keep=$2; shift 2 ;;
	--keep-testdirs) keep_testdirs=yes; shift ;;
	--work) test $# -ge 2 || die "--work needs a directory"; work=$2; shift 2 ;;
	--cache) test $# -ge 2 || die "--cache needs a directory"; cache=$2; shift 2 ;;
	--tarball) test $# -ge 2 || die "--tarball needs a path"; tarball=$2; shift 2 ;;
	--user) test $# -ge 2 || die "--user needs a name"; run_user=$2; shift 2 ;;
	--expected) test $# -ge 2 || die "--expected needs a file"; expected=$2; shift 2 ;;
	--no-expensive) expensive=no; shift ;;
	--timeout) test $# -ge 2 || die "--timeout needs seconds"; per_test_timeout=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -u/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

# Resolve paths now: the tests run from another directory.
abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$PWD" "$(basename "$1")"); }
if test -z "$gnu_cp"; then
	gnu_cp=$(command -v cp) || die "no cp on PATH"
fi
gnu_cp=$(abspath "$gnu_cp")
test -x "$gnu_cp" || die "not executable: $gnu_cp"
if test -n "$test_cp"; then
	test -f "$test_cp" && test -x "$test_cp" || die "not an executable file: $test_cp"
	test_cp=$(abspath "$test_cp")
fi
test -n "$expected" && { test -r "$expected" || die "cannot read $expected"; }
test -n "$expected" && test -z "$test_cp" && die "--expected needs --cp"
test -n "$expected" && test $reference = no && die "--expected needs the GNU run"
test $reference = no && test -z "$test_cp" && die "nothing to run (--no-reference without --cp)"
case $per_test_timeout in ''|*[!0-9]*) die "--timeout: not a number" ;; esac

if ! "$gnu_cp" --version 2>/dev/null | head -n1 | grep -q 'GNU coreutils'; then
	die "$gnu_cp is not GNU cp (use --gnu-cp)"
fi
gnu_ver=$("$gnu_cp" --version | sed -n '1s/.* //p')
test "$gnu_ver" = $VERSION ||
	note "warning: the reference cp is coreutils $gnu_ver, the tests are $VERSION's"

if test -n "$run_user"; then
	test "$(id -u)" = 0 || die "--user needs root"
	id -u "$run_user" >/dev/null || die "no user $run_user"
	command -v setpriv >/dev/null || die "--user needs setpriv (util-linux)"
fi
# As root: the user that non-root-only tests run as (init.cfg's default for
# the tests' own NON_ROOT_USERNAME too).
nonroot_user=
if test "$(id -u)" = 0 && test -z "$run_user" && command -v setpriv >/dev/null; then
	nonroot_user=${NON_ROOT_USERNAME:-nobody}
	id -u "$nonroot_user" >/dev/null 2>&1 || nonroot_user=
fi

# ---------------------------------------------------------------- tarball
# Order: --tarball / $GNU_CP_SUITE_TARBALL, the caches, then a download into
# the first cache (so that reruns need no network). Checked against the
# known sha256 so that a truncated or substituted file never runs as root.
check_sum() {
	echo "$TARBALL_SHA256  $1" | sha256sum -c --status -
}
user_cache=
if test -n "${XDG_CACHE_HOME:-}"; then
	user_cache=$XDG_CACHE_HOME/urt
elif test -n "${HOME:-}"; then
	user_cache=$HOME/.cache/urt
fi
test -n "$cache" || cache=$user_cache
if test -n "$tarball"; then
	test -r "$tarball" || skip "cannot read $tarball"
	check_sum "$tarball" || die "$tarball: sha256 is not coreutils $VERSION's"
else
	for dir in "$cache" "$user_cache"; do
		test -n "$dir" && test -r "$dir/$TARBALL_NAME" || continue
		check_sum "$dir/$TARBALL_NAME" && { tarball=$dir/$TARBALL_NAME; break; }
	done
fi
if test -z "$tarball"; then
	test -n "$cache" || skip "no cache directory (set XDG_CACHE_HOME or --cache) and no --tarball"
	mkdir -p "$cache" || skip "cannot create $cache"
	part=$cache/$TARBALL_NAME.part.$$
	note "downloading $TARBALL_URL into $cache"
	if command -v curl >/dev/null; then
		curl -sSfL --retry 2 --connect-timeout 20 --max-time 300 -o "$part" "$TARBALL_URL"
	elif command -v wget >/dev/null; then
		wget -q --tries=2 --timeout=20 -O "$part" "$TARBALL_URL"
	else
		false
	fi || { rm -f "$part"; skip "cannot download $TARBALL_URL (no network?), and no cached copy"; }
	check_sum "$part" || { rm -f "$part"; die "downloaded $TARBALL_NAME has the wrong sha256"; }
	mv -f "$part" "$cache/$TARBALL_NAME" || die "cannot store into $cache"
	tarball=$cache/$TARBALL_NAME
fi
tarball=$(abspath "$tarball")

# ---------------------------------------------------------------- work dir
if test -n "$work"; then
	mkdir -p "$work" || die "cannot create $work"
	work=$(cd "$work" && pwd)
	remove_work=no
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/gnu-cp-suite.XXXXXX") || die "mktemp failed"
	remove_work=$([ $keep_testdirs = yes ] && echo no || echo yes)
fi
if test -z "$keep"; then
	keep=$(mktemp -d "${TMPDIR:-/tmp}/gnu-cp-suite-results.XXXXXX") || die "mktemp failed"
fi
mkdir -p "$keep" || die "cannot create $keep"
keep=$(cd "$keep" && pwd)
# Root tests run commands as nobody (chroot --user=nobody ... cp) from the
# src/ below: the tree must be searchable by everyone; mktemp made it 0700.
chmod 755 "$work"
cleanup() {
	if test $remove_work = yes; then
		chmod -R u+rwx "$work" 2>/dev/null
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

top_srcdir_name=coreutils-$VERSION
abs_top_srcdir=$work/$top_srcdir_name
if ! test -f "$abs_top_srcdir/tests/init.sh"; then
	command -v xz >/dev/null || skip "cannot unpack $TARBALL_NAME: no xz (apt-get install xz-utils)"
	# Only what the tests read: tests/ (init.sh, helpers, the scripts),
	# init.cfg, build-aux/ (test-driver, the program list, config.guess).
	tar -C "$work" -xJf "$tarball" "$top_srcdir_name/tests" \
		"$top_srcdir_name/init.cfg" "$top_srcdir_name/build-aux" ||
		die "cannot unpack $tarball"
fi

# ---------------------------------------------------------------- test list
all_tests=()
for t in "$abs_top_srcdir"/tests/cp/*.sh; do
	all_tests+=("cp/${t##*/}")
done
tests=()
if test ${#only[@]} -gt 0; then
	for n in "${only[@]}"; do
		n=${n#tests/}; n=${n#cp/}; n=cp/${n%.sh}.sh
		test -f "$abs_top_srcdir/tests/$n" || die "no test $n in coreutils $VERSION"
		tests+=("$n")
	done
else
	tests=("${all_tests[@]}")
fi

# ---------------------------------------------------------------- programs
# Every coreutils program the system has (GNU's, by its --version), the way
# `make` would have built them; others (kill, uptime, hostname come from
# other Debian packages) stay out of $built_programs, so a test needing one
# skips exactly as with a Debian build.
sys_path=$PATH
programs=()
prog_paths=()
while read -r p; do
	case $p in
	libstdbuf.so|coreutils) continue ;;	# not programs Debian installs
	ginstall) exe=install ;;		# built as ginstall, installed as install
	*) exe=$p ;;
	esac
	path=$(PATH=$sys_path type -P "$exe") || continue
	# test(1) answers --version only when called as [.
	probe=$path; test "$p" = test && { probe=$(PATH=$sys_path type -P '[') || continue; }
	# "cp (GNU coreutils) 9.1", but "dd (coreutils) 9.1".
	timeout 10 "$probe" --version </dev/null 2>/dev/null | head -n1 |
		grep -q 'coreutils) ' || continue
	programs+=("$p")
	prog_paths+=("$path")
done < <(sh "$abs_top_srcdir/build-aux/gen-lists-of-programs.sh" --list-progs)

host_triplet=$(sh "$abs_top_srcdir/build-aux/config.guess" 2>/dev/null) || host_triplet=x86_64-pc-linux-gnu
host_os=${host_triplet#*-*-}
AWK_PROG=$(for a in gawk mawk nawk awk; do command -v $a && break; done | head -n1)
CC_PROG=$(for c in gcc cc; do command -v $c && break; done | head -n1)
LOCALE_FR_NAME=none; LOCALE_FR_UTF8_NAME=none
for l in $(locale -a 2>/dev/null); do
	case $l in
	fr_FR.utf8|fr_FR.UTF-8) LOCALE_FR_UTF8_NAME=$l ;;
	fr_FR|fr_FR.ISO-8859-1|fr_FR.iso88591) LOCALE_FR_NAME=$l ;;
	esac
done
PERL_PROG=perl
command -v perl >/dev/null || PERL_PROG="/bin/sh $abs_top_srcdir/tests/no-perl"

# make_build_tree DIR CP [OWNER]: DIR becomes the "top build directory":
# src/ with the programs, src/cp a copy of CP (a copy, not a symlink: it must run as
# `cp` -- argv[0] -- and be reachable by nobody wherever CP lives), and
# lib/config.h with the lines tests/cp/*.sh and init.cfg grep for, as
# Debian 12's coreutils 9.1 build defines them (it links libacl, libattr,
# libcap and libselinux). They state what a cp is expected to do, so the
# same header serves the cp under test. OWNER: the user the tests run as
# (they create their directories in DIR).
make_build_tree() {
	local dir=$1 cp=$2 owner=${3:-} i
	rm -rf "$dir"
	mkdir -p "$dir/src" "$dir/lib" "$dir/tests/cp" || die "cannot create $dir"
	for i in "${!programs[@]}"; do
		test "${programs[$i]}" = cp && continue
		ln -s "${prog_paths[$i]}" "$dir/src/${programs[$i]}"
	done
	cp "$cp" "$dir/src/cp" && chmod 755 "$dir/src/cp" || die "cannot copy $cp"
	cat > "$dir/lib/config.h" <<-'EOF'
	/* The features of Debian 12's coreutils 9.1 build that the tests ask about. */
	#define USE_ACL 1
	#define USE_XATTR 1
	#define HAVE_CAP 1
	#define HAVE_SELINUX_SELINUX_H 1
	#define HAVE_LINKAT 1
	/* #undef LINKAT_SYMLINK_NOTSUP */
	#define HAVE_UTIMENSAT 1
	#define HAVE_LUTIMES 1
	#define HAVE_OPENAT 1
	EOF
	if test -n "$owner"; then
		chown -R "$owner:" "$dir" || die "cannot chown $dir"
	fi
}

# run_one BUILDDIR NAME [USER]: run tests/NAME as automake's harness does,
# as USER if given; prints PASS, FAIL or SKIP (ERROR, a framework failure,
# counts as FAIL). The test's first line on fd 9 (why it skipped or failed)
# lands in BUILDDIR/tests/cp/NAME.msg.
run_one() {
	local builddir=$1 name=$2 user=${3:-} base
	base=tests/${name%.sh}
	local log=$builddir/$base.log trs=$builddir/$base.trs msg=$builddir/$base.msg
	rm -f "$log" "$trs" "$msg"
	local -a as_user=()
	if test -n "$user"; then
		as_user=(setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --)
	fi
	(
		cd "$builddir" || exit 99
		# TESTS_ENVIRONMENT, statement by statement (tests/local.mk).
		. "$abs_top_srcdir/tests/lang-default"
		tmp__=${TMPDIR-/tmp}
		test -d "$tmp__" && test -w "$tmp__" || tmp__=.
		. "$abs_top_srcdir/tests/envvar-check"
		TMPDIR=$tmp__; export TMPDIR
		# The tree is a VPATH build: srcdir relative, as automake makes it.
		export \
			VERSION=$VERSION \
			LOCALE_FR=$LOCALE_FR_NAME \
			LOCALE_FR_UTF8=$LOCALE_FR_UTF8_NAME \
			abs_top_builddir=$builddir \
			abs_top_srcdir="$abs_top_srcdir" \
			abs_srcdir="$abs_top_srcdir" \
			built_programs="${programs[*]}" \
			fail=0 \
			host_os="$host_os" \
			host_triplet="$host_triplet" \
			srcdir="../$top_srcdir_name" \
			top_srcdir="../$top_srcdir_name" \
			CONFIG_HEADER="$builddir/lib/config.h" \
			CU_TEST_NAME="$top_srcdir_name,tests-${name//\//-}" \
			CC="$CC_PROG" \
			AWK="$AWK_PROG" \
			EGREP='grep -E' \
			EXEEXT= \
			MAKE=make \
			PACKAGE_VERSION=$VERSION \
			PERL="$PERL_PROG" \
			SHELL=/bin/sh
		PATH=$builddir/src:$PATH
		# cfg.mk's "export VERBOSE = yes": init.sh then runs the test
		# under set -x, so the log shows each command.
		export VERBOSE=yes
		if test $expensive = yes; then
			export RUN_EXPENSIVE_TESTS=yes RUN_VERY_EXPENSIVE_TESTS=yes
		fi
		test $keep_testdirs = yes && export KEEP=yes
		# Root may give a file any group, so it passes the "member of two
		# groups" requirement (existing-perm-race.sh chgrps to both); the
		# variable is init.cfg's documented way to name the groups.
		if test -z "$user" && test "$(id -u)" = 0 && test -n "$nonroot_user"; then
			export COREUTILS_GROUPS="$(id -g) $(id -g "$nonroot_user")"
		fi
		exec 9>"$msg"
		test -n "$user" && chown "$user" "$msg"
		# timeout goes inside test-driver, which deletes the log when it
		# gets a signal. timeout makes itself a process group and kills
		# all of it, so a cp stuck on (say) a FIFO ends the test (exit
		# 124, or 137 after -k), not the suite.
		exec /bin/sh "../$top_srcdir_name/build-aux/test-driver" \
			--test-name "tests/$name" --log-file "$log" --trs-file "$trs" \
			--color-tests no --enable-hard-errors yes --expect-failure no -- \
			"${as_user[@]}" timeout -k 10 "$per_test_timeout" \
			/bin/sh "../$top_srcdir_name/tests/$name" </dev/null >/dev/null 2>&1
	)
	local res
	res=$(sed -n 's/^:test-result: //p' "$trs" 2>/dev/null)
	if tail -n1 "$log" 2>/dev/null | grep -q '(exit status: 1[23][47])$'; then
		echo "timed out after ${per_test_timeout}s" >> "$msg"
	fi
	case $res in
	PASS|SKIP) echo $res ;;
	*) echo FAIL ;;
	esac
}

# run_suite LABEL CP: every test against CP; fills results_LABEL[name].
# As root, a test that skips because it must run as non-root (fail-perm.sh)
# is run again as $nonroot_user in a tree of its own, so that a root run
# covers every test that can run here; its line says "as USER".
declare -A results_gnu=() results_tested=() reason_gnu=() reason_tested=() elapsed=()
run_suite() {
	local label=$1 cp=$2 builddir=$work/$1 name res t0 start why dir
	local -n res_of=results_$label why_of=reason_$label
	make_build_tree "$builddir" "$cp" "$run_user"
	echo "== $label: $cp ($("$cp" --version 2>&1 | head -n1))"
	test -n "$run_user" && echo "   as user $run_user"
	start=$(date +%s)
	for name in "${tests[@]}"; do
		t0=$(date +%s)
		dir=$builddir
		if test "$label" = tested && [[ ${allowed[$name]:-} == deliberate* ]]; then
			res_of[$name]=FAIL
			why_of[$name]="not run: ${allowed[$name]}"
			printf 'FAIL %s  (not run: %s)\n' "$name" "${allowed[$name]}"
			continue
		fi
		res=$(run_one "$dir" "$name" "$run_user")
		why=$(head -n1 "$dir/tests/${name%.sh}.msg" 2>/dev/null | sed "s/^${name#cp/}: //")
		if test $res = SKIP && test -z "$run_user" && test -n "$nonroot_user" &&
			test "$why" = "skipped test: must be run as non-root"; then
			dir=$builddir-$nonroot_user
			test -d "$dir" || make_build_tree "$dir" "$cp" "$nonroot_user"
			res=$(run_one "$dir" "$name" "$nonroot_user")
			why="as $nonroot_user$(head -n1 "$dir/tests/${name%.sh}.msg" 2>/dev/null |
				sed "s/^${name#cp/}: /: /")"
		fi
		res_of[$name]=$res
		why_of[$name]=$why
		printf '%s %s  %ss%s\n' "$res" "$name" $(($(date +%s) - t0)) "${why:+  ($why)}"
		if test $res != PASS; then
			mkdir -p "$keep/$label/cp"
			cp "$dir/tests/${name%.sh}.log" "$keep/$label/$name.log" 2>/dev/null ||
				echo "no log: $why" > "$keep/$label/$name.log"
		fi
	done
	elapsed[$label]=$(($(date +%s) - start))
}

# The expected list. A test it lists as "deliberate: ..." (a behaviour the
# tested cp has on purpose, see the README) is not run with that cp: the
# two of them wait forever by design, which would cost the timeout each.
declare -A allowed=()
if test -n "$expected"; then
	while read -r n rest; do
		case $n in ''|'#'*) continue ;; esac
		allowed[$n]=${rest:-"(no reason given)"}
		test -f "$abs_top_srcdir/tests/$n" || note "warning: $expected names $n, not a test of coreutils $VERSION"
	done < "$expected"
fi

rm -rf "$keep/gnu" "$keep/tested"
suite_start=$(date +%s)
test $reference = yes && run_suite gnu "$gnu_cp"
test -n "$test_cp" && run_suite tested "$test_cp"

# ---------------------------------------------------------------- report

count() {	# count LABEL RESULT
	local -n r=results_$1
	local n c=0
	for n in "${tests[@]}"; do test "${r[$n]:-}" = "$2" && c=$((c + 1)); done
	echo $c
}

{
	echo
	echo "== summary (coreutils $VERSION tests/cp, as ${run_user:-$(id -un)}, work dir on $(df --output=fstype "$work" | tail -n1))"
	printf '%-32s %-5s %-5s %s\n' test gnu tested note
	for name in "${tests[@]}"; do
		g=${results_gnu[$name]:--}
		r=${results_tested[$name]:--}
		why=
		if test "$g" = PASS && test "$r" != PASS && test "$r" != -; then
			if test -n "${allowed[$name]+set}"; then
				why="expected: ${allowed[$name]}"
			else
				why="UNEXPECTED"
			fi
		elif test "$r" = PASS && test -n "${allowed[$name]+set}"; then
			why="passes now: remove it from the expected list"
		elif test "$g" != PASS && test "$g" != -; then
			why="gnu: ${reason_gnu[$name]}"
		fi
		printf '%-32s %-5s %-5s %s\n' "$name" "$g" "$r" "$why"
	done
	for label in gnu tested; do
		test "$label" = gnu && test $reference = no && continue
		test "$label" = tested && test -z "$test_cp" && continue
		printf '%s: %d PASS, %d FAIL, %d SKIP of %d (%ss)\n' "$label" \
			"$(count $label PASS)" "$(count $label FAIL)" "$(count $label SKIP)" \
			${#tests[@]} "${elapsed[$label]}"
	done
	if test -n "$test_cp" && test $reference = yes; then
		both=0
		for name in "${tests[@]}"; do
			test "${results_gnu[$name]}" = PASS && test "${results_tested[$name]}" = PASS &&
				both=$((both + 1))
		done
		echo "tested passes $both of the $(count gnu PASS) tests GNU cp passes"
	fi
	echo "total time: $(( $(date +%s) - suite_start ))s; logs of tests that did not pass: $keep"
} | tee "$keep/summary.txt"

# Recompute outside the pipeline's subshell.
unexpected=()
for name in "${tests[@]}"; do
	test "${results_gnu[$name]:-}" = PASS || continue
	r=${results_tested[$name]:-}
	test -z "$r" || test "$r" = PASS || test -n "${allowed[$name]+set}" || unexpected+=("$name")
done
if test -n "$expected" && test ${#unexpected[@]} -gt 0; then
	echo "$me: FAIL: GNU cp passes but the tested cp does not (and $expected does not list):"
	printf '  %s\n' "${unexpected[@]}"
	exit 1
fi
exit 0
