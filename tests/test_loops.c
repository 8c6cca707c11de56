/* SPDX-License-Identifier: MIT */
/* Thread-per-core: urt_run_loops, cross-loop spawn/join/cancel, and the
   cross-loop primitives. Also built for ThreadSanitizer (tests/tsan/). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "helpers.h"
#include "thread_helpers.h"

/* Threads of this process that are not the kernel's io_uring workers
   (iou-wrk-*, iou-sqp-*: they come and go on their own, also a little
   after a ring has closed). */
static int user_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[300], comm[64] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "re");
		if (f) {
			if (!fgets(comm, sizeof comm, f))
				comm[0] = '\0';
			fclose(f);
		}
		if (strncmp(comm, "iou-", 4) != 0)
			n++;
	}
	closedir(d);
	return n;
}

/* At most n such threads, within 2 s: a joined thread can still be listed
   for a moment after pthread_join returns (the kernel wakes the joiner
   before it has removed the thread). */
static bool threads_at_most(int n)
{
	for (int i = 0; i < 2000; i++) {
		if (user_threads() <= n)
			return true;
		usleep(1000);
	}
	return false;
}

/* ---- start, layout, result, shutdown ---- */

static _Atomic int seen_index[8];

static int where(void *arg)
{
	(void)arg;
	int i = urt_loop_index();
	atomic_fetch_add(&seen_index[i], 1);
	return i;
}

static int t_basic(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_loops_count(), 3u);
	cr_assert_eq(urt_loop_index(), 0);
	urt_loop *l[3];
	for (unsigned i = 0; i < 3; i++) {
		l[i] = urt_loops_get(i);
		cr_assert_not_null(l[i]);
	}
	cr_assert_null(urt_loops_get(3));
	cr_assert(l[0] == urt_loop_current() && l[0] != l[1] && l[1] != l[2] && l[0] != l[2]);
	/* spawn on each loop and join from this task */
	for (unsigned i = 0; i < 3; i++) {
		urt_remote *h;
		OK(urt_spawn_on(l[i], where, NULL, &h));
		int res = -1;
		OK(urt_remote_wait(h, &res));
		cr_assert_eq(res, (int)i, "task spawned on loop %u ran on %d", i, res);
	}
	return 42;
}

Test(loops, three_loops_spawn_join_result)
{
	warm_threads();
	int before = user_threads();
	cr_assert_eq(urt_run_loops(3, 0, NULL, t_basic, NULL), 42);
	cr_assert(threads_at_most(before), "every loop thread ended: %d, %d before", user_threads(),
		  before);
	cr_assert_eq(seen_index[0] + seen_index[1] + seen_index[2], 3);
}

static int nested(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_run_loops(2, 0, NULL, t_basic, NULL), -EBUSY);
	cr_assert_eq(urt_loops_count(), 1u); /* a plain urt_run loop */
	cr_assert_eq(urt_loop_index(), 0);
	cr_assert(urt_loops_get(0) == urt_loop_current());
	cr_assert_null(urt_loops_get(1));
	return 0;
}

Test(loops, bad_arguments)
{
	cr_assert_eq(urt_run_loops(2, 0, NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(urt_run_loops(2, 0x80, NULL, t_basic, NULL), -EINVAL);
	cr_assert_eq(urt_run_loops(5000, 0, NULL, t_basic, NULL), -EINVAL);
	struct urt_options bad = {.stack_size = 100};
	cr_assert_eq(urt_run_loops(2, 0, &bad, t_basic, NULL), -EINVAL);
	cr_assert_eq(urt_loops_count(), 0u);
	cr_assert_eq(urt_loop_index(), -1);
	cr_assert_null(urt_loops_least_loaded());
	cr_assert_eq(urt_spawn_on(NULL, where, NULL, NULL), -EPERM);
	RUN(nested, NULL);
}

static int one_loop_main(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_loops_count(), 1u);
	urt_remote *h;
	OK(urt_spawn_on(NULL, where, NULL, &h)); /* the least loaded: the only one */
	int res = -1;
	OK(urt_remote_wait(h, &res)); /* on its own loop: suspends, no deadlock */
	cr_assert_eq(res, 0);
	return 0;
}

static unsigned allowed_cpus(void)
{
	cpu_set_t set;
	cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
	return (unsigned)CPU_COUNT(&set);
}

static int count_main(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_loops_count(), allowed_cpus());
	return 0;
}

