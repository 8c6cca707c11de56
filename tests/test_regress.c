/* SPDX-License-Identifier: MIT */
/*
 * Regression tests for the core defects of issue 10, one test per bug and
 * named after it (liburing's habit). Each failed (hung, crashed, or
 * asserted) before its fix. White-box where the bug needs a precise
 * interleaving: the tests see the internals (core.h) to wait until a task
 * is READY before cancelling it.
 *
 * A frozen loop shows up as the suite's timeout, not as a measured delay:
 * nothing here depends on wall-clock speed beyond "a 20 ms timer fires
 * eventually".
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "core/core.h"
#include "backend/uring/op.h"

TestSuite(regress, .timeout = 30);

static int yield_until(urt_task *t, int state)
{
	int64_t give_up = urt_now_ns() + SEC(10);
	while (t->state != state && urt_now_ns() < give_up)
		urt_yield();
	return t->state == state ? 0 : -1;
}

/*
 * Cancel `target` in the window the bugs lived in: after a waker made it
 * READY and before it ran. The canceller is spawned after the target and
 * yields; the ready queue is FIFO, so a target readied by a waker runs
 * after the canceller's next turn. *caught says the window was hit.
 */
struct canceller {
	urt_task *target;
	bool caught;
};

static int cancel_when_woken(void *arg)
{
	struct canceller *c = arg;
	if (yield_until(c->target, URT__WAIT_USER) < 0)
		return -1;
	if (yield_until(c->target, URT__READY) < 0)
		return -1;
	c->caught = c->target->wake_res == 0;
	urt_cancel(c->target);
	return 0;
}

static urt_task *spawn_canceller(struct canceller *c, urt_task *target)
{
	c->target = target;
	c->caught = false;
	return spawn_ok(cancel_when_woken, c);
}

/* ====================================================================== */
/* 1. Time arithmetic saturates                                            */

/* A pipe read under urt_deadline_push(INT64_MAX) while a sleeping task
   writes 20 ms later. The deadline plus the backstop grace wrapped
   negative and the loop's next wait became ~292 years: the writer's 20 ms
   timer never fired. */
static int writer_after_20ms(void *arg)
{
	int fd = (int)(intptr_t)arg;
	OK(urt_sleep_ms(20));
	cr_assert_eq(write(fd, "x", 1), 1);
	return 0;
}

