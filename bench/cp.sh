#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# urt-cp benchmark: urt-cp against GNU cp (and fio as a read ceiling); prints
# a markdown section (tables + raw per-round numbers) on stdout, progress on
# stderr.
#
#   bench/cp.sh                 from anywhere inside a clone; run as root for
#                               the cold-cache case (drop_caches, apt-get fio)
#
# Cases (CASES, default "big tree cold reflink"):
#   big   one SIZE_MB MiB file of random data, source hot in the page cache:
#         urt-cp (copy_file_range on its executor) vs urt-cp with URTCP_CFR=0
#         (its read/write pipeline) vs cp (copy_file_range) vs
#         cp --reflink=never (read/write).
#   tree  NFILES files of 4..64 KiB (sizes from a fixed seed) in
#         20 x 10 x 100-style nested directories, hot cache: urt-cp -r (one
#         loop per CPU) vs urt-cp -r --threads 1 (one loop) vs urt-cp -r on
#         urt's epoll backend vs cp -r, and two cp -r at once on the two
#         halves of the tree's top directories (what plain parallelism gets
#         from this kernel and file system: a reference, not a contender).
#   cold  the big file with `sync; echo 3 > /proc/sys/vm/drop_caches` before
#         every run: urt-cp vs fio sequential io_uring read (the ceiling) vs cp.
#   reflink the big file on a loop-mounted btrfs and an xfs image (each made
#         here, in BENCH_DIR; root, mkfs.btrfs / mkfs.xfs): urt-cp vs cp, both
#         reflinking by default. Skipped with one line where impossible.
#
# Method: contenders alternate within each round, and the starting contender
# rotates from round to round (round 1: A B C, round 2: B C A, ...), ROUNDS
# rounds; tables give medians and the median of the per-round ratios. Every
# timed run starts after an untimed `sync` (so one run's dirty data is not
# written back during the next) and writes into a fresh destination; wall
# time, CPU times and peak RSS come from bench/runstat (fork/exec + wait4).
# File-system note: on this ext4 (no journal) inodes freed in the last ~60 s
# are not reused, and creating many files right after deleting many is
# several times slower. So nothing is deleted between timed tree runs (each
# round copies into a new directory; all tree copies are removed after the
# last tree round), big-file destinations are deleted right after each
# timing (one inode, never written back), and the data set is generated once
# in a fresh directory. Leave five minutes between two invocations of this
# script (also after deleting many files yourself): the clean-up of the
# previous run frees ~11 x NFILES inodes, and ext4 without a journal skips
# a free inode deleted less than 60 s ago, or 360 s while its inode-table
# block is dirty, which the next run's new inodes make it again
# (fs/ext4/ialloc.c, recently_deleted: RECENTCY_MIN 60 + RECENTCY_DIRTY
# 300); every allocation then rescans those inodes (perf: half the CPU in
# find_get_block_common, __brelse and recently_deleted; cp -r of the tree
# took 3.7 s instead of 0.6-0.8 s four minutes after such a clean-up).
# urt-cp's output is checked (cmp for the big file every round, diff -r in
# the first tree round, file count + bytes in every tree round).
#
# Environment:
#   BUILD_DIR=build        meson build directory (relative to the repo root)
#   URTCP=$BUILD_DIR/tools/urt-cp   urt-cp binary (built with ninja when default)
#   ROUNDS=5               rounds per case
#   SIZE_MB=2048           size of the big file, MiB
#   NFILES=20000           files in the tree
#   CASES="big tree cold"  which cases to run
#   BENCH_DIR=             directory for the data (default: mktemp -d under /tmp);
#                          the script works in a new subdirectory and removes it
#   SEED=42                seed for the tree's file sizes
#   URTCP_BASE=            a second urt-cp binary (an earlier build): the tree
#                          case then times it too, interleaved, as
#                          "urt-cp-base" (before/after comparisons)
#   BALLAST=1              touch and free some memory before each timed run
#                          (see "Free page reporting" below); 0 = off
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
BUILD_DIR=${BUILD_DIR:-build}
ROUNDS=${ROUNDS:-5}
SIZE_MB=${SIZE_MB:-2048}
NFILES=${NFILES:-20000}
CASES=${CASES:-big tree cold reflink}
SEED=${SEED:-42}
BALLAST=${BALLAST:-1}
default_urtcp="$BUILD_DIR/tools/urt-cp"
URTCP=${URTCP:-$default_urtcp}
URTCP_BASE=${URTCP_BASE:-}
tree_who="urt-cp urt-cp-1 urt-cp-epoll cp cp-halves${URTCP_BASE:+ urt-cp-base}"

