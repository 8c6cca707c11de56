/* SPDX-License-Identifier: MIT */
/*
 * urt tasks inside a plain epoll main loop. The program's loop owns the
 * thread: it waits in epoll_wait on its own fds (here a 5 ms timerfd that
 * stands in for the rest of the program) and on urt_loop_fd, with
 * urt_loop_timeout_ns as the timeout, and calls urt_loop_step whenever it
 * wakes. Exit 0 when every task's result is right.
 */
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include "embed_work.h"

int main(void)
{
	urt_loop *L;
	struct embed_work w;
	if (!(L = embed_work_loop(&w, "epoll_embed")))
		return 1;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int ufd = urt_loop_fd(L);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = {.it_interval.tv_nsec = 5000000, .it_value.tv_nsec = 5000000};
	timerfd_settime(tfd, 0, &its, NULL);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = ufd};
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);

	unsigned long ticks = 0, steps = 0;
	for (;;) {
		int alive = urt_loop_step(L);
		steps++;
		/* done when its tasks are: they were all spawned up front. A
		   loop that takes work from other threads (urt_loop_submit)
		   would keep stepping at 0 until the program decides to stop. */
		if (alive <= 0)
			break;
		int64_t ns = urt_loop_timeout_ns(L);
		int ms = ns < 0 ? -1 : (int)((ns + 999999) / 1000000);
		struct epoll_event out[4];
		int n = epoll_wait(ep, out, 4, ms);
		for (int i = 0; i < n; i++) {
			if (out[i].data.fd == tfd) {
				uint64_t k;
				if (read(tfd, &k, sizeof k) == sizeof k)
					ticks += k; /* the host program's own work */
			}
		}
	}
	int rc = embed_work_finish(L, &w, "epoll_embed");
	printf("epoll_embed: %s (%lu steps, %lu host timer ticks)\n", rc ? "FAILED" : "ok", steps,
	       ticks);
	return rc;
}
