/* SPDX-License-Identifier: MIT */
/*
 * Multishot accept (urt_acceptor) and multishot receive into provided
 * buffers (urt_bufring, urt_receiver). Every behavioural test runs twice:
 * with multishot requests, and with URT_OPT_NO_MULTISHOT (the one-shot
 * fallback older kernels get), through RUN_BOTH.
 *
 * Covered: queueing of connections that arrive before anyone accepts,
 * FIFO hand-out to several waiters, cancel/deadline of a waiting task with
 * the request left armed, urt_sock_close of the listener, -EMFILE handed
 * out once, connections closed by urt_acceptor_free; receive order and
 * content across a pool small enough to run dry (-ENOBUFS re-arms and the
 * private-buffer path), a pool shared by connections, EOF after queued
 * data, peer reset, deadline and cancel with data arriving later, -EBUSY,
 * CQ overflow with a tiny CQ, freeing in any order, bad input. The
 * multishot runs also assert that one SQE served many connections.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(multishot, .timeout = 60);

#define LOCAL "127.0.0.1"

static unsigned mode; /* loop flags of the current run: 0 or URT_OPT_NO_MULTISHOT */

static int run_mode(unsigned flags, int (*fn)(void *), void *arg, unsigned cq)
{
	struct urt_options o;
	memset(&o, 0, sizeof o);
	o.flags = flags | URT_OPT_QUIET;
	o.cq_entries = cq;
	if (cq)
		o.sq_entries = cq < 8 ? cq : 8;
	mode = flags;
	return urt_run_opts(&o, fn, arg);
}

#define RUN_BOTH(fn, arg)                                                       \
	do {                                                                    \
		cr_assert_eq(run_mode(0, fn, arg, 0), 0, "multishot run");      \
		cr_assert_eq(run_mode(URT_OPT_NO_MULTISHOT, fn, arg, 0), 0,     \
			     "fallback run");                                   \
	} while (0)

static int listen_local(int *port)
{
	int lfd = urt_tcp_listen(LOCAL, 0, 1024, 0);
	cr_assert_geq(lfd, 0);
	*port = urt_sock_port(lfd);
	cr_assert_gt(*port, 0);
	return lfd;
}

/* A blocking connect from a plain socket (the kernel completes it through
   the listen backlog without the server accepting). */
static int connect_now(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
	return fd;
}

static uint64_t sqes_now(void)
{
	struct urt_stats st;
	cr_assert_eq(urt_stats_get(&st), 0);
	return st.sqes;
}

/* ---------------------------------------------------------------------- */
/* Acceptor                                                                */

#define NCONN 100

static int accept_all_and_check(urt_acceptor *a, int *cfd, int n)
{
	for (int i = 0; i < n; i++) {
		int s = urt_acceptor_accept(a);
		cr_assert_geq(s, 0, "accept %d: %d", i, s);
		/* the i-th accepted socket talks to some client: ping through it */
		char b = (char)i;
		cr_assert_eq(send(s, &b, 1, 0), 1);
		close(s);
	}
	/* every client got exactly one byte */
	for (int i = 0; i < n; i++) {
		char b;
		cr_assert_eq(recv(cfd[i], &b, 1, 0), 1, "client %d", i);
		close(cfd[i]);
	}
	return 0;
}

static int t_queue_before_accept(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port), cfd[NCONN];
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	uint64_t sq0 = sqes_now();
	/* the first accept arms the request, then the clients pile up */
	int first = connect_now(port);
	int s = urt_acceptor_accept(a);
	cr_assert_geq(s, 0);
	close(s);
	close(first);
	for (int i = 0; i < NCONN; i++)
		cfd[i] = connect_now(port);
	OK(urt_sleep_ms(20)); /* let every CQE arrive before anyone takes one */
	accept_all_and_check(a, cfd, NCONN);
	if (!mode) /* one SQE served all 101 connections */
		cr_assert_leq(sqes_now() - sq0, 2);
	urt_acceptor_free(a);
	close(lfd);
	return 0;
}

/* 100 connections complete before anyone accepts them: all are queued
   and handed out, each a distinct working socket. */
