/* SPDX-License-Identifier: MIT */
/* io_uring operations (urt_nop), SQ pressure, stats. */
#include "helpers.h"

Test(ops, nop_outside_task_eperm)
{
	cr_assert_eq(urt_nop(), -EPERM);
}

static int main_nop(void *arg)
{
	(void)arg;
	OK(urt_nop());
	return 0;
}

Test(ops, nop)
{
	RUN(main_nop, NULL);
}

/* ---------------------------------------------------------------------- */
/* 21. Stats after N nops. */

#define SEQ_NOPS 1000

static int main_sequential_nops(void *arg)
{
	(void)arg;
	struct urt_stats s0, s1;
	memset(&s0, 0xff, sizeof(s0));
	OK(urt_stats_get(&s0));
	for (int i = 0; i < SEQ_NOPS; i++)
		cr_assert_eq(urt_nop(), 0, "nop %d", i);
	OK(urt_stats_get(&s1));
	cr_assert_geq(s1.sqes - s0.sqes, SEQ_NOPS);
	cr_assert_geq(s1.cqes - s0.cqes, SEQ_NOPS);
	cr_assert_geq(s1.cqes, SEQ_NOPS);
	cr_assert_gt(s1.switches, 0);
	cr_assert_geq(s1.switches - s0.switches, SEQ_NOPS, "each nop suspends and resumes");
	cr_assert_gt(s1.enters, 0);
	cr_assert_geq(s1.spawned, 1);
	cr_assert_geq(s1.tasks, 1);
	cr_assert_gt(s1.loop_turns, 0);
	return 0;
}

Test(ops, sequential_nops_and_stats)
{
	SKIP_ON_EPOLL("counts context switches of IORING_OP_NOP round trips");
	RUN(main_sequential_nops, NULL);
}

Test(ops, stats_outside_loop_eperm)
{
	struct urt_stats s;
	cr_assert_eq(urt_stats_get(&s), -EPERM);
}

static int main_stats_tasks(void *arg)
{
	(void)arg;
	struct urt_stats s0, s1, s2;
	OK(urt_stats_get(&s0));
	urt_task *t[10];
	for (int i = 0; i < 10; i++)
		t[i] = spawn_ok(task_sleep_ms, (void *)(intptr_t)5);
	OK(urt_stats_get(&s1));
	cr_assert_eq(s1.spawned - s0.spawned, 10);
	cr_assert_eq(s1.tasks - s0.tasks, 10);
	cr_assert_eq(urt_join_all(t, 10, NULL), 0);
	OK(urt_stats_get(&s2));
	cr_assert_eq(s2.tasks, s0.tasks);
	cr_assert_eq(s2.spawned, s1.spawned);
	return 0;
}

Test(ops, stats_task_counts)
{
	RUN(main_stats_tasks, NULL);
}

/* ---------------------------------------------------------------------- */
/* 13. SQ full: a tiny ring and many ops in flight. */

#define NOP_TASKS 10000
#define NOPS_EACH 5

static int nops_done;

static int nop_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < NOPS_EACH; i++) {
		int rc = urt_nop();
		if (rc != 0)
			return rc;
		nops_done++;
	}
	return 0;
}

static int main_sq_full(void *arg)
{
	(void)arg;
	static urt_task *t[NOP_TASKS];
	static int res[NOP_TASKS];
	for (int i = 0; i < NOP_TASKS; i++)
		t[i] = spawn_ok(nop_worker, NULL);
	cr_assert_eq(urt_join_all(t, NOP_TASKS, res), 0);
	for (int i = 0; i < NOP_TASKS; i++)
		cr_assert_eq(res[i], 0, "task %d: %d", i, res[i]);
	cr_assert_eq(nops_done, NOP_TASKS * NOPS_EACH);
	struct urt_stats s;
	OK(urt_stats_get(&s));
	cr_assert_geq(s.cqes, (uint64_t)NOP_TASKS * NOPS_EACH);
	cr_assert_geq(s.sqes, (uint64_t)NOP_TASKS * NOPS_EACH);
	cr_assert_geq(s.spawned, NOP_TASKS + 1);
	return 0;
}

Test(ops, sq_full_many_in_flight)
{
	struct urt_options o = {0};
	o.sq_entries = 8;
	o.cq_entries = 16;
	cr_assert_eq(urt_run_opts(&o, main_sq_full, NULL), 0);
}

Test(ops, many_in_flight_default_ring)
{
	cr_assert_eq(urt_run(main_sq_full, NULL), 0);
}

Test(ops, sq_entries_rounded_up)
{
	struct urt_options o = {0};
	o.sq_entries = 5; /* rounded up to 8 */
	cr_assert_eq(urt_run_opts(&o, main_nop, NULL), 0);
}

