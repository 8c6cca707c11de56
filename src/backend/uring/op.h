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
#include <liburing.h>

#include "core/core.h"

/* the loop's struct io_uring (core.h keeps the room for it) */
#define URT__RING(L) ((struct io_uring *)(void *)(L)->be_store)
_Static_assert(sizeof(struct io_uring) <= URT__BE_BYTES, "URT__BE_BYTES too small");

/* user_data tags (op records are 8-byte aligned, so the low bits are free) */
#define URT__UD_IGNORE 0u        /* a CQE nobody waits for (cancel requests) */
#define URT__UD_LINK_TIMEOUT 1u  /* (op | 1): the linked timeout of op */
#define URT__UD_MULTI 2u         /* (multi | 2): a CQE of a multishot request */
#define URT__UD_BACKGROUND 3u    /* (multi | 3): the same, but not counted in inflight
				   (the remote queue's doorbell: no task waits on it) */

/* struct urt__multi's flags are the CQE's own */
_Static_assert(URT__MORE == IORING_CQE_F_MORE, "URT__MORE");
_Static_assert(URT__BUF == IORING_CQE_F_BUFFER && URT__BUF_SHIFT == IORING_CQE_BUFFER_SHIFT,
	       "URT__BUF");
/* the op record's timeout room holds a __kernel_timespec */
_Static_assert(sizeof(((struct urt__op *)0)->ts) == sizeof(struct __kernel_timespec), "op ts");
#define URT__OP_TS(op) ((struct __kernel_timespec *)(void *)(op)->ts)

void urt__sq_make_room(struct urt_loop *L, unsigned need);
void urt__reap(void);
struct io_uring_sqe *urt__sqe_get(void);
void urt__sqe_queue(struct io_uring_sqe *sqe, uint64_t ud);
/* Submit a cancel for every request whose user_data is ud (CQE ignored). */
void urt__cancel_ud(uint64_t ud);
int urt__op_wait(struct urt__op *op, struct io_uring_sqe *sqe);

/* the backend's table (ring.c) and the calls of it defined elsewhere */
extern const struct urt__backend urt__backend_uring;
void urt__uring_op_cancel(urt_task *t);
void urt__uring_watch(struct urt__multi *m, int fd, void *buf, unsigned len, bool background);
int urt__uring_cancel_fd(struct urt_loop *L, int fd);
void urt__uring_accept_multi(struct urt__multi *m, int fd, int flags);
void urt__uring_recv_multi(struct urt__multi *m, int fd, unsigned bgid);
void urt__uring_multi_cancel(struct urt__multi *m);
int urt__uring_bufring_register(struct urt_loop *L, void **ring, size_t *ring_bytes, char *mem,
				size_t buf_size, size_t stride, unsigned nbufs, uint16_t *bgid);
void urt__uring_bufring_recycle(void *ring, char *buf, unsigned buf_size, uint16_t bid,
				unsigned nbufs);
void urt__uring_bufring_unregister(struct urt_loop *L, void *ring, size_t ring_bytes, int bgid);

/* An SQE slot for op (need: free slots it will take), for urt__op_start*. */
static inline struct io_uring_sqe *urt__op_sqe(struct urt_loop *L, urt_task *t,
					       struct urt__op *op, unsigned need)
{
	struct io_uring_sq *sq = &URT__RING(L)->sq;
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
 * cancellation is pending, -ETIMEDOUT when the deadline scope has expired
 * (unless !deadline_first: then the op is issued anyway, and its linked
 * timeout, already due, ends it if it does not complete at once: urt_poll
 * with timeout 0 looks at the fd once). When it returns an SQE, the
 * caller must prep it and call urt__op_wait.
 */
static inline struct io_uring_sqe *urt__op_start_ex(struct urt__op *op, bool deadline_first)
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
		if (deadline_first && urt__now() >= t->deadline) {
			op->res = -ETIMEDOUT;
			return NULL;
		}
		need = 2; /* the op and its IORING_OP_LINK_TIMEOUT */
	}
	op->nocancel = 0;
	return urt__op_sqe(L, t, op, need);
}