Test(multishot, accept_queues_connections_that_arrive_early)
{
	SKIP_ON_EPOLL("counts SQEs of a multishot accept");
	RUN_BOTH(t_queue_before_accept, NULL);
}

struct waiters {
	urt_acceptor *a;
	int got[3];
	int order[3], norder;
};

struct waiter_arg {
	struct waiters *w;
	int me;
};

static int waiter_task(void *arg)
{
	struct waiter_arg *wa = arg;
	int fd = urt_acceptor_accept(wa->w->a);
	wa->w->got[wa->me] = fd;
	wa->w->order[wa->w->norder++] = wa->me;
	return 0;
}

static int t_fifo_waiters(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port);
	struct waiters w = {0};
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &w.a));
	urt_task *t[3];
	struct waiter_arg wa[3];
	for (int i = 0; i < 3; i++) {
		wa[i] = (struct waiter_arg){&w, i};
		t[i] = spawn_ok(waiter_task, &wa[i]);
		OK(urt_yield()); /* t[i] starts waiting before t[i+1] */
	}
	OK(urt_sleep_ms(5)); /* all three wait */
	int c[3];
	for (int i = 0; i < 3; i++)
		c[i] = connect_now(port);
	for (int i = 0; i < 3; i++)
		join_ok(t[i]);
	for (int i = 0; i < 3; i++) {
		cr_assert_geq(w.got[i], 0);
		if (!mode) /* one-shot accepts complete in the kernel's order */
			cr_assert_eq(w.order[i], i, "waiters served in FIFO order");
		close(w.got[i]);
		close(c[i]);
	}
	urt_acceptor_free(w.a);
	close(lfd);
	return 0;
}

Test(multishot, accept_waiters_served_fifo)
{
	RUN_BOTH(t_fifo_waiters, NULL);
}

static int accept_task(void *arg)
{
	return urt_acceptor_accept(arg);
}

/* A cancelled or timed-out waiter leaves the acceptor working. */
static int t_cancel_and_deadline(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port);
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	urt_task *t = spawn_ok(accept_task, a);
	OK(urt_sleep_ms(5));
	urt_cancel(t);
	cr_assert_eq(join_ok(t), -ECANCELED);

	urt_deadline_push(MS(10));
	cr_assert_eq(urt_acceptor_accept(a), -ETIMEDOUT);
	urt_deadline_pop();

	int c = connect_now(port);
	int s = urt_acceptor_accept(a);
	cr_assert_geq(s, 0);
	cr_assert_eq(send(c, "x", 1, 0), 1);
	char b;
	cr_assert_eq(recv(s, &b, 1, 0), 1);
	close(s);
	close(c);
	urt_acceptor_free(a);
	close(lfd);
	return 0;
}

Test(multishot, accept_cancel_and_deadline_keep_acceptor_usable)
{
	RUN_BOTH(t_cancel_and_deadline, NULL);
}

static int t_sock_close_listener(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port);
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	urt_task *t1 = spawn_ok(accept_task, a), *t2 = spawn_ok(accept_task, a);
	OK(urt_sleep_ms(5));
	OK(urt_sock_close(lfd));
	cr_assert_eq(join_ok(t1), -ECANCELED);
	cr_assert_eq(join_ok(t2), -ECANCELED);
	urt_acceptor_free(a);
	return 0;
}

Test(multishot, sock_close_of_listener_cancels_waiters)
{
	RUN_BOTH(t_sock_close_listener, NULL);
}

/* Out of fds: the error reaches a task once; with fds back, accepting
   resumes and the waiting connections are not lost. */
