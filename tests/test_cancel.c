/* SPDX-License-Identifier: MIT */
/* Cancellation at every kind of suspension point. */
#include "helpers.h"

/* ---------------------------------------------------------------------- */
/* 2. Cancel a sleeping task. */

static int sleep_rc = 1;

static int long_sleeper_77(void *arg)
{
	(void)arg;
	sleep_rc = urt_sleep_ns(SEC(30));
	return 77;
}

static int main_cancel_sleeping(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(long_sleeper_77, NULL);
	OK(urt_yield()); /* t runs and suspends in its sleep */
	cr_assert_eq(sleep_rc, 1, "sleeper returned early");
	urt_cancel(t);
	cr_assert_eq(join_ok(t), 77);
	cr_assert_eq(sleep_rc, -ECANCELED);
	return 0;
}

Test(cancel, sleeping_task)
{
	VRUN(main_cancel_sleeping, NULL);
}

/* Cancel after the sleeper has been asleep a while (timer armed in the ring). */
static int main_cancel_sleeping_later(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(long_sleeper_77, NULL);
	OK(urt_sleep_ns(MS(10)));
	urt_cancel(t);
	cr_assert_eq(join_ok(t), 77);
	cr_assert_eq(sleep_rc, -ECANCELED);
	return 0;
}

Test(cancel, sleeping_task_after_a_while)
{
	VRUN(main_cancel_sleeping_later, NULL);
}

/* ---------------------------------------------------------------------- */
/* 4. Cancel a task blocked in join. */

static int joiner_rc[2] = {1, 1};
static int joiner_res = -1;

static int sleep30_ret5(void *arg)
{
	(void)arg;
	int rc = urt_sleep_ns(MS(30));
	cr_assert_eq(rc, 0, "joined task was cancelled too (rc %d)", rc);
	return 5;
}

static int joiner_once(void *arg)
{
	urt_task *g = arg;
	joiner_rc[0] = urt_join(g, NULL);
	return 11;
}

static int main_cancel_in_join(void *arg)
{
	(void)arg;
	urt_task *g = spawn_ok(sleep30_ret5, NULL);
	urt_task *c = spawn_ok(joiner_once, g);
	OK(urt_yield()); /* g sleeps, c blocks joining g */
	urt_cancel(c);
	cr_assert_eq(join_ok(c), 11);
	cr_assert_eq(joiner_rc[0], -ECANCELED);
	/* g keeps running and can be joined later. */
	cr_assert_not(urt_task_done(g));
	cr_assert_eq(join_ok(g), 5);
	return 0;
}

Test(cancel, task_blocked_in_join)
{
	VRUN(main_cancel_in_join, NULL);
}

/* The cancelled joiner joins again itself: cancellation is delivered once. */
static int joiner_twice(void *arg)
{
	urt_task *g = arg;
	joiner_rc[0] = urt_join(g, NULL);
	joiner_rc[1] = urt_join(g, &joiner_res);
	return 12;
}

static int main_cancel_in_join_rejoin(void *arg)
{
	(void)arg;
	urt_task *g = spawn_ok(sleep30_ret5, NULL);
	urt_task *c = spawn_ok(joiner_twice, g);
	OK(urt_yield());
	urt_cancel(c);
	cr_assert_eq(join_ok(c), 12);
	cr_assert_eq(joiner_rc[0], -ECANCELED);
	cr_assert_eq(joiner_rc[1], 0);
	cr_assert_eq(joiner_res, 5);
	return 0;
}

Test(cancel, join_again_after_cancelled_join)
{
	VRUN(main_cancel_in_join_rejoin, NULL);
}

/* ---------------------------------------------------------------------- */
/* 3. Cancel a task suspended in urt_future_wait. */

static urt_future fut;
static int fut_rc = 1;

static int future_waiter(void *arg)
{
	(void)arg;
	fut_rc = urt_future_wait(&fut, NULL, URT_FOREVER);
	return 3;
}

static int main_cancel_in_future_wait(void *arg)
{
	(void)arg;
	urt_future_init(&fut);
	urt_task *t = spawn_ok(future_waiter, NULL);
	OK(urt_yield());
	urt_cancel(t);
	cr_assert_eq(join_ok(t), 3);
	cr_assert_eq(fut_rc, -ECANCELED);
	cr_assert_not(urt_future_done(&fut), "future changed by a cancelled wait");
	return 0;
}

