/* SPDX-License-Identifier: MIT */
/*
 * urt — an io_uring async runtime for C.
 *
 * Tasks are stackful coroutines. A task calls an urt function that looks
 * blocking (urt_sleep_ns, urt_nop, urt_join, ...); underneath, the call
 * suspends the task and the loop resumes it when the result is there.
 *
 * Conventions (the whole API):
 *  - Actions return int (or ssize_t): >= 0 on success, a negative errno on
 *    failure. errno is never used as a result, with one exception: the
 *    calls that return a new task handle (urt_spawn, urt_spawn_attr,
 *    urt_loop_spawn, urt_group_spawn) return NULL and set errno: a handle
 *    cannot also carry an error code.
 *  - Accessors return what they name (a pointer, a count, bool for
 *    predicates); their NULL means "none", not an error (urt_current
 *    outside a task).
 *  - void only for calls that cannot fail: _init of caller-owned storage,
 *    setters and wake-ups (urt_event_set, urt_cancel, ...), and the
 *    releases (_destroy, _free), which do nothing given NULL.
 *  - Lifecycle, one pair per kind of object: _init/_destroy for storage
 *    the caller owns (urt_queue, urt_stream; _init alone where nothing is
 *    allocated: urt_mutex, urt_future, ...), _new/_free for objects the
 *    library allocates (urt_xqueue, urt_acceptor, urt_bufring, ...).
 *    _destroy and _free return void: releasing cannot fail. The one
 *    exception is urt_loop_free, which returns int because it genuinely
 *    can fail (-EBUSY while tasks are alive), and then frees nothing.
 *  - Argument order: the object first and timeout_ns last, after any out
 *    pointer, so a timed call is its untimed form plus a timeout
 *    (urt_join(t, &r) / urt_wait_for(t, &r, timeout_ns)), and the
 *    single-loop and cross-loop twins (urt_queue_get / urt_xqueue_get,
 *    urt_future_wait / urt_xfuture_wait, ...) take the same arguments in
 *    the same order. Calls named after a system call keep its order.
 *  - Timeouts are int64_t nanoseconds: < 0 none (URT_FOREVER), 0 polls.
 *    A non-blocking attempt is spelled _try_ (urt_mutex_try_lock,
 *    urt_sem_try_acquire, urt_queue_try_get); the cross-loop types have
 *    no _try_ calls: timeout_ns 0 is their try (-EAGAIN at once).
 *  - Every function that may suspend ("suspension point") returns
 *    -ECANCELED when the calling task has been cancelled, and -ETIMEDOUT
 *    when an enclosing deadline scope (urt_deadline_push) has expired.
 *  - Functions that suspend may only be called from inside a task (that is,
 *    from the function given to urt_run or urt_spawn, or anything it calls);
 *    elsewhere they return -EPERM.
 *  - Buffers: an I/O call returns only once the kernel is done with its
 *    buffers, also when it is cancelled or times out, so stack buffers are
 *    fine. (Exceptions, each documented: urt_offload's arg, the chunk
 *    urt_receiver_recv lends, registered buffers.)
 *  - Everything runs on one thread per loop: urt objects belong to the loop
 *    that created them and must not be touched from other threads (the
 *    cross-loop urt_x* types and the thread-safe loop calls excepted).
 *
 * The header is ordered the way the API is learnt: loops; tasks; time and
 * deadlines; futures, sync primitives and queues (each single-loop type
 * next to its cross-loop twin); files; sockets; streams; the executor,
 * signals and observability; and last what is specific to io_uring.
 *
 * The comments here state each contract briefly; doc/reference.md has one
 * entry per function (return values, errnos, buffer lifetimes), and
 * README.md the guide and design notes. Changes between versions:
 * README.md, "CHANGES".
 */
#ifndef URT_H
#define URT_H

/* POSIX types (sigset_t, ssize_t, mode_t) appear below: build with the
   compiler's default or gnu modes, or with -std=c11 (c99, c++17, ...) and
   _POSIX_C_SOURCE >= 200809L. */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define URT_API __attribute__((visibility("default")))
#else
#define URT_API
#endif

/* URT_VERSION_MAJOR, _MINOR, _PATCH (integers) and URT_VERSION_STRING
   ("MAJOR.MINOR.PATCH"): generated from meson.build's project version and
   installed next to this header. */
#include "urt_version.h"

/* Durations are int64_t nanoseconds. A negative timeout means "no timeout". */
#define URT_NS_PER_MS INT64_C(1000000)
#define URT_NS_PER_SEC INT64_C(1000000000)
#define URT_FOREVER INT64_C(-1)

/* ---------------------------------------------------------------------- */
/* Intrusive list node used inside caller-owned objects. Treat as private. */
struct urt_list {
	struct urt_list *next, *prev;
};

typedef struct urt_task urt_task; /* opaque */

/* ---------------------------------------------------------------------- */
/* Running a loop                                                          */

/* urt_options.flags */
#define URT_OPT_NO_DEFER_TASKRUN (1u << 0) /* use COOP_TASKRUN even if DEFER_TASKRUN exists */
#define URT_OPT_NO_SINGLE_ISSUER (1u << 1) /* do not ask for IORING_SETUP_SINGLE_ISSUER */
#define URT_OPT_QUIET (1u << 2)            /* no report of unjoined tasks at loop close */
#define URT_OPT_SQPOLL (1u << 3)           /* IORING_SETUP_SQPOLL (a kernel thread polls the SQ; epoll: ignored) */
#define URT_OPT_NO_MULTISHOT (1u << 4)     /* acceptors/receivers use their one-shot fallback */
#define URT_OPT_BACKEND_EPOLL (1u << 5)    /* run on the epoll backend even where io_uring works */
#define URT_OPT_BACKEND_URING (1u << 6)    /* io_uring or nothing: no fallback to epoll */
#define URT_OPT_VIRTUAL_TIME (1u << 7)     /* the loop's clock is virtual (see "Virtual time") */

#define URT_STALL_DEFAULT_NS (100 * URT_NS_PER_MS) /* the stall threshold URT_DEBUG=1 sets */

/*
 * Loop settings. Zero-initialise, then set what you need; a zero field means
 * the default. The environment variable URT_RING_FLAGS, if set, is OR-ed
 * into flags (a number; used to run test suites across ring configurations);
 * URT_VIRTUAL_TIME=1 adds URT_OPT_VIRTUAL_TIME.
 *
 * Compatibility: the struct ends in reserved space that later versions take
 * new fields from (its size and the offsets of the fields here do not
 * change), and a zero new field will always mean "the default". So zero the
 * whole struct -- `struct urt_options o = {0};`, a designated initializer,
 * or memset -- never fill it in field by field on an uninitialised struct,
 * and never write to reserved[]: a program built against this header then
 * keeps its meaning with later versions of the library.
 */
struct urt_options {
	unsigned sq_entries; /* SQ ring size; default 256 (rounded up to a power of two) */
	unsigned cq_entries; /* CQ ring size; default 8 * sq_entries */
	size_t stack_size;   /* default task stack size; default 64 KiB (page multiple, >= 16 KiB) */
	unsigned flags;      /* URT_OPT_* */
	/* Stall detector: report a task that runs this long without
	   suspending (once per stall), naming it; 0 = off (the environment
	   variable URT_DEBUG=1 turns it on at URT_STALL_DEFAULT_NS). Reports go
	   to on_stall if set, called on the watchdog thread (copy what you
	   need; do not call urt functions), else to stderr. */
	int64_t stall_ns;
	void (*on_stall)(const char *name, uint64_t id, int64_t ran_ns, void *arg);
	void *on_stall_arg;
	/* Cap on io-wq kernel worker threads, per NUMA node: bounded
	   (regular-file I/O the kernel cannot do inline) and unbounded (ops
	   that may block indefinitely). 0 = default: bounded 4 x the CPUs the thread may use
	   (at least 4), unbounded unchanged; -1 = leave unchanged. The kernel
	   keeps these limits per thread (its io-wq serves every ring the
	   thread uses) and its own default is RLIMIT_NPROC: buffered file I/O
	   can otherwise spawn hundreds of threads. */
	int iowq_bounded;     /* (io_uring only; epoll: ignored) */
	int iowq_unbounded;
	/* urt_offload: worker threads (default: the CPUs the thread may use, its affinity mask) and the most
	   offloads outstanding at once (default 1024; more wait, FIFO). */
	unsigned offload_threads;
	unsigned offload_queue;
	/* Most tasks alive at once (0: no limit). Past it urt_spawn returns
	   NULL with errno EAGAIN and urt_loop_submit's task reports -EAGAIN;
	   nothing crashes or waits. (Memory running out: NULL, ENOMEM.) */
	uint32_t max_tasks;
	uint32_t reserved32;  /* must be zero */
	/* Reserved for future fields; must be zero. */
	uint64_t reserved[7];
};

/*
 * Backends. A loop runs on io_uring when io_uring_setup works (the fast
 * path) and otherwise on epoll: where seccomp refuses io_uring (Docker's
 * and Podman's default profiles), kernel.io_uring_disabled is set, or the
 * kernel lacks it. The API and its semantics are the same on both; the
 * calls that differ say so ("epoll:" in their comments). The environment
 * variable URT_BACKEND=io_uring|epoll forces one (as the URT_OPT_BACKEND_*
 * flags do; a forced io_uring that cannot start fails with its error).
 *
 * urt_backend_name: "io_uring" or "epoll" for the calling thread's loop,
 * NULL outside one.
 */
URT_API const char *urt_backend_name(void);

