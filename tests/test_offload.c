/* SPDX-License-Identifier: MIT */
/*
 * The executor: urt_offload / urt_offload_ex (results, concurrency, the loop
 * running meanwhile, cancellation and deadlines before and after the
 * function started, the bounded queue, the thread cap, shutdown with work
 * in flight) and urt_getaddrinfo / urt_tcp_connect by name.
 *
 * Worker-side functions never assert (criterion's asserts belong to the
 * test's thread): they record what they saw in atomics, and the loop side
 * checks. Functions that must still be running at some point block on a
 * gate (a blocking EFD_SEMAPHORE eventfd) that only the loop side opens,
 * so "still running" is a fact, not a timing guess. Sleeps are hang guards
 * (wait_until gives up after 10 s) or the deliberate length of a function.
 */
#include "helpers.h"
#include "thread_helpers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

TestSuite(offload, .timeout = 60);

/* ---------------------------------------------------------------------- */
/* Helpers */

/* A gate: workers block in gate_pass until the loop side opens it (n passes). */
static int gate_new(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	cr_assert_geq(fd, 0, "eventfd: %s", strerror(errno));
	return fd;
}

static void gate_pass(int fd) /* worker side: blocks */
{
	uint64_t v;
	while (read(fd, &v, sizeof v) < 0 && errno == EINTR)
		;
}

static void gate_open(int fd, uint64_t n) /* loop side: never blocks (eventfd write) */
{
	cr_assert_eq(write(fd, &n, sizeof n), (ssize_t)sizeof n);
}

/* Wait (suspending, 1 ms steps) until *v >= want; a hang guard of 10 s. */
static void wait_until(atomic_int *v, int want, const char *what)
{
	for (int i = 0; i < 10000 && atomic_load(v) < want; i++)
		OK(urt_sleep_ms(1));
	cr_assert_geq(atomic_load(v), want, "timed out waiting for %s", what);
}

static void sleep_ns_blocking(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / URT_NS_PER_SEC, .tv_nsec = ns % URT_NS_PER_SEC};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}


static int run_opts(unsigned threads, unsigned queue, int (*fn)(void *), void *arg)
{
	struct urt_options o;
	memset(&o, 0, sizeof o);
	o.offload_threads = threads;
	o.offload_queue = queue;
	return urt_run_opts(&o, fn, arg);
}

#define RUN_OPTS(threads, queue, fn, arg)                                       \
	do {                                                                    \
		int run_rc__ = run_opts((threads), (queue), (fn), (arg));       \
		cr_assert_eq(run_rc__, 0, "urt_run_opts(%s) returned %d", #fn, run_rc__); \
	} while (0)

static void *fn_double(void *arg)
{
	return (void *)((intptr_t)arg * 2);
}

/* ---------------------------------------------------------------------- */
/* Results */

static atomic_int orphan_calls;
static void *orphan_result;
static void *orphan_arg;
static pthread_t orphan_thread;

static void orphan_record(void *arg, void *result)
{
	atomic_fetch_add(&orphan_calls, 1);
	orphan_arg = arg;
	orphan_result = result;
	orphan_thread = pthread_self();
}

static int main_result(void *arg)
{
	(void)arg;
	void *res = NULL;
	OK(urt_offload(fn_double, (void *)(intptr_t)21, &res));
	cr_assert_eq((intptr_t)res, 42);
	/* result may be NULL */
	OK(urt_offload(fn_double, (void *)(intptr_t)1, NULL));
	/* _ex: success, so the orphan never runs */
	res = NULL;
	OK(urt_offload_ex(fn_double, (void *)(intptr_t)50, &res, orphan_record));
	cr_assert_eq((intptr_t)res, 100);
	OK(urt_offload_ex(fn_double, (void *)(intptr_t)-7, &res, NULL));
	cr_assert_eq((intptr_t)res, -14);
	cr_assert_eq(atomic_load(&orphan_calls), 0);
	return 0;
}

Test(offload, returns_fn_result)
{
	RUN(main_result, NULL);
	cr_assert_eq(atomic_load(&orphan_calls), 0, "orphan ran for a successful offload");
}

/* Many sequential round trips: records are recycled, every result is right. */
static int main_sequential(void *arg)
{
	(void)arg;
	for (intptr_t i = 0; i < 2000; i++) {
		void *res = NULL;
		OK(urt_offload(fn_double, (void *)i, &res));
		cr_assert_eq((intptr_t)res, 2 * i, "round trip %ld", (long)i);
	}
	return 0;
}

Test(offload, sequential_round_trips)
{
	RUN(main_sequential, NULL);
}

/* A fresh loop gets a fresh pool: offloads work across consecutive runs. */
Test(offload, pool_per_loop_run)
{
	RUN(main_result, NULL);
	RUN(main_result, NULL);
	RUN_OPTS(1, 1, main_result, NULL);
}

/* ---------------------------------------------------------------------- */
/* 200 concurrent offloads from 200 tasks */

#define NCONC 200
static int conc_rc[NCONC];
static intptr_t conc_res[NCONC];

static void *fn_square_jitter(void *arg)
{
	intptr_t i = (intptr_t)arg;
	if (i % 3)
		sleep_ns_blocking((i % 7) * 50000); /* 0..300 us: completions interleave */
	return (void *)(i * i + 1);
}

static int conc_task(void *arg)
{
	intptr_t i = (intptr_t)arg;
	void *res = NULL;
	conc_rc[i] = urt_offload(fn_square_jitter, (void *)i, &res);
	conc_res[i] = (intptr_t)res;
	return 0;
}

/* Join n tasks with a hang guard of 20 s in all, on the joining side: a
   task whose wake-up was lost never resumes, and the join times out (a
   deadline inside the offloading task would not do: on expiry it finds
   the work done and returns its result, hiding the lost wake-up). */
static void join_all_guarded(urt_task **t, int n)
{
	int64_t end = urt_now_ns() + SEC(20);
	for (int i = 0; i < n; i++) {
		int res = -1;
		int64_t left = end - urt_now_ns();
		int rc = urt_wait_for(t[i], &res, left > 0 ? left : 0);
		cr_assert_eq(rc, 0, "task %d never finished (lost wake-up?)", i);
		cr_assert_eq(res, 0);
	}
}

static int main_concurrent(void *arg)
{
	(void)arg;
	urt_task *t[NCONC];
	for (intptr_t i = 0; i < NCONC; i++) {
		conc_rc[i] = 1;
		t[i] = spawn_ok(conc_task, (void *)i);
	}
	join_all_guarded(t, NCONC);
	for (intptr_t i = 0; i < NCONC; i++) {
		cr_assert_eq(conc_rc[i], 0, "offload %ld returned %d", (long)i, conc_rc[i]);
		cr_assert_eq(conc_res[i], i * i + 1, "offload %ld got the wrong result", (long)i);
	}
	return 0;
}

Test(offload, two_hundred_concurrent_tasks)
{
	RUN(main_concurrent, NULL);
}

Test(offload, two_hundred_concurrent_tasks_many_threads)
{
	RUN_OPTS(16, 0, main_concurrent, NULL);
}

Test(offload, two_hundred_concurrent_tasks_one_thread_small_queue)
{
	RUN_OPTS(1, 3, main_concurrent, NULL);
}

/* ---------------------------------------------------------------------- */
/* Other tasks do I/O while a function blocks a worker */

static int io_pipe[2];
static atomic_int io_done_ops;
static int io_ops_at_return;

/* Blocks in read(2) on the pipe until the I/O task writes, after its 100 ops. */
static void *fn_read_pipe(void *arg)
{
	(void)arg;
	char c = 0;
	ssize_t n;
	while ((n = read(io_pipe[0], &c, 1)) < 0 && errno == EINTR)
		;
	return (void *)(intptr_t)(n == 1 ? c : -1);
}

static int io_task(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		OK(urt_nop());
		atomic_fetch_add(&io_done_ops, 1);
		OK(urt_sleep_ms(1));
		atomic_fetch_add(&io_done_ops, 1);
	}
	char c = 'x';
	cr_assert_eq(urt_write(io_pipe[1], &c, 1, -1), 1);
	return 0;
}