static int t_emfile(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port);
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	int c1 = connect_now(port), c2 = connect_now(port);
	struct rlimit old, rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)c2 + 1; /* no fd above the highest in use */
	/* fill any holes below so the next fd would be > c2 */
	int holes[64], nh = 0;
	while (nh < 64) {
		int h = dup(0);
		if (h < 0)
			break;
		if (h > c2) {
			close(h);
			break;
		}
		holes[nh++] = h;
	}
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	int r = urt_acceptor_accept(a);
	cr_assert(r == -EMFILE || r == -ENFILE, "got %d", r);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int i = 0; i < nh; i++)
		close(holes[i]);
	int s1 = urt_acceptor_accept(a), s2 = urt_acceptor_accept(a);
	cr_assert_geq(s1, 0);
	cr_assert_geq(s2, 0);
	close(s1);
	close(s2);
	close(c1);
	close(c2);
	urt_acceptor_free(a);
	close(lfd);
	return 0;
}

Test(multishot, accept_emfile_then_recovers)
{
	RUN_BOTH(t_emfile, NULL);
}

/* Connections accepted but never taken are closed by urt_acceptor_free:
   their clients see EOF. */
static int t_free_closes_queued(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port);
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	int c0 = connect_now(port);
	int s0 = urt_acceptor_accept(a); /* arms (multishot mode) */
	cr_assert_geq(s0, 0);
	int c[4];
	for (int i = 0; i < 4; i++)
		c[i] = connect_now(port);
	OK(urt_sleep_ms(20));
	urt_acceptor_free(a);
	OK(urt_sleep_ms(20));
	close(lfd);
	for (int i = 0; i < 4; i++) {
		char b;
		/* queued (closed → EOF) or still in the backlog (closed with the
		   listener → reset): never left hanging */
		ssize_t n = recv(c[i], &b, 1, 0);
		cr_assert(n == 0 || (n < 0 && errno == ECONNRESET), "client %d: %zd", i, n);
		close(c[i]);
	}
	close(s0);
	close(c0);
	return 0;
}

Test(multishot, free_closes_connections_not_taken)
{
	RUN_BOTH(t_free_closes_queued, NULL);
}

/* An acceptor left armed when the loop ends is freed with it (ASan/LSan
   runs would report a leak). */
static int t_left_armed(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port);
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	int c = connect_now(port);
	int s = urt_acceptor_accept(a);
	cr_assert_geq(s, 0);
	int c2 = connect_now(port);
	OK(urt_sleep_ms(10)); /* c2's server end sits in the queue */
	close(s);
	close(c);
	close(c2);
	close(lfd);
	return 0;
}

Test(multishot, acceptor_left_armed_at_loop_end)
{
	RUN_BOTH(t_left_armed, NULL);
}

