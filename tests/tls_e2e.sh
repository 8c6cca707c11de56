#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end test of TLS in the tools (issue 24), run by meson test:
# urt-httpd --tls-cert/--tls-key and urt-echo --tls-cert/--tls-key against
# curl, openssl s_client and Python's ssl module (tests/tls_e2e.py), with a
# throw-away CA and a server certificate for localhost and 127.0.0.1
# (ECDSA P-256). Checks: the greeting, keep-alive, static files (5 MiB byte
# for byte), pipelining; verification (curl without the CA fails with 60,
# s_client verifies); session resumption (TLS 1.2 s_client -reconnect,
# TLS 1.3 tickets); TLS 1.2 and 1.3; a client sending garbage and one that
# stays silent do not stop the others, and the silent one is dropped after
# --header-timeout; the idle and header timeouts inside TLS (close_notify
# after a timed-out read, 408 over TLS); start-up failures (a missing certificate, an unreadable
# key, a key that does not match, one flag alone) exit at once with one
# line; urt-echo over TLS, 500 connections at once; exit 0 on SIGTERM.
# Skipped (77) when urt was built without TLS or openssl, curl or python3
# is missing.
# Usage: tls_e2e.sh URT-HTTPD URT-ECHO [URT-LOAD]
set -u
HTTPD=$1
ECHO=$2
LOAD=${3:-}
PY=$(dirname "$0")/tls_e2e.py
for t in openssl curl python3 timeout; do
	command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
done
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
trap '' PIPE
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# A build without TLS says so at start-up: nothing to test.
"$HTTPD" --port 0 --tls-cert "$work/none.pem" --tls-key "$work/none.key" >/dev/null 2>"$work/err"
if grep -q 'without TLS' "$work/err"; then
	echo "SKIP: urt was built without TLS: $(cat "$work/err")"
	exit 77
fi

# --- the throw-away CA and the server's certificate ---------------------
pki=$work/pki
mkdir "$pki"
gen() { openssl "$@" >>"$work/openssl.log" 2>&1 || fail "openssl $*: $(tail -3 "$work/openssl.log")"; }
gen req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$pki/ca.key" -out "$pki/ca.pem" -subj /CN=urt-test-CA \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
gen req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$pki/server.key" -out "$pki/server.csr" -subj /CN=localhost
printf '%s\n' 'subjectAltName=DNS:localhost,IP:127.0.0.1' 'basicConstraints=CA:FALSE' \
	'keyUsage=critical,digitalSignature' 'extendedKeyUsage=serverAuth' >"$pki/ext.cnf"
gen x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -days 2 \
	-set_serial "0x$(openssl rand -hex 8)" -extfile "$pki/ext.cnf" -out "$pki/server.pem"
# another key, which does not match the certificate
gen genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/other.key"
CA=$pki/ca.pem
TLS=(--tls-cert "$pki/server.pem" --tls-key "$pki/server.key")
ok "made a CA and a certificate for localhost and 127.0.0.1 (ECDSA P-256)"

# start NAME BINARY [OPTIONS...]: run a server on a free port; sets pid, port
start() {
	local name=$1 bin=$2
	shift 2
	rm -f "$work/out"
	"$bin" --port 0 "$@" >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 200); do grep -qs listening "$work/out" && break; sleep 0.05; done
	line=$(head -1 "$work/out")
	case "$line" in "$name: listening on 127.0.0.1:"*) ;;
	*) fail "$name $*: no address line: '$line' $(cat "$work/err")" ;; esac
	port=${line##*:}
}

# stop NAME: SIGTERM; the server must exit 0 within 5 s
stop() {
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && fail "$1 still running 5 s after SIGTERM"
	wait "$pid"; local rc=$?
	pid=
	[ "$rc" = 0 ] || fail "$1: exit status $rc after SIGTERM: $(cat "$work/err")"
	ok "$1 exits 0 on SIGTERM: $(tail -1 "$work/err")"
}

# sc ARGS...: openssl s_client to the server, verifying against the CA,
# nothing sent; its whole output
sc() {
	timeout 10 openssl s_client -connect "127.0.0.1:$port" -CAfile "$CA" "$@" </dev/null 2>&1
}

# --- urt-httpd ------------------------------------------------------------
root=$work/root
mkdir "$root"
printf 'hello file\n' >"$root/a.txt"
head -c $((5 * 1024 * 1024)) /dev/urandom >"$root/big.bin"
start urt-httpd "$HTTPD" "${TLS[@]}" --root "$root" --header-timeout 1 --idle-timeout 2
url="https://localhost:$port"

