#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TLS clients for tests/tls_e2e.sh (the ssl module; no third-party code).

  tls_e2e.py pipeline PORT CA    several requests in one write to urt-httpd,
                                 answered in order
  tls_e2e.py resume PORT CA      a TLS 1.3 session resumed from the ticket
                                 of a first connection
  tls_e2e.py idle PORT CA SECS  a kept-alive connection left idle is closed
                                 with close_notify after SECS
  tls_e2e.py slowhead PORT CA SECS  a head that never ends: 408, close_notify
  tls_e2e.py echo PORT CA N      N TLS connections to urt-echo open at once,
                                 each echoing its own bytes

Prints one line saying what it checked; exit 0 when it held, 1 (with what
was expected and what came) when not.
"""
import asyncio
import os
import socket
import ssl
import sys
import time


def context(ca, **kw):
    ctx = ssl.create_default_context(cafile=ca)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def connect(port, ctx, session=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost", session=session)


def read_response(f):
    """One response from the buffered reader f: (status, headers, body)."""
    line = f.readline()
    if not line:
        return None
    status = int(line.split()[1])
    headers = {}
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        k, _, v = h.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers


def pipeline(port, ca):
    reqs = [
        ("GET", "/a.txt", 200, b"hello file\n"),
        ("GET", "/", 200, b"Hello, World!"),
        ("HEAD", "/a.txt", 200, b""),
        ("GET", "/missing", 404, b"404 Not Found\n"),
        ("GET", "/a.txt", 200, b"hello file\n"),
    ]
    data = b""
    for i, (m, p, _, _) in enumerate(reqs):
        last = "Connection: close\r\n" if i == len(reqs) - 1 else ""
        data += f"{m} {p} HTTP/1.1\r\nHost: localhost\r\n{last}\r\n".encode()
    s = raw_connect(port, ca)
    s.sendall(data)  # one write: one TLS record holding every request
    f = s.makefile("rb")
    got = []
    for m, p, st, body in reqs:
        r = read_response(f)
        if r is None:
            break
        status, headers = r
        n = int(headers.get("content-length", "0"))
        b = f.read(n) if m != "HEAD" else b""
        got.append((status, b))
    try:
        rest, how = f.read(), "with close_notify"
    except ssl.SSLEOFError:
        rest, how = b"", "without close_notify"
    s.close()
    want = [(st, body) for _, _, st, body in reqs]
    if got != want or rest or how != "with close_notify":
        print(f"FAIL: pipelined {len(reqs)} requests in one write: expected {want}, then"
              f" close_notify; got {got}, then {rest!r}, closed {how}")
        return 1
    print(f"ok: {len(reqs)} pipelined requests (one TLS write) answered in order, then closed"
          f" {how} (Connection: close)")
    return 0


def get_over(s):
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b


def resume(port, ca):
    ctx = context(ca, minimum_version=ssl.TLSVersion.TLSv1_3)
    s = connect(port, ctx)
    # the TLS 1.3 ticket comes after the handshake: read the answer first
    first = get_over(s)
    sess = s.session
    s.close()
    s = connect(port, ctx, session=sess)
    second = get_over(s)
    reused, version = s.session_reused, s.version()
    s.close()
    if not (reused and first.endswith(b"Hello, World!") and second.endswith(b"Hello, World!")):
        print(f"FAIL: TLS 1.3 resumption: expected a resumed session and two greetings, got "
              f"reused={reused} version={version} first={first[-40:]!r} second={second[-40:]!r}")
        return 1
    print(f"ok: {version} session resumed from the first connection's ticket (session_reused)")
    return 0


async def echo_one(i, port, ctx, all_open, arrived, n, handshakes):
    try:
        # at most `handshakes` at a time: 500 at once on a loaded machine
        # (or under ASan) can take the server past urt-echo's 10 s limit
        async with handshakes:
            r, w = await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                                 server_hostname="localhost")
    finally:
        # a connection that failed has arrived too: the others must not
        # wait for it
        arrived[0] += 1
        if arrived[0] == n:
            all_open.set()
    await all_open.wait()
    msg = (f"conn {i} ".encode() + os.urandom(3000).hex().encode())[:5000] + b"\n"
    # in three writes, as a client trickling its bytes
    for k in range(0, len(msg), 2000):
        w.write(msg[k:k + 2000])
        await w.drain()
    back = await r.readexactly(len(msg))
    w.close()
    try:
        await w.wait_closed()
    except (ssl.SSLError, ConnectionError):
        pass
    return back == msg


async def echo_many(port, ca, n):
    ctx = context(ca)
    all_open = asyncio.Event()
    arrived = [0]
    handshakes = asyncio.Semaphore(50)
    tasks = [echo_one(i, port, ctx, all_open, arrived, n, handshakes) for i in range(n)]
    try:
        res = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 90)
    except asyncio.TimeoutError:
        print(f"FAIL: {n} concurrent TLS echo connections: not done in 90 s"
              f" ({arrived[0]} connected or failed)")
        return 1
    good = sum(1 for x in res if x is True)
    bad = [x for x in res if x is not True]
    if good != n:
        print(f"FAIL: {n} concurrent TLS echo connections: expected {n} exact echoes, got {good};"
              f" first failures: {bad[:3]!r}")
        return 1
    print(f"ok: {n} TLS connections open at once, each echoed its 5,000 bytes exactly")
    return 0


def read_to_eof(s):
    """Everything until the server closes: (bytes, how it closed)."""
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except ssl.SSLEOFError:
            return out, "without close_notify"
        except OSError as e:
            return out, f"with {e!r}"
        if not b:
            return out, "with close_notify"
        out += b


def raw_connect(port, ca):
    """A connection on which an EOF without close_notify is an error."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=15)
    return context(ca).wrap_socket(raw, server_hostname="localhost",
                                   suppress_ragged_eofs=False)


def idle(port, ca, secs):
    s = raw_connect(port, ca)
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    t0 = time.monotonic()
    out, how = read_to_eof(s)
    took = time.monotonic() - t0
    s.close()
    if not out.endswith(b"Hello, World!") or how != "with close_notify" or took < secs - 0.2:
        print(f"FAIL: kept-alive connection left idle: expected the greeting, then close_notify"
              f" after --idle-timeout {secs} s; got {out[-30:]!r}, closed {how} after {took:.2f} s")
        return 1
    print(f"ok: an idle kept-alive HTTPS connection is closed {how} after {took:.2f} s"
          f" (--idle-timeout {secs}: a timed-out read, then urt_tls_shutdown)")
    return 0


def slow_head(port, ca, secs):
    s = raw_connect(port, ca)
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # the head never ends
    t0 = time.monotonic()
    out, how = read_to_eof(s)
    took = time.monotonic() - t0
    s.close()
    if not out.startswith(b"HTTP/1.1 408 ") or how != "with close_notify" or took < secs - 0.2:
        print(f"FAIL: a head that never ends: expected 408 and close_notify after"
              f" --header-timeout {secs} s; got {out[:40]!r}, closed {how} after {took:.2f} s")
        return 1
    print(f"ok: a head that never ends is answered 408 over TLS after {took:.2f} s, closed {how}")
    return 0


def main():
    mode, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "pipeline":
        return pipeline(port, ca)
    if mode == "resume":
        return resume(port, ca)
    if mode == "idle":
        return idle(port, ca, float(sys.argv[4]))
    if mode == "slowhead":
        return slow_head(port, ca, float(sys.argv[4]))
    if mode == "echo":
        return asyncio.run(echo_many(port, ca, int(sys.argv[4])))
    print(f"tls_e2e.py: unknown mode {mode}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
