/* SPDX-License-Identifier: MIT */
/*
 * Cross-loop primitives: a future, an event, a semaphore and a queue that
 * tasks of different loops (and plain threads) share. Each has a mutex
 * and a list of struct urt__xwait (exec/xwait.h); a waker grants a waiter
 * under the mutex and delivers after unlocking, so a waiter on loop A
 * woken from loop B resumes on A, through A's remote queue (one doorbell,
 * MSG_RING or eventfd, per burst). The single-loop primitives (sync/sync.c,
 * sync/future.c) stay lock-free: these are separate types, so code that
 * stays on one loop pays nothing for them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/core.h"
#include "core/ring_index.h"
#include "exec/xwait.h"

/* ---- the shared head: every type starts with it ---- */

struct xhead {
	pthread_mutex_t mu;
	struct urt_list waiters; /* the queue's getters */
};

static void *xhead_new(size_t size)
{
	struct xhead *h = calloc(1, size);
	if (!h)
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	urt__list_init(&h->waiters);
	return h;
}

static void xhead_free(struct xhead *h)
{
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* ---- the shared wait ---- */

/* The caller holds *mu and has decided to wait on list l: link, unlock,
   wait, and settle. 0 when granted (then w->res, w->item say what came),
   else -ETIMEDOUT / -ECANCELED / -EPERM with w unlinked. */
static int xwait(pthread_mutex_t *mu, struct urt_list *l, struct urt__xwait *w, int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	int64_t deadline = t ? urt__wait_deadline(t, timeout_ns) : urt__deadline_abs(timeout_ns);
	if (t && urt__take_cancel(t)) {
		pthread_mutex_unlock(mu);
		return -ECANCELED;
	}
	urt__list_add_tail(l, &w->link);
	pthread_mutex_unlock(mu);
	int r = urt__xwait_block(w, deadline);
	if (r == 0)
		return 0;
	pthread_mutex_lock(mu);
	bool granted = w->granted;
	if (!granted)
		urt__list_del(&w->link);
	pthread_mutex_unlock(mu);
	if (!granted)
		return r;
	urt__xwait_settle(w); /* the grant came first: it wins */
	if (r == -ECANCELED && t)
		urt__cancel_rearm(t);
	return 0;
}

/* xwait with a record of its own that carries *item in (a put) and out
   (a get); timeout 0 is a try: -EAGAIN at once. */
static int xwait_item(pthread_mutex_t *mu, struct urt_list *l, int64_t timeout_ns, void **item)
{
	if (timeout_ns == 0) {
		pthread_mutex_unlock(mu);
		return -EAGAIN;
	}
	struct urt__xwait w;
	urt__xwait_init(&w);
	w.item = *item;
	int r = xwait(mu, l, &w, timeout_ns);
	if (r == 0)
		*item = w.item;
	return r;
}

/* Under the mutex: take the first waiter of l, granted (NULL if none). */
static struct urt__xwait *grant_first(struct urt_list *l)
{
	if (urt__list_empty(l))
		return NULL;
	struct urt__xwait *w = urt__container_of(urt__list_first(l), struct urt__xwait, link);
	urt__list_del(&w->link);
	w->granted = true;
	return w;
}

/* Under the mutex: grant every waiter of l, moved to a singly linked
   chain through node.next (delivered after unlocking: deliver_chain). */
static struct urt__xwait *grant_all(struct urt_list *l)
{
	struct urt__xwait *head = NULL, **tail = &head;
	struct urt__xwait *w;
	while ((w = grant_first(l)) != NULL) {
		w->node.next = NULL;
		*tail = w;
		tail = (struct urt__xwait **)&w->node.next;
	}
	return head;
}

static void deliver_chain(struct urt__xwait *w, int res)
{
	while (w) {
		struct urt__xwait *next = (struct urt__xwait *)w->node.next; /* before: w may go */
		urt__xwait_deliver(w, res);
		w = next;
	}
}

static bool may_wait(void)
{
	/* a task, or a thread that runs no loop (blocking a loop's thread
	   outside its tasks would stall every task of it) */
	return urt__cur() || !urt__L;
}

/* ---- future ---- */

struct urt_xfuture {
	struct xhead h;
	bool set;
	int res;
	void *value;
};

int urt_xfuture_new(urt_xfuture **out)
{
	if (!out)
		return -EINVAL;
	urt_xfuture *f = xhead_new(sizeof *f);
	if (!f)
		return -ENOMEM;
	*out = f;
	return 0;
}

void urt_xfuture_free(urt_xfuture *f)
{
	if (f)
		xhead_free(&f->h);
}

int urt_xfuture_set(urt_xfuture *f, int res, void *value)
{
	if (!f)
		return -EINVAL;
	pthread_mutex_lock(&f->h.mu);
	if (f->set) {
		pthread_mutex_unlock(&f->h.mu);
		return -EALREADY;
	}
	f->set = true;
	f->res = res;
	f->value = value;
	struct urt__xwait *all = grant_all(&f->h.waiters);
	pthread_mutex_unlock(&f->h.mu);
	deliver_chain(all, 0);
	return 0;
}

int urt_xfuture_wait(urt_xfuture *f, void **value, int64_t timeout_ns)
{
	if (!f)
		return -EINVAL;
	if (!may_wait())
		return -EPERM;
	pthread_mutex_lock(&f->h.mu);
	if (!f->set) {
		if (timeout_ns == 0) { /* a try, as xsem and xqueue */
			pthread_mutex_unlock(&f->h.mu);
			return -EAGAIN;
		}
		struct urt__xwait w;
		urt__xwait_init(&w);
		int r = xwait(&f->h.mu, &f->h.waiters, &w, timeout_ns);
		if (r < 0)
			return r;
		pthread_mutex_lock(&f->h.mu);
	}
	int res = f->res;
	if (value)
		*value = f->value;
	pthread_mutex_unlock(&f->h.mu);
	return res;
}

bool urt_xfuture_done(urt_xfuture *f)
{
	if (!f)
		return false;
	pthread_mutex_lock(&f->h.mu);
	bool set = f->set;
	pthread_mutex_unlock(&f->h.mu);
	return set;
}

/* ---- event ---- */

struct urt_xevent {
	struct xhead h;
	bool set;
};

int urt_xevent_new(urt_xevent **out)
{
	if (!out)
		return -EINVAL;
	urt_xevent *e = xhead_new(sizeof *e);
	if (!e)
		return -ENOMEM;
	*out = e;
	return 0;
}

void urt_xevent_free(urt_xevent *e)
{
	if (e)
		xhead_free(&e->h);
}

void urt_xevent_set(urt_xevent *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->h.mu);
	e->set = true;
	struct urt__xwait *all = grant_all(&e->h.waiters);
	pthread_mutex_unlock(&e->h.mu);
	deliver_chain(all, 0);
}

