/* SPDX-License-Identifier: MIT */
/*
 * soak_echo: the echo soak's client (issue 23; doc/soak.md). It opens
 * --conns connections to an echo server on 127.0.0.1:--port, then for
 * --duration seconds has every connection send messages of seeded
 * pseudo-random sizes and contents and verifies every byte that comes back.
 * It reads the server's RSS (/proc/PID/status VmRSS, --pid) once all
 * connections are up and --warmup seconds have passed, and again at the
 * end of the run with every connection still open, and prints both.
 *
 * Plain epoll and no urt on purpose: the client's bugs and the server's
 * must not be correlated (a runtime bug that corrupted or lost bytes the
 * same way on both sides could otherwise cancel out, and a client that
 * stalls with the server would hide a server stall).
 *
 * Each connection owns two copies of one generator (xorshift64*, seeded
 * from --seed and the connection's index): one makes the bytes sent, the
 * other the bytes expected, so every byte is checked without storing what
 * was sent. A message is sent only after the previous one has come back
 * whole (request/response); sizes are mostly small with some up to 64 KiB,
 * and each connection's first message is 64 KiB (warm-up: the server's
 * buffers are touched in full before the first RSS sample).
 *
 * Prints "key value" lines (the script builds its summary from them) and
 * exits 0 only if every connection was established, held for the whole
 * run, and every byte came back right; 1 otherwise, 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#include "rss.h"

#define MAX_MSG 65536
#define CONNECTING_MAX 256 /* connects in flight: stay under the listen backlog */

struct gen {
	uint64_t s;
};

static uint64_t gen_next(struct gen *g)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return g->s * 2685821657736338717ull;
}

/* A connection: its generators, the message in flight and what is left of it. */
struct conn {
	int fd;
	int state; /* 0 not started, 1 connecting, 2 up, 3 done, 4 failed */
	struct gen tx, rx, sizes;
	uint64_t tx_word, rx_word; /* the current 8 bytes of each stream */
	unsigned tx_pos, rx_pos;   /* bytes of it used (8: take the next word) */
	size_t msg;                /* size of the message in flight */
	size_t sent, got;          /* of it */
	uint64_t bytes;            /* verified */
	uint64_t msgs;
	bool want_out;
};

static struct {
	unsigned conns;
	unsigned port;
	double duration, warmup;
	uint64_t seed;
	long pid;
} O = {.conns = 100, .duration = 5, .warmup = 1, .seed = 1};

static int ep;
static uint64_t errors;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t tx_byte(struct conn *c)
{
	if (c->tx_pos == 8) {
		c->tx_word = gen_next(&c->tx);
		c->tx_pos = 0;
	}
	return (uint8_t)(c->tx_word >> (8 * c->tx_pos++));
}

static uint8_t rx_byte(struct conn *c)
{
	if (c->rx_pos == 8) {
		c->rx_word = gen_next(&c->rx);
		c->rx_pos = 0;
	}
	return (uint8_t)(c->rx_word >> (8 * c->rx_pos++));
}

/* Sizes: 1-64 bytes half the time, up to 4 KiB mostly, now and then up to 64 KiB. */
static size_t next_size(struct conn *c)
{
	uint64_t r = gen_next(&c->sizes);
	unsigned k = r % 16;
	r >>= 8;
	if (k < 8)
		return 1 + r % 64;
	if (k < 15)
		return 1 + r % 4096;
	return 1 + r % MAX_MSG;
}

static void fail_conn(struct conn *c, unsigned i, const char *what, int err)
{
	if (errors < 20)
		fprintf(stderr, "soak_echo: conn %u: %s%s%s (after %" PRIu64 " bytes)\n", i, what,
			err ? ": " : "", err ? strerror(err) : "", c->bytes);
	errors++;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = 4;
}

