/* SPDX-License-Identifier: MIT */
/*
 * Embedding costs (issues 12 and 20):
 *   step:  one urt_loop_step of an idle loop (no tasks, nothing in flight)
 *   remote: a foreign thread's round trip urt_loop_submit -> the task runs
 *          -> urt_remote_wait returns, with the loop thread in
 *          urt_loop_run_until; against a pthread mutex+condvar hand-off to a
 *          worker thread (the same round trip with a plain thread).
 *   wake:  an idle embedded loop woken from another thread: the host
 *          thread sleeps in its own epoll_wait(-1) with only urt_loop_fd
 *          in its set and no task alive; a second thread calls
 *          urt_loop_submit every 20 ms; the figure is submit -> the job
 *          runs. Three loops take turns round by round: io_uring as
 *          urt_loop_new makes it (DEFER_TASKRUN where the kernel has it),
 *          io_uring without DEFER_TASKRUN (URT_OPT_NO_DEFER_TASKRUN), and
 *          the epoll backend; median and max over every submission, and
 *          how often the host's epoll_wait failed with EINTR.
 * A and B alternate for ROUNDS rounds; medians and the per-round ratio.
 *   usage: bench_embed [steps] [round_trips] [rounds] [wakes_per_round]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <urt.h>

#include "bench.h"

static int nothing(void *arg)
{
	(void)arg;
	return 1;
}

/* ---- A: urt ---- */
static urt_future done_f;

struct fg {
	urt_loop *L;
	long n;
	double ns;
};

static int set_done(void *arg)
{
	(void)arg;
	urt_future_set(&done_f, 0, NULL);
	return 0;
}

static void *foreign(void *arg)
{
	struct fg *g = arg;
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < g->n; i++) {
		urt_remote *h;
		int res;
		if (urt_loop_submit(g->L, nothing, NULL, &h) || urt_remote_wait(h, &res) || res != 1)
			abort();
	}
	g->ns = (double)(bench_now_ns() - t0) / (double)g->n;
	urt_loop_submit(g->L, set_done, NULL, NULL);
	return NULL;
}

static int wait_done(void *arg)
{
	(void)arg;
	return urt_future_wait(&done_f, NULL, -1);
}

static double urt_round_trip(urt_loop *L, long n)
{
	urt_future_init(&done_f);
	struct fg g = {.L = urt_loop_ref(L), .n = n};
	urt_task *t = urt_loop_spawn(L, wait_done, NULL);
	pthread_t th;
	pthread_create(&th, NULL, foreign, &g);
	urt_loop_run_until(L, t, NULL);
	pthread_join(th, NULL);
	urt_loop_unref(L);
	return g.ns;
}

/* ---- B: pthread mutex+condvar hand-off ---- */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_req = PTHREAD_COND_INITIALIZER, cv_done = PTHREAD_COND_INITIALIZER;
static int pending, finished, quit;

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!pending && !quit)
			pthread_cond_wait(&cv_req, &mu);
		if (quit)
			break;
		pending = 0;
		int r = nothing(NULL);
		bench_keep(r);
		finished = 1;
		pthread_cond_signal(&cv_done);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static double pthread_round_trip(long n)
{
	pthread_t th;
	quit = 0;
	pthread_create(&th, NULL, worker, NULL);
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&mu);
		pending = 1;
		finished = 0;
		pthread_cond_signal(&cv_req);
		while (!finished)
			pthread_cond_wait(&cv_done, &mu);
		pthread_mutex_unlock(&mu);
	}
	double ns = (double)(bench_now_ns() - t0) / (double)n;
	pthread_mutex_lock(&mu);
	quit = 1;
	pthread_cond_signal(&cv_req);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	return ns;
}

/* ---- wake: an idle embedded loop woken from another thread ---- */
#define WAKE_MAX 4096
#define WAKE_KINDS 3
static const char *const wake_name[WAKE_KINDS] = {"io_uring", "io_uring, no DEFER_TASKRUN",
						   "epoll"};
static const unsigned wake_flags[WAKE_KINDS] = {URT_OPT_BACKEND_URING,
						 URT_OPT_BACKEND_URING | URT_OPT_NO_DEFER_TASKRUN,
						 URT_OPT_BACKEND_EPOLL};

struct wake {
	urt_loop *L;
	long n;
	_Atomic int64_t sent; /* the submitter's clock when it submitted */
	int64_t lat[WAKE_MAX];
	long ran; /* the loop's thread only */
};

static int wake_job(void *arg)
{
	struct wake *w = arg;
	w->lat[w->ran++] = bench_now_ns() - atomic_load(&w->sent);
	return 0;
}

static void *wake_submitter(void *arg)
{
	struct wake *w = arg;
	for (long i = 0; i < w->n; i++) {
		usleep(20000);
		atomic_store(&w->sent, bench_now_ns());
		if (urt_loop_submit(w->L, wake_job, w, NULL))
			abort();
	}
	return NULL;
}

/* One round of one kind on the calling thread: n wake-ups; their
   latencies go to out[], the number of EINTRs the host's epoll_wait saw to
   *eintr. */
