/* SPDX-License-Identifier: MIT */
/*
 * urt_signal_wait: a task waits for a signal the way it waits for I/O.
 *
 * Criterion runs each test in its own forked process, so a signal sent
 * with kill(getpid()) goes to that test process only, and the signal mask
 * a test leaves behind dies with it. urt_signal_wait blocks its set before
 * it suspends, so a sender task that runs after the waiter has called it
 * needs nothing else; tests where the signal may come before any wait
 * (and SIGTERM, whose default action would kill the test process) block
 * the set themselves first, as the header tells applications to do.
 */
#include "helpers.h"

#include <pthread.h>
#include <unistd.h>

TestSuite(signal, .timeout = 60);

static sigset_t set_of(int a, int b)
{
	sigset_t s;
	sigemptyset(&s);
	if (a)
		sigaddset(&s, a);
	if (b)
		sigaddset(&s, b);
	return s;
}

static void block(int sig)
{
	sigset_t s = set_of(sig, 0);
	cr_assert_eq(pthread_sigmask(SIG_BLOCK, &s, NULL), 0);
}

static bool is_pending(int sig)
{
	sigset_t p;
	sigpending(&p);
	return sigismember(&p, sig) == 1;
}

/* ---------------------------------------------------------------------- */

static int waited_sig = 1;
static bool sent_before_wait_returned;

/* Sleep 10 ms (the waiter is suspended in its wait by then), then send. */
static int sender(void *arg)
{
	int sig = (int)(intptr_t)arg;
	OK(urt_sleep_ms(10));
	cr_assert_eq(kill(getpid(), sig), 0);
	sent_before_wait_returned = waited_sig == 1;
	return 0;
}

static int waiter(void *arg)
{
	sigset_t *s = arg;
	waited_sig = urt_signal_wait(s, SEC(20));
	return 0;
}

static int main_wait_for(void *arg)
{
	int sig = (int)(intptr_t)arg;
	sigset_t s = set_of(sig, 0);
	urt_task *w = spawn_ok(waiter, &s);   /* runs first: blocks sig, suspends */
	urt_task *k = spawn_ok(sender, arg);
	cr_assert_eq(join_ok(k), 0);
	cr_assert_eq(join_ok(w), 0);
	cr_assert(sent_before_wait_returned, "the wait returned before the signal was sent");
	cr_assert_eq(waited_sig, sig);
	cr_assert_not(is_pending(sig), "the wait left the signal pending");
	return 0;
}

Test(signal, sigusr1_from_kill)
{
	RUN(main_wait_for, (void *)(intptr_t)SIGUSR1);
}

/* SIGTERM: blocked here first, so that the test process is not killed by
   SIGTERM's default action if the wait were not armed yet (the header's
   advice for signals that may arrive before the first wait). */
Test(signal, sigterm_from_kill)
{
	block(SIGTERM);
	RUN(main_wait_for, (void *)(intptr_t)SIGTERM);
}

/* A set of two: the one sent is the one returned. */
static int main_two(void *arg)
{
	(void)arg;
	sigset_t s = set_of(SIGUSR1, SIGUSR2);
	urt_task *w = spawn_ok(waiter, &s);
	urt_task *k = spawn_ok(sender, (void *)(intptr_t)SIGUSR2);
	cr_assert_eq(join_ok(k), 0);
	cr_assert_eq(join_ok(w), 0);
	cr_assert_eq(waited_sig, SIGUSR2);
	return 0;
}

Test(signal, set_of_two_returns_the_one_sent)
{
	RUN(main_two, NULL);
}

/* ---------------------------------------------------------------------- */
/* Signals sent while nobody waits stay pending for the next wait. */

static int main_before_wait(void *arg)
{
	(void)arg;
	sigset_t s = set_of(SIGUSR2, 0);
	cr_assert_eq(kill(getpid(), SIGUSR2), 0); /* blocked by the test: pending */
	cr_assert(is_pending(SIGUSR2));
	cr_assert_eq(urt_signal_wait(&s, SEC(20)), SIGUSR2);
	cr_assert_not(is_pending(SIGUSR2));
	return 0;
}

Test(signal, sent_before_wait_is_delivered)
{
	block(SIGUSR2);
	RUN(main_before_wait, NULL);
}

/* The wait blocks its set for good: after a first wait (which times out),
   a signal sent while no task waits does not kill the process and is
   returned by the next wait. */
static int main_between_waits(void *arg)
{
	(void)arg;
	sigset_t s = set_of(SIGUSR1, 0);
	CHECK(urt_signal_wait(&s, MS(5)), -ETIMEDOUT);
	cr_assert_eq(kill(getpid(), SIGUSR1), 0); /* default action: terminate */
	OK(urt_sleep_ms(5));
	cr_assert(is_pending(SIGUSR1));
	cr_assert_eq(urt_signal_wait(&s, SEC(20)), SIGUSR1);
	return 0;
}

