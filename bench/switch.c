/* SPDX-License-Identifier: MIT */
/*
 * Context switch cost: two urt tasks ping-ponging with urt_yield, versus two
 * ucontexts ping-ponging with swapcontext, alternated A B A B ... in one run.
 *
 * Definition: one switch = control passing from one task (context) to the
 * other once. Each side makes N yields per task, i.e. 2N switches per
 * measurement; ns/switch = elapsed / (2N).
 *
 * Usage: switch [N yields per task, default 500000] [rounds, default 7]
 * Output: "switch urt_ns=... ucontext_ns=... ratio=..." (ratio = median of
 * per-round urt/ucontext ratios).
 */
#include "bench.h"

#include <ucontext.h>
#include <urt.h>

/* ---- urt side ---------------------------------------------------------- */

struct urt_ping {
	long n;
	int64_t t_start;  /* first task entering its loop */
	int64_t t_end[2]; /* each task leaving its loop */
	uint64_t sw0, sw1, en0, en1;
	int bad;
};

static struct urt_ping up;

static int pinger(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct urt_stats st;
	if (id == 0) {
		urt_stats_get(&st);
		up.sw0 = st.switches;
		up.en0 = st.enters;
		up.t_start = bench_now_ns();
	}
	for (long i = 0; i < up.n; i++) {
		if (urt_yield() != 0)
			up.bad++;
		bench_clobber();
	}
	up.t_end[id] = bench_now_ns();
	if (id == 1) {
		urt_stats_get(&st);
		up.sw1 = st.switches;
		up.en1 = st.enters;
	}
	return 0;
}

static int urt_main(void *arg)
{
	(void)arg;
	urt_task *a = urt_spawn(pinger, (void *)(intptr_t)0);
	urt_task *b = urt_spawn(pinger, (void *)(intptr_t)1);
	if (!a || !b)
		return -ENOMEM;
	int ra = -1, rb = -1;
	if (urt_join(a, &ra) || urt_join(b, &rb) || ra || rb)
		return -EIO;
	return 0;
}

/* Returns ns per switch, or < 0 on failure. */
static double run_urt(long n, double *sw_per_yield, double *enters_per_yield)
{
	memset(&up, 0, sizeof(up));
	up.n = n;
	int r = urt_run(urt_main, NULL);
	if (r != 0 || up.bad) {
		fprintf(stderr, "switch: urt_run returned %d, %d failed yields\n", r, up.bad);
		return -1;
	}
	int64_t end = up.t_end[0] > up.t_end[1] ? up.t_end[0] : up.t_end[1];
	*sw_per_yield = (double)(up.sw1 - up.sw0) / (2.0 * n);
	*enters_per_yield = (double)(up.en1 - up.en0) / (2.0 * n);
	return (double)(end - up.t_start) / (2.0 * n);
}

/* ---- ucontext side ------------------------------------------------------ */

static ucontext_t uc_main, uc_peer;
static long uc_n;
static volatile long uc_count;

static void peer_fn(void)
{
	for (long i = 0; i < uc_n; i++) {
		uc_count++;
		swapcontext(&uc_peer, &uc_main);
	}
}

static double run_ucontext(long n)
{
	static char stack[256 * 1024] __attribute__((aligned(64)));
	uc_n = n;
	uc_count = 0;
	getcontext(&uc_peer);
	uc_peer.uc_stack.ss_sp = stack;
	uc_peer.uc_stack.ss_size = sizeof(stack);
	uc_peer.uc_link = &uc_main;
	makecontext(&uc_peer, peer_fn, 0);
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		swapcontext(&uc_main, &uc_peer);
	int64_t t1 = bench_now_ns();
	swapcontext(&uc_main, &uc_peer); /* let peer_fn return via uc_link */
	if (uc_count != n) {
		fprintf(stderr, "switch: ucontext ping-pong lost count\n");
		return -1;
	}
	return (double)(t1 - t0) / (2.0 * n);
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 500000);
	int rounds = bench_rounds(argc, argv, 2, 7);
	double a[BENCH_MAX_ROUNDS], b[BENCH_MAX_ROUNDS];
	double swy = 0, eny = 0;

	/* Warm-up (page faults, stack pool, CPU frequency). */
	if (run_urt(n / 10 + 1, &swy, &eny) < 0 || run_ucontext(n / 10 + 1) < 0)
		return 1;
	for (int i = 0; i < rounds; i++) {
		a[i] = run_urt(n, &swy, &eny);
		b[i] = run_ucontext(n);
		if (a[i] < 0 || b[i] < 0)
			return 1;
	}
	double ma = bench_median(a, rounds), mb = bench_median(b, rounds);
	double ratio = bench_median_ratio(a, b, rounds);
	printf("# switch: %ld yields per task (2N = %ld switches) x %d rounds, alternating urt/ucontext\n",
	       n, 2 * n, rounds);
	for (int i = 0; i < rounds; i++)
		printf("#   round %d: urt %.2f ns  ucontext %.2f ns  ratio %.3f\n", i, a[i], b[i], a[i] / b[i]);
	printf("# urt counters per yield: %.3f switches, %.4f io_uring_enter\n", swy, eny);
	printf("switch urt_ns=%.2f ucontext_ns=%.2f ratio=%.3f urt_min_ns=%.2f ucontext_min_ns=%.2f "
	       "urt_stat_switches_per_yield=%.3f urt_enters_per_yield=%.4f\n",
	       ma, mb, ratio, bench_min(a, rounds), bench_min(b, rounds), swy, eny);
	printf("# summary: urt_yield switch %.2f ns vs swapcontext %.2f ns (urt/ucontext = %.3f); "
	       "target <= 5 ns: %s\n",
	       ma, mb, ratio, ma <= 5.0 ? "met" : "NOT met");
	return 0;
}
