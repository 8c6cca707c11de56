#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TLS benchmark (issue 24): urt-httpd HTTPS against nginx, both serving
# GET / -> "Hello, World!" over TLS 1.3 with an ECDSA P-256 certificate made
# here (default cipher: TLS_AES_256_GCM_SHA384), plus the same points in
# plain HTTP as a reference. Prints a markdown section on stdout (also
# written to $OUT), progress on stderr.
#
#   bash bench/tls.sh [BUILD_DIR]      default BUILD_DIR: build (built with
#                                      ninja first; meson setup if missing)
#
# Points (POINTS, each PROTO-GEN-MODE-CONNS):
#   PROTO  tls | plain
#   GEN    wrk (wrk -t1) | load (urt-load, HTTP mode, pipeline 1; --tls
#          --insecure for tls, as wrk does not verify either)
#   MODE   ka  = keep-alive: requests/s;
#          new = one request per connection: wrk -H "Connection: close"
#                (the server closes), urt-load --new-conn (its request says
#                Connection: close too): requests/s = new connections/s.
#                urt-load never resumes a session (every handshake is a full
#                one); wrk keeps the session of its last connection (SSL_clear)
#                and offers it: a server that issues tickets may then resume
#                instead of a full handshake. nginx here has
#                ssl_session_cache off and ssl_session_tickets off.
#   CONNS  concurrent connections
# Default: tls-wrk-ka-50 tls-wrk-ka-256 tls-load-ka-50 tls-load-ka-256
#          tls-wrk-new-50 tls-load-new-50 plain-wrk-ka-50 plain-wrk-ka-256
#          plain-wrk-new-50
#
# Servers, all started once and up together, under `taskset -c SERVER_CPU`:
#   urt-httpd        --tls-cert/--tls-key (HTTPS) on one port, a second
#                    instance without them (HTTP) on another ($URT_HTTPD_FLAGS
#                    added to both);
#   nginx            1 process (master_process off, worker_processes 1),
#                    access_log off, keepalive_requests 1000000, one
#                    `listen ... ssl` server (ssl_protocols TLSv1.3, the same
#                    certificate, no session cache, no tickets) and one plain.
# Method (as bench/net.sh): the load runs under `taskset -c LOAD_CPU`, the
# servers and the load at SCHED_FIFO 50 (SCHED); each round visits every
# point, and at each point each server in turn, the order rotating every
# round; tables give medians over ROUNDS rounds, ratios are medians of the
# per-round ratios urt-httpd/nginx, spread = min..max of those ratios.
#   req/s        from the load generator;
#   CPU us/req   CPU SERVER_CPU's busy time (/proc/stat user+nice+system+irq+
#                softirq; idle, iowait, steal excluded) over the run / requests;
#   proc us/req  the server process's utime+stime over the run / requests.
# Before each run it waits (up to QUIET_WAIT s) for the machine to be at most
# QUIET_PCT % busy; a run with more than STEAL_MAX_PCT % steal on the server
# core is run again (up to STEAL_RETRIES times).
#
# Environment:
#   ROUNDS=2 DURATION=3      (about 3 minutes with the default points)
#   POINTS="..."             see above
#   NGINX_PORT=18443 NGINX_PLAIN_PORT=18080 NGINX_TICKETS_PORT=18444
#   SERVER_CPU=0 LOAD_CPU=1 SCHED=fifo|nice|none
#   QUIET_PCT=15 QUIET_WAIT=5 STEAL_MAX_PCT=10 STEAL_RETRIES=2
#   URT_HTTPD_FLAGS=         extra flags for both urt-httpd instances
#   OUT=/tmp/tls-results.md  the report is also written here
#   SERVERS="urt-httpd nginx nginx-tickets"   which servers (without nginx:
#                            no ratios; for checking the harness).
#                            nginx-tickets: the same nginx process, a third
#                            server block with ssl_session_tickets on (as
#                            urt-httpd, which issues tickets), visited at the
#                            HTTPS new-connection points only: wrk may resume
#                            there as it may with urt-httpd
#                            urt-httpd-nt: urt-httpd --tls-no-tickets (no
#                            resumption, as nginx), also at the HTTPS
#                            new-connection points only: the like-for-like
#                            pair there is urt-httpd-nt / nginx
#   KEEP_SERVERS=1           leave the servers running at the end and print
#                            their pids and ports (for perf / strace by hand)
# Fails (exit 1, "tls.sh: FAILED: ..." on stderr) when a server does not
# start or dies, or a load generator reports errors.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
BUILD_DIR=${1:-${BUILD_DIR:-build}}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-3}
POINTS=${POINTS:-tls-wrk-ka-50 tls-wrk-ka-256 tls-load-ka-50 tls-load-ka-256 tls-wrk-new-50 tls-load-new-50 plain-wrk-ka-50 plain-wrk-ka-256 plain-wrk-new-50}
NGINX_PORT=${NGINX_PORT:-18443}
NGINX_PLAIN_PORT=${NGINX_PLAIN_PORT:-18080}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
OUT=${OUT:-/tmp/tls-results.md}
QUIET_PCT=${QUIET_PCT:-15}
QUIET_WAIT=${QUIET_WAIT:-5}
STEAL_MAX_PCT=${STEAL_MAX_PCT:-10}
STEAL_RETRIES=${STEAL_RETRIES:-2}
SCHED=${SCHED:-fifo}
URT_HTTPD_FLAGS=${URT_HTTPD_FLAGS:-}
KEEP_SERVERS=${KEEP_SERVERS:-0}
SERVERS=${SERVERS:-urt-httpd urt-httpd-nt nginx nginx-tickets}
NGINX_TICKETS_PORT=${NGINX_TICKETS_PORT:-18444}
has_server() { [[ " $SERVERS " == *" $1 "* ]]; }

