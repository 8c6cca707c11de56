/* SPDX-License-Identifier: MIT */
/*
 * The loop: one io_uring and one scheduler per thread.
 *
 * A turn: run the ready tasks (task.c), then make at most one
 * io_uring_enter that submits every SQE those tasks prepared and, when no
 * task is ready, waits for the first completion or the earliest timer;
 * then reap all CQEs and expire timers. Ops prepared while the SQ ring is
 * full are handled in op.c (submit early, then continue).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "op.h"

__thread struct urt_loop *urt__L __attribute__((tls_model("initial-exec")));

#define DEFAULT_SQ 256
#define DEFAULT_STACK (64 * 1024)
#define MAX_WAIT (3600 * URT_NS_PER_SEC) /* longest single wait in io_uring_enter */

static unsigned env_flags(void)
{
	const char *e = getenv("URT_RING_FLAGS");
	return e ? (unsigned)strtoul(e, NULL, 0) : 0;
}

/*
 * Create the ring with the best flags the kernel takes: SINGLE_ISSUER +
 * DEFER_TASKRUN (completions are processed only when we enter the kernel,
 * on this thread: no IPIs, no task-work interrupts mid-task), else
 * COOP_TASKRUN, else nothing. SUBMIT_ALL keeps a bad SQE from stalling the
 * rest of the batch. Kernel features are probed by trying, not by version.
 */
static int ring_init(struct urt_loop *L, unsigned sq, unsigned cq)
{
	const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
	unsigned tries[4];
	int n = 0;
	if (L->opt_flags & URT_OPT_SQPOLL) {
		tries[n++] = IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER;
		tries[n++] = IORING_SETUP_SQPOLL;
	} else {
		if (!(L->opt_flags & (URT_OPT_NO_DEFER_TASKRUN | URT_OPT_NO_SINGLE_ISSUER)))
			tries[n++] = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
		if (!(L->opt_flags & URT_OPT_NO_SINGLE_ISSUER))
			tries[n++] = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
		tries[n++] = IORING_SETUP_COOP_TASKRUN;
	}
	tries[n++] = 0;
	int r = -EINVAL;
	for (int i = 0; i < n; i++) {
		for (int all = 1; all >= 0; all--) {
			struct io_uring_params p;
			memset(&p, 0, sizeof p);
			p.flags = tries[i] | (all ? base : IORING_SETUP_CQSIZE);
			p.cq_entries = cq;
			if (tries[i] & IORING_SETUP_SQPOLL)
				p.sq_thread_idle = 50;
			r = io_uring_queue_init_params(sq, &L->ring, &p);
			if (r == 0) {
				L->ring_flags = p.flags;
				io_uring_register_ring_fd(&L->ring); /* optional: saves an fd lookup per enter */
				return 0;
			}
			if (r != -EINVAL)
				return r;
		}
	}
	return r;
}

/*
 * Cap the ring's io-wq workers. Buffered writes, opens, statx and friends
 * that cannot complete inline run on io-wq kernel threads, and the kernel
 * starts one per blocked request: a copy of thousands of files can create
 * hundreds. Past a few per CPU they only add contention.
 */
static void iowq_cap(struct urt_loop *L, const struct urt_options *o)
{
	if (o->iowq_bounded < -1 || o->iowq_unbounded < -1)
		return; /* validated by the caller */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned def = cpus > 1 ? (unsigned)(4 * cpus) : 4;
	unsigned v[2];
	v[0] = o->iowq_bounded > 0 ? (unsigned)o->iowq_bounded : o->iowq_bounded == 0 ? def : 0;
	v[1] = o->iowq_unbounded > 0 ? (unsigned)o->iowq_unbounded : 0; /* 0 = leave as is */
	if (v[0] || v[1])
		io_uring_register_iowq_max_workers(&L->ring, v); /* best effort (5.15+) */
}

/* Bounds of the calling thread's stack, for the ASan fiber annotations. */
static void thread_stack_bounds(struct urt_loop *L)
{
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		void *lo;
		size_t sz;
		if (pthread_attr_getstack(&a, &lo, &sz) == 0) {
			L->sched_stack_lo = lo;
			L->sched_stack_size = sz;
		}
		pthread_attr_destroy(&a);
	}
}

/*
 * Everything is blocked in user space and nothing can ever wake it (no
 * ready task, no op in flight, no timer). Cancel the blocked tasks so they
 * can clean up and end; urt_run reports -EDEADLK.
 */
static void on_deadlock(struct urt_loop *L)
{
	L->deadlocks++;
	if (!L->main_done)
		L->deadlocked = true;
	struct urt_list *pos, *tmp;
	urt__list_for_each_safe(pos, tmp, &L->tasks)
		urt_cancel(urt__container_of(pos, urt_task, all));
}

/* One io_uring_enter at most: submit, and wait if nothing else can run. */
static void io_step(struct urt_loop *L)
{
	struct io_uring_cqe *cqe;
	int r = 0;
	if (L->nready) {
		if (L->inflight) {
			L->stats.enters++;
			r = io_uring_submit_and_get_events(&L->ring);
		}
	} else if (L->heap_len) {
		int64_t wait = urt__timer_next() - urt__now();
		if (wait <= 0) {
			if (L->inflight) {
				L->stats.enters++;
				r = io_uring_submit_and_get_events(&L->ring);
			}
		} else {
			urt__stacks_trim();
			/* The kernel adds the timeout to its clock without saturating
			   (ktime_add): a wait of centuries would wrap into one that
			   expires at once. Sleep at most an hour, then look again. */
			if (wait > MAX_WAIT)
				wait = MAX_WAIT;
			struct __kernel_timespec ts = {.tv_sec = wait / URT_NS_PER_SEC,
						       .tv_nsec = wait % URT_NS_PER_SEC};
			L->stats.enters++;
			r = io_uring_submit_and_wait_timeout(&L->ring, &cqe, 1, &ts, NULL);
		}
	} else if (L->inflight) {
		urt__stacks_trim(); /* about to sleep: a good time for housekeeping */
		L->stats.enters++;
		r = io_uring_submit_and_wait(&L->ring, 1);
	} else {
		on_deadlock(L);
		return;
	}
	(void)r; /* -EINTR, -ETIME, -EBUSY: all mean "look at the CQ and go on" */
	urt__reap();
	if (L->heap_len)
		urt__timers_expire(urt__now());
}

