/* SPDX-License-Identifier: MIT */
/*
 * Spawn + join of a trivial task, amortised ns per task:
 *   one-by-one: N times { t = urt_spawn(fn); urt_join(t) }
 *   batch:      N/1000 times { spawn 1000; join 1000 (urt_join in order) }
 * Reference in the same run: pthread_create + pthread_join of a trivial
 * thread (no direct baseline exists; the ratio is for scale only).
 * Contenders alternate: urt-1by1, pthread, urt-batch, per round.
 *
 * Usage: spawn [N tasks, default 200000] [rounds, default 7]
 */
#include "bench.h"

#include <pthread.h>
#include <urt.h>

#define BATCH 1000

static volatile long sink;

static int trivial(void *arg)
{
	sink += (long)(intptr_t)arg;
	return (int)(intptr_t)arg & 1;
}

struct spawn_args {
	long n;
	int batch;      /* 0 = one-by-one */
	double ns;      /* out: ns per spawn+join */
	int errors;
};

static urt_task *tasks[BATCH];

static int urt_main(void *arg)
{
	struct spawn_args *sa = arg;
	int r;
	/* Warm-up: fill the stack pool for a full batch. */
	for (int i = 0; i < BATCH; i++)
		tasks[i] = urt_spawn(trivial, (void *)(intptr_t)i);
	for (int i = 0; i < BATCH; i++)
		if (!tasks[i] || urt_join(tasks[i], &r) != 0)
			sa->errors++;

	int64_t t0 = bench_now_ns();
	if (!sa->batch) {
		for (long i = 0; i < sa->n; i++) {
			urt_task *t = urt_spawn(trivial, (void *)(intptr_t)i);
			if (!t || urt_join(t, &r) != 0 || r != (int)(i & 1))
				sa->errors++;
		}
	} else {
		for (long k = 0; k < sa->n / BATCH; k++) {
			for (int i = 0; i < BATCH; i++)
				tasks[i] = urt_spawn(trivial, (void *)(intptr_t)i);
			for (int i = 0; i < BATCH; i++)
				if (!tasks[i] || urt_join(tasks[i], &r) != 0 || r != (i & 1))
					sa->errors++;
		}
	}
	int64_t t1 = bench_now_ns();
	long done = sa->batch ? (sa->n / BATCH) * BATCH : sa->n;
	sa->ns = (double)(t1 - t0) / (double)done;
	return 0;
}

static double run_urt(long n, int batch)
{
	struct spawn_args sa = {.n = n, .batch = batch};
	int r = urt_run(urt_main, &sa);
	if (r != 0 || sa.errors) {
		fprintf(stderr, "spawn: urt_run returned %d, %d errors (batch=%d)\n", r, sa.errors, batch);
		return -1;
	}
	return sa.ns;
}

static void *pt_trivial(void *arg)
{
	sink += (long)(intptr_t)arg;
	return arg;
}

static double run_pthread(long n)
{
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		pthread_t th;
		void *ret;
		if (pthread_create(&th, NULL, pt_trivial, (void *)(intptr_t)i) != 0 ||
		    pthread_join(th, &ret) != 0) {
			fprintf(stderr, "spawn: pthread_create/join failed\n");
			return -1;
		}
		bench_keep(ret);
	}
	return (double)(bench_now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 200000);
	int rounds = bench_rounds(argc, argv, 2, 7);
	long npt = n / 100 < 200 ? 200 : n / 100; /* threads are ~100x dearer */
	double a[BENCH_MAX_ROUNDS], b[BENCH_MAX_ROUNDS], c[BENCH_MAX_ROUNDS];

	if (n < BATCH)
		n = BATCH;
	if (run_urt(n / 10, 0) < 0 || run_pthread(npt / 10 + 1) < 0)
		return 1;
	for (int i = 0; i < rounds; i++) {
		a[i] = run_urt(n, 0);
		b[i] = run_pthread(npt);
		c[i] = run_urt(n, 1);
		if (a[i] < 0 || b[i] < 0 || c[i] < 0)
			return 1;
	}
	double ma = bench_median(a, rounds), mb = bench_median(b, rounds), mc = bench_median(c, rounds);
	double ra = bench_median_ratio(a, b, rounds), rc = bench_median_ratio(c, b, rounds);
	printf("# spawn: %ld urt tasks, %ld pthreads per round x %d rounds (urt-1by1, pthread, urt-batch%d)\n",
	       n, npt, rounds, BATCH);
	for (int i = 0; i < rounds; i++)
		printf("#   round %d: urt 1by1 %.1f ns  pthread %.0f ns  urt batch %.1f ns\n", i, a[i], b[i], c[i]);
	printf("spawn_single urt_ns=%.1f pthread_ns=%.1f ratio=%.4f urt_min_ns=%.1f\n", ma, mb, ra,
	       bench_min(a, rounds));
	printf("spawn_batch urt_ns=%.1f pthread_ns=%.1f ratio=%.4f urt_min_ns=%.1f\n", mc, mb, rc,
	       bench_min(c, rounds));
	printf("# summary: spawn+join %.1f ns one-by-one, %.1f ns in batches of %d; pthread %.0f ns; "
	       "target <= 150 ns: %s / %s\n",
	       ma, mc, BATCH, mb, ma <= 150 ? "met" : "NOT met", mc <= 150 ? "met" : "NOT met");
	return 0;
}
