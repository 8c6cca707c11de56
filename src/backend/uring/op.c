/* SPDX-License-Identifier: MIT */
/*
 * io_uring operations: waiting for one, cancelling one, reaping CQEs.
 *
 * Lifetime rule (the classic io_uring bug, avoided by construction): the op
 * record lives on the waiting task's stack and the task resumes only when
 * every CQE that names the record has been reaped (op->pending == 0). A
 * cancelled or timed-out task therefore still waits for its op's own CQE,
 * so neither the record nor the user's buffer can be reused while the
 * kernel may write to it.
 */
#include <errno.h>

#include "backend/uring/op.h"

/*
 * The SQ ring has fewer than `need` free entries: submit what is queued.
 * If the kernel cannot take more (CQ overflow backlog), reap and retry.
 */
void urt__sq_make_room(struct urt_loop *L, unsigned need)
{
	while (io_uring_sq_space_left(URT__RING(L)) < need) {
		L->stats.enters++;
		int r = io_uring_submit(URT__RING(L));
		if (r == -EBUSY || r == -EAGAIN) {
			L->stats.enters++;
			io_uring_get_events(URT__RING(L));
			urt__reap();
		}
	}
}

/*
 * The deadline of op, which t (the task with a deadline scope) is about to
 * wait on: a linked IORING_OP_LINK_TIMEOUT behind sqe, or, under virtual
 * time, t's timer. Out of line: the op path without a deadline stays as
 * short as it was (callgrind bench_nop: 6 instructions an op when this sat
 * inside urt__op_wait with its virtual-time branch).
 */
static __attribute__((noinline)) void op_deadline(struct urt_loop *L, urt_task *t,
						  struct urt__op *op, struct io_uring_sqe *sqe)
{
	if (L->vtime) {
		/* Virtual time: the kernel's timeout would run on the real
		   clock. The deadline is the task's timer instead, as on epoll:
		   when the clock reaches it, task_timer_fire (core/task.c) marks
		   the op timed out and cancels it, and the task still waits for
		   the op's own CQE. (A deadline already passed -- urt_poll's one
		   look -- fires at the turn's timer expiry, after the op has had
		   its chance to complete at submission.) */
		if (urt__timer_arm(&t->timer, t->deadline) == 0)
			return;
		/* no memory for the heap: the kernel's timeout, in real time */
	}
	/* Space for this SQE was reserved by urt__op_start. The timespec is
	   read when the SQE is submitted, and op outlives that. */
	sqe->flags |= IOSQE_IO_LINK;
	op->ts[0] = t->deadline / URT_NS_PER_SEC;
	op->ts[1] = t->deadline % URT_NS_PER_SEC;
	struct io_uring_sqe *lt = io_uring_get_sqe(URT__RING(L));
	io_uring_prep_link_timeout(lt, URT__OP_TS(op), IORING_TIMEOUT_ABS);
	io_uring_sqe_set_data64(lt, (uint64_t)(uintptr_t)op | URT__UD_LINK_TIMEOUT);
	op->pending = 2;
	L->inflight++;
	L->stats.sqes++;
	/* Backstop: an op blocked inside an io-wq worker (a FIFO open, say)
	   may never see its link timeout fire. If the op is still pending a
	   little after the deadline, the timer heap cancels it
	   (task_timer_fire in core/task.c). */
	int64_t backstop = urt__time_add(t->deadline, URT__LINK_TIMEOUT_GRACE);
	if (backstop != URT__NO_DEADLINE) /* else never reached: no timer */
		urt__timer_arm(&t->timer, backstop);
}

int urt__op_wait(struct urt__op *op, struct io_uring_sqe *sqe)
{
	struct urt_loop *L = urt__L;
	urt_task *t = op->task;
	io_uring_sqe_set_data(sqe, op);
	sqe->flags |= t->op_flags;
	L->inflight++;
	L->stats.sqes++;
	if (unlikely(t->deadline != URT__NO_DEADLINE) && !op->nocancel)
		op_deadline(L, t, op, sqe);
	t->state = URT__WAIT_IO;
	t->wait_op = op;
	urt__suspend();
	t->wait_op = NULL;
	urt__task_timer_stop(t);

	return urt__op_result(op, t);
}

/*
 * t waits on an op: ask the kernel to cancel it. t still waits for the op's
 * own CQE (res -ECANCELED, or the real result if the op won the race).
 */
void urt__uring_op_cancel(urt_task *t)
{
	urt__cancel_ud((uint64_t)(uintptr_t)t->wait_op);
}

/* A free SQE for a request no task waits on (see urt__sqe_queue). */
struct io_uring_sqe *urt__sqe_get(void)
{
	struct urt_loop *L = urt__L;
	if (io_uring_sq_space_left(URT__RING(L)) < 1)
		urt__sq_make_room(L, 1);
	return io_uring_get_sqe(URT__RING(L));
}

