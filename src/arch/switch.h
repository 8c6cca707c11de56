/* SPDX-License-Identifier: MIT */
/*
 * The context switch: the only architecture-specific interface in urt.
 *
 * urt__ctx_switch(from, to) saves the callee-saved state of the running
 * context into *from and resumes *to. urt__ctx_make prepares *c so that the
 * first switch to it calls entry() on the given stack; entry must never
 * return (a task ends by switching away for the last time).
 *
 * Backends: src/arch/switch_x86_64.S, src/arch/switch_aarch64.S, and
 * src/arch/switch_ucontext.c (portable fallback, -Dcontext=ucontext).
 */
#ifndef URT__ARCH_SWITCH_H
#define URT__ARCH_SWITCH_H

#include <stddef.h>
#include "config.h"

#if URT__CTX_UCONTEXT
#include <ucontext.h>
struct urt__ctx {
	ucontext_t uc;
};
#else
struct urt__ctx {
	void *sp; /* saved stack pointer; everything else lives on that stack */
};
#endif

void urt__ctx_switch(struct urt__ctx *from, struct urt__ctx *to);

/* Start loading a suspended context (its saved registers) into the cache. */
static inline void urt__ctx_prefetch(const struct urt__ctx *c)
{
#if URT__CTX_UCONTEXT
	(void)c;
#else
	__builtin_prefetch(c->sp);
#endif
}
void urt__ctx_make(struct urt__ctx *c, void *stack_lo, size_t size, void (*entry)(void));

#endif
