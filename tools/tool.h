/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the urt tools. */
#ifndef URT_TOOL_H
#define URT_TOOL_H

#include <sys/resource.h>

/* Many files or connections in flight need fds: take the hard limit. */
static inline void tool_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#endif
