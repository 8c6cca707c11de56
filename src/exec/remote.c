/* SPDX-License-Identifier: MIT */
/*
 * Work handed to a loop from other threads (asyncio's call_soon_threadsafe
 * and run_coroutine_threadsafe; seastar's alien::submit_to).
 *
 * A foreign thread pushes a record onto a lock-free stack and rings the
 * loop's eventfd only when the stack was empty, so a burst of submissions
 * costs one wake-up, not one per item. The loop keeps one read of that
 * eventfd armed in its ring; its CQE takes the whole stack, restores
 * submission order and spawns a task per record. The read is a
 * "background" request: no task waits on it, so it does not count as work
 * in flight (a loop with nothing else to do still ends).
 *
 * The doorbell is an eventfd for a foreign thread, which has no ring to
 * send from. A sender that is itself a loop of the same urt_run_loops
 * sends through its backend where both have a msg_ring (io_uring's
 * IORING_OP_MSG_RING; ring_doorbell, below):
 * bench/wakeup.c measured MSG_RING ~25% cheaper per round trip between
 * rings; it needs the sender's ring and falls back to the eventfd where the
 * kernel refuses it (urt__rt_no_msg_ring).
 *
 * The loop asks this file through struct urt__intake (core.h: L->intake),
 * not by name.
 *
 * A loop of urt_loop_new on io_uring is driven by a program that sleeps
 * in its own epoll_wait on urt_loop_fd (the eventfd the ring signals on
 * CQEs), and there the armed read is the wrong doorbell twice over
 * (issue 20): with DEFER_TASKRUN its completion is signalled from inside
 * the doorbell eventfd's own wake-up, where the kernel may not signal
 * another eventfd (eventfd_signal_allowed) and defers that to an RCU
 * callback, ~15 ms later; without it, the completion is task work that
 * interrupts the host's epoll_wait (EINTR). So such a loop keeps the read
 * armed only while it waits in the ring itself (urt_loop_run_until,
 * closing: the intake's wait_begin/_end) and leaves none behind; the
 * submitting thread also writes urt_loop_fd (urt__loop_kick), and
 * urt_loop_step takes the queue directly.
 *
 * Shutdown races are settled by a counter of submitters inside
 * urt_loop_submit: closing sets `closed`, waits for the counter to drain,
 * then takes what is left and runs it. So every submission either returns
 * -ESHUTDOWN or runs (one that arrives during shutdown starts with a
 * cancellation pending).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/futex.h"
#include "exec/exec.h"
#include "exec/xwait.h"

struct urt_remote {
	_Atomic int done;
	int result;
	_Atomic int refs; /* the waiter's and the loop's: the last frees it */
	const struct urt_loop *loop;
	pthread_mutex_t mu;          /* guards waiter */
	struct urt__xwait *waiter;   /* a task waiting in urt_remote_wait */
	urt_task *task;              /* the loop's thread only: the task while it lives */
};

struct item {
	struct urt__xnode node; /* first: kind URT__XN_SPAWN */
	int (*fn)(void *);
	void *arg;
	struct urt_remote *h;
};

/* The sender's record of a MSG_RING doorbell to one target loop (its
   CQE says whether the message arrived). */
struct sent {
	struct urt__multi m;
	struct urt__remote *target;
};

struct urt__remote {
	struct urt__multi m;
	struct urt_loop *loop;      /* whose queue this is */
	struct sent *sent;          /* MSG_RING doorbells sent from this loop, by
				       target index (thread-per-core; lazily) */
	unsigned nsent;
	int efd;
	uint64_t buf;               /* the armed read's target */
	bool armed;
	bool lazy;                  /* armed only while the loop waits in the ring
				       (urt_loop_new on io_uring; see above) */
	bool waiting;               /* lazy: between wait_begin and wait_end */
	bool ending;                /* the loop closes: never re-armed */
	_Atomic(struct urt__xnode *) head; /* submissions and wake-ups, newest first */
	_Atomic int users;          /* threads inside submit/stop */
	_Atomic bool closed;
};

