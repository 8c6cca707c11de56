/* SPDX-License-Identifier: MIT */
/*
 * urt_poll: the readiness bridge. A task waits for fd to become readable
 * or writable through IORING_OP_POLL_ADD (one-shot), the way it waits for
 * any other op, so a task can drive a library built on non-blocking fds
 * and poll(2) (libpq, OpenSSL, libcurl, c-ares): call the library, and on
 * "would block" urt_poll the fd it names.
 */
#include <poll.h>

#include "uring/op.h"

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
	struct urt__op op;
	struct io_uring_sqe *sqe = urt__op_start(&op);
	int r;
	if (!sqe) {
		r = op.res;
	} else {
		io_uring_prep_poll_add(sqe, fd, events);
		if (URT_IS_FIXED_FD(fd)) {
			sqe->fd = fd - URT_FIXED_FD(0);
			sqe->flags |= IOSQE_FIXED_FILE;
		}
		r = urt__op_wait(&op, sqe);
	}
	if (scoped)
		urt_deadline_pop();
	return r;
}
