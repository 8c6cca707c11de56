/* SPDX-License-Identifier: MIT */
/*
 * The socket API (include/urt.h, "Sockets"):
 *  - a TCP echo server (urt_tcp_listen + urt_accept loop, one task per
 *    connection with urt_recv/urt_send_all) with 1 and 500 concurrent
 *    clients, and over IPv6;
 *  - partial reads of one large urt_send_all, peer reset (RST), connect to a
 *    closed port, urt_shutdown(SHUT_WR) and half-close;
 *  - deadlines and cancellation of blocked accept/recv/send_all, and
 *    urt_sock_close of a socket another task is blocked on;
 *  - UDP urt_sendto/urt_recvfrom, urt_sendmsg/urt_recvmsg with iovecs;
 *  - sends to a peer that closed (-EPIPE/-ECONNRESET, never SIGPIPE);
 *  - bad input, -EPERM outside a task, socket option helpers.
 *
 * Every address is 127.0.0.1 (or ::1) with port 0. Timeouts are hang
 * guards only.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(net, .timeout = 60);

#define LOCAL "127.0.0.1"

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */


/* A listening socket on 127.0.0.1 with a kernel-chosen port. */
static int listen_local(int *port)
{
	int lfd = urt_tcp_listen(LOCAL, 0, 1024, 0);
	cr_assert_geq(lfd, 0, "urt_tcp_listen: %d", lfd);
	int p = urt_sock_port(lfd);
	cr_assert_gt(p, 0);
	cr_assert_leq(p, 65535);
	*port = p;
	return lfd;
}

/* A connected TCP pair inside one task: connect completes through the
   listen backlog, then accept picks the server end. */
struct pair {
	int lfd, port, cfd, sfd;
};

