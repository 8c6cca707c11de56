/* SPDX-License-Identifier: MIT */
/*
 * The loop: one backend (io_uring, else epoll) and one scheduler per
 * thread.
 *
 * A turn: run the ready tasks (task.c), then make one call into the
 * backend that submits what those tasks asked for and, when no task is
 * ready, waits for the first completion or the earliest timer; then take
 * every completion and expire timers. On io_uring that call is at most one
 * io_uring_enter (backend/uring/ring.c); on epoll one epoll_wait
 * (backend/epoll/loop.c). The loop knows its backend only as a table of
 * calls (core/backend.h), and the work other threads hand it only as
 * another (struct urt__intake, exec/remote.c): the layers above start a
 * loop with both (exec/start.c).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/fault.h"
#include "core/sanitizer.h"
#include "backend/uring/poll.h" /* the turn's fast path (be_poll) */

__thread struct urt_loop *urt__L __attribute__((tls_model("initial-exec")));
__thread bool urt__vt __attribute__((tls_model("initial-exec")));
struct urt__live urt__live;
/* The open loops, for urt_live_get; joined at open, left at close. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct urt_list live_loops = {&live_loops, &live_loops};

#define DEFAULT_SQ 256
#define DEFAULT_STACK (64 * 1024)

/* Bounds of the calling thread's stack, for the ASan fiber annotations. */
static void thread_stack_bounds(struct urt_loop *L)
{
	pthread_attr_t a;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		void *lo;
		size_t sz;
		if (pthread_attr_getstack(&a, &lo, &sz) == 0) {
			L->sched_stack_lo = lo;
			L->sched_stack_size = sz;
		}
		pthread_attr_destroy(&a);
	}
}

/*
 * Everything is blocked in user space and nothing can ever wake it (no
 * ready task, no op in flight, no timer, and nothing another thread could
 * do: see others_may_wake). Cancel the blocked tasks so they can clean up
 * and end; urt_run and urt_loop_run_until report -EDEADLK.
 */
static void on_deadlock(struct urt_loop *L)
{
	L->deadlocks++;
	if (!L->main_done)
		L->deadlocked = true;
	struct urt_list *pos, *tmp;
	urt__list_for_each_safe(pos, tmp, &L->tasks)
		urt_cancel(urt__container_of(pos, urt_task, all));
}

/* The turn's call into the backend: the one place core/ goes past the
   backend's table, to io_uring's inline turn (backend/uring/poll.h says
   what the table's call cost here). */
static void be_poll(struct urt_loop *L, int64_t timeout_ns, bool wait)
{
	if (likely(L->be_fast))
		urt__uring_poll(L, timeout_ns, wait);
	else
		L->be->poll(L, timeout_ns, wait);
}

/*
 * Could another thread still give a loop with nothing to run, nothing in
 * flight and no timer something to do? Only if it holds a reference (the
 * rule urt.h states: a thread that will submit holds one, and its
 * urt_loop_unref wakes the loop to look again), has already queued a
 * submission, or a task waits on a cross-thread primitive (urt_xfuture
 * and friends, urt_remote_wait), which any thread may complete. The
 * doorbell read of the remote queue is not work in flight: it would make
 * every loop that ever gave out its handle wait forever.
 */
static bool others_may_wake(struct urt_loop *L)
{
	/* acquire: pairs with urt_loop_unref's release, so a submission made
	   before the last foreign reference went is seen queued below */
	return atomic_load_explicit(&L->refs, memory_order_acquire) > 1 || L->xwaiting ||
	       urt__intake_pending(L);
}

void urt__loop_wait_once(struct urt_loop *L)
{
	be_poll(L, -1, true);
}

void urt__loop_kick(struct urt_loop *L)
{
	int fd = atomic_load_explicit(&L->kick_fd, memory_order_acquire);
	if (fd >= 0) {
		uint64_t one = 1;
		ssize_t n = write(fd, &one, sizeof one);
		(void)n; /* EAGAIN only near 2^64: it is readable anyway */
	}
}

