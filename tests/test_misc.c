/* SPDX-License-Identifier: MIT */
/* Misuse errors, task-local slots, names and dump, loop lifecycle. */
#include "helpers.h"

#include <pthread.h>
#include <unistd.h>

/* ---------------------------------------------------------------------- */
/* 14. Misuse errors. */

Test(misc, run_null_main_einval)
{
	cr_assert_eq(urt_run(NULL, NULL), -EINVAL);
	struct urt_options o = {0};
	cr_assert_eq(urt_run_opts(&o, NULL, NULL), -EINVAL);
}

Test(misc, suspending_calls_outside_task_eperm)
{
	cr_assert_eq(urt_nop(), -EPERM);
	cr_assert_eq(urt_sleep_ns(MS(1)), -EPERM);
	cr_assert_eq(urt_sleep_ms(1), -EPERM);
	cr_assert_eq(urt_local_set(0, NULL), -EPERM);
	cr_assert_null(urt_local_get(0));
	struct urt_stats s;
	cr_assert_eq(urt_stats_get(&s), -EPERM);
}

static int main_join_null(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_join(NULL, NULL), -EINVAL);
	int r = 5;
	cr_assert_eq(urt_join(NULL, &r), -EINVAL);
	cr_assert_eq(r, 5);
	return 0;
}

Test(misc, join_null_einval)
{
	VRUN(main_join_null, NULL);
}

static int main_join_self(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_join(urt_current(), NULL), -EDEADLK);
	return 0;
}

Test(misc, join_self_edeadlk)
{
	VRUN(main_join_self, NULL);
}

static int self_join_rc = 1;

static int join_self_child(void *arg)
{
	(void)arg;
	self_join_rc = urt_join(urt_current(), NULL);
	return 0;
}

static int main_join_self_child(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(join_self_child, NULL);
	OK(urt_yield()); /* the child joins itself while nobody joins it */
	cr_assert_eq(self_join_rc, -EDEADLK);
	cr_assert_eq(join_ok(t), 0);
	return 0;
}

Test(misc, join_self_in_child_edeadlk)
{
	VRUN(main_join_self_child, NULL);
}

/* "Join twice": a second join while another task is joining -> -EINVAL.
   (Joining a handle after a completed join is a use-after-release: the
   handle is only valid until joined, so that case is not exercised.) */
static int jt_rc = 1;

static int jt_joiner(void *arg)
{
	jt_rc = urt_join(arg, NULL);
	return 0;
}

static int main_join_twice(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(task_sleep_ms, (void *)(intptr_t)10);
	urt_task *j = spawn_ok(jt_joiner, t);
	OK(urt_yield());
	cr_assert_eq(urt_join(t, NULL), -EINVAL);
	join_ok(j);
	cr_assert_eq(jt_rc, 0);
	return 0;
}

Test(misc, join_twice_einval)
{
	VRUN(main_join_twice, NULL);
}

static int main_run_nested(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_run(task_return_arg, NULL), -EBUSY);
	struct urt_options o = {0};
	cr_assert_eq(urt_run_opts(&o, task_return_arg, NULL), -EBUSY);
	/* The loop is unaffected. */
	OK(urt_nop());
	return 0;
}

Test(misc, run_inside_task_ebusy)
{
	VRUN(main_run_nested, NULL);
}

static int det_done;

static int det_sleeper(void *arg)
{
	(void)arg;
	OK(urt_sleep_ns(MS(20)));
	det_done = 1;
	return 0;
}

static int main_detach_misuse(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_detach(NULL), -EINVAL);
	urt_task *t = spawn_ok(det_sleeper, NULL);
	OK(urt_yield());
	OK(urt_detach(t));
	/* t is still sleeping, so the handle is still valid. */
	cr_assert_eq(urt_detach(t), -EINVAL);
	cr_assert_eq(urt_join(t, NULL), -EINVAL);
	cr_assert_eq(urt_wait_for(t, NULL, MS(1)), -EINVAL);
	OK(urt_sleep_ns(MS(60)));
	cr_assert_eq(det_done, 1);

	struct urt_spawn_attr a = {0};
	a.detached = true;
	det_done = 0;
	t = urt_spawn_attr(&a, det_sleeper, NULL);
	cr_assert_not_null(t);
	cr_assert_eq(urt_join(t, NULL), -EINVAL);
	cr_assert_eq(urt_detach(t), -EINVAL);
	OK(urt_sleep_ns(MS(60)));
	cr_assert_eq(det_done, 1);
	return 0;
}