static void set_out(struct conn *c, unsigned i, bool on)
{
	if (c->want_out == on)
		return;
	c->want_out = on;
	struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u32 = i};
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void start_conn(struct conn *c, unsigned i)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fprintf(stderr, "soak_echo: socket: %s\n", strerror(errno));
		errors++;
		c->state = 4;
		return;
	}
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(O.port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	c->state = 1;
	c->want_out = true;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = i};
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
		fail_conn(c, i, "connect", errno);
}

/* Send what the socket takes of the message in flight. */
static void do_send(struct conn *c, unsigned i)
{
	uint8_t buf[MAX_MSG];
	while (c->sent < c->msg) {
		size_t n = c->msg - c->sent;
		/* regenerate only what is sent: keep a copy of the generator */
		uint64_t w = c->tx_word;
		unsigned p = c->tx_pos;
		struct gen g = c->tx;
		for (size_t k = 0; k < n; k++)
			buf[k] = tx_byte(c);
		ssize_t s = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (s < 0) {
			c->tx_word = w, c->tx_pos = p, c->tx = g;
			if (errno == EAGAIN) {
				set_out(c, i, true);
				return;
			}
			fail_conn(c, i, "send", errno);
			return;
		}
		if ((size_t)s < n) { /* rewind the generator to just after what went */
			c->tx_word = w, c->tx_pos = p, c->tx = g;
			for (ssize_t k = 0; k < s; k++)
				tx_byte(c);
		}
		c->sent += (size_t)s;
	}
	set_out(c, i, false);
}

/* Start the next message, or finish the connection when the run is over. */
static void next_msg(struct conn *c, unsigned i, bool running)
{
	if (!running) {
		c->state = 3;
		return;
	}
	/* the first message is the largest, so that the server's buffers are
	   all touched during the warm-up, not counted as growth later */
	c->msg = c->msgs ? next_size(c) : MAX_MSG;
	c->sent = c->got = 0;
	do_send(c, i);
}