static void handle_put(struct urt_remote *h)
{
	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) {
		pthread_mutex_destroy(&h->mu);
		free(h);
	}
}

static void complete(struct urt_remote *h, int res)
{
	if (!h)
		return;
	h->result = res;
	pthread_mutex_lock(&h->mu);
	atomic_store_explicit(&h->done, 1, memory_order_release);
	struct urt__xwait *w = h->waiter;
	h->waiter = NULL;
	pthread_mutex_unlock(&h->mu);
	if (w)
		urt__xwait_deliver(w, 0); /* a task of some loop waits */
	else
		urt__futex_wake_one(&h->done);
	handle_put(h);
}

static int remote_entry(void *arg)
{
	struct item *it = arg;
	return it->fn(it->arg);
}

/* The task ended (ran, or was cancelled before it started). */
static void remote_end(struct urt__waiter *w, urt_task *t)
{
	(void)w;
	struct item *it = t->arg;
	if (it->h)
		it->h->task = NULL;
	complete(it->h, t->result);
	free(it);
}

static void arm(struct urt__remote *rq)
{
	urt__watch(&rq->m, rq->efd, &rq->buf, sizeof rq->buf, true);
	rq->armed = true;
}

/* Should the doorbell read be armed now? */
static bool want_armed(const struct urt__remote *rq)
{
	if (!rq->loop->remote_enabled || rq->ending)
		return false;
	return !rq->lazy || rq->waiting;
}

/* Take every queued record, oldest first, and spawn each. During shutdown
   it still runs, with a cancellation pending (its first suspension point
   returns -ECANCELED): a submission the loop accepted always runs. */
static void drain(struct urt__remote *rq)
{
	struct urt__xnode *n = atomic_exchange_explicit(&rq->head, NULL, memory_order_acquire);
	struct urt__xnode *fifo = NULL;
	while (n) { /* the stack is newest first */
		struct urt__xnode *next = n->next;
		n->next = fifo;
		fifo = n;
		n = next;
	}
	for (n = fifo; n; n = fifo) {
		fifo = n->next; /* before n is handed on: a woken task's stack frees it */
		if (n->kind == URT__XN_WAKE) {
			urt__xwait_arrived(n);
			continue;
		}
		struct item *it = (struct item *)n;
		struct urt_spawn_attr a = {.detached = true};
		urt_task *t = urt_spawn_attr(&a, remote_entry, it);
		if (it->h)
			it->h->task = t;
		if (t) {
			urt__task_on_end(t, remote_end);
			t->start_anyway = true;
		} else {
			complete(it->h, -errno); /* -ENOMEM, -EAGAIN (max_tasks) */
			free(it);
		}
	}
}

static void on_cqe(struct urt__multi *m, int res, unsigned flags)
{
	(void)flags;
	struct urt__remote *rq = urt__container_of(m, struct urt__remote, m);
	if (res == URT__MSG_RING_RES) { /* a MSG_RING doorbell: the read stays armed */
		drain(rq);
		return;
	}
	rq->armed = false;
	drain(rq);
	if (want_armed(rq))
		arm(rq);
}

static void remote_close(struct urt_loop *L);
static void remote_free(struct urt_loop *L);
static const struct urt__intake intake;

int urt__remote_init(struct urt_loop *L)
{
	struct urt__remote *rq = calloc(1, sizeof *rq);
	if (!rq)
		return -ENOMEM;
	rq->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rq->efd < 0) {
		int e = -errno;
		free(rq);
		return e;
	}
	rq->m.on_cqe = on_cqe;
	urt__list_init(&rq->m.link);
	rq->loop = L;
	rq->lazy = L->embedded && L->be->watch_in_kernel;
	L->remote = rq;
	L->intake = &intake;
	urt__close_hook_add(L, remote_close, URT__CLOSE_STOP_INTAKE);
	urt__close_hook_add(L, remote_free, URT__CLOSE_FDS);
	return 0;
}

/* Other threads may submit from now on (loop thread only). */
void urt__remote_enable(struct urt_loop *L)
{
	L->remote_enabled = true;
	if (!L->remote->armed && !atomic_load(&L->remote->closed) && want_armed(L->remote))
		arm(L->remote);
}

