/* SPDX-License-Identifier: MIT */
/* Scoped deadlines: urt_deadline_push / urt_deadline_pop. */
#include "helpers.h"

/* A sentinel task that sets a flag after `ms`; used to show that a timeout
   came from the short deadline and not from a long one (ordering, not speed). */
static int sentinel_fired;

static int sentinel(void *arg)
{
	int rc = urt_sleep_ns(MS((intptr_t)arg));
	if (rc == 0)
		sentinel_fired = 1;
	return 0;
}

static void stop_sentinel(urt_task *s)
{
	urt_cancel(s);
	join_ok(s);
}

/* ---------------------------------------------------------------------- */

static int main_deadline_sleep(void *arg)
{
	(void)arg;
	urt_task *s = spawn_ok(sentinel, (void *)(intptr_t)3000);
	int64_t t0 = urt_now_ns();
	OK(urt_deadline_push(MS(20)));
	cr_assert_eq(urt_sleep_ns(SEC(10)), -ETIMEDOUT);
	cr_assert_geq(urt_now_ns() - t0, MS(20));
	cr_assert_eq(sentinel_fired, 0, "the 10 s sleep ran well past its 20 ms deadline");
	/* Still expired inside the scope. */
	cr_assert_eq(urt_nop(), -ETIMEDOUT);
	urt_deadline_pop();
	/* Out of the scope everything works again; the task is not cancelled. */
	OK(urt_nop());
	OK(urt_sleep_ns(MS(1)));
	cr_assert_not(urt_cancelled());
	stop_sentinel(s);
	return 0;
}

Test(deadline, sleep_past_deadline_times_out)
{
	VRUN(main_deadline_sleep, NULL);
}

static int main_deadline_short_sleep(void *arg)
{
	(void)arg;
	OK(urt_deadline_push(SEC(5)));
	OK(urt_sleep_ns(MS(10)));
	OK(urt_nop());
	OK(urt_yield());
	urt_deadline_pop();
	return 0;
}

Test(deadline, sleep_shorter_than_deadline)
{
	VRUN(main_deadline_short_sleep, NULL);
}

static int main_deadline_end_before_sleep_end(void *arg)
{
	(void)arg;
	/* The deadline falls before the end of the sleep: -ETIMEDOUT, and the
	   sleep is cut short at the deadline, not run to its end. */
	urt_task *s = spawn_ok(sentinel, (void *)(intptr_t)1000);
	OK(urt_deadline_push(MS(30)));
	cr_assert_eq(urt_sleep_ns(SEC(5)), -ETIMEDOUT);
	cr_assert_eq(sentinel_fired, 0);
	urt_deadline_pop();
	stop_sentinel(s);
	return 0;
}

Test(deadline, deadline_cuts_sleep_short)
{
	VRUN(main_deadline_end_before_sleep_end, NULL);
}

/* ---------------------------------------------------------------------- */

static int main_expired_nop(void *arg)
{
	(void)arg;
	OK(urt_deadline_push(MS(1)));
	/* Spin without suspending until the deadline has passed. */
	int64_t t0 = urt_now_ns();
	while (urt_now_ns() - t0 < MS(3))
		;
	cr_assert_eq(urt_nop(), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_nop());

	OK(urt_deadline_push(0)); /* expires at once */
	cr_assert_eq(urt_nop(), -ETIMEDOUT);
	cr_assert_eq(urt_sleep_ns(MS(1)), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_nop());
	return 0;
}

Test(deadline, nop_in_expired_deadline)
{
	RUN(main_expired_nop, NULL); /* real time: it spins on the clock */
}

/* ---------------------------------------------------------------------- */
/* Nested: the inner shorter deadline wins; after pop the outer still applies. */

static int main_nested(void *arg)
{
	(void)arg;
	urt_task *s = spawn_ok(sentinel, (void *)(intptr_t)2000);
	int64_t t_outer = urt_now_ns();
	OK(urt_deadline_push(MS(150)));
	int64_t t_inner = urt_now_ns();
	OK(urt_deadline_push(MS(20)));
	cr_assert_eq(urt_sleep_ns(SEC(10)), -ETIMEDOUT);
	int64_t t1 = urt_now_ns();
	cr_assert_geq(t1 - t_inner, MS(20));
	cr_assert_eq(sentinel_fired, 0);
	urt_deadline_pop();
	/* Outer deadline (150 ms after its push) still applies. */
	cr_assert_eq(urt_sleep_ns(SEC(10)), -ETIMEDOUT);
	cr_assert_geq(urt_now_ns() - t_outer, MS(150),
		      "outer scope timed out before its deadline");
	cr_assert_eq(sentinel_fired, 0);
	urt_deadline_pop();
	OK(urt_sleep_ns(MS(1)));
	stop_sentinel(s);
	return 0;
}

Test(deadline, nested_inner_wins_outer_remains)
{
	VRUN(main_nested, NULL);
}

/* A longer inner deadline does not extend the outer one. */
static int main_nested_outer_earlier(void *arg)
{
	(void)arg;
	urt_task *s = spawn_ok(sentinel, (void *)(intptr_t)2000);
	int64_t t0 = urt_now_ns();
	OK(urt_deadline_push(MS(20)));
	OK(urt_deadline_push(SEC(60)));
	cr_assert_eq(urt_sleep_ns(SEC(10)), -ETIMEDOUT);
	cr_assert_geq(urt_now_ns() - t0, MS(20));
	cr_assert_eq(sentinel_fired, 0);
	urt_deadline_pop();
	urt_deadline_pop();
	stop_sentinel(s);
	return 0;
}

