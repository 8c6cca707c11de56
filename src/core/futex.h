/* SPDX-License-Identifier: MIT */
/*
 * The futex calls of the cross-thread primitives, written once: a plain
 * thread (not a loop's task) that waits for a word to change sleeps on it,
 * and the thread that changes it wakes one sleeper. Private futexes: the
 * words never leave this process. glibc has no wrapper, hence syscall(2).
 */
#ifndef URT_CORE_FUTEX_H
#define URT_CORE_FUTEX_H

#include <linux/futex.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleep while *word == val, at most rel (NULL: no limit). Spurious
   returns happen (EINTR, EAGAIN when it changed first): callers loop on
   their condition. */
static inline void urt__futex_wait(_Atomic int *word, int val, const struct timespec *rel)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, rel, NULL, 0);
}

/* Wake one thread sleeping on word (after storing its new value). */
static inline void urt__futex_wake_one(_Atomic int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

#endif
