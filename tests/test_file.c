/* SPDX-License-Identifier: MIT */
/*
 * The file API (include/urt.h, "Files"):
 *  - urt_open/urt_openat/urt_close, O_DIRECT, and the -ENOENT/-EBADF/-EISDIR
 *    errors;
 *  - urt_read/urt_write at an offset and at the file position (-1), short
 *    reads at EOF, the INT_MAX length clamp, urt_readv/urt_writev;
 *  - the full-length helpers urt_read_full/urt_write_all (+ _ex) on files
 *    and pipes, -EPIPE;
 *  - urt_fsync/urt_fdatasync, urt_statx, urt_fallocate, urt_ftruncate;
 *  - directory operations (unlink, rename(at) incl. RENAME_NOREPLACE and
 *    RENAME_EXCHANGE, mkdir(at), rmdir via AT_REMOVEDIR, symlinkat, linkat);
 *  - urt_splice file -> pipe -> file;
 *  - registered buffers and files (URT_FIXED_FD);
 *  - cancellation and deadlines of file ops (blocked, in flight and pending);
 *  - -EPERM outside a task; urt_io_offload;
 *  - a stress test of 64 tasks doing random-offset I/O on their own files.
 *
 * Every test gets a fresh mkdtemp directory under /tmp (suite init/fini).
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "helpers.h"

/* ---------------------------------------------------------------------- */
/* Fixture: a fresh temporary directory per test                          */

static char g_dir[64];

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static void dir_setup(void)
{
	strcpy(g_dir, "/tmp/urt-file-XXXXXX");
	cr_assert_not_null(mkdtemp(g_dir), "mkdtemp: %s", strerror(errno));
}

static void dir_teardown(void)
{
	if (g_dir[0])
		nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The timeouts are hang guards only; every test takes well under a second
   except the deadline one that waits for its RESCUE_MS guard when broken. */
TestSuite(file, .init = dir_setup, .fini = dir_teardown, .timeout = 60);

/* Path of `name` inside the test directory, in one of 16 rotating static
   buffers: fine for the calls of one task in a row, but a path that must
   survive while other tasks run (an op in flight) needs its own copy. */
static const char *tp(const char *name)
{
	static char bufs[16][256];
	static unsigned next;
	char *b = bufs[next++ % 16];
	snprintf(b, sizeof bufs[0], "%s/%s", g_dir, name);
	return b;
}

/* ---------------------------------------------------------------------- */
/* Helpers (plain POSIX, for setting up and checking)                     */

/* Deterministic bytes for (seed, position). */
static inline uint8_t pat(uint32_t seed, size_t i)
{
	uint32_t x = seed * 2654435761u ^ (uint32_t)i * 40503u ^ (uint32_t)(i >> 12) * 977u;
	x ^= x >> 13;
	return (uint8_t)(x ^ (x >> 7));
}

static void fill(void *buf, size_t n, uint32_t seed, size_t base)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < n; i++)
		p[i] = pat(seed, base + i);
}

/* Index of the first byte that differs from the pattern, or -1. */
static ssize_t check_pat(const void *buf, size_t n, uint32_t seed, size_t base)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(seed, base + i))
			return (ssize_t)i;
	return -1;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	cr_assert_not_null(p);
	return p;
}

/* Create `path` with n bytes of data (synchronously). */
static void make_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static void make_pat_file(const char *path, size_t n, uint32_t seed)
{
	void *b = xmalloc(n ? n : 1);
	fill(b, n, seed, 0);
	make_file(path, b, n);
	free(b);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static long long size_of(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "stat %s: %s", path, strerror(errno));
	return (long long)st.st_size;
}

/* Whole content of a file (malloc'd; *n receives the size). */
static void *slurp(const char *path, size_t *n)
{
	size_t sz = (size_t)size_of(path);
	char *b = xmalloc(sz + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, b, sz, 0), (ssize_t)sz);
	close(fd);
	*n = sz;
	return b;
}

static bool fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void mkpipe(int fds[2])
{
	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
}

/* urt_open that must succeed: a fresh read-write file in the test dir. */
static int open_new(const char *name)
{
	int fd = urt_open(tp(name), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "urt_open(%s) = %d", name, fd);
	return fd;
}

static struct statx stx_fd(int fd)
{
	struct statx sx;
	memset(&sx, 0, sizeof sx);
	OK(urt_statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
	return sx;
}

/* ---------------------------------------------------------------------- */
/* open / close / read / write                                            */

static int main_open_roundtrip(void *arg)
{
	(void)arg;
	static const char msg[] = "hello, io_uring file";
	int fd = urt_open(tp("a"), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(urt_write(fd, msg, sizeof msg, 0), (ssize_t)sizeof msg);
	char buf[64] = {0};
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 0), (ssize_t)sizeof msg);
	cr_assert_str_eq(buf, msg);
	OK(urt_close(fd));
	cr_assert_not(fd_is_open(fd), "urt_close left fd %d open", fd);
	cr_assert_eq(size_of(tp("a")), (long long)sizeof msg);

	/* O_EXCL on an existing file */
	CHECK(urt_open(tp("a"), O_CREAT | O_EXCL | O_RDWR, 0600), -EEXIST);

	/* openat relative to a directory fd opened through urt */
	int dfd = urt_open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	cr_assert_geq(dfd, 0);
	int fd2 = urt_openat(dfd, "a", O_RDONLY | O_CLOEXEC, 0);
	cr_assert_geq(fd2, 0);
	memset(buf, 0, sizeof buf);
	cr_assert_eq(urt_read(fd2, buf, sizeof buf, -1), (ssize_t)sizeof msg);
	cr_assert_str_eq(buf, msg);
	/* read-only fd: writes fail */
	CHECK(urt_write(fd2, "x", 1, 0), -EBADF);
	OK(urt_close(fd2));
	/* AT_FDCWD with an absolute path */
	fd2 = urt_openat(AT_FDCWD, tp("a"), O_RDONLY | O_CLOEXEC, 0);
	cr_assert_geq(fd2, 0);
	OK(urt_close(fd2));
	OK(urt_close(dfd));
	return 0;
}

Test(file, open_write_read_close)
{
	RUN(main_open_roundtrip, NULL);
}

static int main_enoent(void *arg)
{
	(void)arg;
	CHECK(urt_open(tp("missing"), O_RDONLY, 0), -ENOENT);
	CHECK(urt_open(tp("nodir/file"), O_CREAT | O_RDWR, 0600), -ENOENT);
	int dfd = urt_open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	cr_assert_geq(dfd, 0);
	CHECK(urt_openat(dfd, "missing", O_RDONLY, 0), -ENOENT);
	OK(urt_close(dfd));
	CHECK(urt_open(NULL, O_RDONLY, 0), -EFAULT);
	return 0;
}

Test(file, open_missing_enoent)
{
	RUN(main_enoent, NULL);
}

static int main_ebadf(void *arg)
{
	(void)arg;
	char buf[16];
	CHECK(urt_close(-1), -EBADF);
	CHECK(urt_read(-1, buf, sizeof buf, -1), -EBADF);
	CHECK(urt_write(-1, "x", 1, -1), -EBADF);
	CHECK(urt_read(-1, buf, sizeof buf, 0), -EBADF);

	int fd = open_new("f");
	OK(urt_close(fd));
	/* nothing opens an fd in between: fd is still a closed number */
	CHECK(urt_close(fd), -EBADF);
	CHECK(urt_read(fd, buf, sizeof buf, -1), -EBADF);
	CHECK(urt_read(fd, buf, sizeof buf, 0), -EBADF);
	CHECK(urt_write(fd, "x", 1, 0), -EBADF);

	/* a fixed slot with no table registered */
	CHECK(urt_read(URT_FIXED_FD(0), buf, sizeof buf, 0), -EBADF);
	return 0;
}

Test(file, bad_fd_ebadf)
{
	RUN(main_ebadf, NULL);
}

static int main_eisdir(void *arg)
{
	(void)arg;
	char buf[64];
	int dfd = urt_open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	cr_assert_geq(dfd, 0);
	CHECK(urt_read(dfd, buf, sizeof buf, -1), -EISDIR);
	CHECK(urt_read(dfd, buf, sizeof buf, 0), -EISDIR);
	OK(urt_close(dfd));
	/* opening a directory for writing */
	CHECK(urt_open(g_dir, O_RDWR, 0), -EISDIR);
	return 0;
}

Test(file, read_directory_eisdir)
{
	RUN(main_eisdir, NULL);
}

struct direct_ctx {
	bool unsupported;
};

