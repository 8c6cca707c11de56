/* SPDX-License-Identifier: MIT */
/*
 * The loop as an object the program drives, and submission from other
 * threads: run_until, step + fd + timeout inside a plain epoll loop, misuse
 * errors, 4 foreign threads x 25,000 submissions (none lost, none run
 * twice), shutdown racing submissions (each ran or was refused), stop.
 * Also built for ThreadSanitizer (tests/tsan).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(embed, .timeout = 120);

static int sleeper(void *arg)
{
	int r = urt_sleep_ms((intptr_t)arg);
	return r ? r : (int)(intptr_t)arg;
}

Test(embed, run_until_and_reuse)
{
	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	urt_loop *L2;
	CHECK(urt_loop_new(NULL, &L2), -EBUSY);
	urt_task *a = urt_loop_spawn(L, sleeper, (void *)5);
	urt_task *b = urt_loop_spawn(L, sleeper, (void *)100000);
	cr_assert(a && b);
	int res = 0;
	OK(urt_loop_run_until(L, a, &res));
	cr_assert_eq(res, 5);
	CHECK(urt_loop_free(L), -EBUSY); /* b still alive */
	urt_cancel(b);
	OK(urt_loop_run_until(L, b, &res));
	CHECK(res, -ECANCELED);
	CHECK(urt_loop_run_until(L, b, &res), -EINVAL); /* already joined */
	/* a handle waited for on the loop's own thread, outside its tasks:
	   -EDEADLK while its task has not run (nobody would run it), its
	   result once it has */
	urt_remote *h;
	OK(urt_loop_submit(L, sleeper, (void *)1, &h));
	CHECK(urt_remote_wait(h, &res), -EDEADLK);
	for (int i = 0; i < 1000 && urt_remote_wait(h, &res) == -EDEADLK; i++) {
		urt_loop_step(L);
		usleep(1000);
	}
	cr_assert_eq(res, 1, "the submission ran and its handle was consumed");
	OK(urt_loop_free(L));
	CHECK(urt_loop_new(NULL, &L), 0); /* the thread can have a new one */
	OK(urt_loop_free(L));
}

/* urt tasks inside a plain epoll main loop: sleeps, a pipe read, and the
   program's own fd in the same epoll set. */
static int reader(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[8];
	ssize_t n = urt_read(fd, buf, sizeof buf, -1);
	return n == 5 && memcmp(buf, "hello", 5) == 0 ? 0 : -EIO;
}

static void *feed_later(void *arg)
{
	usleep(20000);
	cr_assert_eq(write(*(int *)arg, "hello", 5), 5);
	return NULL;
}

Test(embed, step_inside_epoll_loop)
{
	pthread_t feeder;
	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int lfd = urt_loop_fd(L);
	cr_assert_geq(lfd, 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev), 0);
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	urt_task *t[4];
	for (int i = 0; i < 3; i++)
		t[i] = urt_loop_spawn(L, sleeper, (void *)(intptr_t)(5 * (i + 1)));
	t[3] = urt_loop_spawn(L, reader, (void *)(intptr_t)p[0]);
	int steps = 0, wakeups = 0;
	bool wrote = false;
	for (;;) {
		int alive = urt_loop_step(L);
		cr_assert_geq(alive, 0);
		steps++;
		if (alive == 0)
			break;
		if (!wrote && urt_task_done(t[2])) {
			/* after the sleeps, another thread feeds the reader while
			   this one sleeps in epoll_wait with no timeout: only the
			   loop's fd can wake it */
			cr_assert_eq(pthread_create(&feeder, NULL, feed_later, &p[1]), 0);
			wrote = true;
		}
		int64_t to = urt_loop_timeout_ns(L);
		int ms = to < 0 ? -1 : (int)((to + 999999) / 1000000);
		struct epoll_event out;
		int n = epoll_wait(ep, &out, 1, ms);
		wakeups += n != 0; /* an event, or EINTR: task work interrupted the sleep (plain rings) */
		cr_assert_lt(steps, 100000);
	}
	cr_assert(wrote);
	pthread_join(feeder, NULL);
	cr_assert_gt(wakeups, 0, "the loop's fd never became readable");
	int res;
	for (int i = 0; i < 4; i++) {
		OK(urt_loop_run_until(L, t[i], &res));
		cr_assert_eq(res, i < 3 ? 5 * (i + 1) : 0);
	}
	CHECK(urt_loop_timeout_ns(L), -1); /* idle: nothing to wait for */
	close(p[0]);
	close(p[1]);
	close(ep);
	OK(urt_loop_free(L));
}

/* Misuse: from a task, from another thread, nested. */
static urt_loop *misuse_loop;

static int misuse_task(void *arg)
{
	(void)arg;
	CHECK(urt_loop_step(misuse_loop), -EBUSY);
	CHECK(urt_loop_free(misuse_loop), -EBUSY);
	CHECK(urt_loop_new(NULL, &(urt_loop *){0}), -EBUSY);
	cr_assert_eq(urt_loop_current(), misuse_loop);
	return 0;
}