static int offloader_pipe(void *arg)
{
	(void)arg;
	void *res = NULL;
	OK(urt_offload(fn_read_pipe, NULL, &res));
	io_ops_at_return = atomic_load(&io_done_ops);
	return (int)(intptr_t)res;
}

static int main_io_meanwhile(void *arg)
{
	(void)arg;
	cr_assert_eq(pipe2(io_pipe, O_CLOEXEC), 0);
	urt_task *off = spawn_ok(offloader_pipe, NULL);
	urt_task *io = spawn_ok(io_task, NULL);
	cr_assert_eq(join_ok(off), 'x');
	cr_assert_eq(join_ok(io), 0);
	cr_assert_eq(io_ops_at_return, 100, "the offload returned before the other task's I/O");
	close(io_pipe[0]);
	close(io_pipe[1]);
	return 0;
}

Test(offload, other_tasks_do_io_while_fn_blocks)
{
	RUN(main_io_meanwhile, NULL);
}

/* The same with a single worker thread (the loop must not need a second). */
Test(offload, other_tasks_do_io_while_fn_blocks_one_thread)
{
	RUN_OPTS(1, 0, main_io_meanwhile, NULL);
}

/* ---------------------------------------------------------------------- */
/* The loop keeps running: fn waits for something only the loop releases */

static int gate_fd;
static atomic_int g_started, g_finished;

static void *fn_wait_gate(void *arg)
{
	atomic_fetch_add(&g_started, 1);
	gate_pass(gate_fd);
	atomic_fetch_add(&g_finished, 1);
	return arg;
}

static int offloader_gate(void *arg)
{
	void *res = NULL;
	int rc = urt_offload(fn_wait_gate, arg, &res);
	if (rc < 0)
		return rc;
	return res == arg ? 0 : -EBADMSG;
}

static int main_loop_releases(void *arg)
{
	(void)arg;
	gate_fd = gate_new();
	urt_task *t = spawn_ok(offloader_gate, (void *)(intptr_t)9);
	wait_until(&g_started, 1, "fn to start");
	/* fn is blocked on the gate; the loop still runs timers, ops, tasks */
	for (int i = 0; i < 5; i++) {
		OK(urt_sleep_ms(2));
		OK(urt_nop());
		OK(urt_yield());
	}
	cr_assert_not(urt_task_done(t));
	cr_assert_eq(atomic_load(&g_finished), 0);
	uint64_t one = 1;
	cr_assert_eq(urt_write(gate_fd, &one, sizeof one, -1), (ssize_t)sizeof one);
	cr_assert_eq(join_ok(t), 0);
	cr_assert_eq(atomic_load(&g_finished), 1);
	close(gate_fd);
	return 0;
}

