/* SPDX-License-Identifier: MIT */
/*
 * urt internals shared by the files of src/. Nothing here is public.
 *
 * Picture: one struct urt_loop per thread (thread-local urt__L). Tasks are
 * stackful coroutines; a task that waits either
 *   - has an io_uring operation in flight (state WAIT_IO): its op record
 *     (struct urt__op, on the task's own stack) is the SQE's user_data and
 *     the reaped CQE wakes it; or
 *   - waits in user space (state WAIT_USER) on a list owned by a primitive
 *     (join, future, group), optionally with a timer in the loop's heap.
 * Wakers only enqueue; tasks run only from the ready queue (STYLE 7).
 */
#ifndef URT__CORE_H
#define URT__CORE_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "urt.h"
#include "core/backend.h"
#include "core/list.h"
#include "arch/switch.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define URT__NO_DEADLINE INT64_MAX

enum urt__state {
	URT__READY,     /* in the ready queue (or about to be) */
	URT__RUNNING,
	URT__WAIT_IO,   /* an io_uring op is in flight; only its CQE resumes the task */
	URT__WAIT_USER, /* waiting in user space; wake with urt__wake */
	URT__DONE,      /* ended; result valid; waiting to be joined/released */
	URT__FREE,      /* released; the struct sits in the free pool */
};

struct urt__stack; /* src/core/stack.c */

/*
 * Loop close hooks. A module that leaves something to tear down when the
 * loop closes registers a hook (urt__close_hook_add) when it first makes
 * that thing; loop close (core/loop.c) runs the hooks without knowing what
 * they free. `when` orders them (lower first; equal: registration order):
 * the ones below URT__CLOSE_RING_EXIT run while the ring still exists,
 * the rest after io_uring_queue_exit, when no CQE can name anything any
 * more. Then the tasks and stacks go (core's own).
 */
enum urt__close_when {
	URT__CLOSE_STOP_INTAKE,  /* refuse work from other threads, drain what is queued
				    (its eventfd read still targets the record) */
	URT__CLOSE_STOP_THREADS, /* join helper threads that read loop state */
	URT__CLOSE_RING_EXIT,    /* not a hook: io_uring_queue_exit happens here */
	URT__CLOSE_FDS,          /* eventfds other threads could write until now */
	URT__CLOSE_OBJECTS,      /* objects whose CQEs the ring could deliver */
	URT__CLOSE_WORKERS,      /* worker threads and their records */
	URT__CLOSE_SHARED,       /* what those objects hold references to (buffer rings) */
};
typedef void urt__close_fn(struct urt_loop *L);
#define URT__CLOSE_HOOKS_MAX 8 /* six today: remote (2), stall, multis, pool, bufrings */
struct urt__close_hook {
	urt__close_fn *fn;
	uint8_t when; /* enum urt__close_when */
};

/*
 * An operation in flight in the backend. Lives on the waiting task's
 * stack; the task cannot resume before `pending` reaches zero, so the
 * record and the buffers the op references outlive every completion that
 * points at them.
 */
struct urt__op {
	urt_task *task;
	int res;
	uint8_t pending;   /* completions still expected: io_uring 1, or 2 with a
			      linked timeout; epoll 1 while waiting for readiness */
	uint8_t timed_out; /* the deadline fired */
	uint8_t nocancel;  /* runs to completion: no cancel, no deadline (close) */
	union {
		int64_t ts[2];               /* a backend's timeout record (io_uring: the
						__kernel_timespec of the linked timeout) */
		struct {                     /* a readiness wait (epoll) */
			struct urt_list link; /* the fd's waiters */
			uint32_t events;      /* EPOLLIN / EPOLLOUT / ... wanted */
			uint32_t revents;     /* what was seen */
			int fd;
		} rd;
	};
};

/*
 * A multishot request (accept, recv with provided buffers): one SQE, many
 * CQEs, owned by a heap object rather than by a waiting task. The reaper
 * hands each completion to on_cqe, in the scheduler's context: it may queue
 * data and wake tasks, nothing else (STYLE 7). flags: URT__MORE while more
 * completions follow, URT__BUF with a provided buffer's id above
 * URT__BUF_SHIFT. A completion without URT__MORE is the request's last;
 * only after it may the object be freed.
 */
