/* SPDX-License-Identifier: MIT */
/*
 * The fault-injecting backend (issue 23): a table that wraps the loop's
 * real one (io_uring or epoll) and turns a seeded fraction of operations
 * into failures that really happen for them (core/fault.h decides which).
 * The op entry, the op cancel and the loop's wait are wrapped; every other
 * call passes straight through. The loop's fast path is off (L->be_fast),
 * so each op comes here.
 *
 * A fault is never a lie about work done: a short transfer asks the real
 * backend for fewer bytes (so a short send really sent only those), and an
 * error is returned instead of calling it (nothing was read, written,
 * opened). So a caller that handles the error or the short count loses
 * nothing, and one that does not is what this is for. The checks every
 * suspension point makes (cancellation, deadline) come first, as they
 * would in the real op.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "core/fault.h"
#include "backend/select.h"

#define INNER (urt__L->fault->inner)

/* What fd is, for the faults that can really happen on it: 'f' a file
   (regular or block device), 'p' a pipe, 's' a socket, 'o' anything else
   (an eventfd or a signalfd reads whole records or fails: no short read
   ever happens there, no -EIO either). A fixed fd is 'o'. */
static char fd_kind(int fd)
{
	struct stat st;
	if (URT_IS_FIXED_FD(fd) || fstat(fd, &st) < 0)
		return 'o';
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
		return 'f';
	if (S_ISFIFO(st.st_mode))
		return 'p';
	return S_ISSOCK(st.st_mode) ? 's' : 'o';
}

/* The error or the shortened length for op on fd, before the real backend
   runs it; 0: run it (with *len, maybe shortened). The checks of every
   suspension point come first, as in the real op. */
static int inject(struct urt_loop *L, unsigned op, int fd, uint32_t *len, uint32_t flags)
{
	int r = urt__op_check();
	if (r)
		return r;
	if (urt__fault_hit(L, URT__FK_DELAY)) {
		/* another interleaving. A cancellation (or the deadline) that
		   comes while it yields is the op's result: swallowed here, it
		   would leave the real op waiting with nobody to end it (found
		   so: urt-echo on epoll deaf to SIGTERM's drain, once in ~30) */
		r = urt_yield();
		if (r < 0)
			return r;
	}
	char kind = 'o';
	bool shortable = false; /* a byte count in *len that may come up short */
	switch (op) {
	case URT__R_OPENAT:
	case URT__R_ACCEPT:
	case URT__R_SOCKET:
		if (urt__fault_hit(L, URT__FK_NOFD))
			return urt__fault_pick(L, 2) ? -EMFILE : -ENOMEM;
		return 0;
	case URT__R_FSYNC:
	case URT__R_FALLOCATE:
		if (fd_kind(fd) == 'f' && urt__fault_hit(L, URT__FK_IO))
			return op == URT__R_FSYNC ? -EIO : -ENOSPC;
		return 0;
	case URT__R_READ:
	case URT__R_READ_FIXED:
	case URT__R_WRITE:
	case URT__R_WRITE_FIXED:
	case URT__R_RECV:
	case URT__R_SEND:
		shortable = true;
		/* fallthrough */
	case URT__R_READV:
	case URT__R_WRITEV:
	case URT__R_RECVMSG:
	case URT__R_SENDMSG: {
		bool write = op == URT__R_WRITE || op == URT__R_WRITE_FIXED || op == URT__R_WRITEV ||
			     op == URT__R_SEND || op == URT__R_SENDMSG;
		bool sock_op = op == URT__R_RECV || op == URT__R_SEND || op == URT__R_RECVMSG ||
			       op == URT__R_SENDMSG;
		kind = sock_op ? 's' : fd_kind(fd);
		/* a call asked not to wait finds nothing to do (or no room) */
		if (sock_op && (flags & MSG_DONTWAIT) && urt__fault_hit(L, URT__FK_AGAIN))
			return -EAGAIN;
		if (kind == 'f' && urt__fault_hit(L, URT__FK_IO))
			return write && urt__fault_pick(L, 2) ? -ENOSPC : -EIO;
		if (kind == 's' && urt__fault_hit(L, URT__FK_NET))
			return write && urt__fault_pick(L, 2) ? -EPIPE : -ECONNRESET;
		break;
	}
	default:
		return 0;
	}
	/* a short transfer, where one really happens (iovec and msghdr ops
	   carry no byte count here: they keep theirs) */
	if (shortable && kind != 'o' && *len > 1 && urt__fault_hit(L, URT__FK_SHORT))
		*len = 1 + urt__fault_pick(L, *len - 1);
	return 0;
}