Test(deadline, nested_longer_inner_does_not_extend)
{
	VRUN(main_nested_outer_earlier, NULL);
}

/* ---------------------------------------------------------------------- */
/* Deadlines apply to every suspension point. */

static urt_future never;

static int main_deadline_everywhere(void *arg)
{
	(void)arg;
	urt_future_init(&never);
	urt_task *t = spawn_ok(task_sleep_ms, (void *)(intptr_t)30000);

	OK(urt_deadline_push(MS(10)));
	cr_assert_eq(urt_join(t, NULL), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_not(urt_task_done(t));

	OK(urt_deadline_push(MS(10)));
	cr_assert_eq(urt_future_wait(&never, NULL, URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_not(urt_future_done(&never));

	urt_task *arr[1] = {t};
	OK(urt_deadline_push(MS(10)));
	cr_assert_eq(urt_wait_any(arr, 1, URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();

	/* The joined task was untouched; join it for real now. */
	urt_cancel(t);
	cr_assert_eq(join_ok(t), -ECANCELED);
	return 0;
}

Test(deadline, applies_to_join_future_wait_any)
{
	VRUN(main_deadline_everywhere, NULL);
}

/* A future wait with its own shorter timeout inside a deadline: -ETIMEDOUT
   either way; with the future set in time, the value. */
static int setter(void *arg)
{
	(void)arg;
	OK(urt_sleep_ns(MS(5)));
	return urt_future_set(&never, 8, NULL);
}

static int main_deadline_future_ok(void *arg)
{
	(void)arg;
	urt_future_init(&never);
	urt_task *s = spawn_ok(setter, NULL);
	OK(urt_deadline_push(SEC(5)));
	cr_assert_eq(urt_future_wait(&never, NULL, URT_FOREVER), 8);
	urt_deadline_pop();
	cr_assert_eq(join_ok(s), 0);
	return 0;
}

Test(deadline, future_set_before_deadline)
{
	VRUN(main_deadline_future_ok, NULL);
}

/* Deadline scopes belong to the task that pushed them. */
static int child_rc = 1;

static int child_sleeps(void *arg)
{
	(void)arg;
	child_rc = urt_sleep_ns(MS(40));
	return 0;
}

static int main_deadline_per_task(void *arg)
{
	(void)arg;
	OK(urt_deadline_push(MS(10)));
	urt_task *c = spawn_ok(child_sleeps, NULL);
	cr_assert_eq(urt_sleep_ns(SEC(10)), -ETIMEDOUT);
	urt_deadline_pop();
	join_ok(c);
	cr_assert_eq(child_rc, 0, "the parent's deadline leaked into the child");
	return 0;
}

Test(deadline, scope_is_per_task)
{
	VRUN(main_deadline_per_task, NULL);
}

/* ---------------------------------------------------------------------- */
/* Many push/nop/pop rounds: link timeouts do not leak or fire later. */

static int main_many_scopes(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		OK(urt_deadline_push(MS(50)));
		OK(urt_nop());
		urt_deadline_pop();
	}
	/* If one of those link timeouts fired late it must not affect this. */
	int64_t t0 = urt_now_ns();
	OK(urt_sleep_ns(MS(80)));
	cr_assert_geq(urt_now_ns() - t0, MS(80));
	OK(urt_nop());
	return 0;
}

Test(deadline, many_scopes_no_leak)
{
	VRUN(main_many_scopes, NULL);
}

/* Many tasks, each with a deadline around nops, concurrently. */
static int scoped_nops(void *arg)
{
	(void)arg;
	OK(urt_deadline_push(SEC(20)));
	for (int i = 0; i < 10; i++)
		OK(urt_nop());
	urt_deadline_pop();
	return 0;
}

static int main_concurrent_scopes(void *arg)
{
	(void)arg;
	enum { N = 500 };
	static urt_task *t[N];
	for (int i = 0; i < N; i++)
		t[i] = spawn_ok(scoped_nops, NULL);
	cr_assert_eq(urt_join_all(t, N, NULL), 0);
	return 0;
}

Test(deadline, concurrent_scoped_nops)
{
	VRUN(main_concurrent_scopes, NULL);
}

/* ---------------------------------------------------------------------- */
/* Misuse. */

static int main_deadline_misuse(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_deadline_push(-1), -EINVAL);
	cr_assert_eq(urt_deadline_push(-SEC(1)), -EINVAL);
	urt_deadline_pop(); /* pop without push: no-op */
	OK(urt_nop());
	for (int i = 0; i < URT_DEADLINE_DEPTH; i++)
		cr_assert_eq(urt_deadline_push(SEC(30)), 0, "push %d", i);
	cr_assert_eq(urt_deadline_push(SEC(30)), -ENOSPC);
	OK(urt_nop());
	for (int i = 0; i < URT_DEADLINE_DEPTH; i++)
		urt_deadline_pop();
	urt_deadline_pop();
	/* All scopes gone: a short one works normally again. */
	OK(urt_deadline_push(MS(10)));
	cr_assert_eq(urt_sleep_ns(SEC(5)), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_nop());
	return 0;
}

Test(deadline, misuse)
{
	VRUN(main_deadline_misuse, NULL);
}

Test(deadline, push_outside_task_eperm)
{
	cr_assert_eq(urt_deadline_push(MS(10)), -EPERM);
	urt_deadline_pop(); /* no-op, must not crash */
}
