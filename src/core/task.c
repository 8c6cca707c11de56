/* SPDX-License-Identifier: MIT */
/*
 * Task lifecycle and the switch between tasks: spawn, start, suspend,
 * wake, cancel, exit, join, detach, release.
 *
 * Scheduling: the loop (loop.c) runs a "turn": it runs the tasks that are
 * ready, then submits and reaps io_uring work once. A task that suspends
 * hands the CPU straight to the next ready task (one switch instead of two
 * through the scheduler) while the turn's budget lasts, and to the
 * scheduler otherwise. The budget bounds how long ready tasks can keep
 * each other running before pending SQEs are submitted and CQEs reaped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/fault.h"
#include "core/sanitizer.h"

/* ---- task structs: a per-loop FIFO pool ----
 * Released structs go to the tail and are reused from the head, so a stale
 * handle (joined twice, say) sees URT__FREE for as long as possible. */

#define TASK_CHUNK 64

struct urt__task_chunk {
	struct urt__task_chunk *next;
	urt_task tasks[TASK_CHUNK];
};

static urt_task *task_alloc(struct urt__task_pool *P)
{
	if (!P->free_head) {
		struct urt__task_chunk *c = malloc(sizeof *c);
		if (!c)
			return NULL;
		c->next = P->chunks;
		P->chunks = c;
		for (int i = 0; i < TASK_CHUNK; i++) {
			c->tasks[i].state = URT__FREE;
			c->tasks[i].ready_next = i + 1 < TASK_CHUNK ? &c->tasks[i + 1] : NULL;
		}
		P->free_head = &c->tasks[0];
		P->free_tail = &c->tasks[TASK_CHUNK - 1];
	}
	urt_task *t = P->free_head;
	P->free_head = t->ready_next;
	if (!P->free_head)
		P->free_tail = NULL;
	return t;
}

/* Return t's struct to the pool. t must be DONE with its stack already freed. */
void urt__task_release(urt_task *t)
{
	struct urt__task_pool *P = &urt__L->task_pool;
	urt__list_del(&t->all);
	t->state = URT__FREE;
	t->ready_next = NULL;
	if (P->free_tail)
		P->free_tail->ready_next = t;
	else
		P->free_head = t;
	P->free_tail = t;
}

void urt__tasks_free_all(void)
{
	struct urt__task_pool *P = &urt__L->task_pool;
	while (P->chunks) {
		struct urt__task_chunk *c = P->chunks;
		P->chunks = c->next;
		free(c);
	}
	P->free_head = P->free_tail = NULL;
}

/* ---- ready queue ---- */

static inline urt_task *ready_pop(struct urt_loop *L)
{
	urt_task *t = L->ready_head;
	if (t) {
		L->ready_head = t->ready_next;
		if (!L->ready_head)
			L->ready_tail = NULL;
		L->nready--;
	}
	return t;
}

/* ---- ending ---- */

/*
 * Bookkeeping when t ends (ran to completion, or never ran): record the
 * result, wake everyone waiting for it (joiners; its group and a remote
 * record through their notify). Runs on any stack.
 */
static void task_finish(urt_task *t, int result)
{
	struct urt_loop *L = urt__L;
	t->result = result;
	t->state = URT__DONE;
	L->alive--;
	atomic_store_explicit(&L->alive_pub, L->alive, memory_order_relaxed);
	while (!urt__list_empty(&t->done_waiters)) {
		struct urt__waiter *w = urt__container_of(urt__list_first(&t->done_waiters),
							  struct urt__waiter, link);
		urt__list_del(&w->link);
		if (unlikely(w->notify != NULL))
			w->notify(w, t);
		else
			urt__wake(w->task, 0);
	}
	if (t == L->main_task) {
		L->main_done = true;
		atomic_store_explicit(&L->closing, true, memory_order_relaxed);
		L->main_result = result;
		/* asyncio.run semantics: cancel everything still alive */
		struct urt_list *pos, *tmp;
		urt__list_for_each_safe(pos, tmp, &L->tasks)
			urt_cancel(urt__container_of(pos, urt_task, all));
	}
}