static int t_acceptor_bad_input(void *arg)
{
	(void)arg;
	urt_acceptor *a = (urt_acceptor *)1;
	CHECK(urt_acceptor_new(3, 0, NULL), -EINVAL);
	CHECK(urt_acceptor_new(-1, 0, &a), -EBADF);
	cr_assert_null(a);
	CHECK(urt_acceptor_accept(NULL), -EINVAL);
	urt_acceptor_free(NULL);
	/* not a socket: the error comes from the kernel (or the fallback) */
	int p[2];
	cr_assert_eq(pipe(p), 0);
	OK(urt_acceptor_new(p[0], 0, &a));
	int r = urt_acceptor_accept(a);
	cr_assert(r == -ENOTSOCK || r == -EINVAL, "got %d", r);
	urt_acceptor_free(a);
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(multishot, acceptor_bad_input)
{
	RUN_BOTH(t_acceptor_bad_input, NULL);
	urt_acceptor *a;
	CHECK(urt_acceptor_new(0, 0, &a), -EPERM); /* no loop */
	urt_bufring *br;
	CHECK(urt_bufring_new(4, 4096, &br), -EPERM);
}

/* ---------------------------------------------------------------------- */
/* Receiver                                                                */

struct rx {
	unsigned nbufs;
	size_t bufsz;
	size_t total;
	uint32_t seed;
};

static int sender_task(void *arg)
{
	int *fds = arg; /* fds[0]: socket, fds[1]: total, fds[2]: seed */
	size_t total = (size_t)fds[1];
	uint8_t *buf = malloc(total);
	test_fill(buf, total, (uint32_t)fds[2]);
	/* uneven chunks with pauses, so the receiver sees many CQEs */
	size_t off = 0, step = 1;
	while (off < total) {
		size_t n = step < total - off ? step : total - off;
		ssize_t r = urt_send_all(fds[0], buf + off, n, 0, NULL);
		cr_assert_eq(r, (ssize_t)n);
		off += n;
		step = step * 7 % 20011 + 1;
		if ((off & 7) == 0)
			urt_yield();
	}
	free(buf);
	shutdown(fds[0], SHUT_WR);
	return 0;
}

/* Receive everything until EOF and check order and content. */
static size_t drain_check(urt_receiver *r, uint32_t seed, size_t bufsz)
{
	size_t got = 0;
	for (;;) {
		const void *p;
		ssize_t n = urt_receiver_recv(r, &p);
		cr_assert_geq(n, 0, "recv at %zu: %zd", got, n);
		if (n == 0)
			break;
		cr_assert_leq((size_t)n, bufsz);
		for (ssize_t i = 0; i < n; i++)
			if (((const uint8_t *)p)[i] != test_pat(seed, got + (size_t)i))
				cr_assert_fail("byte %zu differs", got + (size_t)i);
		got += (size_t)n;
	}
	cr_assert_eq(urt_receiver_recv(r, &(const void *){0}), 0, "EOF again");
	return got;
}

static void local_pair(int *c, int *s)
{
	int port, lfd = listen_local(&port);
	*c = connect_now(port);
	*s = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(*s, 0);
	close(lfd);
}

static int t_order(void *arg)
{
	struct rx *x = arg;
	int c, s;
	local_pair(&c, &s);
	urt_bufring *br;
	OK(urt_bufring_new(x->nbufs, x->bufsz, &br));
	urt_receiver *r;
	OK(urt_receiver_new(s, br, &r));
	int fds[3] = {c, (int)x->total, (int)x->seed};
	urt_task *t = spawn_ok(sender_task, fds);
	cr_assert_eq(drain_check(r, x->seed, x->bufsz), x->total);
	join_ok(t);
	urt_receiver_free(r);
	urt_bufring_free(br);
	close(c);
	close(s);
	return 0;
}

Test(multishot, recv_order_and_content_big_pool)
{
	struct rx x = {.nbufs = 64, .bufsz = 16384, .total = 1 << 20, .seed = 1};
	RUN_BOTH(t_order, &x);
}

/* Two 512-byte buffers for 1 MiB: the pool runs dry all the time, the
   multishot ends with -ENOBUFS and is re-armed; nothing is lost or
   reordered. */
Test(multishot, recv_tiny_pool_runs_dry)
{
	struct rx x = {.nbufs = 2, .bufsz = 512, .total = 1 << 20, .seed = 2};
	RUN_BOTH(t_order, &x);
}

Test(multishot, recv_one_buffer_pool)
{
	struct rx x = {.nbufs = 1, .bufsz = 1000, .total = 200000, .seed = 3};
	RUN_BOTH(t_order, &x);
}

/* One pool of one buffer shared by two connections: while A holds the
   only buffer, B still receives (through its private buffer). */
static int t_shared_dry_pool(void *arg)
{
	(void)arg;
	int ca, sa, cb, sb;
	local_pair(&ca, &sa);
	local_pair(&cb, &sb);
	urt_bufring *br;
	OK(urt_bufring_new(1, 4096, &br));
	urt_receiver *ra, *rb;
	OK(urt_receiver_new(sa, br, &ra));
	OK(urt_receiver_new(sb, br, &rb));
	cr_assert_eq(send(ca, "alpha", 5, 0), 5);
	const void *pa, *pb;
	cr_assert_eq(urt_receiver_recv(ra, &pa), 5);
	cr_assert_eq(memcmp(pa, "alpha", 5), 0);
	/* A still holds the buffer (pa valid); B must not stall */
	cr_assert_eq(send(cb, "bravo", 5, 0), 5);
	cr_assert_eq(urt_receiver_recv(rb, &pb), 5);
	cr_assert_eq(memcmp(pb, "bravo", 5), 0);
	cr_assert_eq(memcmp(pa, "alpha", 5), 0, "A's chunk untouched while lent");
	/* and after A gives its buffer back, both go on */
	cr_assert_eq(send(ca, "charlie", 7, 0), 7);
	cr_assert_eq(urt_receiver_recv(ra, &pa), 7);
	cr_assert_eq(memcmp(pa, "charlie", 7), 0);
	cr_assert_eq(send(cb, "delta", 5, 0), 5);
	cr_assert_eq(urt_receiver_recv(rb, &pb), 5);
	cr_assert_eq(memcmp(pb, "delta", 5), 0);
	urt_bufring_free(br); /* before its receivers: the pool outlives them */
	urt_receiver_free(ra);
	urt_receiver_free(rb);
	close(ca);
	close(sa);
	close(cb);
	close(sb);
	return 0;
}

Test(multishot, recv_shared_pool_never_stalls)
{
	RUN_BOTH(t_shared_dry_pool, NULL);
}

/* Data queued before EOF is delivered, then 0; a reset gives an error
   after the data that came first. */
static int t_eof_and_reset(void *arg)
{
	(void)arg;
	int c, s;
	local_pair(&c, &s);
	urt_bufring *br;
	OK(urt_bufring_new(8, 4096, &br));
	urt_receiver *r;
	OK(urt_receiver_new(s, br, &r));
	const void *p;
	cr_assert_eq(send(c, "hello", 5, 0), 5);
	cr_assert_eq(urt_receiver_recv(r, &p), 5);
	cr_assert_eq(send(c, "world", 5, 0), 5);
	close(c);
	OK(urt_sleep_ms(10)); /* data and EOF both arrive before we ask */
	cr_assert_eq(urt_receiver_recv(r, &p), 5);
	cr_assert_eq(memcmp(p, "world", 5), 0);
	cr_assert_eq(urt_receiver_recv(r, &p), 0);
	urt_receiver_free(r);
	close(s);

	local_pair(&c, &s);
	OK(urt_receiver_new(s, br, &r));
	cr_assert_eq(send(c, "x", 1, 0), 1);
	cr_assert_eq(urt_receiver_recv(r, &p), 1);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	cr_assert_eq(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	close(c); /* RST */
	cr_assert_eq(urt_receiver_recv(r, &p), -ECONNRESET);
	urt_receiver_free(r);
	urt_bufring_free(br);
	close(s);
	return 0;
}

Test(multishot, recv_eof_after_data_and_reset)
{
	RUN_BOTH(t_eof_and_reset, NULL);
}

static int recv_task(void *arg)
{
	const void *p;
	return (int)urt_receiver_recv(arg, &p);
}

static int t_deadline_cancel(void *arg)
{
	(void)arg;
	int c, s;
	local_pair(&c, &s);
	urt_bufring *br;
	OK(urt_bufring_new(8, 4096, &br));
	urt_receiver *r;
	OK(urt_receiver_new(s, br, &r));
	const void *p;
	urt_deadline_push(MS(10));
	cr_assert_eq(urt_receiver_recv(r, &p), -ETIMEDOUT);
	urt_deadline_pop();

	urt_task *t = spawn_ok(recv_task, r);
	OK(urt_sleep_ms(5));
	/* a second task on the same receiver */
	cr_assert_eq(urt_receiver_recv(r, &p), -EBUSY);
	urt_cancel(t);
	cr_assert_eq(join_ok(t), -ECANCELED);

	/* data that arrives after the timeout and the cancel is not lost */
	cr_assert_eq(send(c, "late", 4, 0), 4);
	cr_assert_eq(urt_receiver_recv(r, &p), 4);
	cr_assert_eq(memcmp(p, "late", 4), 0);

	/* urt_sock_close from another task ends a blocked receive */
	t = spawn_ok(recv_task, r);
	OK(urt_sleep_ms(5));
	OK(urt_sock_close(s));
	int res = join_ok(t);
	cr_assert(res == -ECANCELED || res == -EBADF, "got %d", res);
	urt_receiver_free(r);
	urt_bufring_free(br);
	close(c);
	return 0;
}

Test(multishot, recv_deadline_cancel_busy_sock_close)
{
	RUN_BOTH(t_deadline_cancel, NULL);
}

/* A CQ of 8 entries and 32 receivers with data arriving at once: the
   kernel overflows the CQ, which ends multishot requests; every byte still
   arrives, in order. */
#define NOVF 32
static int t_overflow(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port), c[NOVF], s[NOVF];
	urt_bufring *br;
	OK(urt_bufring_new(256, 256, &br));
	urt_receiver *r[NOVF];
	for (int i = 0; i < NOVF; i++) {
		c[i] = connect_now(port);
		s[i] = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		cr_assert_geq(s[i], 0);
		OK(urt_receiver_new(s[i], br, &r[i]));
	}
	/* arm all: one recv each with a short deadline */
	for (int i = 0; i < NOVF; i++) {
		const void *p;
		urt_deadline_push(MS(1));
		cr_assert_eq(urt_receiver_recv(r[i], &p), -ETIMEDOUT);
		urt_deadline_pop();
	}
	enum { PER = 4096 };
	uint8_t *buf = malloc(PER);
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < NOVF; i++) {
			test_fill(buf, PER, (uint32_t)(i * 4 + k));
			cr_assert_eq(send(c[i], buf, PER, 0), PER);
		}
	for (int i = 0; i < NOVF; i++)
		shutdown(c[i], SHUT_WR);
	for (int i = 0; i < NOVF; i++) {
		size_t got = 0;
		const void *p;
		ssize_t n;
		while ((n = urt_receiver_recv(r[i], &p)) > 0) {
			for (ssize_t j = 0; j < n; j++) {
				size_t at = got + (size_t)j;
				if (((const uint8_t *)p)[j] != test_pat((uint32_t)(i * 4 + (int)(at / PER)), at % PER))
					cr_assert_fail("conn %d byte %zu differs", i, at);
			}
			got += (size_t)n;
		}
		cr_assert_eq(n, 0);
		cr_assert_eq(got, (size_t)4 * PER, "conn %d", i);
		urt_receiver_free(r[i]);
		close(c[i]);
		close(s[i]);
	}
	free(buf);
	urt_bufring_free(br);
	close(lfd);
	return 0;
}

