#!/usr/bin/env bash
# End-to-end tests for urt-cp (see tools/urt-cp, contract in the urt-cp spec).
#
# Usage: urt_cp_e2e.sh /path/to/urt-cp [TEST_NAME...]
#
# Every test is a function t_NAME that runs in its own subshell, inside its
# own fresh directory under a temporary root (removed by a trap on exit).
# A test fails by calling `fail "reason"`, is skipped by `skip "reason"`.
# The runner prints "ok NAME", "skip NAME: reason" or "FAIL NAME: reason"
# per test and exits 1 if any test failed.
#
# Nothing here depends on timing: timeouts only guard against hangs.

set -u

if [ $# -lt 1 ]; then
	echo "usage: $0 /path/to/urt-cp [TEST...]" >&2
	exit 2
fi
URTCP=$(realpath -- "$1") || exit 2
shift
if [ ! -x "$URTCP" ]; then
	echo "urt-cp binary '$URTCP' is not executable" >&2
	exit 2
fi

HANG_TIMEOUT=${URT_CP_E2E_TIMEOUT:-100}   # seconds before a run counts as hung
umask 022
export LC_ALL=C

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/urt-cp-e2e.XXXXXX") || exit 2
cleanup() {
	chmod -R u+rwX "$ROOT" 2>/dev/null
	rm -rf "$ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# fail / skip: only ever called inside a test's subshell.
fail() { printf '%s\n' "$*" >"$RESULT"; exit 1; }
skip() { printf '%s\n' "$*" >"$RESULT"; exit 77; }

# run ARGS...: run urt-cp with a hang guard; sets $rc, stdout in $OUT, stderr
# in $ERR (both files live outside the trees being copied). RUN_PRE: a
# command to run it under (setpriv, env), as an array. Every run is checked
# for temporaries left anywhere in the test's directory (no_temps_after).
RUN_PRE=()
run() {
	timeout -k 10 "$HANG_TIMEOUT" ${RUN_PRE[@]+"${RUN_PRE[@]}"} "$URTCP" "$@" >"$OUT" 2>"$ERR"
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		fail "urt-cp $* hung (killed after ${HANG_TIMEOUT}s); stderr: $(errtext)"
	fi
	no_temps_after "urt-cp $*"
	return 0
}

# urt-cp's promise: no run leaves a temporary (.urt-cp.*) behind, whatever
# it copied or failed to copy. Looks through the whole test directory.
no_temps_after() {
	local t
	t=$(find "$TESTDIR" -name '.urt-cp.*' 2>/dev/null | head -5 | tr '\n' ' ')
	[ -z "$t" ] || fail "$1: temporaries left behind: $t"
}

errtext() { head -c 2000 "$ERR" | tr '\n' '|'; }
outtext() { head -c 2000 "$OUT" | tr '\n' '|'; }

# Assertions
expect_rc() { # expected description...
	local want=$1; shift
	[ "$rc" -eq "$want" ] ||
		fail "$*: exit status $rc, expected $want; stderr: $(errtext)"
}
expect_rc_nonzero() {
	[ "$rc" -ne 0 ] || fail "$*: exit status 0, expected failure; stderr: $(errtext)"
	[ "$rc" -lt 128 ] || fail "$*: urt-cp died from signal $((rc - 128)); stderr: $(errtext)"
}
expect_stderr_names() { # path-fragment description
	[ -s "$ERR" ] || fail "$2: stderr is empty, expected a message naming '$1'"
	grep -qF -- "$1" "$ERR" || fail "$2: stderr does not name '$1': $(errtext)"
}
expect_stderr_empty() {
	[ ! -s "$ERR" ] || fail "$*: unexpected stderr: $(errtext)"
}
same_file() { # a b description
	[ -f "$2" ] || fail "$3: '$2' missing or not a regular file"
	cmp -s -- "$1" "$2" || fail "$3: '$2' differs from '$1' ($(cmp -- "$1" "$2" 2>&1 | head -1))"
}
no_temp_files() { # dir description
	local t
	t=$(find "$1" -name '.urt-cp.*' 2>/dev/null | head -5 | tr '\n' ' ')
	[ -z "$t" ] || fail "$2: temp files left behind: $t"
}
mode_of() { stat -c %a -- "$1"; }

rand_file() { # path bytes
	head -c "$2" /dev/urandom >"$1"
}

# make_tree DIR: nested dirs (3 levels), ~200 files of random sizes, odd
# modes and symlinks (relative, absolute, dangling).
make_tree() {
	local d=$1 i sub
	mkdir -p "$d/a/b/c" "$d/a/b2" "$d/x/y/z" "$d/empty_dir" "$d/sp ace/dir"
	local dirs=("" a a/b a/b/c a/b2 x x/y x/y/z "sp ace" "sp ace/dir")
	for i in $(seq 1 200); do
		sub=${dirs[$((i % ${#dirs[@]}))]}
		rand_file "$d/${sub:+$sub/}f$i" $((RANDOM * 300 * 1024 / 32768 + RANDOM % 2))
	done
	: >"$d/a/empty_file"
	rand_file "$d/a/b/c/big" $((300 * 1024))
	rand_file "$d/mode600" 1000; chmod 0600 "$d/mode600"
	rand_file "$d/a/mode755" 2000; chmod 0755 "$d/a/mode755"
	rand_file "$d/a/b/mode444" 3000; chmod 0444 "$d/a/b/mode444"
	rand_file "$d/x/mode640" 4000; chmod 0640 "$d/x/mode640"
	chmod 0750 "$d/x/y"
	chmod 0700 "$d/a/b2"
	ln -s ../f1 "$d/a/rel_link"
	ln -s b/c/big "$d/a/rel_link2"
	ln -s /etc/hostname "$d/x/abs_link"
	ln -s does/not/exist "$d/x/y/dangling"
	ln -s ../a "$d/x/dirlink"
	printf 'file name with\ttab\n' >"$d/sp ace/tab	name"
}

# listing DIR [with-modes]: one line per entry: path, type, [mode,] link target
listing() {
	if [ "${2:-}" = modes ]; then
		(cd "$1" && find . -mindepth 1 -printf '%P %y %m %l\n' | sort)
	else
		(cd "$1" && find . -mindepth 1 -printf '%P %y %l\n' | sort)
	fi
}

# same_tree SRC DST description [modes]
same_tree() {
	[ -d "$2" ] || fail "$3: destination tree '$2' does not exist"
	local d first re='^(Binary )?[Ff]iles (.*) and (.*) differ$'
	d=$(diff -r --no-dereference -- "$1" "$2" 2>&1 | head -5)
	if [ -n "$d" ]; then
		first=$(printf '%s\n' "$d" | head -1)
		if [[ $first =~ $re ]]; then
			first="; first: ${BASH_REMATCH[2]} has size $(stat -c %s -- "${BASH_REMATCH[2]}"), ${BASH_REMATCH[3]} has size $(stat -c %s -- "${BASH_REMATCH[3]}"): $(cmp -- "${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" 2>&1 | head -1)"
		else
			first=
		fi
		fail "$3: trees differ: $(printf '%s\n' "$d" | tr '\n' '|')$first"
	fi
	d=$(diff <(listing "$1" "${4:-}") <(listing "$2" "${4:-}") | head -8 | tr '\n' '|')
	[ -z "$d" ] || fail "$3: tree listings differ (< src, > dst): $d"
}

# mtimes DIR: path and mtime (ns) of regular files and directories
mtimes() {
	(cd "$1" && find . \( -type f -o -type d \) -printf '%P %T@\n' | sort)
}

# Run a command as an unprivileged user (nobody) when we are root.
PRIV_DROP=()
if [ "$(id -u)" -eq 0 ]; then
	if command -v setpriv >/dev/null &&
	   setpriv --reuid=nobody --regid=nogroup --clear-groups true 2>/dev/null; then
		PRIV_DROP=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	elif command -v runuser >/dev/null && runuser -u nobody -- true 2>/dev/null; then
		PRIV_DROP=(runuser -u nobody --)
	fi
fi

# ------------------------------------------------- comparing with GNU cp
#
# GNU cp is the reference (coreutils' own tests/cp are the specification).
# A comparing test makes its input twice, with one function run in gnu/
# and in urt/, runs cp in one and urt-cp in the other with the same
# arguments (both), and checks that urt-cp did what cp did (like_gnu):
# exit status, messages, and the resulting trees, input included (snap).
GNUCP=${URT_CP_E2E_GNU_CP:-cp}

need_gnu_cp() {
	"$GNUCP" --version 2>/dev/null | head -1 | grep -q 'GNU coreutils' ||
		skip "no GNU cp to compare with ('$GNUCP')"
}

# same_input FN: a fresh gnu/ and urt/ here, FN run in each
same_input() {
	need_gnu_cp
	rm -rf gnu urt
	mkdir gnu urt || fail "mkdir gnu urt"
	(cd gnu && "$1") || fail "making the input ($1) in gnu/"
	(cd urt && "$1") || fail "making the input ($1) in urt/"
	# as nobody (as_nobody): the two directories, not the input, writable
	[ ${#RUN_PRE[@]} -eq 0 ] || chmod 0777 gnu urt
}

# both ARGS...: cp ARGS in gnu/ (status $grc, stderr $GERR) and urt-cp ARGS
# in urt/ (run: $rc, $ERR), each under RUN_PRE
both() {
	(cd gnu && timeout -k 10 "$HANG_TIMEOUT" ${RUN_PRE[@]+"${RUN_PRE[@]}"} "$GNUCP" "$@") \
		>"$GOUT" 2>"$GERR"
	grc=$?
	cd urt || fail "no urt/"
	run "$@"
	cd .. || fail "cd .."
}

# msgs FILE: the messages without the program's name, sorted (copies on
# several loops report in any order)
msgs() { sed -E "s/^(cp|urt-cp): //; s/^Try 'urt-cp --help'/Try 'cp --help'/" "$1" | LC_ALL=C sort; }

# snap DIR: one line per entry: path, type, mode, owner, link group (the
# first path of its inode), content or link target, ACL, xattrs, file
# capabilities. (A few processes per tree, not per file: tests compare
# trees often.)
snap() {
	(cd "$1" && {
		find . -mindepth 1 -printf 'M\t%P\t%y %m %u:%g\t%i\t%l\n'
		find . -mindepth 1 -type f -exec cksum {} + |
			awk '{ p = $0; sub(/^[0-9]+ [0-9]+ \.\//, "", p); print "D\t" p "\t" $1 " " $2 }'
		getfacl -R -P -p . 2>/dev/null |
			awk '/^# file: / { f = substr($0, 9); sub(/^\.\//, "", f); next }
			     /^#/ { next } NF { print "A\t" f "\t" $0 }'
		getfattr -R -P -h -d -m - -e hex . 2>/dev/null |
			awk '/^# file: / { f = substr($0, 9); sub(/^\.\//, "", f); next }
			     /^#/ { next } NF { print "X\t" f "\t" $0 }'
		getcap -r . 2>/dev/null |
			awk '{ c = $NF; p = $0; sub(/ [^ ]*$/, "", p); sub(/^\.\//, "", p); print "C\t" p "\t" c }'
	}) | awk -F'\t' '
		$1 == "M" { meta[$2] = $3; ino[$2] = $4; tgt[$2] = $5; next }
		$1 == "D" { data[$2] = $3; next }
		$1 == "A" { acl[$2] = acl[$2] $3 ","; next }
		$1 == "X" { xa[$2] = xa[$2] $3 ","; next }
		$1 == "C" { cap[$2] = $3; next }
		END {
			for (p in meta) {
				l = p " " meta[p]
				if (meta[p] ~ /^l /)
					l = l " -> " tgt[p]
				else
					l = l " data=" data[p] " acl=[" acl[p] "] cap=[" cap[p] "]"
				print p "\t" ino[p] "\t" l " xattr=[" xa[p] "]"
			}
		}' | LC_ALL=C sort -t "$(printf '\t')" -k1,1 |
		awk -F'\t' '{ if (!($2 in g)) g[$2] = $1; print $3 " links=" g[$2] }'
}

# like_gnu DESC: urt-cp's exit status, messages and tree are cp's
like_gnu() {
	local d
	[ "$rc" -eq "$grc" ] ||
		fail "$1: exit status $rc, cp's $grc; stderr: $(errtext); cp's: $(head -c 600 "$GERR" | tr '\n' '|')"
	d=$(diff <(msgs "$GERR") <(msgs "$ERR") | head -6 | tr '\n' '|')
	[ -z "$d" ] || fail "$1: messages differ from cp's (< cp, > urt-cp): $d"
	d=$(diff <(snap gnu) <(snap urt) | head -8 | tr '\n' '|')
	[ -z "$d" ] || fail "$1: result differs from cp's (< cp, > urt-cp): $d"
}

need_tools() { # tool package
	command -v "$1" >/dev/null || skip "$1 is not installed (Debian: $2; tools/bootstrap installs it)"
}

# on_ext4_and_tmpfs FN: FN in a fresh directory here (the test root's file
# system, ext4 for /tmp) and in one on /dev/shm (tmpfs), with the file
# system's name as its argument. Bugs of ACLs, xattrs and capabilities
# depend on the file system's handlers.
on_ext4_and_tmpfs() {
	local here=$PWD shm
	mkdir here_fs && cd here_fs || fail "mkdir here_fs"
	"$1" "$(stat -f -c %T .)"
	cd "$here" || fail "cd"
	[ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] ||
		skip "checked on $(stat -f -c %T .) only: /dev/shm is not a tmpfs"
	shm=$(mktemp -d /dev/shm/urt-cp-e2e.XXXXXX) || fail "mktemp on /dev/shm"
	trap 'rm -rf "$shm"' EXIT
	chmod 0755 "$shm"
	cd "$shm" || fail "cd $shm"
	"$1" tmpfs
	no_temp_files "$shm" "$1 on tmpfs"
	cd "$here" || fail "cd"
	rm -rf "$shm"
}

# as_nobody: RUN_PRE for an unprivileged run (skips when impossible); the
# test's directory is made reachable and gnu/, urt/ writable
as_nobody() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: it makes root's files and copies them as nobody"
	[ ${#PRIV_DROP[@]} -gt 0 ] || skip "cannot drop privileges (no setpriv/runuser)"
	"${PRIV_DROP[@]}" test -x "$URTCP" || skip "urt-cp binary is not executable by nobody"
	chmod 0755 "$ROOT" "$TESTDIR" "$TESTDIR/work"
	chmod 0777 gnu urt
	RUN_PRE=("${PRIV_DROP[@]}" "$@")
}

# ------------------------------------------------------------------ tests

t_single_file() {
	rand_file a 100000
	run a b
	expect_rc 0 "urt-cp a b"
	same_file a b "urt-cp a b"
	mkdir dir
	run a dir
	expect_rc 0 "urt-cp a dir"
	same_file a dir/a "urt-cp a dir"
	[ ! -e dir/dir ] || fail "urt-cp a dir created dir/dir"
	# absolute paths and a DIR with trailing slash
	rand_file c 5000
	run "$PWD/c" "$PWD/dir/"
	expect_rc 0 "urt-cp /abs/c /abs/dir/"
	same_file c dir/c "urt-cp /abs/c /abs/dir/"
	no_temp_files . "single file copies"
}

t_empty_file() {
	: >empty
	run empty copy
	expect_rc 0 "urt-cp empty copy"
	[ -f copy ] || fail "copy of empty file does not exist"
	[ ! -s copy ] || fail "copy of empty file has size $(stat -c %s copy)"
}

t_large_file() {
	# a few chunks' worth, size not a multiple of any power of two
	rand_file big $((37 * 1024 * 1024 + 4321))
	run big big.copy
	expect_rc 0 "urt-cp big big.copy"
	same_file big big.copy "37 MiB file"
}

t_mixed_sizes_default() {
	# default options (-j 16, 1 MiB chunks, depth 4): large files copied
	# concurrently with small ones must all come out complete
	mkdir src
	local i
	for i in 1 2 3 4 5 6; do
		rand_file "src/big$i" $((i * 3 * 1024 * 1024 + i * 777))
		rand_file "src/small$i" $((i * 1000))
		: >"src/empty$i"
	done
	run -r src dst
	expect_rc 0 "urt-cp -r src dst (mixed sizes)"
	same_tree src dst "urt-cp -r src dst (files of 0..18 MiB)"
}

t_tree_r() {
	make_tree src
	run -r src dst
	expect_rc 0 "urt-cp -r src dst"
	expect_stderr_empty "urt-cp -r src dst"
	same_tree src dst "urt-cp -r src dst"
	no_temp_files dst "urt-cp -r src dst"
}

t_tree_R_long() {
	make_tree src
	run -R src dst1
	expect_rc 0 "urt-cp -R src dst1"
	same_tree src dst1 "urt-cp -R"
	run --recursive src dst2
	expect_rc 0 "urt-cp --recursive src dst2"
	same_tree src dst2 "urt-cp --recursive"
}

t_tree_p_modes() {
	make_tree src
	chmod 0555 src/a/b/c   # read-only dir: mode must be applied after filling it
	run -r -p src dst
	expect_rc 0 "urt-cp -r -p src dst"
	same_tree src dst "urt-cp -r -p src dst" modes
	[ "$(mode_of dst)" = "$(mode_of src)" ] ||
		fail "top dir mode $(mode_of dst), expected $(mode_of src)"
}

t_tree_p_mtimes() {
	make_tree src
	# distinctive, old timestamps with a nanosecond part, dirs last
	find src \( -type f -o -type d \) -print0 |
		xargs -0 touch -h -d '2001-02-03 04:05:06.123456789'
	touch -d '1999-12-31 23:59:58.987654321' src/a/b/c/big
	find src -depth -type d -print0 | xargs -0 touch -d '2002-03-04 05:06:07.555555555'
	run -r -p src dst
	expect_rc 0 "urt-cp -r -p src dst"
	local d
	d=$(diff <(mtimes src) <(mtimes dst) | head -6 | tr '\n' '|')
	[ -z "$d" ] || fail "mtimes differ after -r -p (< src, > dst): $d"
}

t_umask_modes() {
	# without -p, new files get source mode & ~umask (umask is 022 here)
	rand_file m666 10; chmod 0666 m666
	rand_file m777 10; chmod 0777 m777
	rand_file m600 10; chmod 0600 m600
	rand_file m444 10; chmod 0444 m444
	mkdir out
	run m666 m777 m600 m444 out
	expect_rc 0 "urt-cp m666 m777 m600 m444 out"
	local f want
	for f in m666:644 m777:755 m600:600 m444:444; do
		want=${f#*:}; f=${f%%:*}
		[ "$(mode_of "out/$f")" = "$want" ] ||
			fail "out/$f has mode $(mode_of "out/$f"), expected $want (source & ~umask)"
	done
}

t_preserve_file() {
	rand_file f 12345
	chmod 0741 f
	touch -d '2003-04-05 06:07:08.123456789' f
	run -p f g
	expect_rc 0 "urt-cp -p f g"
	same_file f g "urt-cp -p f g"
	[ "$(stat -c %y f)" = "$(stat -c %y g)" ] ||
		fail "mtime not preserved: src $(stat -c %y f), dst $(stat -c %y g)"
	[ "$(stat -c %Y f)" = "$(stat -c %Y g)" ] || fail "mtime (s) not preserved"
	[ "$(mode_of g)" = 741 ] || fail "mode not preserved: $(mode_of g), expected 741"
	# --preserve, onto an existing destination
	echo old >h; chmod 0600 h
	run --preserve f h
	expect_rc 0 "urt-cp --preserve f h"
	same_file f h "urt-cp --preserve f h"
	[ "$(stat -c %y f)" = "$(stat -c %y h)" ] ||
		fail "--preserve onto existing file: mtime $(stat -c %y h), expected $(stat -c %y f)"
	[ "$(mode_of h)" = 741 ] || fail "--preserve onto existing file: mode $(mode_of h), expected 741"
}

t_preserve_owner() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create files owned by others"
	rand_file f 100
	chown 65534:65534 f
	run -p f g
	expect_rc 0 "urt-cp -p f g"
	[ "$(stat -c %u:%g g)" = 65534:65534 ] ||
		fail "ownership not preserved: $(stat -c %u:%g g), expected 65534:65534"
}

t_no_p_no_mtime() {
	# without -p the copy gets a fresh mtime (not the source's 2001 one)
	rand_file f 100
	touch -d '2001-01-01 00:00:00' f
	run f g
	expect_rc 0 "urt-cp f g"
	[ "$(stat -c %Y g)" -gt "$(stat -c %Y f)" ] ||
		fail "copy without -p has the source mtime $(stat -c %y g)"
}

sparse_check() { # src dst desc  (dst must be sparse: < 1 MiB allocated)
	same_file "$1" "$2" "$3"
	local used
	used=$(du --block-size=1 -- "$2" | cut -f1)
	[ "$used" -lt $((1024 * 1024)) ] ||
		fail "$3: copy is not sparse: $used bytes allocated (source: $(du --block-size=1 -- "$1" | cut -f1))"
}

t_sparse_1g() {
	truncate -s 1G f
	local off
	for off in 0 4096 1000000 123456789 536870912 $((1024 * 1024 * 1024 - 5)); do
		printf 'data' | dd of=f bs=1 seek=$off conv=notrunc status=none
	done
	[ "$(stat -c %s f)" -eq $((1024 * 1024 * 1024)) ] || fail "test setup: wrong source size"
	run f g
	expect_rc 0 "urt-cp f g (1 GiB sparse)"
	[ "$(stat -c %s g)" -eq $((1024 * 1024 * 1024)) ] || fail "copy has size $(stat -c %s g)"
	sparse_check f g "1 GiB sparse file"
}

t_sparse_trailing_hole() {
	# data at the start, hole at the end: size must still be right
	rand_file f 10000
	truncate -s 100M f
	run f g
	expect_rc 0 "urt-cp f g"
	[ "$(stat -c %s g)" -eq $((100 * 1024 * 1024)) ] ||
		fail "copy has size $(stat -c %s g), expected 104857600"
	sparse_check f g "trailing hole"
	truncate -s 50M h    # all hole
	run h i
	expect_rc 0 "urt-cp h i (all hole)"
	sparse_check h i "file that is all hole"
}

t_sparse_5g() {
	truncate -s 5G f
	head -c 3000 /dev/urandom | dd of=f bs=1 seek=0 conv=notrunc status=none
	head -c 4000 /dev/urandom | dd of=f bs=1 seek=$((4 * 1024 * 1024 * 1024 + 123)) conv=notrunc status=none
	head -c 10 /dev/urandom | dd of=f bs=1 seek=$((5 * 1024 * 1024 * 1024 - 10)) conv=notrunc status=none
	[ "$(stat -c %s f)" -eq $((5 * 1024 * 1024 * 1024)) ] || fail "test setup: wrong source size"
	run f g
	expect_rc 0 "urt-cp f g (5 GiB sparse)"
	[ "$(stat -c %s g)" -eq $((5 * 1024 * 1024 * 1024)) ] || fail "copy has size $(stat -c %s g)"
	sparse_check f g "5 GiB sparse file"
}

t_efbig_new() {
	rand_file big $((4 * 1024 * 1024))
	mkdir out
	( ulimit -f 2048; run big out/dst; echo $rc >rc.txt; exit 0 ) ||
		fail "$(cat "$RESULT")"
	rc=$(cat rc.txt)
	[ "$rc" -ne $((128 + 25)) ] || fail "urt-cp was killed by SIGXFSZ (exit $rc) instead of reporting EFBIG"
	expect_rc_nonzero "urt-cp big out/dst under ulimit -f 2048"
	expect_stderr_names out/dst "EFBIG copy"
	[ ! -e out/dst ] || fail "out/dst exists after failed copy (size $(stat -c %s out/dst))"
	no_temp_files out "EFBIG copy"
}

t_efbig_existing() {
	rand_file big $((4 * 1024 * 1024))
	mkdir out
	rand_file out/dst 1000
	cp out/dst old
	( ulimit -f 2048; run big out/dst; echo $rc >rc.txt; exit 0 ) ||
		fail "$(cat "$RESULT")"
	rc=$(cat rc.txt)
	[ "$rc" -ne $((128 + 25)) ] || fail "urt-cp was killed by SIGXFSZ (exit $rc) instead of reporting EFBIG"
	expect_rc_nonzero "urt-cp big out/dst (existing) under ulimit -f 2048"
	expect_stderr_names out/dst "EFBIG copy onto existing file"
	same_file old out/dst "existing destination after failed copy"
	no_temp_files out "EFBIG copy onto existing file"
}

t_efbig_tree_continues() {
	# one file too big in a tree: error for it, the rest is copied, exit 1
	mkdir -p src/sub
	rand_file src/sub/huge $((3 * 1024 * 1024))
	rand_file src/small1 1000
	rand_file src/sub/small2 100000
	( ulimit -f 2048; run -r src dst; echo $rc >rc.txt; exit 0 ) ||
		fail "$(cat "$RESULT")"
	rc=$(cat rc.txt)
	[ "$rc" -ne $((128 + 25)) ] || fail "urt-cp was killed by SIGXFSZ (exit $rc)"
	expect_rc 1 "urt-cp -r src dst with one file over the size limit"
	expect_stderr_names huge "EFBIG in tree"
	[ ! -e dst/sub/huge ] || fail "dst/sub/huge exists after failed copy"
	same_file src/small1 dst/small1 "rest of tree after EFBIG"
	same_file src/sub/small2 dst/sub/small2 "rest of tree after EFBIG"
	no_temp_files dst "EFBIG in tree"
}

t_unreadable_source() {
	local -a pre=()
	if [ "$(id -u)" -eq 0 ]; then
		[ ${#PRIV_DROP[@]} -gt 0 ] || skip "running as root and cannot drop privileges (no setpriv/runuser)"
		"${PRIV_DROP[@]}" test -x "$URTCP" ||
			skip "urt-cp binary '$URTCP' is not executable by nobody"
		pre=("${PRIV_DROP[@]}")
		chmod 0755 "$ROOT"
		chmod 0777 .
	fi
	mkdir -p src/d1/d2
	rand_file src/ok1 1000
	rand_file src/d1/ok2 200000
	rand_file src/d1/d2/secret 5000
	rand_file src/d1/d2/ok3 10
	chmod -R a+rX src
	chmod 0000 src/d1/d2/secret
	if [ ${#pre[@]} -gt 0 ]; then
		"${pre[@]}" cat src/d1/d2/secret >/dev/null 2>&1 &&
			skip "cannot make a file unreadable for the unprivileged user"
	fi
	"${pre[@]}" timeout -k 10 "$HANG_TIMEOUT" "$URTCP" -r src dst >"$OUT" 2>"$ERR"
	rc=$?
	[ "$rc" -ne 124 ] || fail "urt-cp hung"
	expect_rc 1 "urt-cp -r src dst with an unreadable file (as $("${pre[@]}" id -un))"
	expect_stderr_names d2/secret "unreadable file"
	same_file src/ok1 dst/ok1 "rest of tree"
	same_file src/d1/ok2 dst/d1/ok2 "rest of tree"
	same_file src/d1/d2/ok3 dst/d1/d2/ok3 "rest of tree"
	[ ! -e dst/d1/d2/secret ] || fail "dst/d1/d2/secret exists (size $(stat -c %s dst/d1/d2/secret))"
	no_temp_files dst "unreadable file"
}

# Special files under -R are made anew (mkfifo, mknod), as cp makes them;
# the rest of the tree is copied around them.
t_special_files() {
	mk_specials() {
		mkdir -p src/sub
		seq 1 300 >src/a
		seq 1 20000 >src/sub/b
		mkfifo src/sub/fifo
		if [ "$(id -u)" -eq 0 ]; then mknod src/zerodev c 1 5; fi
		if command -v python3 >/dev/null; then
			python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' src/sock
		fi
	}
	same_input mk_specials
	both -r src dst
	like_gnu "cp -r src dst with special files"
	[ -p urt/dst/sub/fifo ] || fail "cp -r: dst/sub/fifo is not a FIFO"
	same_file urt/src/sub/b urt/dst/sub/b "rest of tree with special files"
}

# A FIFO given as SRC without -R is read like a file (cp's copy_as_regular):
# its contents go to a regular file.
t_special_operand() {
	mkfifo fifo
	rand_file a 10
	mkdir out
	timeout 30 sh -c 'sleep 0.2; echo data >fifo' &
	run fifo a out
	wait
	expect_rc 0 "urt-cp fifo a out (a writer feeds the fifo)"
	[ -f out/fifo ] && [ "$(cat out/fifo)" = data ] || fail "out/fifo is not the FIFO's contents"
	same_file a out/a "file after fifo operand"
}

t_same_file() {
	rand_file f 5000
	cp f orig
	run f f
	expect_rc 1 "urt-cp f f"
	expect_stderr_names f "urt-cp f f"
	same_file orig f "f after urt-cp f f"
	ln f g
	run f g
	expect_rc 1 "urt-cp f g (g hard link to f)"
	expect_stderr_names g "urt-cp f g (hard link)"
	same_file orig f "f after urt-cp f g"
	[ "$(stat -c %h f)" -eq 2 ] || fail "hard link broken: f has link count $(stat -c %h f)"
	run f .
	expect_rc 1 "urt-cp f ."
	same_file orig f "f after urt-cp f ."
	run "$PWD/f" ./././f
	expect_rc 1 "urt-cp \$PWD/f ./././f"
	same_file orig f "f after urt-cp \$PWD/f ./././f"
	no_temp_files . "same file"
}

t_same_file_symlink() {
	# dst is a symlink to src: writing through it would clobber the source
	rand_file f 5000
	cp f orig
	ln -s f l
	run f l
	[ "$rc" -lt 128 ] || fail "urt-cp f l died from signal $((rc - 128))"
	# refusing, or replacing the link by a copy, are both acceptable
	same_file orig f "source f after urt-cp f l (l -> f)"
	same_file orig l "l after urt-cp f l (l -> f)"
}

t_overwrite() {
	rand_file src 1000
	rand_file dst 50000    # longer: must be truncated
	run src dst
	expect_rc 0 "urt-cp src dst (existing)"
	same_file src dst "overwritten dst"
	no_temp_files . "overwrite"
}

t_overwrite_keeps_mode() {
	rand_file src 1000; chmod 0755 src
	rand_file dst 2000; chmod 0640 dst
	run src dst
	expect_rc 0 "urt-cp src dst (existing)"
	same_file src dst "overwritten dst"
	[ "$(mode_of dst)" = 640 ] || fail "overwritten dst has mode $(mode_of dst), expected to keep 640"
}

t_no_clobber() {
	rand_file src 1000
	rand_file dst 2000
	cp dst old
	run -n src dst
	expect_rc 0 "urt-cp -n src dst"
	same_file old dst "dst after -n"
	run --no-clobber src dst
	expect_rc 0 "urt-cp --no-clobber src dst"
	same_file old dst "dst after --no-clobber"
	run -n src new
	expect_rc 0 "urt-cp -n src new"
	same_file src new "urt-cp -n src new (not existing)"
	# -n in a tree: existing files kept, others copied
	mkdir -p s/d t/s/d
	rand_file s/d/x 100; rand_file s/d/y 100
	echo keep >t/s/d/x
	run -r -n s t
	expect_rc 0 "urt-cp -r -n s t"
	[ "$(cat t/s/d/x)" = keep ] || fail "-r -n overwrote t/s/d/x"
	same_file s/d/y t/s/d/y "-r -n new file"
}

t_dir_dest_new() {
	make_tree src
	run -r src newdst
	expect_rc 0 "urt-cp -r src newdst"
	same_tree src newdst "urt-cp -r src newdst"
	[ ! -e newdst/src ] || fail "urt-cp -r src newdst created newdst/src"
}

t_dir_dest_existing() {
	make_tree src
	mkdir existing
	run -r src existing
	expect_rc 0 "urt-cp -r src existing"
	same_tree src existing/src "urt-cp -r src existing"
	[ "$(ls existing)" = src ] || fail "existing contains: $(ls existing | tr '\n' ' ')"
	# copying again merges into existing/src
	echo extra >src/extra
	run -r src existing
	expect_rc 0 "second urt-cp -r src existing"
	same_tree src existing/src "second urt-cp -r src existing"
}

t_dir_dest_nested() {
	# a exists, a/b does not: a/b/c cannot be created -> error, like cp.
	# (Only checks that it either fails cleanly or creates a correct copy.)
	make_tree src
	mkdir a
	run -r src a/b/c
	if [ "$rc" -eq 0 ]; then
		same_tree src a/b/c "urt-cp -r src a/b/c"
	else
		expect_rc_nonzero "urt-cp -r src a/b/c"
		expect_stderr_names a/b "urt-cp -r src a/b/c"
	fi
}

t_dir_without_r() {
	mkdir d
	rand_file d/x 10
	rand_file f 100
	mkdir out
	run d out
	expect_rc 1 "urt-cp d out (no -r)"
	expect_stderr_names d "directory without -r"
	[ ! -e out/d ] || fail "out/d was created without -r"
	run d f out
	expect_rc 1 "urt-cp d f out (no -r)"
	same_file f out/f "file operand next to a directory without -r"
}

t_multi_src() {
	rand_file a 100; rand_file b 200000; : >c
	mkdir -p sub out; rand_file sub/d 3000
	run a b c sub/d out
	expect_rc 0 "urt-cp a b c sub/d out"
	same_file a out/a "multi"; same_file b out/b "multi"
	same_file c out/c "multi"; same_file sub/d out/d "multi"
	mkdir -p tree/t; rand_file tree/t/e 10
	run -r a tree out
	expect_rc 0 "urt-cp -r a tree out"
	same_tree tree out/tree "urt-cp -r a tree out"
}

t_multi_src_notdir() {
	rand_file a 100; rand_file b 200
	echo precious >file
	run a b nosuch
	expect_rc_nonzero "urt-cp a b nosuch"
	[ ! -e nosuch ] || fail "urt-cp a b nosuch created nosuch"
	run a b file
	expect_rc_nonzero "urt-cp a b file"
	[ "$(cat file)" = precious ] || fail "urt-cp a b file modified file"
}

t_missing_source() {
	rand_file a 100
	mkdir out
	run nosuch out/x
	expect_rc 1 "urt-cp nosuch out/x"
	expect_stderr_names nosuch "missing source"
	[ ! -e out/x ] || fail "out/x was created"
	run nosuch a out
	expect_rc 1 "urt-cp nosuch a out"
	expect_stderr_names nosuch "missing source among others"
	same_file a out/a "other operand next to a missing source"
}

t_usage() {
	run --help
	expect_rc 0 "urt-cp --help"
	[ -s "$OUT" ] || fail "urt-cp --help printed nothing on stdout"
	run --version
	expect_rc 0 "urt-cp --version"
	grep -qE '^urt-cp \(urt\) [0-9]+\.[0-9]+\.[0-9]+' "$OUT" ||
		fail "urt-cp --version stdout: '$(outtext)', expected 'urt-cp (urt) X.Y.Z'"
	run --no-such-option a b
	expect_rc_nonzero "urt-cp --no-such-option"
	[ -s "$ERR" ] || fail "unknown option: no message on stderr"
	run -Z a b
	expect_rc_nonzero "urt-cp -Z"
	run
	expect_rc_nonzero "urt-cp (no operands)"
	[ -s "$ERR" ] || fail "no operands: no message on stderr"
	touch onlyone
	run onlyone
	expect_rc_nonzero "urt-cp onlyone (missing destination)"
	run --chunk-size bogus onlyone y
	expect_rc_nonzero "urt-cp --chunk-size bogus"
}

t_verbose() {
	rand_file a 10
	run -v a b
	expect_rc 0 "urt-cp -v a b"
	grep -qF "'a' -> 'b'" "$OUT" || fail "urt-cp -v a b stdout: '$(outtext)', expected \"'a' -> 'b'\""
	mkdir -p s/d; rand_file s/x 10; rand_file s/d/y 10
	run -r --verbose s t
	expect_rc 0 "urt-cp -r --verbose s t"
	grep -qF "s/d/y' -> '" "$OUT" || fail "verbose tree copy does not mention s/d/y: '$(outtext)'"
	grep -qF "s/x' -> '" "$OUT" || fail "verbose tree copy does not mention s/x: '$(outtext)'"
}

t_symlink_operand() {
	rand_file f 1000
	ln -s f l
	run l out1
	expect_rc 0 "urt-cp l out1 (no -r)"
	[ ! -L out1 ] || fail "without -r, command-line symlink was copied as a link"
	same_file f out1 "without -r, command-line symlink is followed"
	run -r l out2
	expect_rc 0 "urt-cp -r l out2"
	[ -L out2 ] && [ "$(readlink out2)" = f ] ||
		fail "with -r, command-line symlink not copied as symlink (out2: $(stat -c %F out2 2>&1))"
}

t_dereference() {
	mkdir src
	rand_file src/f 1000
	ln -s f src/l
	run -r -L src dst
	expect_rc 0 "urt-cp -r -L src dst"
	[ ! -L dst/l ] || fail "-L: dst/l is still a symlink"
	same_file src/f dst/l "-L: dst/l"
	run -r --dereference src dst2
	expect_rc 0 "urt-cp -r --dereference src dst2"
	same_file src/f dst2/l "--dereference: dst2/l"
	ln -s f l2
	run -P l2 out
	expect_rc 0 "urt-cp -P l2 out"
	[ -L out ] && [ "$(readlink out)" = f ] || fail "-P: out is not a symlink to f"
}

opt_copy() { # desc size options...
	local desc=$1 size=$2; shift 2
	rand_file "f$desc" "$size"
	run "$@" "f$desc" "g$desc"
	expect_rc 0 "urt-cp $* f g"
	same_file "f$desc" "g$desc" "urt-cp $*"
	no_temp_files . "urt-cp $*"
}

t_opt_verify() { opt_copy v $((3 * 1024 * 1024)) --verify; }
t_opt_sync() { opt_copy s $((3 * 1024 * 1024)) --sync; }

t_opt_direct() {
	local size=$((3 * 1024 * 1024 + 123))
	rand_file f "$size"
	run --direct f g
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -lt 128 ] || fail "urt-cp --direct died from signal $((rc - 128))"
		[ -s "$ERR" ] || fail "urt-cp --direct failed (exit $rc) without a message"
		[ ! -e g ] || fail "urt-cp --direct failed (exit $rc) and left a partial g: $(errtext)"
		no_temp_files . "urt-cp --direct (failed)"
		# Only acceptable if the filesystem really rejects O_DIRECT.
		if python3 -c 'import os,sys; os.close(os.open(sys.argv[1], os.O_RDONLY|os.O_DIRECT))' f 2>/dev/null; then
			fail "urt-cp --direct failed (exit $rc) although O_DIRECT open works here: $(errtext)"
		fi
		skip "filesystem rejects O_DIRECT: $(errtext)"
	fi
	same_file f g "urt-cp --direct"
	[ "$(stat -c %s g)" -eq "$size" ] || fail "--direct copy has size $(stat -c %s g), expected $size"
	no_temp_files . "urt-cp --direct"
	# a sparse file and an empty file with --direct
	truncate -s 20M sp; printf x | dd of=sp bs=1 seek=10000000 conv=notrunc status=none
	run --direct sp sp2
	expect_rc 0 "urt-cp --direct sp sp2"
	same_file sp sp2 "urt-cp --direct sparse"
	: >e
	run --direct e e2
	expect_rc 0 "urt-cp --direct e e2"
	[ -f e2 ] && [ ! -s e2 ] || fail "urt-cp --direct of empty file"
}

t_all_opts_tree() {
	make_tree src
	run -r -p --verify --sync --direct src dst
	expect_rc 0 "urt-cp -r -p --verify --sync --direct src dst"
	same_tree src dst "urt-cp -r -p --verify --sync --direct" modes
}

t_jobs_small() {
	make_tree src
	run -r -j 1 --queue-depth 1 src dst
	expect_rc 0 "urt-cp -r -j 1 --queue-depth 1"
	same_tree src dst "urt-cp -r -j 1 --queue-depth 1"
}

t_jobs_large() {
	make_tree src
	run -r -j 64 --queue-depth 16 --chunk-size 64K src dst
	expect_rc 0 "urt-cp -r -j 64 --queue-depth 16 --chunk-size 64K"
	same_tree src dst "urt-cp -r -j 64 --queue-depth 16 --chunk-size 64K"
	run -r --jobs 3 --chunk-size 1M src dst2
	expect_rc 0 "urt-cp -r --jobs 3 --chunk-size 1M"
	same_tree src dst2 "urt-cp -r --jobs 3 --chunk-size 1M"
	# chunk size smaller than a page and not a power of two
	run -r --chunk-size 1000 src dst3
	if [ "$rc" -eq 0 ]; then
		same_tree src dst3 "urt-cp -r --chunk-size 1000"
	else
		expect_rc_nonzero "urt-cp -r --chunk-size 1000"
		[ ! -e dst3 ] || [ -z "$(find dst3 -type f)" ] ||
			fail "--chunk-size 1000 rejected (exit $rc) but files were written"
	fi
}

t_many_files() {
	mkdir src
	local i
	for i in $(seq 1 3000); do printf '%s\n' "$i" >"src/$i"; done
	run -r src dst
	expect_rc 0 "urt-cp -r src dst (3000 files)"
	same_tree src dst "3000 small files"
}

t_deep_tree() {
	local p=src i
	for i in $(seq 1 60); do p=$p/d$i; done
	mkdir -p "$p"
	echo deep >"$p/leaf"
	run -r src dst
	expect_rc 0 "urt-cp -r src dst (60 levels)"
	same_tree src dst "60-level tree"
}

t_no_progress_not_tty() {
	make_tree src
	run -r src dst </dev/null
	expect_rc 0 "urt-cp -r src dst"
	expect_stderr_empty "successful copy with stderr not a tty"
	[ ! -s "$OUT" ] || fail "successful copy without -v printed on stdout: $(outtext)"
	rand_file big $((20 * 1024 * 1024))
	run big big2
	expect_rc 0 "urt-cp big big2"
	expect_stderr_empty "successful 20 MiB copy with stderr not a tty"
	run --no-progress big big3
	expect_rc 0 "urt-cp --no-progress big big3"
	expect_stderr_empty "--no-progress"
}

t_sigint() { sigint_with; }

# sigint_with [OPTION...]: a SIGINT in the middle of urt-cp -r OPTION...
sigint_with() {
	mkdir src
	local i pid
	for i in $(seq 1 16); do head -c $((64 * 1024 * 1024)) /dev/zero >"src/f$i"; done
	# small files in directories too: every loop has jobs when it lands
	for i in $(seq 1 8); do
		mkdir "src/d$i"
		for k in $(seq 1 40); do printf '%s\n' "$i.$k" >"src/d$i/s$k"; done
	done
	# SIGINT must not be ignored in the child (bash ignores it for
	# background jobs of a non-interactive shell).
	env --default-signal=INT "$URTCP" -r "$@" src dst >"$OUT" 2>"$ERR" &
	pid=$!
	while [ ! -e dst ] && kill -0 "$pid" 2>/dev/null; do :; done
	if ! kill -INT "$pid" 2>/dev/null; then
		wait "$pid"
		skip "copy finished (exit $?) before SIGINT could be sent"
	fi
	# hang guard (not a timing assumption: interrupted copy must end)
	( sleep "$HANG_TIMEOUT"; kill -KILL "$pid" 2>/dev/null ) &
	local guard=$!
	wait "$pid"
	rc=$?
	kill "$guard" 2>/dev/null; wait "$guard" 2>/dev/null
	[ "$rc" -ne 137 ] || fail "urt-cp did not exit within ${HANG_TIMEOUT}s after SIGINT"
	if [ "$rc" -eq 0 ]; then
		# SIGINT may have landed after the last byte was copied; then
		# everything must be there.
		same_tree src dst "copy that finished despite SIGINT"
		skip "copy completed before SIGINT took effect (exit 0); tree verified complete"
	fi
	expect_rc 130 "urt-cp -r $* src dst interrupted by SIGINT"
	[ -s "$ERR" ] || fail "no message on stderr after SIGINT"
	[ "$(grep -c . "$ERR")" = 1 ] || fail "after SIGINT: expected one line, got: $(errtext)"
	no_temp_files dst "after SIGINT"
	local f n=0
	while IFS= read -r -d '' f; do
		n=$((n + 1))
		same_file "src/${f#dst/}" "$f" "file left in dst after SIGINT"
	done < <(find dst -type f -print0)
	echo "sigint: $n of $(find src -type f | wc -l) files complete" >&2
}

t_sigterm_cleanup() {
	# not in the contract beyond SIGINT; only checks the weaker property that
	# nothing incomplete is left under a final name after SIGTERM.
	mkdir src
	local i pid
	for i in $(seq 1 8); do head -c $((64 * 1024 * 1024)) /dev/zero >"src/f$i"; done
	"$URTCP" -r src dst >"$OUT" 2>"$ERR" &
	pid=$!
	while [ ! -e dst ] && kill -0 "$pid" 2>/dev/null; do :; done
	kill -TERM "$pid" 2>/dev/null || { wait "$pid"; skip "copy finished before SIGTERM"; }
	wait "$pid"
	local f
	while IFS= read -r -d '' f; do
		case ${f##*/} in .urt-cp.*) continue ;; esac
		same_file "src/${f#dst/}" "$f" "file left in dst after SIGTERM"
	done < <(find dst -type f -print0)
}

# ------------------------------------------------- issue 11: other filesystems

# mount_fs TYPE DIR [SIZE]: a fresh filesystem on DIR (tmpfs, ramfs, or a
# loop-mounted image of ext4, xfs, btrfs, vfat), unmounted when the test
# ends, also on failure. Skips the test with one line where that cannot be.
MOUNTED=()
umount_all() {
	local m
	for m in "${MOUNTED[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	MOUNTED=()
}
mount_fs() {
	local type=$1 dir=$2 size=${3:-}
	[ "$(id -u)" -eq 0 ] || skip "mounting $type needs root"
	mkdir -p "$dir"
	trap umount_all EXIT
	case $type in
	tmpfs) mount -t tmpfs -o "size=${size:-256M}" tmpfs "$dir" 2>/dev/null ||
		skip "cannot mount tmpfs" ;;
	ramfs) mount -t ramfs ramfs "$dir" 2>/dev/null || skip "cannot mount ramfs" ;;
	fuse2fs)
		command -v fuse2fs >/dev/null || skip "fuse2fs not installed (Debian: fuse2fs)"
		[ -e /dev/fuse ] || skip "no /dev/fuse"
		truncate -s "${size:-128M}" "$dir.img"
		mkfs.ext4 -q -F "$dir.img" >/dev/null 2>&1 || skip "mkfs.ext4 failed"
		fuse2fs "$dir.img" "$dir" -o rw >/dev/null 2>&1 || skip "fuse2fs cannot mount"
		;;
	*)
		grep -qw "$type" /proc/filesystems || skip "this kernel has no $type (/proc/filesystems)"
		command -v "mkfs.$type" >/dev/null || skip "mkfs.$type not installed (Debian: $(
			case $type in xfs) echo xfsprogs ;; btrfs) echo btrfs-progs ;; vfat) echo dosfstools ;; *) echo e2fsprogs ;; esac))"
		[ -e /dev/loop-control ] || skip "no loop devices (/dev/loop-control missing)"
		truncate -s "${size:-320M}" "$dir.img"
		local q=(-q)
		case $type in ext4) q=(-q -F) ;; xfs|btrfs) q=(-q -f) ;; vfat) q=() ;; esac
		"mkfs.$type" "${q[@]}" "$dir.img" >/dev/null 2>&1 || skip "mkfs.$type failed"
		mount -o loop "$dir.img" "$dir" 2>/dev/null || skip "cannot loop-mount a $type image"
		;;
	esac
	MOUNTED+=("$dir")
}

# a tree without symlinks or odd names (for vfat)
make_plain_tree() {
	mkdir -p "$1/a/b" "$1/c"
	local i
	for i in $(seq 1 30); do rand_file "$1/a/f$i" $((i * 3001)); done
	for i in $(seq 1 10); do rand_file "$1/a/b/g$i" $((i * 70001)); done
	rand_file "$1/c/big" $((9 * 1024 * 1024 + 5))
	: >"$1/c/empty"
}

# cross_fs TYPE: single files and trees both ways between here (/tmp's
# filesystem) and a fresh TYPE filesystem.
cross_fs() {
	local type=$1 M=$PWD/mnt
	mount_fs "$type" "$M"
	rand_file f $((3 * 1024 * 1024 + 17))
	rand_file small 1000
	run f "$M/f"
	expect_rc 0 "urt-cp f $type/f"
	same_file f "$M/f" "urt-cp f $type/f"
	mkdir "$M/d"
	run small "$M/d/"
	expect_rc 0 "urt-cp small $type/d/"
	same_file small "$M/d/small" "urt-cp small $type/d/"
	run small f "$M/d"
	expect_rc 0 "urt-cp small f $type/d"
	same_file f "$M/d/f" "urt-cp small f $type/d"
	# overwrite across filesystems (atomic replacement in the destination)
	rand_file f2 $((2 * 1024 * 1024 + 3))
	run f2 "$M/f"
	expect_rc 0 "urt-cp f2 $type/f (existing)"
	same_file f2 "$M/f" "overwrite on $type"
	# and back
	run "$M/f" back
	expect_rc 0 "urt-cp $type/f back"
	same_file f2 back "urt-cp $type/f back"
	if [ "$type" = vfat ]; then make_plain_tree src; else make_tree src; fi
	run -r src "$M/tree"
	expect_rc 0 "urt-cp -r src $type/tree"
	expect_stderr_empty "urt-cp -r src $type/tree"
	same_tree src "$M/tree" "urt-cp -r src $type/tree"
	run -r "$M/tree" tree2
	expect_rc 0 "urt-cp -r $type/tree tree2"
	same_tree src tree2 "urt-cp -r $type/tree tree2"
	no_temp_files "$M" "copies onto $type"
	# GNU cp agrees on the result
	cp -r src "$M/cptree" && same_tree "$M/cptree" "$M/tree" "urt-cp vs cp -r on $type"
}

t_xfs_shm() {
	# /dev/shm is the tmpfs every machine has: no mounting needed
	[ -d /dev/shm ] && [ -w /dev/shm ] || skip "no writable /dev/shm"
	local d
	d=$(mktemp -d /dev/shm/urt-cp-e2e.XXXXXX) || skip "cannot create a directory in /dev/shm"
	trap 'rm -rf "$d"' EXIT
	rand_file f 100000
	run f "$d/f"
	expect_rc 0 "urt-cp f /dev/shm/.../f"
	same_file f "$d/f" "urt-cp f /dev/shm/.../f"
	run f "$d/"
	expect_rc 0 "urt-cp f /dev/shm/.../"
	same_file f "$d/f" "urt-cp f /dev/shm/.../"
}
t_xfs_tmpfs() { cross_fs tmpfs; }
t_xfs_ext4() { cross_fs ext4; }
t_xfs_xfs() { cross_fs xfs; }
t_xfs_btrfs() { cross_fs btrfs; }
t_xfs_vfat() {
	# vfat has no O_TMPFILE (named temporaries + rename), no owners, no symlinks
	cross_fs vfat
	local M=$PWD/mnt
	rand_file n 5000
	URTCP_NO_TMPFILE=0 run n "$M/n"
	expect_rc 0 "urt-cp n vfat/n"
	same_file n "$M/n" "urt-cp n vfat/n"
	no_temp_files "$M" "vfat"
}
t_xfs_ramfs() { cross_fs ramfs; } # no O_DIRECT, no xattrs
t_xfs_fuse() {
	# ext4 through FUSE (fuse2fs): no O_TMPFILE (EOPNOTSUPP), so named
	# temporaries + rename; no copy_file_range either
	cross_fs fuse2fs
}

t_enospc() {
	local M=$PWD/mnt
	mount_fs tmpfs "$M" 1M
	rand_file big $((2 * 1024 * 1024))
	rand_file keep 100000
	run big "$M/big"
	expect_rc 1 "urt-cp 2M file onto a 1M tmpfs"
	expect_stderr_names "$M/big" "ENOSPC"
	grep -q 'No space left' "$ERR" || fail "ENOSPC: message does not say why: $(errtext)"
	[ ! -e "$M/big" ] || fail "ENOSPC: a partial $M/big was left ($(stat -c %s "$M/big") bytes)"
	cp keep "$M/keep"
	run big "$M/keep"
	expect_rc 1 "urt-cp big onto an existing file on a full tmpfs"
	same_file keep "$M/keep" "existing destination after ENOSPC"
	# named temporaries (as where O_TMPFILE is missing) are removed too
	URTCP_NO_TMPFILE=1 run big "$M/big"
	expect_rc 1 "urt-cp (named temporaries) big onto a full tmpfs"
	[ ! -e "$M/big" ] || fail "ENOSPC with named temporaries: $M/big left"
	no_temp_files "$M" "ENOSPC"
	# a tree that does not fit: the files that fit are whole, the rest named
	mkdir src
	local i
	for i in 1 2 3 4 5 6; do rand_file "src/f$i" 300000; done
	run -r src "$M/t"
	expect_rc 1 "urt-cp -r src onto a nearly full tmpfs"
	expect_stderr_names "$M/t/f" "ENOSPC in a tree"
	local f
	for f in "$M"/t/*; do same_file "src/${f##*/}" "$f" "file left after ENOSPC in a tree"; done
	no_temp_files "$M" "ENOSPC in a tree"
}

t_cwd_unwritable() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to drop privileges"
	[ ${#PRIV_DROP[@]} -gt 0 ] || skip "cannot drop privileges (no setpriv/runuser)"
	"${PRIV_DROP[@]}" test -x "$URTCP" || skip "urt-cp binary is not executable by nobody"
	chmod 0755 "$ROOT" "$PWD/.."
	mkdir -p ro w
	rand_file w/src 10000
	chmod 0777 w; chmod 0755 ro
	chmod a+r w/src
	local abs=$PWD
	( cd ro && "${PRIV_DROP[@]}" "$URTCP" "$abs/w/src" "$abs/w/dst" ) >"$OUT" 2>"$ERR"
	rc=$?
	( cd ro && "${PRIV_DROP[@]}" cp "$abs/w/src" "$abs/w/cpdst" ) 2>/dev/null
	local cprc=$?
	expect_rc $cprc "as nobody in an unwritable cwd, urt-cp /abs/w/src /abs/w/dst (cp: $cprc)"
	same_file w/src w/dst "copy made from an unwritable cwd"
}

t_setgid_dir() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to give a directory another group"
	mkdir sg
	chgrp 65534 sg && chmod 2775 sg || skip "cannot make a setgid directory"
	rand_file f 1000
	run f "$PWD/sg/f"
	expect_rc 0 "urt-cp f sg/f"
	cp f sg/cpf
	[ "$(stat -c %g sg/f)" = "$(stat -c %g sg/cpf)" ] ||
		fail "copy into a setgid directory has group $(stat -c %g sg/f), cp's has $(stat -c %g sg/cpf)"
}

t_overwrite_device() {
	[ "$(id -u)" -eq 0 ] || skip "needs root for mknod"
	mknod node c 1 3 || skip "mknod failed"
	mknod cpnode c 1 3
	rand_file f 1000
	run f node
	cp f cpnode; local cprc=$?
	expect_rc $cprc "urt-cp f node (a /dev/null node; cp: $cprc)"
	[ -c node ] || fail "urt-cp f node replaced the device node by a $(stat -c %F node)"
	[ "$(stat -c %t:%T node)" = 1:3 ] || fail "device node changed: $(stat -c %t:%T node)"
}

t_overwrite_symlink_dest() {
	rand_file f 3000
	echo target >t; echo target >cpt
	ln -s t l; ln -s cpt cpl
	run f l
	cp f cpl; local cprc=$?
	expect_rc $cprc "urt-cp f l (l -> t; cp: $cprc)"
	[ -L l ] || fail "urt-cp f l replaced the symlink l (cp writes through it)"
	same_file f t "the symlink's target after urt-cp f l"
	same_file cpt t "urt-cp vs cp through a symlink"
	# a dangling destination symlink is refused
	ln -s nowhere dl; ln -s cpnowhere cpdl
	run f dl
	cp f cpdl 2>/dev/null; cprc=$?
	expect_rc $cprc "urt-cp f dl (dangling; cp: $cprc)"
	expect_stderr_names dl "dangling destination symlink"
	[ -L dl ] && [ ! -e nowhere ] || fail "dangling symlink dl was written or replaced"
	# a symlink to the source is the same file
	cp f orig
	ln -s f self
	run f self
	expect_rc 1 "urt-cp f self (self -> f)"
	grep -q 'same file' "$ERR" || fail "urt-cp f self: no 'same file' message: $(errtext)"
	same_file orig f "f after urt-cp f self"
	[ -L self ] || fail "urt-cp f self replaced the symlink"
}

t_overwrite_keeps_owner() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to create files owned by others"
	rand_file f 2000
	echo old >o; chown 65534:65534 o; chmod 0604 o
	echo old >cpo; chown 65534:65534 cpo; chmod 0604 cpo
	run f o
	expect_rc 0 "urt-cp f o (o owned by nobody)"
	cp f cpo
	same_file f o "overwritten o"
	[ "$(stat -c %u:%g:%a o)" = "$(stat -c %u:%g:%a cpo)" ] ||
		fail "overwritten file has owner:group:mode $(stat -c %u:%g:%a o), cp's has $(stat -c %u:%g:%a cpo)"
}

