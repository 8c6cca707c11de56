#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end test of urt-httpd (run by meson test) with curl and raw
# requests over bash's /dev/tcp: the greeting, static files (a 1 MiB binary
# compared byte for byte), 404 (also for a file named with a trailing slash),
# 301 for a directory without one, escapes from the root (.., symlinks)
# refused, the error statuses (400, 405, 408, 413, 431, 501, 505),
# the regressions of issue 20 (named after each bug: Expect: 100-continue,
# redirects from the normalized path, HEAD errors without a body, early
# rejection of a head that never ends, Host validation) and issue 23 (a
# refused path, CONNECT and TRACE close the connection), pipelining,
# keep-alive, the idle, header and body timeouts (slow clients
# cannot starve --max-conns), --max-conns, the O_NOFOLLOW fallback for kernels without
# openat2, urt-load's HTTP mode, and exit 0 on SIGTERM.
# Usage: urt_httpd_e2e.sh URT-HTTPD [URT-LOAD]
set -u
HTTPD=$1
LOAD=${2:-}
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# A write to a connection the server has just closed (a timeout firing
# under load) must fail with EPIPE, not kill this script: the checks that
# follow judge the outcome.
trap '' PIPE
fail() { echo "FAIL: $*"; exit 1; }

# start [OPTIONS...]: run the server on a free port; sets pid, port, url
start() {
	# a fresh file: the previous server's ready line must not be read
	# before this one's shell has truncated it
	rm -f "$work/out"
	"$HTTPD" --port 0 "$@" >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 200); do grep -qs listening "$work/out" && break; sleep 0.05; done
	line=$(head -1 "$work/out")
	case "$line" in "urt-httpd: listening on 127.0.0.1:"*) ;; *) fail "no address line: '$line'" ;; esac
	port=${line##*:}
	url="http://127.0.0.1:$port"
}

