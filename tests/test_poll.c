/* SPDX-License-Identifier: MIT */
/* urt_poll: readiness, timeouts, cancellation, hang-ups, bad input. */
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(poll, .timeout = 30);

static void mkpipe(int p[2])
{
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

static int write_later(void *arg)
{
	int fd = (int)(intptr_t)arg;
	OK(urt_sleep_ms(10));
	cr_assert_eq(write(fd, "x", 1), 1);
	return 0;
}

static int t_basic(void *arg)
{
	(void)arg;
	int p[2];
	mkpipe(p);
	/* writable at once, not readable */
	CHECK(urt_poll(p[1], POLLOUT, -1), POLLOUT);
	CHECK(urt_poll(p[0], POLLIN, 0), -ETIMEDOUT);
	CHECK(urt_poll(p[0], POLLIN, MS(5)), -ETIMEDOUT);
	/* readable once another task writes */
	urt_task *w = spawn_ok(write_later, (void *)(intptr_t)p[1]);
	CHECK(urt_poll(p[0], POLLIN, SEC(10)), POLLIN);
	join_ok(w);
	char c;
	cr_assert_eq(read(p[0], &c, 1), 1);
	/* the writer goes away: POLLHUP, even if not asked for */
	close(p[1]);
	int r = urt_poll(p[0], POLLIN, -1);
	cr_assert(r & POLLHUP, "revents %#x", r);
	close(p[0]);
	return 0;
}

Test(poll, readable_writable_timeout_hangup)
{
	RUN(t_basic, NULL);
}

static int poller(void *arg)
{
	int fd = (int)(intptr_t)arg;
	return urt_poll(fd, POLLIN, -1);
}

static int t_cancel(void *arg)
{
	(void)arg;
	int p[2];
	mkpipe(p);
	urt_task *t = spawn_ok(poller, (void *)(intptr_t)p[0]);
	OK(urt_sleep_ms(5));
	cr_assert_not(urt_task_done(t));
	urt_cancel(t);
	CHECK(join_ok(t), -ECANCELED);
	/* the deadline scope applies too */
	OK(urt_deadline_push(MS(5)));
	CHECK(urt_poll(p[0], POLLIN, -1), -ETIMEDOUT);
	urt_deadline_pop();
	/* a pending cancel: returns at once */
	urt_cancel(urt_current());
	CHECK(urt_poll(p[1], POLLOUT, -1), -ECANCELED);
	CHECK(urt_poll(p[1], POLLOUT, -1), POLLOUT);
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(poll, cancel_and_deadline)
{
	RUN(t_cancel, NULL);
}

/* 64 tasks poll 64 socket pairs; the peers write in reverse order. */
#define N 64
static int sv[N][2];

static int writer_all(void *arg)
{
	(void)arg;
	for (int i = N - 1; i >= 0; i--) {
		cr_assert_eq(send(sv[i][1], "y", 1, 0), 1);
		OK(urt_sleep_ns(0));
	}
	return 0;
}

static int t_many(void *arg)
{
	(void)arg;
	urt_task *t[N];
	for (int i = 0; i < N; i++) {
		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]), 0);
		t[i] = spawn_ok(poller, (void *)(intptr_t)sv[i][0]);
	}
	OK(urt_sleep_ms(2));
	urt_task *w = spawn_ok(writer_all, NULL);
	for (int i = 0; i < N; i++)
		CHECK(join_ok(t[i]), POLLIN);
	join_ok(w);
	for (int i = 0; i < N; i++) {
		close(sv[i][0]);
		close(sv[i][1]);
	}
	return 0;
}

Test(poll, many_tasks)
{
	RUN(t_many, NULL);
}

static int t_bad(void *arg)
{
	(void)arg;
	int p[2];
	mkpipe(p);
	CHECK(urt_poll(-1, POLLIN, -1), -EBADF);
	close(p[0]);
	CHECK(urt_poll(p[0], POLLIN, -1), -EBADF); /* closed */
	CHECK(urt_poll(p[1], 0, -1), -EINVAL);
	CHECK(urt_poll(p[1], 0x40000000u, -1), -EINVAL);
	close(p[1]);
	return 0;
}

Test(poll, bad_input)
{
	RUN(t_bad, NULL);
	CHECK(urt_poll(0, POLLIN, -1), -EPERM); /* outside a task */
}

/* epoll backend: an fd urt accepted is registered once, edge-triggered.
   (1) urt_poll after the edge went by with nobody waiting must still see
   the data; (2) once urt_close has closed it, a pipe that reuses the
   number must be waited on afresh (a stale registration would hang).
   Runs on every configuration: the same behaviour is expected of both. */
struct later {
	int fd;
	const char *s;
};

static int send_later(void *arg)
{
	struct later *l = arg;
	OK(urt_sleep_ms(20));
	cr_assert_eq(write(l->fd, l->s, strlen(l->s)), (ssize_t)strlen(l->s));
	return 0;
}

