/* SPDX-License-Identifier: MIT */
/*
 * The epoll backend's loop side: the epoll set, per-fd readiness waiters,
 * eventfd watches (the executor's and the remote queue's doorbells), the
 * one epoll_wait of a turn, and the fixed-fd table.
 *
 * Records. Every fd waited on has a record, found by its number. A number
 * outlives the fd behind it: urt.h lets a program close a foreign fd (one
 * urt did not make), or an fd urt made but never waited on, with plain
 * close(2), and the kernel hands the number to the next fd. So no record
 * may make a wait skip its arming unless the registration it trusts was
 * checked against the fd behind the number now; the rules below keep that
 * with no syscall per wait on the fast path.
 *
 * Readiness, two ways. An fd urt itself made (urt_accept, urt_socket) is
 * added when made, edge-triggered, for every event. Its first wait checks
 * that registration with EPOLL_CTL_MOD: success means the set holds this
 * number for the very file urt made (epoll keys its items by file and
 * number, and drops an item when its file closes), so later waits arm
 * nothing (the ops try their non-blocking call first and wait only on
 * EAGAIN, so no edge can be missed); ENOENT means that fd was closed and
 * the number now names a foreign fd, which is then treated as foreign.
 * Once waited on, an fd urt made must be closed through urt (urt_close,
 * urt_sock_close: urt.h), which forgets its record; a number urt hands out
 * again is forgotten first. Any other fd is one-shot (EPOLLONESHOT,
 * level-triggered): a wait arms it for the union of what its waiters want,
 * the event disarms it. Arming with EPOLL_CTL_MOD on each wait costs a
 * syscall but never trusts a stale registration: a foreign fd closed
 * behind urt's back and reused is simply added again (MOD says ENOENT).
 * Either way the woken tasks retry their call (a wake is a hint: one that
 * still gets EAGAIN waits again).
 *
 * A wait for output does not include EPOLLRDHUP: a peer's half-close stays
 * ready for good, and a sender woken by it would only find the socket
 * still full and wait again, forever (a busy loop).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "backend/epoll/epoll.h"

#define NEVENTS URT__EP_NEVENTS
#define NWATCH URT__EP_NWATCH

/* epoll_event.data: an fd's number << 1, or a watch | 1 */
#define TAG_WATCH 1u

static int epoll_init(struct urt_loop *L, const struct urt_options *o, unsigned sq, unsigned cq)
{
	(void)o, (void)sq, (void)cq;
	struct urt__epoll *ep = calloc(1, sizeof *ep);
	if (!ep)
		return -ENOMEM;
	ep->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ep->epfd < 0) {
		int e = -errno;
		free(ep);
		return e;
	}
	URT__EP(L) = ep;
	L->be = &urt__backend_epoll;
	return 0;
}

static void epoll_exit(struct urt_loop *L)
{
	struct urt__epoll *ep = URT__EP(L);
	close(ep->epfd);
	for (unsigned i = 0; i < ep->nfds; i++)
		free(ep->fds[i]);
	free(ep->fds);
	for (unsigned i = 0; i < ep->nfixed; i++)
		if (ep->fixed[i] >= 0)
			close(ep->fixed[i]);
	free(ep->fixed);
	free(ep->bufs);
	free(ep);
	URT__EP(L) = NULL;
}

struct ep_fd *urt__ep_fd_slow(struct urt__epoll *ep, int fd, bool make)
{
	if (fd < 0)
		return NULL;
	if ((unsigned)fd >= ep->nfds) {
		if (!make)
			return NULL;
		unsigned n = ep->nfds ? ep->nfds : 64;
		while (n <= (unsigned)fd)
			n *= 2;
		struct ep_fd **f = realloc(ep->fds, n * sizeof *f);
		if (!f)
			return NULL;
		memset(f + ep->nfds, 0, (n - ep->nfds) * sizeof *f);
		ep->fds = f;
		ep->nfds = n;
	}
	struct ep_fd *e = ep->fds[fd];
	if (!e && make) {
		e = calloc(1, sizeof *e);
		if (!e)
			return NULL;
		urt__list_init(&e->waiters);
		e->in_ready = e->out_ready = true;
		ep->fds[fd] = e;
	}
	return e;
}