Test(cancel, task_blocked_in_future_wait)
{
	VRUN(main_cancel_in_future_wait, NULL);
}

/* Cancel a task that is suspended in urt_yield (ready, waiting its turn). */
static int yield_rc[2] = {1, 1};

static int yielding_task(void *arg)
{
	(void)arg;
	yield_rc[0] = urt_yield();
	yield_rc[1] = urt_yield();
	return 4;
}

static int main_cancel_in_yield(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(yielding_task, NULL);
	OK(urt_yield()); /* t runs, yields; we run again before t resumes */
	cr_assert_eq(yield_rc[0], 1, "t's yield returned before we ran again");
	urt_cancel(t);
	cr_assert_eq(join_ok(t), 4);
	cr_assert_eq(yield_rc[0], -ECANCELED);
	cr_assert_eq(yield_rc[1], 0, "cancellation delivered twice");
	return 0;
}

Test(cancel, task_ready_in_yield)
{
	VRUN(main_cancel_in_yield, NULL);
}

/* Cancel a task suspended on an io_uring nop. Either the nop was cancelled
   (-ECANCELED) or it had completed already and the cancellation shows at the
   next suspension point. */
static int nop_rc[3] = {1, 1, 1};

static int nop_task(void *arg)
{
	(void)arg;
	nop_rc[0] = urt_nop();
	nop_rc[1] = urt_nop();
	nop_rc[2] = urt_nop();
	return 6;
}

static int main_cancel_in_nop(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(nop_task, NULL);
	OK(urt_yield());
	urt_cancel(t);
	cr_assert_eq(join_ok(t), 6);
	if (nop_rc[0] == -ECANCELED) {
		cr_assert_eq(nop_rc[1], 0);
	} else {
		cr_assert_eq(nop_rc[0], 0);
		cr_assert_eq(nop_rc[1], -ECANCELED);
	}
	cr_assert_eq(nop_rc[2], 0);
	return 0;
}

Test(cancel, task_suspended_on_nop)
{
	VRUN(main_cancel_in_nop, NULL);
}

/* ---------------------------------------------------------------------- */
/* 5. Cancel a task before it first runs. */

static int never_flag;

static int never_runs(void *arg)
{
	(void)arg;
	never_flag = 1;
	return 99;
}

static int main_cancel_before_run(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(never_runs, NULL);
	urt_cancel(t);
	OK(urt_yield());
	OK(urt_sleep_ns(MS(1)));
	cr_assert_eq(never_flag, 0);
	cr_assert_eq(join_ok(t), -ECANCELED);
	cr_assert_eq(never_flag, 0);
	return 0;
}

Test(cancel, before_first_run)
{
	VRUN(main_cancel_before_run, NULL);
}

/* ---------------------------------------------------------------------- */
/* 6. Clean-up after cancellation may suspend again. */

static int cleanup_rc[3] = {1, 1, 1};
static int cleanup_done;

static int cleanup_task(void *arg)
{
	(void)arg;
	cleanup_rc[0] = urt_sleep_ns(SEC(30));
	cleanup_rc[1] = urt_nop();
	cleanup_rc[2] = urt_sleep_ns(MS(5));
	cleanup_done = 1;
	return cleanup_rc[0];
}

static int main_cleanup(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(cleanup_task, NULL);
	OK(urt_sleep_ns(MS(2)));
	urt_cancel(t);
	cr_assert_eq(join_ok(t), -ECANCELED);
	cr_assert_eq(cleanup_rc[0], -ECANCELED);
	cr_assert_eq(cleanup_rc[1], 0);
	cr_assert_eq(cleanup_rc[2], 0);
	cr_assert_eq(cleanup_done, 1);
	return 0;
}

Test(cancel, cleanup_can_suspend)
{
	VRUN(main_cleanup, NULL);
}

/* ---------------------------------------------------------------------- */

static int self_rc[3] = {1, 1, 1};
static bool self_flag[2];

static int self_cancel(void *arg)
{
	(void)arg;
	cr_assert_not(urt_cancelled());
	urt_cancel(urt_current());
	self_flag[0] = urt_cancelled();
	self_rc[0] = urt_nop();
	self_flag[1] = urt_cancelled();
	self_rc[1] = urt_nop();
	self_rc[2] = urt_sleep_ns(MS(1));
	return 8;
}