urt_loop *urt_loop_current(void)
{
	struct urt_loop *L = urt__L;
	if (L)
		urt__remote_enable(L); /* the handle may go to other threads */
	return L;
}

static bool remote_pending(struct urt_loop *L)
{
	return atomic_load_explicit(&L->remote->head, memory_order_acquire) != NULL;
}

/* urt_loop_step: what other threads queued, without a ring round trip
   (a lazy loop has no read armed between its waits). */
static void remote_take(struct urt_loop *L)
{
	if (remote_pending(L))
		drain(L->remote);
}

/*
 * Leave no doorbell read in the kernel: complete it by ringing the doorbell
 * ourselves and reap its CQE (on_cqe does not re-arm it: !want_armed). A
 * read left armed would complete later as task work for this thread: on a
 * ring without DEFER_TASKRUN that interrupts whatever the thread sleeps in
 * then (EINTR in the host's epoll_wait), and the ring's exit, cancelling
 * it, does the same. io_uring only: epoll's watch is an entry in the
 * loop's own epoll set.
 */
static void disarm(struct urt_loop *L)
{
	struct urt__remote *rq = L->remote;
	if (!rq->armed || !L->be->watch_in_kernel)
		return;
	uint64_t one = 1;
	ssize_t n = write(rq->efd, &one, sizeof one);
	(void)n; /* EAGAIN only near 2^64: the read completes anyway */
	do
		urt__loop_wait_once(L); /* submits the read too, if only prepared */
	while (rq->armed);
}

static void remote_wait_begin(struct urt_loop *L)
{
	struct urt__remote *rq = L->remote;
	if (!rq->lazy)
		return;
	rq->waiting = true;
	if (!rq->armed && want_armed(rq))
		arm(rq);
}

static void remote_wait_end(struct urt_loop *L)
{
	struct urt__remote *rq = L->remote;
	if (!rq->lazy)
		return;
	rq->waiting = false;
	disarm(L);
}

/* The loop's tasks have ended: refuse new submissions and spawn the
   queued ones (the caller runs the loop until they have ended too; see
   close_remote in core/loop.c). Idempotent: the close hook below finds it
   done. Before the ring goes (its read still targets rq->buf). */
static void remote_stop_intake(struct urt_loop *L)
{
	struct urt__remote *rq = L->remote;
	if (atomic_load(&rq->closed))
		return;
	atomic_store_explicit(&L->closing, true, memory_order_relaxed);
	atomic_store(&rq->closed, true);
	while (atomic_load(&rq->users)) /* submitters between check and push */
		sched_yield();
	drain(rq);
}

/* The loop's tasks have all ended (the ring still exists). */
static void remote_close(struct urt_loop *L)
{
	remote_stop_intake(L);
	L->remote->ending = true;
	disarm(L);
}

/* After the ring is gone. The record itself stays until the loop's last
   reference goes: other threads may still look at `closed`. */
static void remote_free(struct urt_loop *L)
{
	close(L->remote->efd); /* no submitter can write to it any more */
	L->remote->efd = -1;
	free(L->remote->sent); /* the ring is gone: no CQE names them any more */
	L->remote->sent = NULL;
	L->remote->nsent = 0;
}

/* Enter a foreign-thread call: false (and left) when the loop is closed. */
static bool enter(struct urt__remote *rq)
{
	atomic_fetch_add(&rq->users, 1);
	if (atomic_load(&rq->closed)) {
		atomic_fetch_sub(&rq->users, 1);
		return false;
	}
	return true;
}

/* Wake rq's loop from any thread (the caller counts in `users`): its
   doorbell read in the ring, and urt_loop_fd for a program asleep on it. */
static void ring_eventfd(struct urt__remote *rq)
{
	uint64_t one = 1;
	ssize_t n = write(rq->efd, &one, sizeof one);
	(void)n; /* EAGAIN only near 2^64: a wake is pending anyway */
	urt__loop_kick(rq->loop);
}

