/* SPDX-License-Identifier: MIT */
/* urt-load's log-linear latency histogram (tools/urt-load/hist.h). */
#include "helpers.h"
#include "../tools/urt-load/hist.h"

Test(hist, index_is_monotonic_and_within_one_sixteenth)
{
	unsigned prev = 0;
	for (uint64_t v = 1; v < (UINT64_C(1) << 40); v = v + 1 + v / 7) {
		unsigned i = hist_index(v);
		cr_assert_geq(i, prev, "index not monotonic at %llu", (unsigned long long)v);
		cr_assert_lt(i, HIST_BUCKETS);
		uint64_t lo = hist_value(i);
		cr_assert_leq(lo, v, "bucket lower bound above the value %llu", (unsigned long long)v);
		cr_assert_leq(v - lo, v / 16, "value %llu off by more than 1/16", (unsigned long long)v);
		prev = i;
	}
	cr_assert_lt(hist_index(UINT64_MAX), HIST_BUCKETS);
}

Test(hist, quantiles_of_a_known_distribution)
{
	static struct hist h;
	cr_assert_eq(hist_quantile(&h, 0.5), 0); /* empty */
	for (uint64_t v = 1; v <= 100000; v++) /* uniform 1..100000 */
		hist_add(&h, v * 1000);
	cr_assert_eq(h.n, 100000);
	struct { double q; double want; } cases[] = {{0.5, 50e6}, {0.99, 99e6}, {0.999, 99.9e6}};
	for (unsigned i = 0; i < 3; i++) {
		double got = (double)hist_quantile(&h, cases[i].q);
		cr_assert_leq(got, cases[i].want * 1.001, "q %.3f: %.0f", cases[i].q, got);
		cr_assert_geq(got, cases[i].want * (1 - 1.0 / 16) * 0.999, "q %.3f: %.0f", cases[i].q, got);
	}
	static struct hist h2;
	hist_add(&h2, 7);
	hist_merge(&h2, &h);
	cr_assert_eq(h2.n, 100001);
	cr_assert_eq(hist_quantile(&h2, 0.0), 7);
}
