/* SPDX-License-Identifier: MIT */
/*
 * The executor (asyncio's run_in_executor / to_thread): urt_offload runs a
 * blocking or CPU-bound function on a per-loop pool of worker threads while
 * the calling task waits and the loop runs other tasks.
 *
 * Submission takes the pool's mutex (one short critical section per
 * offload, off the I/O hot path). Completion is lock-free: a worker pushes
 * the finished record onto an atomic stack (Treiber push) and writes the
 * pool's eventfd only when the stack was empty, so a burst of completions
 * costs one wake-up. The loop keeps one read of that eventfd in the ring
 * while work is outstanding; its CQE drains the whole stack and wakes the
 * waiting tasks.
 *
 * Why an eventfd and not IORING_OP_MSG_RING (bench/wakeup.c, figures in
 * bench/RESULTS.md): one MSG_RING per completion costs ~0.5 us of kernel
 * work each (a request allocated on the target ring), so a 64-item batch
 * took 34 us against 5.8 us for one eventfd write. As a single doorbell
 * per batch MSG_RING was ~25% cheaper than the eventfd (4.4 vs 6.0 us per
 * round trip), but it needs an io_uring instance per worker thread and a
 * fallback when the target ring is full; the eventfd write cannot fail.
 *
 * Records live on the heap (a per-loop free list, so steady state does not
 * allocate) rather than on the task's stack: a task cancelled while its
 * function runs returns at once, and the record, which the worker still
 * writes, is freed by the loop when the completion arrives.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/core.h"
#include "exec/exec.h"

enum work_state { W_QUEUED, W_RUNNING };

struct urt__work {
	struct urt__work *next, *prev; /* pool queue (doubly linked) / done stack / free list */
	void *(*fn)(void *);
	void *arg;
	void (*orphan)(void *arg, void *result); /* the caller went away */
	void *result;
	int state;          /* enum work_state; changes under the mutex only */
	bool abandoned;     /* loop only: the task went away; free on completion */
	bool reaped;        /* loop only: the completion was drained */
	urt_task *task;
};

struct urt__pool {
	struct urt__multi m;       /* the eventfd read's CQE */
	struct urt_loop *loop;
	int efd;
	uint64_t efd_buf;          /* the read's target; lives as long as the pool */
	bool armed;
	unsigned outstanding;      /* submitted and not yet drained */
	urt_sem slots;             /* the bound on offloads at once (FIFO, see sync.c) */
	struct urt__work *free;    /* free list (loop thread only) */
	_Atomic(struct urt__work *) done; /* completed, pushed by workers */

	pthread_mutex_t mu;        /* guards everything below */
	pthread_cond_t cv;
	struct urt__work *qhead, *qtail;
	unsigned nthreads, max_threads, idle;
	bool stop;
	pthread_t *threads;
};

static void *worker(void *arg)
{
	struct urt__pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->qhead && !p->stop) {
			p->idle++;
			pthread_cond_wait(&p->cv, &p->mu);
			p->idle--;
		}
		if (!p->qhead)
			break; /* stopping and nothing left */
		struct urt__work *w = p->qhead;
		p->qhead = w->next;
		if (p->qhead)
			p->qhead->prev = NULL;
		else
			p->qtail = NULL;
		w->state = W_RUNNING;
		pthread_mutex_unlock(&p->mu);

		w->result = w->fn(w->arg);

		/* release: the result is visible to the loop before the record */
		struct urt__work *old = atomic_load_explicit(&p->done, memory_order_relaxed);
		do {
			w->next = old;
		} while (!atomic_compare_exchange_weak_explicit(&p->done, &old, w, memory_order_release,
								memory_order_relaxed));
		if (!old) { /* first of a batch: wake the loop */
			uint64_t one = 1;
			ssize_t n = write(p->efd, &one, sizeof one);
			(void)n; /* EAGAIN only if the counter is near 2^64: a wake is pending anyway */
			/* and a program asleep on urt_loop_fd: the ring's signal of it
			   would come an RCU grace period late (exec/remote.c) */
			urt__loop_kick(p->loop);
		}
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void arm(struct urt__pool *p)
{
	urt__watch(&p->m, p->efd, &p->efd_buf, sizeof p->efd_buf, false);
	p->armed = true;
}