Test(multishot, recv_survives_cq_overflow)
{
	cr_assert_eq(run_mode(0, t_overflow, NULL, 8), 0);
	cr_assert_eq(run_mode(URT_OPT_NO_MULTISHOT, t_overflow, NULL, 8), 0);
}

/* Echo through an acceptor and receivers; in multishot mode the whole
   session costs far fewer SQEs than one recv per message would. */
struct echo {
	urt_bufring *br;
	int fd;
};

static int echo_task(void *arg)
{
	struct echo *e = arg;
	urt_receiver *r;
	OK(urt_receiver_new(e->fd, e->br, &r));
	const void *p;
	ssize_t n;
	while ((n = urt_receiver_recv(r, &p)) > 0)
		cr_assert_eq(urt_send_all(e->fd, p, (size_t)n, 0, NULL), n);
	urt_receiver_free(r);
	close(e->fd);
	free(e);
	return (int)n;
}

#define ECHO_CLIENTS 20
#define ECHO_MSGS 50
static int t_echo(void *arg)
{
	(void)arg;
	int port, lfd = listen_local(&port);
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	urt_bufring *br;
	OK(urt_bufring_new(64, 2048, &br));
	int c[ECHO_CLIENTS];
	urt_task *t[ECHO_CLIENTS];
	for (int i = 0; i < ECHO_CLIENTS; i++) {
		c[i] = connect_now(port);
		struct echo *e = malloc(sizeof *e);
		e->br = br;
		e->fd = urt_acceptor_accept(a);
		cr_assert_geq(e->fd, 0);
		t[i] = spawn_ok(echo_task, e);
	}
	uint64_t sq0 = sqes_now();
	for (int m = 0; m < ECHO_MSGS; m++)
		for (int i = 0; i < ECHO_CLIENTS; i++) {
			char out[64], in[64];
			test_fill(out, sizeof out, (uint32_t)(m * 100 + i));
			cr_assert_eq(send(c[i], out, sizeof out, 0), 64);
			size_t got = 0;
			while (got < sizeof in) {
				ssize_t n = urt_recv(c[i], in + got, sizeof in - got, 0);
				cr_assert_gt(n, 0);
				got += (size_t)n;
			}
			cr_assert_eq(memcmp(in, out, 64), 0);
		}
	uint64_t used = sqes_now() - sq0;
	/* per message: our urt_recv + the echo's send (+ a recv in fallback) */
	uint64_t msgs = ECHO_MSGS * ECHO_CLIENTS;
	if (!mode)
		cr_assert_leq(used, 2 * msgs + ECHO_CLIENTS, "multishot: no recv SQE per message");
	else
		cr_assert_geq(used, 3 * msgs, "fallback: one recv per message");
	for (int i = 0; i < ECHO_CLIENTS; i++) {
		close(c[i]);
		cr_assert_eq(join_ok(t[i]), 0);
	}
	urt_bufring_free(br);
	urt_acceptor_free(a);
	close(lfd);
	return 0;
}

