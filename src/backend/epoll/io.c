/* SPDX-License-Identifier: MIT */
/*
 * The epoll backend's operations (core/backend.h: struct urt__req).
 *
 *   sockets     recv/send/recvmsg/sendmsg with MSG_DONTWAIT, accept4 and
 *               connect on a non-blocking fd; EAGAIN -> wait for readiness
 *   pipes etc.  preadv2/pwritev2 with RWF_NOWAIT; EAGAIN -> readiness
 *   files       the same call first (a page-cache hit completes inline);
 *               when it would block, epoll cannot watch the fd (EPERM) and
 *               the call runs on a worker thread
 *   splice      non-blocking at its pipe (and socket) side, waiting for
 *               readiness like the rest; on a worker when a file side may
 *               block on the disk
 *   the rest    open, stat, fsync, fallocate, rename, link...: on a worker;
 *               socket, shutdown, close: inline (they do not block)
 *
 * A worker call is waited for even when the task is cancelled or times
 * out meanwhile (it cannot be interrupted; its buffers must outlive it):
 * then its own result is returned and the cancellation stays pending, as
 * with an io_uring op that won the race.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "backend/epoll/epoll.h"

/* ---- calls on a worker thread ---- */

struct blocking {
	struct urt__req *r;
	int fd, fd2;
	long res;
};

