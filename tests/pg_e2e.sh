#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end test of tools/examples/urt_pg (libpq's non-blocking API driven
# through urt_poll) against a real PostgreSQL (run by meson test). Installs
# postgresql and libpq-dev when missing (as root; skips with 77 when it
# cannot), starts a private cluster in a temporary directory that listens
# only on a Unix socket there (run as an unprivileged user), and always stops
# and removes it. Then, with pg_demo:
#  - 20 tasks run SELECT pg_sleep(0.2), <id> at once on a connection each:
#    every id comes back, and the queries overlap (well under the 4 s a
#    serial client needs);
#  - a SELECT pg_sleep(30) interrupted by urt_cancel, and one by a 200 ms
#    deadline scope, is stopped on the server (pg_stat_activity), its
#    connection still works, and the process's fds are back where they were;
#  - connecting to a missing socket or a missing database fails cleanly, and
#    to a server that never answers times out.
# URT_RING_FLAGS (set by meson for the -coop run) selects the ring setup.
# Usage: pg_e2e.sh PG_DEMO
set -u
DEMO=$1
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# ---- the server ---------------------------------------------------------
bin=$(pg_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		skip "PostgreSQL is not installed and cannot be installed here (needs root and apt-get)"
	fi
	echo "installing postgresql libpq-dev"
	export DEBIAN_FRONTEND=noninteractive
	apt="apt-get -o DPkg::Lock::Timeout=300 -qq"  # the -coop run may be installing too
	log=$(mktemp)
	{ $apt install -y --no-install-recommends postgresql libpq-dev ||
		{ $apt update && $apt install -y --no-install-recommends postgresql libpq-dev; }
	} >"$log" 2>&1
	rc=$?
	bin=$(pg_bin)
	if [ "$rc" != 0 ] || [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		tail -5 "$log"; rm -f "$log"
		skip "PostgreSQL could not be installed (apt-get install postgresql failed)"
	fi
	rm -f "$log"
fi

# initdb refuses to run as root: the cluster belongs to an unprivileged user
as_pg=()
if [ "$(id -u)" = 0 ]; then
	pg_user=nobody
	if ! id -u "$pg_user" >/dev/null 2>&1; then
		pg_user=urt-pg-test
		id -u "$pg_user" >/dev/null 2>&1 ||
			useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user" ||
			fail "cannot create a user for the cluster"
	fi
	if command -v runuser >/dev/null; then
		as_pg=(runuser -u "$pg_user" --)
	else
		as_pg=(setpriv --reuid="$pg_user" --regid="$(id -g "$pg_user")" --clear-groups)
	fi
fi

# The socket path must fit in sun_path (107 bytes) and be reachable by that
# user: take TMPDIR if it qualifies, else /tmp.
work=
pgpid=
cleanup() {
	if [ -n "$work" ] && [ -f "$work/data/postmaster.pid" ]; then
		pgpid=$(head -1 "$work/data/postmaster.pid")
		(cd / && "${as_pg[@]}" "$bin/pg_ctl" -D "$work/data" -m immediate -w -t 20 stop) >/dev/null 2>&1 ||
			kill -9 "$pgpid" 2>/dev/null
	fi
	[ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP # so that the EXIT trap runs
for base in "${TMPDIR:-/tmp}" /tmp; do
	work=$(mktemp -d "$base/urt-pg.XXXXXX") || continue
	[ -n "${as_pg[*]}" ] && chown "$pg_user" "$work"
	if [ ${#work} -le 80 ] && (cd / && "${as_pg[@]}" test -w "$work"); then
		break
	fi
	rm -rf "$work"; work=
done
[ -n "$work" ] || fail "no temporary directory the cluster's user can use"

# Every server command runs from the work dir: the user may not be able to
# read the build directory the test was started in.
pg() { (cd "$work" && "${as_pg[@]}" "$@"); }
pg "$bin/initdb" -D "$work/data" -U urt --auth=trust -E UTF8 --no-locale --no-sync \
	>"$work/initdb.log" 2>&1 || { tail -20 "$work/initdb.log"; fail "initdb failed"; }
pg "$bin/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
	-o "-c listen_addresses='' -k $work -c fsync=off -c max_connections=60" start \
	>"$work/pg_ctl.log" 2>&1 || { tail -20 "$work/server.log"; fail "the server did not start"; }
[ -S "$work/.s.PGSQL.5432" ] || fail "no server socket in $work"
ci="host=$work port=5432 user=urt dbname=postgres"
echo "ok server ($("$bin/postgres" --version), socket $work)"

# ---- the tests ------------------------------------------------------------
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }

# 20 overlapping queries
t0=$(ms_now)
out=$("$DEMO" parallel "$ci" 20 2>&1) || { echo "$out"; fail "parallel"; }
total=$(( $(ms_now) - t0 ))
echo "$out"
qms=$(sed -n 's/^query_ms=//p' <<<"$out")
[ -n "$qms" ] || fail "no query time in the output"
[ "$qms" -lt 2500 ] || fail "20 x pg_sleep(0.2) took $qms ms: the queries did not overlap (serial: 4000 ms)"
[ "$total" -lt 4000 ] || fail "the whole run (20 connects + queries) took $total ms"
echo "ok parallel: queries $qms ms, whole run $total ms"

# an interrupted query is stopped on the server; nothing leaks
for mode in cancel deadline; do
	out=$(timeout 60 "$DEMO" "$mode" "$ci" 2>&1) || { echo "$out"; fail "$mode"; }
	echo "$out"
	echo "ok $mode"
done

# and the server agrees: nothing of ours still runs
if [ -x "$bin/psql" ]; then
	n=$("$bin/psql" "$ci" -Atc "SELECT count(*) FROM pg_stat_activity
		WHERE state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()" 2>&1)
	[ "$n" = 0 ] || fail "pg_stat_activity still shows $n pg_sleep queries"
	echo "ok no query left active"
fi

# connect failures: clean negative errors, no hang
out=$(timeout 20 "$DEMO" fail "host=$work/missing port=5432 user=urt dbname=postgres" 2>&1) ||
	{ echo "$out"; fail "connect to a missing socket"; }
echo "$out"
grep -q "Connection refused" <<<"$out" || fail "no -ECONNREFUSED for a missing socket"
out=$(timeout 20 "$DEMO" fail "host=$work port=5432 user=urt dbname=no_such_db" 2>&1) ||
	{ echo "$out"; fail "connect to a missing database"; }
echo "$out"
grep -q 'database "no_such_db" does not exist' <<<"$out" || fail "no server message for a missing database"
out=$(timeout 20 "$DEMO" fail "host=$work port=5432 user=urt dbname=postgres no_such_keyword=1" 2>&1) ||
	{ echo "$out"; fail "connect with a bad conninfo"; }
echo "$out"
grep -q "Invalid argument" <<<"$out" || fail "no -EINVAL for a bad conninfo"
out=$(timeout 20 "$DEMO" hang 2>&1) || { echo "$out"; fail "connect to a server that never answers"; }
echo "$out"
echo "ok connect failures"

grep -E "PANIC|TRAP|terminated by signal" "$work/server.log" && fail "the server log shows a crash"
echo "ok pg_e2e"