/* The sender's CQE of a MSG_RING doorbell. Failed (the target's CQ full,
   a kernel without it): ring the target's eventfd instead, unless it has
   closed (then nobody waits there). */
static void sent_cqe(struct urt__multi *m, int res, unsigned flags)
{
	(void)flags;
	if (res >= 0)
		return;
	struct sent *d = urt__container_of(m, struct sent, m);
	if (res == -EINVAL || res == -EOPNOTSUPP || res == -EBADFD)
		urt__rt_no_msg_ring(urt__L->rt);
	if (enter(d->target)) {
		ring_eventfd(d->target);
		atomic_fetch_sub(&d->target->users, 1);
	}
}

/* The sender loop's record for doorbells to T (made on first use). */
static struct sent *sent_to(struct urt_loop *S, struct urt_loop *T)
{
	struct urt__remote *rq = S->remote;
	if (!rq->sent) {
		unsigned n = urt_loops_count();
		rq->sent = calloc(n, sizeof *rq->sent);
		if (!rq->sent)
			return NULL;
		rq->nsent = n;
		for (unsigned i = 0; i < n; i++)
			rq->sent[i].m.on_cqe = sent_cqe;
	}
	if (T->rt_index >= rq->nsent)
		return NULL;
	struct sent *d = &rq->sent[T->rt_index];
	d->target = T->remote;
	return d;
}

/*
 * Wake rq's loop. From a loop of the same
 * thread-per-core runtime, both on io_uring: an IORING_OP_MSG_RING from
 * the sender's ring, which posts a CQE straight into the target's ring
 * (the target reaps it with its other CQEs and re-arms no read). Else,
 * and as its fallback: the eventfd. bench/xloop.c measures the two.
 *
 * The message is submitted at once, while the sender still counts in the
 * target's `users`: once a node is on the stack the target may take it
 * (any CQE of its remote queue drains everything, urt_loop_stop's
 * included), finish and close, and its ring fd must not be gone or reused
 * when the message names it. Waiting for the sender's next enter instead
 * would batch the message with its other SQEs but leave that window open.
 */
static void ring_doorbell(struct urt__remote *rq)
{
	struct urt_loop *S = urt__L, *T = rq->loop;
	if (S && S != T && S->rt && S->rt == T->rt && urt__rt_msg_ring(S->rt) &&
	    S->be->msg_ring && S->be == T->be && S->remote) {
		struct sent *d = sent_to(S, T);
		if (d) {
			S->be->msg_ring(T, &rq->m, &d->m, true);
			return;
		}
	}
	ring_eventfd(rq);
}

/* Push n onto rq's stack; the first of a burst rings the doorbell. */
static void push(struct urt__remote *rq, struct urt__xnode *n)
{
	struct urt__xnode *old = atomic_load_explicit(&rq->head, memory_order_relaxed);
	do {
		n->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&rq->head, &old, n, memory_order_release,
							memory_order_relaxed));
	if (!old) /* first of a burst: wake the loop */
		ring_doorbell(rq); /* (n may be gone already: not looked at) */
}

int urt_loop_submit(urt_loop *L, int (*fn)(void *), void *arg, urt_remote **out)
{
	if (out)
		*out = NULL;
	if (!L || !fn)
		return -EINVAL;
	struct item *it = malloc(sizeof *it);
	struct urt_remote *h = out ? malloc(sizeof *h) : NULL;
	if (!it || (out && !h)) {
		free(it);
		free(h);
		return -ENOMEM;
	}
	*it = (struct item){.node.kind = URT__XN_SPAWN, .fn = fn, .arg = arg, .h = h};
	if (h) {
		atomic_init(&h->done, 0);
		atomic_init(&h->refs, 2);
		h->result = 0;
		h->loop = L;
		h->waiter = NULL;
		h->task = NULL;
		pthread_mutex_init(&h->mu, NULL);
	}
	struct urt__remote *rq = L->remote;
	if (!rq || !enter(rq)) {
		free(it);
		free(h);
		return -ESHUTDOWN;
	}
	push(rq, &it->node);
	atomic_fetch_sub(&rq->users, 1);
	if (out)
		*out = h;
	return 0;
}

