/* SPDX-License-Identifier: MIT */
/*
 * The epoll backend (see core/backend.h): for loops where io_uring is
 * refused. Sockets, pipes and other pollable fds use non-blocking syscalls
 * (MSG_DONTWAIT, RWF_NOWAIT) retried after a one-shot readiness wait;
 * what epoll cannot watch (regular files) and the calls that block on a
 * disk (open, stat, fsync, rename, ...) run on the executor's threads
 * (exec/offload.c), and the task waits for them even when cancelled, so
 * its buffers outlive the call.
 */
#ifndef URT__EPOLL_H
#define URT__EPOLL_H

#include <sys/epoll.h>
#include <sys/uio.h>

#include "core/core.h"

#define URT__EP_NEVENTS 128
#define URT__EP_NWATCH 4 /* eventfd watches: the offload pool and the remote queue */

struct ep_fd {
	struct urt_list waiters; /* struct urt__op.rd.link */
	uint32_t armed;          /* one-shot: events the set holds for it (0: disarmed) */
	bool added;              /* in the epoll set (one-shot records) */
	bool et;                 /* made by urt (accept, socket): registered once,
				    edge-triggered, for every event, when made */
	bool verified;           /* et: a wait found that registration still in
				    the set for the fd behind this number (see
				    epoll/loop.c: "Records") */
	bool stream;             /* et and SOCK_STREAM: a short recv drained it */
	bool in_ready, out_ready; /* et: no EAGAIN / short transfer since the last
				     edge (else the next call waits first) */
	bool in_end, out_end;    /* et: hang-up or error seen: that direction stays
				    ready for good (no later edge would come) */
};

struct ep_watch {
	struct urt__multi *m; /* NULL: free slot */
	int fd;
	void *buf;
	unsigned len;
	bool background, armed, added;
};

struct urt__epoll {
	int epfd;
	struct ep_fd **fds; /* by fd number, allocated on first wait */
	unsigned nfds;
	unsigned armed;     /* fds and watches armed: anything to wait for */
	int *fixed;         /* the fixed-fd table (dup'ed fds, -1 = empty) */
	unsigned nfixed;
	bool no_pwait2;     /* epoll_pwait2 missing (before 5.11): ms timeouts */
	struct iovec *bufs; /* urt_register_buffers: the ranges, for the checks */
	unsigned nbufs;
	struct ep_watch watch[URT__EP_NWATCH];
	struct epoll_event ev[URT__EP_NEVENTS];
};

/* the loop's epoll state: a pointer in the loop's backend room */
#define URT__EP(L) (*(struct urt__epoll **)(void *)(L)->be_store)

/* fd's record (made if `make`), or NULL (none, or no memory). */
struct ep_fd *urt__ep_fd_slow(struct urt__epoll *ep, int fd, bool make);
static inline struct ep_fd *urt__ep_fd(struct urt__epoll *ep, int fd, bool make)
{
	struct ep_fd *e;
	if (likely((unsigned)fd < ep->nfds) && likely((e = ep->fds[fd]) != NULL))
		return e;
	return urt__ep_fd_slow(ep, fd, make);
}

/* a fixed fd (URT_FIXED_FD(i)) is slot i of a table of dup'ed fds */
int urt__epoll_fixed_set(struct urt_loop *L, unsigned first, const int *fds, unsigned n, bool whole);
int urt__epoll_fixed_close(struct urt_loop *L, int fd);
int urt__epoll_fixed_fd(struct urt_loop *L, int fd); /* the real fd, or -EBADF */
int urt__epoll_buffers(struct urt_loop *L, const struct iovec *iov, unsigned n);
bool urt__epoll_buffer_ok(struct urt_loop *L, int i, const void *addr, size_t len);

/* fd is being closed (or was just made by a call of ours): wake its
   waiters with -ECANCELED and drop what the epoll set knows of it. */
void urt__epoll_forget(struct urt_loop *L, int fd);
/* fd was just made by urt (accept, socket): register it edge-triggered,
   once (see epoll/loop.c); urt__epoll_edge: is it so registered? */
void urt__epoll_owned(struct urt_loop *L, int fd, bool stream);
bool urt__epoll_edge(struct urt_loop *L, int fd);
/* Cancel every readiness wait on fd (-ECANCELED); how many there were. */
int urt__epoll_cancel_fd(struct urt_loop *L, int fd);

/* Wait (state WAIT_IO) until fd shows one of events (EPOLLIN, EPOLLOUT,
   ...) or the wait is cancelled or times out. 0 (op->rd.revents says
   what was seen), -EPERM when epoll cannot watch fd (a regular file), or
   the op's error (-ECANCELED, -ETIMEDOUT). */
int urt__epoll_wait_fd(struct urt__op *op, int fd, uint32_t events);

/* the backend's table (loop.c) and the calls of it defined in io.c */
extern const struct urt__backend urt__backend_epoll;
void urt__epoll_op_cancel(urt_task *t);
void urt__epoll_watch(struct urt__multi *m, int fd, void *buf, unsigned len, bool background);
int urt__epoll_io(unsigned op, int fd, int fd2, void *addr, void *addr2, uint64_t off,
		  uint64_t off2, uint32_t len, uint32_t flags, uint32_t mode, int buf_index,
		  bool nocancel);
int urt__epoll_sock(unsigned op, int fd, void *addr, uint32_t len, uint32_t flags);

#endif
