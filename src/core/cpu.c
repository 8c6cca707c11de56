/* SPDX-License-Identifier: MIT */
/*
 * The CPUs a thread may run on: the one reading of the affinity mask that
 * the library (pool sizes, URT_LOOPS_PIN), the tools and urt-cp use.
 */
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "core/core.h"

/* A mask of CPUs 0..n-1 goes up to this: a CPU number beyond it is an
   error, not an allocation of any size. */
#define URT__MAX_CPU_NUMBER (1 << 20)

int urt_cpus(int *cpus, unsigned max)
{
	if (max && !cpus)
		return -EINVAL;
	/* a cpu_set_t holds CPU_SETSIZE (1024) CPUs; sched_getaffinity refuses
	   a mask smaller than the kernel's (EINVAL): grow it until it fits */
	for (int size = CPU_SETSIZE; size <= URT__MAX_CPU_NUMBER; size *= 2) {
		cpu_set_t *set = CPU_ALLOC(size);
		if (!set)
			return -ENOMEM;
		size_t bytes = CPU_ALLOC_SIZE(size);
		if (sched_getaffinity(0, bytes, set) != 0) {
			int e = errno;
			CPU_FREE(set);
			if (e != EINVAL)
				return -e;
			continue;
		}
		unsigned n = 0;
		for (int c = 0; c < size; c++)
			if (CPU_ISSET_S(c, bytes, set)) {
				if (n < max)
					cpus[n] = c;
				n++;
			}
		CPU_FREE(set);
		return n ? (int)n : -EINVAL;
	}
	return -EINVAL;
}

int urt_pin_self(const int *cpus, unsigned n)
{
	if (!cpus || !n)
		return -EINVAL;
	int top = 0;
	for (unsigned i = 0; i < n; i++) {
		if (cpus[i] < 0 || cpus[i] >= URT__MAX_CPU_NUMBER)
			return -EINVAL;
		if (cpus[i] > top)
			top = cpus[i];
	}
	cpu_set_t *set = CPU_ALLOC(top + 1);
	if (!set)
		return -ENOMEM;
	size_t bytes = CPU_ALLOC_SIZE(top + 1);
	CPU_ZERO_S(bytes, set);
	for (unsigned i = 0; i < n; i++)
		CPU_SET_S(cpus[i], bytes, set);
	int r = sched_setaffinity(0, bytes, set) == 0 ? 0 : -errno;
	CPU_FREE(set);
	return r;
}


unsigned urt__cpu_count(void)
{
	int n = urt_cpus(NULL, 0);
	if (n > 0)
		return (unsigned)n;
	long c = sysconf(_SC_NPROCESSORS_ONLN); /* the mask cannot be read */
	return c > 0 ? (unsigned)c : 1;
}