/*
 * An op in the real backend: its record lives in the frame of the task's
 * call, on the loop's list, from the call into the real backend until it
 * returns (so a held cancel can never name a task that has moved on).
 */
struct inop {
	struct urt_list link;
	urt_task *task;
	bool late_cancel; /* its cancel is held for a turn (URT__FK_RACE) */
};

static void inop_begin(struct urt_loop *L, struct inop *o)
{
	o->task = L->current;
	o->late_cancel = false;
	urt__list_add_tail(&L->fault->inop, &o->link);
}

/* The op returned res: it is off the list; and maybe its completion is
   taken late (another task runs first). A cancellation that comes while
   it waits does not undo the op's result: it stays pending for the next
   suspension point, as when a cancel loses the race to a CQE. */
static int inop_end(struct urt_loop *L, struct inop *o, int res)
{
	if (o->late_cancel)
		L->fault->late_cancels--;
	urt__list_del(&o->link);
	if (o->task && urt__fault_hit(L, URT__FK_DELAY) && urt_yield() == -ECANCELED)
		urt__cancel_rearm(o->task);
	return res;
}

static int fault_io(unsigned op, int fd, int fd2, void *addr, void *addr2, uint64_t off,
		    uint64_t off2, uint32_t len, uint32_t flags, uint32_t mode, int buf_index,
		    bool nocancel)
{
	struct urt_loop *L = urt__L;
	if (nocancel) /* a close: no fault, no delay, nothing that could leak it */
		return INNER->io(op, fd, fd2, addr, addr2, off, off2, len, flags, mode, buf_index,
				 nocancel);
	int r = inject(L, op, fd, &len, flags);
	if (r)
		return r;
	struct inop o;
	inop_begin(L, &o);
	r = INNER->io(op, fd, fd2, addr, addr2, off, off2, len, flags, mode, buf_index, nocancel);
	return inop_end(L, &o, r);
}

static int fault_sock(unsigned op, int fd, void *addr, uint32_t len, uint32_t flags)
{
	struct urt_loop *L = urt__L;
	int r = inject(L, op, fd, &len, flags);
	if (r)
		return r;
	struct inop o;
	inop_begin(L, &o);
	r = INNER->sock(op, fd, addr, len, flags);
	return inop_end(L, &o, r);
}

/* Cancel t's op: now, or (URT__FK_RACE) at the end of the loop's next
   wait, if its completion has not come by then. */
static void f_op_cancel(urt_task *t)
{
	struct urt_loop *L = urt__L;
	struct urt_list *p, *tmp;
	if (urt__fault_hit(L, URT__FK_RACE)) {
		urt__list_for_each_safe(p, tmp, &L->fault->inop)
		{
			struct inop *o = urt__container_of(p, struct inop, link);
			if (o->task == t && !o->late_cancel) {
				o->late_cancel = true;
				L->fault->late_cancels++;
				return;
			}
		}
	}
	INNER->op_cancel(t);
}

/* The held cancels whose ops are still waiting go to the real backend. A
   task whose op completed in this wait is READY: its result stands. */
static void late_cancels(struct urt_loop *L)
{
	struct urt_list *p, *tmp;
	urt__list_for_each_safe(p, tmp, &L->fault->inop)
	{
		struct inop *o = urt__container_of(p, struct inop, link);
		if (!o->late_cancel)
			continue;
		o->late_cancel = false;
		L->fault->late_cancels--;
		if (o->task->state == URT__WAIT_IO)
			L->fault->inner->op_cancel(o->task);
	}
}

/* The loop's wait: maybe cut short with nothing done (a signal's EINTR);
   never a wait with a cancel held, which might never end otherwise. */
static void f_poll(struct urt_loop *L, int64_t t, bool w)
{
	if (w && (L->fault->late_cancels || urt__fault_hit(L, URT__FK_INTR)))
		w = false;
	L->fault->inner->poll(L, t, w);
	if (L->fault->late_cancels)
		late_cancels(L);
}

/* ---- pass-through ---- */