Test(loops, one_loop_and_pinning)
{
	cr_assert_eq(urt_run_loops(1, URT_LOOPS_PIN, NULL, one_loop_main, NULL), 0);
	cr_assert_eq(urt_run_loops(0, URT_LOOPS_PIN, NULL, count_main, NULL), 0);
}

/* n = 0 follows the affinity mask (taskset, cpusets), not the online CPU
   count; so do the executor's default size and the io-wq cap. */
static int one_cpu_main(void *arg)
{
	(void)arg;
	cr_assert_eq(urt_loops_count(), 1u);
	return 0;
}

Test(loops, default_count_follows_the_affinity_mask)
{
	cpu_set_t set;
	cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
	int first = -1;
	for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
		if (CPU_ISSET(c, &set))
			first = c;
	CPU_ZERO(&set);
	CPU_SET(first, &set);
	cr_assert_eq(sched_setaffinity(0, sizeof set, &set), 0); /* this test's process only */
	cr_assert_eq(urt_run_loops(0, 0, NULL, one_cpu_main, NULL), 0);
}

/*
 * urt_cpus lists the affinity mask in order, counts with (NULL, 0), and
 * with too small an array writes max and returns the whole count;
 * urt_pin_self pins to one of them, undoes it with the whole list, and
 * refuses an empty list or an impossible CPU without changing the mask.
 */
Test(loops, cpus_and_pin_self)
{
	cpu_set_t set;
	cr_assert_eq(sched_getaffinity(0, sizeof set, &set), 0);
	int want[CPU_SETSIZE], nwant = 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			want[nwant++] = c;
	int cpus[CPU_SETSIZE + 1];
	cr_assert_eq(urt_cpus(NULL, 0), nwant);
	cr_assert_eq(urt_cpus(cpus, CPU_SETSIZE + 1), nwant);
	for (int i = 0; i < nwant; i++)
		cr_assert_eq(cpus[i], want[i], "cpu %d: %d, want %d", i, cpus[i], want[i]);
	/* too small: the first max written, nothing past them, the full count back */
	cpus[0] = cpus[1] = -7;
	cr_assert_eq(urt_cpus(cpus, 1), nwant);
	cr_assert_eq(cpus[0], want[0]);
	cr_assert_eq(cpus[1], -7);
	cr_assert_eq(urt_cpus(NULL, 1), -EINVAL);

	int last = want[nwant - 1];
	OK(urt_pin_self(&last, 1));
	cr_assert_eq(urt_cpus(cpus, CPU_SETSIZE + 1), 1);
	cr_assert_eq(cpus[0], last);
	cr_assert_eq(sched_getcpu(), last); /* the kernel moved us at once */
	int bad[] = {want[0], -1};
	cr_assert_eq(urt_pin_self(bad, 2), -EINVAL);
	cr_assert_eq(urt_pin_self(want, 0), -EINVAL);
	cr_assert_eq(urt_pin_self(NULL, 1), -EINVAL);
	int huge = 1 << 30;
	cr_assert_eq(urt_pin_self(&huge, 1), -EINVAL);
	cr_assert_eq(urt_cpus(NULL, 0), 1, "a refused pin changed the mask");
	OK(urt_pin_self(want, (unsigned)nwant)); /* undo */
	cr_assert_eq(urt_cpus(NULL, 0), nwant);
}

/* Least loaded: 200 spawns land on every loop. */
static int t_spread(void *arg)
{
	(void)arg;
	urt_remote *h[200];
	for (int i = 0; i < 200; i++)
		OK(urt_spawn_on(NULL, where, NULL, &h[i]));
	int per[4] = {0};
	for (int i = 0; i < 200; i++) {
		int res = -1;
		OK(urt_remote_wait(h[i], &res));
		cr_assert(res >= 0 && res < 4);
		per[res]++;
	}
	for (int i = 0; i < 4; i++)
		cr_assert_gt(per[i], 0, "loop %d got none of 200", i);
	return 0;
}

Test(loops, least_loaded_spreads)
{
	cr_assert_eq(urt_run_loops(4, 0, NULL, t_spread, NULL), 0);
}

/* ---- a future set on loop 2 wakes 1000 waiters on loop 1 ---- */

#define NWAIT 1000
static urt_xfuture *fut;
static _Atomic int woke_right, woke_wrong;

static int fut_waiter(void *arg)
{
	(void)arg;
	void *v = NULL;
	int r = urt_xfuture_wait(fut, &v, -1);
	if (r == 5 && v == &fut && urt_loop_index() == 1)
		atomic_fetch_add(&woke_right, 1);
	else
		atomic_fetch_add(&woke_wrong, 1);
	return 0;
}

