/* SPDX-License-Identifier: MIT */
/* Tasks: spawn, join, run, yield, nesting, many tasks, stacks. */
#include "helpers.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */

static int main_return_42(void *arg)
{
	(void)arg;
	return 42;
}

Test(task, run_returns_main_value)
{
	cr_assert_eq(urt_run(main_return_42, NULL), 42);
}

static int main_return_neg(void *arg)
{
	(void)arg;
	return -12345;
}

Test(task, run_returns_negative_main_value)
{
	cr_assert_eq(urt_run(main_return_neg, NULL), -12345);
}

static int main_arg_passed(void *arg)
{
	int *p = arg;
	*p += 1;
	return *p;
}

Test(task, run_passes_arg)
{
	int v = 9;
	cr_assert_eq(urt_run(main_arg_passed, &v), 10);
	cr_assert_eq(v, 10);
}

/* ---------------------------------------------------------------------- */

static int main_spawn_join(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(task_return_arg, (void *)(intptr_t)7);
	cr_assert_eq(join_ok(t), 7);
	t = spawn_ok(task_return_arg, (void *)(intptr_t)-EIO);
	cr_assert_eq(join_ok(t), -EIO);
	/* NULL result pointer is allowed. */
	t = spawn_ok(task_return_arg, (void *)(intptr_t)3);
	OK(urt_join(t, NULL));
	return 0;
}

Test(task, spawn_join_result)
{
	RUN(main_spawn_join, NULL);
}

/* ---------------------------------------------------------------------- */

static int flag_child_ran;

static int child_set_flag(void *arg)
{
	(void)arg;
	flag_child_ran = 1;
	return 5;
}

static int main_spawn_is_queued(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(child_set_flag, NULL);
	/* The caller keeps running: the child has not run yet. */
	cr_assert_eq(flag_child_ran, 0);
	cr_assert_not(urt_task_done(t));
	OK(urt_yield());
	cr_assert_eq(flag_child_ran, 1);
	cr_assert(urt_task_done(t));
	cr_assert_eq(join_ok(t), 5);
	return 0;
}

Test(task, spawn_queues_child_caller_keeps_running)
{
	RUN(main_spawn_is_queued, NULL);
}

/* ---------------------------------------------------------------------- */

struct cur_ctx {
	urt_task *handle;
	urt_task *seen;
};

static int child_current(void *arg)
{
	struct cur_ctx *c = arg;
	c->seen = urt_current();
	return 0;
}

static urt_task *main_current_seen;

static int main_current(void *arg)
{
	(void)arg;
	main_current_seen = urt_current();
	cr_assert_not_null(main_current_seen);
	struct cur_ctx c = {0};
	c.handle = spawn_ok(child_current, &c);
	cr_assert_neq(c.handle, main_current_seen);
	cr_assert_eq(urt_current(), main_current_seen);
	join_ok(c.handle);
	cr_assert_eq(c.seen, c.handle);
	return 0;
}

Test(task, current)
{
	cr_assert_null(urt_current());
	RUN(main_current, NULL);
	cr_assert_not_null(main_current_seen);
	cr_assert_null(urt_current());
}

/* ---------------------------------------------------------------------- */

Test(task, spawn_outside_loop_returns_null)
{
	cr_assert_null(urt_spawn(task_return_arg, NULL));
	struct urt_spawn_attr a = {0};
	cr_assert_null(urt_spawn_attr(&a, task_return_arg, NULL));
}

/* ---------------------------------------------------------------------- */

static int main_ids_distinct(void *arg)
{
	(void)arg;
	urt_task *t[16];
	for (int i = 0; i < 16; i++)
		t[i] = spawn_ok(task_return_arg, (void *)(intptr_t)i);
	for (int i = 0; i < 16; i++) {
		cr_assert_neq(urt_task_id(t[i]), urt_task_id(urt_current()));
		for (int j = 0; j < i; j++)
			cr_assert_neq(urt_task_id(t[i]), urt_task_id(t[j]),
				      "tasks %d and %d share id %llu", i, j,
				      (unsigned long long)urt_task_id(t[i]));
	}
	for (int i = 0; i < 16; i++)
		cr_assert_eq(join_ok(t[i]), i);
	return 0;
}

Test(task, ids_distinct)
{
	RUN(main_ids_distinct, NULL);
}

/* ---------------------------------------------------------------------- */
/* 19. urt_yield ordering: A B A B. */

