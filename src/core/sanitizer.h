/* SPDX-License-Identifier: MIT */
/*
 * Stack-switch annotations for AddressSanitizer and Valgrind. Without those
 * tools every helper compiles to nothing (Valgrind's client requests are a
 * few no-op instructions when not running under Valgrind).
 */
#ifndef URT__SANITIZER_H
#define URT__SANITIZER_H

#include <stddef.h>
#include "config.h"

#if defined(__SANITIZE_ADDRESS__) || defined(URT__ASAN)
#define URT__HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define URT__HAVE_ASAN 1
#endif
#endif

#ifdef URT__HAVE_ASAN
void __sanitizer_start_switch_fiber(void **fake_stack_save, const void *bottom, size_t size);
void __sanitizer_finish_switch_fiber(void *fake_stack_save, const void **bottom_old, size_t *size_old);

/* Before switching to a stack [lo, lo+size). `dying`: the current fiber never
   runs again, so ASan may free its fake stack. */
#define urt__asan_start(save, dying, lo, size) \
	__sanitizer_start_switch_fiber((dying) ? NULL : (save), (lo), (size))
#define urt__asan_finish(save, old_lo, old_size) \
	__sanitizer_finish_switch_fiber((save), (old_lo), (old_size))
#else
/* arguments are not evaluated: they may be calls we do not want on the hot path */
#define urt__asan_start(save, dying, lo, size) ((void)0)
#define urt__asan_finish(save, old_lo, old_size) ((void)0)
#endif

/*
 * ThreadSanitizer: each task is a TSan fiber, so TSan keeps a shadow call
 * stack per task instead of one that grows with every switch (which
 * overflowed its 64k-frame depot after ~100k task switches) and orders a
 * switch like a hand-off.
 */
#if defined(__SANITIZE_THREAD__)
#define URT__HAVE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define URT__HAVE_TSAN 1
#endif
#endif

#ifdef URT__HAVE_TSAN
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
#define urt__tsan_current() __tsan_get_current_fiber()
#define urt__tsan_create() __tsan_create_fiber(0)
#define urt__tsan_destroy(f) __tsan_destroy_fiber(f)
#define urt__tsan_switch(f) __tsan_switch_to_fiber((f), 0)
#else
#define urt__tsan_current() NULL
#define urt__tsan_create() NULL
#define urt__tsan_destroy(f) ((void)0)
#define urt__tsan_switch(f) ((void)0)
#endif

#if HAVE_VALGRIND_H
#include <valgrind/valgrind.h>
#define urt__vg_stack_register(lo, hi) VALGRIND_STACK_REGISTER((lo), (hi))
#define urt__vg_stack_deregister(id) VALGRIND_STACK_DEREGISTER(id)
#else
#define urt__vg_stack_register(lo, hi) 0u
#define urt__vg_stack_deregister(id) ((void)(id))
#endif

#endif
