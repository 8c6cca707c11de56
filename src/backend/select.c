/* SPDX-License-Identifier: MIT */
/*
 * Which backend a new loop runs on: io_uring unless told otherwise or
 * refused (seccomp, kernel.io_uring_disabled, no io_uring in this kernel, a
 * memlock limit on old kernels), then epoll. URT_BACKEND (io_uring or
 * epoll) and the URT_OPT_BACKEND_* flags force one. The one file that
 * names both backends; the loop gets a table (core/backend.h).
 */
#include <errno.h>

#include "core/core.h"
#include "core/fault.h"
#include "backend/select.h"

extern const struct urt__backend urt__backend_uring, urt__backend_epoll;

int urt__backend_open(struct urt_loop *L, const struct urt_options *o, unsigned sq, unsigned cq)
{
	bool epoll = L->opt_flags & URT_OPT_BACKEND_EPOLL;
	bool uring_only = L->opt_flags & URT_OPT_BACKEND_URING;
	switch (urt__env().backend) {
	case URT__ENV_BE_EPOLL:
		epoll = true;
		break;
	case URT__ENV_BE_URING:
		uring_only = true, epoll = false;
		break;
	case URT__ENV_BE_BAD:
		return -EINVAL;
	}
	if (epoll && uring_only)
		return -EINVAL;
	int r = -EINVAL;
	if (!epoll)
		r = urt__backend_uring.init(L, o, sq, cq);
	if (r && !uring_only)
		r = urt__backend_epoll.init(L, o, sq, cq);
#if URT__FAULT_INJECTION
	if (r == 0 && L->fault)
		urt__fault_wrap(L);
#endif
	return r;
}
