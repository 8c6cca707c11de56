/* SPDX-License-Identifier: MIT */
/* urt_join, urt_join_all, urt_wait_for, urt_wait_any, urt_detach. */
#include "helpers.h"

/* ---------------------------------------------------------------------- */

static int main_join_finished(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(task_return_arg, (void *)(intptr_t)123);
	OK(urt_sleep_ns(MS(2)));
	cr_assert(urt_task_done(t));
	cr_assert_eq(join_ok(t), 123);
	return 0;
}

Test(join, already_finished_task)
{
	VRUN(main_join_finished, NULL);
}

static int main_join_sleeping(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(task_sleep_ms, (void *)(intptr_t)20);
	cr_assert_eq(join_ok(t), 0);
	return 0;
}

Test(join, waits_for_sleeping_task)
{
	VRUN(main_join_sleeping, NULL);
}

/* ---------------------------------------------------------------------- */
/* 8. urt_join_all with one failing task. */

static int maybe_fail(void *arg)
{
	intptr_t v = (intptr_t)arg;
	OK(urt_sleep_ns(MS(v == -EIO ? 5 : 10)));
	return (int)v;
}

static int main_join_all_fail(void *arg)
{
	(void)arg;
	urt_task *t[4];
	t[0] = spawn_ok(maybe_fail, (void *)(intptr_t)1);
	t[1] = spawn_ok(maybe_fail, (void *)(intptr_t)-EIO);
	t[2] = spawn_ok(maybe_fail, (void *)(intptr_t)3);
	t[3] = spawn_ok(maybe_fail, (void *)(intptr_t)4);
	int res[4] = {0, 0, 0, 0};
	cr_assert_eq(urt_join_all(t, 4, res), 1);
	cr_assert_eq(res[0], 1);
	cr_assert_eq(res[1], -EIO);
	cr_assert_eq(res[2], 3);
	cr_assert_eq(res[3], 4);
	return 0;
}

Test(join, join_all_one_failure)
{
	VRUN(main_join_all_fail, NULL);
}

static int main_join_all_two_fail(void *arg)
{
	(void)arg;
	urt_task *t[3];
	t[0] = spawn_ok(task_return_arg, (void *)(intptr_t)-ENOENT);
	t[1] = spawn_ok(task_return_arg, (void *)(intptr_t)0);
	t[2] = spawn_ok(task_return_arg, (void *)(intptr_t)-EIO);
	cr_assert_eq(urt_join_all(t, 3, NULL), 2);
	return 0;
}

Test(join, join_all_count_failures_null_results)
{
	VRUN(main_join_all_two_fail, NULL);
}

static int main_join_all_einval(void *arg)
{
	(void)arg;
	int res[2];
	cr_assert_eq(urt_join_all(NULL, 2, res), -EINVAL);
	urt_task *t[2] = {spawn_ok(task_return_arg, (void *)(intptr_t)1), NULL};
	/* A NULL task in the array is a bad argument: nothing is joined. */
	cr_assert_eq(urt_join_all(t, 2, res), -EINVAL);
	cr_assert_eq(join_ok(t[0]), 1);
	return 0;
}

Test(join, join_all_bad_arguments)
{
	VRUN(main_join_all_einval, NULL);
}

/* ---------------------------------------------------------------------- */
/* 7. urt_wait_for. */

static int wf_inner_rc = 1;
static int wf_inner_cleanup;

static int wf_slow(void *arg)
{
	(void)arg;
	wf_inner_rc = urt_sleep_ns(SEC(30));
	if (urt_nop() == 0 && urt_sleep_ns(MS(1)) == 0)
		wf_inner_cleanup = 1;
	return 55;
}

static int main_wait_for_expiry(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(wf_slow, NULL);
	int res = 1234;
	int64_t t0 = urt_now_ns();
	cr_assert_eq(urt_wait_for(t, &res, MS(20)), -ETIMEDOUT);
	cr_assert_geq(urt_now_ns() - t0, MS(20));
	cr_assert_eq(wf_inner_rc, -ECANCELED);
	cr_assert_eq(wf_inner_cleanup, 1, "inner clean-up did not run before wait_for returned");
	/* The caller itself is not cancelled. */
	cr_assert_not(urt_cancelled());
	OK(urt_nop());
	return 0;
}

Test(join, wait_for_expiry_cancels_inner)
{
	VRUN(main_wait_for_expiry, NULL);
}

static int main_wait_for_success(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(maybe_fail, (void *)(intptr_t)66);
	int res = 0;
	cr_assert_eq(urt_wait_for(t, &res, SEC(10)), 0);
	cr_assert_eq(res, 66);
	/* Negative timeout: no timeout. */
	t = spawn_ok(maybe_fail, (void *)(intptr_t)67);
	cr_assert_eq(urt_wait_for(t, &res, URT_FOREVER), 0);
	cr_assert_eq(res, 67);
	/* Failing task: wait_for returns 0, the error is in *result. */
	t = spawn_ok(maybe_fail, (void *)(intptr_t)-EIO);
	cr_assert_eq(urt_wait_for(t, &res, SEC(10)), 0);
	cr_assert_eq(res, -EIO);
	return 0;
}

Test(join, wait_for_success)
{
	VRUN(main_wait_for_success, NULL);
}

