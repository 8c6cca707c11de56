/* SPDX-License-Identifier: MIT */
/*
 * urt_signal_wait: a task waits for a signal the way it waits for I/O, by
 * reading a signalfd through the ring. No handler runs and nothing is
 * async-signal-unsafe: the signal stays pending (blocked) until the read
 * takes it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/core.h"

int urt_signal_wait(const sigset_t *set, int64_t timeout_ns)
{
	if (!set)
		return -EINVAL;
	int r = urt__op_check();
	if (r)
		return r;
	/* Blocked for good: a signal that arrives between two waits must stay
	   pending for the next one instead of taking its default action. */
	r = pthread_sigmask(SIG_BLOCK, set, NULL);
	if (r)
		return -r;
	int fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct signalfd_siginfo si;
	/* one pending already? (a zero timeout is a poll, so look first) */
	ssize_t n = read(fd, &si, sizeof si);
	if (n == sizeof si) {
		close(fd);
		return (int)si.ssi_signo;
	}
	if (timeout_ns >= 0 && (r = urt_deadline_push(timeout_ns)) < 0) {
		close(fd);
		return r;
	}
	n = urt_read(fd, &si, sizeof si, -1);
	if (timeout_ns >= 0)
		urt_deadline_pop();
	close(fd);
	if (n < 0)
		return (int)n;
	if (n != sizeof si)
		return -EIO;
	return (int)si.ssi_signo;
}
