/* SPDX-License-Identifier: MIT */
/*
 * hostile_httpd: the hostile clients of the urt-httpd soak (issue 23;
 * doc/soak.md; run by tests/soak/httpd_soak.sh, which runs urt-load for
 * the well-behaved load beside them). Plain sockets and epoll, no urt, so
 * that its bugs and the server's are not correlated.
 *
 *   hostile_httpd idle PORT N HOLD     N keep-alive connections, one request
 *       each (all 200), printing "ready" once they are all answered; then
 *       they stay idle HOLD seconds and each sends a second request, which
 *       must be answered 200 on the same connection.
 *   hostile_httpd slowloris PORT N T   N clients sending a request head one
 *       byte a second that never ends; each must be closed (after a 408)
 *       between T - 0.5 and T + 2 seconds after its first byte (T: the
 *       server's --header-timeout).
 *   hostile_httpd storm PORT N S       at least N clients, and for at least S
 *       seconds, that connect and vanish (128 at a time):
 *       close at once, reset (SO_LINGER 0), send half a request and reset,
 *       or send a whole request and close without reading; then one
 *       well-behaved request must be answered 200.
 *   hostile_httpd pipeline PORT B N    B bursts of N pipelined requests on one
 *       connection each (written in one go, a seeded mix of 200 and 404
 *       paths); all N answered, in order (the statuses match the paths).
 *   hostile_httpd slowread PORT N T    N clients that pipeline requests and
 *       never read the answers: each closed by the server within T + 2 s
 *       of its last write (T: the server's --idle-timeout).
 *   hostile_httpd nofile PORT N PID    for a server started with a low
 *       RLIMIT_NOFILE: N connections (more than it has fds for) each send
 *       one request; the server answers those it could accept, keeps
 *       serving them (a second request each), spends little CPU while it
 *       is out of fds and idle (its utime+stime from /proc/PID/stat over 2 s
 *       under 10 %), and answers all the others once those close.
 *
 * Prints "key value" lines; exit 0 when every check passed, 1 otherwise,
 * 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static unsigned port;
static unsigned failures;

#define FAIL(...)                                                                                 \
	do {                                                                                      \
		if (failures++ < 20) {                                                            \
			fprintf(stderr, "hostile_httpd: ");                                       \
			fprintf(stderr, __VA_ARGS__);                                             \
			fputc('\n', stderr);                                                      \
		}                                                                                 \
	} while (0)

static const char REQ[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void raise_nofile(unsigned want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A blocking connection to the server, or -1. */
static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void reset_close(int fd)
{
	struct linger l = {1, 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(fd);
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/*
 * A response parser over a buffer: the length of the first complete
 * response in buf (its head and its Content-Length body) with *status
 * set, 0 when it is not complete yet, -1 when it is not a response.
 */
static long resp_len(const char *buf, size_t n, int *status)
{
	const char *end = memmem(buf, n, "\r\n\r\n", 4);
	if (!end)
		return 0;
	if (n < 12 || memcmp(buf, "HTTP/1.1 ", 9))
		return -1;
	*status = atoi(buf + 9);
	size_t head = (size_t)(end - buf) + 4, body = 0;
	for (const char *p = buf; p < end; p++) {
		if ((*p == '\n') && (size_t)(end - p) > 16 && !strncasecmp(p + 1, "Content-Length:", 15)) {
			body = strtoul(p + 16, NULL, 10);
			break;
		}
	}
	return head + body <= n ? (long)(head + body) : 0;
}

/*
 * Send req on each of the n connections and wait (epoll) until each has
 * one whole response, EOF, or timeout_s passes. status[i]: the code, -1
 * (closed or error) or 0 (nothing in time). Returns how many got code 200.
 */
static unsigned roundtrip_all(const int *fds, unsigned n, const char *req, double timeout_s, int *status)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char(*bufs)[512] = calloc(n, sizeof *bufs);
	size_t *got = calloc(n, sizeof *got);
	unsigned pending = 0, ok = 0;
	for (unsigned i = 0; i < n; i++) {
		status[i] = 0;
		if (fds[i] < 0 || !send_all(fds[i], req, strlen(req))) {
			status[i] = -1;
			continue;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
		pending++;
	}
	double end = now() + timeout_s;
	struct epoll_event evs[256];
	while (pending && now() < end) {
		int k = epoll_wait(ep, evs, 256, 100);
		for (int j = 0; j < k; j++) {
			unsigned i = evs[j].data.u32;
			ssize_t r = recv(fds[i], bufs[i] + got[i], sizeof bufs[i] - got[i], MSG_DONTWAIT);
			if (r < 0 && errno == EAGAIN)
				continue;
			long len = 0;
			if (r > 0) {
				got[i] += (size_t)r;
				len = resp_len(bufs[i], got[i], &status[i]);
				if (len == 0 && got[i] < sizeof bufs[i])
					continue;
			}
			if (r <= 0 || len < 0)
				status[i] = -1;
			ok += status[i] == 200;
			pending--;
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
		}
	}
	free(bufs);
	free(got);
	close(ep);
	return ok;
}

static void tally(const int *status, unsigned n, const char *what)
{
	unsigned c200 = 0, closed = 0, none = 0, other = 0;
	for (unsigned i = 0; i < n; i++) {
		if (status[i] == 200)
			c200++;
		else if (status[i] < 0)
			closed++;
		else if (status[i] == 0)
			none++;
		else
			other++;
	}
	printf("%s_200 %u\n%s_closed %u\n%s_unanswered %u\n%s_other %u\n", what, c200, what, closed,
	       what, none, what, other);
}

static int mode_idle(unsigned n, double hold)
{
	raise_nofile(n + 64);
	int *fds = calloc(n, sizeof *fds), *st = calloc(n, sizeof *st);
	double t0 = now();
	unsigned open = 0;
	for (unsigned i = 0; i < n; i++) {
		fds[i] = dial();
		open += fds[i] >= 0;
	}
	if (open != n)
		FAIL("idle: %u of %u connections opened", open, n);
	unsigned ok = roundtrip_all(fds, n, REQ, 60, st);
	tally(st, n, "first");
	if (ok != n)
		FAIL("idle: %u of %u first requests answered 200", ok, n);
	printf("idle_conns %u\nconnect_s %.2f\nready\n", open, now() - t0);
	fflush(stdout);
	/* idle: nothing sent or read; the server must neither close them nor
	   stop serving others (the script's urt-load runs now) */
	struct timespec ts = {(time_t)hold, (long)((hold - (time_t)hold) * 1e9)};
	nanosleep(&ts, NULL);
	ok = roundtrip_all(fds, n, REQ, 60, st);
	tally(st, n, "second");
	if (ok != n)
		FAIL("idle: %u of %u idle connections answered 200 after %.0f s", ok, n, hold);
	printf("idle_held %u\n", ok);
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	free(st);
	return 0;
}

static int mode_slowloris(unsigned n, double t)
{
	static const char head[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ";
	int *fds = malloc(n * sizeof *fds);
	double *t_first = calloc(n, sizeof(double)), *t_closed = calloc(n, sizeof(double));
	unsigned *sent = calloc(n, sizeof(unsigned));
	bool *got408 = calloc(n, sizeof(bool));
	for (unsigned i = 0; i < n; i++) {
		fds[i] = dial();
		if (fds[i] < 0) {
			FAIL("slowloris: connect");
			exit(1);
		}
		set_nonblock(fds[i]);
	}
	unsigned open = n;
	double start = now(), next_tick = start, limit = start + t + 10;
	while (open && now() < limit) {
		double tn = now();
		if (tn >= next_tick) { /* one byte a second on each */
			for (unsigned i = 0; i < n; i++) {
				if (fds[i] < 0)
					continue;
				char c = sent[i] < sizeof head - 1 ? head[sent[i]] : 'a';
				if (send(fds[i], &c, 1, MSG_NOSIGNAL) == 1) {
					if (!sent[i])
						t_first[i] = tn;
					sent[i]++;
				}
			}
			next_tick += 1;
		}
		struct pollfd pf[64];
		unsigned map[64], np = 0;
		for (unsigned i = 0; i < n && np < 64; i++)
			if (fds[i] >= 0) {
				pf[np] = (struct pollfd){.fd = fds[i], .events = POLLIN};
				map[np++] = i;
			}
		int wait_ms = (int)((next_tick - now()) * 1000);
		poll(pf, np, wait_ms > 0 ? wait_ms : 0);
		for (unsigned k = 0; k < np; k++) {
			if (!pf[k].revents)
				continue;
			unsigned i = map[k];
			char buf[1024];
			ssize_t r;
			while ((r = recv(fds[i], buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
				buf[r] = 0;
				if (strstr(buf, " 408 "))
					got408[i] = true;
			}
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				t_closed[i] = now();
				close(fds[i]);
				fds[i] = -1;
				open--;
			}
		}
	}
	double lo = 1e9, hi = 0;
	unsigned n408 = 0;
	for (unsigned i = 0; i < n; i++) {
		n408 += got408[i];
		if (fds[i] >= 0) {
			FAIL("slowloris: client %u still open %.1f s after its first byte (%u bytes sent)", i,
			     now() - t_first[i], sent[i]);
			close(fds[i]);
			continue;
		}
		double d = t_closed[i] - t_first[i];
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	if (open == 0 && (lo < t - 0.5 || hi > t + 2))
		FAIL("slowloris: closed between %.2f and %.2f s after the first byte, not in [%.1f, %.1f]",
		     lo, hi, t - 0.5, t + 2);
	if (n408 != n)
		FAIL("slowloris: %u of %u got a 408", n408, n);
	printf("slowloris_clients %u\nslowloris_closed %u\nslowloris_408 %u\nclose_after_min_s %.2f\n"
	       "close_after_max_s %.2f\n",
	       n, n - open, n408, lo, hi);
	free(fds);
	free(t_first);
	free(t_closed);
	free(sent);
	free(got408);
	return 0;
}

static int mode_storm(unsigned n, double secs_min)
{
	static const char half[] = "GET / HTTP/1.1\r\nHo";
	unsigned done = 0, refused = 0;
	int batch[128];
	double t0 = now();
	while (done < n || now() - t0 < secs_min) {
		unsigned b = 128;
		for (unsigned i = 0; i < b; i++) {
			batch[i] = dial();
			if (batch[i] < 0)
				refused++;
		}
		for (unsigned i = 0; i < b; i++) {
			int fd = batch[i];
			if (fd < 0)
				continue;
			switch ((done + i) % 4) {
			case 0: close(fd); break;
			case 1: reset_close(fd); break;
			case 2: send_all(fd, half, sizeof half - 1); reset_close(fd); break;
			default: send_all(fd, REQ, sizeof REQ - 1); close(fd); break; /* unread answer: RST */
			}
		}
		done += b;
	}
	double secs = now() - t0;
	/* a well-behaved client afterwards */
	int fd = dial(), st = 0;
	if (fd < 0 || roundtrip_all(&fd, 1, REQ, 10, &st) != 1)
		FAIL("storm: a request after the storm got %d", st);
	if (fd >= 0)
		close(fd);
	printf("storm_clients %u\nstorm_connect_failed %u\nstorm_s %.2f\nafter_storm %d\n", done, refused,
	       secs, st);
	if (refused)
		FAIL("storm: %u connects failed", refused);
	return 0;
}

static int mode_pipeline(unsigned bursts, unsigned n)
{
	size_t cap = (size_t)n * 48 + 64;
	char *req = malloc(cap), *resp = malloc(1 << 22);
	int *want = malloc(n * sizeof *want);
	uint64_t seed = 0x9E3779B97F4A7C15ull, answered_total = 0;
	for (unsigned b = 0; b < bursts; b++) {
		size_t len = 0;
		for (unsigned i = 0; i < n; i++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			bool hit = seed % 3 != 0;
			want[i] = hit ? 200 : 404;
			len += (size_t)snprintf(req + len, cap - len, hit ? "GET /?i=%u HTTP/1.1\r\nHost: a\r\n\r\n"
									 : "GET /no%u HTTP/1.1\r\nHost: a\r\n\r\n",
						i);
		}
		int fd = dial();
		if (fd < 0) {
			FAIL("pipeline: connect");
			break;
		}
		set_nonblock(fd);
		size_t off = 0, got = 0, parsed = 0;
		unsigned answered = 0;
		double end = now() + 30;
		bool broken = false;
		while (answered < n && now() < end && !broken) {
			struct pollfd pf = {.fd = fd, .events = POLLIN | (off < len ? POLLOUT : 0)};
			poll(&pf, 1, 100);
			if (off < len && (pf.revents & POLLOUT)) {
				ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
				if (w > 0)
					off += (size_t)w;
			}
			ssize_t r = recv(fd, resp + got, (1 << 22) - got, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				FAIL("pipeline: burst %u: connection closed after %u answers", b, answered);
				break;
			}
			if (r > 0)
				got += (size_t)r;
			for (;;) {
				int st = 0;
				long l = resp_len(resp + parsed, got - parsed, &st);
				if (l < 0) {
					FAIL("pipeline: burst %u: answer %u is not a response", b, answered);
					broken = true;
				}
				if (l <= 0)
					break;
				if (answered < n && st != want[answered]) {
					FAIL("pipeline: burst %u: answer %u is %d, want %d (out of order?)", b,
					     answered, st, want[answered]);
					broken = true;
				}
				answered++;
				parsed += (size_t)l;
			}
			if (parsed == got) /* keep the buffer small */
				parsed = got = 0;
		}
		if (answered != n)
			FAIL("pipeline: burst %u: %u of %u answered", b, answered, n);
		answered_total += answered;
		close(fd);
	}
	printf("pipeline_bursts %u\npipeline_burst_size %u\npipeline_answered %llu\n", bursts, n,
	       (unsigned long long)answered_total);
	free(req);
	free(resp);
	free(want);
	return 0;
}

/*
 * Slow readers: each client shrinks its receive buffer, pipelines requests
 * until its socket takes no more (the server's answers pile up unread and
 * then it stops reading too), and never reads. The server's send waits
 * under --idle-timeout (response.c): each connection must be closed within
 * t + 2 s of the client's last successful write. The close is seen without
 * reading: the server's close with unread requests resets the connection
 * (POLLERR / POLLHUP).
 */
/* Note the time of close of each of the first n connections that the
   server has closed by now (poll, reading nothing). Returns how many were
   newly closed. */
static unsigned note_closed(const int *fds, double *t_closed, unsigned n, int timeout_ms)
{
	struct pollfd pf[64];
	unsigned map[64], np = 0, closed = 0;
	for (unsigned i = 0; i < n && np < 64; i++)
		if (fds[i] >= 0 && !t_closed[i]) {
			pf[np] = (struct pollfd){.fd = fds[i], .events = POLLRDHUP};
			map[np++] = i;
		}
	poll(pf, np, timeout_ms);
	for (unsigned k = 0; k < np; k++)
		if (pf[k].revents & (POLLERR | POLLHUP | POLLRDHUP)) {
			t_closed[map[k]] = now();
			closed++;
		}
	return closed;
}

static int mode_slowread(unsigned n, double t)
{
	int *fds = calloc(n, sizeof *fds);
	double *t_last = calloc(n, sizeof(double)), *t_closed = calloc(n, sizeof(double));
	char batch[64 * (sizeof REQ - 1)];
	for (size_t k = 0; k < 64; k++)
		memcpy(batch + k * (sizeof REQ - 1), REQ, sizeof REQ - 1);
	uint64_t sent_total = 0;
	unsigned open = 0, closed = 0;
	for (unsigned i = 0; i < n; i++) {
		/* connected only now: one left waiting would be idle, and closed
		   by the idle timeout before it got to send */
		fds[i] = -1;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int small = 4096;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			FAIL("slowread: connect: %s", strerror(errno));
			close(fd);
			continue;
		}
		set_nonblock(fd);
		fds[i] = fd;
		open++;
		/* write until nothing more goes for 500 ms (the server stopped
		   reading) */
		double quiet = now();
		while (now() - quiet < 0.5 && sent_total < (1ull << 32)) {
			ssize_t w = send(fd, batch, sizeof batch, MSG_NOSIGNAL);
			if (w > 0) {
				sent_total += (uint64_t)w;
				t_last[i] = quiet = now();
			} else if (w < 0 && errno != EAGAIN) {
				FAIL("slowread: client %u: send: %s (closed before it stopped reading?)", i,
				     strerror(errno));
				break;
			} else {
				struct pollfd pf = {.fd = fd, .events = POLLOUT};
				poll(&pf, 1, 50);
			}
			/* the ones filled before: the server may close them now */
			closed += note_closed(fds, t_closed, i, 0);
		}
	}
	/* wait for the server to close them, reading nothing */
	double limit = now() + t + 10;
	while (closed < open && now() < limit)
		closed += note_closed(fds, t_closed, n, 100);
	double hi = 0;
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] < 0)
			continue;
		if (!t_closed[i])
			FAIL("slowread: client %u still open %.1f s after its last write", i, now() - t_last[i]);
		else if (t_closed[i] - t_last[i] > hi)
			hi = t_closed[i] - t_last[i];
		close(fds[i]);
	}
	if (hi > t + 2)
		FAIL("slowread: closed up to %.2f s after the last write, not within %.1f", hi, t + 2);
	printf("slowread_clients %u\nslowread_closed %u\nslowread_sent_bytes %llu\n"
	       "slowread_close_after_max_s %.2f\n",
	       n, closed, (unsigned long long)sent_total, hi);
	free(fds);
	free(t_last);
	free(t_closed);
	return 0;
}

/* utime + stime of pid in clock ticks, or -1. */
static long cpu_ticks(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')'); /* the command may hold spaces */
	unsigned long ut, st;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static int mode_nofile(unsigned n, long pid)
{
	raise_nofile(n + 64);
	int *fds = calloc(n, sizeof *fds), *st = calloc(n, sizeof *st);
	for (unsigned i = 0; i < n; i++) {
		fds[i] = dial(); /* the backlog takes what the server cannot accept */
		if (fds[i] < 0)
			FAIL("nofile: connect %u failed", i);
	}
	unsigned first = roundtrip_all(fds, n, REQ, 3, st);
	tally(st, n, "saturated");
	if (first == 0 || first == n)
		FAIL("nofile: %u of %u answered: the server should run out of fds part way", first, n);
	/* the ones it has: served again */
	unsigned again_n = 0;
	int *again = malloc(n * sizeof *again), *st2 = malloc(n * sizeof *st2);
	for (unsigned i = 0; i < n; i++)
		if (st[i] == 200)
			again[again_n++] = fds[i];
	unsigned again_ok = roundtrip_all(again, again_n, REQ, 5, st2);
	if (again_ok != again_n)
		FAIL("nofile: %u of %u held connections served again", again_ok, again_n);
	/* out of fds and idle: no busy loop */
	long hz = sysconf(_SC_CLK_TCK);
	long c0 = cpu_ticks(pid);
	double t0 = now();
	sleep(2);
	long c1 = cpu_ticks(pid);
	double busy = (double)(c1 - c0) / hz / (now() - t0);
	if (c0 < 0 || c1 < 0)
		FAIL("nofile: cannot read /proc/%ld/stat", pid);
	else if (busy > 0.10)
		FAIL("nofile: the server used %.0f %% CPU while out of fds and idle", busy * 100);
	/* recovery: close the served ones; the waiting ones are accepted and
	   answered (their requests were sent long ago) */
	for (unsigned i = 0; i < n; i++)
		if (st[i] == 200) {
			close(fds[i]);
			fds[i] = -1;
		}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	unsigned waiting = 0, late = 0, late_bad = 0;
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0 && st[i] == 0) {
			struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
			epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
			waiting++;
		}
	char(*bufs)[512] = calloc(n, sizeof *bufs);
	size_t *got = calloc(n, sizeof *got);
	double end = now() + 20;
	struct epoll_event evs[64];
	while (late + late_bad < waiting && now() < end) {
		int k = epoll_wait(ep, evs, 64, 100);
		for (int j = 0; j < k; j++) {
			unsigned i = evs[j].data.u32;
			ssize_t r = recv(fds[i], bufs[i] + got[i], sizeof bufs[i] - got[i], MSG_DONTWAIT);
			int s = 0;
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r > 0) {
				got[i] += (size_t)r;
				long l = resp_len(bufs[i], got[i], &s);
				if (l == 0)
					continue;
			}
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
			close(fds[i]);
			fds[i] = -1;
			if (s == 200)
				late++;
			else
				late_bad++;
		}
	}
	if (late != waiting)
		FAIL("nofile: after recovery %u of %u waiting connections answered 200 (%u failed)", late,
		     waiting, late_bad);
	printf("nofile_conns %u\nnofile_served_at_once %u\nnofile_served_again %u\nnofile_idle_cpu_pct %.1f\n"
	       "nofile_answered_after_recovery %u\nnofile_waiting %u\n",
	       n, first, again_ok, busy * 100, late, waiting);
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	close(ep);
	free(fds);
	free(st);
	free(again);
	free(st2);
	free(bufs);
	free(got);
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: hostile_httpd idle PORT N HOLD | slowloris PORT N T | storm PORT N S |\n"
			"                     pipeline PORT BURSTS N | slowread PORT N T | nofile PORT N PID\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 4)
		return usage();
	const char *m = argv[1];
	port = (unsigned)strtoul(argv[2], NULL, 10);
	unsigned n = (unsigned)strtoul(argv[3], NULL, 10);
	if (!port || !n)
		return usage();
	if (!strcmp(m, "idle") && argc == 5)
		mode_idle(n, strtod(argv[4], NULL));
	else if (!strcmp(m, "slowloris") && argc == 5)
		mode_slowloris(n, strtod(argv[4], NULL));
	else if (!strcmp(m, "storm") && argc == 5)
		mode_storm(n, strtod(argv[4], NULL));
	else if (!strcmp(m, "pipeline") && argc == 5)
		mode_pipeline(n, (unsigned)strtoul(argv[4], NULL, 10));
	else if (!strcmp(m, "slowread") && argc == 5)
		mode_slowread(n, strtod(argv[4], NULL));
	else if (!strcmp(m, "nofile") && argc == 5)
		mode_nofile(n, strtol(argv[4], NULL, 10));
	else
		return usage();
	printf("failures %u\n", failures);
	return failures ? 1 : 0;
}