note() { echo "cp.sh: $*" >&2; }
die() { note "$*"; exit 1; }

for c in $CASES; do
	case $c in big | tree | cold | reflink) ;; *) die "unknown case '$c' (CASES takes big, tree, cold, reflink)" ;; esac
done
has_case() { [[ " $CASES " == *" $1 "* ]]; }

# --- build --------------------------------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR" --buildtype=release >/dev/null
fi
ninja -C "$BUILD_DIR" bench/runstat >/dev/null
RUNSTAT=$(realpath "$BUILD_DIR/bench/runstat")
if [ "$URTCP" = "$default_urtcp" ]; then
	ninja -C "$BUILD_DIR" tools/urt-cp >/dev/null 2>&1 || true
fi
[ -x "$URTCP" ] || die "no urt-cp binary at '$URTCP' (build it, or set URTCP)"
URTCP=$(realpath "$URTCP")

# --- working directory and clean-up -------------------------------------------
if [ -n "${BENCH_DIR:-}" ]; then
	mkdir -p "$BENCH_DIR"
	work=$(mktemp -d "$BENCH_DIR/urt-cp-bench.XXXXXX")
else
	work=$(mktemp -d /tmp/urt-cp-bench.XXXXXX)
fi
mounts=()
cleanup() {
	local t0=$SECONDS m
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
	rm -rf "$work"
	note "removed $work ($((SECONDS - t0)) s)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
src=$work/src
out=$work/out
mkdir -p "$src" "$out"
# Run a snapshot of the binary, so that a rebuild during the run changes nothing.
urtcp_orig=$URTCP
mkdir -p "$work/bin"
cp "$URTCP" "$work/bin/urt-cp"
# urt-cp links liburt.so (build RUNPATH $ORIGIN/..): snapshot it where the copy looks.
lib=$(ldd "$URTCP" 2>/dev/null | awk '$1 ~ /^liburt\.so/ { print $1 " " $3; exit }')
if [ -n "$lib" ]; then cp -L "${lib#* }" "$work/${lib%% *}"; fi
if "$work/bin/urt-cp" --version >/dev/null 2>&1; then URTCP=$work/bin/urt-cp; fi
raw=$work/raw.log   # one line per timed run: CASE round=R who=W wall_s=... (runstat fields)
: >"$raw"
status=0
DROP=0
BAL_MB=0
# Free page reporting (virtio-balloon): free guest memory is handed back to the
# host about a second after it is freed, and touching it again then costs a
# host page fault; on this kind of VM writing 2 GiB into the page cache takes
# 0.7 s with recently freed memory and 4-6 s with handed-back memory. BALLAST=1
# (default) allocates, touches and frees a bit more memory than a run will put
# in the page cache right before each timed run, so that every run starts from
# the same state; reported_mib in the raw numbers is how much free memory was
# handed back to the host during the run.
rk=/sys/module/page_reporting/parameters/reported_kib
have_rk=""
[ -r "$rk" ] && have_rk=1

# --- helpers --------------------------------------------------------------------
# ballast MIB: allocate and touch MIB of anonymous memory in a child that then
# exits, so that the next run finds that much recently used free memory.
ballast() {
	[ "$BALLAST" = 1 ] && [ "$1" -gt 0 ] || return 0
	perl -e '$x = "\1" x ($ARGV[0] << 20); exit 0' "$1"
}
reported_kib() { cat "$rk" 2>/dev/null || echo 0; }
# timed CASE WHO ROUND CMD...: untimed sync, ballast ($BAL_MB), drop_caches if
# $DROP = 1, then one timed run of CMD.
timed() {
	local c=$1 who=$2 r=$3 st=$work/stat rc=0 r0 r1
	shift 3
	sync
	ballast "$BAL_MB"
	if [ "$DROP" = 1 ]; then echo 3 >/proc/sys/vm/drop_caches; fi
	r0=$(reported_kib)
	"$RUNSTAT" -o "$st" "$@" >"$work/cmd.out" 2>&1 || rc=$?
	r1=$(reported_kib)
	if [ "$rc" != 0 ]; then
		note "$c round $r: '$who' FAILED (status $rc): $*"
		sed 's/^/    /' "$work/cmd.out" | head -20 >&2
		status=1
	fi
	echo "$c round=$r who=$who $(cat "$st")${have_rk:+ reported_mib=$(((r1 - r0) / 1024))}" >>"$raw"
}
# field CASE WHO KEY: the KEY values of CASE/WHO, one per round.
field() {
	awk -v c="$1" -v w="$2" -v k="$3" '$1 == c {
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["who"] == w) print f[k] }' "$raw"
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maxof() { sort -g | tail -1; }
# ratios CASE "NUM1 [NUM2]" DEN [KEY] [invert]: per round, min over NUM of KEY(NUM) / KEY(DEN)
# (KEY default wall_s); with "invert", KEY(DEN) / min KEY(NUM). One value per round.
ratios() {
	awk -v c="$1" -v nums="$2" -v den="$3" -v k="${4:-wall_s}" -v inv="${5:-}" '
	$1 == c {
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		v[f["round"] + 0, f["who"]] = f[k]; if (f["round"] + 0 > n) n = f["round"] + 0
	}
	END {
		m = split(nums, nn, " ")
		for (r = 1; r <= n; r++) {
			best = ""
			for (j = 1; j <= m; j++) if (((r, nn[j]) in v) && (best == "" || v[r, nn[j]] < best)) best = v[r, nn[j]]
			d = v[r, den]
			if (best == "" || d == "" || d == 0 || best == 0) continue
			printf "%.4f\n", inv ? d / best : best / d
		}
	}' "$raw"
}
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "") print "?"; else printf f, v }'; }
gbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s == "" || s == 0) print "?"; else printf "%.2f", b / s / 1e9 }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "?"; else printf "%.1f", k / 1024 }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "") print "?"; else if (a + 0 >= b + 0) print "yes"; else print "**no**" }'; }
# rss CASE WHO: "median (max)" peak RSS in MiB.
rss() { echo "$(mib "$(field "$1" "$2" maxrss_kib | median)") ($(mib "$(field "$1" "$2" maxrss_kib | maxof)"))"; }
cpu() { echo "$(fmt "$(field "$1" "$2" user_s | median)" %.2f) / $(fmt "$(field "$1" "$2" sys_s | median)" %.2f)"; }
# order ROUND NAME...: the names rotated so that round r starts with the ((r-1) mod n)-th.
order() {
	local r=$1
	shift
	local n=$# i
	local -a a=("$@")
	for ((i = 0; i < n; i++)); do echo "${a[(i + r - 1) % n]}"; done
}
warm_file() { cat "$1" >/dev/null; }
warm_tree() { find "$1" -type f -exec cat {} + >/dev/null; }
# treesum DIR: "files bytes" of the regular files under DIR.
treesum() { find "$1" -type f -printf '%s\n' | awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }'; }