got=$(curl -sS --cacert "$CA" "$url/" 2>&1)
[ "$got" = "Hello, World!" ] || fail "curl --cacert $url/: expected 'Hello, World!', got '$got'"
ok "curl --cacert: GET / over HTTPS answers 'Hello, World!'"

# keep-alive: two URLs, one connection
curl -sS -v --http1.1 --cacert "$CA" "$url/" "$url/a.txt" >"$work/body" 2>"$work/v"
[ "$(cat "$work/body")" = "Hello, World!hello file" ] ||
	fail "keep-alive: expected 'Hello, World!hello file', got '$(cat "$work/body")'"
grep -qi 're-using existing connection' "$work/v" ||
	fail "keep-alive: curl did not reuse the connection: $(grep -i connect "$work/v")"
n=$(grep -c '^\* .*Connected to' "$work/v")
[ "$n" = 1 ] || fail "keep-alive: expected 1 TCP connection, curl made $n"
ok "keep-alive: two requests on one TLS connection (curl --http1.1, 'Re-using existing connection')"

# static files, byte for byte
[ "$(curl -sS --cacert "$CA" "$url/a.txt")" = "hello file" ] || fail "a.txt over HTTPS"
curl -sS --cacert "$CA" -o "$work/got.bin" "$url/big.bin" || fail "download big.bin"
cmp -s "$root/big.bin" "$work/got.bin" ||
	fail "5 MiB download differs: $(stat -c %s "$work/got.bin") bytes, $(cmp "$root/big.bin" "$work/got.bin")"
ok "static files: a.txt and a 5 MiB file byte-identical over HTTPS"
c=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" "$url/missing")
[ "$c" = 404 ] || fail "/missing: expected 404, got $c"
ok "a missing file is 404 over HTTPS"

# pipelining: several requests in one write, answered in order
timeout 20 python3 "$PY" pipeline "$port" "$CA" || fail "pipelining (above)"

# verification: without the CA curl refuses the certificate
curl -sS -o /dev/null "$url/" 2>"$work/cerr"; rc=$?
[ "$rc" = 60 ] || fail "curl without --cacert: expected exit 60, got $rc: $(cat "$work/cerr")"
ok "curl without --cacert fails verification (exit 60)"
sc -servername localhost -verify_hostname localhost >"$work/sc"
grep -q 'Verify return code: 0 (ok)' "$work/sc" ||
	fail "s_client -CAfile: expected 'Verify return code: 0 (ok)', got: $(grep -i verif "$work/sc")"
ok "openssl s_client -CAfile -servername localhost: Verify return code: 0 (ok)"

# resumption: TLS 1.2 session (s_client -reconnect: one full handshake, then
# five reconnections), TLS 1.3 ticket (Python)
sc -servername localhost -tls1_2 -reconnect >"$work/sc"
n=$(grep -c '^Reused' "$work/sc")
[ "$n" -ge 1 ] || fail "s_client -tls1_2 -reconnect: expected 'Reused' lines, got $n: $(grep -E '^(New|Reused)' "$work/sc")"
ok "openssl s_client -tls1_2 -reconnect: $n of 5 reconnections Reused"
timeout 20 python3 "$PY" resume "$port" "$CA" || fail "TLS 1.3 resumption (above)"

# both protocol versions
for v in 1.2 1.3; do
	if [ "$v" = 1.2 ]; then opt=(--tls-max 1.2); else opt=(--tlsv1.3); fi
	got=$(curl -sS -v --cacert "$CA" "${opt[@]}" "$url/" 2>"$work/v")
	[ "$got" = "Hello, World!" ] || fail "TLS $v: expected the greeting, got '$got': $(tail -3 "$work/v")"
	grep -q "SSL connection using TLSv$v" "$work/v" ||
		fail "TLS $v: expected 'SSL connection using TLSv$v', got: $(grep 'SSL connection' "$work/v")"
	ok "TLS $v: $(grep -o 'SSL connection using .*' "$work/v")"
done

