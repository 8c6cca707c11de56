/* SPDX-License-Identifier: MIT */
/*
 * Sync primitives and queues: urt_mutex, urt_sem, urt_event, urt_cond and
 * urt_queue. Every test runs its body as the main task of a fresh loop.
 *
 * Recurring checks:
 *  - FIFO: waiters are spawned in order (spawn order is run order, so they
 *    queue in that order) and the order in which they get the resource is
 *    recorded with rec().
 *  - No barging: right after a release the releaser tries to take the
 *    resource back without waiting and must fail (it went to the waiter).
 *  - No trace: a waiter that timed out stays alive, waiting on an event, so
 *    the stack where its wait node lived is reused; a node left in a wait
 *    list would be granted to that unrelated wait (or point at garbage).
 *  - Grant crossing a cancellation: the releaser grants to W and cancels W
 *    before W runs: W's wait succeeds and W's next suspension point returns
 *    -ECANCELED, once.
 * Timeouts are hang guards or short expiries whose -ETIMEDOUT is the point.
 */
#include <limits.h>

#include "helpers.h"

TestSuite(sync, .timeout = 60);

#define IP(v) ((void *)(intptr_t)(v))
#define PI(p) ((int)(intptr_t)(p))

/* ---------------------------------------------------------------------- */
/* Scaffolding                                                             */

static int order[256];
static int norder;

static void rec(int v)
{
	cr_assert_lt(norder, 256);
	order[norder++] = v;
}

static void order_eq(const int *want, int n)
{
	cr_assert_eq(norder, n, "recorded %d events, want %d", norder, n);
	for (int i = 0; i < n; i++)
		cr_assert_eq(order[i], want[i], "order[%d] = %d, want %d", i, order[i], want[i]);
}

/* Nothing but main is still alive (no waiter left stuck). */
static void only_main_alive(void)
{
	struct urt_stats s;
	OK(urt_stats_get(&s));
	cr_assert_eq(s.tasks, (uint64_t)1, "%llu tasks alive at the end of main",
		     (unsigned long long)s.tasks);
}

/* Poll until *flag is set; the suite timeout is the hang guard. */
static void wait_flag(const int *flag)
{
	while (!*(const volatile int *)flag)
		OK(urt_sleep_ms(1));
}

static void yields(int n)
{
	for (int i = 0; i < n; i++)
		OK(urt_yield());
}

/* Tasks that timed out keep waiting on this event to hold their stack. */
static urt_event hold;
static int timed_rc = 1;
static int timed_done;

static int hold_until_released(void)
{
	timed_done = 1;
	return urt_event_wait(&hold, URT_FOREVER);
}

/* Grant-crossing-cancel bookkeeping. */
static int cross_rc = 1, cross_next = 1, cross_after = 1;

static void cross_tail(void)
{
	cross_next = urt_yield();    /* the pending cancellation, delivered here */
	cross_after = urt_sleep_ms(0); /* delivered once only */
}

static void cross_reset(void)
{
	cross_rc = cross_next = cross_after = 1;
}

static void cross_check(void)
{
	cr_assert_eq(cross_rc, 0, "the grant must win over the cancellation");
	cr_assert_eq(cross_next, -ECANCELED, "cancellation lost after a granted wait");
	cr_assert_eq(cross_after, 0, "cancellation delivered twice");
}

/* ---------------------------------------------------------------------- */
/* Outside a task                                                          */

Test(sync, outside_task_eperm)
{
	urt_mutex m;
	urt_mutex_init(&m);
	CHECK(urt_mutex_lock(&m, 0), -EPERM);
	CHECK(urt_mutex_lock(&m, URT_FOREVER), -EPERM);
	CHECK(urt_mutex_try_lock(&m), -EPERM);
	CHECK(urt_mutex_unlock(&m), -EPERM);
	cr_assert_not(urt_mutex_locked(&m));

	urt_sem s;
	urt_sem_init(&s, 0);
	CHECK(urt_sem_acquire(&s, 0), -EPERM);
	CHECK(urt_sem_acquire(&s, URT_FOREVER), -EPERM);
	cr_assert_eq(urt_sem_value(&s), 0u);

	urt_event e;
	urt_event_init(&e);
	CHECK(urt_event_wait(&e, URT_FOREVER), -EPERM);

	urt_cond c;
	urt_cond_init(&c);
	CHECK(urt_cond_wait(&c, &m, URT_FOREVER), -EPERM);
	urt_cond_signal(&c);
	urt_cond_broadcast(&c);

	urt_queue q;
	OK(urt_queue_init(&q, 2));
	void *it = NULL;
	CHECK(urt_queue_put(&q, IP(1), URT_FOREVER), -EPERM);
	CHECK(urt_queue_get(&q, &it, URT_FOREVER), -EPERM);
	CHECK(urt_queue_join(&q, URT_FOREVER), -EPERM);
	cr_assert_eq(urt_queue_len(&q), (size_t)0);
	urt_queue_destroy(&q);
}

/* ====================================================================== */
/* Mutex                                                                   */
/* ====================================================================== */

static urt_mutex M;

static int main_mutex_basic(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	cr_assert_not(urt_mutex_locked(&M));
	CHECK(urt_mutex_unlock(&M), -EPERM); /* not locked */
	OK(urt_mutex_lock(&M, URT_FOREVER));
	cr_assert(urt_mutex_locked(&M));
	CHECK(urt_mutex_lock(&M, URT_FOREVER), -EDEADLK);
	CHECK(urt_mutex_lock(&M, 0), -EDEADLK);
	CHECK(urt_mutex_lock(&M, MS(1)), -EDEADLK);
	CHECK(urt_mutex_try_lock(&M), -EDEADLK);
	cr_assert(urt_mutex_locked(&M));
	OK(urt_mutex_unlock(&M));
	cr_assert_not(urt_mutex_locked(&M));
	CHECK(urt_mutex_unlock(&M), -EPERM);
	OK(urt_mutex_try_lock(&M));
	cr_assert(urt_mutex_locked(&M));
	OK(urt_mutex_unlock(&M));
	/* A free mutex is taken even with a zero timeout. */
	OK(urt_mutex_lock(&M, 0));
	OK(urt_mutex_unlock(&M));
	cr_assert_not(urt_mutex_locked(&M));

	CHECK(urt_mutex_lock(NULL, URT_FOREVER), -EINVAL);
	CHECK(urt_mutex_try_lock(NULL), -EINVAL);
	CHECK(urt_mutex_unlock(NULL), -EINVAL);
	cr_assert_not(urt_mutex_locked(NULL));
	only_main_alive();
	return 0;
}

Test(sync, mutex_basic)
{
	VRUN(main_mutex_basic, NULL);
}

/* ---------------------------------------------------------------------- */
/* Mutual exclusion with suspensions inside the critical section: a
   non-atomic read-modify-write of a shared counter loses updates unless the
   lock really excludes. */

#define EX_TASKS 8
#define EX_ITERS 50
static int ex_inside, ex_max_inside, ex_shared;

static int ex_worker(void *arg)
{
	int id = PI(arg);
	for (int i = 0; i < EX_ITERS; i++) {
		int r = urt_mutex_lock(&M, (i & 1) ? URT_FOREVER : SEC(30));
		if (r)
			return r;
		ex_inside++;
		if (ex_inside > ex_max_inside)
			ex_max_inside = ex_inside;
		int v = ex_shared;
		if ((i + id) % 5 == 0)
			OK(urt_sleep_ms((i + id) % 2));
		else
			OK(urt_yield());
		ex_shared = v + 1;
		ex_inside--;
		OK(urt_mutex_unlock(&M));
		if ((i + id) % 3 == 0)
			OK(urt_yield());
	}
	return 0;
}

static int main_mutex_exclusion(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	urt_task *t[EX_TASKS];
	for (int i = 0; i < EX_TASKS; i++)
		t[i] = spawn_ok(ex_worker, IP(i));
	for (int i = 0; i < EX_TASKS; i++)
		cr_assert_eq(join_ok(t[i]), 0, "worker %d", i);
	cr_assert_eq(ex_max_inside, 1, "two tasks inside the critical section");
	cr_assert_eq(ex_shared, EX_TASKS * EX_ITERS, "lost updates");
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, mutex_mutual_exclusion)
{
	VRUN(main_mutex_exclusion, NULL);
}

/* ---------------------------------------------------------------------- */
/* FIFO hand-off; the releaser cannot barge back in. */

/* Lock, record id, hold across a suspension, unlock. Returns the lock's
   error if it failed (and checks the failed locker does not own m). */
static int locker(void *arg)
{
	int id = PI(arg);
	int r = urt_mutex_lock(&M, URT_FOREVER);
	if (r) {
		CHECK(urt_mutex_unlock(&M), -EPERM);
		return r;
	}
	rec(id);
	CHECK(urt_mutex_try_lock(&M), -EDEADLK); /* we own it */
	OK(urt_yield());
	OK(urt_mutex_unlock(&M));
	return 0;
}

#define FIFO_N 8

static int main_mutex_fifo(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_task *t[FIFO_N];
	for (int i = 0; i < FIFO_N; i++)
		t[i] = spawn_ok(locker, IP(i));
	OK(urt_yield()); /* all of them queue, in spawn order */
	cr_assert_eq(norder, 0);
	OK(urt_mutex_unlock(&M));
	cr_assert(urt_mutex_locked(&M), "unlock with waiters must hand the lock over");
	CHECK(urt_mutex_try_lock(&M), -EBUSY); /* no barging */
	CHECK(urt_mutex_lock(&M, 0), -ETIMEDOUT);
	OK(urt_mutex_lock(&M, URT_FOREVER)); /* queues behind all of them */
	rec(100);
	int want[FIFO_N + 1];
	for (int i = 0; i < FIFO_N; i++)
		want[i] = i;
	want[FIFO_N] = 100;
	order_eq(want, FIFO_N + 1);
	OK(urt_mutex_unlock(&M));
	for (int i = 0; i < FIFO_N; i++)
		cr_assert_eq(join_ok(t[i]), 0);
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, mutex_fifo_handoff)
{
	VRUN(main_mutex_fifo, NULL);
}

/* ---------------------------------------------------------------------- */

