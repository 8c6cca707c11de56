/* SPDX-License-Identifier: MIT */
/*
 * Sync primitives and queues for tasks of one loop: mutex, semaphore,
 * event, condition variable and a bounded FIFO queue (asyncio.Queue). Pure
 * user space: no syscall, no allocation on any wait or wake (the queue's
 * ring is allocated once by urt_queue_init).
 *
 * Fairness is by hand-off: whoever releases a resource grants it to the
 * first waiter directly (the lock's ownership, a permit, a queue item),
 * so a task arriving later can never barge past one already waiting.
 *
 * A grant and a cancellation (or timeout) can cross: the waiter was
 * granted, then cancelled before it ran. The grant wins, as an op's real
 * result wins over a late cancel: the call succeeds and the cancellation
 * stays pending for the task's next suspension point. A waiter that was not
 * granted unlinks itself, leaving no trace in the wait list.
 */
#include <errno.h>
#include <stdlib.h>

#include "core/core.h"
#include "core/ring_index.h"

struct sync_waiter {
	struct urt__waiter w;
	bool granted;
	void *item; /* queues: the item handed over (get) or waiting to go in (put) */
};

/* Queue w on list l and wait until it is granted, woken otherwise (0,
   not granted: the primitive was closed), cancelled or timed out. */
static int wait_on(struct urt_list *l, struct sync_waiter *w, urt_task *t, int64_t timeout_ns)
{
	w->w.task = t;
	w->granted = false;
	int r = urt__wait_on(l, &w->w, urt__wait_deadline(t, timeout_ns));
	if (w->granted) {
		if (r == -ECANCELED)
			urt__cancel_rearm(t); /* seen at the next suspension point */
		return 0;
	}
	return r;
}

/* Grant the first waiter of l (unlinking it); returns it, or NULL. */
static struct sync_waiter *grant_first(struct urt_list *l)
{
	if (urt__list_empty(l))
		return NULL;
	struct sync_waiter *w = urt__container_of(urt__list_first(l), struct sync_waiter, w.link);
	urt__list_del(&w->w.link);
	w->granted = true;
	urt__wake(w->w.task, 0);
	return w;
}

/* Wake every waiter of l, granted or not. */
static void wake_all(struct urt_list *l, bool granted)
{
	while (!urt__list_empty(l)) {
		struct sync_waiter *w = urt__container_of(urt__list_first(l), struct sync_waiter, w.link);
		urt__list_del(&w->w.link);
		w->granted = granted;
		urt__wake(w->w.task, 0);
	}
}

/* ---------------------------------------------------------------------- */
/* Mutex                                                                   */

void urt_mutex_init(urt_mutex *m)
{
	m->owner = NULL;
	urt__list_init(&m->waiters);
}

int urt_mutex_lock(urt_mutex *m, int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (!m)
		return -EINVAL;
	if (!m->owner) {
		m->owner = t;
		return 0;
	}
	if (m->owner == t)
		return -EDEADLK;
	struct sync_waiter w;
	return wait_on(&m->waiters, &w, t, timeout_ns); /* granted: unlock made us owner */
}

int urt_mutex_try_lock(urt_mutex *m)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (!m)
		return -EINVAL;
	if (m->owner)
		return m->owner == t ? -EDEADLK : -EBUSY;
	m->owner = t;
	return 0;
}

int urt_mutex_unlock(urt_mutex *m)
{
	if (!m)
		return -EINVAL;
	if (!m->owner || m->owner != urt__cur())
		return -EPERM;
	struct sync_waiter *w = grant_first(&m->waiters);
	m->owner = w ? w->w.task : NULL;
	return 0;
}

bool urt_mutex_locked(const urt_mutex *m)
{
	return m && m->owner;
}

/* Lock m ignoring cancellation and deadlines (a condition variable must
   give the lock back to its caller whatever happened); a cancellation that
   arrives meanwhile stays pending, and the waiter keeps its place in the
   FIFO. Gives up with -EDEADLK only if the loop finds every task blocked
   (the lock can never come back, e.g. its owner ended holding it). */
