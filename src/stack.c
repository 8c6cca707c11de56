/* SPDX-License-Identifier: MIT */
/*
 * Task stacks.
 *
 * A stack is one private anonymous mapping: a PROT_NONE guard page at the
 * low end, then the usable stack, with this file's small header at the very
 * top. Freed stacks of the loop's default size go to a per-thread LIFO pool
 * (hot pages, no system call to reuse: a fresh mapping costs ~14 us here
 * with its first page faults, a pooled one nothing). Other sizes are
 * unmapped when freed.
 *
 * Pages are touched lazily, so 100k tasks with 64 KiB stacks cost the pages
 * they use (usually one or two each), not 6 GiB.
 *
 * Guard pages cost a VMA each (the guard splits the mapping), and Linux
 * limits a process to vm.max_map_count VMAs (65530 by default). Past a
 * budget of half that, new stacks are mapped without a guard page and carry
 * a canary word at their low end instead, checked each time the task
 * switches out; a smashed canary is reported like a guard-page hit.
 *
 * A guard-page hit raises SIGSEGV; the handler (on an alternate signal
 * stack) recognises the current task's guard page, prints the task's name
 * and aborts. Any other SIGSEGV goes to the previous handler.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"
#include "sanitizer.h"

#define URT_CANARY UINT64_C(0x75727421cafef00d)
#define URT_POOL_MAX 4096 /* pooled stacks kept per thread; the rest are unmapped */

struct urt__stack {
	struct urt__stack *next; /* pool link */
	char *map;               /* start of the mapping (guard page or canary) */
	size_t map_size;
	size_t size;             /* usable bytes below this header */
	unsigned vg_id;
	bool guarded;
};

static __thread struct urt__stack *pool;
static __thread unsigned pool_len;
static __thread size_t pool_size; /* the size pooled stacks have */

static size_t page_size;
static atomic_long guards_left = -1; /* VMA budget for guard pages; -1 = not read yet */

static long guard_budget(void)
{
	long max = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 65530;
		fclose(f);
	}
	/* each guarded stack costs two VMAs; leave room for everything else */
	long budget = max / 2 - 4096;
	return budget > 0 ? budget : 0;
}

static bool take_guard(void)
{
	long v = atomic_load(&guards_left);
	if (v < 0) {
		long expect = -1;
		atomic_compare_exchange_strong(&guards_left, &expect, guard_budget());
	}
	for (v = atomic_load(&guards_left); v > 0;)
		if (atomic_compare_exchange_weak(&guards_left, &v, v - 1))
			return true;
	return false;
}

/* Map a new stack of `size` usable bytes. NULL on failure. */
static struct urt__stack *stack_map(size_t size)
{
	if (!page_size)
		page_size = (size_t)sysconf(_SC_PAGESIZE);
	size_t hdr = (sizeof(struct urt__stack) + 63) & ~(size_t)63;
	size_t map_size = page_size + size + hdr;
	map_size = (map_size + page_size - 1) & ~(page_size - 1);

	char *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	bool guarded = take_guard();
	if (guarded && mprotect(map, page_size, PROT_NONE) != 0) {
		atomic_fetch_add(&guards_left, 1);
		guarded = false;
	}
	if (!guarded)
		*(uint64_t *)map = URT_CANARY;

	struct urt__stack *s = (struct urt__stack *)(map + map_size - hdr);
	s->next = NULL;
	s->map = map;
	s->map_size = map_size;
	s->size = (size_t)((char *)s - (map + page_size));
	s->guarded = guarded;
	s->vg_id = urt__vg_stack_register(map + page_size, (char *)s);
	return s;
}

static void stack_unmap(struct urt__stack *s)
{
	urt__vg_stack_deregister(s->vg_id);
	if (s->guarded)
		atomic_fetch_add(&guards_left, 1);
	munmap(s->map, s->map_size);
}

/*
 * A stack with at least `size` usable bytes, from the pool when `size` is
 * the pooled size. Returns NULL when memory (or address space) runs out.
 */