static long rw_blocking(struct urt__req *r, int fd)
{
	struct iovec one = {.iov_base = r->addr, .iov_len = r->len};
	bool vec = r->op == URT__R_READV || r->op == URT__R_WRITEV;
	const struct iovec *iov = vec ? r->addr : &one;
	int cnt = vec ? (int)r->len : 1;
	bool wr = r->op == URT__R_WRITE || r->op == URT__R_WRITEV || r->op == URT__R_WRITE_FIXED;
	off_t off = (off_t)(int64_t)r->off;
	ssize_t n;
	do
		n = wr ? pwritev2(fd, iov, cnt, off, 0) : preadv2(fd, iov, cnt, off, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

static long splice_call(const struct urt__req *r, int in, int out)
{
	loff_t ioff = (loff_t)(int64_t)r->off, ooff = (loff_t)(int64_t)r->off2;
	return splice(in, (int64_t)r->off < 0 ? NULL : &ioff, out, (int64_t)r->off2 < 0 ? NULL : &ooff,
		      r->len, r->flags);
}

static void *blocking_fn(void *arg)
{
	struct blocking *b = arg;
	struct urt__req *r = b->r;
	long n;
	switch (r->op) {
	case URT__R_READ:
	case URT__R_WRITE:
	case URT__R_READV:
	case URT__R_WRITEV:
	case URT__R_READ_FIXED:
	case URT__R_WRITE_FIXED:
		n = rw_blocking(r, b->fd);
		break;
	case URT__R_FSYNC:
		n = r->flags & URT__FSYNC_DATA ? fdatasync(b->fd) : fsync(b->fd);
		break;
	case URT__R_OPENAT: {
		/* A FIFO must not wait for its other end (urt.h; io_uring's
		   inline open does the same): opened with O_NONBLOCK, which is
		   taken back unless asked for (F_SETFL sets exactly the status
		   flags given; open already checked them). */
		int fl = (int)r->flags;
		bool nb = !(fl & (O_NONBLOCK | O_PATH));
		n = openat(b->fd, r->addr, nb ? fl | O_NONBLOCK : fl, (mode_t)r->mode);
		if (n >= 0 && nb)
			fcntl((int)n, F_SETFL, fl & (O_APPEND | O_DIRECT | O_NOATIME));
		break;
	}
	case URT__R_STATX:
		n = statx(b->fd, r->addr, (int)r->flags, r->mode, r->addr2);
		break;
	case URT__R_FALLOCATE:
		n = fallocate(b->fd, (int)r->mode, (off_t)r->off, (off_t)r->off2);
		break;
	case URT__R_FTRUNCATE:
		n = ftruncate(b->fd, (off_t)r->off);
		break;
	case URT__R_UNLINKAT:
		n = unlinkat(b->fd, r->addr, (int)r->flags);
		break;
	case URT__R_RENAMEAT:
		n = syscall(SYS_renameat2, b->fd, r->addr, r->fd2, r->addr2, r->flags);
		break;
	case URT__R_MKDIRAT:
		n = mkdirat(b->fd, r->addr, (mode_t)r->mode);
		break;
	case URT__R_SYMLINKAT:
		n = symlinkat(r->addr, r->fd2, r->addr2);
		break;
	case URT__R_LINKAT:
		n = linkat(b->fd, r->addr, r->fd2, r->addr2, (int)r->flags);
		break;
	case URT__R_SPLICE:
		n = splice_call(r, b->fd, b->fd2);
		break;
	default:
		n = -1;
		errno = EINVAL;
	}
	b->res = n < 0 ? -errno : n;
	return NULL;
}

static int on_worker(struct urt__req *r, int fd, int fd2)
{
	struct blocking b = {.r = r, .fd = fd, .fd2 = fd2};
	int e = urt__L->run_blocking(blocking_fn, &b, NULL); /* exec/offload.c */
	return e < 0 ? e : (int)b.res;
}

/* ---- readiness ---- */

static int nop(void)
{
	urt_task *t = urt__L->current;
	urt__ready(t); /* completes at once, like IORING_OP_NOP: a trip through the loop */
	urt__suspend();
	return 0;
}


/* Wait for fd, mapping "epoll cannot watch it" to "run it on a worker"
   (*worker set) for the callers that can. */
static int await(int fd, uint32_t events, bool *worker)
{
	struct urt__op op;
	int w = urt__epoll_wait_fd(&op, fd, events);
	if (w == -EPERM && worker) {
		*worker = true;
		return 0;
	}
	return w;
}

static size_t iov_bytes(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/*
 * RWF_NOWAIT moved `done` bytes of a regular file and stopped short at the
 * first page not in the cache. read(2), write(2) and io_uring go on to the
 * end of the range (or EOF) on a regular file: so does this, with the rest
 * on a worker. Cold: only after a short transfer, and not at EOF.
 */
static int rw_rest(const struct urt__req *r, int fd, const struct iovec *iov, int cnt, off_t off,
		   size_t done, bool wr)
{
	/* an fd the loop has a readiness record for is a pipe, socket or tty
	   (epoll cannot watch a regular file): no fstat on that hot path. A
	   number closed behind urt's back and reused by a file just keeps
	   its short count, which a read may always return. */
	if (urt__ep_fd(URT__EP(urt__L), fd, false))
		return (int)done;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return (int)done;
	/* a short write at the file position may not have moved it (urt.h,
	   Linux 6.18): where the rest would go is not known */
	if (wr && off == -1)
		return (int)done;
	off_t pos = off == -1 ? lseek(fd, 0, SEEK_CUR) : off + (off_t)done;
	if (!wr && (pos < 0 || pos >= st.st_size))
		return (int)done; /* EOF: a short read is the report */
	int i = 0;
	size_t skip = done;
	while (i < cnt && skip >= iov[i].iov_len)
		skip -= iov[i++].iov_len;
	if (i == cnt)
		return (int)done;
	struct iovec *rest = malloc((size_t)(cnt - i) * sizeof *rest);
	if (!rest)
		return (int)done;
	memcpy(rest, iov + i, (size_t)(cnt - i) * sizeof *rest);
	rest[0].iov_base = (char *)rest[0].iov_base + skip;
	rest[0].iov_len -= skip;
	struct urt__req copy = *r;
	copy.op = wr ? URT__R_WRITEV : URT__R_READV;
	copy.addr = rest;
	copy.len = (uint32_t)(cnt - i);
	copy.off = off == -1 ? (uint64_t)-1 : (uint64_t)(int64_t)(off + (off_t)done);
	int n = on_worker(&copy, fd, -1);
	free(rest);
	return n > 0 ? (int)done + n : (int)done; /* the bytes moved win over an error */
}

/* read/write/readv/writev (fixed buffers are plain buffers here). */
static int rw(struct urt__req *r, int fd)
{
	bool vec = r->op == URT__R_READV || r->op == URT__R_WRITEV;
	bool wr = r->op == URT__R_WRITE || r->op == URT__R_WRITEV || r->op == URT__R_WRITE_FIXED;
	struct iovec one = {.iov_base = r->addr, .iov_len = r->len};
	const struct iovec *iov = vec ? r->addr : &one;
	int cnt = vec ? (int)r->len : 1;
	off_t off = (off_t)(int64_t)r->off;
	for (;;) {
		ssize_t n = wr ? pwritev2(fd, iov, cnt, off, RWF_NOWAIT)
			       : preadv2(fd, iov, cnt, off, RWF_NOWAIT);
		if (n > 0 && (size_t)n < iov_bytes(iov, cnt))
			return rw_rest(r, fd, iov, cnt, off, (size_t)n, wr);
		if (n >= 0)
			return (int)n;
		int e = errno;
		if (e == EINTR)
			continue;
		if (e == ESPIPE && off != -1) {
			off = -1; /* a pipe or socket: io_uring ignores the offset */
			continue;
		}
		if (e != EAGAIN && e != EOPNOTSUPP)
			return -e;
		bool worker = false;
		int w = await(fd, wr ? EPOLLOUT : EPOLLIN, &worker);
		if (w < 0)
			return w;
		if (worker || e == EOPNOTSUPP) {
			/* a regular file that would block, or an fd without
			   RWF_NOWAIT (a tty, a FIFO on an old kernel): ready now, or
			   not pollable at all; the plain call on a worker */
			struct urt__req copy = *r;
			copy.off = (uint64_t)(int64_t)off;
			return on_worker(&copy, fd, -1);
		}
	}
}

static ssize_t sock_call(unsigned op, int fd, void *addr, uint32_t len, int flags)
{
	switch (op) {
	case URT__R_RECV: return recv(fd, addr, len, flags);
	case URT__R_SEND: return send(fd, addr, len, flags);
	case URT__R_RECVMSG: return recvmsg(fd, addr, flags);
	default: return sendmsg(fd, addr, flags);
	}
}

/* Is fd a socket whose short transfers io_uring retries under MSG_WAITALL
   (io_net_retry: SOCK_STREAM, SOCK_SEQPACKET)? */
static bool waitall_retries(int fd)
{
	struct ep_fd *rec = urt__ep_fd(URT__EP(urt__L), fd, false);
	if (rec && rec->et && rec->stream)
		return true;
	int type = 0;
	socklen_t tl = sizeof type;
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	       (type == SOCK_STREAM || type == SOCK_SEQPACKET);
}

static size_t msg_bytes(const struct msghdr *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
}

/*
 * MSG_WAITALL after a short first transfer of `done` bytes: the rest, as
 * io_uring does it (more calls until all is moved, EOF, an error, a
 * cancellation or the deadline; the count so far wins over any of these,
 * and a cancellation then stays pending). Cold path: the iovec array of a
 * msghdr is copied to be advanced, so the caller's stays as it was; ancillary
 * data and the address came with the first part.
 */
static int waitall_rest(unsigned op, int fd, void *addr, uint32_t len, int flags, size_t done,
			size_t total)
{
	bool out = op == URT__R_SEND || op == URT__R_SENDMSG;
	bool msg = op == URT__R_RECVMSG || op == URT__R_SENDMSG;
	const struct msghdr *um = addr;
	struct msghdr m;
	struct iovec *iov = NULL;
	if (!waitall_retries(fd))
		return (int)done;
	if (msg) {
		iov = malloc(um->msg_iovlen * sizeof *iov);
		if (!iov)
			return (int)done;
		m = (struct msghdr){.msg_iov = iov};
	}
	while (done < total) {
		ssize_t n;
		if (msg) {
			size_t skip = done, k = 0;
			while (k < um->msg_iovlen && skip >= um->msg_iov[k].iov_len)
				skip -= um->msg_iov[k++].iov_len;
			m.msg_iovlen = um->msg_iovlen - k;
			memcpy(iov, um->msg_iov + k, m.msg_iovlen * sizeof *iov);
			iov[0].iov_base = (char *)iov[0].iov_base + skip;
			iov[0].iov_len -= skip;
			n = sock_call(op, fd, &m, 0, flags);
		} else {
			n = sock_call(op, fd, (char *)addr + done, len - (uint32_t)done, flags);
		}
		if (n > 0) {
			done += (size_t)n;
			continue;
		}
		if (n == 0 && !out)
			break; /* EOF */
		int e = n < 0 ? errno : EAGAIN;
		if (e == EINTR)
			continue;
		if (e != EAGAIN)
			break;
		int w = await(fd, out ? EPOLLOUT : EPOLLIN, NULL);
		if (w < 0) {
			if (w == -ECANCELED)
				urt__cancel_rearm(urt__L->current); /* (the count wins) */
			break;
		}
	}
	free(iov);
	return (int)done;
}

/*
 * recv/send/recvmsg/sendmsg. On an fd urt made (edge-triggered, see
 * epoll/loop.c) a recv or send that came back short, or EAGAIN, means the
 * socket buffer was drained (or filled) at that moment: as nginx does, the
 * next call then waits for the next edge instead of paying a syscall that
 * would say EAGAIN (one syscall per request saved on echo and HTTP). Only
 * for stream sockets (a datagram per recv says nothing of the queue), and
 * not with MSG_PEEK or a caller's MSG_DONTWAIT. MSG_WAITALL waits for the
 * whole length (waitall_rest), as io_uring does.
 */
static int sock_io(unsigned op, int fd, void *addr, uint32_t len, uint32_t uflags)
{
	bool out = op == URT__R_SEND || op == URT__R_SENDMSG;
	bool user_nowait = uflags & MSG_DONTWAIT;
	int flags = (int)uflags | MSG_DONTWAIT;
	struct ep_fd *rec = urt__ep_fd(URT__EP(urt__L), fd, false);
	bool *ready = NULL; /* this direction's readiness hint, where it is kept */
	if (rec && rec->stream && (op == URT__R_RECV || op == URT__R_SEND) &&
	    !(uflags & (MSG_PEEK | MSG_DONTWAIT)) && !(out ? rec->out_end : rec->in_end))
		ready = out ? &rec->out_ready : &rec->in_ready;
	if (ready && !*ready) {
		int w = await(fd, out ? EPOLLOUT : EPOLLIN, NULL);
		if (w < 0)
			return w;
	}
	for (;;) {
		ssize_t n = sock_call(op, fd, addr, len, flags);
		if (likely(n >= 0)) {
			if (ready && n > 0 && (size_t)n < len && !(out ? rec->out_end : rec->in_end))
				*ready = false; /* short: drained (or full) just now */
			if (unlikely(uflags & MSG_WAITALL) && !user_nowait && n > 0) {
				size_t total = op == URT__R_RECV || op == URT__R_SEND
						       ? len : msg_bytes(addr);
				if ((size_t)n < total)
					return waitall_rest(op, fd, addr, len, flags, (size_t)n, total);
			}
			return (int)n;
		}
		int e = errno;
		if (e == EINTR)
			continue;
		if (e != EAGAIN || user_nowait)
			return -e;
		if (ready && !(out ? rec->out_end : rec->in_end))
			*ready = false;
		int w = await(fd, out ? EPOLLOUT : EPOLLIN, NULL);
		if (w < 0)
			return w;
	}
}

int urt__epoll_sock(unsigned op, int fd, void *addr, uint32_t len, uint32_t flags)
{
	int c = urt__op_check();
	if (unlikely(c))
		return c;
	struct urt_loop *L = urt__L;
	if (unlikely(URT_IS_FIXED_FD(fd)) && (fd = urt__epoll_fixed_fd(L, fd)) < 0)
		return -EBADF; /* an empty slot */
	L->stats.sqes++; /* every op counts as one submission and one completion */
	int res = sock_io(op, fd, addr, len, flags);
	L->stats.cqes++;
	return res;
}

/* Is fd (just accepted) SOCK_STREAM? Asked of each new socket, not
   remembered per listener: a listener's number can be closed and reused
   behind urt's back, by a listener of another type. */
static bool sock_stream(int fd)
{
	int type = 0;
	socklen_t len = sizeof type;
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

/* accept4 needs a non-blocking listener: made so on first use (documented
   in urt.h), as libuv does. */
static int do_accept(struct urt__req *r, int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	for (;;) {
		int c = accept4(fd, r->addr, (socklen_t *)r->addr2, (int)r->flags);
		if (c >= 0) {
			urt__epoll_owned(urt__L, c, sock_stream(c));
			return c;
		}
		int e = errno;
		if (e == EINTR)
			continue;
		if (e != EAGAIN)
			return -e;
		int w = await(fd, EPOLLIN, NULL);
		if (w < 0)
			return w;
	}
}

static int connect_call(struct urt__req *r, int fd)
{
	int res;
	do
		res = connect(fd, r->addr, r->len) == 0 ? 0 : -errno;
	while (res == -EINTR);
	return res;
}

/*
 * connect(2) as a blocking call behaves, on a non-blocking fd (the fd's
 * own flags are put back): wait for writability, then connect again for
 * the outcome, which also leaves a failed socket ready for a new attempt
 * (reading SO_ERROR instead would leave it "connecting", and the next
 * connect would say -ECONNABORTED). An attempt still in progress (one cut
 * short by a deadline) is -EALREADY at once, as connect(2) and io_uring
 * say. -ECONNABORTED first: an earlier non-blocking attempt failed and was
 * reported elsewhere; that call reset the socket, so start anew (io_uring
 * does the same, once).
 */
static int do_connect(struct urt__req *r, int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	bool set = !(fl & O_NONBLOCK);
	if (set && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	int res = connect_call(r, fd);
	if (res == -ECONNABORTED)
		res = connect_call(r, fd);
	while (res == -EINPROGRESS) {
		res = await(fd, EPOLLOUT, NULL);
		if (res < 0)
			break;
		res = connect_call(r, fd);
		if (res == -EALREADY)
			res = -EINPROGRESS; /* not decided yet: a spare wake-up */
		else if (res == -EISCONN)
			res = 0;
	}
	if (set)
		fcntl(fd, F_SETFL, fl);
	return res;
}

/*
 * splice(2). On a worker it could wait forever (an empty pipe) where no
 * cancellation or deadline reaches it, and hold up the loop's shutdown.
 * So the pipe side is made non-blocking with SPLICE_F_NONBLOCK, a socket
 * or character device side with O_NONBLOCK for the call (put back after),
 * and a side that would block is waited for like any fd. A regular file
 * (or block device) side can still block on the disk, not forever: then
 * each try runs on a worker. A caller's own SPLICE_F_NONBLOCK gets -EAGAIN
 * instead of a wait.
 */
static bool pollable(mode_t m)
{
	return S_ISFIFO(m) || S_ISSOCK(m) || S_ISCHR(m);
}

static int nonblock_on(int fd, mode_t m)
{
	if (!S_ISSOCK(m) && !S_ISCHR(m))
		return -1; /* a pipe: SPLICE_F_NONBLOCK covers it */
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_NONBLOCK) || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return fl; /* to put back */
}

static int do_splice(struct urt__req *r, int in, int out)
{
	struct stat si, so;
	if (fstat(in, &si) < 0 || fstat(out, &so) < 0)
		return -errno;
	bool in_poll = pollable(si.st_mode), out_poll = pollable(so.st_mode);
	if (!in_poll && !out_poll)
		return on_worker(r, in, out); /* no pipe: the kernel says why */
	bool user_nowait = r->flags & SPLICE_F_NONBLOCK;
	bool worker = !in_poll || !out_poll;
	int in_fl = nonblock_on(in, si.st_mode), out_fl = nonblock_on(out, so.st_mode);
	struct urt__req nb = *r;
	nb.flags |= SPLICE_F_NONBLOCK;
	int res;
	for (;;) {
		if (worker) {
			res = on_worker(&nb, in, out);
		} else {
			long n = splice_call(&nb, in, out);
			res = n < 0 ? -errno : (int)n;
		}
		if (res == -EINTR)
			continue;
		if (res != -EAGAIN || user_nowait)
			break;
		/* which side would block? */
		struct pollfd p[2] = {{.fd = in, .events = POLLIN}, {.fd = out, .events = POLLOUT}};
		poll(p, 2, 0);
		int wfd = -1;
		uint32_t ev = 0;
		if (in_poll && !(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			wfd = in, ev = EPOLLIN;
		else if (out_poll && !(p[1].revents & (POLLOUT | POLLHUP | POLLERR)))
			wfd = out, ev = EPOLLOUT;
		if (wfd < 0) {
			/* both look ready: a moment's race; go round the loop once */
			res = urt__op_check();
			if (res)
				break;
			nop();
			continue;
		}
		res = await(wfd, ev, NULL);
		if (res == -EPERM) { /* epoll cannot watch it: the plain call, as before */
			res = on_worker(r, in, out);
			break;
		}
		if (res < 0)
			break;
	}
	if (in_fl >= 0)
		fcntl(in, F_SETFL, in_fl);
	if (out_fl >= 0)
		fcntl(out, F_SETFL, out_fl);
	return res;
}

/* urt_poll's look at fd: the ready events asked for (plus POLLERR and
   POLLHUP), or 0 when woken by others only (urt_poll waits on). Issued
   without the deadline check (the caller made it): a deadline that has
   passed means timeout 0, one look at the level. */
static int do_poll(struct urt__req *r, int fd)
{
	urt_task *t = urt__L->current;
	bool expired = t->deadline != URT__NO_DEADLINE && urt__now() >= t->deadline;
	if (expired || urt__epoll_edge(urt__L, fd)) {
		/* an edge may have passed with nobody waiting: look at the level */
		struct pollfd p = {.fd = fd, .events = (short)r->flags};
		if (poll(&p, 1, 0) > 0)
			return p.revents & POLLNVAL ? -EBADF /* as io_uring */
						   : (int)(p.revents & (r->flags | POLLERR | POLLHUP));
		if (expired)
			return -ETIMEDOUT;
	}
	struct urt__op op;
	int w = urt__epoll_wait_fd(&op, fd, r->flags);
	if (w == -EPERM) /* a regular file: always ready, as poll(2) says */
		return (int)(r->flags & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM));
	if (w < 0)
		return w;
	return (int)(op.rd.revents & (r->flags | POLLERR | POLLHUP | POLLNVAL));
}

static int do_close(int fd)
{
	struct urt_loop *L = urt__L;
	if (URT_IS_FIXED_FD(fd))
		return urt__epoll_fixed_close(L, fd);
	urt__epoll_forget(L, fd); /* its waiters see -ECANCELED */
	return close(fd) == 0 ? 0 : -errno;
}

/* a fixed fd (URT_FIXED_FD(i)) to the fd in its slot; -EBADF for an
   empty slot. Other fds (also bad ones: the call says EBADF) unchanged. */
static inline int real_fd(int fd)
{
	if (!URT_IS_FIXED_FD(fd))
		return fd;
	int r = urt__epoll_fixed_fd(urt__L, fd);
	return r < 0 ? INT32_MIN : r;
}
#define BAD(fd) ((fd) == INT32_MIN)

static int run(struct urt__req *r, bool nocancel);

/* stats: every op counts as one submission and one completion */
int urt__epoll_io(unsigned op, int fd, int fd2, void *addr, void *addr2, uint64_t off,
		  uint64_t off2, uint32_t len, uint32_t flags, uint32_t mode, int buf_index,
		  bool nocancel)
{
	struct urt__req req = {.op = (uint8_t)op, .fd = fd, .fd2 = fd2, .addr = addr,
			       .addr2 = addr2, .off = off, .off2 = off2, .len = len,
			       .flags = flags, .mode = mode, .buf_index = buf_index};
	struct urt__req *r = &req;
	if (!nocancel && op != URT__R_POLL) { /* (urt_poll checks first: do_poll) */
		int c = urt__op_check();
		if (c)
			return c;
	}
	struct urt_loop *L = urt__L;
	L->stats.sqes++;
	int res = run(r, nocancel);
	L->stats.cqes++;
	return res;
}

static int run(struct urt__req *r, bool nocancel)
{
	(void)nocancel;
	int fd = r->fd;
	switch (r->op) {
	case URT__R_NOP:
		return nop();
	case URT__R_CLOSE:
		return do_close(fd);
	case URT__R_CANCEL_FD: {
		int n = urt__epoll_cancel_fd(urt__L, real_fd(fd));
		return n ? n : -ENOENT;
	}
	case URT__R_READ:
	case URT__R_WRITE:
	case URT__R_READV:
	case URT__R_WRITEV:
	case URT__R_READ_FIXED:
	case URT__R_WRITE_FIXED:
		if ((r->op == URT__R_READ_FIXED || r->op == URT__R_WRITE_FIXED) &&
		    !urt__epoll_buffer_ok(urt__L, r->buf_index, r->addr, r->len))
			return -EFAULT; /* as io_uring: outside the registered buffer */
		fd = real_fd(fd);
		return BAD(fd) ? -EBADF : rw(r, fd);
	case URT__R_RECV:
	case URT__R_SEND:
	case URT__R_RECVMSG:
	case URT__R_SENDMSG:
		fd = real_fd(fd);
		return BAD(fd) ? -EBADF : sock_io(r->op, fd, r->addr, r->len, r->flags);
	case URT__R_ACCEPT:
		fd = real_fd(fd);
		return BAD(fd) ? -EBADF : do_accept(r, fd);
	case URT__R_CONNECT:
		fd = real_fd(fd);
		return BAD(fd) ? -EBADF : do_connect(r, fd);
	case URT__R_POLL:
		fd = real_fd(fd);
		return BAD(fd) ? -EBADF : do_poll(r, fd);
	case URT__R_SHUTDOWN:
		fd = real_fd(fd);
		if (BAD(fd))
			return -EBADF;
		return shutdown(fd, (int)r->flags) == 0 ? 0 : -errno;
	case URT__R_SOCKET: {
		int s = socket(fd, (int)r->len, (int)r->mode);
		if (s < 0)
			return -errno;
		urt__epoll_owned(urt__L, s, ((int)r->len & 0xf) == SOCK_STREAM);
		return s;
	}
	case URT__R_SPLICE: {
		int in = real_fd(fd), out = real_fd(r->fd2);
		if (BAD(in) || BAD(out))
			return -EBADF;
		return do_splice(r, in, out);
	}
	case URT__R_OPENAT: {
		int o = on_worker(r, fd, -1);
		if (o >= 0)
			urt__epoll_forget(urt__L, o);
		return o;
	}
	case URT__R_FSYNC:
	case URT__R_FALLOCATE:
	case URT__R_FTRUNCATE:
		fd = real_fd(fd);
		return BAD(fd) ? -EBADF : on_worker(r, fd, -1);
	default: /* statx, unlinkat, renameat, mkdirat, symlinkat, linkat */
		return on_worker(r, fd, -1);
	}
}
