/* SPDX-License-Identifier: MIT */
/*
 * Cross-loop figures (issue 14): two loops of urt_run_loops, each on its
 * own thread (pinned to CPUs 0 and 1 with URT_LOOPS_PIN).
 *
 *   spawn: a task on loop 0 spawns a no-op task on loop 1 (urt_spawn_on)
 *          and waits for it (urt_remote_wait): ns per spawn+join round trip.
 *   wake:  ping-pong between a task on each loop over two urt_xsem: ns per
 *          round trip (two cross-loop wake-ups).
 *   queue: a producer task on loop 0 puts N pointers into a urt_xqueue
 *          (capacity 1024), a consumer task on loop 1 takes them: ns per
 *          item.
 * Each urt figure runs with the cross-loop doorbell as IORING_OP_MSG_RING
 * (the default) and as an eventfd write (URT_DOORBELL=eventfd), alternating
 * round by round. Baselines, same rounds: a pthread mutex+condvar ping-pong
 * between two threads (against wake) and a mutex+condvar bounded queue of
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

static urt_xqueue *xq;

static int consumer(void *arg)
{
	(void)arg;
	for (long i = 0; i < 10 * N; i++) {
		void *it;
		if (urt_xqueue_get(xq, -1, &it))
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

int main(int argc, char **argv)
{
	N = bench_arg(argc, argv, 1, 20000);
	int R = bench_rounds(argc, argv, 2, 7);
	if (argc > 3) {
		/* one doorbell, each figure once, with the process's CPU time
		   (both loop threads: user + system) per operation */
		bool efd = strcmp(argv[3], "efd") == 0;
		int (*fns[3])(void *) = {spawn_main, wake_main, queue_main};
		const char *names[3] = {"spawn", "wake", "queue"};
		for (int i = 0; i < 3; i++) {
			double v = run_urt(fns[i], efd);
			long ops = i == 2 ? 10 * N : N;
			printf("xloop_%s doorbell=%s ns=%.1f cpu_ns=%.1f\n", names[i], argv[3], v,
			       last_cpu / (double)ops);
		}
		return 0;
	}
	double sp_m[BENCH_MAX_ROUNDS], sp_e[BENCH_MAX_ROUNDS];
	double wk_m[BENCH_MAX_ROUNDS], wk_e[BENCH_MAX_ROUNDS], wk_p[BENCH_MAX_ROUNDS];
	double q_m[BENCH_MAX_ROUNDS], q_e[BENCH_MAX_ROUNDS], q_p[BENCH_MAX_ROUNDS];
	double c_sm[BENCH_MAX_ROUNDS], c_se[BENCH_MAX_ROUNDS], c_wm[BENCH_MAX_ROUNDS],
		c_we[BENCH_MAX_ROUNDS], c_qm[BENCH_MAX_ROUNDS], c_qe[BENCH_MAX_ROUNDS];
	for (int r = 0; r < R; r++) {
		bool ev_first = r & 1; /* alternate which doorbell goes first */
		for (int k = 0; k < 2; k++) {
			bool ev = (k == 0) == ev_first;
			double v = run_urt(spawn_main, ev), c = last_cpu / (double)N;
			*(ev ? &sp_e[r] : &sp_m[r]) = v;
			*(ev ? &c_se[r] : &c_sm[r]) = c;
		}
		wk_p[r] = run_pt_wake();
		for (int k = 0; k < 2; k++) {
			bool ev = (k == 0) == ev_first;
			double v = run_urt(wake_main, ev), c = last_cpu / (double)N;
			*(ev ? &wk_e[r] : &wk_m[r]) = v;
			*(ev ? &c_we[r] : &c_wm[r]) = c;
		}
		q_p[r] = run_pt_queue();
		for (int k = 0; k < 2; k++) {
			bool ev = (k == 0) == ev_first;
			double v = run_urt(queue_main, ev), c = last_cpu / (double)(10 * N);
			*(ev ? &q_e[r] : &q_m[r]) = v;
			*(ev ? &c_qe[r] : &c_qm[r]) = c;
		}
	}
	printf("### xloop (2 loops pinned to CPUs 0 and 1; N=%ld, %d rounds)\n\n", N, R);
	printf("| figure | urt, MSG_RING doorbell | urt, eventfd doorbell | pthread mutex+condvar | MSG_RING / eventfd | MSG_RING / pthread |\n");
	printf("|---|---|---|---|---|---|\n");
	printf("| spawn on loop 1 + join from loop 0 (ns/round trip) | %.0f | %.0f | - | %.2f | - |\n",
	       bench_median(sp_m, R), bench_median(sp_e, R), bench_median_ratio(sp_m, sp_e, R));
	printf("| xsem ping-pong between loops (ns/round trip) | %.0f | %.0f | %.0f | %.2f | %.2f |\n",
	       bench_median(wk_m, R), bench_median(wk_e, R), bench_median(wk_p, R),
	       bench_median_ratio(wk_m, wk_e, R), bench_median_ratio(wk_m, wk_p, R));
	printf("| xqueue, producer loop 0 -> consumer loop 1 (ns/item) | %.1f | %.1f | %.1f | %.2f | %.2f |\n",
	       bench_median(q_m, R), bench_median(q_e, R), bench_median(q_p, R),
	       bench_median_ratio(q_m, q_e, R), bench_median_ratio(q_m, q_p, R));
	printf("| CPU time, both loop threads, per spawn+join (ns) | %.0f | %.0f | - | %.2f | - |\n",
	       bench_median(c_sm, R), bench_median(c_se, R), bench_median_ratio(c_sm, c_se, R));
	printf("| CPU time, both loop threads, per ping-pong round trip (ns) | %.0f | %.0f | - | %.2f | - |\n",
	       bench_median(c_wm, R), bench_median(c_we, R), bench_median_ratio(c_wm, c_we, R));
	printf("| CPU time, both loop threads, per queue item (ns) | %.0f | %.0f | - | %.2f | - |\n",
	       bench_median(c_qm, R), bench_median(c_qe, R), bench_median_ratio(c_qm, c_qe, R));
	return 0;
}