static void work_put(struct urt__pool *p, struct urt__work *w)
{
	w->next = p->free;
	p->free = w;
}

/* Submitted work is done with (drained, or dequeued before it ran). */
static void slot_release(struct urt__pool *p)
{
	p->outstanding--;
	p->loop->vt_hold--;
	urt_sem_release(&p->slots); /* hands the slot to the first waiter */
}

/* The eventfd read completed: take every finished record. */
static void on_cqe(struct urt__multi *m, int res, unsigned flags)
{
	(void)res;
	(void)flags;
	struct urt__pool *p = urt__container_of(m, struct urt__pool, m);
	p->armed = false;
	struct urt__work *w = atomic_exchange_explicit(&p->done, NULL, memory_order_acquire);
	while (w) {
		struct urt__work *next = w->next;
		w->reaped = true;
		if (w->abandoned) {
			if (w->orphan)
				w->orphan(w->arg, w->result);
			work_put(p, w);
		}
		else
			urt__wake(w->task, 0);
		slot_release(p);
		w = next;
	}
	if (p->outstanding)
		arm(p);
}

static void pool_free(struct urt_loop *L);

static struct urt__pool *pool_get(void)
{
	struct urt_loop *L = urt__L;
	if (L->pool)
		return L->pool;
	struct urt__pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->threads = calloc(L->offload_threads, sizeof *p->threads);
	if (p->efd < 0 || !p->threads) {
		if (p->efd >= 0)
			close(p->efd);
		free(p->threads);
		free(p);
		return NULL;
	}
	p->m.on_cqe = on_cqe; /* not on loop->multis: pool_free frees the pool */
	urt__list_init(&p->m.link);
	p->loop = L;
	p->max_threads = L->offload_threads;
	urt_sem_init(&p->slots, L->offload_queue);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	L->pool = p;
	urt__close_hook_add(L, pool_free, URT__CLOSE_WORKERS);
	return p;
}

/* Start one more worker with every signal blocked (signals belong to the
   loop's thread: see urt_signal_wait). Called with p->mu held. */
static int spawn_worker(struct urt__pool *p)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return -r;
	p->nthreads++;
	return 0;
}

int urt_offload(void *(*fn)(void *), void *arg, void **result)
{
	return urt_offload_ex(fn, arg, result, NULL);
}

static int offload(void *(*fn)(void *), void *arg, void **result,
		   void (*orphan)(void *arg, void *result), bool must_finish);

int urt_offload_ex(void *(*fn)(void *), void *arg, void **result,
		   void (*orphan)(void *arg, void *result))
{
	return offload(fn, arg, result, orphan, false);
}

int urt__offload_wait(void *(*fn)(void *), void *arg, void **result)
{
	return offload(fn, arg, result, NULL, true);
}

/* The checks, the pool, a slot and a work record for the calling task's
   offload of fn(arg). 0, or an error with nothing taken: fn never runs. */
static int offload_begin(void *(*fn)(void *), void *arg, void (*orphan)(void *arg, void *result),
			 struct urt__pool **pp, struct urt__work **wp)
{
	int r = fn ? urt__op_check() : -EINVAL;
	if (r)
		return r;
	struct urt__pool *p = pool_get();
	if (!p)
		return -ENOMEM;
	/* a slot: at most offload_queue offloads outstanding per loop, FIFO.
	   A slot granted as a cancel or the deadline arrived is passed on:
	   fn must not start for a caller already gone. */
	r = urt_sem_acquire(&p->slots, -1);
	if (r == 0 && (r = urt__op_check()) < 0)
		urt_sem_release(&p->slots);
	if (r)
		return r;
	struct urt__work *w = p->free;
	if (w) {
		p->free = w->next;
	} else if (!(w = malloc(sizeof *w))) {
		urt_sem_release(&p->slots);
		return -ENOMEM;
	}
	*w = (struct urt__work){.fn = fn, .arg = arg, .orphan = orphan, .task = urt__L->current,
				.state = W_QUEUED};
	*pp = p;
	*wp = w;
	return 0;
}

/* Queue w for the workers, starting one if none is idle. 0, or -EAGAIN
   when there is no thread at all (w and its slot given back). */