static inline struct io_uring_sqe *urt__op_start(struct urt__op *op)
{
	return urt__op_start_ex(op, true);
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

/* URT_FIXED_FD(i) → slot i of the registered file table. Every opcode
   that takes its fd in sqe->fd (the kernel resolves it before the op's
   own code runs: IORING_OP_SHUTDOWN, ACCEPT, SEND... alike) accepts it. */
static inline void urt__sqe_fd(struct io_uring_sqe *sqe, int fd)
{
	if (URT_IS_FIXED_FD(fd)) {
		sqe->fd = fd - URT_FIXED_FD(0);
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

/* Not in liburing 2.3's io_uring.h; the kernel numbers them 54 (6.8+)
   and 55 (6.9+). */
#define URT__IORING_OP_FIXED_FD_INSTALL 54
#define URT__IORING_OP_FTRUNCATE 55
bool urt__uring_has_op(int opcode);
int urt__uring_sync(struct urt__req *r); /* ops this kernel lacks: plain syscalls */

/*
 * A struct urt__req as one SQE (core/backend.h). Inline, and called with a
 * constant r->op from io/req.h, so the switch folds away: each API call
 * compiles to the same start, prep, wait as a hand-written wrapper.
 */
static inline int urt__uring_io(struct urt__req *rp, bool nocancel)
{
	/* a copy whose address is never taken: the SQE stores below cannot
	   alias it, so the compiler keeps every field a constant */
	const struct urt__req req = *rp, *r = &req;
	if (unlikely(r->op == URT__R_FTRUNCATE && !urt__uring_has_op(URT__IORING_OP_FTRUNCATE)) ||
	    unlikely(r->op == URT__R_SOCKET && !urt__uring_has_op(IORING_OP_SOCKET)))
		return urt__uring_sync(rp);
	struct urt__op op;
	/* a poll looks once even past its deadline (io/poll.c) */
	struct io_uring_sqe *sqe = nocancel ? urt__op_start_nocancel(&op)
					    : urt__op_start_ex(&op, r->op != URT__R_POLL);
	if (!sqe)
		return op.res;
	/* A MSG_DONTWAIT send or receive never waits (the kernel answers
	   -EAGAIN instead), so under a deadline it needs no linked timeout,
	   which costs about as much as the op: the deadline was checked just
	   above, and a cancellation arriving meanwhile stays pending. */
	if ((r->op == URT__R_SEND || r->op == URT__R_RECV) && (r->flags & MSG_DONTWAIT))
		op.nocancel = 1;
	int fd = r->fd;
	switch (r->op) {
	case URT__R_NOP:
		io_uring_prep_nop(sqe);
		break;
	case URT__R_READ:
		io_uring_prep_read(sqe, fd, r->addr, r->len, r->off);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_WRITE:
		io_uring_prep_write(sqe, fd, r->addr, r->len, r->off);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_READV:
		io_uring_prep_readv(sqe, fd, r->addr, r->len, r->off);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_WRITEV:
		io_uring_prep_writev(sqe, fd, r->addr, r->len, r->off);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_READ_FIXED:
		io_uring_prep_read_fixed(sqe, fd, r->addr, r->len, r->off, r->buf_index);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_WRITE_FIXED:
		io_uring_prep_write_fixed(sqe, fd, r->addr, r->len, r->off, r->buf_index);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_FSYNC:
		io_uring_prep_fsync(sqe, fd, r->flags & URT__FSYNC_DATA ? IORING_FSYNC_DATASYNC : 0);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_OPENAT:
		io_uring_prep_openat(sqe, fd, r->addr, (int)r->flags, r->mode);
		break;
	case URT__R_CLOSE:
		if (URT_IS_FIXED_FD(fd))
			io_uring_prep_close_direct(sqe, (unsigned)(fd - URT_FIXED_FD(0)));
		else
			io_uring_prep_close(sqe, fd);
		break;
	case URT__R_STATX:
		io_uring_prep_statx(sqe, fd, r->addr, (int)r->flags, r->mode, r->addr2);
		break;
	case URT__R_FALLOCATE:
		io_uring_prep_fallocate(sqe, fd, (int)r->mode, r->off, r->off2);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_FTRUNCATE:
		io_uring_prep_rw(URT__IORING_OP_FTRUNCATE, sqe, fd, NULL, 0, r->off);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_UNLINKAT:
		io_uring_prep_unlinkat(sqe, fd, r->addr, (int)r->flags);
		break;
	case URT__R_RENAMEAT:
		io_uring_prep_renameat(sqe, fd, r->addr, r->fd2, r->addr2, r->flags);
		break;
	case URT__R_MKDIRAT:
		io_uring_prep_mkdirat(sqe, fd, r->addr, r->mode);
		break;
	case URT__R_SYMLINKAT:
		io_uring_prep_symlinkat(sqe, r->addr, r->fd2, r->addr2);
		break;
	case URT__R_LINKAT:
		io_uring_prep_linkat(sqe, fd, r->addr, r->fd2, r->addr2, (int)r->flags);
		break;
	case URT__R_SPLICE: {
		unsigned fixed_in = 0;
		if (URT_IS_FIXED_FD(fd)) {
			fd -= URT_FIXED_FD(0);
			fixed_in = SPLICE_F_FD_IN_FIXED;
		}
		io_uring_prep_splice(sqe, fd, (int64_t)r->off, r->fd2, (int64_t)r->off2, r->len,
				     r->flags | fixed_in);
		urt__sqe_fd(sqe, r->fd2);
		break;
	}
	case URT__R_SOCKET:
		io_uring_prep_socket(sqe, fd, (int)r->len, (int)r->mode, 0);
		break;
	case URT__R_CONNECT:
		io_uring_prep_connect(sqe, fd, r->addr, r->len);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_ACCEPT:
		io_uring_prep_accept(sqe, fd, r->addr, r->addr2, (int)r->flags);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_RECV:
		io_uring_prep_recv(sqe, fd, r->addr, r->len, (int)r->flags);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_SEND:
		io_uring_prep_send(sqe, fd, r->addr, r->len, (int)r->flags);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_RECVMSG:
		io_uring_prep_recvmsg(sqe, fd, r->addr, r->flags);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_SENDMSG:
		io_uring_prep_sendmsg(sqe, fd, r->addr, r->flags);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_SHUTDOWN:
		io_uring_prep_shutdown(sqe, fd, (int)r->flags);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_POLL:
		io_uring_prep_poll_add(sqe, fd, r->flags);
		urt__sqe_fd(sqe, fd);
		break;
	case URT__R_CANCEL_FD:
		io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
		if (URT_IS_FIXED_FD(fd)) {
			sqe->fd = fd - URT_FIXED_FD(0);
			sqe->cancel_flags |= IORING_ASYNC_CANCEL_FD_FIXED;
		}
		break;
	}
	return urt__op_wait(&op, sqe);
}

#endif