Test(offload, loop_runs_while_fn_waits_for_the_loop)
{
	RUN(main_loop_releases, NULL);
}

/* While a function blocks, the loop sleeps in the kernel: it does not spin
   on the eventfd (a handful of CQEs, not thousands). */
static void *fn_sleep_200ms(void *arg)
{
	sleep_ns_blocking(MS(200));
	return arg;
}

static int main_idle(void *arg)
{
	(void)arg;
	struct urt_stats a, b;
	OK(urt_stats_get(&a));
	OK(urt_offload(fn_sleep_200ms, NULL, NULL));
	OK(urt_stats_get(&b));
	cr_assert_leq(b.cqes - a.cqes, 20, "the loop spun while waiting for the worker");
	cr_assert_leq(b.loop_turns - a.loop_turns, 20, "the loop spun while waiting for the worker");
	return 0;
}

Test(offload, loop_idles_while_waiting)
{
	RUN(main_idle, NULL);
}

/* ---------------------------------------------------------------------- */
/* Cancellation before the function started (it never runs) */

static atomic_int flag_ran;
static int victim_rc;
static int victim_orphans_at_return;
static void *victim_res;

static void *fn_set_flag(void *arg)
{
	atomic_fetch_add(&flag_ran, 1);
	return arg;
}

static int victim_plain(void *arg)
{
	(void)arg;
	victim_res = (void *)(intptr_t)0x5ca1ab1e;
	victim_rc = urt_offload(fn_set_flag, (void *)(intptr_t)3, &victim_res);
	return 0;
}

static int victim_ex(void *arg)
{
	victim_res = (void *)(intptr_t)0x5ca1ab1e;
	victim_rc = urt_offload_ex(fn_set_flag, arg, &victim_res, orphan_record);
	victim_orphans_at_return = atomic_load(&orphan_calls);
	return 0;
}

/* offload_threads = 1: the blocker holds the only worker, the victim's work
   waits in the queue, and is cancelled there. */
static int main_cancel_queued(void *arg)
{
	bool ex = arg != NULL;
	gate_fd = gate_new();
	urt_task *blk = spawn_ok(offloader_gate, (void *)(intptr_t)1);
	wait_until(&g_started, 1, "the blocker to start");
	urt_task *v = spawn_ok(ex ? victim_ex : victim_plain, (void *)(intptr_t)77);
	for (int i = 0; i < 3; i++)
		OK(urt_yield()); /* v queues its work and waits */
	cr_assert_not(urt_task_done(v));
	urt_cancel(v);
	cr_assert_eq(join_ok(v), 0);
	cr_assert_eq(victim_rc, -ECANCELED);
	cr_assert_eq(victim_res, (void *)(intptr_t)0x5ca1ab1e, "*result written on failure");
	if (ex) {
		/* never started: the orphan ran at once, on the loop's thread, with NULL */
		cr_assert_eq(victim_orphans_at_return, 1);
		cr_assert_eq(orphan_arg, (void *)(intptr_t)77);
		cr_assert_null(orphan_result);
		cr_assert(pthread_equal(orphan_thread, pthread_self()));
	}
	gate_open(gate_fd, 1);
	cr_assert_eq(join_ok(blk), 0);
	/* one worker, FIFO: had the victim's work stayed queued, it would run
	   before this one */
	void *res = NULL;
	OK(urt_offload(fn_double, (void *)(intptr_t)4, &res));
	cr_assert_eq((intptr_t)res, 8);
	cr_assert_eq(atomic_load(&flag_ran), 0, "the cancelled function ran");
	close(gate_fd);
	return 0;
}

Test(offload, cancel_before_start_never_runs)
{
	RUN_OPTS(1, 0, main_cancel_queued, NULL);
	cr_assert_eq(atomic_load(&flag_ran), 0, "the cancelled function ran");
}

Test(offload, cancel_before_start_ex_orphan_gets_null)
{
	RUN_OPTS(1, 0, main_cancel_queued, (void *)1);
	cr_assert_eq(atomic_load(&flag_ran), 0, "the cancelled function ran");
	cr_assert_eq(atomic_load(&orphan_calls), 1, "orphan calls");
}

/* A task cancelled before it even calls urt_offload_ex (cancel pending at
   the call): fn never runs and the orphan still runs, with NULL. */
static int main_cancel_pending(void *arg)
{
	(void)arg;
	urt_cancel(urt_current());
	void *res = (void *)1;
	CHECK(urt_offload_ex(fn_set_flag, (void *)(intptr_t)5, &res, orphan_record), -ECANCELED);
	cr_assert_eq(atomic_load(&orphan_calls), 1);
	cr_assert_null(orphan_result);
	cr_assert_eq(orphan_arg, (void *)(intptr_t)5);
	cr_assert_eq(res, (void *)1);
	return 0;
}

Test(offload, cancel_pending_at_call)
{
	RUN(main_cancel_pending, NULL);
	cr_assert_eq(atomic_load(&flag_ran), 0);
}

/* ---------------------------------------------------------------------- */
/* Cancellation while the function runs */

struct job {
	int gate;
	atomic_int started, finished;
	char *out; /* heap result */
};

static struct job *job_new(void)
{
	struct job *j = calloc(1, sizeof *j);
	cr_assert_not_null(j);
	j->gate = gate_new();
	return j;
}

