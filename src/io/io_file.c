/* SPDX-License-Identifier: MIT */
/*
 * File and pipe I/O: thin wrappers that describe an op and run it on the
 * loop's backend (io/req.h), plus the loops of the full-length helpers.
 * The op record and the caller's buffers live on the task's stack until
 * the backend is done with them, which both backends guarantee.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io/io.h"
#include "io/req.h"

int urt_openat(int dfd, const char *path, int flags, mode_t mode)
{
	if (!path)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_OPENAT, .fd = dfd, .addr = (void *)path,
					  .flags = (uint32_t)flags, .mode = mode});
}

int urt_open(const char *path, int flags, mode_t mode)
{
	return urt_openat(AT_FDCWD, path, flags, mode);
}

/*
 * A close always closes: it is never cancelled and ignores deadline scopes
 * (an abandoned close would leak the fd), and a cancellation or an expired
 * deadline stays pending for the task's next suspension point. Outside a
 * task it closes synchronously.
 */
int urt_close(int fd)
{
	if (!urt__cur())
		return urt__close_sync(fd);
	return urt__io_ex(&(struct urt__req){.op = URT__R_CLOSE, .fd = fd}, true);
}

ssize_t urt_read(int fd, void *buf, size_t n, int64_t off)
{
	return urt__io(&(struct urt__req){.op = URT__R_READ, .fd = fd, .addr = buf,
					  .len = urt__clamp_len(n), .off = (uint64_t)off});
}

ssize_t urt_write(int fd, const void *buf, size_t n, int64_t off)
{
	return urt__io(&(struct urt__req){.op = URT__R_WRITE, .fd = fd, .addr = (void *)buf,
					  .len = urt__clamp_len(n), .off = (uint64_t)off});
}

ssize_t urt_readv(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	return urt__io(&(struct urt__req){.op = URT__R_READV, .fd = fd, .addr = (void *)iov,
					  .len = (uint32_t)iovcnt, .off = (uint64_t)off});
}

ssize_t urt_writev(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	return urt__io(&(struct urt__req){.op = URT__R_WRITEV, .fd = fd, .addr = (void *)iov,
					  .len = (uint32_t)iovcnt, .off = (uint64_t)off});
}

ssize_t urt_read_full_ex(int fd, void *buf, size_t n, int64_t off, size_t *done)
{
	size_t got = 0;
	ssize_t r = 0;
	while (got < n) {
		r = urt_read(fd, (char *)buf + got, n - got, off < 0 ? -1 : off + (int64_t)got);
		if (r <= 0)
			break; /* 0: EOF, reported as the short count */
		got += (size_t)r;
	}
	if (done)
		*done = got;
	return r < 0 ? r : (ssize_t)got;
}

static ssize_t write_step(int fd, const char *p, size_t len, int64_t at, int flags)
{
	(void)flags;
	return urt_write(fd, p, len, at);
}

ssize_t urt_write_all_ex(int fd, const void *buf, size_t n, int64_t off, size_t *done)
{
	return urt__put_all(write_step, fd, buf, n, off, 0, done);
}

ssize_t urt_read_full(int fd, void *buf, size_t n, int64_t off)
{
	return urt_read_full_ex(fd, buf, n, off, NULL);
}

ssize_t urt_write_all(int fd, const void *buf, size_t n, int64_t off)
{
	return urt_write_all_ex(fd, buf, n, off, NULL);
}

int urt_fsync(int fd)
{
	return urt__io(&(struct urt__req){.op = URT__R_FSYNC, .fd = fd});
}

int urt_fdatasync(int fd)
{
	return urt__io(&(struct urt__req){.op = URT__R_FSYNC, .fd = fd, .flags = URT__FSYNC_DATA});
}

int urt_statx(int dfd, const char *path, int flags, unsigned mask, struct statx *out)
{
	if (!path || !out)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_STATX, .fd = dfd, .addr = (void *)path,
					  .flags = (uint32_t)flags, .mode = mask, .addr2 = out});
}

int urt_fallocate(int fd, int mode, int64_t off, int64_t len)
{
	if (off < 0 || len <= 0)
		return -EINVAL;
	return urt__io(&(struct urt__req){.op = URT__R_FALLOCATE, .fd = fd, .mode = (uint32_t)mode,
					  .off = (uint64_t)off, .off2 = (uint64_t)len});
}

