/* SPDX-License-Identifier: MIT */
/*
 * Where urt-cp's threads run, through the library's CPU list (urt_cpus,
 * urt_pin_self; a tree's loops are pinned by urt_run_loops itself,
 * URT_LOOPS_PIN). Executor threads inherit the pin of the loop that starts
 * them, and an in-kernel copy (copy_file_range) wants a CPU of its own:
 * they go back to every CPU the process had (cp_unpin_self).
 */
#include <sched.h>
#include <stdlib.h>

#include "cp.h"

/* The process's CPUs before anything was pinned; none: nothing to undo. */
static int *all_cpus;
static unsigned nall;

/* URTCP_PIN=0 leaves every thread unpinned (for measuring). */
bool cp_pin_wanted(void)
{
	const char *pin = getenv("URTCP_PIN");
	return !pin || atoi(pin);
}

int cp_cpu_count(void)
{
	int n = urt_cpus(NULL, 0);
	return n > 0 ? n : 0;
}

bool cp_pin_remember(void)
{
	int n = urt_cpus(NULL, 0);
	if (n <= 0 || !(all_cpus = malloc((size_t)n * sizeof *all_cpus)))
		return false;
	int got = urt_cpus(all_cpus, (unsigned)n);
	nall = got < 0 ? 0 : got < n ? (unsigned)got : (unsigned)n; /* (the mask changed: fewer) */
	return nall > 0;
}

void cp_pin_here(void)
{
	int cpu = sched_getcpu();
	if (cpu >= 0 && cp_pin_remember())
		urt_pin_self(&cpu, 1); /* best effort */
}

void cp_unpin_self(void)
{
	static __thread bool unpinned;
	if (!unpinned && nall) {
		urt_pin_self(all_cpus, nall);
		unpinned = true;
	}
}