# stop: SIGTERM; the server must exit 0 within 5 s
stop() {
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && fail "still running 5 s after SIGTERM"
	wait "$pid"; local rc=$?
	pid=
	[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM: $(cat "$work/err")"
}

# code URL [CURL ARGS...]: the status curl gets
code() { curl -s -o /dev/null -w '%{http_code}' --path-as-is "$@"; }

# raw_within SECS FORMAT: send printf FORMAT on a new connection, print
# what comes back until the server closes (SECS at most)
raw_within() {
	exec 5<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
	# shellcheck disable=SC2059
	printf "$2" >&5
	timeout "$1" cat <&5
	exec 5<&-
}

# raw FORMAT: raw_within 5 s
raw() { raw_within 5 "$1"; }

# oks FILE: how many 200 responses it holds (bodies have no final newline,
# so a status line need not start a line)
oks() { grep -o 'HTTP/1.1 200 OK' "$1" | wc -l; }

# status_of FORMAT: the status code of the first response to a raw request
status_of() { raw "$1" | head -1 | cut -d' ' -f2; }

root=$work/root
mkdir -p "$root/dir" "$root/noindex"
printf 'hello file\n' >"$root/a.txt"
head -c 1048576 /dev/urandom >"$root/big.bin"
printf '<p>index</p>\n' >"$root/dir/index.html"
printf 'secret\n' >"$work/outside.txt"
# the names of issue 20's curl run, and directories whose names need escapes
mkdir -p "$root/sub" "$root/sp ace" "$root/\\evil"
printf 'hello\n' >"$root/hello.txt"
printf 'page\n' >"$root/sub/page.txt"
ln -s /etc/passwd "$root/passwd"
ln -s ../outside.txt "$root/outside"
ln -s a.txt "$root/link.txt"

start --root "$root"

# the greeting
[ "$(curl -s "$url/")" = "Hello, World!" ] || fail "GET / body"
curl -s -D "$work/h" -o /dev/null "$url/"
grep -q '^HTTP/1.1 200' "$work/h" || fail "GET / status: $(cat "$work/h")"
grep -qi '^Content-Length: 13' "$work/h" || fail "GET / Content-Length"
grep -qi '^Date: ' "$work/h" || fail "no Date header"
grep -qi '^Server: urt-httpd' "$work/h" || fail "no Server header"
# HEAD: the GET's Content-Length, no body (the next response follows at once)
raw 'HEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$work/r"
grep -qi '^Content-Length: 13' "$work/r" || fail "HEAD Content-Length: $(cat "$work/r")"
grep -q 'Hello' "$work/r" && fail "HEAD has a body: $(cat "$work/r")"
[ "$(oks "$work/r")" = 2 ] || fail "HEAD then GET: $(cat "$work/r")"

# static files
curl -s -o "$work/got.bin" "$url/big.bin" || fail "download big.bin"
cmp -s "$root/big.bin" "$work/got.bin" || fail "1 MiB download differs"
[ "$(curl -s "$url/a.txt")" = "hello file" ] || fail "a.txt body"
[ "$(curl -s -o /dev/null -w '%{content_type}' "$url/a.txt")" = "text/plain; charset=utf-8" ] ||
	fail "a.txt content type"
[ "$(curl -s "$url/dir/")" = "<p>index</p>" ] || fail "directory index"
# a directory named without its slash is redirected there (so that the
# relative links in its index resolve inside it), its query kept; a file
# named with a trailing slash is not a directory: 404
curl -s -D "$work/h" -o /dev/null "$url/dir"
grep -q '^HTTP/1.1 301' "$work/h" || fail "/dir is not 301: $(cat "$work/h")"
grep -qi $'^Location: /dir/\r$' "$work/h" || fail "/dir: Location: $(cat "$work/h")"
curl -s -D "$work/h" -o /dev/null "$url/dir?a=1&b=%20"
grep -qi $'^Location: /dir/?a=1&b=%20\r$' "$work/h" || fail "/dir?query: Location: $(cat "$work/h")"
curl -s -D "$work/h" -o /dev/null "$url/noindex"
grep -qi $'^Location: /noindex/\r$' "$work/h" || fail "/noindex: Location: $(cat "$work/h")"
curl -s -I -D "$work/h" -o /dev/null "$url/dir"
grep -q '^HTTP/1.1 301' "$work/h" || fail "HEAD /dir is not 301: $(cat "$work/h")"
[ "$(curl -s -L "$url/dir")" = "<p>index</p>" ] || fail "following the redirect from /dir"
[ "$(curl -s "$url/dir/.")" = "<p>index</p>" ] || fail "/dir/. is the directory"
for p in /a.txt/ /a.txt/. /a.txt// /dir/index.html/ /link.txt/ /big.bin%2f; do
	c=$(code "$url$p")
	[ "$c" = 404 ] || fail "$p gave $c, not 404"
done
raw 'GET /a.txt/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$work/r"
grep -q 'hello file' "$work/r" && fail "/a.txt/ served the file"
[ "$(curl -s "$url/link.txt")" = "hello file" ] || fail "a symlink inside the root"
[ "$(curl -s "$url//a.txt?query=1")" = "hello file" ] || fail "// and a query"
[ "$(curl -s "$url/%61.txt")" = "hello file" ] || fail "percent-decoding"

# not found, and no way out of the root
[ "$(code "$url/missing")" = 404 ] || fail "missing file is not 404"
[ "$(code "$url/noindex/")" = 404 ] || fail "directory without index.html is not 404"
for p in /../etc/passwd /%2e%2e/%2e%2e/etc/passwd /dir/../../outside.txt /passwd /outside; do
	c=$(code "$url$p")
	[ "$c" = 403 ] || [ "$c" = 404 ] || fail "$p gave $c"
done
raw 'GET /../../../../etc/passwd HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$work/r"
grep -q root: "$work/r" && fail "/etc/passwd served"

# errors
[ "$(status_of 'GARBAGE\x01\r\n\r\n')" = 400 ] || fail "garbage is not 400"
[ "$(status_of '\x16\x03\x01\x00\xa5\x01\x00\x00')" = 400 ] || fail "a TLS hello is not 400"
raw 'GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n' | grep -qi '^Connection: close' ||
	fail "400 without Connection: close"
[ "$(code "$url/" -X POST -d x)" = 405 ] || fail "POST is not 405"
[ "$(code "$url/" -X BREW)" = 501 ] || fail "an unknown method is not 501"
[ "$(status_of 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n')" = 413 ] ||
	fail "a 2 MB body is not 413"
# Content-Length read strictly: twice is 400 even with the same value
[ "$(status_of 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n')" = 400 ] ||
	fail "two identical Content-Lengths are not 400"
[ "$(status_of 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc')" = 400 ] ||
	fail "two identical Content-Lengths (3) are not 400"
[ "$(status_of 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n')" = 501 ] ||
	fail "chunked is not 501"
[ "$(status_of 'GET / HTTP/2.0\r\nHost: a\r\n\r\n')" = 505 ] || fail "HTTP/2.0 is not 505"
big=$(head -c 65536 /dev/zero | tr '\0' x)
[ "$(code "$url/" -H "X-Big: $big")" = 431 ] || fail "a 64 KiB header is not 431"

# issue 20.21, expect_100_continue_loses_request_boundary: a body
# announced with Expect: 100-continue gets "100 Continue" before the
# server waits for it. Without, the GET was answered at once, curl sent no
# body, reused the connection, and its next request was dropped as the
# body (200 400; nginx 200 200).
c=$(curl -s -o /dev/null -o /dev/null -w '%{http_code} ' -X GET -H 'Expect: 100-continue' -d hello \
	"$url/hello.txt" "$url/sub/page.txt")
[ "$c" = "200 200 " ] || fail "expect_100_continue_loses_request_boundary: curl gave '$c', not '200 200 '"
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'GET /hello.txt HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n' >&3
IFS= read -r -t 3 line <&3
[ "$line" = $'HTTP/1.1 100 Continue\r' ] ||
	fail "expect_100_continue_loses_request_boundary: first line '$line', not 100 Continue"
printf 'helloGET /a.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3 >"$work/r"
exec 3<&-
[ "$(oks "$work/r")" = 2 ] && grep -q '^hello file' "$work/r" ||
	fail "expect_100_continue_loses_request_boundary: the pipelined request after the body: $(cat "$work/r")"
# a 1.0 request's expectation is ignored (RFC 9110 10.1.1), and so are
# expectations other than 100-continue (as by nginx; 417 is allowed, not
# required)
raw 'GET /a.txt HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello' >"$work/r"
grep -q ' 100 Continue' "$work/r" && fail "expect_100_continue_loses_request_boundary: 100 Continue to 1.0"
[ "$(oks "$work/r")" = 1 ] || fail "expect_100_continue_loses_request_boundary: 1.0: $(cat "$work/r")"
[ "$(status_of 'GET /a.txt HTTP/1.1\r\nHost: a\r\nExpect: tea\r\nConnection: close\r\n\r\n')" = 200 ] ||
	fail "expect_100_continue_loses_request_boundary: an unknown expectation is not ignored"
# a request answered without reading its body (405) gets no 100 and
# closes: the client need not send the body
raw 'POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n' >"$work/r"
grep -q '^HTTP/1.1 405 ' "$work/r" && grep -qi '^Connection: close' "$work/r" &&
	! grep -q ' 100 Continue' "$work/r" ||
	fail "expect_100_continue_loses_request_boundary: POST with Expect: $(cat "$work/r")"

# issue 20.22, redirect_double_slash_open_redirect: the Location of a
# directory's 301 was built from the raw target, so "GET //sub" sent a
# browser to the host "sub" (and "http://evil/sub" to evil). It is built
# from the normalized path, escaped, and never starts with "//".
# (printf formats: %% is one %)
for t in '//sub' '//sub?x=1' '/./sub' 'http://evil.example/sub' '///sub' '/%%2fsub' '/sp%%20ace' '/\\evil'; do
	raw "GET $t HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" >"$work/r"
	grep -q '^HTTP/1.1 301 ' "$work/r" || fail "redirect_double_slash_open_redirect: $t: $(cat "$work/r")"
	loc=$(grep -i '^Location: ' "$work/r" | tr -d '\r')
	loc=${loc#*: }
	case "$loc" in
	//* | *://*) fail "redirect_double_slash_open_redirect: $t: Location '$loc'" ;;
	/sub/ | /sub/\?x=1 | /sp%20ace/ | /%5Cevil/) ;;
	*) fail "redirect_double_slash_open_redirect: $t: Location '$loc'" ;;
	esac
done
[ "$(curl -s -L "$url//sub/page.txt")" = page ] || fail "redirect_double_slash_open_redirect: //sub/page.txt"

# issue 20.23, head_error_answer_has_body: error answers to HEAD carried
# their body (RFC 9110 9.3.2 forbids any). Content-Length stays the GET's,
# as nginx's does. The body would be a line "STATUS Reason".
for req in 'HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n' \
	'HEAD / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n' \
	'HEAD / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' \
	'HEAD / HTTP/2.0\r\nHost: a\r\n\r\n' \
	'HEAD / HTTP/1.1\r\n\r\n' \
	'HEAD /missing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' \
	"HEAD / HTTP/1.1\r\nHost: a\r\nX-Big: $big\r\n\r\n"; do
	raw "$req" >"$work/r"
	grep -q '^HTTP/1.1 [45]' "$work/r" || fail "head_error_answer_has_body: no error: $(head -1 "$work/r")"
	grep -q '^[0-9][0-9][0-9] ' "$work/r" && fail "head_error_answer_has_body: $(head -1 "$work/r") has a body"
	grep -qi '^Content-Length: [1-9]' "$work/r" || fail "head_error_answer_has_body: no Content-Length"
done

# issue 20.24, bad_framing_judged_only_at_head_end: a line that makes the
# request invalid is answered at once, the rest of the head never comes
# (it got 408 after --header-timeout, 10 s; nginx answers at once). 3 s
# to read the answer is far inside those 10 s.
for case in '400 GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n' \
	'400 GET / HTTP/1.1\r\nContent-Length: x\r\n' \
	'400 POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n' \
	'400 GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n' \
	'400 GET / HTTP/1.1\r\nHost: a b\r\n' \
	'400 GET http://u:p@a/ HTTP/1.1' \
	'505 GET / HTTP/5.6' \
	'505 GET / HTTP/2'; do
	got=$(raw_within 3 "${case#* }" | head -1 | cut -d' ' -f2)
	[ "$got" = "${case%% *}" ] ||
		fail "bad_framing_judged_only_at_head_end: '${case#* }' gave '$got' within 3 s, not ${case%% *}"
done

# issue 20.25, host_not_validated: Host must be uri-host [":" port]
# (RFC 9112 3.2, RFC 3986), and so must an absolute-form target's
# authority, without userinfo and not empty; one Host, required in 1.1
for req in 'GET / HTTP/1.1\r\nHost: a b\r\n' 'GET / HTTP/1.1\r\nHost: a/../b\r\n' \
	'GET / HTTP/1.1\r\nHost: a@b\r\n' 'GET / HTTP/1.1\r\nHost: a:b\r\n' \
	'GET http:///a.txt HTTP/1.1\r\nHost: a\r\n' 'GET http://user:pw@a/a.txt HTTP/1.1\r\nHost: a\r\n' \
	'GET / HTTP/1.1\r\n' 'GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n' 'GET / HTTP/1.0\r\nHost: a/b\r\n' \
	'GET /a.txt HTTP/1.1\r\nHost:\r\n' 'GET /a.txt HTTP/1.1\r\nHost: a..b\r\n'; do
	c=$(status_of "${req}Connection: close\r\n\r\n")
	[ "$c" = 400 ] || fail "host_not_validated: '$req' gave $c, not 400"
done
for req in 'GET /a.txt HTTP/1.1\r\nHost: [::1]:8080\r\n' 'GET /a.txt HTTP/1.1\r\nHost: 127.0.0.1:80\r\n' \
	'GET /a.txt HTTP/1.1\r\nHost: example.com\r\n' 'GET /a.txt HTTP/1.1\r\nHost: a.b.\r\n' \
	'GET http://example.com:80/a.txt HTTP/1.1\r\nHost: other\r\n' 'GET /a.txt HTTP/1.0\r\n'; do
	raw "${req}Connection: close\r\n\r\n" >"$work/r"
	grep -q '^hello file' "$work/r" || fail "host_not_validated: '$req' refused: $(head -1 "$work/r")"
done

# issue 23, path_error_kept_alive: a target refused as no path (a bad
# escape, a NUL) or for a ".." segment was answered with the connection
# kept, and the request after it served; nginx closes there. So do CONNECT
# (tunnel bytes may follow it at once) and TRACE. One answer, then close.
for req in 'GET /%%zz HTTP/1.1\r\nHost: a\r\n\r\n' 'GET /a%%00b HTTP/1.1\r\nHost: a\r\n\r\n' \
	'GET /dir/../a.txt HTTP/1.1\r\nHost: a\r\n\r\n' 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n' \
	'TRACE /a.txt HTTP/1.1\r\nHost: a\r\n\r\n'; do
	raw "${req}GET /a.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" >"$work/r"
	n=$(grep -c '^HTTP/1.1 ' "$work/r")
	[ "$n" = 1 ] || fail "path_error_kept_alive: '$req' gave $n answers: $(grep '^HTTP/1.1 ' "$work/r")"
	grep -qi '^Connection: close' "$work/r" || fail "path_error_kept_alive: '$req' without Connection: close"
done

# pipelining: two requests in one write, two responses (the second closes);
# a GET body is skipped, not parsed as a request
raw 'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$work/r"
[ "$(oks "$work/r")" = 2 ] || fail "pipelined: $(cat "$work/r")"
grep -q '^hello file' "$work/r" || fail "pipelined: second body missing"
raw 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$work/r"
[ "$(oks "$work/r")" = 2 ] || fail "GET with a body: $(cat "$work/r")"
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhel' >&3
sleep 0.1 # the rest of the body comes in a later read
printf 'lo worldGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3 >"$work/r"
exec 3<&-
[ "$(oks "$work/r")" = 2 ] || fail "GET with a body in two reads: $(cat "$work/r")"

# a request that trickles in byte by byte
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
req=$'GET /a.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
for ((i = 0; i < ${#req}; i++)); do printf '%s' "${req:i:1}" >&3; sleep 0.005; done
timeout 5 cat <&3 >"$work/r"
exec 3<&-
grep -q '^hello file' "$work/r" || fail "a request sent byte by byte: $(cat "$work/r")"

# keep-alive: curl fetches two URLs over one connection; 1.0 closes
n=$(($(curl -s -o /dev/null -o /dev/null -w '%{num_connects}+' "$url/" "$url/a.txt") 0))
[ "$n" = 1 ] || fail "two requests took $n connections"
curl -s -0 -D "$work/h" -o /dev/null "$url/"
grep -qi '^Connection: close' "$work/h" || fail "HTTP/1.0 response does not close"
raw 'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n' >"$work/r"
[ "$(grep -ci '^Connection: keep-alive' "$work/r")" = 1 ] || fail "1.0 keep-alive: $(cat "$work/r")"
[ "$(oks "$work/r")" = 2 ] || fail "1.0 keep-alive: two responses"

# urt-load's HTTP mode against it: requests done, no errors; then a 1 MiB
# body per response, which crosses many reads
if [ -n "$LOAD" ]; then
	"$LOAD" --mode http --port "$port" --conns 10 --pipeline 4 --duration 1 >"$work/load" 2>&1 ||
		fail "urt-load failed: $(cat "$work/load")"
	grep -q "errors 0$" "$work/load" || fail "urt-load saw errors: $(cat "$work/load")"
	grep -qE " [1-9][0-9]* req/s" "$work/load" || fail "urt-load did no requests: $(cat "$work/load")"
	"$LOAD" --mode http --port "$port" --conns 2 --pipeline 2 --duration 0.3 --path /big.bin \
		>"$work/load2" 2>&1 || fail "urt-load big.bin failed: $(cat "$work/load2")"
	grep -q "errors 0$" "$work/load2" || fail "urt-load big.bin saw errors: $(cat "$work/load2")"
	"$LOAD" --mode http --port "$port" --conns 1 --duration 0.2 --path /missing >"$work/load3" 2>&1
	grep -q "errors 0$" "$work/load3" && fail "urt-load did not count 404s: $(cat "$work/load3")"
fi

# SIGTERM with clients connected (one idle, one mid-request)
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
exec 4<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'GET / HTTP/1.1\r\nHo' >&4
stop
exec 3<&- 4<&-

# the idle timeout closes a silent connection, one that stops mid-request,
# and one that stops reading a response (64 MiB: more than socket buffers hold)
truncate -s 64M "$root/huge.bin"
start --idle-timeout 1 --root "$root"
for what in '' 'GET / HTTP/1.1\r\n'; do
	exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
	# shellcheck disable=SC2059
	printf "$what" >&3
	t0=$(date +%s%N)
	timeout 5 cat <&3 >/dev/null; rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	exec 3<&-
	[ "$rc" = 0 ] || fail "idle connection ('$what') not closed within 5 s"
	[ "$ms" -ge 800 ] || fail "idle connection ('$what') closed after only $ms ms"
done
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'GET /huge.bin HTTP/1.1\r\nHost: a\r\n\r\n' >&3
sleep 2.5
n=$(timeout 10 cat <&3 | wc -c)
exec 3<&-
[ "$n" -gt 0 ] && [ "$n" -lt 67108864 ] || fail "a client that stopped reading got $n bytes"
[ "$(curl -s "$url/")" = "Hello, World!" ] || fail "GET / after idle timeouts"
stop

# trickle FD FORMAT SECS: in the background, write FORMAT's bytes (printf
# escapes) to FD one at a time, SECS apart, until done or the server
# closes; sets tpid
trickle() {
	# shellcheck disable=SC2059
	local req
	req=$(printf "$2"; echo .) # the dot keeps a final newline
	req=${req%.}
	( for ((i = 0; i < ${#req}; i++)); do
		printf '%s' "${req:i:1}" >&"$1" || exit 0
		sleep "$3"
	done ) 2>/dev/null &
	tpid=$!
}

# the head and body timeouts bound the whole head and body, however the
# bytes trickle in (the idle timeout is re-armed by every byte): a head
# sent a byte every 0.5 s (13 s in all) is cut off by --header-timeout 1
# with a 408 or a close; a body sent a byte every 0.3 s by --body-timeout 1
start --header-timeout 1 --body-timeout 1 --idle-timeout 5 --root "$root"
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
trickle 3 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' 0.5
timeout 10 cat <&3 >"$work/r"; rc=$?
kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
exec 3<&-
[ "$rc" != 124 ] || fail "a head trickled in over 13 s still open after 10 s (--header-timeout 1)"
grep -q 'HTTP/1.1 200' "$work/r" && fail "a head trickled in past --header-timeout was answered: $(cat "$work/r")"
[ ! -s "$work/r" ] || grep -q '^HTTP/1.1 408 ' "$work/r" || fail "trickled head: not 408: $(cat "$work/r")"
# head_error_answer_has_body (issue 20.23): a HEAD's 408 has none either
raw 'HEAD / HTTP/1.1\r\nHo' >"$work/r"
grep -q '^HTTP/1.1 408 ' "$work/r" || fail "head_error_answer_has_body: HEAD's head cut off: $(cat "$work/r")"
grep -q '^408 ' "$work/r" && fail "head_error_answer_has_body: HEAD's 408 has a body"
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n' >&3
trickle 3 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' 0.3
timeout 10 cat <&3 >"$work/r"; rc=$?
kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
exec 3<&-
[ "$rc" != 124 ] || fail "a body trickled in over 30 s still open after 10 s (--body-timeout 1)"
grep -q '^HTTP/1.1 405 ' "$work/r" || fail "trickled body: no 405 for the POST: $(cat "$work/r")"
# keep-alive idleness is not a slow head: 2 s of silence between two
# requests on one connection is within --idle-timeout 5
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' >&3
sleep 2
printf 'GET /a.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3 >"$work/r"
exec 3<&-
[ "$(oks "$work/r")" = 2 ] || fail "keep-alive past --header-timeout: $(cat "$work/r")"
# the same when the first head came in two pieces (its clock ran): once it
# is answered the clock stops (a stale one cut off the next request; seen
# in CI under load)
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'GET / HTTP/1.1\r\nHo' >&3
sleep 0.3
printf 'st: a\r\n\r\n' >&3
sleep 2
printf 'GET /a.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >&3
timeout 5 cat <&3 >"$work/r"
exec 3<&-
[ "$(oks "$work/r")" = 2 ] || fail "keep-alive after a head in two pieces: $(cat "$work/r")"
stop

# slow clients cannot starve the server: with --max-conns 2, two clients
# sending a byte every 1.5 s hold both slots (503 for anyone else) only
# until --header-timeout (2 s); then a normal client gets 200
start --max-conns 2 --header-timeout 2
exec 6<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
trickle 6 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' 1.5
t6=$tpid
exec 7<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
trickle 7 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' 1.5
t7=$tpid
sleep 0.3
c=$(code "$url/")
[ "$c" = 503 ] || fail "two slow clients with --max-conns 2: a third got $c, not 503"
for _ in $(seq 80); do [ "$(code "$url/")" = 200 ] && break; sleep 0.1; done
[ "$(code "$url/")" = 200 ] || fail "slow clients still hold --max-conns 2 slots 8 s after --header-timeout 2"
kill "$t6" "$t7" 2>/dev/null; wait "$t6" "$t7" 2>/dev/null
exec 6<&- 7<&-
stop

# a timeout too small for a nanosecond is still a limit, not "none" (0)
start --idle-timeout 1e-12
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
timeout 5 cat <&3 >/dev/null; rc=$?
exec 3<&-
[ "$rc" != 124 ] || fail "--idle-timeout 1e-12 was taken as no timeout"
stop

# --max-conns: the connection beyond the limit gets 503
start --max-conns 1
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' >&3
read -r -t 5 status <&3 || fail "no response on the first connection"
[ "$(code "$url/")" = 503 ] || fail "a connection over --max-conns is not 503"
exec 3<&-
for _ in $(seq 50); do [ "$(code "$url/")" = 200 ] && break; sleep 0.05; done
[ "$(code "$url/")" = 200 ] || fail "no 200 once the first connection closed"
stop

# kernels without openat2: the O_NOFOLLOW walk refuses every symlink
URT_HTTPD_NO_OPENAT2=1 start --root "$root"
curl -s -o "$work/got.bin" "$url/big.bin" || fail "fallback: download big.bin"
cmp -s "$root/big.bin" "$work/got.bin" || fail "fallback: 1 MiB download differs"
[ "$(curl -s "$url/dir/")" = "<p>index</p>" ] || fail "fallback: directory index"
[ "$(code "$url/dir")" = 301 ] || fail "fallback: /dir is not 301"
[ "$(code "$url/a.txt/")" = 404 ] || fail "fallback: /a.txt/ is not 404"
for p in /passwd /outside /link.txt /../etc/passwd; do
	c=$(code "$url$p")
	[ "$c" = 403 ] || [ "$c" = 404 ] || fail "fallback: $p gave $c"
done
stop

# without --root only / is served
start
[ "$(curl -s "$url/")" = "Hello, World!" ] || fail "no root: GET /"
[ "$(code "$url/a.txt")" = 404 ] || fail "no root: /a.txt is not 404"
stop

# bad usage
"$HTTPD" --port 70000 >/dev/null 2>&1; [ $? = 2 ] || fail "--port 70000 accepted"
"$HTTPD" --idle-timeout -1 >/dev/null 2>&1; [ $? = 2 ] || fail "--idle-timeout -1 accepted"
"$HTTPD" --root "$work/nope" --port 0 >/dev/null 2>"$work/err2" && fail "a missing root accepted"
grep -q "cannot open root" "$work/err2" || fail "no message for a missing root"
"$HTTPD" --host not-an-ip --port 0 >/dev/null 2>"$work/err2" && fail "bad host accepted"
grep -q "cannot listen" "$work/err2" || fail "no message for a bad host"
"$HTTPD" --version | grep -q '^urt-httpd' || fail "--version"
"$HTTPD" --help | grep -q '^Usage' || fail "--help"
echo "ok urt-httpd"