/*
 * Virtual time: jump the clock to the earliest timer if nothing can happen
 * before it -- no task ready, no completion reaped since `cqes` was read
 * (a completion may make more work that comes before the timer: a
 * cancellation's CQE, a multishot's next buffer), no submission from
 * another thread queued, and no offload outstanding (vt_hold: the
 * function runs in real time, and the clock stays still until it is done,
 * as tokio's does for spawn_blocking). Then fire what is due.
 */
static void vt_jump(struct urt_loop *L, uint64_t cqes)
{
	if (!L->nready && L->stats.cqes == cqes && !L->vt_hold && !urt__intake_pending(L)) {
		int64_t next = urt__timer_next();
		if (next > L->vnow)
			L->vnow = next;
	}
	urt__timers_expire(L->vnow);
}

/*
 * Virtual time, nothing ready and a timer pending but not yet due: look
 * for completions without waiting, then jump if none came (vt_jump). I/O
 * still in flight does not hold the clock (its completion comes in real
 * time, and a timer may fire first). Offloads do: while one is
 * outstanding the loop waits in real time for a completion, which no
 * virtual timer can come due to interrupt.
 */
static void vt_advance(struct urt_loop *L)
{
	if (L->vt_hold) {
		urt__stacks_trim();
		be_poll(L, -1, true);
		urt__timers_expire(L->vnow);
		return;
	}
	uint64_t cqes = L->stats.cqes;
	be_poll(L, 0, false);
	vt_jump(L, cqes);
}

/* One call into the backend: submit, and wait if nothing else can run
   (until the earliest timer, if any). */
static void io_step(struct urt_loop *L)
{
	int64_t timeout = -1;
	bool wait = true;
	if (L->nready) {
		wait = false;
	} else if (L->heap_len) {
		timeout = urt__timer_next() - urt__now();
		if (timeout <= 0) {
			wait = false;
		} else if (unlikely(L->vtime)) {
			vt_advance(L);
			return;
		} else {
			urt__stacks_trim(); /* about to sleep: a good time for housekeeping */
		}
	} else if (L->inflight || others_may_wake(L)) {
		urt__stacks_trim();
	} else {
		on_deadlock(L);
		return;
	}
	be_poll(L, timeout, wait);
	if (L->heap_len)
		urt__timers_expire(urt__now());
}

const char *urt_backend_name(void)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return NULL;
	return L->be->name;
}

/* Tasks that ended but were never joined or detached (asyncio's
   "never awaited"), reported once at close. */
static void report_unjoined(struct urt_loop *L)
{
	if (L->opt_flags & URT_OPT_QUIET)
		return;
	unsigned n = 0;
	struct urt_list *pos;
	for (pos = L->tasks.next; pos != &L->tasks; pos = pos->next) {
		urt_task *t = urt__container_of(pos, urt_task, all);
		if (t == L->main_task || t->detached)
			continue;
		if (n++ < 10)
			fprintf(stderr, "urt: task '%s' (id %llu) was never %s\n", urt_task_name(t),
				(unsigned long long)t->id,
				t->group ? "waited for by its group" : "joined or detached");
	}
	if (n > 10)
		fprintf(stderr, "urt: ... and %u more tasks never joined\n", n - 10);
}

/* URT_FAULT asked for fault injection: the loop's record of it (the
   backend opener wraps the backend in backend/fault.c's). A build without
   it refuses, rather than run what was meant as a fault test without. */
static int fault_start(struct urt_loop *L, const struct urt__env *env)
{
	if (env->fault < 0)
		return -EINVAL;
	if (!env->fault)
		return 0;
	if (!URT__FAULT_INJECTION)
		return -EOPNOTSUPP;
	L->fault = calloc(1, sizeof *L->fault);
	if (!L->fault)
		return -ENOMEM;
	L->fault->seed = env->fault_seed;
	L->fault->rate = env->fault_rate;
	L->fault->kinds = env->fault_kinds;
	urt__list_init(&L->fault->inop);
	return 0;
}