static int nonowner(void *arg)
{
	(void)arg;
	CHECK(urt_mutex_unlock(&M), -EPERM);
	CHECK(urt_mutex_try_lock(&M), -EBUSY);
	CHECK(urt_mutex_lock(&M, 0), -ETIMEDOUT);
	CHECK(urt_mutex_lock(&M, MS(2)), -ETIMEDOUT);
	CHECK(urt_mutex_unlock(&M), -EPERM);
	cr_assert(urt_mutex_locked(&M));
	return 7;
}

static int main_mutex_nonowner(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	OK(urt_mutex_lock(&M, URT_FOREVER));
	cr_assert_eq(join_ok(spawn_ok(nonowner, NULL)), 7);
	CHECK(urt_mutex_try_lock(&M), -EDEADLK); /* still ours */
	OK(urt_mutex_unlock(&M));
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, mutex_unlock_by_nonowner_eperm)
{
	VRUN(main_mutex_nonowner, NULL);
}

/* ---------------------------------------------------------------------- */
/* A waiter that times out leaves no trace. */

static int timed_locker(void *arg)
{
	timed_rc = urt_mutex_lock(&M, (int64_t)(intptr_t)arg);
	if (timed_rc == 0)
		return -1000;
	CHECK(urt_mutex_unlock(&M), -EPERM);
	return hold_until_released();
}

static int main_mutex_timeout(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	urt_event_init(&hold);
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_task *a = spawn_ok(timed_locker, IP(MS(10)));
	urt_task *b = spawn_ok(locker, IP(1));
	OK(urt_yield());
	wait_flag(&timed_done);
	cr_assert_eq(timed_rc, -ETIMEDOUT);
	cr_assert_eq(norder, 0);
	cr_assert(urt_mutex_locked(&M));
	OK(urt_mutex_unlock(&M)); /* to b: a is gone from the list */
	cr_assert(urt_mutex_locked(&M));
	cr_assert_eq(join_ok(b), 0);
	order_eq((int[]){1}, 1);
	cr_assert_not(urt_mutex_locked(&M));
	cr_assert_not(urt_task_done(a), "a stale wait node woke the timed-out task");

	/* The only waiter times out: unlock leaves the mutex free. */
	OK(urt_mutex_lock(&M, URT_FOREVER));
	timed_done = 0;
	urt_task *c = spawn_ok(timed_locker, IP(MS(5)));
	wait_flag(&timed_done);
	cr_assert_eq(timed_rc, -ETIMEDOUT);
	OK(urt_mutex_unlock(&M));
	cr_assert_not(urt_mutex_locked(&M), "unlock handed the lock to a timed-out waiter");
	OK(urt_mutex_try_lock(&M));
	OK(urt_mutex_unlock(&M));

	/* Timeout 0 on a held mutex fails at once. */
	OK(urt_mutex_lock(&M, URT_FOREVER));
	timed_done = 0;
	urt_task *d = spawn_ok(timed_locker, IP(0));
	wait_flag(&timed_done);
	cr_assert_eq(timed_rc, -ETIMEDOUT);
	OK(urt_mutex_unlock(&M));
	cr_assert_not(urt_mutex_locked(&M));

	urt_event_set(&hold);
	cr_assert_eq(join_ok(a), 0);
	cr_assert_eq(join_ok(c), 0);
	cr_assert_eq(join_ok(d), 0);
	only_main_alive();
	return 0;
}

Test(sync, mutex_timeout_leaves_no_trace)
{
	VRUN(main_mutex_timeout, NULL);
}

/* ---------------------------------------------------------------------- */
/* Cancelled waiters (at the head and in the middle) leave no trace. */

static int main_mutex_cancel(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_task *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = spawn_ok(locker, IP(i));
	OK(urt_yield());
	urt_cancel(t[0]);
	urt_cancel(t[2]);
	cr_assert_eq(join_ok(t[0]), -ECANCELED);
	cr_assert_eq(join_ok(t[2]), -ECANCELED);
	CHECK(urt_mutex_try_lock(&M), -EDEADLK); /* still ours */
	OK(urt_mutex_unlock(&M));
	cr_assert(urt_mutex_locked(&M));
	cr_assert_eq(join_ok(t[1]), 0);
	cr_assert_eq(join_ok(t[3]), 0);
	order_eq((int[]){1, 3}, 2);
	cr_assert_not(urt_mutex_locked(&M));

	/* The only waiter is cancelled: unlock leaves it free. */
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_task *u = spawn_ok(locker, IP(9));
	OK(urt_yield());
	urt_cancel(u);
	cr_assert_eq(join_ok(u), -ECANCELED);
	OK(urt_mutex_unlock(&M));
	cr_assert_not(urt_mutex_locked(&M));
	order_eq((int[]){1, 3}, 2);
	only_main_alive();
	return 0;
}

Test(sync, mutex_cancel_waiter_leaves_no_trace)
{
	VRUN(main_mutex_cancel, NULL);
}

/* ---------------------------------------------------------------------- */
/* Deadline scopes bound the wait; the earlier of scope and timeout wins. */

static int dl_rc[3] = {1, 1, 1};

static int deadline_locker(void *arg)
{
	(void)arg;
	OK(urt_deadline_push(MS(10)));
	dl_rc[0] = urt_mutex_lock(&M, URT_FOREVER);
	dl_rc[1] = urt_mutex_lock(&M, SEC(10)); /* scope already expired */
	urt_deadline_pop();
	OK(urt_deadline_push(SEC(10)));
	dl_rc[2] = urt_mutex_lock(&M, MS(5)); /* own timeout is earlier */
	urt_deadline_pop();
	CHECK(urt_mutex_unlock(&M), -EPERM);
	timed_done = 1;
	int r = urt_mutex_lock(&M, URT_FOREVER); /* no scope left: waits for main */
	if (r)
		return r;
	rec(7);
	return urt_mutex_unlock(&M);
}

static int main_mutex_deadline(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_task *d = spawn_ok(deadline_locker, NULL);
	wait_flag(&timed_done);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(dl_rc[i], -ETIMEDOUT, "lock %d", i);
	cr_assert_eq(norder, 0);
	OK(urt_mutex_unlock(&M));
	cr_assert_eq(join_ok(d), 0);
	order_eq((int[]){7}, 1);
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, mutex_deadline_scope)
{
	VRUN(main_mutex_deadline, NULL);
}

/* ---------------------------------------------------------------------- */
/* Grant crossing a cancellation: W owns the mutex, the cancel is pending. */

static int cross_locker(void *arg)
{
	cross_rc = urt_mutex_lock(&M, (int64_t)(intptr_t)arg);
	if (cross_rc)
		return cross_rc;
	CHECK(urt_mutex_try_lock(&M), -EDEADLK); /* owner */
	cross_tail();
	cr_assert(urt_mutex_locked(&M));
	return urt_mutex_unlock(&M);
}

static int main_mutex_cross_cancel(void *arg)
{
	(void)arg;
	const int64_t tos[2] = {URT_FOREVER, SEC(30)};
	for (int k = 0; k < 2; k++) {
		cross_reset();
		urt_mutex_init(&M);
		OK(urt_mutex_lock(&M, URT_FOREVER));
		urt_task *w = spawn_ok(cross_locker, IP(tos[k]));
		OK(urt_yield());
		OK(urt_mutex_unlock(&M)); /* granted to w, which has not run yet */
		urt_cancel(w);
		cr_assert(urt_mutex_locked(&M));
		CHECK(urt_mutex_try_lock(&M), -EBUSY); /* w owns it */
		cr_assert_eq(join_ok(w), 0);
		cross_check();
		cr_assert_not(urt_mutex_locked(&M));
	}

	/* Cancel first, unlock before w ran. Either outcome is allowed (the
	   grant reached w, or w left first), but the lock is never lost. */
	cross_reset();
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_task *w = spawn_ok(cross_locker, IP(URT_FOREVER));
	urt_task *x = spawn_ok(locker, IP(1));
	OK(urt_yield());
	urt_cancel(w);
	OK(urt_mutex_unlock(&M));
	int r = join_ok(w);
	if (cross_rc == 0) {
		cr_assert_eq(r, 0);
		cross_check();
	} else {
		cr_assert_eq(cross_rc, -ECANCELED);
		cr_assert_eq(r, -ECANCELED);
	}
	cr_assert_eq(join_ok(x), 0);
	order_eq((int[]){1}, 1);
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, mutex_grant_crossing_cancel)
{
	VRUN(main_mutex_cross_cancel, NULL);
}

/* Grant crossing a timeout: the waiter's timer has fired (it is ready with
   -ETIMEDOUT) but it has not run when the unlock grants it the lock. */
static int ct_ran;

static int cross_timed_locker(void *arg)
{
	(void)arg;
	cross_rc = urt_mutex_lock(&M, MS(5));
	ct_ran = 1;
	if (cross_rc)
		return cross_rc;
	CHECK(urt_mutex_try_lock(&M), -EDEADLK);
	cross_next = urt_yield(); /* no cancellation involved */
	return urt_mutex_unlock(&M);
}

static int main_mutex_cross_timeout(void *arg)
{
	(void)arg;
	cross_reset();
	urt_mutex_init(&M);
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_task *w = spawn_ok(cross_timed_locker, NULL);
	OK(urt_yield());
	/* Spin past w's timeout without letting the loop run, then let one
	   loop step reap our nop and expire w's timer: we run first. */
	int64_t t0 = urt_now_ns();
	while (urt_now_ns() - t0 < MS(10))
		;
	OK(urt_nop());
	int ran = ct_ran;
	OK(urt_mutex_unlock(&M));
	if (!ran) { /* w is still inside urt_mutex_lock: the grant must win */
		cr_assert(urt_mutex_locked(&M));
		cr_assert_eq(join_ok(w), 0);
		cr_assert_eq(cross_rc, 0, "timeout beat a grant that was already made");
		cr_assert_eq(cross_next, 0);
	} else {
		cr_log_warn("the crossing did not happen (w ran first)");
		cr_assert_eq(cross_rc, -ETIMEDOUT);
		cr_assert_eq(join_ok(w), -ETIMEDOUT);
	}
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, mutex_grant_crossing_timeout)
{
	RUN(main_mutex_cross_timeout, NULL); /* real time: it spins on the clock */
}

/* ====================================================================== */
/* Semaphore                                                               */
/* ====================================================================== */

static urt_sem S;