static int t_deadline_max_read(void *arg)
{
	int64_t to = *(int64_t *)arg;
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	urt_task *w = spawn_ok(writer_after_20ms, (void *)(intptr_t)p[1]);
	if (to == -2) /* the deadline just below INT64_MAX: a real one, never reached */
		to = INT64_MAX - urt_now_ns() - 1;
	OK(urt_deadline_push(to));
	char c;
	CHECK(urt_read(p[0], &c, 1, -1), 1);
	urt_deadline_pop();
	join_ok(w);
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(regress, deadline_int64_max_freezes_loop)
{
	int64_t v[] = {INT64_MAX, INT64_MAX - 1, -2};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		RUN(t_deadline_max_read, &v[i]);
}

/* urt_signal_wait(&set, INT64_MAX) with a 10 ms ticker task: the ticker
   stalled after one tick. */
static int ticks;

static int ticker_then_signal(void *arg)
{
	(void)arg;
	for (ticks = 0; ticks < 10; ticks++)
		OK(urt_sleep_ms(10));
	cr_assert_eq(kill(getpid(), SIGUSR1), 0);
	return 0;
}

static int t_signal_wait_max(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	urt_task *t = spawn_ok(ticker_then_signal, NULL);
	CHECK(urt_signal_wait(&set, INT64_MAX), SIGUSR1);
	cr_assert_eq(ticks, 10);
	join_ok(t);
	return 0;
}

Test(regress, signal_wait_int64_max_stalls_timers)
{
	RUN(t_signal_wait_max, NULL);
}

/*
 * Every call that takes a timeout, at the extremes. A granter task grants
 * the wait 20 ms in (from its own timer, so a frozen loop hangs the test).
 * 0 and 1 ns time out first; INT64_MAX - 1, INT64_MAX and negatives ("no
 * timeout") wait for the grant.
 */
enum kind {
	K_WAIT_FOR, K_WAIT_ANY, K_FUTURE, K_MUTEX, K_SEM, K_EVENT, K_COND,
	K_QGET, K_QPUT, K_QJOIN, K_SIGNAL, K_DEADLINE, K_NKINDS
};
static const char *const kind_name[] = {
	"wait_for", "wait_any", "future_wait", "mutex_lock", "sem_acquire", "event_wait",
	"cond_wait", "queue_get", "queue_put", "queue_join", "signal_wait", "deadline_push",
};

struct wctx {
	enum kind kind;
	int64_t to;
	bool waiter_done;
	urt_future f;
	urt_mutex m;
	urt_sem s;
	urt_event e;
	urt_cond c;
	urt_queue q;
	int pipe[2];
};

static int sleep_20_return_7(void *arg)
{
	(void)arg;
	int r = urt_sleep_ms(20);
	return r == 0 ? 7 : r;
}

static int granter(void *arg)
{
	struct wctx *w = arg;
	if (w->kind == K_MUTEX)
		OK(urt_mutex_lock(&w->m, -1));
	OK(urt_sleep_ms(20));
	switch (w->kind) {
	case K_FUTURE: OK(urt_future_set(&w->f, 5, w)); break;
	case K_MUTEX: OK(urt_mutex_unlock(&w->m)); break;
	case K_SEM: OK(urt_sem_release(&w->s)); break;
	case K_EVENT: urt_event_set(&w->e); break;
	case K_COND:
		OK(urt_mutex_lock(&w->m, -1));
		urt_cond_signal(&w->c);
		OK(urt_mutex_unlock(&w->m));
		break;
	case K_QGET: OK(urt_queue_put(&w->q, w, -1)); break;
	case K_QPUT: {
		void *it;
		OK(urt_queue_get(&w->q, &it, -1));
		break;
	}
	case K_QJOIN: OK(urt_queue_task_done(&w->q)); break;
	case K_SIGNAL:
		if (!w->waiter_done) /* a timed-out wait would leave it pending */
			cr_assert_eq(kill(getpid(), SIGUSR1), 0);
		break;
	case K_DEADLINE: cr_assert_eq(write(w->pipe[1], "x", 1), 1); break;
	default: break;
	}
	return 0;
}

/* The wait itself: 1 granted, 0 timed out; asserts anything else. */
static int do_wait(struct wctx *w)
{
	int64_t to = w->to;
	int r, res = 0;
	void *v;
	switch (w->kind) {
	case K_WAIT_FOR: {
		urt_task *c = spawn_ok(sleep_20_return_7, NULL);
		r = urt_wait_for(c, &res, to);
		if (r == 0)
			cr_assert_eq(res, 7);
		break;
	}
	case K_WAIT_ANY: {
		urt_task *c = spawn_ok(sleep_20_return_7, NULL);
		r = urt_wait_any(&c, 1, to);
		if (r < 0)
			urt_cancel(c);
		else
			cr_assert_eq(r, 0);
		join_ok(c);
		r = r < 0 ? r : 0;
		break;
	}
	case K_FUTURE:
		r = urt_future_wait(&w->f, &v, to);
		if (r >= 0) {
			cr_assert_eq(r, 5);
			cr_assert_eq(v, (void *)w);
			r = 0;
		}
		break;
	case K_MUTEX:
		urt_sleep_ms(0); /* let the granter take the lock first */
		r = urt_mutex_lock(&w->m, to);
		if (r == 0)
			OK(urt_mutex_unlock(&w->m));
		break;
	case K_SEM: r = urt_sem_acquire(&w->s, to); break;
	case K_EVENT: r = urt_event_wait(&w->e, to); break;
	case K_COND:
		OK(urt_mutex_lock(&w->m, -1));
		r = urt_cond_wait(&w->c, &w->m, to); /* relocks either way */
		OK(urt_mutex_unlock(&w->m));
		break;
	case K_QGET:
		r = urt_queue_get(&w->q, &v, to);
		if (r == 0)
			OK(urt_queue_task_done(&w->q));
		break;
	case K_QPUT: r = urt_queue_put(&w->q, w, to); break;
	case K_QJOIN: r = urt_queue_join(&w->q, to); break;
	case K_SIGNAL: {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		r = urt_signal_wait(&set, to);
		if (r > 0) {
			cr_assert_eq(r, SIGUSR1);
			r = 0;
		}
		break;
	}
	case K_DEADLINE: {
		if (to == -2)
			to = INT64_MAX - urt_now_ns() - 1;
		r = urt_deadline_push(to);
		if (to < 0) {
			CHECK(r, -EINVAL); /* a negative scope is refused... */
		} else {
			OK(r);
		}
		char c;
		ssize_t n = urt_read(w->pipe[0], &c, 1, -1);
		if (to >= 0)
			urt_deadline_pop();
		r = n == 1 ? 0 : (int)n; /* a negative scope: the read waits unbounded */
		break;
	}
	default: r = -EINVAL;
	}
	w->waiter_done = true;
	if (r == -ETIMEDOUT)
		return 0;
	cr_assert_eq(r, 0, "%s(%lld)", kind_name[w->kind], (long long)to);
	return 1;
}

static int t_extreme(void *arg)
{
	struct wctx *w = arg;
	w->waiter_done = false;
	urt_future_init(&w->f);
	urt_mutex_init(&w->m);
	urt_sem_init(&w->s, 0);
	urt_event_init(&w->e);
	urt_cond_init(&w->c);
	OK(urt_queue_init(&w->q, 1));
	if (w->kind == K_QPUT)
		OK(urt_queue_try_put(&w->q, w));
	if (w->kind == K_QJOIN) {
		void *v;
		OK(urt_queue_try_put(&w->q, w));
		OK(urt_queue_try_get(&w->q, &v)); /* one unfinished item */
	}
	cr_assert_eq(pipe2(w->pipe, O_CLOEXEC), 0);
	urt_task *g = spawn_ok(granter, w);
	int granted = do_wait(w);
	join_ok(g);
	if (w->kind == K_DEADLINE && !granted) {
		char c;
		CHECK(urt_read(w->pipe[0], &c, 1, -1), 1);
	}
	close(w->pipe[0]);
	close(w->pipe[1]);
	urt_queue_destroy(&w->q);
	return granted;
}

Test(regress, timeouts_at_the_extremes)
{
	const int64_t v[] = {0, 1, INT64_MAX - 1, INT64_MAX, -1, INT64_MIN, -2};
	const int want[] = {0, 0, 1, 1, 1, 1, 1};
	for (int k = 0; k < K_NKINDS; k++) {
		for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
			if (v[i] == -2 && k != K_DEADLINE)
				continue; /* -2: the deadline just below INT64_MAX */
			struct wctx w = {.kind = k, .to = v[i]};
			int r = urt_run(t_extreme, &w);
			cr_assert_eq(r, want[i], "%s(%lld): %s", kind_name[k], (long long)v[i],
				     want[i] ? "should wait for the grant" : "should time out");
		}
	}
}