/* Set up a loop on the calling thread (urt__L), on the backend open_be
   opens. 0 or a negative errno. */
int urt__loop_open(const struct urt_options *o, bool embedded,
		   int (*open_be)(struct urt_loop *L, const struct urt_options *o, unsigned sq,
				  unsigned cq),
		   struct urt_loop **out)
{
	if (urt__L)
		return -EBUSY;
	urt__stack_init();
	struct urt_options def = {0};
	if (!o)
		o = &def;
	size_t stack = o->stack_size ? o->stack_size : DEFAULT_STACK;
	if (stack < 16384 || stack > ((size_t)1 << 32))
		return -EINVAL;
	unsigned sq = o->sq_entries ? o->sq_entries : DEFAULT_SQ;
	if (sq > 32768)
		return -EINVAL;
	if (sq < 2)
		sq = 2; /* an op under a deadline needs two SQEs at once */
	unsigned cq = o->cq_entries ? o->cq_entries : 8 * sq;
	if (cq < sq)
		cq = sq;
	if (o->iowq_bounded < -1 || o->iowq_unbounded < -1)
		return -EINVAL;

	struct urt_loop *L = aligned_alloc(64, (sizeof *L + 63) & ~(size_t)63);
	if (!L)
		return -ENOMEM;
	memset(L, 0, sizeof *L);
	struct urt__env env = urt__env();
	L->opt_flags = o->flags | env.ring_flags;
	if (env.virtual_time)
		L->opt_flags |= URT_OPT_VIRTUAL_TIME;
	/* The virtual clock starts at the real reading, not at 0: times taken
	   before the loop opened, or by other threads, then compare with it
	   as CLOCK_MONOTONIC readings do (a deadline computed from one is not
	   decades away), and no time is 0 or near it. */
	L->vtime = L->opt_flags & URT_OPT_VIRTUAL_TIME;
	L->vnow = urt__clock_real();
	L->stack_size = (stack + 4095) & ~(size_t)4095;
	L->owner = pthread_self();
	L->poll_fd = -1;
	atomic_init(&L->kick_fd, -1);
	L->embedded = embedded;
	atomic_init(&L->refs, 1);
	urt__list_init(&L->tasks);
	urt__list_init(&L->multis);
	urt__list_init(&L->bufrings);
	L->stack_pidfd = -1;
	int r = fault_start(L, &env);
	if (r == 0)
		r = open_be(L, o, sq, cq);
	if (r) {
		free(L->fault);
		free(L);
		return r;
	}
	L->offload_threads = o->offload_threads ? o->offload_threads : urt__cpu_count();
	L->offload_queue = o->offload_queue ? o->offload_queue : 1024;
	L->max_tasks = o->max_tasks;
	thread_stack_bounds(L);
	L->sched_tsan_fiber = urt__tsan_current();
	urt__L = L;
	urt__vt = L->vtime;
	pthread_mutex_lock(&live_lock);
	urt__list_add_tail(&live_loops, &L->live_link);
	pthread_mutex_unlock(&live_lock);
	urt__overflow_handler_install();
	urt__stall_start(L, o); /* best effort: a missing watchdog only loses warnings */
	*out = L;
	return 0;
}

void urt__close_hook_add(struct urt_loop *L, urt__close_fn *fn, enum urt__close_when when)
{
	assert(when != URT__CLOSE_RING_EXIT);
	unsigned n = L->nclose_hooks, i;
	for (i = 0; i < n; i++)
		if (L->close_hooks[i].fn == fn)
			return;
	assert(n < URT__CLOSE_HOOKS_MAX); /* raise the cap with a new module */
	for (i = n; i > 0 && L->close_hooks[i - 1].when > when; i--)
		L->close_hooks[i] = L->close_hooks[i - 1]; /* stable: after equal ones */
	L->close_hooks[i] = (struct urt__close_hook){.fn = fn, .when = (uint8_t)when};
	L->nclose_hooks = n + 1;
}