static void f_exit(struct urt_loop *L) { L->fault->inner->exit(L); }
static bool f_busy(struct urt_loop *L) { return L->fault->inner->busy(L); }
static int f_fd(struct urt_loop *L) { return L->fault->inner->fd(L); }
static int f_cancel_fd(struct urt_loop *L, int fd) { return L->fault->inner->cancel_fd(L, fd); }

static void f_fd_closing(struct urt_loop *L, int fd)
{
	if (L->fault->inner->fd_closing)
		L->fault->inner->fd_closing(L, fd);
}

static void f_watch(struct urt__multi *m, int fd, void *buf, unsigned len, bool bg)
{
	INNER->watch(m, fd, buf, len, bg);
}

static int f_register_buffers(struct urt_loop *L, const struct iovec *iov, unsigned n)
{
	return L->fault->inner->register_buffers(L, iov, n);
}

static int f_register_files(struct urt_loop *L, unsigned first, const int *fds, unsigned n,
			    bool whole)
{
	return L->fault->inner->register_files(L, first, fds, n, whole);
}

static int f_fixed_close(struct urt_loop *L, int fd) { return L->fault->inner->fixed_close(L, fd); }

static int f_fixed_real(struct urt_loop *L, int fd, bool *owned)
{
	return L->fault->inner->fixed_real(L, fd, owned);
}

static void f_accept_multi(struct urt__multi *m, int fd, int flags)
{
	INNER->accept_multi(m, fd, flags);
}

static void f_recv_multi(struct urt__multi *m, int fd, unsigned bgid)
{
	INNER->recv_multi(m, fd, bgid);
}

static void f_multi_cancel(struct urt__multi *m) { INNER->multi_cancel(m); }

static int f_bufring_register(struct urt_loop *L, void **ring, size_t *ring_bytes, char *mem,
			      size_t buf_size, size_t stride, unsigned nbufs, uint16_t *bgid)
{
	return L->fault->inner->bufring_register(L, ring, ring_bytes, mem, buf_size, stride, nbufs,
						 bgid);
}

static void f_bufring_recycle(void *ring, char *buf, unsigned buf_size, uint16_t bid,
			      unsigned nbufs)
{
	INNER->bufring_recycle(ring, buf, buf_size, bid, nbufs);
}

static void f_bufring_unregister(struct urt_loop *L, void *ring, size_t ring_bytes, int bgid)
{
	L->fault->inner->bufring_unregister(L, ring, ring_bytes, bgid);
}

static void f_msg_ring(struct urt_loop *target, struct urt__multi *target_m,
		       struct urt__multi *sent_m, bool now)
{
	INNER->msg_ring(target, target_m, sent_m, now);
}

void urt__fault_wrap(struct urt_loop *L)
{
	struct urt__fault *f = L->fault;
	const struct urt__backend *in = L->be;
	f->inner = in;
	f->table = (struct urt__backend){
		.name = in->name, /* the backend that runs is still this one */
		.init = in->init,
		.exit = f_exit,
		.poll = f_poll,
		.busy = f_busy,
		.fd = f_fd,
		.fd_needs_kick = in->fd_needs_kick,
		.watch_in_kernel = in->watch_in_kernel,
		.op_cancel = f_op_cancel,
		.cancel_fd = f_cancel_fd,
		.fd_closing = f_fd_closing,
		.watch = f_watch,
		.io = fault_io,
		.sock = fault_sock,
		.offload_op_flags = in->offload_op_flags,
		.register_buffers = f_register_buffers,
		.register_files = f_register_files,
		.fixed_close = f_fixed_close,
		.fixed_real = f_fixed_real,
		/* what the real one lacks, the wrapper lacks too */
		.accept_multi = in->accept_multi ? f_accept_multi : NULL,
		.recv_multi = in->recv_multi ? f_recv_multi : NULL,
		.multi_cancel = in->multi_cancel ? f_multi_cancel : NULL,
		.bufring_register = in->bufring_register ? f_bufring_register : NULL,
		.bufring_recycle = in->bufring_recycle ? f_bufring_recycle : NULL,
		.bufring_unregister = in->bufring_unregister ? f_bufring_unregister : NULL,
		.msg_ring = in->msg_ring ? f_msg_ring : NULL,
	};
	L->be = &f->table;
	L->be_fast = false; /* every op through the table, so through fault_io */
}