#define URT__BUF 1u          /* res bytes went into provided buffer flags >> URT__BUF_SHIFT */
#define URT__BUF_SHIFT 16
struct urt__multi {
	void (*on_cqe)(struct urt__multi *m, int res, unsigned flags);
	void (*destroy)(struct urt__multi *m); /* at loop close, if still alive */
	struct urt_list link;                  /* loop->multis */
};

/*
 * A task waiting in user space on some primitive's list. On a task's
 * done_waiters list a waiter may instead carry notify: the ending task then
 * calls notify(w, ended) (scheduler rules: queue and wake, nothing else)
 * instead of waking w->task. That is how a group learns its members end,
 * and how a remote submission reports its result: the same path a join
 * takes, with no call from the task code into theirs.
 */
struct urt__waiter {
	struct urt_list link;
	urt_task *task;
	void (*notify)(struct urt__waiter *w, urt_task *ended);
};

/*
 * A timer: a small record embedded in whatever needs one (today the
 * task's wait timeout), kept in the loop's min-heap by `at` (timer.c).
 * When it expires the heap drops it, then calls fire(tm) in the
 * scheduler's context; the owner finds itself with container_of. The heap
 * knows nothing of tasks or ops.
 */
struct urt__timer {
	int64_t at;
	uint32_t idx;                         /* heap slot, URT__TIMER_OFF when not armed */
	uint32_t seq;                         /* arm order (virtual time: equal `at`s fire in it) */
	void (*fire)(struct urt__timer *tm);
};
#define URT__TIMER_OFF UINT32_MAX

struct urt_task {
	struct urt__ctx ctx;
	void *asan_fake;          /* ASan fake-stack handle while switched out */
	void *tsan_fiber;         /* TSan fiber of the task (TSan builds only) */
	urt_task *ready_next;     /* ready queue link (singly linked FIFO) */
	uint8_t state;            /* enum urt__state */
	bool cancel_pending;      /* urt_cancel called, not yet delivered */
	bool started;
	bool detached;
	bool joined;              /* consumed by a join: must not be joined again */
	bool has_joiner;
	bool start_anyway;        /* runs even if cancelled before it started (remote.c) */
	bool offload_hint;        /* urt_io_offload: prefer a worker thread for its ops */
	uint8_t op_flags;         /* what the backend adds to every op for that hint */
	int wake_res;             /* result handed over by urt__wake */
	struct urt__op *wait_op;  /* WAIT_IO: the op to cancel */
	int (*fn)(void *);
	void *arg;
	int result;
	struct urt__stack *stack; /* NULL until the task first runs */
	const uint64_t *canary;   /* unguarded stacks only: the word to check */
	size_t stack_size;
	struct urt__timer timer;  /* deadline of the current wait (fires task_timer_fire) */
	/* deadline scopes */
	uint8_t ndeadline;
	int64_t deadline;         /* effective = min of the scopes */
	int64_t deadlines[URT_DEADLINE_DEPTH];
	struct urt_list done_waiters; /* struct urt__waiter.link, woken at exit */
	struct urt_list all;          /* loop->tasks (for urt_dump_tasks, shutdown) */
	struct urt_group *group;
	struct urt_list group_link;
	struct urt__waiter end_w;    /* on its own done_waiters, with notify: its group's
					(group.c) or its remote record's (remote.c) */
	void *local[URT_LOCAL_SLOTS];
	uint64_t id;
	char name[32];
};


/* stack.c's pools of one loop (stack.c says how they work) */
#define URT__STACK_CLASSES 8
struct urt__slab;
struct urt__stack_pool {
	struct urt__stack *head;   /* pooled stacks of the loop's size (LIFO) */
	unsigned len;
	unsigned trimmed;          /* how many: the pool is its untrimmed stacks,
				      then its trimmed ones (stack.c) */
	size_t size;               /* usable size of pooled (slab) stacks */
	struct urt__slab *slabs;
	struct urt__stack *fresh;  /* never-used slots of the newest slab */
	struct {
		size_t slot;
		struct urt__stack *head;
		unsigned len;
	} own[URT__STACK_CLASSES]; /* other sizes, by slot size */
};

/* task.c's pool of task structs (FIFO: see there) */
struct urt__task_chunk;
struct urt__task_pool {
	struct urt__task_chunk *chunks;
	urt_task *free_head, *free_tail;
};

/* Room for the backend's state inside the loop (io_uring: its struct
   io_uring, backend/uring/op.h: URT__RING; epoll: a pointer to its set), so
   the hot path reaches it at a constant offset from the loop, with no
   header of a backend here (each checks its size). */
