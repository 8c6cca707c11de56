/* SPDX-License-Identifier: MIT */
/*
 * soak_runtime: the runtime's soak (issue 23; doc/soak.md). Three modes:
 *
 *   soak_runtime spawn N    N spawn/exit cycles: tasks spawned in batches
 *                           of 64 (joined, detached, in a group, or with
 *                           one of 7 custom stack sizes and 16 KiB of it
 *                           used), each yielding once and ending; every
 *                           result checked.
 *   soak_runtime cancel N   N cancellations: tasks blocked in urt_sleep_ms,
 *                           in urt_recv on a socketpair, in urt_join, in
 *                           urt_accept on a listener, in urt_poll, in
 *                           urt_mutex_lock, or not yet started, cancelled
 *                           and joined; each must end
 *                           with -ECANCELED, and the socketpairs must still
 *                           work afterwards, and so must the listener (no
 *                           stray receive or accept left armed).
 *   soak_runtime remote N   N cross-loop submissions (urt_loop_submit) from
 *                           SUBMITTERS threads into LOOPS loops that keep
 *                           shutting down and starting again (urt_run per
 *                           or urt_loop_new/run_until/free per loop
 *                           generation, each living a few ms, some stopped
 *                           early by urt_loop_stop from a submitter): every
 *                           submission either runs exactly once or is
 *                           refused (-ESHUTDOWN), or its handle says it
 *                           could not start; none is lost or run twice.
 *   soak_runtime remote-limit N   the same, but one loop generation in four
 *                           allows only 4 tasks alive (urt_options.max_tasks),
 *                           so that some accepted submissions cannot start,
 *                           and every submission has a handle: a submission
 *                           without one that cannot start is dropped
 *                           silently, as documented (urt.h), and could not
 *                           be told from a lost one.
 *
 * spawn and cancel read the process's VmRSS after a warm-up (a tenth of
 * the cycles, at most 50,000) and at the end, and fail when it grew by
 * more than RSS_BOUND_KIB (default 1024). Output: "key value" lines; exit
 * 0 on success, 1 on a failed check, 2 on a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rss.h"

#include <urt.h>

#define BATCH 64

static uint64_t n_cycles;
static _Atomic uint64_t failures;
static long rss_warm = -1, rss_end = -1;

#define CHECK(cond, ...)                                                                          \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			if (failures++ < 10) {                                                    \
				fprintf(stderr, "soak_runtime: %s:%d: ", __FILE__, __LINE__);    \
				fprintf(stderr, __VA_ARGS__);                                     \
				fputc('\n', stderr);                                              \
			}                                                                         \
		}                                                                                 \
	} while (0)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t warmup_of(uint64_t n)
{
	uint64_t w = n / 10;
	return w > 50000 ? 50000 : w;
}

/* ---- spawn/exit ---------------------------------------------------------- */

static uint64_t detached_ran, small_ran;

static int small_task(void *arg)
{
	small_ran++;
	int r = urt_yield();
	if (r == -ECANCELED)
		return r;
	return (int)(intptr_t)arg;
}

/* A task that uses some of its stack (16 KiB), so that pooled and cached
   stacks hold touched pages. */
static int deep_task(void *arg)
{
	volatile char buf[16384];
	for (size_t i = 0; i < sizeof buf; i += 512)
		buf[i] = (char)i;
	small_ran++;
	int r = urt_yield();
	return r == -ECANCELED ? r : (int)(intptr_t)arg + buf[512] - (char)512;
}

static int detached_task(void *arg)
{
	(void)arg;
	detached_ran++;
	return 0;
}

