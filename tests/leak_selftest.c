/* SPDX-License-Identifier: MIT */
/*
 * The per-test leak check (tests/helpers.h) can fail: each test here but
 * `clean` leaks one thing on purpose (`memory` fails in ASan builds only),
 * and tests/meson.build registers them one by one (--filter) with
 * should_fail, the clean one as a control.
 * tests/leak_selftest.sh also checks that the failure names what leaked.
 */
#include <fcntl.h>
#include <unistd.h>

#include "helpers.h"

static int sleep_long(void *arg)
{
	(void)arg;
	return urt_sleep_ns(SEC(3600));
}

static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

/* The control: a loop run to its end, a pipe opened and closed. */
Test(leak_selftest, clean)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	close(p[0]);
	close(p[1]);
	RUN(nothing, NULL);
}

/* A descriptor left open. */
Test(leak_selftest, fd)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	close(p[1]);
}

/* Memory no pointer reaches any more: fails in ASan builds only (LSan). */
static void *volatile leak_sink;
static __attribute__((noinline)) void lose_memory(void)
{
	for (int i = 0; i < 8; i++) {
		leak_sink = malloc(100);
		memset(leak_sink, 1, 100);
	}
	leak_sink = NULL;
}

Test(leak_selftest, memory)
{
	lose_memory();
}

/* A task that never ends, in a loop never freed (with its stack and ring). */
Test(leak_selftest, task)
{
	urt_loop *L;
	OK(urt_loop_new(NULL, &L));
	cr_assert_not_null(urt_loop_spawn(L, sleep_long, NULL));
	cr_assert_eq(urt_loop_step(L), 1);
}
