#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end test of --threads (run by meson test, on each backend):
# urt-echo and urt-httpd with two loops share one port (SO_REUSEPORT; the
# port printed for --port 0 is the one both bind), both loops serve
# connections (the per-thread counts printed at exit), urt-load --threads 2
# against them reports sane merged totals, and SIGTERM drains every loop:
# new connections are refused while open ones keep being served, no echo
# byte is lost, the exit status is 0 and the summed byte count is exact.
# Also: a fixed port already taken is refused, --threads 0 is one loop per
# usable CPU, --pin pins each loop's thread, urt-load starts no loop
# without connections.
# Usage: threads_e2e.sh URT-ECHO URT-LOAD URT-HTTPD
set -u
ECHO=$1
LOAD=$2
HTTPD=$3
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

# start NAME TOOL ARGS...: run a server on a free port; sets pid and port
start() {
	local name=$1
	shift
	rm -f "$work/out"
	"$@" --port 0 >"$work/out" 2>"$work/err" &
	pid=$!
	for _ in $(seq 200); do grep -qs listening "$work/out" && break; sleep 0.05; done
	local line
	line=$(head -1 "$work/out")
	case "$line" in "$name: listening on 127.0.0.1:"*) ;; *) fail "$name: no address line: '$line' $(cat "$work/err")" ;; esac
	port=${line##*:}
}