static int main_self_cancel(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(self_cancel, NULL);
	cr_assert_eq(join_ok(t), 8);
	cr_assert(self_flag[0]);
	cr_assert_not(self_flag[1]);
	cr_assert_eq(self_rc[0], -ECANCELED);
	cr_assert_eq(self_rc[1], 0);
	cr_assert_eq(self_rc[2], 0);
	return 0;
}

Test(cancel, self_cancel_delivered_once)
{
	VRUN(main_self_cancel, NULL);
}

Test(cancel, cancelled_outside_task_false)
{
	cr_assert_not(urt_cancelled());
	urt_cancel(NULL); /* no-op */
}

static int main_cancel_null(void *arg)
{
	(void)arg;
	urt_cancel(NULL);
	cr_assert_not(urt_cancelled());
	OK(urt_nop());
	return 0;
}

Test(cancel, cancel_null_is_noop)
{
	VRUN(main_cancel_null, NULL);
}

/* Cancelling twice before delivery delivers once. */
static int twice_rc[2] = {1, 1};

static int twice_task(void *arg)
{
	(void)arg;
	twice_rc[0] = urt_sleep_ns(SEC(30));
	twice_rc[1] = urt_sleep_ns(MS(1));
	return 0;
}

static int main_cancel_twice(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(twice_task, NULL);
	OK(urt_yield());
	urt_cancel(t);
	urt_cancel(t);
	join_ok(t);
	cr_assert_eq(twice_rc[0], -ECANCELED);
	cr_assert_eq(twice_rc[1], 0);
	return 0;
}

Test(cancel, double_cancel_delivers_once)
{
	VRUN(main_cancel_twice, NULL);
}

/* Cancel of a finished task is a no-op: join returns the real result. */
static int main_cancel_finished(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(task_return_arg, (void *)(intptr_t)31);
	while (!urt_task_done(t))
		OK(urt_yield());
	urt_cancel(t);
	cr_assert_eq(join_ok(t), 31);
	cr_assert_not(urt_cancelled());
	return 0;
}

Test(cancel, finished_task_noop)
{
	VRUN(main_cancel_finished, NULL);
}

/* ---------------------------------------------------------------------- */
/* 18. When main returns, remaining tasks are cancelled. */

static int leftover_rc = 1;
static int leftover_cleanup;
static int leftover_never;

static int leftover_sleeper(void *arg)
{
	(void)arg;
	leftover_rc = urt_sleep_ns(SEC(30));
	/* clean-up may still suspend */
	if (urt_nop() == 0)
		leftover_cleanup = 1;
	return 0;
}

static int leftover_never_runs(void *arg)
{
	(void)arg;
	leftover_never = 1;
	return 0;
}

static int main_leaves_tasks(void *arg)
{
	(void)arg;
	spawn_ok(leftover_sleeper, NULL);
	OK(urt_yield());
	spawn_ok(leftover_never_runs, NULL);
	return 17;
}

Test(cancel, main_return_cancels_remaining)
{
	cr_assert_eq(run_flags(URT_OPT_QUIET, main_leaves_tasks, NULL), 17);
	cr_assert_eq(leftover_rc, -ECANCELED);
	cr_assert_eq(leftover_cleanup, 1);
	cr_assert_eq(leftover_never, 0);
}

/* Detached long sleepers are cancelled at shutdown too. */
static int det_rc = 1;

static int det_sleeper(void *arg)
{
	(void)arg;
	det_rc = urt_sleep_ns(SEC(30));
	return 0;
}

static int main_leaves_detached(void *arg)
{
	(void)arg;
	struct urt_spawn_attr a = {0};
	a.detached = true;
	cr_assert_not_null(urt_spawn_attr(&a, det_sleeper, NULL));
	OK(urt_sleep_ns(MS(1)));
	return 0;
}

Test(cancel, main_return_cancels_detached)
{
	VRUN(main_leaves_detached, NULL);
	cr_assert_eq(det_rc, -ECANCELED);
}

/* ---------------------------------------------------------------------- */
/* Caller cancelled inside urt_join_all: all unfinished tasks are cancelled,
   all joined, results filled in. */

static int ja_ret = 1;
static int ja_res[3] = {1, 1, 1};

