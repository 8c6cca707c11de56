#!/bin/sh
# A short libFuzzer run for meson test: fuzz_smoke.sh EXE SEEDS [ARGS...].
# libFuzzer writes what it finds into its first corpus directory: that is
# a scratch one, so the seeds under tests/fuzz/ stay as they are.
set -eu
exe=$1 seeds=$2
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$exe" "$@" "$dir" "$seeds"