void urt_xevent_clear(urt_xevent *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->h.mu);
	e->set = false;
	pthread_mutex_unlock(&e->h.mu);
}

int urt_xevent_wait(urt_xevent *e, int64_t timeout_ns)
{
	if (!e)
		return -EINVAL;
	if (!may_wait())
		return -EPERM;
	pthread_mutex_lock(&e->h.mu);
	if (e->set || timeout_ns == 0) { /* timeout 0: a try, as xsem and xqueue */
		int r = e->set ? 0 : -EAGAIN;
		pthread_mutex_unlock(&e->h.mu);
		return r;
	}
	struct urt__xwait w;
	urt__xwait_init(&w);
	return xwait(&e->h.mu, &e->h.waiters, &w, timeout_ns);
}

/* ---- semaphore ---- */

struct urt_xsem {
	struct xhead h;
	unsigned count;
};

int urt_xsem_new(unsigned count, urt_xsem **out)
{
	if (!out)
		return -EINVAL;
	urt_xsem *s = xhead_new(sizeof *s);
	if (!s)
		return -ENOMEM;
	s->count = count;
	*out = s;
	return 0;
}

void urt_xsem_free(urt_xsem *s)
{
	if (s)
		xhead_free(&s->h);
}

int urt_xsem_acquire(urt_xsem *s, int64_t timeout_ns)
{
	if (!s)
		return -EINVAL;
	if (!may_wait())
		return -EPERM;
	pthread_mutex_lock(&s->h.mu);
	if (s->count > 0 && urt__list_empty(&s->h.waiters)) { /* FIFO: no overtaking */
		s->count--;
		pthread_mutex_unlock(&s->h.mu);
		return 0;
	}
	void *none = NULL;
	return xwait_item(&s->h.mu, &s->h.waiters, timeout_ns, &none); /* granted: the permit is ours */
}