/*
 * asyncio.run: create a loop on the calling thread, run main(arg) as the
 * first task, and return main's return value once the loop has shut down.
 *
 * When main returns, every task still alive is cancelled (it sees
 * -ECANCELED at its current or next suspension point, may clean up, and
 * ends); urt_run waits for all of them, so no operation is in flight when it
 * returns. Tasks that finished but were never joined or detached are listed
 * on stderr at close (unless URT_OPT_QUIET). The loop cannot be reused.
 *
 * Returns main's return value, or a negative errno when the loop could not
 * run: -EBUSY when called from inside a task (a loop already runs on this
 * thread), -EINVAL for a NULL main or bad options, -ENOMEM, or the error
 * from io_uring_queue_init_params.
 *
 * Deadlock (urt_run and urt_loop_run_until): the loop is deadlocked when it
 * would wait and nothing can wake it -- no task ready, no operation in
 * flight, no timer armed, no submission from another thread queued, no
 * task waiting on a cross-loop primitive (urt_xfuture, urt_xevent,
 * urt_xsem, urt_xqueue, urt_remote_wait: any thread may complete those),
 * and no other thread holding a reference to the loop (urt_loop_ref: the
 * holder may still submit). The loop's own read of the other threads'
 * doorbell is not an operation in flight. A deadlocked loop cancels the
 * blocked tasks, and urt_run returns -EDEADLK unless main returned by then.
 * (The loops of urt_run_loops hold references to one another, so they are
 * never found deadlocked.)
 */
URT_API int urt_run(int (*main)(void *), void *arg);
URT_API int urt_run_opts(const struct urt_options *opts, int (*main)(void *), void *arg);

/* ---------------------------------------------------------------------- */
/* A loop the program drives (embedding)                                   */
/*
 * For programs that have a main loop of their own (epoll, libuv, GLib,
 * Qt): the program owns the loop, spawns tasks onto it and runs it (asyncio
 * Runner.run / run_until_complete) or steps it (libuv's uv_backend_fd +
 * uv_backend_timeout + UV_RUN_NOWAIT). urt_run is the same loop driven by
 * urt itself, and pays nothing for any of this.
 *
 * One loop per thread; every call but the thread-safe ones below must be
 * made on the loop's thread, outside its tasks (-EPERM from another thread,
 * -EBUSY from inside a task or a step).
 *
 * urt_loop_new: create a loop on the calling thread (-EBUSY if it has one).
 * urt_loop_free: 0, or -EBUSY while tasks are alive or ops in flight (run
 *   them to the end first: cancel them and run_until/step). Other threads
 *   holding references (urt_loop_ref) keep the handle valid; their
 *   submissions are refused with -ESHUTDOWN.
 * urt_loop_spawn: urt_spawn from outside any task: NULL with errno set on
 *   error, as urt_spawn (EINVAL for a NULL loop, EPERM from another thread).
 * urt_loop_run_until: run until t ends, then join it (*result); 0, -EINVAL
 *   (t not joinable), -EINTR (urt_loop_stop), -EDEADLK (t cannot end: the
 *   loop is deadlocked, by the rule under urt_run; the blocked tasks were
 *   cancelled and are ready, so running again lets them end).
 * urt_loop_step: one turn that never blocks: start what other threads
 *   submitted, run the ready tasks (those submissions included), submit,
 *   reap, expire timers. A task that a completion reaped in this step
 *   readies runs in the next one (urt_loop_timeout_ns is 0 then). Returns
 *   the number of tasks alive after the turn (>= 0), or -EINTR
 *   (urt_loop_stop), -EPERM, -EBUSY. 0 means no task is alive now, not
 *   that the loop is done: other threads may still submit. A program that
 *   takes their work keeps stepping until it decides to stop.
 * urt_loop_fd: an fd to wait on for readability in the program's own loop
 *   (io_uring: an eventfd the ring signals on completions; epoll: the
 *   loop's epoll set), made on first call; wait on it with
 *   urt_loop_timeout_ns as the timeout, then step. The step drains it. It
 *   is readable by the time urt_loop_submit, urt_loop_stop or a
 *   cross-loop wake-up of one of its tasks (urt_xfuture_set, ...) has
 *   returned on the other thread. On io_uring without DEFER_TASKRUN
 *   (kernels before 6.1, URT_OPT_NO_DEFER_TASKRUN) the completion of a
 *   task's I/O is task work that interrupts the thread's wait (EINTR), and
 *   on any io_uring the kernel's teardown of the ring does so once after
 *   urt_loop_free: treat EINTR as a wake-up.
 * urt_loop_timeout_ns: 0 when a step has work now (tasks ready,
 *   submissions queued, completions waiting), else the time until the next
 *   timer, or -1 (none: wait for the fd alone). Under virtual time a
 *   pending timer gives 0: the next step jumps the clock to it.
 * urt_loop_current: the calling thread's loop (NULL if none), also under
 *   urt_run; other threads may then submit to it (holding a reference).
 */
typedef struct urt_loop urt_loop;
URT_API int urt_loop_new(const struct urt_options *opts, urt_loop **out);
URT_API int urt_loop_free(urt_loop *loop);
URT_API urt_task *urt_loop_spawn(urt_loop *loop, int (*fn)(void *), void *arg);
URT_API int urt_loop_run_until(urt_loop *loop, urt_task *t, int *result);
URT_API int urt_loop_step(urt_loop *loop);
URT_API int urt_loop_fd(urt_loop *loop);
URT_API int64_t urt_loop_timeout_ns(urt_loop *loop);
URT_API urt_loop *urt_loop_current(void);

/*
 * Thread-safe calls (any thread, including signal-handling and worker
 * threads; not from signal handlers):
 *
 * urt_loop_ref / urt_loop_unref: keep the handle valid on another thread
 *   (the loop itself may end meanwhile: calls then return -ESHUTDOWN). A
 *   thread that will submit work holds a reference until it is done: while
 *   another thread holds one the loop is never found deadlocked (the rule
 *   under urt_run), and the urt_loop_unref of the last one wakes the loop
 *   to look again.
 * urt_loop_submit: start fn(arg) as a detached task on the loop, soon
 *   (asyncio call_soon_threadsafe). With out, *out receives a handle for
 *   urt_remote_wait (run_coroutine_threadsafe(...).result()); every handle
 *   must be waited for exactly once. Returns 0, -EINVAL, -ENOMEM, or
 *   -ESHUTDOWN (the loop has closed: fn will not run). A submission the
 *   loop accepted always runs; one that arrives while the loop shuts down
 *   starts with a cancellation pending (its first suspension point returns
 *   -ECANCELED), and the loop waits for it. Only running out of memory or
 *   urt_options.max_tasks keeps it from starting: its handle then reports
 *   -ENOMEM / -EAGAIN. One eventfd wake-up per burst of submissions.
 * urt_remote_wait: wait until the task has ended; *result = its return
 *   value (-ENOMEM/-EAGAIN if it could not start). From a task (of any
 *   loop, the target's included) only that task suspends, and the wait
 *   honours cancellation and deadline scopes: -ECANCELED / -ETIMEDOUT leave
 *   the handle to be waited for again; -EBUSY if another task waits on it.
 *   Outside tasks it blocks the thread (-EDEADLK on the target loop's own
 *   thread while the task has not ended). 0 frees the handle.
 * urt_loop_stop: ask the loop to stop: urt_loop_run_until / urt_loop_step
 *   return -EINTR at the end of the current turn (tasks stay as they are);
 *   under urt_run, the main task is cancelled (a graceful shutdown).
 *   0 or -ESHUTDOWN.
 */
typedef struct urt_remote urt_remote;
URT_API urt_loop *urt_loop_ref(urt_loop *loop);
URT_API void urt_loop_unref(urt_loop *loop);
URT_API int urt_loop_submit(urt_loop *loop, int (*fn)(void *), void *arg, urt_remote **out);
URT_API int urt_remote_wait(urt_remote *r, int *result);
/* urt_remote_cancel: cancel the task behind r (urt_cancel on its own loop,
   soon; from any thread). Its end is still waited for with urt_remote_wait.
   0, -EALREADY (it has ended), -ESHUTDOWN, -ENOMEM. */
URT_API int urt_remote_cancel(urt_remote *r);
URT_API int urt_loop_stop(urt_loop *loop);

/* ---------------------------------------------------------------------- */
/* Thread-per-core: one loop per CPU                                       */
/*
 * urt_run_loops: run n loops on n threads (n = 0: one per CPU the thread may use;
 *   URT_LOOPS_PIN pins loop i to the i-th CPU the process may run on, as
 *   taskset or a cpuset sets it, modulo their number). Loop 0 is the calling
 *   thread's and runs main(arg); the others wait for work. Each loop has
 *   its own ring, stacks, timers and task pool, and a task stays on the
 *   loop it was spawned on (no work stealing: a task's stack, its ring
 *   requests and its fds' registrations belong to one ring and one thread;
 *   moving it would cost a cross-CPU cache miss per switch and a lock on
 *   every ready queue). To spread work, spawn it where you want it
 *   (urt_spawn_on; NULL = the least loaded loop) or run one listener per
 *   loop (SO_REUSEPORT). Executor threads and io-wq limits are divided
 *   among the loops unless opts sets them. When main returns, every loop's
 *   tasks are cancelled and waited for, every thread ends, and
 *   urt_run_loops returns main's result (or a loop's start-up error;
 *   -EAGAIN if threads could not be created). opts apply to every loop.
 * urt_loops_count: the loops of the calling loop's runtime (1 for a loop of
 *   urt_run or urt_loop_new; 0 outside any loop).
 * urt_loops_get: loop i of that runtime, or NULL.
 * urt_loop_index: the calling loop's index (0 outside a runtime), or -1.
 * urt_loops_least_loaded: the loop with the fewest tasks alive (ties
 *   rotate), skipping loops that are shutting down (urt_loop_stop, or
 *   their intake closed) unless all are; read without locks, so a hint.
 * urt_spawn_on: start fn(arg) as a task on `loop` (NULL: the least loaded
 *   one) from any task or thread; the same as urt_loop_submit. A task of
 *   any loop waits for it with urt_remote_wait, which suspends only that
 *   task.
 * Across loops, use the cross-loop primitives below (urt_xfuture,
 * urt_xsem, urt_xqueue): the single-loop ones (urt_future, urt_mutex, ...)
 * take no lock and must stay within one loop.
 */
