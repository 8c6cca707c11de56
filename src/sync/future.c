/* SPDX-License-Identifier: MIT */
/* Futures: set once, awaited by any number of tasks. */
#include <errno.h>

#include "core/core.h"

void urt_future_init(urt_future *f)
{
	urt__list_init(&f->waiters);
	f->value = NULL;
	f->res = 0;
	f->set = false;
}

int urt_future_set(urt_future *f, int res, void *value)
{
	if (!f)
		return -EINVAL;
	if (f->set)
		return -EALREADY;
	f->set = true;
	f->res = res;
	f->value = value;
	while (!urt__list_empty(&f->waiters)) {
		struct urt__waiter *w = urt__container_of(urt__list_first(&f->waiters),
							  struct urt__waiter, link);
		urt__list_del(&w->link);
		urt__wake(w->task, 0);
	}
	return 0;
}

int urt_future_wait(urt_future *f, void **value, int64_t timeout_ns)
{
	urt_task *cur = urt__cur();
	if (!cur)
		return -EPERM;
	if (!f)
		return -EINVAL;
	if (!f->set) {
		struct urt__waiter w = {.task = cur};
		int r = urt__wait_on(&f->waiters, &w, urt__wait_deadline(cur, timeout_ns));
		if (!f->set)
			return r;
		/* set, then cancelled before we ran: the value wins and the
		   cancellation stays pending for the next suspension point */
		if (r == -ECANCELED)
			urt__cancel_rearm(cur);
	}
	if (value)
		*value = f->value;
	return f->res;
}

bool urt_future_done(const urt_future *f)
{
	return f && f->set;
}
