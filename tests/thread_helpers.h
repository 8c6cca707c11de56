/* SPDX-License-Identifier: MIT */
/* Thread counting for the suites that start threads (offload, stall). */
#ifndef URT_TEST_THREAD_HELPERS_H
#define URT_TEST_THREAD_HELPERS_H

#include <dirent.h>
#include <pthread.h>

#include "helpers.h"

/* Threads of this process now (entries of /proc/self/task). */
static inline int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static inline void *noop_thread(void *arg)
{
	return arg;
}

/* Start and join one thread before counting threads: a sanitizer runtime
   may start a helper thread of its own at the first pthread_create
   (ThreadSanitizer does), which must be in the baseline. */
static inline void warm_threads(void)
{
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, noop_thread, NULL), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
}

#endif