big_bytes=$((SIZE_MB * 1024 * 1024))

# --- data -------------------------------------------------------------------------
if has_case big || has_case cold; then
	note "generating a $SIZE_MB MiB random file"
	head -c "${SIZE_MB}M" /dev/urandom >"$src/big"
fi
if has_case tree; then
	note "generating $NFILES files of 4..64 KiB (seed $SEED)"
	# 100 files per leaf directory, 10 leaves per top directory; contents are
	# slices of an 8 MiB random pool at seeded offsets.
	mkdir -p "$src/tree"
	head -c 8M /dev/urandom >"$work/pool"
	perl -e '
		use strict; use warnings;
		my ($dir, $n, $seed, $poolf) = @ARGV;
		open(my $pf, "<:raw", $poolf) or die "$poolf: $!";
		local $/; my $pool = <$pf>; close $pf;
		my $plen = length $pool;
		srand($seed);
		for my $i (0 .. $n - 1) {
			my $leaf = int($i / 100);
			my $d = sprintf "%s/d%02d", $dir, int($leaf / 10);
			mkdir $d unless -d $d;
			$d = sprintf "%s/s%02d", $d, $leaf % 10;
			mkdir $d unless -d $d;
			my $size = 4096 + int(rand(61441));
			my $off = int(rand($plen - $size));
			open(my $fh, ">:raw", sprintf("%s/f%03d", $d, $i % 100)) or die "$d: $!";
			print $fh substr($pool, $off, $size) or die "write: $!";
			close $fh or die "close: $!";
		}' "$src/tree" "$NFILES" "$SEED" "$work/pool"
	rm -f "$work/pool"
	read -r tree_files tree_bytes < <(treesum "$src/tree")
	tree_dirs=$(find "$src/tree" -type d | wc -l)