static void *fn_job(void *arg)
{
	struct job *j = arg;
	atomic_store(&j->started, 1);
	gate_pass(j->gate);
	char *out = strdup("result of fn");
	atomic_store(&j->finished, 1);
	return out;
}

static atomic_int job_orphans;
static int job_orphan_ok;
static pthread_t job_orphan_thread;

/* Frees the heap arg and fn's heap result (ASan/LSan check both). */
static void job_orphan(void *arg, void *result)
{
	struct job *j = arg;
	job_orphan_ok = atomic_load(&j->finished) == 1 && result &&
			strcmp(result, "result of fn") == 0;
	job_orphan_thread = pthread_self();
	free(result);
	close(j->gate);
	free(j);
	atomic_fetch_add(&job_orphans, 1);
}

static int vic_rc;
static int vic_fin_at_return;
static void *vic_res;

static int canceller_victim(void *arg)
{
	struct job *j = arg;
	vic_res = (void *)(intptr_t)0x5ca1ab1e;
	vic_rc = urt_offload_ex(fn_job, j, &vic_res, job_orphan);
	vic_fin_at_return = atomic_load(&j->finished);
	return 0;
}

static int main_cancel_running_ex(void *arg)
{
	(void)arg;
	struct job *j = job_new();
	int gate = j->gate; /* j belongs to the orphan once the call fails */
	urt_task *v = spawn_ok(canceller_victim, j);
	wait_until(&j->started, 1, "fn to start");
	urt_cancel(v);
	cr_assert_eq(join_ok(v), 0);
	cr_assert_eq(vic_rc, -ECANCELED);
	cr_assert_eq(vic_fin_at_return, 0, "the call waited for fn");
	cr_assert_eq(vic_res, (void *)(intptr_t)0x5ca1ab1e, "*result written on failure");
	cr_assert_eq(atomic_load(&job_orphans), 0, "orphan ran before fn finished");
	gate_open(gate, 1); /* fn finishes now; the loop runs the orphan */
	wait_until(&job_orphans, 1, "the orphan");
	cr_assert(job_orphan_ok, "the orphan did not get fn's result");
	cr_assert(pthread_equal(job_orphan_thread, pthread_self()), "orphan not on the loop's thread");
	/* the pool goes on working */
	void *res = NULL;
	OK(urt_offload(fn_double, (void *)(intptr_t)5, &res));
	cr_assert_eq((intptr_t)res, 10);
	return 0;
}

Test(offload, cancel_while_running_ex_orphan_frees)
{
	RUN(main_cancel_running_ex, NULL);
	cr_assert_eq(atomic_load(&job_orphans), 1);
}

/* Plain urt_offload: the late completion is dropped (the record is freed
   by the loop; fn's arg is static here, as the contract requires). */
static struct job static_job;
static char *late_out;

static void *fn_job_keep(void *arg)
{
	void *out = fn_job(arg);
	late_out = out; /* published before the completion; freed by the test */
	return out;
}

static int plain_victim(void *arg)
{
	vic_res = (void *)(intptr_t)0x5ca1ab1e;
	vic_rc = urt_offload(fn_job_keep, arg, &vic_res);
	vic_fin_at_return = atomic_load(&static_job.finished);
	return 0;
}

static int main_cancel_running_plain(void *arg)
{
	(void)arg;
	static_job.gate = gate_new();
	urt_task *v = spawn_ok(plain_victim, &static_job);
	wait_until(&static_job.started, 1, "fn to start");
	urt_cancel(v);
	cr_assert_eq(join_ok(v), 0);
	cr_assert_eq(vic_rc, -ECANCELED);
	cr_assert_eq(vic_fin_at_return, 0, "the call waited for fn");
	cr_assert_eq(vic_res, (void *)(intptr_t)0x5ca1ab1e);
	gate_open(static_job.gate, 1);
	wait_until(&static_job.finished, 1, "fn to finish");
	/* the dropped completion arrives while more offloads go on */
	for (intptr_t i = 0; i < 20; i++) {
		void *res = NULL;
		OK(urt_offload(fn_double, (void *)i, &res));
		cr_assert_eq((intptr_t)res, 2 * i);
	}
	close(static_job.gate);
	return 0;
}

Test(offload, cancel_while_running_result_dropped)
{
	RUN(main_cancel_running_plain, NULL);
	cr_assert_not_null(late_out);
	free(late_out);
}

/* ---------------------------------------------------------------------- */
/* Deadline scopes */

static int main_deadline_running(void *arg)
{
	(void)arg;
	gate_fd = gate_new();
	OK(urt_deadline_push(MS(30)));
	int64_t t0 = urt_now_ns();
	void *res = (void *)1;
	CHECK(urt_offload(fn_wait_gate, NULL, &res), -ETIMEDOUT);
	cr_assert_geq(urt_now_ns() - t0, MS(30));
	urt_deadline_pop();
	cr_assert_eq(res, (void *)1);
	cr_assert_eq(atomic_load(&g_started), 1);
	cr_assert_eq(atomic_load(&g_finished), 0, "the call waited for fn");
	gate_open(gate_fd, 1);
	wait_until(&g_finished, 1, "fn to finish");
	OK(urt_offload(fn_double, (void *)(intptr_t)1, NULL));
	close(gate_fd);
	return 0;
}

Test(offload, deadline_while_running_etimedout)
{
	RUN(main_deadline_running, NULL);
}