static int spawn_main(void *arg)
{
	(void)arg;
	uint64_t warm = warmup_of(n_cycles), done = 0, detached = 0;
	urt_task *ts[BATCH];
	int res[BATCH];
	while (done < n_cycles) {
		unsigned kind = (unsigned)(done / BATCH) % 4;
		unsigned n = n_cycles - done < BATCH ? (unsigned)(n_cycles - done) : BATCH;
		if (kind == 0) { /* joined */
			for (unsigned i = 0; i < n; i++) {
				ts[i] = urt_spawn(small_task, (void *)(intptr_t)(i + 1));
				CHECK(ts[i], "urt_spawn: %s", strerror(errno));
			}
			int r = urt_join_all(ts, n, res);
			CHECK(r == 0, "urt_join_all: %d", r);
			for (unsigned i = 0; i < n; i++)
				CHECK(res[i] == (int)i + 1, "task %u returned %d", i, res[i]);
		} else if (kind == 1) { /* a group */
			urt_group g;
			urt_group_init(&g);
			for (unsigned i = 0; i < n; i++)
				CHECK(urt_group_spawn(&g, small_task, (void *)(intptr_t)1), "urt_group_spawn");
			int r = urt_group_wait(&g);
			CHECK(r >= 0, "urt_group_wait: %d", r);
		} else if (kind == 3) { /* custom stack sizes: own mappings, a size cache */
			static const size_t sizes[] = {32 << 10, 64 << 10, 128 << 10, 256 << 10,
						       512 << 10, 1 << 20, 96 << 10};
			for (unsigned i = 0; i < n; i++) {
				struct urt_spawn_attr a = {
					.stack_size = sizes[(done / BATCH / 4 + i) % 7]};
				ts[i] = urt_spawn_attr(&a, deep_task, (void *)(intptr_t)(i + 1));
				CHECK(ts[i], "urt_spawn_attr: %s", strerror(errno));
			}
			int r = urt_join_all(ts, n, res);
			CHECK(r == 0, "urt_join_all: %d", r);
			for (unsigned i = 0; i < n; i++)
				CHECK(res[i] == (int)i + 1, "deep task %u returned %d", i, res[i]);
		} else { /* detached */
			for (unsigned i = 0; i < n; i++) {
				urt_task *t = urt_spawn(detached_task, NULL);
				CHECK(t && urt_detach(t) == 0, "detached spawn");
			}
			detached += n;
			/* let them run and end */
			urt_yield();
		}
		done += n;
		if (rss_warm < 0 && done >= warm)
			rss_warm = rss_kib(0);
	}
	urt_yield();
	CHECK(detached_ran == detached, "detached tasks: %" PRIu64 " ran of %" PRIu64, detached_ran,
	      detached);
	CHECK(small_ran + detached_ran == done, "%" PRIu64 " tasks ran of %" PRIu64,
	      small_ran + detached_ran, done);
	rss_end = rss_kib(0);
	printf("spawned %" PRIu64 "\nran %" PRIu64 "\n", done, small_ran + detached_ran);
	return 0;
}

/* ---- cancellation -------------------------------------------------------- */

static int sp[BATCH][2]; /* a socketpair per slot */

static int sleeper(void *arg)
{
	(void)arg;
	return urt_sleep_ms(60000);
}

static int receiver(void *arg)
{
	char c;
	ssize_t n = urt_recv(sp[(intptr_t)arg][0], &c, 1, 0);
	return n < 0 ? (int)n : 1;
}

static int lfd; /* a listener nobody connects to */
static urt_mutex held; /* locked by the main task throughout */

static int acceptor(void *arg)
{
	(void)arg;
	int fd = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd < 0 ? fd : 1;
}

static int poller(void *arg)
{
	int r = urt_poll(sp[(intptr_t)arg][0], POLLIN, -1);
	return r < 0 ? r : 1;
}

static int locker(void *arg)
{
	(void)arg;
	int r = urt_mutex_lock(&held, -1);
	if (r == 0)
		urt_mutex_unlock(&held);
	return r < 0 ? r : 1;
}

static int joiner(void *arg)
{
	urt_task *t = urt_spawn(sleeper, NULL);
	if (!t)
		return -ENOMEM;
	int r = urt_join(t, NULL);
	urt_cancel(t);
	urt_join(t, NULL);
	(void)arg;
	return r;
}