Test(signal, sent_between_waits_stays_pending)
{
	RUN(main_between_waits, NULL);
}

/* Two pending signals: two waits take one each. */
static int main_two_pending(void *arg)
{
	(void)arg;
	sigset_t s = set_of(SIGUSR1, SIGUSR2);
	cr_assert_eq(kill(getpid(), SIGUSR1), 0);
	cr_assert_eq(kill(getpid(), SIGUSR2), 0);
	int a = urt_signal_wait(&s, SEC(20));
	int b = urt_signal_wait(&s, SEC(20));
	cr_assert((a == SIGUSR1 && b == SIGUSR2) || (a == SIGUSR2 && b == SIGUSR1),
		  "got %d and %d", a, b);
	CHECK(urt_signal_wait(&s, MS(5)), -ETIMEDOUT);
	return 0;
}

Test(signal, two_pending_two_waits)
{
	block(SIGUSR1);
	block(SIGUSR2);
	RUN(main_two_pending, NULL);
}

/* ---------------------------------------------------------------------- */
/* Timeouts, cancellation, deadlines, errors */

static int main_timeout(void *arg)
{
	(void)arg;
	sigset_t s = set_of(SIGUSR1, 0);
	int64_t t0 = urt_now_ns();
	CHECK(urt_signal_wait(&s, MS(20)), -ETIMEDOUT);
	cr_assert_geq(urt_now_ns() - t0, MS(20));
	/* an enclosing deadline scope applies too */
	OK(urt_deadline_push(MS(10)));
	CHECK(urt_signal_wait(&s, URT_FOREVER), -ETIMEDOUT);
	urt_deadline_pop();
	/* and after all that the signal is still waitable */
	urt_task *k = spawn_ok(sender, (void *)(intptr_t)SIGUSR1);
	cr_assert_eq(urt_signal_wait(&s, SEC(20)), SIGUSR1);
	cr_assert_eq(join_ok(k), 0);
	return 0;
}

Test(signal, timeout_etimedout)
{
	RUN(main_timeout, NULL);
}

/* timeout 0 is a poll: a signal already pending is returned (as
   urt_future_wait(f, 0) returns a set future's result). */
static int main_poll(void *arg)
{
	(void)arg;
	sigset_t s = set_of(SIGUSR1, 0);
	CHECK(urt_signal_wait(&s, 0), -ETIMEDOUT); /* nothing pending */
	cr_assert_eq(kill(getpid(), SIGUSR1), 0);
	cr_assert_eq(urt_signal_wait(&s, 0), SIGUSR1);
	return 0;
}

Test(signal, timeout_zero_polls_pending)
{
	block(SIGUSR1);
	RUN(main_poll, NULL);
}

static int main_cancel(void *arg)
{
	(void)arg;
	sigset_t s = set_of(SIGUSR1, 0);
	urt_task *w = spawn_ok(waiter, &s);
	OK(urt_sleep_ms(5));
	cr_assert_eq(waited_sig, 1);
	urt_cancel(w);
	cr_assert_eq(join_ok(w), 0);
	cr_assert_eq(waited_sig, -ECANCELED);
	/* nothing was consumed: a signal sent now goes to the next wait */
	cr_assert_eq(kill(getpid(), SIGUSR1), 0);
	cr_assert_eq(urt_signal_wait(&s, SEC(20)), SIGUSR1);
	return 0;
}

Test(signal, cancel_ecanceled)
{
	RUN(main_cancel, NULL);
}

static int main_einval(void *arg)
{
	(void)arg;
	CHECK(urt_signal_wait(NULL, MS(1)), -EINVAL);
	CHECK(urt_signal_wait(NULL, URT_FOREVER), -EINVAL);
	return 0;
}

Test(signal, null_set_einval)
{
	RUN(main_einval, NULL);
	CHECK(urt_signal_wait(NULL, URT_FOREVER), -EINVAL);
}

Test(signal, eperm_outside_task)
{
	sigset_t s = set_of(SIGUSR1, 0);
	CHECK(urt_signal_wait(&s, MS(1)), -EPERM);
	CHECK(urt_signal_wait(&s, URT_FOREVER), -EPERM);
}

/* The loop runs other tasks while one waits for a signal. */
static int counter_task(void *arg)
{
	int *n = arg;
	for (int i = 0; i < 20; i++) {
		OK(urt_nop());
		OK(urt_sleep_ms(1));
		++*n;
	}
	return kill(getpid(), SIGUSR1);
}

static int main_loop_runs(void *arg)
{
	(void)arg;
	sigset_t s = set_of(SIGUSR1, 0);
	int n = 0;
	urt_task *c = spawn_ok(counter_task, &n);
	cr_assert_eq(urt_signal_wait(&s, SEC(20)), SIGUSR1);
	cr_assert_eq(n, 20);
	cr_assert_eq(join_ok(c), 0);
	return 0;
}

Test(signal, other_tasks_run_meanwhile)
{
	RUN(main_loop_runs, NULL);
}
