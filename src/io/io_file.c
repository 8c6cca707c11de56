/* SPDX-License-Identifier: MIT */
/*
 * File and pipe I/O: thin wrappers that prep an SQE and wait for its CQE
 * (op.h), plus the loops of the full-length helpers and the registered
 * buffer/file tables. Each wrapper is the same four lines on purpose: the
 * op record and the caller's buffers live on the task's stack until the
 * op's CQE has arrived, which urt__op_wait guarantees.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "uring/op.h"

/* Not in liburing 2.3's io_uring.h; the kernel (6.9+) numbers it 55. */
#define URT__IORING_OP_FTRUNCATE 55


/* URT_FIXED_FD(i) → slot i of the registered file table. */
static inline void set_fd(struct io_uring_sqe *sqe, int fd)
{
	if (URT_IS_FIXED_FD(fd)) {
		sqe->fd = fd - URT_FIXED_FD(0);
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

int urt_openat(int dfd, const char *path, int flags, mode_t mode)
{
	if (!path)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_openat(sqe, dfd, path, flags, mode);
	return urt__op_wait(&op, sqe);
}

int urt_open(const char *path, int flags, mode_t mode)
{
	return urt_openat(AT_FDCWD, path, flags, mode);
}

/* close(2) without the ring, for callers outside a task. */
static int close_sync(int fd)
{
	if (URT_IS_FIXED_FD(fd)) {
		struct urt_loop *L = urt__L;
		if (!L)
			return -EBADF; /* fixed slots exist only inside a loop */
		int none = -1;
		int r = io_uring_register_files_update(&L->ring, (unsigned)(fd - URT_FIXED_FD(0)), &none, 1);
		return r < 0 ? r : 0;
	}
	return close(fd) == 0 ? 0 : -errno;
}

/*
 * A close always closes: it is never cancelled and ignores deadline scopes
 * (an abandoned close would leak the fd), and a cancellation or an expired
 * deadline stays pending for the task's next suspension point. Outside a
 * task it closes synchronously.
 */
int urt_close(int fd)
{
	struct urt__op op;
	struct io_uring_sqe *sqe = urt__op_start_nocancel(&op);
	if (!sqe)
		return close_sync(fd);
	if (URT_IS_FIXED_FD(fd))
		io_uring_prep_close_direct(sqe, (unsigned)(fd - URT_FIXED_FD(0)));
	else
		io_uring_prep_close(sqe, fd);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_read(int fd, void *buf, size_t n, int64_t off)
{
	OP_BEGIN_OR_RETURN;
	io_uring_prep_read(sqe, fd, buf, urt__clamp_len(n), (uint64_t)off);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_write(int fd, const void *buf, size_t n, int64_t off)
{
	OP_BEGIN_OR_RETURN;
	io_uring_prep_write(sqe, fd, buf, urt__clamp_len(n), (uint64_t)off);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_readv(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_readv(sqe, fd, iov, (unsigned)iovcnt, (uint64_t)off);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_writev(int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_writev(sqe, fd, iov, (unsigned)iovcnt, (uint64_t)off);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
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

ssize_t urt_write_all_ex(int fd, const void *buf, size_t n, int64_t off, size_t *done)
{
	size_t put = 0;
	ssize_t r = 0;
	while (put < n) {
		r = urt_write(fd, (const char *)buf + put, n - put, off < 0 ? -1 : off + (int64_t)put);
		if (r == 0)
			r = -EIO; /* no progress and no error: do not spin */
		if (r < 0)
			break;
		put += (size_t)r;
	}
	if (done)
		*done = put;
	return r < 0 ? r : (ssize_t)put;
}

ssize_t urt_read_full(int fd, void *buf, size_t n, int64_t off)
{
	return urt_read_full_ex(fd, buf, n, off, NULL);
}

ssize_t urt_write_all(int fd, const void *buf, size_t n, int64_t off)
{
	return urt_write_all_ex(fd, buf, n, off, NULL);
}

static int fsync_op(int fd, unsigned flags)
{
	OP_BEGIN_OR_RETURN;
	io_uring_prep_fsync(sqe, fd, flags);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
}

int urt_fsync(int fd)
{
	return fsync_op(fd, 0);
}

int urt_fdatasync(int fd)
{
	return fsync_op(fd, IORING_FSYNC_DATASYNC);
}

int urt_statx(int dfd, const char *path, int flags, unsigned mask, struct statx *out)
{
	if (!path || !out)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_statx(sqe, dfd, path, flags, mask, out);
	return urt__op_wait(&op, sqe);
}

int urt_fallocate(int fd, int mode, int64_t off, int64_t len)
{
	if (off < 0 || len <= 0)
		return -EINVAL;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_fallocate(sqe, fd, mode, (uint64_t)off, (uint64_t)len);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
}

/* Is IORING_OP_FTRUNCATE there? Probed once per process (the kernel does
   not change under us): 1 yes, -1 no, 0 not probed yet. */
static int have_ftruncate_op;

static bool ftruncate_supported(void)
{
	if (have_ftruncate_op == 0) {
		struct io_uring_probe *p = io_uring_get_probe_ring(&urt__L->ring);
		have_ftruncate_op = p && io_uring_opcode_supported(p, URT__IORING_OP_FTRUNCATE) ? 1 : -1;
		free(p);
	}
	return have_ftruncate_op > 0;
}

int urt_ftruncate(int fd, int64_t len)
{
	if (len < 0)
		return -EINVAL;
	if (urt__L && !ftruncate_supported()) {
		int r = urt__op_check();
		if (r)
			return r;
		if (URT_IS_FIXED_FD(fd))
			return -EBADF;
		return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
	}
	OP_BEGIN_OR_RETURN;
	io_uring_prep_rw(URT__IORING_OP_FTRUNCATE, sqe, fd, NULL, 0, (uint64_t)len);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
}

int urt_unlinkat(int dfd, const char *path, int flags)
{
	if (!path)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_unlinkat(sqe, dfd, path, flags);
	return urt__op_wait(&op, sqe);
}

int urt_renameat(int olddfd, const char *oldpath, int newdfd, const char *newpath, unsigned flags)
{
	if (!oldpath || !newpath)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_renameat(sqe, olddfd, oldpath, newdfd, newpath, flags);
	return urt__op_wait(&op, sqe);
}

int urt_mkdirat(int dfd, const char *path, mode_t mode)
{
	if (!path)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_mkdirat(sqe, dfd, path, mode);
	return urt__op_wait(&op, sqe);
}

int urt_symlinkat(const char *target, int newdfd, const char *linkpath)
{
	if (!target || !linkpath)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_symlinkat(sqe, target, newdfd, linkpath);
	return urt__op_wait(&op, sqe);
}

int urt_linkat(int olddfd, const char *oldpath, int newdfd, const char *newpath, int flags)
{
	if (!oldpath || !newpath)
		return -EFAULT;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_linkat(sqe, olddfd, oldpath, newdfd, newpath, flags);
	return urt__op_wait(&op, sqe);
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
	OP_BEGIN_OR_RETURN;
	unsigned fixed_in = 0;
	if (URT_IS_FIXED_FD(fd_in)) {
		fd_in = fd_in - URT_FIXED_FD(0);
		fixed_in = SPLICE_F_FD_IN_FIXED;
	}
	io_uring_prep_splice(sqe, fd_in, off_in, fd_out, off_out, urt__clamp_len(n), flags | fixed_in);
	set_fd(sqe, fd_out);
	return urt__op_wait(&op, sqe);
}

/* ---------------------------------------------------------------------- */
/* Registered buffers and files                                            */

ssize_t urt_read_fixed(int fd, void *buf, size_t n, int64_t off, int buf_index)
{
	if (buf_index < 0)
		return -EINVAL;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_read_fixed(sqe, fd, buf, urt__clamp_len(n), (uint64_t)off, buf_index);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
}

ssize_t urt_write_fixed(int fd, const void *buf, size_t n, int64_t off, int buf_index)
{
	if (buf_index < 0)
		return -EINVAL;
	OP_BEGIN_OR_RETURN;
	io_uring_prep_write_fixed(sqe, fd, buf, urt__clamp_len(n), (uint64_t)off, buf_index);
	set_fd(sqe, fd);
	return urt__op_wait(&op, sqe);
}

int urt_register_buffers(const struct iovec *iov, unsigned n)
{
	if (!urt__L)
		return -EPERM;
	if (!iov || !n)
		return -EINVAL;
	return io_uring_register_buffers(&urt__L->ring, iov, n);
}

int urt_unregister_buffers(void)
{
	return urt__L ? io_uring_unregister_buffers(&urt__L->ring) : -EPERM;
}

int urt_register_files(const int *fds, unsigned n)
{
	if (!urt__L)
		return -EPERM;
	if (!fds || !n)
		return -EINVAL;
	return io_uring_register_files(&urt__L->ring, fds, n);
}

int urt_update_files(unsigned first, const int *fds, unsigned n)
{
	if (!urt__L)
		return -EPERM;
	if (!fds || !n)
		return -EINVAL;
	int r = io_uring_register_files_update(&urt__L->ring, first, fds, n);
	return r < 0 ? r : 0;
}

int urt_unregister_files(void)
{
	return urt__L ? io_uring_unregister_files(&urt__L->ring) : -EPERM;
}
