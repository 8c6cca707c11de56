/* SPDX-License-Identifier: MIT */
/*
 * urt_poll: the readiness bridge. A task waits for fd to become readable
 * or writable (io_uring: IORING_OP_POLL_ADD, one-shot; epoll: the fd's
 * readiness) the way it waits for any other op, so a task can drive a library built on non-blocking fds
 * and poll(2) (libpq, OpenSSL, libcurl, c-ares): call the library, and on
 * "would block" urt_poll the fd it names.
 */
#include <poll.h>

#include "io/req.h"

#define POLL_EVENTS (POLLIN | POLLPRI | POLLOUT | POLLRDHUP | POLLERR | POLLHUP)

int urt_poll(int fd, unsigned events, int64_t timeout_ns)
{
	if (fd < 0 && !URT_IS_FIXED_FD(fd))
		return -EBADF;
	if (!events || (events & ~(unsigned)POLL_EVENTS))
		return -EINVAL;
	bool scoped = timeout_ns >= 0;
	if (scoped) {
		int r = urt_deadline_push(timeout_ns);
		if (r < 0)
			return r; /* -EPERM outside a task, -ENOSPC */
	}
	int r = urt__io(&(struct urt__req){.op = URT__R_POLL, .fd = fd, .flags = events});
	if (scoped)
		urt_deadline_pop();
	return r;
}