static void *other_thread(void *arg)
{
	(void)arg;
	CHECK(urt_loop_step(misuse_loop), -EPERM);
	CHECK(urt_loop_free(misuse_loop), -EPERM);
	errno = 0;
	cr_assert_null(urt_loop_spawn(misuse_loop, sleeper, NULL));
	cr_assert_eq(errno, EPERM); /* NULL + errno, as urt_spawn */
	return NULL;
}

Test(embed, misuse_gives_errno)
{
	OK(urt_loop_new(NULL, &misuse_loop));
	urt_task *t = urt_loop_spawn(misuse_loop, misuse_task, NULL);
	int res = -1;
	OK(urt_loop_run_until(misuse_loop, t, &res));
	cr_assert_eq(res, 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, other_thread, NULL), 0);
	pthread_join(th, NULL);
	CHECK(urt_loop_step(NULL), -EINVAL);
	errno = 0;
	cr_assert_null(urt_loop_spawn(NULL, sleeper, NULL));
	cr_assert_eq(errno, EINVAL);
	CHECK(urt_loop_run_until(misuse_loop, NULL, NULL), -EINVAL);
	OK(urt_loop_free(misuse_loop));
	CHECK(urt_loop_submit(NULL, sleeper, NULL, NULL), -EINVAL);
}

/* ---- foreign threads ---- */

#define THREADS 4
#define PER 25000
static atomic_int ran[THREADS * PER];
static atomic_char accepted[THREADS * PER];

static int count_it(void *arg)
{
	atomic_fetch_add(&ran[(intptr_t)arg], 1);
	return (int)((intptr_t)arg & 0xffff);
}

struct sub {
	urt_loop *L;
	int id;
	int refused, ok;
	bool wait_some;
};

static void *submitter(void *arg)
{
	struct sub *s = arg;
	for (int i = 0; i < PER; i++) {
		intptr_t k = (intptr_t)s->id * PER + i;
		urt_remote *h = NULL;
		bool wait = s->wait_some && i % 100 == 0;
		int r = urt_loop_submit(s->L, count_it, (void *)k, wait ? &h : NULL);
		if (r == -ESHUTDOWN) {
			s->refused++;
			continue;
		}
		cr_assert_eq(r, 0);
		atomic_store(&accepted[k], 1);
		s->ok++;
		if (wait) {
			int res = -1;
			OK(urt_remote_wait(h, &res));
			cr_assert(res == (int)(k & 0xffff) || res == -ECANCELED, "res %d", res);
		}
	}
	urt_loop_unref(s->L);
	return NULL;
}

static atomic_int finished;

static void *finisher(void *arg)
{
	struct sub *s = arg;
	pthread_t th[THREADS];
	(void)th;
	(void)s;
	return NULL;
}

/* The loop's main task waits until every submission has run. */
static int wait_all(void *arg)
{
	(void)arg;
	while (atomic_load(&finished) < THREADS * PER)
		OK(urt_sleep_ms(1));
	return 0;
}

static int count_done(void *arg)
{
	(void)arg;
	atomic_fetch_add(&finished, 1);
	return 0;
}

static int wrap(void *arg)
{
	count_it(arg);
	return count_done(NULL);
}

static void *submitter_wrap(void *arg)
{
	struct sub *s = arg;
	for (int i = 0; i < PER; i++) {
		intptr_t k = (intptr_t)s->id * PER + i;
		urt_remote *h = NULL;
		bool wait = i % 1000 == 0;
		OK(urt_loop_submit(s->L, wrap, (void *)k, wait ? &h : NULL));
		if (wait) {
			int res = -1;
			OK(urt_remote_wait(h, &res));
			OK(res);
		}
	}
	urt_loop_unref(s->L);
	return NULL;
}

static void *wait_handle(void *arg)
{
	int res = -1;
	OK(urt_remote_wait(arg, &res));
	OK(res);
	return NULL;
}

static int t_hundred_k(void *arg)
{
	(void)arg;
	urt_loop *L = urt_loop_current();
	cr_assert_not_null(L);
	pthread_t th[THREADS];
	struct sub s[THREADS];
	for (int i = 0; i < THREADS; i++) {
		s[i] = (struct sub){.L = urt_loop_ref(L), .id = i};
		cr_assert_eq(pthread_create(&th[i], NULL, submitter_wrap, &s[i]), 0);
	}
	OK(wait_all(NULL));
	/* remote_wait from a task of the loop itself suspends that task (the
	   loop runs the submission meanwhile) */
	urt_remote *h;
	OK(urt_loop_submit(L, count_done, NULL, &h));
	OK(urt_remote_wait(h, NULL));
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	while (atomic_load(&finished) < THREADS * PER + 1)
		OK(urt_sleep_ms(1));
	(void)finisher;
	(void)wait_handle;
	return 0;
}

