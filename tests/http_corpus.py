#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Differential corpus test of urt-httpd against nginx (issue 23).

Each case in tests/http_corpus/*.req (format: doc/http-corpus.md) is sent
as raw bytes on a fresh connection to nginx and to urt-httpd serving the
same root. What comes back is split into responses (1xx dropped) and the
two sequences are classified:

  SAME      the same answers (a 2xx or 3xx also with the same body),
            where two 4xx/5xx answers with different codes count as
            the same ("~" in the table), and the same close behaviour
  STRICTER  urt-httpd refuses (4xx/5xx) where nginx answers 2xx/3xx, or
            stops after an error where nginx goes on, or closes where
            nginx keeps the connection open; allowed, but the case must
            say why in a "# stricter:" line
  LAXER     urt-httpd answers 2xx/3xx where nginx refuses, answers more
            requests than nginx, keeps open what nginx closed, or answers
            differently (another 2xx/3xx, another body, fewer answers
            without an error that says why): the framing or the judgement
            differs the wrong way. Fails the test.

Exits 1 on any LAXER case or a STRICTER one without its reason, 77 when
nginx is missing. Usage: http_corpus.py URT-HTTPD [CORPUS-DIR] [-v] [CASE...]
"""
import concurrent.futures
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

FOLLOW = b"GET /follow.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
FIRST_WAIT = 2.0  # for the first byte or the close
IDLE_WAIT = 0.5   # after the last byte, before our half-close
EOF_WAIT = 3.0    # after our half-close, for the server's close


def decode(text):
    """The corpus format: returns (meta dict of lists, raw bytes)."""
    meta = {}
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file's final newline ends its last line only
    while lines and lines[0].startswith("#"):
        m = re.match(r"#\s*([a-z-]+):\s*(.*)", lines.pop(0))
        if m:
            meta.setdefault(m.group(1), []).append(m.group(2))
    out = bytearray()
    for line in lines:
        if line == "@follow":
            out += FOLLOW
            continue
        eol = b"\r\n"
        if line.endswith("\\") and not line.endswith("\\\\"):
            line, eol = line[:-1], b""
        i = 0
        while i < len(line):
            c = line[i]
            if c != "\\":
                out += c.encode("latin-1")
                i += 1
                continue
            e = line[i + 1]
            if e in "rnt0\\":
                out += {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}[e]
                i += 2
            elif e == "x":
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
            elif e == "{":
                j = line.index("}", i)
                n, ch = line[i + 2:j].split(":", 1)
                out += ch.encode("latin-1") * int(n)
                i = j + 1
            else:
                raise ValueError("bad escape \\%s" % e)
        out += eol
    return meta, bytes(out)


def exchange(port, data):
    """Send data, read until the server closes. Returns (bytes, how):
    how is 'self' (closed before our half-close), 'eof' (after it),
    'reset' or 'open' (still open EOF_WAIT after our half-close)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    got = bytearray()
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        half = False
        deadline = None
        while True:
            if half:
                wait = deadline - time.monotonic()
                if wait <= 0:
                    return bytes(got), "open"
            else:
                wait = IDLE_WAIT if got else FIRST_WAIT
            s.settimeout(wait)
            try:
                b = s.recv(65536)
            except socket.timeout:
                if half:
                    return bytes(got), "open"
                try:
                    s.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                half = True
                deadline = time.monotonic() + EOF_WAIT
                continue
            except ConnectionResetError:
                return bytes(got), "reset"
            if not b:
                return bytes(got), "eof" if half else "self"
            got += b
    finally:
        s.close()


def responses(raw):
    """Split what came back into [(code, body)], 1xx dropped. A response's
    body is Content-Length bytes, or chunked, or the rest; none when the
    next response starts right after the head (the answer to a HEAD)."""
    out = []
    i = 0
    while i < len(raw):
        m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r?\n", raw[i:])
        if not m:
            # no status line: an HTTP/0.9 answer (nginx serves 0.9), or
            # garbage; code 0 counts as an answer, equal only to itself
            out.append((0, raw[i:]))
            break
        code = int(m.group(1))
        end = raw.find(b"\r\n\r\n", i)
        if end < 0:
            out.append((code, b"<no end of head>"))
            break
        head = raw[i:end].decode("latin-1").lower()
        i = end + 4
        if code < 200:
            continue
        cl = re.search(r"\ncontent-length:\s*(\d+)", head)
        if raw.startswith(b"HTTP/1.", i) or i == len(raw):
            body = b""
        elif cl:
            n = int(cl.group(1))
            body = raw[i:i + n]
            i += n
        elif re.search(r"\ntransfer-encoding:\s*chunked", head):
            body = b""
            while True:
                e = raw.find(b"\r\n", i)
                if e < 0:
                    i = len(raw)
                    break
                try:
                    n = int(raw[i:e].split(b";")[0], 16)
                except ValueError:
                    i = len(raw)
                    break
                body += raw[e + 2:e + 2 + n]
                i = e + 2 + n + 2
                if n == 0:
                    break
        else:
            body, i = raw[i:], len(raw)
        out.append((code, body))
    return out


def ok(code):
    """An answer that serves the request (0: a bare HTTP/0.9 body)."""
    return code == 0 or 200 <= code < 400


def show(rs, how):
    return " ".join(str(c) for c, _ in rs) + (" " if rs else "") + "[" + how + "]"


def classify(u, uhow, n, nhow):
    """(class, note) for urt-httpd's answers u against nginx's n."""
    approx = False
    stricter = None
    for i in range(min(len(u), len(n))):
        (uc, ub), (nc, nb) = u[i], n[i]
        if uc == nc:
            if 200 <= uc < 300 and ub != nb:
                return "LAXER", "response %d: same %d, another body" % (i + 1, uc)
            continue
        if not ok(uc) and not ok(nc):
            approx = True  # two refusals with different codes
            continue
        if not ok(uc) and ok(nc):
            stricter = stricter or "response %d: %d where nginx %d" % (i + 1, uc, nc)
            continue
        return "LAXER", "response %d: %d where nginx %d" % (i + 1, uc, nc)
    if len(u) > len(n):
        return "LAXER", "urt-httpd answered %d requests, nginx %d" % (len(u), len(n))
    if len(u) < len(n):
        if u and not ok(u[-1][0]):
            return "STRICTER", stricter or "urt-httpd closed after its %d, nginx went on" % u[-1][0]
        return "LAXER", "urt-httpd answered %d requests, nginx %d" % (len(u), len(n))
    closed = {"self", "reset"}
    if uhow == nhow or (uhow in closed and nhow in closed):
        return ("STRICTER", stricter) if stricter else ("SAME", "~" if approx else "")
    if uhow in closed and nhow == "eof":
        return "STRICTER", stricter or "urt-httpd closed, nginx kept the connection"
    return "LAXER", "urt-httpd %s, nginx %s" % (uhow, nhow)


def start_urt(exe, root, work):
    out = open(os.path.join(work, "urt.out"), "w+")
    p = subprocess.Popen([exe, "--port", "0", "--root", root], stdout=out, stderr=subprocess.STDOUT)
    for _ in range(200):
        out.seek(0)
        line = out.readline()
        if "listening" in line:
            return p, int(line.strip().rsplit(":", 1)[1])
        time.sleep(0.05)
    p.kill()
    sys.exit("FAIL: urt-httpd: no address line")


NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
error_log {w}/logs/error.log;
pid {w}/nginx.pid;
events {{ worker_connections 256; }}
http {{
	access_log off;
	client_body_temp_path {w}/tmp/body;
	proxy_temp_path {w}/tmp/proxy;
	fastcgi_temp_path {w}/tmp/fastcgi;
	uwsgi_temp_path {w}/tmp/uwsgi;
	scgi_temp_path {w}/tmp/scgi;
	server {{
		listen 127.0.0.1:{port};
		root {root};
	}}
}}
"""


def start_nginx(exe, root, work):
    os.makedirs(os.path.join(work, "logs"), exist_ok=True)
    os.makedirs(os.path.join(work, "tmp"), exist_ok=True)
    conf = os.path.join(work, "nginx.conf")
    for _ in range(10):
        with socket.socket() as s:  # a free port, most likely still free
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(w=work, port=port, root=root))
        p = subprocess.Popen([exe, "-p", work, "-c", conf, "-e", work + "/logs/error.log"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if p.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return p, port
            except OSError:
                time.sleep(0.05)
        p.kill()
        p.wait()
    print("SKIP: nginx would not start")
    sys.exit(77)


def main():
    args = [a for a in sys.argv[1:] if a != "-v"]
    verbose = "-v" in sys.argv
    if not args:
        sys.exit(__doc__)
    exe = args[0]
    cdir = args[1] if len(args) > 1 else os.path.join(os.path.dirname(__file__), "http_corpus")
    only = set(args[2:])
    ngx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not ngx:
        print("SKIP: nginx is not installed")
        sys.exit(77)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    t0 = time.monotonic()
    work = tempfile.mkdtemp()
    procs = []
    try:
        root = os.path.join(work, "root")
        os.makedirs(os.path.join(root, "sub"))
        for name, text in (("index.html", "index\n"), ("hello.txt", "hello\n"),
                           ("follow.txt", "follow\n"), ("sub/page.txt", "page\n")):
            with open(os.path.join(root, name), "w") as f:
                f.write(text)
        up, uport = start_urt(exe, root, work)
        procs.append(up)
        npr, nport = start_nginx(ngx, root, work)
        procs.append(npr)
        print("nginx: " + subprocess.run([ngx, "-v"], capture_output=True, text=True).stderr.strip())
        print("urt-httpd backend: " + os.environ.get("URT_BACKEND", "default"))

        cases = []
        for name in sorted(os.listdir(cdir)):
            if name.endswith(".req") and (not only or name in only or name[:-4] in only):
                with open(os.path.join(cdir, name), encoding="latin-1") as f:
                    meta, data = decode(f.read())
                # a body must be followed by a request that shows where it
                # ended, or the case must say why not
                if (re.search(rb"(?i)content.length|transfer.encoding", data) and FOLLOW not in data
                        and "no-follow" not in meta):
                    sys.exit("FAIL: %s has a body and no @follow (nor '# no-follow:')" % name)
                cases.append((name[:-4], meta, data))

        def run(case):
            name, meta, data = case
            n = exchange(nport, data)
            u = exchange(uport, data)
            return n, u

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(run, cases))

        def judge(res):
            (nraw, nhow), (uraw, uhow) = res
            u, n = responses(uraw), responses(nraw)
            return (u, uhow, n, nhow) + classify(u, uhow, n, nhow)

        counts = {"SAME": 0, "STRICTER": 0, "LAXER": 0}
        approx = unexplained = 0
        print("%-8s %-44s %-22s %-22s %s" % ("class", "case", "urt-httpd", "nginx", "note"))
        for case, res in zip(cases, results):
            name, meta, data = case
            v = judge(res)
            # whether a server closed by itself is told by timing (IDLE_WAIT
            # of silence): a LAXER verdict must come again in two more runs,
            # so that a loaded machine cannot make one up; one that does not
            # is shown with its note
            for _ in range(2):
                if v[4] != "LAXER":
                    break
                res2 = run(case)
                v2 = judge(res2)
                if v2[4] != "LAXER":
                    v2 = v2[:5] + (v2[5] + " (one run LAXER: urt-httpd %s, nginx %s)"
                                   % (show(v[0], v[1]), show(v[2], v[3])),)
                v, res = v2, res2
            u, uhow, n, nhow, cls, note = v
            (nraw, _), (uraw, _) = res
            counts[cls] += 1
            if cls == "SAME" and note == "~":
                approx += 1
            if cls == "STRICTER":
                if "stricter" in meta:
                    note += ": " + meta["stricter"][0]
                else:
                    unexplained += 1
                    note += " (NO '# stricter:' REASON)"
            print("%-8s %-44s %-22s %-22s %s" % (cls, name[:44], show(u, uhow), show(n, nhow), note))
            if verbose or cls == "LAXER":
                print("    sent:      %r" % data[:300])
                print("    urt-httpd: %r" % uraw[:400])
                print("    nginx:     %r" % nraw[:400])
        print("summary: %d cases: SAME %d (%d of them two refusals with different codes), "
              "STRICTER %d, LAXER %d; %.1f s" % (len(cases), counts["SAME"], approx,
                                                 counts["STRICTER"], counts["LAXER"],
                                                 time.monotonic() - t0))
        if counts["LAXER"] or unexplained:
            print("FAIL: %d LAXER, %d STRICTER without a reason" % (counts["LAXER"], unexplained))
            return 1
        print("ok http-corpus")
        return 0
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
