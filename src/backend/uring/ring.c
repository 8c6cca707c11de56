/* SPDX-License-Identifier: MIT */
/*
 * The io_uring backend's loop side: creating the ring, the one
 * io_uring_enter of a turn, the embedding eventfd, the registered
 * buffer/file tables, and the ops this kernel lacks (plain syscalls).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend/uring/poll.h"


/*
 * Create the ring with the best flags the kernel takes: SINGLE_ISSUER +
 * DEFER_TASKRUN (completions are processed only when we enter the kernel,
 * on this thread: no IPIs, no task-work interrupts mid-task), else
 * COOP_TASKRUN, else nothing. SUBMIT_ALL keeps a bad SQE from stalling the
 * rest of the batch. TASKRUN_FLAG (with either) has the kernel flag pending
 * task work in the SQ ring (IORING_SQ_TASKRUN), so a turn that must not
 * wait (urt_loop_step) knows when an enter would produce completions,
 * e.g. of the background eventfd reads, which are not counted in flight.
 * Kernel features are probed by trying, not by version.
 */
static int ring_init(struct urt_loop *L, unsigned sq, unsigned cq)
{
	const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
	unsigned tries[4];
	int n = 0;
	if (L->opt_flags & URT_OPT_SQPOLL) {
		tries[n++] = IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER;
		tries[n++] = IORING_SETUP_SQPOLL;
	} else {
		if (!(L->opt_flags & (URT_OPT_NO_DEFER_TASKRUN | URT_OPT_NO_SINGLE_ISSUER)))
			tries[n++] = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
				     IORING_SETUP_TASKRUN_FLAG;
		/* COOP_TASKRUN does not wake a thread asleep outside the ring (in
		   its own epoll_wait, say): a loop the program drives through
		   urt_loop_fd skips it (DEFER_TASKRUN signals the eventfd from
		   any context; plain task work interrupts the sleep). */
		if (!L->embedded && !(L->opt_flags & URT_OPT_NO_SINGLE_ISSUER))
			tries[n++] = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN |
				     IORING_SETUP_TASKRUN_FLAG;
		if (!L->embedded)
			tries[n++] = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	}
	tries[n++] = 0;
	int r = -EINVAL;
	for (int i = 0; i < n; i++) {
		for (int all = 1; all >= 0; all--) {
			struct io_uring_params p;
			memset(&p, 0, sizeof p);
			p.flags = tries[i] | (all ? base : IORING_SETUP_CQSIZE);
			p.cq_entries = cq;
			if (tries[i] & IORING_SETUP_SQPOLL)
				p.sq_thread_idle = 50;
			r = io_uring_queue_init_params(sq, URT__RING(L), &p);
			if (r == 0) {
				L->ring_flags = p.flags;
				io_uring_register_ring_fd(URT__RING(L)); /* optional: saves an fd lookup per enter */
				return 0;
			}
			if (r != -EINVAL)
				return r;
		}
	}
	return r;
}

/*
 * Cap the ring's io-wq workers. Buffered writes, opens, statx and friends
 * that cannot complete inline run on io-wq kernel threads, and the kernel
 * starts one per blocked request: a copy of thousands of files can create
 * hundreds. Past a few per CPU they only add contention.
 */
static void iowq_cap(struct urt_loop *L, const struct urt_options *o)
{
	unsigned def = 4 * urt__cpu_count();
	unsigned v[2];
	v[0] = o->iowq_bounded > 0 ? (unsigned)o->iowq_bounded : o->iowq_bounded == 0 ? def : 0;
	v[1] = o->iowq_unbounded > 0 ? (unsigned)o->iowq_unbounded : 0; /* 0 = leave as is */
	if (v[0] || v[1])
		io_uring_register_iowq_max_workers(URT__RING(L), v); /* best effort (5.15+) */
}

static int uring_init(struct urt_loop *L, const struct urt_options *o, unsigned sq, unsigned cq)
{
	memset(URT__RING(L), 0, sizeof *URT__RING(L));
	int r = ring_init(L, sq, cq);
	if (r)
		return r;
	L->be = &urt__backend_uring;
	L->be_fast = true; /* io/req.h prepares its SQEs inline */
	iowq_cap(L, o);
	return 0;
}

static void uring_exit(struct urt_loop *L)
{
	/* A doorbell for another loop (IORING_OP_MSG_RING) prepared by the
	   last task to end may not have been submitted: send it now. */
	if (io_uring_sq_ready(URT__RING(L)))
		io_uring_submit(URT__RING(L));
	io_uring_queue_exit(URT__RING(L));
}

/* Anything to submit or to reap right now? */
static bool uring_busy(struct urt_loop *L)
{
	return io_uring_sq_ready(URT__RING(L)) || io_uring_cq_ready(URT__RING(L));
}