static int mutex_lock_shielded(urt_mutex *m, urt_task *t)
{
	if (!m->owner) {
		m->owner = t;
		return 0;
	}
	struct sync_waiter w = {.w.task = t};
	urt__list_add_tail(&m->waiters, &w.w.link);
	bool cancelled = false;
	uint64_t deadlocks = urt__L->deadlocks;
	int rc = 0;
	while (!w.granted) {
		if (urt__wait_user(URT__NO_DEADLINE) == -ECANCELED)
			cancelled = true;
		if (!w.granted && urt__L->deadlocks != deadlocks) {
			urt__list_del(&w.w.link);
			rc = -EDEADLK;
			break;
		}
	}
	if (cancelled)
		urt__cancel_rearm(t);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Semaphore                                                               */

void urt_sem_init(urt_sem *s, unsigned value)
{
	s->value = value;
	urt__list_init(&s->waiters);
}

int urt_sem_acquire(urt_sem *s, int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (!s)
		return -EINVAL;
	if (s->value > 0) { /* waiters exist only while value == 0 */
		s->value--;
		return 0;
	}
	struct sync_waiter w;
	return wait_on(&s->waiters, &w, t, timeout_ns);
}

int urt_sem_try_acquire(urt_sem *s)
{
	if (!s)
		return -EINVAL;
	if (s->value == 0)
		return -EAGAIN;
	s->value--;
	return 0;
}

int urt_sem_release(urt_sem *s)
{
	if (!s)
		return -EINVAL;
	if (!grant_first(&s->waiters)) {
		if (s->value == UINT32_MAX)
			return -EOVERFLOW;
		s->value++;
	}
	return 0;
}

unsigned urt_sem_value(const urt_sem *s)
{
	return s ? s->value : 0;
}

/* ---------------------------------------------------------------------- */
/* Event                                                                   */

void urt_event_init(urt_event *e)
{
	e->set = false;
	urt__list_init(&e->waiters);
}

void urt_event_set(urt_event *e)
{
	if (!e || e->set)
		return;
	e->set = true;
	wake_all(&e->waiters, true);
}

void urt_event_clear(urt_event *e)
{
	if (e)
		e->set = false;
}

bool urt_event_is_set(const urt_event *e)
{
	return e && e->set;
}

int urt_event_wait(urt_event *e, int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (!e)
		return -EINVAL;
	if (e->set)
		return 0;
	struct sync_waiter w;
	return wait_on(&e->waiters, &w, t, timeout_ns);
}

/* ---------------------------------------------------------------------- */
/* Condition variable                                                      */

void urt_cond_init(urt_cond *c)
{
	urt__list_init(&c->waiters);
}

int urt_cond_wait(urt_cond *c, urt_mutex *m, int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (!c || !m)
		return -EINVAL;
	if (m->owner != t)
		return -EPERM;
	urt_mutex_unlock(m);
	struct sync_waiter w;
	int r = wait_on(&c->waiters, &w, t, timeout_ns);
	int l = mutex_lock_shielded(m, t);
	return l ? l : r;
}

void urt_cond_signal(urt_cond *c)
{
	if (c)
		grant_first(&c->waiters);
}

void urt_cond_broadcast(urt_cond *c)
{
	if (c)
		wake_all(&c->waiters, true);
}

/* ---------------------------------------------------------------------- */
/* Queue                                                                   */

int urt_queue_init(urt_queue *q, size_t cap)
{
	if (!q || cap == 0 || cap > SIZE_MAX / sizeof(void *))
		return -EINVAL;
	q->items = malloc(cap * sizeof *q->items);
	if (!q->items)
		return -ENOMEM;
	q->cap = cap;
	q->head = q->len = 0;
	q->unfinished = 0;
	q->closed = false;
	urt__list_init(&q->getters);
	urt__list_init(&q->putters);
	urt__list_init(&q->joiners);
	return 0;
}

void urt_queue_destroy(urt_queue *q)
{
	if (!q)
		return;
	free(q->items);
	q->items = NULL;
	q->cap = q->len = 0;
}

static void q_push(urt_queue *q, void *item)
{
	q->items[urt__ring_at(q->head, q->len++, q->cap)] = item;
	q->unfinished++;
}

static void *q_pop(urt_queue *q)
{
	void *item = q->items[q->head];
	q->head = urt__ring_next(q->head, q->cap);
	q->len--;
	return item;
}

/* The item could go in without waiting: straight to a waiting getter, or
   into the ring. False if the queue is full. */
static bool put_now(urt_queue *q, void *item)
{
	if (!urt__list_empty(&q->getters)) { /* the ring is empty: hand it over */
		q->unfinished++;
		grant_first(&q->getters)->item = item;
		return true;
	}
	if (q->len == q->cap)
		return false;
	q_push(q, item);
	return true;
}

int urt_queue_put(urt_queue *q, void *item, int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (!q || !q->items)
		return -EINVAL;
	if (q->closed)
		return -EPIPE;
	if (urt__list_empty(&q->putters) && put_now(q, item))
		return 0;
	struct sync_waiter w = {.item = item};
	int r = wait_on(&q->putters, &w, t, timeout_ns);
	if (r == 0 && !w.granted)
		r = -EPIPE; /* closed while we waited */
	return r;
}

int urt_queue_try_put(urt_queue *q, void *item)
{
	if (!q || !q->items)
		return -EINVAL;
	if (q->closed)
		return -EPIPE;
	if (urt__list_empty(&q->putters) && put_now(q, item))
		return 0;
	return -EAGAIN;
}

/* Take the head item, then let the first waiting putter's item in. */
static void *get_now(urt_queue *q)
{
	void *item = q_pop(q);
	if (!urt__list_empty(&q->putters)) {
		struct sync_waiter *w = urt__container_of(urt__list_first(&q->putters),
							  struct sync_waiter, w.link);
		q_push(q, w->item);
		grant_first(&q->putters);
	}
	return item;
}

int urt_queue_get(urt_queue *q, void **item, int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (!q || !q->items || !item)
		return -EINVAL;
	if (q->len) {
		*item = get_now(q);
		return 0;
	}
	if (q->closed)
		return -EPIPE;
	struct sync_waiter w = {.item = NULL};
	int r = wait_on(&q->getters, &w, t, timeout_ns);
	if (r == 0 && !w.granted)
		return -EPIPE; /* closed and drained */
	if (r == 0)
		*item = w.item;
	return r;
}

int urt_queue_try_get(urt_queue *q, void **item)
{
	if (!q || !q->items || !item)
		return -EINVAL;
	if (q->len) {
		*item = get_now(q);
		return 0;
	}
	return q->closed ? -EPIPE : -EAGAIN;
}

int urt_queue_task_done(urt_queue *q)
{
	if (!q || !q->items)
		return -EINVAL;
	if (q->unfinished == 0)
		return -EINVAL; /* more task_done calls than items */
	if (--q->unfinished == 0)
		wake_all(&q->joiners, true);
	return 0;
}

int urt_queue_join(urt_queue *q, int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (!q || !q->items)
		return -EINVAL;
	if (q->unfinished == 0)
		return 0;
	struct sync_waiter w;
	return wait_on(&q->joiners, &w, t, timeout_ns);
}

void urt_queue_close(urt_queue *q)
{
	if (!q || q->closed)
		return;
	q->closed = true;
	wake_all(&q->putters, false); /* their items never went in: -EPIPE */
	if (q->len == 0)
		wake_all(&q->getters, false); /* end of stream */
}

size_t urt_queue_len(const urt_queue *q)
{
	return q ? q->len : 0;
}
