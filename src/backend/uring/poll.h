/* SPDX-License-Identifier: MIT */
/*
 * The io_uring backend's part of a loop turn, inline in core/loop.c: one
 * of the two documented ways past the backend's table (README, Design; the
 * other is io/req.h's op entry). Through the table this call cost ~12
 * instructions more per turn (callgrind bench_nop: +3.0 %): the call, the
 * saved registers, and the tests of wait and timeout that inlining folds
 * with the caller's constants. The table's poll (ring.c) is this too.
 */
#ifndef URT__URING_POLL_H
#define URT__URING_POLL_H

#include "backend/uring/op.h"

#define URT__MAX_WAIT (3600 * URT_NS_PER_SEC) /* longest single wait in io_uring_enter */

/*
 * One io_uring_enter at most: submit what the tasks prepared and, if
 * `wait`, wait for the first completion, at most timeout_ns (< 0: no
 * limit); then reap every CQE.
 */
static inline void urt__uring_poll(struct urt_loop *L, int64_t timeout_ns, bool wait)
{
	struct io_uring_cqe *cqe;
	if (!wait || timeout_ns == 0) {
		/* IORING_SQ_TASKRUN (IORING_SETUP_TASKRUN_FLAG): completions wait
		   as deferred task work, e.g. of the background eventfd reads,
		   which are not counted in flight */
		if (L->inflight || io_uring_sq_ready(URT__RING(L)) ||
		    (IO_URING_READ_ONCE(*URT__RING(L)->sq.kflags) & IORING_SQ_TASKRUN)) {
			L->stats.enters++;
			io_uring_submit_and_get_events(URT__RING(L));
		}
	} else if (timeout_ns > 0) {
		/* The kernel adds the timeout to its clock without saturating
		   (ktime_add): a wait of centuries would wrap into one that
		   expires at once. Sleep at most an hour, then look again. */
		if (timeout_ns > URT__MAX_WAIT)
			timeout_ns = URT__MAX_WAIT;
		struct __kernel_timespec ts = {.tv_sec = timeout_ns / URT_NS_PER_SEC,
					       .tv_nsec = timeout_ns % URT_NS_PER_SEC};
		L->stats.enters++;
		io_uring_submit_and_wait_timeout(URT__RING(L), &cqe, 1, &ts, NULL);
	} else {
		L->stats.enters++;
		io_uring_submit_and_wait(URT__RING(L), 1);
	}
	/* -EINTR, -ETIME, -EBUSY: all mean "look at the CQ and go on" */
	urt__reap();
}

#endif