/* Tasks that ended but were never joined or detached (asyncio's
   "never awaited"), reported once at close. */
static void report_unjoined(struct urt_loop *L)
{
	if (L->opt_flags & URT_OPT_QUIET)
		return;
	unsigned n = 0;
	struct urt_list *pos;
	for (pos = L->tasks.next; pos != &L->tasks; pos = pos->next) {
		urt_task *t = urt__container_of(pos, urt_task, all);
		if (t == L->main_task || t->detached)
			continue;
		if (n++ < 10)
			fprintf(stderr, "urt: task '%s' (id %llu) was never %s\n", urt_task_name(t),
				(unsigned long long)t->id,
				t->group ? "waited for by its group" : "joined or detached");
	}
	if (n > 10)
		fprintf(stderr, "urt: ... and %u more tasks never joined\n", n - 10);
}

int urt_run_opts(const struct urt_options *o, int (*main_fn)(void *), void *arg)
{
	if (urt__L)
		return -EBUSY;
	if (!main_fn)
		return -EINVAL;
	struct urt_options def = {0};
	if (!o)
		o = &def;
	size_t stack = o->stack_size ? o->stack_size : DEFAULT_STACK;
	if (stack < 16384 || stack > ((size_t)1 << 32))
		return -EINVAL;
	unsigned sq = o->sq_entries ? o->sq_entries : DEFAULT_SQ;
	if (sq > 32768)
		return -EINVAL;
	if (sq < 2)
		sq = 2; /* an op under a deadline needs two SQEs at once */
	unsigned cq = o->cq_entries ? o->cq_entries : 8 * sq;
	if (cq < sq)
		cq = sq;
	if (o->iowq_bounded < -1 || o->iowq_unbounded < -1)
		return -EINVAL;

	struct urt_loop *L = calloc(1, sizeof *L);
	if (!L)
		return -ENOMEM;
	L->opt_flags = o->flags | env_flags();
	L->stack_size = (stack + 4095) & ~(size_t)4095;
	urt__list_init(&L->tasks);
	urt__list_init(&L->multis);
	urt__list_init(&L->bufrings);
	int r = ring_init(L, sq, cq);
	if (r) {
		free(L);
		return r;
	}
	iowq_cap(L, o);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	L->offload_threads = o->offload_threads ? o->offload_threads : ncpu > 0 ? (unsigned)ncpu : 1;
	L->offload_queue = o->offload_queue ? o->offload_queue : 1024;
	thread_stack_bounds(L);
	urt__L = L;
	urt__overflow_handler_install();
	urt__stall_start(L, o); /* best effort: a missing watchdog only loses warnings */

	L->main_task = urt_spawn(main_fn, arg);
	if (!L->main_task) {
		r = -ENOMEM;
	} else {
		urt_task_set_name(L->main_task, "main");
		for (;;) {
			L->stats.loop_turns++;
			urt__run_ready(L);
			if (!L->alive)
				break;
			io_step(L);
		}
		r = L->main_done && !L->deadlocked ? L->main_result : -EDEADLK;
	}

	urt__stall_stop(L);
	report_unjoined(L);
	urt__overflow_handler_remove();
	io_uring_queue_exit(&L->ring);
	urt__multis_free_all();
	urt__pool_free();
	urt__bufrings_free_all();
	urt__tasks_free_all();
	urt__stacks_free_all();
	free(L->heap);
	urt__L = NULL;
	free(L);
	return r;
}

int urt_run(int (*main_fn)(void *), void *arg)
{
	return urt_run_opts(NULL, main_fn, arg);
}

int urt_stats_get(struct urt_stats *out)
{
	struct urt_loop *L = urt__L;
	if (!L || !out)
		return L ? -EINVAL : -EPERM;
	*out = L->stats;
	out->tasks = L->alive;
	return 0;
}

static const char *state_name(const urt_task *t)
{
	switch (t->state) {
	case URT_READY: return t->started ? "ready" : "new";
	case URT_RUNNING: return "running";
	case URT_WAIT_IO: return "wait-io";
	case URT_WAIT_USER: return t->timer_armed ? "wait-timer" : "wait";
	case URT_DONE: return "done";
	default: return "free";
	}
}

void urt_dump_tasks(FILE *out)
{
	struct urt_loop *L = urt__L;
	if (!L || !out)
		return;
	fprintf(out, "urt: %llu tasks alive, %u ready, %u CQEs expected\n",
		(unsigned long long)L->alive, L->nready, L->inflight);
	struct urt_list *pos;
	for (pos = L->tasks.next; pos != &L->tasks; pos = pos->next) {
		urt_task *t = urt__container_of(pos, urt_task, all);
		fprintf(out, "  #%-6llu %-24s %-10s stack=%zu%s%s\n", (unsigned long long)t->id,
			urt_task_name(t), state_name(t), t->stack_size,
			t->cancel_pending ? " cancel-pending" : "",
			t->state == URT_DONE ? "" : (t->deadline != URT_NO_DEADLINE ? " deadline" : ""));
	}
}