#define URT__BE_BYTES 256

/*
 * Work other threads hand the loop (exec/remote.c sets this when it makes
 * the loop's queue). The loop asks it, not exec/, by name.
 */
struct urt__intake {
	bool (*pending)(struct urt_loop *L);    /* anything queued (any thread may ask) */
	void (*take)(struct urt_loop *L);       /* spawn what is queued, without the doorbell */
	void (*close)(struct urt_loop *L);      /* refuse, then spawn what is queued */
	/* the loop is about to wait in the kernel (urt_loop_run_until,
	   closing): keep the doorbell armed until wait_end, which leaves none
	   behind (a loop of urt_loop_new; see remote.c) */
	void (*wait_begin)(struct urt_loop *L);
	void (*wait_end)(struct urt_loop *L);
	/* drop a reference (urt_loop_unref), waking the loop if it may have
	   been the last one of another thread; returns the count before */
	unsigned (*unref)(struct urt_loop *L);
	void (*free)(struct urt_loop *L);       /* at the last reference */
};

struct urt_loop {
	_Alignas(64) unsigned char be_store[URT__BE_BYTES]; /* the backend's own state */
	const struct urt__backend *be; /* the backend's table (core/backend.h) */
	bool be_fast;                /* io/req.h prepares ops inline (io_uring) */
	unsigned ring_flags;
	unsigned opt_flags;
	struct urt__ctx sched_ctx;   /* the scheduler, on the thread's own stack */
	void *sched_asan_fake;
	void *sched_tsan_fiber;      /* TSan fiber of the scheduler (TSan builds) */
	urt_task *exiting;           /* ended task whose stack the scheduler frees */
	urt_task *current;
	urt_task *ready_head, *ready_tail;
	unsigned nready;
	unsigned turn_budget;        /* tasks still allowed to run in this turn */
	urt_task *main_task;
	int main_result;
	bool main_done;
	bool deadlocked;
	uint64_t deadlocks;          /* times everything was found blocked (on_deadlock) */
	unsigned inflight;           /* CQEs still expected from the kernel */
	struct urt_list multis;      /* live struct urt__multi objects */
	struct urt_list bufrings;    /* live urt_bufring objects */
	uint16_t next_bgid;          /* provided-buffer group ids handed out */
	struct urt__pool *pool;      /* offload workers (offload.c), made on first use */
	struct urt__stall *stall;    /* stall watchdog (stall.c), if enabled */
	uint64_t progress;           /* bumped at every suspension (read by the watchdog) */
	unsigned offload_threads, offload_queue;
	size_t stack_size;
	struct urt__task_pool task_pool; /* task structs (task.c) */
	struct urt__stack_pool stacks;   /* task stacks (stack.c) */
	struct urt_list tasks;       /* every task not yet released */
	uint64_t alive;              /* tasks not yet DONE */
	uint64_t max_tasks;          /* urt_options.max_tasks; 0: no limit */
	uint64_t next_id;
	/* timer heap: min-heap of timers by `at` (virtual time: then arm order) */
	struct urt__timer **heap;
	uint32_t heap_len, heap_cap;
	uint32_t timer_seq;          /* the next timer's seq (virtual time) */
	/* virtual time (URT_OPT_VIRTUAL_TIME; loop.c's vt_advance): the
	   loop's clock is vnow, which moves only when the loop jumps it to
	   the earliest timer; vt_hold counts the work that holds it still
	   (offloads outstanding: exec/offload.c) */
	bool vtime;
	unsigned vt_hold;
	int64_t vnow;
	struct urt_stats stats;
	/* embedding (loop.c) and submission from other threads (remote.c) */
	pthread_t owner;             /* the thread the loop runs on */
	bool stepping;               /* inside urt_run / run_until / step */
	bool embedded;               /* made by urt_loop_new */
	bool remote_enabled;         /* other threads may have the handle */
	int poll_fd;                 /* eventfd for urt_loop_fd, or -1 */
	_Atomic int kick_fd;         /* io_uring: poll_fd, written by the threads that
					hand the loop work (urt__loop_kick); else -1 */
	unsigned xwaiting;           /* tasks in a cross-thread wait (exec/xwait.h) */
	_Atomic unsigned refs;       /* the owner's, plus urt_loop_ref's */
	_Atomic bool stop;           /* urt_loop_stop asked */
	struct urt__remote *remote;  /* exec/remote.c's queue */
	const struct urt__intake *intake; /* its calls (NULL until exec/ makes it) */
	struct urt__fault *fault;    /* URT_FAULT's injection (core/fault.h), or NULL */
	/* thread-per-core (exec/loops.c): the runtime this loop belongs to */
	struct urt__runtime *rt;     /* NULL: a loop on its own */
	unsigned rt_index;
	_Atomic uint64_t alive_pub;  /* `alive`, for other threads (least loaded,
					urt_live_get) */
	_Atomic bool closing;        /* shutting down (urt_run's main ended or was
					stopped; intake closed): least loaded skips it */
	/* the backend's probed features (io_uring: bit n, opcode n) */
	uint64_t be_probed, be_ops;
	/* exec/offload.c, set when exec/ starts the loop: run fn(arg) on a
	   worker and wait for it, also when the caller is cancelled or its
	   deadline passes while fn runs (then fn's result is returned and the
	   cancellation stays pending); a call still queued when the
	   cancellation comes is taken back (-ECANCELED, -ETIMEDOUT; fn never
	   runs). For the backends' calls that block (epoll: files). */
	int (*run_blocking)(void *(*fn)(void *), void *arg, void **result);
	/* run by loop close, sorted by `when` (urt__close_hook_add) */
	struct urt__close_hook close_hooks[URT__CLOSE_HOOKS_MAX];
	unsigned nclose_hooks;
	/* sanitizer bookkeeping for the scheduler stack */
	const void *sched_stack_lo;
	size_t sched_stack_size;
	/* cold, last so the hot fields keep their places: */
	struct urt_list live_link;   /* in loop.c's list of open loops */
	int stack_pidfd;             /* ourselves, for stack.c's process_madvise;
					-1: not open (closed with the stacks) */
};