#define URT_LOOPS_PIN (1u << 0)
URT_API int urt_run_loops(unsigned n, unsigned flags, const struct urt_options *opts,
			  int (*main)(void *), void *arg);
/*
 * The CPUs behind URT_LOOPS_PIN, for code that pins threads of its own.
 * urt_cpus: the CPUs of the calling thread's affinity mask (as taskset or
 *   a cpuset sets it), in increasing order; the first max of them go to
 *   cpus (NULL with max 0: just count). Returns how many the mask holds
 *   (>= 1) -- more than max when cpus was too small, which the caller
 *   compares -- or a negative errno when the mask cannot be read.
 * urt_pin_self: restrict the calling thread to the n CPUs of cpus (one:
 *   pin it; a list urt_cpus gave before: undo a pin). 0, -EINVAL (n is 0,
 *   a CPU is negative or beyond any mask, or none of them is usable), or
 *   another negative errno of sched_setaffinity.
 */
URT_API int urt_cpus(int *cpus, unsigned max);
URT_API int urt_pin_self(const int *cpus, unsigned n);
URT_API unsigned urt_loops_count(void);
URT_API urt_loop *urt_loops_get(unsigned i);
URT_API int urt_loop_index(void);
URT_API urt_loop *urt_loops_least_loaded(void);
URT_API int urt_spawn_on(urt_loop *loop, int (*fn)(void *), void *arg, urt_remote **out);

/* ---------------------------------------------------------------------- */
/* Tasks                                                                   */

struct urt_group;

struct urt_spawn_attr {
	const char *name;        /* copied; truncated to 31 bytes; NULL = "task-<id>" */
	size_t stack_size;       /* 0 = the loop default */
	bool detached;           /* the task frees itself when it ends; cannot be joined */
	struct urt_group *group; /* spawn into this task group (see urt_group_spawn) */
	bool stack_now;          /* take the stack now, not when the task first runs */
};

/*
 * asyncio.create_task: create a task that will run fn(arg). The new task
 * is queued behind tasks that are already ready; the caller keeps running.
 * The task inherits the caller's task-local slots. The stack is taken from
 * the pool when the task first runs; if none can be had then, the task
 * ends with -ENOMEM without running (a joiner sees it; a detached task's
 * fn never runs, so whatever it was to free or count is left undone).
 * With urt_spawn_attr's stack_now the stack is taken at once, and its
 * failure is this call's ENOMEM: a detached task that was spawned
 * always runs (unless cancelled before its first run).
 *
 * Returns the task handle, valid until the task is joined (or, when
 * detached, until it ends). Returns NULL with errno set: ENOMEM (out of
 * memory), EAGAIN (urt_options.max_tasks alive), EPERM (no loop running on
 * this thread), EINVAL (no fn, or a group that is being cancelled).
 */
URT_API urt_task *urt_spawn(int (*fn)(void *), void *arg);
URT_API urt_task *urt_spawn_attr(const struct urt_spawn_attr *attr, int (*fn)(void *), void *arg);

/*
 * Wait for t to end and release it; *result (if non-NULL) receives fn's
 * return value (-ECANCELED if t was cancelled before it first ran).
 * Returns 0, or:
 *   -EINVAL   t is NULL, detached, belongs to a group, already joined, or
 *             another task is already joining it;
 *   -EDEADLK  t is the calling task;
 *   -ECANCELED / -ETIMEDOUT  the caller was cancelled / hit its deadline
 *             while waiting. t keeps running and can be joined again
 *             (plain join does not propagate cancellation; urt_wait_for does).
 */
URT_API int urt_join(urt_task *t, int *result);

/* Let t free itself when it ends. Returns 0, or -EINVAL (NULL, already
   detached or joined, in a group, or another task is joining it). */
URT_API int urt_detach(urt_task *t);

/*
 * asyncio.gather(..., return_exceptions=True): join all n tasks.
 * results[i] (if results is non-NULL) receives task i's return value; a
 * negative value is that task's error. Returns the number of tasks that
 * returned a negative value (0 = all succeeded), or a negative errno:
 * -EINVAL for bad arguments (nothing joined); -ECANCELED when the caller is
 * cancelled while waiting: every task not yet finished is then cancelled,
 * all are joined, and results[] is still filled in.
 */
URT_API int urt_join_all(urt_task *const *tasks, size_t n, int *results);

/*
 * asyncio.wait(FIRST_COMPLETED): wait until at least one of the n tasks has
 * ended (tasks are not joined). Returns the index of the first ended task (the
 * lowest index if several have), -ETIMEDOUT when timeout_ns (>= 0) elapses
 * first, -ECANCELED, or -EINVAL for bad arguments.
 */
URT_API int urt_wait_any(urt_task *const *tasks, size_t n, int64_t timeout_ns);

/*
 * asyncio.wait_for: join t with a timeout. On expiry t is cancelled and
 * joined (its clean-up runs) and the call returns -ETIMEDOUT. If the caller
 * itself is cancelled while waiting, t is cancelled and joined too and the
 * call returns -ECANCELED. Otherwise as urt_join. In every case but -EINVAL
 * and -EDEADLK, t has been joined and released when this returns.
 */
URT_API int urt_wait_for(urt_task *t, int *result, int64_t timeout_ns);

/*
 * Request cancellation of t. Delivered as -ECANCELED at t's current or next
 * suspension point, once. If t is suspended on an io_uring operation, that
 * operation is cancelled with IORING_OP_ASYNC_CANCEL and t still waits for
 * the operation's own completion before resuming (its buffers stay valid);
 * if the operation completed anyway, t gets the real result and sees
 * -ECANCELED at its next suspension point instead. A task cancelled before
 * it first ran never runs and ends with result -ECANCELED. A no-op for NULL
 * or a finished task. May be called on the calling task itself.
 */
URT_API void urt_cancel(urt_task *t);

/* True when a cancellation of the calling task is pending (not yet delivered). */
URT_API bool urt_cancelled(void);

/* Let every other ready task run once. Returns 0, -ECANCELED (a pending
   cancellation, also one that came while the others ran), or -ETIMEDOUT
   without yielding when an enclosing deadline scope has expired. */
URT_API int urt_yield(void);

/* The calling task, or NULL outside a task. */
URT_API urt_task *urt_current(void);

/* True once t has ended (its result is available to urt_join). */
URT_API bool urt_task_done(const urt_task *t);

/* Task names for diagnostics (urt_dump_tasks, the overflow report). */
URT_API int urt_task_set_name(urt_task *t, const char *name);
URT_API const char *urt_task_name(const urt_task *t);
URT_API uint64_t urt_task_id(const urt_task *t);

/* ---------------------------------------------------------------------- */
/* Task-local storage (contextvars' role)                                  */

/* A task has URT_LOCAL_SLOTS pointer slots. A spawned task starts with a copy
   of its parent's slots. urt_local_set returns 0, -EINVAL for a bad slot, or
   -EPERM outside a task; urt_local_get returns NULL for those. */
#define URT_LOCAL_SLOTS 8
URT_API int urt_local_set(unsigned slot, void *value);
URT_API void *urt_local_get(unsigned slot);

/* ---------------------------------------------------------------------- */
/* Task groups (asyncio.TaskGroup)                                         */

typedef struct urt_group {
	struct urt_list live;  /* private: member tasks still running */
	struct urt_list done;  /* private: member tasks that ended */
	urt_task *waiter;      /* private */
	int first_error;       /* private */
	bool cancelling;       /* private */
} urt_group;

/* Initialise a caller-owned group. It must be waited (urt_group_wait)
   before its storage goes away. */
URT_API void urt_group_init(urt_group *g);

/* Spawn fn(arg) into g. The group owns the task: do not join or detach it;
   the handle stays valid (e.g. for urt_cancel) until urt_group_wait returns.
   Returns NULL with errno set, as urt_spawn: ENOMEM, EAGAIN, EPERM, or
   EINVAL (g is NULL, or already cancelling its members: a member failed
   or the waiter was cancelled). */
URT_API urt_task *urt_group_spawn(urt_group *g, int (*fn)(void *), void *arg);

/*
 * Wait until every member has ended, then release them all. When a member
 * returns a negative value other than -ECANCELED, every other member is
 * cancelled at once (whether or not anyone is waiting yet) and the group's
 * result is that first error. When the waiting task is cancelled, every
 * member is cancelled, waited for, and the call returns -ECANCELED.
 * Returns 0 (all members succeeded), the first error, or -ECANCELED.
 * Members may spawn further members while the group is waited.
 */
URT_API int urt_group_wait(urt_group *g);

/* ---------------------------------------------------------------------- */
/* Time, sleeps and deadlines                                              */

/* The calling thread's loop's clock in nanoseconds: CLOCK_MONOTONIC, or
   its virtual clock (below); CLOCK_MONOTONIC on a thread without a loop. */
