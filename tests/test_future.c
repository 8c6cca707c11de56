/* SPDX-License-Identifier: MIT */
/* Futures. */
#include "helpers.h"

static urt_future F;
static int payload_a = 1, payload_b = 2;

/* ---------------------------------------------------------------------- */

static int main_set_before_wait(void *arg)
{
	(void)arg;
	urt_future_init(&F);
	cr_assert_not(urt_future_done(&F));
	OK(urt_future_set(&F, 7, &payload_a));
	cr_assert(urt_future_done(&F));
	void *v = NULL;
	cr_assert_eq(urt_future_wait(&F, &v, URT_FOREVER), 7);
	cr_assert_eq(v, &payload_a);
	/* Waiting again returns the same result; timeout 0 does not matter. */
	v = NULL;
	cr_assert_eq(urt_future_wait(&F, &v, 0), 7);
	cr_assert_eq(v, &payload_a);
	cr_assert_eq(urt_future_wait(&F, NULL, MS(1)), 7);
	return 0;
}

Test(future, set_before_wait)
{
	VRUN(main_set_before_wait, NULL);
}

/* ---------------------------------------------------------------------- */

#define NW 6
static int w_res[NW];
static void *w_val[NW];
static int w_woken;

static int waiter(void *arg)
{
	int i = (int)(intptr_t)arg;
	w_res[i] = urt_future_wait(&F, &w_val[i], URT_FOREVER);
	w_woken++;
	return 0;
}

static int main_set_after_waiters(void *arg)
{
	(void)arg;
	urt_future_init(&F);
	urt_task *t[NW];
	for (int i = 0; i < NW; i++)
		t[i] = spawn_ok(waiter, (void *)(intptr_t)i);
	OK(urt_sleep_ns(MS(5)));
	cr_assert_eq(w_woken, 0);
	OK(urt_future_set(&F, 42, &payload_b));
	cr_assert_eq(urt_join_all(t, NW, NULL), 0);
	cr_assert_eq(w_woken, NW);
	for (int i = 0; i < NW; i++) {
		cr_assert_eq(w_res[i], 42, "waiter %d got %d", i, w_res[i]);
		cr_assert_eq(w_val[i], &payload_b);
	}
	return 0;
}

Test(future, set_after_several_waiters)
{
	VRUN(main_set_after_waiters, NULL);
}

/* Set from another task (not the main task). */
static int setter(void *arg)
{
	(void)arg;
	OK(urt_sleep_ns(MS(5)));
	return urt_future_set(&F, 3, NULL);
}

static int main_set_from_task(void *arg)
{
	(void)arg;
	urt_future_init(&F);
	urt_task *s = spawn_ok(setter, NULL);
	void *v = &payload_a;
	cr_assert_eq(urt_future_wait(&F, &v, SEC(10)), 3);
	cr_assert_null(v);
	cr_assert_eq(join_ok(s), 0);
	return 0;
}

Test(future, set_from_task_wakes_timed_waiter)
{
	VRUN(main_set_from_task, NULL);
}

/* ---------------------------------------------------------------------- */

static int main_set_twice(void *arg)
{
	(void)arg;
	urt_future_init(&F);
	OK(urt_future_set(&F, 1, &payload_a));
	cr_assert_eq(urt_future_set(&F, 2, &payload_b), -EALREADY);
	cr_assert_eq(urt_future_set(&F, -EIO, NULL), -EALREADY);
	void *v = NULL;
	cr_assert_eq(urt_future_wait(&F, &v, URT_FOREVER), 1);
	cr_assert_eq(v, &payload_a);
	return 0;
}

Test(future, set_twice_ealready)
{
	VRUN(main_set_twice, NULL);
}

static int main_error_result(void *arg)
{
	(void)arg;
	urt_future_init(&F);
	urt_task *t = spawn_ok(waiter, (void *)(intptr_t)0);
	OK(urt_yield());
	OK(urt_future_set(&F, -ECONNRESET, NULL));
	join_ok(t);
	cr_assert_eq(w_res[0], -ECONNRESET);
	return 0;
}

Test(future, error_result)
{
	VRUN(main_error_result, NULL);
}

/* ---------------------------------------------------------------------- */

static int main_wait_timeout(void *arg)
{
	(void)arg;
	urt_future_init(&F);
	int64_t t0 = urt_now_ns();
	void *v = &payload_a;
	cr_assert_eq(urt_future_wait(&F, &v, MS(20)), -ETIMEDOUT);
	cr_assert_geq(urt_now_ns() - t0, MS(20));
	cr_assert_eq(v, &payload_a, "value written on timeout");
	cr_assert_not(urt_future_done(&F));
	cr_assert_eq(urt_future_wait(&F, NULL, 0), -ETIMEDOUT);
	/* Still usable after the timeouts. */
	OK(urt_future_set(&F, 9, NULL));
	cr_assert_eq(urt_future_wait(&F, NULL, MS(20)), 9);
	return 0;
}

