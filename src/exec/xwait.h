/* SPDX-License-Identifier: MIT */
/*
 * Waiting across loops and threads: the record every cross-loop primitive
 * (remote handles, urt_xfuture, urt_xsem, urt_xqueue) links its waiters
 * with.
 *
 * A waiter is a task of some loop, or a plain thread (loop NULL). Its
 * record sits in the primitive's list under the primitive's own mutex; a
 * waker unlinks it under that mutex (that is the grant: from then on the
 * record belongs to the waker until delivery) and, after unlocking, calls
 * urt__xwait_deliver. Delivery to a task of another loop pushes the record
 * onto that loop's remote queue (exec/remote.c: one eventfd write per
 * burst); the loop's thread wakes the task. Delivery on the waiter's own
 * loop wakes it at once; to a thread, a futex.
 *
 * A waiter whose wait ends otherwise (cancelled, timed out) takes the
 * mutex: still linked -> unlink it, the wait failed; not linked -> a
 * waker granted it and delivery may still be on its way: urt__xwait_settle
 * waits for it (uncancellably; it is a few microseconds away) before the
 * record, which lives on the waiter's stack, can go. Same rule as an op
 * and its CQE.
 */
#ifndef URT__XWAIT_H
#define URT__XWAIT_H

#include <pthread.h>

#include "core/core.h"

/* A node of a loop's remote queue: a submission or a wake-up. */
struct urt__xnode {
	struct urt__xnode *next;
	uint8_t kind; /* URT__XN_* */
};
#define URT__XN_SPAWN 0
#define URT__XN_WAKE 1

struct urt__xwait {
	struct urt__xnode node;   /* first: the remote queue's node */
	struct urt_list link;     /* the primitive's waiters (under its mutex) */
	struct urt_loop *loop;    /* the waiter's loop; NULL: a plain thread */
	urt_task *task;
	void *item;               /* what a queue hands over */
	int res;                  /* what the waker says */
	bool granted;             /* set by the waker under the primitive's mutex */
	_Atomic int delivered;    /* 1 once the grant has reached the waiter */
};

/* The calling task or thread becomes w's waiter. */
void urt__xwait_init(struct urt__xwait *w);
/* Wait for delivery until deadline (absolute ns, URT__NO_DEADLINE: none).
   Call without the mutex, after linking w. 0: delivered; -ETIMEDOUT,
   -ECANCELED: then take the mutex and settle (see above). */
int urt__xwait_block(struct urt__xwait *w, int64_t deadline);
/* w was granted (unlinked by a waker) but the wait ended first: wait for
   the delivery to arrive. A cancellation that came meanwhile stays
   pending. */
void urt__xwait_settle(struct urt__xwait *w);
/* Waker side, after unlinking w under the mutex and unlocking it. */
void urt__xwait_deliver(struct urt__xwait *w, int res);

/* remote.c: push a wake node onto L's remote queue (any thread). */
void urt__remote_push_wake(struct urt_loop *L, struct urt__xnode *n);
/* remote.c, loop thread: a wake node was taken off the queue. */
void urt__xwait_arrived(struct urt__xnode *n);

#endif
