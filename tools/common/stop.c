/* SPDX-License-Identifier: MIT */
/*
 * Stopping servers. SIGINT/SIGTERM arrive once per process, so they are
 * blocked in every thread (before any is created, so all inherit the mask)
 * and read by one task on loop 0 (urt_signal_wait). It then makes one
 * eventfd readable, and every loop's main task, which waits on that eventfd
 * with urt_poll, starts its drain. Why an eventfd rather than
 * urt_loop_submit into every loop: it is one fd for all loops, needs no
 * loop handles passed between threads (so no start-up hand-shake), and it
 * stays readable, so a loop that reaches its wait late (or a stop that
 * comes before a loop is up) is never missed. Any loop that ends writes it
 * too, so a loop that fails takes the others down with it instead of
 * leaving a half-working server.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tool_loops.h"

/* A plain write: an eventfd write never blocks short of 2^64 - 1 stops. */
void tool_stop_all(const struct tool_loops *tl)
{
	if (tl->stopfd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(tl->stopfd, &one, sizeof one);
		(void)w; /* cannot fail on a valid eventfd */
	}
}

/* Loop 0's signal task: the stop signals arrive once per process. */
static int signal_task(void *arg)
{
	sigset_t set = tool_stop_signals();
	int r;
	/* a failed wait (-EMFILE, -ENOMEM making its signalfd) is tried again:
	   a server whose signal task ended could never be stopped */
	while ((r = urt_signal_wait(&set, -1)) < 0 && r != -ECANCELED)
		urt_sleep_ms(10);
	if (r > 0)
		tool_stop_all(arg);
	return 0;
}

/* Loop 0 also reads the signals (a task of its own, so that it too can be
   woken by another loop's end). */
int tool_wait_stop(const struct tool_loops *tl, unsigned index)
{
	urt_task *sig = NULL;
	/* stack_now: a signal task that could not start would leave the
	   server deaf to SIGTERM; this way its failure shows here, and a
	   passing shortage (ENOMEM, EAGAIN) is waited out for a second, as a
	   failed signal wait is, rather than stopping a serving server */
	struct urt_spawn_attr sa = {.stack_now = true};
	for (int tries = 0; index == 0 && !(sig = urt_spawn_attr(&sa, signal_task, (void *)tl));
	     tries++) {
		int e = errno;
		if (tries == 100 || (e != ENOMEM && e != EAGAIN))
			return -e;
		urt_sleep_ms(10);
	}
	int r;
	while ((r = urt_poll(tl->stopfd, POLLIN, -1)) == -EINTR)
		;
	if (sig) {
		urt_cancel(sig);
		urt_join(sig, NULL);
	}
	return r < 0 && r != -ECANCELED ? r : 0;
}

/* The stop signals are blocked in the main thread before any other
   exists, so every thread inherits the mask and a signal stays pending
   until loop 0's urt_signal_wait takes it (also one sent the moment the
   ready line is out). */
int tool_servers_prepare(struct tool_loops *tl)
{
	tool_raise_nofile();
	sigset_t set = tool_stop_signals();
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	tl->stopfd = eventfd(0, EFD_CLOEXEC);
	if (tl->stopfd < 0) {
		fprintf(stderr, "%s: eventfd: %s\n", tl->name, strerror(errno));
		return -1;
	}
	return 0;
}
