/* SPDX-License-Identifier: MIT */
/*
 * Cross-loop figures (issue 14): two loops of urt_run_loops, each on its
 * own thread (pinned to CPUs 0 and 1 with URT_LOOPS_PIN).
 *
 *   spawn: a task on loop 0 spawns a no-op task on loop 1 (urt_spawn_on)
 *          and waits for it (urt_remote_wait): ns per spawn+join round trip.
 *   wake:  ping-pong between a task on each loop over two urt_xsem: ns per
 *          round trip (two cross-loop wake-ups).
 *   future: the same ping-pong over one-shot urt_xfuture, a fresh pair per
 *          round trip (made before the clock starts): loop 0 sets ping[i]
 *          and waits for pong[i], loop 1 waits for ping[i] and sets
 *          pong[i]: ns per round trip (two cross-loop future wake-ups).
 *   queue: a producer task on loop 0 puts N pointers into a urt_xqueue
 *          (capacity 1024), a consumer task on loop 1 takes them: ns per
 *          item.
 * Each urt figure runs with the cross-loop doorbell as IORING_OP_MSG_RING
 * (the default) and as an eventfd write (URT_DOORBELL=eventfd), alternating
 * round by round. Baselines, same rounds: a pthread mutex+condvar ping-pong
 * between two threads (against wake and future) and a mutex+condvar bounded queue of
 * 1024 between two threads (against queue), threads pinned the same way.
 *
 * Usage: bench_xloop [N, default 20000] [rounds, default 7] [msg|efd]
 *   (msg or efd: each figure once with that doorbell, with the CPU time of
 *   both threads per operation; for strace -c -f too)
 * Prints medians and the median per-round ratios.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include <sys/resource.h>

#include "bench.h"
#include "urt.h"

static long N;

/* ---- urt ---- */

static int noop(void *arg)
{
	return (int)(intptr_t)arg;
}

static int spawn_main(void *arg)
{
	double *out = arg;
	urt_loop *l1 = urt_loops_get(1);
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < N; i++) {
		urt_remote *h;
		if (urt_spawn_on(l1, noop, NULL, &h) || urt_remote_wait(h, NULL))
			return 1;
	}
	*out = (double)(bench_now_ns() - t0) / (double)N;
	return 0;
}

static urt_xsem *sa, *sb;

static int ponger(void *arg)
{
	(void)arg;
	for (long i = 0; i < N; i++) {
		if (urt_xsem_acquire(sb, -1) || urt_xsem_release(sa))
			return 1;
	}
	return 0;
}

static int wake_main(void *arg)
{
	double *out = arg;
	urt_xsem_new(0, &sa);
	urt_xsem_new(0, &sb);
	urt_remote *h;
	if (urt_spawn_on(urt_loops_get(1), ponger, NULL, &h))
		return 1;
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < N; i++) {
		if (urt_xsem_release(sb) || urt_xsem_acquire(sa, -1))
			return 1;
	}
	*out = (double)(bench_now_ns() - t0) / (double)N;
	int r = 1;
	urt_remote_wait(h, &r);
	urt_xsem_free(sa);
	urt_xsem_free(sb);
	return r;
}

static urt_xfuture **ping, **pong;

static int fut_ponger(void *arg)
{
	(void)arg;
	for (long i = 0; i < N; i++) {
		if (urt_xfuture_wait(ping[i], NULL, -1) || urt_xfuture_set(pong[i], 0, NULL))
			return 1;
	}
	return 0;
}

static int future_main(void *arg)
{
	double *out = arg;
	ping = calloc((size_t)N, sizeof *ping);
	pong = calloc((size_t)N, sizeof *pong);
	if (!ping || !pong)
		return 1;
	for (long i = 0; i < N; i++)
		if (urt_xfuture_new(&ping[i]) || urt_xfuture_new(&pong[i]))
			return 1;
	urt_remote *h;
	if (urt_spawn_on(urt_loops_get(1), fut_ponger, NULL, &h))
		return 1;
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < N; i++) {
		if (urt_xfuture_set(ping[i], 0, NULL) || urt_xfuture_wait(pong[i], NULL, -1))
			return 1;
	}
	*out = (double)(bench_now_ns() - t0) / (double)N;
	int r = 1;
	urt_remote_wait(h, &r);
	for (long i = 0; i < N; i++) {
		urt_xfuture_free(ping[i]);
		urt_xfuture_free(pong[i]);
	}
	free(ping);
	free(pong);
	return r;
}