extern __thread struct urt_loop *urt__L __attribute__((tls_model("initial-exec")));
/* urt__L->vtime, kept beside it: the clock reading tests this one byte
   (timer.c) instead of the loop pointer and then the loop's flag */
extern __thread bool urt__vt __attribute__((tls_model("initial-exec")));

/* task.c */
void urt__task_run_first(urt_task *t);

void urt__switch_to_sched(urt_task *from);
void urt__wake(urt_task *t, int res);
void urt__suspend(void);
unsigned urt__run_ready(struct urt_loop *L);
int urt__wait_user(int64_t deadline);
void urt__task_release(urt_task *t);
int urt__task_take(urt_task *t);
void urt__tasks_free_all(void);
int urt__wait_done(urt_task *t, int64_t deadline);

/* timer.c */
int urt__timer_arm(struct urt__timer *tm, int64_t at);
void urt__timer_disarm(struct urt__timer *tm);
void urt__timers_expire(int64_t now);
int64_t urt__timer_next(void);
int64_t urt__time_add(int64_t a, int64_t b);
int64_t urt__deadline_abs(int64_t timeout_ns);
int64_t urt__wait_deadline(const urt_task *t, int64_t timeout_ns);

/* stack.c */
void urt__stack_init(void); /* once per process, from every loop's creation */
struct urt__stack *urt__stack_get(size_t size);
void urt__stack_put(struct urt__stack *s);
void *urt__stack_lo(const struct urt__stack *s);
size_t urt__stack_size(const struct urt__stack *s);
const uint64_t *urt__stack_canary(const struct urt__stack *s);
void urt__stack_overflow(const urt_task *t) __attribute__((noreturn));
#define URT__CANARY UINT64_C(0x75727421cafef00d)
void urt__stacks_free_all(void);
void urt__stacks_trim(void);
/* White-box test knobs (process-wide; set before urt_run): no_guard makes
   every new stack canary-only, trim_dontneed trims with MADV_DONTNEED (a
   reclaimed MADV_FREE page, at once), pool_hot overrides POOL_HOT. */
struct urt__stack_test {
	bool no_guard, trim_dontneed;
	unsigned pool_hot;
	uint64_t trim_steps; /* out: pooled stacks urt__stacks_trim looked at */
};
extern struct urt__stack_test urt__stack_test;

/* urt_live_get's process-wide counts (loop.c): changed only where a loop
   opens or closes and where a stack is mapped or unmapped (stack.c). The
   tasks of open loops are summed from their alive_pub when asked. */
struct urt__live {
	_Atomic uint64_t stacks, tasks, ops;
};
extern struct urt__live urt__live;
int urt__overflow_handler_install(void);
void urt__overflow_handler_remove(void);

