/* SPDX-License-Identifier: MIT */
/*
 * The backend interface: what the core and the API layer ask of the thing
 * that does the I/O. Two implementations, chosen when a loop starts:
 *
 *   uring/   io_uring: an op is an SQE, its completion a CQE (the fast path)
 *   epoll/   readiness: non-blocking syscalls retried after epoll_wait for
 *            sockets, pipes and other pollable fds; everything that can
 *            block on a disk (regular files, open, stat, fsync, rename...)
 *            on the executor's threads
 *
 * The API layer (io/) describes each operation as a struct urt__req and
 * hands it to urt__io (io/req.h); it never sees an SQE or an epoll event.
 * The core (loop.c) drives a backend through the urt__be_* calls below.
 * Both keep the same rules: the op record and the caller's buffers stay
 * valid until the backend is done with them, even when the task was
 * cancelled or timed out, and a cancelled op reports -ECANCELED (or its
 * real result, if it won the race), an expired deadline -ETIMEDOUT.
 */
#ifndef URT__BACKEND_H
#define URT__BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct urt_loop;
struct urt_options;
struct urt__multi;
typedef struct urt_task urt_task;

enum urt__backend {
	URT__BE_URING,
	URT__BE_EPOLL,
};

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

/* ---- the loop's side: core/loop.c calls these ---- */

/* How a turn uses the backend: submit what is queued and take what is
   done without waiting, or also wait (up to timeout_ns; < 0: no limit)
   for the first completion. */
int urt__uring_init(struct urt_loop *L, const struct urt_options *o, unsigned sq, unsigned cq);
void urt__uring_exit(struct urt_loop *L);
/* urt__uring_poll: inline, uring/poll.h */
bool urt__uring_busy(struct urt_loop *L);
int urt__uring_fd(struct urt_loop *L);
void urt__uring_op_cancel(urt_task *t);
void urt__uring_watch(struct urt__multi *m, int fd, void *buf, unsigned len, bool background);
/* Post a CQE (res URT__MSG_RING_RES, user_data target_m as a background
   multishot CQE) on target's ring through IORING_OP_MSG_RING from the
   calling loop's ring, at its next submit. The sender sees a CQE (on
   sent_m, not counted in flight) only when the message did not arrive.
   now: submit it before returning (else with the sender's next enter). */
void urt__uring_msg_ring(struct urt_loop *target, struct urt__multi *target_m,
			 struct urt__multi *sent_m, bool now);
#define URT__MSG_RING_RES 0x75727400 /* no eventfd read returns this */

int urt__epoll_init(struct urt_loop *L, const struct urt_options *o);
void urt__epoll_exit(struct urt_loop *L);
void urt__epoll_poll(struct urt_loop *L, int64_t timeout_ns, bool wait);
bool urt__epoll_busy(struct urt_loop *L);
int urt__epoll_fd(struct urt_loop *L);
void urt__epoll_op_cancel(urt_task *t);
void urt__epoll_watch(struct urt__multi *m, int fd, void *buf, unsigned len, bool background);
/* the fields of a struct urt__req (io/req.h says why not the struct) */
int urt__epoll_io(unsigned op, int fd, int fd2, void *addr, void *addr2, uint64_t off,
		  uint64_t off2, uint32_t len, uint32_t flags, uint32_t mode, int buf_index,
		  bool nocancel);
/* recv, send, recvmsg, sendmsg (the echo and HTTP hot path): the same,
   with the request in registers */
int urt__epoll_sock(unsigned op, int fd, void *addr, uint32_t len, uint32_t flags);

#endif