/* Mixed: sleepers and nops share the tiny ring. */
static int mixed_worker(void *arg)
{
	intptr_t i = (intptr_t)arg;
	for (int k = 0; k < 3; k++) {
		int rc = (i + k) % 2 ? urt_nop() : urt_sleep_ns(MS(1));
		if (rc)
			return rc;
	}
	return (int)i;
}

static int main_mixed(void *arg)
{
	(void)arg;
	enum { N = 2000 };
	static urt_task *t[N];
	static int res[N];
	for (int i = 0; i < N; i++)
		t[i] = spawn_ok(mixed_worker, (void *)(intptr_t)i);
	cr_assert_eq(urt_join_all(t, N, res), 0);
	for (int i = 0; i < N; i++)
		cr_assert_eq(res[i], i);
	return 0;
}

Test(ops, mixed_sleep_nop_small_ring)
{
	struct urt_options o = {0};
	o.sq_entries = 8;
	o.cq_entries = 16;
	cr_assert_eq(urt_run_opts(&o, main_mixed, NULL), 0);
}

/* ---------------------------------------------------------------------- */
/* urt_io_offload: ops go to io-wq workers (IOSQE_ASYNC). A page-cache read
   normally completes inline; offloaded, an iou-wrk thread must exist. */

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

static int count_iowq_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char path[300], comm[64] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof comm, f) && !strncmp(comm, "iou-wrk", 7))
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

static int offload_child(void *arg)
{
	(void)arg;
	return urt_io_offload(false) ? 1 : 0; /* spawned tasks start with it off */
}

static int main_offload(void *arg)
{
	(void)arg;
	char path[] = "/tmp/urt-offload-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	char buf[4096] __attribute__((aligned(64)));
	memset(buf, 'x', sizeof buf);
	/* a plain write: through the ring it might start an io-wq worker */
	cr_assert_eq(pwrite(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
	int before = count_iowq_threads();
	for (int i = 0; i < 8; i++)
		cr_assert_eq(urt_read(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
	int inline_workers = count_iowq_threads();
	cr_assert_eq(urt_io_offload(true), false);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 0), (ssize_t)sizeof buf);
	int offload_workers = count_iowq_threads();
	cr_assert_eq(urt_io_offload(true), true);
	urt_task *t = urt_spawn(offload_child, NULL);
	int res = -1;
	OK(urt_join(t, &res));
	cr_assert_eq(res, 0);
	cr_assert_eq(urt_io_offload(false), true);
	cr_assert_eq(inline_workers, before, "hot page-cache reads ran inline");
	cr_assert_gt(offload_workers, inline_workers, "an offloaded read ran on io-wq");
	close(fd);
	return 0;
}

Test(ops, io_offload)
{
	SKIP_ON_EPOLL("IOSQE_ASYNC and io-wq workers are io_uring's");
	cr_assert_eq(urt_io_offload(true), false); /* outside a task */
	RUN(main_offload, NULL);
}

/* ---------------------------------------------------------------------- */
/* io-wq worker cap (urt_options.iowq_*). White-box: registering {0, 0}
   changes nothing and reads the ring's current limits back. */

#include <unistd.h>
#include "backend/uring/op.h"

static int main_iowq_query(void *arg)
{
	unsigned *v = arg;
	v[0] = v[1] = 0;
	OK(io_uring_register_iowq_max_workers(URT__RING(urt__L), v));
	return 0;
}

static void iowq_limits(int bounded, int unbounded, unsigned v[2])
{
	struct urt_options o = {.iowq_bounded = bounded, .iowq_unbounded = unbounded};
	cr_assert_eq(urt_run_opts(&o, main_iowq_query, v), 0);
}

Test(ops, iowq_cap_applied)
{
	SKIP_ON_EPOLL("io-wq limits are io_uring's");
	unsigned v[2], dflt[2];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned want = cpus > 1 ? (unsigned)(4 * cpus) : 4;
	iowq_limits(0, 0, v);
	cr_assert_eq(v[0], want, "default bounded cap: 4 per CPU");
	iowq_limits(3, 5, v);
	cr_assert_eq(v[0], 3);
	cr_assert_eq(v[1], 5);
	/* the limits belong to the thread's io-wq, shared by its rings:
	   -1 leaves them as the previous loop on this thread set them */
	iowq_limits(-1, -1, dflt);
	cr_assert_eq(dflt[0], 3);
	cr_assert_eq(dflt[1], 5);
}

Test(ops, iowq_cap_bad_value)
{
	struct urt_options o = {.iowq_bounded = -2};
	cr_assert_eq(urt_run_opts(&o, main_nop, NULL), -EINVAL);
	struct urt_options o2 = {.iowq_unbounded = -5};
	cr_assert_eq(urt_run_opts(&o2, main_nop, NULL), -EINVAL);
}
