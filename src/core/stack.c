/* SPDX-License-Identifier: MIT */
/*
 * Task stacks.
 *
 * A stack is a slot of usable stack with a guard page below it and this
 * file's small header at the very top. Stacks of the loop's default size
 * are carved from slabs (one mmap for SLAB_STACKS slots, unmapped only when
 * the loop ends) and recycled through a per-loop LIFO pool: a fresh
 * stack costs a page fault and a guard syscall, a pooled one nothing.
 * Other sizes get a mapping of their own, kept in a small per-size cache
 * (OWN_CLASSES sizes, OWN_CACHE_MAX stacks each) and unmapped beyond it.
 *
 * Pages are touched lazily: a task that stays shallow costs one page of
 * RSS, not its whole stack. When the loop goes idle with more than
 * POOL_HOT stacks pooled, the excess is handed back with MADV_FREE.
 *
 * Guard pages, best first (probed once, at run time):
 *  1. MADV_GUARD_INSTALL (Linux 6.13+): a guard marker in the page tables,
 *     no VMA of its own, so any number of stacks can be guarded;
 *  2. mprotect(PROT_NONE): splits the VMA, and Linux caps a process at
 *     vm.max_map_count VMAs (65530 by default), so it is used for up to
 *     half that many stacks;
 *  3. beyond that, a canary word at the low end, checked whenever the task
 *     switches out (catches most overflows, after the fact).
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
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/core.h"
#include "core/sanitizer.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define SLAB_STACKS 64
#define POOL_HOT 1024 /* pooled stacks kept resident when the loop idles */

enum guard_kind { GUARD_NONE, GUARD_MADVISE, GUARD_MPROTECT };

struct urt__stack {
	struct urt__stack *next; /* pool link */
	char *lo;                /* lowest usable byte; the guard page is below */
	size_t size;             /* usable bytes, from lo up to this header */
	unsigned vg_id;
	uint8_t guard;           /* enum guard_kind */
	bool own_map;            /* a mapping of its own (not from a slab) */
	bool trimmed;            /* pages handed back with MADV_FREE */
};

struct urt__slab {
	struct urt__slab *next;
	char *map;
	size_t map_size;
	bool guarded; /* every slot's guard page installed at creation */
};

/* The pools live in the loop (struct urt__stack_pool, core.h: L->stacks),
   so what a loop owns is visible in its struct; stacks of other sizes than
   the loop default are cached per slot size there too (own[]). */
#define OWN_CLASSES URT__STACK_CLASSES
#define OWN_CACHE_MAX 256

static size_t page_size;
struct urt__stack_test urt__stack_test;
static atomic_int madv_guard = -1;        /* -1 unknown, 0 no, 1 yes */
static atomic_long mprotect_left = -1;    /* VMA budget for mprotect guards */

#define HDR_SIZE ((sizeof(struct urt__stack) + 63) & ~(size_t)63)

static long mprotect_budget(void)
{
	long max = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 65530;
		fclose(f);
	}
	long budget = max / 2 - 4096; /* two VMAs per stack; room for the rest */
	return budget > 0 ? budget : 0;
}

static bool take_mprotect_budget(void)
{
	long v = atomic_load(&mprotect_left);
	if (v < 0) {
		long expect = -1;
		atomic_compare_exchange_strong(&mprotect_left, &expect, mprotect_budget());
	}
	for (v = atomic_load(&mprotect_left); v > 0;)
		if (atomic_compare_exchange_weak(&mprotect_left, &v, v - 1))
			return true;
	return false;
}