/* Sleeps at the extremes: <= 0 yields, 1 ns sleeps, INT64_MAX (ns or ms)
   sleeps until cancelled, while other timers keep firing. */
static int sleeper(void *arg)
{
	int64_t ns = *(int64_t *)arg;
	return ns == INT64_MIN + 1 ? urt_sleep_ms(INT64_MAX) : urt_sleep_ns(ns);
}

static int t_sleep_extremes(void *arg)
{
	(void)arg;
	int64_t quick[] = {0, 1, -1, INT64_MIN};
	for (size_t i = 0; i < 4; i++)
		CHECK(urt_sleep_ns(quick[i]), 0);
	CHECK(urt_sleep_ms(-1), 0);
	CHECK(urt_sleep_ms(INT64_MIN), 0);
	int64_t forever[] = {INT64_MAX, INT64_MAX - 1, INT64_MAX / 2,
			     INT64_MIN + 1 /* sleep_ms(INT64_MAX) */};
	for (size_t i = 0; i < 4; i++) {
		urt_task *t = spawn_ok(sleeper, &forever[i]);
		OK(urt_sleep_ms(20)); /* a timer still fires */
		cr_assert_not(urt_task_done(t));
		urt_cancel(t);
		CHECK(join_ok(t), -ECANCELED);
	}
	return 0;
}

Test(regress, sleep_at_the_extremes)
{
	RUN(t_sleep_extremes, NULL);
}

/* ====================================================================== */
/* 2. A cancellation that crosses a grant is kept, not swallowed           */

struct joiner {
	urt_task *target;
	int join_rc, join_res, after;
};

/* A joins B; B ends and wakes A; A is cancelled before it runs. The join
   succeeds (B's end wins) and A's next suspension point is cancelled. */
static int join_then_sleep(void *arg)
{
	struct joiner *j = arg;
	j->join_rc = urt_join(j->target, &j->join_res);
	j->after = urt_sleep_ms(200);
	return 0;
}

static int t_join_cancel(void *arg)
{
	(void)arg;
	struct joiner j = {0};
	struct canceller c;
	urt_task *a = spawn_ok(join_then_sleep, &j);
	j.target = spawn_ok(sleep_20_return_7, NULL);
	urt_task *ct = spawn_canceller(&c, a);
	join_ok(a);
	join_ok(ct);
	cr_assert(c.caught, "the cancel did not land between wake-up and run");
	OK(j.join_rc);
	cr_assert_eq(j.join_res, 7);
	CHECK(j.after, -ECANCELED);
	return 0;
}

Test(regress, cancel_lost_after_join_wakeup)
{
	RUN(t_join_cancel, NULL);
}

