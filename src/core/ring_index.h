/* SPDX-License-Identifier: MIT */
/*
 * Indices of a ring of `cap` slots (any cap, not only powers of two),
 * wrapped with a compare instead of %: a 64-bit division per item was a
 * third of a queue's cost (callgrind, bench/offload.c). Valid while head
 * < cap and i <= cap, which every ring here keeps.
 */
#ifndef URT_CORE_RING_INDEX_H
#define URT_CORE_RING_INDEX_H

#include <stddef.h>

/* The slot i places after head. */
static inline size_t urt__ring_at(size_t head, size_t i, size_t cap)
{
	size_t k = head + i;
	return k >= cap ? k - cap : k;
}

/* The slot after k. */
static inline size_t urt__ring_next(size_t k, size_t cap)
{
	return ++k == cap ? 0 : k;
}

#endif
