/* SPDX-License-Identifier: MIT */
/*
 * The executor and the task queue against their classic pthread
 * counterparts, alternated A B A B ... in one run (medians; ratio = median
 * of per-round urt/baseline time ratios, so < 1 means urt is faster).
 *
 *   rt:    one task calls urt_offload(trivial) N times, one at a time
 *          (urt_options.offload_threads = 1): us per round trip
 *          vs pthread hand-off: the main thread puts a request in a slot
 *          under a mutex, signals condvar A and waits on condvar B; one
 *          worker thread takes it, runs trivial, stores the reply and
 *          signals B (the classic thread-pool hand-off).
 *   tput:  10N trivial offloads from 64 tasks at once (offload_threads = 4,
 *          so at most 64 outstanding): offloads/s
 *          vs a mutex/condvar job queue with 4 pthread workers and a
 *          completion counter; one submitter posts 10N jobs one at a time,
 *          at most 64 outstanding (it waits on a condvar for a slot), then
 *          waits for all.
 *   queue: urt_queue (capacity 64) between a producer task putting 10N
 *          items and a consumer task getting them: ns per item
 *          vs a pthread mutex + 2 condvar bounded queue (capacity 64)
 *          between two threads, unpinned (two CPUs: cross-CPU hand-off)
 *          and both pinned to one CPU (the kernel switches between them,
 *          the nearest pthread model of two tasks on one loop thread),
 *          and a plain ring-buffer loop on one thread (fill 64, drain 64;
 *          no synchronisation at all: the floor for moving the items).
 *
 * Usage: offload [N, default 100000] [rounds, default 7] [mode] [M, default 10N]
 *   mode = all (default) | urt-rt | pth-rt | urt-tput | pth-tput |
 *          urt-queue | pth-queue | pin-queue | ring-queue
 *   (a single mode runs once, for strace -c / valgrind --tool=callgrind);
 *   the rt modes do N round trips, tput and queue M items (rounded down to
 *   a multiple of 64).
 */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <urt.h>

#define TPUT_TASKS 64
#define QCAP 64

static void *trivial(void *arg)
{
	return (void *)((uintptr_t)arg + 1);
}

/* ---- 1. round trip: urt_offload ------------------------------------------ */

struct urt_args {
	long n;
	int ntasks;
	double ns;
	long bad;
	double enters_per_op, sqes_per_op, cqes_per_op, turns_per_op, switches_per_op;
};

static void stats_per_op(struct urt_args *a, const struct urt_stats *s0, const struct urt_stats *s1, double ops)
{
	a->enters_per_op = (double)(s1->enters - s0->enters) / ops;
	a->sqes_per_op = (double)(s1->sqes - s0->sqes) / ops;
	a->cqes_per_op = (double)(s1->cqes - s0->cqes) / ops;
	a->turns_per_op = (double)(s1->loop_turns - s0->loop_turns) / ops;
	a->switches_per_op = (double)(s1->switches - s0->switches) / ops;
}

static int rt_main(void *arg)
{
	struct urt_args *a = arg;
	struct urt_stats s0, s1;
	void *res;
	/* warm-up: starts the worker, fills the record free list */
	for (long i = 0; i < 1000; i++)
		if (urt_offload(trivial, (void *)(uintptr_t)i, &res) != 0 || res != (void *)(uintptr_t)(i + 1))
			a->bad++;
	urt_stats_get(&s0);
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < a->n; i++)
		if (urt_offload(trivial, (void *)(uintptr_t)i, &res) != 0 || res != (void *)(uintptr_t)(i + 1))
			a->bad++;
	int64_t t1 = bench_now_ns();
	urt_stats_get(&s1);
	a->ns = (double)(t1 - t0) / (double)a->n;
	stats_per_op(a, &s0, &s1, (double)a->n);
	return 0;
}