/* The same window in urt_wait_any. */
static int wait_any_then_sleep(void *arg)
{
	struct joiner *j = arg;
	j->join_rc = urt_wait_any(&j->target, 1, -1);
	j->after = urt_sleep_ms(200);
	return 0;
}

static int t_wait_any_cancel(void *arg)
{
	(void)arg;
	struct joiner j = {0};
	struct canceller c;
	urt_task *a = spawn_ok(wait_any_then_sleep, &j);
	j.target = spawn_ok(sleep_20_return_7, NULL);
	urt_task *ct = spawn_canceller(&c, a);
	join_ok(a);
	join_ok(ct);
	cr_assert(c.caught);
	CHECK(j.join_rc, 0);
	CHECK(j.after, -ECANCELED);
	cr_assert_eq(join_ok(j.target), 7);
	return 0;
}

Test(regress, cancel_lost_after_wait_any_wakeup)
{
	RUN(t_wait_any_cancel, NULL);
}

/* The same window in urt_future_wait: the value wins over the cancel. */
struct fut_waiter {
	urt_future f;
	int rc, after;
	void *v;
};

static int future_then_sleep(void *arg)
{
	struct fut_waiter *fw = arg;
	fw->rc = urt_future_wait(&fw->f, &fw->v, -1);
	fw->after = urt_sleep_ms(200);
	return 0;
}

static int set_after_20ms(void *arg)
{
	struct fut_waiter *fw = arg;
	OK(urt_sleep_ms(20));
	return urt_future_set(&fw->f, 3, fw);
}

static int t_future_cancel(void *arg)
{
	(void)arg;
	struct fut_waiter fw = {0};
	urt_future_init(&fw.f);
	struct canceller c;
	urt_task *a = spawn_ok(future_then_sleep, &fw);
	urt_task *s = spawn_ok(set_after_20ms, &fw);
	urt_task *ct = spawn_canceller(&c, a);
	join_ok(a);
	join_ok(s);
	join_ok(ct);
	cr_assert(c.caught);
	CHECK(fw.rc, 3);
	cr_assert_eq(fw.v, (void *)&fw);
	CHECK(fw.after, -ECANCELED);
	return 0;
}

Test(regress, cancel_lost_after_future_set)
{
	RUN(t_future_cancel, NULL);
}

/* The same window in urt_group_wait: the group's end wins. */
struct grp {
	urt_group g;
	int rc, after;
};

static int group_then_sleep(void *arg)
{
	struct grp *g = arg;
	g->rc = urt_group_wait(&g->g);
	g->after = urt_sleep_ms(200);
	return 0;
}

static int t_group_cancel(void *arg)
{
	(void)arg;
	struct grp g = {0};
	urt_group_init(&g.g);
	cr_assert_not_null(urt_group_spawn(&g.g, sleep_20_return_7, NULL));
	struct canceller c;
	urt_task *a = spawn_ok(group_then_sleep, &g);
	urt_task *ct = spawn_canceller(&c, a);
	join_ok(a);
	join_ok(ct);
	cr_assert(c.caught);
	OK(g.rc);
	CHECK(g.after, -ECANCELED);
	return 0;
}

Test(regress, cancel_lost_after_group_end)
{
	RUN(t_group_cancel, NULL);
}

/*
 * The clean-up waits: urt_wait_for after its timeout, urt_join_all and
 * urt_group_wait after a deadline, each wait for children that take a
 * while to honour their cancellation. A cancellation of the waiter that
 * arrives during that wait was swallowed.
 */
static int slow_to_die(void *arg)
{
	(void)arg;
	int r = urt_sleep_ms(5000); /* cancelled by the parent's clean-up */
	urt_sleep_ms(30);           /* clean-up of its own */
	return r;
}

enum cleanup { C_WAIT_FOR, C_JOIN_ALL, C_GROUP };

struct cleaner {
	enum cleanup how;
	int rc, after;
	bool in_cleanup;
};

static int wait_with_cleanup(void *arg)
{
	struct cleaner *cl = arg;
	urt_task *c = NULL;
	urt_group g;
	if (cl->how == C_GROUP) {
		urt_group_init(&g);
		cr_assert_not_null(urt_group_spawn(&g, slow_to_die, NULL));
	} else {
		c = spawn_ok(slow_to_die, NULL);
	}
	if (cl->how == C_WAIT_FOR) {
		int res;
		cl->rc = urt_wait_for(c, &res, MS(5));
	} else {
		OK(urt_deadline_push(MS(5)));
		int res;
		cl->rc = cl->how == C_GROUP ? urt_group_wait(&g) : urt_join_all(&c, 1, &res);
		urt_deadline_pop();
	}
	cl->after = urt_sleep_ms(200);
	return 0;
}