URT_API int64_t urt_now_ns(void);

/*
 * Virtual time (URT_OPT_VIRTUAL_TIME, or URT_VIRTUAL_TIME=1 in the
 * environment; for tests): the loop's clock starts at the real reading and
 * moves only when the loop has nothing ready and no completion came in:
 * then it jumps to the earliest timer, which fires. Sleeps, timeouts and
 * deadline scopes run on it; each loop has its own. Real time still
 * passes for I/O in flight (it does not hold the clock: a timeout on a
 * read whose data has not arrived fires at once), offloads (they hold the
 * clock until they finish), other threads' wake-ups and signals.
 * doc/reference.md, "Virtual time", has the details.
 */

/* Sleep for ns nanoseconds (ns <= 0 yields, as urt_yield). Returns 0,
   -ECANCELED, or -ETIMEDOUT if an enclosing deadline falls before the end
   of the sleep (or, for ns <= 0, has already passed). */
URT_API int urt_sleep_ns(int64_t ns);
URT_API int urt_sleep_ms(int64_t ms);

/*
 * Scoped deadlines: between urt_deadline_push(timeout_ns) and the matching
 * urt_deadline_pop(), every suspension point of the calling task returns
 * -ETIMEDOUT once now >= (time of the push + timeout_ns). io_uring operations
 * carry an IORING_OP_LINK_TIMEOUT for the deadline (the operation is
 * cancelled by the kernel and its completion still awaited; under virtual
 * time the task's timer cancels it instead). Scopes nest;
 * the earliest deadline wins. Returns 0, -EINVAL (timeout_ns < 0),
 * -ENOSPC (more than URT_DEADLINE_DEPTH nested scopes) or -EPERM.
 * urt_deadline_pop without a push is a no-op.
 */
#define URT_DEADLINE_DEPTH 8
URT_API int urt_deadline_push(int64_t timeout_ns);
URT_API void urt_deadline_pop(void);

/* ---------------------------------------------------------------------- */
/* Futures, sync primitives and queues, each with its cross-loop twin      */
/* (asyncio.Future, Lock, Semaphore, Event, Condition, Queue;              */
/* concurrent.futures.Future, thread-safe semaphores, events and queues)   */
/*
 * Single-loop types (urt_future, urt_mutex, urt_sem, urt_event, urt_cond,
 * urt_queue): caller-owned and embeddable (_init; urt_queue, which holds
 * memory, also _destroy); for the tasks of one loop; no lock taken. Waits
 * are FIFO and fair: a release hands the resource (lock ownership, a
 * permit, a queue item or a free slot) to the first waiter directly, so
 * late arrivals never barge. Every wait takes timeout_ns (< 0: none) and
 * honours deadline scopes and cancellation: -ETIMEDOUT / -ECANCELED, and
 * the waiter leaves no trace. If a grant and a cancellation cross, the
 * grant wins: the call succeeds and the cancellation is delivered at the
 * task's next suspension point. Calls that do not wait never suspend and
 * never check for cancellation. -EPERM outside a task, -EINVAL for NULL.
 * Non-blocking tries are spelled _try_ (urt_mutex_try_lock,
 * urt_sem_try_acquire, urt_queue_try_put/_try_get): -EBUSY / -EAGAIN
 * instead of waiting.
 *
 * Cross-loop twins (urt_xfuture, urt_xsem, urt_xevent, urt_xqueue), each
 * declared next to its single-loop type: shared by tasks of any loops and
 * by plain threads (not by a loop's own thread outside its tasks: -EPERM,
 * it would stall that loop). Heap objects (_new/_free); the caller frees
 * them when nobody uses them. A waiter on loop A woken from loop B
 * resumes on A. Waits are FIFO, take timeout_ns (< 0: none) and, in a
 * task, its cancellation and deadline scopes: -ETIMEDOUT / -ECANCELED,
 * nothing taken. They have no _try_ calls: timeout_ns 0 is their try, a
 * call that would wait returns -EAGAIN at once (the same for all four
 * types). Each call is one mutex round trip, plus a wake-up through the
 * waiter's loop when it must be woken.
 *
 * Twins take the same arguments in the same order: the object, the item
 * or value (out) pointer, then timeout_ns.
 */

typedef struct urt_future {
	struct urt_list waiters; /* private */
	void *value;             /* private: use urt_future_wait */
	int res;                 /* private */
	bool set;                /* private */
} urt_future;

/* Initialise a caller-owned future (unset). */
URT_API void urt_future_init(urt_future *f);

/* Set the future's result once: res (>= 0 a value, < 0 an error such as
   -ECANCELED) and an optional pointer. Wakes every waiter. Returns 0, or
   -EALREADY if it was already set. May be called outside a task. */
URT_API int urt_future_set(urt_future *f, int res, void *value);

/* Wait (timeout_ns < 0: forever) until f is set. Returns the res given to
   urt_future_set and stores the pointer in *value (if value is non-NULL); or
   -ETIMEDOUT, -ECANCELED (f is left as it was). */
URT_API int urt_future_wait(urt_future *f, void **value, int64_t timeout_ns);

URT_API bool urt_future_done(const urt_future *f);

/* urt_xfuture: set once (res, value) from anywhere; wait returns res. */
typedef struct urt_xfuture urt_xfuture;
URT_API int urt_xfuture_new(urt_xfuture **out);
URT_API void urt_xfuture_free(urt_xfuture *f);
URT_API int urt_xfuture_set(urt_xfuture *f, int res, void *value); /* 0 or -EALREADY */
URT_API int urt_xfuture_wait(urt_xfuture *f, void **value, int64_t timeout_ns);
URT_API bool urt_xfuture_done(urt_xfuture *f);

typedef struct urt_mutex {
	urt_task *owner;          /* private */
	struct urt_list waiters;  /* private */
} urt_mutex;
URT_API void urt_mutex_init(urt_mutex *m);
/* 0 (now the owner), -ETIMEDOUT, -ECANCELED, -EDEADLK (already the owner) */
URT_API int urt_mutex_lock(urt_mutex *m, int64_t timeout_ns);
URT_API int urt_mutex_try_lock(urt_mutex *m); /* 0, -EBUSY, -EDEADLK */
URT_API int urt_mutex_unlock(urt_mutex *m);  /* 0, -EPERM (not the owner) */
URT_API bool urt_mutex_locked(const urt_mutex *m);

typedef struct urt_sem {
	unsigned value;           /* private */
	struct urt_list waiters;  /* private */
} urt_sem;
URT_API void urt_sem_init(urt_sem *s, unsigned value);
URT_API int urt_sem_acquire(urt_sem *s, int64_t timeout_ns);
URT_API int urt_sem_try_acquire(urt_sem *s); /* 0 or -EAGAIN */
URT_API int urt_sem_release(urt_sem *s);     /* 0 or -EOVERFLOW; any task may release */
URT_API unsigned urt_sem_value(const urt_sem *s);

/* urt_xsem: counting semaphore; release hands a permit to the first waiter. */
typedef struct urt_xsem urt_xsem;
URT_API int urt_xsem_new(unsigned count, urt_xsem **out);
URT_API void urt_xsem_free(urt_xsem *s);
URT_API int urt_xsem_acquire(urt_xsem *s, int64_t timeout_ns);
URT_API int urt_xsem_release(urt_xsem *s); /* 0 or -EOVERFLOW */

typedef struct urt_event {
	bool set;                 /* private */
	struct urt_list waiters;  /* private */
} urt_event;
URT_API void urt_event_init(urt_event *e);
URT_API void urt_event_set(urt_event *e);   /* wakes every waiter; stays set */
URT_API void urt_event_clear(urt_event *e);
URT_API bool urt_event_is_set(const urt_event *e);
URT_API int urt_event_wait(urt_event *e, int64_t timeout_ns);

/* urt_xevent: set wakes all waiters and stays set until cleared. */
typedef struct urt_xevent urt_xevent;
URT_API int urt_xevent_new(urt_xevent **out);
URT_API void urt_xevent_free(urt_xevent *e);
URT_API void urt_xevent_set(urt_xevent *e);
URT_API void urt_xevent_clear(urt_xevent *e);
URT_API int urt_xevent_wait(urt_xevent *e, int64_t timeout_ns);

typedef struct urt_cond {
	struct urt_list waiters;  /* private */
} urt_cond;
URT_API void urt_cond_init(urt_cond *c);
/* Unlock m (the caller must own it: -EPERM otherwise), wait for a signal,
   and lock m again before returning, whatever the result (the relock is
   not interrupted by cancellation or deadlines, and keeps its FIFO place).
   0, -ETIMEDOUT, -ECANCELED; -EDEADLK (without the lock) only if the
   lock can never come back and the loop found every task blocked. */
URT_API int urt_cond_wait(urt_cond *c, urt_mutex *m, int64_t timeout_ns);
URT_API void urt_cond_signal(urt_cond *c);    /* wake the first waiter */
URT_API void urt_cond_broadcast(urt_cond *c); /* wake them all */

/*
 * A bounded FIFO queue of pointers (asyncio.Queue). urt_queue_init
 * allocates the ring (cap slots; -EINVAL for 0, -ENOMEM); _destroy frees
 * it (no task may be waiting). Items are counted unfinished from put until
 * urt_queue_task_done; urt_queue_join waits until none is. After
 * urt_queue_close, puts fail with -EPIPE (waiting putters too: their items
 * never went in) and gets drain what is left, then return -EPIPE (end of
 * stream). try_ forms return -EAGAIN instead of waiting.
 */
