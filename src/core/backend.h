/* SPDX-License-Identifier: MIT */
/*
 * The backend interface: what the core and the API layer ask of the thing
 * that does the I/O. Two implementations, chosen when a loop starts:
 *
 *   backend/uring/  io_uring: an op is an SQE, its completion a CQE (the
 *                   fast path)
 *   backend/epoll/  readiness: non-blocking syscalls retried after
 *                   epoll_wait for sockets, pipes and other pollable fds;
 *                   everything that can block on a disk (regular files,
 *                   open, stat, fsync, rename...) on the executor's threads
 *
 * The API layer (io/) describes each operation as a struct urt__req and
 * hands it to urt__io (io/req.h); it never sees an SQE or an epoll event.
 * The core (loop.c) drives a backend through its struct urt__backend.
 * Both keep the same rules: the op record and the caller's buffers stay
 * valid until the backend is done with them, even when the task was
 * cancelled or timed out, and a cancelled op reports -ECANCELED (or its
 * real result, if it won the race), an expired deadline -ETIMEDOUT.
 */
#ifndef URT__BACKEND_H
#define URT__BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iovec;

struct urt_loop;
struct urt_options;
struct urt__multi;
typedef struct urt_task urt_task;

/* The operations of the API layer. */
enum urt__req_op {
	URT__R_NOP,
	URT__R_READ,       /* fd addr len off */
	URT__R_WRITE,
	URT__R_READV,      /* fd addr=iov len=iovcnt off */
	URT__R_WRITEV,
	URT__R_READ_FIXED, /* as READ, plus buf_index */
	URT__R_WRITE_FIXED,
	URT__R_FSYNC,      /* fd flags=URT__FSYNC_DATA */
	URT__R_OPENAT,     /* fd=dfd addr=path flags mode */
	URT__R_CLOSE,      /* fd (never cancelled) */
	URT__R_STATX,      /* fd=dfd addr=path flags mode=mask addr2=out */
	URT__R_FALLOCATE,  /* fd mode off off2=len */
	URT__R_FTRUNCATE,  /* fd off=len */
	URT__R_UNLINKAT,   /* fd=dfd addr=path flags */
	URT__R_RENAMEAT,   /* fd=olddfd addr fd2=newdfd addr2 flags */
	URT__R_MKDIRAT,    /* fd=dfd addr=path mode */
	URT__R_SYMLINKAT,  /* addr=target fd2=newdfd addr2=linkpath */
	URT__R_LINKAT,     /* fd=olddfd addr fd2=newdfd addr2 flags */
	URT__R_SPLICE,     /* fd=in off fd2=out off2 len flags */
	URT__R_SOCKET,     /* fd=domain len=type mode=protocol */
	URT__R_CONNECT,    /* fd addr len=addrlen */
	URT__R_ACCEPT,     /* fd addr addr2=addrlen flags */
	URT__R_RECV,       /* fd addr len flags */
	URT__R_SEND,
	URT__R_RECVMSG,    /* fd addr=msghdr flags */
	URT__R_SENDMSG,
	URT__R_SHUTDOWN,   /* fd flags=how */
	URT__R_POLL,       /* fd flags=poll events; result: revents */
	URT__R_CANCEL_FD,  /* fd: cancel every op on it (never cancelled) */
};
#define URT__FSYNC_DATA 1u

/* One operation, as the API layer describes it (fields per op above). It
   lives on the caller's stack until urt__io returns. */
struct urt__req {
	uint8_t op;
	int fd, fd2;
	void *addr, *addr2;
	uint64_t off, off2;
	uint32_t len, flags, mode;
	int buf_index;
};

/*
 * A backend: what a loop asks of the thing that does its I/O. One const
 * table per backend (backend/uring/ring.c, backend/epoll/loop.c); the loop
 * holds a pointer to the one it runs on (L->be), chosen when it starts
 * (backend/select.c). core/ reaches a backend only through this table.
 *
 * Two hot paths skip the table: the op entry (io/req.h: an io_uring op is
 * an SQE prepared inline) tests L->be_fast once. Everything else is a call
 * through the table, on paths where an indirect call is noise beside the
 * system call behind it.
 */
