#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Option parsing of the network tools (run by meson test): every numeric
# option of urt-echo, urt-load and urt-httpd (--threads included) refuses a bad value (nan, inf,
# a sign, an exponent where an integer is expected, a value that would wrap
# when cast, empty, trailing junk, overflow) with exit status 2
# (TOOL_EXIT_USAGE) and exactly one line on stderr naming the option, and
# good values still work. Every run is under timeout: a tool that takes a
# bad value and starts serving fails the test instead of hanging it.
# urt-cp's numeric options get the same parser; like cp, it adds a second
# line pointing at --help.
# Usage: tools_args_e2e.sh URT-ECHO URT-LOAD URT-HTTPD [URT-CP]
set -u
ECHO=$1
LOAD=$2
HTTPD=$3
CP=${4:-}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# refused TOOL OPTION VALUE: the tool exits 2 with one line naming OPTION;
# an OPTION ending in '=' takes VALUE in the same argument (--bufring=N)
refused() {
	local tool=$1 opt=$2 val=$3 rc
	if [ "${opt%=}" != "$opt" ]; then
		timeout 5 "$tool" "$opt$val" >"$work/o" 2>"$work/e" </dev/null
		rc=$?
		opt=${opt%=}
	else
		timeout 5 "$tool" "$opt" "$val" >"$work/o" 2>"$work/e" </dev/null
		rc=$?
	fi
	local name=${tool##*/}
	[ "$rc" = 2 ] || fail "$name $opt '$val': exit status $rc, not 2 ($(head -c 300 "$work/e"))"
	[ "$(wc -l <"$work/e")" = 1 ] || fail "$name $opt '$val': not one line: $(cat "$work/e")"
	grep -q -- "$opt" "$work/e" || fail "$name $opt '$val': the message does not name $opt: $(cat "$work/e")"
	grep -q "^$name: " "$work/e" || fail "$name $opt '$val': no '$name:' prefix: $(cat "$work/e")"
	[ -s "$work/o" ] && fail "$name $opt '$val': wrote to stdout: $(cat "$work/o")"
	return 0
}

ints=(nan inf -1 1e3 '' 12x ' 1' 0x10 4294967296 18446744073709551616 99999999999999999999)
reals=(nan NaN inf -inf infinity '' 12x 0x10 0x1p3 1e999 -1 99999999999999999999 . 1e)

for opt in --port; do
	for v in "${ints[@]}" 65536; do refused "$ECHO" $opt "$v"; refused "$HTTPD" $opt "$v"; refused "$LOAD" $opt "$v"; done
done
for v in "${ints[@]}" 0; do refused "$LOAD" --conns "$v"; refused "$LOAD" --pipeline "$v"; done
refused "$LOAD" --pipeline 1025
for v in "${ints[@]}" 0 17M 99999999999G 1X 1KB; do refused "$LOAD" --size "$v"; done
for v in nan inf -1 1e3 "" 12x 0x10 4294967296 99999999999999999999 0 3 32769; do
	refused "$ECHO" --bufring= "$v"
done
for v in "${reals[@]}"; do
	refused "$ECHO" --drain "$v"
	refused "$LOAD" --duration "$v"
	refused "$HTTPD" --drain "$v"
	refused "$HTTPD" --idle-timeout "$v"
	refused "$HTTPD" --header-timeout "$v"
	refused "$HTTPD" --body-timeout "$v"
done
refused "$LOAD" --duration 0
for v in "${ints[@]}" 0; do refused "$HTTPD" --max-conns "$v"; done
for v in "${ints[@]}" 1025 -0; do
	refused "$ECHO" --threads "$v"
	refused "$HTTPD" --threads "$v"
	refused "$LOAD" --threads "$v"
done
refused "$LOAD" --mode bogus
refused "$LOAD" --path nopath
echo "ok bad values refused"

# an unknown option and a stray argument are usage errors too
for t in "$ECHO" "$LOAD" "$HTTPD"; do
	timeout 5 "$t" --no-such-option >/dev/null 2>&1; rc=$?
	[ "$rc" = 2 ] || fail "${t##*/} --no-such-option: exit status $rc"
	timeout 5 "$t" stray >/dev/null 2>&1; rc=$?
	[ "$rc" = 2 ] || fail "${t##*/} stray: exit status $rc"
	timeout 5 "$t" --pin=1 >/dev/null 2>&1; rc=$?
	[ "$rc" = 2 ] || fail "${t##*/} --pin=1: exit status $rc"
	timeout 5 "$t" --threads >/dev/null 2>&1; rc=$?
	[ "$rc" = 2 ] || fail "${t##*/} --threads without a value: exit status $rc"
done
# too large a batch for urt-load
timeout 5 "$LOAD" --size 16M --pipeline 8 >/dev/null 2>"$work/e"; rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$work/e")" = 1 ] || fail "urt-load 128 MiB batch: $rc $(cat "$work/e")"
echo "ok usage errors"