/* Run the close hooks from *next on while their `when` is below hi. */
static void run_close_hooks(struct urt_loop *L, unsigned *next, enum urt__close_when hi)
{
	while (*next < L->nclose_hooks && L->close_hooks[*next].when < hi)
		L->close_hooks[(*next)++].fn(L);
}

/* Tear down what urt__loop_open built; the struct itself lives on while
   other threads hold references (urt_loop_ref). What the modules made
   goes through their close hooks: first those that need the ring, then
   (after it is gone) the rest, and the tasks and stacks last. */
void urt__loop_close(struct urt_loop *L)
{
	unsigned next = 0;
	run_close_hooks(L, &next, URT__CLOSE_RING_EXIT);
	/* what should be over by now (urt_live_get): every task ended, no op
	   record (on a task's stack) waiting for its completion. Requests of
	   the loop's own objects (an armed multishot, a doorbell read) may
	   still be in flight: the ring's exit ends them. */
	uint64_t waiting = 0;
	struct urt_list *pos;
	for (pos = L->tasks.next; pos != &L->tasks; pos = pos->next)
		waiting += urt__container_of(pos, urt_task, all)->wait_op != NULL;
	atomic_fetch_add_explicit(&urt__live.tasks, L->alive, memory_order_relaxed);
	atomic_fetch_add_explicit(&urt__live.ops, waiting, memory_order_relaxed);
	report_unjoined(L);
	urt__overflow_handler_remove();
	L->be->exit(L);
	free(L->fault);
	L->fault = NULL;
	run_close_hooks(L, &next, URT__CLOSE_SHARED + 1);
	L->nclose_hooks = 0;
	/* after the hooks: the offload workers, joined by theirs, kick it */
	atomic_store(&L->kick_fd, -1);
	if (L->poll_fd >= 0)
		close(L->poll_fd);
	urt__tasks_free_all();
	urt__stacks_free_all();
	free(L->heap);
	L->heap = NULL;
	urt__L = NULL;
	urt__vt = false;
	pthread_mutex_lock(&live_lock);
	urt__list_del(&L->live_link);
	pthread_mutex_unlock(&live_lock);
	urt_loop_unref(L); /* the struct and its remote queue: at the last unref */
}

/* One turn: run the ready tasks, then at most one io_uring_enter (waiting
   only if may_wait and nothing is ready), reap, expire timers. A waiting
   turn ends early when what the caller runs for is over: `until` ended,
   or (until NULL) no task is alive. */
static void turn(struct urt_loop *L, bool may_wait, const urt_task *until)
{
	L->stats.loop_turns++;
	urt__run_ready(L);
	if (may_wait) {
		if (until ? until->state == URT__DONE : !L->alive)
			return;
		io_step(L);
		return;
	}
	if (unlikely(L->vtime)) {
		/* the host's step is the loop's turn: jump as the loop's own
		   wait would (vt_jump) */
		uint64_t cqes = L->stats.cqes;
		be_poll(L, 0, false);
		if (L->heap_len)
			vt_jump(L, cqes);
		return;
	}
	be_poll(L, 0, false);
	if (L->heap_len)
		urt__timers_expire(urt__now());
}

static void intake_wait_begin(struct urt_loop *L)
{
	if (L->intake)
		L->intake->wait_begin(L);
}

static void intake_wait_end(struct urt_loop *L)
{
	if (L->intake)
		L->intake->wait_end(L);
}

/* Refuse further submissions from other threads and run the ones already
   queued to their end, so every accepted submission runs. */
static void close_remote(struct urt_loop *L)
{
	if (L->intake)
		L->intake->close(L);
	bool was = L->stepping;
	L->stepping = true;
	if (L->alive) {
		intake_wait_begin(L); /* its tasks may still be woken from other threads */
		while (L->alive)
			turn(L, true, NULL);
		intake_wait_end(L);
	}
	L->stepping = was;
}