typedef struct urt_queue {
	void **items;                      /* private */
	size_t cap, head, len, unfinished; /* private */
	bool closed;                       /* private */
	struct urt_list getters, putters, joiners; /* private */
} urt_queue;
URT_API int urt_queue_init(urt_queue *q, size_t cap);
URT_API void urt_queue_destroy(urt_queue *q);
URT_API int urt_queue_put(urt_queue *q, void *item, int64_t timeout_ns);
URT_API int urt_queue_get(urt_queue *q, void **item, int64_t timeout_ns);
URT_API int urt_queue_try_put(urt_queue *q, void *item);
URT_API int urt_queue_try_get(urt_queue *q, void **item);
URT_API int urt_queue_task_done(urt_queue *q); /* 0, -EINVAL if nothing is unfinished */
URT_API int urt_queue_join(urt_queue *q, int64_t timeout_ns);
URT_API void urt_queue_close(urt_queue *q);
URT_API size_t urt_queue_len(const urt_queue *q);

/* urt_xqueue: bounded FIFO of pointers (cap >= 1); put waits while full,
   get while empty; items handed directly to a waiting getter. */
typedef struct urt_xqueue urt_xqueue;
URT_API int urt_xqueue_new(size_t cap, urt_xqueue **out);
URT_API void urt_xqueue_free(urt_xqueue *q);
URT_API int urt_xqueue_put(urt_xqueue *q, void *item, int64_t timeout_ns);
URT_API int urt_xqueue_get(urt_xqueue *q, void **item, int64_t timeout_ns);
URT_API size_t urt_xqueue_len(urt_xqueue *q);

/* ---------------------------------------------------------------------- */
/* Operations                                                              */

/* IORING_OP_NOP through the whole submit–suspend–complete–resume path.
   Returns 0, -ECANCELED, -ETIMEDOUT or -EPERM. */
URT_API int urt_nop(void);


/* ---------------------------------------------------------------------- */
/* Files (aiofiles / os.* equivalents)                                     */
/*
 * Every call below suspends only the calling task and returns a result or a
 * negative errno, including -ECANCELED and -ETIMEDOUT (see the conventions
 * at the top). Buffers and paths must stay valid until the call returns; it
 * returns only after the kernel is done with them, even when cancelled.
 *
 * fd arguments may name a registered file instead: URT_FIXED_FD(i) is slot i
 * of the table given to urt_register_files (it saves the kernel an fd-table
 * lookup and reference per op). That holds for the calls below and the
 * socket calls (urt_accept, urt_connect, urt_send/recv, urt_sendmsg/recvmsg
 * and their sendto/recvfrom/send_all forms, urt_shutdown, urt_poll,
 * urt_sock_close), on both backends. Not for directory-fd arguments
 * (dfd, olddfd, newdfd: real fds or AT_FDCWD), the socket-option helpers
 * (urt_set_*, urt_sock_port), nor the objects that take an fd
 * (urt_stream_init, urt_acceptor_new, urt_receiver_new): -EBADF, as for
 * other negative fds.
 *
 * These are io_uring's operations, and a few differ from the syscalls of the
 * same name: opening a FIFO without O_CREAT or O_TRUNC does not wait for the
 * other end (a write-only open fails with -ENXIO, a read-only one returns at
 * once; the fd is blocking unless O_NONBLOCK was asked for). With O_CREAT or
 * O_TRUNC io_uring opens in a kernel worker, where a FIFO open waits for its
 * peer as open(2) does (cancellation and deadlines end the wait); epoll
 * never waits there either. An offset given for a pipe, socket or other fd
 * that cannot seek is ignored (as io_uring does; pread(2) says -ESPIPE).
 * A short write at the file position (off = -1) to a regular file does not
 * advance the position on Linux 6.18, so loop with explicit offsets
 * (urt_write_all with off >= 0) when writes may come up short.
 */
#define URT_FIXED_FD(i) ((int)(-2147483647 - 1 + (int)(i)))
#define URT_IS_FIXED_FD(fd) ((fd) < -(1 << 30))

/* open(2)/openat(2): returns the new fd. dfd may be AT_FDCWD. O_DIRECT is
   allowed (buffers, offsets and lengths must then be block aligned). */
URT_API int urt_open(const char *path, int flags, mode_t mode);
URT_API int urt_openat(int dfd, const char *path, int flags, mode_t mode);

/*
 * close(2). A registered slot URT_FIXED_FD(i) is emptied instead. A close
 * always closes: it is not interrupted by cancellation or deadline scopes
 * (the cancellation, or the expired deadline, is seen at the task's next
 * suspension point instead), and outside a task the fd is closed
 * synchronously. Returns 0 or close's own error (-EBADF, -EIO...).
 */
URT_API int urt_close(int fd);

/*
 * Read/write up to n bytes at offset off (off = -1: the file position, for
 * pipes, sockets and files opened without O_APPEND semantics). Returns the
 * byte count (0 at EOF for reads; short counts are possible), or a negative
 * errno (-EBADF, -EINVAL, -EISDIR, ...), -ECANCELED, -ETIMEDOUT. Requests
 * above INT_MAX bytes are shortened to INT_MAX.
 */
URT_API ssize_t urt_read(int fd, void *buf, size_t n, int64_t off);
URT_API ssize_t urt_write(int fd, const void *buf, size_t n, int64_t off);

/* preadv2/pwritev2 (off = -1: the file position). iovcnt <= IOV_MAX. */
struct iovec;
URT_API ssize_t urt_readv(int fd, const struct iovec *iov, int iovcnt, int64_t off);
URT_API ssize_t urt_writev(int fd, const struct iovec *iov, int iovcnt, int64_t off);

/*
 * Loop over short transfers until n bytes are done (asyncio's readexactly
 * and writer.write + drain). off = -1 uses the file position; otherwise the
 * offset advances with each chunk.
 *
 * urt_read_full returns n, or fewer than n when end of file came first (the
 * bytes before EOF are in buf: a short count *is* the EOF report), or a
 * negative errno if a read failed. urt_write_all returns n or a negative
 * errno; a write that makes no progress is -EIO. On an error, cancellation
 * or timeout the number of bytes already transferred is lost; when it
 * matters, pass `done` to the _ex forms, which store it in every case.
 */
URT_API ssize_t urt_read_full(int fd, void *buf, size_t n, int64_t off);
URT_API ssize_t urt_write_all(int fd, const void *buf, size_t n, int64_t off);
URT_API ssize_t urt_read_full_ex(int fd, void *buf, size_t n, int64_t off, size_t *done);
URT_API ssize_t urt_write_all_ex(int fd, const void *buf, size_t n, int64_t off, size_t *done);

/* fsync(2) / fdatasync(2). */
URT_API int urt_fsync(int fd);
URT_API int urt_fdatasync(int fd);

/* statx(2): dfd/path/flags as for statx (AT_EMPTY_PATH with path "" stats
   dfd itself), mask STATX_*; fills *out. */
struct statx;
URT_API int urt_statx(int dfd, const char *path, int flags, unsigned mask, struct statx *out);

/* fallocate(2) (mode FALLOC_FL_*, 0 to allocate) and ftruncate(2).
   urt_ftruncate uses IORING_OP_FTRUNCATE (Linux 6.9); on older kernels it
   calls ftruncate(2) directly, which does not block for long. */
URT_API int urt_fallocate(int fd, int mode, int64_t off, int64_t len);
URT_API int urt_ftruncate(int fd, int64_t len);

/* unlinkat(2) (flags 0 or AT_REMOVEDIR), renameat2(2) (flags RENAME_*),
   mkdirat(2), symlinkat(2), linkat(2). dfd may be AT_FDCWD. */
URT_API int urt_unlinkat(int dfd, const char *path, int flags);
URT_API int urt_renameat(int olddfd, const char *oldpath, int newdfd, const char *newpath,
			 unsigned flags);
URT_API int urt_mkdirat(int dfd, const char *path, mode_t mode);
URT_API int urt_symlinkat(const char *target, int newdfd, const char *linkpath);
URT_API int urt_linkat(int olddfd, const char *oldpath, int newdfd, const char *newpath,
		       int flags);
URT_API int urt_unlink(const char *path);
URT_API int urt_rename(const char *oldpath, const char *newpath);
URT_API int urt_mkdir(const char *path, mode_t mode);

/* splice(2): move up to n bytes between fd_in and fd_out, one of which must
   be a pipe. off_* = -1 for a pipe or the file position. flags SPLICE_F_*
   (SPLICE_F_NONBLOCK: -EAGAIN instead of waiting for the pipe). Waits for
   an empty or full pipe end like any read or write: cancellation and
   deadlines end it. */
URT_API ssize_t urt_splice(int fd_in, int64_t off_in, int fd_out, int64_t off_out, size_t n,
			   unsigned flags);


/* ---------------------------------------------------------------------- */
/* Sockets                                                                 */
/*
 * Same conventions as the file calls. The calls below take socket
 * addresses; the helpers after them take numeric addresses, except
 * urt_tcp_connect, which also resolves a host name. Name resolution is
 * urt_getaddrinfo (getaddrinfo(3) on the offload threads, so the loop
 * never blocks on DNS). A recv on a socket with nothing to read waits in
 * the kernel (poll-armed, no thread) until data, EOF (0), an error,
 * cancellation or the deadline.
 */
struct sockaddr;
struct msghdr;

URT_API int urt_socket(int domain, int type, int protocol);
/* connect(2) as a blocking call makes it: 0, or the attempt's error, after
   which the socket may try again. An attempt cut short by cancellation or
   a deadline goes on in the kernel: connecting again then gives -EALREADY
   at once while it is in progress. */