static int wake_host(int kind, long n, double *out, long *eintr)
{
	struct urt_options o = {.flags = wake_flags[kind] | URT_OPT_QUIET};
	struct wake *w = calloc(1, sizeof *w);
	if (!w || urt_loop_new(&o, &w->L))
		return -1;
	w->n = n;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, urt_loop_fd(w->L), &ev))
		abort();
	pthread_t th;
	urt_loop_ref(w->L);
	pthread_create(&th, NULL, wake_submitter, w);
	while (w->ran < n) {
		if (urt_loop_step(w->L) < 0)
			abort();
		if (w->ran == n)
			break;
		int64_t ns = urt_loop_timeout_ns(w->L);
		int ms = ns < 0 ? -1 : (int)((ns + 999999) / 1000000);
		if (epoll_wait(ep, &ev, 1, ms) < 0 && errno == EINTR)
			(*eintr)++;
	}
	pthread_join(th, NULL);
	while (urt_loop_step(w->L) > 0) /* the last job's task ends */
		;
	for (long i = 0; i < n; i++)
		out[i] = (double)w->lat[i] / 1e3;
	urt_loop_unref(w->L);
	if (urt_loop_free(w->L))
		abort();
	close(ep);
	free(w);
	return 0;
}

struct wake_args {
	int kind;
	long n;
	double *out;
	long eintr;
	int rc;
};

static void *wake_host_thread(void *arg)
{
	struct wake_args *a = arg;
	a->rc = wake_host(a->kind, a->n, a->out, &a->eintr);
	return NULL;
}

/* Each round on a fresh host thread: the kernel's teardown of an io_uring
   instance interrupts one later wait of each thread that used it (task
   work from io_ring_exit_work), which would land in the next round. */
static int wake_round(int kind, long n, double *out, long *eintr)
{
	struct wake_args a = {.kind = kind, .n = n, .out = out};
	pthread_t th;
	if (pthread_create(&th, NULL, wake_host_thread, &a))
		return -1;
	pthread_join(th, NULL);
	*eintr += a.eintr;
	return a.rc;
}

static double max_of(const double *v, long n)
{
	double m = v[0];
	for (long i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

static double median_of(double *v, long n)
{
	qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
	return (n & 1) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void wake_bench(int rounds, long per)
{
	static double lat[WAKE_KINDS][WAKE_MAX];
	long eintr[WAKE_KINDS] = {0}, have[WAKE_KINDS] = {0};
	printf("# wake: idle embedded loop, host in epoll_wait(-1) on urt_loop_fd, a submit every "
	       "20 ms; %ld per round x %d rounds\n",
	       per, rounds);
	for (int r = 0; r < rounds; r++) {
		printf("#   round %d:", r);
		for (int k = 0; k < WAKE_KINDS; k++) {
			double *v = &lat[k][have[k]];
			long e0 = eintr[k];
			if (wake_round(k, per, v, &eintr[k])) {
				printf(" %s: cannot create the loop;", wake_name[k]);
				continue;
			}
			double tmp[WAKE_MAX];
			memcpy(tmp, v, (size_t)per * sizeof *v);
			printf(" %s %.1f us (max %.1f, %ld EINTR);", wake_name[k], median_of(tmp, per),
			       max_of(v, per), eintr[k] - e0);
			have[k] += per;
		}
		printf("\n");
		fflush(stdout);
	}
	for (int k = 0; k < WAKE_KINDS; k++) {
		if (!have[k])
			continue;
		double mx = max_of(lat[k], have[k]);
		double med = median_of(lat[k], have[k]); /* (sorts lat[k]) */
		double p99 = lat[k][(have[k] * 99) / 100];
		printf("# summary: wake %s: submit -> job runs median %.1f us, p99 %.1f us, max %.1f us "
		       "over %ld submissions; host epoll_wait EINTR %ld times\n",
		       wake_name[k], med, p99, mx, have[k], eintr[k]);
	}
}

int main(int argc, char **argv)
{
	long steps = argc > 1 ? atol(argv[1]) : 1000000;
	long trips = argc > 2 ? atol(argv[2]) : 20000;
	int rounds = argc > 3 ? atoi(argv[3]) : 7;
	long wakes = argc > 4 ? atol(argv[4]) : 50;
	if (steps <= 0 || trips <= 0 || rounds <= 0 || rounds > BENCH_MAX_ROUNDS || wakes <= 0 ||
	    wakes * rounds > WAKE_MAX) {
		fprintf(stderr, "usage: bench_embed [steps] [round_trips] [rounds] [wakes_per_round]\n"
				"  (wakes_per_round x rounds <= %d)\n",
			WAKE_MAX);
		return 2;
	}
	urt_loop *L;
	if (urt_loop_new(NULL, &L)) {
		fprintf(stderr, "bench_embed: cannot create a loop\n");
		return 1;
	}
	double st[BENCH_MAX_ROUNDS], a[BENCH_MAX_ROUNDS], b[BENCH_MAX_ROUNDS], q[BENCH_MAX_ROUNDS];
	printf("# embed: %ld idle steps, %ld cross-thread round trips x %d rounds\n", steps, trips,
	       rounds);
	for (int r = 0; r < rounds; r++) {
		int64_t t0 = bench_now_ns();
		for (long i = 0; i < steps; i++)
			if (urt_loop_step(L) < 0)
				abort();
		st[r] = (double)(bench_now_ns() - t0) / (double)steps;
		a[r] = urt_round_trip(L, trips);
		b[r] = pthread_round_trip(trips);
		q[r] = a[r] / b[r];
		printf("#   round %d: step %.1f ns | round trip urt %.0f ns, pthread %.0f ns (%.2f)\n", r,
		       st[r], a[r], b[r], q[r]);
	}
	printf("# summary: idle step %.1f ns; cross-thread submit+run+wait %.0f ns vs pthread "
	       "mutex+condvar hand-off %.0f ns (ratio %.2f)\n",
	       bench_median(st, rounds), bench_median(a, rounds), bench_median(b, rounds),
	       bench_median(q, rounds));
	urt_loop_free(L);
	wake_bench(rounds, wakes);
	return 0;
}