void urt__task_on_end(urt_task *t, void (*notify)(struct urt__waiter *w, urt_task *ended))
{
	t->end_w.task = NULL;
	t->end_w.notify = notify;
	urt__list_add_tail(&t->done_waiters, &t->end_w.link);
}

/* Free what an ended task no longer needs (called off its stack). */
static void task_reap(struct urt_loop *L, urt_task *t)
{
	if (t->stack) {
		urt__stack_put(t->stack);
		t->stack = NULL;
	}
	if (t->tsan_fiber) {
		urt__tsan_destroy(t->tsan_fiber);
		t->tsan_fiber = NULL;
	}
	if (t->detached)
		urt__task_release(t);
	(void)L;
}

static void task_entry(void)
{
	struct urt_loop *L = urt__L;
	urt_task *t = L->current;
	urt__asan_finish(NULL, NULL, NULL);
	int r = t->fn(t->arg);
	task_finish(t, r);
	/* Switch away for the last time; the scheduler frees this stack. */
	L->exiting = t;
	urt__switch_to_sched(t);
	abort(); /* unreachable: a DONE task is never resumed */
}

/* A stack for a task, or NULL (the mapping failed, or a fault said so). */
static struct urt__stack *stack_get(struct urt_loop *L, size_t size)
{
	if (URT__FAULT_INJECTION && unlikely(L->fault) && urt__fault_hit(L, URT__FK_SPAWN))
		return NULL; /* as when the mapping fails */
	return urt__stack_get(size);
}

/*
 * Prepare a task that has never run: a task cancelled before its first run
 * ends without running; one whose stack cannot be had ends with -ENOMEM.
 * Returns false when t ended here.
 */
static bool task_start(struct urt_loop *L, urt_task *t)
{
	if (t->cancel_pending && !t->start_anyway) {
		t->cancel_pending = false;
		task_finish(t, -ECANCELED);
		task_reap(L, t);
		return false;
	}
	if (likely(!t->stack)) /* (a stack_now task has its own already) */
		t->stack = stack_get(L, t->stack_size);
	if (!t->stack) {
		task_finish(t, -ENOMEM);
		task_reap(L, t);
		return false;
	}
	t->started = true;
	t->tsan_fiber = urt__tsan_create();
	t->canary = urt__stack_canary(t->stack);
	urt__ctx_make(&t->ctx, urt__stack_lo(t->stack), urt__stack_size(t->stack), task_entry);
	return true;
}

/* Next task to run from the ready queue, started if new; NULL if none. */
static inline urt_task *next_runnable(struct urt_loop *L)
{
	urt_task *t;
	while ((t = ready_pop(L))) {
		if (likely(t->started) || task_start(L, t))
			return t;
	}
	return NULL;
}

/* ---- switching ---- */

static inline void switch_to(urt_task *from, urt_task *to)
{
	struct urt_loop *L = urt__L;
	/* release: the stall watchdog reads `to`'s name once it sees it here
	   (a plain store on x86-64) */
	__atomic_store_n(&L->current, to, __ATOMIC_RELEASE);
	to->state = URT__RUNNING;
	L->stats.switches++;
	urt__asan_start(&from->asan_fake, false, urt__stack_lo(to->stack), urt__stack_size(to->stack));
	urt__tsan_switch(to->tsan_fiber);
	urt__ctx_switch(&from->ctx, &to->ctx);
	urt__asan_finish(from->asan_fake, NULL, NULL);
}

void urt__switch_to_sched(urt_task *from)
{
	struct urt_loop *L = urt__L;
	L->stats.switches++;
	urt__asan_start(&from->asan_fake, from->state == URT__DONE, L->sched_stack_lo,
			L->sched_stack_size);
	urt__tsan_switch(L->sched_tsan_fiber);
	urt__ctx_switch(&from->ctx, &L->sched_ctx);
	urt__asan_finish(from->asan_fake, NULL, NULL);
}

