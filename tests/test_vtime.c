/* SPDX-License-Identifier: MIT */
/*
 * Virtual time (URT_OPT_VIRTUAL_TIME, URT_VIRTUAL_TIME=1): sleeps,
 * deadlines and timeouts run on a clock that jumps to the next timer when
 * nothing else can happen, so long waits take no real time and timers fire
 * in a set order. Real elapsed times are asserted against generous bounds
 * (< 5 s for 30 s of virtual time), which cannot flake.
 */
#include "helpers.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t real_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * URT_NS_PER_SEC + ts.tv_nsec;
}

/* ---------------------------------------------------------------------- */
/* A 30 s sleep takes no real time, and the clock moves by exactly 30 s. */

static int main_sleep30(void *arg)
{
	(void)arg;
	int64_t v0 = urt_now_ns(), r0 = real_now();
	OK(urt_sleep_ns(SEC(30)));
	cr_assert_eq(urt_now_ns() - v0, SEC(30));
	cr_assert_lt(real_now() - r0, SEC(5));
	return 0;
}

Test(vtime, sleep_30s_takes_no_real_time)
{
	int64_t r0 = real_now();
	VRUN(main_sleep30, NULL);
	cr_assert_lt(real_now() - r0, SEC(5));
}

/* The clock stands still while tasks run and moves exactly by each sleep. */
static int main_exact(void *arg)
{
	(void)arg;
	int64_t v0 = urt_now_ns();
	cr_assert_gt(v0, 0); /* it starts at the real monotonic reading */
	OK(urt_yield());
	cr_assert_eq(urt_now_ns(), v0);
	OK(urt_sleep_ns(1));
	cr_assert_eq(urt_now_ns(), v0 + 1);
	OK(urt_sleep_ms(7));
	cr_assert_eq(urt_now_ns(), v0 + 1 + MS(7));
	OK(urt_sleep_ns(SEC(3600)));
	cr_assert_eq(urt_now_ns(), v0 + 1 + MS(7) + SEC(3600));
	return 0;
}

Test(vtime, now_advances_exactly_by_the_sleep)
{
	VRUN(main_exact, NULL);
}

/* ---------------------------------------------------------------------- */
/* Timers fire in deadline order; equal deadlines in the order they were
   armed. Each sleeper also sees the clock at exactly its own expiry. */

#define NSLEEP 40
static int order[NSLEEP], norder;
static int64_t start_v;
static const int64_t durs[8] = {MS(30), MS(10), MS(20), MS(10), MS(30), 0 + MS(5), MS(20), MS(10)};

static int sleeper(void *arg)
{
	int i = (int)(intptr_t)arg;
	OK(urt_sleep_ns(durs[i % 8]));
	cr_assert_eq(urt_now_ns() - start_v, durs[i % 8]);
	order[norder++] = i;
	return 0;
}

static int main_order(void *arg)
{
	(void)arg;
	start_v = urt_now_ns();
	urt_task *t[NSLEEP];
	for (int i = 0; i < NSLEEP; i++)
		t[i] = urt_spawn(sleeper, (void *)(intptr_t)i);
	OK(urt_join_all(t, NSLEEP, NULL));
	return 0;
}

Test(vtime, timers_fire_in_deadline_then_arm_order)
{
	for (int round = 0; round < 3; round++) { /* the same order every time */
		norder = 0;
		VRUN(main_order, NULL);
		cr_assert_eq(norder, NSLEEP);
		int k = 0;
		for (int64_t d = MS(5); d <= MS(30); d += MS(5))
			for (int i = 0; i < NSLEEP; i++)
				if (durs[i % 8] == d) {
					cr_assert_eq(order[k], i, "round %d position %d", round, k);
					k++;
				}
		cr_assert_eq(k, NSLEEP);
	}
}

/* ---------------------------------------------------------------------- */
/* A deadline on a read that never completes fires in virtual time; the op
   is cancelled and its completion waited for (the buffer is not written
   after the call returns, and no later data is lost to it). */