#define ET_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET)

/* Back to "foreign fd, never seen": what a record knew of an earlier fd
   behind the number must not outlive it. Waiters stay. */
static void record_reset(struct ep_fd *e)
{
	e->added = false;
	e->et = false;
	e->verified = false;
	e->stream = false;
	e->in_ready = e->out_ready = true;
	e->in_end = e->out_end = false;
}

/* Arm fd for what its waiters want (one syscall, none for a checked
   edge-triggered record). 0 or a negative errno (-EPERM: epoll cannot
   watch this fd). */
static int fd_arm(struct urt__epoll *ep, struct ep_fd *e, int fd)
{
	if (e->et) {
		if (e->verified)
			return 0;
		struct epoll_event ev = {.events = ET_EVENTS, .data.u64 = (uint64_t)fd << 1};
		if (epoll_ctl(ep->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) {
			e->verified = true; /* (MOD re-reports what is ready: a spare edge at most) */
			return 0;
		}
		if (errno != ENOENT)
			return -errno;
		/* the fd urt made is gone; a foreign one has its number */
		record_reset(e);
	}
	uint32_t want = 0;
	struct urt_list *pos;
	for (pos = e->waiters.next; pos != &e->waiters; pos = pos->next)
		want |= urt__container_of(pos, struct urt__op, rd.link)->rd.events;
	struct epoll_event ev = {.events = want | EPOLLONESHOT, .data.u64 = (uint64_t)fd << 1};
	int r = epoll_ctl(ep->epfd, e->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
	if (r < 0 && errno == ENOENT && e->added)
		r = epoll_ctl(ep->epfd, EPOLL_CTL_ADD, fd, &ev); /* closed and reused meanwhile */
	else if (r < 0 && errno == EEXIST)
		r = epoll_ctl(ep->epfd, EPOLL_CTL_MOD, fd, &ev);
	if (r < 0)
		return -errno;
	if (!e->armed)
		ep->armed++;
	e->added = true;
	e->armed = want;
	return 0;
}

/* Finish one readiness wait with res (0: ready). */
static void op_done(struct urt_loop *L, struct urt__op *op, int res)
{
	urt__list_del(&op->rd.link);
	op->res = res;
	op->pending = 0;
	L->inflight--;
	urt__ready(op->task);
}

int urt__epoll_wait_fd(struct urt__op *op, int fd, uint32_t events)
{
	struct urt_loop *L = urt__L;
	struct urt__epoll *ep = URT__EP(L);
	urt_task *t = L->current;
	int c = urt__op_check();
	if (c)
		return c;
	struct ep_fd *e = urt__ep_fd(ep, fd, true);
	if (!e)
		return fd < 0 ? -EBADF : -ENOMEM;
	op->task = t;
	op->timed_out = 0;
	op->nocancel = 0;
	/* a hang-up ends a wait for input; a wait for output ignores it
	   (see the top: it would never sleep again) */
	op->rd.events = events & EPOLLIN ? events | EPOLLRDHUP : events;
	op->rd.revents = 0;
	op->rd.fd = fd;
	urt__list_add_tail(&e->waiters, &op->rd.link);
	if (!e->verified) { /* (edge-triggered and checked: nothing to arm) */
		int r = fd_arm(ep, e, fd);
		if (r < 0) {
			urt__list_del(&op->rd.link);
			return r;
		}
	}
	op->pending = 1;
	L->inflight++;
	if (t->deadline != URT__NO_DEADLINE)
		urt__timer_arm(&t->timer, t->deadline); /* urt__op_cancel(t) when it fires */
	t->state = URT__WAIT_IO;
	t->wait_op = op;
	urt__suspend();
	t->wait_op = NULL;
	urt__task_timer_stop(t);
	return op->res == 0 ? 0 : urt__op_result(op, t);
}

/* A task waiting on fd readiness is cancelled (urt_cancel, its deadline):
   finish the wait now; its op sees -ECANCELED. */
void urt__epoll_op_cancel(urt_task *t)
{
	struct urt__op *op = t->wait_op;
	if (op && op->pending && urt__list_linked(&op->rd.link))
		op_done(urt__L, op, -ECANCELED);
}

int urt__epoll_cancel_fd(struct urt_loop *L, int fd)
{
	struct ep_fd *e = urt__ep_fd(URT__EP(L), fd, false);
	int n = 0;
	while (e && !urt__list_empty(&e->waiters)) {
		op_done(L, urt__container_of(urt__list_first(&e->waiters), struct urt__op, rd.link),
			-ECANCELED);
		n++;
	}
	return n;
}

void urt__epoll_forget(struct urt_loop *L, int fd)
{
	struct urt__epoll *ep = URT__EP(L);
	struct ep_fd *e = urt__ep_fd(ep, fd, false);
	if (!e)
		return;
	urt__epoll_cancel_fd(L, fd);
	if (e->added || e->et)
		epoll_ctl(ep->epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT, EBADF: already gone */
	if (e->armed)
		ep->armed--;
	e->armed = 0;
	record_reset(e);
}

void urt__epoll_owned(struct urt_loop *L, int fd, bool stream)
{
	urt__epoll_forget(L, fd); /* a number reused: nothing of the old one stays */
	struct urt__epoll *ep = URT__EP(L);
	struct ep_fd *e = urt__ep_fd(ep, fd, true);
	if (!e)
		return; /* no record: it stays one-shot, which is always correct */
	/* registered now, so that the first wait can tell whether this fd
	   is still the one behind the number (see the top) */
	struct epoll_event ev = {.events = ET_EVENTS, .data.u64 = (uint64_t)fd << 1};
	if (epoll_ctl(ep->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return; /* (ENOMEM, ENOSPC: one-shot then) */
	e->et = true;
	e->stream = stream;
}

bool urt__epoll_edge(struct urt_loop *L, int fd)
{
	struct ep_fd *e = urt__ep_fd(URT__EP(L), fd, false);
	return e && e->et;
}

/* ---- eventfd watches ---- */

static int watch_arm(struct urt__epoll *ep, struct ep_watch *w)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT,
				 .data.u64 = (uint64_t)(uintptr_t)w | TAG_WATCH};
	if (epoll_ctl(ep->epfd, w->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	w->added = true;
	w->armed = true;
	ep->armed++;
	return 0;
}

void urt__epoll_watch(struct urt__multi *m, int fd, void *buf, unsigned len, bool background)
{
	struct urt_loop *L = urt__L;
	struct urt__epoll *ep = URT__EP(L);
	struct ep_watch *w = NULL, *free_slot = NULL;
	for (unsigned i = 0; i < NWATCH; i++) {
		if (ep->watch[i].m == m)
			w = &ep->watch[i];
		else if (!ep->watch[i].m && !free_slot)
			free_slot = &ep->watch[i];
	}
	if (!w) {
		if (!free_slot)
			abort(); /* NWATCH is sized for every module that watches */
		w = free_slot;
		*w = (struct ep_watch){.m = m, .fd = fd};
	}
	w->buf = buf;
	w->len = len;
	w->background = background;
	if (w->armed)
		return;
	if (watch_arm(ep, w) < 0)
		abort(); /* an eventfd of ours: only ENOMEM/ENOSPC, and then nothing wakes us */
	if (!background)
		L->inflight++;
}

static void watch_fire(struct urt_loop *L, struct ep_watch *w)
{
	ssize_t n = read(w->fd, w->buf, w->len);
	if (n < 0 && errno == EAGAIN) {
		watch_arm(URT__EP(L), w); /* spurious: look again */
		return;
	}
	if (!w->background)
		L->inflight--;
	w->m->on_cqe(w->m, n < 0 ? -errno : (int)n, 0); /* may arm it again */
}

/* ---- the turn ---- */

static void fd_fire(struct urt_loop *L, int fd, uint32_t revents)
{
	struct urt__epoll *ep = URT__EP(L);
	struct ep_fd *e = urt__ep_fd(ep, fd, false);
	if (!e || (!e->armed && !e->et))
		return; /* forgotten meanwhile */
	if (!e->et) {
		e->armed = 0; /* one-shot: the set disarmed it */
		ep->armed--;
	} else {
		/* an edge: remembered even with nobody waiting (epoll_wait
		   reports it once), so that the next call tries its syscall */
		if (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI))
			e->in_ready = true;
		if (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR))
			e->out_ready = true;
		if (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			e->in_end = true; /* a FIN with the last data: a short read
					     of it must not wait for an edge */
		if (revents & (EPOLLHUP | EPOLLERR))
			e->out_end = true;
	}
	struct urt_list *pos, *tmp;
	urt__list_for_each_safe(pos, tmp, &e->waiters) {
		struct urt__op *op = urt__container_of(pos, struct urt__op, rd.link);
		if (revents & (op->rd.events | EPOLLERR | EPOLLHUP)) {
			op->rd.revents = revents;
			op_done(L, op, 0);
		}
	}
	if (!e->et && !urt__list_empty(&e->waiters))
		fd_arm(ep, e, fd); /* the others still wait (an error: they retry at the next event) */
}

static void epoll_poll(struct urt_loop *L, int64_t timeout_ns, bool wait)
{
	struct urt__epoll *ep = URT__EP(L);
	if (!wait)
		timeout_ns = 0;
	if (!ep->armed && !L->inflight && timeout_ns == 0)
		return; /* nothing anyone waits for could have happened */
	int n;
	L->stats.enters++;
	if (timeout_ns > 0 && !ep->no_pwait2) {
		struct timespec ts = {.tv_sec = timeout_ns / URT_NS_PER_SEC,
				      .tv_nsec = timeout_ns % URT_NS_PER_SEC};
		n = epoll_pwait2(ep->epfd, ep->ev, NEVENTS, &ts, NULL);
		if (n < 0 && errno == ENOSYS) {
			ep->no_pwait2 = true;
			n = epoll_wait(ep->epfd, ep->ev, NEVENTS,
				       (int)(timeout_ns / URT_NS_PER_MS + 1 > 3600000 ? 3600000
										: timeout_ns / URT_NS_PER_MS + 1));
		}
	} else if (timeout_ns > 0) {
		int64_t ms = timeout_ns / URT_NS_PER_MS + 1; /* round up: never wake early */
		n = epoll_wait(ep->epfd, ep->ev, NEVENTS, ms > 3600000 ? 3600000 : (int)ms);
	} else {
		n = epoll_wait(ep->epfd, ep->ev, NEVENTS, timeout_ns < 0 ? -1 : 0);
	}
	for (int i = 0; i < n; i++) {
		uint64_t d = ep->ev[i].data.u64;
		if (d & TAG_WATCH) {
			struct ep_watch *w = (struct ep_watch *)(uintptr_t)(d & ~(uint64_t)TAG_WATCH);
			w->armed = false;
			ep->armed--;
			watch_fire(L, w);
		} else {
			fd_fire(L, (int)(d >> 1), ep->ev[i].events);
		}
	}
}

static bool epoll_busy(struct urt_loop *L)
{
	(void)L;
	return false; /* nothing is ever queued for later submission */
}

/* urt_loop_fd: the epoll set itself is readable when an event is ready
   (a dup, so that the loop's close of its poll_fd leaves the set alone). */
static int epoll_fd(struct urt_loop *L)
{
	int fd = fcntl(URT__EP(L)->epfd, F_DUPFD_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

/* ---- fixed fds ---- */

int urt__epoll_fixed_fd(struct urt_loop *L, int fd)
{
	struct urt__epoll *ep = URT__EP(L);
	unsigned i = (unsigned)(fd - URT_FIXED_FD(0));
	if (i >= ep->nfixed || ep->fixed[i] < 0)
		return -EBADF;
	return ep->fixed[i];
}

int urt__epoll_fixed_close(struct urt_loop *L, int fd)
{
	int real = urt__epoll_fixed_fd(L, fd);
	if (real < 0)
		return real;
	urt__epoll_forget(L, real);
	URT__EP(L)->fixed[fd - URT_FIXED_FD(0)] = -1;
	return close(real) == 0 ? 0 : -errno;
}

/* As io_uring's tables: register (whole, fds) fails with -EBUSY if a table
   exists, unregister (whole, no fds) with -ENXIO if none; an update sets
   slots (-1 empties one). The table holds its own dups, so the caller may
   close its fds, as with io_uring. */
int urt__epoll_fixed_set(struct urt_loop *L, unsigned first, const int *fds, unsigned n, bool whole)
{
	struct urt__epoll *ep = URT__EP(L);
	if (whole && !fds) {
		if (!ep->fixed)
			return -ENXIO;
		for (unsigned i = 0; i < ep->nfixed; i++)
			if (ep->fixed[i] >= 0) {
				urt__epoll_forget(L, ep->fixed[i]);
				close(ep->fixed[i]);
			}
		free(ep->fixed);
		ep->fixed = NULL;
		ep->nfixed = 0;
		return 0;
	}
	if (whole) {
		if (ep->fixed)
			return -EBUSY;
		ep->fixed = malloc(n * sizeof *ep->fixed);
		if (!ep->fixed)
			return -ENOMEM;
		ep->nfixed = n;
		for (unsigned i = 0; i < n; i++)
			ep->fixed[i] = -1;
	} else if (!ep->fixed) {
		return -ENXIO;
	} else if (first > ep->nfixed || n > ep->nfixed - first) {
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		int *slot = &ep->fixed[first + i];
		if (*slot >= 0) {
			urt__epoll_forget(L, *slot);
			close(*slot);
			*slot = -1;
		}
		if (fds[i] >= 0) {
			*slot = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
			if (*slot < 0) {
				int e = -errno;
				if (whole)
					urt__epoll_fixed_set(L, 0, NULL, 0, true);
				return e;
			}
		}
	}
	return 0;
}

/* Registered buffers: plain buffers here; the ranges are kept so that
   misuse fails as with io_uring (-EBUSY, -ENXIO, -EFAULT). */
int urt__epoll_buffers(struct urt_loop *L, const struct iovec *iov, unsigned n)
{
	struct urt__epoll *ep = URT__EP(L);
	if (iov && ep->bufs)
		return -EBUSY;
	if (!iov) {
		if (!ep->bufs)
			return -ENXIO;
		free(ep->bufs);
		ep->bufs = NULL;
		ep->nbufs = 0;
		return 0;
	}
	ep->bufs = malloc(n * sizeof *iov);
	if (!ep->bufs)
		return -ENOMEM;
	memcpy(ep->bufs, iov, n * sizeof *iov);
	ep->nbufs = n;
	return 0;
}

/* Does [addr, addr + len) lie in registered buffer i? */
bool urt__epoll_buffer_ok(struct urt_loop *L, int i, const void *addr, size_t len)
{
	struct urt__epoll *ep = URT__EP(L);
	if (i < 0 || (unsigned)i >= ep->nbufs)
		return false;
	uintptr_t lo = (uintptr_t)ep->bufs[i].iov_base, a = (uintptr_t)addr;
	return a >= lo && len <= ep->bufs[i].iov_len && a - lo <= ep->bufs[i].iov_len - len;
}

/* The table's fixed_real: the table's own dup (borrowed, not to close). */
static int fixed_real(struct urt_loop *L, int fd, bool *owned)
{
	*owned = false;
	return urt__epoll_fixed_fd(L, fd);
}

const struct urt__backend urt__backend_epoll = {
	.name = "epoll",
	.init = epoll_init,
	.exit = epoll_exit,
	.poll = epoll_poll,
	.busy = epoll_busy,
	.fd = epoll_fd,
	.op_cancel = urt__epoll_op_cancel,
	.cancel_fd = urt__epoll_cancel_fd,
	.fd_closing = urt__epoll_forget,
	.watch = urt__epoll_watch,
	.io = urt__epoll_io,
	.sock = urt__epoll_sock,
	.register_buffers = urt__epoll_buffers,
	.register_files = urt__epoll_fixed_set,
	.fixed_close = urt__epoll_fixed_close,
	.fixed_real = fixed_real,
	/* no multishot requests, provided-buffer rings or messages between
	   loops: the objects above fall back, the doorbell is an eventfd */
};