Test(misc, detach_twice_and_join_detached_einval)
{
	VRUN(main_detach_misuse, NULL);
}

static int main_deadline_misuse(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_deadline_push(-1), -EINVAL);
	for (int i = 0; i < URT_DEADLINE_DEPTH; i++)
		OK(urt_deadline_push(SEC(60)));
	cr_assert_eq(urt_deadline_push(SEC(60)), -ENOSPC);
	for (int i = 0; i < URT_DEADLINE_DEPTH; i++)
		urt_deadline_pop();
	return 0;
}

Test(misc, deadline_misuse)
{
	VRUN(main_deadline_misuse, NULL);
}

static int main_cancel_finished(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(task_return_arg, (void *)(intptr_t)-ENOENT);
	OK(urt_sleep_ns(MS(1)));
	cr_assert(urt_task_done(t));
	urt_cancel(t);
	cr_assert_eq(join_ok(t), -ENOENT);
	return 0;
}

Test(misc, cancel_finished_task_noop)
{
	VRUN(main_cancel_finished, NULL);
}

/* ---------------------------------------------------------------------- */
/* 17. Task-local slots. */

static int a_val, b_val, c_val;
static void *grandchild_saw;

static int local_grandchild(void *arg)
{
	(void)arg;
	grandchild_saw = urt_local_get(0);
	return 0;
}

static int local_child(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_local_get(0), &a_val);
	cr_assert_eq(urt_local_get(3), &c_val);
	cr_assert_null(urt_local_get(1));
	OK(urt_local_set(0, &b_val));
	cr_assert_eq(urt_local_get(0), &b_val);
	urt_task *g = spawn_ok(local_grandchild, NULL);
	join_ok(g);
	cr_assert_eq(grandchild_saw, &b_val);
	OK(urt_sleep_ns(MS(2)));
	cr_assert_eq(urt_local_get(0), &b_val, "child's slot changed while suspended");
	return 0;
}

static int main_locals(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < URT_LOCAL_SLOTS; i++)
		cr_assert_null(urt_local_get(i), "slot %u not NULL at start", i);
	OK(urt_local_set(0, &a_val));
	OK(urt_local_set(3, &c_val));
	OK(urt_local_set(URT_LOCAL_SLOTS - 1, &c_val));
	urt_task *t = spawn_ok(local_child, NULL);
	join_ok(t);
	cr_assert_eq(urt_local_get(0), &a_val, "child's change leaked into the parent");
	cr_assert_eq(urt_local_get(3), &c_val);
	cr_assert_eq(urt_local_set(URT_LOCAL_SLOTS, &a_val), -EINVAL);
	cr_assert_eq(urt_local_set(1000, &a_val), -EINVAL);
	cr_assert_null(urt_local_get(URT_LOCAL_SLOTS));
	OK(urt_local_set(0, NULL));
	cr_assert_null(urt_local_get(0));
	return 0;
}

Test(misc, task_local_slots)
{
	VRUN(main_locals, NULL);
}

static void *snap_child_saw;

static int snap_child(void *arg)
{
	(void)arg;
	snap_child_saw = urt_local_get(2);
	return 0;
}

static int main_local_snapshot(void *arg)
{
	(void)arg;
	OK(urt_local_set(2, &a_val));
	urt_task *t = spawn_ok(snap_child, NULL);
	/* The child was spawned with a copy taken at spawn time. */
	OK(urt_local_set(2, &b_val));
	join_ok(t);
	cr_assert_eq(snap_child_saw, &a_val);
	return 0;
}

Test(misc, task_local_copied_at_spawn)
{
	VRUN(main_local_snapshot, NULL);
}

/* ---------------------------------------------------------------------- */
/* 18. Loop lifecycle. */

static int leftover_rc = 1;

static int leftover(void *arg)
{
	(void)arg;
	leftover_rc = urt_sleep_ns(SEC(30));
	return 0;
}