# hostile clients: one sends garbage instead of a ClientHello (the server
# must close it), one stays silent (dropped after --header-timeout 1);
# others are served meanwhile
exec 5<>"/dev/tcp/127.0.0.1/$port" || fail "connect (garbage)"
exec 6<>"/dev/tcp/127.0.0.1/$port" || fail "connect (silent)"
t0=$(date +%s%N)
# (the server may close before the garbage is written: EPIPE is fine)
{ printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' >&5; head -c 2000 /dev/urandom >&5; } 2>/dev/null
timeout 5 cat <&5 >"$work/garbage.out"; rc=$?
[ "$rc" != 124 ] || fail "a client sending plaintext and garbage was not closed within 5 s"
exec 5<&-
ok "plaintext HTTP and garbage instead of a ClientHello: closed ($(stat -c %s "$work/garbage.out") bytes back)"
got=$(curl -sS --cacert "$CA" "$url/a.txt" 2>&1)
[ "$got" = "hello file" ] || fail "served while a client is silent: expected 'hello file', got '$got'"
ok "another client is served while the silent one waits"
timeout 5 cat <&6 >/dev/null; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
exec 6<&-
[ "$rc" != 124 ] || fail "a silent client was not dropped within 5 s (--header-timeout 1)"
[ "$ms" -ge 900 ] || fail "a silent client was dropped after $ms ms, before --header-timeout 1"
ok "a silent client is dropped after $ms ms (--header-timeout 1)"
# a client that stops mid-handshake: half a ClientHello
exec 6<>"/dev/tcp/127.0.0.1/$port" || fail "connect (half hello)"
t0=$(date +%s%N)
printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' >&6
timeout 5 cat <&6 >/dev/null; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
exec 6<&-
[ "$rc" != 124 ] || fail "a client that stops mid-handshake was not dropped within 5 s"
ok "a client that stops mid-ClientHello is dropped after $ms ms"
# the timeouts inside TLS: a read that times out leaves the connection
# usable for the 408 and close_notify
timeout 20 python3 "$PY" idle "$port" "$CA" 2 || fail "idle timeout over TLS (above)"
timeout 20 python3 "$PY" slowhead "$port" "$CA" 1 || fail "header timeout over TLS (above)"
[ "$(curl -sS --cacert "$CA" "$url/")" = "Hello, World!" ] || fail "served after the hostile clients"
ok "still serving after the hostile clients"
stop urt-httpd

# --threads 2: one context shared by both loops
start urt-httpd "$HTTPD" "${TLS[@]}" --threads 2
url="https://localhost:$port"
for i in 1 2 3 4 5 6; do
	[ "$(curl -sS --cacert "$CA" "$url/")" = "Hello, World!" ] || fail "--threads 2: request $i"
done
ok "--threads 2: six HTTPS connections served"
stop urt-httpd

# --tls-no-tickets: every handshake a full one (no TLS 1.2 session reused)
start urt-httpd "$HTTPD" "${TLS[@]}" --tls-no-tickets
sc -servername localhost -tls1_2 -reconnect >"$work/sc"
n=$(grep -c '^Reused' "$work/sc")
[ "$n" = 0 ] || fail "--tls-no-tickets: expected no 'Reused' line, got $n"
[ "$(grep -c '^New' "$work/sc")" -ge 5 ] || fail "--tls-no-tickets: expected 6 'New' lines: $(grep -E '^(New|Reused)' "$work/sc")"
ok "--tls-no-tickets: s_client -reconnect: 0 of 5 reconnections Reused"
stop urt-httpd

# --- start-up failures: at once, exit 1 (2 for a usage error), one line --
# bad_start WANT-STATUS WANT-REGEX ARGS...
bad_start() {
	local want=$1 text=$2 rc lines
	shift 2
	timeout 5 "$@" --port 0 >"$work/out" 2>"$work/err"; rc=$?
	lines=$(wc -l <"$work/err")
	[ "$rc" = "$want" ] && [ "$lines" = 1 ] && grep -qE -- "$text" "$work/err" ||
		fail "${*##*/}: expected exit $want and one line with '$text', got exit $rc and $lines lines: $(cat "$work/err")"
	grep -q listening "$work/out" && fail "${*##*/}: listened anyway"
	ok "start-up: $(cat "$work/err") (exit $rc)"
}
bad_start 1 "--tls-cert $pki/missing.pem:" "$HTTPD" --tls-cert "$pki/missing.pem" --tls-key "$pki/server.key"
bad_start 1 "--tls-key $pki/missing.key:" "$HTTPD" --tls-cert "$pki/server.pem" --tls-key "$pki/missing.key"
# (the certificate's or the key's fault: either option may be named)
bad_start 1 "--tls-(cert $pki/server.pem|key $pki/other.key): .*match" "$HTTPD" --tls-cert "$pki/server.pem" --tls-key "$pki/other.key"
bad_start 1 "--tls-cert $pki/ext.cnf:" "$HTTPD" --tls-cert "$pki/ext.cnf" --tls-key "$pki/server.key"
bad_start 2 "--tls-cert needs --tls-key" "$HTTPD" --tls-cert "$pki/server.pem"
bad_start 2 "--tls-key needs --tls-cert" "$HTTPD" --tls-key "$pki/server.key"
bad_start 1 "--tls-(cert $pki/server.pem|key $pki/other.key): .*match" "$ECHO" --tls-cert "$pki/server.pem" --tls-key "$pki/other.key"
bad_start 2 "--bufring cannot be used with --tls-cert" "$ECHO" "${TLS[@]}" --bufring
# an unreadable key: root reads anything, so run as nobody (the files in a
# directory nobody can enter, the key alone unreadable)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
	setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$HTTPD" 2>/dev/null; then
	pub=$(mktemp -d)
	chmod 755 "$pub"
	cp "$pki/server.pem" "$pki/server.key" "$pub/"
	chmod 644 "$pub/server.pem"
	chmod 600 "$pub/server.key"
	bad_start 1 "--tls-key $pub/server.key:" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$HTTPD" --tls-cert "$pub/server.pem" --tls-key "$pub/server.key"
	rm -rf "$pub"
elif [ "$(id -u)" != 0 ]; then
	chmod 000 "$pki/other.key"
	bad_start 1 "--tls-key $pki/other.key:" "$HTTPD" --tls-cert "$pki/server.pem" --tls-key "$pki/other.key"
	chmod 600 "$pki/other.key"
else
	echo "skip: an unreadable key (root, and no setpriv or nobody cannot run $HTTPD)"
fi

# --- urt-echo ---------------------------------------------------------------
start urt-echo "$ECHO" "${TLS[@]}"
got=$( (printf 'hello over tls\n'; sleep 1) |
	timeout 10 openssl s_client -quiet -no_ign_eof -connect "127.0.0.1:$port" -CAfile "$CA" \
		-servername localhost -verify_return_error 2>/dev/null)
[ "$got" = "hello over tls" ] || fail "urt-echo over TLS: expected 'hello over tls', got '$got'"
ok "urt-echo: openssl s_client -quiet sent a line and got it back"
timeout 120 python3 "$PY" echo "$port" "$CA" 500 || fail "500 TLS echo connections (above)"
# urt's own client: urt-load's echo mode over TLS, verifying with the CA,
# 1 MiB echoes (records across several reads), and one with the wrong CA
if [ -n "$LOAD" ]; then
	out=$(timeout 30 "$LOAD" --mode echo --port "$port" --tls --tls-ca "$CA" --tls-name localhost \
		--conns 8 --size 1M --duration 1 2>&1)
	n=$(sed -n 's/.* \([0-9.]*\) req\/s.*errors \([0-9]*\).*/\1 \2/p' <<<"$out")
	[ -n "$n" ] && [ "${n#* }" = 0 ] && [ "${n%% *}" != 0 ] && [ "${n%% *}" != 0.0 ] ||
		fail "urt-load --mode echo --tls: expected echoes and no errors, got: $out"
	ok "urt-load --mode echo --tls --size 1M: ${n%% *} req/s, no errors"
	rc=0
	out=$(timeout 30 "$LOAD" --mode echo --port "$port" --tls --tls-ca "$pki/other.key" --conns 1 --duration 0.3 2>&1) || rc=$?
	[ "$rc" != 0 ] && grep -q "other.key" <<<"$out" ||
		fail "urt-load --tls-ca KEYFILE: expected a start-up error naming the file, got (exit $rc): $out"
	ok "urt-load --tls-ca with a file that holds no certificate: exit $rc, '$(head -1 <<<"$out")'"
	out=$(timeout 30 "$LOAD" --mode echo --port "$port" --tls --tls-ca "$pki/server.pem" --tls-name localhost \
		--conns 1 --duration 0.3 2>&1) || true
	grep -q "errors [1-9]" <<<"$out" && grep -q "certificate verify failed" <<<"$out" ||
		fail "urt-load --tls-ca (the leaf, not its CA): expected verification errors, got: $out"
	ok "urt-load --tls verifying against the wrong CA: $(grep -o 'certificate verify failed[^;]*' <<<"$out" | head -1)"
fi
stop urt-echo
echo "PASS"