/* Scheduler side: run t until it gives the CPU back to the scheduler. */
static void sched_run(struct urt_loop *L, urt_task *t)
{
	__atomic_store_n(&L->current, t, __ATOMIC_RELEASE);
	t->state = URT__RUNNING;
	L->stats.switches++;
	urt__asan_start(&L->sched_asan_fake, false, urt__stack_lo(t->stack), urt__stack_size(t->stack));
	urt__tsan_switch(t->tsan_fiber);
	urt__ctx_switch(&L->sched_ctx, &t->ctx);
	urt__asan_finish(L->sched_asan_fake, NULL, NULL);
	__atomic_store_n(&L->current, NULL, __ATOMIC_RELAXED);
	if (L->exiting) {
		task_reap(L, L->exiting);
		L->exiting = NULL;
	}
}

/*
 * Run one turn: the tasks ready now, plus those readied meanwhile while the
 * budget lasts. Returns the number of tasks run.
 */
unsigned urt__run_ready(struct urt_loop *L)
{
	unsigned ran = 0;
	L->turn_budget = L->nready + 64;
	while (L->turn_budget > 0) {
		urt_task *t = next_runnable(L);
		if (!t)
			break;
		L->turn_budget--;
		ran++;
		sched_run(L, t);
	}
	return ran;
}

/*
 * Give up the CPU. The caller has already set the task's state (and, for
 * WAIT_USER/WAIT_IO, registered what will wake it); this returns when the
 * task has been made ready and run again.
 */
static inline void suspend(struct urt_loop *L, urt_task *t)
{
	/* a plain add on x86-64 and aarch64; atomic so the watchdog's read is
	   well defined */
	__atomic_store_n(&L->progress, L->progress + 1, __ATOMIC_RELAXED);
	if (unlikely(t->canary != NULL) && *t->canary != URT__CANARY)
		urt__stack_overflow(t);
	if (likely(L->turn_budget > 0)) {
		urt_task *next = next_runnable(L);
		if (next) {
			L->turn_budget--;
			if (next != t)
				switch_to(t, next);
			t->state = URT__RUNNING;
			return;
		}
	}
	urt__switch_to_sched(t);
}

void urt__suspend(void)
{
	struct urt_loop *L = urt__L;
	suspend(L, L->current);
}

/*
 * t's wait timer expired. A user-space wait ends with -ETIMEDOUT; an op
 * still in flight (its deadline backstop, core/backend.h) is cancelled as
 * timed out and t still waits for its completion; a task already woken
 * (its op completed in the same turn) has nothing left to do.
 */
static void task_timer_fire(struct urt__timer *tm)
{
	urt_task *t = urt__container_of(tm, urt_task, timer);
	if (t->state == URT__WAIT_USER) {
		urt__wake(t, -ETIMEDOUT);
	} else if (t->state == URT__WAIT_IO) {
		t->wait_op->timed_out = 1;
		urt__op_cancel(t);
	}
}

/* Wake a task that waits in user space, handing it res. No-op otherwise. */
void urt__wake(urt_task *t, int res)
{
	if (t->state != URT__WAIT_USER)
		return;
	urt__task_timer_stop(t);
	t->wake_res = res;
	urt__ready(t);
}

/*
 * Wait in user space until urt__wake, the deadline (absolute ns,
 * URT__NO_DEADLINE for none: -ETIMEDOUT) or a cancellation (-ECANCELED).
 * Waits on a list go through urt__wait_on (core.h), which links the
 * waiter before and unlinks it after. Returns the woken result (0 unless the waker said otherwise).
 */