/* The deadline expires while the work is still queued: it never runs. */
static int main_deadline_queued(void *arg)
{
	(void)arg;
	gate_fd = gate_new();
	urt_task *blk = spawn_ok(offloader_gate, NULL);
	wait_until(&g_started, 1, "the blocker to start");
	OK(urt_deadline_push(MS(20)));
	CHECK(urt_offload_ex(fn_set_flag, (void *)(intptr_t)6, NULL, orphan_record), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(atomic_load(&orphan_calls), 1);
	cr_assert_null(orphan_result);
	gate_open(gate_fd, 1);
	cr_assert_eq(join_ok(blk), 0);
	OK(urt_offload(fn_double, (void *)(intptr_t)1, NULL)); /* FIFO: after the victim */
	cr_assert_eq(atomic_load(&flag_ran), 0, "the timed-out function ran");
	/* an already expired deadline: refused at once, the orphan gets NULL */
	OK(urt_deadline_push(0));
	CHECK(urt_offload_ex(fn_set_flag, (void *)(intptr_t)7, NULL, orphan_record), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(atomic_load(&orphan_calls), 2);
	cr_assert_eq(orphan_arg, (void *)(intptr_t)7);
	close(gate_fd);
	return 0;
}

Test(offload, deadline_while_queued_never_runs)
{
	RUN_OPTS(1, 0, main_deadline_queued, NULL);
	cr_assert_eq(atomic_load(&flag_ran), 0, "the timed-out function ran");
}

/* ---------------------------------------------------------------------- */
/* The bounded queue (offload_queue) */

static atomic_int running, max_running, order_n;
static int order[16];
static atomic_int release_all;

/* Counts how many functions run at once; records the start order. */
static void *fn_count(void *arg)
{
	int now = atomic_fetch_add(&running, 1) + 1;
	int m = atomic_load(&max_running);
	while (now > m && !atomic_compare_exchange_weak(&max_running, &m, now))
		;
	order[atomic_fetch_add(&order_n, 1)] = (int)(intptr_t)arg;
	while (!atomic_load(&release_all))
		sleep_ns_blocking(MS(1));
	atomic_fetch_sub(&running, 1);
	return (void *)((intptr_t)arg + 100);
}

static int bq_rc[16];
static intptr_t bq_res[16];

static int bq_task(void *arg)
{
	intptr_t i = (intptr_t)arg;
	void *res = NULL;
	bq_rc[i] = urt_offload(fn_count, (void *)i, &res);
	bq_res[i] = (intptr_t)res;
	return 0;
}

/* arg: how many functions may run at once (the queue bound or the thread
   cap). 8 tasks offload at once; the main task waits until that many run,
   gives a third one time to start (it must not), then lets them all go. */
static int main_bound(void *arg)
{
	int bound = (int)(intptr_t)arg;
	enum { N = 8 };
	urt_task *t[N];
	for (intptr_t i = 0; i < N; i++) {
		bq_rc[i] = 1;
		t[i] = spawn_ok(bq_task, (void *)i);
	}
	wait_until(&running, bound, "functions to start");
	OK(urt_sleep_ms(30));
	cr_assert_eq(atomic_load(&running), bound, "more functions run than allowed");
	atomic_store(&release_all, 1);
	join_all_guarded(t, N);
	for (intptr_t i = 0; i < N; i++) {
		cr_assert_eq(bq_rc[i], 0, "offload %ld returned %d", (long)i, bq_rc[i]);
		cr_assert_eq(bq_res[i], i + 100);
	}
	cr_assert_eq(atomic_load(&max_running), bound, "max running");
	cr_assert_eq(atomic_load(&order_n), N);
	return 0;
}

/* offload_queue = 2 with 8 threads: only 2 offloads are outstanding at
   once, so only 2 functions can run although 8 threads may start. */
Test(offload, bounded_queue_limits_outstanding)
{
	RUN_OPTS(8, 2, main_bound, (void *)(intptr_t)2);
}

/* offload_threads = 2 (queue unbounded): at most 2 functions at once. */
Test(offload, thread_cap_respected)
{
	RUN_OPTS(2, 0, main_bound, (void *)(intptr_t)2);
}

Test(offload, thread_cap_one)
{
	RUN_OPTS(1, 0, main_bound, (void *)(intptr_t)1);
}

/* offload_queue = 2, one thread, 5 tasks at once: all complete, in FIFO order. */
static int main_bq_fifo(void *arg)
{
	(void)arg;
	enum { N = 5 };
	atomic_store(&release_all, 1); /* fn_count returns at once */
	urt_task *t[N];
	for (intptr_t i = 0; i < N; i++) {
		bq_rc[i] = 1;
		t[i] = spawn_ok(bq_task, (void *)i);
	}
	join_all_guarded(t, N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(bq_rc[i], 0, "offload %d returned %d", i, bq_rc[i]);
		cr_assert_eq(bq_res[i], i + 100);
		cr_assert_eq(order[i], i, "start order: position %d ran offload %d", i, order[i]);
	}
	cr_assert_eq(atomic_load(&max_running), 1);
	return 0;
}

Test(offload, bounded_queue_fifo_all_complete)
{
	RUN_OPTS(1, 2, main_bq_fifo, NULL);
}

/* offload_queue = 1: a task waiting for a slot is cancelled (fn never runs,
   the next waiter still gets the slot); a task granted a slot is cancelled
   before it runs (the slot is passed on, not lost). */
static int slot_rc[3];

static int slot_task(void *arg)
{
	intptr_t i = (intptr_t)arg;
	slot_rc[i] = urt_offload_ex(i == 2 ? fn_double : fn_set_flag, (void *)i, NULL,
				    orphan_record);
	return 0;
}

static int main_slot_cancel(void *arg)
{
	bool granted = arg != NULL;
	gate_fd = gate_new();
	urt_task *t[3];
	if (!granted) {
		/* a spawned blocker holds the only slot */
		urt_task *blk = spawn_ok(offloader_gate, NULL);
		wait_until(&g_started, 1, "the blocker to start");
		t[1] = spawn_ok(slot_task, (void *)(intptr_t)1);
		t[2] = spawn_ok(slot_task, (void *)(intptr_t)2);
		OK(urt_yield());
		OK(urt_yield());
		urt_cancel(t[1]); /* waiting for a slot */
		cr_assert_eq(join_ok(t[1]), 0);
		cr_assert_eq(slot_rc[1], -ECANCELED);
		cr_assert_eq(atomic_load(&orphan_calls), 1);
		gate_open(gate_fd, 1);
		cr_assert_eq(join_ok(blk), 0);
	} else {
		/* the main task holds the slot; its completion grants the slot to
		   t[1], and main runs first (woken by the same batch) and cancels
		   t[1] before it runs */
		t[1] = spawn_ok(slot_task, (void *)(intptr_t)1);
		t[2] = spawn_ok(slot_task, (void *)(intptr_t)2);
		gate_open(gate_fd, 1); /* main's own function passes at once */
		OK(urt_offload(fn_wait_gate, NULL, NULL));
		urt_cancel(t[1]);
		cr_assert_eq(join_ok(t[1]), 0);
		cr_assert_eq(slot_rc[1], -ECANCELED);
	}
	join_all_guarded(&t[2], 1); /* a lost slot fails, not hangs */
	cr_assert_eq(slot_rc[2], 0, "the next waiter did not get the slot");
	close(gate_fd);
	return 0;
}

Test(offload, slot_waiter_cancelled)
{
	RUN_OPTS(1, 1, main_slot_cancel, NULL);
	cr_assert_eq(atomic_load(&flag_ran), 0);
}

Test(offload, slot_granted_then_cancelled_passes_it_on)
{
	RUN_OPTS(1, 1, main_slot_cancel, (void *)1);
	cr_assert_eq(atomic_load(&flag_ran), 0);
}

/* ---------------------------------------------------------------------- */
/* Shutdown with work in flight */

static atomic_int sd_started, sd_done;

static void *fn_100ms(void *arg)
{
	atomic_store(&sd_started, 1);
	sleep_ns_blocking(MS(100));
	atomic_store(&sd_done, 1);
	return arg;
}

static int detached_offloader(void *arg)
{
	bool ex = arg != NULL;
	if (ex) {
		char *heap = strdup("heap arg");
		return urt_offload_ex(fn_100ms, heap, NULL, orphan_record);
	}
	return urt_offload(fn_100ms, NULL, NULL);
}

static int main_shutdown(void *arg)
{
	urt_task *t = spawn_ok(detached_offloader, arg);
	OK(urt_detach(t));
	wait_until(&sd_started, 1, "fn to start");
	return 0; /* the detached task is cancelled; urt_run waits for fn */
}

Test(offload, shutdown_waits_for_running_fn)
{
	RUN(main_shutdown, NULL);
	cr_assert_eq(atomic_load(&sd_done), 1, "urt_run returned while fn still ran");
}

Test(offload, shutdown_runs_orphan_with_result)
{
	RUN(main_shutdown, (void *)1);
	cr_assert_eq(atomic_load(&sd_done), 1, "urt_run returned while fn still ran");
	cr_assert_eq(atomic_load(&orphan_calls), 1, "orphan calls");
	cr_assert_not_null(orphan_arg);
	cr_assert_eq(orphan_result, orphan_arg, "orphan did not get fn's result");
	cr_assert_str_eq(orphan_arg, "heap arg");
	free(orphan_arg);
}

/* Work still queued at shutdown is dropped with its task: never runs. */
static int queued_detached(void *arg)
{
	(void)arg;
	return urt_offload_ex(fn_set_flag, (void *)(intptr_t)8, NULL, orphan_record);
}

static int main_shutdown_queued(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(detached_offloader, NULL);
	OK(urt_detach(t));
	wait_until(&sd_started, 1, "fn to start");
	t = spawn_ok(queued_detached, NULL);
	OK(urt_detach(t));
	OK(urt_yield());
	OK(urt_yield());
	return 0;
}

Test(offload, shutdown_drops_queued_work)
{
	RUN_OPTS(1, 0, main_shutdown_queued, NULL);
	cr_assert_eq(atomic_load(&sd_done), 1);
	cr_assert_eq(atomic_load(&flag_ran), 0, "queued work ran after its task was gone");
	cr_assert_eq(atomic_load(&orphan_calls), 1);
	cr_assert_null(orphan_result);
}

/* ---------------------------------------------------------------------- */
/* Argument and context errors */

Test(offload, eperm_outside_task)
{
	void *res = (void *)1;
	CHECK(urt_offload(fn_set_flag, NULL, &res), -EPERM);
	cr_assert_eq(res, (void *)1);
	/* the _ex contract: any error runs the orphan (here at once, with NULL) */
	CHECK(urt_offload_ex(fn_set_flag, (void *)(intptr_t)9, &res, orphan_record), -EPERM);
	cr_assert_eq(atomic_load(&orphan_calls), 1);
	cr_assert_eq(orphan_arg, (void *)(intptr_t)9);
	cr_assert_null(orphan_result);
	cr_assert_eq(atomic_load(&flag_ran), 0);
	struct addrinfo *ai = NULL;
	CHECK(urt_getaddrinfo("localhost", NULL, NULL, &ai), -EPERM);
	cr_assert_null(ai);
}

static int main_null_fn(void *arg)
{
	(void)arg;
	void *res = (void *)1;
	CHECK(urt_offload(NULL, NULL, &res), -EINVAL);
	CHECK(urt_offload_ex(NULL, (void *)(intptr_t)10, &res, orphan_record), -EINVAL);
	cr_assert_eq(res, (void *)1);
	cr_assert_eq(atomic_load(&orphan_calls), 1);
	cr_assert_eq(orphan_arg, (void *)(intptr_t)10);
	return 0;
}

Test(offload, null_fn_einval)
{
	RUN(main_null_fn, NULL);
	CHECK(urt_offload(NULL, NULL, NULL), -EINVAL); /* outside a task too */
}

/* Workers start lazily and no more than offload_threads of them. */
static int main_lazy(void *arg)
{
	int base = (int)(intptr_t)arg;
	cr_assert_eq(thread_count(), base, "a worker started before any offload");
	atomic_store(&release_all, 1);
	enum { N = 16 };
	urt_task *t[N];
	for (intptr_t i = 0; i < N; i++)
		t[i] = spawn_ok(bq_task, (void *)i);
	join_all_guarded(t, N);
	int n = thread_count();
	cr_assert_gt(n, base);
	cr_assert_leq(n, base + 3, "more workers than offload_threads");
	return 0;
}

Test(offload, workers_lazy_and_capped)
{
	unsetenv("URT_DEBUG"); /* no stall watchdog thread */
	warm_threads();
	int base = thread_count();
	RUN_OPTS(3, 0, main_lazy, (void *)(intptr_t)base);
	/* joined threads may linger in /proc for a moment */
	for (int i = 0; i < 1000 && thread_count() != base; i++)
		sleep_ns_blocking(MS(1));
	cr_assert_eq(thread_count(), base, "workers outlived the loop");
}

/* Workers block every signal (signals belong to the loop's thread). */
static atomic_int sig_blocked_n;

static void *fn_sigmask(void *arg)
{
	(void)arg;
	sigset_t cur;
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	int n = sigismember(&cur, SIGUSR1) + sigismember(&cur, SIGTERM) + sigismember(&cur, SIGINT);
	atomic_store(&sig_blocked_n, n);
	return NULL;
}

static int main_sigmask(void *arg)
{
	(void)arg;
	OK(urt_offload(fn_sigmask, NULL, NULL));
	cr_assert_eq(atomic_load(&sig_blocked_n), 3, "a worker accepts signals");
	return 0;
}

Test(offload, workers_block_signals)
{
	RUN(main_sigmask, NULL);
}

/* ---------------------------------------------------------------------- */
/* urt_getaddrinfo */

static int main_gai_localhost(void *arg)
{
	(void)arg;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	OK(urt_getaddrinfo("localhost", "80", &hints, &res));
	cr_assert_not_null(res);
	int n = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next, n++) {
		cr_assert_eq(ai->ai_family, AF_INET);
		struct sockaddr_in *sin = (struct sockaddr_in *)ai->ai_addr;
		cr_assert_eq(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
		cr_assert_eq(ntohs(sin->sin_port), 80);
	}
	cr_assert_geq(n, 1);
	freeaddrinfo(res);
	return 0;
}

Test(offload, getaddrinfo_localhost_inet)
{
	RUN(main_gai_localhost, NULL);
}

static int main_gai_numeric6(void *arg)
{
	(void)arg;
	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_DGRAM};
	struct addrinfo *res = NULL;
	OK(urt_getaddrinfo("::1", "5353", &hints, &res));
	cr_assert_not_null(res);
	cr_assert_eq(res->ai_family, AF_INET6);
	cr_assert_eq(res->ai_socktype, SOCK_DGRAM);
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)res->ai_addr;
	cr_assert(IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr));
	cr_assert_eq(ntohs(s6->sin6_port), 5353);
	freeaddrinfo(res);
	/* numeric only: a name is refused without a lookup */
	res = (struct addrinfo *)1;
	CHECK(urt_getaddrinfo("localhost", NULL, &hints, &res), -ENOENT);
	cr_assert_null(res);
	/* service only, no host */
	struct addrinfo h2 = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_family = AF_INET,
			      .ai_socktype = SOCK_STREAM};
	OK(urt_getaddrinfo(NULL, "8080", &h2, &res));
	cr_assert_eq(res->ai_family, AF_INET);
	cr_assert_eq(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 8080);
	freeaddrinfo(res);
	/* NULL hints */
	OK(urt_getaddrinfo("127.0.0.1", NULL, NULL, &res));
	cr_assert_not_null(res);
	freeaddrinfo(res);
	return 0;
}