fi
sync

# --- case big: hot page cache -------------------------------------------------------
if has_case big; then
	BAL_MB=$((SIZE_MB + 256))
	for r in $(seq 1 "$ROUNDS"); do
		for who in $(order "$r" urt-cp urt-cp-rw urt-cp-epoll cp cp-never); do
			warm_file "$src/big"
			dst=$out/big.$who.$r
			case $who in
			urt-cp) timed big "$who" "$r" "$URTCP" "$src/big" "$dst" ;;
			urt-cp-rw) timed big "$who" "$r" env URTCP_CFR=0 "$URTCP" "$src/big" "$dst" ;;
			urt-cp-epoll) timed big "$who" "$r" env URT_BACKEND=epoll "$URTCP" "$src/big" "$dst" ;;
			cp) timed big "$who" "$r" cp "$src/big" "$dst" ;;
			cp-never) timed big "$who" "$r" cp --reflink=never "$src/big" "$dst" ;;
			esac
			if [[ $who == urt-cp* ]] && ! cmp -s "$src/big" "$dst"; then
				note "big round $r: $who output differs from the source"
				status=1
			fi
			rm -f "$dst"
		done
		note "big round $r/$ROUNDS done"
	done
fi

# --- case tree: hot page cache --------------------------------------------------------
if has_case tree; then
	BAL_MB=$((tree_bytes * 5 / 4 / 1048576 + 256))
	# cp-halves SRC DST (absolute paths): cp -r of the first half of SRC's
	# entries and of the second half into DST, at the same time
	cp_halves='mkdir -p "$2" && cd "$1" && set -- "$2" * && d=$1 && shift && h=$(($# / 2)) || exit 1
		cp -r "${@:1:h}" "$d" & p1=$!; cp -r "${@:h+1}" "$d" & p2=$!
		wait $p1; a=$?; wait $p2; b=$?; [ $a = 0 ] && [ $b = 0 ]'
	for r in $(seq 1 "$ROUNDS"); do
		for who in $(order "$r" $tree_who); do
			warm_tree "$src/tree"
			dst=$out/tree.$who.$r
			case $who in
			urt-cp) timed tree "$who" "$r" "$URTCP" -r "$src/tree" "$dst" ;;
			urt-cp-1) timed tree "$who" "$r" "$URTCP" -r --threads 1 "$src/tree" "$dst" ;;
			urt-cp-base) timed tree "$who" "$r" "$URTCP_BASE" -r "$src/tree" "$dst" ;;
			urt-cp-epoll) timed tree "$who" "$r" env URT_BACKEND=epoll "$URTCP" -r "$src/tree" "$dst" ;;
			cp) timed tree "$who" "$r" cp -r "$src/tree" "$dst" ;;
			cp-halves) timed tree "$who" "$r" bash -c "$cp_halves" cp-halves "$src/tree" "$dst" ;;
			esac
			if [[ $who == urt-cp* ]]; then
				if [ "$(treesum "$dst" 2>/dev/null)" != "$tree_files $tree_bytes" ]; then
					note "tree round $r: $who copied $(treesum "$dst" 2>/dev/null) (files bytes), want $tree_files $tree_bytes"
					status=1
				elif [ "$r" = 1 ] && ! diff -r "$src/tree" "$dst" >/dev/null; then
					note "tree round 1: diff -r finds differences in $who's copy"
					status=1
				fi
			fi
		done
		note "tree round $r/$ROUNDS done"
	done
	# All copies go only now (see the file-system note at the top).
	t0=$SECONDS
	rm -rf "$out"/tree.*
	sync
	note "tree copies removed ($((SECONDS - t0)) s)"