int urt__wait_user(int64_t deadline)
{
	urt_task *t = urt__L->current;
	if (urt__take_cancel(t))
		return -ECANCELED;
	if (deadline != URT__NO_DEADLINE) {
		if (deadline <= urt__now())
			return -ETIMEDOUT;
		int r = urt__timer_arm(&t->timer, deadline);
		if (r)
			return r;
	}
	t->state = URT__WAIT_USER;
	t->wake_res = 0;
	urt__suspend();
	int r = t->wake_res;
	t->wake_res = 0; /* READY with wake_res -ECANCELED means "cancel on its way" */
	if (r == 0 && urt__take_cancel(t))
		r = -ECANCELED; /* cancelled after the wake, before it ran */
	return r;
}

/*
 * Wait until t has ended. Returns 0, -ECANCELED or -ETIMEDOUT. If t ended
 * and the caller was also cancelled before it ran, t's end wins (0) and the
 * cancellation stays pending.
 */
int urt__wait_done(urt_task *t, int64_t deadline)
{
	if (t->state == URT__DONE)
		return 0;
	urt_task *cur = urt__L->current;
	struct urt__waiter w = {.task = cur};
	int r = urt__wait_on(&t->done_waiters, &w, deadline);
	if (t->state != URT__DONE)
		return r;
	if (r == -ECANCELED)
		urt__cancel_rearm(cur);
	return 0;
}

/* ---- public API ---- */

urt_task *urt__task_new(const struct urt_spawn_attr *a, int (*fn)(void *), void *arg)
{
	struct urt_loop *L = urt__L;
	if (!L || !fn) {
		errno = !L ? EPERM : EINVAL;
		return NULL;
	}
	if (URT__FAULT_INJECTION && unlikely(L->fault) && urt__fault_hit(L, URT__FK_SPAWN)) {
		errno = ENOMEM;
		return NULL;
	}
	if (unlikely(L->max_tasks) && L->alive >= L->max_tasks) {
		errno = EAGAIN;
		return NULL;
	}
	urt_task *t = task_alloc(&L->task_pool);
	if (!t) {
		errno = ENOMEM;
		return NULL;
	}
	memset(t, 0, offsetof(urt_task, local));
	t->fn = fn;
	t->arg = arg;
	t->id = ++L->next_id;
	t->timer.idx = URT__TIMER_OFF;
	t->timer.fire = task_timer_fire;
	t->deadline = URT__NO_DEADLINE;
	t->stack_size = L->stack_size;
	t->name[0] = '\0';
	urt__list_init(&t->done_waiters);
	urt__list_init(&t->group_link);
	urt_task *parent = L->current;
	if (parent)
		memcpy(t->local, parent->local, sizeof t->local);
	else
		memset(t->local, 0, sizeof t->local);
	if (a) {
		if (a->stack_size) {
			size_t s = a->stack_size < 16384 ? 16384 : a->stack_size;
			t->stack_size = (s + 4095) & ~(size_t)4095;
		}
		t->detached = a->detached;
		if (a->name)
			urt_task_set_name(t, a->name);
		if (a->stack_now && !(t->stack = stack_get(L, t->stack_size))) {
			urt__list_init(&t->all);
			urt__task_release(t);
			errno = ENOMEM;
			return NULL;
		}
	}
	urt__list_add_tail(&L->tasks, &t->all);
	L->alive++;
	atomic_store_explicit(&L->alive_pub, L->alive, memory_order_relaxed);
	L->stats.spawned++;
	if (L->main_done)
		t->cancel_pending = true; /* shutting down: it never runs */
	urt__ready(t);
	return t;
}

urt_task *urt_spawn(int (*fn)(void *), void *arg)
{
	return urt__task_new(NULL, fn, arg);
}

/* Can `t` be joined by the calling task? 0 or a negative errno. */
static int joinable(urt_task *t, urt_task *cur)
{
	if (!cur)
		return -EPERM;
	if (!t || t->state == URT__FREE || t->detached || t->group || t->joined || t->has_joiner)
		return -EINVAL;
	if (t == cur)
		return -EDEADLK;
	return 0;
}