static int main_leaves_sleeper(void *arg)
{
	(void)arg;
	spawn_ok(leftover, NULL);
	OK(urt_sleep_ns(MS(1)));
	return 23;
}

Test(misc, main_return_value_and_leftovers_cancelled)
{
	cr_assert_eq(run_flags(URT_OPT_QUIET, main_leaves_sleeper, NULL), 23);
	cr_assert_eq(leftover_rc, -ECANCELED);
}

static urt_future never;
static int dl_main_rc = 1;

static int main_deadlock(void *arg)
{
	(void)arg;
	urt_future_init(&never);
	dl_main_rc = urt_future_wait(&never, NULL, URT_FOREVER);
	return 77; /* returned only after the deadlock was detected */
}

Test(misc, all_blocked_edeadlk)
{
	cr_assert_eq(run_flags(URT_OPT_QUIET, main_deadlock, NULL), -EDEADLK);
	cr_assert_eq(dl_main_rc, -ECANCELED, "blocked main was not cancelled");
}

static int dl_child_rc = 1;

static int dl_child(void *arg)
{
	(void)arg;
	dl_child_rc = urt_future_wait(&never, NULL, URT_FOREVER);
	return 0;
}

static int main_deadlock_join(void *arg)
{
	(void)arg;
	urt_future_init(&never);
	urt_task *t = spawn_ok(dl_child, NULL);
	int res = 0;
	urt_join(t, &res);
	return 78; /* returned only after the deadlock was detected */
}

Test(misc, all_blocked_in_join_edeadlk)
{
	cr_assert_eq(run_flags(URT_OPT_QUIET, main_deadlock_join, NULL), -EDEADLK);
	cr_assert_eq(dl_child_rc, -ECANCELED);
}

/* A sleeping loop is not a deadlock. */
static int waker(void *arg)
{
	(void)arg;
	OK(urt_sleep_ns(MS(20)));
	return urt_future_set(&never, 1, NULL);
}

static int main_not_deadlock(void *arg)
{
	(void)arg;
	urt_future_init(&never);
	urt_task *t = spawn_ok(waker, NULL);
	cr_assert_eq(urt_future_wait(&never, NULL, URT_FOREVER), 1);
	return join_ok(t);
}

Test(misc, timer_pending_is_not_deadlock)
{
	VRUN(main_not_deadlock, NULL);
}

Test(misc, sequential_loops)
{
	for (int i = 0; i < 5; i++)
		cr_assert_eq(urt_run(task_return_arg, (void *)(intptr_t)i), i);
	VRUN(main_not_deadlock, NULL);
}

static int thread_main(void *arg)
{
	intptr_t base = (intptr_t)arg;
	urt_task *t[50];
	for (int i = 0; i < 50; i++)
		t[i] = urt_spawn(task_return_arg, (void *)(base + i));
	int sum = 0;
	for (int i = 0; i < 50; i++) {
		int r = 0;
		if (!t[i] || urt_join(t[i], &r) != 0)
			return -1;
		if (urt_nop() != 0 || urt_sleep_ns(MS(1)) != 0)
			return -2;
		sum += r;
	}
	return sum;
}

static void *thread_fn(void *arg)
{
	return (void *)(intptr_t)urt_run(thread_main, arg);
}

Test(misc, one_loop_per_thread)
{
	pthread_t th[2];
	cr_assert_eq(pthread_create(&th[0], NULL, thread_fn, (void *)(intptr_t)0), 0);
	cr_assert_eq(pthread_create(&th[1], NULL, thread_fn, (void *)(intptr_t)1000), 0);
	void *r0, *r1;
	pthread_join(th[0], &r0);
	pthread_join(th[1], &r1);
	cr_assert_eq((intptr_t)r0, 49 * 50 / 2);
	cr_assert_eq((intptr_t)r1, 1000 * 50 + 49 * 50 / 2);
}

/* ---------------------------------------------------------------------- */
/* 20. Names and dump. */

static int name_child(void *arg)
{
	(void)arg;
	return urt_sleep_ns(MS(10));
}