fi

# --- case cold: drop_caches before every run ---------------------------------------------
cold_skip=""
if has_case cold; then
	if [ "$(id -u)" != 0 ] || ! [ -w /proc/sys/vm/drop_caches ]; then
		cold_skip="skipped: needs root (writes /proc/sys/vm/drop_caches)"
	elif ! command -v fio >/dev/null; then
		note "installing fio"
		if ! { apt-get install -y fio >"$work/apt.log" 2>&1 || { apt-get update >>"$work/apt.log" 2>&1 && apt-get install -y fio >>"$work/apt.log" 2>&1; }; }; then
			cold_skip="skipped: fio is not installed and apt-get install fio failed"
		fi
	fi
	if [ -n "$cold_skip" ]; then
		note "cold case $cold_skip"
	else
		DROP=1
		BAL_MB=$((2 * SIZE_MB + 256))
		for r in $(seq 1 "$ROUNDS"); do
			for who in $(order "$r" urt-cp fio cp dd); do
				dst=$out/cold.$who.$r
				case $who in
				urt-cp) timed cold "$who" "$r" "$URTCP" "$src/big" "$dst" ;;
				cp) timed cold "$who" "$r" cp "$src/big" "$dst" ;;
				# the kernel's plain sequential buffered read (readahead), no write
				dd) timed cold "$who" "$r" dd if="$src/big" of=/dev/null bs=8M ;;
				fio)
					# fio's own bandwidth (KiB/s, terse field 7) is the ceiling.
					rm -f "$work/fio.out"
					timed cold "$who" "$r" fio --name=seqread --ioengine=io_uring --rw=read --bs=1M \
						--iodepth=16 --filename="$src/big" --size="${SIZE_MB}M" --readonly \
						--minimal --output="$work/fio.out"
					bw=$(awk -F';' 'NR == 1 { print $7 * 1024 }' "$work/fio.out" 2>/dev/null)
					sed -i "\$ s/\$/ fio_bw_Bps=${bw:-0}/" "$raw"
					;;
				esac
				if [ "$who" = urt-cp ] && ! cmp -s "$src/big" "$dst"; then
					note "cold round $r: urt-cp output differs from the source"
					status=1
				fi
				rm -f "$dst"
			done
			note "cold round $r/$ROUNDS done"
		done
		DROP=0
	fi
fi

# --- case reflink: btrfs and xfs loop images ------------------------------------------------
reflink_skip=()
reflink_fss=()
if has_case reflink; then
	for fs in btrfs xfs; do
		why=""
		if [ "$(id -u)" != 0 ]; then why="needs root (mount)"
		elif ! command -v "mkfs.$fs" >/dev/null; then why="mkfs.$fs not installed"
		elif ! grep -qw "$fs" /proc/filesystems; then why="the kernel has no $fs"
		fi
		if [ -z "$why" ]; then
			img=$work/$fs.img mnt=$work/$fs.mnt
			mkdir -p "$mnt"
			truncate -s $((SIZE_MB * 2 + 1024))M "$img"
			if ! "mkfs.$fs" -q -f "$img" >/dev/null 2>&1; then why="mkfs.$fs failed"
			elif ! mount -o loop "$img" "$mnt" 2>/dev/null; then why="cannot loop-mount the image"
			else
				mounts+=("$mnt")
				if [ -f "$src/big" ]; then cp --reflink=never "$src/big" "$mnt/big"; else head -c "${SIZE_MB}M" /dev/urandom >"$mnt/big"; fi
				sync
				BAL_MB=256
				for r in $(seq 1 "$ROUNDS"); do
					for who in $(order "$r" urt-cp cp); do
						dst=$mnt/copy.$who.$r
						case $who in
						urt-cp) timed "reflink-$fs" "$who" "$r" "$URTCP" "$mnt/big" "$dst" ;;
						cp) timed "reflink-$fs" "$who" "$r" cp "$mnt/big" "$dst" ;;
						esac
						if [ "$who" = urt-cp ] && ! cmp -s "$mnt/big" "$dst"; then
							note "reflink-$fs round $r: urt-cp output differs"
							status=1
						fi
						rm -f "$dst"
					done
				done
				note "reflink on $fs done"
				reflink_fss+=("$fs")
			fi
		fi
		[ -z "$why" ] || { reflink_skip+=("$fs: skipped, $why"); note "reflink $fs: skipped, $why"; }
	done
