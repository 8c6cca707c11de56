/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the urt benchmarks: a monotonic clock, medians,
 * an optimisation barrier and the io_uring set-up that mirrors urt's.
 *
 * Method (every benchmark): contenders A (urt) and B (baseline) are run
 * alternately A B A B ... for R rounds in one process; we report the median
 * of A, the median of B, and the median of the R per-pair ratios A_i / B_i.
 */
#ifndef URT_BENCH_H
#define URT_BENCH_H

#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_ROUNDS 64

static inline int64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Keep the compiler from deleting or hoisting work around v. */
#define bench_keep(v) __asm__ volatile("" : : "g"(v) : "memory")
#define bench_clobber() __asm__ volatile("" : : : "memory")

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median of n values (the array is copied, not reordered). */
static inline double bench_median(const double *v, int n)
{
	double tmp[BENCH_MAX_ROUNDS];
	if (n <= 0)
		return 0.0;
	if (n > BENCH_MAX_ROUNDS)
		n = BENCH_MAX_ROUNDS;
	memcpy(tmp, v, (size_t)n * sizeof(double));
	qsort(tmp, (size_t)n, sizeof(double), bench_cmp_double);
	return (n & 1) ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

static inline double bench_min(const double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

/* Median of the per-pair ratios a[i] / b[i]. */
static inline double bench_median_ratio(const double *a, const double *b, int n)
{
	double r[BENCH_MAX_ROUNDS];
	if (n > BENCH_MAX_ROUNDS)
		n = BENCH_MAX_ROUNDS;
	for (int i = 0; i < n; i++)
		r[i] = b[i] > 0 ? a[i] / b[i] : 0.0;
	return bench_median(r, n);
}

/* argv[i] as a positive long, or def. */
static inline long bench_arg(int argc, char **argv, int i, long def)
{
	if (argc > i) {
		char *end;
		long v = strtol(argv[i], &end, 0);
		if (*end == '\0' && v > 0)
			return v;
		fprintf(stderr, "bad argument '%s', using %ld\n", argv[i], def);
	}
	return def;
}

static inline int bench_rounds(int argc, char **argv, int i, int def)
{
	long r = bench_arg(argc, argv, i, def);
	return r > BENCH_MAX_ROUNDS ? BENCH_MAX_ROUNDS : (int)r;
}

#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

/*
 * The ring set-up urt uses: SINGLE_ISSUER|DEFER_TASKRUN, else COOP_TASKRUN,
 * else no flags; CQ ring 8x the SQ ring. Returns 0 or -errno; *how names the
 * flags that worked.
 */
static inline int bench_ring_init(struct io_uring *ring, unsigned sq, unsigned cq, const char **how)
{
	static const struct {
		unsigned flags;
		const char *name;
	} tries[] = {
		{IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single_issuer|defer_taskrun"},
		{IORING_SETUP_COOP_TASKRUN, "coop_taskrun"},
		{0, "none"},
	};
	int ret = -EINVAL;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof(p));
		p.flags = tries[i].flags | IORING_SETUP_CQSIZE;
		p.cq_entries = cq;
		ret = io_uring_queue_init_params(sq, ring, &p);
		if (ret == 0) {
			if (how)
				*how = tries[i].name;
			return 0;
		}
	}
	return ret;
}

#endif /* URT_BENCH_H */