static urt_xqueue *xq;

static int consumer(void *arg)
{
	(void)arg;
	for (long i = 0; i < 10 * N; i++) {
		void *it;
		if (urt_xqueue_get(xq, &it, -1))
			return 1;
		bench_keep(it);
	}
	return 0;
}

static int queue_main(void *arg)
{
	double *out = arg;
	urt_xqueue_new(1024, &xq);
	urt_remote *h;
	if (urt_spawn_on(urt_loops_get(1), consumer, NULL, &h))
		return 1;
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < 10 * N; i++)
		if (urt_xqueue_put(xq, (void *)(intptr_t)(i + 1), -1))
			return 1;
	int r = 1;
	urt_remote_wait(h, &r);
	*out = (double)(bench_now_ns() - t0) / (double)(10 * N);
	urt_xqueue_free(xq);
	return r;
}

static double cpu_ns(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e9 +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e3;
}

static double last_cpu; /* CPU time (all threads) of the last run_urt, ns */

static double run_urt(int (*fn)(void *), bool eventfd)
{
	double v = 0, c0 = cpu_ns();
	if (eventfd)
		setenv("URT_DOORBELL", "eventfd", 1);
	else
		unsetenv("URT_DOORBELL");
	if (urt_run_loops(2, URT_LOOPS_PIN, NULL, fn, &v) != 0) {
		fprintf(stderr, "urt run failed\n");
		exit(1);
	}
	last_cpu = cpu_ns() - c0;
	return v;
}

/* ---- pthread baselines ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_a = PTHREAD_COND_INITIALIZER, cv_b = PTHREAD_COND_INITIALIZER;
static long tok_a, tok_b;

static void pin_self(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *pt_ponger(void *arg)
{
	(void)arg;
	pin_self(1);
	for (long i = 0; i < N; i++) {
		pthread_mutex_lock(&mu);
		while (!tok_b)
			pthread_cond_wait(&cv_b, &mu);
		tok_b--;
		tok_a++;
		pthread_cond_signal(&cv_a);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/* The pthread baselines: peer on CPU 1, own() timed on CPU 0 until the
   peer is done too; ns per operation of ops. */
static double pt_run(void *(*peer)(void *), void (*own)(void), long ops)
{
	pthread_t th;
	pthread_create(&th, NULL, peer, NULL);
	pin_self(0);
	int64_t t0 = bench_now_ns();
	own();
	pthread_join(th, NULL);
	return (double)(bench_now_ns() - t0) / (double)ops;
}

static void pt_pinger(void)
{
	for (long i = 0; i < N; i++) {
		pthread_mutex_lock(&mu);
		tok_b++;
		pthread_cond_signal(&cv_b);
		while (!tok_a)
			pthread_cond_wait(&cv_a, &mu);
		tok_a--;
		pthread_mutex_unlock(&mu);
	}
}

static double run_pt_wake(void)
{
	tok_a = tok_b = 0;
	return pt_run(pt_ponger, pt_pinger, N);
}

#define QCAP 1024
static void *qring[QCAP];
static long qhead, qlen;
static pthread_cond_t q_nonempty = PTHREAD_COND_INITIALIZER, q_nonfull = PTHREAD_COND_INITIALIZER;

static void *pt_consumer(void *arg)
{
	(void)arg;
	pin_self(1);
	for (long i = 0; i < 10 * N; i++) {
		pthread_mutex_lock(&mu);
		while (!qlen)
			pthread_cond_wait(&q_nonempty, &mu);
		void *it = qring[qhead];
		qhead = (qhead + 1) % QCAP;
		if (qlen-- == QCAP)
			pthread_cond_signal(&q_nonfull);
		pthread_mutex_unlock(&mu);
		bench_keep(it);
	}
	return NULL;
}

static void pt_producer(void)
{
	for (long i = 0; i < 10 * N; i++) {
		pthread_mutex_lock(&mu);
		while (qlen == QCAP)
			pthread_cond_wait(&q_nonfull, &mu);
		qring[(qhead + qlen) % QCAP] = (void *)(intptr_t)(i + 1);
		if (qlen++ == 0)
			pthread_cond_signal(&q_nonempty);
		pthread_mutex_unlock(&mu);
	}
}