/* Cancels the waiter 15 ms in: after its 5 ms timeout, while it waits for
   the child's 30 ms clean-up. */
static int cancel_in_cleanup(void *arg)
{
	urt_task *t = arg;
	OK(urt_sleep_ms(15));
	cr_assert_eq(t->state, URT__WAIT_USER);
	urt_cancel(t);
	return 0;
}

static int t_cleanup_cancel(void *arg)
{
	struct cleaner *cl = arg;
	urt_task *a = spawn_ok(wait_with_cleanup, cl);
	urt_task *k = spawn_ok(cancel_in_cleanup, a);
	join_ok(a);
	join_ok(k);
	CHECK(cl->rc, -ETIMEDOUT);
	CHECK(cl->after, -ECANCELED);
	return 0;
}

Test(regress, cancel_lost_in_wait_for_cleanup)
{
	struct cleaner cl = {.how = C_WAIT_FOR};
	RUN(t_cleanup_cancel, &cl);
}

Test(regress, cancel_lost_in_join_all_cleanup)
{
	struct cleaner cl = {.how = C_JOIN_ALL};
	RUN(t_cleanup_cancel, &cl);
}

Test(regress, cancel_lost_in_group_cleanup)
{
	struct cleaner cl = {.how = C_GROUP};
	RUN(t_cleanup_cancel, &cl);
}

/* Shutdown: main returns while a joiner is READY (woken by the task it
   joined). urt_run's cancel-all landed in the window and was swallowed:
   the joiner's 100 s sleep then held up urt_run for 100 s. */
static int joiner_long_sleep(void *arg)
{
	struct joiner *j = arg;
	j->join_rc = urt_join(j->target, &j->join_res);
	j->after = urt_sleep_ms(100000);
	return 0;
}

static int ends_at_once(void *arg)
{
	(void)arg;
	return 1;
}

static struct joiner shut_j;

static int t_shutdown_swallow(void *arg)
{
	(void)arg;
	urt_task *a = spawn_ok(joiner_long_sleep, &shut_j);
	shut_j.target = spawn_ok(ends_at_once, NULL);
	OK(urt_detach(a));
	urt_yield(); /* A waits, B ends and wakes A, then main returns: A is READY */
	cr_assert_eq(a->state, URT__READY);
	return 0;
}

Test(regress, cancel_all_at_shutdown_swallowed)
{
	memset(&shut_j, 0, sizeof shut_j);
	RUN(t_shutdown_swallow, NULL);
	OK(shut_j.join_rc);
	CHECK(shut_j.after, -ECANCELED);
}

/* ====================================================================== */
/* 3. A close always closes                                                */

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static int t_close_expired_deadline(void *arg)
{
	(void)arg;
	int p[2], sv[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	OK(urt_deadline_push(0));
	OK(urt_close(p[0]));
	OK(urt_sock_close(sv[0]));
	CHECK(urt_nop(), -ETIMEDOUT); /* the deadline still holds */
	urt_deadline_pop();
	cr_assert_not(fd_open(p[0]), "urt_close under an expired deadline leaked the fd");
	cr_assert_not(fd_open(sv[0]), "urt_sock_close under an expired deadline leaked the fd");

	urt_cancel(urt_current());
	OK(urt_close(p[1]));
	cr_assert(urt_cancelled());
	OK(urt_sock_close(sv[1]));
	cr_assert_not(fd_open(p[1]), "urt_close with a pending cancel leaked the fd");
	cr_assert_not(fd_open(sv[1]), "urt_sock_close with a pending cancel leaked the fd");
	CHECK(urt_nop(), -ECANCELED); /* still pending, delivered once */
	OK(urt_nop());
	return 0;
}

Test(regress, close_leaks_fd_when_cancelled_or_expired)
{
	RUN(t_close_expired_deadline, NULL);
}

/* A cancel that arrives while the close is in flight (punted to io-wq, so
   the cancel could take it off the queue before it ran). */
struct closer {
	int fd, rc, after;
};

static int async_closer(void *arg)
{
	struct closer *c = arg;
	urt_io_offload(true);
	c->rc = urt_close(c->fd);
	urt_io_offload(false);
	c->after = urt_nop();
	return 0;
}

static int t_close_cancelled_in_flight(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		int p[2];
		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
		struct closer c = {.fd = p[0]};
		urt_task *t = spawn_ok(async_closer, &c);
		urt_yield(); /* t prepares its close and waits */
		cr_assert_eq(t->state, URT__WAIT_IO);
		urt_cancel(t);
		join_ok(t);
		OK(c.rc);
		CHECK(c.after, -ECANCELED);
		cr_assert_not(fd_open(p[0]), "a cancelled close leaked the fd (round %d)", i);
		close(p[1]);
	}
	return 0;
}

