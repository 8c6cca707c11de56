/* SPDX-License-Identifier: MIT */
/* Task groups (asyncio.TaskGroup). */
#include "helpers.h"

static int member_ran;
static int member_cancelled;
static int member_rc[8];

/* Sleep arg ms; record the result; return arg (or the error). */
static int member_sleep(void *arg)
{
	intptr_t ms = (intptr_t)arg;
	int rc = urt_sleep_ns(MS(ms));
	member_ran++;
	if (rc == -ECANCELED)
		member_cancelled++;
	return rc < 0 ? rc : (int)ms;
}

/* Long sleeper recording its result in member_rc[idx]. */
static int member_long(void *arg)
{
	int idx = (int)(intptr_t)arg;
	member_rc[idx] = urt_sleep_ns(SEC(30));
	if (member_rc[idx] == -ECANCELED)
		member_cancelled++;
	return member_rc[idx];
}

static int member_fail_eio(void *arg)
{
	(void)arg;
	OK(urt_sleep_ns(MS(10)));
	return -EIO;
}

/* ---------------------------------------------------------------------- */

static int main_group_ok(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	for (int i = 1; i <= 5; i++)
		cr_assert_not_null(urt_group_spawn(&g, member_sleep, (void *)(intptr_t)(i * 2)));
	cr_assert_eq(urt_group_wait(&g), 0);
	cr_assert_eq(member_ran, 5);
	cr_assert_eq(member_cancelled, 0);
	return 0;
}

Test(group, all_succeed)
{
	VRUN(main_group_ok, NULL);
}

static int main_group_empty(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	cr_assert_eq(urt_group_wait(&g), 0);
	return 0;
}

Test(group, empty_group)
{
	VRUN(main_group_empty, NULL);
}

/* ---------------------------------------------------------------------- */
/* 10. A failing member cancels the others; wait returns the error. */

static int main_group_fail(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	cr_assert_not_null(urt_group_spawn(&g, member_long, (void *)(intptr_t)0));
	cr_assert_not_null(urt_group_spawn(&g, member_fail_eio, NULL));
	cr_assert_not_null(urt_group_spawn(&g, member_long, (void *)(intptr_t)2));
	cr_assert_eq(urt_group_wait(&g), -EIO);
	cr_assert_eq(member_rc[0], -ECANCELED);
	cr_assert_eq(member_rc[2], -ECANCELED);
	cr_assert_eq(member_cancelled, 2);
	return 0;
}

Test(group, failure_cancels_others)
{
	VRUN(main_group_fail, NULL);
}

/* The failure cancels members even when nobody waits yet; spawning into the
   cancelling group returns NULL. */
static int late_flag;

static int late_member(void *arg)
{
	(void)arg;
	late_flag = 1;
	return 0;
}

static int main_group_fail_no_waiter(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	cr_assert_not_null(urt_group_spawn(&g, member_long, (void *)(intptr_t)0));
	cr_assert_not_null(urt_group_spawn(&g, member_fail_eio, NULL));
	cr_assert_not_null(urt_group_spawn(&g, member_long, (void *)(intptr_t)2));
	OK(urt_sleep_ns(MS(60)));
	/* Already cancelled, before anyone waits. */
	cr_assert_eq(member_rc[0], -ECANCELED);
	cr_assert_eq(member_rc[2], -ECANCELED);
	errno = 0;
	cr_assert_null(urt_group_spawn(&g, late_member, NULL));
	cr_assert_eq(errno, EINVAL); /* NULL + errno, as urt_spawn */
	errno = 0;
	cr_assert_null(urt_group_spawn(NULL, late_member, NULL));
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(urt_group_wait(&g), -EIO);
	cr_assert_eq(late_flag, 0);
	return 0;
}

Test(group, failure_cancels_before_wait_and_blocks_spawn)
{
	VRUN(main_group_fail_no_waiter, NULL);
}

/* The first error wins. */
static int fail_after(void *arg)
{
	intptr_t code = (intptr_t)arg;
	int rc = urt_sleep_ns(code == -EIO ? MS(5) : MS(30));
	if (rc < 0)
		return rc;
	return (int)code;
}

static int main_group_first_error(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	cr_assert_not_null(urt_group_spawn(&g, fail_after, (void *)(intptr_t)-ENOENT));
	cr_assert_not_null(urt_group_spawn(&g, fail_after, (void *)(intptr_t)-EIO));
	cr_assert_eq(urt_group_wait(&g), -EIO);
	return 0;
}

Test(group, first_error_wins)
{
	VRUN(main_group_first_error, NULL);
}

/* ---------------------------------------------------------------------- */
/* Cancelling the waiter cancels the members; wait returns -ECANCELED. */

static int gw_rc = 1;

static int group_waiter(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	for (int i = 0; i < 4; i++)
		cr_assert_not_null(urt_group_spawn(&g, member_long, (void *)(intptr_t)i));
	gw_rc = urt_group_wait(&g);
	return gw_rc;
}