int urt__loop_run_main(struct urt_loop *L, int (*main_fn)(void *), void *arg)
{
	int r;
	L->stepping = true;
	L->main_task = urt_spawn(main_fn, arg);
	if (!L->main_task) {
		r = -errno;
	} else {
		urt_task_set_name(L->main_task, "main");
		for (;;) {
			turn(L, true, NULL);
			if (!L->alive)
				break;
			if (unlikely(atomic_load_explicit(&L->stop, memory_order_relaxed)) &&
			    !L->main_done) {
				atomic_store(&L->stop, false);
				urt_cancel(L->main_task); /* urt_loop_stop: shut down */
			}
		}
		r = L->main_done && !L->deadlocked ? L->main_result : -EDEADLK;
	}
	close_remote(L);
	L->stepping = false;
	urt__loop_close(L);
	return r;
}

/* ---- the loop as an object the program drives (embedding) ---- */

/* 0 when L may be driven from here: its own thread, outside any task and
   any other step. */
static int drivable(struct urt_loop *L)
{
	if (!L)
		return -EINVAL;
	if (!pthread_equal(L->owner, pthread_self()) || urt__L != L)
		return -EPERM;
	if (L->stepping)
		return -EBUSY; /* nested: from a task, or from inside a step */
	return 0;
}

int urt_loop_free(urt_loop *L)
{
	int r = drivable(L);
	if (r)
		return r;
	if (L->alive || L->inflight)
		return -EBUSY; /* tasks alive or ops in flight: run them to the end first */
	close_remote(L);
	urt__loop_close(L);
	return 0;
}

urt_task *urt_loop_spawn(urt_loop *L, int (*fn)(void *), void *arg)
{
	if (!L) {
		errno = EINVAL;
		return NULL;
	}
	if (urt__L != L || !pthread_equal(L->owner, pthread_self())) {
		errno = EPERM;
		return NULL;
	}
	return urt_spawn(fn, arg);
}

int urt_loop_run_until(urt_loop *L, urt_task *t, int *result)
{
	int r = drivable(L);
	if (r)
		return r;
	if (!t || t->state == URT__FREE || t->detached || t->group || t->joined || t->has_joiner)
		return -EINVAL;
	L->stepping = true;
	intake_wait_begin(L);
	uint64_t deadlocks = L->deadlocks;
	r = 0;
	while (t->state != URT__DONE) {
		turn(L, true, t);
		if (atomic_exchange_explicit(&L->stop, false, memory_order_relaxed)) {
			r = -EINTR; /* urt_loop_stop */
			break;
		}
		if (L->deadlocks != deadlocks && t->state != URT__DONE) {
			/* t could never end; the blocked tasks were cancelled (they
			   are ready now, and end when the loop runs again) */
			r = -EDEADLK;
			break;
		}
	}
	intake_wait_end(L);
	L->stepping = false;
	if (t->state == URT__DONE) {
		int res = t->result;
		t->joined = true;
		urt__task_release(t);
		if (result)
			*result = res;
		r = 0;
	}
	return r;
}

int urt_loop_step(urt_loop *L)
{
	int r = drivable(L);
	if (r)
		return r;
	if (L->poll_fd >= 0) {
		uint64_t v;
		ssize_t n = read(L->poll_fd, &v, sizeof v); /* re-armed by the next CQE */
		(void)n;
	}
	L->stepping = true;
	if (L->intake)
		L->intake->take(L); /* before the turn: a submission runs in this step */
	turn(L, false, NULL);
	L->stepping = false;
	if (atomic_exchange_explicit(&L->stop, false, memory_order_relaxed))
		return -EINTR;
	return L->alive > UINT32_MAX >> 1 ? INT32_MAX : (int)L->alive;
}

