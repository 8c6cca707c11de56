/* SPDX-License-Identifier: MIT */
/*
 * Task groups: asyncio.TaskGroup for C. A caller-owned urt_group owns its
 * members: the first failure cancels the rest, and urt_group_wait joins and
 * releases them all.
 */
#include <errno.h>

#include "core/core.h"

void urt_group_init(urt_group *g)
{
	urt__list_init(&g->live);
	urt__list_init(&g->done);
	g->waiter = NULL;
	g->first_error = 0;
	g->cancelling = false;
}

urt_task *urt_group_spawn(urt_group *g, int (*fn)(void *), void *arg)
{
	if (!g) {
		errno = EINVAL; /* NULL + errno, as urt_spawn */
		return NULL;
	}
	struct urt_spawn_attr a = {.group = g};
	return urt_spawn_attr(&a, fn, arg);
}

static void cancel_members(urt_group *g)
{
	g->cancelling = true;
	struct urt_list *pos, *tmp;
	urt__list_for_each_safe(pos, tmp, &g->live)
		urt_cancel(urt__container_of(pos, urt_task, group_link));
}

/* A member ended: its end_w, on its done_waiters like any joiner's. */
static void member_done(struct urt__waiter *w, urt_task *t)
{
	(void)w;
	urt_group *g = t->group;
	urt__list_del(&t->group_link);
	urt__list_add_tail(&g->done, &t->group_link);
	if (t->result < 0 && t->result != -ECANCELED && !g->first_error) {
		g->first_error = t->result;
		cancel_members(g);
	}
	if (urt__list_empty(&g->live) && g->waiter)
		urt__wake(g->waiter, 0);
}

/*
 * A task spawned into a group becomes a member here: the group registers
 * with the task (a done-waiter, like a joiner's), so the task code never
 * calls into groups.
 */
urt_task *urt_spawn_attr(const struct urt_spawn_attr *a, int (*fn)(void *), void *arg)
{
	urt_group *g = a ? a->group : NULL;
	if (g && g->cancelling && urt__L && fn) {
		errno = EINVAL;
		return NULL;
	}
	urt_task *t = urt__task_new(a, fn, arg);
	if (t && g) {
		t->group = g;
		urt__list_add_tail(&g->live, &t->group_link);
		urt__task_on_end(t, member_done);
	}
	return t;
}

int urt_group_wait(urt_group *g)
{
	urt_task *cur = urt__cur();
	if (!cur)
		return -EPERM;
	if (!g || g->waiter)
		return -EINVAL;
	if (cur->group == g)
		return -EDEADLK; /* a member cannot wait for its own group */
	g->waiter = cur;
	int rc = 0;
	bool cancelled_late = false;
	while (!urt__list_empty(&g->live)) {
		int r = urt__wait_user(rc ? URT__NO_DEADLINE : cur->deadline);
		if (r >= 0)
			continue;
		if (rc) {
			/* cancelled while the members wind down: not swallowed, but
			   kept for the caller's next suspension point */
			cancelled_late |= r == -ECANCELED;
		} else if (urt__list_empty(&g->live)) {
			/* the last member ended, then we were cancelled or timed
			   out before we ran: the group's end wins */
			cancelled_late |= r == -ECANCELED;
		} else {
			rc = r; /* cancelled, or the deadline passed: cancel the members */
			cancel_members(g);
		}
	}
	g->waiter = NULL;
	if (cancelled_late)
		urt__cancel_rearm(cur);
	while (!urt__list_empty(&g->done)) {
		urt_task *t = urt__container_of(urt__list_first(&g->done), urt_task, group_link);
		urt__list_del(&t->group_link);
		urt__task_take(t);
	}
	int err = rc ? rc : g->first_error;
	g->first_error = 0;
	g->cancelling = false;
	return err;
}
