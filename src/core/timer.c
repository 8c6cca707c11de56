/* SPDX-License-Identifier: MIT */
/*
 * Sleeps, user-space wait timeouts and deadline scopes.
 *
 * Timers are a binary min-heap of timer records (struct urt__timer: an
 * expiry, a heap slot, a fire callback, embedded where one is needed; it
 * knows nothing of tasks) in user space; the loop hands the
 * earliest expiry to the kernel as the timeout of its one io_uring_enter
 * per turn (IORING_ENTER_EXT_ARG). Measured against one IORING_OP_TIMEOUT
 * per sleep (see bench/RESULTS.md), the heap costs no SQE, no CQE and no
 * kernel hrtimer per sleep, and cancelling a sleeper is a heap removal
 * instead of a TIMEOUT_REMOVE round trip that must still wait for the
 * original CQE. io_uring operations under a deadline scope use
 * IORING_OP_LINK_TIMEOUT instead (op.c), so the kernel cancels them.
 *
 * Virtual time (URT_OPT_VIRTUAL_TIME): the loop's clock is a number in the
 * loop (L->vnow) that every reading here returns on the loop's thread; it
 * starts at the real CLOCK_MONOTONIC reading when the loop opens and moves
 * only when the loop, with nothing to run and no completion come in, jumps
 * it to the earliest timer (loop.c, vt_advance). Nothing else changes
 * here: sleeps, waits and deadline scopes are the same heap, read against
 * another clock. Deadline scopes on io_uring then take the timer heap and
 * the cancel path instead of a kernel timeout (op.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "core/core.h"

int64_t urt__clock_real(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * URT_NS_PER_SEC + ts.tv_nsec;
}

/* The loop's clock (core.h): one test of a thread-local byte more than
   the real clock when time is real. */
static inline int64_t loop_now(void)
{
	if (unlikely(urt__vt))
		return urt__L->vnow;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * URT_NS_PER_SEC + ts.tv_nsec;
}

int64_t urt__now(void)
{
	return loop_now();
}

int64_t urt_now_ns(void)
{
	return loop_now();
}

/*
 * a + b for b >= 0, saturating at URT__NO_DEADLINE. Every sum of a time and
 * a duration goes through here: a wrapped sum is a deadline in the past or
 * (worse, after a subtraction) a wait of centuries that freezes the loop.
 */
int64_t urt__time_add(int64_t a, int64_t b)
{
	if (b <= 0)
		return a; /* callers pass no negative durations; never go back in time */
	return a > URT__NO_DEADLINE - b ? URT__NO_DEADLINE : a + b;
}

/* The absolute time timeout_ns from now: URT__NO_DEADLINE for a negative
   timeout ("none") and for one too far away to represent (the same thing:
   it is never reached). */
int64_t urt__deadline_abs(int64_t timeout_ns)
{
	if (timeout_ns < 0)
		return URT__NO_DEADLINE;
	return urt__time_add(urt__now(), timeout_ns);
}

/* The deadline of a wait with its own timeout (< 0: none) inside t's
   deadline scopes: the earlier of the two. */
int64_t urt__wait_deadline(const urt_task *t, int64_t timeout_ns)
{
	int64_t d = urt__deadline_abs(timeout_ns);
	return d < t->deadline ? d : t->deadline;
}

/* ---- the heap ---- */

/*
 * Does a fire before b? Earlier expiry first. With `stable` (virtual time,
 * where a jump lands exactly on a timer and equal expiries are common),
 * equal expiries in the order they were armed: seq, compared modulo 2^32
 * (live timers' seqs span far less than 2^31), so they fire in a set
 * order. With real time equal expiries are rare, and the tie-break, one
 * more compare per heap level, is left out (callgrind bench_sleepers: +5
 * instructions an arm, +11 a removal): every heap call is inlined twice,
 * behind one test of L->vtime.
 */
static inline __attribute__((always_inline)) bool before(const struct urt__timer *a,
							 const struct urt__timer *b, bool stable)
{
	if (!stable)
		return a->at < b->at;
	return a->at < b->at || (a->at == b->at && (int32_t)(a->seq - b->seq) < 0);
}

static void heap_set(struct urt_loop *L, uint32_t i, struct urt__timer *tm)
{
	L->heap[i] = tm;
	tm->idx = i;
}

