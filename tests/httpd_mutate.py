#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mutation run of urt-httpd over real sockets (issue 23; doc/fuzzing.md).

Starts urt-httpd (an ASan/UBSan build: tools/bootstrap fuzz or asan) on a
free port with a small document root, then sends mutated requests for a
bounded time: the seeds of tests/fuzz/http_parse mutated by byte flips,
insertions, deletions, truncation, duplication and splicing, each sent in
random pieces with pauses between them, some connections reset mid-way.
After each batch the server must still be alive and answer a valid request
correctly; at the end it must exit 0 on SIGTERM with no sanitizer report
on stderr. Seeded: the same --seed sends the same requests.

Usage: httpd_mutate.py --httpd PATH [--seed N] [--seconds S] [--batch N]
"""
import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
BODY = b"<p>urt-httpd mutation run</p>\n"
REPORTS = re.compile(rb"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: ")


def seeds():
    d = os.path.join(HERE, "fuzz", "http_parse")
    out = []
    for n in sorted(os.listdir(d)):
        with open(os.path.join(d, n), "rb") as f:
            out.append(f.read())
    return out


def mutate(rng, corpus):
    """One request's bytes: a seed with a few random edits."""
    b = bytearray(rng.choice(corpus))
    for _ in range(rng.randint(0, 4)):
        op = rng.randrange(7)
        i = rng.randrange(len(b) + 1)
        if op == 0 and b:      # flip bits of a byte
            b[i % len(b)] ^= 1 << rng.randrange(8)
        elif op == 1:          # insert bytes: random or a separator
            b[i:i] = rng.choice([bytes([rng.randrange(256)]), b"\r\n", b"\n", b" ", b":",
                                 b"%", b"%2e%2e/", b"\r\n\r\n", b"0" * rng.randint(1, 30)])
        elif op == 2 and b:    # delete a run
            del b[i:i + rng.randint(1, 8)]
        elif op == 3:          # truncate
            del b[i:]
        elif op == 4 and b:    # duplicate a run (headers, pipelined requests)
            j = rng.randrange(len(b))
            b[i:i] = b[j:j + rng.randint(1, 64)]
        elif op == 5:          # splice another seed in
            o = rng.choice(corpus)
            b[i:] = o[rng.randrange(len(o) + 1):]
        elif op == 6 and b:    # a byte replaced by a boundary value
            b[i % len(b)] = rng.choice([0, 0x7f, 0x80, 0xff, 0x20, 0x09])
    return bytes(b)


def send_one(port, rng, data):
    """Send data in random pieces; read what comes back: the first status
    line's code, "reset" or "none". Errors from the server's side (a reset,
    a close) are fine: only the server's survival and its sanitizer reports
    are judged."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    got = b""
    try:
        s.settimeout(3)
        off = 0
        reset = rng.random() < 0.05
        while off < len(data):
            n = rng.randint(1, max(1, len(data) - off)) if rng.random() < 0.5 else len(data) - off
            s.sendall(data[off:off + n])
            off += n
            if rng.random() < 0.2:
                time.sleep(rng.random() * 0.005)
            if reset and rng.random() < 0.3:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                return "reset"
        s.shutdown(socket.SHUT_WR)
        while True:
            k = s.recv(65536)
            if not k:
                break
            if len(got) < 12:
                got += k
    except OSError:
        pass
    finally:
        s.close()
    return got[9:12].decode(errors="replace") if got.startswith(b"HTTP/1.1 ") else "none"


def check_alive(proc, port):
    """The server runs and answers GET /index.html with the file."""
    if proc.poll() is not None:
        raise SystemExit("FAIL: urt-httpd exited with %s" % proc.returncode)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.settimeout(5)
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        resp = b""
        while True:
            k = s.recv(65536)
            if not k:
                break
            resp += k
    head, _, body = resp.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") or body != BODY:
        raise SystemExit("FAIL: a valid request got %r" % resp[:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--httpd", required=True)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--max", type=int, default=0, help="stop after this many requests")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1, 2**31)
    print("httpd_mutate: seed %d" % seed, flush=True)
    corpus = seeds()

    root = tempfile.mkdtemp(prefix="urt-mutate.")
    with open(os.path.join(root, "index.html"), "wb") as f:
        f.write(BODY)
    os.mkdir(os.path.join(root, "dir"))
    with open(os.path.join(root, "dir", "a.txt"), "wb") as f:
        f.write(b"a" * 5000)
    err = open(os.path.join(root, "..", os.path.basename(root) + ".err"), "w+b")
    proc = subprocess.Popen([a.httpd, "--port", "0", "--root", root, "--header-timeout", "2",
                             "--idle-timeout", "2", "--body-timeout", "2"],
                            stdout=subprocess.PIPE, stderr=err)
    try:
        line = proc.stdout.readline().decode()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise SystemExit("FAIL: no address line: %r" % line)
        port = int(m.group(1))
        check_alive(proc, port)

        sent = 0
        codes = {}
        start = time.monotonic()
        batch_no = 0
        with ThreadPoolExecutor(max_workers=4) as pool:
            while time.monotonic() - start < a.seconds and (not a.max or sent < a.max):
                # one RNG per request, from the seed and its number: the
                # requests do not depend on the threads' timing
                rngs = [random.Random(seed * 1000003 + batch_no * a.batch + i)
                        for i in range(a.batch)]
                datas = [mutate(r, corpus) for r in rngs]
                for c in pool.map(lambda rd: send_one(port, rd[0], rd[1]), zip(rngs, datas)):
                    codes[c] = codes.get(c, 0) + 1
                sent += a.batch
                batch_no += 1
                check_alive(proc, port)
        elapsed = time.monotonic() - start

        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        err.seek(0)
        log = err.read()
        if REPORTS.search(log):
            raise SystemExit("FAIL: a sanitizer report on urt-httpd's stderr")
        if rc != 0:
            raise SystemExit("FAIL: urt-httpd exited %d after SIGTERM" % rc)
        print("answers: " + " ".join("%s:%d" % kv for kv in sorted(codes.items())))
        print("%d mutated requests in %.0f s (seed %d), server clean" % (sent, elapsed, seed))
    except SystemExit:
        # the server's last words (a sanitizer report when it died)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.seek(0)
        sys.stdout.write(err.read().decode(errors="replace")[-6000:])
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err.close()
        os.unlink(err.name)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
