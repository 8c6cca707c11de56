/* SPDX-License-Identifier: MIT */
/*
 * Portable context switch on ucontext (makecontext/swapcontext), for
 * architectures without a hand-written switch. About 10x slower than the
 * assembly versions: swapcontext saves and restores the signal mask with a
 * system call on every switch.
 */
#include <pthread.h>
#include <signal.h>

#include "arch/switch.h"

void urt__ctx_switch(struct urt__ctx *from, struct urt__ctx *to)
{
	/* swapcontext restores the mask saved with `to`, which would undo a
	   sigprocmask made since (urt_signal_wait blocks its set): the mask is
	   the thread's, not the task's, so carry the current one over. */
	pthread_sigmask(SIG_SETMASK, NULL, &to->uc.uc_sigmask);
	swapcontext(&from->uc, &to->uc);
}

void urt__ctx_make(struct urt__ctx *c, void *stack_lo, size_t size, void (*entry)(void))
{
	getcontext(&c->uc);
	c->uc.uc_stack.ss_sp = stack_lo;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	makecontext(&c->uc, entry, 0);
}
