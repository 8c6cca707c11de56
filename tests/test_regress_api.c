/* SPDX-License-Identifier: MIT */
/*
 * Regressions of issue 20, points 8, 9, 10, 12, 13, 14 and 15: API calls
 * that disagreed with what urt.h promises. Each test is named after the
 * bug it pins down and failed before its fix.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(regress_api, .timeout = 60);

/* ---- helpers ---- */

/* Send until the socket buffer is full (EAGAIN). */
static void fill(int fd)
{
	static char junk[16384];
	for (int round = 0; round < 2; round++) {
		while (send(fd, junk, sizeof junk, MSG_DONTWAIT | MSG_NOSIGNAL) > 0)
			;
		cr_assert_eq(errno, EAGAIN, "fill: %s", strerror(errno));
		if (round == 0)
			OK(urt_sleep_ms(5)); /* in flight on TCP: let it land, fill again */
	}
}

/* A Unix stream pair nobody made through urt (one-shot on epoll), with
   small buffers so that filling is quick. */
static void unix_pair(int sv[2])
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int sz = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

/* A connected TCP pair made by urt (urt_socket, urt_accept: edge-registered
   on epoll): c[0] the client, c[1] the accepted end. Small buffers. */
static void tcp_pair(int c[2])
{
	int l = urt_tcp_listen("127.0.0.1", 0, 16, 0);
	cr_assert_geq(l, 0);
	int port = urt_sock_port(l);
	c[0] = urt_tcp_connect("127.0.0.1", port);
	cr_assert_geq(c[0], 0);
	c[1] = urt_accept(l, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(c[1], 0);
	OK(urt_close(l));
	int sz = 4096;
	setsockopt(c[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	setsockopt(c[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

/* ---- 8: a zero (or already expired) timeout polls once ---- */

static int t_poll_zero(void *arg)
{
	(void)arg;
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	CHECK(urt_poll(p[1], POLLOUT, 0), POLLOUT);
	CHECK(urt_poll(p[1], POLLOUT, 1), POLLOUT);
	CHECK(urt_poll(p[0], POLLIN, 0), -ETIMEDOUT); /* not ready: a poll that found nothing */
	cr_assert_eq(write(p[1], "x", 1), 1);
	CHECK(urt_poll(p[0], POLLIN, 0), POLLIN);
	CHECK(urt_poll(p[0], POLLIN | POLLOUT, 1), POLLIN);
	int c[2];
	tcp_pair(c); /* edge-registered on epoll: another path */
	CHECK(urt_poll(c[0], POLLOUT, 0), POLLOUT);
	CHECK(urt_poll(c[1], POLLIN, 0), -ETIMEDOUT);
	CHECK(urt_send(c[0], "y", 1, 0), 1);
	CHECK(urt_poll(c[1], POLLIN, 1), POLLIN);
	/* an enclosing scope that has expired still wins: every suspension
	   point says -ETIMEDOUT then */
	OK(urt_deadline_push(0));
	CHECK(urt_poll(p[1], POLLOUT, 0), -ETIMEDOUT);
	urt_deadline_pop();
	for (int i = 0; i < 2; i++) {
		OK(urt_close(p[i]));
		OK(urt_close(c[i]));
	}
	return 0;
}

Test(regress_api, poll_zero_timeout_ready_fd_times_out)
{
	RUN(t_poll_zero, NULL);
}

/* ---- 9: only the requested events, and unrequested ones do not end the wait ---- */

/* After 30 ms, read fd until told to stop (TCP: what is in flight keeps
   coming, and the sender's buffer frees only as it is read). */
static bool drain_stop;

static int drain_later(void *arg)
{
	int fd = (int)(intptr_t)arg;
	OK(urt_sleep_ms(30));
	static char buf[65536];
	while (!drain_stop) {
		while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
			;
		int r = urt_poll(fd, POLLIN, MS(5));
		cr_assert(r == -ETIMEDOUT || r > 0, "drain poll %d", r);
	}
	return 0;
}

static void drain_join(urt_task *d)
{
	drain_stop = true;
	join_ok(d);
	drain_stop = false;
}

/* sv[0] full, its peer sv[1] half-closed (POLLRDHUP on sv[0]). */
static void full_half_closed(int sv[2], int tcp)
{
	if (tcp)
		tcp_pair(sv);
	else
		unix_pair(sv);
	fill(sv[0]);
	cr_assert_eq(shutdown(sv[1], SHUT_WR), 0);
	OK(urt_sleep_ms(5)); /* the FIN arrives */
	struct pollfd p = {.fd = sv[0], .events = POLLOUT};
	cr_assert_eq(poll(&p, 1, 0), 0, "poll(2) says not writable");
}

static int t_poll_rdhup(void *arg)
{
	int tcp = (int)(intptr_t)arg;
	int sv[2];
	full_half_closed(sv, tcp);
	/* not writable: the wait lasts its timeout (it used to return
	   POLLRDHUP on io_uring and 0 on epoll at once) */
	CHECK(urt_poll(sv[0], POLLOUT, MS(100)), -ETIMEDOUT);
	CHECK(urt_poll(sv[0], POLLOUT, 0), -ETIMEDOUT);
	/* the same under a deadline scope */
	OK(urt_deadline_push(MS(50)));
	CHECK(urt_poll(sv[0], POLLOUT, -1), -ETIMEDOUT);
	urt_deadline_pop();
	/* asked for, POLLRDHUP is reported; with POLLIN (the FIN) only what was asked */
	CHECK(urt_poll(sv[0], POLLOUT | POLLRDHUP, -1), POLLRDHUP);
	CHECK(urt_poll(sv[0], POLLIN, -1), POLLIN);
	/* and the wait still ends when the asked-for event comes */
	urt_task *d = spawn_ok(drain_later, (void *)(intptr_t)sv[1]);
	CHECK(urt_poll(sv[0], POLLOUT, SEC(20)), POLLOUT);
	drain_join(d);
	OK(urt_close(sv[0]));
	OK(urt_close(sv[1]));
	return 0;
}

Test(regress_api, poll_pollout_half_closed_peer_returns_unrequested_rdhup)
{
	RUN(t_poll_rdhup, (void *)0);
}

Test(regress_api, poll_pollout_half_closed_peer_returns_unrequested_rdhup_tcp)
{
	RUN(t_poll_rdhup, (void *)1);
}

/* The same without a free fd (no private epoll set to wait through):
   the fallback that looks again at intervals. Plain and fixed fd. */
static int t_poll_rdhup_no_fds(void *arg)
{
	(void)arg;
	int sv[2];
	full_half_closed(sv, 0);
	OK(urt_register_files(sv, 1));
	int lowest = dup(0);
	cr_assert_geq(lowest, 0);
	close(lowest);
	struct rlimit old, rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = (rlim_t)lowest; /* no new fd from here on */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(dup(0), -1);
	for (int fixed = 0; fixed < 2; fixed++) {
		int fd = fixed ? URT_FIXED_FD(0) : sv[0];
		CHECK(urt_poll(fd, POLLOUT, MS(30)), -ETIMEDOUT);
		urt_task *d = spawn_ok(drain_later, (void *)(intptr_t)sv[1]);
		CHECK(urt_poll(fd, POLLOUT, SEC(20)), POLLOUT);
		drain_join(d);
		fill(sv[0]);
	}
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	OK(urt_unregister_files());
	OK(urt_close(sv[0]));
	OK(urt_close(sv[1]));
	return 0;
}

Test(regress_api, poll_half_closed_peer_without_free_fds_waits_for_pollout)
{
	RUN(t_poll_rdhup_no_fds, NULL);
}

/* ---- 10: an op the deadline interrupts says -ETIMEDOUT, never -EINTR ---- */

static int t_send_deadline(void *arg)
{
	int tcp = (int)(intptr_t)arg;
	int sv[2];
	full_half_closed(sv, tcp);
	static char buf[4096];
	OK(urt_deadline_push(MS(100)));
	CHECK(urt_send(sv[0], buf, sizeof buf, 0), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_deadline_push(MS(50)));
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	CHECK(urt_sendmsg(sv[0], &m, 0), -ETIMEDOUT);
	CHECK(urt_write(sv[0], buf, sizeof buf, -1), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_close(sv[0]));
	OK(urt_close(sv[1]));
	return 0;
}

Test(regress_api, send_blocked_half_closed_peer_deadline_returns_eintr)
{
	RUN(t_send_deadline, (void *)0);
}

Test(regress_api, send_blocked_half_closed_peer_deadline_returns_eintr_tcp)
{
	RUN(t_send_deadline, (void *)1);
}

/* ---- 12: URT_FIXED_FD in every socket call ---- */

static int t_fixed_sock(void *arg)
{
	(void)arg;
	int l = urt_tcp_listen("127.0.0.1", 0, 16, 0);
	cr_assert_geq(l, 0);
	int port = urt_sock_port(l);
	int s = urt_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	/* slots: 0 listener, 1 client, 2 the accepted end (later), 3 empty */
	int fds[4] = {l, s, -1, -1};
	OK(urt_register_files(fds, 4));
	OK(urt_close(l)); /* the table keeps them (as io_uring's does) */
	OK(urt_close(s));
	const int L = URT_FIXED_FD(0), C = URT_FIXED_FD(1), A = URT_FIXED_FD(2);

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	OK(urt_connect(C, (struct sockaddr *)&sa, sizeof sa));
	struct sockaddr_storage peer;
	unsigned plen = sizeof peer;
	int a = urt_accept(L, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
	cr_assert_geq(a, 0, "urt_accept(fixed) = %d", a);
	cr_assert_gt(plen, 0);
	OK(urt_update_files(2, &a, 1));
	OK(urt_close(a));

	char buf[16] = {0};
	CHECK(urt_send(C, "hello", 5, 0), 5);
	CHECK(urt_poll(A, POLLIN, SEC(10)), POLLIN);
	CHECK(urt_poll(A, POLLIN, 0), POLLIN);
	CHECK(urt_recv(A, buf, sizeof buf, 0), 5);
	cr_assert_str_eq(buf, "hello");

	struct iovec iov = {.iov_base = "world!", .iov_len = 6};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	CHECK(urt_sendmsg(A, &m, 0), 6);
	char in[16] = {0};
	struct iovec iov2 = {.iov_base = in, .iov_len = sizeof in};
	struct msghdr m2 = {.msg_iov = &iov2, .msg_iovlen = 1};
	CHECK(urt_recvmsg(C, &m2, 0), 6);
	cr_assert_str_eq(in, "world!");

	OK(urt_shutdown(C, SHUT_WR));
	CHECK(urt_recv(A, buf, sizeof buf, 0), 0); /* the FIN */
	CHECK(urt_send(URT_FIXED_FD(3), "x", 1, 0), -EBADF); /* an empty slot */
	CHECK(urt_shutdown(URT_FIXED_FD(3), SHUT_RDWR), -EBADF);
	CHECK(urt_accept(URT_FIXED_FD(3), NULL, NULL, 0), -EBADF);
	OK(urt_sock_close(A));
	OK(urt_close(C));
	OK(urt_close(L));
	OK(urt_unregister_files());
	return 0;
}

Test(regress_api, fixed_fd_socket_calls_get_ebadf)
{
	RUN(t_fixed_sock, NULL);
}

/* A fixed fd whose peer half-closed: the wait for POLLOUT that ignores
   POLLRDHUP must work on a registered slot too (point 9 with 12). */
static int t_fixed_rdhup(void *arg)
{
	(void)arg;
	int sv[2];
	full_half_closed(sv, 0);
	OK(urt_register_files(sv, 1));
	const int F = URT_FIXED_FD(0);
	CHECK(urt_poll(F, POLLOUT, MS(50)), -ETIMEDOUT);
	CHECK(urt_poll(F, POLLIN | POLLOUT, -1), POLLIN);
	urt_task *d = spawn_ok(drain_later, (void *)(intptr_t)sv[1]);
	CHECK(urt_poll(F, POLLOUT, SEC(20)), POLLOUT);
	drain_join(d);
	OK(urt_unregister_files());
	OK(urt_close(sv[0]));
	OK(urt_close(sv[1]));
	return 0;
}

Test(regress_api, fixed_fd_poll_half_closed_peer_returns_unrequested_rdhup)
{
	RUN(t_fixed_rdhup, NULL);
}

/* ---- 13: a zero timeout on the cross-loop future and event is a try ---- */

static void x_zero_checks(void)
{
	urt_xfuture *f;
	urt_xevent *e;
	OK(urt_xfuture_new(&f));
	OK(urt_xevent_new(&e));
	void *v = NULL;
	CHECK(urt_xfuture_wait(f, &v, 0), -EAGAIN);
	CHECK(urt_xevent_wait(e, 0), -EAGAIN);
	OK(urt_xfuture_set(f, 7, (void *)f));
	urt_xevent_set(e);
	CHECK(urt_xfuture_wait(f, &v, 0), 7);
	cr_assert_eq(v, (void *)f);
	OK(urt_xevent_wait(e, 0));
	urt_xevent_clear(e);
	CHECK(urt_xevent_wait(e, 0), -EAGAIN);
	CHECK(urt_xevent_wait(e, 1), -ETIMEDOUT); /* a wait that timed out */
	urt_xfuture_free(f);
	urt_xevent_free(e);
}

static int t_x_zero(void *arg)
{
	(void)arg;
	x_zero_checks();
	return 0;
}

Test(regress_api, xfuture_xevent_zero_timeout_returns_etimedout)
{
	RUN(t_x_zero, NULL); /* from a task */
	x_zero_checks();     /* from a plain thread */
}

/* ---- 14: least loaded skips loops that refuse work ---- */

static int where(void *arg)
{
	(void)arg;
	int r = urt_nop(); /* a suspension point: -ECANCELED on a loop shutting down */
	return r < 0 ? r : urt_loop_index();
}

static int noop(void *arg)
{
	(void)arg;
	return 0;
}

static int t_spawn_stopped(void *arg)
{
	(void)arg;
	urt_loop *l2 = urt_loops_get(2);
	OK(urt_loop_stop(l2));
	/* at once: loop 2 is stopping (it may not have noticed yet) */
	for (int round = 0; round < 2; round++) {
		urt_remote *h[20];
		for (int i = 0; i < 20; i++)
			CHECK(urt_spawn_on(NULL, where, NULL, &h[i]), 0);
		for (int i = 0; i < 20; i++) {
			int res = -1;
			OK(urt_remote_wait(h[i], &res));
			cr_assert(res == 0 || res == 1, "round %d spawn %d ran as %d", round, i, res);
		}
		/* then once it has shut down for good */
		while (urt_loop_submit(l2, noop, NULL, NULL) != -ESHUTDOWN)
			OK(urt_sleep_ms(1));
	}
	return 0;
}

Test(regress_api, spawn_on_null_picks_stopped_loop)
{
	int r = urt_run_loops(3, 0, NULL, t_spawn_stopped, NULL);
	cr_assert_eq(r, 0);
}

/* ---- 15: urt_yield and urt_sleep_ns(0) honour an expired deadline ---- */

static int t_yield_deadline(void *arg)
{
	(void)arg;
	OK(urt_deadline_push(MS(1)));
	int64_t until = urt_now_ns() + MS(2);
	while (urt_now_ns() < until)
		; /* past the deadline, without a suspension point */
	CHECK(urt_yield(), -ETIMEDOUT);
	CHECK(urt_sleep_ns(0), -ETIMEDOUT);
	CHECK(urt_sleep_ms(0), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_yield());
	OK(urt_sleep_ns(0));
	/* a CPU-bound loop that yields now times out */
	OK(urt_deadline_push(MS(20)));
	long n = 0;
	int r;
	while ((r = urt_yield()) == 0)
		n++;
	CHECK(r, -ETIMEDOUT);
	cr_assert_gt(n, 0);
	urt_deadline_pop();
	/* the cancellation counterpart, for comparison: also delivered */
	urt_cancel(urt_current());
	CHECK(urt_yield(), -ECANCELED);
	OK(urt_yield());
	return 0;
}

Test(regress_api, yield_in_expired_deadline_returns_zero)
{
	RUN(t_yield_deadline, NULL);
}