note() { echo "tls.sh: $*" >&2; }
fail() {
	echo "tls.sh: FAILED: $*" >&2
	exit 1
}

work=$(mktemp -d /tmp/urt-tls-bench.XXXXXX)
declare -A PID PORT
cleanup() {
	local k
	if [ "$KEEP_SERVERS" = 1 ]; then
		note "servers left running (work dir $work):"
		for k in "${!PID[@]}"; do note "  $k pid ${PID[$k]} port ${PORT[$k]}"; done
		return
	fi
	for k in "${!PID[@]}"; do kill -TERM "${PID[$k]}" 2>/dev/null || true; done
	sleep 0.3
	for k in "${!PID[@]}"; do kill -KILL "${PID[$k]}" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build, snapshot the binaries ----------------------------------------------------
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
	meson setup "$BUILD_DIR" >"$work/build.log" 2>&1 || fail "meson setup $BUILD_DIR failed"
fi
ninja -C "$BUILD_DIR" tools/urt-httpd tools/urt-load >"$work/build.log" 2>&1 ||
	fail "ninja -C $BUILD_DIR failed: $(grep -m1 -E 'error|FAILED' "$work/build.log" || tail -1 "$work/build.log")"
bin=$work/bin
mkdir -p "$bin"
cp "$BUILD_DIR/tools/urt-httpd" "$BUILD_DIR/tools/urt-load" "$bin/"
lib=$(ldd "$BUILD_DIR/tools/urt-httpd" 2>/dev/null | awk '$1 ~ /^liburt\.so/ { print $1 " " $3; exit }')
if [ -n "$lib" ]; then cp -L "${lib#* }" "$work/${lib%% *}"; fi
LOAD=$bin/urt-load

apt_install() {
	note "installing $*"
	{ apt-get install -y "$@" >"$work/apt.log" 2>&1 ||
		{ apt-get update >>"$work/apt.log" 2>&1 && apt-get install -y "$@" >>"$work/apt.log" 2>&1; }; } ||
		fail "apt-get install $* failed (log: $(tail -1 "$work/apt.log"))"
}
missing=""
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="nginx"
command -v wrk >/dev/null || missing="$missing wrk"
command -v curl >/dev/null || missing="$missing curl"
command -v openssl >/dev/null || missing="$missing openssl"
# shellcheck disable=SC2086
[ -z "$missing" ] || apt_install $missing
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
! has_server urt-httpd || "$bin/urt-httpd" --help 2>&1 | grep -q -- --tls-cert || fail "urt-httpd has no --tls-cert (HTTPS) in $BUILD_DIR"
"$LOAD" --help 2>&1 | grep -q -- --new-conn || fail "urt-load has no --tls/--new-conn in $BUILD_DIR"

nofile=65536
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$nofile" ]; then nofile=$hard; fi
ulimit -n "$nofile"
PRIO=()
LPRIO=()
case $SCHED in
fifo)
	# the load generator at SCHED_RR: wrk's main thread ends the run (it
	# sleeps for -d, then tells the worker to stop), and a worker busy with
	# handshakes at SCHED_FIFO on the same CPU never lets it run (seen:
	# wrk -d2s -H "Connection: close" ran for 5 minutes)
	if chrt -f 50 true 2>/dev/null; then PRIO=(chrt -f 50); LPRIO=(chrt -r 50); else
		note "cannot use SCHED_FIFO here; trying nice -20"
		SCHED="nice"
	fi
	;;