Test(future, wait_timeout)
{
	VRUN(main_wait_timeout, NULL);
}

/* A timed-out waiter does not stay registered: a later set only wakes the
   remaining waiter, and nothing touches the timed-out task's frame. */
static int timed_rc = 1;

static int timed_waiter(void *arg)
{
	(void)arg;
	timed_rc = urt_future_wait(&F, NULL, MS(5));
	/* Then sleep: a stale wake-up would end this sleep early. */
	int64_t t0 = urt_now_ns();
	int rc = urt_sleep_ns(MS(40));
	cr_assert_eq(rc, 0);
	cr_assert_geq(urt_now_ns() - t0, MS(40), "sleep woken early by a stale future wake-up");
	return 0;
}

static int main_timed_then_set(void *arg)
{
	(void)arg;
	urt_future_init(&F);
	urt_task *a = spawn_ok(timed_waiter, NULL);
	urt_task *b = spawn_ok(waiter, (void *)(intptr_t)0);
	/* until the waiter has timed out (not a fixed sleep: on a loaded
	   machine it may start waiting later than 10 ms from now) */
	while (timed_rc == 1)
		OK(urt_sleep_ns(MS(2)));
	cr_assert_eq(timed_rc, -ETIMEDOUT);
	OK(urt_future_set(&F, 5, NULL));
	join_ok(b);
	cr_assert_eq(w_res[0], 5);
	join_ok(a);
	return 0;
}

Test(future, timed_out_waiter_unregistered)
{
	VRUN(main_timed_then_set, NULL);
}

/* ---------------------------------------------------------------------- */
/* Cancel one waiter: -ECANCELED; a later set still wakes the others. */

static int main_cancel_waiter(void *arg)
{
	(void)arg;
	urt_future_init(&F);
	urt_task *t[3];
	for (int i = 0; i < 3; i++)
		t[i] = spawn_ok(waiter, (void *)(intptr_t)i);
	OK(urt_yield());
	urt_cancel(t[1]);
	join_ok(t[1]);
	cr_assert_eq(w_res[1], -ECANCELED);
	cr_assert_not(urt_future_done(&F));
	cr_assert_eq(w_woken, 1);
	OK(urt_future_set(&F, 11, &payload_a));
	join_ok(t[0]);
	join_ok(t[2]);
	cr_assert_eq(w_res[0], 11);
	cr_assert_eq(w_res[2], 11);
	cr_assert_eq(w_val[0], &payload_a);
	cr_assert_eq(w_val[2], &payload_a);
	cr_assert_eq(w_woken, 3);
	return 0;
}

Test(future, cancel_one_waiter)
{
	VRUN(main_cancel_waiter, NULL);
}

/* ---------------------------------------------------------------------- */

static urt_future pre;

static int main_preset(void *arg)
{
	(void)arg;
	void *v = NULL;
	cr_assert_eq(urt_future_wait(&pre, &v, URT_FOREVER), 4);
	cr_assert_eq(v, &payload_b);
	return 0;
}

Test(future, set_outside_task)
{
	urt_future_init(&pre);
	cr_assert_not(urt_future_done(&pre));
	cr_assert_eq(urt_future_set(&pre, 4, &payload_b), 0);
	cr_assert(urt_future_done(&pre));
	cr_assert_eq(urt_future_set(&pre, 5, NULL), -EALREADY);
	VRUN(main_preset, NULL);
}

Test(future, wait_outside_task_eperm)
{
	urt_future_init(&pre);
	cr_assert_eq(urt_future_wait(&pre, NULL, MS(1)), -EPERM);
}

/* Chain of futures: each task waits on its predecessor's future. */
#define CHAIN 200
static urt_future chain_f[CHAIN + 1];

static int chain_link(void *arg)
{
	int i = (int)(intptr_t)arg;
	void *v;
	int r = urt_future_wait(&chain_f[i], &v, URT_FOREVER);
	cr_assert_eq(r, i);
	return urt_future_set(&chain_f[i + 1], r + 1, v);
}

static int main_chain(void *arg)
{
	(void)arg;
	urt_task *t[CHAIN];
	for (int i = 0; i <= CHAIN; i++)
		urt_future_init(&chain_f[i]);
	for (int i = CHAIN - 1; i >= 0; i--)
		t[i] = spawn_ok(chain_link, (void *)(intptr_t)i);
	OK(urt_yield());
	OK(urt_future_set(&chain_f[0], 0, &payload_a));
	void *v = NULL;
	cr_assert_eq(urt_future_wait(&chain_f[CHAIN], &v, URT_FOREVER), CHAIN);
	cr_assert_eq(v, &payload_a);
	cr_assert_eq(urt_join_all(t, CHAIN, NULL), 0);
	return 0;
}

Test(future, chain)
{
	VRUN(main_chain, NULL);
}