URT_API int urt_connect(int fd, const struct sockaddr *addr, unsigned addrlen);
/* accept4(2): returns the new fd; addr/addrlen may be NULL. flags SOCK_*.
   epoll: the listening socket is made O_NONBLOCK on first use (accept4 on
   it must not block the loop); urt_connect sets O_NONBLOCK only while it
   waits and restores the fd's flags. An fd urt_accept or urt_socket made
   is registered with epoll once, edge-triggered, when made. Once a call
   has waited on it, close it with urt_close or urt_sock_close, never with
   plain close(2) (urt would go on trusting its registration for the next
   fd to get that number). Any other fd -- one urt did not make, or one it
   made that no call waited on -- may be closed with plain close(2): urt
   checks a registration before trusting it. On such a stream socket a urt_recv
   or urt_send that comes back short means the buffer was drained (filled)
   just then, so the next one waits for readiness before its syscall
   (nginx's rule; bytes read or written behind urt's back only cost a
   spurious wake-up). Other fds are re-armed at each wait. */
URT_API int urt_accept(int fd, struct sockaddr *addr, unsigned *addrlen, int flags);
/* recv(2)/send(2). MSG_WAITALL (recv, send, recvmsg, sendmsg) on a stream
   or seqpacket socket waits until all n bytes are moved, EOF or an error;
   a cancellation or deadline after some bytes returns that count (the
   cancellation stays pending). MSG_DONTWAIT: -EAGAIN instead of a wait. */
URT_API ssize_t urt_recv(int fd, void *buf, size_t n, int flags);
URT_API ssize_t urt_send(int fd, const void *buf, size_t n, int flags);
/* send until all n bytes are out: n or a negative errno (-EPIPE,
   -ECONNRESET, ...); *done (if non-NULL) gets the bytes sent in every case. */
URT_API ssize_t urt_send_all(int fd, const void *buf, size_t n, int flags, size_t *done);
URT_API ssize_t urt_recvmsg(int fd, struct msghdr *msg, int flags);
URT_API ssize_t urt_sendmsg(int fd, const struct msghdr *msg, int flags);
/* UDP: sendto/recvfrom through sendmsg/recvmsg. from/fromlen may be NULL. */
URT_API ssize_t urt_sendto(int fd, const void *buf, size_t n, int flags,
			   const struct sockaddr *to, unsigned tolen);
URT_API ssize_t urt_recvfrom(int fd, void *buf, size_t n, int flags,
			     struct sockaddr *from, unsigned *fromlen);
URT_API int urt_shutdown(int fd, int how);
/*
 * The readiness bridge (asyncio's add_reader/add_writer, as a wait): wait
 * until fd is ready for any of events (POLLIN, POLLOUT, POLLPRI,
 * POLLRDHUP; POLLERR and POLLHUP are always reported) and return the
 * ready events (> 0): only those asked for, plus POLLERR and POLLHUP. An
 * event not asked for does not end the wait (a peer's POLLRDHUP while
 * waiting for POLLOUT on a full socket: poll(2) says "not ready" too).
 * Never 0. timeout_ns < 0: no timeout of its own; 0 (or a timeout that
 * runs out before the poll is issued) looks at fd once: the ready events,
 * or -ETIMEDOUT. Honours cancellation and deadline scopes like every op:
 * -ECANCELED, -ETIMEDOUT (an enclosing scope that has already expired
 * gives -ETIMEDOUT without looking at fd); also -EBADF, -EINVAL (no or
 * unknown events), -EPERM outside a task. This is how a task drives a
 * non-blocking library (libpq, OpenSSL, libcurl): call it, and when it
 * would block, urt_poll the fd it waits on.
 */
URT_API int urt_poll(int fd, unsigned events, int64_t timeout_ns);
/*
 * Close a socket that other tasks may still be waiting on: their pending
 * ops on fd are cancelled first (IORING_ASYNC_CANCEL_FD | _ALL; they
 * return -ECANCELED), then fd is closed. Plain close(2) would leave them
 * waiting: an op in flight holds its own reference to the socket.
 * Like urt_close it always closes, also when the caller has been cancelled
 * or its deadline has passed (those stay pending); outside a task it just
 * closes. Returns 0 or close's own error.
 */
URT_API int urt_sock_close(int fd);

/* Helpers. ip is a numeric IPv4 or IPv6 address ("127.0.0.1", "::1");
   NULL listens on all IPv4 addresses. port 0 picks a free port: read it
   back with urt_sock_port. Sockets are SOCK_CLOEXEC. urt_tcp_connect also
   takes a host name: it is resolved with urt_getaddrinfo and each address
   is tried in turn (IPv6 and IPv4); the last error is returned if none
   connects.
   urt_tcp_listen sets SO_REUSEADDR; flags: 0, or URT_LISTEN_REUSEPORT to
   set SO_REUSEPORT too (before bind: several sockets of this user then
   share the port, the kernel spreading new connections over them, as for
   one listener per loop). Unknown flags: -EINVAL. */
#define URT_LISTEN_REUSEPORT (1u << 0)
URT_API int urt_tcp_listen(const char *ip, int port, int backlog, unsigned flags);
URT_API int urt_tcp_connect(const char *host, int port);
URT_API int urt_udp_bind(const char *ip, int port);
URT_API int urt_sock_port(int fd); /* the local port, or a negative errno */
URT_API int urt_set_reuseaddr(int fd, bool on);
URT_API int urt_set_reuseport(int fd, bool on);
URT_API int urt_set_nodelay(int fd, bool on);

/*
 * Multishot accept. An acceptor keeps one IORING_OP_ACCEPT armed on a
 * listening socket; every connection the kernel accepts becomes one CQE
 * and is queued until a task takes it with urt_acceptor_accept, so a busy
 * server pays one SQE for many connections instead of one per accept.
 * Where the kernel lacks multishot accept (before 5.19), with
 * URT_OPT_NO_MULTISHOT, or on the epoll backend, each call falls back to
 * urt_accept.
 *
 * urt_acceptor_new: flags are SOCK_NONBLOCK/SOCK_CLOEXEC for the new fds.
 *   Returns 0 and *out, or -ENOMEM / -EBADF / -EPERM (no loop).
 * urt_acceptor_accept: the next connection's fd, or a negative errno (an
 *   accept error such as -EMFILE is returned once, and the acceptor re-arms
 *   on the next call); honours cancellation and deadline scopes. Several
 *   tasks may wait on one acceptor; connections go to them in FIFO order.
 * urt_acceptor_free: stop accepting. Connections accepted but not yet
 *   taken are closed; the listening fd stays the caller's. Never waits: the
 *   kernel request is cancelled and the object freed by its last CQE (or at
 *   loop close). Tasks waiting in urt_acceptor_accept are woken and return
 *   -ECANCELED (which also counts as the delivery of a cancellation that
 *   crossed it); the object lives until they have left.
 * Acceptors belong to the loop that made them and die with it.
 */
typedef struct urt_acceptor urt_acceptor;
URT_API int urt_acceptor_new(int fd, int flags, urt_acceptor **out);
URT_API int urt_acceptor_accept(urt_acceptor *a);
URT_API void urt_acceptor_free(urt_acceptor *a);


/* ---------------------------------------------------------------------- */
/* Streams (asyncio StreamReader/StreamWriter)                              */
/*
 * A buffered stream over a socket or a pipe (or any fd urt_read/urt_write
 * work on). The caller owns the struct; treat its fields as private.
 * Reads take what is buffered first and refill with one op; writes are
 * buffered until the buffer fills or urt_stream_flush. A stream is used by
 * one task at a time. Errors are negative errnos, as everywhere.
 */
typedef struct urt_stream {
	int fd;
	bool sock;                 /* private: recv/send instead of read/write */
	bool eof;                  /* private */
	char *rbuf, *wbuf;         /* private */
	size_t rcap, rpos, rlen;   /* private: unread data is rbuf[rpos, rlen) */
	size_t wcap, wlen;         /* private */
	void *rtask, *wtask;       /* private: task with a read/write in flight */
	void *closer;              /* private: task in urt_stream_destroy */
	void *layer;               /* private: a transform between the buffers and
				      the fd (TLS: urt_stream_start_tls), or NULL */
	const void *layer_ops;     /* private */
} urt_stream;

/* Set up a stream on fd with read/write buffers of rbuf/wbuf bytes (0: 64 KiB;
   at most INT32_MAX). Returns 0, -ENOMEM or -EBADF. The fd stays the
   caller's to close. Writes to a socket never raise SIGPIPE (MSG_NOSIGNAL);
   writes to a pipe whose reader is gone do, as write(2) does. */
URT_API int urt_stream_init(urt_stream *s, int fd, size_t rbuf, size_t wbuf);
/* Free the buffers (unflushed output is dropped: flush first). A read or
   write that another task has in flight on s is cancelled first (it
   returns -ECANCELED) and waited for, so the kernel never writes into a
   freed buffer; called from a task, this may therefore suspend. Safe on a
   stream whose init failed, twice, and on NULL. (Was urt_stream_free.) */
URT_API void urt_stream_destroy(urt_stream *s);

/* Up to n bytes: buffered ones, else what one read returns. 0 at EOF. */
URT_API ssize_t urt_stream_read(urt_stream *s, void *buf, size_t n);
/* Exactly n bytes, or fewer when EOF came first (a short count is the EOF
   report, as with urt_read_full), or a negative errno. */