static int main_read_deadline(void *arg)
{
	(void)arg;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	char buf[8] = {0};
	int64_t v0 = urt_now_ns(), r0 = real_now();
	OK(urt_deadline_push(SEC(10)));
	CHECK(urt_read(p[0], buf, sizeof buf, -1), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(urt_now_ns() - v0, SEC(10));
	cr_assert_lt(real_now() - r0, SEC(5));
	/* the timed-out read is over: what is written now goes to the next read */
	cr_assert_eq(write(p[1], "abc", 3), 3);
	cr_assert_eq(buf[0], 0);
	char b2[8] = {0};
	CHECK(urt_read(p[0], b2, sizeof b2, -1), 3);
	cr_assert_eq(memcmp(b2, "abc", 3), 0);
	cr_assert_eq(buf[0], 0);
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(vtime, deadline_on_a_read_that_never_completes)
{
	VRUN(main_read_deadline, NULL);
}

/* The same on a socketpair, with urt_recv under two nested scopes (the
   earlier wins), and urt_poll's own timeout. */
static int main_recv_deadline(void *arg)
{
	(void)arg;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	char buf[8];
	int64_t v0 = urt_now_ns();
	OK(urt_deadline_push(SEC(60)));
	OK(urt_deadline_push(SEC(45)));
	CHECK(urt_recv(sv[0], buf, sizeof buf, 0), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(urt_now_ns() - v0, SEC(45));
	CHECK(urt_recv(sv[0], buf, sizeof buf, 0), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(urt_now_ns() - v0, SEC(60));
	CHECK(urt_poll(sv[0], POLLIN, SEC(5)), -ETIMEDOUT);
	cr_assert_eq(urt_now_ns() - v0, SEC(65));
	CHECK(urt_poll(sv[0], POLLIN, 0), -ETIMEDOUT); /* one look, nothing there */
	/* data already there: the read wins over a deadline that has not passed */
	cr_assert_eq(write(sv[1], "x", 1), 1);
	CHECK(urt_poll(sv[0], POLLIN, 0), POLLIN); /* one look past its deadline */
	CHECK(urt_poll(sv[0], POLLIN, SEC(5)), POLLIN);
	cr_assert_eq(urt_now_ns() - v0, SEC(65));
	OK(urt_deadline_push(SEC(1)));
	CHECK(urt_recv(sv[0], buf, sizeof buf, 0), 1);
	urt_deadline_pop();
	cr_assert_eq(urt_now_ns() - v0, SEC(65));
	close(sv[0]);
	close(sv[1]);
	return 0;
}

Test(vtime, deadlines_and_poll_timeout_on_a_socket)
{
	VRUN(main_recv_deadline, NULL);
}

/* urt_wait_any, a future's wait and urt_wait_for time out in virtual time. */
static int main_forever(void *arg)
{
	(void)arg;
	return urt_sleep_ns(SEC(1000));
}

static int main_wait_for(void *arg)
{
	(void)arg;
	int64_t v0 = urt_now_ns(), r0 = real_now();
	urt_task *t = urt_spawn(main_forever, NULL);
	int res;
	CHECK(urt_wait_any(&t, 1, SEC(30)), -ETIMEDOUT);
	cr_assert_eq(urt_now_ns() - v0, SEC(30));
	urt_future f;
	urt_future_init(&f);
	CHECK(urt_future_wait(&f, NULL, SEC(5)), -ETIMEDOUT);
	cr_assert_eq(urt_now_ns() - v0, SEC(35));
	OK(urt_join(t, &res));
	cr_assert_eq(res, 0);
	cr_assert_eq(urt_now_ns() - v0, SEC(1000));
	/* wait_for cancels and joins on expiry, at the expiry */
	t = urt_spawn(main_forever, NULL);
	CHECK(urt_wait_for(t, &res, SEC(30)), -ETIMEDOUT);
	cr_assert_eq(urt_now_ns() - v0, SEC(1030));
	cr_assert_lt(real_now() - r0, SEC(5));
	return 0;
}

Test(vtime, wait_timeouts)
{
	VRUN(main_wait_for, NULL);
}

/* ---------------------------------------------------------------------- */
/* Real I/O with virtual timers, as documented: I/O in flight does not
   hold the clock. A read under a deadline whose data is not there times
   out at once however long the deadline, and a 60 s sleep beside it ends
   on the way; a read without one waits for data a thread writes after a
   real delay, and the clock does not move meanwhile. (The thread writes
   only after the timed-out read has returned: no race to lose.) */

struct writer {
	int fd;
	sem_t go;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	while (sem_wait(&w->go) != 0)
		;
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	ssize_t n = write(w->fd, "late", 4);
	(void)n;
	return NULL;
}

static int mixed_done;

static int mixed_sleeper(void *arg)
{
	(void)arg;
	OK(urt_sleep_ns(SEC(60)));
	mixed_done = 1;
	return 0;
}

static int main_mixed(void *arg)
{
	(void)arg;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	struct writer w = {.fd = p[1]};
	cr_assert_eq(sem_init(&w.go, 0, 0), 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, writer_fn, &w), 0);
	int64_t v0 = urt_now_ns();
	urt_task *s = urt_spawn(mixed_sleeper, NULL);
	char buf[8];
	OK(urt_deadline_push(SEC(3600)));
	CHECK(urt_read(p[0], buf, sizeof buf, -1), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(mixed_done, 1); /* its 60 s came before the 3600 s */
	cr_assert_eq(urt_now_ns() - v0, SEC(3600));
	OK(urt_join(s, NULL));
	int64_t r0 = real_now();
	cr_assert_eq(sem_post(&w.go), 0);
	CHECK(urt_read(p[0], buf, sizeof buf, -1), 4); /* no deadline: real time */
	cr_assert_eq(memcmp(buf, "late", 4), 0);
	cr_assert_geq(real_now() - r0, MS(100));
	cr_assert_eq(urt_now_ns() - v0, SEC(3600)); /* real time passed, virtual did not */
	pthread_join(th, NULL);
	sem_destroy(&w.go);
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(vtime, real_io_beside_virtual_timers)
{
	VRUN(main_mixed, NULL);
}

/* An offload holds the clock: a sleeper beside it wakes after it. */
static void *slow_fn(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	return (void *)1;
}

static int off_events[4], noff;

static int off_sleeper(void *arg)
{
	(void)arg;
	OK(urt_sleep_ns(SEC(10)));
	off_events[noff++] = 2;
	return 0;
}

static int main_offload(void *arg)
{
	(void)arg;
	int64_t v0 = urt_now_ns();
	urt_task *s = urt_spawn(off_sleeper, NULL);
	OK(urt_yield()); /* the sleeper arms its timer */
	void *res = NULL;
	OK(urt_offload(slow_fn, NULL, &res));
	cr_assert_eq(res, (void *)1);
	off_events[noff++] = 1;
	cr_assert_eq(urt_now_ns(), v0); /* the clock stood still while it ran */
	OK(urt_join(s, NULL));
	cr_assert_eq(urt_now_ns() - v0, SEC(10));
	return 0;
}

Test(vtime, offload_holds_the_clock)
{
	VRUN(main_offload, NULL);
	cr_assert_eq(noff, 2);
	cr_assert_eq(off_events[0], 1);
	cr_assert_eq(off_events[1], 2);
}

/* ---------------------------------------------------------------------- */
/* Every loop has its own clock. Loop 1's task sleeps 100 s; loop 0's main
   waits for it across loops, and its own clock does not move. Other
   threads read the real clock. */

static int remote_sleeper(void *arg)
{
	(void)arg;
	int64_t v0 = urt_now_ns();
	OK(urt_sleep_ns(SEC(100)));
	cr_assert_eq(urt_now_ns() - v0, SEC(100));
	return urt_loop_index();
}

static void *read_clock(void *arg)
{
	*(int64_t *)arg = urt_now_ns();
	return NULL;
}

static int main_loops(void *arg)
{
	(void)arg;
	int64_t v0 = urt_now_ns(), r0 = real_now();
	urt_remote *r;
	OK(urt_spawn_on(urt_loops_get(1), remote_sleeper, NULL, &r));
	int res = -1;
	OK(urt_remote_wait(r, &res));
	cr_assert_eq(res, 1);
	cr_assert_eq(urt_now_ns(), v0);
	OK(urt_sleep_ns(SEC(2)));
	cr_assert_eq(urt_now_ns() - v0, SEC(2));
	/* a thread without a loop: the real clock */
	pthread_t th;
	int64_t seen = 0;
	cr_assert_eq(pthread_create(&th, NULL, read_clock, &seen), 0);
	pthread_join(th, NULL);
	cr_assert_geq(seen, r0);
	cr_assert_lt(seen - r0, SEC(5));
	cr_assert_lt(real_now() - r0, SEC(5));
	return 0;
}

Test(vtime, each_loop_has_its_own_clock)
{
	struct urt_options o = {0};
	o.flags = URT_OPT_VIRTUAL_TIME;
	OK(urt_run_loops(2, 0, &o, main_loops, NULL));
}

/* ---------------------------------------------------------------------- */
/* URT_VIRTUAL_TIME=1 turns it on for a loop without the flag. */

Test(vtime, environment_variable)
{
	setenv("URT_VIRTUAL_TIME", "1", 1);
	int64_t r0 = real_now();
	RUN(main_sleep30, NULL);
	cr_assert_lt(real_now() - r0, SEC(5));
}

/* ---------------------------------------------------------------------- */
/* Embedding: the host's step is the loop's turn, so stepping jumps too;
   urt_loop_timeout_ns says 0 while a timer is pending. run_until jumps as
   urt_run does. */

static int embed_task(void *arg)
{
	(void)arg;
	int64_t v0 = urt_now_ns();
	OK(urt_sleep_ns(SEC(20)));
	OK(urt_sleep_ns(SEC(20)));
	return (int)((urt_now_ns() - v0) / URT_NS_PER_SEC);
}

Test(vtime, embedded_loop)
{
	struct urt_options o = {0};
	o.flags = URT_OPT_VIRTUAL_TIME;
	urt_loop *L;
	OK(urt_loop_new(&o, &L));
	int64_t r0 = real_now();
	urt_task *t = urt_loop_spawn(L, embed_task, NULL);
	cr_assert_not_null(t);
	int steps = 0;
	while (urt_loop_step(L) > 0) {
		cr_assert_eq(urt_loop_timeout_ns(L), 0);
		cr_assert_lt(++steps, 100);
	}
	int res = -1;
	OK(urt_loop_run_until(L, t, &res));
	cr_assert_eq(res, 40);
	t = urt_loop_spawn(L, embed_task, NULL);
	OK(urt_loop_run_until(L, t, &res));
	cr_assert_eq(res, 40);
	cr_assert_eq(urt_loop_timeout_ns(L), -1);
	OK(urt_loop_free(L));
	cr_assert_lt(real_now() - r0, SEC(5));
}