static int main_sem_basic(void *arg)
{
	(void)arg;
	urt_sem_init(&S, 2);
	cr_assert_eq(urt_sem_value(&S), 2u);
	OK(urt_sem_try_acquire(&S));
	cr_assert_eq(urt_sem_value(&S), 1u);
	OK(urt_sem_acquire(&S, 0)); /* a permit is there: no wait, no timeout */
	cr_assert_eq(urt_sem_value(&S), 0u);
	CHECK(urt_sem_try_acquire(&S), -EAGAIN);
	CHECK(urt_sem_acquire(&S, 0), -ETIMEDOUT);
	CHECK(urt_sem_acquire(&S, MS(5)), -ETIMEDOUT);
	OK(urt_deadline_push(MS(5)));
	CHECK(urt_sem_acquire(&S, URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(urt_sem_value(&S), 0u);
	OK(urt_sem_release(&S));
	cr_assert_eq(urt_sem_value(&S), 1u);
	OK(urt_sem_release(&S));
	OK(urt_sem_release(&S));
	cr_assert_eq(urt_sem_value(&S), 3u);
	OK(urt_sem_acquire(&S, URT_FOREVER));
	cr_assert_eq(urt_sem_value(&S), 2u);

	/* Overflow */
	urt_sem_init(&S, UINT_MAX);
	CHECK(urt_sem_release(&S), -EOVERFLOW);
	cr_assert_eq(urt_sem_value(&S), UINT_MAX);
	OK(urt_sem_try_acquire(&S));
	cr_assert_eq(urt_sem_value(&S), UINT_MAX - 1);
	OK(urt_sem_release(&S));
	cr_assert_eq(urt_sem_value(&S), UINT_MAX);

	CHECK(urt_sem_acquire(NULL, URT_FOREVER), -EINVAL);
	CHECK(urt_sem_try_acquire(NULL), -EINVAL);
	CHECK(urt_sem_release(NULL), -EINVAL);
	cr_assert_eq(urt_sem_value(NULL), 0u);
	only_main_alive();
	return 0;
}

Test(sync, sem_basic)
{
	VRUN(main_sem_basic, NULL);
}

/* ---------------------------------------------------------------------- */
/* The "at most N concurrent fetches" pattern. */

#define SEM_N 10
#define SEM_TASKS 50
static int sem_cur, sem_max, sem_finished;

static int fetcher(void *arg)
{
	int i = PI(arg);
	int r = urt_sem_acquire(&S, URT_FOREVER);
	if (r)
		return r;
	sem_cur++;
	if (sem_cur > sem_max)
		sem_max = sem_cur;
	r = urt_sleep_ms(1 + i % 3); /* the "fetch" */
	sem_cur--;
	OK(urt_sem_release(&S));
	sem_finished++;
	return r;
}

static int main_sem_limit(void *arg)
{
	(void)arg;
	urt_sem_init(&S, SEM_N);
	urt_task *t[SEM_TASKS];
	for (int i = 0; i < SEM_TASKS; i++)
		t[i] = spawn_ok(fetcher, IP(i));
	for (int i = 0; i < SEM_TASKS; i++)
		cr_assert_eq(join_ok(t[i]), 0, "fetcher %d", i);
	cr_assert_eq(sem_max, SEM_N);
	cr_assert_eq(sem_cur, 0);
	cr_assert_eq(sem_finished, SEM_TASKS);
	cr_assert_eq(urt_sem_value(&S), (unsigned)SEM_N);
	only_main_alive();
	return 0;
}

Test(sync, sem_limits_concurrency)
{
	VRUN(main_sem_limit, NULL);
}

/* ---------------------------------------------------------------------- */

static int sem_waiter(void *arg)
{
	int id = PI(arg);
	int r = urt_sem_acquire(&S, URT_FOREVER);
	if (r)
		return r;
	rec(id);
	return 0;
}

static int main_sem_fifo(void *arg)
{
	(void)arg;
	urt_sem_init(&S, 0);
	urt_task *t[6];
	for (int i = 0; i < 6; i++)
		t[i] = spawn_ok(sem_waiter, IP(i));
	OK(urt_yield());
	cr_assert_eq(norder, 0);
	OK(urt_sem_release(&S)); /* handed to waiter 0 */
	cr_assert_eq(urt_sem_value(&S), 0u);
	CHECK(urt_sem_try_acquire(&S), -EAGAIN); /* no barging */
	CHECK(urt_sem_acquire(&S, 0), -ETIMEDOUT);
	OK(urt_yield());
	order_eq((int[]){0}, 1);
	for (int i = 1; i < 6; i++)
		OK(urt_sem_release(&S));
	cr_assert_eq(urt_sem_value(&S), 0u);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(join_ok(t[i]), 0);
	order_eq((int[]){0, 1, 2, 3, 4, 5}, 6);
	cr_assert_eq(urt_sem_value(&S), 0u);
	OK(urt_sem_release(&S)); /* no waiter left: the value goes up */
	cr_assert_eq(urt_sem_value(&S), 1u);
	only_main_alive();
	return 0;
}

Test(sync, sem_fifo)
{
	VRUN(main_sem_fifo, NULL);
}

/* ---------------------------------------------------------------------- */

static int sem_timed(void *arg)
{
	timed_rc = urt_sem_acquire(&S, (int64_t)(intptr_t)arg);
	if (timed_rc == 0)
		return -1000;
	return hold_until_released();
}

static int main_sem_timeout_cancel(void *arg)
{
	(void)arg;
	urt_sem_init(&S, 0);
	urt_event_init(&hold);
	urt_task *a = spawn_ok(sem_timed, IP(MS(10)));
	urt_task *b = spawn_ok(sem_waiter, IP(1));
	urt_task *c = spawn_ok(sem_waiter, IP(2));
	urt_task *d = spawn_ok(sem_waiter, IP(3));
	OK(urt_yield());
	urt_cancel(c);
	cr_assert_eq(join_ok(c), -ECANCELED);
	wait_flag(&timed_done);
	cr_assert_eq(timed_rc, -ETIMEDOUT);
	cr_assert_eq(urt_sem_value(&S), 0u);
	OK(urt_sem_release(&S)); /* b */
	OK(urt_sem_release(&S)); /* d */
	cr_assert_eq(urt_sem_value(&S), 0u);
	cr_assert_eq(join_ok(b), 0);
	cr_assert_eq(join_ok(d), 0);
	order_eq((int[]){1, 3}, 2);
	OK(urt_sem_release(&S));
	cr_assert_eq(urt_sem_value(&S), 1u, "a permit went to a waiter that left");
	cr_assert_not(urt_task_done(a), "a stale wait node woke the timed-out task");
	urt_event_set(&hold);
	cr_assert_eq(join_ok(a), 0);

	/* Cancel the only waiter: the next release raises the value. */
	OK(urt_sem_try_acquire(&S));
	urt_task *e = spawn_ok(sem_waiter, IP(4));
	OK(urt_yield());
	urt_cancel(e);
	cr_assert_eq(join_ok(e), -ECANCELED);
	OK(urt_sem_release(&S));
	cr_assert_eq(urt_sem_value(&S), 1u);
	order_eq((int[]){1, 3}, 2);
	only_main_alive();
	return 0;
}

Test(sync, sem_timeout_and_cancel_leave_no_trace)
{
	VRUN(main_sem_timeout_cancel, NULL);
}

/* ---------------------------------------------------------------------- */

static int late_releaser(void *arg)
{
	OK(urt_sleep_ms(PI(arg)));
	return urt_sem_release(&S);
}

static int main_sem_release_unacquired(void *arg)
{
	(void)arg;
	urt_sem_init(&S, 0);
	/* A task that never acquired wakes main. */
	urt_task *r = spawn_ok(late_releaser, IP(2));
	OK(urt_sem_acquire(&S, URT_FOREVER));
	cr_assert_eq(join_ok(r), 0);
	cr_assert_eq(urt_sem_value(&S), 0u);
	/* With nobody waiting, such releases raise the value. */
	cr_assert_eq(join_ok(spawn_ok(late_releaser, IP(0))), 0);
	cr_assert_eq(urt_sem_value(&S), 1u);
	cr_assert_eq(join_ok(spawn_ok(late_releaser, IP(0))), 0);
	cr_assert_eq(urt_sem_value(&S), 2u);
	OK(urt_sem_release(&S));
	cr_assert_eq(urt_sem_value(&S), 3u);
	only_main_alive();
	return 0;
}

Test(sync, sem_release_by_non_acquirer)
{
	VRUN(main_sem_release_unacquired, NULL);
}

/* ---------------------------------------------------------------------- */

static int sem_cross(void *arg)
{
	(void)arg;
	cross_rc = urt_sem_acquire(&S, SEC(30));
	if (cross_rc)
		return cross_rc;
	cross_tail();
	return urt_sem_release(&S);
}

static int main_sem_cross(void *arg)
{
	(void)arg;
	urt_sem_init(&S, 0);
	urt_task *w = spawn_ok(sem_cross, NULL);
	OK(urt_yield());
	OK(urt_sem_release(&S));
	urt_cancel(w);
	cr_assert_eq(urt_sem_value(&S), 0u);
	CHECK(urt_sem_try_acquire(&S), -EAGAIN);
	cr_assert_eq(join_ok(w), 0);
	cross_check();
	cr_assert_eq(urt_sem_value(&S), 1u); /* w released its permit */

	/* Cancel first, release before w ran: the permit is never lost. */
	OK(urt_sem_try_acquire(&S));
	cross_reset();
	w = spawn_ok(sem_cross, NULL);
	OK(urt_yield());
	urt_cancel(w);
	OK(urt_sem_release(&S));
	int r = join_ok(w);
	if (cross_rc == 0) {
		cr_assert_eq(r, 0);
		cross_check();
	} else {
		cr_assert_eq(cross_rc, -ECANCELED);
	}
	cr_assert_eq(urt_sem_value(&S), 1u, "a permit was lost");
	only_main_alive();
	return 0;
}

Test(sync, sem_grant_crossing_cancel)
{
	VRUN(main_sem_cross, NULL);
}

/* ====================================================================== */
/* Event                                                                   */
/* ====================================================================== */

static urt_event E;

static int main_event_basic(void *arg)
{
	(void)arg;
	urt_event_init(&E);
	cr_assert_not(urt_event_is_set(&E));
	CHECK(urt_event_wait(&E, 0), -ETIMEDOUT);
	CHECK(urt_event_wait(&E, MS(5)), -ETIMEDOUT);
	OK(urt_deadline_push(MS(5)));
	CHECK(urt_event_wait(&E, URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	urt_event_set(&E);
	cr_assert(urt_event_is_set(&E));
	OK(urt_event_wait(&E, URT_FOREVER)); /* set: returns at once */
	OK(urt_event_wait(&E, 0));
	urt_event_set(&E); /* stays set */
	cr_assert(urt_event_is_set(&E));
	OK(urt_event_wait(&E, URT_FOREVER));
	urt_event_clear(&E);
	cr_assert_not(urt_event_is_set(&E));
	CHECK(urt_event_wait(&E, MS(5)), -ETIMEDOUT);
	urt_event_clear(&E);
	cr_assert_not(urt_event_is_set(&E));

	CHECK(urt_event_wait(NULL, URT_FOREVER), -EINVAL);
	urt_event_set(NULL);
	urt_event_clear(NULL);
	cr_assert_not(urt_event_is_set(NULL));
	only_main_alive();
	return 0;
}

Test(sync, event_basic)
{
	VRUN(main_event_basic, NULL);
}

/* ---------------------------------------------------------------------- */

#define EV_N 8
static int ev_woken;

static int ev_waiter(void *arg)
{
	int id = PI(arg);
	int r = urt_event_wait(&E, URT_FOREVER);
	if (r)
		return r;
	rec(id);
	ev_woken++;
	return 0;
}

static int main_event_wakes_all(void *arg)
{
	(void)arg;
	urt_event_init(&E);
	urt_task *t[EV_N];
	for (int i = 0; i < EV_N; i++)
		t[i] = spawn_ok(ev_waiter, IP(i));
	yields(3);
	cr_assert_eq(ev_woken, 0);
	urt_event_set(&E);
	for (int i = 0; i < EV_N; i++)
		cr_assert_eq(join_ok(t[i]), 0);
	cr_assert_eq(ev_woken, EV_N);
	order_eq((int[]){0, 1, 2, 3, 4, 5, 6, 7}, EV_N);

	/* Set: a new waiter returns at once. */
	cr_assert_eq(join_ok(spawn_ok(ev_waiter, IP(20))), 0);
	cr_assert_eq(ev_woken, EV_N + 1);

	/* Cleared: new waiters block again until the next set. */
	urt_event_clear(&E);
	urt_task *u = spawn_ok(ev_waiter, IP(21));
	yields(3);
	cr_assert_eq(ev_woken, EV_N + 1);
	cr_assert_not(urt_task_done(u));
	urt_event_set(&E);
	cr_assert_eq(join_ok(u), 0);
	cr_assert_eq(ev_woken, EV_N + 2);

	/* A set wakes the waiters even if the event is cleared before they
	   run: the wake-up is theirs. */
	urt_event_clear(&E);
	urt_task *v[3];
	for (int i = 0; i < 3; i++)
		v[i] = spawn_ok(ev_waiter, IP(30 + i));
	OK(urt_yield());
	urt_event_set(&E);
	urt_event_clear(&E);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(join_ok(v[i]), 0);
	cr_assert_eq(ev_woken, EV_N + 5);
	cr_assert_not(urt_event_is_set(&E));
	only_main_alive();
	return 0;
}

Test(sync, event_set_wakes_all)
{
	VRUN(main_event_wakes_all, NULL);
}

/* ---------------------------------------------------------------------- */

static int ev_timed(void *arg)
{
	timed_rc = urt_event_wait(&E, (int64_t)(intptr_t)arg);
	if (timed_rc == 0)
		return -1000;
	return hold_until_released();
}

static int ev_cross(void *arg)
{
	(void)arg;
	cross_rc = urt_event_wait(&E, SEC(30));
	if (cross_rc == 0)
		cross_tail();
	return cross_rc;
}

static int main_event_timeout_cancel(void *arg)
{
	(void)arg;
	urt_event_init(&E);
	urt_event_init(&hold);
	urt_task *a = spawn_ok(ev_timed, IP(MS(10)));
	urt_task *b = spawn_ok(ev_waiter, IP(1));
	urt_task *c = spawn_ok(ev_waiter, IP(2));
	OK(urt_yield());
	urt_cancel(b);
	cr_assert_eq(join_ok(b), -ECANCELED);
	wait_flag(&timed_done);
	cr_assert_eq(timed_rc, -ETIMEDOUT);
	cr_assert_eq(ev_woken, 0);
	urt_event_set(&E);
	cr_assert_eq(join_ok(c), 0);
	order_eq((int[]){2}, 1);
	cr_assert_not(urt_task_done(a), "a stale wait node woke the timed-out task");
	urt_event_set(&hold);
	cr_assert_eq(join_ok(a), 0);

	/* Set crossing a cancel. */
	urt_event_clear(&E);
	cross_reset();
	urt_task *w = spawn_ok(ev_cross, NULL);
	OK(urt_yield());
	urt_event_set(&E);
	urt_cancel(w);
	cr_assert_eq(join_ok(w), 0);
	cross_check();
	only_main_alive();
	return 0;
}

Test(sync, event_timeout_and_cancel)
{
	VRUN(main_event_timeout_cancel, NULL);
}

/* ====================================================================== */
/* Condition variable                                                      */
/* ====================================================================== */

static urt_cond C;

static int cond_other_eperm(void *arg)
{
	(void)arg;
	CHECK(urt_cond_wait(&C, &M, URT_FOREVER), -EPERM); /* main owns M */
	CHECK(urt_cond_wait(&C, &M, 0), -EPERM);
	return 0;
}

static int main_cond_eperm(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	urt_cond_init(&C);
	CHECK(urt_cond_wait(&C, &M, URT_FOREVER), -EPERM); /* not locked */
	cr_assert_not(urt_mutex_locked(&M));
	OK(urt_mutex_lock(&M, URT_FOREVER));
	cr_assert_eq(join_ok(spawn_ok(cond_other_eperm, NULL)), 0);
	CHECK(urt_cond_wait(NULL, &M, 0), -EINVAL);
	CHECK(urt_cond_wait(&C, NULL, 0), -EINVAL);
	CHECK(urt_mutex_try_lock(&M), -EDEADLK); /* untouched: still ours */
	OK(urt_mutex_unlock(&M));
	cr_assert_not(urt_mutex_locked(&M));
	/* No waiters: signal and broadcast do nothing. */
	urt_cond_signal(&C);
	urt_cond_broadcast(&C);
	urt_cond_signal(NULL);
	urt_cond_broadcast(NULL);
	only_main_alive();
	return 0;
}

Test(sync, cond_requires_ownership)
{
	VRUN(main_cond_eperm, NULL);
}

/* ---------------------------------------------------------------------- */
/* Producers and consumers over a bounded buffer, with predicate loops. */

#define PC_CAP 4
#define PC_PRODUCERS 3
#define PC_ITEMS 300
#define PC_CONSUMERS 2
static urt_cond not_empty, not_full;
static int pc_buf[PC_CAP], pc_head, pc_count, pc_max_count;
static bool pc_done;
static unsigned char pc_seen[PC_PRODUCERS * PC_ITEMS];

static int pc_producer(void *arg)
{
	int p = PI(arg);
	for (int i = 0; i < PC_ITEMS; i++) {
		OK(urt_mutex_lock(&M, URT_FOREVER));
		while (pc_count == PC_CAP)
			OK(urt_cond_wait(&not_full, &M, (i & 1) ? URT_FOREVER : SEC(30)));
		pc_buf[(pc_head + pc_count++) % PC_CAP] = p * PC_ITEMS + i;
		if (pc_count > pc_max_count)
			pc_max_count = pc_count;
		urt_cond_signal(&not_empty);
		OK(urt_mutex_unlock(&M));
		if ((i + p) % 7 == 0)
			OK(urt_yield());
	}
	return 0;
}

static int pc_consumer(void *arg)
{
	(void)arg;
	int taken = 0;
	for (;;) {
		OK(urt_mutex_lock(&M, URT_FOREVER));
		while (pc_count == 0 && !pc_done)
			OK(urt_cond_wait(&not_empty, &M, URT_FOREVER));
		if (pc_count == 0) {
			OK(urt_mutex_unlock(&M));
			return taken;
		}
		int v = pc_buf[pc_head];
		pc_head = (pc_head + 1) % PC_CAP;
		pc_count--;
		urt_cond_signal(&not_full);
		OK(urt_mutex_unlock(&M));
		cr_assert(v >= 0 && v < PC_PRODUCERS * PC_ITEMS);
		pc_seen[v]++;
		taken++;
		if (v % 5 == 0)
			OK(urt_yield());
	}
}

static int main_cond_prodcons(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	urt_cond_init(&not_empty);
	urt_cond_init(&not_full);
	urt_task *c[PC_CONSUMERS], *p[PC_PRODUCERS];
	for (int i = 0; i < PC_CONSUMERS; i++)
		c[i] = spawn_ok(pc_consumer, IP(i));
	for (int i = 0; i < PC_PRODUCERS; i++)
		p[i] = spawn_ok(pc_producer, IP(i));
	for (int i = 0; i < PC_PRODUCERS; i++)
		cr_assert_eq(join_ok(p[i]), 0);
	OK(urt_mutex_lock(&M, URT_FOREVER));
	pc_done = true;
	urt_cond_broadcast(&not_empty);
	OK(urt_mutex_unlock(&M));
	int total = 0;
	for (int i = 0; i < PC_CONSUMERS; i++) {
		int n = join_ok(c[i]);
		cr_assert_geq(n, 0);
		total += n;
	}
	cr_assert_eq(total, PC_PRODUCERS * PC_ITEMS);
	for (int i = 0; i < PC_PRODUCERS * PC_ITEMS; i++)
		cr_assert_eq(pc_seen[i], 1, "item %d seen %d times", i, pc_seen[i]);
	cr_assert_eq(pc_max_count, PC_CAP, "the buffer never filled up");
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, cond_producer_consumer)
{
	VRUN(main_cond_prodcons, NULL);
}

/* ---------------------------------------------------------------------- */
/* signal wakes exactly one waiter, in FIFO order; broadcast wakes all. */

#define CW_N 5
static int cond_woken;

static int cond_waiter(void *arg)
{
	int id = PI(arg);
	OK(urt_mutex_lock(&M, URT_FOREVER));
	int r = urt_cond_wait(&C, &M, URT_FOREVER);
	CHECK(urt_mutex_try_lock(&M), -EDEADLK); /* owns m again, whatever r */
	if (r == 0)
		rec(id);
	cond_woken++;
	OK(urt_mutex_unlock(&M));
	return r;
}

static int main_cond_signal_broadcast(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	urt_cond_init(&C);
	urt_task *t[CW_N];
	for (int i = 0; i < CW_N; i++)
		t[i] = spawn_ok(cond_waiter, IP(i));
	yields(2);
	cr_assert_eq(cond_woken, 0);
	cr_assert_not(urt_mutex_locked(&M)); /* every waiter released it */

	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_cond_signal(&C);
	OK(urt_mutex_unlock(&M));
	yields(4);
	cr_assert_eq(cond_woken, 1, "signal woke %d waiters", cond_woken);
	order_eq((int[]){0}, 1);

	urt_cond_signal(&C); /* without holding the mutex */
	yields(4);
	cr_assert_eq(cond_woken, 2, "signal woke %d waiters", cond_woken);
	order_eq((int[]){0, 1}, 2);

	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_cond_broadcast(&C);
	yields(2);
	cr_assert_eq(cond_woken, 2, "woken waiters ran without the mutex");
	OK(urt_mutex_unlock(&M));
	for (int i = 0; i < CW_N; i++)
		cr_assert_eq(join_ok(t[i]), 0);
	cr_assert_eq(cond_woken, CW_N);
	order_eq((int[]){0, 1, 2, 3, 4}, CW_N);
	urt_cond_broadcast(&C); /* nobody left */
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, cond_signal_one_broadcast_all)
{
	VRUN(main_cond_signal_broadcast, NULL);
}

/* ---------------------------------------------------------------------- */
/* After a timeout the caller owns the mutex again, even if the relock had
   to wait for another task. */

static int holder_released;

static int holder(void *arg)
{
	(void)arg;
	OK(urt_mutex_lock(&M, URT_FOREVER)); /* granted when main's cond_wait unlocks */
	OK(urt_sleep_ms(20));                /* hold it past main's cond timeout */
	holder_released = 1;
	return urt_mutex_unlock(&M);
}

static int main_cond_timeout(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	urt_cond_init(&C);

	OK(urt_mutex_lock(&M, URT_FOREVER));
	CHECK(urt_cond_wait(&C, &M, 0), -ETIMEDOUT);
	CHECK(urt_mutex_try_lock(&M), -EDEADLK);
	CHECK(urt_cond_wait(&C, &M, MS(5)), -ETIMEDOUT);
	CHECK(urt_mutex_try_lock(&M), -EDEADLK);
	OK(urt_deadline_push(MS(5)));
	CHECK(urt_cond_wait(&C, &M, URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	CHECK(urt_mutex_try_lock(&M), -EDEADLK);

	urt_task *h = spawn_ok(holder, NULL);
	OK(urt_yield()); /* h waits for the mutex */
	CHECK(urt_cond_wait(&C, &M, MS(5)), -ETIMEDOUT);
	cr_assert_eq(holder_released, 1, "cond_wait returned before it had the mutex again");
	CHECK(urt_mutex_try_lock(&M), -EDEADLK);
	OK(urt_mutex_unlock(&M));
	cr_assert_not(urt_mutex_locked(&M));
	cr_assert_eq(join_ok(h), 0);
	only_main_alive();
	return 0;
}

Test(sync, cond_timeout_relocks)
{
	VRUN(main_cond_timeout, NULL);
}

/* ---------------------------------------------------------------------- */
/* Cancellation: while waiting for the signal (-ECANCELED, relocked), as the
   signal crosses it (0, pending), and during the relock (0, pending). */

static int cw_rc = 1, cw_next = 1;

static int cond_waiter_next(void *arg)
{
	(void)arg;
	OK(urt_mutex_lock(&M, URT_FOREVER));
	cw_rc = urt_cond_wait(&C, &M, SEC(30));
	CHECK(urt_mutex_try_lock(&M), -EDEADLK);
	cw_next = urt_yield();
	cr_assert(urt_mutex_locked(&M));
	OK(urt_mutex_unlock(&M));
	return 0;
}

static void cw_reset(void)
{
	cw_rc = cw_next = 1;
}

static int main_cond_cancel(void *arg)
{
	(void)arg;
	urt_mutex_init(&M);
	urt_cond_init(&C);

	/* 1. Cancelled while waiting; main holds the mutex at that moment, so
	   the relock must wait for it. */
	cw_reset();
	urt_task *w = spawn_ok(cond_waiter_next, NULL);
	OK(urt_yield());
	cr_assert_not(urt_mutex_locked(&M));
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_cancel(w);
	yields(3);
	cr_assert_not(urt_task_done(w), "cond_wait returned without the mutex");
	cr_assert_eq(cw_rc, 1);
	OK(urt_mutex_unlock(&M));
	cr_assert_eq(join_ok(w), 0);
	cr_assert_eq(cw_rc, -ECANCELED);
	cr_assert_eq(cw_next, 0, "cancellation delivered twice");
	cr_assert_not(urt_mutex_locked(&M));

	/* 2. Signal crossing a cancel: the signal wins. */
	cw_reset();
	w = spawn_ok(cond_waiter_next, NULL);
	OK(urt_yield());
	urt_cond_signal(&C);
	urt_cancel(w);
	cr_assert_eq(join_ok(w), 0);
	cr_assert_eq(cw_rc, 0);
	cr_assert_eq(cw_next, -ECANCELED);
	cr_assert_not(urt_mutex_locked(&M));

	/* 3. Cancelled during the relock: cond_wait still succeeds, owns the
	   mutex, and the cancellation stays pending. */
	cw_reset();
	w = spawn_ok(cond_waiter_next, NULL);
	OK(urt_yield());
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_cond_signal(&C);
	OK(urt_yield()); /* w is signalled and now waits for the mutex */
	cr_assert_eq(cw_rc, 1);
	urt_cancel(w);
	yields(3);
	cr_assert_not(urt_task_done(w), "cancellation interrupted the relock");
	cr_assert_eq(cw_rc, 1);
	OK(urt_mutex_unlock(&M));
	cr_assert(urt_mutex_locked(&M)); /* handed to w */
	cr_assert_eq(join_ok(w), 0);
	cr_assert_eq(cw_rc, 0);
	cr_assert_eq(cw_next, -ECANCELED, "cancellation during the relock was lost");
	cr_assert_not(urt_mutex_locked(&M));

	/* 4. Broadcast while main holds the mutex: w's relock waits for main's
	   unlock, which hands the mutex to it. */
	cw_reset();
	w = spawn_ok(cond_waiter_next, NULL);
	OK(urt_yield());
	OK(urt_mutex_lock(&M, URT_FOREVER));
	urt_cond_broadcast(&C);
	OK(urt_yield());
	OK(urt_mutex_unlock(&M)); /* to w */
	cr_assert_eq(join_ok(w), 0);
	cr_assert_eq(cw_rc, 0);
	cr_assert_eq(cw_next, 0);
	cr_assert_not(urt_mutex_locked(&M));
	only_main_alive();
	return 0;
}

Test(sync, cond_cancel_relocks)
{
	VRUN(main_cond_cancel, NULL);
}

/* ====================================================================== */
/* Queue                                                                   */
/* ====================================================================== */

static urt_queue Q;

static int main_queue_invalid(void *arg)
{
	(void)arg;
	void *it = IP(-1);
	CHECK(urt_queue_init(NULL, 4), -EINVAL);
	CHECK(urt_queue_init(&Q, 0), -EINVAL);
	OK(urt_queue_init(&Q, 1));
	CHECK(urt_queue_put(NULL, IP(1), URT_FOREVER), -EINVAL);
	CHECK(urt_queue_get(NULL, &it, URT_FOREVER), -EINVAL);
	CHECK(urt_queue_get(&Q, NULL, URT_FOREVER), -EINVAL);
	CHECK(urt_queue_try_put(NULL, IP(1)), -EINVAL);
	CHECK(urt_queue_try_get(NULL, &it), -EINVAL);
	CHECK(urt_queue_try_get(&Q, NULL), -EINVAL);
	CHECK(urt_queue_task_done(NULL), -EINVAL);
	CHECK(urt_queue_join(NULL, URT_FOREVER), -EINVAL);
	cr_assert_eq(urt_queue_len(NULL), (size_t)0);
	urt_queue_close(NULL);
	cr_assert_eq(it, IP(-1));
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	urt_queue_destroy(&Q);
	urt_queue_destroy(NULL);
	only_main_alive();
	return 0;
}

Test(sync, queue_invalid_arguments)
{
	VRUN(main_queue_invalid, NULL);
}

/* ---------------------------------------------------------------------- */

static int main_queue_fifo(void *arg)
{
	(void)arg;
	OK(urt_queue_init(&Q, 4));
	void *it = IP(-1);
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	CHECK(urt_queue_try_get(&Q, &it), -EAGAIN);
	CHECK(urt_queue_get(&Q, &it, 0), -ETIMEDOUT);
	CHECK(urt_queue_get(&Q, &it, MS(5)), -ETIMEDOUT);
	OK(urt_deadline_push(MS(5)));
	CHECK(urt_queue_get(&Q, &it, URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(it, IP(-1), "item written by a failed get");

	OK(urt_queue_put(&Q, IP(1), URT_FOREVER));
	OK(urt_queue_try_put(&Q, IP(2)));
	OK(urt_queue_put(&Q, IP(3), 0));
	OK(urt_queue_put(&Q, IP(4), MS(5)));
	cr_assert_eq(urt_queue_len(&Q), (size_t)4);
	CHECK(urt_queue_try_put(&Q, IP(5)), -EAGAIN);
	CHECK(urt_queue_put(&Q, IP(5), 0), -ETIMEDOUT);
	CHECK(urt_queue_put(&Q, IP(5), MS(5)), -ETIMEDOUT);
	OK(urt_deadline_push(MS(5)));
	CHECK(urt_queue_put(&Q, IP(5), URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(urt_queue_len(&Q), (size_t)4);
	for (int i = 1; i <= 4; i++) {
		if (i & 1)
			OK(urt_queue_get(&Q, &it, URT_FOREVER));
		else
			OK(urt_queue_try_get(&Q, &it));
		cr_assert_eq(PI(it), i);
		cr_assert_eq(urt_queue_len(&Q), (size_t)(4 - i));
	}
	CHECK(urt_queue_try_get(&Q, &it), -EAGAIN);

	/* Wrap around the ring many times at varying fill levels. */
	int in = 100, out = 100;
	uint32_t x = 12345;
	for (int k = 0; k < 2000; k++) {
		x = x * 1103515245u + 12345u;
		size_t len = urt_queue_len(&Q);
		cr_assert_eq(len, (size_t)(in - out));
		if (len < 4 && ((x >> 16) & 1)) {
			if ((x >> 17) & 1)
				OK(urt_queue_try_put(&Q, IP(in)));
			else
				OK(urt_queue_put(&Q, IP(in), URT_FOREVER));
			in++;
		} else if (len > 0) {
			if ((x >> 18) & 1)
				OK(urt_queue_try_get(&Q, &it));
			else
				OK(urt_queue_get(&Q, &it, 0));
			cr_assert_eq(PI(it), out);
			out++;
		}
	}
	while (out < in) {
		OK(urt_queue_get(&Q, &it, URT_FOREVER));
		cr_assert_eq(PI(it), out++);
	}
	cr_assert_gt(in, 600);

	/* NULL is an item like any other. */
	OK(urt_queue_put(&Q, NULL, URT_FOREVER));
	cr_assert_eq(urt_queue_len(&Q), (size_t)1);
	it = IP(-1);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_null(it);
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_fifo_try_and_timeouts)
{
	VRUN(main_queue_fifo, NULL);
}

/* ---------------------------------------------------------------------- */
/* A full queue blocks putters; each get admits the first one's item. */

static int q_putter(void *arg)
{
	return urt_queue_put(&Q, arg, URT_FOREVER);
}

static int main_queue_put_blocks(void *arg)
{
	(void)arg;
	void *it;
	OK(urt_queue_init(&Q, 2));
	OK(urt_queue_put(&Q, IP(1), URT_FOREVER));
	OK(urt_queue_put(&Q, IP(2), URT_FOREVER));
	urt_task *p = spawn_ok(q_putter, IP(3));
	yields(3);
	cr_assert_not(urt_task_done(p), "put on a full queue did not wait");
	cr_assert_eq(urt_queue_len(&Q), (size_t)2);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 1);
	/* The freed slot went to p at once: nobody can barge in. */
	cr_assert_eq(urt_queue_len(&Q), (size_t)2);
	CHECK(urt_queue_try_put(&Q, IP(99)), -EAGAIN);
	cr_assert_eq(join_ok(p), 0);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 2);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 3, "the blocked putter's item must follow those already queued");
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);

	/* Several blocked putters go in in their order. */
	OK(urt_queue_put(&Q, IP(10), URT_FOREVER));
	OK(urt_queue_put(&Q, IP(11), URT_FOREVER));
	urt_task *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = spawn_ok(q_putter, IP(12 + i));
	OK(urt_yield());
	/* A late putter queues behind them, even after a slot frees up. */
	OK(urt_queue_try_get(&Q, &it));
	cr_assert_eq(PI(it), 10);
	CHECK(urt_queue_try_put(&Q, IP(99)), -EAGAIN);
	for (int i = 11; i <= 15; i++) {
		OK(urt_queue_get(&Q, &it, URT_FOREVER));
		cr_assert_eq(PI(it), i);
	}
	for (int i = 0; i < 4; i++)
		cr_assert_eq(join_ok(t[i]), 0);
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	CHECK(urt_queue_try_get(&Q, &it), -EAGAIN);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_put_blocks_when_full)
{
	VRUN(main_queue_put_blocks, NULL);
}

/* ---------------------------------------------------------------------- */
/* An empty queue blocks getters; a put hands the item over directly. */

static void *g_item[8];

static int q_getter(void *arg)
{
	int id = PI(arg);
	return urt_queue_get(&Q, &g_item[id], URT_FOREVER);
}

static int main_queue_get_blocks(void *arg)
{
	(void)arg;
	void *it;
	for (int i = 0; i < 8; i++)
		g_item[i] = IP(-1);
	OK(urt_queue_init(&Q, 4));
	urt_task *g0 = spawn_ok(q_getter, IP(0));
	urt_task *g1 = spawn_ok(q_getter, IP(1));
	yields(3);
	cr_assert_not(urt_task_done(g0), "get on an empty queue did not wait");
	cr_assert_not(urt_task_done(g1));
	OK(urt_queue_try_put(&Q, IP(10)));
	cr_assert_eq(urt_queue_len(&Q), (size_t)0, "the item should go straight to the getter");
	CHECK(urt_queue_try_get(&Q, &it), -EAGAIN); /* no barging */
	OK(urt_queue_put(&Q, IP(11), URT_FOREVER));
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	OK(urt_queue_put(&Q, IP(12), URT_FOREVER)); /* no getter left waiting */
	cr_assert_eq(urt_queue_len(&Q), (size_t)1);
	cr_assert_eq(join_ok(g0), 0);
	cr_assert_eq(join_ok(g1), 0);
	cr_assert_eq(PI(g_item[0]), 10);
	cr_assert_eq(PI(g_item[1]), 11);
	OK(urt_queue_get(&Q, &it, 0));
	cr_assert_eq(PI(it), 12);

	/* A getter woken by a put from another task. */
	urt_task *g2 = spawn_ok(q_getter, IP(2));
	urt_task *p = spawn_ok(q_putter, IP(20));
	cr_assert_eq(join_ok(g2), 0);
	cr_assert_eq(join_ok(p), 0);
	cr_assert_eq(PI(g_item[2]), 20);
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_get_blocks_when_empty)
{
	VRUN(main_queue_get_blocks, NULL);
}

/* ---------------------------------------------------------------------- */
/* Timed-out and cancelled putters and getters leave no trace. */

static int q_timed_putter(void *arg)
{
	(void)arg;
	timed_rc = urt_queue_put(&Q, IP(666), MS(10));
	if (timed_rc == 0)
		return -1000;
	return hold_until_released();
}

static int q_timed_getter(void *arg)
{
	(void)arg;
	void *it = IP(-1);
	timed_rc = urt_queue_get(&Q, &it, MS(10));
	if (timed_rc == 0)
		return -1000;
	cr_assert_eq(it, IP(-1));
	return hold_until_released();
}

static int main_queue_put_no_trace(void *arg)
{
	(void)arg;
	void *it;
	urt_event_init(&hold);
	OK(urt_queue_init(&Q, 1));
	OK(urt_queue_put(&Q, IP(1), URT_FOREVER));
	urt_task *a = spawn_ok(q_timed_putter, NULL);
	urt_task *b = spawn_ok(q_putter, IP(2));
	urt_task *c = spawn_ok(q_putter, IP(3));
	urt_task *d = spawn_ok(q_putter, IP(4));
	OK(urt_yield());
	urt_cancel(c);
	cr_assert_eq(join_ok(c), -ECANCELED);
	wait_flag(&timed_done);
	cr_assert_eq(timed_rc, -ETIMEDOUT);
	cr_assert_eq(urt_queue_len(&Q), (size_t)1);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 1);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 2);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 4);
	CHECK(urt_queue_try_get(&Q, &it), -EAGAIN); /* 666 and 3 never went in */
	cr_assert_eq(join_ok(b), 0);
	cr_assert_eq(join_ok(d), 0);
	cr_assert_not(urt_task_done(a), "a stale wait node woke the timed-out task");
	/* Only 1, 2 and 4 count as unfinished. */
	for (int i = 0; i < 3; i++)
		OK(urt_queue_task_done(&Q));
	CHECK(urt_queue_task_done(&Q), -EINVAL);
	OK(urt_queue_join(&Q, 0));

	/* A putter under a deadline scope. */
	OK(urt_queue_put(&Q, IP(5), URT_FOREVER));
	OK(urt_deadline_push(MS(5)));
	CHECK(urt_queue_put(&Q, IP(6), URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 5);
	CHECK(urt_queue_try_get(&Q, &it), -EAGAIN);

	urt_event_set(&hold);
	cr_assert_eq(join_ok(a), 0);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_put_timeout_and_cancel_leave_no_trace)
{
	VRUN(main_queue_put_no_trace, NULL);
}

static int main_queue_get_no_trace(void *arg)
{
	(void)arg;
	void *it;
	for (int i = 0; i < 8; i++)
		g_item[i] = IP(-1);
	urt_event_init(&hold);
	OK(urt_queue_init(&Q, 2));
	urt_task *a = spawn_ok(q_timed_getter, NULL);
	urt_task *g1 = spawn_ok(q_getter, IP(1));
	urt_task *g2 = spawn_ok(q_getter, IP(2));
	urt_task *g3 = spawn_ok(q_getter, IP(3));
	OK(urt_yield());
	urt_cancel(g2);
	cr_assert_eq(join_ok(g2), -ECANCELED);
	wait_flag(&timed_done);
	cr_assert_eq(timed_rc, -ETIMEDOUT);
	OK(urt_queue_put(&Q, IP(10), URT_FOREVER)); /* to g1 */
	OK(urt_queue_put(&Q, IP(11), URT_FOREVER)); /* to g3 */
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	OK(urt_queue_put(&Q, IP(12), URT_FOREVER)); /* into the ring */
	cr_assert_eq(urt_queue_len(&Q), (size_t)1, "an item went to a getter that left");
	cr_assert_eq(join_ok(g1), 0);
	cr_assert_eq(join_ok(g3), 0);
	cr_assert_eq(PI(g_item[1]), 10);
	cr_assert_eq(PI(g_item[3]), 11);
	cr_assert_eq(g_item[2], IP(-1));
	OK(urt_queue_try_get(&Q, &it));
	cr_assert_eq(PI(it), 12);
	cr_assert_not(urt_task_done(a), "a stale wait node woke the timed-out task");
	urt_event_set(&hold);
	cr_assert_eq(join_ok(a), 0);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_get_timeout_and_cancel_leave_no_trace)
{
	VRUN(main_queue_get_no_trace, NULL);
}

/* ---------------------------------------------------------------------- */
/* Grants crossing cancellations: the item is delivered / accepted. */

static void *cross_item;

static int q_cross_getter(void *arg)
{
	(void)arg;
	cross_rc = urt_queue_get(&Q, &cross_item, SEC(30));
	if (cross_rc == 0)
		cross_tail();
	return cross_rc;
}

static int q_cross_putter(void *arg)
{
	cross_rc = urt_queue_put(&Q, arg, URT_FOREVER);
	if (cross_rc == 0)
		cross_tail();
	return cross_rc;
}

static int main_queue_cross(void *arg)
{
	(void)arg;
	void *it;
	OK(urt_queue_init(&Q, 1));

	cross_reset();
	urt_task *g = spawn_ok(q_cross_getter, NULL);
	OK(urt_yield());
	OK(urt_queue_put(&Q, IP(5), URT_FOREVER)); /* handed to g */
	urt_cancel(g);
	cr_assert_eq(join_ok(g), 0);
	cross_check();
	cr_assert_eq(PI(cross_item), 5);
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);

	cross_reset();
	OK(urt_queue_put(&Q, IP(6), URT_FOREVER));
	urt_task *p = spawn_ok(q_cross_putter, IP(7));
	OK(urt_yield());
	OK(urt_queue_get(&Q, &it, URT_FOREVER)); /* admits p's item */
	cr_assert_eq(PI(it), 6);
	urt_cancel(p);
	cr_assert_eq(join_ok(p), 0);
	cross_check();
	cr_assert_eq(urt_queue_len(&Q), (size_t)1);
	OK(urt_queue_try_get(&Q, &it));
	cr_assert_eq(PI(it), 7);

	/* Cancel first, put before g ran: the item is never lost. */
	cross_reset();
	cross_item = IP(-1);
	g = spawn_ok(q_cross_getter, NULL);
	OK(urt_yield());
	urt_cancel(g);
	OK(urt_queue_put(&Q, IP(8), URT_FOREVER));
	int r = join_ok(g);
	if (cross_rc == 0) {
		cross_check();
		cr_assert_eq(PI(cross_item), 8);
		cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	} else {
		cr_assert_eq(r, -ECANCELED);
		cr_assert_eq(cross_item, IP(-1));
		OK(urt_queue_try_get(&Q, &it));
		cr_assert_eq(PI(it), 8, "the item was lost");
	}

	/* Cancel first, get before p ran: p's item goes in iff put succeeded. */
	cross_reset();
	OK(urt_queue_put(&Q, IP(9), URT_FOREVER));
	p = spawn_ok(q_cross_putter, IP(10));
	OK(urt_yield());
	urt_cancel(p);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 9);
	r = join_ok(p);
	if (cross_rc == 0) {
		cross_check();
		cr_assert_eq(urt_queue_len(&Q), (size_t)1);
		OK(urt_queue_try_get(&Q, &it));
		cr_assert_eq(PI(it), 10);
	} else {
		cr_assert_eq(r, -ECANCELED);
		cr_assert_eq(urt_queue_len(&Q), (size_t)0, "a cancelled put's item went in");
	}
	CHECK(urt_queue_try_get(&Q, &it), -EAGAIN);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_grant_crossing_cancel)
{
	VRUN(main_queue_cross, NULL);
}

/* ---------------------------------------------------------------------- */
/* task_done / join */

static int q_joiner(void *arg)
{
	(void)arg;
	return urt_queue_join(&Q, URT_FOREVER);
}

static int main_queue_join(void *arg)
{
	(void)arg;
	void *it;
	for (int i = 0; i < 8; i++)
		g_item[i] = IP(-1);
	OK(urt_queue_init(&Q, 4));
	OK(urt_queue_join(&Q, URT_FOREVER)); /* nothing ever put */
	OK(urt_queue_join(&Q, 0));
	CHECK(urt_queue_task_done(&Q), -EINVAL);

	OK(urt_queue_put(&Q, IP(1), URT_FOREVER));
	OK(urt_queue_put(&Q, IP(2), URT_FOREVER));
	CHECK(urt_queue_join(&Q, 0), -ETIMEDOUT);
	CHECK(urt_queue_join(&Q, MS(5)), -ETIMEDOUT);
	urt_task *j[2];
	j[0] = spawn_ok(q_joiner, NULL);
	j[1] = spawn_ok(q_joiner, NULL);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	yields(3);
	cr_assert_not(urt_task_done(j[0]), "join returned while items were unfinished");
	CHECK(urt_queue_join(&Q, MS(5)), -ETIMEDOUT); /* taken but not done */
	OK(urt_queue_task_done(&Q));
	yields(3);
	cr_assert_not(urt_task_done(j[0]), "join returned while an item was unfinished");
	cr_assert_not(urt_task_done(j[1]));
	CHECK(urt_queue_join(&Q, 0), -ETIMEDOUT);
	OK(urt_queue_task_done(&Q));
	cr_assert_eq(join_ok(j[0]), 0);
	cr_assert_eq(join_ok(j[1]), 0);
	OK(urt_queue_join(&Q, 0));
	CHECK(urt_queue_task_done(&Q), -EINVAL);
	CHECK(urt_queue_task_done(&Q), -EINVAL);
	OK(urt_queue_join(&Q, 0));

	/* An item handed straight to a getter is unfinished too. */
	urt_task *g = spawn_ok(q_getter, IP(0));
	OK(urt_yield());
	OK(urt_queue_put(&Q, IP(9), URT_FOREVER));
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	cr_assert_eq(join_ok(g), 0);
	cr_assert_eq(PI(g_item[0]), 9);
	CHECK(urt_queue_join(&Q, 0), -ETIMEDOUT);
	OK(urt_queue_task_done(&Q));
	OK(urt_queue_join(&Q, 0));

	/* A cancelled joiner leaves no trace; the others still wake. */
	OK(urt_queue_put(&Q, IP(3), URT_FOREVER));
	j[0] = spawn_ok(q_joiner, NULL);
	j[1] = spawn_ok(q_joiner, NULL);
	OK(urt_yield());
	urt_cancel(j[0]);
	cr_assert_eq(join_ok(j[0]), -ECANCELED);
	OK(urt_deadline_push(MS(5)));
	CHECK(urt_queue_join(&Q, URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_queue_try_get(&Q, &it));
	OK(urt_queue_task_done(&Q));
	cr_assert_eq(join_ok(j[1]), 0);
	OK(urt_queue_join(&Q, URT_FOREVER));
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_task_done_and_join)
{
	VRUN(main_queue_join, NULL);
}

/* ---------------------------------------------------------------------- */
/* The asyncio.Queue example: workers get, "work" (sleep), task_done; main
   puts everything, joins the queue, then cancels the workers. */

#define AQ_ITEMS 30
#define AQ_WORKERS 3
static int aq_processed;

static int aq_worker(void *arg)
{
	(void)arg;
	for (;;) {
		void *it;
		int r = urt_queue_get(&Q, &it, URT_FOREVER);
		if (r)
			return r;
		r = urt_sleep_ms(PI(it));
		if (r)
			return r;
		aq_processed++;
		OK(urt_queue_task_done(&Q));
	}
}

static int main_queue_asyncio_example(void *arg)
{
	(void)arg;
	OK(urt_queue_init(&Q, 5));
	urt_task *w[AQ_WORKERS];
	for (int i = 0; i < AQ_WORKERS; i++)
		w[i] = spawn_ok(aq_worker, NULL);
	for (int i = 0; i < AQ_ITEMS; i++)
		OK(urt_queue_put(&Q, IP(i % 3), URT_FOREVER));
	OK(urt_queue_join(&Q, URT_FOREVER));
	cr_assert_eq(aq_processed, AQ_ITEMS, "join returned before every item was done");
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	for (int i = 0; i < AQ_WORKERS; i++)
		urt_cancel(w[i]);
	for (int i = 0; i < AQ_WORKERS; i++)
		cr_assert_eq(join_ok(w[i]), -ECANCELED);
	CHECK(urt_queue_task_done(&Q), -EINVAL);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_asyncio_worker_example)
{
	VRUN(main_queue_asyncio_example, NULL);
}

/* ---------------------------------------------------------------------- */
/* close */

static int main_queue_close_getters(void *arg)
{
	(void)arg;
	void *it = IP(-1);
	for (int i = 0; i < 8; i++)
		g_item[i] = IP(-1);
	OK(urt_queue_init(&Q, 2));
	urt_task *g0 = spawn_ok(q_getter, IP(0));
	urt_task *g1 = spawn_ok(q_getter, IP(1));
	OK(urt_yield());
	urt_queue_close(&Q);
	cr_assert_eq(join_ok(g0), -EPIPE);
	cr_assert_eq(join_ok(g1), -EPIPE);
	cr_assert_eq(g_item[0], IP(-1));
	cr_assert_eq(g_item[1], IP(-1));
	CHECK(urt_queue_put(&Q, IP(1), URT_FOREVER), -EPIPE);
	CHECK(urt_queue_put(&Q, IP(1), 0), -EPIPE);
	CHECK(urt_queue_try_put(&Q, IP(1)), -EPIPE);
	CHECK(urt_queue_get(&Q, &it, URT_FOREVER), -EPIPE);
	CHECK(urt_queue_get(&Q, &it, 0), -EPIPE);
	CHECK(urt_queue_try_get(&Q, &it), -EPIPE);
	cr_assert_eq(it, IP(-1));
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	urt_queue_close(&Q); /* twice: no-op */
	CHECK(urt_queue_get(&Q, &it, URT_FOREVER), -EPIPE);
	OK(urt_queue_join(&Q, 0)); /* nothing unfinished */
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_close_wakes_getters)
{
	VRUN(main_queue_close_getters, NULL);
}

static int main_queue_close_putters(void *arg)
{
	(void)arg;
	void *it;
	OK(urt_queue_init(&Q, 1));
	OK(urt_queue_put(&Q, IP(1), URT_FOREVER));
	urt_task *p2 = spawn_ok(q_putter, IP(2));
	urt_task *p3 = spawn_ok(q_putter, IP(3));
	OK(urt_yield());
	urt_queue_close(&Q);
	cr_assert_eq(join_ok(p2), -EPIPE);
	cr_assert_eq(join_ok(p3), -EPIPE);
	cr_assert_eq(urt_queue_len(&Q), (size_t)1);
	CHECK(urt_queue_try_put(&Q, IP(4)), -EPIPE);
	OK(urt_queue_get(&Q, &it, URT_FOREVER)); /* the item queued before close */
	cr_assert_eq(PI(it), 1);
	CHECK(urt_queue_get(&Q, &it, URT_FOREVER), -EPIPE); /* 2 and 3 never went in */
	CHECK(urt_queue_try_get(&Q, &it), -EPIPE);
	cr_assert_eq(PI(it), 1);
	/* Only item 1 is unfinished. */
	CHECK(urt_queue_join(&Q, 0), -ETIMEDOUT);
	OK(urt_queue_task_done(&Q));
	OK(urt_queue_join(&Q, 0));
	CHECK(urt_queue_task_done(&Q), -EINVAL);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_close_fails_putters)
{
	VRUN(main_queue_close_putters, NULL);
}

static int main_queue_close_drains(void *arg)
{
	(void)arg;
	void *it;
	OK(urt_queue_init(&Q, 4));
	for (int i = 1; i <= 3; i++)
		OK(urt_queue_put(&Q, IP(i), URT_FOREVER));
	urt_queue_close(&Q);
	cr_assert_eq(urt_queue_len(&Q), (size_t)3);
	CHECK(urt_queue_put(&Q, IP(4), URT_FOREVER), -EPIPE);
	CHECK(urt_queue_try_put(&Q, IP(4)), -EPIPE);
	cr_assert_eq(urt_queue_len(&Q), (size_t)3);
	OK(urt_queue_get(&Q, &it, URT_FOREVER));
	cr_assert_eq(PI(it), 1);
	OK(urt_queue_try_get(&Q, &it));
	cr_assert_eq(PI(it), 2);
	OK(urt_queue_get(&Q, &it, 0));
	cr_assert_eq(PI(it), 3);
	CHECK(urt_queue_get(&Q, &it, URT_FOREVER), -EPIPE);
	CHECK(urt_queue_try_get(&Q, &it), -EPIPE);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_close_drains_then_epipe)
{
	VRUN(main_queue_close_drains, NULL);
}

/* Close as end of stream: consumers read until -EPIPE. */
#define ES_ITEMS 200
#define ES_CONSUMERS 3
static unsigned char es_seen[ES_ITEMS];

static int es_consumer(void *arg)
{
	(void)arg;
	int n = 0;
	for (;;) {
		void *it;
		int r = urt_queue_get(&Q, &it, URT_FOREVER);
		if (r == -EPIPE)
			return n;
		if (r)
			return r;
		cr_assert(PI(it) >= 0 && PI(it) < ES_ITEMS);
		es_seen[PI(it)]++;
		n++;
		if (n % 3 == 0)
			OK(urt_yield());
	}
}

static int main_queue_end_of_stream(void *arg)
{
	(void)arg;
	OK(urt_queue_init(&Q, 3));
	urt_task *c[ES_CONSUMERS];
	for (int i = 0; i < ES_CONSUMERS; i++)
		c[i] = spawn_ok(es_consumer, NULL);
	for (int i = 0; i < ES_ITEMS; i++) {
		OK(urt_queue_put(&Q, IP(i), URT_FOREVER));
		if (i % 11 == 0)
			OK(urt_yield());
	}
	urt_queue_close(&Q);
	int total = 0;
	for (int i = 0; i < ES_CONSUMERS; i++) {
		int n = join_ok(c[i]);
		cr_assert_geq(n, 0, "consumer %d", i);
		total += n;
	}
	cr_assert_eq(total, ES_ITEMS);
	for (int i = 0; i < ES_ITEMS; i++)
		cr_assert_eq(es_seen[i], 1, "item %d seen %d times", i, es_seen[i]);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_close_as_end_of_stream)
{
	VRUN(main_queue_end_of_stream, NULL);
}

/* ---------------------------------------------------------------------- */
/* Many producers and consumers on a small queue. */

#define MP_PRODUCERS 4
#define MP_ITEMS 10000
#define MP_CONSUMERS 3
static unsigned char mp_seen[MP_PRODUCERS][MP_ITEMS];
static int mp_count[MP_CONSUMERS];

static int mp_producer(void *arg)
{
	int p = PI(arg);
	uint32_t x = (uint32_t)p * 2654435761u + 1u;
	for (int i = 0; i < MP_ITEMS; i++) {
		void *it = IP(p * MP_ITEMS + i + 1);
		x = x * 1103515245u + 12345u;
		int r;
		if ((x >> 16) % 4 == 0) {
			r = urt_queue_try_put(&Q, it);
			if (r == -EAGAIN)
				r = urt_queue_put(&Q, it, URT_FOREVER);
		} else {
			r = urt_queue_put(&Q, it, (x >> 18) & 1 ? URT_FOREVER : SEC(60));
		}
		if (r)
			return r;
		if ((x >> 20) % 8 == 0 && (r = urt_yield()))
			return r;
	}
	return 0;
}

static int mp_consumer(void *arg)
{
	int c = PI(arg);
	int last[MP_PRODUCERS];
	for (int p = 0; p < MP_PRODUCERS; p++)
		last[p] = -1;
	uint32_t x = (uint32_t)c * 40503u + 7u;
	for (;;) {
		void *it;
		x = x * 1103515245u + 12345u;
		int r = (x >> 16) % 3 == 0 ? urt_queue_try_get(&Q, &it) : -EAGAIN;
		if (r == -EAGAIN)
			r = urt_queue_get(&Q, &it, URT_FOREVER);
		if (r == -EPIPE)
			return 0;
		if (r)
			return r;
		int v = PI(it) - 1;
		cr_assert(v >= 0 && v < MP_PRODUCERS * MP_ITEMS, "bogus item %d", v);
		int p = v / MP_ITEMS, i = v % MP_ITEMS;
		mp_seen[p][i]++;
		/* One producer's items reach any one consumer in order. */
		cr_assert_gt(i, last[p], "consumer %d: producer %d's item %d after %d", c, p, i,
			     last[p]);
		last[p] = i;
		mp_count[c]++;
		OK(urt_queue_task_done(&Q));
		if ((x >> 20) % 8 == 0)
			OK(urt_yield());
	}
}

static int main_queue_mpmc(void *arg)
{
	(void)arg;
	OK(urt_queue_init(&Q, 8));
	urt_task *c[MP_CONSUMERS], *p[MP_PRODUCERS];
	for (int i = 0; i < MP_CONSUMERS; i++)
		c[i] = spawn_ok(mp_consumer, IP(i));
	for (int i = 0; i < MP_PRODUCERS; i++)
		p[i] = spawn_ok(mp_producer, IP(i));
	for (int i = 0; i < MP_PRODUCERS; i++)
		cr_assert_eq(join_ok(p[i]), 0, "producer %d", i);
	OK(urt_queue_join(&Q, URT_FOREVER));
	int total = 0;
	for (int i = 0; i < MP_CONSUMERS; i++)
		total += mp_count[i];
	cr_assert_eq(total, MP_PRODUCERS * MP_ITEMS, "join returned early");
	urt_queue_close(&Q);
	for (int i = 0; i < MP_CONSUMERS; i++)
		cr_assert_eq(join_ok(c[i]), 0, "consumer %d", i);
	for (int p2 = 0; p2 < MP_PRODUCERS; p2++)
		for (int i = 0; i < MP_ITEMS; i++)
			cr_assert_eq(mp_seen[p2][i], 1, "producer %d item %d seen %d times", p2, i,
				     mp_seen[p2][i]);
	cr_assert_eq(urt_queue_len(&Q), (size_t)0);
	CHECK(urt_queue_task_done(&Q), -EINVAL);
	urt_queue_destroy(&Q);
	only_main_alive();
	return 0;
}

Test(sync, queue_many_producers_consumers)
{
	VRUN(main_queue_mpmc, NULL);
}

/* ---------------------------------------------------------------------- */
/* Relock corner cases (found by review)                                  */

static urt_mutex rl_m;
static urt_cond rl_c;
static char rl_order[8];
static int rl_n;

static int rl_waiter(void *a)
{
	(void)a;
	OK(urt_mutex_lock(&rl_m, -1));
	int r = urt_cond_wait(&rl_c, &rl_m, -1);
	rl_order[rl_n++] = 'W';
	if (r != -EDEADLK)
		urt_mutex_unlock(&rl_m);
	return r;
}

static int rl_other(void *a)
{
	(void)a;
	OK(urt_mutex_lock(&rl_m, -1));
	rl_order[rl_n++] = 'X';
	urt_mutex_unlock(&rl_m);
	return 0;
}

/* A cancel that wakes a task queued to relock does not cost it its FIFO
   place: W (signalled first) gets the mutex before X (queued later). */
static int t_relock_keeps_fifo_place(void *a)
{
	(void)a;
	urt_mutex_init(&rl_m);
	urt_cond_init(&rl_c);
	rl_n = 0;
	urt_task *tw = spawn_ok(rl_waiter, NULL);
	OK(urt_yield());                 /* W waits on the cond */
	OK(urt_mutex_lock(&rl_m, -1));
	urt_cond_signal(&rl_c);
	OK(urt_yield());                 /* W queues to relock */
	urt_task *tx = spawn_ok(rl_other, NULL);
	OK(urt_yield());                 /* X queues behind W */
	urt_cancel(tw);
	OK(urt_yield());                 /* W woken by the cancel, still queued */
	OK(urt_mutex_unlock(&rl_m));
	cr_assert_eq(join_ok(tw), 0, "the signal won; the cancel stays pending");
	cr_assert_eq(join_ok(tx), 0);
	cr_assert_eq(rl_order[0], 'W');
	cr_assert_eq(rl_order[1], 'X');
	return 0;
}

Test(sync, cond_relock_cancel_keeps_fifo_place)
{
	VRUN(t_relock_keeps_fifo_place, NULL);
}

static int rl_dead_owner(void *a)
{
	(void)a;
	return urt_mutex_lock(&rl_m, -1); /* ends holding the mutex */
}

/* The mutex can never come back (its owner ended holding it): the relock
   gives up with -EDEADLK when the loop finds everything blocked, instead of
   spinning on the loop's cancellations, and urt_run reports -EDEADLK. */
static int t_relock_deadlock(void *a)
{
	(void)a;
	urt_mutex_init(&rl_m);
	urt_cond_init(&rl_c);
	rl_n = 0;
	urt_task *tw = spawn_ok(rl_waiter, NULL);
	OK(urt_yield());
	urt_task *o = spawn_ok(rl_dead_owner, NULL);
	cr_assert_eq(join_ok(o), 0);
	cr_assert(urt_mutex_locked(&rl_m));
	urt_cond_signal(&rl_c);
	int res = 0;
	int r = urt_join(tw, &res);
	cr_assert_eq(r, -ECANCELED, "the loop cancels main in the deadlock");
	return 0;
}

Test(sync, cond_relock_gives_up_in_deadlock)
{
	cr_assert_eq(run_flags(URT_OPT_QUIET, t_relock_deadlock, NULL), -EDEADLK);
	cr_assert_eq(rl_order[0], 'W', "the waiter returned");
}