static int main_wait_for_misuse(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_wait_for(NULL, NULL, MS(1)), -EINVAL);
	cr_assert_eq(urt_wait_for(urt_current(), NULL, MS(1)), -EDEADLK);
	return 0;
}

Test(join, wait_for_misuse)
{
	VRUN(main_wait_for_misuse, NULL);
}

/* ---------------------------------------------------------------------- */
/* 16. urt_wait_any. */

static int main_wait_any(void *arg)
{
	(void)arg;
	urt_task *t[4];
	t[0] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	t[1] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	t[2] = spawn_ok(task_sleep_ms, (void *)(intptr_t)10);
	t[3] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	cr_assert_eq(urt_wait_any(t, 4, URT_FOREVER), 2);
	cr_assert(urt_task_done(t[2]));
	cr_assert_not(urt_task_done(t[0]));
	/* Not joined: can be joined now. */
	cr_assert_eq(join_ok(t[2]), 0);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			urt_cancel(t[i]);
	for (int i = 0; i < 4; i++)
		if (i != 2)
			cr_assert_eq(join_ok(t[i]), -ECANCELED);
	return 0;
}

Test(join, wait_any_first_finished)
{
	VRUN(main_wait_any, NULL);
}

static int main_wait_any_lowest(void *arg)
{
	(void)arg;
	urt_task *t[3];
	t[0] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	t[1] = spawn_ok(task_return_arg, (void *)(intptr_t)1);
	t[2] = spawn_ok(task_return_arg, (void *)(intptr_t)2);
	OK(urt_sleep_ns(MS(2)));
	cr_assert(urt_task_done(t[1]) && urt_task_done(t[2]));
	cr_assert_eq(urt_wait_any(t, 3, 0), 1);
	cr_assert_eq(urt_wait_any(t, 3, URT_FOREVER), 1);
	cr_assert_eq(join_ok(t[1]), 1);
	cr_assert_eq(join_ok(t[2]), 2);
	urt_cancel(t[0]);
	cr_assert_eq(join_ok(t[0]), -ECANCELED);
	return 0;
}

Test(join, wait_any_lowest_index_of_done)
{
	VRUN(main_wait_any_lowest, NULL);
}

static int main_wait_any_timeout(void *arg)
{
	(void)arg;
	urt_task *t[2];
	t[0] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	t[1] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	int64_t t0 = urt_now_ns();
	cr_assert_eq(urt_wait_any(t, 2, MS(20)), -ETIMEDOUT);
	cr_assert_geq(urt_now_ns() - t0, MS(20));
	cr_assert_not(urt_task_done(t[0]));
	cr_assert_not(urt_task_done(t[1]));
	cr_assert_eq(urt_wait_any(t, 2, 0), -ETIMEDOUT);
	urt_cancel(t[0]);
	urt_cancel(t[1]);
	cr_assert_eq(join_ok(t[0]), -ECANCELED);
	cr_assert_eq(join_ok(t[1]), -ECANCELED);
	return 0;
}

Test(join, wait_any_timeout)
{
	VRUN(main_wait_any_timeout, NULL);
}

static int main_wait_any_einval(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_wait_any(NULL, 1, 0), -EINVAL);
	return 0;
}

Test(join, wait_any_bad_arguments)
{
	VRUN(main_wait_any_einval, NULL);
}

/* Two waiters in wait_any on the same tasks both wake. */
static urt_task *shared_t[2];
static int any_rc[2] = {-100, -100};

static int any_waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	any_rc[i] = urt_wait_any(shared_t, 2, URT_FOREVER);
	return 0;
}

static int main_wait_any_two_waiters(void *arg)
{
	(void)arg;
	shared_t[0] = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);
	shared_t[1] = spawn_ok(task_sleep_ms, (void *)(intptr_t)10);
	urt_task *w0 = spawn_ok(any_waiter, (void *)(intptr_t)0);
	urt_task *w1 = spawn_ok(any_waiter, (void *)(intptr_t)1);
	join_ok(w0);
	join_ok(w1);
	cr_assert_eq(any_rc[0], 1);
	cr_assert_eq(any_rc[1], 1);
	cr_assert_eq(join_ok(shared_t[1]), 0);
	urt_cancel(shared_t[0]);
	cr_assert_eq(join_ok(shared_t[0]), -ECANCELED);
	return 0;
}

Test(join, wait_any_two_waiters)
{
	VRUN(main_wait_any_two_waiters, NULL);
}

/* ---------------------------------------------------------------------- */
/* Join misuse (see also test_misc). */

static int second_join_rc = 1;

static int second_joiner(void *arg)
{
	second_join_rc = urt_join(arg, NULL);
	return 0;
}

static int main_two_joiners(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(task_sleep_ms, (void *)(intptr_t)20);
	urt_task *j = spawn_ok(second_joiner, t);
	OK(urt_yield()); /* j is now joining t */
	cr_assert_eq(urt_join(t, NULL), -EINVAL);
	cr_assert_eq(urt_detach(t), -EINVAL);
	join_ok(j);
	cr_assert_eq(second_join_rc, 0);
	return 0;
}

Test(join, second_concurrent_joiner_einval)
{
	VRUN(main_two_joiners, NULL);
}