/* How long after a deadline the user-space backstop cancels an op whose
   backend timeout (io_uring: its linked timeout) has not completed it. */
#define URT__LINK_TIMEOUT_GRACE (2 * URT_NS_PER_MS)

/* loop.c: have fn run when L closes (see enum urt__close_when). Idempotent
   (fn already registered: nothing), so a module may call it each time it
   makes an object; cold path only. */
void urt__close_hook_add(struct urt_loop *L, urt__close_fn *fn, enum urt__close_when when);

/* loop.c: make urt_loop_fd readable now (any thread; nothing if the loop
   has none). For a thread that has just handed the loop work. */
void urt__loop_kick(struct urt_loop *L);
/* loop.c: one call into the backend that waits for the first completion
   (no tasks run, no timers expire): for a loop draining a request it must
   not leave in the kernel. */
void urt__loop_wait_once(struct urt_loop *L);

/* stall.c */
int urt__stall_start(struct urt_loop *L, const struct urt_options *o);

/* loop.c, for the layers above that start and end loops (exec/): make a
   loop on the calling thread with the backend open_be opens (0 or a
   negative errno); run main_fn as its main task to the end, then close
   it (urt_run_opts' result); close one that will not run. */
int urt__loop_open(const struct urt_options *o, bool embedded,
		   int (*open_be)(struct urt_loop *L, const struct urt_options *o, unsigned sq,
				  unsigned cq),
		   struct urt_loop **out);
int urt__loop_run_main(struct urt_loop *L, int (*main_fn)(void *), void *arg);
void urt__loop_close(struct urt_loop *L);

/* task.c: a new task, ready to run (urt_spawn_attr without its group:
   sync/group.c adds that). NULL with errno set. */
urt_task *urt__task_new(const struct urt_spawn_attr *a, int (*fn)(void *), void *arg);

/* task.c: have notify(&t->end_w, t) run when t ends (one per task). */
void urt__task_on_end(urt_task *t, void (*notify)(struct urt__waiter *w, urt_task *ended));

/* env.c: the environment knobs (README, "Environment"), read once. */
struct urt__env {
	uint8_t backend;       /* URT_BACKEND: URT__ENV_BE_* */
	bool debug;            /* URT_DEBUG set (not 0): the stall watchdog at 100 ms */
	bool virtual_time;     /* URT_VIRTUAL_TIME set (not 0): URT_OPT_VIRTUAL_TIME */
	bool doorbell_eventfd; /* URT_DOORBELL=eventfd: no MSG_RING between loops */
	unsigned ring_flags;   /* URT_RING_FLAGS: urt_options.flags to add (URT_OPT_*) */
	/* URT_FAULT (core/fault.h): fault is 1 when set, -EINVAL when it
	   does not parse; then its seed, rate and the kinds it names */
	int fault;
	uint64_t fault_seed;
	uint32_t fault_rate;
	unsigned fault_kinds;
};
enum { URT__ENV_BE_ANY, URT__ENV_BE_URING, URT__ENV_BE_EPOLL, URT__ENV_BE_BAD };
struct urt__env urt__env(void);

/* Clock: the calling thread's loop's, in ns: CLOCK_MONOTONIC (vDSO, no
   system call), or the loop's virtual clock under URT_OPT_VIRTUAL_TIME.
   urt__clock_real is always CLOCK_MONOTONIC (the watchdog's; threads
   without a loop get it from urt__now too). */
int64_t urt__now(void);
int64_t urt__clock_real(void);
/* CPUs the calling thread may run on (its affinity mask; the online count
   where the mask cannot be read). Threads it starts inherit that mask, so
   this, not the machine's CPU count, sizes pools and io-wq. */
unsigned urt__cpu_count(void);

/* Unlink w if it is still linked (a waker that grants a wait unlinks the
   waiter itself, so the next grant goes to the next one). */
static inline void urt__waiter_unlink(struct urt__waiter *w)
{
	if (urt__list_linked(&w->link))
		urt__list_del(&w->link);
}

/*
 * The user-space wait of every primitive with a wait list: link w (whose
 * task is the caller, set by the caller) at the tail of l, wait as
 * urt__wait_user(deadline) does, and return its result with w unlinked
 * whatever ended the wait. Whether the wait was granted is the caller's to
 * tell (its primitive's state, or a field of the record w is in).
 */