struct urt__stack *urt__stack_get(size_t size)
{
	if (size == pool_size && pool) {
		struct urt__stack *s = pool;
		pool = s->next;
		pool_len--;
		return s;
	}
	return stack_map(size);
}

void urt__stack_put(struct urt__stack *s)
{
	struct urt_loop *L = urt__L;
	if (L && pool_size != L->stack_size) {
		/* first use on this thread, or the default changed: drop the old pool */
		urt__stacks_free_all();
		pool_size = L->stack_size;
	}
	if (s->size >= pool_size && s->size < pool_size + page_size && pool_len < URT_POOL_MAX) {
		s->next = pool;
		pool = s;
		pool_len++;
		return;
	}
	stack_unmap(s);
}

void urt__stacks_free_all(void)
{
	while (pool) {
		struct urt__stack *s = pool;
		pool = s->next;
		stack_unmap(s);
	}
	pool_len = 0;
}

void *urt__stack_lo(const struct urt__stack *s)
{
	return (char *)s - s->size;
}

size_t urt__stack_size(const struct urt__stack *s)
{
	return s->size;
}

static void die_overflow(const urt_task *t)
{
	char msg[128];
	int n = snprintf(msg, sizeof msg, "urt: stack overflow in task '%s' (stack %zu bytes)\n",
			 t->name, t->stack ? t->stack->size : (size_t)0);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		n = 0;
	abort();
}

/* Called when a task switches out: unguarded stacks keep a canary. */
void urt__stack_check(const urt_task *t)
{
	const struct urt__stack *s = t->stack;
	if (unlikely(!s->guarded) && *(const uint64_t *)s->map != URT_CANARY)
		die_overflow(t);
}

/* ---- SIGSEGV on the guard page ---- */

static struct sigaction old_segv;
static int handler_users; /* loops running (all threads); guarded by handler_lock */
static pthread_mutex_t handler_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread void *altstack;
static __thread bool altstack_ours;

static void on_segv(int sig, siginfo_t *si, void *uctx)
{
	struct urt_loop *L = urt__L;
	urt_task *t = L ? L->current : NULL;
	if (t && t->stack && t->stack->guarded) {
		char *a = si->si_addr;
		char *g = t->stack->map;
		/* the guard page, or just below it (a big frame can skip the page) */
		if (a >= g - 16 * page_size && a < g + page_size)
			die_overflow(t);
	}
	if (old_segv.sa_flags & SA_SIGINFO) {
		old_segv.sa_sigaction(sig, si, uctx);
	} else if (old_segv.sa_handler != SIG_IGN && old_segv.sa_handler != SIG_DFL) {
		old_segv.sa_handler(sig);
	} else {
		/* default action: return and let the fault repeat, now fatal */
		signal(SIGSEGV, SIG_DFL);
	}
}

/*
 * Install the SIGSEGV handler (process-wide, first loop only) and an
 * alternate signal stack for this thread (if it has none), so a stack
 * overflow can be reported. Returns 0 or -errno.
 */
int urt__overflow_handler_install(void)
{
	stack_t cur;
	if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) {
		size_t sz = 64 * 1024;
		altstack = malloc(sz);
		if (!altstack)
			return -ENOMEM;
		stack_t ss = {.ss_sp = altstack, .ss_size = sz, .ss_flags = 0};
		if (sigaltstack(&ss, NULL) == 0) {
			altstack_ours = true;
		} else {
			free(altstack);
			altstack = NULL;
		}
	}
	pthread_mutex_lock(&handler_lock);
	if (handler_users++ == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_segv;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGSEGV, &sa, &old_segv);
	}
	pthread_mutex_unlock(&handler_lock);
	return 0;
}

void urt__overflow_handler_remove(void)
{
	pthread_mutex_lock(&handler_lock);
	if (--handler_users == 0)
		sigaction(SIGSEGV, &old_segv, NULL);
	pthread_mutex_unlock(&handler_lock);
	if (altstack_ours) {
		stack_t ss = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
		sigaltstack(&ss, NULL);
		free(altstack);
		altstack = NULL;
		altstack_ours = false;
	}
}