Test(offload, getaddrinfo_numeric_ipv6_and_service)
{
	RUN(main_gai_numeric6, NULL);
}

static int main_gai_errors(void *arg)
{
	(void)arg;
	struct addrinfo *res = (struct addrinfo *)1;
	int rc = urt_getaddrinfo("no-such-host.invalid", NULL, NULL, &res);
	cr_assert(rc == -ENOENT || rc == -EAGAIN, "no-such-host.invalid: %d", rc);
	cr_assert_null(res);
	res = (struct addrinfo *)1;
	CHECK(urt_getaddrinfo(NULL, NULL, NULL, &res), -EINVAL);
	CHECK(urt_getaddrinfo("localhost", NULL, NULL, NULL), -EINVAL);
	/* bad family / flags */
	struct addrinfo bad = {.ai_family = 12345};
	res = (struct addrinfo *)1;
	CHECK(urt_getaddrinfo("127.0.0.1", NULL, &bad, &res), -EINVAL);
	cr_assert_null(res);
	struct addrinfo badflags = {.ai_flags = 0x7fff0000};
	CHECK(urt_getaddrinfo("127.0.0.1", NULL, &badflags, &res), -EINVAL);
	return 0;
}

Test(offload, getaddrinfo_errors)
{
	RUN(main_gai_errors, NULL);
}