fi

# --- report ---------------------------------------------------------------------------
fs_src=$(findmnt -no SOURCE -T "$work" 2>/dev/null || echo '?')
fs_type=$(findmnt -no FSTYPE -T "$work" 2>/dev/null || echo '?')
fs_opts=$(findmnt -no OPTIONS -T "$work" 2>/dev/null || echo '?')
journal=""
if [ "$fs_type" = ext4 ]; then
	dev=$(basename "$fs_src")
	if compgen -G "/proc/fs/jbd2/$dev-*" >/dev/null; then journal=", journal"; else journal=", no journal"; fi
fi
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit + uncommitted changes"; fi
knobs="ROUNDS=$ROUNDS SIZE_MB=$SIZE_MB NFILES=$NFILES CASES='$CASES' BALLAST=$BALLAST"
[ "$urtcp_orig" = "$(realpath -m "$default_urtcp")" ] || knobs="$knobs URTCP=$urtcp_orig"
[ -z "${BENCH_DIR:-}" ] || knobs="$knobs BENCH_DIR=$BENCH_DIR"

echo "## urt-cp benchmark"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.1f GiB RAM", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r) ($(uname -m))"
echo "- file system: $fs_type$journal on $fs_src ($fs_opts), data in $work"
echo "- urt: $commit; $("$URTCP" --version 2>/dev/null | head -1 || echo 'urt-cp --version failed') (binary $(realpath --relative-to="$root" "$urtcp_orig" 2>/dev/null || echo "$urtcp_orig") of $(date -u -r "$urtcp_orig" '+%Y-%m-%d %H:%M UTC'), run from a copy); $(cp --version | head -1)$(command -v fio >/dev/null && echo "; $(fio --version)")"
echo "- command: \`$knobs bench/cp.sh\`; contenders alternate in every round (start rotates), untimed sync before each run; medians over rounds; ratios are medians of per-round ratios; GB = 10^9 bytes; RSS = ru_maxrss"
if [ "$BALLAST" = 1 ]; then
	echo "- memory: before each timed run a ballast (a bit more than the run's page-cache growth) is touched and freed, so runs do not pay for host page faults on memory handed back by free page reporting${have_rk:+ (reported_mib in the raw numbers = memory handed back during the run)}"
else
	echo "- memory: BALLAST=0, runs may pay for host page faults on memory handed back by free page reporting${have_rk:+ (reported_mib in the raw numbers)}"
fi
echo

if has_case big; then
	echo "### 1. one $SIZE_MB MiB file, hot page cache"
	echo
	echo "| contender | median wall (s) | GB/s | cp time / urt-cp time | user / sys s | peak RSS MiB, median (max) |"
	echo "|---|---|---|---|---|---|"
	for who in urt-cp urt-cp-rw urt-cp-epoll cp cp-never; do
		w=$(field big "$who" wall_s | median)
		case $who in
		urt-cp) label="urt-cp"; rat="-" ;;
		urt-cp-epoll) label="urt-cp on urt's epoll backend (URT_BACKEND=epoll)"; rat=$(fmt "$(ratios big urt-cp-epoll urt-cp | median)" %.2f) ;;
		urt-cp-rw) label="urt-cp, URTCP_CFR=0 (its read/write pipeline)"; rat=$(fmt "$(ratios big urt-cp-rw urt-cp | median)" %.2f) ;;
		cp) label="cp (copy_file_range)"; rat=$(fmt "$(ratios big cp urt-cp | median)" %.2f) ;;
		cp-never) label="cp --reflink=never (read/write)"; rat=$(fmt "$(ratios big cp-never urt-cp | median)" %.2f) ;;
		esac
		echo "| $label | $(fmt "$w" %.3f) | $(gbps "$big_bytes" "$w") | $rat | $(cpu big "$who") | $(rss big "$who") |"
	done
	r=$(ratios big "cp cp-never" urt-cp | median)
	echo
	echo "faster cp / urt-cp (per round min(cp, cp --reflink=never) / urt-cp, median): **$(fmt "$r" %.2f)x** (range $(fmt "$(ratios big "cp cp-never" urt-cp | sort -g | head -1)" %.2f)..$(fmt "$(ratios big "cp cp-never" urt-cp | sort -g | tail -1)" %.2f)); target >= 1.3x: $(ge "$r" 1.3)"
	echo