static int main_o_direct(void *arg)
{
	struct direct_ctx *c = arg;
	enum { N = 16384 };
	make_pat_file(tp("d"), N, 7);
	int fd = urt_open(tp("d"), O_RDONLY | O_DIRECT | O_CLOEXEC, 0);
	if (fd == -EINVAL) {
		c->unsupported = true;
		return 0;
	}
	cr_assert_geq(fd, 0);
	cr_assert(fcntl(fd, F_GETFL) & O_DIRECT, "O_DIRECT was not passed to the open");
	uint8_t *buf = aligned_alloc(4096, N);
	cr_assert_not_null(buf);
	memset(buf, 0, N);
	cr_assert_eq(urt_read(fd, buf, N, 0), (ssize_t)N);
	cr_assert_eq(check_pat(buf, N, 7, 0), -1);
	memset(buf, 0, N);
	cr_assert_eq(urt_read(fd, buf, 4096, 8192), 4096);
	cr_assert_eq(check_pat(buf, 4096, 7, 8192), -1);
	OK(urt_close(fd));

	/* O_DIRECT write, read back buffered */
	fd = urt_open(tp("dw"), O_CREAT | O_RDWR | O_DIRECT | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	fill(buf, N, 9, 0);
	cr_assert_eq(urt_write(fd, buf, N, 0), (ssize_t)N);
	OK(urt_close(fd));
	size_t n;
	void *back = slurp(tp("dw"), &n);
	cr_assert_eq(n, (size_t)N);
	cr_assert_eq(check_pat(back, N, 9, 0), -1);
	free(back);
	free(buf);
	return 0;
}

Test(file, o_direct_aligned_io)
{
	struct direct_ctx c = {0};
	RUN(main_o_direct, &c);
	if (c.unsupported)
		cr_skip_test("O_DIRECT not supported on %s", g_dir);
}

static int main_offsets(void *arg)
{
	(void)arg;
	make_file(tp("o"), "0123456789", 10);
	int fd = urt_open(tp("o"), O_RDWR | O_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	char buf[100];

	/* explicit offset: pread semantics, the position does not move */
	cr_assert_eq(urt_read(fd, buf, 4, 2), 4);
	cr_assert_eq(memcmp(buf, "2345", 4), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 0);

	/* -1: the file position, which advances */
	cr_assert_eq(urt_read(fd, buf, 3, -1), 3);
	cr_assert_eq(memcmp(buf, "012", 3), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 3);
	cr_assert_eq(urt_read(fd, buf, 3, -1), 3);
	cr_assert_eq(memcmp(buf, "345", 3), 0);

	/* write at the position (6), advancing it to 8 */
	cr_assert_eq(urt_write(fd, "AB", 2, -1), 2);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 8);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, -1), 2);
	cr_assert_eq(memcmp(buf, "89", 2), 0);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, -1), 0); /* EOF at the position */

	/* write at an offset leaves the position alone */
	cr_assert_eq(urt_write(fd, "z", 1, 0), 1);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 10);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 0), 10);
	cr_assert_eq(memcmp(buf, "z12345AB89", 10), 0);

	/* short read near EOF, then 0 at and past EOF */
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 7), 3);
	cr_assert_eq(memcmp(buf, "B89", 3), 0);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 10), 0);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 1000), 0);

	/* writes at -1 append when the position is at the end */
	cr_assert_eq(urt_write(fd, "XY", 2, -1), 2);
	cr_assert_eq(urt_write(fd, "Z", 1, -1), 1);
	cr_assert_eq(size_of(tp("o")), 13);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 10), 3);
	cr_assert_eq(memcmp(buf, "XYZ", 3), 0);

	/* a zero-length read */
	cr_assert_eq(urt_read(fd, buf, 0, 0), 0);
	OK(urt_close(fd));
	return 0;
}

Test(file, offsets_and_file_position)
{
	RUN(main_offsets, NULL);
}

/* Lengths above INT_MAX are shortened to INT_MAX, not truncated mod 2^32:
   asking for 2^32 + 3 bytes of a 10-byte file must return all 10. */