/* Make the page at g a guard page, the best way this kernel allows. */
static enum guard_kind guard_install(char *g)
{
	if (urt__stack_test.no_guard)
		goto canary;
	if (atomic_load_explicit(&madv_guard, memory_order_relaxed) != 0) {
		if (madvise(g, page_size, MADV_GUARD_INSTALL) == 0) {
			atomic_store_explicit(&madv_guard, 1, memory_order_relaxed);
			return GUARD_MADVISE;
		}
		if (errno == EINVAL)
			atomic_store_explicit(&madv_guard, 0, memory_order_relaxed);
	}
	if (take_mprotect_budget()) {
		if (mprotect(g, page_size, PROT_NONE) == 0)
			return GUARD_MPROTECT;
		atomic_fetch_add(&mprotect_left, 1);
	}
canary:
	*(uint64_t *)(g + page_size) = URT__CANARY;
	return GUARD_NONE;
}

/*
 * Install the guard pages of a whole new slab with one process_madvise
 * call on ourselves (Linux 6.13+): one system call per SLAB_STACKS stacks
 * instead of one each. Returns false when the kernel cannot, and the
 * stacks then install their guards one by one. The pidfd it needs is the
 * loop's, opened on first use and closed with the loop's stacks
 * (urt__stacks_free_all), so no descriptor outlives the loop.
 */
static bool slab_guards_batch(char *map, size_t slot)
{
	struct urt_loop *L = urt__L;
	if (atomic_load_explicit(&madv_guard, memory_order_relaxed) == 0 || urt__stack_test.no_guard)
		return false;
	if (L->stack_pidfd < 0)
		L->stack_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (L->stack_pidfd < 0)
		return false;
	struct iovec iov[SLAB_STACKS];
	for (int i = 0; i < SLAB_STACKS; i++) {
		iov[i].iov_base = map + (size_t)i * slot;
		iov[i].iov_len = page_size;
	}
	long r = syscall(SYS_process_madvise, L->stack_pidfd, iov, SLAB_STACKS, MADV_GUARD_INSTALL, 0);
	return r == (long)(SLAB_STACKS * page_size);
}

/* Bytes a slot takes: guard page + usable stack + header, page-rounded. */
static size_t slot_size(size_t size)
{
	size_t n = page_size + size + HDR_SIZE;
	return (n + page_size - 1) & ~(page_size - 1);
}

/* Set up the stack occupying [slot, slot + slot_bytes); `guarded`: its
   guard page is installed already. */
static struct urt__stack *stack_init(char *slot, size_t slot_bytes, bool own_map, bool guarded)
{
	struct urt__stack *s = (struct urt__stack *)(slot + slot_bytes - HDR_SIZE);
	s->next = NULL;
	s->lo = slot + page_size;
	s->size = (size_t)((char *)s - s->lo);
	s->own_map = own_map;
	s->trimmed = false;
	s->guard = (uint8_t)(guarded ? GUARD_MADVISE : guard_install(slot));
	s->vg_id = urt__vg_stack_register(s->lo, (char *)s);
	atomic_fetch_add_explicit(&urt__live.stacks, 1, memory_order_relaxed);
	return s;
}

static void *map_anon(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* A never-used stack of the pooled size, from the current slab or a new one. */
static struct urt__stack *slab_take(void)
{
	struct urt__stack_pool *P = &urt__L->stacks;
	size_t slot = slot_size(P->size);
	struct urt__slab *sl = P->slabs;
	if (!sl || !P->fresh) {
		sl = malloc(sizeof *sl);
		if (!sl)
			return NULL;
		sl->map_size = slot * SLAB_STACKS;
		sl->map = map_anon(sl->map_size);
		if (!sl->map) {
			free(sl);
			return NULL;
		}
		sl->guarded = slab_guards_batch(sl->map, slot);
		sl->next = P->slabs;
		P->slabs = sl;
		P->fresh = (struct urt__stack *)sl->map; /* cursor: next unused slot */
	}
	char *at = (char *)P->fresh;
	char *next = at + slot;
	P->fresh = next < sl->map + sl->map_size ? (struct urt__stack *)next : NULL;
	return stack_init(at, slot, false, sl->guarded);
}

static void stack_unmap_own(struct urt__stack *s)
{
	atomic_fetch_sub_explicit(&urt__live.stacks, 1, memory_order_relaxed);
	urt__vg_stack_deregister(s->vg_id);
	if (s->guard == GUARD_MPROTECT)
		atomic_fetch_add(&mprotect_left, 1);
	char *map = s->lo - page_size;
	munmap(map, (size_t)((char *)s + HDR_SIZE - map));
}

/* The page size, read once (guard pages, slot sizes). */
static void page_size_init(void)
{
	page_size = (size_t)sysconf(_SC_PAGESIZE);
}

/* Process-wide facts the stack code needs, once (every loop's creation
   calls this, so loops on several threads never race on them). */
void urt__stack_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, page_size_init);
}

