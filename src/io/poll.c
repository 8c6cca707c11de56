/* SPDX-License-Identifier: MIT */
/*
 * urt_poll: the readiness bridge. A task waits for fd to become readable
 * or writable (io_uring: IORING_OP_POLL_ADD, one-shot; epoll: the fd's
 * readiness) the way it waits for any other op, so a task can drive a library built on non-blocking fds
 * and poll(2) (libpq, OpenSSL, libcurl, c-ares): call the library, and on
 * "would block" urt_poll the fd it names.
 *
 * Two rules poll(2) keeps and the backends do not by themselves:
 *
 *  - A timeout of 0 (or one that has run out before the poll is issued)
 *    still looks at the fd once. The backends take the poll's own timeout
 *    as a deadline scope and issue URT__R_POLL even when it has passed
 *    (io_uring: POLL_ADD with an already expired linked timeout, which
 *    completes with the mask if the fd is ready; epoll: poll(2) with 0).
 *    An enclosing scope that has expired is checked here, before: then
 *    nothing is looked at (every suspension point says -ETIMEDOUT).
 *
 *  - Only the events asked for (plus POLLERR, POLLHUP) are reported, and
 *    others do not end the wait. io_uring adds POLLRDHUP to every poll's
 *    mask, and it is level-triggered: on a full socket whose peer has shut
 *    down its writing side, POLL_ADD for POLLOUT completes with POLLRDHUP
 *    at once, and again at once if re-armed (a busy loop). Such a wait goes
 *    on through a private epoll set that watches only what was asked for
 *    (the epoll fd itself is polled through the backend, so the wait still
 *    suspends only the task and honours cancellation and deadlines). That
 *    costs an epoll_create and a close, only on this rare path.
 */
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "io/io.h"
#include "io/req.h"

#define POLL_EVENTS (POLLIN | POLLPRI | POLLOUT | POLLRDHUP | POLLERR | POLLHUP)

/*
 * io_uring refuses (-EINVAL) to poll an fd that has no wait queue (a
 * regular file, some devices) when none of the events asked for is ready:
 * it could never wake. poll(2) says such an fd is always ready for reading
 * and writing and never for the rest (POLLPRI, POLLRDHUP), so it is simply
 * not ready: ask poll(2) for the level, and leave the wait to urt_poll, as
 * on epoll. The events were checked, so -EINVAL means only this.
 */
static int poll_level(int fd, unsigned events)
{
	struct pollfd p = {.fd = fd, .events = (short)events};
	if (poll(&p, 1, 0) < 0)
		return -errno;
	return p.revents & POLLNVAL ? -EBADF : (int)p.revents;
}

static int poll_once(int fd, unsigned events)
{
	int r = urt__io(&(struct urt__req){.op = URT__R_POLL, .fd = fd, .flags = events});
	if (unlikely(r == -EINVAL) && !URT_IS_FIXED_FD(fd))
		r = poll_level(fd, events);
	return r;
}

/* Last resort for the wait below (no epoll fd to be had, or no real fd
   for a fixed one: io_uring before 6.8, or out of fds): look again at
   growing intervals, up to 64 ms, until the events come or the deadline
   or a cancellation ends the wait. */
static int poll_backoff(int fd, unsigned events, unsigned want)
{
	for (int64_t d = URT_NS_PER_MS;; d = d < 64 * URT_NS_PER_MS ? 2 * d : d) {
		int r = urt_sleep_ns(d);
		if (r < 0)
			return r;
		r = poll_once(fd, events);
		if (r < 0 || (r & want))
			return r < 0 ? r : (int)(r & want);
	}
}

/*
 * fd showed only events nobody asked for: wait for the ones asked for
 * (want) through a private epoll set that holds fd with exactly those. A
 * fixed fd needs a real one for epoll_ctl: on epoll it is the table's
 * dup, on io_uring a temporary one (IORING_OP_FIXED_FD_INSTALL).
 */
static int poll_exact(int fd, unsigned events, unsigned want)
{
	struct urt_loop *L = urt__L;
	int real = fd, tmp = -1;
	if (URT_IS_FIXED_FD(fd)) {
		bool owned = false;
		real = L->be->fixed_real(L, fd, &owned);
		if (owned)
			tmp = real;
		if (real < 0) /* -EOPNOTSUPP, -EMFILE... (the slot was good a moment ago) */
			return poll_backoff(fd, events, want);
	}
	int r;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = events & (POLLIN | POLLPRI | POLLOUT | POLLRDHUP)};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, real, &ev) < 0) {
		r = poll_backoff(fd, events, want);
	} else {
		/* the set is readable when fd has one of `events` (or an error
		   or hang-up, which epoll always reports) */
		while ((r = poll_once(ep, POLLIN)) >= 0) {
			struct epoll_event got;
			if (epoll_wait(ep, &got, 1, 0) == 1 && (got.events & want)) {
				r = (int)(got.events & want);
				break;
			} /* (gone again meanwhile: wait on) */
		}
	}
	if (ep >= 0)
		urt__close_sync(ep); /* (epoll: forgets it too) */
	if (tmp >= 0)
		urt__close_sync(tmp);
	return r;
}

int urt_poll(int fd, unsigned events, int64_t timeout_ns)
{
	if (fd < 0 && !URT_IS_FIXED_FD(fd))
		return -EBADF;
	if (!events || (events & ~(unsigned)POLL_EVENTS))
		return -EINVAL;
	/* -EPERM outside a task, a pending cancellation, an enclosing scope
	   that has expired: before the fd is looked at (see the top) */
	int r = urt__op_check();
	if (r)
		return r;
	bool scoped = timeout_ns >= 0;
	if (scoped) {
		r = urt_deadline_push(timeout_ns);
		if (r < 0)
			return r; /* -ENOSPC */
	}
	const unsigned want = events | POLLERR | POLLHUP;
	r = poll_once(fd, events);
	if (r >= 0) {
		/* epoll says 0 when woken by events not asked for */
		r = r & want ? (int)(r & want) : poll_exact(fd, events, want);
	}
	if (scoped)
		urt_deadline_pop();
	return r;
}