static int ja_sleeper(void *arg)
{
	(void)arg;
	int rc = urt_sleep_ns(SEC(30));
	return rc == -ECANCELED ? -ECANCELED : 1000 + rc;
}

static int ja_waiter(void *arg)
{
	(void)arg;
	urt_task *t[3];
	t[0] = spawn_ok(ja_sleeper, NULL);
	t[1] = spawn_ok(task_return_arg, (void *)(intptr_t)21);
	t[2] = spawn_ok(ja_sleeper, NULL);
	ja_ret = urt_join_all(t, 3, ja_res);
	return 0;
}

static int main_cancel_join_all(void *arg)
{
	(void)arg;
	urt_task *w = spawn_ok(ja_waiter, NULL);
	OK(urt_sleep_ns(MS(5)));
	urt_cancel(w);
	join_ok(w);
	cr_assert_eq(ja_ret, -ECANCELED);
	cr_assert_eq(ja_res[0], -ECANCELED);
	cr_assert_eq(ja_res[1], 21);
	cr_assert_eq(ja_res[2], -ECANCELED);
	return 0;
}

Test(cancel, caller_cancelled_in_join_all)
{
	VRUN(main_cancel_join_all, NULL);
}

/* Caller cancelled inside urt_wait_for: t is cancelled and joined. */
static int wf_ret = 1, wf_inner = 1;

static int wf_inner_task(void *arg)
{
	(void)arg;
	wf_inner = urt_sleep_ns(SEC(30));
	return 0;
}

static int wf_waiter(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(wf_inner_task, NULL);
	wf_ret = urt_wait_for(t, NULL, SEC(20));
	return 0;
}

static int main_cancel_wait_for(void *arg)
{
	(void)arg;
	urt_task *w = spawn_ok(wf_waiter, NULL);
	OK(urt_sleep_ns(MS(5)));
	urt_cancel(w);
	join_ok(w);
	cr_assert_eq(wf_ret, -ECANCELED);
	cr_assert_eq(wf_inner, -ECANCELED);
	return 0;
}

Test(cancel, caller_cancelled_in_wait_for)
{
	VRUN(main_cancel_wait_for, NULL);
}

/* Caller cancelled inside urt_wait_any. */
static int wa_ret = 1;
static urt_task *wa_tasks[2];

static int wa_waiter(void *arg)
{
	(void)arg;
	wa_ret = urt_wait_any(wa_tasks, 2, URT_FOREVER);
	return 0;
}

static int main_cancel_wait_any(void *arg)
{
	(void)arg;
	wa_tasks[0] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	wa_tasks[1] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	urt_task *w = spawn_ok(wa_waiter, NULL);
	OK(urt_sleep_ns(MS(5)));
	urt_cancel(w);
	join_ok(w);
	cr_assert_eq(wa_ret, -ECANCELED);
	/* The tasks were not joined nor cancelled by wait_any. */
	cr_assert_not(urt_task_done(wa_tasks[0]));
	cr_assert_not(urt_task_done(wa_tasks[1]));
	urt_cancel(wa_tasks[0]);
	urt_cancel(wa_tasks[1]);
	cr_assert_eq(join_ok(wa_tasks[0]), -ECANCELED);
	cr_assert_eq(join_ok(wa_tasks[1]), -ECANCELED);
	return 0;
}

Test(cancel, caller_cancelled_in_wait_any)
{
	VRUN(main_cancel_wait_any, NULL);
}

/* Cancelling many sleeping tasks at once. */
static int mass_cancelled;

static int mass_sleeper(void *arg)
{
	(void)arg;
	int rc = urt_sleep_ns(SEC(30));
	if (rc == -ECANCELED)
		mass_cancelled++;
	return rc;
}

static int main_mass_cancel(void *arg)
{
	(void)arg;
	enum { N = 5000 };
	static urt_task *t[N];
	static int res[N];
	for (int i = 0; i < N; i++)
		t[i] = spawn_ok(mass_sleeper, NULL);
	OK(urt_sleep_ns(MS(5)));
	for (int i = 0; i < N; i++)
		urt_cancel(t[i]);
	cr_assert_eq(urt_join_all(t, N, res), N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(res[i], -ECANCELED);
	cr_assert_eq(mass_cancelled, N);
	return 0;
}

Test(cancel, many_sleepers_cancelled)
{
	VRUN(main_mass_cancel, NULL);
}
