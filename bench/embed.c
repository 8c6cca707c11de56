/* SPDX-License-Identifier: MIT */
/*
 * Embedding costs (issue 12):
 *   step:  one urt_loop_step of an idle loop (no tasks, nothing in flight)
 *   remote: a foreign thread's round trip urt_loop_submit -> the task runs
 *          -> urt_remote_wait returns, with the loop thread in
 *          urt_loop_run_until; against a pthread mutex+condvar hand-off to a
 *          worker thread (the same round trip with a plain thread).
 * A and B alternate for ROUNDS rounds; medians and the per-round ratio.
 *   usage: bench_embed [steps] [round_trips] [rounds]
 */
#include <pthread.h>
#include <stdatomic.h>
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
	return urt_future_wait(&done_f, -1, NULL);
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

int main(int argc, char **argv)
{
	long steps = argc > 1 ? atol(argv[1]) : 1000000;
	long trips = argc > 2 ? atol(argv[2]) : 20000;
	int rounds = argc > 3 ? atoi(argv[3]) : 7;
	if (steps <= 0 || trips <= 0 || rounds <= 0 || rounds > BENCH_MAX_ROUNDS) {
		fprintf(stderr, "usage: bench_embed [steps] [round_trips] [rounds]\n");
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
	return 0;
}