static int cancel_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < BATCH; i++)
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[i])) {
			perror("socketpair");
			return 1;
		}
	lfd = urt_tcp_listen("127.0.0.1", 0, 16, 0);
	if (lfd < 0) {
		fprintf(stderr, "soak_runtime: listen: %s\n", strerror(-lfd));
		return 1;
	}
	urt_mutex_init(&held);
	urt_mutex_lock(&held, -1);
	static int (*const fns[])(void *) = {sleeper, receiver, joiner, acceptor, poller, locker};
	enum { KINDS = sizeof fns / sizeof fns[0] };
	uint64_t warm = warmup_of(n_cycles), done = 0, kinds[KINDS + 1] = {0};
	urt_task *ts[BATCH];
	int res[BATCH];
	while (done < n_cycles) {
		unsigned n = n_cycles - done < BATCH ? (unsigned)(n_cycles - done) : BATCH;
		bool started = (done / BATCH) % 8 != 7; /* one batch in 8: cancel before they run */
		for (unsigned i = 0; i < n; i++) {
			unsigned k = started ? i % KINDS : KINDS;
			kinds[k]++;
			ts[i] = urt_spawn(fns[k % KINDS], (void *)(intptr_t)i);
			CHECK(ts[i], "urt_spawn: %s", strerror(errno));
		}
		if (started) /* let every one of them block */
			urt_yield(), urt_yield();
		for (unsigned i = 0; i < n; i++)
			urt_cancel(ts[i]);
		int r = urt_join_all(ts, n, res);
		CHECK(r == (int)n, "urt_join_all: %d of %u failed", r, n);
		for (unsigned i = 0; i < n; i++)
			CHECK(res[i] == -ECANCELED, "cancelled task %u (kind %u) returned %d", i,
			      started ? i % KINDS : KINDS, res[i]);
		done += n;
		if (rss_warm < 0 && done >= warm)
			rss_warm = rss_kib(0);
	}
	/* no receive was left armed on the socketpairs: a byte sent now is
	   there to read */
	for (int i = 0; i < BATCH; i++) {
		char c = 'x', d = 0;
		CHECK(write(sp[i][1], &c, 1) == 1, "write");
		ssize_t n = urt_recv(sp[i][0], &d, 1, 0);
		CHECK(n == 1 && d == 'x', "socketpair %d after the cancels: %zd", i, n);
		close(sp[i][0]);
		close(sp[i][1]);
	}
	rss_end = rss_kib(0);
	/* nor an accept on the listener: a connection made now is there to
	   take (a stray multishot or single accept would swallow it) */
	struct sockaddr_in sa;
	socklen_t salen = sizeof sa;
	int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(getsockname(lfd, (struct sockaddr *)&sa, &salen) == 0 &&
	      connect(cfd, (struct sockaddr *)&sa, salen) == 0, "connect to the listener");
	int pr = urt_poll(lfd, POLLIN, 2 * URT_NS_PER_SEC);
	CHECK(pr > 0, "the listener after the cancels: urt_poll %d", pr);
	if (pr > 0) {
		int afd = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		CHECK(afd >= 0, "urt_accept after the cancels: %d", afd);
		if (afd >= 0)
			close(afd);
	}
	close(cfd);
	urt_mutex_unlock(&held);
	close(lfd);
	printf("cancelled %" PRIu64 "\nin_sleep %" PRIu64 "\nin_recv %" PRIu64 "\nin_join %" PRIu64
	       "\nin_accept %" PRIu64 "\nin_poll %" PRIu64 "\nin_lock %" PRIu64 "\nbefore_start %" PRIu64
	       "\n",
	       done, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5], kinds[6]);
	return 0;
}

/* ---- cross-loop submissions racing shutdown ------------------------------ */

#define MAX_LOOPS 16

static unsigned n_loops = 4, n_submitters = 2;
static bool limit; /* remote-limit: max_tasks generations, every submission with a handle */
static _Atomic uint8_t *ran;          /* per submission id: times it ran */
static _Atomic uint64_t next_id;      /* ids handed out */
static _Atomic uint64_t accepted, refused, no_loop, not_started, generations, stops;
static _Atomic bool submitting_done;

static struct slot {
	pthread_mutex_t mu;
	urt_loop *loop; /* the generation running now (a reference), or NULL */
} slots[MAX_LOOPS];

static int remote_fn(void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;
	atomic_fetch_add(&ran[id], 1);
	if (id % 4 == 0)
		urt_yield(); /* a suspension point: -ECANCELED when shutting down */
	return 7;
}

/* One loop generation's main: publish the loop, live a few ms, return
   (the loop then shuts down while submissions keep coming). */
static int generation_main(void *arg)
{
	struct slot *s = arg;
	urt_loop *l = urt_loop_ref(urt_loop_current());
	pthread_mutex_lock(&s->mu);
	s->loop = l;
	pthread_mutex_unlock(&s->mu);
	uint64_t g = atomic_fetch_add(&generations, 1);
	if (g % 3 == 0)
		urt_sleep_ms((int64_t)(g % 5));
	else
		for (unsigned i = 0; i < g % 50; i++)
			urt_yield();
	return 0;
}