static int submit(struct urt__pool *p, struct urt__work *w)
{
	pthread_mutex_lock(&p->mu);
	if (p->idle == 0 && p->nthreads < p->max_threads) {
		int r = spawn_worker(p);
		if (r && p->nthreads == 0) {
			pthread_mutex_unlock(&p->mu);
			work_put(p, w);
			urt_sem_release(&p->slots);
			return r;
		}
	}
	w->prev = p->qtail;
	if (p->qtail)
		p->qtail->next = w;
	else
		p->qhead = w;
	p->qtail = w;
	bool wake = p->idle > 0;
	pthread_mutex_unlock(&p->mu);
	p->outstanding++;
	p->loop->vt_hold++; /* virtual time stands still while it runs (core/loop.c) */
	/* signalled after unlocking: a worker woken under the lock would run
	   straight into it (an extra futex pair and switch per offload,
	   measured: 7.3-8.1 -> 5.5-5.9 us per round trip, bench/offload.c) */
	if (wake)
		pthread_cond_signal(&p->cv);
	if (!p->armed)
		arm(p);
	return 0;
}

/* The wait ended before w completed: take w out of the queue if no worker
   has started it. true: taken out (fn never runs). */
static bool dequeue(struct urt__pool *p, struct urt__work *w)
{
	pthread_mutex_lock(&p->mu);
	bool queued = w->state == W_QUEUED;
	if (queued) {
		if (w->prev)
			w->prev->next = w->next;
		else
			p->qhead = w->next;
		if (w->next)
			w->next->prev = w->prev;
		else
			p->qtail = w->prev;
	}
	pthread_mutex_unlock(&p->mu);
	return queued;
}

/* w is done (reaped): its result wins over a cancellation that came
   meanwhile, which stays pending for t's next suspension point. */
static int finished(struct urt__pool *p, struct urt__work *w, urt_task *t, bool cancelled,
		    void **result)
{
	if (cancelled)
		urt__cancel_rearm(t);
	if (result)
		*result = w->result;
	work_put(p, w);
	return 0;
}

/* must_finish: a call that started is waited for whatever happens (the
   epoll backend's file ops: their buffers must outlive them). */
static int offload(void *(*fn)(void *), void *arg, void **result,
		   void (*orphan)(void *arg, void *result), bool must_finish)
{
	struct urt__pool *p;
	struct urt__work *w;
	int r = offload_begin(fn, arg, orphan, &p, &w);
	if (r == 0)
		r = submit(p, w);
	if (r) { /* fn never ran and never will */
		if (orphan)
			orphan(arg, NULL);
		return r;
	}
	urt_task *t = w->task;
	r = urt__wait_user(t->deadline);
	if (w->reaped)
		return finished(p, w, t, r == -ECANCELED, result);
	/* cancelled or timed out before completion */
	if (dequeue(p, w)) {
		work_put(p, w);
		slot_release(p);
		if (orphan)
			orphan(arg, NULL);
	} else if (must_finish) {
		/* running: wait it out; its result wins, the cancellation (or
		   the passed deadline) stays for the next suspension point */
		bool cancelled = r == -ECANCELED;
		while (!w->reaped)
			if (urt__wait_user(URT__NO_DEADLINE) == -ECANCELED)
				cancelled = true;
		return finished(p, w, t, cancelled, result);
	} else {
		w->abandoned = true; /* running or finished: the loop frees it on completion */
	}
	return r < 0 ? r : -EINTR;
}

/* At loop close, after the ring is gone: stop the workers (waiting for
   functions still running) and free everything. */
static void pool_free(struct urt_loop *L)
{
	struct urt__pool *p = L->pool;
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	/* every record is now on the free list, the done stack, or was
	   abandoned on the done stack; queued ones were removed by their
	   cancelled tasks */
	struct urt__work *w = atomic_exchange(&p->done, NULL);
	while (w) {
		struct urt__work *next = w->next;
		if (w->abandoned && w->orphan)
			w->orphan(w->arg, w->result);
		free(w);
		w = next;
	}
	while ((w = p->free)) {
		p->free = w->next;
		free(w);
	}
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p);
	L->pool = NULL;
}
