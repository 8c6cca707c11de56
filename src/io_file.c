/* SPDX-License-Identifier: MIT */
/* File and pipe I/O: thin wrappers that prep an SQE and wait for its CQE. */
#include <limits.h>

#include "op.h"

/* io_uring takes a 32-bit length; larger requests become short counts. */
static unsigned clamp_len(size_t n)
{
	return n > INT_MAX ? INT_MAX : (unsigned)n;
}

ssize_t urt_read(int fd, void *buf, size_t n, int64_t off)
{
	struct urt__op op;
	struct io_uring_sqe *sqe = urt__op_start(&op);
	if (!sqe)
		return op.res;
	io_uring_prep_read(sqe, fd, buf, clamp_len(n), (uint64_t)off);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_write(int fd, const void *buf, size_t n, int64_t off)
{
	struct urt__op op;
	struct io_uring_sqe *sqe = urt__op_start(&op);
	if (!sqe)
		return op.res;
	io_uring_prep_write(sqe, fd, buf, clamp_len(n), (uint64_t)off);
	return urt__op_wait(&op, sqe);
}