Test(embed, four_threads_100k_submissions)
{
	memset(ran, 0, sizeof ran);
	atomic_store(&finished, 0);
	RUN(t_hundred_k, NULL);
	for (int i = 0; i < THREADS * PER; i++)
		cr_assert_eq(atomic_load(&ran[i]), 1, "submission %d ran %d times", i,
			     atomic_load(&ran[i]));
}

/* Shutdown while four threads submit: every submission either ran once or
   was refused (-ESHUTDOWN), or was accepted too late to start (its handle
   says -ECANCELED, and it did not run). */
static struct sub shut_subs[THREADS];

static int t_shutdown_race(void *arg)
{
	pthread_t *th = arg;
	urt_loop *L = urt_loop_current();
	struct sub *s = shut_subs;
	for (int i = 0; i < THREADS; i++) {
		s[i] = (struct sub){.L = urt_loop_ref(L), .id = i, .wait_some = true};
		cr_assert_eq(pthread_create(&th[i], NULL, submitter, &s[i]), 0);
	}
	OK(urt_sleep_ms(3)); /* some run, then main returns mid-stream */
	return 0;
}

Test(embed, shutdown_races_submissions)
{
	memset(ran, 0, sizeof ran);
	memset(accepted, 0, sizeof accepted);
	pthread_t th[THREADS];
	struct urt_options o = {.flags = URT_OPT_QUIET};
	OK(urt_run_opts(&o, t_shutdown_race, th));
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	/* every submission either ran exactly once or was refused */
	int runs = 0, refused = 0;
	for (int i = 0; i < THREADS * PER; i++) {
		cr_assert_eq(atomic_load(&ran[i]), atomic_load(&accepted[i]),
			     "submission %d: accepted %d, ran %d times", i, atomic_load(&accepted[i]),
			     atomic_load(&ran[i]));
		runs += atomic_load(&ran[i]);
	}
	for (int i = 0; i < THREADS; i++)
		refused += shut_subs[i].refused;
	cr_assert_eq(runs + refused, THREADS * PER);
}

/* urt_loop_stop from another thread: run_until returns -EINTR; under
   urt_run the main task is cancelled. */
static void *stopper(void *arg)
{
	urt_loop *L = arg;
	usleep(20000);
	OK(urt_loop_stop(L));
	urt_loop_unref(L);
	return NULL;
}

static int long_main(void *arg)
{
	pthread_t *th = arg;
	cr_assert_eq(pthread_create(th, NULL, stopper, urt_loop_ref(urt_loop_current())), 0);
	return urt_sleep_ms(100000);
}

Test(embed, stop_from_another_thread)
{
	pthread_t th;
	CHECK(urt_run(long_main, &th), -ECANCELED);
	pthread_join(th, NULL);

	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	urt_task *t = urt_loop_spawn(L, sleeper, (void *)100000);
	cr_assert_eq(pthread_create(&th, NULL, stopper, urt_loop_ref(L)), 0);
	CHECK(urt_loop_run_until(L, t, NULL), -EINTR);
	pthread_join(th, NULL);
	urt_cancel(t);
	int res;
	OK(urt_loop_run_until(L, t, &res));
	CHECK(res, -ECANCELED);
	OK(urt_loop_free(L));
}

/* urt_options.max_tasks: spawning past it fails with EAGAIN (main counts),
   a submission from another thread reports -EAGAIN; a slot freed by a task
   that ended is usable again. */
static atomic_int submit_done;

static void *submit_one(void *arg)
{
	urt_remote *h;
	OK(urt_loop_submit(arg, count_done, NULL, &h));
	int res = 0;
	OK(urt_remote_wait(h, &res));
	CHECK(res, -EAGAIN);
	urt_loop_unref(arg);
	atomic_store(&submit_done, 1);
	return NULL;
}

static int t_max_tasks(void *arg)
{
	(void)arg;
	urt_task *t[4];
	int n = 0;
	for (; n < 4; n++) {
		t[n] = urt_spawn(sleeper, (void *)100000);
		if (!t[n])
			break;
	}
	cr_assert_eq(n, 3, "spawned %d with max_tasks 4 (main counts)", n);
	cr_assert_eq(errno, EAGAIN);
	atomic_store(&submit_done, 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, submit_one, urt_loop_ref(urt_loop_current())), 0);
	while (!atomic_load(&submit_done)) /* the submission arrives while full */
		OK(urt_sleep_ms(1));
	pthread_join(th, NULL);
	urt_cancel(t[0]);
	CHECK(join_ok(t[0]), -ECANCELED);
	urt_task *again = urt_spawn(sleeper, (void *)1);
	cr_assert_not_null(again, "a freed slot is usable again");
	cr_assert_eq(join_ok(again), 1);
	for (int i = 1; i < n; i++) {
		urt_cancel(t[i]);
		CHECK(join_ok(t[i]), -ECANCELED);
	}
	return 0;
}

Test(embed, max_tasks_gives_eagain)
{
	struct urt_options o = {.max_tasks = 4};
	OK(urt_run_opts(&o, t_max_tasks, NULL));
}