URT_API ssize_t urt_stream_read_exact(urt_stream *s, void *buf, size_t n);
/*
 * Read through the first occurrence of delim (dlen bytes) and copy it,
 * delimiter included, into buf (max bytes). Returns its length; 0 at a
 * clean EOF (nothing buffered); -EMSGSIZE when max bytes arrived without
 * the delimiter (nothing is consumed); -ENODATA when EOF came after a
 * partial record (it stays buffered for urt_stream_read); -EINVAL if max
 * exceeds the read buffer or dlen is 0.
 */
URT_API ssize_t urt_stream_read_until(urt_stream *s, const void *delim, size_t dlen, void *buf,
				      size_t max);
/* urt_stream_read_until with "\n". */
URT_API ssize_t urt_stream_readline(urt_stream *s, char *buf, size_t max);

/* Buffer n bytes, writing out whenever the buffer fills. Returns n or a
   negative errno (the stream is then broken: what was buffered is lost). */
URT_API ssize_t urt_stream_write(urt_stream *s, const void *buf, size_t n);
/* Write out everything buffered. 0 or a negative errno. */
URT_API int urt_stream_flush(urt_stream *s);
/* urt_stream_write + urt_stream_flush. */
URT_API ssize_t urt_stream_write_all(urt_stream *s, const void *buf, size_t n);
/* Flush, then end the write side: on a TLS stream send close_notify, and
   on a socket shutdown(SHUT_WR) (asyncio write_eof). Reads still work.
   0 or a negative errno. Calling it again does no harm. */
URT_API int urt_stream_shutdown(urt_stream *s);

/* ---------------------------------------------------------------------- */
/* TLS (asyncio ssl=, start_tls), on OpenSSL                              */
/*
 * A context (urt_tls_ctx) is made once from a urt_tls_config and shared by
 * any number of connections on any loops (it is thread-safe and counted:
 * freeing it while connections use it is fine). A connection (urt_tls)
 * runs over a connected socket the caller owns; OpenSSL only transforms
 * bytes in memory and the task does the socket I/O through the ring (or
 * epoll), so TLS calls are suspension points like any other: they honour
 * cancellation and deadline scopes, and one task may read while another
 * writes the same connection.
 *
 * Two ways to use it: urt_stream_start_tls(s, ...) puts TLS under a
 * urt_stream, after which urt_stream_read/_read_until/_write/... work
 * unchanged (bytes the stream had already buffered are taken as the
 * start of the handshake, for STARTTLS-style upgrades); or urt_tls_handshake
 * gives a bare connection with urt_tls_read/urt_tls_write for callers
 * that keep their own buffers (urt-httpd).
 *
 * Errors: -EKEYEXPIRED (the peer's certificate has expired or is not yet
 * valid), -EKEYREJECTED (it failed verification: unknown CA, hostname
 * mismatch, self-signed, a client certificate missing), -EPROTO (any other
 * TLS failure: protocol version, no shared cipher, a bad record, garbage
 * instead of TLS, an alert from the peer), -ECONNABORTED (the peer closed
 * the TCP connection without close_notify: a truncated stream, told apart
 * from a clean EOF, which reads return as 0), -ENOTSUP (urt was built
 * without TLS, -Dtls=disabled), and the socket's own errnos
 * (-ECONNRESET, -EPIPE, ...), -ECANCELED and -ETIMEDOUT. urt_tls_reason
 * says why in OpenSSL's words.
 */
typedef struct urt_tls_ctx urt_tls_ctx;
typedef struct urt_tls urt_tls;

enum { URT_TLS_CLIENT = 0, URT_TLS_SERVER = 1 };
enum { URT_TLS_1_2 = 0x0303, URT_TLS_1_3 = 0x0304 }; /* protocol versions */

typedef struct urt_tls_config {
	int role;              /* URT_TLS_CLIENT or URT_TLS_SERVER */
	const char *cert_file; /* PEM chain, leaf first: required for a server;
				  a client's own certificate (mutual TLS) */
	const char *key_file;  /* PEM private key of cert_file (NULL: cert_file) */
	const char *ca_file;   /* PEM CAs the peer is verified against;
				  NULL (client): the system's default store */
	const char *ca_path;   /* a c_rehash'ed directory of CAs (optional) */
	bool insecure;         /* client: do not verify the server (tests only) */
	bool verify_client;    /* server: require a client certificate that
				  verifies against ca_file */
	int min_version;       /* 0: TLS 1.2 */
	int max_version;       /* 0: the newest OpenSSL has */
	const char *alpn;      /* comma-separated protocols ("h2,http/1.1"):
				  offered by a client, chosen in this order
				  by a server; NULL: no ALPN */
	bool no_resumption;    /* no session tickets or cache (default: a
				  server issues tickets, a client keeps
				  one session per server name and offers it) */
} urt_tls_config;

/* Make a context. 0 and *out, or -EINVAL (a bad field), -ENOENT/-EACCES
   (a file missing/unreadable), -EKEYREJECTED (the key does not match the
   certificate, or a file is not PEM), -ENOMEM, -ENOTSUP. Loads every file
   now, so a bad one is reported here, not at the first connection.
   urt_tls_reason(NULL) says which file and why. Need not be in a task. */
URT_API int urt_tls_ctx_new(const urt_tls_config *cfg, urt_tls_ctx **out);
/* Drop the caller's reference; connections keep the context alive. */
URT_API void urt_tls_ctx_free(urt_tls_ctx *ctx);

/* Handshake over the connected socket fd (which stays the caller's), as
   the context's role. server_name (client): sent as SNI and checked
   against the certificate (NULL: neither; the chain is still verified
   unless insecure). A handshake that fails, is cancelled or whose
   deadline expires frees everything and returns the errno (-ETIMEDOUT
   for the deadline); 0 and *out on success. */
URT_API int urt_tls_handshake(urt_tls_ctx *ctx, int fd, const char *server_name, urt_tls **out);
/* Up to n decrypted bytes; 0 at a clean EOF (close_notify); -ECONNABORTED
   at a truncated one. A cancelled or timed-out read leaves the connection
   usable (no record is half consumed). */
URT_API ssize_t urt_tls_read(urt_tls *t, void *buf, size_t n);
/* Encrypt and send all n bytes: n or a negative errno. A cancelled write
   may have sent part of the data: the rest of what was accepted goes out
   with the next write or urt_tls_shutdown, so records are never cut. */
URT_API ssize_t urt_tls_write(urt_tls *t, const void *buf, size_t n);
/* Send close_notify (once) and everything still queued. Does not wait for
   the peer's close_notify (read until 0 for that). 0 or a negative errno. */
URT_API int urt_tls_shutdown(urt_tls *t);
/* Free the connection (the fd stays open). Reads and writes that other
   tasks have in flight are cancelled and waited for. NULL: nothing. */
URT_API void urt_tls_free(urt_tls *t);
/* Why the last TLS call failed, in OpenSSL's words ("certificate verify
   failed: certificate has expired", "wrong version number", ...): for a
   connection, its last failure; for NULL, the last failure of any urt TLS
   call on this thread (urt_tls_ctx_new, a failed urt_tls_handshake or
   urt_stream_start_tls). Read it before the next suspension point. Never
   NULL ("" when nothing failed). */
URT_API const char *urt_tls_reason(const urt_tls *t);

typedef struct urt_tls_info {
	int version;           /* URT_TLS_1_2, URT_TLS_1_3 */
	const char *cipher;    /* "TLS_AES_256_GCM_SHA384" */
	const char *alpn;      /* the protocol agreed, or NULL */
	bool resumed;          /* the session was resumed (no full handshake) */
	bool ktls;             /* records are encrypted by the kernel (never,
				  today: see urt_tls_ktls_available) */
	bool peer_verified;    /* the peer presented a certificate that verified */
} urt_tls_info;
/* Fill *info about an established connection: 0 or -EINVAL. */
URT_API int urt_tls_get_info(const urt_tls *t, urt_tls_info *info);
/* Whether the kernel offers kernel TLS (the "tls" TCP ULP), read at run
   time. urt does not use it yet: the user-space path is the tested one;
   this call reports what a kTLS path could rely on. */
URT_API bool urt_tls_ktls_available(void);

/* Put TLS under the stream s (an open urt_stream on a socket): flushes
   what s has buffered for writing, takes what it has buffered for reading
   as the first handshake bytes, and handshakes as urt_tls_handshake does.
   On failure s is left broken: reads and writes return the handshake's
   errno; urt_stream_destroy is all that is left to do. urt_stream_destroy
   frees the TLS layer; urt_stream_shutdown sends close_notify. */
URT_API int urt_stream_start_tls(urt_stream *s, urt_tls_ctx *ctx, const char *server_name);
/* The stream's TLS connection (for urt_tls_get_info, urt_tls_reason), or
   NULL on a plain stream. */
URT_API urt_tls *urt_stream_tls(const urt_stream *s);

/* ---------------------------------------------------------------------- */
/* Executor (asyncio run_in_executor / to_thread)                          */
/*
 * Run fn(arg) on one of the loop's worker threads; the calling task waits
 * and the loop runs other tasks meanwhile. Returns 0 and stores fn's
 * return value in *result (if result is non-NULL), or -ECANCELED /
 * -ETIMEDOUT (cancellation, deadline scope), -ENOMEM, -EAGAIN (no thread
 * could be started), -EPERM outside a task.
 *
 * Cancelling (or a deadline expiring) before fn has started takes the work
 * out of the queue: fn never runs. After fn has started, the call returns
 * at once and fn runs to completion on its thread; its result is dropped.
 * So whatever fn uses (arg and what it points to) must stay valid until fn
 * returns, not only until urt_offload does: pass heap objects, or data
 * that outlives the loop, when the caller might be cancelled. fn must not
 * call urt functions (it is not on a loop's thread).
 *
 * Workers start lazily (at most urt_options.offload_threads) and block
 * every signal. At loop close, urt_run waits for functions still running.
 */