Test(regress, close_cancelled_in_flight_leaks_fd)
{
	SKIP_ON_EPOLL("needs a close in flight in the kernel (IOSQE_ASYNC)");
	RUN(t_close_cancelled_in_flight, NULL);
}

/* ====================================================================== */
/* 4. Freeing a receiver or an acceptor under a waiting task               */

struct rx {
	urt_receiver *r;
	const void *data;
	ssize_t n;
	int after;
};

static int rx_waiter(void *arg)
{
	struct rx *x = arg;
	x->n = urt_receiver_recv(x->r, &x->data);
	x->after = urt_nop();
	return 0;
}

static int t_receiver_free_waiting(void *arg)
{
	unsigned flags = (unsigned)(uintptr_t)arg;
	(void)flags;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	urt_bufring *br;
	OK(urt_bufring_new(4, 4096, &br));
	struct rx x = {0};
	OK(urt_receiver_new(sv[0], br, &x.r));
	urt_task *t = spawn_ok(rx_waiter, &x);
	OK(urt_sleep_ms(5)); /* t waits in urt_receiver_recv */
	cr_assert_not(urt_task_done(t));
	urt_receiver_free(x.r);
	int res;
	OK(urt_wait_for(t, &res, SEC(5))); /* woken, not left hanging */
	CHECK(x.n, -ECANCELED);
	OK(x.after);
	/* the socket is still the caller's and still works */
	cr_assert_eq(write(sv[1], "hi", 2), 2);
	char b[2];
	cr_assert_eq(read(sv[0], b, 2), 2);
	urt_bufring_free(br);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* The sequence: free, then cancel the waiter (it wrote into the
   freed receiver: ASan heap-use-after-free). */
static int t_receiver_free_then_cancel(void *arg)
{
	(void)arg;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	urt_bufring *br;
	OK(urt_bufring_new(4, 4096, &br));
	struct rx x = {0};
	OK(urt_receiver_new(sv[0], br, &x.r));
	urt_task *t = spawn_ok(rx_waiter, &x);
	OK(urt_sleep_ms(5));
	urt_receiver_free(x.r);
	urt_cancel(t);
	join_ok(t);
	CHECK(x.n, -ECANCELED);
	OK(x.after); /* that -ECANCELED delivered the cancellation too: once */
	urt_bufring_free(br);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

Test(regress, receiver_free_while_waiting_use_after_free)
{
	cr_assert_eq(run_flags(0, t_receiver_free_waiting, NULL), 0, "multishot");
	cr_assert_eq(run_flags(URT_OPT_NO_MULTISHOT, t_receiver_free_waiting, NULL), 0,
		     "fallback (a private recv in flight)");
	cr_assert_eq(run_flags(0, t_receiver_free_then_cancel, NULL), 0);
	cr_assert_eq(run_flags(URT_OPT_NO_MULTISHOT, t_receiver_free_then_cancel, NULL), 0);
}

struct ax {
	urt_acceptor *a;
	int rc, after;
};

static int acc_waiter(void *arg)
{
	struct ax *x = arg;
	x->rc = urt_acceptor_accept(x->a);
	x->after = urt_nop();
	return 0;
}

static int t_acceptor_free_waiting(void *arg)
{
	(void)arg;
	int lfd = urt_tcp_listen("127.0.0.1", 0, 16, 0);
	cr_assert_geq(lfd, 0);
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	struct ax x[3];
	urt_task *t[3];
	for (int i = 0; i < 3; i++) {
		x[i] = (struct ax){.a = a};
		t[i] = spawn_ok(acc_waiter, &x[i]);
	}
	OK(urt_sleep_ms(5));
	urt_acceptor_free(a);
	urt_cancel(t[2]); /* cancelling one afterwards must not touch the freed acceptor */
	for (int i = 0; i < 3; i++) {
		int res;
		OK(urt_wait_for(t[i], &res, SEC(5)));
		CHECK(x[i].rc, -ECANCELED);
		OK(x[i].after); /* for t[2], its -ECANCELED was the delivery */
	}
	OK(urt_close(lfd));
	return 0;
}

Test(regress, acceptor_free_while_waiting_use_after_free)
{
	cr_assert_eq(run_flags(0, t_acceptor_free_waiting, NULL), 0, "multishot");
	cr_assert_eq(run_flags(URT_OPT_NO_MULTISHOT, t_acceptor_free_waiting, NULL), 0, "fallback");
}

/* ====================================================================== */
/* 5. Settled by test                                                      */

/*
 * urt__reap re-entered from a multishot handler (as urt__sq_make_room does
 * when the SQ is full and the kernel backed up): every CQE must be handled
 * exactly once. The handler here reaps from inside the first of 8 CQEs;
 * before, the inner reap handled the 7 others and the outer one again.
 */
struct nest {
	struct urt__multi m;
	int calls;
};

static void nest_on_cqe(struct urt__multi *m, int res, unsigned flags)
{
	(void)res;
	(void)flags;
	struct nest *n = urt__container_of(m, struct nest, m);
	if (n->calls++ == 0)
		urt__reap();
}

static int t_reap_nested(void *arg)
{
	(void)arg;
	struct nest n = {.m.on_cqe = nest_on_cqe};
	for (int i = 0; i < 8; i++) {
		struct io_uring_sqe *sqe = urt__sqe_get();
		io_uring_prep_nop(sqe);
		urt__sqe_queue(sqe, (uint64_t)(uintptr_t)&n.m | URT__UD_MULTI);
	}
	OK(urt_nop()); /* submitted with them, reaped in the same pass */
	OK(urt_sleep_ms(1));
	cr_assert_eq(n.calls, 8, "CQEs handled %d times for 8", n.calls);
	cr_assert_eq(urt__L->inflight, 0u);
	return 0;
}

Test(regress, reap_reentered_processes_cqes_twice)
{
	SKIP_ON_EPOLL("re-entrant CQE reaping is io_uring's");
	RUN(t_reap_nested, NULL);
}

/*
 * Without guard pages a stack has a canary word at its low end, inside the
 * range urt__stacks_trim hands back with MADV_FREE. A reclaimed page reads
 * as zeros (MADV_DONTNEED here, to make the reclaim certain): the reused
 * stack aborted with a false "stack overflow".
 */
static int short_sleep(void *arg)
{
	(void)arg;
	return urt_sleep_ms(1);
}

static int t_canary_trim(void *arg)
{
	(void)arg;
	for (int round = 0; round < 3; round++) {
		urt_task *t[16];
		for (int i = 0; i < 16; i++)
			t[i] = spawn_ok(short_sleep, NULL);
		for (int i = 0; i < 16; i++)
			OK(join_ok(t[i]));
		OK(urt_sleep_ms(2)); /* idle: the pool beyond 4 stacks is trimmed */
	}
	return 0;
}

Test(regress, canary_in_trimmed_stack_false_overflow)
{
	urt__stack_test = (struct urt__stack_test){.no_guard = true, .trim_dontneed = true,
						   .pool_hot = 4};
	RUN(t_canary_trim, NULL);
	urt__stack_test = (struct urt__stack_test){0};
}

/* An acceptor waiter handed an accept error (-EMFILE), then cancelled
   before it ran: the error was lost. It is reported, and the cancellation
   stays pending. */
static int t_acceptor_error_cancel(void *arg)
{
	(void)arg;
	int lfd = urt_tcp_listen("127.0.0.1", 0, 16, 0);
	cr_assert_geq(lfd, 0);
	int port = urt_sock_port(lfd);
	urt_acceptor *a;
	OK(urt_acceptor_new(lfd, SOCK_CLOEXEC, &a));
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(c, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	/* no fd left for the accept: the limit sits at the highest fd in use */
	struct rlimit old, rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	int holes[64], nh = 0;
	while (nh < 64) {
		int h = dup(0);
		if (h < 0)
			break;
		if (h > c) {
			close(h);
			break;
		}
		holes[nh++] = h;
	}
	rl = old;
	rl.rlim_cur = (rlim_t)c + 1;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);

	struct ax e = {.a = a};
	struct canceller k;
	urt_task *w = spawn_ok(acc_waiter, &e);
	urt_task *kt = spawn_canceller(&k, w);
	OK(urt_sleep_ms(2)); /* w arms the accept and waits */
	cr_assert_eq(connect(c, (struct sockaddr *)&sa, sizeof sa), 0);
	join_ok(w);
	join_ok(kt);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	for (int i = 0; i < nh; i++)
		close(holes[i]);
	cr_assert(k.caught);
	cr_assert(e.rc == -EMFILE || e.rc == -ENFILE, "got %d", e.rc);
	CHECK(e.after, -ECANCELED);
	close(c);
	urt_acceptor_free(a);
	OK(urt_close(lfd));
	return 0;
}

Test(regress, acceptor_error_lost_when_cancelled)
{
	SKIP_ON_EPOLL("the multishot accept error hand-off is io_uring's");
	RUN(t_acceptor_error_cancel, NULL);
}

/* urt_stream_destroy while another task's read is in flight into the stream's
   buffer: the read went on into freed memory (and took the next bytes the
   peer sent). The read is cancelled and waited for before the free. */
struct sreader {
	urt_stream st;
	ssize_t n;
	char buf[16];
};

static int stream_reader(void *arg)
{
	struct sreader *r = arg;
	r->n = urt_stream_read(&r->st, r->buf, sizeof r->buf);
	return 0;
}

static int t_stream_destroy_reading(void *arg)
{
	(void)arg;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct sreader r = {0};
	OK(urt_stream_init(&r.st, sv[0], 4096, 4096));
	urt_task *t = spawn_ok(stream_reader, &r);
	OK(urt_sleep_ms(5)); /* t's recv into the stream's buffer is in flight */
	urt_stream_destroy(&r.st);
	cr_assert(urt_task_done(t), "urt_stream_destroy returned with the read in flight");
	join_ok(t);
	CHECK(r.n, -ECANCELED);
	/* the bytes sent now stay in the socket */
	cr_assert_eq(write(sv[1], "hi", 2), 2);
	OK(urt_sleep_ms(5));
	char b[2];
	cr_assert_eq(recv(sv[0], b, 2, MSG_DONTWAIT), 2);
	CHECK(urt_stream_read(&r.st, b, 2), -EINVAL); /* freed */
	close(sv[0]);
	close(sv[1]);
	return 0;
}

Test(regress, stream_destroy_while_reading_use_after_free)
{
	RUN(t_stream_destroy_reading, NULL);
}

/* ---------------------------------------------------------------------- */
/* Issue 23 (leak checks): found by the per-test leak check in helpers.h. */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int spawn_one(void *arg)
{
	(void)arg;
	join_ok(spawn_ok(task_return_arg, NULL));
	return 0;
}

/* The stacks' slab code opened a pidfd of the process for process_madvise
   (guard pages of a whole slab at once) and kept it open for good, in a
   static: every program that ran a loop was left with one descriptor more.
   It is the loop's now, closed with its stacks. */
Test(regress, stack_pidfd_outlives_loop)
{
	int before = count_fds();
	RUN(spawn_one, NULL);
	cr_assert_eq(count_fds(), before, "a descriptor outlived the loop");
	RUN(spawn_one, NULL); /* a second loop opens and closes its own */
	cr_assert_eq(count_fds(), before, "a descriptor outlived the second loop");
}

/* urt__stacks_trim walked the whole pool every time the loop went to sleep
   once the pool held more than POOL_HOT stacks, the hot ones and those
   trimmed long ago included: after a peak of connections, a server's loop
   paid 1,000+ pointer chases per sleep (bench/RESULTS.md, TLS). Now a trim
   stops at the first trimmed stack and comes only once a quarter of the
   hot count more is pooled (hot 8 here: past 10). */
static int t_trim_walks_once(void *arg)
{
	(void)arg;
	urt_task *t[32];
	for (int i = 0; i < 32; i++)
		t[i] = spawn_ok(short_sleep, NULL);
	for (int i = 0; i < 32; i++)
		OK(join_ok(t[i]));
	OK(urt_sleep_ms(2)); /* idle: 32 pooled, 24 trimmed */
	uint64_t after_peak = urt__stack_test.trim_steps;
	cr_assert_geq(after_peak, 32, "the peak was trimmed");
	cr_assert_leq(after_peak, 32 * 5 / 2, "walked %llu for 24 trimmed",
		      (unsigned long long)after_peak);
	for (int i = 0; i < 20; i++)
		OK(urt_sleep_ms(1)); /* idle again and again: nothing new to trim */
	cr_assert_eq(urt__stack_test.trim_steps, after_peak);
	/* waves within the hot count and its margin: nothing to do */
	for (int w = 0; w < 5; w++) {
		for (int i = 0; i < 10; i++)
			t[i] = spawn_ok(short_sleep, NULL);
		for (int i = 0; i < 10; i++)
			OK(join_ok(t[i]));
		OK(urt_sleep_ms(2));
	}
	cr_assert_eq(urt__stack_test.trim_steps, after_peak,
		      "a trim walked %llu headers with nothing past the margin",
		      (unsigned long long)(urt__stack_test.trim_steps - after_peak));
	return 0;
}

Test(regress, stacks_trim_walks_only_after_a_new_peak)
{
	urt__stack_test = (struct urt__stack_test){.no_guard = true, .trim_dontneed = true,
						   .pool_hot = 8};
	RUN(t_trim_walks_once, NULL);
	urt__stack_test = (struct urt__stack_test){0};
}