static double urt_rt(long n, struct urt_args *out)
{
	struct urt_args a = {.n = n};
	struct urt_options o = {.offload_threads = 1};
	int r = urt_run_opts(&o, rt_main, &a);
	if (r != 0 || a.bad) {
		fprintf(stderr, "offload: rt: urt_run %d, %ld bad\n", r, a.bad);
		return -1;
	}
	if (out)
		*out = a;
	return a.ns;
}

/* ---- 1. round trip: pthread hand-off ------------------------------------ */

struct handoff {
	pthread_mutex_t mu;
	pthread_cond_t req_cv, rep_cv;
	long req, rep; /* sequence numbers: a request is pending while req != rep */
	void *arg, *res;
	bool stop;
};

static void *handoff_worker(void *arg)
{
	struct handoff *h = arg;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (h->req == h->rep && !h->stop)
			pthread_cond_wait(&h->req_cv, &h->mu);
		if (h->stop)
			break;
		long seq = h->req;
		void *in = h->arg;
		pthread_mutex_unlock(&h->mu);
		void *out = trivial(in);
		pthread_mutex_lock(&h->mu);
		h->res = out;
		h->rep = seq;
		pthread_cond_signal(&h->rep_cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void *handoff_call(struct handoff *h, void *arg)
{
	pthread_mutex_lock(&h->mu);
	h->arg = arg;
	h->req++;
	pthread_cond_signal(&h->req_cv);
	while (h->rep != h->req)
		pthread_cond_wait(&h->rep_cv, &h->mu);
	void *res = h->res;
	pthread_mutex_unlock(&h->mu);
	return res;
}

static double pth_rt(long n)
{
	struct handoff h = {.mu = PTHREAD_MUTEX_INITIALIZER,
			    .req_cv = PTHREAD_COND_INITIALIZER,
			    .rep_cv = PTHREAD_COND_INITIALIZER};
	pthread_t th;
	long bad = 0;
	if (pthread_create(&th, NULL, handoff_worker, &h))
		return -1;
	for (long i = 0; i < 1000; i++)
		bad += handoff_call(&h, (void *)(uintptr_t)i) != (void *)(uintptr_t)(i + 1);
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		bad += handoff_call(&h, (void *)(uintptr_t)i) != (void *)(uintptr_t)(i + 1);
	int64_t t1 = bench_now_ns();
	pthread_mutex_lock(&h.mu);
	h.stop = true;
	pthread_cond_signal(&h.req_cv);
	pthread_mutex_unlock(&h.mu);
	pthread_join(th, NULL);
	if (bad) {
		fprintf(stderr, "offload: pthread rt: %ld bad\n", bad);
		return -1;
	}
	return (double)(t1 - t0) / (double)n;
}

/* ---- 2. throughput: urt_offload from 64 tasks ---------------------------- */

static struct urt_args *tp_cur;

static int tp_task(void *arg)
{
	long per = (long)(intptr_t)arg, bad = 0;
	void *res;
	for (long i = 0; i < per; i++)
		if (urt_offload(trivial, (void *)(uintptr_t)i, &res) != 0 || res != (void *)(uintptr_t)(i + 1))
			bad++;
	tp_cur->bad += bad;
	return 0;
}

static int tp_spawn_join(int ntasks, long per)
{
	urt_task *t[TPUT_TASKS];
	for (int i = 0; i < ntasks; i++)
		if (!(t[i] = urt_spawn(tp_task, (void *)(intptr_t)per)))
			return -ENOMEM;
	for (int i = 0; i < ntasks; i++)
		if (urt_join(t[i], NULL) != 0)
			return -EIO;
	return 0;
}

static int tp_main(void *arg)
{
	struct urt_args *a = arg;
	struct urt_stats s0, s1;
	long per = a->n / a->ntasks;
	tp_cur = a;
	int r = tp_spawn_join(a->ntasks, 100); /* warm-up: starts the 4 workers */
	if (r)
		return r;
	urt_stats_get(&s0);
	int64_t t0 = bench_now_ns();
	r = tp_spawn_join(a->ntasks, per);
	int64_t t1 = bench_now_ns();
	urt_stats_get(&s1);
	double ops = (double)(per * a->ntasks);
	a->ns = (double)(t1 - t0) / ops;
	stats_per_op(a, &s0, &s1, ops);
	return r;
}

static double urt_tput(long n, struct urt_args *out)
{
	struct urt_args a = {.n = n, .ntasks = TPUT_TASKS};
	struct urt_options o = {.offload_threads = 4};
	int r = urt_run_opts(&o, tp_main, &a);
	if (r != 0 || a.bad) {
		fprintf(stderr, "offload: tput: urt_run %d, %ld bad\n", r, a.bad);
		return -1;
	}
	if (out)
		*out = a;
	return a.ns;
}

/* ---- 2. throughput: mutex/condvar pool with 4 pthread workers ------------ */

struct job {
	void *(*fn)(void *);
	void *arg;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work_cv, done_cv;
	struct job ring[TPUT_TASKS]; /* the queue; capacity = the outstanding bound */
	unsigned head, len;
	long outstanding, done, sum;
	int idle;
	bool submitter_waits, stop;
};

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	long sum = 0;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->len == 0 && !p->stop) {
			p->idle++;
			pthread_cond_wait(&p->work_cv, &p->mu);
			p->idle--;
		}
		if (p->len == 0)
			break;
		struct job j = p->ring[p->head];
		p->head = (p->head + 1) % TPUT_TASKS;
		p->len--;
		pthread_mutex_unlock(&p->mu);
		sum += (long)(uintptr_t)j.fn(j.arg) - (long)(uintptr_t)j.arg; /* 1 per job */
		pthread_mutex_lock(&p->mu);
		p->done++;
		p->outstanding--;
		if (p->submitter_waits)
			pthread_cond_signal(&p->done_cv);
	}
	p->sum += sum;
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Post n jobs one at a time (at most TPUT_TASKS outstanding), then wait for all. */
static void pool_run(struct pool *p, long n)
{
	pthread_mutex_lock(&p->mu);
	long target = p->done + n;
	pthread_mutex_unlock(&p->mu);
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&p->mu);
		while (p->outstanding >= TPUT_TASKS) {
			p->submitter_waits = true;
			pthread_cond_wait(&p->done_cv, &p->mu);
			p->submitter_waits = false;
		}
		p->ring[(p->head + p->len) % TPUT_TASKS] = (struct job){trivial, (void *)(uintptr_t)i};
		p->len++;
		p->outstanding++;
		if (p->idle)
			pthread_cond_signal(&p->work_cv);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_lock(&p->mu);
	while (p->done < target) {
		p->submitter_waits = true;
		pthread_cond_wait(&p->done_cv, &p->mu);
		p->submitter_waits = false;
	}
	pthread_mutex_unlock(&p->mu);
}