static void do_recv(struct conn *c, unsigned i, bool running)
{
	uint8_t buf[MAX_MSG];
	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			fail_conn(c, i, "recv", errno);
			return;
		}
		if (n == 0) {
			fail_conn(c, i, "server closed the connection", 0);
			return;
		}
		if (c->got + (size_t)n > c->sent) {
			fail_conn(c, i, "more bytes echoed than sent", 0);
			return;
		}
		for (ssize_t k = 0; k < n; k++)
			if (buf[k] != rx_byte(c)) {
				fail_conn(c, i, "echoed byte differs", 0);
				return;
			}
		c->got += (size_t)n;
		c->bytes += (uint64_t)n;
		if (c->got == c->msg) {
			c->msgs++;
			next_msg(c, i, running);
			if (c->state != 2)
				return;
		}
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: soak_echo --port N [--conns N] [--duration S] [--warmup S] "
			"[--seed N] [--pid SERVER_PID]\n");
	return 2;
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (!strcmp(o, "--port"))
			O.port = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(o, "--conns"))
			O.conns = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(o, "--duration"))
			O.duration = strtod(v, NULL);
		else if (!strcmp(o, "--warmup"))
			O.warmup = strtod(v, NULL);
		else if (!strcmp(o, "--seed"))
			O.seed = strtoull(v, NULL, 10);
		else if (!strcmp(o, "--pid"))
			O.pid = strtol(v, NULL, 10);
		else
			return usage();
	}
	if (argc % 2 == 0 || !O.port || !O.conns)
		return usage();
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < O.conns + 64) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < O.conns + 64) {
			fprintf(stderr, "soak_echo: RLIMIT_NOFILE %lu is too low for %u connections\n",
				(unsigned long)rl.rlim_cur, O.conns);
			return 1;
		}
	}
	struct conn *cs = calloc(O.conns, sizeof *cs);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || ep < 0)
		return 1;
	for (unsigned i = 0; i < O.conns; i++) {
		uint64_t s = (O.seed * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)(i + 1) << 20) ^ 0x5EED;
		cs[i].tx.s = cs[i].rx.s = s ? s : 1;
		cs[i].sizes.s = s * 31 + 7;
		cs[i].tx_pos = cs[i].rx_pos = 8;
		cs[i].fd = -1;
	}
	/* connect, CONNECTING_MAX at a time; every connection starts sending
	   as soon as it is up */
	unsigned next = 0, connecting = 0, up = 0, done = 0;
	double t0 = now(), t_up = 0, t_end = 0, t_rss = 0;
	long rss_start = -1, rss_end = -1, rss_max = -1;
	bool running = true;
	struct epoll_event evs[512];
	for (;;) {
		while (running && next < O.conns && connecting < CONNECTING_MAX) {
			start_conn(&cs[next], next);
			if (cs[next].state == 1)
				connecting++;
			next++;
		}
		double t = now();
		if (!t_up && next == O.conns && connecting == 0) {
			t_up = t;
			unsigned held = 0;
			for (unsigned i = 0; i < O.conns; i++)
				held += cs[i].state == 2;
			printf("connected %u\nconnect_s %.2f\n", held, t_up - t0);
			fflush(stdout);
			t_end = t_up + O.duration;
		}
		if (t_up && rss_start < 0 && O.pid && t >= t_up + O.warmup) {
			rss_start = rss_kib(O.pid);
			t_rss = t;
		}
		if (O.pid && t_up && t - t_rss >= 1) { /* a peak, sampled once a second */
			long r = rss_kib(O.pid);
			if (r > rss_max)
				rss_max = r;
			t_rss = t;
		}
		if (running && t_up && t >= t_end) {
			running = false;
			/* the end sample: every connection is still open */
			if (O.pid)
				rss_end = rss_kib(O.pid);
			for (unsigned i = 0; i < O.conns; i++)
				if (cs[i].state == 2 && cs[i].got == cs[i].msg && cs[i].sent == cs[i].msg)
					cs[i].state = 3;
		}
		if (!running) {
			done = 0;
			for (unsigned i = 0; i < O.conns; i++)
				done += cs[i].state >= 3;
			if (done == O.conns)
				break;
			if (t > t_end + 30) {
				fprintf(stderr, "soak_echo: %u connections still waiting 30 s after the end\n",
					O.conns - done);
				errors += O.conns - done;
				break;
			}
		}
		if (!t_up && t - t0 > 120) {
			fprintf(stderr, "soak_echo: connecting took over 120 s\n");
			errors++;
			break;
		}
		int n = epoll_wait(ep, evs, 512, 100);
		for (int k = 0; k < n; k++) {
			unsigned i = evs[k].data.u32;
			struct conn *c = &cs[i];
			if (c->state == 1) {
				int err = 0;
				socklen_t len = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				connecting--;
				if (err) {
					fail_conn(c, i, "connect", err);
					continue;
				}
				c->state = 2;
				up++;
				next_msg(c, i, running);
				continue;
			}
			if (c->state != 2)
				continue;
			if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				do_recv(c, i, running);
			if (c->state == 2 && (evs[k].events & EPOLLOUT))
				do_send(c, i);
		}
	}
	uint64_t bytes = 0, msgs = 0;
	unsigned held = 0;
	for (unsigned i = 0; i < O.conns; i++) {
		bytes += cs[i].bytes;
		msgs += cs[i].msgs;
		held += cs[i].state == 3;
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	}
	printf("conns %u\nheld %u\nmessages %" PRIu64 "\nbytes_verified %" PRIu64 "\n"
	       "duration_s %.1f\nerrors %" PRIu64 "\n",
	       O.conns, held, msgs, bytes, O.duration, errors);
	if (O.pid)
		printf("rss_start_kib %ld\nrss_end_kib %ld\nrss_max_kib %ld\n", rss_start, rss_end, rss_max);
	free(cs);
	close(ep);
	return errors || held != O.conns || !bytes ? 1 : 0;
}