/* Count a prepared SQE from urt__sqe_get as in flight, its CQEs going to
   user_data ud (URT__UD_IGNORE, or a multishot record | URT__UD_MULTI). */
void urt__sqe_queue(struct io_uring_sqe *sqe, uint64_t ud)
{
	struct urt_loop *L = urt__L;
	io_uring_sqe_set_data64(sqe, ud);
	L->inflight++;
	L->stats.sqes++;
}

void urt__cancel_ud(uint64_t ud)
{
	struct io_uring_sqe *sqe = urt__sqe_get();
	io_uring_prep_cancel64(sqe, ud, 0);
	urt__sqe_queue(sqe, URT__UD_IGNORE);
}

/*
 * Reap every CQE in the ring, readying the tasks whose ops are complete.
 *
 * Re-entrant: a multishot handler may need an SQE, and with the SQ ring
 * full urt__sq_make_room submits and, if the kernel is backed up, reaps
 * again from inside this loop. So the CQ head is published before each
 * handler runs and read back after it: the inner reap starts past the CQEs
 * handled so far, and this one goes on past those the inner one took.
 * Plain op CQEs, the hot path, only ready a task and are published in a
 * batch.
 */
void urt__reap(void)
{
	struct urt_loop *L = urt__L;
	struct io_uring_cq *cq = &URT__RING(L)->cq;
	const unsigned mask = cq->ring_mask;
	unsigned head = *cq->khead; /* ours: only this thread moves it */
	unsigned tail = io_uring_smp_load_acquire(cq->ktail);
	while (head != tail) {
		struct io_uring_cqe *cqe = &cq->cqes[head & mask];
		uint64_t ud = cqe->user_data;
		int res = cqe->res;
		head++;
		L->stats.cqes++;
		if (likely((ud & 3) == 0 && ud != URT__UD_IGNORE)) {
			/* the common case: an op's own CQE. Its record sits on a
			   task stack that has gone cold by now (a cache miss per
			   CQE with 1000 connections): fetch the next one early (a
			   slot past the tail holds a stale value; prefetching it is
			   harmless). */
			__builtin_prefetch((void *)(uintptr_t)cq->cqes[head & mask].user_data, 1);
			struct urt__op *op = (struct urt__op *)(uintptr_t)ud;
			L->inflight--;
			op->res = res;
			if (--op->pending == 0)
				urt__ready(op->task);
		} else if ((ud & 3) == URT__UD_LINK_TIMEOUT) {
			struct urt__op *op = (struct urt__op *)(uintptr_t)(ud & ~(uint64_t)3);
			L->inflight--;
			/* -ECANCELED: the op completed first and disarmed its
			   timeout. Anything else means the timer fired, and res
			   is how its cancel of the op went: -ETIME (cancelled),
			   or -EALREADY / -ENOENT when the op was running in an
			   io-wq worker or just leaving the cancellable state
			   (a send blocked on a full socket: the worker is
			   interrupted and the op ends -EINTR). The deadline ended
			   it either way; an op that won keeps its own result
			   (urt__op_result). */
			if (res != -ECANCELED)
				op->timed_out = 1;
			if (--op->pending == 0)
				urt__ready(op->task);
		} else if (ud & URT__UD_MULTI) {
			/* liburing's own wait timeout (kernels without EXT_ARG)
			   has user_data -1: all bits set, so it lands in this
			   branch (its URT__UD_MULTI bit is set) and is skipped
			   here before being taken for a multishot record */
			if (ud == LIBURING_UDATA_TIMEOUT)
				continue;
			struct urt__multi *m = (struct urt__multi *)(uintptr_t)(ud & ~(uint64_t)3);
			unsigned flags = cqe->flags;
			/* the request's last CQE; background ones were never counted */
			if (!(flags & IORING_CQE_F_MORE) && (ud & 3) == URT__UD_MULTI)
				L->inflight--;
			/* release: the kernel may reuse the slots once it sees them */
			io_uring_smp_store_release(cq->khead, head);
			m->on_cqe(m, res, flags); /* may free m; may reap (see above) */
			head = *cq->khead;
			tail = io_uring_smp_load_acquire(cq->ktail);
			continue;
		} else {
			L->inflight--; /* URT__UD_IGNORE: a cancel request's CQE */
		}
		if (head == tail) /* more may have come in meanwhile */
			tail = io_uring_smp_load_acquire(cq->ktail);
	}
	io_uring_smp_store_release(cq->khead, head);
}

/* The background or counted read of an eventfd (struct urt__backend: watch). */
void urt__uring_watch(struct urt__multi *m, int fd, void *buf, unsigned len, bool background)
{
	struct io_uring_sqe *sqe = urt__sqe_get();
	io_uring_prep_read(sqe, fd, buf, len, 0);
	if (background) {
		io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)m | URT__UD_BACKGROUND);
		urt__L->stats.sqes++;
	} else {
		urt__sqe_queue(sqe, (uint64_t)(uintptr_t)m | URT__UD_MULTI);
	}
}
