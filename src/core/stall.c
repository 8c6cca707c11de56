/* SPDX-License-Identifier: MIT */
/*
 * The stall detector (asyncio debug mode's slow-callback warning): a
 * watchdog thread samples the loop's progress counter, which every
 * suspension bumps, and the task running now. If the same task has been
 * running for the threshold without suspending, it is reported once.
 *
 * Why a watchdog instead of timing each run: reading the clock at every
 * switch would double the cost of a switch (~12 ns; a vDSO clock read is
 * ~20 ns). The watchdog costs the loop one relaxed store per suspension,
 * which it does anyway for urt_stats, and a thread that wakes four times
 * per threshold. It runs only when enabled.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"

struct urt__stall {
	struct urt_loop *L;
	int64_t threshold;
	void (*fn)(const char *name, uint64_t id, int64_t ran_ns, void *arg);
	void *arg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;   /* CLOCK_MONOTONIC */
	bool stop;
};

/* Report t, which was running at progress count `seen`. Its name and id
   were written before the loop published t as current (release store,
   acquire load below). If the loop moved on while we copied them (t may
   even have ended and been recycled), the copy is dropped. */
static void report(struct urt__stall *s, urt_task *t, uint64_t seen, int64_t ran)
{
	char name[sizeof t->name];
	uint64_t id = __atomic_load_n(&t->id, __ATOMIC_RELAXED);
	for (size_t i = 0; i < sizeof name; i++)
		name[i] = __atomic_load_n(&t->name[i], __ATOMIC_RELAXED);
	name[sizeof name - 1] = 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->L->progress, __ATOMIC_RELAXED) != seen)
		return; /* it suspended meanwhile: no longer a stall */
	if (!name[0]) /* named lazily by urt_task_name */
		snprintf(name, sizeof name, "task-%llu", (unsigned long long)id);
	if (s->fn) {
		s->fn(name, id, ran, s->arg);
		return;
	}
	fprintf(stderr, "urt: task '%s' (id %llu) has run for %lld ms without suspending\n", name,
		(unsigned long long)id, (long long)(ran / URT_NS_PER_MS));
}

static void *watchdog(void *arg)
{
	struct urt__stall *s = arg;
	int64_t period = s->threshold / 4 > 0 ? s->threshold / 4 : 1;
	uint64_t last = UINT64_MAX;
	urt_task *last_task = NULL;
	int64_t since = urt__clock_real();
	bool reported = false;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		int64_t wake = urt__time_add(urt__clock_real(), period);
		struct timespec ts = {.tv_sec = wake / URT_NS_PER_SEC, .tv_nsec = wake % URT_NS_PER_SEC};
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		if (s->stop)
			break;
		uint64_t progress = __atomic_load_n(&s->L->progress, __ATOMIC_RELAXED);
		urt_task *t = __atomic_load_n(&s->L->current, __ATOMIC_ACQUIRE);
		int64_t now = urt__clock_real();
		if (progress != last || t != last_task || !t) {
			last = progress;
			last_task = t;
			since = now;
			reported = false;
		} else if (!reported && now - since >= s->threshold) {
			report(s, t, progress, now - since);
			reported = true;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void stall_stop(struct urt_loop *L);

int urt__stall_start(struct urt_loop *L, const struct urt_options *o)
{
	int64_t threshold = o->stall_ns;
	if (threshold <= 0 && urt__env().debug)
		threshold = URT_STALL_DEFAULT_NS;
	if (threshold <= 0)
		return 0;
	struct urt__stall *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->L = L;
	s->threshold = threshold;
	s->fn = o->on_stall;
	s->arg = o->on_stall_arg;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay with the loop's thread */
	int r = pthread_create(&s->thread, NULL, watchdog, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return -r;
	}
	L->stall = s;
	urt__close_hook_add(L, stall_stop, URT__CLOSE_STOP_THREADS);
	return 0;
}

static void stall_stop(struct urt_loop *L)
{
	struct urt__stall *s = L->stall;
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
	L->stall = NULL;
}