static int spawn_waiters(void *arg)
{
	(void)arg;
	urt_task *t[NWAIT];
	for (int i = 0; i < NWAIT; i++)
		cr_assert_not_null(t[i] = urt_spawn(fut_waiter, NULL));
	cr_assert_eq(urt_join_all(t, NWAIT, NULL), 0);
	return atomic_load(&woke_right);
}

static int setter(void *arg)
{
	(void)arg;
	OK(urt_sleep_ms(20)); /* let the waiters block first */
	OK(urt_xfuture_set(fut, 5, &fut));
	cr_assert_eq(urt_xfuture_set(fut, 6, NULL), -EALREADY);
	return 0;
}

static int t_future(void *arg)
{
	(void)arg;
	OK(urt_xfuture_new(&fut));
	urt_remote *hw, *hs;
	OK(urt_spawn_on(urt_loops_get(1), spawn_waiters, NULL, &hw));
	OK(urt_spawn_on(urt_loops_get(2), setter, NULL, &hs));
	int rw = -1, rs = -1;
	OK(urt_remote_wait(hw, &rw));
	OK(urt_remote_wait(hs, &rs));
	cr_assert_eq(rs, 0);
	cr_assert_eq(rw, NWAIT, "woken on loop 1 with the value: %d (wrong: %d)", rw,
		     atomic_load(&woke_wrong));
	cr_assert(urt_xfuture_done(fut));
	void *v;
	cr_assert_eq(urt_xfuture_wait(fut, &v, 0), 5); /* set: no wait */
	urt_xfuture_free(fut);
	return 0;
}

Test(loops, future_on_b_wakes_1000_waiters_on_a)
{
	cr_assert_eq(urt_run_loops(3, 0, NULL, t_future, NULL), 0);
}

/* ---- a queue: producers on loops 0 and 1, consumers on loop 2 ---- */

#define PER_PRODUCER 5000
#define NCONSUMERS 4
static urt_xqueue *q;
static _Atomic unsigned char got[2 * PER_PRODUCER];
static _Atomic int dup_or_bad;

static int producer(void *arg)
{
	intptr_t base = (intptr_t)arg;
	for (intptr_t i = 0; i < PER_PRODUCER; i++)
		OK(urt_xqueue_put(q, (void *)(base + i + 1), -1));
	return 0;
}

static int consumer(void *arg)
{
	(void)arg;
	int n = 0;
	for (;;) {
		void *it;
		OK(urt_xqueue_get(q, &it, -1));
		intptr_t v = (intptr_t)it;
		if (v == 0)
			return n; /* end marker */
		if (v < 1 || v > 2 * PER_PRODUCER || atomic_fetch_add(&got[v - 1], 1) != 0)
			atomic_fetch_add(&dup_or_bad, 1);
		n++;
	}
}

static int consumers(void *arg)
{
	(void)arg;
	urt_task *t[NCONSUMERS];
	for (int i = 0; i < NCONSUMERS; i++)
		t[i] = urt_spawn(consumer, NULL);
	int total = 0;
	for (int i = 0; i < NCONSUMERS; i++) {
		int r;
		OK(urt_join(t[i], &r));
		total += r;
	}
	return total;
}

static int t_queue(void *arg)
{
	(void)arg;
	OK(urt_xqueue_new(16, &q)); /* small: producers block, hand-offs happen */
	urt_remote *hc, *hp1;
	OK(urt_spawn_on(urt_loops_get(2), consumers, NULL, &hc));
	OK(urt_spawn_on(urt_loops_get(1), producer, (void *)(intptr_t)PER_PRODUCER, &hp1));
	urt_task *p0 = urt_spawn(producer, (void *)(intptr_t)0);
	OK(urt_join(p0, NULL));
	OK(urt_remote_wait(hp1, NULL));
	for (int i = 0; i < NCONSUMERS; i++)
		OK(urt_xqueue_put(q, NULL, -1));
	int total = -1;
	OK(urt_remote_wait(hc, &total));
	cr_assert_eq(total, 2 * PER_PRODUCER);
	cr_assert_eq(atomic_load(&dup_or_bad), 0);
	for (int i = 0; i < 2 * PER_PRODUCER; i++)
		cr_assert_eq(atomic_load(&got[i]), 1, "item %d delivered %d times", i + 1,
			     atomic_load(&got[i]));
	/* full and empty with timeout 0 and with a timeout */
	cr_assert_eq(urt_xqueue_len(q), 0u);
	void *it;
	cr_assert_eq(urt_xqueue_get(q, &it, 0), -EAGAIN);
	cr_assert_eq(urt_xqueue_get(q, &it, 10 * URT_NS_PER_MS), -ETIMEDOUT);
	for (int i = 0; i < 16; i++)
		OK(urt_xqueue_put(q, &it, 0));
	cr_assert_eq(urt_xqueue_put(q, &it, 0), -EAGAIN);
	cr_assert_eq(urt_xqueue_put(q, &it, 10 * URT_NS_PER_MS), -ETIMEDOUT);
	cr_assert_eq(urt_xqueue_len(q), 16u);
	urt_xqueue_free(q);
	return 0;
}

