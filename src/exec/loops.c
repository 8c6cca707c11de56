/* SPDX-License-Identifier: MIT */
/*
 * Thread-per-core: N loops on N threads (urt_run_loops).
 *
 * Each loop is an ordinary urt_run loop on its own thread: its own ring,
 * stacks, timers, task pool; nothing is shared on the hot path. Loop 0
 * runs on the caller's thread and runs main; loops 1..N-1 run a keeper
 * task that sleeps until told to stop. Work crosses loops only through
 * each loop's remote queue (exec/remote.c: urt_loop_submit, and the
 * wake-ups of exec/xwait.h), so a loop's own tasks never take a lock.
 *
 * Start: the threads come up, each publishes its loop, and nobody goes
 * on before all have (a mutex and a condition variable, start-up only), so urt_loops_get works for every
 * index from the first instruction of main (and of anything spawned).
 * Stop: when main returns, loop 0 asks every other loop to stop
 * (urt_loop_stop: their keeper is cancelled, and urt_run's shutdown
 * cancels and joins every task of that loop), loop 0 shuts down the same
 * way, and the caller's thread joins the threads. A task blocked on any
 * loop is cancelled and waited for; nothing is left running.
 *
 * Sizing: N loops share the machine's CPUs, so each loop's executor gets
 * offload_threads / N workers (at least 1) and each ring's bounded io-wq
 * limit is divided by N, unless the caller set them: N loops do not start
 * N x CPUs threads.
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "exec/exec.h"

#define URT__MAX_PIN_CPUS 1024

struct urt__runtime {
	unsigned n;
	unsigned flags;
	struct urt_options opts;     /* for loops 1..n-1 (and loop 0) */
	urt_loop **loops;
	pthread_t *threads;
	int *results;                /* each loop thread's urt_run result */
	pthread_mutex_t mu;          /* start-up: loops published, go / abort */
	pthread_cond_t cv;
	unsigned published;
	int state;                   /* 0 starting, 1 go, 2 abort */
	_Atomic unsigned next;       /* round robin for urt_loops_least_loaded ties */
	_Atomic bool msg_ring;       /* cross-loop doorbells by IORING_OP_MSG_RING */
	int (*main)(void *);
	void *arg;
	int cpus[URT__MAX_PIN_CPUS]; /* URT_LOOPS_PIN: the CPUs to pin to, in order */
	unsigned ncpus;
};

struct start {
	struct urt__runtime *rt;
	unsigned index;
};

/* Pin the calling thread to the index-th CPU of those the process may
   run on (its affinity mask as urt_run_loops found it: taskset and cpusets
   are respected), modulo their number. Best effort. */
static void pin(const struct urt__runtime *rt, unsigned index)
{
	if (rt->ncpus)
		urt_pin_self(&rt->cpus[index % rt->ncpus], 1);
}

/* The CPUs of the calling thread's affinity mask, in order (read before
   anything is pinned: the loop threads inherit it); the first
   URT__MAX_PIN_CPUS of them on larger machines. */
static void read_cpus(struct urt__runtime *rt)
{
	int n = urt_cpus(rt->cpus, URT__MAX_PIN_CPUS);
	if (n > 0) /* (else not pinned) */
		rt->ncpus = (unsigned)n < URT__MAX_PIN_CPUS ? (unsigned)n : URT__MAX_PIN_CPUS;
}

/* Publish the calling loop as loop `index` of rt, then wait until all
   are there (true) or the start was abandoned (false). Loop 0 says go. */
static bool join_runtime(struct urt__runtime *rt, unsigned index)
{
	urt_loop *L = urt_loop_current(); /* also: other threads may submit */
	urt_loop_ref(L); /* the handle outlives the loop: others may submit late */
	L->rt = rt;
	L->rt_index = index;
	pthread_mutex_lock(&rt->mu);
	rt->loops[index] = L;
	rt->published++;
	pthread_cond_broadcast(&rt->cv);
	if (index == 0) {
		while (rt->published < rt->n && rt->state == 0)
			pthread_cond_wait(&rt->cv, &rt->mu);
		if (rt->state == 0)
			rt->state = 1;
		pthread_cond_broadcast(&rt->cv);
	}
	while (rt->state == 0)
		pthread_cond_wait(&rt->cv, &rt->mu);
	bool go = rt->state == 1;
	pthread_mutex_unlock(&rt->mu);
	return go;
}

static int keeper(void *arg)
{
	struct start *s = arg;
	if (!join_runtime(s->rt, s->index))
		return 0;
	/* Until urt_loop_stop cancels it. Every other task of this loop is
	   then cancelled and joined by urt_run. */
	while (urt_sleep_ns(INT64_MAX / 2) == 0)
		;
	return 0;
}

static void *loop_thread(void *arg)
{
	struct start *s = arg;
	if (s->rt->flags & URT_LOOPS_PIN)
		pin(s->rt, s->index);
	char name[16];
	snprintf(name, sizeof name, "urt-loop-%u", s->index);
	pthread_setname_np(pthread_self(), name);
	struct urt__runtime *rt = s->rt;
	int r = urt_run_opts(&rt->opts, keeper, s);
	pthread_mutex_lock(&rt->mu);
	rt->results[s->index] = r;
	if (!rt->loops[s->index]) { /* its loop never came up: abandon the start */
		rt->state = 2;
		pthread_cond_broadcast(&rt->cv);
	}
	pthread_mutex_unlock(&rt->mu);
	return NULL;
}

