/* SPDX-License-Identifier: MIT */
/* The context switch keeps each task's floating-point control state (MXCSR
   and the x87 control word on x86-64, FPCR on aarch64) and callee-saved
   registers to itself. */
#include <fenv.h>

#include "helpers.h"

static int other_mode = -1, own_mode_after = -1;

static int rounding_task(void *arg)
{
	(void)arg;
	fesetround(FE_DOWNWARD);
	cr_assert_eq(urt_yield(), 0);
	own_mode_after = fegetround();
	fesetround(FE_TONEAREST);
	return 0;
}

static int fp_main(void *arg)
{
	(void)arg;
	urt_task *t = urt_spawn(rounding_task, NULL);
	cr_assert_eq(urt_yield(), 0); /* t runs, sets FE_DOWNWARD, yields back */
	other_mode = fegetround();
	cr_assert_eq(urt_join(t, NULL), 0);
	return 0;
}

Test(arch, rounding_mode_is_per_task)
{
	fesetround(FE_TONEAREST);
	cr_assert_eq(urt_run(fp_main, NULL), 0);
	cr_assert_eq(other_mode, FE_TONEAREST);
	cr_assert_eq(own_mode_after, FE_DOWNWARD);
}

/* Values live across switches in callee-saved registers and on the stack. */
static int mixer(void *arg)
{
	long id = (long)arg;
	volatile double d = (double)id * 1.5;
	unsigned long acc = (unsigned long)id;
	for (int i = 0; i < 1000; i++) {
		acc = acc * 31 + (unsigned long)i;
		if (urt_yield() != 0)
			return -1;
	}
	unsigned long expect = (unsigned long)id;
	for (int i = 0; i < 1000; i++)
		expect = expect * 31 + (unsigned long)i;
	return acc == expect && d == (double)id * 1.5 ? 0 : -EIO;
}

static int mix_main(void *arg)
{
	(void)arg;
	urt_task *t[8];
	for (long i = 0; i < 8; i++)
		t[i] = urt_spawn(mixer, (void *)(i + 1));
	int res[8];
	cr_assert_eq(urt_join_all(t, 8, res), 0);
	return 0;
}

Test(arch, registers_survive_switches)
{
	cr_assert_eq(urt_run(mix_main, NULL), 0);
}