Test(multishot, echo_through_acceptor_and_receivers)
{
	SKIP_ON_EPOLL("counts SQEs of multishot requests");
	RUN_BOTH(t_echo, NULL);
}

static int t_recv_bad_input(void *arg)
{
	(void)arg;
	urt_bufring *br = (urt_bufring *)1;
	CHECK(urt_bufring_new(0, 4096, &br), -EINVAL);
	cr_assert_null(br);
	CHECK(urt_bufring_new(3, 4096, &br), -EINVAL);
	CHECK(urt_bufring_new(65536, 4096, &br), -EINVAL);
	CHECK(urt_bufring_new(4, 0, &br), -EINVAL);
	CHECK(urt_bufring_new(4, (size_t)INT32_MAX + 1, &br), -EINVAL);
	CHECK(urt_bufring_new(4, 4096, NULL), -EINVAL);
	OK(urt_bufring_new(4, 4096, &br));
	urt_receiver *r = (urt_receiver *)1;
	CHECK(urt_receiver_new(0, NULL, &r), -EINVAL);
	CHECK(urt_receiver_new(-1, br, &r), -EBADF);
	CHECK(urt_receiver_new(0, br, NULL), -EINVAL);
	const void *p;
	CHECK(urt_receiver_recv(NULL, &p), -EINVAL);
	/* EBADF from the kernel for a closed fd */
	int fd = dup(0);
	close(fd);
	OK(urt_receiver_new(fd, br, &r));
	CHECK(urt_receiver_recv(r, NULL), -EINVAL);
	CHECK(urt_receiver_recv(r, &p), -EBADF);
	urt_receiver_free(r);
	urt_receiver_free(NULL);
	urt_bufring_free(NULL);
	/* several pools at once get distinct group ids */
	urt_bufring *more[8];
	for (int i = 0; i < 8; i++)
		OK(urt_bufring_new(2, 64, &more[i]));
	for (int i = 0; i < 8; i++)
		urt_bufring_free(more[i]);
	urt_bufring_free(br);
	return 0;
}

Test(multishot, receiver_bad_input)
{
	RUN_BOTH(t_recv_bad_input, NULL);
}

/* Receivers and a pool left alive at loop end are freed with the loop. */
static int t_left_alive(void *arg)
{
	(void)arg;
	int c, s;
	local_pair(&c, &s);
	urt_bufring *br;
	OK(urt_bufring_new(4, 4096, &br));
	urt_receiver *r;
	OK(urt_receiver_new(s, br, &r));
	cr_assert_eq(send(c, "abc", 3, 0), 3);
	const void *p;
	cr_assert_eq(urt_receiver_recv(r, &p), 3);
	cr_assert_eq(send(c, "def", 3, 0), 3);
	OK(urt_sleep_ms(5)); /* "def" queued, request armed */
	close(c);
	close(s);
	return 0;
}

Test(multishot, receiver_left_armed_at_loop_end)
{
	RUN_BOTH(t_left_alive, NULL);
}
