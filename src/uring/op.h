/* SPDX-License-Identifier: MIT */
/*
 * The path every io_uring operation takes: urt__op_start (checks, SQE),
 * the caller's io_uring_prep_*, then urt__op_wait (submit lazily, suspend,
 * return the CQE's result). Example:
 *
 *	struct urt__op op;
 *	struct io_uring_sqe *sqe = urt__op_start(&op);
 *	if (!sqe)
 *		return op.res;
 *	io_uring_prep_nop(sqe);
 *	return urt__op_wait(&op, sqe);
 *
 * The SQE is not submitted here: the loop submits every SQE prepared in a
 * turn with one io_uring_enter.
 */
#ifndef URT__OP_H
#define URT__OP_H

#include <errno.h>
#include "core/core.h"

void urt__sq_make_room(struct urt_loop *L, unsigned need);
int urt__op_wait(struct urt__op *op, struct io_uring_sqe *sqe);
/* acceptor.c: the close hook (URT__CLOSE_OBJECTS) of every live multishot
   object; registered by acceptor.c and bufring.c when they make one. */
void urt__multis_free_all(struct urt_loop *L);

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

/* An SQE slot for op (need: free slots it will take), for urt__op_start*. */
static inline struct io_uring_sqe *urt__op_sqe(struct urt_loop *L, urt_task *t,
					       struct urt__op *op, unsigned need)
{
	struct io_uring_sq *sq = &L->ring.sq;
	/* io_uring_get_sqe re-checks space with an acquire load of khead that
	   we have just done; take the slot directly. SQE128 is never set. */
	if (unlikely(sq->ring_entries - (sq->sqe_tail - io_uring_smp_load_acquire(sq->khead)) < need))
		urt__sq_make_room(L, need);
	op->task = t;
	op->pending = 1;
	op->timed_out = 0;
	return &sq->sqes[sq->sqe_tail++ & sq->ring_mask];
}

/*
 * Begin an operation for the calling task. Returns an SQE to prepare, or
 * NULL with op->res set: -EPERM outside a task, -ECANCELED when a
 * cancellation is pending, -ETIMEDOUT when the deadline scope has expired.
 * When it returns an SQE, the caller must prep it and call urt__op_wait.
 */
static inline struct io_uring_sqe *urt__op_start(struct urt__op *op)
{
	struct urt_loop *L = urt__L;
	urt_task *t = L ? L->current : NULL;
	if (unlikely(!t)) {
		op->res = -EPERM;
		return NULL;
	}
	if (unlikely(urt__take_cancel(t))) {
		op->res = -ECANCELED;
		return NULL;
	}
	unsigned need = 1;
	if (unlikely(t->deadline != URT__NO_DEADLINE)) {
		if (urt__now() >= t->deadline) {
			op->res = -ETIMEDOUT;
			return NULL;
		}
		need = 2; /* the op and its IORING_OP_LINK_TIMEOUT */
	}
	op->nocancel = 0;
	return urt__op_sqe(L, t, op, need);
}

/*
 * Begin an operation that must run to completion whatever happens to the
 * calling task (a close: abandoning it would leak the fd). It gets no
 * linked timeout and is never cancelled; a cancellation or an expired
 * deadline stays pending for the next suspension point. NULL (op->res =
 * -EPERM) only outside a task.
 */
static inline struct io_uring_sqe *urt__op_start_nocancel(struct urt__op *op)
{
	struct urt_loop *L = urt__L;
	urt_task *t = L ? L->current : NULL;
	if (!t) {
		op->res = -EPERM;
		return NULL;
	}
	op->nocancel = 1;
	return urt__op_sqe(L, t, op, 1);
}

/* io_uring takes a 32-bit length; larger requests become short counts. */
static inline unsigned urt__clamp_len(size_t n)
{
	return n > INT32_MAX ? INT32_MAX : (unsigned)n;
}

/* The common head of an op wrapper: declares op and sqe, and RETURNS from
   the enclosing function with op.res when no SQE is to be prepared (-EPERM,
   -ECANCELED, -ETIMEDOUT). The name says so because a hidden return is easy
   to miss when reading a wrapper; it stays a macro rather than four explicit
   lines in each of the ~25 wrappers so that each one still reads as "start,
   prep, wait" (README: the file API is the same four lines per call). */
#define OP_BEGIN_OR_RETURN                              \
	struct urt__op op;                              \
	struct io_uring_sqe *sqe = urt__op_start(&op);  \
	if (!sqe)                                       \
		return op.res

#endif