fi

if has_case tree; then
	echo "### 2. tree of $tree_files files ($(awk -v b="$tree_bytes" 'BEGIN { printf "%.0f MiB", b / 1048576 }'), 4..64 KiB each) in $tree_dirs directories, hot page cache"
	echo
	echo "| contender | median wall (s) | files/s | MB/s | cp time / urt-cp time | user / sys s | peak RSS MiB, median (max) |"
	echo "|---|---|---|---|---|---|---|"
	for who in $tree_who; do
		w=$(field tree "$who" wall_s | median)
		case $who in
		cp-halves) label="reference: two cp -r at once, each on half of the top directories"; rat=$(fmt "$(ratios tree cp-halves urt-cp | median)" %.2f) ;;
		urt-cp) label="urt-cp -r (one loop per CPU)"; rat="-" ;;
		urt-cp-1) label="urt-cp -r --threads 1 (one loop)"; rat=$(fmt "$(ratios tree urt-cp-1 urt-cp | median)" %.2f) ;;
		urt-cp-base) label="urt-cp -r, baseline build (\`$URTCP_BASE\`)"; rat=$(fmt "$(ratios tree urt-cp-base urt-cp | median)" %.2f) ;;
		urt-cp-epoll) label="urt-cp -r on urt's epoll backend"; rat=$(fmt "$(ratios tree urt-cp-epoll urt-cp | median)" %.2f) ;;
		*) label="cp -r"; rat=$(fmt "$(ratios tree cp urt-cp | median)" %.2f) ;;
		esac
		echo "| $label | $(fmt "$w" %.3f) | $(awk -v n="$tree_files" -v s="$w" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "?" }') | $(awk -v b="$tree_bytes" -v s="$w" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1e6; else print "?" }') | $rat | $(cpu tree "$who") | $(rss tree "$who") |"
	done
	r=$(ratios tree cp urt-cp | median)
	r1=$(ratios tree cp urt-cp-1 | median)
	echo
	echo "cp -r / urt-cp -r (per-round ratio, median): **$(fmt "$r" %.2f)x** (range $(fmt "$(ratios tree cp urt-cp | sort -g | head -1)" %.2f)..$(fmt "$(ratios tree cp urt-cp | sort -g | tail -1)" %.2f)); target >= 2.0x: $(ge "$r" 2.0); with --threads 1: $(fmt "$r1" %.2f)x; one loop / several (urt-cp --threads 1 time / urt-cp time): $(fmt "$(ratios tree urt-cp-1 urt-cp | median)" %.2f); cp -r / two cp -r at once: $(fmt "$(ratios tree cp cp-halves | median)" %.2f)x"
	echo
fi