int urt_xsem_release(urt_xsem *s)
{
	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->h.mu);
	struct urt__xwait *w = grant_first(&s->h.waiters); /* hand the permit over */
	if (!w) {
		if (s->count == UINT32_MAX) {
			pthread_mutex_unlock(&s->h.mu);
			return -EOVERFLOW;
		}
		s->count++;
	}
	pthread_mutex_unlock(&s->h.mu);
	if (w)
		urt__xwait_deliver(w, 0);
	return 0;
}

/* ---- queue ---- */

struct urt_xqueue {
	struct xhead h;          /* h.waiters: the getters */
	struct urt_list putters; /* they carry their item in w->item */
	void **ring;
	size_t cap, head, len;
};

int urt_xqueue_new(size_t cap, urt_xqueue **out)
{
	if (!out || cap == 0 || cap > ((size_t)1 << 40))
		return -EINVAL;
	urt_xqueue *q = xhead_new(sizeof *q);
	if (!q)
		return -ENOMEM;
	q->ring = malloc(cap * sizeof *q->ring);
	if (!q->ring) {
		xhead_free(&q->h);
		return -ENOMEM;
	}
	urt__list_init(&q->putters);
	q->cap = cap;
	*out = q;
	return 0;
}

void urt_xqueue_free(urt_xqueue *q)
{
	if (!q)
		return;
	free(q->ring);
	xhead_free(&q->h);
}

int urt_xqueue_put(urt_xqueue *q, void *item, int64_t timeout_ns)
{
	if (!q)
		return -EINVAL;
	if (!may_wait())
		return -EPERM;
	pthread_mutex_lock(&q->h.mu);
	struct urt__xwait *g = grant_first(&q->h.waiters); /* only when empty */
	if (g) {
		g->item = item;
		pthread_mutex_unlock(&q->h.mu);
		urt__xwait_deliver(g, 0);
		return 0;
	}
	if (q->len < q->cap && urt__list_empty(&q->putters)) {
		q->ring[urt__ring_at(q->head, q->len++, q->cap)] = item;
		pthread_mutex_unlock(&q->h.mu);
		return 0;
	}
	return xwait_item(&q->h.mu, &q->putters, timeout_ns, &item); /* granted: a getter took it */
}

int urt_xqueue_get(urt_xqueue *q, void **item, int64_t timeout_ns)
{
	if (!q)
		return -EINVAL;
	if (!may_wait())
		return -EPERM;
	pthread_mutex_lock(&q->h.mu);
	if (q->len) {
		void *it = q->ring[q->head];
		q->head = urt__ring_next(q->head, q->cap);
		q->len--;
		/* a slot is free: the first blocked putter's item goes in, in order */
		struct urt__xwait *p = grant_first(&q->putters);
		if (p)
			q->ring[urt__ring_at(q->head, q->len++, q->cap)] = p->item;
		pthread_mutex_unlock(&q->h.mu);
		if (p)
			urt__xwait_deliver(p, 0);
		if (item)
			*item = it;
		return 0;
	}
	void *it = NULL;
	int r = xwait_item(&q->h.mu, &q->h.waiters, timeout_ns, &it);
	if (r == 0 && item)
		*item = it;
	return r;
}

size_t urt_xqueue_len(urt_xqueue *q)
{
	if (!q)
		return 0;
	pthread_mutex_lock(&q->h.mu);
	size_t n = q->len;
	pthread_mutex_unlock(&q->h.mu);
	return n;
}
