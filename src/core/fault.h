/* SPDX-License-Identifier: MIT */
/*
 * Seeded fault injection (issue 23): the decisions. A loop started with
 * URT_FAULT in the environment (a build with -Dfault_injection=true) gets
 * a struct urt__fault; backend/fault.c wraps the loop's backend and asks
 * urt__fault_hit at each fault site, and so does the spawn path. Without
 * the meson option none of this is compiled, and a loop asked for faults
 * refuses to start (-EOPNOTSUPP) rather than run a test without them.
 *
 * Reproducible: every decision comes from the loop's own xorshift PRNG,
 * seeded from the seed and the loop's index, so one loop's run replays
 * exactly from its seed; with several loops each replays its own sequence
 * (which ops reach which loop may still vary with the threads' timing).
 * BUGGIFY's rule: a kind not named in URT_FAULT is switched on for the
 * whole run, or off, by the seed (each with probability 1/2), so that rare
 * paths are reached by some seeds and not drowned by the others.
 */
#ifndef URT__FAULT_H
#define URT__FAULT_H

#include "core/core.h"

enum urt__fault_kind {
	URT__FK_SHORT, /* a read, write, send or recv moves fewer bytes (really) */
	URT__FK_IO,    /* files: -EIO on read, write, fsync; -ENOSPC on write, fallocate */
	URT__FK_NET,   /* sockets: -ECONNRESET on recv and send, -EPIPE on send */
	URT__FK_NOFD,  /* -EMFILE, -ENOMEM on open, accept, socket */
	URT__FK_DELAY, /* the task yields before its op, or after its completion
			  (a completion reaped late): other interleavings, and a
			  cancellation landing before, during or after the op */
	URT__FK_SPAWN, /* urt_spawn fails (ENOMEM), or the task's stack cannot
			  be had when it starts (it ends -ENOMEM unrun) */
	URT__FK_AGAIN, /* -EAGAIN on a send or receive asked not to wait
			  (MSG_DONTWAIT) */
	URT__FK_INTR,  /* the loop's wait returns early with nothing done (a
			  signal's EINTR on io_uring_enter or epoll_wait) */
	URT__FK_RACE,  /* a cancellation of an op reaches the backend a turn
			  late: an op that completes meanwhile wins the race
			  (its result stands; the cancel is seen at the next
			  suspension point) */
	URT__FK_N
};

#define URT__FAULT_ALL ((1u << URT__FK_N) - 1)

struct urt__fault {
	uint64_t seed;
	uint64_t state;       /* xorshift64*; 0 until the first decision */
	uint32_t rate;        /* chance per site visit, in 1/2^32 */
	unsigned kinds;       /* URT__FK_* bits switched on for this run */
	uint64_t hits[URT__FK_N];
	struct urt__backend table;          /* the wrapper (backend/fault.c) */
	struct urt_list inop;               /* ops in the real backend now (their
					       frames on the tasks' stacks) */
	unsigned late_cancels;              /* of them, cancels held for a turn */
	const struct urt__backend *inner;   /* the real backend */
};

#if URT__FAULT_INJECTION
/* Does the fault of `kind` fire at this site? Counts it when it does. */
bool urt__fault_hit(struct urt_loop *L, enum urt__fault_kind kind);
/* A number below n from the loop's sequence (which error of several). */
unsigned urt__fault_pick(struct urt_loop *L, unsigned n);
#else
static inline bool urt__fault_hit(struct urt_loop *L, enum urt__fault_kind kind)
{
	(void)L, (void)kind;
	return false;
}
static inline unsigned urt__fault_pick(struct urt_loop *L, unsigned n)
{
	(void)L, (void)n;
	return 0;
}
#endif

/* env.c's parse of URT_FAULT: "seed=N[,rate=P][,kinds=a+b+...]"; kinds are
   short, io, net, nofd, delay, spawn, again, intr, race, all. 0, or -EINVAL. */
int urt__fault_parse(const char *s, uint64_t *seed, uint32_t *rate, unsigned *kinds,
		     unsigned *named);

#endif