static void tcp_pair(struct pair *p)
{
	p->lfd = listen_local(&p->port);
	p->cfd = urt_tcp_connect(LOCAL, p->port);
	cr_assert_geq(p->cfd, 0, "urt_tcp_connect: %d", p->cfd);
	p->sfd = urt_accept(p->lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(p->sfd, 0, "urt_accept: %d", p->sfd);
}

static void pair_close(struct pair *p)
{
	if (p->cfd >= 0)
		close(p->cfd);
	if (p->sfd >= 0)
		close(p->sfd);
	if (p->lfd >= 0)
		close(p->lfd);
}

/* Receive exactly n bytes (or up to EOF/error). Returns the count or the
   negative errno of the failing recv. */
static ssize_t recv_exact(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = urt_recv(fd, (char *)buf + got, n - got, 0);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* ---------------------------------------------------------------------- */
/* Echo server                                                            */

#define MAXC 512
#define STILL_OPEN 1

struct srv;
struct conn {
	struct srv *s;
	int fd;
	int idx;
};

struct srv {
	int lfd;
	int max;          /* accept this many connections, then stop */
	int accepted;
	int accept_err;
	int status[MAXC]; /* per connection: STILL_OPEN, 0 (EOF) or the error */
	size_t bytes[MAXC];
	struct conn conns[MAXC];
	urt_group g;
};

static int echo_conn(void *arg)
{
	struct conn *c = arg;
	char buf[4096];
	for (;;) {
		ssize_t n = urt_recv(c->fd, buf, sizeof buf, 0);
		if (n <= 0) {
			c->s->status[c->idx] = (int)n;
			break;
		}
		ssize_t w = urt_send_all(c->fd, buf, (size_t)n, 0, NULL);
		if (w != n) {
			c->s->status[c->idx] = w < 0 ? (int)w : -EIO;
			break;
		}
		c->s->bytes[c->idx] += (size_t)n;
	}
	close(c->fd);
	return 0; /* outcomes are in status[]: a reset must not fail the group */
}

static int server_task(void *arg)
{
	struct srv *s = arg;
	urt_group_init(&s->g);
	while (s->accepted < s->max) {
		int fd = urt_accept(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			s->accept_err = fd;
			break;
		}
		struct conn *c = &s->conns[s->accepted];
		c->s = s;
		c->fd = fd;
		c->idx = s->accepted++;
		s->status[c->idx] = STILL_OPEN;
		cr_assert_not_null(urt_group_spawn(&s->g, echo_conn, c));
	}
	int r = urt_group_wait(&s->g);
	return s->accept_err ? s->accept_err : r;
}

struct client {
	int port;
	int idx;
};

/* Connect, send a distinct 64-byte message, check the echo, close. */
static int echo_client(void *arg)
{
	struct client *c = arg;
	char msg[64], back[64];
	test_fill(msg, sizeof msg, 1000u + (uint32_t)c->idx);
	snprintf(msg, 16, "client %06d", c->idx);
	int fd = urt_tcp_connect(LOCAL, c->port);
	if (fd < 0)
		return fd;
	ssize_t w = urt_send_all(fd, msg, sizeof msg, 0, NULL);
	cr_assert_eq(w, (ssize_t)sizeof msg, "client %d send_all", c->idx);
	memset(back, 0, sizeof back);
	ssize_t r = recv_exact(fd, back, sizeof back);
	cr_assert_eq(r, (ssize_t)sizeof back, "client %d recv", c->idx);
	cr_assert_eq(memcmp(msg, back, sizeof msg), 0, "client %d got another echo", c->idx);
	close(fd);
	return 0;
}

static int echo_one_main(void *arg)
{
	(void)arg;
	static struct srv s;
	int port;
	s.lfd = listen_local(&port);
	s.max = 1;
	urt_task *st = spawn_ok(server_task, &s);

	struct client c = {.port = port, .idx = 7};
	urt_task *ct = spawn_ok(echo_client, &c);
	cr_assert_eq(join_ok(ct), 0);
	cr_assert_eq(join_ok(st), 0);
	cr_assert_eq(s.accepted, 1);
	cr_assert_eq(s.status[0], 0); /* the server saw EOF after the echo */
	cr_assert_eq(s.bytes[0], (size_t)64);
	close(s.lfd);
	return 0;
}

Test(net, echo_round_trip_one_client)
{
	RUN(echo_one_main, NULL);
}

static int echo_many_main(void *arg)
{
	(void)arg;
	enum { N = 500 };
	static struct srv s;
	static struct client c[N];
	static urt_task *t[N];
	static int res[N];
	int port;
	s.lfd = listen_local(&port);
	s.max = N;
	urt_task *st = spawn_ok(server_task, &s);
	for (int i = 0; i < N; i++) {
		c[i].port = port;
		c[i].idx = i;
		t[i] = spawn_ok(echo_client, &c[i]);
	}
	int failed = urt_join_all(t, N, res);
	for (int i = 0; i < N; i++)
		cr_assert_eq(res[i], 0, "client %d", i);
	cr_assert_eq(failed, 0);
	cr_assert_eq(join_ok(st), 0);
	cr_assert_eq(s.accepted, N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(s.status[i], 0, "conn %d", i);
		cr_assert_eq(s.bytes[i], (size_t)64, "conn %d", i);
	}
	close(s.lfd);
	return 0;
}

Test(net, echo_500_concurrent_clients)
{
	raise_nofile();
	RUN(echo_many_main, NULL);
}

/* The same with a 1024-entry SQ ring, as an application would size it. */
Test(net, echo_500_concurrent_clients_big_ring)
{
	raise_nofile();
	struct urt_options o;
	memset(&o, 0, sizeof o);
	o.sq_entries = 1024;
	cr_assert_eq(urt_run_opts(&o, echo_many_main, NULL), 0);
}

static int echo_v6_main(void *arg)
{
	(void)arg;
	int lfd = urt_tcp_listen("::1", 0, 16, 0);
	if (lfd == -EADDRNOTAVAIL || lfd == -EAFNOSUPPORT)
		return 1; /* no IPv6 loopback here */
	cr_assert_geq(lfd, 0);
	int port = urt_sock_port(lfd);
	cr_assert_gt(port, 0);
	int cfd = urt_tcp_connect("::1", port);
	cr_assert_geq(cfd, 0);
	struct sockaddr_in6 peer;
	unsigned plen = sizeof peer;
	memset(&peer, 0, sizeof peer);
	int sfd = urt_accept(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	cr_assert_geq(sfd, 0);
	cr_assert_eq(plen, (unsigned)sizeof peer);
	cr_assert_eq(peer.sin6_family, AF_INET6);
	cr_assert_eq((int)ntohs(peer.sin6_port), urt_sock_port(cfd));
	cr_assert_eq(urt_send_all(cfd, "six", 3, 0, NULL), 3);
	char buf[8] = {0};
	cr_assert_eq(recv_exact(sfd, buf, 3), 3);
	cr_assert_eq(memcmp(buf, "six", 3), 0);
	close(cfd);
	close(sfd);
	close(lfd);
	return 0;
}

Test(net, ipv6_loopback)
{
	int r = urt_run(echo_v6_main, NULL);
	if (r == 1)
		cr_skip_test("no IPv6 loopback");
	cr_assert_eq(r, 0);
}

/* urt_accept fills in the peer's address. */
static int accept_addr_main(void *arg)
{
	(void)arg;
	int port;
	int lfd = listen_local(&port);
	int cfd = urt_tcp_connect(LOCAL, port);
	cr_assert_geq(cfd, 0);
	struct sockaddr_in peer;
	unsigned plen = sizeof peer;
	memset(&peer, 0, sizeof peer);
	int sfd = urt_accept(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
	cr_assert_geq(sfd, 0);
	cr_assert_eq(plen, (unsigned)sizeof peer);
	cr_assert_eq(peer.sin_family, AF_INET);
	cr_assert_eq(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	cr_assert_eq((int)ntohs(peer.sin_port), urt_sock_port(cfd));
	int fl = fcntl(sfd, F_GETFL);
	cr_assert_neq(fl & O_NONBLOCK, 0); /* accept flags honoured */
	cr_assert_neq(fcntl(sfd, F_GETFD) & FD_CLOEXEC, 0);
	cr_assert_neq(fcntl(cfd, F_GETFD) & FD_CLOEXEC, 0); /* helpers: CLOEXEC */
	cr_assert_neq(fcntl(lfd, F_GETFD) & FD_CLOEXEC, 0);
	char b[4] = {0};
	cr_assert_eq(urt_send_all(cfd, "abcd", 4, 0, NULL), 4);
	cr_assert_eq(recv_exact(sfd, b, 4), 4);
	cr_assert_eq(memcmp(b, "abcd", 4), 0);
	close(cfd);
	close(sfd);
	close(lfd);
	return 0;
}

Test(net, accept_reports_peer_address_and_flags)
{
	RUN(accept_addr_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Partial reads                                                          */

#define BIG (100 * 1024)

struct bigrx {
	int lfd;
	size_t got;
	int recvs;
	int bad_at; /* first mismatching offset, or -1 */
	int last;
};

static int small_reader(void *arg)
{
	struct bigrx *b = arg;
	int fd = urt_accept(b->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	b->bad_at = -1;
	uint8_t buf[997]; /* odd size: chunks never line up with segments */
	for (;;) {
		size_t want = 1 + (size_t)(b->recvs * 131) % sizeof buf;
		ssize_t r = urt_recv(fd, buf, want, 0);
		if (r <= 0) {
			b->last = (int)r;
			break;
		}
		if ((size_t)r > want) {
			b->last = -EOVERFLOW;
			break;
		}
		for (ssize_t i = 0; i < r; i++)
			if (b->bad_at < 0 && buf[i] != test_pat(42, b->got + (size_t)i))
				b->bad_at = (int)(b->got + (size_t)i);
		b->got += (size_t)r;
		b->recvs++;
	}
	close(fd);
	return 0;
}

static int partial_main(void *arg)
{
	(void)arg;
	static struct bigrx b;
	static uint8_t data[BIG];
	int port;
	b.lfd = listen_local(&port);
	test_fill(data, sizeof data, 42);
	urt_task *rt = spawn_ok(small_reader, &b);
	int fd = urt_tcp_connect(LOCAL, port);
	cr_assert_geq(fd, 0);
	size_t done = 0;
	cr_assert_eq(urt_send_all(fd, data, sizeof data, 0, &done), (ssize_t)BIG);
	cr_assert_eq(done, (size_t)BIG);
	close(fd); /* EOF for the reader */
	cr_assert_eq(join_ok(rt), 0);
	cr_assert_eq(b.last, 0); /* ended at EOF, not an error */
	cr_assert_eq(b.got, (size_t)BIG);
	cr_assert_eq(b.bad_at, -1, "content differs at offset %d", b.bad_at);
	cr_assert_geq(b.recvs, BIG / 997); /* each recv was capped by its size */
	close(b.lfd);
	return 0;
}

Test(net, partial_reads_of_one_large_send)
{
	RUN(partial_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Peer reset                                                             */

static int reset_main(void *arg)
{
	(void)arg;
	static struct srv s;
	int port;
	s.lfd = listen_local(&port);
	s.max = 2;
	urt_task *st = spawn_ok(server_task, &s);

	/* Client 1: a round trip (so the server's echo task is in recv), then
	   close with SO_LINGER {1, 0}: the kernel sends RST. */
	int fd = urt_tcp_connect(LOCAL, port);
	cr_assert_geq(fd, 0);
	cr_assert_eq(urt_send_all(fd, "ping", 4, 0, NULL), 4);
	char b[8] = {0};
	cr_assert_eq(recv_exact(fd, b, 4), 4);
	cr_assert_eq(memcmp(b, "ping", 4), 0);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	cr_assert_eq(close(fd), 0);

	/* Wait for the server to notice (hang guard: the test timeout). */
	while (s.status[0] == STILL_OPEN)
		cr_assert_eq(urt_sleep_ms(1), 0);
	cr_assert(s.status[0] == -ECONNRESET || s.status[0] == 0,
		  "server recv after RST: %d (%s)", s.status[0], strerror(-s.status[0]));

	/* Client 2 is still served. */
	struct client c = {.port = port, .idx = 2};
	urt_task *ct = spawn_ok(echo_client, &c);
	cr_assert_eq(join_ok(ct), 0);
	cr_assert_eq(join_ok(st), 0);
	cr_assert_eq(s.accepted, 2);
	cr_assert_eq(s.status[1], 0);
	cr_assert_eq(s.bytes[1], (size_t)64);
	close(s.lfd);
	return 0;
}

Test(net, peer_reset_then_next_client)
{
	RUN(reset_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Connect to a closed port                                               */

static int refused_main(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	int port = urt_sock_port(fd);
	cr_assert_gt(port, 0);
	close(fd);
	CHECK(urt_tcp_connect(LOCAL, port), -ECONNREFUSED);

	/* urt_connect on a socket of our own gives the same. */
	int s = urt_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	a.sin_port = htons((uint16_t)port);
	CHECK(urt_connect(s, (struct sockaddr *)&a, sizeof a), -ECONNREFUSED);
	close(s);
	return 0;
}

Test(net, connect_to_closed_port_refused)
{
	RUN(refused_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Deadlines                                                              */

static int deadline_main(void *arg)
{
	(void)arg;
	struct pair p;
	tcp_pair(&p);
	char buf[16];
	int64_t t0 = urt_now_ns();
	OK(urt_deadline_push(MS(20)));
	ssize_t r = urt_recv(p.sfd, buf, sizeof buf, 0);
	urt_deadline_pop();
	int64_t el = urt_now_ns() - t0;
	CHECK(r, -ETIMEDOUT);
	cr_assert_geq(el, MS(20)); /* not early */

	/* The connection still works, and no byte went to the timed-out recv. */
	cr_assert_eq(urt_send_all(p.cfd, "after", 5, 0, NULL), 5);
	memset(buf, 0, sizeof buf);
	cr_assert_eq(recv_exact(p.sfd, buf, 5), 5);
	cr_assert_eq(memcmp(buf, "after", 5), 0);

	/* And the other direction, with a deadline that does not expire. */
	OK(urt_deadline_push(SEC(30)));
	cr_assert_eq(urt_send_all(p.sfd, "back", 4, 0, NULL), 4);
	memset(buf, 0, sizeof buf);
	cr_assert_eq(recv_exact(p.cfd, buf, 4), 4);
	urt_deadline_pop();
	cr_assert_eq(memcmp(buf, "back", 4), 0);
	pair_close(&p);
	return 0;
}

Test(net, deadline_on_recv_then_connection_works)
{
	RUN(deadline_main, NULL);
}

static int deadline_accept_main(void *arg)
{
	(void)arg;
	int port;
	int lfd = listen_local(&port);
	OK(urt_deadline_push(MS(20)));
	int r = urt_accept(lfd, NULL, NULL, 0);
	urt_deadline_pop();
	CHECK(r, -ETIMEDOUT);
	/* The listener still accepts. */
	int cfd = urt_tcp_connect(LOCAL, port);
	cr_assert_geq(cfd, 0);
	int sfd = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(sfd, 0);
	close(sfd);
	close(cfd);
	close(lfd);
	return 0;
}

Test(net, deadline_on_accept)
{
	RUN(deadline_accept_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Cancellation                                                           */

struct blk {
	int fd;
	ssize_t r;
	char buf[64];
};

static int accept_blocker(void *arg)
{
	struct blk *b = arg;
	b->r = urt_accept(b->fd, NULL, NULL, SOCK_CLOEXEC);
	return (int)b->r;
}

static int recv_blocker(void *arg)
{
	struct blk *b = arg;
	b->r = urt_recv(b->fd, b->buf, sizeof b->buf, 0);
	return (int)b->r;
}

static int cancel_accept_main(void *arg)
{
	(void)arg;
	int port;
	int lfd = listen_local(&port);
	struct blk b = {.fd = lfd, .r = 12345};
	urt_task *t = spawn_ok(accept_blocker, &b);
	OK(urt_sleep_ms(5)); /* it is now waiting in the kernel */
	cr_assert(!urt_task_done(t));
	urt_cancel(t);
	int res = 0;
	OK(urt_join(t, &res));
	CHECK(res, -ECANCELED);
	CHECK(b.r, -ECANCELED);
	/* The cancelled accept took no connection: the next one gets it. */
	int cfd = urt_tcp_connect(LOCAL, port);
	cr_assert_geq(cfd, 0);
	int sfd = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(sfd, 0);
	cr_assert_eq(urt_send_all(cfd, "x", 1, 0, NULL), 1);
	char c = 0;
	cr_assert_eq(urt_recv(sfd, &c, 1, 0), 1);
	cr_assert_eq(c, 'x');
	close(sfd);
	close(cfd);
	close(lfd);
	return 0;
}

Test(net, cancel_blocked_accept)
{
	RUN(cancel_accept_main, NULL);
}

static int cancel_recv_main(void *arg)
{
	(void)arg;
	struct pair p;
	tcp_pair(&p);
	struct blk b = {.fd = p.sfd, .r = 12345};
	urt_task *t = spawn_ok(recv_blocker, &b);
	OK(urt_sleep_ms(5));
	cr_assert(!urt_task_done(t));
	urt_cancel(t);
	int res = 0;
	OK(urt_join(t, &res));
	CHECK(res, -ECANCELED);
	CHECK(b.r, -ECANCELED);
	/* The data sent now is ours, not the cancelled recv's. */
	cr_assert_eq(urt_send_all(p.cfd, "hello", 5, 0, NULL), 5);
	char buf[8] = {0};
	cr_assert_eq(recv_exact(p.sfd, buf, 5), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	cr_assert_eq(b.buf[0], 0); /* the cancelled op's buffer untouched */
	pair_close(&p);
	return 0;
}

Test(net, cancel_blocked_recv)
{
	RUN(cancel_recv_main, NULL);
}

/* A send_all stuck on a peer that does not read: cancelling it reports how
   much went out, and exactly that much arrives. */
struct sender {
	int fd;
	const uint8_t *data;
	size_t n;
	size_t done;
	ssize_t r;
};

static int send_all_task(void *arg)
{
	struct sender *s = arg;
	s->r = urt_send_all(s->fd, s->data, s->n, 0, &s->done);
	return (int)(s->r < 0 ? s->r : 0);
}

static int cancel_send_all_main(void *arg)
{
	(void)arg;
	enum { N = 64 << 20 };
	uint8_t *data = malloc(N);
	cr_assert_not_null(data);
	test_fill(data, N, 9);
	struct pair p;
	tcp_pair(&p);
	struct sender s = {.fd = p.cfd, .data = data, .n = N, .done = (size_t)-1, .r = 12345};
	urt_task *t = spawn_ok(send_all_task, &s);
	/* Wait until it has stalled: no reader, socket buffers full. */
	OK(urt_sleep_ms(20));
	cr_assert(!urt_task_done(t), "64 MiB went out without a reader?");
	urt_cancel(t);
	int res = 0;
	OK(urt_join(t, &res));
	CHECK(res, -ECANCELED);
	CHECK(s.r, -ECANCELED);
	cr_assert_lt(s.done, (size_t)N);
	cr_assert_gt(s.done, (size_t)0);
	close(p.cfd);
	p.cfd = -1;
	/* Read everything up to EOF: exactly `done` bytes, in order. */
	uint8_t *got = malloc(N);
	cr_assert_not_null(got);
	ssize_t r = recv_exact(p.sfd, got, N);
	cr_assert_eq(r, (ssize_t)s.done);
	cr_assert_eq(memcmp(got, data, s.done), 0);
	free(got);
	free(data);
	pair_close(&p);
	return 0;
}

Test(net, cancel_blocked_send_all_reports_done)
{
	RUN(cancel_send_all_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* urt_sock_close while another task waits on the socket                  */

static int sock_close_recv_main(void *arg)
{
	(void)arg;
	struct pair p;
	tcp_pair(&p);
	struct blk b = {.fd = p.sfd, .r = 12345};
	urt_task *t = spawn_ok(recv_blocker, &b);
	OK(urt_sleep_ms(5)); /* the recv is in flight */
	cr_assert(!urt_task_done(t));
	int fd = p.sfd;
	OK(urt_sock_close(fd));
	/* Checked before anything else runs, so the number cannot be reused. */
	errno = 0;
	cr_assert_eq(fcntl(fd, F_GETFD), -1);
	cr_assert_eq(errno, EBADF);
	p.sfd = -1;
	int res = 0;
	OK(urt_wait_for(t, &res, SEC(10))); /* hang guard */
	CHECK(res, -ECANCELED);
	CHECK(b.r, -ECANCELED);
	/* The peer sees the close as EOF. */
	char c;
	CHECK(urt_recv(p.cfd, &c, 1, 0), 0);
	pair_close(&p);
	return 0;
}

Test(net, sock_close_cancels_blocked_recv)
{
	RUN(sock_close_recv_main, NULL);
}

static int sock_close_accept_main(void *arg)
{
	(void)arg;
	int port;
	int lfd = listen_local(&port);
	struct blk b[3];
	urt_task *t[3];
	for (int i = 0; i < 3; i++) {
		b[i] = (struct blk){.fd = lfd, .r = 12345};
		t[i] = spawn_ok(accept_blocker, &b[i]);
	}
	OK(urt_sleep_ms(5));
	OK(urt_sock_close(lfd)); /* cancels all three */
	errno = 0;
	cr_assert_eq(fcntl(lfd, F_GETFD), -1);
	cr_assert_eq(errno, EBADF);
	for (int i = 0; i < 3; i++) {
		int res = 0;
		OK(urt_wait_for(t[i], &res, SEC(10)));
		CHECK(res, -ECANCELED);
	}
	/* The port is no longer listening. */
	CHECK(urt_tcp_connect(LOCAL, port), -ECONNREFUSED);
	return 0;
}

Test(net, sock_close_cancels_all_blocked_accepts)
{
	RUN(sock_close_accept_main, NULL);
}

/* With nothing pending, urt_sock_close is a close. */
static int sock_close_idle_main(void *arg)
{
	(void)arg;
	struct pair p;
	tcp_pair(&p);
	int fd = p.cfd;
	OK(urt_sock_close(fd));
	errno = 0;
	cr_assert_eq(fcntl(fd, F_GETFD), -1);
	cr_assert_eq(errno, EBADF);
	p.cfd = -1;
	char c;
	CHECK(urt_recv(p.sfd, &c, 1, 0), 0);
	CHECK(urt_sock_close(-1), -EBADF);
	pair_close(&p);
	return 0;
}

Test(net, sock_close_idle_socket)
{
	RUN(sock_close_idle_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* UDP                                                                    */

static int udp_main(void *arg)
{
	(void)arg;
	int a = urt_udp_bind(LOCAL, 0);
	int b = urt_udp_bind(LOCAL, 0);
	cr_assert_geq(a, 0);
	cr_assert_geq(b, 0);
	int pa = urt_sock_port(a), pb = urt_sock_port(b);
	cr_assert_gt(pa, 0);
	cr_assert_gt(pb, 0);
	cr_assert_neq(pa, pb);
	cr_assert_neq(fcntl(a, F_GETFD) & FD_CLOEXEC, 0);

	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)pb)};
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(urt_sendto(a, "datagram-1", 10, 0, (struct sockaddr *)&to, sizeof to), 10);
	CHECK(urt_sendto(a, "dg2", 3, 0, (struct sockaddr *)&to, sizeof to), 3);

	char buf[64] = {0};
	struct sockaddr_in from;
	memset(&from, 0, sizeof from);
	unsigned flen = sizeof from;
	CHECK(urt_recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen), 10);
	cr_assert_eq(memcmp(buf, "datagram-1", 10), 0);
	cr_assert_eq(flen, (unsigned)sizeof from);
	cr_assert_eq(from.sin_family, AF_INET);
	cr_assert_eq((int)ntohs(from.sin_port), pa);
	cr_assert_eq(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));

	/* Datagram boundaries hold; from may be NULL. */
	memset(buf, 0, sizeof buf);
	CHECK(urt_recvfrom(b, buf, sizeof buf, 0, NULL, NULL), 3);
	cr_assert_eq(memcmp(buf, "dg2", 3), 0);

	/* A blocked recvfrom is woken by a later datagram from another task. */
	struct blk w = {.fd = a, .r = 12345};
	urt_task *t = spawn_ok(recv_blocker, &w);
	OK(urt_sleep_ms(5));
	cr_assert(!urt_task_done(t));
	struct sockaddr_in toa = to;
	toa.sin_port = htons((uint16_t)pa);
	CHECK(urt_sendto(b, "reply", 5, 0, (struct sockaddr *)&toa, sizeof toa), 5);
	CHECK(join_ok(t), 5);
	cr_assert_eq(memcmp(w.buf, "reply", 5), 0);

	/* from without fromlen is refused. */
	CHECK(urt_recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, NULL), -EFAULT);
	close(a);
	close(b);
	return 0;
}

Test(net, udp_sendto_recvfrom)
{
	RUN(udp_main, NULL);
}

static int msg_main(void *arg)
{
	(void)arg;
	struct pair p;
	tcp_pair(&p);
	char h[] = "head-", t[] = "tail";
	struct iovec out[2] = {{h, 5}, {t, 4}};
	struct msghdr m = {.msg_iov = out, .msg_iovlen = 2};
	CHECK(urt_sendmsg(p.cfd, &m, 0), 9);
	char a[3] = {0}, b[16] = {0};
	struct msghdr mi = {0};
	size_t got = 0;
	while (got < 9) {
		/* rebuild the iovecs past what already arrived */
		struct iovec cur[2];
		int k = 0;
		if (got < 3)
			cur[k++] = (struct iovec){a + got, 3 - got};
		size_t boff = got > 3 ? got - 3 : 0;
		cur[k++] = (struct iovec){b + boff, sizeof b - boff};
		mi.msg_iov = cur;
		mi.msg_iovlen = (size_t)k;
		ssize_t r = urt_recvmsg(p.sfd, &mi, 0);
		cr_assert_gt(r, 0);
		got += (size_t)r;
	}
	cr_assert_eq(got, (size_t)9);
	cr_assert_eq(memcmp(a, "hea", 3), 0);
	cr_assert_eq(memcmp(b, "d-tail", 6), 0);
	CHECK(urt_sendmsg(p.cfd, NULL, 0), -EFAULT);
	CHECK(urt_recvmsg(p.sfd, NULL, 0), -EFAULT);
	pair_close(&p);
	return 0;
}

Test(net, sendmsg_recvmsg_iovecs)
{
	RUN(msg_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Peer closed: -EPIPE / -ECONNRESET, never SIGPIPE                       */

/* SIGPIPE keeps its default action here: a send without MSG_NOSIGNAL would
   kill the test process. */
static int epipe_main(void *arg)
{
	(void)arg;
	struct pair p;
	tcp_pair(&p);
	close(p.sfd);
	p.sfd = -1;
	char buf[1024];
	memset(buf, 'z', sizeof buf);
	ssize_t r = 0;
	int i;
	for (i = 0; i < 10000; i++) { /* bound: a hang guard */
		r = urt_send(p.cfd, buf, sizeof buf, 0);
		if (r < 0)
			break;
		cr_assert_gt(r, 0);
		OK(urt_sleep_ms(1)); /* let the RST come back */
	}
	cr_assert(r == -EPIPE || r == -ECONNRESET, "send to closed peer: %zd (%s) after %d sends",
		  r, strerror((int)-r), i);
	/* Later sends keep failing (EPIPE once the reset is consumed). */
	r = urt_send(p.cfd, buf, sizeof buf, 0);
	CHECK(r, -EPIPE);
	/* sendmsg too. */
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	CHECK(urt_sendmsg(p.cfd, &m, 0), -EPIPE);
	pair_close(&p);
	return 0;
}

Test(net, send_to_closed_peer_epipe_no_sigpipe)
{
	RUN(epipe_main, NULL);
}

static int epipe_all_main(void *arg)
{
	(void)arg;
	enum { N = 16 << 20 };
	uint8_t *data = calloc(1, N);
	cr_assert_not_null(data);
	struct pair p;
	tcp_pair(&p);
	close(p.sfd);
	p.sfd = -1;
	size_t done = (size_t)-1;
	ssize_t r = urt_send_all(p.cfd, data, N, 0, &done);
	cr_assert(r == -EPIPE || r == -ECONNRESET, "send_all to closed peer: %zd (%s)", r,
		  strerror((int)-r));
	cr_assert_lt(done, (size_t)N);
	free(data);
	pair_close(&p);
	return 0;
}

Test(net, send_all_to_closed_peer)
{
	RUN(epipe_all_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Shutdown                                                               */

static int shutdown_main(void *arg)
{
	(void)arg;
	struct pair p;
	tcp_pair(&p);
	/* A recv waiting on the server side is woken by the client's SHUT_WR. */
	struct blk b = {.fd = p.sfd, .r = 12345};
	urt_task *t = spawn_ok(recv_blocker, &b);
	cr_assert_eq(urt_send_all(p.cfd, "last", 4, 0, NULL), 4);
	CHECK(join_ok(t), 4);
	cr_assert_eq(memcmp(b.buf, "last", 4), 0);
	t = spawn_ok(recv_blocker, &b);
	OK(urt_sleep_ms(5));
	cr_assert(!urt_task_done(t));
	OK(urt_shutdown(p.cfd, SHUT_WR));
	CHECK(join_ok(t), 0); /* EOF */
	char c;
	CHECK(urt_recv(p.sfd, &c, 1, 0), 0); /* and it stays at EOF */
	/* Half-close: the other direction still works. */
	cr_assert_eq(urt_send_all(p.sfd, "bye", 3, 0, NULL), 3);
	char buf[4] = {0};
	cr_assert_eq(recv_exact(p.cfd, buf, 3), 3);
	cr_assert_eq(memcmp(buf, "bye", 3), 0);
	/* Sending on the shut-down side fails. */
	CHECK(urt_send(p.cfd, "x", 1, 0), -EPIPE);
	CHECK(urt_shutdown(-1, SHUT_RDWR), -EBADF);
	pair_close(&p);
	return 0;
}

Test(net, shutdown_wr_gives_peer_eof)
{
	RUN(shutdown_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Bad input                                                              */

static int bad_input_main(void *arg)
{
	(void)arg;
	char buf[8] = {0}; /* sent: initialised, though the send fails */
	CHECK(urt_recv(-1, buf, sizeof buf, 0), -EBADF);
	CHECK(urt_send(-1, buf, sizeof buf, 0), -EBADF);
	CHECK(urt_accept(-1, NULL, NULL, 0), -EBADF);
	int pfd[2];
	cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
	CHECK(urt_recv(pfd[0], buf, sizeof buf, 0), -ENOTSOCK);
	CHECK(urt_send(pfd[1], buf, sizeof buf, 0), -ENOTSOCK);
	CHECK(urt_sock_port(pfd[0]), -ENOTSOCK);
	CHECK(urt_set_nodelay(pfd[0], true), -ENOTSOCK);
	close(pfd[0]);
	close(pfd[1]);

	CHECK(urt_tcp_listen("not-an-ip", 0, 16, 0), -EINVAL);
	CHECK(urt_tcp_listen("localhost", 0, 16, 0), -EINVAL); /* numeric only */
	CHECK(urt_tcp_listen(LOCAL, 70000, 16, 0), -EINVAL);
	CHECK(urt_tcp_listen(LOCAL, -1, 16, 0), -EINVAL);
	CHECK(urt_tcp_connect(NULL, 1), -EINVAL);
	int nr = urt_tcp_connect("no-such-host.invalid", 1); /* a name now: resolved, fails */
	cr_assert(nr == -ENOENT || nr == -EAGAIN, "got %d", nr);
	CHECK(urt_tcp_connect("localhost", 70000), -EINVAL);
	CHECK(urt_tcp_connect(LOCAL, 70000), -EINVAL);
	CHECK(urt_tcp_connect(LOCAL, -1), -EINVAL);
	CHECK(urt_udp_bind("not-an-ip", 0), -EINVAL);
	CHECK(urt_udp_bind(LOCAL, 70000), -EINVAL);

	int s = urt_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	CHECK(urt_connect(s, NULL, 0), -EFAULT);
	struct sockaddr_in a;
	CHECK(urt_accept(s, (struct sockaddr *)&a, NULL, 0), -EFAULT);
	CHECK(urt_accept(s, NULL, NULL, 0), -EINVAL); /* not listening */
	close(s);
	CHECK(urt_socket(AF_INET, 12345, 0), -EINVAL);
	return 0;
}

Test(net, bad_input)
{
	RUN(bad_input_main, NULL);
}

/* Suspending socket calls outside a task: -EPERM, and nothing is closed. */
Test(net, eperm_outside_task)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	char buf[4] = "abc";
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned alen = sizeof a;
	struct iovec iov = {buf, 3};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	CHECK(urt_socket(AF_INET, SOCK_STREAM, 0), -EPERM);
	CHECK(urt_connect(sv[0], (struct sockaddr *)&a, sizeof a), -EPERM);
	CHECK(urt_accept(sv[0], NULL, NULL, 0), -EPERM);
	CHECK(urt_recv(sv[0], buf, 3, 0), -EPERM);
	CHECK(urt_send(sv[0], buf, 3, 0), -EPERM);
	size_t done = 99;
	CHECK(urt_send_all(sv[0], buf, 3, 0, &done), -EPERM);
	cr_assert_eq(done, (size_t)0);
	CHECK(urt_recvmsg(sv[0], &m, 0), -EPERM);
	CHECK(urt_sendmsg(sv[0], &m, 0), -EPERM);
	CHECK(urt_sendto(sv[0], buf, 3, 0, (struct sockaddr *)&a, sizeof a), -EPERM);
	CHECK(urt_recvfrom(sv[0], buf, 3, 0, (struct sockaddr *)&a, &alen), -EPERM);
	CHECK(urt_shutdown(sv[0], SHUT_RDWR), -EPERM);
	CHECK(urt_tcp_connect(LOCAL, 1), -EPERM);
	/* Nothing happened to the sockets: still open, still connected. */
	cr_assert_neq(fcntl(sv[0], F_GETFD), -1);
	cr_assert_eq(write(sv[0], "ok", 2), 2);
	char r[2];
	cr_assert_eq(read(sv[1], r, 2), 2);
	cr_assert_eq(memcmp(r, "ok", 2), 0);
	/* but a close always closes, outside a task too */
	CHECK(urt_sock_close(sv[0]), 0);
	cr_assert_eq(fcntl(sv[0], F_GETFD), -1);
	CHECK(urt_sock_close(sv[0]), -EBADF);
	close(sv[1]);
}

/* ---------------------------------------------------------------------- */
/* Socket options                                                         */

static int getopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof v;
	cr_assert_eq(getsockopt(fd, level, name, &v, &len), 0, "getsockopt: %s", strerror(errno));
	return v;
}

static int opts_main(void *arg)
{
	(void)arg;
	struct pair p;
	tcp_pair(&p);
	cr_assert_neq(getopt_int(p.lfd, SOL_SOCKET, SO_REUSEADDR), 0); /* listen sets it */

	cr_assert_eq(getopt_int(p.cfd, IPPROTO_TCP, TCP_NODELAY), 0);
	OK(urt_set_nodelay(p.cfd, true));
	cr_assert_neq(getopt_int(p.cfd, IPPROTO_TCP, TCP_NODELAY), 0);
	OK(urt_set_nodelay(p.cfd, false));
	cr_assert_eq(getopt_int(p.cfd, IPPROTO_TCP, TCP_NODELAY), 0);

	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	cr_assert_eq(getopt_int(s, SOL_SOCKET, SO_REUSEPORT), 0);
	OK(urt_set_reuseport(s, true));
	cr_assert_neq(getopt_int(s, SOL_SOCKET, SO_REUSEPORT), 0);
	OK(urt_set_reuseport(s, false));
	cr_assert_eq(getopt_int(s, SOL_SOCKET, SO_REUSEPORT), 0);
	OK(urt_set_reuseaddr(s, true));
	cr_assert_neq(getopt_int(s, SOL_SOCKET, SO_REUSEADDR), 0);
	OK(urt_set_reuseaddr(s, false));
	cr_assert_eq(getopt_int(s, SOL_SOCKET, SO_REUSEADDR), 0);
	close(s);

	/* Two listeners share a port with SO_REUSEPORT set on both first. */
	int l1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int l2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(l1, 0);
	cr_assert_geq(l2, 0);
	OK(urt_set_reuseport(l1, true));
	OK(urt_set_reuseport(l2, true));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(l1, (struct sockaddr *)&a, sizeof a), 0);
	a.sin_port = htons((uint16_t)urt_sock_port(l1));
	cr_assert_eq(bind(l2, (struct sockaddr *)&a, sizeof a), 0, "bind: %s", strerror(errno));
	cr_assert_eq(urt_sock_port(l2), urt_sock_port(l1));
	close(l1);
	close(l2);
	CHECK(urt_set_reuseport(-1, true), -EBADF);
	pair_close(&p);
	return 0;
}

Test(net, socket_options)
{
	RUN(opts_main, NULL);
}

/* The option helpers and urt_sock_port do not suspend: fine outside a task. */
Test(net, option_helpers_outside_task)
{
	int lfd = urt_tcp_listen(LOCAL, 0, 4, 0); /* plain syscalls: no loop needed */
	cr_assert_geq(lfd, 0);
	cr_assert_gt(urt_sock_port(lfd), 0);
	OK(urt_set_nodelay(lfd, true));
	cr_assert_neq(getopt_int(lfd, IPPROTO_TCP, TCP_NODELAY), 0);
	close(lfd);
}

/*
 * URT_LISTEN_REUSEPORT: two listeners share a port when both set it (one
 * per loop, as the tools' --threads do); without it the second bind is
 * refused, so a server started twice by mistake still fails. Unknown
 * flags are refused.
 */
Test(net, listen_reuseport_shares_a_port)
{
	int a = urt_tcp_listen(LOCAL, 0, 4, URT_LISTEN_REUSEPORT);
	cr_assert_geq(a, 0, "first: %d", a);
	int port = urt_sock_port(a);
	cr_assert_gt(port, 0);
	cr_assert_neq(getopt_int(a, SOL_SOCKET, SO_REUSEPORT), 0);
	int b = urt_tcp_listen(LOCAL, port, 4, URT_LISTEN_REUSEPORT);
	cr_assert_geq(b, 0, "second with REUSEPORT: %d", b);
	cr_assert_eq(urt_sock_port(b), port);
	close(b);
	close(a);

	a = urt_tcp_listen(LOCAL, 0, 4, 0);
	cr_assert_geq(a, 0);
	port = urt_sock_port(a);
	cr_assert_eq(getopt_int(a, SOL_SOCKET, SO_REUSEPORT), 0);
	CHECK(urt_tcp_listen(LOCAL, port, 4, 0), -EADDRINUSE);
	/* one side without the flag is enough to refuse the group */
	CHECK(urt_tcp_listen(LOCAL, port, 4, URT_LISTEN_REUSEPORT), -EADDRINUSE);
	close(a);
	CHECK(urt_tcp_listen(LOCAL, 0, 4, 1u << 7), -EINVAL);
}

/* A MSG_DONTWAIT send or receive never waits, so under a deadline scope it
   goes out as one SQE, without a linked timeout (issue 24: TLS flushes and
   urt-httpd's first send try it under the idle deadline); the deadline
   itself still applies at the call (an expired scope returns -ETIMEDOUT)
   and a full socket still answers -EAGAIN. */
static int dontwait_main(void *arg)
{
	(void)arg;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	OK(urt_deadline_push(SEC(10)));
	struct urt_stats a, b;
	OK(urt_stats_get(&a));
	cr_assert_eq(urt_send(sv[0], "hi", 2, MSG_DONTWAIT), 2);
	char c[4];
	cr_assert_eq(urt_recv(sv[1], c, sizeof c, MSG_DONTWAIT), 2);
	cr_assert_eq(urt_recv(sv[1], c, sizeof c, MSG_DONTWAIT), -EAGAIN);
	OK(urt_stats_get(&b));
	cr_assert_eq(b.sqes - a.sqes, 3, "one SQE per op, no linked timeouts");
	/* a waiting receive under the same deadline still has its timeout */
	OK(urt_stats_get(&a));
	OK(urt_deadline_push(MS(5)));
	cr_assert_eq(urt_recv(sv[1], c, sizeof c, 0), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_stats_get(&b));
	cr_assert_geq(b.sqes - a.sqes, 2);
	urt_deadline_pop();
	OK(urt_deadline_push(0)); /* already expired */
	cr_assert_eq(urt_send(sv[0], "x", 1, MSG_DONTWAIT), -ETIMEDOUT);
	urt_deadline_pop();
	urt_sock_close(sv[0]);
	urt_sock_close(sv[1]);
	return 0;
}

Test(net, dontwait_ops_under_deadline_take_no_linked_timeout)
{
	SKIP_ON_EPOLL("SQE counts are io_uring's");
	RUN(dontwait_main, NULL);
}