# start_server TOOL ARGS...: run it on a free port; sets pid and port
start_server() {
	rm -f "$work/out"
	"$@" >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 200); do grep -qs listening "$work/out" && break; sleep 0.05; done
	line=$(head -1 "$work/out")
	case "$line" in *": listening on 127.0.0.1:"*) ;; *) fail "$1: no address line: '$line' $(cat "$work/err")" ;; esac
	port=${line##*:}
}
stop_server() {
	kill -TERM "$pid"
	wait "$pid"; local rc=$?
	pid=
	[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
}

# good values still work (leading zeros, fractions, exponents where a
# number is real, size suffixes)
start_server "$ECHO" --port 0 --drain 0.25 --bufring=4 --threads 02 --pin
timeout 10 "$LOAD" --port "$port" --conns 02 --duration 2e-1 --size 1K --pipeline 3 >"$work/load" 2>&1 ||
	timeout 20 "$LOAD" --port "$port" --conns 02 --duration 2e0 --size 1K --pipeline 3 >"$work/load" 2>&1 ||
	fail "urt-load with good values: $(cat "$work/load")"
grep -q "conns=2 size=1024 pipeline=3 " "$work/load" || fail "urt-load values: $(cat "$work/load")"
grep -q "errors 0$" "$work/load" || fail "urt-load errors: $(cat "$work/load")"
# (urt-load exits 1 when no request completed: on two CPUs busy with the
# rest of the suite, 0.2 s pinned to them once completed none, in CI. What
# is tested here is the parsing: a second, longer try before failing.)
timeout 10 "$LOAD" --port "$port" --conns 3 --duration 0.2 --threads 0002 --pin >"$work/load" 2>&1 ||
	timeout 20 "$LOAD" --port "$port" --conns 3 --duration 2 --threads 0002 --pin >"$work/load" 2>&1 ||
	fail "urt-load --threads 0002: $(cat "$work/load")"
grep -q "conns=3 threads=2 size=64 " "$work/load" || fail "urt-load --threads 0002: $(cat "$work/load")"
stop_server
grep -q "(threads: [0-9]*+[0-9]* connections)" "$work/err" || fail "urt-echo --threads 02: $(cat "$work/err")"
start_server "$HTTPD" --port 00 --idle-timeout 2.5 --header-timeout 1.5 --body-timeout 0 \
	--max-conns 5 --drain .5 --threads 1
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect to urt-httpd"
printf 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3 | grep -q 'Hello, World!' || fail "urt-httpd with good values did not answer"
exec 3<&-
stop_server
echo "ok good values"
if [ -n "$CP" ]; then
	# cp_refused OPTION VALUE: exit 1 (cp's usage status), the message names
	# OPTION, then the hint
	cp_refused() {
		timeout 5 "$CP" "$1" "$2" /etc/hostname "$work/cpout" >"$work/o" 2>"$work/e" </dev/null
		local rc=$?
		[ "$rc" = 1 ] || fail "urt-cp $1 '$2': exit status $rc, not 1 ($(head -c 300 "$work/e"))"
		[ "$(wc -l <"$work/e")" = 2 ] || fail "urt-cp $1 '$2': not two lines: $(cat "$work/e")"
		head -1 "$work/e" | grep -q -- "^urt-cp: .*$1" || fail "urt-cp $1 '$2': $(cat "$work/e")"
		grep -q "Try 'urt-cp --help'" "$work/e" || fail "urt-cp $1 '$2': no hint line"
		[ ! -e "$work/cpout" ] || fail "urt-cp $1 '$2': copied anyway"
	}
	for v in "${ints[@]}" 0 4097 +5; do cp_refused -j "$v"; done
	for v in "${ints[@]}" 0 257; do cp_refused --queue-depth "$v"; done
	for v in "${ints[@]}" 0 4095 5000 2G 99999999999G 1X; do cp_refused --chunk-size "$v"; done
	for v in "${ints[@]}" 0 1025 +2; do cp_refused --threads "$v"; done
	timeout 10 "$CP" -j 3 --queue-depth 2 --chunk-size 64K --threads 02 /etc/hostname "$work/cpout" ||
		fail "urt-cp with good values"
	cmp -s /etc/hostname "$work/cpout" || fail "urt-cp with good values: bad copy"
	echo "ok urt-cp values"
fi
echo "ok tools args"