/*
 * A stack with at least `size` usable bytes. Returns NULL when memory (or
 * address space) runs out.
 */
struct urt__stack *urt__stack_get(size_t size)
{
	struct urt_loop *L = urt__L;
	struct urt__stack_pool *P = &L->stacks;
	if (P->size != L->stack_size) {
		urt__stacks_free_all(); /* first use in this loop */
		P->size = L->stack_size;
	}
	if (size == P->size) {
		struct urt__stack *s = P->head;
		if (s) {
			P->head = s->next;
			P->len--;
			if (unlikely(s->trimmed)) {
				P->trimmed--;
				/* the canary's page was handed back (MADV_FREE) and
				   may read as zeros now: a false overflow otherwise */
				if (s->guard == GUARD_NONE)
					*(uint64_t *)s->lo = URT__CANARY;
				s->trimmed = false;
			}
			return s;
		}
		return slab_take();
	}
	size_t n = slot_size(size);
	for (int i = 0; i < OWN_CLASSES; i++) {
		if (P->own[i].slot == n && P->own[i].head) {
			struct urt__stack *s = P->own[i].head;
			P->own[i].head = s->next;
			P->own[i].len--;
			return s;
		}
	}
	char *map = map_anon(n);
	return map ? stack_init(map, n, true, false) : NULL;
}

/* Keep an own-mapping stack for the next spawn of the same size: tasks
   spawned with a custom stack_size in a loop would otherwise cost an
   mmap, a guard madvise and a munmap each. */
static bool own_cache_put(struct urt__stack *s)
{
	struct urt__stack_pool *P = &urt__L->stacks;
	size_t slot = page_size + s->size + HDR_SIZE;
	int free_class = -1;
	for (int i = 0; i < OWN_CLASSES; i++) {
		if (P->own[i].slot == slot) {
			if (P->own[i].len >= OWN_CACHE_MAX)
				return false;
			s->next = P->own[i].head;
			P->own[i].head = s;
			P->own[i].len++;
			return true;
		}
		if (free_class < 0 && !P->own[i].head)
			free_class = i;
	}
	if (free_class < 0)
		return false;
	P->own[free_class].slot = slot;
	s->next = NULL;
	P->own[free_class].head = s;
	P->own[free_class].len = 1;
	return true;
}

void urt__stack_put(struct urt__stack *s)
{
	struct urt__stack_pool *P = &urt__L->stacks;
	if (s->own_map) {
		if (!own_cache_put(s))
			stack_unmap_own(s);
		return;
	}
	s->next = P->head;
	P->head = s;
	P->len++;
}

/*
 * The loop is about to sleep: hand the pages of pooled stacks beyond the
 * hot ones back to the kernel (MADV_FREE: reclaimed only under memory
 * pressure, and a reused page costs at most a fault).
 */