URT_API int urt_offload(void *(*fn)(void *), void *arg, void **result);
/* The same, plus a clean-up for when the caller is gone: if urt_offload_ex
   returns an error, orphan(arg, result) runs later on the loop's thread
   once fn has finished (or at once with result NULL if fn never started),
   so a heap arg and whatever fn produced can be freed. NULL: none. */
URT_API int urt_offload_ex(void *(*fn)(void *), void *arg, void **result,
			   void (*orphan)(void *arg, void *result));

/*
 * getaddrinfo(3) on the offload pool. Returns 0 and *res (free it with
 * freeaddrinfo), or a negative errno: -ENOENT (the name does not resolve:
 * EAI_NONAME/EAI_NODATA/EAI_ADDRFAMILY), -EAGAIN (temporary failure),
 * -EINVAL (bad flags, family, socket type or service), -EIO (EAI_FAIL),
 * -ENOMEM, the system error for EAI_SYSTEM, -ECANCELED, -ETIMEDOUT.
 * Cancelling does not stop the lookup; its result is freed when it ends.
 */
struct addrinfo;
URT_API int urt_getaddrinfo(const char *host, const char *service,
			    const struct addrinfo *hints, struct addrinfo **res);

/* ---------------------------------------------------------------------- */
/* Signals                                                                 */
/*
 * Wait for one of the signals in set (timeout_ns < 0: no timeout) and
 * return its number, or -ETIMEDOUT / -ECANCELED / a negative errno. The
 * set is blocked in the calling thread from the first call on, so a
 * signal arriving while no task waits stays pending for the next wait
 * instead of taking its default action; block the set yourself at start-up
 * (sigprocmask) if it may arrive before the first wait. Reads a signalfd
 * through the ring: no handler runs. Threads created after the first call
 * inherit the mask; threads created before it must block the set too, or
 * the kernel may deliver the signal to them.
 */
URT_API int urt_signal_wait(const sigset_t *set, int64_t timeout_ns);

/* ---------------------------------------------------------------------- */
/* Observability                                                           */

struct urt_stats {
	uint64_t sqes;      /* SQEs prepared (ops, link timeouts, cancels) */
	uint64_t cqes;      /* CQEs reaped */
	uint64_t enters;    /* io_uring_enter calls made by the loop */
	uint64_t switches;  /* context switches */
	uint64_t spawned;   /* tasks created */
	uint64_t tasks;     /* tasks alive now (not yet ended) */
	uint64_t loop_turns;/* scheduler iterations */
	uint64_t faults;    /* faults injected (URT_FAULT, a -Dfault_injection=true build) */
};

/* Counters of the loop running on this thread. Returns 0 or -EPERM (no loop). */
URT_API int urt_stats_get(struct urt_stats *out);

/*
 * Process-wide counts of what the runtime still holds, for leak checks: all
 * zero once every loop has closed, unless something leaked. Kept where a
 * loop opens or closes and where a stack is mapped or unmapped, never per
 * spawn or per op. Returns 0, or -EINVAL for a NULL out.
 */
struct urt_live {
	uint64_t loops;  /* loops open (urt_run running, urt_loop_new not yet freed) */
	uint64_t stacks; /* task stacks mapped, pooled ones included (unmapped when
			    their loop closes) */
	uint64_t tasks;  /* tasks not yet ended: in open loops, and those that
			    had not ended when their loop closed */
	uint64_t ops;    /* ops a task still waited on when their loop closed
			    (the loop's own requests, such as an armed
			    multishot, end with it and are not counted) */
};
URT_API int urt_live_get(struct urt_live *out);

/* asyncio.all_tasks: one line per task (id, name, state, stack size). */
URT_API void urt_dump_tasks(FILE *out);

/* ---------------------------------------------------------------------- */
/* io_uring-specific parts                                                 */
/*
 * What only io_uring has, kept apart from the portable API above. Every
 * call here exists on both backends, with the same signature and error
 * conventions, so a program need not ask which backend runs; each says
 * what it does on epoll ("epoll:"). Besides these calls:
 *
 *   urt_options.sq_entries, cq_entries   ring sizes (validated on both).
 *                                        epoll: no ring; one epoll_wait
 *                                        reaps up to 128 events.
 *   URT_OPT_NO_DEFER_TASKRUN,            ring setup flags (and the variable
 *   URT_OPT_NO_SINGLE_ISSUER,            URT_RING_FLAGS that ORs them in).
 *   URT_OPT_SQPOLL                       epoll: ignored.
 *   URT_OPT_NO_MULTISHOT                 acceptors and receivers use their
 *                                        one-shot fallbacks (always so on epoll).
 *   urt_options.iowq_bounded, _unbounded io-wq worker limits. epoll: ignored
 *                                        (file ops run on the executor, sized
 *                                        by offload_threads).
 *   URT_FIXED_FD(i)                      a registered file, as below.
 */

/*
 * Offload hint for the calling task's later operations: when on, each op is
 * queued straight to an io-wq kernel worker (IOSQE_ASYNC) instead of first
 * being tried inline on the loop's thread. Use it for ops that are CPU work
 * in the kernel, such as large page-cache reads and writes: inline they run
 * one at a time on the loop's thread; offloaded they spread over the CPUs
 * while the loop keeps submitting. Off (the default) is best for sockets,
 * pipes and small ops. Returns the previous setting (false outside a task).
 * epoll: the setting is kept and returned, and changes nothing (a file op
 * that would block runs on the executor's threads anyway).
 */
URT_API bool urt_io_offload(bool on);

/*
 * Registered (fixed) buffers and files, per loop. Registering pins the
 * buffers' pages once, instead of on every op; urt_read_fixed and
 * urt_write_fixed take buf within registered buffer buf_index. Files: slot
 * i of fds becomes URT_FIXED_FD(i) (entries of -1 leave a slot empty);
 * urt_update_files replaces slots later. Each returns 0 or a negative errno
 * (-EBUSY if already registered, -EPERM outside a loop). They do not
 * suspend and may be called from any task of the loop.
 * epoll: nothing is pinned; a fixed fd is a slot of a table of dup'ed fds
 * (the caller may close its own, as with io_uring), and a fixed buffer is
 * a plain buffer, checked against the registered range (-EFAULT).
 */
URT_API int urt_register_buffers(const struct iovec *iov, unsigned n);
URT_API int urt_unregister_buffers(void);
URT_API ssize_t urt_read_fixed(int fd, void *buf, size_t n, int64_t off, int buf_index);
URT_API ssize_t urt_write_fixed(int fd, const void *buf, size_t n, int64_t off, int buf_index);
URT_API int urt_register_files(const int *fds, unsigned n);
URT_API int urt_update_files(unsigned first, const int *fds, unsigned n);
URT_API int urt_unregister_files(void);

/*
 * Multishot receive into provided buffers (the opt-in fast path). A
 * bufring is a pool of nbufs buffers of buf_size bytes registered with the
 * kernel as a provided-buffer ring; a receiver keeps one multishot recv
 * armed on a socket, and the kernel picks a free buffer from the pool for
 * every chunk of data it receives. One SQE serves a whole connection, and
 * idle connections hold no buffer. epoll: the pool is plain memory
 * (nothing registered) and every receiver uses its one-plain-recv-per-call
 * fallback into a private buffer, as with URT_OPT_NO_MULTISHOT.
 *
 * urt_bufring_new: nbufs a power of two (1..32768), buf_size 1..INT32_MAX.
 *   Returns 0 and *out, -EINVAL, -ENOMEM, -EPERM (no loop), or the kernel's
 *   error when it cannot register a buffer ring (-EINVAL before 5.19).
 * urt_bufring_free: the pool goes away once its last receiver is freed.
 * urt_receiver_new: fd is a connected stream socket. 0 and *out or -errno.
 * urt_receiver_recv: point *data at the next chunk received and return its
 *   length; 0 at EOF; or a negative errno (the socket's error, or
 *   -ECANCELED / -ETIMEDOUT). The chunk stays valid, and its buffer out of
 *   the pool, until the next urt_receiver_recv or urt_receiver_free on this
 *   receiver. When the pool runs dry the kernel ends the multishot
 *   (-ENOBUFS); the receiver re-arms it when called again, or reads into a
 *   private buffer if the pool is still empty, so it never stalls. A CQ
 *   overflow, which also ends multishot requests, is handled the same way.
 *   One task at a time (-EBUSY otherwise).
 * urt_receiver_free: cancels the request (without waiting) and returns the
 *   buffers to the pool; the fd stays the caller's. A task waiting in
 *   urt_receiver_recv is woken (its private recv cancelled) and returns
 *   -ECANCELED; the object lives until it has left. urt_sock_close on the
 *   fd also ends the request: a waiting urt_receiver_recv returns -ECANCELED.
 * With URT_OPT_NO_MULTISHOT, or on kernels without multishot recv (before
 * 6.0), every call is a plain recv into the receiver's private buffer.
 */
typedef struct urt_bufring urt_bufring;
typedef struct urt_receiver urt_receiver;
URT_API int urt_bufring_new(unsigned nbufs, size_t buf_size, urt_bufring **out);
URT_API void urt_bufring_free(urt_bufring *br);
URT_API int urt_receiver_new(int fd, urt_bufring *br, urt_receiver **out);
URT_API ssize_t urt_receiver_recv(urt_receiver *r, const void **data);
URT_API void urt_receiver_free(urt_receiver *r);

#ifdef __cplusplus
}
#endif
#endif /* URT_H */
