/* SPDX-License-Identifier: MIT */
/*
 * The life of an object that owns a multishot request (io/acceptor.c,
 * io/receiver.c): one request, many completions, and an object that must
 * outlive the last of them even after the user freed it.
 *
 *   armed     the request is in the backend; only a completion without
 *             URT__MORE ends it
 *   fallback  no multishot here (the backend has none, URT_OPT_NO_MULTISHOT,
 *             or the kernel refused the first one): a plain call per request
 *   orphan    freed by the user: the object frees itself once the request
 *             has ended and no task is inside a call on it (busy)
 */
#ifndef URT__IO_MULTISHOT_H
#define URT__IO_MULTISHOT_H

#include "core/core.h"

struct urt__mshot {
	struct urt__multi m;
	int fd;
	bool armed;
	bool fallback;
	bool ever_ok;  /* a completion came through the multishot: it works here */
	bool orphan;
	unsigned busy; /* tasks inside a call on the object */
};

void urt__multis_free_all(struct urt_loop *L);

/* Set up s for fd on L (the backend's multishot call: have; NULL: none). */
static inline void urt__mshot_init(struct urt__mshot *s, struct urt_loop *L, int fd, bool have,
				   void (*on_cqe)(struct urt__multi *, int, unsigned),
				   void (*destroy)(struct urt__multi *))
{
	s->m.on_cqe = on_cqe;
	s->m.destroy = destroy;
	s->fd = fd;
	s->fallback = (L->opt_flags & URT_OPT_NO_MULTISHOT) || !have;
	urt__list_add_tail(&L->multis, &s->m.link);
	urt__close_hook_add(L, urt__multis_free_all, URT__CLOSE_OBJECTS);
}

/*
 * The start of on_cqe: returns whether more completions follow. *refused:
 * the kernel refused the multishot itself (-EINVAL before any success, and
 * the request ended): s falls back to plain calls from now on.
 */
static inline bool urt__mshot_cqe(struct urt__mshot *s, int res, unsigned flags, bool *refused)
{
	bool more = flags & URT__MORE;
	if (!more)
		s->armed = false;
	*refused = res == -EINVAL && !s->ever_ok && !more && !s->orphan;
	if (*refused)
		s->fallback = true;
	return more;
}

/* An orphan whose request has ended, with no task inside: free it now. */
static inline bool urt__mshot_gone(const struct urt__mshot *s)
{
	return s->orphan && !s->armed && !s->busy;
}

/* The user frees s: end its request (its last completion still comes). */
static inline void urt__mshot_orphan(struct urt__mshot *s)
{
	s->orphan = true;
	if (s->armed)
		urt__L->be->multi_cancel(&s->m);
}

#endif