static double run_pt_queue(void)
{
	qhead = qlen = 0;
	return pt_run(pt_consumer, pt_producer, 10 * N);
}

/* One row of the table: a urt figure, run with each doorbell, and its
   pthread baseline where there is one. */
struct figure {
	const char *name, *label;
	int (*fn)(void *);
	long per_n; /* operations per run: per_n * N */
	double (*pt)(void);
	double m[BENCH_MAX_ROUNDS], e[BENCH_MAX_ROUNDS], p[BENCH_MAX_ROUNDS];
	double cm[BENCH_MAX_ROUNDS], ce[BENCH_MAX_ROUNDS];
};

static struct figure figs[] = {
	{.name = "spawn", .label = "spawn on loop 1 + join from loop 0 (ns/round trip)",
	 .fn = spawn_main, .per_n = 1},
	{.name = "wake", .label = "xsem ping-pong between loops (ns/round trip)", .fn = wake_main,
	 .per_n = 1, .pt = run_pt_wake},
	{.name = "future", .label = "xfuture ping-pong, fresh pair per round trip (ns/round trip)",
	 .fn = future_main, .per_n = 1, .pt = run_pt_wake},
	{.name = "queue", .label = "xqueue, producer loop 0 -> consumer loop 1 (ns/item)",
	 .fn = queue_main, .per_n = 10, .pt = run_pt_queue},
};
#define NFIGS (int)(sizeof figs / sizeof figs[0])

int main(int argc, char **argv)
{
	N = bench_arg(argc, argv, 1, 20000);
	int R = bench_rounds(argc, argv, 2, 7);
	if (argc > 3) {
		/* one doorbell, each figure once, with the process's CPU time
		   (both loop threads: user + system) per operation */
		bool efd = strcmp(argv[3], "efd") == 0;
		for (int i = 0; i < NFIGS; i++) {
			double v = run_urt(figs[i].fn, efd);
			printf("xloop_%s doorbell=%s ns=%.1f cpu_ns=%.1f\n", figs[i].name, argv[3], v,
			       last_cpu / (double)(figs[i].per_n * N));
		}
		return 0;
	}
	for (int r = 0; r < R; r++) {
		bool ev_first = r & 1; /* alternate which doorbell goes first */
		for (int i = 0; i < NFIGS; i++) {
			struct figure *f = &figs[i];
			if (f->pt)
				f->p[r] = f->pt();
			for (int k = 0; k < 2; k++) {
				bool ev = (k == 0) == ev_first;
				double v = run_urt(f->fn, ev), c = last_cpu / (double)(f->per_n * N);
				*(ev ? &f->e[r] : &f->m[r]) = v;
				*(ev ? &f->ce[r] : &f->cm[r]) = c;
			}
		}
	}
	printf("### xloop (2 loops pinned to CPUs 0 and 1; N=%ld, %d rounds)\n\n", N, R);
	printf("| figure | urt, MSG_RING doorbell | urt, eventfd doorbell | pthread mutex+condvar | MSG_RING / eventfd | MSG_RING / pthread |\n");
	printf("|---|---|---|---|---|---|\n");
	for (int i = 0; i < NFIGS; i++) {
		struct figure *f = &figs[i];
		printf("| %s | %.1f | %.1f | ", f->label, bench_median(f->m, R), bench_median(f->e, R));
		if (f->pt)
			printf("%.1f | %.2f | %.2f |\n", bench_median(f->p, R),
			       bench_median_ratio(f->m, f->e, R), bench_median_ratio(f->m, f->p, R));
		else
			printf("- | %.2f | - |\n", bench_median_ratio(f->m, f->e, R));
	}
	for (int i = 0; i < NFIGS; i++) {
		struct figure *f = &figs[i];
		printf("| CPU time, both loop threads, %s (ns per op) | %.1f | %.1f | - | %.2f | - |\n",
		       f->name, bench_median(f->cm, R), bench_median(f->ce, R),
		       bench_median_ratio(f->cm, f->ce, R));
	}
	return 0;
}