static int main0(void *arg)
{
	struct urt__runtime *rt = arg;
	int r = join_runtime(rt, 0) ? rt->main(rt->arg) : -EAGAIN; /* (a loop failed: its error wins below) */
	for (unsigned i = 1; i < rt->n; i++)
		if (rt->loops[i])
			urt_loop_stop(rt->loops[i]); /* the others shut down too */
	return r;
}

int urt_run_loops(unsigned n, unsigned flags, const struct urt_options *o,
		  int (*main_fn)(void *), void *arg)
{
	if (!main_fn || (flags & ~URT_LOOPS_PIN) || n > 1024)
		return -EINVAL;
	if (urt__L)
		return -EBUSY;
	if (n == 0)
		n = urt__cpu_count(); /* one per CPU we may use (taskset, cgroups) */
	struct urt__runtime *rt = calloc(1, sizeof *rt);
	if (!rt)
		return -ENOMEM;
	rt->n = n;
	rt->flags = flags;
	rt->main = main_fn;
	rt->arg = arg;
	if (o)
		rt->opts = *o;
	unsigned cpus = urt__cpu_count();
	if (!rt->opts.offload_threads)
		rt->opts.offload_threads = cpus / n ? cpus / n : 1;
	if (!rt->opts.iowq_bounded) {
		unsigned b = 4 * cpus / n;
		rt->opts.iowq_bounded = (int)(b ? b : 1);
	}
	/* URT_DOORBELL=eventfd|msg_ring picks the cross-loop doorbell (for
	   bench/xloop.c); default msg_ring, which falls back by itself */
	atomic_init(&rt->msg_ring, !urt__env().doorbell_eventfd);
	if (flags & URT_LOOPS_PIN)
		read_cpus(rt);
	rt->loops = calloc(n, sizeof *rt->loops);
	rt->threads = calloc(n, sizeof *rt->threads);
	rt->results = calloc(n, sizeof *rt->results);
	struct start *st = calloc(n, sizeof *st);
	int r = -ENOMEM;
	if (!rt->loops || !rt->threads || !rt->results || !st)
		goto out;
	pthread_mutex_init(&rt->mu, NULL);
	pthread_cond_init(&rt->cv, NULL);
	unsigned started = 1;
	for (; started < n; started++) {
		st[started] = (struct start){.rt = rt, .index = started};
		if (pthread_create(&rt->threads[started], NULL, loop_thread, &st[started]))
			break;
	}
	if (started < n) { /* out of threads: the ones started end at once */
		pthread_mutex_lock(&rt->mu);
		rt->state = 2;
		pthread_cond_broadcast(&rt->cv);
		pthread_mutex_unlock(&rt->mu);
		r = -EAGAIN;
	} else {
		if (flags & URT_LOOPS_PIN)
			pin(rt, 0);
		r = urt_run_opts(&rt->opts, main0, rt);
	}
	for (unsigned i = 1; i < started; i++)
		pthread_join(rt->threads[i], NULL);
	for (unsigned i = 0; i < n; i++)
		if (rt->loops[i])
			urt_loop_unref(rt->loops[i]); /* every thread has ended */
	if (r >= 0 || r == -EAGAIN)
		for (unsigned i = 1; i < n; i++)
			if (rt->results[i] < 0) {
				r = rt->results[i]; /* a loop that could not start, say */
				break;
			}
	pthread_cond_destroy(&rt->cv);
	pthread_mutex_destroy(&rt->mu);
out:
	free(st);
	free(rt->loops);
	free(rt->threads);
	free(rt->results);
	free(rt);
	return r;
}

unsigned urt_loops_count(void)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return 0;
	return L->rt ? L->rt->n : 1;
}

urt_loop *urt_loops_get(unsigned i)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return NULL;
	if (!L->rt)
		return i == 0 ? urt_loop_current() : NULL;
	return i < L->rt->n ? L->rt->loops[i] : NULL;
}

int urt_loop_index(void)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return -1;
	return L->rt ? (int)L->rt_index : 0;
}

urt_loop *urt_loops_least_loaded(void)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return NULL;
	if (!L->rt)
		return urt_loop_current();
	struct urt__runtime *rt = L->rt;
	/* start the scan at a rotating index, so ties spread out */
	unsigned start = atomic_fetch_add_explicit(&rt->next, 1, memory_order_relaxed) % rt->n;
	urt_loop *best = NULL, *any = NULL;
	uint64_t best_alive = UINT64_MAX, any_alive = UINT64_MAX;
	for (unsigned k = 0; k < rt->n; k++) {
		urt_loop *c = rt->loops[(start + k) % rt->n];
		uint64_t a = atomic_load_explicit(&c->alive_pub, memory_order_relaxed);
		/* a loop shutting down has few tasks and would win every time,
		   then refuse the work (-ESHUTDOWN) or cancel it at once */
		if (!atomic_load_explicit(&c->closing, memory_order_relaxed) && a < best_alive) {
			best = c;
			best_alive = a;
		}
		if (a < any_alive) {
			any = c;
			any_alive = a;
		}
	}
	return best ? best : any; /* all shutting down: the caller hears -ESHUTDOWN */
}

int urt_spawn_on(urt_loop *loop, int (*fn)(void *), void *arg, urt_remote **out)
{
	if (out)
		*out = NULL;
	if (!loop)
		loop = urt_loops_least_loaded();
	if (!loop)
		return -EPERM;
	return urt_loop_submit(loop, fn, arg, out);
}

bool urt__rt_msg_ring(struct urt__runtime *rt)
{
	return atomic_load_explicit(&rt->msg_ring, memory_order_relaxed);
}

void urt__rt_no_msg_ring(struct urt__runtime *rt)
{
	if (rt)
		atomic_store_explicit(&rt->msg_ring, false, memory_order_relaxed);
}
