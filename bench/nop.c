/* SPDX-License-Identifier: MIT */
/*
 * IORING_OP_NOP round trips: urt_nop versus a raw liburing loop on a ring set
 * up like urt's (SINGLE_ISSUER|DEFER_TASKRUN, else COOP_TASKRUN, else 0;
 * SQ 256, CQ 2048).
 *   single: one task calling urt_nop() in a loop
 *           vs raw: prep 1 NOP, io_uring_submit_and_wait(ring, 1), reap.
 *   batch:  32 tasks each calling urt_nop() in a loop
 *           vs raw: prep 32 NOPs, io_uring_submit_and_wait(ring, 32), reap all
 *           with io_uring_for_each_cqe + io_uring_cq_advance.
 * Rounds alternate urt-single, raw-single, urt-batch, raw-batch.
 * overhead = urt_ns_per_op / raw_ns_per_op - 1 (median of per-round ratios).
 *
 * Usage: nop [N ops, default 1000000] [rounds, default 7] [mode]
 *   mode = all (default) | urt-single | urt-batch | raw-single | raw-batch
 *   (a single mode runs N ops once, untimed output, e.g. under strace -c).
 */
#include "bench.h"

#include <urt.h>

#define SQ_ENTRIES 256
#define CQ_ENTRIES 2048
#define BATCH 32

/* ---- raw liburing ------------------------------------------------------ */

static struct io_uring ring;
static const char *ring_how = "?";
static long raw_enters;

static int raw_setup(void)
{
	int r = bench_ring_init(&ring, SQ_ENTRIES, CQ_ENTRIES, &ring_how);
	if (r < 0)
		fprintf(stderr, "nop: io_uring_queue_init_params: %s\n", strerror(-r));
	return r;
}

static double raw_single(long n)
{
	long bad = 0;
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		struct io_uring_cqe *cqe;
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, (uint64_t)i);
		int r = io_uring_submit_and_wait(&ring, 1);
		raw_enters++;
		if (r != 1 || io_uring_peek_cqe(&ring, &cqe) != 0) {
			fprintf(stderr, "nop: raw single submit_and_wait %d\n", r);
			return -1;
		}
		bad += cqe->res != 0 || cqe->user_data != (uint64_t)i;
		io_uring_cqe_seen(&ring, cqe);
	}
	int64_t t1 = bench_now_ns();
	if (bad) {
		fprintf(stderr, "nop: raw single: %ld bad CQEs\n", bad);
		return -1;
	}
	return (double)(t1 - t0) / (double)n;
}

static double raw_batch(long n)
{
	long rounds = n / BATCH, bad = 0, reaped_total = 0;
	int64_t t0 = bench_now_ns();
	for (long k = 0; k < rounds; k++) {
		for (int i = 0; i < BATCH; i++) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, (uint64_t)i);
		}
		int r = io_uring_submit_and_wait(&ring, BATCH);
		raw_enters++;
		if (r != BATCH) {
			fprintf(stderr, "nop: raw batch submit_and_wait %d\n", r);
			return -1;
		}
		int reaped = 0;
		while (reaped < BATCH) {
			struct io_uring_cqe *cqe;
			unsigned head, cnt = 0;
			io_uring_for_each_cqe(&ring, head, cqe)
			{
				bad += cqe->res != 0;
				cnt++;
			}
			io_uring_cq_advance(&ring, cnt);
			reaped += (int)cnt;
			if (reaped < BATCH) { /* not expected: NOPs complete inline */
				io_uring_submit_and_wait(&ring, (unsigned)(BATCH - reaped));
				raw_enters++;
			}
		}
		reaped_total += reaped;
	}
	int64_t t1 = bench_now_ns();
	if (bad || reaped_total != rounds * BATCH) {
		fprintf(stderr, "nop: raw batch: %ld bad CQEs, %ld reaped\n", bad, reaped_total);
		return -1;
	}
	return (double)(t1 - t0) / (double)(rounds * BATCH);
}

/* ---- urt --------------------------------------------------------------- */

struct nop_args {
	long n;   /* total ops */
	int ntasks;
	double ns;
	long errors;
	double enters_per_op, turns_per_op, sqes_per_op;
};

static int nop_task(void *arg)
{
	long n = (long)(intptr_t)arg, bad = 0;
	for (long i = 0; i < n; i++)
		bad += urt_nop() != 0;
	return bad ? -EIO : 0;
}

static int urt_main(void *arg)
{
	struct nop_args *na = arg;
	urt_task *t[BATCH];
	long per = na->n / na->ntasks;
	struct urt_stats s0, s1;

	urt_stats_get(&s0);
	int64_t t0 = bench_now_ns();
	if (na->ntasks == 1) {
		for (long i = 0; i < per; i++)
			na->errors += urt_nop() != 0;
	} else {
		for (int i = 0; i < na->ntasks; i++)
			if (!(t[i] = urt_spawn(nop_task, (void *)(intptr_t)per)))
				return -ENOMEM;
		for (int i = 0; i < na->ntasks; i++) {
			int r = -1;
			if (urt_join(t[i], &r) != 0 || r != 0)
				na->errors++;
		}
	}
	int64_t t1 = bench_now_ns();
	urt_stats_get(&s1);
	double ops = (double)(per * na->ntasks);
	na->ns = (double)(t1 - t0) / ops;
	na->enters_per_op = (double)(s1.enters - s0.enters) / ops;
	na->turns_per_op = (double)(s1.loop_turns - s0.loop_turns) / ops;
	na->sqes_per_op = (double)(s1.sqes - s0.sqes) / ops;
	return 0;
}