/*
 * One generation as an embedded loop: urt_loop_new, run the same main with
 * urt_loop_run_until, then free it. urt_loop_free refuses (-EBUSY) while
 * tasks are alive -- submissions accepted after run_until returned -- so
 * step until it succeeds; from then on submissions through old handles
 * must be refused.
 */
static void embedded_generation(struct slot *s, const struct urt_options *o)
{
	urt_loop *l;
	int r = urt_loop_new(o, &l);
	CHECK(r == 0, "urt_loop_new: %d", r);
	if (r)
		return;
	urt_task *t = urt_loop_spawn(l, generation_main, s);
	CHECK(t, "urt_loop_spawn");
	int res;
	while (t && (r = urt_loop_run_until(l, t, &res)) == -EINTR)
		; /* urt_loop_stop from a submitter: the main task goes on */
	CHECK(r == 0, "urt_loop_run_until: %d", r);
	unsigned steps = 0;
	while ((r = urt_loop_free(l)) == -EBUSY) {
		int k = urt_loop_step(l);
		CHECK(k >= 0 || k == -EINTR, "urt_loop_step: %d", k);
		if (++steps > 10000000) {
			CHECK(0, "urt_loop_free still -EBUSY after %u steps", steps);
			return;
		}
	}
	CHECK(r == 0, "urt_loop_free: %d", r);
}

static void *loop_thread(void *arg)
{
	struct slot *s = arg;
	struct urt_options o = {0};
	o.flags = URT_OPT_QUIET;
	for (unsigned g = 0; !atomic_load(&submitting_done); g++) {
		/* one generation in four allows only 4 tasks alive: submissions
		   beyond that cannot start, and their handles must say so */
		o.max_tasks = limit && g % 4 == 3 ? 4 : 0;
		if (g % 2) {
			embedded_generation(s, &o);
		} else {
			/* urt_loop_stop from a submitter cancels the main task: a
			   graceful stop, urt_run returns its result */
			int r = urt_run_opts(&o, generation_main, s);
			CHECK(r == 0 || r == -ECANCELED, "urt_run: %d", r);
		}
		/* the loop has closed; submissions through the old handle, from
		   threads that took it before this, must be refused */
		pthread_mutex_lock(&s->mu);
		urt_loop *l = s->loop;
		s->loop = NULL;
		pthread_mutex_unlock(&s->mu);
		if (l)
			urt_loop_unref(l);
	}
	return NULL;
}

static void wait_handles(urt_remote **hs, uint64_t *ids, unsigned *n)
{
	for (unsigned i = 0; i < *n; i++) {
		int res = 0;
		int r = urt_remote_wait(hs[i], &res);
		CHECK(r == 0, "urt_remote_wait: %d", r);
		if (res == -ENOMEM || res == -EAGAIN)
			atomic_fetch_add(&not_started, 1);
		else
			CHECK(res == 7 || res == -ECANCELED, "submission %" PRIu64 " returned %d", ids[i],
			      res);
	}
	*n = 0;
}

static void *submitter(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
	urt_remote *hs[32];
	uint64_t ids[32];
	unsigned nh = 0;
	/* start once every loop has published its first generation: a small
	   run could otherwise end before any loop is up, and test nothing */
	while (atomic_load(&generations) < n_loops)
		sched_yield();
	for (;;) {
		uint64_t id = atomic_fetch_add(&next_id, 1);
		if (id >= n_cycles)
			break;
		seed = seed * 1103515245u + 12345u;
		struct slot *s = &slots[(seed >> 16) % n_loops];
		pthread_mutex_lock(&s->mu);
		urt_loop *l = s->loop ? urt_loop_ref(s->loop) : NULL;
		pthread_mutex_unlock(&s->mu);
		if (!l) { /* between generations: not submitted */
			atomic_fetch_add(&no_loop, 1);
			continue;
		}
		bool handle = limit || id % 8 == 0;
		int r = urt_loop_submit(l, remote_fn, (void *)(uintptr_t)id, handle ? &hs[nh] : NULL);
		if (id % 997 == 0) { /* now and then, stop the loop as well */
			int st = urt_loop_stop(l);
			CHECK(st == 0 || st == -ESHUTDOWN, "urt_loop_stop: %d", st);
			atomic_fetch_add(&stops, 1);
		}
		urt_loop_unref(l);
		if (r == 0) {
			atomic_fetch_add(&accepted, 1);
			if (handle) {
				ids[nh++] = id;
				if (nh == 32)
					wait_handles(hs, ids, &nh);
			}
		} else {
			CHECK(r == -ESHUTDOWN, "urt_loop_submit: %d", r);
			atomic_fetch_add(&refused, 1);
		}
	}
	wait_handles(hs, ids, &nh);
	return NULL;
}

