/* SPDX-License-Identifier: MIT */
/*
 * Multishot accept: one armed accept request per listening socket (the
 * backend's accept_multi: io_uring's IORING_OP_ACCEPT), whose completions
 * (one per connection) fill a queue that tasks drain with
 * urt_acceptor_accept. The request belongs to the acceptor, not to a task,
 * so a waiting task that is cancelled or times out leaves it armed; only
 * urt_acceptor_free (or a cancel by fd from urt_sock_close) ends it, and
 * the object lives until the request's last completion (io/multishot.h).
 * Where the backend has no multishot accept (epoll), each call is a plain
 * urt_accept.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ring_index.h"
#include "io/multishot.h"

struct urt_acceptor {
	struct urt__mshot s; /* first: its m is the multishot record */
	int flags;
	int err;         /* an accept error not yet handed to a task */
	int *q;          /* accepted fds not yet taken: ring buffer */
	unsigned qhead, qlen, qcap;
	struct urt_list waiters; /* struct acc_waiter.w.link, FIFO */
};

struct acc_waiter {
	struct urt__waiter w;
	int res; /* 0: not woken; 1: look again; < 0: an error handed to this waiter */
};

static int q_push(urt_acceptor *a, int fd)
{
	if (a->qlen == a->qcap) {
		unsigned cap = a->qcap ? 2 * a->qcap : 16;
		int *q = malloc(cap * sizeof *q);
		if (!q)
			return -ENOMEM;
		for (unsigned i = 0; i < a->qlen; i++)
			q[i] = a->q[urt__ring_at(a->qhead, i, a->qcap)];
		free(a->q);
		a->q = q;
		a->qhead = 0;
		a->qcap = cap;
	}
	a->q[urt__ring_at(a->qhead, a->qlen++, a->qcap)] = fd;
	return 0;
}

static int q_pop(urt_acceptor *a)
{
	int fd = a->q[a->qhead];
	a->qhead = (unsigned)urt__ring_next(a->qhead, a->qcap);
	a->qlen--;
	return fd;
}

/* Wake the first waiter (unlinking it, so the next event wakes the next
   one), handing it res. */
static void wake_one(urt_acceptor *a, int res)
{
	if (urt__list_empty(&a->waiters))
		return;
	struct acc_waiter *w = urt__container_of(urt__list_first(&a->waiters), struct acc_waiter, w.link);
	urt__list_del(&w->w.link);
	w->res = res;
	urt__wake(w->w.task, 0);
}

static void destroy(struct urt__multi *m)
{
	urt_acceptor *a = urt__container_of(m, urt_acceptor, s.m);
	while (a->qlen)
		close(q_pop(a));
	urt__list_del(&a->s.m.link);
	free(a->q);
	free(a);
}

static void on_cqe(struct urt__multi *m, int res, unsigned flags)
{
	urt_acceptor *a = urt__container_of(m, urt_acceptor, s.m);
	bool refused;
	bool more = urt__mshot_cqe(&a->s, res, flags, &refused);
	if (a->s.orphan) {
		if (res >= 0)
			close(res); /* accepted while the cancel was on its way */
		if (urt__mshot_gone(&a->s))
			destroy(m);
		return;
	}
	if (res >= 0) {
		a->s.ever_ok = true;
		if (q_push(a, res) < 0)
			close(res); /* out of memory: drop this connection, not the server */
		else
			wake_one(a, 1);
	} else if (refused) {
		/* no multishot accept in this kernel: the waiters fall back */
	} else if (res == -ECANCELED && !more) {
		/* cancelled by fd (urt_sock_close): every waiter gets it, as
		   every pending urt_accept would */
		while (!urt__list_empty(&a->waiters))
			wake_one(a, -ECANCELED);
	} else if (!urt__list_empty(&a->waiters)) {
		wake_one(a, res);
	} else if (!a->err) {
		a->err = res;
	}
	if (!more) /* the others re-arm or fall back */
		while (!urt__list_empty(&a->waiters))
			wake_one(a, 1);
}

int urt_acceptor_new(int fd, int flags, urt_acceptor **out)
{
	struct urt_loop *L = urt__L;
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!L)
		return -EPERM;
	if (fd < 0)
		return -EBADF;
	urt_acceptor *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->flags = flags;
	urt__list_init(&a->waiters);
	urt__mshot_init(&a->s, L, fd, L->be->accept_multi, on_cqe, destroy);
	*out = a;
	return 0;
}

static void arm(urt_acceptor *a)
{
	urt__L->be->accept_multi(&a->s.m, a->s.fd, a->flags);
	a->s.armed = true;
}

static int accept_next(urt_acceptor *a, urt_task *t);

int urt_acceptor_accept(urt_acceptor *a)
{
	if (!a)
		return -EINVAL;
	int r = urt__op_check();
	if (r)
		return r;
	/* a stays alive while a task is in here, even if it is freed meanwhile */
	a->s.busy++;
	r = accept_next(a, urt__L->current);
	a->s.busy--;
	if (urt__mshot_gone(&a->s))
		destroy(&a->s.m);
	return r;
}

static int accept_next(urt_acceptor *a, urt_task *t)
{
	int r;
	for (;;) {
		if (a->s.orphan)
			return -ECANCELED; /* freed by urt_acceptor_free */
		if (a->qlen)
			return q_pop(a);
		if (a->err) {
			r = a->err;
			a->err = 0;
			return r;
		}
		if (a->s.fallback)
			return urt_accept(a->s.fd, NULL, NULL, a->flags);
		if (!a->s.armed)
			arm(a);
		/* res 0: not woken; wake_one hands 1 (look again) or an error */
		struct acc_waiter w = {.w.task = t, .res = 0};
		r = urt__wait_on(&a->waiters, &w.w, t->deadline);
		bool woken = w.res != 0;
		if (w.res < 0) {
			/* handed an error, then maybe cancelled before we ran: the
			   error is ours to report and the cancellation stays
			   pending (unless the error is -ECANCELED itself: the free
			   or urt_sock_close of the listener; that delivers it) */
			if (r == -ECANCELED && w.res != -ECANCELED)
				urt__cancel_rearm(t);
			return w.res;
		}
		if (r < 0) {
			if (woken && a->qlen && !a->s.orphan)
				wake_one(a, 1); /* woken for a connection we will not take: pass it on */
			return r;
		}
	}
}

/*
 * Tasks waiting in urt_acceptor_accept are woken with -ECANCELED; the
 * object outlives them (and the request's last completion) and then frees
 * itself.
 */
void urt_acceptor_free(urt_acceptor *a)
{
	if (!a)
		return;
	while (a->qlen)
		close(q_pop(a));
	while (!urt__list_empty(&a->waiters))
		wake_one(a, -ECANCELED);
	bool armed = a->s.armed;
	urt__mshot_orphan(&a->s);
	if (!armed && a->s.busy) {
		/* tasks in a fallback urt_accept on the listener: cancel those
		   (by fd: they are the only ops a listening socket has) */
		urt__L->be->cancel_fd(urt__L, a->s.fd);
	} else if (urt__mshot_gone(&a->s)) {
		destroy(&a->s.m);
	}
}

void urt__multis_free_all(struct urt_loop *L)
{
	struct urt_list *pos, *tmp;
	urt__list_for_each_safe(pos, tmp, &L->multis) {
		struct urt__multi *m = urt__container_of(pos, struct urt__multi, link);
		m->destroy(m);
	}
}