static int gai_rc;

static int gai_task(void *arg)
{
	(void)arg;
	struct addrinfo *res = NULL;
	gai_rc = urt_getaddrinfo("localhost", "80", NULL, &res);
	if (res)
		freeaddrinfo(res); /* only on success */
	return 0;
}

/* Cancelled while queued behind a blocker (deterministic), and while
   running or just finished (cancelled at every step of a few yields):
   nothing leaks (LSan) and nothing is touched after free (ASan). */
static int main_gai_cancel(void *arg)
{
	(void)arg;
	gate_fd = gate_new();
	urt_task *blk = spawn_ok(offloader_gate, NULL);
	wait_until(&g_started, 1, "the blocker to start");
	urt_task *t = spawn_ok(gai_task, NULL);
	OK(urt_yield());
	OK(urt_yield());
	urt_cancel(t);
	cr_assert_eq(join_ok(t), 0);
	cr_assert_eq(gai_rc, -ECANCELED);
	gate_open(gate_fd, 1);
	cr_assert_eq(join_ok(blk), 0);
	for (int k = 0; k < 30; k++) {
		gai_rc = -ECANCELED; /* stays so if t is cancelled before it runs */
		t = spawn_ok(gai_task, NULL);
		for (int y = 0; y < k % 6; y++)
			OK(urt_yield());
		if (k >= 6)
			OK(urt_sleep_ns((k % 5) * 100000));
		urt_cancel(t);
		int res = join_ok(t); /* -ECANCELED if cancelled before it ran */
		cr_assert(res == 0 || res == -ECANCELED, "task %d: %d", k, res);
		cr_assert(gai_rc == 0 || gai_rc == -ECANCELED, "lookup %d: %d", k, gai_rc);
	}
	/* deadline while queued */
	atomic_store(&g_started, 0);
	urt_task *blk2 = spawn_ok(offloader_gate, NULL);
	wait_until(&g_started, 1, "the blocker to start");
	OK(urt_deadline_push(MS(10)));
	struct addrinfo *res = NULL;
	CHECK(urt_getaddrinfo("localhost", NULL, NULL, &res), -ETIMEDOUT);
	urt_deadline_pop();
	gate_open(gate_fd, 1);
	cr_assert_eq(join_ok(blk2), 0);
	close(gate_fd);
	return 0;
}

