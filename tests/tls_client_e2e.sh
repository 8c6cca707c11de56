#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A urt TLS client (tools/examples/https_get, urt_stream_start_tls) against
# OpenSSL's own server (openssl s_server -WWW), with a throw-away PKI from
# tests/tls_certs.sh:
#   - TLS 1.3 and TLS 1.2: the file comes back byte for byte;
#   - the name checked: "localhost" (DNS SAN) and 127.0.0.1 (IP SAN);
#   - the wrong CA, a hostname mismatch and an expired certificate: exit 1
#     with OpenSSL's reason on stderr.
# Usage: tls_client_e2e.sh HTTPS_GET TLS_CERTS_SH   (URT_BACKEND from the env)
set -u
get=$(realpath "$1") certs=$(realpath "$2")
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 77; }
dir=$(mktemp -d /tmp/urt-tlsc-XXXXXX)
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
sh "$certs" "$dir" || { echo "FAIL: tls_certs.sh"; exit 1; }
cd "$dir" || exit 1
head -c 300000 /dev/urandom | base64 >hello.txt
fails=0

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start s_server with extra args; sets $port and $srv
start() {
	[ -n "$srv" ] && { kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
	port=$(free_port)
	openssl s_server -accept "127.0.0.1:$port" -WWW -quiet "$@" </dev/null >s_server.log 2>&1 &
	srv=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "FAIL: s_server did not start: $(cat s_server.log)"
	exit 1
}

# ok NAME ARGS...: the fetch must succeed and the body equal hello.txt
ok() {
	local name=$1; shift
	if "$get" "$@" >out.txt 2>err.txt && sed '1,/^\r\?$/d' out.txt | cmp -s - hello.txt; then
		echo "ok   $name"
	else
		echo "FAIL $name: exit $?, stderr: $(cat err.txt), got $(wc -c <out.txt) bytes"
		fails=$((fails + 1))
	fi
}

# bad NAME WANT ARGS...: exit 1 and WANT in the one-line stderr
bad() {
	local name=$1 want=$2; shift 2
	"$get" "$@" >out.txt 2>err.txt
	local rc=$?
	if [ "$rc" = 1 ] && grep -q "$want" err.txt && [ "$(wc -l <err.txt)" = 1 ]; then
		echo "ok   $name ($(cat err.txt))"
	else
		echo "FAIL $name: exit $rc (want 1), stderr: $(cat err.txt) (want \"$want\")"
		fails=$((fails + 1))
	fi
}

start -cert chain.pem -key server.key
ok "TLS 1.3, name localhost" --ca ca.pem localhost "$port" /hello.txt
ok "TLS 1.3, IP address 127.0.0.1" --ca ca.pem 127.0.0.1 "$port" /hello.txt
bad "wrong CA" "unable to get local issuer certificate" --ca other.pem localhost "$port" /hello.txt
bad "hostname mismatch" "hostname mismatch" --ca ca.pem --name example.com 127.0.0.1 "$port" /hello.txt
ok "insecure skips verification" --insecure --name example.com 127.0.0.1 "$port" /hello.txt

start -cert server.pem -key server.key -tls1_2
ok "TLS 1.2 (server limited to it)" --ca ca.pem localhost "$port" /hello.txt

start -cert expired.pem -key expired.key
bad "expired certificate" "certificate has expired" --ca ca.pem localhost "$port" /hello.txt

[ "$fails" = 0 ] && echo "all passed" || echo "$fails failed"
[ "$fails" = 0 ]