static int t_edge(void *arg)
{
	(void)arg;
	int lfd = urt_tcp_listen("127.0.0.1", 0, 8, 0);
	cr_assert_geq(lfd, 0);
	int c = urt_tcp_connect("127.0.0.1", urt_sock_port(lfd));
	cr_assert_geq(c, 0);
	int s = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(s, 0);
	char buf[8];
	/* a recv that has to wait: registers s */
	struct later l = {.fd = c, .s = "a"};
	urt_task *t = urt_spawn(send_later, &l);
	cr_assert_eq(urt_recv(s, buf, sizeof buf, 0), 1);
	OK(urt_join(t, NULL));
	/* data arrives while nobody waits; the loop turns over meanwhile */
	cr_assert_eq(write(c, "b", 1), 1);
	OK(urt_sleep_ms(20));
	int r = urt_poll(s, POLLIN, 2 * URT_NS_PER_SEC);
	cr_assert(r > 0 && (r & POLLIN), "urt_poll after a passed edge: %d", r);
	cr_assert_eq(urt_recv(s, buf, sizeof buf, 0), 1);
	/* close, then reuse the number for a pipe */
	OK(urt_close(s));
	int p[2];
	mkpipe(p);
	int reused = p[0] == s || p[1] == s;
	struct later w = {.fd = p[1], .s = "pipe"};
	t = urt_spawn(send_later, &w);
	OK(urt_deadline_push(2 * URT_NS_PER_SEC));
	cr_assert_eq(urt_read(p[0], buf, sizeof buf, -1), 4, "reused=%d", reused);
	urt_deadline_pop();
	OK(urt_join(t, NULL));
	close(p[0]);
	close(p[1]);
	urt_close(c);
	close(lfd);
	return 0;
}

Test(poll, edge_registration_passed_edge_and_reused_fd)
{
	RUN(t_edge, NULL);
}

/* On epoll, a short recv or send on a socket urt made marks the direction
   drained, and the next call waits for an edge instead of trying (nginx's
   rule). These are the cases where no edge would come or where one passed
   unseen; each recv has a deadline, so a missed wake-up fails instead of
   hanging. They run on every configuration. */
static void tcp_pair(int *lfd, int *c, int *s)
{
	*lfd = urt_tcp_listen("127.0.0.1", 0, 8, 0);
	cr_assert_geq(*lfd, 0);
	*c = urt_tcp_connect("127.0.0.1", urt_sock_port(*lfd));
	cr_assert_geq(*c, 0);
	*s = urt_accept(*lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(*s, 0);
}

static ssize_t recv_2s(int fd, void *buf, size_t n)
{
	OK(urt_deadline_push(2 * URT_NS_PER_SEC));
	ssize_t r = urt_recv(fd, buf, n, 0);
	urt_deadline_pop();
	return r;
}

static int t_short(void *arg)
{
	(void)arg;
	int lfd, c, s;
	tcp_pair(&lfd, &c, &s);
	char buf[64];
	/* data and FIN together, after a wait: short read, then EOF */
	struct later l = {.fd = c, .s = "xy"};
	urt_task *t = urt_spawn(send_later, &l);
	cr_assert_eq(recv_2s(s, buf, 1), 1); /* full: waits, registers s */
	OK(urt_join(t, NULL));
	cr_assert_eq(recv_2s(s, buf, sizeof buf), 1); /* short: drained */
	cr_assert_eq(write(c, "z", 1), 1);
	cr_assert_eq(shutdown(c, SHUT_WR), 0);
	OK(urt_sleep_ms(20)); /* the edge (data + FIN) passes with nobody waiting */
	cr_assert_eq(recv_2s(s, buf, sizeof buf), 1, "data that came while nobody waited");
	cr_assert_eq(buf[0], 'z');
	cr_assert_eq(recv_2s(s, buf, sizeof buf), 0, "EOF after a short read");
	cr_assert_eq(recv_2s(s, buf, sizeof buf), 0, "EOF again");
	urt_close(s);
	urt_close(c);

	/* FIN in the same segment train as the last data, read short at once */
	int c2, s2;
	c2 = urt_tcp_connect("127.0.0.1", urt_sock_port(lfd));
	cr_assert_geq(c2, 0);
	s2 = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(s2, 0);
	cr_assert_eq(write(c2, "abc", 3), 3);
	cr_assert_eq(shutdown(c2, SHUT_WR), 0);
	OK(urt_sleep_ms(20));
	cr_assert_eq(recv_2s(s2, buf, sizeof buf), 3);
	cr_assert_eq(recv_2s(s2, buf, sizeof buf), 0);
	urt_close(s2);
	urt_close(c2);
	close(lfd);
	return 0;
}

Test(poll, short_recv_then_data_or_fin_passed_unseen)
{
	RUN(t_short, NULL);
}

struct drain {
	int fd;
	size_t got;
	uint64_t sum;
};

static int slow_reader(void *arg)
{
	struct drain *d = arg;
	char buf[4096];
	for (;;) {
		OK(urt_sleep_ms(1)); /* slower than the sender: its sends come back short */
		ssize_t n = recv_2s(d->fd, buf, sizeof buf);
		cr_assert_geq(n, 0, "reader: %zd", n);
		if (n == 0)
			return 0;
		for (ssize_t i = 0; i < n; i++)
			d->sum += (unsigned char)buf[i];
		d->got += (size_t)n;
	}
}

static int t_short_send(void *arg)
{
	(void)arg;
	int lfd, c, s;
	tcp_pair(&lfd, &c, &s);
	int small = 4096;
	cr_assert_eq(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
	cr_assert_eq(setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
	size_t n = 512 * 1024;
	unsigned char *big = malloc(n);
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++) {
		big[i] = (unsigned char)(i * 7 + 3);
		sum += big[i];
	}
	struct drain d = {.fd = c};
	urt_task *t = urt_spawn(slow_reader, &d);
	size_t done = 0;
	OK(urt_deadline_push(20 * URT_NS_PER_SEC));
	cr_assert_eq(urt_send_all(s, big, n, 0, &done), (ssize_t)n, "sent %zu", done);
	urt_deadline_pop();
	OK(urt_shutdown(s, SHUT_WR));
	OK(urt_join(t, NULL));
	cr_assert_eq(d.got, n);
	cr_assert_eq(d.sum, sum);
	free(big);
	urt_close(s);
	urt_close(c);
	close(lfd);
	return 0;
}

Test(poll, short_sends_to_a_slow_reader_deliver_everything)
{
	RUN(t_short_send, NULL);
}