Test(offload, getaddrinfo_cancel_does_not_leak)
{
	RUN_OPTS(1, 0, main_gai_cancel, NULL);
}

/* Cancelled tasks in a lookup still running when the loop shuts down. */
static int main_gai_shutdown(void *arg)
{
	(void)arg;
	for (int i = 0; i < 8; i++) {
		urt_task *t = spawn_ok(gai_task, NULL);
		OK(urt_detach(t));
	}
	OK(urt_yield());
	return 0;
}

Test(offload, getaddrinfo_in_flight_at_shutdown)
{
	RUN(main_gai_shutdown, NULL);
}

/* ---------------------------------------------------------------------- */
/* urt_tcp_connect by name */

static int main_connect_name(void *arg)
{
	(void)arg;
	int lfd = urt_tcp_listen("127.0.0.1", 0, 16, 0);
	cr_assert_geq(lfd, 0, "urt_tcp_listen: %d", lfd);
	int port = urt_sock_port(lfd);
	cr_assert_gt(port, 0);
	int cfd = urt_tcp_connect("localhost", port);
	cr_assert_geq(cfd, 0, "urt_tcp_connect(localhost): %d", cfd);
	int sfd = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(sfd, 0);
	cr_assert_eq(urt_send(cfd, "ping", 4, 0), 4);
	char buf[8] = {0};
	cr_assert_eq(urt_recv(sfd, buf, sizeof buf, 0), 4);
	cr_assert_str_eq(buf, "ping");
	OK(urt_close(sfd));
	OK(urt_close(cfd));
	/* a numeric address still works, and a name that does not resolve fails */
	cfd = urt_tcp_connect("127.0.0.1", port);
	cr_assert_geq(cfd, 0);
	sfd = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(sfd, 0);
	OK(urt_close(sfd));
	OK(urt_close(cfd));
	int rc = urt_tcp_connect("no-such-host.invalid", port);
	cr_assert(rc == -ENOENT || rc == -EAGAIN, "no-such-host.invalid: %d", rc);
	OK(urt_close(lfd));
	return 0;
}

Test(offload, tcp_connect_by_name)
{
	RUN(main_connect_name, NULL);
}