Test(loops, queue_two_producer_loops_consumers_on_a_third)
{
	cr_assert_eq(urt_run_loops(3, 0, NULL, t_queue, NULL), 0);
}

/* ---- cancellation across loops ---- */

static urt_xfuture *never;

static int wait_never(void *arg)
{
	(void)arg;
	return urt_xfuture_wait(never, NULL, -1); /* -ECANCELED */
}

static int slow(void *arg)
{
	(void)arg;
	urt_sleep_ms(50);
	return 9;
}

static int t_cancel(void *arg)
{
	(void)arg;
	OK(urt_xfuture_new(&never));
	/* a task on loop 1 blocked on a cross-loop future, cancelled from 0 */
	urt_remote *h;
	OK(urt_spawn_on(urt_loops_get(1), wait_never, NULL, &h));
	OK(urt_sleep_ms(10));
	OK(urt_remote_cancel(h));
	int res = 0;
	OK(urt_remote_wait(h, &res));
	cr_assert_eq(res, -ECANCELED);
	/* a wait for another loop's task, cut by a deadline: the handle stays */
	OK(urt_spawn_on(urt_loops_get(1), slow, NULL, &h));
	OK(urt_deadline_push(5 * URT_NS_PER_MS));
	cr_assert_eq(urt_remote_wait(h, &res), -ETIMEDOUT);
	urt_deadline_pop();
	OK(urt_remote_wait(h, &res));
	cr_assert_eq(res, 9);
	/* waits on the cross-loop primitives honour timeouts and cancellation */
	cr_assert_eq(urt_xfuture_wait(never, NULL, 5 * URT_NS_PER_MS), -ETIMEDOUT);
	urt_xsem *s;
	OK(urt_xsem_new(0, &s));
	cr_assert_eq(urt_xsem_acquire(s, 0), -EAGAIN);
	cr_assert_eq(urt_xsem_acquire(s, 5 * URT_NS_PER_MS), -ETIMEDOUT);
	OK(urt_xsem_release(s));
	OK(urt_xsem_acquire(s, 0));
	urt_xsem_free(s);
	urt_xfuture_free(never);
	return 0;
}

Test(loops, cross_loop_cancel_and_deadlines)
{
	cr_assert_eq(urt_run_loops(2, 0, NULL, t_cancel, NULL), 0);
}

/* ---- a semaphore as a mutex across loops; an event ---- */

static urt_xsem *sem;
static urt_xevent *go;
static int inside, shared_count;
static _Atomic int overlap;

static int sem_worker(void *arg)
{
	(void)arg;
	OK(urt_xevent_wait(go, -1));
	for (int i = 0; i < 200; i++) {
		OK(urt_xsem_acquire(sem, -1));
		if (++inside != 1)
			atomic_fetch_add(&overlap, 1);
		int v = shared_count;
		urt_yield(); /* hold it across a suspension */
		shared_count = v + 1;
		inside--;
		OK(urt_xsem_release(sem));
	}
	return 0;
}

static int t_sem(void *arg)
{
	(void)arg;
	OK(urt_xsem_new(1, &sem));
	OK(urt_xevent_new(&go));
	urt_remote *h[6];
	for (int i = 0; i < 6; i++)
		OK(urt_spawn_on(urt_loops_get((unsigned)i % 3), sem_worker, NULL, &h[i]));
	OK(urt_sleep_ms(10));
	urt_xevent_set(go);
	for (int i = 0; i < 6; i++)
		OK(urt_remote_wait(h[i], NULL));
	cr_assert_eq(atomic_load(&overlap), 0);
	cr_assert_eq(shared_count, 6 * 200);
	OK(urt_xevent_wait(go, 0)); /* stays set */
	urt_xevent_clear(go);
	cr_assert_eq(urt_xevent_wait(go, 5 * URT_NS_PER_MS), -ETIMEDOUT);
	urt_xevent_free(go);
	urt_xsem_free(sem);
	return 0;
}

