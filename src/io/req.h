/* SPDX-License-Identifier: MIT */
/*
 * urt__io: run one operation (a struct urt__req, core/backend.h) on the
 * loop's backend and return its result. The API layer's wrappers are one
 * call each:
 *
 *	return urt__io(&(struct urt__req){.op = URT__R_READ, .fd = fd, ...});
 *
 * The op entry is one of the two hot paths that skip the backend's table
 * (core/backend.h): on io_uring (L->be_fast) the request becomes an SQE
 * inline (the switch folds for a constant op); elsewhere it goes through
 * the table (epoll: backend/epoll/io.c). Outside a task: -EPERM.
 */
#ifndef URT__IO_REQ_H
#define URT__IO_REQ_H

#include "core/core.h"
#include "backend/uring/op.h"

static inline int urt__io_ex(struct urt__req *r, bool nocancel)
{
	struct urt_loop *L = urt__L;
	if (unlikely(!L || !L->current))
		return -EPERM;
	if (likely(L->be_fast))
		return urt__uring_io(r, nocancel);
	if (!nocancel && (r->op == URT__R_RECV || r->op == URT__R_SEND ||
			  r->op == URT__R_RECVMSG || r->op == URT__R_SENDMSG))
		return L->be->sock(r->op, r->fd, r->addr, r->len, r->flags); /* folds */
	/* field by field: the request literal then never has to exist in
	   memory on the io_uring path (by value or by pointer it would be
	   zeroed there before the branch) */
	return L->be->io(r->op, r->fd, r->fd2, r->addr, r->addr2, r->off, r->off2, r->len, r->flags,
			 r->mode, r->buf_index, nocancel);
}

static inline int urt__io(struct urt__req *r)
{
	return urt__io_ex(r, false);
}

/* io_uring takes a 32-bit length; larger requests become short counts. */
static inline unsigned urt__clamp_len(size_t n)
{
	return n > INT32_MAX ? INT32_MAX : (unsigned)n;
}

/*
 * The loop of urt_write_all and urt_send_all: step(fd, p, len, at, flags)
 * until all n bytes are put, at = off + what is put (or -1: the file
 * position). A step that puts 0 without an error becomes -EIO: no
 * progress, do not spin. Returns n, or the error (*done: what was put).
 */
static inline ssize_t urt__put_all(ssize_t (*step)(int fd, const char *p, size_t len, int64_t at,
						  int flags),
				   int fd, const char *buf, size_t n, int64_t off, int flags,
				   size_t *done)
{
	size_t put = 0;
	ssize_t r = 0;
	while (put < n) {
		r = step(fd, buf + put, n - put, off < 0 ? -1 : off + (int64_t)put, flags);
		if (r == 0)
			r = -EIO;
		if (r < 0)
			break;
		put += (size_t)r;
	}
	if (done)
		*done = put;
	return r < 0 ? r : (ssize_t)put;
}

#endif