static inline int urt__wait_on(struct urt_list *l, struct urt__waiter *w, int64_t deadline)
{
	urt__list_add_tail(l, &w->link);
	int r = urt__wait_user(deadline);
	urt__waiter_unlink(w);
	return r;
}

static inline bool urt__timer_armed(const struct urt__timer *tm)
{
	return tm->idx != URT__TIMER_OFF;
}

/* Disarm t's wait timer if it is armed (after every wait that may have
   armed it). */
static inline void urt__task_timer_stop(urt_task *t)
{
	if (unlikely(urt__timer_armed(&t->timer)))
		urt__timer_disarm(&t->timer);
}

static inline urt_task *urt__cur(void)
{
	struct urt_loop *L = urt__L;
	return L ? L->current : NULL;
}

/* Append t to the ready queue (FIFO). */
static inline void urt__ready(urt_task *t)
{
	struct urt_loop *L = urt__L;
	urt__ctx_prefetch(&t->ctx); /* cold with many tasks; it runs soon */
	t->state = URT__READY;
	t->ready_next = NULL;
	if (L->ready_tail)
		L->ready_tail->ready_next = t;
	else
		L->ready_head = t;
	L->ready_tail = t;
	L->nready++;
}

/* Take a pending cancellation: true (and cleared) if there was one. */
static inline bool urt__take_cancel(urt_task *t)
{
	if (likely(!t->cancel_pending))
		return false;
	t->cancel_pending = false;
	return true;
}

/*
 * A wait was granted (its task ended, its future was set, a lock was handed
 * over) and the task was cancelled before it ran: the grant wins, the call
 * succeeds, and the cancellation must stay pending for the task's next
 * suspension point. Every wait that lets a grant win over a cancellation
 * calls this; a cancellation swallowed there would let the task outlive
 * urt_run's cancel-all.
 */
static inline void urt__cancel_rearm(urt_task *t)
{
	t->cancel_pending = true;
}

/*
 * The checks every suspension point makes, for calls that end up not
 * needing an SQE: 0, or -EPERM / -ECANCELED / -ETIMEDOUT as below.
 */
static inline int urt__op_check(void)
{
	struct urt_loop *L = urt__L;
	urt_task *t = L ? L->current : NULL;
	if (!t)
		return -EPERM;
	if (urt__take_cancel(t))
		return -ECANCELED;
	if (t->deadline != URT__NO_DEADLINE && urt__now() >= t->deadline)
		return -ETIMEDOUT;
	return 0;
}

/* t waits on an op (state WAIT_IO): ask the backend to cancel it. t still
   waits for the op's completion. */
static inline void urt__op_cancel(urt_task *t)
{
	urt__L->be->op_cancel(t);
}

/* Keep one read of fd armed (struct urt__backend: watch). */
static inline void urt__watch(struct urt__multi *m, int fd, void *buf, unsigned len, bool background)
{
	urt__L->be->watch(m, fd, buf, len, background);
}

/* Is anything queued by other threads? */
static inline bool urt__intake_pending(struct urt_loop *L)
{
	return L->intake && L->intake->pending(L);
}

/*
 * The result of a finished op (pending reached 0), with the errors the
 * backends share mapped the same way: a cancelled op is -ECANCELED when
 * urt_cancel asked (the cancellation is consumed) and -ETIMEDOUT when the
 * deadline did; an op that won the race keeps its own result; -EINTR and
 * the kernel's -ERESTART* never reach the caller as such.
 */
static inline int urt__op_result(struct urt__op *op, urt_task *t)
{
	int res = op->res;
	/* -ERESTARTSYS and friends (-512..-516) escape from ops interrupted in
	   an io-wq worker; they must never reach the caller. */
	if (unlikely(res == -ECANCELED || res == -EINTR || (res <= -512 && res >= -516))) {
		if (op->nocancel) /* its own result; a cancellation stays pending */
			return res == -ECANCELED ? res : -EINTR;
		if (op->timed_out)
			return -ETIMEDOUT;
		if (urt__take_cancel(t))
			return -ECANCELED;
		/* interrupted, no cancellation asked, and the deadline has
		   passed: the deadline did it, whatever its own completion said */
		if (res != -ECANCELED && t->deadline != URT__NO_DEADLINE && urt__now() >= t->deadline)
			return -ETIMEDOUT;
		if (res != -ECANCELED)
			res = -EINTR;
	}
	return res;
}

#endif