Test(loops, semaphore_excludes_across_loops_event_releases_all)
{
	cr_assert_eq(urt_run_loops(3, 0, NULL, t_sem, NULL), 0);
}

/* A plain thread waits on a cross-loop future that a task sets. */
static void *thread_waiter(void *arg)
{
	void *v = NULL;
	intptr_t r = urt_xfuture_wait(arg, &v, 5 * URT_NS_PER_SEC);
	return (void *)r;
}

static int t_thread(void *arg)
{
	(void)arg;
	urt_xfuture *f;
	OK(urt_xfuture_new(&f));
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, thread_waiter, f), 0);
	OK(urt_sleep_ms(10));
	OK(urt_xfuture_set(f, 3, NULL));
	void *ret;
	cr_assert_eq(pthread_join(th, &ret), 0);
	cr_assert_eq((intptr_t)ret, 3);
	urt_xfuture_free(f);
	return 0;
}

Test(loops, a_plain_thread_waits_on_a_cross_loop_future)
{
	RUN(t_thread, NULL);
}

/* ---- shutdown with tasks blocked on every loop ---- */

static _Atomic int ended_cancelled;
static urt_xfuture *blocker;

static int block_fut(void *arg)
{
	(void)arg;
	if (urt_xfuture_wait(blocker, NULL, -1) == -ECANCELED)
		atomic_fetch_add(&ended_cancelled, 1);
	return 0;
}

static int block_sleep(void *arg)
{
	(void)arg;
	if (urt_sleep_ms(1000000) == -ECANCELED)
		atomic_fetch_add(&ended_cancelled, 1);
	return 0;
}

static int block_pipe(void *arg)
{
	int *p = arg;
	char c;
	if (urt_read(p[0], &c, 1, -1) == -ECANCELED)
		atomic_fetch_add(&ended_cancelled, 1);
	return 0;
}

static int pipes[3][2];

static int t_shutdown(void *arg)
{
	(void)arg;
	OK(urt_xfuture_new(&blocker));
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(pipe(pipes[i]), 0);
		OK(urt_spawn_on(urt_loops_get(i), block_fut, NULL, NULL));
		OK(urt_spawn_on(urt_loops_get(i), block_sleep, NULL, NULL));
		OK(urt_spawn_on(urt_loops_get(i), block_pipe, pipes[i], NULL));
	}
	OK(urt_sleep_ms(30)); /* all nine are blocked now */
	return 7;             /* and main ends */
}

Test(loops, shutdown_cancels_tasks_blocked_on_every_loop)
{
	warm_threads();
	int before = user_threads();
	cr_assert_eq(urt_run_loops(3, 0, NULL, t_shutdown, NULL), 7);
	cr_assert_eq(atomic_load(&ended_cancelled), 9);
	cr_assert(threads_at_most(before), "every loop thread ended: %d, %d before", user_threads(),
		  before);
	urt_xfuture_free(blocker);
	for (int i = 0; i < 3; i++) {
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
}

/* A waiter granted and cancelled in the same turn, in both orders: the
   grant wins (the permit is the waiter's, never lost) and the cancellation
   stays pending for its next suspension point. */
static urt_xsem *gs;
static int w_acq, w_next;

static int granted_waiter(void *arg)
{
	(void)arg;
	w_acq = urt_xsem_acquire(gs, -1);
	w_next = urt_yield();
	if (w_acq == 0)
		OK(urt_xsem_release(gs));
	return 0;
}

static int t_grant_cancel(void *arg)
{
	(void)arg;
	OK(urt_xsem_new(0, &gs));
	for (int order = 0; order < 2; order++) {
		urt_task *w = urt_spawn(granted_waiter, NULL);
		OK(urt_yield()); /* w blocks in acquire */
		if (order == 0) {
			OK(urt_xsem_release(gs));
			urt_cancel(w);
		} else {
			urt_cancel(w);
			OK(urt_xsem_release(gs));
		}
		OK(urt_join(w, NULL));
		cr_assert_eq(w_acq, 0, "order %d: the grant must win", order);
		cr_assert_eq(w_next, -ECANCELED, "order %d: the cancellation stays pending", order);
		OK(urt_xsem_acquire(gs, 0)); /* the permit came back: not lost */
	}
	cr_assert_eq(urt_xsem_acquire(gs, 0), -EAGAIN);
	urt_xsem_free(gs);
	return 0;
}

Test(loops, granted_and_cancelled_in_one_turn_grant_wins)
{
	RUN(t_grant_cancel, NULL);
}