void urt__stacks_trim(void)
{
	struct urt__stack_pool *P = &urt__L->stacks;
	unsigned hot = urt__stack_test.pool_hot ? urt__stack_test.pool_hot : POOL_HOT;
	/* Puts and gets happen at the head and a trim stops at the first
	   trimmed stack, so the pool is its untrimmed stacks, then its
	   trimmed ones. A trim walks past the hot ones to hand back the
	   untrimmed rest, so it waits until that rest is a quarter of the hot
	   count: at most five headers looked at per stack handed back. (It
	   walked the whole list, trimmed stacks included, every time the loop
	   went to sleep with more than the hot count pooled: after a peak of
	   connections, 1,000+ pointer chases a page apart per sleep, 3.8 % of
	   urt-httpd's time under new TLS connections; bench/RESULTS.md, "TLS".
	   A doubly linked pool that walks only what it trims cost 19
	   instructions per spawn and join, +2.7 % on callgrind bench_spawn.) */
	if (P->len - P->trimmed <= hot + hot / 4)
		return;
	int advice = urt__stack_test.trim_dontneed ? MADV_DONTNEED : MADV_FREE;
	unsigned i = 0;
	for (struct urt__stack *s = P->head; s && !s->trimmed; s = s->next) {
		__atomic_add_fetch(&urt__stack_test.trim_steps, 1, __ATOMIC_RELAXED); /* loops share it */
		if (++i <= hot)
			continue;
		/* keep the top page: it holds the header and the pool link */
		size_t keep = (size_t)(((char *)s - s->lo) % page_size) + HDR_SIZE;
		size_t len = (s->size + HDR_SIZE - keep) & ~(page_size - 1);
		if (len)
			madvise(s->lo, len, advice);
		s->trimmed = true;
		P->trimmed++;
	}
}

void urt__stacks_free_all(void)
{
	struct urt__stack_pool *P = &urt__L->stacks;
	for (int i = 0; i < OWN_CLASSES; i++) {
		while (P->own[i].head) {
			struct urt__stack *s = P->own[i].head;
			P->own[i].head = s->next;
			stack_unmap_own(s);
		}
		P->own[i].len = 0;
		P->own[i].slot = 0;
	}
	P->head = NULL;
	P->len = P->trimmed = 0;
	P->fresh = NULL;
	while (P->slabs) {
		struct urt__slab *sl = P->slabs;
		P->slabs = sl->next;
		size_t slot = slot_size(P->size);
		for (char *p = sl->map; p + slot <= sl->map + sl->map_size; p += slot) {
			struct urt__stack *s = (struct urt__stack *)(p + slot - HDR_SIZE);
			if (s->lo != p + page_size)
				break; /* slot never used */
			atomic_fetch_sub_explicit(&urt__live.stacks, 1, memory_order_relaxed);
			urt__vg_stack_deregister(s->vg_id);
			if (s->guard == GUARD_MPROTECT)
				atomic_fetch_add(&mprotect_left, 1);
		}
		munmap(sl->map, sl->map_size);
		free(sl);
	}
	if (urt__L->stack_pidfd >= 0) {
		close(urt__L->stack_pidfd);
		urt__L->stack_pidfd = -1;
	}
}

void *urt__stack_lo(const struct urt__stack *s)
{
	return s->lo;
}

size_t urt__stack_size(const struct urt__stack *s)
{
	return s->size;
}

void urt__stack_overflow(const urt_task *t)
{
	char msg[128];
	int n = snprintf(msg, sizeof msg, "urt: stack overflow in task '%s' (stack %zu bytes)\n",
			 t->name, t->stack ? t->stack->size : (size_t)0);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		n = 0;
	abort();
}

/* The canary of an unguarded stack (checked when its task switches out),
   or NULL for a stack with a guard page. */
const uint64_t *urt__stack_canary(const struct urt__stack *s)
{
	return s->guard != GUARD_NONE ? NULL : (const uint64_t *)s->lo;
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
	if (t && t->stack && t->stack->guard != GUARD_NONE) {
		char *a = si->si_addr;
		char *g = t->stack->lo - page_size;
		/* the guard page, or just below it (a big frame can skip the page) */
		if (a >= g - 16 * page_size && a < g + page_size)
			urt__stack_overflow(t);
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