int urt_loop_fd(urt_loop *L)
{
	int r = drivable(L);
	if (r && r != -EBUSY)
		return r;
	if (L->poll_fd < 0) {
		int fd = L->be->fd(L);
		if (fd < 0)
			return fd;
		L->poll_fd = fd;
		/* io_uring: the threads that hand the loop work write it too (the
		   ring's own signal of it can come late; see exec/remote.c).
		   epoll: the set holds their eventfds already. */
		if (L->be->fd_needs_kick)
			atomic_store_explicit(&L->kick_fd, fd, memory_order_release);
	}
	return L->poll_fd;
}

int64_t urt_loop_timeout_ns(urt_loop *L)
{
	if (!L || urt__L != L)
		return -EINVAL;
	if (L->nready || urt__intake_pending(L) || L->be->busy(L))
		return 0;
	if (!L->heap_len)
		return -1;
	if (L->vtime) /* the next step jumps to the timer, unless an offload holds the clock */
		return L->vt_hold ? -1 : 0;
	int64_t wait = urt__timer_next() - urt__now();
	return wait > 0 ? wait : 0;
}

urt_loop *urt_loop_ref(urt_loop *L)
{
	if (L)
		atomic_fetch_add_explicit(&L->refs, 1, memory_order_relaxed);
	return L;
}

void urt_loop_unref(urt_loop *L)
{
	if (!L)
		return;
	unsigned prev = L->intake ? L->intake->unref(L)
				  : atomic_fetch_sub_explicit(&L->refs, 1, memory_order_acq_rel);
	if (prev == 1) {
		if (L->intake)
			L->intake->free(L);
		free(L);
	}
}

int urt_stats_get(struct urt_stats *out)
{
	struct urt_loop *L = urt__L;
	if (!L || !out)
		return L ? -EINVAL : -EPERM;
	*out = L->stats;
	out->tasks = L->alive;
	out->faults = 0;
	for (int k = 0; L->fault && k < URT__FK_N; k++)
		out->faults += L->fault->hits[k];
	return 0;
}

int urt_live_get(struct urt_live *out)
{
	if (!out)
		return -EINVAL;
	out->loops = 0;
	out->tasks = atomic_load_explicit(&urt__live.tasks, memory_order_relaxed);
	pthread_mutex_lock(&live_lock);
	for (struct urt_list *pos = live_loops.next; pos != &live_loops; pos = pos->next) {
		struct urt_loop *L = urt__container_of(pos, struct urt_loop, live_link);
		out->loops++;
		out->tasks += atomic_load_explicit(&L->alive_pub, memory_order_relaxed);
	}
	pthread_mutex_unlock(&live_lock);
	out->stacks = atomic_load_explicit(&urt__live.stacks, memory_order_relaxed);
	out->ops = atomic_load_explicit(&urt__live.ops, memory_order_relaxed);
	return 0;
}

static const char *state_name(const urt_task *t)
{
	switch (t->state) {
	case URT__READY: return t->started ? "ready" : "new";
	case URT__RUNNING: return "running";
	case URT__WAIT_IO: return "wait-io";
	case URT__WAIT_USER: return urt__timer_armed(&t->timer) ? "wait-timer" : "wait";
	case URT__DONE: return "done";
	default: return "free";
	}
}

void urt_dump_tasks(FILE *out)
{
	struct urt_loop *L = urt__L;
	if (!L || !out)
		return;
	fprintf(out, "urt: %llu tasks alive, %u ready, %u CQEs expected\n",
		(unsigned long long)L->alive, L->nready, L->inflight);
	struct urt_list *pos;
	for (pos = L->tasks.next; pos != &L->tasks; pos = pos->next) {
		urt_task *t = urt__container_of(pos, urt_task, all);
		fprintf(out, "  #%-6llu %-24s %-10s stack=%zu%s%s\n", (unsigned long long)t->id,
			urt_task_name(t), state_name(t), t->stack_size,
			t->cancel_pending ? " cancel-pending" : "",
			t->state == URT__DONE ? "" : (t->deadline != URT__NO_DEADLINE ? " deadline" : ""));
	}
}