int urt_ftruncate(int fd, int64_t len)
{
	if (len < 0)
		return -EINVAL;
	return urt__io(&(struct urt__req){.op = URT__R_FTRUNCATE, .fd = fd, .off = (uint64_t)len});
}

int urt_unlinkat(int dfd, const char *path, int flags)
{
	if (!path)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_UNLINKAT, .fd = dfd, .addr = (void *)path,
					  .flags = (uint32_t)flags});
}

int urt_renameat(int olddfd, const char *oldpath, int newdfd, const char *newpath, unsigned flags)
{
	if (!oldpath || !newpath)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_RENAMEAT, .fd = olddfd,
					  .addr = (void *)oldpath, .fd2 = newdfd,
					  .addr2 = (void *)newpath, .flags = flags});
}

int urt_mkdirat(int dfd, const char *path, mode_t mode)
{
	if (!path)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_MKDIRAT, .fd = dfd, .addr = (void *)path,
					  .mode = mode});
}

int urt_symlinkat(const char *target, int newdfd, const char *linkpath)
{
	if (!target || !linkpath)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_SYMLINKAT, .addr = (void *)target,
					  .fd2 = newdfd, .addr2 = (void *)linkpath});
}

int urt_linkat(int olddfd, const char *oldpath, int newdfd, const char *newpath, int flags)
{
	if (!oldpath || !newpath)
		return -EFAULT;
	return urt__io(&(struct urt__req){.op = URT__R_LINKAT, .fd = olddfd, .addr = (void *)oldpath,
					  .fd2 = newdfd, .addr2 = (void *)newpath,
					  .flags = (uint32_t)flags});
}

int urt_unlink(const char *path)
{
	return urt_unlinkat(AT_FDCWD, path, 0);
}

int urt_rename(const char *oldpath, const char *newpath)
{
	return urt_renameat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

int urt_mkdir(const char *path, mode_t mode)
{
	return urt_mkdirat(AT_FDCWD, path, mode);
}

ssize_t urt_splice(int fd_in, int64_t off_in, int fd_out, int64_t off_out, size_t n,
		   unsigned flags)
{
	return urt__io(&(struct urt__req){.op = URT__R_SPLICE, .fd = fd_in, .off = (uint64_t)off_in,
					  .fd2 = fd_out, .off2 = (uint64_t)off_out,
					  .len = urt__clamp_len(n), .flags = flags});
}

int urt_nop(void)
{
	return urt__io(&(struct urt__req){.op = URT__R_NOP});
}

/* ---------------------------------------------------------------------- */
/* Registered buffers and files: io_uring's tables (backend/uring/ring.c); on
   epoll a fixed fd is a slot of a plain table and a registered buffer is
   a buffer (backend/epoll/loop.c). */

ssize_t urt_read_fixed(int fd, void *buf, size_t n, int64_t off, int buf_index)
{
	if (buf_index < 0)
		return -EINVAL;
	return urt__io(&(struct urt__req){.op = URT__R_READ_FIXED, .fd = fd, .addr = buf,
					  .len = urt__clamp_len(n), .off = (uint64_t)off,
					  .buf_index = buf_index});
}

ssize_t urt_write_fixed(int fd, const void *buf, size_t n, int64_t off, int buf_index)
{
	if (buf_index < 0)
		return -EINVAL;
	return urt__io(&(struct urt__req){.op = URT__R_WRITE_FIXED, .fd = fd, .addr = (void *)buf,
					  .len = urt__clamp_len(n), .off = (uint64_t)off,
					  .buf_index = buf_index});
}

/* The backend's hint (io_uring: IOSQE_ASYNC, an io-wq worker from the
   start); epoll: remembered and reported, nothing else (there is no io-wq;
   its files go to the executor anyway). */
bool urt_io_offload(bool on)
{
	struct urt_loop *L = urt__L;
	urt_task *t = L ? L->current : NULL;
	if (!t)
		return false;
	bool was = t->offload_hint;
	t->offload_hint = on;
	t->op_flags = on ? L->be->offload_op_flags : 0;
	return was;
}
