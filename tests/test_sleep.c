/* SPDX-License-Identifier: MIT */
/* Sleeps and timers, including the asyncio ordering example. */
#include "helpers.h"

#include <time.h>

#define UNIT MS(20)

/* ---------------------------------------------------------------------- */
/* 1. Three tasks sleeping 2, 1, 3 units wake in order 1, 2, 3; join_all
   returns results in spawn order. */

static int wake_order[8];
static int wake_count;

static int sleeper_unit(void *arg)
{
	int id = (int)(intptr_t)arg;
	int rc = urt_sleep_ns(id * UNIT);
	cr_assert_eq(rc, 0, "sleeper %d: urt_sleep_ns returned %d", id, rc);
	wake_order[wake_count++] = id;
	return id * 10;
}

static int main_asyncio_order(void *arg)
{
	(void)arg;
	urt_task *t[3];
	t[0] = spawn_ok(sleeper_unit, (void *)(intptr_t)2);
	t[1] = spawn_ok(sleeper_unit, (void *)(intptr_t)1);
	t[2] = spawn_ok(sleeper_unit, (void *)(intptr_t)3);
	int res[3] = {-1, -1, -1};
	int rc = urt_join_all(t, 3, res);
	cr_assert_eq(rc, 0);
	cr_assert_eq(res[0], 20);
	cr_assert_eq(res[1], 10);
	cr_assert_eq(res[2], 30);
	return 0;
}

Test(sleep, asyncio_ordering_by_duration)
{
	VRUN(main_asyncio_order, NULL);
	cr_assert_eq(wake_count, 3);
	cr_assert_eq(wake_order[0], 1);
	cr_assert_eq(wake_order[1], 2);
	cr_assert_eq(wake_order[2], 3);
}

/* Ten sleepers spawned longest first wake shortest first. */
static int order10[16];
static int count10;

static int sleeper10(void *arg)
{
	int id = (int)(intptr_t)arg;
	int rc = urt_sleep_ns(id * MS(10));
	cr_assert_eq(rc, 0);
	order10[count10++] = id;
	return 0;
}

static int main_order10(void *arg)
{
	(void)arg;
	urt_task *t[10];
	for (int i = 0; i < 10; i++)
		t[i] = spawn_ok(sleeper10, (void *)(intptr_t)(10 - i));
	cr_assert_eq(urt_join_all(t, 10, NULL), 0);
	return 0;
}

Test(sleep, reverse_spawned_sleepers_wake_sorted)
{
	VRUN(main_order10, NULL);
	cr_assert_eq(count10, 10);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(order10[i], i + 1, "position %d woke task %d", i, order10[i]);
}

/* ---------------------------------------------------------------------- */

static int main_sleep_duration(void *arg)
{
	(void)arg;
	int64_t t0 = urt_now_ns();
	OK(urt_sleep_ns(MS(30)));
	int64_t t1 = urt_now_ns();
	cr_assert_geq(t1 - t0, MS(30), "slept only %lld ns", (long long)(t1 - t0));
	OK(urt_sleep_ms(15));
	int64_t t2 = urt_now_ns();
	cr_assert_geq(t2 - t1, MS(15), "slept only %lld ns", (long long)(t2 - t1));
	return 0;
}

Test(sleep, sleeps_at_least_duration)
{
	RUN(main_sleep_duration, NULL); /* real time: the kernel's wait */
}

Test(sleep, now_is_monotonic)
{
	int64_t a = urt_now_ns();
	int64_t b = urt_now_ns();
	cr_assert_gt(a, 0);
	cr_assert_geq(b, a);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t c = (int64_t)ts.tv_sec * URT_NS_PER_SEC + ts.tv_nsec;
	int64_t d = urt_now_ns();
	cr_assert_geq(d, c);
	cr_assert_lt(d - c, SEC(1)); /* same clock, not a speed assertion */
}

/* ---------------------------------------------------------------------- */

static int zero_flag;

static int set_zero_flag(void *arg)
{
	(void)arg;
	zero_flag = 1;
	return 0;
}

static int main_sleep_zero(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(set_zero_flag, NULL);
	OK(urt_sleep_ns(0));
	cr_assert_eq(zero_flag, 1, "sleep(0) did not let the ready task run");
	join_ok(t);
	zero_flag = 0;
	t = spawn_ok(set_zero_flag, NULL);
	OK(urt_sleep_ns(-5));
	cr_assert_eq(zero_flag, 1, "sleep(<0) did not let the ready task run");
	join_ok(t);
	return 0;
}

Test(sleep, zero_and_negative_sleep_yield)
{
	VRUN(main_sleep_zero, NULL);
}

Test(sleep, sleep_outside_task_eperm)
{
	cr_assert_eq(urt_sleep_ns(MS(1)), -EPERM);
	cr_assert_eq(urt_sleep_ms(1), -EPERM);
}

/* ---------------------------------------------------------------------- */
/* Many concurrent sleepers with identical and distinct deadlines. */

static int many_woken;

static int sleeper_count(void *arg)
{
	int rc = urt_sleep_ns(MS((intptr_t)arg));
	cr_assert_eq(rc, 0);
	many_woken++;
	return (int)(intptr_t)arg;
}

static int main_many_sleepers(void *arg)
{
	(void)arg;
	enum { N = 2000 };
	static urt_task *t[N];
	static int res[N];
	for (int i = 0; i < N; i++)
		t[i] = spawn_ok(sleeper_count, (void *)(intptr_t)(i % 7 == 0 ? 10 : i % 30));
	cr_assert_eq(urt_join_all(t, N, res), 0);
	for (int i = 0; i < N; i++)
		cr_assert_eq(res[i], i % 7 == 0 ? 10 : i % 30);
	cr_assert_eq(many_woken, N);
	return 0;
}

Test(sleep, many_concurrent_sleepers)
{
	VRUN(main_many_sleepers, NULL);
}

/* A sleeper that is woken early by cancellation does not leave a stale timer
   that fires into a later sleep of the same task. */
static int stale_rc[3];

static int stale_sleeper(void *arg)
{
	(void)arg;
	stale_rc[0] = urt_sleep_ns(MS(50));   /* cancelled */
	stale_rc[1] = urt_sleep_ns(MS(200));   /* must run its full length */
	stale_rc[2] = 1;
	return 0;
}

static int main_stale_timer(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(stale_sleeper, NULL);
	OK(urt_yield());
	urt_cancel(t);
	OK(urt_sleep_ns(MS(80))); /* past the first sleep's original end */
	cr_assert_eq(stale_rc[0], -ECANCELED);
	cr_assert_eq(stale_rc[2], 0, "second sleep ended early (stale timer?)");
	join_ok(t);
	cr_assert_eq(stale_rc[1], 0);
	cr_assert_eq(stale_rc[2], 1);
	return 0;
}

Test(sleep, cancelled_sleep_leaves_no_stale_timer)
{
	VRUN(main_stale_timer, NULL);
}
