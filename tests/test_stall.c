/* SPDX-License-Identifier: MIT */
/*
 * The stall detector (urt_options.stall_ns / on_stall, URT_DEBUG=1): a task
 * that runs past the threshold without suspending is reported once, by name
 * and id; tasks that suspend often are not; off means no watchdog thread.
 *
 * on_stall runs on the watchdog thread: it records under a mutex, and the
 * test reads the record after urt_run has returned (the watchdog is joined
 * by then) or under the same mutex. The only timing assertions are lower
 * bounds (ran_ns >= threshold).
 */
#include "helpers.h"
#include "thread_helpers.h"

#include <dirent.h>
#include <sys/stat.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

TestSuite(stall, .timeout = 60);

struct report {
	char name[64];
	uint64_t id;
	int64_t ran_ns;
	bool on_loop_thread;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct report reports[16];
static int nreports;
static pthread_t loop_thread;

static void on_stall(const char *name, uint64_t id, int64_t ran_ns, void *arg)
{
	int *tag = arg;
	pthread_mutex_lock(&mu);
	if (nreports < 16 && tag && *tag == 0x5a11) {
		struct report *r = &reports[nreports];
		snprintf(r->name, sizeof r->name, "%s", name ? name : "(null)");
		r->id = id;
		r->ran_ns = ran_ns;
		r->on_loop_thread = pthread_equal(pthread_self(), loop_thread);
	}
	nreports++;
	pthread_mutex_unlock(&mu);
}

static int report_count(void)
{
	pthread_mutex_lock(&mu);
	int n = nreports;
	pthread_mutex_unlock(&mu);
	return n;
}

static int stall_tag = 0x5a11;

static int run_stall(int64_t stall_ns, bool callback, int (*fn)(void *), void *arg)
{
	struct urt_options o;
	memset(&o, 0, sizeof o);
	o.stall_ns = stall_ns;
	if (callback) {
		o.on_stall = on_stall;
		o.on_stall_arg = &stall_tag;
	}
	loop_thread = pthread_self();
	return urt_run_opts(&o, fn, arg);
}

#define RUN_STALL(ns, cb, fn, arg)                                              \
	do {                                                                    \
		int run_rc__ = run_stall((ns), (cb), (fn), (arg));              \
		cr_assert_eq(run_rc__, 0, "urt_run_opts(%s) returned %d", #fn, run_rc__); \
	} while (0)

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * URT_NS_PER_SEC + ts.tv_nsec;
}

/* Busy for ns without suspending (no urt call at all). */
static void spin_ns(int64_t ns)
{
	int64_t end = mono_ns() + ns;
	while (mono_ns() < end)
		;
}


/*
 * Stalling without depending on when the watchdog thread gets to run (a
 * loaded machine or a sanitizer may delay it well past the threshold):
 * spin ns; then, if a report is expected, keep spinning until it has
 * arrived (want_reports reports in all, or for watch_stderr anything on
 * fd 2; a 10 s cap turns a missing report into a failed count, not a
 * hang); then spin ns more, long enough for a duplicate report of the same
 * stall to show up.
 */
static int want_reports;
static bool watch_stderr;

static bool reported(void)
{
	if (watch_stderr) {
		struct stat st;
		return fstat(2, &st) == 0 && st.st_size > 0;
	}
	return report_count() >= want_reports;
}

static void stall_ns(int64_t ns)
{
	spin_ns(ns);
	if (!want_reports && !watch_stderr)
		return;
	int64_t cap = mono_ns() + SEC(10);
	while (!reported() && mono_ns() < cap)
		;
	spin_ns(ns);
}

/* ---------------------------------------------------------------------- */
/* A hog is reported once, by name and id */

static int hog(void *arg)
{
	stall_ns((int64_t)(intptr_t)arg);
	return 0;
}

static uint64_t hog_id;

/* arg: how long the hog spins (ns) */
static int main_hog(void *arg)
{
	struct urt_spawn_attr a = {.name = "hog"};
	urt_task *t = urt_spawn_attr(&a, hog, arg);
	cr_assert_not_null(t);
	hog_id = urt_task_id(t);
	cr_assert_eq(join_ok(t), 0);
	return 0;
}

static void assert_one_hog_report(int64_t threshold)
{
	cr_assert_eq(nreports, 1, "reports: %d", nreports);
	cr_assert_str_eq(reports[0].name, "hog");
	cr_assert_eq(reports[0].id, hog_id);
	cr_assert_geq(reports[0].ran_ns, threshold);
	cr_assert_not(reports[0].on_loop_thread, "on_stall ran on the loop's thread");
}

Test(stall, hog_reported_once_with_name_and_id)
{
	unsetenv("URT_DEBUG");
	want_reports = 1;
	RUN_STALL(MS(50), true, main_hog, (void *)(intptr_t)MS(200));
	assert_one_hog_report(MS(50));
}

/* A task that suspends every millisecond for 600 ms is never reported,
   whatever it does in total (twice the threshold below, so that a task
   that never suspended would be). */
static int yielder(void *arg)
{
	(void)arg;
	int64_t end = mono_ns() + MS(600);
	while (mono_ns() < end) {
		spin_ns(MS(1));
		OK(urt_yield());
	}
	return 0;
}

static int main_yielder(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(yielder, NULL);
	/* alone and with company: yield with and without other ready tasks */
	cr_assert_eq(join_ok(t), 0);
	urt_task *u[2] = {spawn_ok(yielder, NULL), spawn_ok(yielder, NULL)};
	cr_assert_eq(urt_join_all(u, 2, NULL), 0);
	return 0;
}

Test(stall, task_that_suspends_often_not_reported)
{
	unsetenv("URT_DEBUG");
	/* 300 ms rather than 50: margin for a loaded machine that deschedules
	   the loop's thread between two yields (100 ms was seen to be too
	   little on this 2-CPU VM with a build running) */
	RUN_STALL(MS(300), true, main_yielder, NULL);
	cr_assert_eq(nreports, 0, "a task that suspends often was reported");
}

/* Once per stall: a task that stalls, suspends, and stalls again is
   reported twice; two hogs in turn are reported once each. */
static int double_hog(void *arg)
{
	(void)arg;
	want_reports = 1;
	stall_ns(MS(200));
	OK(urt_sleep_ms(1));
	want_reports = 2;
	stall_ns(MS(200));
	return 0;
}

static uint64_t ids[2];

static int main_two_stalls(void *arg)
{
	(void)arg;
	struct urt_spawn_attr a = {.name = "double"};
	urt_task *t = urt_spawn_attr(&a, double_hog, NULL);
	cr_assert_not_null(t);
	ids[0] = urt_task_id(t);
	cr_assert_eq(join_ok(t), 0);
	cr_assert_eq(report_count(), 2, "stall, suspend, stall: reports");
	a.name = "second";
	want_reports = 3;
	t = urt_spawn_attr(&a, hog, (void *)(intptr_t)MS(200));
	cr_assert_not_null(t);
	ids[1] = urt_task_id(t);
	cr_assert_eq(join_ok(t), 0);
	return 0;
}

Test(stall, reported_once_per_stall)
{
	unsetenv("URT_DEBUG");
	RUN_STALL(MS(50), true, main_two_stalls, NULL);
	cr_assert_eq(nreports, 3);
	cr_assert_str_eq(reports[0].name, "double");
	cr_assert_str_eq(reports[1].name, "double");
	cr_assert_eq(reports[0].id, ids[0]);
	cr_assert_eq(reports[1].id, ids[0]);
	cr_assert_str_eq(reports[2].name, "second");
	cr_assert_eq(reports[2].id, ids[1]);
	for (int i = 0; i < 3; i++)
		cr_assert_geq(reports[i].ran_ns, MS(50));
}

/* The main task stalls too: it is named "main". */
static int main_spins(void *arg)
{
	(void)arg;
	stall_ns(MS(200));
	return 0;
}

Test(stall, main_task_reported_as_main)
{
	unsetenv("URT_DEBUG");
	want_reports = 1;
	RUN_STALL(MS(50), true, main_spins, NULL);
	cr_assert_eq(nreports, 1);
	cr_assert_str_eq(reports[0].name, "main");
}

/* An unnamed task is reported under the name urt_task_name gives it
   ("task-<id>"), the name urt_dump_tasks shows. */
static char unnamed_name[64];

static int main_unnamed(void *arg)
{
	(void)arg;
	urt_task *t = spawn_ok(hog, (void *)(intptr_t)MS(200));
	hog_id = urt_task_id(t);
	snprintf(unnamed_name, sizeof unnamed_name, "task-%llu", (unsigned long long)hog_id);
	cr_assert_eq(join_ok(t), 0);
	return 0;
}

Test(stall, unnamed_task_reported_by_default_name)
{
	unsetenv("URT_DEBUG");
	want_reports = 1;
	RUN_STALL(MS(50), true, main_unnamed, NULL);
	cr_assert_eq(nreports, 1);
	cr_assert_eq(reports[0].id, hog_id);
	cr_assert_str_eq(reports[0].name, unnamed_name);
}

/* ---------------------------------------------------------------------- */
/* Off: no report and no watchdog thread */

static int threads_in_loop;

static int main_count_and_hog(void *arg)
{
	threads_in_loop = thread_count();
	return main_hog(arg);
}

Test(stall, off_by_default_no_thread_no_report)
{
	unsetenv("URT_DEBUG");
	warm_threads();
	int base = thread_count();
	RUN_STALL(0, true, main_count_and_hog, (void *)(intptr_t)MS(200));
	cr_assert_eq(nreports, 0, "reported with the detector off");
	cr_assert_eq(threads_in_loop, base, "a watchdog thread runs with the detector off");
	/* the measure works: on, the watchdog is one more thread */
	RUN_STALL(MS(1000), true, main_count_and_hog, (void *)(intptr_t)MS(1));
	cr_assert_eq(threads_in_loop, base + 1, "no watchdog thread with the detector on");
	cr_assert_eq(nreports, 0);
}

Test(stall, urt_debug_0_is_off)
{
	setenv("URT_DEBUG", "0", 1);
	warm_threads();
	int base = thread_count();
	RUN_STALL(0, true, main_count_and_hog, (void *)(intptr_t)MS(1));
	cr_assert_eq(threads_in_loop, base, "URT_DEBUG=0 started the watchdog");
}

/* URT_DEBUG=1 turns it on at URT_STALL_DEFAULT_NS (100 ms). */
Test(stall, urt_debug_env_enables_default_threshold)
{
	setenv("URT_DEBUG", "1", 1);
	want_reports = 1;
	RUN_STALL(0, true, main_hog, (void *)(intptr_t)MS(250));
	assert_one_hog_report(URT_STALL_DEFAULT_NS);
}

/* An explicit stall_ns wins over URT_DEBUG's default: a 250 ms spin is
   under a 2 s threshold. */
Test(stall, explicit_threshold_wins_over_env)
{
	setenv("URT_DEBUG", "1", 1);
	RUN_STALL(SEC(2), true, main_hog, (void *)(intptr_t)MS(250));
	cr_assert_eq(nreports, 0);
}

/* Without on_stall the report goes to stderr. */
Test(stall, default_report_to_stderr)
{
	unsetenv("URT_DEBUG");
	char path[] = "/tmp/urt-stall-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	fflush(stderr);
	int saved = dup(2);
	cr_assert_geq(saved, 0);
	cr_assert_eq(dup2(fd, 2), 2);
	watch_stderr = true;
	int rc = run_stall(MS(50), false, main_hog, (void *)(intptr_t)MS(200));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	cr_assert_eq(rc, 0);
	static char buf[1 << 16]; /* room for a sanitizer's report before ours */
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	cr_assert_gt(n, 0, "nothing on stderr");
	char want[96];
	snprintf(want, sizeof want, "task 'hog' (id %llu)", (unsigned long long)hog_id);
	cr_assert_not_null(strstr(buf, want), "stderr: %s", buf);
	cr_assert_not_null(strstr(buf, "without suspending"), "stderr: %s", buf);
	cr_assert_eq(nreports, 0);
}