nice | none) ;;
*) fail "SCHED must be fifo, nice or none" ;;
esac
if [ "$SCHED" = nice ]; then
	if [ "$(nice -n -20 nice 2>/dev/null)" = -20 ]; then PRIO=(nice -n -20); LPRIO=(nice -n -20); else SCHED=none; fi
fi
case $SCHED in fifo) sched_desc="SCHED_FIFO 50 (the load SCHED_RR 50)" ;; nice) sched_desc="nice -20" ;; *) sched_desc="" ;; esac

# --- certificate, nginx config ---------------------------------------------------------
cert=$work/cert.pem
key=$work/key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$key" -out "$cert" >"$work/req.log" 2>&1 ||
	fail "openssl req failed: $(tail -1 "$work/req.log")"
mkdir -p "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 65s;
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        ssl_protocols TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location = / {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
    server {
        listen 127.0.0.1:$NGINX_TICKETS_PORT ssl;
        ssl_certificate $cert;
        ssl_certificate_key $key;
        ssl_protocols TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets on;
        location = / {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
    server {
        listen 127.0.0.1:$NGINX_PLAIN_PORT;
        location = / {
            default_type text/plain;
            return 200 "Hello, World!";
        }
    }
}
EOF

# --- servers ----------------------------------------------------------------------------
# start KEY READY CMD...: READY "line" (wait for "listening on ADDR:PORT") or a port.
start() {
	local k=$1 ready=$2 i p=""
	shift 2
	for i in $ready; do
		[ "$i" = line ] || ! (exec 3<>"/dev/tcp/127.0.0.1/$i") 2>/dev/null || fail "port $i already in use ($k)"
	done
	"${PRIO[@]}" taskset -c "$SERVER_CPU" "$@" >"$work/$k.out" 2>&1 </dev/null &
	PID[$k]=$!
	for ((i = 0; i < 200; i++)); do
		kill -0 "${PID[$k]}" 2>/dev/null || fail "$k exited during start-up: $(head -c 300 "$work/$k.out" | tr '\n' ' ')"
		if [ "$ready" = line ]; then
			p=$(sed -n 's/.*listening on [0-9a-fA-F.:]*:\([0-9][0-9]*\).*/\1/p' "$work/$k.out" | head -1)
		elif (exec 3<>"/dev/tcp/127.0.0.1/${ready%% *}") 2>/dev/null; then
			p=$ready
		fi
		if [ -n "$p" ]; then
			PORT[$k]=$p
			return 0
		fi
		sleep 0.05
	done
	fail "$k not ready after 10 s"
}
if has_server urt-httpd; then
	# shellcheck disable=SC2086 # flags split on purpose
	start urt-httpd:tls line "$bin/urt-httpd" --port 0 --tls-cert "$cert" --tls-key "$key" $URT_HTTPD_FLAGS
	# shellcheck disable=SC2086
	start urt-httpd:plain line "$bin/urt-httpd" --port 0 $URT_HTTPD_FLAGS
fi
if has_server urt-httpd-nt; then
	# shellcheck disable=SC2086
	start urt-httpd-nt:tls line "$bin/urt-httpd" --port 0 --tls-cert "$cert" --tls-key "$key" --tls-no-tickets $URT_HTTPD_FLAGS
fi
if has_server nginx || has_server nginx-tickets; then
	start nginx:tls "$NGINX_PORT $NGINX_PLAIN_PORT $NGINX_TICKETS_PORT" "$NGINX" -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log"
	PID[nginx:plain]=${PID[nginx:tls]}
	PORT[nginx:tls]=$NGINX_PORT
	PORT[nginx:plain]=$NGINX_PLAIN_PORT
	PID[nginx-tickets:tls]=${PID[nginx:tls]}
	PORT[nginx-tickets:tls]=$NGINX_TICKETS_PORT
fi

url() { # SERVER PROTO
	if [ "$2" = tls ]; then echo "https://127.0.0.1:${PORT[$1:tls]}/"; else echo "http://127.0.0.1:${PORT[$1:plain]}/"; fi
}
# the right answer, over a verified TLS 1.3 connection; what was negotiated
declare -A NEGO
for s in $SERVERS; do
	[ "$s" != nginx-tickets ] && [ "$s" != urt-httpd-nt ] || continue
	body=$(curl -s --max-time 5 --cacert "$cert" "$(url "$s" tls)" 2>&1 || true)
	[ "$body" = "Hello, World!" ] || fail "$s (HTTPS): GET / answered '$(head -c 120 <<<"$body")'"
	body=$(curl -s --max-time 5 "$(url "$s" plain)" 2>&1 || true)
	[ "$body" = "Hello, World!" ] || fail "$s (HTTP): GET / answered '$(head -c 120 <<<"$body")'"
	nego=$(openssl s_client -connect "127.0.0.1:${PORT[$s:tls]}" -servername localhost -CAfile "$cert" -brief </dev/null 2>&1 |
		awk -F': ' '/^Protocol version/ { v = $2 } /^Ciphersuite/ { c = $2 } /^Signature type/ { t = $2 } /^Verification/ { ok = $2 }
			END { printf "%s %s %s, verification %s", v, c, t, ok }')
	NEGO[$s]=$nego
	# does it let a client resume (tickets)? urt-load offering the last session
	reused=$("$LOAD" --mode http --port "${PORT[$s:tls]}" --tls --tls-ca "$cert" --tls-name localhost --tls-resume \
		--new-conn --conns 1 --duration 0.3 2>&1 | sed -n 's/^urt-load: \([0-9]* of [0-9]*\) handshakes resumed.*/\1/p')
	NEGO[$s]="${NEGO[$s]}; a client offering its last session resumed ${reused:-?} handshakes"
	note "$s: ${NEGO[$s]}"
done
if has_server nginx-tickets; then
	reused=$("$LOAD" --mode http --port "$NGINX_TICKETS_PORT" --tls --tls-ca "$cert" --tls-name localhost --tls-resume \
		--new-conn --conns 1 --duration 0.3 2>&1 | sed -n 's/^urt-load: \([0-9]* of [0-9]*\) handshakes resumed.*/\1/p')
	NEGO[nginx-tickets]="a client offering its last session resumed ${reused:-?} handshakes"
	note "nginx-tickets: ${NEGO[nginx-tickets]}"
fi
if has_server urt-httpd-nt; then
	reused=$("$LOAD" --mode http --port "${PORT[urt-httpd-nt:tls]}" --tls --tls-ca "$cert" --tls-name localhost --tls-resume \
		--new-conn --conns 1 --duration 0.3 2>&1 | sed -n 's/^urt-load: \([0-9]* of [0-9]*\) handshakes resumed.*/\1/p')
	NEGO[urt-httpd-nt]="a client offering its last session resumed ${reused:-?} handshakes"
	note "urt-httpd-nt: ${NEGO[urt-httpd-nt]}"
fi
# servers_at POINT: the servers visited there
servers_at() {
	local s
	for s in $SERVERS; do
		[ "$s" != nginx-tickets ] && [ "$s" != urt-httpd-nt ] || [[ $1 == tls-*-new-* ]] || continue
		echo "$s"
	done
}

# --- measurement helpers (bench/net.sh's) ----------------------------------------------
cpustat() { awk -v c="cpu$SERVER_CPU" '$1 == c { print $2 + $3 + $4 + $7 + $8, $9, $7 + $8; exit }' /proc/stat; }
proctime() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
HZ=$(getconf CLK_TCK)
wait_quiet() {
	local t0=$SECONDS a0 a1 n0 n1 said=""
	while :; do
		read -r a0 n0 < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat)
		sleep 0.5
		read -r a1 n1 < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8; exit }' /proc/stat)
		BG=$(awk -v b="$((a1 - a0))" -v n="$((n1 - n0))" 'BEGIN { printf "%.0f", (n > 0 ? 100 * b / n : 0) }')
		[ "$BG" -gt "$QUIET_PCT" ] || return 0
		if [ $((SECONDS - t0)) -ge "$QUIET_WAIT" ]; then
			note "machine still $BG% busy after ${QUIET_WAIT} s; running anyway"
			return 0
		fi
		[ -n "$said" ] || note "machine $BG% busy (other processes); waiting (QUIET_PCT=$QUIET_PCT)"
		said=1
	done
}
wrk_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /m$/) print n * 6e7; else if (v ~ /s$/) print n * 1e6; else print "" }'; }