/* Consume an ended task: its result, then its struct (released now, or by
   the scheduler if t is still on its stack). Joins and groups end here. */
int urt__task_take(urt_task *t)
{
	int r = t->result;
	t->joined = true;
	if (t->stack)
		t->detached = true;
	else
		urt__task_release(t);
	return r;
}

int urt_join(urt_task *t, int *result)
{
	urt_task *cur = urt__cur();
	int r = joinable(t, cur);
	if (r)
		return r;
	if (t->state != URT__DONE) {
		t->has_joiner = true;
		r = urt__wait_done(t, cur->deadline);
		t->has_joiner = false;
		if (r < 0)
			return r;
	}
	r = urt__task_take(t);
	if (result)
		*result = r;
	return 0;
}

int urt_detach(urt_task *t)
{
	if (!t || t->state == URT__FREE || t->detached || t->group || t->joined || t->has_joiner)
		return -EINVAL;
	t->detached = true;
	if (t->state == URT__DONE && !t->stack && urt__L->exiting != t)
		urt__task_release(t);
	return 0;
}

/* Wait for t to end whatever happens (clean-up after a cancel or timeout).
   A cancellation that arrives meanwhile is kept for the caller's next
   suspension point, not swallowed. */
static void wait_done_uninterruptible(urt_task *t)
{
	bool cancelled = false;
	while (t->state != URT__DONE)
		if (urt__wait_done(t, URT__NO_DEADLINE) == -ECANCELED)
			cancelled = true;
	if (cancelled)
		urt__cancel_rearm(urt__L->current);
}

int urt_wait_for(urt_task *t, int *result, int64_t timeout_ns)
{
	urt_task *cur = urt__cur();
	int r = joinable(t, cur);
	if (r)
		return r;
	t->has_joiner = true;
	r = urt__wait_done(t, urt__wait_deadline(cur, timeout_ns));
	if (r < 0) {
		urt_cancel(t);
		wait_done_uninterruptible(t);
	}
	t->has_joiner = false;
	int res = urt__task_take(t);
	if (result)
		*result = res;
	return r;
}

int urt_join_all(urt_task *const *tasks, size_t n, int *results)
{
	urt_task *cur = urt__cur();
	if (!cur)
		return -EPERM;
	if (n && !tasks)
		return -EINVAL;
	size_t i;
	int r = 0;
	for (i = 0; i < n; i++) {
		r = joinable(tasks[i], cur);
		if (r)
			break;
		tasks[i]->has_joiner = true; /* also catches duplicates */
	}
	if (r) {
		while (i--)
			tasks[i]->has_joiner = false;
		return r == -EDEADLK ? -EINVAL : r;
	}
	for (i = 0; i < n && r == 0; i++)
		r = urt__wait_done(tasks[i], cur->deadline);
	if (r < 0) {
		/* gather cancelled: cancel the children and wait for them all */
		for (i = 0; i < n; i++)
			urt_cancel(tasks[i]);
		for (i = 0; i < n; i++)
			wait_done_uninterruptible(tasks[i]);
	}
	int failed = 0;
	for (i = 0; i < n; i++) {
		tasks[i]->has_joiner = false;
		int res = urt__task_take(tasks[i]);
		if (results)
			results[i] = res;
		failed += res < 0;
	}
	return r < 0 ? r : failed;
}