static char yield_log[64];
static int yield_pos;

static int yielder(void *arg)
{
	char c = (char)(intptr_t)arg;
	for (int i = 0; i < 4; i++) {
		yield_log[yield_pos++] = c;
		int rc = urt_yield();
		cr_assert_eq(rc, 0);
	}
	return 0;
}

static int main_yield_order(void *arg)
{
	(void)arg;
	urt_task *a = spawn_ok(yielder, (void *)(intptr_t)'A');
	urt_task *b = spawn_ok(yielder, (void *)(intptr_t)'B');
	join_ok(a);
	join_ok(b);
	return 0;
}

Test(task, yield_interleaves)
{
	RUN(main_yield_order, NULL);
	cr_assert_str_eq(yield_log, "ABABABAB");
}

static int main_yield_alone(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++)
		OK(urt_yield());
	return 0;
}

Test(task, yield_with_nothing_else_ready)
{
	RUN(main_yield_alone, NULL);
}

Test(task, yield_outside_task)
{
	int rc = urt_yield();
	/* Not a suspension point outside a task; the header lists 0/-ECANCELED
	   for tasks; outside, -EPERM per the general convention. */
	cr_assert_eq(rc, -EPERM);
}

/* ---------------------------------------------------------------------- */
/* 11. 100k tasks spawned and joined. */

#define MANY 100000

static int main_many_tasks(void *arg)
{
	(void)arg;
	urt_task **t = calloc(MANY, sizeof(*t));
	cr_assert_not_null(t);
	for (int i = 0; i < MANY; i++) {
		t[i] = urt_spawn(task_return_arg, (void *)(intptr_t)i);
		cr_assert_not_null(t[i], "spawn %d failed", i);
	}
	long long sum = 0;
	for (int i = 0; i < MANY; i++) {
		int res = -1;
		int rc = urt_join(t[i], &res);
		cr_assert_eq(rc, 0, "join %d: %d", i, rc);
		cr_assert_eq(res, i);
		sum += res;
	}
	free(t);
	cr_assert_eq(sum, (long long)MANY * (MANY - 1) / 2);
	return 0;
}

Test(task, hundred_thousand_tasks)
{
	RUN(main_many_tasks, NULL);
}

static int main_many_join_all(void *arg)
{
	(void)arg;
	urt_task **t = calloc(MANY, sizeof(*t));
	int *res = calloc(MANY, sizeof(*res));
	cr_assert_not_null(t);
	cr_assert_not_null(res);
	for (int i = 0; i < MANY; i++) {
		t[i] = urt_spawn(task_return_arg, (void *)(intptr_t)(i % 1000));
		cr_assert_not_null(t[i]);
	}
	int rc = urt_join_all(t, MANY, res);
	cr_assert_eq(rc, 0);
	long long sum = 0;
	for (int i = 0; i < MANY; i++) {
		cr_assert_eq(res[i], i % 1000);
		sum += res[i];
	}
	cr_assert_eq(sum, (long long)(MANY / 1000) * 999 * 1000 / 2);
	free(t);
	free(res);
	return 0;
}

Test(task, hundred_thousand_tasks_join_all)
{
	RUN(main_many_join_all, NULL);
}

/* ---------------------------------------------------------------------- */
/* 12. Nested spawn: a binary tree of tasks; each returns 1 + children. */

static int tree(void *arg)
{
	intptr_t depth = (intptr_t)arg;
	if (depth == 0)
		return 1;
	urt_task *l = urt_spawn(tree, (void *)(depth - 1));
	urt_task *r = urt_spawn(tree, (void *)(depth - 1));
	cr_assert_not_null(l);
	cr_assert_not_null(r);
	int rl = -1, rr = -1;
	if (depth % 2)
		OK(urt_yield());
	else
		OK(urt_nop());
	cr_assert_eq(urt_join(r, &rr), 0);
	cr_assert_eq(urt_join(l, &rl), 0);
	cr_assert_eq(rl, (1 << depth) - 1);
	cr_assert_eq(rr, (1 << depth) - 1);
	return 1 + rl + rr;
}

static int main_tree(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(tree, (void *)(intptr_t)8);
	return join_ok(t);
}

Test(task, nested_spawn_tree)
{
	cr_assert_eq(urt_run(main_tree, NULL), (1 << 9) - 1);
}