static double run_urt(long n, int ntasks, struct nop_args *out)
{
	struct nop_args na = {.n = n, .ntasks = ntasks};
	int r = urt_run(urt_main, &na);
	if (r != 0 || na.errors) {
		fprintf(stderr, "nop: urt_run returned %d, %ld errors (tasks=%d)\n", r, na.errors, ntasks);
		return -1;
	}
	if (out)
		*out = na;
	return na.ns;
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 1000000);
	int rounds = bench_rounds(argc, argv, 2, 7);
	const char *mode = argc > 3 ? argv[3] : "all";
	double us[BENCH_MAX_ROUNDS], rs[BENCH_MAX_ROUNDS], ub[BENCH_MAX_ROUNDS], rb[BENCH_MAX_ROUNDS];
	struct nop_args ns1 = {0}, nsb = {0};

	n = (n + BATCH - 1) / BATCH * BATCH;
	if (strcmp(mode, "all") != 0) {
		/* One contender, once (for strace -c / perf). */
		double v;
		if (!strncmp(mode, "raw", 3) && raw_setup() < 0)
			return 1;
		if (!strcmp(mode, "urt-single"))
			v = run_urt(n, 1, &ns1);
		else if (!strcmp(mode, "urt-batch"))
			v = run_urt(n, BATCH, &ns1);
		else if (!strcmp(mode, "raw-single"))
			v = raw_single(n);
		else if (!strcmp(mode, "raw-batch"))
			v = raw_batch(n);
		else {
			fprintf(stderr, "nop: unknown mode %s\n", mode);
			return 2;
		}
		if (v < 0)
			return 1;
		printf("nop_mode mode=%s ops=%ld ns_per_op=%.1f urt_enters_per_op=%.4f raw_enters=%ld\n", mode, n,
		       v, ns1.enters_per_op, raw_enters);
		return 0;
	}

	if (raw_setup() < 0)
		return 1;
	/* Warm-up. */
	if (run_urt(n / 10, 1, NULL) < 0 || raw_single(n / 10) < 0 || run_urt(n / 10, BATCH, NULL) < 0 ||
	    raw_batch(n / 10) < 0)
		return 1;
	long e0 = raw_enters, e1 = 0, e2 = 0;
	for (int i = 0; i < rounds; i++) {
		us[i] = run_urt(n, 1, &ns1);
		e1 -= raw_enters;
		rs[i] = raw_single(n);
		e1 += raw_enters;
		ub[i] = run_urt(n, BATCH, &nsb);
		e2 -= raw_enters;
		rb[i] = raw_batch(n);
		e2 += raw_enters;
		if (us[i] < 0 || rs[i] < 0 || ub[i] < 0 || rb[i] < 0)
			return 1;
	}
	(void)e0;
	double mus = bench_median(us, rounds), mrs = bench_median(rs, rounds);
	double mub = bench_median(ub, rounds), mrb = bench_median(rb, rounds);
	double r1 = bench_median_ratio(us, rs, rounds), r2 = bench_median_ratio(ub, rb, rounds);
	double raw_e1 = (double)e1 / ((double)n * rounds), raw_e2 = (double)e2 / ((double)n * rounds);

	printf("# nop: %ld ops per contender x %d rounds; raw ring flags: %s, SQ %d CQ %d\n", n, rounds,
	       ring_how, SQ_ENTRIES, CQ_ENTRIES);
	for (int i = 0; i < rounds; i++)
		printf("#   round %d: single urt %.1f raw %.1f ns/op (%.3f) | batch urt %.1f raw %.1f ns/op (%.3f)\n",
		       i, us[i], rs[i], us[i] / rs[i], ub[i], rb[i], ub[i] / rb[i]);
	printf("# urt counters per op: single %.4f enters, %.4f turns, %.3f sqes | batch %.4f enters, %.4f "
	       "turns, %.3f sqes\n",
	       ns1.enters_per_op, ns1.turns_per_op, ns1.sqes_per_op, nsb.enters_per_op, nsb.turns_per_op,
	       nsb.sqes_per_op);
	printf("nop_single urt_ns=%.1f raw_ns=%.1f ratio=%.3f overhead_pct=%.1f urt_ops_s=%.0f raw_ops_s=%.0f "
	       "urt_enters_per_op=%.4f raw_enters_per_op=%.4f\n",
	       mus, mrs, r1, (r1 - 1) * 100, 1e9 / mus, 1e9 / mrs, ns1.enters_per_op, raw_e1);
	printf("nop_batch urt_ns=%.1f raw_ns=%.1f ratio=%.3f overhead_pct=%.1f urt_ops_s=%.0f raw_ops_s=%.0f "
	       "urt_enters_per_op=%.4f raw_enters_per_op=%.4f\n",
	       mub, mrb, r2, (r2 - 1) * 100, 1e9 / mub, 1e9 / mrb, nsb.enters_per_op, raw_e2);
	printf("# summary: single %.2f M ops/s urt vs %.2f M raw (+%.1f%%); batch-32 %.2f M ops/s urt vs "
	       "%.2f M raw (+%.1f%%); target <= 15%% over raw batched: %s\n",
	       1e3 / mus, 1e3 / mrs, (r1 - 1) * 100, 1e3 / mub, 1e3 / mrb, (r2 - 1) * 100,
	       r2 - 1 <= 0.15 ? "met" : "NOT met");
	io_uring_queue_exit(&ring);
	return 0;
}