static double pth_tput(long n)
{
	struct pool p = {.mu = PTHREAD_MUTEX_INITIALIZER,
			 .work_cv = PTHREAD_COND_INITIALIZER,
			 .done_cv = PTHREAD_COND_INITIALIZER};
	pthread_t th[4];
	long per = n / TPUT_TASKS * TPUT_TASKS; /* the same count as the urt side */
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, pool_worker, &p))
			return -1;
	pool_run(&p, TPUT_TASKS * 100); /* warm-up */
	int64_t t0 = bench_now_ns();
	pool_run(&p, per);
	int64_t t1 = bench_now_ns();
	pthread_mutex_lock(&p.mu);
	p.stop = true;
	pthread_cond_broadcast(&p.work_cv);
	pthread_mutex_unlock(&p.mu);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	if (p.sum != p.done || p.done != per + TPUT_TASKS * 100) {
		fprintf(stderr, "offload: pthread pool: sum %ld done %ld\n", p.sum, p.done);
		return -1;
	}
	return (double)(t1 - t0) / (double)per;
}

/* ---- 3. queue: urt_queue between two tasks ------------------------------- */

struct q_args {
	urt_queue q;
	long n;
	long sum;
	int bad;
};

static int q_producer(void *arg)
{
	struct q_args *a = arg;
	for (long i = 1; i <= a->n; i++)
		if (urt_queue_put(&a->q, (void *)(uintptr_t)i, -1) != 0)
			a->bad++;
	return 0;
}