static int main_len_clamp(void *arg)
{
	(void)arg;
	if (sizeof(size_t) <= 4)
		return 0;
	make_file(tp("c"), "0123456789", 10);
	int fd = urt_open(tp("c"), O_RDONLY | O_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	/* a buffer really that long (memcheck checks the whole of it), but
	   untouched beyond its first page: the kernel writes only 10 bytes */
	size_t huge = ((size_t)1 << 32) + 3;
	char *buf = mmap(NULL, huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(buf, MAP_FAILED);
	cr_assert_eq(urt_read(fd, buf, huge, 0), 10);
	cr_assert_eq(memcmp(buf, "0123456789", 10), 0);
	munmap(buf, huge);
	OK(urt_close(fd));
	return 0;
}

Test(file, length_above_int_max_is_clamped)
{
	RUN(main_len_clamp, NULL);
}

static int main_vectored(void *arg)
{
	(void)arg;
	int fd = open_new("v");
	struct iovec w[3] = {
		{(void *)"abc", 3}, {(void *)"defgh", 5}, {(void *)"ij", 2},
	};
	cr_assert_eq(urt_writev(fd, w, 3, 0), 10);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 0);
	char a[2], b[5], c[8];
	memset(c, '.', sizeof c);
	struct iovec r[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
	cr_assert_eq(urt_readv(fd, r, 3, 0), 10);
	cr_assert_eq(memcmp(a, "ab", 2), 0);
	cr_assert_eq(memcmp(b, "cdefg", 5), 0);
	cr_assert_eq(memcmp(c, "hij.....", 8), 0);

	/* at the file position */
	cr_assert_eq(urt_writev(fd, w, 3, -1), 10); /* at 0: same bytes again */
	cr_assert_eq(urt_writev(fd, w, 2, -1), 8);  /* at 10 */
	cr_assert_eq(size_of(tp("v")), 18);
	cr_assert_eq(lseek(fd, 4, SEEK_SET), 4);
	memset(c, '.', sizeof c);
	cr_assert_eq(urt_readv(fd, r, 3, -1), 14);
	cr_assert_eq(memcmp(a, "ef", 2), 0);
	cr_assert_eq(memcmp(b, "ghija", 5), 0);
	cr_assert_eq(memcmp(c, "bcdefgh.", 8), 0);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 18);

	CHECK(urt_readv(fd, r, -1, 0), -EINVAL);
	CHECK(urt_writev(fd, w, -1, 0), -EINVAL);
	CHECK(urt_readv(fd, r, IOV_MAX + 1, 0), -EINVAL);
	CHECK(urt_writev(fd, w, IOV_MAX + 1, 0), -EINVAL);
	CHECK(urt_readv(-1, r, 3, 0), -EBADF);
	OK(urt_close(fd));
	return 0;
}

Test(file, readv_writev)
{
	RUN(main_vectored, NULL);
}

/* ---------------------------------------------------------------------- */
/* Full-length helpers                                                    */

static int main_read_full_file(void *arg)
{
	(void)arg;
	make_pat_file(tp("s"), 100, 3);
	int fd = urt_open(tp("s"), O_RDONLY | O_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	uint8_t buf[256];

	memset(buf, 0, sizeof buf);
	cr_assert_eq(urt_read_full(fd, buf, 200, 0), 100); /* short count = EOF */
	cr_assert_eq(check_pat(buf, 100, 3, 0), -1);

	size_t done = 999;
	memset(buf, 0, sizeof buf);
	cr_assert_eq(urt_read_full_ex(fd, buf, 200, 50, &done), 50);
	cr_assert_eq(done, (size_t)50);
	cr_assert_eq(check_pat(buf, 50, 3, 50), -1);

	done = 999;
	cr_assert_eq(urt_read_full_ex(fd, buf, 40, 10, &done), 40);
	cr_assert_eq(done, (size_t)40);
	cr_assert_eq(check_pat(buf, 40, 3, 10), -1);

	/* at the file position: advances by what was read */
	cr_assert_eq(urt_read_full(fd, buf, 30, -1), 30);
	cr_assert_eq(check_pat(buf, 30, 3, 0), -1);
	cr_assert_eq(urt_read_full(fd, buf, 200, -1), 70);
	cr_assert_eq(check_pat(buf, 70, 3, 30), -1);
	cr_assert_eq(urt_read_full(fd, buf, 200, -1), 0);

	done = 999;
	CHECK(urt_read_full_ex(-1, buf, 10, 0, &done), -EBADF);
	cr_assert_eq(done, (size_t)0);
	OK(urt_close(fd));

	/* write_all to a file at an offset and at the position */
	fd = open_new("w");
	uint8_t src[300];
	fill(src, sizeof src, 4, 0);
	cr_assert_eq(urt_write_all(fd, src, 100, -1), 100);
	cr_assert_eq(urt_write_all(fd, src + 100, 200, 100), 200);
	done = 999;
	cr_assert_eq(urt_write_all_ex(fd, src, 0, 0, &done), 0);
	cr_assert_eq(done, (size_t)0);
	OK(urt_close(fd));
	size_t n;
	void *back = slurp(tp("w"), &n);
	cr_assert_eq(n, sizeof src);
	cr_assert_eq(check_pat(back, n, 4, 0), -1);
	free(back);
	return 0;
}

Test(file, read_full_write_all_on_files)
{
	RUN(main_read_full_file, NULL);
}

/* Short writes to a file, made with RLIMIT_FSIZE (criterion runs each test
   in its own process): write_all must advance its offset after a short
   write, and report what it wrote when the next write fails. */
static int main_write_all_short(void *arg)
{
	(void)arg;
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit rl = {.rlim_cur = 150, .rlim_max = RLIM_INFINITY};
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	uint8_t src[200];
	fill(src, sizeof src, 13, 0);

	int fd = open_new("short");
	size_t done = 999;
	CHECK(urt_write_all_ex(fd, src, 200, 100, &done), -EFBIG);
	cr_assert_eq(done, (size_t)50, "bytes written before the limit");
	cr_assert_eq(size_of(tp("short")), 150);
	uint8_t back[200];
	cr_assert_eq(urt_read(fd, back, sizeof back, 100), 50);
	cr_assert_eq(check_pat(back, 50, 13, 0), -1);

	/* Not tested at the file position (-1): Linux 6.18's io_uring leaves
	   f_pos unchanged after a short regular-file write at -1 (it retries
	   the rest in io-wq, which fails with -EFBIG, and the position update
	   is lost), so a second write lands at the old position. */
	OK(urt_close(fd));
	return 0;
}

Test(file, write_all_short_writes_at_file_size_limit)
{
	RUN(main_write_all_short, NULL);
}

struct piece_ctx {
	int wfd;
	bool close_after;
};

/* Writes "abc", "defg", "hi" with sleeps in between, then maybe closes. */
static int piece_writer(void *arg)
{
	struct piece_ctx *c = arg;
	static const char *pieces[] = {"abc", "defg", "hi"};
	for (int i = 0; i < 3; i++) {
		if (i)
			OK(urt_sleep_ms(5));
		ssize_t len = (ssize_t)strlen(pieces[i]);
		cr_assert_eq(urt_write(c->wfd, pieces[i], (size_t)len, -1), len);
	}
	if (c->close_after)
		OK(urt_close(c->wfd));
	return 0;
}

static int main_read_full_pipe(void *arg)
{
	(void)arg;
	int p[2];
	char buf[32];

	/* exactly n bytes arrive in three pieces */
	mkpipe(p);
	struct piece_ctx c = {.wfd = p[1]};
	urt_task *w = spawn_ok(piece_writer, &c);
	memset(buf, 0, sizeof buf);
	cr_assert_eq(urt_read_full(p[0], buf, 9, -1), 9);
	cr_assert_str_eq(buf, "abcdefghi");
	cr_assert_eq(join_ok(w), 0);
	close(p[0]);
	close(p[1]);

	/* fewer than n, then EOF: the short count, done says the same */
	mkpipe(p);
	c = (struct piece_ctx){.wfd = p[1], .close_after = true};
	w = spawn_ok(piece_writer, &c);
	memset(buf, 0, sizeof buf);
	size_t done = 999;
	cr_assert_eq(urt_read_full_ex(p[0], buf, 20, -1, &done), 9);
	cr_assert_eq(done, (size_t)9);
	cr_assert_str_eq(buf, "abcdefghi");
	cr_assert_eq(join_ok(w), 0);
	close(p[0]);
	return 0;
}

Test(file, read_full_pipe_in_pieces)
{
	RUN(main_read_full_pipe, NULL);
}

struct drain_ctx {
	int rfd;
	uint8_t *buf;
	size_t cap;
	size_t got;
	size_t stop_after; /* close the read end after this many bytes (0: read to EOF) */
};

static int drainer(void *arg)
{
	struct drain_ctx *c = arg;
	for (;;) {
		size_t want = c->cap - c->got < 7001 ? c->cap - c->got : 7001;
		if (want == 0)
			want = 1; /* must see EOF, or fail loudly on extra bytes */
		uint8_t tmp[7001];
		ssize_t r = urt_read(c->rfd, tmp, want, -1);
		if (r < 0)
			return (int)r;
		if (r == 0)
			break;
		cr_assert_leq(c->got + (size_t)r, c->cap, "more bytes than were written");
		memcpy(c->buf + c->got, tmp, (size_t)r);
		c->got += (size_t)r;
		if (c->stop_after && c->got >= c->stop_after)
			break;
	}
	OK(urt_close(c->rfd));
	return 0;
}

static int main_write_all_pipe(void *arg)
{
	(void)arg;
	enum { N = 1 << 20 };
	int p[2];
	mkpipe(p);
	uint8_t *src = xmalloc(N);
	fill(src, N, 11, 0);
	struct drain_ctx c = {.rfd = p[0], .buf = xmalloc(N), .cap = N};
	urt_task *t = spawn_ok(drainer, &c);
	size_t done = 0;
	cr_assert_eq(urt_write_all_ex(p[1], src, N, -1, &done), (ssize_t)N);
	cr_assert_eq(done, (size_t)N);
	OK(urt_close(p[1]));
	cr_assert_eq(join_ok(t), 0);
	cr_assert_eq(c.got, (size_t)N);
	cr_assert_eq(check_pat(c.buf, N, 11, 0), -1, "data out of order or corrupted");
	free(c.buf);
	free(src);
	return 0;
}

Test(file, write_all_pipe_larger_than_buffer)
{
	RUN(main_write_all_pipe, NULL);
}

static int main_epipe(void *arg)
{
	(void)arg;
	signal(SIGPIPE, SIG_IGN);
	int p[2];
	mkpipe(p);
	close(p[0]);
	char buf[128] = {0};
	CHECK(urt_write_all(p[1], buf, sizeof buf, -1), -EPIPE);
	size_t done = 999;
	CHECK(urt_write_all_ex(p[1], buf, sizeof buf, -1, &done), -EPIPE);
	cr_assert_eq(done, (size_t)0);
	close(p[1]);

	/* the reader goes away mid-stream: -EPIPE, done counts what got in */
	enum { N = 1 << 20, STOP = 100000 };
	mkpipe(p);
	uint8_t *src = xmalloc(N);
	fill(src, N, 12, 0);
	struct drain_ctx c = {.rfd = p[0], .buf = xmalloc(N), .cap = N, .stop_after = STOP};
	urt_task *t = spawn_ok(drainer, &c);
	done = 0;
	CHECK(urt_write_all_ex(p[1], src, N, -1, &done), -EPIPE);
	cr_assert_eq(join_ok(t), 0);
	cr_assert_geq(done, c.got);
	cr_assert_lt(done, (size_t)N);
	cr_assert_eq(check_pat(c.buf, c.got, 12, 0), -1);
	close(p[1]);
	free(c.buf);
	free(src);
	return 0;
}

Test(file, write_all_closed_reader_epipe)
{
	RUN(main_epipe, NULL);
}

/* ---------------------------------------------------------------------- */
/* fsync, statx, fallocate, ftruncate                                     */

static int main_fsync(void *arg)
{
	(void)arg;
	int fd = open_new("f");
	cr_assert_eq(urt_write(fd, "data", 4, 0), 4);
	OK(urt_fsync(fd));
	OK(urt_fdatasync(fd));
	CHECK(urt_fsync(-1), -EBADF);
	CHECK(urt_fdatasync(-1), -EBADF);
	OK(urt_close(fd));
	CHECK(urt_fsync(fd), -EBADF);
	CHECK(urt_fdatasync(fd), -EBADF);
	return 0;
}

Test(file, fsync_fdatasync)
{
	RUN(main_fsync, NULL);
}

static int main_statx(void *arg)
{
	(void)arg;
	make_pat_file(tp("s"), 12345, 1);
	cr_assert_eq(chmod(tp("s"), 0640), 0);
	struct statx sx;
	memset(&sx, 0, sizeof sx);
	OK(urt_statx(AT_FDCWD, tp("s"), 0, STATX_SIZE | STATX_MODE, &sx));
	cr_assert(sx.stx_mask & STATX_SIZE);
	cr_assert_eq(sx.stx_size, 12345ull);
	cr_assert(S_ISREG(sx.stx_mode));
	cr_assert_eq(sx.stx_mode & 07777, 0640);

	/* AT_EMPTY_PATH with "" on an fd */
	int fd = urt_open(tp("s"), O_RDONLY | O_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	sx = stx_fd(fd);
	cr_assert_eq(sx.stx_size, 12345ull);
	cr_assert_eq(sx.stx_mode & 07777, 0640);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq(sx.stx_ino, (unsigned long long)st.st_ino);
	OK(urt_close(fd));

	/* relative to a directory fd; a directory */
	int dfd = urt_open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	cr_assert_geq(dfd, 0);
	memset(&sx, 0, sizeof sx);
	OK(urt_statx(dfd, "s", 0, STATX_SIZE, &sx));
	cr_assert_eq(sx.stx_size, 12345ull);
	memset(&sx, 0, sizeof sx);
	OK(urt_statx(dfd, "", AT_EMPTY_PATH, STATX_MODE, &sx));
	cr_assert(S_ISDIR(sx.stx_mode));
	CHECK(urt_statx(dfd, "missing", 0, STATX_SIZE, &sx), -ENOENT);
	OK(urt_close(dfd));

	CHECK(urt_statx(AT_FDCWD, tp("missing"), 0, STATX_SIZE, &sx), -ENOENT);
	CHECK(urt_statx(-1, "", AT_EMPTY_PATH, STATX_SIZE, &sx), -EBADF);
	CHECK(urt_statx(AT_FDCWD, tp("s"), 0, STATX_SIZE, NULL), -EFAULT);
	return 0;
}

Test(file, statx)
{
	RUN(main_statx, NULL);
}

static int main_fallocate(void *arg)
{
	(void)arg;
	enum { N = 1 << 20 };
	int fd = open_new("fa");
	OK(urt_fallocate(fd, 0, 0, N));
	struct statx sx = stx_fd(fd);
	cr_assert_eq(sx.stx_size, (unsigned long long)N);
	cr_assert_geq(sx.stx_blocks, (unsigned long long)(N / 512));

	/* real data, so the punched range holds something */
	uint8_t *buf = xmalloc(N);
	fill(buf, N, 5, 0);
	cr_assert_eq(urt_write_all(fd, buf, N, 0), (ssize_t)N);
	OK(urt_fsync(fd));
	unsigned long long before = stx_fd(fd).stx_blocks;

	OK(urt_fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, N / 2));
	sx = stx_fd(fd);
	cr_assert_eq(sx.stx_size, (unsigned long long)N, "KEEP_SIZE changed the size");
	cr_assert_lt(sx.stx_blocks, before, "punching a hole freed no blocks");
	cr_assert_eq(urt_read_full(fd, buf, N, 0), (ssize_t)N);
	for (size_t i = 0; i < N / 2; i++)
		cr_assert_eq(buf[i], 0, "byte %zu in the hole is not zero", i);
	cr_assert_eq(check_pat(buf + N / 2, N / 2, 5, N / 2), -1);

	/* KEEP_SIZE past the end allocates without growing */
	OK(urt_fallocate(fd, FALLOC_FL_KEEP_SIZE, N, 65536));
	cr_assert_eq(stx_fd(fd).stx_size, (unsigned long long)N);
	/* plain allocate past the end grows */
	OK(urt_fallocate(fd, 0, N, 4096));
	cr_assert_eq(stx_fd(fd).stx_size, (unsigned long long)N + 4096);

	CHECK(urt_fallocate(fd, 0, 0, 0), -EINVAL);
	CHECK(urt_fallocate(fd, 0, 0, -5), -EINVAL);
	CHECK(urt_fallocate(fd, 0, -1, 10), -EINVAL);
	CHECK(urt_fallocate(-1, 0, 0, 10), -EBADF);
	OK(urt_close(fd));
	free(buf);
	return 0;
}

Test(file, fallocate_and_punch_hole)
{
	RUN(main_fallocate, NULL);
}

static int main_ftruncate(void *arg)
{
	(void)arg;
	int fd = open_new("t");
	uint8_t buf[8192];
	fill(buf, 100, 6, 0);
	cr_assert_eq(urt_write(fd, buf, 100, 0), 100);

	OK(urt_ftruncate(fd, 4096)); /* grow: zero filled */
	cr_assert_eq(stx_fd(fd).stx_size, 4096ull);
	memset(buf, 0xFF, sizeof buf);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 0), 4096);
	cr_assert_eq(check_pat(buf, 100, 6, 0), -1);
	for (size_t i = 100; i < 4096; i++)
		cr_assert_eq(buf[i], 0);

	OK(urt_ftruncate(fd, 10)); /* shrink */
	cr_assert_eq(stx_fd(fd).stx_size, 10ull);
	cr_assert_eq(urt_read(fd, buf, sizeof buf, 0), 10);
	cr_assert_eq(check_pat(buf, 10, 6, 0), -1);
	OK(urt_ftruncate(fd, 0));
	cr_assert_eq(size_of(tp("t")), 0);

	CHECK(urt_ftruncate(fd, -1), -EINVAL);
	CHECK(urt_ftruncate(-1, 10), -EBADF);
	OK(urt_close(fd));
	CHECK(urt_ftruncate(fd, 10), -EBADF);
	/* not open for writing */
	fd = urt_open(tp("t"), O_RDONLY | O_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_lt(urt_ftruncate(fd, 10), 0);
	cr_assert_eq(size_of(tp("t")), 0);
	OK(urt_close(fd));
	return 0;
}

Test(file, ftruncate)
{
	RUN(main_ftruncate, NULL);
}

/* ---------------------------------------------------------------------- */
/* Directory operations                                                   */

static int main_mkdir_unlink(void *arg)
{
	(void)arg;
	OK(urt_mkdir(tp("d"), 0755));
	struct stat st;
	cr_assert_eq(stat(tp("d"), &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	CHECK(urt_mkdir(tp("d"), 0755), -EEXIST);
	CHECK(urt_mkdir(tp("nope/x"), 0755), -ENOENT);

	int dfd = urt_open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	cr_assert_geq(dfd, 0);
	OK(urt_mkdirat(dfd, "d2", 0700));
	cr_assert(exists(tp("d2")));
	CHECK(urt_mkdirat(dfd, "d2", 0700), -EEXIST);

	make_file(tp("d/f"), "x", 1);
	CHECK(urt_unlinkat(dfd, "d", AT_REMOVEDIR), -ENOTEMPTY);
	cr_assert(exists(tp("d/f")));
	CHECK(urt_unlink(tp("d")), -EISDIR);
	CHECK(urt_unlinkat(dfd, "d/f", AT_REMOVEDIR), -ENOTDIR);
	OK(urt_unlink(tp("d/f")));
	cr_assert_not(exists(tp("d/f")));
	CHECK(urt_unlink(tp("d/f")), -ENOENT);
	OK(urt_unlinkat(dfd, "d", AT_REMOVEDIR));
	cr_assert_not(exists(tp("d")));
	CHECK(urt_unlinkat(dfd, "d", AT_REMOVEDIR), -ENOENT);
	OK(urt_unlinkat(AT_FDCWD, tp("d2"), AT_REMOVEDIR));
	cr_assert_not(exists(tp("d2")));

	make_file(tp("g"), "x", 1);
	OK(urt_unlinkat(dfd, "g", 0));
	cr_assert_not(exists(tp("g")));
	OK(urt_close(dfd));
	CHECK(urt_unlink(NULL), -EFAULT);
	CHECK(urt_mkdir(NULL, 0700), -EFAULT);
	return 0;
}

Test(file, mkdir_unlink_rmdir)
{
	RUN(main_mkdir_unlink, NULL);
}

static void expect_content(const char *path, const char *want)
{
	size_t n;
	char *b = slurp(path, &n);
	b[n] = 0;
	cr_assert_str_eq(b, want, "content of %s", path);
	free(b);
}

static int main_rename(void *arg)
{
	(void)arg;
	make_file(tp("a"), "A", 1);
	OK(urt_rename(tp("a"), tp("b")));
	cr_assert_not(exists(tp("a")));
	expect_content(tp("b"), "A");
	CHECK(urt_rename(tp("a"), tp("c")), -ENOENT);

	/* plain rename replaces */
	make_file(tp("c"), "C", 1);
	OK(urt_rename(tp("c"), tp("b")));
	expect_content(tp("b"), "C");

	int dfd = urt_open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	cr_assert_geq(dfd, 0);
	make_file(tp("x"), "X", 1);
	CHECK(urt_renameat(dfd, "x", dfd, "b", RENAME_NOREPLACE), -EEXIST);
	expect_content(tp("x"), "X");
	expect_content(tp("b"), "C");
	OK(urt_renameat(dfd, "x", AT_FDCWD, tp("y"), RENAME_NOREPLACE));
	cr_assert_not(exists(tp("x")));
	expect_content(tp("y"), "X");

	/* the flags reach the kernel: RENAME_EXCHANGE swaps */
	OK(urt_renameat(dfd, "y", dfd, "b", RENAME_EXCHANGE));
	expect_content(tp("y"), "C");
	expect_content(tp("b"), "X");
	CHECK(urt_renameat(dfd, "y", dfd, "missing", RENAME_EXCHANGE), -ENOENT);

	/* a directory onto a non-empty directory */
	cr_assert_eq(mkdir(tp("d1"), 0700), 0);
	cr_assert_eq(mkdir(tp("d2"), 0700), 0);
	make_file(tp("d2/f"), "f", 1);
	CHECK(urt_rename(tp("d1"), tp("d2")), -ENOTEMPTY);
	CHECK(urt_rename(NULL, tp("d2")), -EFAULT);
	OK(urt_close(dfd));
	return 0;
}

Test(file, rename_renameat)
{
	RUN(main_rename, NULL);
}

static int main_links(void *arg)
{
	(void)arg;
	make_file(tp("f"), "target data", 11);
	int dfd = urt_open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	cr_assert_geq(dfd, 0);

	/* symlink */
	OK(urt_symlinkat("f", dfd, "sym"));
	char lnk[64] = {0};
	cr_assert_eq(readlink(tp("sym"), lnk, sizeof lnk - 1), 1);
	cr_assert_str_eq(lnk, "f");
	struct statx sx;
	OK(urt_statx(dfd, "sym", 0, STATX_SIZE | STATX_MODE, &sx)); /* follows */
	cr_assert(S_ISREG(sx.stx_mode));
	cr_assert_eq(sx.stx_size, 11ull);
	OK(urt_statx(dfd, "sym", AT_SYMLINK_NOFOLLOW, STATX_MODE, &sx));
	cr_assert(S_ISLNK(sx.stx_mode));
	CHECK(urt_symlinkat("f", dfd, "sym"), -EEXIST);
	CHECK(urt_symlinkat("f", AT_FDCWD, tp("nodir/sym")), -ENOENT);
	OK(urt_symlinkat("dangling", AT_FDCWD, tp("sym2")));
	CHECK(urt_open(tp("sym2"), O_RDONLY, 0), -ENOENT);

	/* hard link */
	OK(urt_linkat(dfd, "f", dfd, "hard", 0));
	OK(urt_statx(dfd, "f", 0, STATX_NLINK, &sx));
	cr_assert_eq(sx.stx_nlink, 2u);
	expect_content(tp("hard"), "target data");
	CHECK(urt_linkat(dfd, "f", dfd, "hard", 0), -EEXIST);
	CHECK(urt_linkat(dfd, "missing", dfd, "h2", 0), -ENOENT);
	/* AT_SYMLINK_FOLLOW links the target, without it the link itself */
	OK(urt_linkat(dfd, "sym", dfd, "h-follow", AT_SYMLINK_FOLLOW));
	OK(urt_statx(dfd, "h-follow", AT_SYMLINK_NOFOLLOW, STATX_MODE, &sx));
	cr_assert(S_ISREG(sx.stx_mode));
	OK(urt_linkat(dfd, "sym", dfd, "h-nofollow", 0));
	OK(urt_statx(dfd, "h-nofollow", AT_SYMLINK_NOFOLLOW, STATX_MODE, &sx));
	cr_assert(S_ISLNK(sx.stx_mode));

	OK(urt_unlink(tp("f")));
	expect_content(tp("hard"), "target data");
	CHECK(urt_open(tp("sym"), O_RDONLY, 0), -ENOENT);
	CHECK(urt_symlinkat(NULL, dfd, "s"), -EFAULT);
	CHECK(urt_linkat(dfd, NULL, dfd, "s", 0), -EFAULT);
	OK(urt_close(dfd));
	return 0;
}

Test(file, symlinkat_linkat)
{
	RUN(main_links, NULL);
}

/* ---------------------------------------------------------------------- */
/* splice                                                                 */

static int main_splice(void *arg)
{
	(void)arg;
	enum { N = 300000 }; /* several pipe buffers' worth */
	make_pat_file(tp("in"), N, 21);
	int in = urt_open(tp("in"), O_RDONLY | O_CLOEXEC, 0);
	cr_assert_geq(in, 0);
	int out = open_new("out");
	int p[2];
	mkpipe(p);

	size_t moved = 0;
	while (moved < N) {
		ssize_t k = urt_splice(in, (int64_t)moved, p[1], -1, N - moved, 0);
		cr_assert_gt(k, 0, "splice file->pipe at %zu", moved);
		for (ssize_t left = k; left > 0;) {
			ssize_t m = urt_splice(p[0], -1, out, -1, (size_t)left, 0);
			cr_assert_gt(m, 0, "splice pipe->file");
			left -= m;
		}
		moved += (size_t)k;
	}
	cr_assert_eq(lseek(in, 0, SEEK_CUR), 0, "explicit off_in moved the position");
	cr_assert_eq(lseek(out, 0, SEEK_CUR), (off_t)N, "off_out -1 did not use the position");
	/* EOF of the input */
	cr_assert_eq(urt_splice(in, N, p[1], -1, 100, 0), 0);
	/* neither end a pipe */
	CHECK(urt_splice(in, 0, out, 0, 100, 0), -EINVAL);
	CHECK(urt_splice(-1, -1, p[1], -1, 100, 0), -EBADF);
	OK(urt_close(in));
	OK(urt_close(out));
	close(p[0]);
	close(p[1]);

	size_t n;
	void *back = slurp(tp("out"), &n);
	cr_assert_eq(n, (size_t)N);
	cr_assert_eq(check_pat(back, n, 21, 0), -1);
	free(back);
	return 0;
}

Test(file, splice_file_pipe_file)
{
	RUN(main_splice, NULL);
}

/* ---------------------------------------------------------------------- */
/* Registered buffers and files                                           */

static int main_fixed_buffers(void *arg)
{
	(void)arg;
	enum { SZ = 64 * 1024 };
	uint8_t *buf = aligned_alloc(4096, SZ);
	cr_assert_not_null(buf);
	struct iovec iov = {buf, SZ};
	OK(urt_register_buffers(&iov, 1));
	CHECK(urt_register_buffers(&iov, 1), -EBUSY);

	int fd = open_new("fb");
	fill(buf, SZ, 31, 0);
	cr_assert_eq(urt_write_fixed(fd, buf, SZ, 0, 0), (ssize_t)SZ);
	size_t n;
	void *back = slurp(tp("fb"), &n);
	cr_assert_eq(n, (size_t)SZ);
	cr_assert_eq(check_pat(back, n, 31, 0), -1);
	free(back);

	/* a sub-range of the registered buffer, at an offset */
	memset(buf, 0, SZ);
	cr_assert_eq(urt_read_fixed(fd, buf + 4096, 8192, 12288, 0), 8192);
	cr_assert_eq(check_pat(buf + 4096, 8192, 31, 12288), -1);
	for (size_t i = 0; i < 4096; i++)
		cr_assert_eq(buf[i], 0, "read_fixed wrote before its range");
	cr_assert_eq(buf[4096 + 8192], 0, "read_fixed wrote past its range");
	/* whole file */
	memset(buf, 0, SZ);
	cr_assert_eq(urt_read_fixed(fd, buf, SZ, 0, 0), (ssize_t)SZ);
	cr_assert_eq(check_pat(buf, SZ, 31, 0), -1);

	/* a registered buffer through a registered file */
	OK(urt_register_files(&fd, 1));
	memset(buf, 0, SZ);
	cr_assert_eq(urt_read_fixed(URT_FIXED_FD(0), buf, 4096, 4096, 0), 4096);
	cr_assert_eq(check_pat(buf, 4096, 31, 4096), -1);
	fill(buf, 4096, 32, 0);
	cr_assert_eq(urt_write_fixed(URT_FIXED_FD(0), buf, 4096, 0, 0), 4096);
	OK(urt_unregister_files());
	memset(buf, 0, SZ);
	cr_assert_eq(urt_read(fd, buf, 4096, 0), 4096);
	cr_assert_eq(check_pat(buf, 4096, 32, 0), -1);

	CHECK(urt_read_fixed(fd, buf, 16, 0, -1), -EINVAL);
	CHECK(urt_write_fixed(fd, buf, 16, 0, -1), -EINVAL);
	cr_assert_lt(urt_read_fixed(fd, buf, 16, 0, 1), 0);  /* no buffer 1 */
	cr_assert_lt(urt_read_fixed(fd, buf + SZ, 16, 0, 0), 0); /* outside buffer 0 */
	cr_assert_eq(stx_fd(fd).stx_size, (unsigned long long)SZ);

	OK(urt_unregister_buffers());
	cr_assert_lt(urt_read_fixed(fd, buf, 16, 0, 0), 0);
	/* registering again after unregistering works */
	OK(urt_register_buffers(&iov, 1));
	memset(buf, 0, SZ);
	cr_assert_eq(urt_read_fixed(fd, buf, 100, 8192, 0), 100);
	cr_assert_eq(check_pat(buf, 100, 31, 8192), -1);
	OK(urt_unregister_buffers());
	CHECK(urt_register_buffers(NULL, 1), -EINVAL);
	CHECK(urt_register_buffers(&iov, 0), -EINVAL);
	OK(urt_close(fd));
	free(buf);
	return 0;
}

Test(file, fixed_buffers_roundtrip)
{
	RUN(main_fixed_buffers, NULL);
}

static int main_fixed_files(void *arg)
{
	(void)arg;
	int fd = open_new("ff");
	int fd2 = open_new("ff2");
	int table[3] = {fd, -1, -1};
	OK(urt_register_files(table, 3));
	CHECK(urt_register_files(table, 3), -EBUSY);

	char buf[64] = {0};
	cr_assert_eq(urt_write(URT_FIXED_FD(0), "fixed!", 6, 0), 6);
	cr_assert_eq(urt_read(URT_FIXED_FD(0), buf, sizeof buf, 0), 6);
	cr_assert_str_eq(buf, "fixed!");
	expect_content(tp("ff"), "fixed!");
	/* other ops through the slot */
	struct iovec iov[2] = {{(void *)"ab", 2}, {(void *)"cd", 2}};
	cr_assert_eq(urt_writev(URT_FIXED_FD(0), iov, 2, 6), 4);
	OK(urt_fsync(URT_FIXED_FD(0)));
	OK(urt_fdatasync(URT_FIXED_FD(0)));
	OK(urt_fallocate(URT_FIXED_FD(0), 0, 0, 4096));
	cr_assert_eq(size_of(tp("ff")), 4096);
	OK(urt_ftruncate(URT_FIXED_FD(0), 10));
	cr_assert_eq(size_of(tp("ff")), 10);
	cr_assert_eq(urt_read_full(URT_FIXED_FD(0), buf, 64, 0), 10);
	cr_assert_eq(memcmp(buf, "fixed!abcd", 10), 0);

	/* splice with fixed ends on both sides */
	int p[2];
	mkpipe(p);
	cr_assert_eq(urt_splice(URT_FIXED_FD(0), 0, p[1], -1, 10, 0), 10);
	int pt[2] = {p[0], p[1]};
	OK(urt_update_files(1, pt, 2)); /* slots 1, 2 = the pipe */
	cr_assert_eq(urt_splice(URT_FIXED_FD(1), -1, fd2, 0, 10, 0), 10);
	expect_content(tp("ff2"), "fixed!abcd");
	cr_assert_eq(urt_write(URT_FIXED_FD(2), "pp", 2, -1), 2);
	cr_assert_eq(urt_splice(p[0], -1, URT_FIXED_FD(0), 10, 2, 0), 2);
	expect_content(tp("ff"), "fixed!abcdpp");

	/* empty and out-of-range slots */
	int empty = -1;
	OK(urt_update_files(2, &empty, 1));
	CHECK(urt_write(URT_FIXED_FD(2), "x", 1, -1), -EBADF);
	CHECK(urt_read(URT_FIXED_FD(3), buf, 1, 0), -EBADF);
	CHECK(urt_read(URT_FIXED_FD(1000), buf, 1, 0), -EBADF);

	/* closing a slot empties it; the original fd stays usable */
	OK(urt_close(URT_FIXED_FD(0)));
	CHECK(urt_read(URT_FIXED_FD(0), buf, sizeof buf, 0), -EBADF);
	CHECK(urt_close(URT_FIXED_FD(0)), -EBADF); /* already empty */
	cr_assert(fd_is_open(fd));
	cr_assert_eq(urt_read(fd, buf, 6, 0), 6);
	cr_assert_eq(memcmp(buf, "fixed!", 6), 0);

	/* the slot can be filled again */
	OK(urt_update_files(0, &fd2, 1));
	cr_assert_eq(urt_read(URT_FIXED_FD(0), buf, 10, 0), 10);
	cr_assert_eq(memcmp(buf, "fixed!abcd", 10), 0);

	OK(urt_unregister_files());
	CHECK(urt_read(URT_FIXED_FD(0), buf, 1, 0), -EBADF);
	/* register again after unregistering */
	OK(urt_register_files(&fd2, 1));
	cr_assert_eq(urt_read(URT_FIXED_FD(0), buf, 6, 0), 6);
	OK(urt_unregister_files());
	CHECK(urt_register_files(NULL, 1), -EINVAL);
	CHECK(urt_register_files(&fd, 0), -EINVAL);
	cr_assert_lt(urt_update_files(0, &fd, 1), 0); /* no table */

	close(p[0]);
	close(p[1]);
	OK(urt_close(fd));
	OK(urt_close(fd2));
	return 0;
}

Test(file, fixed_files)
{
	RUN(main_fixed_files, NULL);
}

/* Another task of the same loop may register; the table is the loop's. */
static int register_in_task(void *arg)
{
	return urt_register_files(arg, 1);
}

static int main_fixed_files_other_task(void *arg)
{
	(void)arg;
	int fd = open_new("ot");
	cr_assert_eq(join_ok(spawn_ok(register_in_task, &fd)), 0);
	cr_assert_eq(urt_write(URT_FIXED_FD(0), "ok", 2, 0), 2);
	expect_content(tp("ot"), "ok");
	OK(urt_unregister_files());
	OK(urt_close(fd));
	return 0;
}

Test(file, fixed_files_registered_by_another_task)
{
	RUN(main_fixed_files_other_task, NULL);
}

Test(file, register_outside_loop_eperm)
{
	int fd = open(tp("r"), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0);
	char buf[4096];
	struct iovec iov = {buf, sizeof buf};
	CHECK(urt_register_files(&fd, 1), -EPERM);
	CHECK(urt_update_files(0, &fd, 1), -EPERM);
	CHECK(urt_unregister_files(), -EPERM);
	CHECK(urt_register_buffers(&iov, 1), -EPERM);
	CHECK(urt_unregister_buffers(), -EPERM);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* Cancellation and deadlines                                             */

struct blocked_ctx {
	int fd;
	size_t n;
	size_t done;
	char buf[64];
};

static int pipe_level(int rfd)
{
	int avail = -1;
	cr_assert_eq(ioctl(rfd, FIONREAD, &avail), 0);
	return avail;
}

/* Sleep until the pipe holds data (nonempty) or is empty (!nonempty): lets
   the other task make its progress whatever the machine's speed. */
static void wait_pipe_level(int rfd, bool nonempty)
{
	while ((pipe_level(rfd) > 0) != nonempty)
		OK(urt_sleep_ms(1));
}

static int blocked_reader(void *arg)
{
	struct blocked_ctx *c = arg;
	return (int)urt_read(c->fd, c->buf, c->n, -1);
}

static int blocked_full_reader(void *arg)
{
	struct blocked_ctx *c = arg;
	return (int)urt_read_full_ex(c->fd, c->buf, c->n, -1, &c->done);
}

static int main_cancel_read(void *arg)
{
	(void)arg;
	int p[2];
	mkpipe(p);
	struct blocked_ctx c = {.fd = p[0], .n = sizeof c.buf};
	urt_task *t = spawn_ok(blocked_reader, &c);
	OK(urt_sleep_ms(5)); /* the reader is blocked on the empty pipe */
	cr_assert_not(urt_task_done(t));
	urt_cancel(t);
	cr_assert_eq(join_ok(t), -ECANCELED);

	/* the cancelled read did not consume what is written afterwards */
	cr_assert_eq(urt_write(p[1], "data", 4, -1), 4);
	char buf[16] = {0};
	cr_assert_eq(urt_read(p[0], buf, sizeof buf, -1), 4);
	cr_assert_str_eq(buf, "data");

	/* read_full_ex cancelled after a partial read reports what it got */
	c = (struct blocked_ctx){.fd = p[0], .n = 10, .done = 999};
	t = spawn_ok(blocked_full_reader, &c);
	cr_assert_eq(urt_write(p[1], "abcd", 4, -1), 4);
	wait_pipe_level(p[0], false); /* the reader took the 4 bytes */
	OK(urt_sleep_ms(5));
	cr_assert_not(urt_task_done(t));
	urt_cancel(t);
	cr_assert_eq(join_ok(t), -ECANCELED);
	cr_assert_eq(c.done, (size_t)4);
	cr_assert_eq(memcmp(c.buf, "abcd", 4), 0);
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(file, cancel_blocked_pipe_read)
{
	RUN(main_cancel_read, NULL);
}

static int blocked_writer(void *arg)
{
	struct blocked_ctx *c = arg;
	static uint8_t big[1 << 20];
	return (int)urt_write_all_ex(c->fd, big, sizeof big, -1, &c->done);
}

/* write_all blocked on a full pipe, cancelled: done = what the pipe took. */
static int main_cancel_write(void *arg)
{
	(void)arg;
	int p[2];
	mkpipe(p);
	struct blocked_ctx c = {.fd = p[1], .done = 999};
	urt_task *t = spawn_ok(blocked_writer, &c);
	wait_pipe_level(p[0], true); /* the writer has started filling the pipe */
	OK(urt_sleep_ms(5));
	cr_assert_not(urt_task_done(t));
	urt_cancel(t);
	cr_assert_eq(join_ok(t), -ECANCELED);
	cr_assert_eq(c.done, (size_t)pipe_level(p[0]), "done differs from the bytes in the pipe");
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(file, cancel_blocked_write_all)
{
	RUN(main_cancel_write, NULL);
}

static int main_deadline_read(void *arg)
{
	(void)arg;
	int p[2];
	mkpipe(p);
	char buf[64];

	OK(urt_deadline_push(MS(20)));
	CHECK(urt_read(p[0], buf, sizeof buf, -1), -ETIMEDOUT);
	urt_deadline_pop();
	/* the timed-out read is gone: the data goes to the next read */
	cr_assert_eq(urt_write(p[1], "xy", 2, -1), 2);
	cr_assert_eq(urt_read(p[0], buf, sizeof buf, -1), 2);
	cr_assert_eq(memcmp(buf, "xy", 2), 0);

	/* read_full under an expiring deadline: -ETIMEDOUT, done = the prefix */
	cr_assert_eq(urt_write(p[1], "12345", 5, -1), 5);
	OK(urt_deadline_push(MS(20)));
	size_t done = 999;
	memset(buf, 0, sizeof buf);
	CHECK(urt_read_full_ex(p[0], buf, 10, -1, &done), -ETIMEDOUT);
	cr_assert_eq(done, (size_t)5);
	cr_assert_eq(memcmp(buf, "12345", 5), 0);
	urt_deadline_pop();

	cr_assert_eq(urt_write(p[1], "abc", 3, -1), 3);
	OK(urt_deadline_push(MS(20)));
	CHECK(urt_read_full(p[0], buf, 10, -1), -ETIMEDOUT);
	urt_deadline_pop();

	/* write_all into a pipe nobody drains */
	static uint8_t big[1 << 20];
	OK(urt_deadline_push(MS(20)));
	done = 999;
	CHECK(urt_write_all_ex(p[1], big, sizeof big, -1, &done), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_gt(done, (size_t)0);
	cr_assert_eq(done, (size_t)pipe_level(p[0]));

	/* a deadline that does not expire leaves file ops alone */
	OK(urt_deadline_push(SEC(30)));
	int fd = open_new("dl");
	cr_assert_eq(urt_write_all(fd, "hello", 5, 0), 5);
	OK(urt_fsync(fd));
	cr_assert_eq(urt_read_full(fd, buf, 5, 0), 5);
	OK(urt_close(fd));
	urt_deadline_pop();
	close(p[0]);
	close(p[1]);
	return 0;
}

Test(file, deadline_on_pipe_reads_and_writes)
{
	RUN(main_deadline_read, NULL);
}

/* An expired deadline: file ops return -ETIMEDOUT without running. */
static int main_deadline_expired(void *arg)
{
	(void)arg;
	make_file(tp("keep"), "k", 1);
	OK(urt_deadline_push(0));
	CHECK(urt_unlink(tp("keep")), -ETIMEDOUT);
	CHECK(urt_open(tp("new"), O_CREAT | O_RDWR, 0600), -ETIMEDOUT);
	CHECK(urt_mkdir(tp("dir"), 0700), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert(exists(tp("keep")));
	cr_assert_not(exists(tp("new")));
	cr_assert_not(exists(tp("dir")));
	OK(urt_unlink(tp("keep")));
	return 0;
}

Test(file, expired_deadline_runs_nothing)
{
	RUN(main_deadline_expired, NULL);
}

/* A cancellation is pending: the next file op returns -ECANCELED without
   running, and only that one. */
static int main_pending_cancel(void *arg)
{
	(void)arg;
	make_file(tp("keep"), "0123456789", 10);
	int fd = urt_open(tp("keep"), O_RDWR | O_CLOEXEC, 0);
	cr_assert_geq(fd, 0);

	struct { const char *what; int rc; } r[6];
	int i = 0;
	urt_cancel(urt_current());
	r[i++] = (typeof(r[0])){"unlink", urt_unlink(tp("keep"))};
	urt_cancel(urt_current());
	r[i++] = (typeof(r[0])){"open", urt_open(tp("new"), O_CREAT | O_RDWR, 0600)};
	urt_cancel(urt_current());
	r[i++] = (typeof(r[0])){"ftruncate", urt_ftruncate(fd, 0)};
	urt_cancel(urt_current());
	r[i++] = (typeof(r[0])){"write", (int)urt_write(fd, "XX", 2, 0)};
	urt_cancel(urt_current());
	r[i++] = (typeof(r[0])){"mkdir", urt_mkdir(tp("dir"), 0700)};
	for (int k = 0; k < i; k++)
		cr_assert_eq(r[k].rc, -ECANCELED, "%s after self-cancel", r[k].what);

	cr_assert(exists(tp("keep")), "cancelled unlink ran");
	cr_assert_not(exists(tp("new")), "cancelled open ran");
	cr_assert_not(exists(tp("dir")), "cancelled mkdir ran");
	expect_content(tp("keep"), "0123456789");

	/* delivered once: the next op runs */
	OK(urt_unlink(tp("keep")));
	cr_assert_not(exists(tp("keep")));

	/* a close always closes, and leaves the cancellation pending */
	urt_cancel(urt_current());
	OK(urt_close(fd));
	cr_assert_not(fd_is_open(fd), "close under a pending cancel leaked the fd");
	CHECK(urt_nop(), -ECANCELED);
	OK(urt_nop());
	return 0;
}

Test(file, pending_cancel_runs_nothing)
{
	RUN(main_pending_cancel, NULL);
}

/*
 * An op blocked inside an io-wq worker: io_uring always punts O_CREAT opens
 * to io-wq, and opening a FIFO for writing waits there for a reader.
 * (Without O_CREAT io_uring first tries a non-blocking open, which for a
 * FIFO returns -ENXIO (write) or an fd at once (read) instead of waiting.)
 *
 * A rescuer task opens the read end after RESCUE_MS, which unblocks the
 * open: a hang guard only, so that a broken cancel/deadline fails with a
 * message instead of hanging. If the cancel or deadline works, the rescuer
 * is cancelled long before.
 */
enum { RESCUE_MS = 3000 };

struct fifo_ctx {
	char path[256];
	int rescue_fd;
};

static int fifo_creat_opener(void *arg)
{
	struct fifo_ctx *c = arg;
	return urt_open(c->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
}

static int fifo_rescuer(void *arg)
{
	struct fifo_ctx *c = arg;
	int r = urt_sleep_ms(RESCUE_MS);
	if (r < 0)
		return r;
	c->rescue_fd = urt_open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	return 0;
}

static void fifo_setup(struct fifo_ctx *c)
{
	snprintf(c->path, sizeof c->path, "%s", tp("fifo"));
	c->rescue_fd = -1;
	cr_assert_eq(mkfifo(c->path, 0600), 0);
}

static void fifo_cleanup(struct fifo_ctx *c, urt_task *rescuer)
{
	urt_cancel(rescuer);
	join_ok(rescuer);
	if (c->rescue_fd >= 0)
		close(c->rescue_fd);
}

static int main_fifo_cancel(void *arg)
{
	(void)arg;
	struct fifo_ctx c;
	fifo_setup(&c);
	urt_task *r = spawn_ok(fifo_rescuer, &c);
	urt_task *t = spawn_ok(fifo_creat_opener, &c);
	OK(urt_sleep_ms(20));
	if (urt_task_done(t))
		cr_assert_fail("open of a FIFO without a reader returned %d", join_ok(t));
	urt_cancel(t);
	int res = join_ok(t);
	cr_assert_eq(c.rescue_fd, -1, "the cancel did not interrupt the open (hang guard fired)");
	if (res >= 0)
		close(res);
	cr_assert_eq(res, -ECANCELED, "cancelled urt_open returned %d", res);
	fifo_cleanup(&c, r);

	/* with a reader the same open completes */
	t = spawn_ok(fifo_creat_opener, &c);
	OK(urt_sleep_ms(5));
	int rfd = urt_open(c.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	cr_assert_geq(rfd, 0);
	int wfd = join_ok(t);
	cr_assert_geq(wfd, 0);
	cr_assert_eq(urt_write(wfd, "f", 1, -1), 1);
	char ch = 0;
	cr_assert_eq(urt_read(rfd, &ch, 1, -1), 1);
	cr_assert_eq(ch, 'f');
	OK(urt_close(wfd));
	OK(urt_close(rfd));
	return 0;
}

Test(file, cancel_open_blocked_in_iowq)
{
	SKIP_ON_EPOLL("a call blocked on a worker thread (FIFO open) cannot be interrupted; it is waited for");
	RUN(main_fifo_cancel, NULL);
}

static int main_fifo_deadline(void *arg)
{
	(void)arg;
	struct fifo_ctx c;
	fifo_setup(&c);
	urt_task *r = spawn_ok(fifo_rescuer, &c);
	OK(urt_deadline_push(MS(30)));
	int res = urt_open(c.path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	urt_deadline_pop();
	if (res >= 0)
		close(res);
	cr_assert_eq(c.rescue_fd, -1, "the 30 ms deadline did not interrupt the open "
		     "(hang guard fired after %d ms; urt_open returned %d)", RESCUE_MS, res);
	cr_assert_eq(res, -ETIMEDOUT);
	fifo_cleanup(&c, r);
	return 0;
}

Test(file, deadline_on_open_blocked_in_iowq)
{
	SKIP_ON_EPOLL("a call blocked on a worker thread (FIFO open) cannot be interrupted; it is waited for");
	RUN(main_fifo_deadline, NULL);
}

/* ---------------------------------------------------------------------- */
/* Outside a task                                                         */

Test(file, ops_outside_task_eperm)
{
	make_file(tp("f"), "0123456789", 10);
	int fd = open(tp("f"), O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	int p[2];
	mkpipe(p);
	char buf[16];
	struct iovec iov = {buf, sizeof buf};
	struct statx sx;
	size_t done = 999;

	CHECK(urt_open(tp("new"), O_CREAT | O_RDWR, 0600), -EPERM);
	CHECK(urt_openat(AT_FDCWD, tp("new"), O_CREAT | O_RDWR, 0600), -EPERM);
	CHECK(urt_read(fd, buf, sizeof buf, 0), -EPERM);
	CHECK(urt_write(fd, "XX", 2, 0), -EPERM);
	CHECK(urt_readv(fd, &iov, 1, 0), -EPERM);
	CHECK(urt_writev(fd, &iov, 1, 0), -EPERM);
	CHECK(urt_read_full(fd, buf, sizeof buf, 0), -EPERM);
	CHECK(urt_write_all(fd, "XX", 2, 0), -EPERM);
	CHECK(urt_read_full_ex(fd, buf, sizeof buf, 0, &done), -EPERM);
	cr_assert_eq(done, (size_t)0);
	done = 999;
	CHECK(urt_write_all_ex(fd, "XX", 2, 0, &done), -EPERM);
	cr_assert_eq(done, (size_t)0);
	CHECK(urt_fsync(fd), -EPERM);
	CHECK(urt_fdatasync(fd), -EPERM);
	CHECK(urt_statx(AT_FDCWD, tp("f"), 0, STATX_SIZE, &sx), -EPERM);
	CHECK(urt_fallocate(fd, 0, 0, 4096), -EPERM);
	CHECK(urt_ftruncate(fd, 0), -EPERM);
	CHECK(urt_unlinkat(AT_FDCWD, tp("f"), 0), -EPERM);
	CHECK(urt_unlink(tp("f")), -EPERM);
	CHECK(urt_renameat(AT_FDCWD, tp("f"), AT_FDCWD, tp("g"), 0), -EPERM);
	CHECK(urt_rename(tp("f"), tp("g")), -EPERM);
	CHECK(urt_mkdirat(AT_FDCWD, tp("d"), 0700), -EPERM);
	CHECK(urt_mkdir(tp("d"), 0700), -EPERM);
	CHECK(urt_symlinkat("f", AT_FDCWD, tp("s")), -EPERM);
	CHECK(urt_linkat(AT_FDCWD, tp("f"), AT_FDCWD, tp("h"), 0), -EPERM);
	CHECK(urt_splice(fd, 0, p[1], -1, 10, 0), -EPERM);
	CHECK(urt_read_fixed(fd, buf, sizeof buf, 0, 0), -EPERM);
	CHECK(urt_write_fixed(fd, buf, sizeof buf, 0, 0), -EPERM);

	/* nothing happened */
	cr_assert(fd_is_open(fd));
	expect_content(tp("f"), "0123456789");
	cr_assert_not(exists(tp("new")));
	cr_assert_not(exists(tp("g")));
	cr_assert_not(exists(tp("d")));
	cr_assert_not(exists(tp("s")));
	cr_assert_not(exists(tp("h")));
	cr_assert_eq(pipe_level(p[0]), 0);
	close(p[0]);
	close(p[1]);
	/* a close always closes: outside a task, synchronously */
	OK(urt_close(fd));
	cr_assert_not(fd_is_open(fd));
	CHECK(urt_close(fd), -EBADF);
}

/* ---------------------------------------------------------------------- */
/* urt_io_offload (IOSQE_ASYNC hint)                                      */

static int offload_child(void *arg)
{
	(void)arg;
	return urt_io_offload(false); /* the setting is per task: off here */
}

static int main_offload(void *arg)
{
	(void)arg;
	cr_assert_not(urt_io_offload(true));
	cr_assert(urt_io_offload(true));
	cr_assert_eq(join_ok(spawn_ok(offload_child, NULL)), 0);

	/* file I/O and metadata ops through io-wq */
	enum { N = 1 << 20 };
	uint8_t *buf = xmalloc(N);
	fill(buf, N, 41, 0);
	int fd = open_new("off");
	cr_assert_eq(urt_write_all(fd, buf, N, 0), (ssize_t)N);
	OK(urt_fsync(fd));
	memset(buf, 0, N);
	cr_assert_eq(urt_read_full(fd, buf, N, 0), (ssize_t)N);
	cr_assert_eq(check_pat(buf, N, 41, 0), -1);
	cr_assert_eq(stx_fd(fd).stx_size, (unsigned long long)N);
	OK(urt_close(fd));
	OK(urt_rename(tp("off"), tp("off2")));
	OK(urt_unlink(tp("off2")));

	/* a pipe read offloaded still honours a deadline and a cancel */
	int p[2];
	mkpipe(p);
	OK(urt_deadline_push(MS(20)));
	CHECK(urt_read(p[0], buf, 16, -1), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_eq(urt_write(p[1], "q", 1, -1), 1);
	cr_assert_eq(urt_read(p[0], buf, 16, -1), 1);
	cr_assert_eq(buf[0], 'q');
	close(p[0]);
	close(p[1]);

	cr_assert(urt_io_offload(false));
	free(buf);
	return 0;
}

Test(file, io_offload)
{
	cr_assert_not(urt_io_offload(true), "outside a task");
	RUN(main_offload, NULL);
}

/* ---------------------------------------------------------------------- */
/* Stress                                                                 */

enum { ST_TASKS = 64, ST_SIZE = 256 * 1024, ST_CHUNK = 4096, ST_CHUNKS = ST_SIZE / ST_CHUNK };

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static void shuffle(int *v, int n, uint32_t *seed)
{
	for (int i = 0; i < n; i++)
		v[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(xorshift(seed) % (uint32_t)(i + 1));
		int t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/* Write the task's file chunk by chunk in random order, read it back in
   another random order, then whole; compare everything. */
static int stress_task(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	uint32_t seed = id * 7919u + 1;
	char path[256]; /* per task: tp()'s buffers are shared */
	snprintf(path, sizeof path, "%s/stress-%u", g_dir, id);
	int fd = urt_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
	cr_assert_geq(fd, 0, "urt_open(%s) = %d", path, fd);
	uint8_t *chunk = xmalloc(ST_CHUNK);
	int order[ST_CHUNKS];

	shuffle(order, ST_CHUNKS, &seed);
	for (int k = 0; k < ST_CHUNKS; k++) {
		size_t off = (size_t)order[k] * ST_CHUNK;
		fill(chunk, ST_CHUNK, id, off);
		cr_assert_eq(urt_write_all(fd, chunk, ST_CHUNK, (int64_t)off), ST_CHUNK);
	}
	cr_assert_eq(stx_fd(fd).stx_size, (unsigned long long)ST_SIZE);

	shuffle(order, ST_CHUNKS, &seed);
	for (int k = 0; k < ST_CHUNKS; k++) {
		size_t off = (size_t)order[k] * ST_CHUNK;
		memset(chunk, 0, ST_CHUNK);
		cr_assert_eq(urt_read_full(fd, chunk, ST_CHUNK, (int64_t)off), ST_CHUNK);
		cr_assert_eq(check_pat(chunk, ST_CHUNK, id, off), -1, "task %u chunk at %zu", id, off);
	}

	uint8_t *all = xmalloc(ST_SIZE + 100); /* room for what it asks: stops at EOF */
	cr_assert_eq(urt_read_full(fd, all, ST_SIZE + 100, 0), ST_SIZE);
	cr_assert_eq(check_pat(all, ST_SIZE, id, 0), -1, "task %u whole file", id);
	free(all);
	free(chunk);
	OK(urt_close(fd));
	OK(urt_unlink(path));
	return 0;
}

static int main_stress(void *arg)
{
	(void)arg;
	urt_task *t[ST_TASKS];
	int res[ST_TASKS];
	for (int i = 0; i < ST_TASKS; i++)
		t[i] = spawn_ok(stress_task, (void *)(uintptr_t)(i + 1));
	CHECK(urt_join_all(t, ST_TASKS, res), 0);
	for (int i = 0; i < ST_TASKS; i++)
		cr_assert_eq(res[i], 0, "task %d", i);
	return 0;
}

Test(file, stress_64_tasks_random_offsets, .timeout = 120)
{
	RUN(main_stress, NULL);
}