/* An eventfd the kernel signals on every CQE (urt_loop_fd). */
static int uring_fd(struct urt_loop *L)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	int r = io_uring_register_eventfd(URT__RING(L), fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* Does this kernel have opcode? Probed on the first question, per loop
   (so loops on several threads share nothing; the kernel's answer is the
   same for all). */
bool urt__uring_has_op(int opcode)
{
	struct urt_loop *L = urt__L;
	if (opcode < 0 || opcode >= 64)
		return false;
	uint64_t bit = UINT64_C(1) << opcode;
	if (!(L->be_probed & bit)) {
		struct io_uring_probe *p = io_uring_get_probe_ring(URT__RING(L));
		if (p && io_uring_opcode_supported(p, opcode))
			L->be_ops |= bit;
		L->be_probed |= bit;
		free(p);
	}
	return L->be_ops & bit;
}

/* IORING_OP_SOCKET (5.19) and IORING_OP_FTRUNCATE (6.9) where the kernel
   lacks them: the syscall (neither blocks for long), after the checks an
   op makes. */
int urt__uring_sync(struct urt__req *r)
{
	int c = urt__op_check();
	if (c)
		return c;
	if (r->op == URT__R_SOCKET) {
		int fd = socket(r->fd, (int)r->len, (int)r->mode);
		return fd < 0 ? -errno : fd;
	}
	if (URT_IS_FIXED_FD(r->fd))
		return -EBADF;
	return ftruncate(r->fd, (off_t)r->off) < 0 ? -errno : 0;
}

/* ---------------------------------------------------------------------- */
/* Registered buffers and files: the ring's tables (io/registered.c)        */

/* A regular fd (close-on-exec) for registered slot fd = URT_FIXED_FD(i):
   IORING_OP_FIXED_FD_INSTALL, which the table has no other way to give
   back; -EOPNOTSUPP before Linux 6.8. The caller closes it. Never
   cancelled (an fd installed behind a cancellation would leak). */
static int fixed_install(int fd)
{
	if (!urt__uring_has_op(URT__IORING_OP_FIXED_FD_INSTALL))
		return -EOPNOTSUPP;
	struct urt__op op;
	struct io_uring_sqe *sqe = urt__op_start_nocancel(&op);
	if (!sqe)
		return op.res;
	/* install_fd_flags (rw_flags in liburing 2.3's sqe) 0: O_CLOEXEC */
	io_uring_prep_rw(URT__IORING_OP_FIXED_FD_INSTALL, sqe, fd - URT_FIXED_FD(0), NULL, 0, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	return urt__op_wait(&op, sqe);
}

/* The table's fixed_real: a copy the caller closes. */
static int fixed_real(struct urt_loop *L, int fd, bool *owned)
{
	(void)L;
	*owned = true;
	return fixed_install(fd);
}

static int close_fixed(struct urt_loop *L, int fd)
{
	int none = -1;
	int r = io_uring_register_files_update(URT__RING(L), (unsigned)(fd - URT_FIXED_FD(0)), &none, 1);
	return r < 0 ? r : 0;
}

static int register_buffers(struct urt_loop *L, const struct iovec *iov, unsigned n)
{
	return iov ? io_uring_register_buffers(URT__RING(L), iov, n) : io_uring_unregister_buffers(URT__RING(L));
}

static int register_files(struct urt_loop *L, unsigned first, const int *fds, unsigned n,
			  bool whole)
{
	if (!whole) {
		int r = io_uring_register_files_update(URT__RING(L), first, fds, n);
		return r < 0 ? r : 0;
	}
	return fds ? io_uring_register_files(URT__RING(L), fds, n) : io_uring_unregister_files(URT__RING(L));
}

/* IORING_OP_MSG_RING doorbell between two loops' rings (exec/remote.c). */
static void msg_ring(struct urt_loop *target, struct urt__multi *target_m,
		     struct urt__multi *sent_m, bool now)
{
	struct io_uring_sqe *sqe = urt__sqe_get();
	io_uring_prep_msg_ring(sqe, URT__RING(target)->ring_fd, URT__MSG_RING_RES,
			       (uint64_t)(uintptr_t)target_m | URT__UD_BACKGROUND, 0);
	/* no CQE here when it arrives (nothing to reap per message); a failure
	   still posts one, to sent_m, not counted in flight */
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)sent_m | URT__UD_BACKGROUND);
	urt__L->stats.sqes++;
	if (now)
		io_uring_submit(URT__RING(urt__L));
}

/* The loop's turn (backend/uring/poll.h; core/loop.c has it inline). */
static void uring_poll(struct urt_loop *L, int64_t timeout_ns, bool wait)
{
	urt__uring_poll(L, timeout_ns, wait);
}

/* The op entry through the table (io/req.h inlines urt__uring_io instead;
   this serves a wrapper such as backend/fault.c). */
static int uring_io(unsigned op, int fd, int fd2, void *addr, void *addr2, uint64_t off,
		    uint64_t off2, uint32_t len, uint32_t flags, uint32_t mode, int buf_index,
		    bool nocancel)
{
	struct urt__req r = {.op = (uint8_t)op, .fd = fd, .fd2 = fd2, .addr = addr, .addr2 = addr2,
			     .off = off, .off2 = off2, .len = len, .flags = flags, .mode = mode,
			     .buf_index = buf_index};
	return urt__uring_io(&r, nocancel);
}

static int uring_sock(unsigned op, int fd, void *addr, uint32_t len, uint32_t flags)
{
	return uring_io(op, fd, -1, addr, NULL, 0, 0, len, flags, 0, 0, false);
}

const struct urt__backend urt__backend_uring = {
	.name = "io_uring",
	.init = uring_init,
	.exit = uring_exit,
	.poll = uring_poll,
	.busy = uring_busy,
	.fd = uring_fd,
	.fd_needs_kick = true,
	.watch_in_kernel = true,
	.op_cancel = urt__uring_op_cancel,
	.cancel_fd = urt__uring_cancel_fd,
	.watch = urt__uring_watch,
	.io = uring_io,
	.sock = uring_sock,
	.offload_op_flags = IOSQE_ASYNC,
	.register_buffers = register_buffers,
	.register_files = register_files,
	.fixed_close = close_fixed,
	.fixed_real = fixed_real,
	.accept_multi = urt__uring_accept_multi,
	.recv_multi = urt__uring_recv_multi,
	.multi_cancel = urt__uring_multi_cancel,
	.bufring_register = urt__uring_bufring_register,
	.bufring_recycle = urt__uring_bufring_recycle,
	.bufring_unregister = urt__uring_bufring_unregister,
	.msg_ring = msg_ring,
};