struct urt__backend {
	const char *name; /* urt_backend_name */
	/* Open the backend on L (sets L->be), or a negative errno. sq, cq:
	   the queue sizes urt_options asked for (io_uring). */
	int (*init)(struct urt_loop *L, const struct urt_options *o, unsigned sq, unsigned cq);
	/* Close it: after it, no completion names anything of the loop. */
	void (*exit)(struct urt_loop *L);
	/* A turn's one call into the kernel: submit what is queued, take what
	   is done; if wait, first wait for a completion, at most timeout_ns
	   (< 0: no limit). */
	void (*poll)(struct urt_loop *L, int64_t timeout_ns, bool wait);
	/* Anything to submit or to take right now? (urt_loop_timeout_ns) */
	bool (*busy)(struct urt_loop *L);
	/* An fd that turns readable when the loop has work (urt_loop_fd). */
	int (*fd)(struct urt_loop *L);
	/* urt_loop_fd is an eventfd that threads handing the loop work must
	   write themselves (io_uring signals it late from some contexts). */
	bool fd_needs_kick;
	/* A watch (below) is a request in the kernel whose completion runs as
	   task work of the thread: a loop embedded in another program's wait
	   must not leave one armed while that program sleeps (exec/remote.c). */
	bool watch_in_kernel;
	/* t waits on an op (state WAIT_IO): ask for it to be cancelled; t
	   still waits for its completion. */
	void (*op_cancel)(urt_task *t);
	/* Cancel every op on fd (each sees -ECANCELED); how many, if known. */
	int (*cancel_fd)(struct urt_loop *L, int fd);
	/* fd is being closed (or was just made by the loop): forget what the
	   backend knows of that number. NULL: nothing to forget. */
	void (*fd_closing)(struct urt_loop *L, int fd);
	/* Keep one read of fd (an eventfd: 8 bytes into buf) armed; when it
	   completes, m->on_cqe(m, res, 0) runs in the scheduler. A background
	   watch does not count as work in flight (no task waits on it). */
	void (*watch)(struct urt__multi *m, int fd, void *buf, unsigned len, bool background);
	/* An op of the API layer (struct urt__req's fields; io/req.h says why
	   not the struct), and the socket calls of the hot path with the
	   request in registers (io_uring fills them for a wrapper such as
	   backend/fault.c; io/req.h prepares its ops inline instead). */
	int (*io)(unsigned op, int fd, int fd2, void *addr, void *addr2, uint64_t off, uint64_t off2,
		  uint32_t len, uint32_t flags, uint32_t mode, int buf_index, bool nocancel);
	int (*sock)(unsigned op, int fd, void *addr, uint32_t len, uint32_t flags);
	/* what urt_io_offload(true) adds to every op of a task */
	uint8_t offload_op_flags;
	/* Registered buffers (iov NULL: unregister) and files (fds NULL and
	   whole: unregister; !whole: update slots first..first+n-1). */
	int (*register_buffers)(struct urt_loop *L, const struct iovec *iov, unsigned n);
	int (*register_files)(struct urt_loop *L, unsigned first, const int *fds, unsigned n,
			      bool whole);
	/* Empty slot fd = URT_FIXED_FD(i) (close of a fixed fd). */
	int (*fixed_close)(struct urt_loop *L, int fd);
	/* A regular fd for slot fd, or a negative errno; *owned: the caller
	   closes it (a copy) rather than borrowing the table's own. */
	int (*fixed_real)(struct urt_loop *L, int fd, bool *owned);
	/* Multishot requests (io/acceptor.c, io/receiver.c): one request, many
	   completions, each handed to m->on_cqe(m, res, flags) with
	   URT__MORE set while more will come. NULL: none on this backend
	   (the objects fall back to one plain call per request). */
	void (*accept_multi)(struct urt__multi *m, int fd, int flags);
	void (*recv_multi)(struct urt__multi *m, int fd, unsigned bgid);
	void (*multi_cancel)(struct urt__multi *m);
	/* Provided-buffer rings (urt_bufring): register nbufs buffers of
	   stride bytes at mem under a new group id (*bgid; *ring: the
	   backend's record),
	   hand buffer bid back, unregister. NULL: the buffers exist, but only
	   the plain fallback uses them. */
	int (*bufring_register)(struct urt_loop *L, void **ring, size_t *ring_bytes, char *mem,
				size_t buf_size, size_t stride, unsigned nbufs, uint16_t *bgid);
	void (*bufring_recycle)(void *ring, char *buf, unsigned buf_size, uint16_t bid,
				unsigned nbufs);
	/* bgid -1: the loop's ring is gone already; just free the record */
	void (*bufring_unregister)(struct urt_loop *L, void *ring, size_t ring_bytes, int bgid);
	/* Post a completion (res URT__MSG_RING_RES, to target_m as a
	   background watch's) on target's loop from the calling loop, without
	   a system call of target's (exec/remote.c's doorbell between loops).
	   The sender sees a completion on sent_m (not counted in flight) only
	   when the message did not arrive. now: submit before returning. NULL:
	   none (the doorbell's eventfd serves). */
	void (*msg_ring)(struct urt_loop *target, struct urt__multi *target_m,
			 struct urt__multi *sent_m, bool now);
};
#define URT__MSG_RING_RES 0x75727400 /* no eventfd read returns this */
#define URT__MORE 2u                 /* multishot: more completions follow (IORING_CQE_F_MORE) */

#endif
