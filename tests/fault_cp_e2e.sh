#!/bin/bash
# SPDX-License-Identifier: MIT
# urt-cp under seeded fault injection (issue 23): a build with
# -Dfault_injection=true, URT_FAULT=seed=N,... for each seed. Whatever the
# faults (-EIO, -ENOSPC, short reads and writes, -EMFILE/-ENOMEM on open,
# failed spawns, other interleavings), urt-cp either copies the tree
# exactly (exit 0) or reports each failure on stderr and exits 1, and:
#   - no file under a final name is partial or corrupt: every file of the
#     destination equals its source (new destination), or equals its
#     source or its old content (existing destination: left whole);
#   - no temporary is left behind (every name is one of the source's);
#   - it never crashes or hangs (timeout).
# URTCP_CFR=0 keeps the data on urt_read/urt_write (copy_file_range runs on
# a worker thread, outside the backend). A failure prints the command that
# replays it. FAULT_SEEDS (default 8) seeds per case; more locally:
#   FAULT_SEEDS=200 bash tests/fault_cp_e2e.sh build/tools/urt-cp
set -u
cp_bin=$(realpath "${1:?usage: fault_cp_e2e.sh URT-CP}")
seeds=${FAULT_SEEDS:-8}
work=$(mktemp -d /tmp/urt-fault-cp.XXXXXX) && trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

# the source tree: sizes across the copy paths (empty, small, a few
# chunks), a subdirectory, a symlink
mkdir -p src/sub/deeper
for i in $(seq 1 30); do
	head -c $(( (i * 7919) % 300000 )) /dev/urandom >"src/f$i"
done
for i in $(seq 1 10); do
	head -c $(( i * 40000 )) /dev/urandom >"src/sub/g$i"
done
: >src/sub/deeper/empty
ln -s f1 src/link

fail=0 runs=0 clean=0 reported=0
check() { # case seed kinds rc
	local case=$1 seed=$2 kinds=$3 rc=$4 f rel bad=""
	local replay="URTCP_CFR=0 URT_FAULT=seed=$seed,rate=0.02,kinds=$kinds ${URT_BACKEND:+URT_BACKEND=$URT_BACKEND }$cp_bin -r src dst"
	case $rc in
	0) if ! diff -r src dst >/dev/null 2>&1; then bad="exit 0 but the copy differs"; fi
	   clean=$((clean + 1)) ;;
	1) if [ ! -s err ]; then bad="exit 1 without a message"
	   elif grep -qv '^urt-cp: ' err; then bad="a message not in cp's form: $(grep -v '^urt-cp: ' err | head -1)"
	   fi
	   reported=$((reported + 1)) ;;
	*) bad="exit $rc (crash, hang or signal)" ;;
	esac
	while IFS= read -r f; do
		rel=${f#dst/}
		[ -e "src/$rel" ] || [ -L "src/$rel" ] || { bad="${bad:+$bad; }left behind: $rel"; continue; }
		[ -f "$f" ] && [ ! -L "$f" ] || continue
		cmp -s "src/$rel" "$f" && continue
		[ "$case" = existing ] && [ -f "old/$rel" ] && cmp -s "old/$rel" "$f" && continue
		bad="${bad:+$bad; }partial or corrupt: $rel"
	done < <(find dst -mindepth 1 2>/dev/null)
	if [ -n "$bad" ]; then
		echo "FAIL [$case seed $seed kinds $kinds]: $bad"
		echo "  replay: (cd a copy of the tree && $replay${case:+  # case $case})"
		sed 's/^/  stderr: /' err | head -5
		fail=1
	fi
}

for case in new existing; do
	for kinds in all short+io+delay nofd+spawn; do
		for seed in $(seq 1 "$seeds"); do
			rm -rf dst old
			if [ "$case" = existing ]; then
				# an older copy of half the files: each must end up new or
				# stay old, never a mix
				mkdir -p dst/sub old/sub
				for i in $(seq 1 2 30); do
					head -c 5000 /dev/urandom >"old/f$i"
					cp "old/f$i" "dst/f$i"
				done
				cp -r dst/. old/ 2>/dev/null
			fi
			URTCP_CFR=0 URT_FAULT="seed=$seed,rate=0.02,kinds=$kinds" \
				timeout -k 5 60 "$cp_bin" -r src/. dst >/dev/null 2>err
			check "$case" "$seed" "$kinds" $?
			runs=$((runs + 1))
		done
	done
done
echo "fault-cp: $runs runs (${URT_BACKEND:-io_uring}), $clean copied whole, $reported reported their faults"
[ $fail -eq 0 ] || { echo "fault-cp: FAIL"; exit 1; }
exit 0