if has_case cold; then
	echo "### 3. one $SIZE_MB MiB file, cold cache (sync; echo 3 > /proc/sys/vm/drop_caches before every run)"
	echo
	if [ -n "$cold_skip" ]; then
		echo "$cold_skip"
	else
		# Per-round urt-cp GB/s over fio GB/s.
		awk '$1 == "cold" { delete f; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
			if (f["who"] == "urt-cp") u[f["round"]] = f["wall_s"]; if (f["who"] == "fio") b[f["round"]] = f["fio_bw_Bps"] }
			END { for (r in u) if (u[r] > 0 && b[r] > 0) printf "%.4f\n", ('"$big_bytes"' / u[r]) / b[r] }' "$raw" >"$work/coldratio"
		fio_bw=$(field cold fio fio_bw_Bps | median)
		echo "| contender | median wall (s) | GB/s | GB/s relative to fio | user / sys s | peak RSS MiB, median (max) |"
		echo "|---|---|---|---|---|---|"
		w=$(field cold urt-cp wall_s | median)
		echo "| urt-cp | $(fmt "$w" %.3f) | $(gbps "$big_bytes" "$w") | $(fmt "$(median <"$work/coldratio")" %.2f) | $(cpu cold urt-cp) | $(rss cold urt-cp) |"
		w=$(field cold fio wall_s | median)
		echo "| fio read, io_uring, bs=1M, iodepth=16 (ceiling; GB/s as fio reports it) | $(fmt "$w" %.3f) (process) | $(awk -v b="$fio_bw" 'BEGIN { if (b > 0) printf "%.2f", b / 1e9; else print "?" }') | 1 | $(cpu cold fio) | - |"
		w=$(field cold cp wall_s | median)
		cw=$(field cold urt-cp wall_s | median)
		echo "| cp (reference) | $(fmt "$w" %.3f) | $(gbps "$big_bytes" "$w") | $(awk -v b="$fio_bw" -v s="$w" -v n="$big_bytes" 'BEGIN { if (b > 0 && s > 0) printf "%.2f", n / s / b; else print "?" }') (of medians) | $(cpu cold cp) | $(rss cold cp) |"
		w=$(field cold dd wall_s | median)
		echo "| dd bs=8M to /dev/null (plain sequential read, no write; reference) | $(fmt "$w" %.3f) | $(gbps "$big_bytes" "$w") | $(awk -v b="$fio_bw" -v s="$w" -v n="$big_bytes" 'BEGIN { if (b > 0 && s > 0) printf "%.2f", n / s / b; else print "?" }') (of medians) | $(cpu cold dd) | $(rss cold dd) |"
		r=$(median <"$work/coldratio")
		echo
		echo "urt-cp GB/s / fio GB/s (per-round ratio, median): **$(fmt "$r" %.2f)** (range $(fmt "$(sort -g "$work/coldratio" | head -1)" %.2f)..$(fmt "$(sort -g "$work/coldratio" | tail -1)" %.2f)); target >= 0.95: $(ge "$r" 0.95); cp time / urt-cp time: $(fmt "$(ratios cold cp urt-cp | median)" %.2f); dd read time / urt-cp copy time: $(fmt "$(ratios cold dd urt-cp | median)" %.2f)"
	fi
	echo
fi

if has_case reflink; then
	echo "### 4. reflink of the $SIZE_MB MiB file on loop-mounted btrfs / xfs images (same filesystem, hot)"
	echo
	for l in "${reflink_skip[@]}"; do echo "- $l"; done
	if [ ${#reflink_fss[@]} -gt 0 ]; then
		echo "| filesystem | urt-cp median ms (min..max) | cp median ms (min..max) | urt-cp <= 10 ms |"
		echo "|---|---|---|---|"
		for fs in "${reflink_fss[@]}"; do
			u=$(field "reflink-$fs" urt-cp wall_s | median)
			umin=$(field "reflink-$fs" urt-cp wall_s | sort -g | head -1); umax=$(field "reflink-$fs" urt-cp wall_s | maxof)
			c=$(field "reflink-$fs" cp wall_s | median)
			cmin=$(field "reflink-$fs" cp wall_s | sort -g | head -1); cmax=$(field "reflink-$fs" cp wall_s | maxof)
			ms() { awk -v s="$1" 'BEGIN { if (s == "") print "?"; else printf "%.1f", s * 1000 }'; }
			echo "| $fs | $(ms "$u") ($(ms "$umin")..$(ms "$umax")) | $(ms "$c") ($(ms "$cmin")..$(ms "$cmax")) | $(awk -v s="$u" 'BEGIN { print (s != "" && s <= 0.010) ? "yes" : "**no**" }') |"
		done
	fi
	echo
fi

echo "<details><summary>raw per-round numbers</summary>"
echo
echo '```'
cat "$raw"
echo '```'
echo "</details>"
exit $status