t_overwrite_keeps_links() {
	rand_file f 5000
	echo old >h1; ln h1 h2
	run f h1
	expect_rc 0 "urt-cp f h1 (h1 has a second link h2)"
	same_file f h1 "h1"
	same_file f h2 "the other link h2 (cp keeps the inode)"
	[ "$(stat -c %h h1)" -eq 2 ] || fail "hard link split: h1 has $(stat -c %h h1) links"
}

t_overwrite_unwritable_dir() {
	# a writable file in a directory we may not write: cp writes it; so must we
	[ "$(id -u)" -eq 0 ] || skip "needs root to drop privileges"
	[ ${#PRIV_DROP[@]} -gt 0 ] || skip "cannot drop privileges"
	"${PRIV_DROP[@]}" test -x "$URTCP" || skip "urt-cp binary is not executable by nobody"
	chmod 0755 "$ROOT" "$PWD/.."
	mkdir d; rand_file f 1000; chmod a+r f
	echo old >d/x; chmod 0666 d/x; chmod 0755 d
	"${PRIV_DROP[@]}" "$URTCP" f d/x >"$OUT" 2>"$ERR"; rc=$?
	expect_rc 0 "as nobody: urt-cp f d/x (d/x writable, d not)"
	same_file f d/x "file in an unwritable directory"
}

t_into_itself() {
	mkdir -p a/b; echo x >a/x
	mkdir -p ca/b; echo x >ca/x
	local i cprc
	for i in 1 2; do
		run -r a a/b
		cp -r ca ca/b 2>/dev/null; cprc=$?
		[ "$rc" -lt 128 ] || fail "run $i: urt-cp -r a a/b died (exit $rc): $(errtext | tail -c 300)"
		expect_rc $cprc "run $i: urt-cp -r a a/b (cp: $cprc)"
		grep -q 'into itself' "$ERR" || fail "run $i: no 'into itself' message: $(errtext)"
	done
	[ "$(find a | wc -l)" -lt 20 ] || fail "urt-cp -r a a/b recursed: $(find a | wc -l) entries"
}

t_deref_dir_symlink() {
	mkdir d; rand_file d/x 1000; mkdir d/sub; rand_file d/sub/y 10
	ln -s d dl
	run -rL dl out
	cp -rL dl cpout; local cprc=$?
	expect_rc $cprc "urt-cp -rL dl out (dl -> d; cp: $cprc)"
	same_tree d out "urt-cp -rL dl out"
	mkdir e; ln -s ../d e/inner
	run -rL e out2
	expect_rc 0 "urt-cp -rL e out2 (e/inner -> ../d)"
	same_tree d out2/inner "-L: a symlink to a directory inside the tree"
	run -rH dl out3
	expect_rc 0 "urt-cp -rH dl out3"
	same_tree d out3 "urt-cp -rH dl out3"
}

t_memory_bounded() {
	# the peak RSS of a 30k-file copy must not grow with the file count
	# (it grew ~344 B a file: 10 MiB here)
	[ -x /usr/bin/time ] || skip "needs GNU time (/usr/bin/time) to measure peak RSS"
	# ASan's quarantine keeps freed memory, so RSS grows with work done
	if nm -D "$URTCP" 2>/dev/null | grep -q __asan_init || ldd "$URTCP" 2>/dev/null | grep -q libasan ||
	   ldd "$URTCP" 2>/dev/null | grep -q libtsan; then
		skip "peak RSS is not meaningful in a sanitizer build"
	fi
	mkdir -p s1 s2
	local i
	for i in $(seq 1 2000); do : >"s1/$i"; done
	for i in $(seq 1 30000); do : >"s2/$i"; done
	local rss1 rss2
	# MALLOC_PERTURB_ (meson test sets one) makes malloc fill what it hands
	# out, so every buffer taken counts in full: empty files read to EOF
	# once took 1 MiB pool buffers, 33 MiB for 2k files and 66 MiB for 30k
	# in CI, 2.5 MiB without it
	export MALLOC_PERTURB_=${MALLOC_PERTURB_:-165}
	/usr/bin/time -o rss1 -f %M "$URTCP" -r s1 d1 || fail "urt-cp -r s1 d1 failed"
	/usr/bin/time -o rss2 -f %M "$URTCP" -r s2 d2 || fail "urt-cp -r s2 d2 failed"
	rss1=$(tail -1 rss1); rss2=$(tail -1 rss2)
	[ "$(ls d2 | wc -l)" -eq 30000 ] || fail "d2 has $(ls d2 | wc -l) files"
	[ $((rss2 - rss1)) -lt 3072 ] ||
		fail "peak RSS grows with the file count: 2k files ${rss1} KiB, 30k files ${rss2} KiB (kernel $(uname -r), $(nproc) CPUs, THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null), fs $(stat -f -c %T .))"
}

t_direct_fallback() {
	# --direct onto ramfs (no O_DIRECT there): the fallback must stay per
	# file while other files are mid-copy with O_DIRECT sources
	local M=$PWD/mnt
	mount_fs ramfs "$M"
	mkdir src
	local i
	for i in 1 2 3 4 5 6; do rand_file "src/f$i" $((i * 1024 * 1024 + i * 1111)); done
	run -r --direct src "$M/dst"
	expect_rc 0 "urt-cp -r --direct src ramfs/dst"
	same_tree src "$M/dst" "urt-cp -r --direct onto ramfs"
}

t_progress_not_tty() {
	rand_file f $((4 * 1024 * 1024))
	run --progress f g
	expect_rc 0 "urt-cp --progress f g (stderr a file)"
	same_file f g "urt-cp --progress"
	if LC_ALL=C grep -q $'[\r\033]' "$ERR"; then
		fail "--progress wrote a carriage return or escape code to a non-terminal: $(od -c "$ERR" | head -3 | tr '\n' '|')"
	fi
	[ -s "$ERR" ] || fail "--progress printed nothing"
}

# --------------------------------------------------- issue 11: cp's options

t_opt_archive() {
	make_tree src
	find src \( -type f -o -type d \) -print0 | xargs -0 touch -h -d '2001-02-03 04:05:06.5'
	ln src/f10 src/a/hardlink1
	ln src/f10 src/x/hardlink2
	ln src/a/b/c/big src/bighard
	run -a src dst
	expect_rc 0 "urt-cp -a src dst"
	cp -a src cpdst
	same_tree cpdst dst "urt-cp -a vs cp -a" modes
	local d
	d=$(diff <(mtimes cpdst) <(mtimes dst) | head -4 | tr '\n' '|')
	[ -z "$d" ] || fail "-a: mtimes differ from cp -a's: $d"
	[ "$(stat -c %i dst/f10)" = "$(stat -c %i dst/a/hardlink1)" ] &&
	[ "$(stat -c %i dst/f10)" = "$(stat -c %i dst/x/hardlink2)" ] ||
		fail "-a: hard links not kept (f10 $(stat -c %i:%h dst/f10), a/hardlink1 $(stat -c %i dst/a/hardlink1))"
	[ "$(stat -c %h dst/bighard)" = 2 ] || fail "-a: big hard link not kept"
	[ -L dst/a/rel_link ] || fail "-a: symlink not copied as a symlink"
	# --preserve=links alone; --no-preserve=links turns it off
	run -r --preserve=links src dst2
	expect_rc 0 "urt-cp -r --preserve=links"
	[ "$(stat -c %h dst2/f10)" = 3 ] || fail "--preserve=links: f10 has $(stat -c %h dst2/f10) links"
	run -a --no-preserve=links src dst3
	expect_rc 0 "urt-cp -a --no-preserve=links"
	[ "$(stat -c %h dst3/f10)" = 1 ] || fail "--no-preserve=links: f10 has $(stat -c %h dst3/f10) links"
}

t_opt_preserve_list() {
	rand_file f 1000; chmod 0751 f; touch -d '2002-01-01 01:01:01' f
	run --preserve=mode f m
	expect_rc 0 "--preserve=mode"
	[ "$(mode_of m)" = 751 ] || fail "--preserve=mode: mode $(mode_of m)"
	[ "$(stat -c %Y m)" != "$(stat -c %Y f)" ] || fail "--preserve=mode also kept the mtime"
	run --preserve=timestamps f t
	expect_rc 0 "--preserve=timestamps"
	[ "$(stat -c %Y t)" = "$(stat -c %Y f)" ] || fail "--preserve=timestamps: mtime not kept"
	[ "$(mode_of t)" = 751 ] || fail "--preserve=timestamps: new file mode $(mode_of t), expected 751 & ~022"
	run -p --no-preserve=mode f n
	expect_rc 0 "-p --no-preserve=mode"
	[ "$(stat -c %Y n)" = "$(stat -c %Y f)" ] || fail "-p --no-preserve=mode: mtime not kept"
	if command -v setfattr >/dev/null && setfattr -n user.urt -v yes f 2>/dev/null; then
		run --preserve=xattr f x
		expect_rc 0 "--preserve=xattr"
		[ "$(getfattr --only-values -n user.urt x 2>/dev/null)" = yes ] || fail "--preserve=xattr: user.urt not copied"
	fi
	run --preserve=bogus f y
	expect_rc 1 "--preserve=bogus"
	grep -q "invalid argument 'bogus' for '--preserve'" "$ERR" || fail "--preserve=bogus message: $(errtext)"
	[ ! -e y ] || fail "--preserve=bogus copied anyway"
}

t_opt_update() {
	rand_file new 100; rand_file old 200
	touch -d '2000-01-01' old
	cp old keepme; touch -d '2030-01-01' keepme; cp -p keepme keepme.orig
	run -u new old
	expect_rc 0 "urt-cp -u new old (old is older)"
	same_file new old "-u: older destination replaced"
	run -u new keepme
	expect_rc 0 "urt-cp -u new keepme (keepme is newer)"
	same_file keepme.orig keepme "-u: newer destination kept"
	run --update new fresh
	expect_rc 0 "urt-cp --update new fresh (missing)"
	same_file new fresh "-u: missing destination"
}

t_opt_target_dir() {
	rand_file a 10; rand_file b 20; mkdir out
	run -t out a b
	expect_rc 0 "urt-cp -t out a b"
	same_file a out/a "-t"; same_file b out/b "-t"
	run --target-directory=out2 a
	expect_rc 1 "urt-cp --target-directory=out2 (missing)"
	mkdir -p s/x; rand_file s/x/y 10; mkdir d
	run -rT s d
	expect_rc 0 "urt-cp -rT s d"
	same_tree s d "-T: the contents of s into d"
	run -T a out
	cp -T a out 2>/dev/null; local cprc=$?
	expect_rc $cprc "urt-cp -T a out (out a directory; cp: $cprc)"
	run -T a b c
	expect_rc 1 "urt-cp -T a b c"
	grep -q "extra operand 'c'" "$ERR" || fail "-T with 3 operands: $(errtext)"
}

t_opt_sparse() {
	# runs of zeros in a non-sparse file
	{ head -c 100000 /dev/urandom; head -c $((8 * 1024 * 1024)) /dev/zero; head -c 5000 /dev/urandom; } >z
	run --sparse=always z za
	expect_rc 0 "--sparse=always"
	sparse_check z za "--sparse=always"
	truncate -s 64M h; printf x | dd of=h bs=1 seek=1000000 conv=notrunc status=none
	run --sparse=never h hn
	expect_rc 0 "--sparse=never"
	same_file h hn "--sparse=never"
	[ "$(du --block-size=1 hn | cut -f1)" -ge $((60 * 1024 * 1024)) ] ||
		fail "--sparse=never: copy has holes ($(du -h hn | cut -f1) allocated)"
	run --sparse=auto h ha
	expect_rc 0 "--sparse=auto"
	sparse_check h ha "--sparse=auto"
	run --sparse=sometimes h hx
	expect_rc 1 "--sparse=sometimes"
	grep -q "invalid argument 'sometimes' for '--sparse'" "$ERR" || fail "--sparse=sometimes: $(errtext)"
}

t_opt_reflink() {
	rand_file f $((2 * 1024 * 1024))
	# /tmp here is ext4: no reflinks
	run --reflink=always f g
	cp --reflink=always f cpg 2>/dev/null; local cprc=$?
	if [ "$cprc" -ne 0 ]; then
		expect_rc 1 "urt-cp --reflink=always on a filesystem without reflinks (cp: $cprc)"
		grep -q 'failed to clone' "$ERR" || fail "--reflink=always: $(errtext)"
		[ ! -e g ] || fail "--reflink=always left g behind"
	fi
	run --reflink=auto f g2
	expect_rc 0 "--reflink=auto"
	same_file f g2 "--reflink=auto"
	run --reflink=never f g3
	expect_rc 0 "--reflink=never"
	same_file f g3 "--reflink=never"
	run --reflink=bogus f g4
	expect_rc 1 "--reflink=bogus"
	run --reflink=always --sparse=never f g5
	expect_rc 1 "--reflink=always --sparse=never"
}

reflink_fs() {
	local type=$1 M=$PWD/mnt
	mount_fs "$type" "$M"
	rand_file "$M/f" $((64 * 1024 * 1024))
	sync
	local before after
	before=$(df --output=used -B1 "$M" | tail -1)
	run --reflink=always "$M/f" "$M/g"
	expect_rc 0 "urt-cp --reflink=always on $type"
	same_file "$M/f" "$M/g" "reflink on $type"
	run "$M/f" "$M/h"
	expect_rc 0 "urt-cp (default: reflink=auto) on $type"
	same_file "$M/f" "$M/h" "default copy on $type"
	sync
	after=$(df --output=used -B1 "$M" | tail -1)
	[ $((after - before)) -lt $((16 * 1024 * 1024)) ] ||
		fail "$type: two 64 MiB copies took $(((after - before) / 1048576)) MiB: not reflinked"
	# a tree of reflinks
	mkdir "$M/s"; local i
	for i in 1 2 3; do rand_file "$M/s/x$i" $((i * 100000)); done
	run -r --reflink=always "$M/s" "$M/t"
	expect_rc 0 "urt-cp -r --reflink=always on $type"
	same_tree "$M/s" "$M/t" "reflinked tree on $type"
}
t_reflink_btrfs() { reflink_fs btrfs; }
t_reflink_xfs() { reflink_fs xfs; }

t_cfr_paths() {
	# the copy_file_range path and the read/write pipeline give the same file;
	# a sparse source stays sparse on either
	rand_file f $((37 * 1024 * 1024 + 4321))
	run f g
	expect_rc 0 "urt-cp f g (copy_file_range)"
	same_file f g "copy_file_range copy"
	URTCP_CFR=0 run f h
	expect_rc 0 "URTCP_CFR=0 urt-cp f h"
	same_file f h "read/write copy"
	truncate -s 200M s
	rand_file piece 3000000
	dd if=piece of=s bs=1M seek=50 conv=notrunc status=none
	dd if=piece of=s bs=1M seek=150 conv=notrunc status=none
	run s s2
	expect_rc 0 "urt-cp sparse (copy_file_range)"
	sparse_check_mb s s2 "sparse file via copy_file_range"
	run --verify f v
	expect_rc 0 "urt-cp --verify"
	same_file f v "--verify"
}
sparse_check_mb() { # src dst desc: dst allocates < 16 MiB
	same_file "$1" "$2" "$3"
	[ "$(du --block-size=1 -- "$2" | cut -f1)" -lt $((16 * 1024 * 1024)) ] ||
		fail "$3: copy is not sparse ($(du -h -- "$2" | cut -f1))"
}

t_opt_sync() {
	mkdir -p s/a/b; rand_file s/a/b/f 1000; rand_file s/g 3000000
	run -r --sync s d
	expect_rc 0 "urt-cp -r --sync"
	same_tree s d "--sync"
	if command -v strace >/dev/null; then
		strace -f -qq -e trace=fsync -o trace.txt "$URTCP" -r --sync s d2 2>/dev/null
		# the files are synced through io_uring (invisible to strace); the
		# directories by fsync(2): d2, d2/a, d2/a/b and the parent of d2
		[ "$(grep -c 'fsync(' trace.txt)" -ge 4 ] ||
			fail "--sync: only $(grep -c 'fsync(' trace.txt) fsyncs: $(tr '\n' '|' <trace.txt)"
	fi
}

t_usage_exit() {
	# usage errors exit 1, as cp's (urt's other tools exit 2)
	touch a
	run --bogus a b
	expect_rc 1 "urt-cp --bogus"
	grep -q "^urt-cp: unrecognized option '--bogus'" "$ERR" || fail "--bogus message: $(errtext)"
	grep -q "Try 'urt-cp --help'" "$ERR" || fail "--bogus: no 'Try' line: $(errtext)"
	run -y a b
	expect_rc 1 "urt-cp -y (no such option)"
	grep -q "invalid option -- 'y'" "$ERR" || fail "-y message: $(errtext)"
	run -j -3 a b
	expect_rc 1 "urt-cp -j -3"
	run -j 99999999999999999999 a b
	expect_rc 1 "urt-cp -j huge"
	run --chunk-size 17179869184G a b
	expect_rc 1 "urt-cp --chunk-size overflow"
	run --preserve=context a b
	expect_rc 1 "urt-cp --preserve=context (no SELinux)"
	[ ! -e b ] || fail "a refused option still copied"
}

# ------------------------------------------- issue 14: copying on several loops

# The tests above run with the default loop count (one per CPU: one loop on
# a one-CPU machine); these name it, so several loops are tested anywhere.

# many_dirs DIR: 12 directories of 40 files (4..70 KiB), hard links across
# directories, odd modes, symlinks: enough batches for every loop to copy.
many_dirs() {
	local d=$1 i k
	for k in $(seq 1 12); do
		mkdir -p "$d/d$k/sub"
		for i in $(seq 1 30); do rand_file "$d/d$k/f$i" $((4096 + (i * k * 2311) % 67000)); done
		for i in $(seq 1 10); do rand_file "$d/d$k/sub/g$i" $((i * 997)); done
	done
	chmod 0640 "$d/d3/f7"; chmod 0755 "$d/d5/f1"; chmod 0700 "$d/d2/sub"
	ln "$d/d1/f1" "$d/d7/hard1"; ln "$d/d1/f1" "$d/d12/sub/hard2"
	ln -s ../d1/f2 "$d/d4/link"
	rand_file "$d/d9/big" $((5 * 1024 * 1024 + 17))
}

t_threads_tree() {
	make_tree src
	many_dirs src/m
	local n
	for n in 2 3 8; do
		run -r --threads $n src dst$n
		expect_rc 0 "urt-cp -r --threads $n src dst$n"
		expect_stderr_empty "urt-cp -r --threads $n"
		same_tree src dst$n "urt-cp -r --threads $n"
		no_temp_files dst$n "urt-cp -r --threads $n"
	done
	run -r --threads 1 src dst1
	expect_rc 0 "urt-cp -r --threads 1"
	same_tree src dst1 "urt-cp -r --threads 1 (one loop)"
	# more loops than -j: as many loops as files in flight
	run -r -j 1 --threads 4 src dstj
	expect_rc 0 "urt-cp -r -j 1 --threads 4"
	same_tree src dstj "urt-cp -r -j 1 --threads 4"
}

t_threads_metadata() {
	make_tree src
	many_dirs src/m
	chmod 0555 src/a/b/c
	find src \( -type f -o -type d \) -print0 | xargs -0 touch -h -d '2001-02-03 04:05:06.123456789'
	find src -depth -type d -print0 | xargs -0 touch -d '2002-03-04 05:06:07.555555555'
	run -r -p --threads 2 src dst
	expect_rc 0 "urt-cp -r -p --threads 2"
	same_tree src dst "urt-cp -r -p --threads 2" modes
	local d
	d=$(diff <(mtimes src) <(mtimes dst) | head -6 | tr '\n' '|')
	[ -z "$d" ] || fail "--threads 2 -p: mtimes differ (< src, > dst): $d"
	# -a: hard links made on different loops still share one inode
	run -a --threads 2 src dsta
	expect_rc 0 "urt-cp -a --threads 2"
	same_tree src dsta "urt-cp -a --threads 2" modes
	[ "$(stat -c %i dsta/m/d1/f1)" = "$(stat -c %i dsta/m/d7/hard1)" ] &&
	[ "$(stat -c %i dsta/m/d1/f1)" = "$(stat -c %i dsta/m/d12/sub/hard2)" ] ||
		fail "-a --threads 2: hard links not kept ($(stat -c %i:%h dsta/m/d1/f1 dsta/m/d7/hard1 dsta/m/d12/sub/hard2 | tr '\n' ' '))"
	# several operands into a directory, on two loops
	mkdir multi
	run --threads 2 src/f10 src/f20 src/mode600 src/a/b/c/big multi
	expect_rc 0 "urt-cp --threads 2 FILE... DIR"
	same_file src/a/b/c/big multi/big "several operands, two loops"
	same_file src/mode600 multi/mode600 "several operands, two loops"
	same_file src/f20 multi/f20 "several operands, two loops"
}

t_threads_error() {
	# an unreadable file in the middle of a copy on two loops: reported
	# once, the rest copied, exit 1
	local -a pre=()
	if [ "$(id -u)" -eq 0 ]; then
		[ ${#PRIV_DROP[@]} -gt 0 ] || skip "running as root and cannot drop privileges (no setpriv/runuser)"
		"${PRIV_DROP[@]}" test -x "$URTCP" ||
			skip "urt-cp binary '$URTCP' is not executable by nobody"
		pre=("${PRIV_DROP[@]}")
		chmod 0755 "$ROOT"
		chmod 0777 .
	fi
	many_dirs src
	chmod -R a+rX src
	chmod 0000 src/d6/f13
	if [ ${#pre[@]} -gt 0 ]; then
		"${pre[@]}" cat src/d6/f13 >/dev/null 2>&1 &&
			skip "cannot make a file unreadable for the unprivileged user"
	fi
	"${pre[@]}" timeout -k 10 "$HANG_TIMEOUT" "$URTCP" -r --threads 2 src dst >"$OUT" 2>"$ERR"
	rc=$?
	[ "$rc" -ne 124 ] || fail "urt-cp hung"
	expect_rc 1 "urt-cp -r --threads 2 with an unreadable file"
	expect_stderr_names d6/f13 "unreadable file, two loops"
	[ "$(grep -c . "$ERR")" = 1 ] || fail "--threads 2: expected one error line, got: $(errtext)"
	[ ! -e dst/d6/f13 ] || fail "dst/d6/f13 exists"
	local f
	while IFS= read -r -d '' f; do
		[ "$f" = src/d6/f13 ] || same_file "$f" "dst/${f#src/}" "rest of the tree, two loops"
	done < <(find src -type f -print0)
	no_temp_files dst "unreadable file, two loops"
}

t_threads_usage() {
	touch a
	local v
	for v in 0 -1 abc 1025 '' 2x; do
		run --threads "$v" a b
		expect_rc 1 "urt-cp --threads '$v'"
		grep -q "^urt-cp: invalid value '$v' for --threads" "$ERR" ||
			fail "--threads '$v' message: $(errtext)"
		[ "$(grep -c . "$ERR")" = 2 ] || fail "--threads '$v': not one line and the hint: $(errtext)"
		[ ! -e b ] || fail "--threads '$v' refused but copied"
	done
	run --threads 2 a b
	expect_rc 0 "urt-cp --threads 2 a b (one file: one loop)"
	same_file a b "urt-cp --threads 2 a b"
}

t_threads_sigint() { sigint_with --threads 2; }

# ------------------------------------- issue 21: bugs, each against GNU cp

# 1. Two operands landing on one name: cp refuses to write the second
# through the symlink the first just made (which points outside DIR), or
# over the file it just made. urt-cp copied them at once: usually the last
# won, sometimes it wrote through the new symlink.
mk_just_created_symlink() { mkdir a b c; ln -s ../t a/1; echo payload >b/1; echo i >t; }
t_just_created_symlink_write_through() {
	same_input mk_just_created_symlink
	both -dR a/1 b/1 c
	like_gnu "cp -dR a/1 b/1 c (a/1 -> ../t)"
	expect_rc 1 "cp -dR a/1 b/1 c"
	# it was a race: many runs, on one loop and on several
	local i th
	for i in $(seq 1 15); do
		for th in 1 2; do
			rm -rf urt/c && mkdir urt/c && echo i >urt/t
			cd urt && run --threads "$th" -dR a/1 b/1 c && cd ..
			expect_rc 1 "run $i: urt-cp --threads $th -dR a/1 b/1 c"
			[ "$(cat urt/t)" = i ] || fail "run $i, --threads $th: wrote b/1 through the just-created symlink c/1 (t: $(cat urt/t))"
			[ -L urt/c/1 ] || fail "run $i, --threads $th: c/1 is no longer the symlink"
		done
	done
	# a dangling just-made symlink: the same refusal
	same_input mk_just_created_symlink
	rm gnu/t urt/t
	both -dR a/1 b/1 c
	like_gnu "cp -dR a/1 b/1 c (a/1 -> ../t, no t)"
}

mk_just_created() {
	mkdir a b c x y x/d y/d
	echo A >a/f; echo B >b/f; echo C >f
	local i
	for i in $(seq 1 40); do echo "x$i" >"x/d/f$i"; echo "y$i" >"y/d/f$i"; done
}
t_just_created_overwrite() {
	same_input mk_just_created
	both a/f b/f c
	like_gnu "cp a/f b/f c"
	expect_stderr_names "will not overwrite just-created 'c/f' with 'b/f'" "cp a/f b/f c"
	same_input mk_just_created
	both a/f b/f f c
	like_gnu "cp a/f b/f f c (three operands, one name)"
	# operand trees with one name merge in order: the later one wins
	same_input mk_just_created
	both -R x/d y/d c
	like_gnu "cp -R x/d y/d c"
}

mk_twice() { echo x >f; mkdir d s; echo y >s/g; }
t_source_specified_twice() {
	same_input mk_twice
	both f f d
	like_gnu "cp f f d"
	same_input mk_twice
	both f ./f d
	like_gnu "cp f ./f d"
	same_input mk_twice
	both -R s s d
	like_gnu "cp -R s s d"
}

# 2. cp -p copies POSIX ACLs (and the group bits that are their mask);
# urt-cp dropped them, and kept inherited ones it should have replaced.
mk_acl() {
	echo x >f; setfacl -m user:bin:rw- f
	echo y >plain; chmod 0640 plain
	mkdir d dst a1; setfacl -m user:bin:rwx d; setfacl -d -m user:bin:r-x d
	echo z >d/g; setfacl -m user:daemon:r-- d/g
	mkdir d/e; setfacl -b d/e
	setfacl -d -m user:daemon:rwx dst # new files in dst inherit an ACL
}
acl_case() {
	local fs=$1
	same_input mk_acl
	both -p f g
	like_gnu "cp -p f g (f has an ACL; $fs)"
	getfacl -cp urt/g 2>/dev/null | grep -q '^user:bin:rw-' || fail "cp -p: the copy has no ACL ($fs)"
	both --preserve=mode f g2
	like_gnu "cp --preserve=mode f g2 ($fs)"
	both -p plain f dst
	like_gnu "cp -p plain f dst (dst has a default ACL; $fs)"
	both -pR d d2
	like_gnu "cp -pR d d2 (access and default ACLs; $fs)"
	both -R d dst/d3
	like_gnu "cp -R d dst/d3 (no -p: inherited ACLs; $fs)"
	both -a f d a1
	like_gnu "cp -a f d a1 ($fs)"
	both --preserve=xattr f x1
	like_gnu "cp --preserve=xattr f x1 (ACLs are the mode's, not xattrs; $fs)"
}
t_preserve_mode_drops_acl() {
	need_tools setfacl acl; need_tools getfattr attr
	touch probe && setfacl -m user:bin:rw- probe 2>/dev/null || skip "no ACLs on $(stat -f -c %T .)"
	on_ext4_and_tmpfs acl_case
	# a file system without ACLs: cp keeps the mode, says so and fails
	[ "$(id -u)" -eq 0 ] || return 0
	same_input mk_acl
	mount_fs ramfs gnu/ram
	mount_fs ramfs urt/ram
	both -p f plain ram
	like_gnu "cp -p f plain ram (ramfs: no ACLs)"
	umount_all
}

# 3. Ownership first: chown clears security.capability, which urt-cp had
# set before it (-a, --preserve=all).
mk_cap() {
	echo x >f; chmod 0755 f; chown daemon:bin f
	setcap cap_net_bind_service=ep f
}
cap_case() {
	same_input mk_cap
	both -a f g
	like_gnu "cp -a f g (f has a file capability; $1)"
	[ -n "$(getcap urt/g)" ] || fail "cp -a f g: the capability is lost ($1)"
	both --preserve=all f h
	like_gnu "cp --preserve=all f h ($1)"
	both -p --preserve=xattr f i
	like_gnu "cp -p --preserve=xattr f i ($1)"
}
t_preserve_all_loses_capabilities() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to set file capabilities"
	need_tools setcap libcap2-bin; need_tools getfattr attr
	touch probe && setcap cap_net_bind_service=ep probe 2>/dev/null ||
		skip "cannot set file capabilities on $(stat -f -c %T .)"
	on_ext4_and_tmpfs cap_case
}

# 4. --preserve=links also for the files that followed symlinks reach more
# than once (-H on the command line, -L everywhere, and cp's default
# without -R), whatever their link count.
mk_deref_links() {
	touch a; ln -s a b; mkdir c d
	mkdir t; echo x >t/x; ln -s x t/y; ln -s x t/z
}
t_preserve_links_through_followed_symlinks() {
	same_input mk_deref_links
	both --preserve=links -R -H a b c
	like_gnu "cp --preserve=links -R -H a b c (b -> a)"
	[ "$(stat -c %i urt/c/a)" = "$(stat -c %i urt/c/b)" ] || fail "c/a and c/b are not one inode"
	both --preserve=links a b d
	like_gnu "cp --preserve=links a b d (b -> a; no -R: followed)"
	both -aL t t2
	like_gnu "cp -aL t t2 (t/y, t/z -> x)"
	both -RL --preserve=links t t3
	like_gnu "cp -RL --preserve=links t t3"
}

# 5. --no-preserve=mode: new files 0666 and directories 0777, less the umask.
mk_no_mode() {
	echo x >f; chmod 0600 f
	mkdir d; echo y >d/g; chmod 0640 d/g; chmod 0705 d
	echo z >old; chmod 0604 old
}
t_no_preserve_mode_keeps_source_bits() {
	umask 022
	same_input mk_no_mode
	both --no-preserve=mode f g
	like_gnu "cp --no-preserve=mode f g (f 600, umask 022)"
	[ "$(mode_of urt/g)" = 644 ] || fail "--no-preserve=mode: g is $(mode_of urt/g), not 644"
	both -r --no-preserve=mode d e
	like_gnu "cp -r --no-preserve=mode d e (d 705)"
	both -a --no-preserve=mode d e2
	like_gnu "cp -a --no-preserve=mode d e2"
	both --no-preserve=mode f old
	like_gnu "cp --no-preserve=mode f old (an existing file keeps its mode)"
	umask 077
	both --no-preserve=mode f g3
	like_gnu "cp --no-preserve=mode f g3 (umask 077)"
}

# 6. -au into an existing copy of a link group (coreutils' preserve-link
# case): names -u skips still take part, the group stays one inode.
mk_link_group() {
	mkdir s; touch s/f
	ln s/f s/linkm; ln s/f s/linke; ln s/f s/fileo; ln s/f s/fileu
}
mk_link_group_t() {
	mk_link_group
	mkdir -p t/s; touch "t/s/$LG_FIRST"; ln "t/s/$LG_FIRST" t/s/linke
	touch -d '-1 hour' t/s/fileo; touch -d '+1 hour' t/s/fileu
}
t_update_archive_breaks_link_group() {
	local f
	for f in f linkm; do
		LG_FIRST=$f same_input mk_link_group_t
		both -au s t
		like_gnu "cp -au s t (t/s/$f and t/s/linke exist)"
		[ "$(stat -c %i urt/t/s/* | sort -u | wc -l)" -eq 1 ] ||
			fail "cp -au s t (t/s/$f): the link group is $(stat -c %i urt/t/s/* | sort -u | wc -l) inodes"
		both -au s t
		like_gnu "cp -au s t, again"
	done
}

# 7. Files whose size says 0 but that have content (/proc): read to EOF.
t_size_zero_proc_file_copied_empty() {
	[ -r /proc/version ] && [ "$(stat -c %s /proc/version)" -eq 0 ] ||
		skip "no /proc/version of size 0"
	mk_none() { :; }
	same_input mk_none
	local f
	for f in /proc/version /proc/sys/kernel/ostype; do
		[ -r "$f" ] || continue
		local c=copy.${f##*/}
		both "$f" "$c"
		like_gnu "cp $f $c"
		[ -s "urt/$c" ] || fail "cp $f $c: the copy is empty"
		# (through a pipe: cmp -s takes the size of 0 for the answer)
		cat "$f" | cmp -s - "urt/$c" || fail "cp $f $c: the copy differs"
	done
	# one loop per operand, into a directory, and with --direct
	mkdir gnu/d urt/d
	both /proc/version /proc/sys/kernel/ostype d
	like_gnu "cp /proc/version /proc/sys/kernel/ostype d"
	cd urt && run --direct /proc/version v2 && cd ..
	expect_rc 0 "urt-cp --direct /proc/version v2"
	cat /proc/version | cmp -s - urt/v2 || fail "urt-cp --direct /proc/version: the copy differs"
	rm urt/v2
	# and a really empty file stays empty
	: >gnu/empty; : >urt/empty
	both empty e2
	like_gnu "cp empty e2"
}

# 8. -d/-P (no dereference): a symlink onto the file it points to is the
# same file; urt-cp replaced the file by a symlink to itself (data lost).
mk_sl_onto_target() { echo data >foo; ln -s foo symlink; ln -s foo other; echo bar >bar; }
t_no_deref_symlink_onto_its_target() {
	local o
	for o in -d -P -a -R --no-dereference; do
		same_input mk_sl_onto_target
		both "$o" symlink foo
		like_gnu "cp $o symlink foo (symlink -> foo)"
		[ "$(cat urt/foo)" = data ] || fail "cp $o symlink foo: foo lost its data"
	done
	same_input mk_sl_onto_target
	both -d symlink other
	like_gnu "cp -d symlink other (two symlinks to foo)"
	both -d foo symlink
	like_gnu "cp -d foo symlink (the file onto a symlink to it)"
	both -d symlink bar
	like_gnu "cp -d symlink bar"
}

# 9. Two hard links of one symlink: cp -d leaves them alone, exit 0.
mk_hl_symlink() { touch f; ln -s f sl2; ln sl2 hlsl; }
t_hardlinked_symlinks_same_file() {
	same_input mk_hl_symlink
	both -d hlsl sl2
	like_gnu "cp -d hlsl sl2 (hard links of one symlink)"
	expect_rc 0 "cp -d hlsl sl2"
	both -d sl2 sl2
	like_gnu "cp -d sl2 sl2"
	both -d ./sl2 sl2
	like_gnu "cp -d ./sl2 sl2"
	both -a hlsl sl2
	like_gnu "cp -a hlsl sl2"
}

# 10. cp -p as a user who cannot keep the owner: the copy is theirs, and
# POSIX (and cp) give it no set-user-ID, set-group-ID or sticky bit.
mk_setid() {
	echo x >c; chmod 6755 c
	mkdir sd; chmod 3775 sd; echo y >sd/f; chmod 4755 sd/f
}
t_setid_kept_without_owner() {
	same_input mk_setid
	as_nobody
	both -p c c2
	like_gnu "as nobody: cp -p c c2 (c: root's, 6755)"
	case $(stat -c %A urt/c2) in
	*s*|*S*|*t*|*T*) fail "as nobody: cp -p c c2 gave $(stat -c %A urt/c2)" ;;
	esac
	both -pR sd sd2
	like_gnu "as nobody: cp -pR sd sd2 (sd 3775, sd/f 4755)"
	RUN_PRE=()
	both -p c c3
	like_gnu "as root: cp -p c c3 (keeps the bits)"
}

# 11. cp -p as a user in the file's group: when the owner cannot be kept,
# the group alone is.
mk_group() {
	echo x >c; chgrp users c; chmod 0640 c
	mkdir d; echo y >d/e; chgrp -R users d; chmod 0750 d; chmod 0640 d/e
}
t_preserve_group_without_owner() {
	[ "$(id -u)" -eq 0 ] || skip "needs root: it makes root's files and copies them as nobody"
	getent group users >/dev/null || skip "no group 'users'"
	same_input mk_group
	as_nobody
	command -v setpriv >/dev/null || skip "needs setpriv (util-linux) for supplementary groups"
	RUN_PRE=(setpriv --reuid=nobody --regid=nogroup --groups=users)
	both -p c c2
	like_gnu "as nobody in group users: cp -p c c2 (c: root:users)"
	[ "$(stat -c %G urt/c2)" = users ] || fail "cp -p c c2: group $(stat -c %G urt/c2), not users"
	both -pR d d2
	like_gnu "as nobody in group users: cp -pR d d2"
}

# 12. POSIXLY_CORRECT: cp writes through a dangling symlink at the
# destination (creating its target); without it, it refuses.
mk_dangling() {
	echo x >f; mkdir sub
	ln -s nowhere dl; ln -s sub/new dl2; ln -s nodir/new dl3
	ln -s dl4b dl4; ln -s sub/final dl4b; ln -s nothere dl5
}
t_posixly_correct_dangling_symlink() {
	same_input mk_dangling
	RUN_PRE=(env POSIXLY_CORRECT=1)
	both f dl
	like_gnu "POSIXLY_CORRECT=1 cp f dl (dl -> nowhere)"
	[ -f urt/nowhere ] || fail "POSIXLY_CORRECT=1 cp f dl did not create nowhere"
	both f dl2
	like_gnu "POSIXLY_CORRECT=1 cp f dl2 (dl2 -> sub/new)"
	both f dl3
	like_gnu "POSIXLY_CORRECT=1 cp f dl3 (dl3 -> nodir/new)"
	both f dl4
	like_gnu "POSIXLY_CORRECT=1 cp f dl4 (a chain of dangling symlinks)"
	RUN_PRE=(env -u POSIXLY_CORRECT)
	both f dl5
	like_gnu "cp f dl5 (dangling, no POSIXLY_CORRECT)"
}

# 13. cp -a over hard links, three times: rename(2) between two links of
# one inode does nothing, and the temporary stayed. (run checks every run
# for temporaries; this is the case that left them.)
mk_hard_links() { mkdir s; echo a >s/a; ln s/a s/b; }
t_archive_over_hard_links_leaves_temporaries() {
	same_input mk_hard_links
	local i
	for i in 1 2 3; do
		both -a s t
		like_gnu "cp -a s t, run $i"
	done
	no_temp_files urt "cp -a s t three times"
}

# ------------------------------------------- -l, -s, special files, ...
# (the options of the i21-linkopts branch, each against GNU cp)

# -l: hard links; with -R directories are made and files linked; symlinks
# followed unless -P (cp -al links the symlinks themselves).
mk_link() {
	echo a >f; mkdir d; echo b >d/g; ln -s g d/gl
	ln -s f fl; ln -s nowhere dangl; ln -s d dl; echo old >exists
}
link_case() {
	same_input mk_link
	both -l f f2
	like_gnu "cp -l f f2 ($1)"
	[ "$(stat -c %i urt/f)" = "$(stat -c %i urt/f2)" ] || fail "cp -l f f2: not a hard link ($1)"
	both -l f exists
	like_gnu "cp -l f exists ($1)"
	both -lf f exists
	like_gnu "cp -lf f exists ($1)"
	both --link --remove-destination d/g exists
	like_gnu "cp --link --remove-destination d/g exists ($1)"
	both -l f f
	like_gnu "cp -l f f ($1)"
	both -dl fl f
	like_gnu "cp -dl fl f (fl -> f: nothing to do; $1)"
	local o r
	for o in '' -L -H -P; do
		for r in '' -R; do
			both --link $o $r fl "x$o$r"
			like_gnu "cp --link $o $r fl ($1)"
			both --link $o $r dangl "y$o$r"
			like_gnu "cp --link $o $r dangl ($1)"
			both --link $o $r dl "z$o$r"
			like_gnu "cp --link $o $r dl ($1)"
		done
	done
	both -al d d2
	like_gnu "cp -al d d2 ($1)"
	local d
	# cp -rl d d: what is linked before the walk meets d/d depends on the
	# listing's order (cp sorts it by inode, and a reused inode number
	# puts d/d first): only the status and the message are compared
	both -rl d d
	[ "$rc" -eq "$grc" ] || fail "cp -rl d d: exit status $rc, cp's $grc ($1)"
	d=$(diff <(msgs "$GERR") <(msgs "$ERR") | head -4 | tr '\n' '|')
	[ -z "$d" ] || fail "cp -rl d d: messages differ from cp's: $d ($1)"
	# (cp -rl f d d: which entries get copied before the walk reaches d/d
	# depends on the order of the listing, which cp sorts by inode: not
	# compared)
}
t_opt_link() {
	on_ext4_and_tmpfs link_case
	same_input mk_link
	chmod 0600 gnu/f urt/f
	as_nobody
	both -l f nf
	like_gnu "as nobody: cp -l f nf (root's 600 file: protected_hardlinks)"
}

# -s: symbolic links to the source; a relative one only in the current
# directory.
mk_symlink_opt() { echo a >f; mkdir d sub; echo b >d/g; echo old >exists; }
t_opt_symlink() {
	same_input mk_symlink_opt
	both -s f s1
	like_gnu "cp -s f s1"
	both -s f sub/s2
	like_gnu "cp -s f sub/s2 (relative, not in .)"
	both -s /etc/hostname sub/s3
	like_gnu "cp -s /etc/hostname sub/s3"
	both -s f exists
	like_gnu "cp -s f exists"
	both -sf f exists
	like_gnu "cp -sf f exists"
	both -s f s1
	like_gnu "cp -s f s1 (s1 is that symlink already)"
	both -s f f
	like_gnu "cp -s f f"
	both -rs d d2
	like_gnu "cp -rs d d2 (relative names below .)"
	both -s --remove-destination /etc/hostname exists
	like_gnu "cp -s --remove-destination /etc/hostname exists"
}

# --attributes-only: no data, ever (an existing file keeps its data, also
# through a hard link); the attributes asked for.
mk_attr_only() {
	printf 1 >f1; chmod 0640 f1; touch -d '2001-02-03 04:05:06' f1
	printf 2 >f2; ln f2 l2; ln -s f1 sym1; printf 3 >f3
}
attr_only_case() {
	same_input mk_attr_only
	both --attributes-only f1 new
	like_gnu "cp --attributes-only f1 new ($1)"
	both --attributes-only f1 f2
	like_gnu "cp --attributes-only f1 f2 ($1)"
	both -a --attributes-only f1 f2
	like_gnu "cp -a --attributes-only f1 f2 (f2 has a second link; $1)"
	[ "$(stat -c %Y urt/f2)" = "$(stat -c %Y gnu/f2)" ] || fail "cp -a --attributes-only: mtime not kept ($1)"
	both -a --attributes-only sym1 f3
	like_gnu "cp -a --attributes-only sym1 f3 ($1)"
	both -a --remove-destination --attributes-only sym1 f3
	like_gnu "cp -a --remove-destination --attributes-only sym1 f3 ($1)"
	both -p --attributes-only f1 new2
	like_gnu "cp -p --attributes-only f1 new2 ($1)"
	if command -v setfacl >/dev/null && setfacl -m user:bin:rw- gnu/f1 2>/dev/null; then
		setfacl -m user:bin:rw- urt/f1
		both -p --attributes-only f1 acl1
		like_gnu "cp -p --attributes-only f1 acl1 (an ACL; $1)"
	fi
}
t_opt_attributes_only() {
	on_ext4_and_tmpfs attr_only_case
	same_input mk_attr_only
	as_nobody
	both -p --attributes-only f1 nobody1
	like_gnu "as nobody: cp -p --attributes-only f1 nobody1"
}

# --copy-contents: with -R, FIFOs and devices are read as files.
mk_copy_contents() {
	mkdir s; echo x >s/f; mkfifo s/fifo
	if [ "$(id -u)" -eq 0 ]; then mknod s/null c 1 3; fi
}
t_opt_copy_contents() {
	same_input mk_copy_contents
	# (a writer that no reader comes for gives up: a cp that skips the FIFO)
	timeout 30 sh -c 'echo gnu-data >gnu/s/fifo' & timeout 30 sh -c 'echo urt-data >urt/s/fifo' &
	# the writers put different data: compare all but the FIFO's copy
	both -R --copy-contents s d
	wait
	[ "$(cat urt/d/fifo)" = urt-data ] || fail "cp -R --copy-contents: d/fifo is not the FIFO's data"
	echo gnu-data >urt/d/fifo
	like_gnu "cp -R --copy-contents s d"
}

# -R / -a: FIFOs, device nodes and sockets made anew (with -a their
# attributes); an existing destination replaced (coreutils' special-f).
mk_special_opt() {
	mkdir s; mkfifo s/fifo; chmod 0640 s/fifo
	if [ "$(id -u)" -eq 0 ]; then mknod s/null c 1 3; chown daemon:bin s/null s/fifo; fi
	if command -v python3 >/dev/null; then
		python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' s/sock
	fi
	touch e; mkdir dd
}
special_case() {
	same_input mk_special_opt
	both -R s d
	like_gnu "cp -R s d ($1)"
	both -a s d2
	like_gnu "cp -a s d2 ($1)"
	both -R s/fifo e
	like_gnu "cp -R s/fifo e (e a file; $1)"
	both -R -f s/fifo e
	like_gnu "cp -R -f s/fifo e (e a FIFO; $1)"
	both -R s/fifo dd
	like_gnu "cp -R s/fifo dd ($1)"
	both -a --no-preserve=mode s d3
	like_gnu "cp -a --no-preserve=mode s d3 ($1)"
}
t_opt_special_files() {
	on_ext4_and_tmpfs special_case
	same_input mk_special_opt
	as_nobody
	both -a s d4
	like_gnu "as nobody: cp -a s d4"
}

# -x: directories on other file systems are made, not entered.
mk_one_fs() { mkdir -p s/m s/n; echo x >s/f; echo y >s/n/g; }
t_opt_one_file_system() {
	same_input mk_one_fs
	mount_fs tmpfs gnu/s/m 16M
	mount_fs tmpfs urt/s/m 16M
	local i
	for i in gnu urt; do mkdir "$i/s/m/sub"; echo z >"$i/s/m/h"; done
	both -Rx s d
	like_gnu "cp -Rx s d (s/m a tmpfs)"
	[ -d urt/d/m ] && [ ! -e urt/d/m/h ] || fail "cp -Rx: d/m missing or filled"
	both -ax s d2
	like_gnu "cp -ax s d2"
	both -R s d3
	like_gnu "cp -R s d3 (no -x: entered)"
	umount_all
}

# --parents: DIR/SRC, the directories above made (with -p as the source's).
mk_parents() {
	mkdir -p a/b/c a/b/d e g np/b np_dest; touch a/b/c/foo a/b/d/foo f
	chmod 0700 np; echo x >np/b/file; chmod 0775 np/b/file
	chmod 0750 a/b
}
parents_case() {
	same_input mk_parents
	both -p --parents a/b/c/foo e
	like_gnu "cp -p --parents a/b/c/foo e ($1)"
	chmod g-rx gnu/e/a gnu/e/a/b urt/e/a urt/e/a/b
	both -p --parent a/b/d/foo e
	like_gnu "cp -p --parent a/b/d/foo e (e/a, e/a/b there: modes fixed; $1)"
	both --parents --no-preserve=mode np/b/file np_dest/
	like_gnu "cp --parents --no-preserve=mode np/b/file np_dest/ ($1)"
	both --parents f/g g
	like_gnu "cp --parents f/g g ($1)"
	both --parents f f2
	expect_rc "$grc" "cp --parents f f2 (not a directory: usage; $1)"
	expect_stderr_names "with --parents, the destination must be a directory" "cp --parents f f2 ($1)"
	both -a --parents a/b g
	like_gnu "cp -a --parents a/b g ($1)"
	both -R --parents a/b/c/ np_dest
	like_gnu "cp -R --parents a/b/c/ np_dest ($1)"
}
t_opt_parents() {
	on_ext4_and_tmpfs parents_case
	same_input mk_parents
	as_nobody
	chmod 0777 gnu/e urt/e
	both -p --parents a/b/c/foo e
	like_gnu "as nobody: cp -p --parents a/b/c/foo e (a/b 750: a/b/c unreachable)"
	both -p --parents a/b e
	like_gnu "as nobody: cp -p --parents a/b e"
}

# --strip-trailing-slashes: SRC/ is SRC (a symlink then is not followed).
mk_strip() { mkdir d; echo x >d/f; ln -s d dl; echo y >f; }
t_opt_strip_trailing_slashes() {
	same_input mk_strip
	both -R --strip-trailing-slashes dl/ c1
	like_gnu "cp -R --strip-trailing-slashes dl/ c1"
	both -R dl/ c2
	like_gnu "cp -R dl/ c2"
	both --strip-trailing-slashes f/ c3
	like_gnu "cp --strip-trailing-slashes f/ c3 (not into a directory: kept)"
	mkdir gnu/out urt/out
	both -R --strip-trailing-slashes dl/ f/ out
	like_gnu "cp -R --strip-trailing-slashes dl/ f/ out"
	both -R dl/ out/o2
	like_gnu "cp -R dl/ out/o2"
	both -t out --strip-trailing-slashes -R d/
	like_gnu "cp -t out --strip-trailing-slashes -R d/"
}

# coreutils' link-heap.sh: cp -al of a 20,000-entry tree in 4 MB of address
# space more than cp -al of one file needs (ulimit -v); urt-cp reserved
# about 70 MB before it copied anything.
t_address_space_link_heap() {
	# ASan reserves terabytes of shadow address space: no ulimit -v fits
	if nm -D "$URTCP" 2>/dev/null | grep -q __asan_init || ldd "$URTCP" 2>/dev/null | grep -q 'libasan\|libtsan'; then
		skip "address space is not meaningful in a sanitizer build"
	fi
	touch f
	local v vm=
	for v in $(seq 5000 5000 50000); do
		if (ulimit -v "$v" && "$URTCP" -al f f2) 2>/dev/null; then vm=$v; rm -f f2; break; fi
		rm -f f2
	done
	[ -n "$vm" ] || fail "urt-cp -al f f2 fails under ulimit -v 50000"
	while [ "$vm" -gt 1000 ] && (ulimit -v $((vm - 1000)) && "$URTCP" -al f f2) 2>/dev/null; do
		vm=$((vm - 1000)); rm -f f2
	done
	rm -f f2
	local a b
	a=$(printf %031d 0); b=$(printf %031d 1)
	mkdir "$a" && (cd "$a" && seq --format=%031g 10000 | xargs touch &&
		seq --format=d%030g 10000 | xargs mkdir) || fail "making the tree"
	ulimit -v $((vm + 4000 + 4))
	run -al "$a" "$b"
	expect_rc 0 "ulimit -v $((vm + 4004)) (one file: $vm): urt-cp -al (20,000 entries)"
	[ "$(stat -c %i "$a/$(printf %031d 5)")" = "$(stat -c %i "$b/$(printf %031d 5)")" ] ||
		fail "urt-cp -al: not hard links"
	[ "$(find "$b" | wc -l)" -eq 20001 ] || fail "urt-cp -al: $(find "$b" | wc -l) entries, not 20001"
}

# ----------------------------------------------------------------- runner

# ---------------------------------------------------------------- issue 21:
# options cp scripts use (-f, -i, -n, -b/--backup/-S, --remove-destination,
# -v, -Z, usage errors, the program's name in messages), each against GNU cp

# as_root_and_nobody CASE: CASE on ext4 and tmpfs, as root, then as nobody
# (each in a directory of its own); RUN_PRE is empty again after
as_root_and_nobody() {
	mkdir r1 r2
	cd r1 && on_ext4_and_tmpfs "$1"
	cd ../r2 && as_nobody && on_ext4_and_tmpfs "$1"
	cd .. && RUN_PRE=()
}

# stdout of both (-v) must match, line for line
like_gnu_out() {
	local d
	d=$(diff "$GOUT" "$OUT" | head -6 | tr '\n' '|')
	[ -z "$d" ] || fail "$1: stdout differs from cp's (< cp, > urt-cp): $d"
}

mk_force() { echo new >f; echo old >ro; chmod 444 ro; ln -s loop loop; ln -s nowhere dangle; }
force_case() {
	same_input mk_force
	both f ro
	like_gnu "cp f ro (ro read-only; $1)"
	both -f f ro
	like_gnu "cp -f f ro (read-only: replaced; $1)"
	both -f f loop
	like_gnu "cp -f f loop (a self-loop symlink; $1)"
	both -f f dangle
	like_gnu "cp -f f dangle (a dangling symlink is still refused; $1)"
	both -fn f ro
	like_gnu "cp -fn f ro (-f does not undo -n; $1)"
}
t_opt_force() { as_root_and_nobody force_case; }

mk_inter() { echo c >c; echo d >d; mkdir -p a b/a/c; touch a/c; }
t_opt_interactive() {
	local ans opts
	for ans in y n; do
		for opts in -vi -vni -vin -vfi -vfn -vnf; do
			same_input mk_inter
			(cd gnu && echo "$ans" | "$GNUCP" $opts c d) >"$GOUT" 2>"$GERR"; grc=$?
			(cd urt && echo "$ans" | "$URTCP" $opts c d) >"$OUT" 2>"$ERR"; rc=$?
			like_gnu "echo $ans | cp $opts c d"
			like_gnu_out "echo $ans | cp $opts c d"
		done
	done
	# the question comes before "cannot overwrite directory"
	same_input mk_inter
	(cd gnu && echo n | "$GNUCP" -iR a b) >"$GOUT" 2>"$GERR"; grc=$?
	(cd urt && echo n | "$URTCP" -iR a b) >"$OUT" 2>"$ERR"; rc=$?
	like_gnu "echo n | cp -iR a b (b/a/c a directory)"
	# a read-only destination: the other question
	same_input mk_inter
	chmod 444 gnu/d urt/d
	as_nobody
	(cd gnu && echo n | "${RUN_PRE[@]}" "$GNUCP" -i c d) >"$GOUT" 2>"$GERR"; grc=$?
	(cd urt && echo n | "${RUN_PRE[@]}" "$URTCP" -i c d) >"$OUT" 2>"$ERR"; rc=$?
	[ "$rc" -eq "$grc" ] || fail "cp -i c d (read-only d): exit $rc, cp's $grc"
	grep -q "replace 'd', overriding mode 0444 (-r--r--r--)?" "$ERR" ||
		fail "cp -i of a read-only file: no 'replace ... overriding mode' question: $(errtext)"
	cd urt && run -bn c d; cd ..
	expect_rc 1 "cp -bn c d (--backup and --no-clobber)"
}

mk_backup() { touch x; }
backup_case() {
	local init ctl
	for init in 'y' 'y y~' 'y y.~1~' 'y y~ y.~1~' 'y y.~3~ y.~12~ yy.~20~'; do
		for ctl in none off numbered t existing nil simple never; do
			same_input mk_backup
			(cd gnu && touch $init) && (cd urt && touch $init)
			echo "$ctl $init" >gnu/x; echo "$ctl $init" >urt/x
			both --backup=$ctl x y
			like_gnu "cp --backup=$ctl x y (there: $init)"
		done
	done
	# -b takes VERSION_CONTROL; -S and SIMPLE_BACKUP_SUFFIX the suffix
	for ctl in '' numbered simple existing bogus; do
		same_input mk_backup
		(cd gnu && touch y y.~1~) && (cd urt && touch y y.~1~)
		(cd gnu && VERSION_CONTROL=$ctl "$GNUCP" -b x y) >"$GOUT" 2>"$GERR"; grc=$?
		(cd urt && VERSION_CONTROL=$ctl "$URTCP" -b x y) >"$OUT" 2>"$ERR"; rc=$?
		like_gnu "VERSION_CONTROL=$ctl cp -b x y"
	done
	same_input mk_backup
	touch gnu/y urt/y
	both -S .bak x y
	like_gnu "cp -S .bak x y"
	same_input mk_backup
	touch gnu/y urt/y
	(cd gnu && SIMPLE_BACKUP_SUFFIX=.old "$GNUCP" -b x y) >"$GOUT" 2>"$GERR"; grc=$?
	(cd urt && SIMPLE_BACKUP_SUFFIX=.old "$URTCP" -b x y) >"$OUT" 2>"$ERR"; rc=$?
	like_gnu "SIMPLE_BACKUP_SUFFIX=.old cp -b x y"
	# cp --force --backup F F copies F to its backup's name
	same_input mk_backup
	echo data >gnu/x; echo data >urt/x
	both --force --backup=simple --suffix=.b x x
	like_gnu "cp --force --backup=simple --suffix=.b x x"
	# the backup would be the source
	same_input mk_backup
	echo a >gnu/a; echo a >urt/a; echo t >gnu/a~; echo t >urt/a~
	both --b=simple a~ a
	like_gnu "cp --b=simple a~ a"
	# -v names the backup; directories are not backed up in a tree
	same_input mk_backup
	mkdir -p {gnu,urt}/s/d {gnu,urt}/t/s/d
	echo 1 >gnu/s/d/f; echo 1 >urt/s/d/f; touch gnu/t/s/d/f urt/t/s/d/f
	both -vb x y
	like_gnu "cp -vb x y (no y)"
	like_gnu_out "cp -vb x y (no y)"
	both -vb x y
	like_gnu "cp -vb x y"
	like_gnu_out "cp -vb x y"
	both -Rb --backup=numbered s t
	like_gnu "cp -R --backup=numbered s t (t/s/d/f there)"
	# symlinks and special files at the destination are backed up too
	same_input mk_backup
	ln -s x gnu/sl; ln -s x urt/sl; mkfifo gnu/ff urt/ff
	both -b x sl
	like_gnu "cp -b x sl (sl a symlink to x)"
	both -b x ff
	like_gnu "cp -b x ff (ff a FIFO)"
	both -bd sl y
	like_gnu "cp -bd sl y (a symlink copied onto a file)"
}
t_opt_backup() {
	as_root_and_nobody backup_case
	# the copy fails: the destination and no backup stay as they were
	enospc_keeps_dest -b
	[ ! -e "$PWD/mnt/keep~" ] || fail "cp -b after ENOSPC: a backup was made of a copy that failed"
}

# enospc_keeps_dest OPTION: a copy onto an existing file that runs out of
# space leaves that file whole and no temporary (cp leaves it truncated,
# or with -b/--remove-destination, moved or gone)
enospc_keeps_dest() {
	local M=$PWD/mnt
	mount_fs tmpfs "$M" 1M
	rand_file big $((2 * 1024 * 1024))
	echo keep >"$M/keep"
	run "$1" big "$M/keep"
	expect_rc 1 "urt-cp $1 of a 2M file onto a full 1M tmpfs"
	[ "$(cat "$M/keep")" = keep ] || fail "$1 after ENOSPC: the destination changed"
	no_temp_files "$M" "$1 after ENOSPC"
}

mk_rmdest() {
	echo new >f; echo old >g; ln g g2; ln -s loop loop; ln -s f sl; mkdir d e
	echo x >d/x; ln -s nowhere dangle; mkfifo fifo
}
rmdest_case() {
	same_input mk_rmdest
	both --remove-destination f g
	like_gnu "cp --remove-destination f g (g has a second link g2; $1)"
	both --remove-destination f loop
	like_gnu "cp --remove-destination f loop ($1)"
	both --remove-destination f dangle
	like_gnu "cp --remove-destination f dangle ($1)"
	both --remove-destination f fifo
	like_gnu "cp --remove-destination f fifo ($1)"
	both --remove-destination sl f
	like_gnu "cp --remove-destination sl f (sl -> f; $1)"
	both -R --remove-destination d e
	like_gnu "cp -R --remove-destination d e ($1)"
	both -R --remove-destination d e
	like_gnu "cp -R --remove-destination d e, again ($1)"
	both -v --remove-destination f g2
	like_gnu "cp -v --remove-destination f g2 ($1)"
	like_gnu_out "cp -v --remove-destination f g2 ($1)"
}
t_opt_remove_destination() {
	as_root_and_nobody rmdest_case
	# a failed copy leaves the destination whole (cp would have removed it)
	enospc_keeps_dest --remove-destination
}

mk_verbose() { echo a >a; mkdir -p s/d; echo b >s/d/b; ln -s a sl; }
t_opt_verbose() {
	same_input mk_verbose
	both -v a b
	like_gnu "cp -v a b"; like_gnu_out "cp -v a b"
	both -vn a b
	like_gnu "cp -vn a b"; like_gnu_out "cp -vn a b"
	both -vu a b
	like_gnu "cp -vu a b"; like_gnu_out "cp -vu a b"
	both -vd sl sl2
	like_gnu "cp -vd sl sl2"; like_gnu_out "cp -vd sl sl2"
}

mk_ctx() { echo a >a; }
t_opt_context() {
	[ -e /sys/fs/selinux/enforce ] && skip "SELinux is enabled here"
	same_input mk_ctx
	both -Z a b
	like_gnu "cp -Z a b (no SELinux: ignored)"
	both --context=system_u:object_r:tmp_t:s0 a c
	like_gnu "cp --context=CTX a c (no SELinux: a warning)"
	both --preserve=context a d
	like_gnu "cp --preserve=context a d (no SELinux: refused)"
}

# usage errors exit 1, messages start with the name cp was run as
t_usage_name_and_status() {
	need_gnu_cp
	ln -s "$URTCP" cp
	local args
	for args in "" "a" "--bogus a b" "--backup=foo a b" "-T a b c" "--sparse=never --reflink a b" \
		"-t nodir a" "-bn a b" "-ls a b" "--chunk-size=5 a b"; do
		./cp $args >"$OUT" 2>"$ERR"; rc=$?
		"$GNUCP" $args >"$GOUT" 2>"$GERR"; grc=$?
		[ "$rc" -eq "$grc" ] || fail "cp $args: exit status $rc, cp's $grc; stderr: $(errtext)"
		grep -q "^cp: " "$ERR" || fail "cp $args: message does not start with 'cp: ': $(errtext)"
		if grep -q "^Try " "$GERR"; then
			grep -qxF "Try 'cp --help' for more information." "$ERR" ||
				fail "cp $args: no \"Try 'cp --help'\" line: $(errtext)"
		fi
	done
}

# cp -rl a dir dir, run again over its own result: the copy made inside
# dir was walked again, a level deeper each time, until the walk's stack
# overflowed (on tmpfs, whose listing puts the newest entry first)
mk_into_itself_again() { mkdir a dir; }
into_itself_again_case() {
	same_input mk_into_itself_again
	local i
	for i in 1 2 3; do
		both -rl a dir dir
		[ "$rc" -lt 128 ] || fail "cp -rl a dir dir, run $i: urt-cp died ($rc): $(errtext) ($1)"
		[ "$rc" -eq "$grc" ] || fail "cp -rl a dir dir, run $i: exit status $rc, cp's $grc ($1)"
		d=$(diff <(msgs "$GERR") <(msgs "$ERR") | head -4 | tr '\n' '|')
		[ -z "$d" ] || fail "cp -rl a dir dir, run $i: messages differ from cp's: $d ($1)"
	done
}
t_into_itself_walks_its_own_copy() {
	local d
	on_ext4_and_tmpfs into_itself_again_case
}

# --parents and -l keep the promise: no partial file under a final name
t_parents_and_links_no_partial_file() {
	local M=$PWD/mnt
	mount_fs tmpfs "$M" 1M
	mkdir -p a/b
	rand_file a/b/big $((2 * 1024 * 1024))
	rand_file a/b/small 1000
	run --parents a/b/big "$M"
	expect_rc 1 "urt-cp --parents of a 2M file onto a 1M tmpfs"
	[ ! -e "$M/a/b/big" ] || fail "--parents after ENOSPC: a partial a/b/big ($(stat -c %s "$M/a/b/big") bytes)"
	no_temp_files "$M" "--parents after ENOSPC"
	run --parents a/b/small "$M"
	expect_rc 0 "urt-cp --parents a/b/small after the failure"
	same_file a/b/small "$M/a/b/small" "--parents: the file that fits"
	# -lf over existing names: each is the old file or the new link, never missing
	mkdir t
	echo old >t/small
	run -lf a/b/small t/small
	expect_rc 0 "urt-cp -lf a/b/small t/small"
	[ "$(stat -c %i a/b/small)" = "$(stat -c %i t/small)" ] || fail "cp -lf: t/small is not a link of a/b/small"
	no_temp_files t "cp -lf"
}

ALL_TESTS=(
	single_file empty_file large_file mixed_sizes_default
	tree_r tree_R_long tree_p_modes tree_p_mtimes umask_modes
	preserve_file preserve_owner no_p_no_mtime
	sparse_1g sparse_trailing_hole sparse_5g
	efbig_new efbig_existing efbig_tree_continues
	unreadable_source
	special_files special_operand
	same_file same_file_symlink
	overwrite overwrite_keeps_mode no_clobber
	dir_dest_new dir_dest_existing dir_dest_nested
	dir_without_r
	multi_src multi_src_notdir
	missing_source
	usage verbose symlink_operand dereference
	opt_verify opt_sync opt_direct all_opts_tree
	jobs_small jobs_large many_files deep_tree
	no_progress_not_tty
	sigint sigterm_cleanup
	xfs_shm xfs_tmpfs xfs_ext4 xfs_xfs xfs_btrfs xfs_vfat xfs_ramfs xfs_fuse enospc
	cwd_unwritable setgid_dir
	overwrite_device overwrite_symlink_dest overwrite_keeps_owner overwrite_keeps_links
	overwrite_unwritable_dir into_itself deref_dir_symlink memory_bounded
	direct_fallback progress_not_tty
	opt_archive opt_preserve_list opt_update opt_target_dir opt_sparse opt_reflink
	reflink_btrfs reflink_xfs cfr_paths opt_sync usage_exit
	threads_tree threads_metadata threads_error threads_usage threads_sigint
	just_created_symlink_write_through just_created_overwrite source_specified_twice
	preserve_mode_drops_acl preserve_all_loses_capabilities
	preserve_links_through_followed_symlinks no_preserve_mode_keeps_source_bits
	update_archive_breaks_link_group size_zero_proc_file_copied_empty
	no_deref_symlink_onto_its_target hardlinked_symlinks_same_file
	setid_kept_without_owner preserve_group_without_owner
	posixly_correct_dangling_symlink archive_over_hard_links_leaves_temporaries
	opt_force opt_interactive opt_backup opt_remove_destination opt_verbose opt_context
	usage_name_and_status into_itself_walks_its_own_copy parents_and_links_no_partial_file
	opt_link opt_symlink opt_attributes_only opt_copy_contents opt_special_files opt_one_file_system opt_parents opt_strip_trailing_slashes address_space_link_heap
)

if [ $# -gt 0 ]; then TESTS=("$@"); else TESTS=("${ALL_TESTS[@]}"); fi

npass=0 nfail=0 nskip=0
failed=()
echo "urt-cp e2e: binary $URTCP, tmp root $ROOT"
for t in "${TESTS[@]}"; do
	if ! declare -F "t_$t" >/dev/null; then
		echo "FAIL $t: no such test"; nfail=$((nfail + 1)); failed+=("$t"); continue
	fi
	dir=$ROOT/$t
	mkdir -p "$dir/work"
	(
		export RESULT=$dir/result OUT=$dir/stdout ERR=$dir/stderr TESTDIR=$dir
		export GOUT=$dir/gnu.stdout GERR=$dir/gnu.stderr
		cd "$dir/work" || exit 1
		"t_$t"
	) >"$dir/log" 2>&1
	st=$?
	reason=$(cat "$dir/result" 2>/dev/null)
	case $st in
	0)  echo "ok $t"; npass=$((npass + 1)) ;;
	77) echo "skip $t: $reason"; nskip=$((nskip + 1)) ;;
	*)  [ -n "$reason" ] || reason="exit status $st; log: $(head -c 1500 "$dir/log" | tr '\n' '|')"
	    echo "FAIL $t: $reason"; nfail=$((nfail + 1)); failed+=("$t") ;;
	esac
	# free disk space early (large sparse/real files)
	chmod -R u+rwX "$dir" 2>/dev/null; rm -rf "$dir"
done
echo "urt-cp e2e: $npass passed, $nfail failed, $nskip skipped"
[ $nfail -eq 0 ] || { echo "failed: ${failed[*]}"; exit 1; }
exit 0