static inline __attribute__((always_inline)) void sift_up(struct urt_loop *L, uint32_t i,
							  bool stable)
{
	struct urt__timer *tm = L->heap[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!before(tm, L->heap[p], stable))
			break;
		heap_set(L, i, L->heap[p]);
		i = p;
	}
	heap_set(L, i, tm);
}

static inline __attribute__((always_inline)) void sift_down(struct urt_loop *L, uint32_t i,
							    bool stable)
{
	struct urt__timer *tm = L->heap[i];
	uint32_t n = L->heap_len;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(L->heap[c + 1], L->heap[c], stable))
			c++;
		if (!before(L->heap[c], tm, stable))
			break;
		heap_set(L, i, L->heap[c]);
		i = c;
	}
	heap_set(L, i, tm);
}

/* Restore the heap around slot i, whose timer was replaced. */
static inline __attribute__((always_inline)) void heap_fix(struct urt_loop *L, uint32_t i,
							   bool stable)
{
	if (i > 0 && before(L->heap[i], L->heap[(i - 1) / 2], stable))
		sift_up(L, i, stable);
	else
		sift_down(L, i, stable);
}

/* Arm tm (not armed) for absolute time `at`; tm->fire must be set. Growing
   the heap may allocate (amortised doubling). Returns 0 or -ENOMEM. */
int urt__timer_arm(struct urt__timer *tm, int64_t at)
{
	struct urt_loop *L = urt__L;
	if (L->heap_len == L->heap_cap) {
		uint32_t cap = L->heap_cap ? L->heap_cap * 2 : 64;
		struct urt__timer **h = realloc(L->heap, cap * sizeof *h);
		if (!h)
			return -ENOMEM;
		L->heap = h;
		L->heap_cap = cap;
	}
	tm->at = at;
	heap_set(L, L->heap_len++, tm);
	if (unlikely(L->vtime)) {
		tm->seq = L->timer_seq++;
		sift_up(L, tm->idx, true);
	} else {
		sift_up(L, tm->idx, false);
	}
	return 0;
}

/* Take an armed tm out of the heap. */
void urt__timer_disarm(struct urt__timer *tm)
{
	struct urt_loop *L = urt__L;
	uint32_t i = tm->idx;
	tm->idx = URT__TIMER_OFF;
	uint32_t last = --L->heap_len;
	if (i == last)
		return;
	heap_set(L, i, L->heap[last]);
	if (unlikely(L->vtime))
		heap_fix(L, i, true);
	else
		heap_fix(L, i, false);
}

/* Earliest armed expiry, or URT__NO_DEADLINE. */
int64_t urt__timer_next(void)
{
	struct urt_loop *L = urt__L;
	return L->heap_len ? L->heap[0]->at : URT__NO_DEADLINE;
}

/* Fire every timer due at or before now, earliest first. Each leaves the
   heap before its fire runs, so fire may arm it again. */
void urt__timers_expire(int64_t now)
{
	struct urt_loop *L = urt__L;
	while (L->heap_len && L->heap[0]->at <= now) {
		struct urt__timer *tm = L->heap[0];
		urt__timer_disarm(tm);
		tm->fire(tm);
	}
}

/* ---- public ---- */

int urt_sleep_ns(int64_t ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (ns <= 0)
		return urt_yield();
	int64_t end = urt__deadline_abs(ns);
	int64_t at = end < t->deadline ? end : t->deadline;
	int r = urt__wait_user(at);
	if (r == -ETIMEDOUT && end <= t->deadline)
		return 0; /* our own timer, not the deadline scope */
	return r;
}

int urt_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return urt_sleep_ns(0); /* a yield; ms * 1e6 would overflow for INT64_MIN */
	if (ms > INT64_MAX / URT_NS_PER_MS)
		ms = INT64_MAX / URT_NS_PER_MS;
	return urt_sleep_ns(ms * URT_NS_PER_MS);
}

int urt_deadline_push(int64_t timeout_ns)
{
	urt_task *t = urt__cur();
	if (!t)
		return -EPERM;
	if (timeout_ns < 0)
		return -EINVAL;
	if (t->ndeadline >= URT_DEADLINE_DEPTH)
		return -ENOSPC;
	int64_t d = urt__deadline_abs(timeout_ns);
	t->deadlines[t->ndeadline++] = t->deadline;
	if (d < t->deadline)
		t->deadline = d;
	return 0;
}

void urt_deadline_pop(void)
{
	urt_task *t = urt__cur();
	if (t && t->ndeadline > 0)
		t->deadline = t->deadlines[--t->ndeadline];
}
