/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the urt tools. */
#ifndef URT_TOOL_H
#define URT_TOOL_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <urt.h>

/* Many files or connections in flight need fds: take the hard limit. */
static inline void tool_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * The next connection from an acceptor (or, if acc is NULL, a one-shot
 * accept on lfd): its fd, or -ECANCELED when the server is stopping. Out of
 * fds it backs off for 10 ms instead of spinning; other accept errors are
 * reported (prefixed with name) and skipped.
 */
static inline int tool_accept(urt_acceptor *acc, int lfd, const char *name)
{
	for (;;) {
		int fd = acc ? urt_acceptor_accept(acc) : urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0 || fd == -ECANCELED)
			return fd;
		if (fd == -EMFILE || fd == -ENFILE) {
			if (urt_sleep_ms(10) == -ECANCELED)
				return -ECANCELED;
		} else if (fd != -ECONNABORTED && fd != -EINTR) {
			fprintf(stderr, "%s: accept: %s\n", name, strerror(-fd));
		}
	}
}

/* The signals that stop a server: SIGINT and SIGTERM. */
static inline sigset_t tool_stop_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return set;
}

/*
 * Run a server's main task: the stop signals are blocked first (pending
 * until the server's urt_signal_wait takes them), SIGPIPE is ignored, the
 * fd limit raised. Returns the process exit status; name prefixes errors.
 */
static inline int tool_run_server(const char *name, size_t stack, int (*fn)(void *), void *arg)
{
	tool_raise_nofile();
	sigset_t set = tool_stop_signals();
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct urt_options o = {.sq_entries = 1024, .stack_size = stack, .flags = URT_OPT_QUIET};
	int r = urt_run_opts(&o, fn, arg);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", name, strerror(-r));
		return 1;
	}
	return r;
}

#endif
