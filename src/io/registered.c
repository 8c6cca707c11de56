/* SPDX-License-Identifier: MIT */
/*
 * Registered buffers and files, through the backend's table. io_uring
 * keeps them in kernel tables (backend/uring/ring.c); on epoll a fixed fd
 * is a slot of a plain table that each op looks up, and a registered
 * buffer is just a buffer (backend/epoll/loop.c).
 */
#include <unistd.h>

#include "core/core.h"
#include "io/io.h"

/* close(2) without the backend, for callers outside a task. */
int urt__close_sync(int fd)
{
	struct urt_loop *L = urt__L;
	if (URT_IS_FIXED_FD(fd)) {
		if (!L)
			return -EBADF; /* fixed slots exist only inside a loop */
		return L->be->fixed_close(L, fd);
	}
	if (L && L->be->fd_closing)
		L->be->fd_closing(L, fd);
	return close(fd) == 0 ? 0 : -errno;
}

int urt_register_buffers(const struct iovec *iov, unsigned n)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return -EPERM;
	if (!iov || !n)
		return -EINVAL;
	return L->be->register_buffers(L, iov, n);
}

int urt_unregister_buffers(void)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return -EPERM;
	return L->be->register_buffers(L, NULL, 0);
}

int urt_register_files(const int *fds, unsigned n)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return -EPERM;
	if (!fds || !n)
		return -EINVAL;
	return L->be->register_files(L, 0, fds, n, true);
}

int urt_update_files(unsigned first, const int *fds, unsigned n)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return -EPERM;
	if (!fds || !n)
		return -EINVAL;
	return L->be->register_files(L, first, fds, n, false);
}

int urt_unregister_files(void)
{
	struct urt_loop *L = urt__L;
	if (!L)
		return -EPERM;
	return L->be->register_files(L, 0, NULL, 0, true);
}
