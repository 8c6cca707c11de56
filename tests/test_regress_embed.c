/* SPDX-License-Identifier: MIT */
/*
 * Regression tests for issue 20's embedding points (11, 16): a loop the
 * program drives finds its deadlocks by urt.h's rule, and work handed to
 * an idle embedded loop from another thread makes urt_loop_fd readable
 * at once, without the host's wait ever failing with EINTR.
 *
 * The wake-up tests assert an order, not a speed: urt_loop_fd is readable
 * as soon as the handing thread's call has returned (poll with a zero
 * timeout after joining that thread). Before the fix, on io_uring with
 * DEFER_TASKRUN, the ring signalled it an RCU grace period later (~15 ms);
 * without DEFER_TASKRUN the host's epoll_wait failed with EINTR.
 * Also built for ThreadSanitizer (tests/tsan).
 */
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "helpers.h"

/* A hang is a failure: short per-test timeouts instead of the suite's. */
TestSuite(regress_embed, .timeout = 30);

static int fd_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, 0);
	cr_assert_geq(n, 0);
	return n == 1 && (p.revents & POLLIN);
}

/* ---- point 11: deadlocks of urt_loop_run_until ---- */

static urt_future never;

static int wait_never(void *arg)
{
	(void)arg;
	void *v = NULL;
	int r = urt_future_wait(&never, &v, -1);
	return r < 0 ? r : (int)(intptr_t)v;
}

Test(regress_embed, run_until_never_set_future_is_edeadlk, .timeout = 10)
{
	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	urt_future_init(&never);
	urt_task *t = urt_loop_spawn(L, wait_never, NULL);
	cr_assert_not_null(t);
	int res = 1;
	CHECK(urt_loop_run_until(L, t, &res), -EDEADLK);
	/* its tasks were cancelled: running again lets them end */
	OK(urt_loop_run_until(L, t, &res));
	CHECK(res, -ECANCELED);
	OK(urt_loop_free(L));
}

/* Another thread holds a reference: the loop waits for it. */
struct holder {
	urt_loop *L;
	bool submit;
};

static int set_never(void *arg)
{
	(void)arg;
	return urt_future_set(&never, 0, (void *)(intptr_t)42);
}

static void *hold_then_submit(void *arg)
{
	struct holder *h = arg;
	usleep(20000); /* (the loop is most likely asleep by now; either way works) */
	if (h->submit)
		OK(urt_loop_submit(h->L, set_never, NULL, NULL));
	urt_loop_unref(h->L);
	return NULL;
}

Test(regress_embed, run_until_waits_while_ref_held_for_submission, .timeout = 10)
{
	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	urt_future_init(&never);
	urt_task *t = urt_loop_spawn(L, wait_never, NULL);
	struct holder h = {.L = urt_loop_ref(L), .submit = true};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, hold_then_submit, &h), 0);
	int res = 0;
	OK(urt_loop_run_until(L, t, &res));
	cr_assert_eq(res, 42);
	pthread_join(th, NULL);
	/* the submission's task ends in a step or two */
	for (int i = 0; i < 100 && urt_loop_step(L) > 0; i++)
		;
	OK(urt_loop_free(L));
}

/* The reference goes without a submission: that last urt_loop_unref wakes
   the loop, which then finds the deadlock. */
Test(regress_embed, run_until_deadlock_found_when_last_ref_dropped, .timeout = 10)
{
	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	urt_future_init(&never);
	urt_task *t = urt_loop_spawn(L, wait_never, NULL);
	struct holder h = {.L = urt_loop_ref(L), .submit = false};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, hold_then_submit, &h), 0);
	int res = 0;
	CHECK(urt_loop_run_until(L, t, &res), -EDEADLK);
	pthread_join(th, NULL);
	OK(urt_loop_run_until(L, t, &res));
	CHECK(res, -ECANCELED);
	OK(urt_loop_free(L));
}

/* urt_run keeps the same rule: handing out the handle (urt_loop_current)
   no longer turns deadlock detection off for good. */
static int main_current_then_never(void *arg)
{
	(void)arg;
	cr_assert_not_null(urt_loop_current());
	urt_future_init(&never);
	return wait_never(NULL);
}

Test(regress_embed, run_deadlock_found_after_loop_current, .timeout = 10)
{
	CHECK(urt_run(main_current_then_never, NULL), -EDEADLK);
}

/* A task waiting on a cross-thread primitive can be woken by any thread
   (no reference needed): no deadlock while it waits. */
static urt_xfuture *xf;

static void *set_xf_later(void *arg)
{
	(void)arg;
	usleep(20000);
	OK(urt_xfuture_set(xf, 7, NULL));
	return NULL;
}

static int wait_xf(void *arg)
{
	(void)arg;
	return urt_xfuture_wait(xf, NULL, -1);
}

Test(regress_embed, run_until_xfuture_wait_is_no_deadlock, .timeout = 10)
{
	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	OK(urt_xfuture_new(&xf));
	urt_task *t = urt_loop_spawn(L, wait_xf, NULL);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, set_xf_later, NULL), 0);
	int res = 0;
	OK(urt_loop_run_until(L, t, &res));
	cr_assert_eq(res, 7);
	pthread_join(th, NULL);
	urt_xfuture_free(xf);
	OK(urt_loop_free(L));
}

/* ---- point 16: waking an idle embedded loop from another thread ---- */

static atomic_int jobs_ran;

static int job(void *arg)
{
	(void)arg;
	atomic_fetch_add(&jobs_ran, 1);
	return 0;
}