# run_wrk URL CONNS SECS MODE WHO: sets RPS REQS P50 P99
run_wrk() {
	local rc=0 bad
	local -a hdr=()
	[ "$4" != new ] || hdr=(-H "Connection: close")
	# wrk sometimes runs well past -d with Connection: close (seen: 50 s
	# for -d1s on a loaded machine): SIGINT makes it stop and report
	"${LPRIO[@]}" taskset -c "$LOAD_CPU" timeout -s INT -k 5 "$(($3 * 2 + 10))" \
		wrk -t1 -c"$2" -d"${3}s" --latency "${hdr[@]}" "$1" >"$work/load.out" 2>&1 </dev/null || rc=$?
	[ "$rc" != 124 ] || { note "wrk against $5 ran past $(($3 * 2 + 10)) s; stopped with SIGINT"; rc=0; }
	RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$work/load.out")
	REQS=$(awk '/requests in/ { print $1; exit }' "$work/load.out")
	bad=$(awk '/^ *Non-2xx/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$work/load.out")
	if [ "$rc" != 0 ] || [ -z "$RPS" ] || [ -z "$REQS" ] || [ "$bad" != 0 ]; then
		fail "wrk $4 against $5 ($2 conns) reported errors (status $rc): $(tr '\n' ' ' <"$work/load.out" | tr -s ' ' | head -c 400)"
	fi
	P50=$(wrk_us "$(awk '$1 == "50%" { print $2 }' "$work/load.out")")
	P99=$(wrk_us "$(awk '$1 == "99%" { print $2 }' "$work/load.out")")
}
# run_load PORT CONNS SECS MODE WHO PROTO: sets RPS REQS P50 P99
run_load() {
	local rc=0 line errs dur
	local -a fl=()
	[ "$6" != tls ] || fl+=(--tls --insecure --tls-name localhost)
	[ "$4" != new ] || fl+=(--new-conn)
	"${LPRIO[@]}" taskset -c "$LOAD_CPU" "$LOAD" --mode http --host 127.0.0.1 --port "$1" --conns "$2" \
		--duration "$3" "${fl[@]}" >"$work/load.out" 2>"$work/load.err" </dev/null || rc=$?
	line=$(grep -m1 'req/s' "$work/load.out" || true)
	RPS=$(sed -n 's/.* \([0-9.][0-9.]*\) req\/s.*/\1/p' <<<"$line")
	errs=$(sed -n 's/.*errors \([0-9][0-9]*\).*/\1/p' <<<"$line")
	dur=$(sed -n 's/.*duration=\([0-9.][0-9.]*\)s.*/\1/p' <<<"$line")
	if [ "$rc" != 0 ] || [ -z "$RPS" ] || [ "${errs:-1}" != 0 ]; then
		fail "urt-load $6 $4 against $5 ($2 conns) reported errors (status $rc): $(cat "$work/load.out" "$work/load.err" | tr '\n' ' ' | head -c 400)"
	fi
	REQS=$(awk -v r="$RPS" -v d="${dur:-$3}" 'BEGIN { printf "%.0f", r * d }')
	P50=$(sed -n 's/.*p50 \([0-9.][0-9.]*\) us.*/\1/p' <<<"$line")
	P99=$(sed -n 's/.*p99 \([0-9.][0-9.]*\) us.*/\1/p' <<<"$line")
}

raw=$work/raw.log
: >"$raw"
# measure POINT ROUND WHO: one run with the CPU figures around it
measure() {
	local pt=$1 r=$2 who=$3 proto gen mode conns pid b0 s0 q0 b1 s1 q1 p0 p1 try
	IFS=- read -r proto gen mode conns <<<"$pt"
	pid=${PID[$who:$proto]}
	for ((try = 0; ; try++)); do
		wait_quiet
		p0=$(proctime "$pid")
		read -r b0 s0 q0 < <(cpustat)
		if [ "$gen" = wrk ]; then
			run_wrk "$(url "$who" "$proto")" "$conns" "$DURATION" "$mode" "$who"
		else
			run_load "${PORT[$who:$proto]}" "$conns" "$DURATION" "$mode" "$who" "$proto"
		fi
		read -r b1 s1 q1 < <(cpustat)
		p1=$(proctime "$pid") || fail "$who ($proto) died during the run: $(tail -c 300 "$work/$who:$proto.out" | tr '\n' ' ')"
		[ "$try" -lt "$STEAL_RETRIES" ] || break
		awk -v b="$((b1 - b0))" -v s="$((s1 - s0))" -v m="$STEAL_MAX_PCT" \
			'BEGIN { exit !(b + s > 0 && 100 * s / (b + s) > m) }' || break
		note "$who: $((s1 - s0)) of $((b1 - b0 + s1 - s0)) jiffies stolen by the host; running again"
	done
	awk -v pt="$pt" -v r="$r" -v w="$who" -v rps="$RPS" -v n="$REQS" -v hz="$HZ" \
		-v b="$((b1 - b0))" -v s="$((s1 - s0))" -v q="$((q1 - q0))" -v p="$((p1 - p0))" \
		-v p50="${P50:-0}" -v p99="${P99:-0}" -v bg="$BG" 'BEGIN {
		printf "run point=%s round=%d who=%s rps=%.0f requests=%d busy_s=%.2f steal_s=%.2f irq_s=%.2f proc_s=%.2f cpu_us=%.3f proc_us=%.3f p50_us=%s p99_us=%s bg_pct=%s\n",
			pt, r, w, rps, n, b / hz, s / hz, q / hz, p / hz, (n > 0 ? b / hz * 1e6 / n : 0),
			(n > 0 ? p / hz * 1e6 / n : 0), p50, p99, bg }' >>"$raw"
}
field() { # POINT WHO KEY: one value per round
	awk -v p="$1" -v w="$2" -v k="$3" '$1 == "run" {
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["point"] == p && f["who"] == w) print f[k] }' "$raw"
}
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%.2f..%.2f", lo, hi; else print "?" }'; }
ratios() { # POINT NUM DEN KEY: per-round KEY(NUM)/KEY(DEN)
	awk -v p="$1" -v num="$2" -v den="$3" -v k="$4" '$1 == "run" {
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["point"] != p) next
		v[f["round"] + 0, f["who"]] = f[k]; if (f["round"] + 0 > n) n = f["round"] + 0
	}
	END { for (r = 1; r <= n; r++) if (((r, num) in v) && ((r, den) in v) && v[r, den] > 0) printf "%.4f\n", v[r, num] / v[r, den] }' "$raw"
}
fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "") print "?"; else printf f, v }'; }
order() { # ROUND NAME...: rotated by round
	local r=$1
	shift
	local n=$# i
	local -a a=("$@")
	for ((i = 0; i < n; i++)); do echo "${a[(i + r - 1) % n]}"; done
}