static int q_consumer(void *arg)
{
	struct q_args *a = arg;
	long sum = 0;
	for (long i = 0; i < a->n; i++) {
		void *it;
		if (urt_queue_get(&a->q, &it, -1) != 0)
			a->bad++;
		else
			sum += (long)(uintptr_t)it;
	}
	a->sum = sum;
	return 0;
}

static int q_main(void *arg)
{
	struct urt_args *ua = arg;
	struct q_args a = {.n = ua->n};
	struct urt_stats s0, s1;
	if (urt_queue_init(&a.q, QCAP))
		return -ENOMEM;
	urt_stats_get(&s0);
	int64_t t0 = bench_now_ns();
	urt_task *c = urt_spawn(q_consumer, &a), *p = urt_spawn(q_producer, &a);
	if (!c || !p || urt_join(c, NULL) || urt_join(p, NULL))
		return -EIO;
	int64_t t1 = bench_now_ns();
	urt_stats_get(&s1);
	urt_queue_destroy(&a.q);
	if (a.bad || a.sum != a.n * (a.n + 1) / 2)
		ua->bad++;
	ua->ns = (double)(t1 - t0) / (double)a.n;
	stats_per_op(ua, &s0, &s1, (double)a.n);
	return 0;
}

static double urt_q(long n, struct urt_args *out)
{
	struct urt_args a = {.n = n};
	int r = urt_run(q_main, &a);
	if (r != 0 || a.bad) {
		fprintf(stderr, "offload: queue: urt_run %d, %ld bad\n", r, a.bad);
		return -1;
	}
	if (out)
		*out = a;
	return a.ns;
}

/* ---- 3. queue: pthread bounded queue, and the single-thread floor ------- */

struct bq {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	void *items[QCAP];
	unsigned head, len;
	long n, sum;
	int cpu; /* >= 0: pin both threads to this CPU */
};