static int main_group_waiter_cancel(void *arg)
{
	(void)arg;
	urt_task *w = spawn_ok(group_waiter, NULL);
	OK(urt_sleep_ns(MS(5)));
	urt_cancel(w);
	cr_assert_eq(join_ok(w), -ECANCELED);
	cr_assert_eq(gw_rc, -ECANCELED);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(member_rc[i], -ECANCELED, "member %d: %d", i, member_rc[i]);
	cr_assert_eq(member_cancelled, 4);
	return 0;
}

Test(group, waiter_cancelled_cancels_members)
{
	VRUN(main_group_waiter_cancel, NULL);
}

/* ---------------------------------------------------------------------- */
/* Members may spawn further members while the group is waited. */

static urt_group nest_g;
static int nest_count;

static int nest_member(void *arg)
{
	intptr_t depth = (intptr_t)arg;
	nest_count++;
	OK(urt_nop());
	if (depth > 0) {
		cr_assert_not_null(urt_group_spawn(&nest_g, nest_member, (void *)(depth - 1)));
		cr_assert_not_null(urt_group_spawn(&nest_g, nest_member, (void *)(depth - 1)));
	}
	OK(urt_sleep_ns(MS(1)));
	return 0;
}

static int main_group_nested(void *arg)
{
	(void)arg;
	urt_group_init(&nest_g);
	cr_assert_not_null(urt_group_spawn(&nest_g, nest_member, (void *)(intptr_t)5));
	cr_assert_eq(urt_group_wait(&nest_g), 0);
	cr_assert_eq(nest_count, 63);
	return 0;
}

Test(group, members_spawn_members)
{
	VRUN(main_group_nested, NULL);
}

/* ---------------------------------------------------------------------- */

static int main_group_misuse(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	urt_task *t = urt_group_spawn(&g, member_sleep, (void *)(intptr_t)10);
	cr_assert_not_null(t);
	cr_assert_eq(urt_join(t, NULL), -EINVAL);
	cr_assert_eq(urt_detach(t), -EINVAL);
	cr_assert_eq(urt_group_wait(&g), 0);
	cr_assert_eq(member_ran, 1);
	return 0;
}

Test(group, join_or_detach_member_einval)
{
	VRUN(main_group_misuse, NULL);
}

static int main_group_attr(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	struct urt_spawn_attr a = {0};
	a.group = &g;
	a.name = "grouped";
	urt_task *t = urt_spawn_attr(&a, member_sleep, (void *)(intptr_t)5);
	cr_assert_not_null(t);
	cr_assert_str_eq(urt_task_name(t), "grouped");
	cr_assert_eq(urt_join(t, NULL), -EINVAL);
	cr_assert_eq(urt_group_wait(&g), 0);
	cr_assert_eq(member_ran, 1);
	return 0;
}

Test(group, spawn_attr_with_group)
{
	VRUN(main_group_attr, NULL);
}

/* Cancelling one member from outside: the others keep running (a member
   returning -ECANCELED is not a failure that cancels the group). */
static int main_group_cancel_member(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	urt_task *l = urt_group_spawn(&g, member_long, (void *)(intptr_t)0);
	cr_assert_not_null(l);
	cr_assert_not_null(urt_group_spawn(&g, member_sleep, (void *)(intptr_t)20));
	OK(urt_yield());
	urt_cancel(l);
	int rc = urt_group_wait(&g);
	cr_assert(rc == 0 || rc == -ECANCELED, "group_wait returned %d", rc);
	cr_assert_eq(member_rc[0], -ECANCELED);
	cr_assert_eq(member_ran, 1);
	cr_assert_eq(member_cancelled, 1, "the other member was cancelled too");
	return 0;
}

Test(group, cancelled_member_does_not_fail_group)
{
	VRUN(main_group_cancel_member, NULL);
}

/* A group can be re-used after urt_group_wait (re-initialised). */
static int main_group_reuse(void *arg)
{
	(void)arg;
	urt_group g;
	for (int round = 0; round < 3; round++) {
		urt_group_init(&g);
		for (int i = 0; i < 10; i++)
			cr_assert_not_null(urt_group_spawn(&g, member_sleep, (void *)(intptr_t)1));
		cr_assert_eq(urt_group_wait(&g), 0);
	}
	cr_assert_eq(member_ran, 30);
	return 0;
}

Test(group, reinit_and_reuse)
{
	VRUN(main_group_reuse, NULL);
}

/* Many groups members, one of which fails late: every other is cancelled. */
static int main_group_many(void *arg)
{
	(void)arg;
	urt_group g;
	urt_group_init(&g);
	for (int i = 0; i < 1000; i++)
		cr_assert_not_null(urt_group_spawn(&g, member_sleep, (void *)(intptr_t)30000));
	cr_assert_not_null(urt_group_spawn(&g, member_fail_eio, NULL));
	cr_assert_eq(urt_group_wait(&g), -EIO);
	cr_assert_eq(member_cancelled, 1000);
	return 0;
}

Test(group, failure_cancels_many)
{
	VRUN(main_group_many, NULL);
}
