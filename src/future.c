/* SPDX-License-Identifier: MIT */
/* Futures: set once, awaited by any number of tasks. */
#include <errno.h>

#include "core.h"

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

int urt_future_wait(urt_future *f, int64_t timeout_ns, void **value)
{
	urt_task *cur = urt__cur();
	if (!cur)
		return -EPERM;
	if (!f)
		return -EINVAL;
	if (!f->set) {
		int64_t deadline = cur->deadline;
		if (timeout_ns >= 0) {
			int64_t d = urt__deadline_abs(timeout_ns);
			if (d < deadline)
				deadline = d;
		}
		struct urt__waiter w = {.task = cur};
		urt__list_add_tail(&f->waiters, &w.link);
		int r = urt__wait_user(deadline);
		if (urt__list_linked(&w.link))
			urt__list_del(&w.link);
		if (r < 0)
			return r;
	}
	if (value)
		*value = f->value;
	return f->res;
}

bool urt_future_done(const urt_future *f)
{
	return f && f->set;
}