static void pin_self(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *bq_consumer(void *arg)
{
	struct bq *q = arg;
	long sum = 0;
	pin_self(q->cpu);
	for (long i = 0; i < q->n; i++) {
		pthread_mutex_lock(&q->mu);
		while (q->len == 0)
			pthread_cond_wait(&q->not_empty, &q->mu);
		void *it = q->items[q->head];
		q->head = (q->head + 1) % QCAP;
		q->len--;
		pthread_cond_signal(&q->not_full);
		pthread_mutex_unlock(&q->mu);
		sum += (long)(uintptr_t)it;
	}
	q->sum = sum;
	return NULL;
}

static double pth_q(long n, int cpu)
{
	struct bq q = {.mu = PTHREAD_MUTEX_INITIALIZER,
		       .not_empty = PTHREAD_COND_INITIALIZER,
		       .not_full = PTHREAD_COND_INITIALIZER,
		       .n = n,
		       .cpu = cpu};
	cpu_set_t saved;
	pthread_t th;
	if (cpu >= 0) {
		pthread_getaffinity_np(pthread_self(), sizeof saved, &saved);
		pin_self(cpu);
	}
	int64_t t0 = bench_now_ns();
	if (pthread_create(&th, NULL, bq_consumer, &q))
		return -1;
	for (long i = 1; i <= n; i++) {
		pthread_mutex_lock(&q.mu);
		while (q.len == QCAP)
			pthread_cond_wait(&q.not_full, &q.mu);
		q.items[(q.head + q.len) % QCAP] = (void *)(uintptr_t)i;
		q.len++;
		pthread_cond_signal(&q.not_empty);
		pthread_mutex_unlock(&q.mu);
	}
	pthread_join(th, NULL);
	int64_t t1 = bench_now_ns();
	if (cpu >= 0)
		pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
	if (q.sum != n * (n + 1) / 2) {
		fprintf(stderr, "offload: pthread queue: bad sum\n");
		return -1;
	}
	return (double)(t1 - t0) / (double)n;
}

/* The same items through a 64-slot ring on one thread: fill it, drain it. */
static double ring_q(long n)
{
	void *items[QCAP];
	unsigned head = 0, len = 0;
	long sum = 0, i = 1;
	int64_t t0 = bench_now_ns();
	while (i <= n || len) {
		while (i <= n && len < QCAP) {
			items[(head + len) % QCAP] = (void *)(uintptr_t)i++;
			len++;
			bench_clobber();
		}
		while (len) {
			sum += (long)(uintptr_t)items[head];
			head = (head + 1) % QCAP;
			len--;
			bench_clobber();
		}
	}
	int64_t t1 = bench_now_ns();
	bench_keep(sum);
	if (sum != n * (n + 1) / 2)
		return -1;
	return (double)(t1 - t0) / (double)n;
}

/* The first CPU this thread may run on (for the pinned queue baseline). */
static int first_cpu(void)
{
	cpu_set_t set;
	if (pthread_getaffinity_np(pthread_self(), sizeof set, &set))
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return 0;
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 100000);
	int rounds = bench_rounds(argc, argv, 2, 7);
	const char *mode = argc > 3 ? argv[3] : "all";
	long nbig = bench_arg(argc, argv, 4, n * 10);
	int cpu = first_cpu();
	struct urt_args srt = {0}, stp = {0}, sq = {0};
	static double urt1[BENCH_MAX_ROUNDS], pth1[BENCH_MAX_ROUNDS], urt2[BENCH_MAX_ROUNDS],
		pth2[BENCH_MAX_ROUNDS], urt3[BENCH_MAX_ROUNDS], pth3[BENCH_MAX_ROUNDS], pin3[BENCH_MAX_ROUNDS],
		ring3[BENCH_MAX_ROUNDS];

	nbig = nbig < TPUT_TASKS ? TPUT_TASKS : nbig / TPUT_TASKS * TPUT_TASKS;
	if (strcmp(mode, "all") != 0) {
		double v;
		long ops = nbig;
		if (!strcmp(mode, "urt-rt"))
			v = urt_rt(ops = n, &srt);
		else if (!strcmp(mode, "pth-rt"))
			v = pth_rt(ops = n);
		else if (!strcmp(mode, "urt-tput"))
			v = urt_tput(nbig, &srt);
		else if (!strcmp(mode, "pth-tput"))
			v = pth_tput(nbig);
		else if (!strcmp(mode, "urt-queue"))
			v = urt_q(nbig, &srt);
		else if (!strcmp(mode, "pth-queue"))
			v = pth_q(nbig, -1);
		else if (!strcmp(mode, "pin-queue"))
			v = pth_q(nbig, cpu);
		else if (!strcmp(mode, "ring-queue"))
			v = ring_q(nbig);
		else {
			fprintf(stderr, "offload: unknown mode %s\n", mode);
			return 2;
		}
		if (v < 0)
			return 1;
		/* total_ops counts the warm-up too (for per-op syscall counts) */
		long total = ops;
		if (strstr(mode, "-rt"))
			total += 1000;
		else if (strstr(mode, "-tput"))
			total += TPUT_TASKS * 100;
		printf("offload_mode mode=%s ops=%ld total_ops=%ld ns_per_op=%.1f urt_enters_per_op=%.4f "
		       "urt_sqes_per_op=%.4f\n",
		       mode, ops, total, v, srt.enters_per_op, srt.sqes_per_op);
		return 0;
	}

	/* Warm-up. */
	if (urt_rt(n / 10, NULL) < 0 || pth_rt(n / 10) < 0 || urt_tput(nbig / 10, NULL) < 0 ||
	    pth_tput(nbig / 10) < 0 || urt_q(nbig / 10, NULL) < 0 || pth_q(nbig / 10, -1) < 0)
		return 1;
	for (int i = 0; i < rounds; i++) {
		urt1[i] = urt_rt(n, &srt);
		pth1[i] = pth_rt(n);
		urt2[i] = urt_tput(nbig, &stp);
		pth2[i] = pth_tput(nbig);
		urt3[i] = urt_q(nbig, &sq);
		pth3[i] = pth_q(nbig, -1);
		pin3[i] = pth_q(nbig, cpu);
		ring3[i] = ring_q(nbig);
		if (urt1[i] < 0 || pth1[i] < 0 || urt2[i] < 0 || pth2[i] < 0 || urt3[i] < 0 || pth3[i] < 0 ||
		    pin3[i] < 0 || ring3[i] < 0)
			return 1;
	}
	double mu1 = bench_median(urt1, rounds), mp1 = bench_median(pth1, rounds);
	double mu2 = bench_median(urt2, rounds), mp2 = bench_median(pth2, rounds);
	double mu3 = bench_median(urt3, rounds), mp3 = bench_median(pth3, rounds);
	double mpin3 = bench_median(pin3, rounds), mr3 = bench_median(ring3, rounds);

	printf("# offload: rt %ld round trips, tput %ld offloads from %d tasks (4 workers), queue %ld items "
	       "(capacity %d) x %d rounds; pinned queue baseline on CPU %d\n",
	       n, nbig, TPUT_TASKS, nbig, QCAP, rounds, cpu);
	for (int i = 0; i < rounds; i++)
		printf("#   round %d: rt urt %.2f pthread %.2f us | tput urt %.0f pthread %.0f ns/op | queue urt "
		       "%.1f pthread %.1f pinned %.1f ring %.2f ns/item\n",
		       i, urt1[i] / 1e3, pth1[i] / 1e3, urt2[i], pth2[i], urt3[i], pth3[i], pin3[i], ring3[i]);
	printf("# urt counters per op: rt %.3f enters %.3f sqes %.3f cqes %.3f turns %.3f switches | tput %.3f "
	       "enters %.3f sqes %.3f cqes %.3f turns | queue %.4f switches %.4f enters\n",
	       srt.enters_per_op, srt.sqes_per_op, srt.cqes_per_op, srt.turns_per_op, srt.switches_per_op,
	       stp.enters_per_op, stp.sqes_per_op, stp.cqes_per_op, stp.turns_per_op, sq.switches_per_op,
	       sq.enters_per_op);
	printf("offload_rt urt_us=%.2f pthread_us=%.2f ratio=%.3f urt_min_us=%.2f pthread_min_us=%.2f "
	       "urt_enters_per_op=%.3f\n",
	       mu1 / 1e3, mp1 / 1e3, bench_median_ratio(urt1, pth1, rounds), bench_min(urt1, rounds) / 1e3,
	       bench_min(pth1, rounds) / 1e3, srt.enters_per_op);
	printf("offload_tput urt_ns=%.1f pthread_ns=%.1f ratio=%.3f urt_ops_s=%.0f pthread_ops_s=%.0f "
	       "urt_enters_per_op=%.4f urt_cqes_per_op=%.4f\n",
	       mu2, mp2, bench_median_ratio(urt2, pth2, rounds), 1e9 / mu2, 1e9 / mp2, stp.enters_per_op,
	       stp.cqes_per_op);
	printf("queue urt_ns=%.1f pthread_ns=%.1f ratio=%.3f pinned_ns=%.1f ratio_pinned=%.3f ring_ns=%.2f "
	       "ratio_ring=%.2f urt_switches_per_item=%.4f\n",
	       mu3, mp3, bench_median_ratio(urt3, pth3, rounds), mpin3, bench_median_ratio(urt3, pin3, rounds),
	       mr3, bench_median_ratio(urt3, ring3, rounds), sq.switches_per_op);
	printf("# summary: offload round trip %.2f us (pthread hand-off %.2f us); %.2f M offloads/s from %d "
	       "tasks (pthread pool %.2f M/s); urt_queue %.1f ns/item (pthread queue %.1f, pinned %.1f, "
	       "one-thread ring %.2f)\n",
	       mu1 / 1e3, mp1 / 1e3, 1e3 / mu2, TPUT_TASKS, 1e3 / mp2, mu3, mp3, mpin3, mr3);
	return 0;
}