/* A task waits for h: suspend it (any loop, h's own included) until the
   task behind h ends. A cancelled or timed-out wait leaves h to be waited
   for again. */
static int task_wait(urt_remote *h, int *result)
{
	struct urt__xwait w;
	urt__xwait_init(&w);
	pthread_mutex_lock(&h->mu);
	bool done = atomic_load_explicit(&h->done, memory_order_acquire);
	if (!done) {
		if (h->waiter) {
			pthread_mutex_unlock(&h->mu);
			return -EBUSY; /* one waiter per handle */
		}
		/* w lives on this task's stack until it is granted or taken
		   back below, before the return (the style's intrusive waiter) */
		/* cppcheck-suppress autoVariables */
		h->waiter = &w;
	}
	pthread_mutex_unlock(&h->mu);
	if (!done) {
		int r = urt__xwait_block(&w, urt__L->current->deadline);
		if (r < 0) {
			pthread_mutex_lock(&h->mu);
			bool granted = h->waiter != &w;
			if (!granted)
				h->waiter = NULL;
			pthread_mutex_unlock(&h->mu);
			if (!granted)
				return r;
			urt__xwait_settle(&w); /* it ended meanwhile: that wins */
		}
	}
	if (result)
		*result = h->result;
	handle_put(h);
	return 0;
}

int urt_remote_wait(urt_remote *h, int *result)
{
	if (!h)
		return -EINVAL;
	if (urt__cur())
		return task_wait(h, result);
	if (urt__L && urt__L == h->loop && !atomic_load_explicit(&h->done, memory_order_acquire))
		return -EDEADLK; /* blocking the loop that has to run it */
	while (!atomic_load_explicit(&h->done, memory_order_acquire))
		urt__futex_wait(&h->done, 0, NULL);
	if (result)
		*result = h->result;
	handle_put(h);
	return 0;
}

/* Runs on the handle's loop: h->task is only touched there. */
static int cancel_on_loop(void *arg)
{
	struct urt_remote *h = arg;
	if (!atomic_load_explicit(&h->done, memory_order_acquire) && h->task)
		urt_cancel(h->task);
	handle_put(h);
	return 0;
}

int urt_remote_cancel(urt_remote *h)
{
	if (!h)
		return -EINVAL;
	if (atomic_load_explicit(&h->done, memory_order_acquire))
		return -EALREADY;
	atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed); /* the request's */
	int r = urt_loop_submit((urt_loop *)h->loop, cancel_on_loop, h, NULL);
	if (r < 0)
		handle_put(h);
	return r;
}

/* ---- wake-ups from other loops and threads (exec/xwait.h) ---- */

void urt__remote_push_wake(struct urt_loop *L, struct urt__xnode *n)
{
	struct urt__remote *rq = L->remote;
	n->kind = URT__XN_WAKE;
	/* No check of `closed`: a loop with a task still waiting has not closed
	   its intake (it closes after its tasks end). But counted in `users`:
	   once the node is on the stack the loop may deliver it, the waiter
	   leave and the loop close, and remote_close must not close the
	   eventfd before our doorbell write below is done. */
	atomic_fetch_add(&rq->users, 1);
	push(rq, n);
	atomic_fetch_sub(&rq->users, 1);
}

void urt__xwait_init(struct urt__xwait *w)
{
	struct urt_loop *L = urt__L;
	urt_task *t = urt__cur();
	w->loop = t ? L : NULL;
	w->task = t;
	w->item = NULL;
	w->res = 0;
	w->granted = false;
	atomic_init(&w->delivered, 0);
	urt__list_init(&w->link);
	if (t)
		urt__remote_enable(L); /* a wake-up may come from another thread */
}