# stop_wait SECS: the server (already sent SIGTERM) must exit 0 within SECS
stop_wait() {
	local i
	for ((i = 0; i < $1 * 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && fail "still running $1 s after SIGTERM"
	wait "$pid"; local rc=$?
	pid=
	[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM: $(cat "$work/err")"
}

# per_thread: the per-thread connection counts of the exit line, one a line
per_thread() { sed -n 's/.*(threads: \([0-9+]*\) connections).*/\1/p' "$work/err" | tr + '\n'; }

# each_served N: the exit line names N threads, each with a connection
each_served() {
	local counts
	counts=$(per_thread)
	[ "$(grep -c . <<<"$counts")" = "$1" ] || fail "not $1 per-thread counts: $(cat "$work/err")"
	grep -qx 0 <<<"$counts" && fail "a thread served no connection: $(cat "$work/err")"
	return 0
}

# load ARGS...: urt-load against the server: exit 0, no errors, requests
load() {
	timeout 20 "$LOAD" --port "$port" "$@" >"$work/load" 2>&1 || fail "urt-load $*: $(cat "$work/load")"
	grep -q "errors 0$" "$work/load" || fail "urt-load $* saw errors: $(cat "$work/load")"
	grep -qE " [1-9][0-9]* req/s" "$work/load" || fail "urt-load $* did no requests: $(cat "$work/load")"
	echo "urt-load $*: $(cat "$work/load")"
}

# --- urt-echo --threads 2 with urt-load --threads 2 -------------------------------
start urt-echo "$ECHO" --threads 2
load --threads 2 --conns 20 --duration 0.5
grep -q "conns=20 threads=2 size=64 " "$work/load" || fail "urt-load --threads 2 line: $(cat "$work/load")"
load --threads 2 --conns 4 --duration 0.3 --size 100K --pipeline 4
# more threads than connections: one loop per connection, no empty ones
load --threads 8 --conns 3 --duration 0.2
grep -q "conns=3 threads=3 " "$work/load" || fail "urt-load --threads 8 --conns 3: $(cat "$work/load")"
load --threads 5 --conns 1 --duration 0.2
grep -q "conns=1 size=" "$work/load" || fail "urt-load --threads 5 --conns 1: $(cat "$work/load")"
# a second server on a port that is taken must fail, not share it
"$ECHO" --threads 2 --port "$port" >"$work/out2" 2>"$work/err2" </dev/null & p2=$!
for _ in $(seq 100); do kill -0 "$p2" 2>/dev/null || break; sleep 0.05; done
kill -0 "$p2" 2>/dev/null && { kill -9 "$p2"; fail "a second urt-echo --threads 2 shares port $port"; }
wait "$p2"; rc=$?
[ "$rc" = 1 ] && grep -q "cannot listen.*in use" "$work/err2" ||
	fail "a second server on a taken port: status $rc: $(cat "$work/err2")"
kill -TERM "$pid"
stop_wait 5
each_served 2
echo "ok urt-echo --threads 2 + urt-load --threads 2 ($(tail -1 "$work/err"))"

# --- the drain, on every loop -------------------------------------------------------
# 16 connections, each answered once (so each is accepted, spread over both
# loops), then SIGTERM: new connections must soon be refused (every loop
# stopped accepting) while the 16 keep echoing (256 KiB each, checked byte
# for byte); once they close the server exits 0 long before --drain 30,
# and its byte count is exactly what was sent.
start urt-echo "$ECHO" --threads 2 --drain 30
python3 - "$port" "$pid" >"$work/py" 2>&1 <<'PY' || fail "drain client: $(cat "$work/py")"
import os, selectors, signal, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
conns, total = [], 0
for i in range(16):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    msg = b"hello %d\n" % i
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        got += s.recv(100)
    assert got == msg, got
    total += len(msg)
    conns.append(s)
os.kill(pid, signal.SIGTERM)
deadline = time.time() + 5
while True:  # until every listener is closed
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        break
    except ConnectionResetError:
        pass  # a listener closing as the probe came (the other may still listen)
    if time.time() > deadline:
        sys.exit("still accepting new connections 5 s after SIGTERM")
    time.sleep(0.02)
data = os.urandom(256 * 1024)
sel = selectors.DefaultSelector()
state = {}
for s in conns:
    s.setblocking(False)
    state[s] = [0, bytearray()]  # bytes sent, bytes echoed
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
deadline = time.time() + 20
while state:
    if time.time() > deadline:
        sys.exit("echoes incomplete after 20 s")
    for key, ev in sel.select(1):
        s = key.fileobj
        st = state[s]
        if ev & selectors.EVENT_WRITE and st[0] < len(data):
            st[0] += s.send(data[st[0]:st[0] + 65536])
            if st[0] == len(data):
                sel.modify(s, selectors.EVENT_READ)
        if ev & selectors.EVENT_READ:
            chunk = s.recv(65536)
            if not chunk:
                sys.exit("the server closed a connection during the drain")
            st[1] += chunk
            if len(st[1]) == len(data):
                assert bytes(st[1]) == data, "echo differs"
                total += len(data)
                sel.unregister(s)
                s.close()
                del state[s]
print(total)
PY
sent=$(tail -1 "$work/py")
stop_wait 10
each_served 2
grep -q "echoed $sent bytes" "$work/err" || fail "the server's byte count is not the $sent sent: $(cat "$work/err")"
echo "ok urt-echo drain: $sent bytes echoed during the drain, none lost ($(tail -1 "$work/err"))"

# --- drain_resets_queued_connections ------------------------------------------------------
# Connections the kernel accepted before the stop are served, not reset.
# The server is frozen (SIGSTOP) and sent SIGTERM; then 12 clients connect
# and send a line (the handshakes complete in the kernel, the connections
# wait in the listen backlog), and SIGCONT. With one accept per connection
# (--single-accept) the stop is seen while most still wait in the backlog,
# and closing a listener resets what its backlog holds (as freeing an
# acceptor closed what it had queued): every client must get its line back.
for threads in 1 2; do
	start urt-echo "$ECHO" --threads $threads --single-accept --drain 10
	kill -STOP "$pid"
	kill -TERM "$pid"
	python3 - "$port" "$pid" >"$work/py" 2>&1 <<'PY' || fail "drain_resets_queued_connections (--threads $threads): $(cat "$work/py")"
import os, signal, socket, sys
port, pid = int(sys.argv[1]), int(sys.argv[2])
conns = []
for i in range(12):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"queued %d\n" % i)
    conns.append(s)
os.kill(pid, signal.SIGCONT)
for i, s in enumerate(conns):
    want, got = b"queued %d\n" % i, b""
    try:
        while len(got) < len(want):
            chunk = s.recv(100)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        sys.exit("connection %d was reset at the stop" % i)
    if got != want:
        sys.exit("connection %d got %r" % (i, got))
    s.close()
PY
	stop_wait 10
done
echo "ok drain_resets_queued_connections: connections queued at the stop were served"

# --- urt-httpd --threads 2 -----------------------------------------------------------------
start urt-httpd "$HTTPD" --threads 2 --drain 10
[ "$(curl -s "http://127.0.0.1:$port/")" = "Hello, World!" ] || fail "urt-httpd --threads 2: GET /"
load --mode http --threads 2 --conns 20 --pipeline 4 --duration 0.5
grep -q "conns=20 threads=2 pipeline=4 " "$work/load" || fail "urt-load http line: $(cat "$work/load")"
reqs=$(awk '{ for (i = 1; i <= NF; i++) if ($i == "req/s,") print $(i - 1) }' "$work/load")
# a request cut in two by SIGTERM is still answered (the drain), and the
# server ends when that connection closes
exec 4<>"/dev/tcp/127.0.0.1/$port" || fail "connect"
printf 'GET / HTTP/1.1\r\nHo' >&4
sleep 0.2 # accepted before the stop
kill -TERM "$pid"
sleep 0.3
printf 'st: a\r\nConnection: close\r\n\r\n' >&4
timeout 5 cat <&4 >"$work/r"
exec 4<&-
grep -q '^HTTP/1.1 200' "$work/r" || fail "urt-httpd: a request across SIGTERM not answered: $(cat "$work/r")"
stop_wait 5
each_served 2
served=$(sed -n 's/.*connections, \([0-9]*\) requests.*/\1/p' "$work/err")
[ -n "$served" ] && [ "$served" -ge 2 ] || fail "urt-httpd exit line: $(cat "$work/err")"
echo "ok urt-httpd --threads 2 ($reqs req/s; $(tail -1 "$work/err"))"

# --- --threads 0 and --pin ---------------------------------------------------------------------
ncpu=$(nproc)
start urt-echo "$ECHO" --threads 0 --pin
python3 - "$pid" <<'PY' || fail "--pin: $(cat "$work/err")"
import os, sys
pid = int(sys.argv[1])
cpus = sorted(os.sched_getaffinity(0))
main = os.sched_getaffinity(pid)
assert main == {cpus[0]}, "the main thread's loop is on %s, not CPU %d" % (main, cpus[0])
pinned = set()
for tid in os.listdir("/proc/%d/task" % pid):
    a = os.sched_getaffinity(int(tid))
    if len(a) == 1:
        pinned |= a
assert pinned == set(cpus), "loops pinned to %s, not to each of %s" % (pinned, cpus)
PY
load --threads 0 --pin --conns 8 --duration 0.3
kill -TERM "$pid"
stop_wait 5
if [ "$ncpu" -gt 1 ]; then
	[ "$(per_thread | grep -c .)" = "$ncpu" ] || fail "--threads 0 on $ncpu CPUs: $(cat "$work/err")"
else
	grep -q "(threads:" "$work/err" && fail "--threads 0 on 1 CPU: $(cat "$work/err")"
fi
echo "ok --threads 0 (= $ncpu loops) and --pin"
echo "ok threads"
