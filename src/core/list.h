/* SPDX-License-Identifier: MIT */
/* Intrusive circular doubly-linked lists (libuv src/queue.h style). An
   unlinked node points at itself, so "is it on a list?" is one compare. */
#ifndef URT__LIST_H
#define URT__LIST_H

#include <stddef.h>
#include "urt.h"

#define urt__container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

static inline void urt__list_init(struct urt_list *h)
{
	h->next = h->prev = h;
}

static inline bool urt__list_empty(const struct urt_list *h)
{
	return h->next == h;
}

/* True when node n is on some list (nodes are re-initialised on removal). */
static inline bool urt__list_linked(const struct urt_list *n)
{
	return n->next != n;
}

static inline void urt__list_add_tail(struct urt_list *h, struct urt_list *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void urt__list_del(struct urt_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

static inline struct urt_list *urt__list_first(const struct urt_list *h)
{
	return h->next;
}

#define urt__list_for_each_safe(pos, tmp, head) \
	for (pos = (head)->next, tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)

#endif