static int remote_run(void)
{
	ran = calloc(n_cycles, 1);
	if (!ran)
		return 1;
	pthread_t lt[MAX_LOOPS], st[64];
	for (unsigned i = 0; i < n_loops; i++) {
		pthread_mutex_init(&slots[i].mu, NULL);
		pthread_create(&lt[i], NULL, loop_thread, &slots[i]);
	}
	for (unsigned i = 0; i < n_submitters; i++)
		pthread_create(&st[i], NULL, submitter, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < n_submitters; i++)
		pthread_join(st[i], NULL);
	atomic_store(&submitting_done, true);
	for (unsigned i = 0; i < n_loops; i++)
		pthread_join(lt[i], NULL);
	/* every loop has ended and waited for what it accepted */
	uint64_t once = 0, twice = 0, never = 0;
	for (uint64_t id = 0; id < n_cycles; id++) {
		unsigned k = atomic_load(&ran[id]);
		once += k == 1;
		twice += k > 1;
		never += k == 0;
	}
	uint64_t acc = atomic_load(&accepted), ref = atomic_load(&refused), ns = atomic_load(&not_started);
	uint64_t nl = atomic_load(&no_loop);
	CHECK(twice == 0, "%" PRIu64 " submissions ran more than once", twice);
	CHECK(acc > 0, "no submission was accepted");
	CHECK(acc + ref + nl == n_cycles, "accepted %" PRIu64 " + refused %" PRIu64 " + no loop %" PRIu64
	      " != %" PRIu64, acc, ref, nl, n_cycles);
	CHECK(never == ref + nl + ns, "never ran %" PRIu64 " != refused + no loop + not started", never);
	CHECK(once == acc - ns, "ran once %" PRIu64 ", accepted %" PRIu64 " - not started %" PRIu64
	      " (lost: %" PRId64 ")", once, acc, ns, (int64_t)(acc - ns) - (int64_t)once);
	printf("submissions %" PRIu64 "\naccepted %" PRIu64 "\nrefused %" PRIu64 "\nno_loop %" PRIu64
	       "\nnot_started %" PRIu64
	       "\nran_once %" PRIu64 "\nran_twice %" PRIu64 "\nloops %u\nsubmitters %u\ngenerations %" PRIu64
	       "\nstops %" PRIu64 "\n",
	       n_cycles, acc, ref, nl, ns, once, twice, n_loops, n_submitters, atomic_load(&generations), atomic_load(&stops));
	free((void *)ran);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: soak_runtime spawn|cancel|remote|remote-limit N\n");
		return 2;
	}
	n_cycles = strtoull(argv[2], NULL, 10);
	if (!n_cycles)
		return 2;
	const char *e;
	if ((e = getenv("LOOPS")))
		n_loops = (unsigned)atoi(e);
	if ((e = getenv("SUBMITTERS")))
		n_submitters = (unsigned)atoi(e);
	if (n_loops < 1 || n_loops > MAX_LOOPS || n_submitters < 1 || n_submitters > 64)
		return 2;
	long bound = (e = getenv("RSS_BOUND_KIB")) ? atol(e) : 1024;
	double t0 = now();
	int r;
	if (!strcmp(argv[1], "spawn"))
		r = urt_run(spawn_main, NULL);
	else if (!strcmp(argv[1], "cancel"))
		r = urt_run(cancel_main, NULL);
	else if (!strcmp(argv[1], "remote") || (limit = !strcmp(argv[1], "remote-limit")))
		r = remote_run();
	else
		return 2;
	CHECK(r == 0, "run: %d", r);
	printf("mode %s\ncycles %" PRIu64 "\nseconds %.1f\n", argv[1], n_cycles, now() - t0);
	if (strncmp(argv[1], "remote", 6)) {
		printf("rss_warm_kib %ld\nrss_end_kib %ld\n", rss_warm, rss_end);
		CHECK(rss_warm > 0 && rss_end > 0, "no RSS sample");
		CHECK(rss_end - rss_warm <= bound, "RSS grew from %ld KiB to %ld KiB (bound %ld KiB)",
		      rss_warm, rss_end, bound);
	}
	printf("failures %" PRIu64 "\n", failures);
	return failures ? 1 : 0;
}