int urt_wait_any(urt_task *const *tasks, size_t n, int64_t timeout_ns)
{
	urt_task *cur = urt__cur();
	if (!cur)
		return -EPERM;
	if (!n || !tasks)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!tasks[i] || tasks[i]->state == URT__FREE || tasks[i] == cur)
			return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (tasks[i]->state == URT__DONE)
			return (int)i;

	struct urt__waiter stackw[16];
	struct urt__waiter *w = n <= 16 ? stackw : malloc(n * sizeof *w);
	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		w[i] = (struct urt__waiter){.task = cur}; /* notify NULL: wake cur */
		urt__list_add_tail(&tasks[i]->done_waiters, &w[i].link);
	}
	/* n lists at once, so not urt__wait_on: link all, wait, unlink all */
	int r = urt__wait_user(urt__wait_deadline(cur, timeout_ns));
	for (size_t i = 0; i < n; i++)
		urt__waiter_unlink(&w[i]);
	if (w != stackw)
		free(w);
	for (size_t i = 0; i < n; i++) {
		if (tasks[i]->state == URT__DONE) {
			if (r == -ECANCELED)
				urt__cancel_rearm(cur); /* the finished task wins */
			return (int)i;
		}
	}
	return r < 0 ? r : -EINTR; /* r == 0 without a finished task cannot happen */
}

void urt_cancel(urt_task *t)
{
	if (!t || t->state >= URT__DONE || t->cancel_pending)
		return;
	if (t->state == URT__READY && t->wake_res == -ECANCELED)
		return; /* already woken by a cancel that it has not seen yet */
	switch (t->state) {
	case URT__WAIT_USER:
		urt__wake(t, -ECANCELED); /* delivered now */
		break;
	case URT__WAIT_IO:
		t->cancel_pending = true;
		if (!t->wait_op->nocancel) /* else seen when the op completes */
			urt__op_cancel(t);
		break;
	default: /* READY or RUNNING: seen at the next suspension point */
		t->cancel_pending = true;
		break;
	}
}

bool urt_cancelled(void)
{
	urt_task *t = urt__cur();
	return t && t->cancel_pending;
}

/*
 * Let the other ready tasks run. A suspension point like any other: a
 * pending cancellation (before or during) is -ECANCELED, and an expired
 * deadline scope -ETIMEDOUT without yielding, so a CPU-bound loop that
 * yields inside urt_deadline_push ends when the scope does. The deadline
 * costs one predictable branch when no scope is open (the hot path of
 * bench/switch.c); the clock is read only inside one.
 */
int urt_yield(void)
{
	struct urt_loop *L = urt__L;
	urt_task *t = L ? L->current : NULL;
	if (unlikely(!t))
		return -EPERM;
	if (urt__take_cancel(t))
		return -ECANCELED;
	/* ndeadline == 0 implies no deadline: a byte test, no 64-bit constant */
	if (unlikely(t->ndeadline) && urt__now() >= t->deadline)
		return -ETIMEDOUT;
	urt__ready(t);
	suspend(L, t);
	return urt__take_cancel(t) ? -ECANCELED : 0;
}

urt_task *urt_current(void)
{
	return urt__cur();
}

bool urt_task_done(const urt_task *t)
{
	return t && t->state == URT__DONE;
}

int urt_task_set_name(urt_task *t, const char *name)
{
	if (!t || !name || t->state == URT__FREE)
		return -EINVAL;
	size_t n = strnlen(name, sizeof t->name - 1);
	memcpy(t->name, name, n);
	t->name[n] = '\0';
	return 0;
}

const char *urt_task_name(const urt_task *t)
{
	if (!t)
		return "";
	if (!t->name[0]) {
		/* named lazily: formatting a name costs more than a spawn */
		urt_task *m = (urt_task *)t;
		snprintf(m->name, sizeof m->name, "task-%llu", (unsigned long long)t->id);
	}
	return t->name;
}

uint64_t urt_task_id(const urt_task *t)
{
	return t ? t->id : 0;
}

int urt_local_set(unsigned slot, void *value)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (slot >= URT_LOCAL_SLOTS)
		return -EINVAL;
	t->local[slot] = value;
	return 0;
}

void *urt_local_get(unsigned slot)
{
	urt_task *t = urt__cur();
	if (!t || slot >= URT_LOCAL_SLOTS)
		return NULL;
	return t->local[slot];
}