int urt__xwait_block(struct urt__xwait *w, int64_t deadline)
{
	if (w->loop) {
		int rc = 0;
		w->loop->xwaiting++; /* another thread may wake it: no deadlock */
		while (!atomic_load_explicit(&w->delivered, memory_order_acquire)) {
			int r = urt__wait_user(deadline);
			if (r < 0 && !atomic_load_explicit(&w->delivered, memory_order_acquire)) {
				rc = r;
				break;
			}
			if (r == -ECANCELED)
				urt__cancel_rearm(w->task); /* delivered as well: the grant wins */
		}
		w->loop->xwaiting--;
		return rc;
	}
	/* a plain thread: futex on `delivered` */
	while (!atomic_load_explicit(&w->delivered, memory_order_acquire)) {
		struct timespec ts, *tp = NULL;
		if (deadline != URT__NO_DEADLINE) {
			int64_t left = deadline - urt__now();
			if (left <= 0)
				return -ETIMEDOUT;
			ts.tv_sec = left / URT_NS_PER_SEC;
			ts.tv_nsec = left % URT_NS_PER_SEC;
			tp = &ts;
		}
		urt__futex_wait(&w->delivered, 0, tp);
	}
	return 0;
}

void urt__xwait_settle(struct urt__xwait *w)
{
	bool cancelled = false;
	if (w->loop)
		w->loop->xwaiting++; /* the delivery is on its way */
	while (!atomic_load_explicit(&w->delivered, memory_order_acquire)) {
		if (!w->loop) {
			urt__futex_wait(&w->delivered, 0, NULL);
			continue;
		}
		if (urt__wait_user(URT__NO_DEADLINE) == -ECANCELED)
			cancelled = true;
	}
	if (w->loop)
		w->loop->xwaiting--;
	if (cancelled)
		urt__cancel_rearm(w->task);
}

void urt__xwait_deliver(struct urt__xwait *w, int res)
{
	w->res = res;
	if (!w->loop) {
		atomic_store_explicit(&w->delivered, 1, memory_order_release);
		urt__futex_wake_one(&w->delivered);
	} else if (w->loop == urt__L) {
		atomic_store_explicit(&w->delivered, 1, memory_order_release);
		urt__wake(w->task, 0); /* our own loop: no queue */
	} else {
		urt__remote_push_wake(w->loop, &w->node);
	}
}

void urt__xwait_arrived(struct urt__xnode *n)
{
	struct urt__xwait *w = (struct urt__xwait *)n;
	urt_task *t = w->task;
	atomic_store_explicit(&w->delivered, 1, memory_order_release);
	urt__wake(t, 0); /* (not waiting any more, e.g. timed out: it looks at delivered) */
}

static unsigned remote_unref(struct urt_loop *L)
{
	struct urt__remote *rq = L->remote;
	/* Entered while our reference still keeps L valid; inside, the loop
	   cannot finish closing (remote_close waits for us), so its owner's
	   reference keeps it valid after our decrement too. */
	bool in = rq && enter(rq);
	unsigned prev = atomic_fetch_sub_explicit(&L->refs, 1, memory_order_acq_rel);
	if (in) {
		if (prev == 2) /* only the owner's is left: no thread may submit now */
			ring_eventfd(rq);
		atomic_fetch_sub(&rq->users, 1);
	}
	return prev;
}

int urt_loop_stop(urt_loop *L)
{
	if (!L)
		return -EINVAL;
	struct urt__remote *rq = L->remote;
	if (!rq || !enter(rq))
		return -ESHUTDOWN;
	/* under urt_run a stop is a shutdown: new work should go elsewhere
	   (an embedded loop only returns from its step, and stays open) */
	if (!L->embedded)
		atomic_store_explicit(&L->closing, true, memory_order_relaxed);
	atomic_store(&L->stop, true);
	ring_eventfd(rq);
	atomic_fetch_sub(&rq->users, 1);
	return 0;
}

/* At the loop's last reference: the record itself (its fd went at close). */
static void remote_release(struct urt_loop *L)
{
	free(L->remote);
	L->remote = NULL;
}

static const struct urt__intake intake = {
	.pending = remote_pending,
	.take = remote_take,
	.close = remote_stop_intake,
	.wait_begin = remote_wait_begin,
	.wait_end = remote_wait_end,
	.unref = remote_unref,
	.free = remote_release,
};