static int main_names(void *arg)
{
	(void)arg;
	char buf[64];
	strcpy(buf, "alpha-worker");
	struct urt_spawn_attr a = {0};
	a.name = buf;
	urt_task *t = urt_spawn_attr(&a, name_child, NULL);
	cr_assert_not_null(t);
	strcpy(buf, "overwritten");
	cr_assert_str_eq(urt_task_name(t), "alpha-worker", "name was not copied");

	OK(urt_task_set_name(t, "beta-worker"));
	cr_assert_str_eq(urt_task_name(t), "beta-worker");

	/* Truncated to 31 bytes. */
	const char *longname = "0123456789abcdefghijklmnopqrstuvwxyz";
	OK(urt_task_set_name(urt_current(), longname));
	cr_assert_eq(strlen(urt_task_name(urt_current())), 31);
	cr_assert_eq(strncmp(urt_task_name(urt_current()), longname, 31), 0);

	/* Default name: "task-<id>". */
	urt_task *d = spawn_ok(name_child, NULL);
	char want[64];
	snprintf(want, sizeof(want), "task-%llu", (unsigned long long)urt_task_id(d));
	cr_assert_str_eq(urt_task_name(d), want);

	/* The dump lists every task by name. */
	OK(urt_yield());
	char *dump = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&dump, &len);
	cr_assert_not_null(f);
	urt_dump_tasks(f);
	fclose(f);
	cr_assert_not_null(dump);
	cr_assert_not_null(strstr(dump, "beta-worker"), "dump:\n%s", dump);
	cr_assert_not_null(strstr(dump, want), "dump:\n%s", dump);
	cr_assert_not_null(strstr(dump, "0123456789abcdefghijklmnopqrstu"), "dump:\n%s", dump);
	free(dump);

	cr_assert_eq(join_ok(t), 0);
	cr_assert_eq(join_ok(d), 0);
	return 0;
}

Test(misc, names_and_dump)
{
	VRUN(main_names, NULL);
}

static int main_dump_count(void *arg)
{
	(void)arg;
	urt_task *t[5];
	char name[32];
	for (int i = 0; i < 5; i++) {
		t[i] = spawn_ok(name_child, NULL);
		snprintf(name, sizeof(name), "dumped-%d", i);
		OK(urt_task_set_name(t[i], name));
	}
	OK(urt_yield());
	char *dump = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&dump, &len);
	cr_assert_not_null(f);
	urt_dump_tasks(f);
	fclose(f);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "dumped-%d", i);
		cr_assert_not_null(strstr(dump, name), "dump lacks %s:\n%s", name, dump);
	}
	free(dump);
	cr_assert_eq(urt_join_all(t, 5, NULL), 0);
	return 0;
}

Test(misc, dump_lists_all_tasks)
{
	VRUN(main_dump_count, NULL);
}

/* Unjoined finished tasks are reported on stderr at close unless QUIET. */
static int main_unjoined(void *arg)
{
	(void)arg;
	struct urt_spawn_attr a = {0};
	a.name = "forgotten-one";
	cr_assert_not_null(urt_spawn_attr(&a, task_return_arg, NULL));
	OK(urt_sleep_ns(MS(1)));
	return 0;
}

/* Run fn with stderr (fd 2) captured into buf. Returns urt_run's result. */
static int run_capture_stderr(unsigned flags, int (*fn)(void *), char *buf, size_t size)
{
	FILE *tmp = tmpfile();
	cr_assert_not_null(tmp);
	fflush(stderr);
	int saved = dup(2);
	cr_assert_geq(saved, 0);
	dup2(fileno(tmp), 2);
	int rc = run_flags(flags, fn, NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, size - 1, tmp);
	buf[n] = 0;
	fclose(tmp);
	return rc;
}

Test(misc, unjoined_report)
{
	char buf[4096];
	cr_assert_eq(run_capture_stderr(0, main_unjoined, buf, sizeof(buf)), 0);
	cr_assert_not_null(strstr(buf, "forgotten-one"), "stderr: %s", buf);
}

Test(misc, unjoined_quiet)
{
	char buf[4096];
	cr_assert_eq(run_capture_stderr(URT_OPT_QUIET, main_unjoined, buf, sizeof(buf)), 0);
	cr_assert_null(strstr(buf, "forgotten-one"), "QUIET loop reported: %s", buf);
}