/* A chain: each level spawns the next, sleeps a little, joins it. */
static int chain(void *arg)
{
	intptr_t depth = (intptr_t)arg;
	if (depth == 0)
		return 0;
	urt_task *t = urt_spawn(chain, (void *)(depth - 1));
	cr_assert_not_null(t);
	OK(urt_sleep_ns(depth % 3 == 0 ? MS(1) : 0));
	int r = join_ok(t);
	cr_assert_eq(r, (int)(depth - 1) * 10);
	return r + 10;
}

Test(task, nested_spawn_chain)
{
	cr_assert_eq(urt_run(chain, (void *)(intptr_t)64), 640);
}

/* ---------------------------------------------------------------------- */

static int detached_flag;

static int detached_body(void *arg)
{
	(void)arg;
	int rc = urt_sleep_ns(MS(5));
	cr_assert_eq(rc, 0);
	detached_flag = 1;
	return 0;
}

static int main_detached(void *arg)
{
	(void)arg;
	struct urt_spawn_attr a = {0};
	a.detached = true;
	a.name = "det";
	urt_task *t = urt_spawn_attr(&a, detached_body, NULL);
	cr_assert_not_null(t);
	OK(urt_sleep_ns(MS(40)));
	cr_assert_eq(detached_flag, 1);
	return 0;
}

Test(task, detached_attr_runs_to_end)
{
	RUN(main_detached, NULL);
}

static int main_detach_call(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(detached_body, NULL);
	OK(urt_detach(t));
	OK(urt_sleep_ns(MS(40)));
	cr_assert_eq(detached_flag, 1);
	return 0;
}

Test(task, detach_runs_to_end)
{
	RUN(main_detach_call, NULL);
}

/* ---------------------------------------------------------------------- */
/* 22. Stacks. */

static int big_frame(void *arg)
{
	(void)arg;
	volatile unsigned char buf[200 * 1024];
	for (size_t i = 0; i < sizeof(buf); i += 64)
		buf[i] = (unsigned char)i;
	int rc = urt_nop(); /* suspend with the big frame live */
	cr_assert_eq(rc, 0);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(buf); i += 64)
		sum += buf[i];
	unsigned want = 0;
	for (size_t i = 0; i < sizeof(buf); i += 64)
		want += (unsigned char)i;
	cr_assert_eq(sum, want);
	return 1;
}

static int main_big_stack(void *arg)
{
	(void)arg;
	struct urt_spawn_attr a = {0};
	a.stack_size = 256 * 1024;
	a.name = "big";
	urt_task *t = urt_spawn_attr(&a, big_frame, NULL);
	cr_assert_not_null(t);
	cr_assert_eq(join_ok(t), 1);
	return 0;
}

Test(task, big_stack_attr)
{
	RUN(main_big_stack, NULL);
}

Test(task, big_default_stack_option)
{
	struct urt_options o = {0};
	o.stack_size = 256 * 1024;
	/* Main itself uses the loop default. */
	cr_assert_eq(urt_run_opts(&o, big_frame, NULL), 1);
}

static __attribute__((noinline)) int recurse(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	pad[511] = (char)n;
	if (n == 0)
		return pad[0];
	return recurse(n - 1) + pad[511] + 1;
}

static int deep_recursion(void *arg)
{
	(void)arg;
	return recurse(100000); /* ~50 MiB of frames: overflows any task stack */
}

static int main_overflow(void *arg)
{
	(void)arg;
	struct urt_spawn_attr a = {0};
	a.stack_size = 16 * 1024;
	a.name = "deep";
	urt_task *t = urt_spawn_attr(&a, deep_recursion, NULL);
	cr_assert_not_null(t);
	int res = 0;
	urt_join(t, &res);
	return res;
}

Test(task, stack_overflow_aborts, .signal = SIGABRT)
{
	urt_run(main_overflow, NULL);
}

/* Same, in a child process whose stderr we capture: the report names the task. */
Test(task, stack_overflow_report_names_task)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], 2);
		close(p[1]);
		urt_run(main_overflow, NULL);
		_exit(0);
	}
	close(p[1]);
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(p[0]);
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status), "child exited normally (status %d), stderr: %s", status, buf);
	cr_assert_eq(WTERMSIG(status), SIGABRT, "child died of signal %d, stderr: %s",
		     WTERMSIG(status), buf);
	cr_assert_not_null(strstr(buf, "stack overflow in task 'deep'"), "stderr was: %s", buf);
}