struct submitter {
	urt_loop *L;
	useconds_t delay;
};

static void *submit_one(void *arg)
{
	struct submitter *s = arg;
	if (s->delay)
		usleep(s->delay);
	OK(urt_loop_submit(s->L, job, NULL, NULL));
	urt_loop_unref(s->L);
	return NULL;
}

/* An idle loop driven through urt_loop_fd: nothing alive, nothing ready. */
static urt_loop *idle_embedded_loop(int *lfd)
{
	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	*lfd = urt_loop_fd(L);
	cr_assert_geq(*lfd, 0);
	CHECK(urt_loop_step(L), 0);
	cr_assert_not(fd_readable(*lfd), "an idle loop's fd is readable");
	return L;
}

Test(regress_embed, remote_submit_wakes_idle_embedded_loop_fd, .timeout = 10)
{
	int lfd;
	atomic_store(&jobs_ran, 0);
	urt_loop *L = idle_embedded_loop(&lfd);

	/* 1. readable once urt_loop_submit has returned on the other thread */
	struct submitter s = {.L = urt_loop_ref(L)};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, submit_one, &s), 0);
	pthread_join(th, NULL);
	cr_assert(fd_readable(lfd), "urt_loop_submit returned, urt_loop_fd not readable");
	cr_assert_geq(urt_loop_step(L), 0);
	cr_assert_eq(atomic_load(&jobs_ran), 1, "the submission ran in the first step");

	/* 2. the host asleep in its own epoll_wait(-1) on the fd wakes with
	   the fd ready, never with EINTR, however often it is woken */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev), 0);
	for (int i = 0; i < 5; i++) {
		while (urt_loop_step(L) > 0) /* the last job's task ends */
			;
		s.L = urt_loop_ref(L);
		s.delay = 5000;
		int before = atomic_load(&jobs_ran);
		cr_assert_eq(pthread_create(&th, NULL, submit_one, &s), 0);
		while (atomic_load(&jobs_ran) == before) {
			int64_t ns = urt_loop_timeout_ns(L);
			int n = epoll_wait(ep, &ev, 1, ns < 0 ? -1 : (int)((ns + 999999) / 1000000));
			int e = errno;
			cr_assert_geq(n, 0, "epoll_wait failed: %s", strerror(e));
			if (ns < 0)
				cr_assert_eq(n, 1, "an endless epoll_wait returned with nothing ready");
			cr_assert_geq(urt_loop_step(L), 0);
		}
		pthread_join(th, NULL);
	}
	cr_assert_eq(atomic_load(&jobs_ran), 6);
	close(ep);
	while (urt_loop_step(L) > 0)
		;
	OK(urt_loop_free(L));
}

static void *stop_it(void *arg)
{
	OK(urt_loop_stop(arg));
	urt_loop_unref(arg);
	return NULL;
}

Test(regress_embed, stop_wakes_idle_embedded_loop_fd, .timeout = 10)
{
	int lfd;
	urt_loop *L = idle_embedded_loop(&lfd);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, stop_it, urt_loop_ref(L)), 0);
	pthread_join(th, NULL);
	cr_assert(fd_readable(lfd), "urt_loop_stop returned, urt_loop_fd not readable");
	CHECK(urt_loop_step(L), -EINTR);
	OK(urt_loop_free(L));
}

/* An offload's completion (a worker thread's) wakes a host asleep on the
   fd too. One worker runs two offloads in turn: when the second starts,
   the first one's completion has been published. */
static sem_t release1, started2;

static void *off1(void *arg)
{
	(void)arg;
	while (sem_wait(&release1) != 0)
		;
	return (void *)1;
}

static void *off2(void *arg)
{
	(void)arg;
	sem_post(&started2);
	return (void *)2;
}

static int offload_task(void *arg)
{
	void *res = NULL;
	int r = urt_offload(arg, NULL, &res);
	return r < 0 ? r : (int)(intptr_t)res;
}

Test(regress_embed, offload_completion_wakes_idle_embedded_loop_fd, .timeout = 10)
{
	sem_init(&release1, 0, 0);
	sem_init(&started2, 0, 0);
	struct urt_options o = {.offload_threads = 1};
	urt_loop *L;
	OK(urt_loop_new(&o, &L));
	int lfd = urt_loop_fd(L);
	cr_assert_geq(lfd, 0);
	urt_task *t1 = urt_loop_spawn(L, offload_task, (void *)off1);
	urt_task *t2 = urt_loop_spawn(L, offload_task, (void *)off2);
	CHECK(urt_loop_step(L), 2); /* both handed to the pool; off1 blocks the worker */
	CHECK(urt_loop_step(L), 2);
	uint64_t drain;
	ssize_t n = read(lfd, &drain, sizeof drain); /* (epoll: not an eventfd) */
	(void)n;
	cr_assert_not(fd_readable(lfd), "nothing has completed yet");
	sem_post(&release1);
	while (sem_wait(&started2) != 0)
		;
	cr_assert(fd_readable(lfd), "an offload completed, urt_loop_fd not readable");
	int res;
	for (int i = 0; i < 1000 && !urt_task_done(t2); i++) {
		cr_assert_geq(urt_loop_step(L), 0);
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		poll(&p, 1, 100); /* a guard, not a measurement */
	}
	OK(urt_loop_run_until(L, t1, &res));
	cr_assert_eq(res, 1);
	OK(urt_loop_run_until(L, t2, &res));
	cr_assert_eq(res, 2);
	OK(urt_loop_free(L));
	sem_destroy(&release1);
	sem_destroy(&started2);
}