# --- the rounds ------------------------------------------------------------------------------
for r in $(seq 1 "$ROUNDS"); do
	for pt in $POINTS; do
		# shellcheck disable=SC2086,SC2046
		for who in $(order "$r" $(servers_at "$pt")); do
			measure "$pt" "$r" "$who"
			note "round $r/$ROUNDS $pt: $who $(fmt "$RPS" %.0f) req/s"
		done
	done
done

# --- report ---------------------------------------------------------------------------------------
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit + uncommitted changes"; fi
steal=$(awk '$1 == "run" { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } s += f["steal_s"]; b += f["busy_s"] } END { if (b > 0) printf "%.1f", 100 * s / (s + b); else print "?" }' "$raw")
bgmed=$(awk '$1 == "run" { for (i = 2; i <= NF; i++) if ($i ~ /^bg_pct=/) print substr($i, 8) }' "$raw" | median)
describe() { # POINT: words
	local proto gen mode conns g
	IFS=- read -r proto gen mode conns <<<"$1"
	if [ "$gen" = wrk ]; then
		g="wrk -t1 -c$conns"
		[ "$mode" != new ] || g="$g -H \"Connection: close\""
	else
		g="urt-load --conns $conns"
		[ "$proto" != tls ] || g="$g --tls"
		[ "$mode" != new ] || g="$g --new-conn"
	fi
	printf '%s | %s | %s' "$([ "$proto" = tls ] && echo HTTPS || echo HTTP)" "$([ "$mode" = new ] && echo "new conn" || echo keep-alive)" "$g"
}
{
	echo "## TLS benchmark (bench/tls.sh)"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r); steal on CPU $SERVER_CPU during the runs: $steal% of its non-idle time; machine busy right before the runs: median $bgmed%"
	echo "- urt: $commit; $(openssl version); $("$NGINX" -v 2>&1 | sed 's/.*: //') ($("$NGINX" -V 2>&1 | grep -m1 -o 'running with OpenSSL [0-9.a-z]*' || "$NGINX" -V 2>&1 | grep -m1 -o 'built with OpenSSL [0-9.a-z]*')); $(wrk --version 2>&1 | head -1 | awk '{ print $1, $2 }')"
	echo "- command: \`ROUNDS=$ROUNDS DURATION=$DURATION bash bench/tls.sh $BUILD_DIR\`${URT_HTTPD_FLAGS:+ with URT_HTTPD_FLAGS=\"$URT_HTTPD_FLAGS\"}; servers under \`taskset -c $SERVER_CPU\`, load under \`taskset -c $LOAD_CPU\`${sched_desc:+, both $sched_desc}; both servers up together, each round visits each point and each server in turn, order rotating; ${DURATION} s per run"
	echo "- TLS: ECDSA P-256 self-signed certificate; negotiated:$(for s in $SERVERS; do printf ' %s: %s;' "$s" "${NEGO[$s]}"; done) (nginx: ssl_session_cache off, ssl_session_tickets off; nginx-tickets: the same with tickets on)"
	echo "- servers: urt-httpd = \`urt-httpd --port 0 --tls-cert C --tls-key K${URT_HTTPD_FLAGS:+ $URT_HTTPD_FLAGS}\` (and a plain instance); nginx = 1 process, master_process off, access_log off, keepalive_requests 1000000"
	echo "- CPU us/req: CPU $SERVER_CPU busy (user+nice+system+irq+softirq) / requests; proc us/req: the server's utime+stime / requests. Where the server does not saturate CPU $SERVER_CPU (the new-connection points, where the load generator's handshakes are the limit) other processes' time on CPU $SERVER_CPU lands in CPU us/req: read proc us/req there. Ratios (\"vs nginx\"): medians of the per-round ratios this server / nginx, spread = their min..max over $ROUNDS rounds"
	echo
	echo "| proto | mode | load | server | req/s | req/s vs nginx (spread) | CPU us/req | CPU vs nginx (spread) | proc us/req | proc vs nginx | p99 us |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	for pt in $POINTS; do
		for who in $(servers_at "$pt"); do
			rps=$(field "$pt" "$who" rps | median)
			cpu=$(field "$pt" "$who" cpu_us | median)
			proc=$(field "$pt" "$who" proc_us | median)
			p99=$(field "$pt" "$who" p99_us | median)
			if [ "$who" = nginx ] || ! has_server nginx; then
				rr=1
				cr=1
				pr=1
			else
				rr="$(fmt "$(ratios "$pt" "$who" nginx rps | median)" %.2f) ($(ratios "$pt" "$who" nginx rps | spread))"
				cr="$(fmt "$(ratios "$pt" "$who" nginx cpu_us | median)" %.2f) ($(ratios "$pt" "$who" nginx cpu_us | spread))"
				pr=$(fmt "$(ratios "$pt" "$who" nginx proc_us | median)" %.2f)
			fi
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(describe "$pt")" "$who" "$(fmt "$rps" %.0f)" "$rr" \
				"$(fmt "$cpu" %.2f)" "$cr" "$(fmt "$proc" %.2f)" "$pr" "$(fmt "$p99" %.0f)"
		done
	done
	echo
	if has_server nginx-tickets && has_server urt-httpd; then
		echo "HTTPS new connections where both servers issue session tickets (urt-httpd as always, nginx-tickets = ssl_session_tickets on): urt-httpd / nginx-tickets, medians of per-round ratios (spread):"
		echo
		echo "| load | req/s urt/nginx-tickets | CPU us/req urt/nginx-tickets | proc us/req urt/nginx-tickets |"
		echo "|---|---|---|---|"
		for pt in $POINTS; do
			[[ $pt == tls-*-new-* ]] || continue
			printf '| %s | %s (%s) | %s (%s) | %s (%s) |\n' "$(describe "$pt" | sed 's/.*| //')" \
				"$(fmt "$(ratios "$pt" urt-httpd nginx-tickets rps | median)" %.2f)" "$(ratios "$pt" urt-httpd nginx-tickets rps | spread)" \
				"$(fmt "$(ratios "$pt" urt-httpd nginx-tickets cpu_us | median)" %.2f)" "$(ratios "$pt" urt-httpd nginx-tickets cpu_us | spread)" \
				"$(fmt "$(ratios "$pt" urt-httpd nginx-tickets proc_us | median)" %.2f)" "$(ratios "$pt" urt-httpd nginx-tickets proc_us | spread)"
		done
		echo
	fi
	if has_server urt-httpd-nt && has_server nginx; then
		echo "HTTPS new connections where neither server lets a client resume (urt-httpd-nt = urt-httpd --tls-no-tickets, nginx = no cache, no tickets): every handshake a full one; urt-httpd-nt / nginx, medians of per-round ratios (spread):"
		echo
		echo "| load | req/s urt-nt/nginx | CPU us/req urt-nt/nginx | proc us/req urt-nt/nginx |"
		echo "|---|---|---|---|"
		for pt in $POINTS; do
			[[ $pt == tls-*-new-* ]] || continue
			printf '| %s | %s (%s) | %s (%s) | %s (%s) |\n' "$(describe "$pt" | sed 's/.*| //')" \
				"$(fmt "$(ratios "$pt" urt-httpd-nt nginx rps | median)" %.2f)" "$(ratios "$pt" urt-httpd-nt nginx rps | spread)" \
				"$(fmt "$(ratios "$pt" urt-httpd-nt nginx cpu_us | median)" %.2f)" "$(ratios "$pt" urt-httpd-nt nginx cpu_us | spread)" \
				"$(fmt "$(ratios "$pt" urt-httpd-nt nginx proc_us | median)" %.2f)" "$(ratios "$pt" urt-httpd-nt nginx proc_us | spread)"
		done
		echo
	fi
	echo "<details><summary>raw per-run numbers</summary>"
	echo
	echo '```'
	cat "$raw"
	echo '```'
	echo "</details>"
} | tee "$OUT"
note "report written to $OUT"
