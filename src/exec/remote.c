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
 * eventfd rather than IORING_OP_MSG_RING: a foreign thread has no ring to
 * send from (bench/wakeup.c measured the two as doorbells between rings:
 * MSG_RING ~25% cheaper per round trip, but it needs a ring per sender and
 * a fallback when the target's CQ is full).
 *
 * Shutdown races are settled by a counter of submitters inside
 * urt_loop_submit: closing sets `closed`, waits for the counter to drain,
 * then takes what is left and runs it. So every submission either returns
 * -ESHUTDOWN or runs (one that arrives during shutdown starts with a
 * cancellation pending).
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core.h"

struct urt_remote {
	_Atomic int done;
	int result;
	_Atomic int refs; /* the waiter's and the loop's: the last frees it */
	const struct urt_loop *loop;
};

struct item {
	struct item *next;
	int (*fn)(void *);
	void *arg;
	struct urt_remote *h;
};

struct urt__remote {
	struct urt__multi m;
	int efd;
	uint64_t buf;               /* the armed read's target */
	bool armed;
	_Atomic(struct item *) head;
	_Atomic int users;          /* threads inside submit/stop */
	_Atomic bool closed;
};

static void handle_put(struct urt_remote *h)
{
	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
		free(h);
}

static void complete(struct urt_remote *h, int res)
{
	if (!h)
		return;
	h->result = res;
	atomic_store_explicit(&h->done, 1, memory_order_release);
	syscall(SYS_futex, &h->done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
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
	complete(it->h, t->result);
	free(it);
}

static void arm(struct urt__remote *rq)
{
	urt__watch(&rq->m, rq->efd, &rq->buf, sizeof rq->buf, true);
	rq->armed = true;
}

/* Take every queued record, oldest first, and spawn each. During shutdown
   it still runs, with a cancellation pending (its first suspension point
   returns -ECANCELED): a submission the loop accepted always runs. */
static void drain(struct urt__remote *rq)
{
	struct item *it = atomic_exchange_explicit(&rq->head, NULL, memory_order_acquire);
	struct item *fifo = NULL;
	while (it) { /* the stack is newest first */
		struct item *next = it->next;
		it->next = fifo;
		fifo = it;
		it = next;
	}
	for (it = fifo; it; it = fifo) {
		fifo = it->next;
		struct urt_spawn_attr a = {.detached = true};
		urt_task *t = urt_spawn_attr(&a, remote_entry, it);
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
	(void)res;
	(void)flags;
	struct urt__remote *rq = urt__container_of(m, struct urt__remote, m);
	rq->armed = false;
	drain(rq);
	arm(rq);
}

static void remote_close(struct urt_loop *L);
static void remote_free(struct urt_loop *L);

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
	L->remote = rq;
	urt__close_hook_add(L, remote_close, URT__CLOSE_STOP_INTAKE);
	urt__close_hook_add(L, remote_free, URT__CLOSE_FDS);
	return 0;
}

/* Other threads may submit from now on (loop thread only). */
void urt__remote_enable(struct urt_loop *L)
{
	L->remote_enabled = true;
	if (!L->remote->armed && !atomic_load(&L->remote->closed))
		arm(L->remote);
}

/* The loop's tasks have ended: refuse new submissions and spawn the
   queued ones (the caller runs the loop until they have ended too; see
   close_remote in core/loop.c). Idempotent: the close hook below finds it
   done. Before the ring goes (its read still targets rq->buf). */
void urt__remote_close(struct urt_loop *L)
{
	struct urt__remote *rq = L->remote;
	if (atomic_load(&rq->closed))
		return;
	atomic_store(&rq->closed, true);
	while (atomic_load(&rq->users)) /* submitters between check and push */
		sched_yield();
	drain(rq);
}

static void remote_close(struct urt_loop *L)
{
	urt__remote_close(L);
}

/* After the ring is gone. The record itself stays until the loop's last
   reference goes: other threads may still look at `closed`. */
static void remote_free(struct urt_loop *L)
{
	close(L->remote->efd); /* no submitter can write to it any more */
	L->remote->efd = -1;
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

static void ring_doorbell(struct urt__remote *rq)
{
	uint64_t one = 1;
	ssize_t n = write(rq->efd, &one, sizeof one);
	(void)n; /* EAGAIN only near 2^64: a wake is pending anyway */
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
	*it = (struct item){.fn = fn, .arg = arg, .h = h};
	if (h) {
		atomic_init(&h->done, 0);
		atomic_init(&h->refs, 2);
		h->result = 0;
		h->loop = L;
	}
	struct urt__remote *rq = L->remote;
	if (!rq || !enter(rq)) {
		free(it);
		free(h);
		return -ESHUTDOWN;
	}
	struct item *old = atomic_load_explicit(&rq->head, memory_order_relaxed);
	do {
		it->next = old;
	} while (!atomic_compare_exchange_weak_explicit(&rq->head, &old, it, memory_order_release,
							memory_order_relaxed));
	if (!old) /* first of a burst: wake the loop */
		ring_doorbell(rq);
	atomic_fetch_sub(&rq->users, 1);
	if (out)
		*out = h;
	return 0;
}

int urt_remote_wait(urt_remote *h, int *result)
{
	if (!h)
		return -EINVAL;
	if (urt__L && urt__L == h->loop)
		return -EDEADLK; /* blocking the loop that has to run it */
	while (!atomic_load_explicit(&h->done, memory_order_acquire))
		syscall(SYS_futex, &h->done, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	if (result)
		*result = h->result;
	handle_put(h);
	return 0;
}

int urt_loop_stop(urt_loop *L)
{
	if (!L)
		return -EINVAL;
	struct urt__remote *rq = L->remote;
	if (!rq || !enter(rq))
		return -ESHUTDOWN;
	atomic_store(&L->stop, true);
	ring_doorbell(rq);
	atomic_fetch_sub(&rq->users, 1);
	return 0;
}
