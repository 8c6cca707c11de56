/* SPDX-License-Identifier: MIT */
/*
 * Copying one regular file or symlink, with nothing lost on failure.
 *
 * A new file is written into an unnamed O_TMPFILE inode in the
 * destination's own directory (never the current directory), which is
 * linked under its final name only once it is complete (attributes set,
 * fsynced with --sync). A failed or interrupted copy leaves nothing behind:
 * closing the fd frees the inode, even when the process dies. Where
 * O_TMPFILE or /proc is missing, a named temporary ".urt-cp.*" and renameat
 * are used instead and unlinked on failure.
 *
 * An existing destination: a plain regular file (one link, no xattrs) is
 * replaced atomically, through a temporary that first gets the old file's
 * owner, group and mode, so it keeps what cp keeps and stays whole when
 * the copy fails (ENOSPC, EFBIG, SIGINT). Everything else is written
 * through, as cp does: a file with other hard links or xattrs (the inode
 * is kept), a symlink to a file (its target is written; a dangling one is
 * refused, or with POSIXLY_CORRECT its target made through a temporary),
 * a device node or FIFO (/dev/null stays /dev/null). So is a
 * file we may write but whose directory we may not, or whose owner we
 * cannot give to the temporary.
 *
 * Data path, in order of preference: a reflink (FICLONE) where the
 * filesystem shares extents (btrfs, xfs); copy_file_range in chunks on the
 * executor for files above one chunk (one in-kernel copy per byte); else
 * up to O.depth chunks in flight, each a read into a pooled aligned buffer
 * and a write at the same offset, run by O.depth tasks pulling chunks from
 * a shared cursor. --direct and --verify always take the last path. Sparse
 * files are copied extent by extent (SEEK_DATA/SEEK_HOLE) so holes stay
 * holes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cp.h"
#include "dest.h"

#define DIO_ALIGN 4096

/* ---------------------------------------------------------------------- */
/* Buffer pool: at most jobs + BIG_FILES x depth buffers of O.chunk bytes.
   One per loop (thread-local): a buffer stays on the CPU that used it,
   and taking one needs no lock. */

static _Thread_local void **pool;
static _Thread_local unsigned pool_len;

void *buf_get(void)
{
	if (pool_len)
		return pool[--pool_len];
	return aligned_alloc(DIO_ALIGN, O.chunk);
}

void buf_put(void *b)
{
	if (!b)
		return;
	if (!pool)
		pool = calloc((size_t)O.jobs * O.depth + 1, sizeof *pool);
	if (pool && pool_len < O.jobs * O.depth + 1)
		pool[pool_len++] = b;
	else
		free(b);
}

/* A loop that stops copying frees its pool (its thread ends with it). */
void buf_pool_free(void)
{
	while (pool_len)
		free(pool[--pool_len]);
	free(pool);
	pool = NULL;
}

/* ---------------------------------------------------------------------- */
/* Temporary files                                                         */

/* What one copy learns about the filesystem, every loop then uses: atomics
   (a stale value costs one failed try, never a wrong result). */
static _Atomic bool no_tmpfile; /* O_TMPFILE or the /proc link trick failed once */

void cp_tmpfile_disable(void)
{
	no_tmpfile = true;
}
static _Atomic unsigned tmp_seq; /* names of temporaries: unique across loops */

struct tmp {
	int fd;
	char name[48];  /* named temporary in the destination dir, or "" */
};

static void tmp_name(char *out, size_t n)
{
	snprintf(out, n, ".urt-cp.%d.%u", (int)getpid(), ++tmp_seq);
}

static int tmp_open_(struct job *j, mode_t mode, struct tmp *t, bool *direct);

/* Mode 2 offloads only the ops that never complete inline (creating,
   writing, linking); see cp_regular. *direct: O_DIRECT wanted; cleared
   (for this file only) where the destination's filesystem refuses it. */
static int tmp_open(struct job *j, mode_t mode, struct tmp *t, bool *direct)
{
	bool was = urt_io_offload(O.offload != 0);
	int r = tmp_open_(j, mode, t, direct);
	urt_io_offload(was);
	return r;
}

static int tmp_open_(struct job *j, mode_t mode, struct tmp *t, bool *direct)
{
	int wr = (O.verify ? O_RDWR : O_WRONLY) | O_CLOEXEC;
	t->name[0] = 0;
	if (!no_tmpfile) {
		t->fd = urt_openat(j->ddir, ".", O_TMPFILE | wr | (*direct ? O_DIRECT : 0), mode);
		if (t->fd == -EINVAL && *direct) {
			/* EINVAL: no O_DIRECT here, or no O_TMPFILE? Ask without it. */
			t->fd = urt_openat(j->ddir, ".", O_TMPFILE | wr, mode);
			if (t->fd >= 0)
				*direct = false;
		}
		if (t->fd >= 0)
			return 0;
		if (t->fd != -EOPNOTSUPP && t->fd != -EISDIR && t->fd != -EINVAL)
			return t->fd;
		no_tmpfile = true;
	}
	/* A named temporary can be opened by others until it is complete: when
	   its owner is to change, nobody but us may read it before (cp's
	   omitted permissions); cp_regular restores the mode. */
	if (O.preserve & P_OWNER)
		mode &= 0700;
	for (int tries = 0; tries < 100; tries++) {
		tmp_name(t->name, sizeof t->name);
		t->fd = urt_openat(j->ddir, t->name, O_CREAT | O_EXCL | wr | (*direct ? O_DIRECT : 0),
				   mode);
		if (t->fd == -EINVAL && *direct) {
			/* the file was created before O_DIRECT was refused */
			*direct = false;
			t->fd = urt_openat(j->ddir, t->name, wr, 0);
			if (t->fd < 0)
				urt_unlinkat(j->ddir, t->name, 0);
		}
		if (t->fd != -EEXIST)
			break;
	}
	if (t->fd < 0)
		t->name[0] = 0;
	return t->fd < 0 ? t->fd : 0;
}

/* Give the finished temporary its final name. exists: the destination is
   there and is to be replaced. Returns 0, -EEXIST (for -n), or an error. */
static int tmp_commit_(struct job *j, struct tmp *t, bool exists);

static int tmp_commit(struct job *j, struct tmp *t, bool exists)
{
	bool was = urt_io_offload(O.offload != 0);
	int r = tmp_commit_(j, t, exists);
	urt_io_offload(was);
	return r;
}

/* Give the unnamed O_TMPFILE inode behind fd a name. linkat(fd, "",
   AT_EMPTY_PATH) saves resolving /proc/self/fd/N (4% of a tree copy's CPU)
   but needs CAP_DAC_READ_SEARCH; the /proc form works for everyone. */
static _Atomic int empty_path_link = 0; /* 1 works, -1 does not, 0 not tried */

static int link_tmpfile(int fd, int ddir, const char *name)
{
	if (empty_path_link >= 0) {
		int r = urt_linkat(fd, "", ddir, name, AT_EMPTY_PATH);
		if (r == 0)
			empty_path_link = 1;
		if (r == 0 || empty_path_link == 1 || (r != -ENOENT && r != -EPERM && r != -EINVAL))
			return r;
		empty_path_link = -1;
	}
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	return urt_linkat(AT_FDCWD, proc, ddir, name, AT_SYMLINK_FOLLOW);
}

static int tmp_commit_(struct job *j, struct tmp *t, bool exists)
{
	if (!t->name[0]) {
		if (!exists) {
			int r = link_tmpfile(t->fd, j->ddir, j->dname);
			if (r != -EEXIST || O.noclobber)
				return r;
		}
		/* replace: link under a temporary name, then rename over */
		for (int tries = 0; tries < 100; tries++) {
			tmp_name(t->name, sizeof t->name);
			int r = link_tmpfile(t->fd, j->ddir, t->name);
			if (r == 0)
				break;
			t->name[0] = 0;
			if (r != -EEXIST)
				return r;
		}
		if (!t->name[0])
			return -EEXIST;
	}
	unsigned flags = O.noclobber ? RENAME_NOREPLACE : 0;
	int r = urt_renameat(j->ddir, t->name, j->ddir, j->dname, flags);
	if (r == 0)
		t->name[0] = 0;
	return r;
}

static void tmp_discard(struct job *j, struct tmp *t)
{
	if (t->fd >= 0)
		urt_close(t->fd);
	t->fd = -1;
	if (t->name[0]) {
		/* even when cancelled: the unlink must happen. A pending cancel was
		   consumed by the op that failed, so this op runs. */
		urt_unlinkat(j->ddir, t->name, 0);
		t->name[0] = 0;
	}
}

/* ---------------------------------------------------------------------- */
/* The data pipeline                                                       */

struct extent {
	int64_t off, len;
};

/*
 * A FIFO counting semaphore for tasks of this loop (urt's own arrives with
 * issue 5). A waiter that is cancelled leaves the queue; a turn handed to
 * a waiter is its to release, even if it was cancelled meanwhile.
 */
struct sem_wait {
	struct sem_wait *next;
	urt_future go;
};

struct sem {
	unsigned avail;
	struct sem_wait *head, **tail;
};

static int sem_acquire(struct sem *s)
{
	if (s->avail) {
		s->avail--;
		return 0;
	}
	struct sem_wait w = {.next = NULL};
	urt_future_init(&w.go);
	if (!s->tail)
		s->tail = &s->head;
	/* w stays queued only while this task waits: sem_release unlinks it
	   before waking it, and a failed wait unlinks it below */
	*s->tail = &w;
	/* cppcheck-suppress autoVariables */
	s->tail = &w.next;
	int r = urt_future_wait(&w.go, NULL, URT_FOREVER);
	if (r < 0 && !urt_future_done(&w.go)) {
		struct sem_wait **pp = &s->head;
		while (*pp != &w)
			pp = &(*pp)->next;
		*pp = w.next;
		if (s->tail == &w.next)
			s->tail = pp;
		return r;
	}
	return 0;
}

static void sem_release(struct sem *s)
{
	struct sem_wait *w = s->head;
	if (!w) {
		s->avail++;
		return;
	}
	s->head = w->next;
	if (!s->head)
		s->tail = &s->head;
	urt_future_set(&w->go, 0, NULL); /* the unit passes straight to w */
}

/* Files larger than one chunk in flight at once, on all loops together (a
   cross-loop semaphore): with the buffers of the small ones, memory stays
   within jobs x chunk + BIG_FILES x depth x chunk. */
#define BIG_FILES 4
static urt_xsem *big_files;

/* Before the loops start: the state copies on every loop share. */
int cp_copy_init(void)
{
	return urt_xsem_new(BIG_FILES, &big_files);
}

struct pipe_state {
	int sfd, dfd;
	struct extent *ext;
	unsigned next_ext, n_ext;
	int64_t pos;        /* within ext[next_ext] */
	int err;            /* first error; stops everyone */
	const char *err_what;
	bool large;         /* more than one chunk */
	bool sdirect, ddirect; /* this file's fds are O_DIRECT (per file: see cp_regular) */
	bool zero_holes;    /* --sparse=always: all-zero blocks become holes */
	size_t cfr_chunk;   /* copy_file_range: bytes per call (0: read/write pipeline) */
	/* One write in flight per file: buffered writes to one inode serialize
	   on its i_rwsem anyway, and several io-wq workers spinning on it cost
	   more than they overlap. Reads stay parallel. */
	struct sem wturn;
};

/* Claim the next chunk of at most max bytes. False when nothing is left. */
static bool next_chunk(struct pipe_state *p, size_t max, int64_t *off, size_t *len)
{
	while (p->next_ext < p->n_ext) {
		struct extent *e = &p->ext[p->next_ext];
		if (p->pos < e->len) {
			int64_t n = e->len - p->pos;
			if (n > (int64_t)max)
				n = (int64_t)max;
			*off = e->off + p->pos;
			*len = (size_t)n;
			p->pos += n;
			return true;
		}
		p->next_ext++;
		p->pos = 0;
	}
	return false;
}

static bool all_zero(const char *b, size_t n)
{
	const uint64_t *w = (const uint64_t *)(const void *)b;
	size_t k = n / 8;
	for (size_t i = 0; i < k; i++)
		if (w[i])
			return false;
	for (size_t i = k * 8; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Write buf[0, len) at off, leaving all-zero 4 KiB blocks as holes. */
static ssize_t write_sparse(int fd, const char *buf, size_t len, int64_t off)
{
	size_t i = 0;
	while (i < len) {
		size_t blk = len - i < 4096 ? len - i : 4096;
		if (all_zero(buf + i, blk)) {
			i += blk;
			continue;
		}
		size_t j = i + blk;
		while (j < len) {
			size_t b2 = len - j < 4096 ? len - j : 4096;
			if (all_zero(buf + j, b2))
				break;
			j += b2;
		}
		ssize_t r = urt_write_all(fd, buf + i, j - i, off + (int64_t)i);
		if (r < 0)
			return r;
		i = j;
	}
	return (ssize_t)len;
}

static int pump(void *arg)
{
	struct pipe_state *p = arg;
	/* Small files: everything offloaded (see cp_regular). Large files:
	   reads inline, where io_uring's async buffered reads keep readahead
	   going on a cold file and a hot one is copied on the loop's CPU while
	   the previous chunk's write runs on an io-wq worker's. */
	bool read_off = O.offload == 1 && !p->large;
	bool write_off = O.offload == 2 || (O.offload == 1 && !p->large);
	bool was = urt_io_offload(read_off);
	void *buf = buf_get();
	if (!buf) {
		if (!p->err)
			p->err = -ENOMEM, p->err_what = "cannot allocate a buffer for";
		urt_io_offload(was);
		return 0;
	}
	int64_t off;
	size_t len;
	while (!p->err && next_chunk(p, O.chunk, &off, &len)) {
		size_t got = 0, rlen = len;
		if (p->sdirect) /* O_DIRECT reads whole blocks; the last one comes back short */
			rlen = (len + DIO_ALIGN - 1) & ~(size_t)(DIO_ALIGN - 1);
		ssize_t r = urt_read_full_ex(p->sfd, buf, rlen, off, &got);
		if (got > len)
			got = len;
		if (r < 0) {
			if (!p->err)
				p->err = (int)r, p->err_what = "error reading";
			break;
		}
		if (got == 0)
			continue; /* the source shrank while we copied: copy what is there */
		size_t wlen = got;
		if (p->ddirect && (wlen % DIO_ALIGN)) {
			/* O_DIRECT writes whole blocks; the tail is cut by ftruncate */
			size_t up = (wlen + DIO_ALIGN - 1) & ~(size_t)(DIO_ALIGN - 1);
			memset((char *)buf + wlen, 0, up - wlen);
			wlen = up;
		}
		r = sem_acquire(&p->wturn);
		if (r == 0) {
			urt_io_offload(write_off);
			r = p->zero_holes ? write_sparse(p->dfd, buf, wlen, off)
					  : urt_write_all(p->dfd, buf, wlen, off);
			urt_io_offload(read_off);
			sem_release(&p->wturn);
		}
		if (r < 0) {
			if (!p->err)
				p->err = (int)r, p->err_what = "error writing";
			break;
		}
		S.bytes_done += got;
	}
	buf_put(buf);
	urt_io_offload(was);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* copy_file_range on the executor                                         */

/* The fds are the function's own dups: after a cancel the task closes
   its fds at once while the function may still be running. */
struct cfr_arg {
	int sfd, dfd;
	int64_t off;
	size_t len, done;
	int err;
	bool ran;
};

static void *cfr_fn(void *arg)
{
	/* Executor threads inherit the loop's pinning (main.c pins a single
	   large file to one CPU); an in-kernel copy wants its own CPU. */
	cp_unpin_self();
	struct cfr_arg *a = arg;
	a->ran = true;
	while (a->done < a->len) {
		loff_t in = a->off + (int64_t)a->done, out = in;
		ssize_t n = copy_file_range(a->sfd, &in, a->dfd, &out, a->len - a->done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			a->err = -errno;
			break;
		}
		if (n == 0)
			break; /* the source shrank */
		a->done += (size_t)n;
	}
	close(a->sfd);
	close(a->dfd);
	return NULL;
}

static void cfr_orphan(void *arg, void *result)
{
	(void)result;
	struct cfr_arg *a = arg;
	if (!a->ran) {
		close(a->sfd);
		close(a->dfd);
	}
	free(a);
}

/* One chunk: 0 (a->done may be short at EOF) or a negative errno. */
static int cfr_chunk(int sfd, int dfd, int64_t off, size_t len, size_t *done)
{
	struct cfr_arg *a = malloc(sizeof *a);
	if (!a)
		return -ENOMEM;
	*a = (struct cfr_arg){.off = off, .len = len};
	a->sfd = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
	a->dfd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	if (a->sfd < 0 || a->dfd < 0) {
		int e = -errno;
		if (a->sfd >= 0)
			close(a->sfd);
		if (a->dfd >= 0)
			close(a->dfd);
		free(a);
		return e;
	}
	int r = urt_offload_ex(cfr_fn, a, NULL, cfr_orphan);
	if (r < 0)
		return r; /* a belongs to cfr_orphan now */
	*done = a->done;
	r = a->err;
	free(a);
	return r;
}

static int cfr_pump(void *arg)
{
	struct pipe_state *p = arg;
	int64_t off;
	size_t len;
	while (!p->err && next_chunk(p, p->cfr_chunk, &off, &len)) {
		size_t done = 0;
		int r = cfr_chunk(p->sfd, p->dfd, off, len, &done);
		S.bytes_done += done;
		if (r < 0) {
			if (!p->err)
				p->err = r, p->err_what = "error copying";
			break;
		}
	}
	return 0;
}

/* Errors of copy_file_range that mean "not here": use read/write instead. */
static bool cfr_unsupported(int r)
{
	return r == -EXDEV || r == -EINVAL || r == -EOPNOTSUPP || r == -ENOSYS || r == -EBADF ||
	       r == -ETXTBSY || r == -EPERM;
}

/*
 * Small files when every CPU runs a loop (O.cfr_small): copy_file_range on
 * the loop's own thread, one in-kernel copy, instead of a read into a
 * buffer here and a write on an io-wq worker, two copies and a hand-off
 * to a CPU that is as busy as this one. 20k-file tree on 2 loops: 11% less
 * CPU (bench/RESULTS.md, issue 14); on one loop the loop's thread is the
 * bottleneck and the hand-off wins. Only for a file wholly in the page
 * cache (cachestat, Linux 6.5): a cold one would stall the loop on the
 * disk, where io_uring's read lets its other copies go on.
 */
#ifndef __NR_cachestat
#define __NR_cachestat 451 /* the same number on every architecture */
#endif
struct cp_cachestat_range {
	uint64_t off, len;
};
struct cp_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};
static _Atomic bool no_cachestat; /* the kernel (or seccomp) refused it once */

static bool all_cached(int fd, off_t size)
{
	static _Atomic long page;
	if (no_cachestat)
		return false;
	if (!page)
		page = sysconf(_SC_PAGESIZE);
	struct cp_cachestat_range rg = {.off = 0, .len = (uint64_t)size};
	struct cp_cachestat cs;
	if (syscall(__NR_cachestat, fd, &rg, &cs, 0) < 0) {
		if (errno == ENOSYS || errno == EPERM || errno == EOPNOTSUPP)
			no_cachestat = true;
		return false;
	}
	return cs.nr_cache >= ((uint64_t)size + (uint64_t)page - 1) / (uint64_t)page;
}

/* copy_file_range of [0, len) on this thread; *done: bytes copied. A
   shorter source (it shrank meanwhile) is copied as far as it goes. */
static int cfr_here(int sfd, int dfd, size_t len, size_t *done)
{
	loff_t in = 0, out = 0;
	*done = 0;
	while (*done < len) {
		ssize_t n = copy_file_range(sfd, &in, dfd, &out, len - *done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		*done += (size_t)n;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */

/* The data extents of sfd: *whole = [0,size) unless the file looks sparse
   (then a malloc'ed list). whole is the caller's: each file has its own. */
static int find_extents(int sfd, const struct stat *st, struct extent *whole,
			struct extent **out, unsigned *n, bool holes_ok)
{
	*out = whole;
	*n = 0;
	if (st->st_size == 0)
		return 0;
	whole->off = 0;
	whole->len = st->st_size;
	*n = 1;
	/* cp's heuristic: fewer allocated blocks than the size needs */
	if (!holes_ok || (int64_t)st->st_blocks * 512 >= st->st_size)
		return 0;
	unsigned cap = 16, k = 0;
	struct extent *e = malloc(cap * sizeof *e);
	if (!e)
		return -ENOMEM;
	off_t pos = 0;
	while (pos < st->st_size) {
		/* lseek on an open fd does not block on I/O; no need for the ring */
		off_t d = lseek(sfd, pos, SEEK_DATA);
		if (d < 0) {
			if (errno == ENXIO)
				break; /* only a hole remains */
			free(e);
			if (errno == EINVAL)
				return 0; /* the filesystem cannot tell: copy it whole */
			return -errno;
		}
		off_t h = lseek(sfd, d, SEEK_HOLE);
		if (h < 0)
			h = st->st_size;
		if (h > st->st_size)
			h = st->st_size;
		if (k == cap) {
			struct extent *ne = realloc(e, 2 * cap * sizeof *e);
			if (!ne) {
				free(e);
				return -ENOMEM;
			}
			e = ne, cap *= 2;
		}
		e[k].off = d;
		e[k].len = h - d;
		k++;
		pos = h;
	}
	*out = e;
	*n = k;
	return 1; /* sparse: the destination gets its size by ftruncate */
}

/* Reflinks: the device pair that last refused one (skip the ioctl there).
   Two atomics, not one pair: a torn pair only costs an ioctl that fails. */
static _Atomic dev_t noclone_s = (dev_t)-1, noclone_d = (dev_t)-1;

struct copy_ctx {
	int sfd, dfd;
	const struct stat *st;    /* the source */
	bool dst_regular;         /* holes, ftruncate and the fast paths need one */
	bool sdirect, ddirect;
	dev_t ddev;
	const char *what;         /* on error: what failed */
	bool cloned;
};

/*
 * A source whose size says 0: read it to the end all the same. Files of
 * /proc and other pseudo file systems report 0 and have content (cp reads
 * every file to EOF); a really empty file costs one read that returns 0.
 * Sizes above 0 are trusted: reading past them would cost every file a
 * read more.
 */
static int copy_to_eof(struct copy_ctx *c)
{
	if (c->ddirect) {
		/* unaligned pieces at unaligned offsets: drop O_DIRECT for this copy */
		int fl = fcntl(c->dfd, F_GETFL);
		if (fl < 0 || fcntl(c->dfd, F_SETFL, fl & ~O_DIRECT) < 0) {
			c->what = "error writing";
			return -errno;
		}
		c->ddirect = false;
	}
	/* The first read goes to a small buffer on this task's stack (valid
	   until its CQE: the task waits for it even when cancelled). A truly
	   empty file, the usual case, then never takes a chunk buffer, whose
	   pages and mapping would be paid per file. */
	_Alignas(64) char probe[4096];
	void *buf = probe;
	size_t cap = sizeof probe;
	bool holes = c->dst_regular && O.sparse == SPARSE_ALWAYS;
	int64_t off = 0;
	int r = 0;
	for (;;) {
		/* at the file position (0 when opened): also where pread is refused */
		ssize_t n = urt_read(c->sfd, buf, cap, -1);
		if (n < 0) {
			r = (int)n, c->what = "error reading";
			break;
		}
		if (n == 0)
			break;
		ssize_t w = holes ? write_sparse(c->dfd, buf, (size_t)n, off)
				  : urt_write_all(c->dfd, buf, (size_t)n, off);
		if (w < 0) {
			r = (int)w, c->what = "error writing";
			break;
		}
		off += n;
		S.bytes_total += (uint64_t)n;
		S.bytes_done += (uint64_t)n;
		if (buf == probe) { /* there is content: read on in chunks */
			void *b = buf_get();
			if (!b) {
				r = -ENOMEM, c->what = "cannot allocate a buffer for";
				break;
			}
			buf = b, cap = O.chunk;
		}
	}
	if (buf != probe)
		buf_put(buf);
	if (!r && holes && off > 0 && (r = urt_ftruncate(c->dfd, off)) < 0)
		c->what = "cannot set the size of";
	return r;
}

static int copy_data(struct copy_ctx *c)
{
	const struct stat *st = c->st;
	c->what = NULL;
	if (st->st_size == 0)
		return copy_to_eof(c);
	bool fast = c->dst_regular && !c->sdirect && !c->ddirect && !O.verify;
	/* 1. a reflink shares the extents: no data is copied at all */
	if (fast && O.reflink != REFLINK_NEVER && O.sparse != SPARSE_ALWAYS && st->st_size > 0 &&
	    (O.reflink == REFLINK_ALWAYS || st->st_dev != noclone_s || c->ddev != noclone_d)) {
		if (ioctl(c->dfd, FICLONE, c->sfd) == 0) {
			S.bytes_done += (uint64_t)st->st_size;
			c->cloned = true;
			return 0;
		}
		int e = errno;
		if (O.reflink == REFLINK_ALWAYS) {
			c->what = "failed to clone";
			return -e;
		}
		if (e == EOPNOTSUPP || e == EXDEV || e == EINVAL || e == ENOTTY) {
			noclone_s = st->st_dev;
			noclone_d = c->ddev;
		}
	} else if (O.reflink == REFLINK_ALWAYS && st->st_size > 0) {
		c->what = "failed to clone";
		return -EOPNOTSUPP;
	}

	struct extent whole, *ext;
	unsigned n_ext;
	int sparse = find_extents(c->sfd, st, &whole, &ext, &n_ext,
				  c->dst_regular && O.sparse != SPARSE_NEVER);
	if (sparse < 0) {
		c->what = "cannot read extents of";
		return sparse;
	}
	struct pipe_state p = {.sfd = c->sfd, .dfd = c->dfd, .ext = ext, .n_ext = n_ext,
			       .wturn = {.avail = 1}, .sdirect = c->sdirect, .ddirect = c->ddirect,
			       .zero_holes = c->dst_regular && O.sparse == SPARSE_ALWAYS};
	int64_t data = 0;
	for (unsigned i = 0; i < n_ext; i++)
		data += ext[i].len;
	uint64_t chunks = ((uint64_t)data + O.chunk - 1) / O.chunk;
	p.large = chunks > 1;
	int (*fn)(void *) = pump;

	/* 2. copy_file_range on this thread for a small, whole, hot file */
	if (fast && !p.large && !sparse && data > 0 && O.cfr_small && O.cfr &&
	    O.reflink != REFLINK_NEVER && O.sparse != SPARSE_ALWAYS && all_cached(c->sfd, data)) {
		size_t done = 0;
		int r = cfr_here(c->sfd, c->dfd, (size_t)data, &done);
		S.bytes_done += done;
		if (r == 0)
			return 0;
		if (done || !cfr_unsupported(r)) {
			c->what = "error copying";
			return r;
		}
		/* not between these two files: read and write below */
	}

	/* 3. copy_file_range: one in-kernel copy per byte, for large files */
	if (fast && p.large && O.cfr && O.reflink != REFLINK_NEVER && O.sparse != SPARSE_ALWAYS) {
		size_t cc = O.chunk < (8u << 20) ? (8u << 20) : O.chunk;
		int64_t off = 0;
		size_t len = 0, done = 0;
		/* the first chunk alone: it tells whether this pair of files can */
		p.cfr_chunk = cc;
		next_chunk(&p, cc, &off, &len);
		int r = cfr_chunk(c->sfd, c->dfd, off, len, &done);
		S.bytes_done += done;
		if (r == 0) {
			fn = cfr_pump;
			chunks = (((uint64_t)data - len) + cc - 1) / cc;
		} else if (done == 0 && cfr_unsupported(r)) {
			S.bytes_done -= done;
			p.next_ext = 0, p.pos = 0, p.cfr_chunk = 0; /* start over with read/write */
		} else {
			if (sparse > 0)
				free(ext);
			c->what = r == -ECANCELED ? NULL : "error copying";
			return r;
		}
	}

	if (p.large && fn == pump) {
		int r = urt_xsem_acquire(big_files, URT_FOREVER);
		if (r < 0) {
			if (sparse > 0)
				free(ext);
			c->what = "error copying";
			return r;
		}
	}
	/* copy_file_range into one file: one call at a time. Buffered writes hold
	   the destination's i_rwsem for the whole memcpy, so a second call only
	   spins on it (perf: rwsem_spin_on_owner ~10 %, sys time 3.0 s vs 1.5 s
	   for 2 GiB hot) and takes the second vCPU from the copy. */
	unsigned qd = fn == cfr_pump ? 1 : O.depth;
	unsigned helpers = chunks > qd ? qd - 1 : chunks ? (unsigned)chunks - 1 : 0;
	urt_task *t[helpers ? helpers : 1];
	unsigned spawned = 0;
	struct urt_spawn_attr attr = {.name = "chunk", .stack_size = 32 * 1024};
	for (unsigned i = 0; i < helpers; i++) {
		t[i] = urt_spawn_attr(&attr, fn, &p);
		if (!t[i])
			break;
		spawned++;
	}
	fn(&p); /* this task is one of the pumps */
	if (spawned) {
		int r = urt_join_all(t, spawned, NULL);
		if (r == -ECANCELED && !p.err)
			p.err = -ECANCELED;
	}
	if (p.large && fn == pump)
		urt_xsem_release(big_files);
	if (sparse > 0)
		free(ext);
	/* a cancellation that arrived between ops shows up here */
	if (!p.err && urt_cancelled()) {
		p.err = urt_yield();
	}
	if (p.err) {
		c->what = p.err_what ? p.err_what : "error copying";
		return p.err;
	}
	if (c->dst_regular && (sparse > 0 || p.zero_holes || (c->ddirect && st->st_size % DIO_ALIGN))) {
		int r = urt_ftruncate(c->dfd, st->st_size);
		if (r < 0) {
			c->what = "cannot set the size of";
			return r;
		}
	}
	return 0;
}

/* --verify: read both files back and compare. */
static int verify(int sfd, int dfd, off_t size, bool direct, const char **what)
{
	void *a = buf_get(), *b = buf_get();
	int r = 0;
	if (!a || !b)
		r = -ENOMEM;
	for (off_t off = 0; !r && off < size;) {
		size_t n = (size_t)(size - off) < O.chunk ? (size_t)(size - off) : O.chunk;
		size_t rn = direct ? ((n + DIO_ALIGN - 1) & ~(size_t)(DIO_ALIGN - 1)) : n;
		ssize_t x = urt_read_full(sfd, a, rn, off);
		ssize_t y = x < 0 ? 0 : urt_read_full(dfd, b, rn, off);
		if (x < 0 || y < 0) {
			r = x < 0 ? (int)x : (int)y;
			break;
		}
		if ((size_t)x < n || (size_t)y < n || memcmp(a, b, n)) {
			r = -EIO;
			break;
		}
		off += (off_t)n;
	}
	buf_put(a);
	buf_put(b);
	if (r)
		*what = r == -EIO ? "verification failed for" : "error verifying";
	return r;
}

/* POSIX ACLs, as the kernel stores them: extended attributes. */
#define XA_ACL_ACCESS "system.posix_acl_access"
#define XA_ACL_DEFAULT "system.posix_acl_default"

static bool is_acl_xattr(const char *name)
{
	return !strcmp(name, XA_ACL_ACCESS) || !strcmp(name, XA_ACL_DEFAULT);
}

/* Which POSIX ACLs a file has (bits), as its xattr listing tells. */
#define HAS_ACL_ACCESS 1
#define HAS_ACL_DEFAULT 2
#define HAS_ACL_UNKNOWN 4 /* no listing: ask (cp_copy_acls) */

/*
 * --preserve=xattr: copy the extended attributes of sfd to dfd. Not the
 * POSIX ACLs: they belong to the mode (cp_copy_acls), as with cp, whose
 * xattr copy skips them (/etc/xattr.conf: "permissions"). *acls (may be
 * NULL): the HAS_ACL_* bits the listing showed, saving cp_copy_acls its
 * lookups.
 */
static int copy_xattrs(int sfd, int dfd, int *acls)
{
	char names[4096];
	int dummy;
	if (!acls)
		acls = &dummy;
	*acls = HAS_ACL_UNKNOWN;
	ssize_t n = flistxattr(sfd, names, sizeof names);
	if (n < 0)
		return errno == ENOTSUP || errno == ENOSYS ? 0 : -errno;
	*acls = 0;
	char val[4096];
	int r = 0;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		if (is_acl_xattr(names + i)) {
			*acls |= strcmp(names + i, XA_ACL_ACCESS) ? HAS_ACL_DEFAULT : HAS_ACL_ACCESS;
			continue;
		}
		ssize_t v = fgetxattr(sfd, names + i, val, sizeof val);
		if (v < 0)
			continue;
		if (fsetxattr(dfd, names + i, val, (size_t)v, 0) < 0 && errno != ENOTSUP &&
		    errno != EPERM && !r)
			r = -errno;
	}
	return r;
}

int cp_copy_xattrs(int sfd, int dfd)
{
	return copy_xattrs(sfd, dfd, NULL);
}

/* Whether the directory dfd has a default ACL (its new entries inherit one). */
bool cp_has_default_acl(int dfd)
{
	return fgetxattr(dfd, XA_ACL_DEFAULT, NULL, 0) > 0;
}

/* One ACL of sfd: its size in *buf (or in *big, malloc'ed, when larger),
   0 when it has none, or a negative errno. */
static ssize_t acl_get(int sfd, const char *name, char *buf, size_t n, char **big)
{
	*big = NULL;
	for (;;) {
		ssize_t v = fgetxattr(sfd, name, *big ? *big : buf, n);
		if (v >= 0)
			return v;
		if (errno == ENODATA || errno == ENOTSUP || errno == ENOSYS)
			return 0;
		if (errno != ERANGE)
			return -errno;
		free(*big);
		v = fgetxattr(sfd, name, NULL, 0);
		if (v <= 0)
			return v < 0 ? -errno : 0;
		n = (size_t)v + 256; /* it may grow meanwhile */
		if (!(*big = malloc(n)))
			return -ENOMEM;
	}
}

/*
 * --preserve=mode: give dfd the POSIX ACLs of sfd, as cp's copy_acl does:
 * the access ACL and, for a directory, the default ACL become the
 * source's; where the source has none, the copy keeps none (acl_may: it
 * may have one, inherited from its directory's default ACL or already on
 * an existing file). The mode is set before (an access ACL sets the group
 * bits to its mask, which the source's mode has too). A source ACL that
 * the destination's file system cannot hold (EOPNOTSUPP) leaves the copy
 * with the mode alone: *lost is set (cp reports it and fails; the copy
 * stays). has: the HAS_ACL_* bits known from the source's xattr listing.
 * Returns 0 or a negative errno.
 */
static int cp_copy_acls(int sfd, int dfd, bool dir, bool acl_may, int has, bool *lost)
{
	*lost = false;
	for (int k = 0; k < (dir ? 2 : 1); k++) {
		const char *name = k ? XA_ACL_DEFAULT : XA_ACL_ACCESS;
		char buf[1024], *big = NULL;
		ssize_t v = 0;
		if (has & (HAS_ACL_UNKNOWN | (k ? HAS_ACL_DEFAULT : HAS_ACL_ACCESS)))
			v = acl_get(sfd, name, buf, sizeof buf, &big);
		if (v < 0)
			return (int)v;
		int r = 0;
		if (v > 0 && fsetxattr(dfd, name, big ? big : buf, (size_t)v, 0) < 0) {
			if (errno == ENOTSUP || errno == ENOSYS) {
				*lost = true; /* no ACLs there: the mode is what cp leaves too */
				free(big);
				return 0;
			}
			r = -errno;
		} else if (v == 0 && acl_may && fremovexattr(dfd, name) < 0 && errno != ENODATA &&
			   errno != ENOTSUP && errno != ENOSYS) {
			r = -errno;
		}
		free(big);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Attributes of the copy (file or directory) on an open fd: what
 * --preserve asks for, in cp's order, which loses nothing: the owner first
 * (chown clears set-id bits and the file capability, security.capability,
 * so xattrs come after it), then xattrs (before the mode: a read-only mode
 * would forbid setting user.* ones), then the mode and the ACLs (chmod
 * keeps capabilities), then the times (nothing after touches them). When
 * the owner cannot be kept (EPERM: not root), the group alone is tried,
 * and a copy owned by someone else gets none of the source's set-id or
 * sticky bits (POSIX; cp does the same). mode >= 0: the mode to set when the mode is not
 * preserved (-1: leave it). acl_may: the destination may have an ACL of
 * its own (cp_copy_acls). sfd < 0 (a source directory that could not be
 * opened): no xattrs or ACLs. dpath names it in messages.
 * Returns 0 or a negative errno; a lost ACL is reported here and fails the
 * run, but the copy stays, as with cp.
 */
int cp_set_attrs_fd(int fd, int sfd, const struct stat *st, int mode, bool acl_may,
		    const char *dpath)
{
	mode_t m = st->st_mode & 07777;
	if ((O.preserve & P_OWNER) && fchown(fd, st->st_uid, st->st_gid) < 0) {
		if (errno != EPERM && errno != EINVAL)
			return -errno;
		(void)fchown(fd, (uid_t)-1, st->st_gid); /* the group alone, if we may */
		/* none of the source's set-id or sticky bits: those the copy has
		   (a directory's setgid from its parent, the sticky bit mkdir
		   kept) stay, as cp's ACL call leaves them */
		struct stat cur;
		m = (m & 0777) | (fstat(fd, &cur) == 0 ? cur.st_mode & 07000 : 0);
	}
	int has = HAS_ACL_UNKNOWN;
	if ((O.preserve & P_XATTR) && sfd >= 0) {
		int r = copy_xattrs(sfd, fd, &has);
		if (r < 0)
			return r;
	}
	if (O.preserve & P_MODE) {
		if (fchmod(fd, m) < 0)
			return -errno;
		bool lost = false;
		int r = sfd < 0 ? 0 : cp_copy_acls(sfd, fd, S_ISDIR(st->st_mode), acl_may, has, &lost);
		if (r < 0)
			return r;
		if (lost) {
			cp_err(EOPNOTSUPP, "preserving permissions for", dpath);
			S.failed = true;
		}
	} else if (mode >= 0 && fchmod(fd, (mode_t)mode) < 0) {
		return -errno;
	}
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if ((O.preserve & P_TIME) && futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

int cp_set_attrs_path(int dfd, const char *name, const struct stat *st, bool nofollow)
{
	int fl = nofollow ? AT_SYMLINK_NOFOLLOW : 0;
	mode_t m = st->st_mode & 07777;
	if ((O.preserve & P_OWNER) && fchownat(dfd, name, st->st_uid, st->st_gid, fl) < 0) {
		if (errno != EPERM && errno != EINVAL)
			return -errno;
		(void)fchownat(dfd, name, (uid_t)-1, st->st_gid, fl); /* as cp_set_attrs_fd */
		m &= ~(mode_t)(S_ISUID | S_ISGID | S_ISVTX);
	}
	if ((O.preserve & P_MODE) && !S_ISLNK(st->st_mode) && fchmodat(dfd, name, m, 0) < 0)
		return -errno;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if ((O.preserve & P_TIME) && utimensat(dfd, name, ts, fl) < 0)
		return -errno;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* What is at the destination                                              */

/*
 * NEW: nothing there. REPLACE: a new inode renamed over the old one, which
 * it resembles (owner, group, mode). THROUGH: the old inode written in
 * place. FRESH: a new inode, as a new file is made, renamed over the old
 * name (--backup, --remove-destination, -f after a refused open: cp
 * unlinks the old name first and creates a new file).
 */
enum { DEST_NEW, DEST_REPLACE, DEST_THROUGH, DEST_FRESH };

struct dest {
	int kind;
	struct stat st; /* the existing file (for DEST_THROUGH via a symlink: its target) */
};

static bool has_xattrs(int ddir, const char *name)
{
	char p[64 + 256 + 16];
	if (snprintf(p, sizeof p, "/proc/self/fd/%d/%s", ddir, name) >= (int)sizeof p)
		return true; /* cannot tell cheaply: keep the inode */
	char buf[1];
	ssize_t n = llistxattr(ddir == AT_FDCWD ? name : p, buf, 0);
	if (n < 0)
		return errno != ENOTSUP && errno != ENOSYS; /* unknown: keep the inode */
	return n > 0;
}

/*
 * Whether source and destination are one directory entry (cp's
 * same_nameat): the same last component in the same directory. Asked only
 * of two names of one inode. When a directory cannot be stat'ed: true (the
 * caller then refuses, the safe side).
 */
static bool same_entry(const struct job *j)
{
	char dir[PATH_MAX];
	size_t len = strlen(j->sname);
	while (len > 1 && j->sname[len - 1] == '/')
		len--;
	if (len >= sizeof dir)
		return true;
	memcpy(dir, j->sname, len);
	dir[len] = 0;
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : dir;
	if (strcmp(base, j->dname))
		return false;
	if (slash == dir)
		slash[1] = 0; /* "/name": the root */
	else if (slash)
		*slash = 0;
	struct stat a, b;
	if (fstatat(j->sdir, slash ? dir : ".", &a, 0) < 0 || fstatat(j->ddir, ".", &b, 0) < 0)
		return true;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * POSIXLY_CORRECT: cp writes through a dangling symlink at the
 * destination, creating its target. Here too the data goes to a temporary,
 * in the target's directory, named as the target once complete. A chain
 * of dangling symlinks is followed (at most 40, then ELOOP as open has).
 * On success the job's ddir and dname are the target's. Returns 0 or a
 * negative errno.
 */
static int resolve_dangling(struct job *j)
{
	int dir = j->ddir, r = -ELOOP;
	bool own = false; /* dir is ours to close */
	char name[PATH_MAX];
	snprintf(name, sizeof name, "%s", j->dname);
	for (int hops = 0; hops <= 40; hops++) {
		char t[PATH_MAX];
		ssize_t n = readlinkat(dir, name, t, sizeof t - 1);
		if (n < 0) {
			/* ENOENT: the end of the chain, to create; EINVAL: not a
			   symlink (made meanwhile: the commit finds it there) */
			r = errno == ENOENT || errno == EINVAL ? 0 : -errno;
			break;
		}
		t[n] = 0;
		char *slash = strrchr(t, '/');
		const char *base = slash ? slash + 1 : t;
		if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
			r = -EISDIR; /* as open(O_CREAT) says of "dir/" */
			break;
		}
		if (slash) {
			const char *dpart = slash == t ? "/" : t;
			*slash = 0; /* base stays: it starts after the slash */
			int nd = openat(dir, dpart, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (nd < 0) {
				r = -errno;
				break;
			}
			if (own)
				close(dir);
			dir = nd, own = true;
		}
		snprintf(name, sizeof name, "%s", base);
	}
	if (r < 0) {
		if (own)
			close(dir);
		return r;
	}
	char *dn = path_join("", name);
	if (own) {
		if (j->own_ddir)
			close(j->ddir);
		j->ddir = dir;
		j->own_ddir = true;
	}
	free(j->own_dname);
	j->own_dname = dn;
	j->dname = dn;
	return 0;
}

/*
 * Look at the destination. 0: go on (d filled in); -1: stop, the error was
 * reported; -2: skip it quietly (-n; a symlink onto another hard link of
 * itself, which cp leaves alone); -3: skip it, -u found it no older. link:
 * the source is copied as a symlink (a destination symlink is then
 * replaced, not followed).
 */
static int check_dest(struct job *j, struct dest *d, bool link)
{
	d->kind = DEST_NEW;
	if (j->dst_fresh)
		return 0;
	if (fstatat(j->ddir, j->dname, &d->st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		cp_err(errno, "cannot stat", j->dpath);
		return -1;
	}
	/* an earlier operand made this name in this run (walk.c, cp_operand) */
	bool seen = j->seen && d->st.st_dev == j->seen_dev && d->st.st_ino == j->seen_ino;
	struct stat lst = d->st; /* the name's own, not followed */
	bool via_link = false, dlink = S_ISLNK(d->st.st_mode);
	/* the name itself is replaced: a symlink there is not followed */
	bool unlink_first = O.backup != BACKUP_NONE || O.remove_dest;
	if (dlink && !link) {
		/* cp writes through a symlink at the destination */
		if (fstatat(j->ddir, j->dname, &d->st, 0) < 0) {
			int err = errno;
			d->st = lst;
			if (unlink_first || (O.force && err != ENOENT))
				goto fresh; /* cp -f f loop: a self-loop symlink is replaced */
			if (err != ENOENT) {
				cp_err(err, "cannot stat", j->dpath);
				return -1;
			}
			if (seen) {
				cp_msg("will not copy '%s' through just-created symlink '%s'", j->spath,
				       j->dpath);
				return -1;
			}
			if (!getenv("POSIXLY_CORRECT")) {
				cp_msg("not writing through dangling symlink '%s'", j->dpath);
				return -1;
			}
			int r = resolve_dangling(j);
			if (r < 0) {
				cp_err(-r, "cannot create regular file", j->dpath);
				return -1;
			}
			return 0; /* its target is new */
		}
		via_link = true;
	}
	bool same = d->st.st_dev == j->st.st_dev && d->st.st_ino == j->st.st_ino;
	if (link && dlink && j->st.st_ino == 0) {
		/* the walk did not stat the source symlink (d_type said enough) */
		same = fstatat(j->sdir, j->sname, &j->st, AT_SYMLINK_NOFOLLOW) == 0 &&
		       d->st.st_dev == j->st.st_dev && d->st.st_ino == j->st.st_ino;
	} else if (link && !dlink && !same) {
		/* a symlink onto the file it points to would destroy it (cp -d
		   sl f, sl -> f): compare with its target, as cp does */
		struct stat t;
		same = fstatat(j->sdir, j->sname, &t, 0) == 0 && d->st.st_dev == t.st_dev &&
		       d->st.st_ino == t.st_ino;
	}
	bool return_now = false; /* nothing to do (after the -n and -u checks, as cp) */
	if (same && link && dlink && !same_entry(j)) {
		/* two names of one symlink: cp leaves them, or backs one up */
		same = false;
		return_now = O.backup == BACKUP_NONE;
	}
	/*
	 * cp's same_file_ok: with a backup, or when the destination is removed
	 * first, two names of one file are fine (cp moves or unlinks the
	 * destination's name, and the source's stays); one directory entry
	 * never is, nor (with a backup) a symlink onto the file it names.
	 * same_link: the names themselves, not followed, are one inode.
	 */
	if (same && !link) {
		struct stat sl;
		bool slink = fstatat(j->sdir, j->sname, &sl, AT_SYMLINK_NOFOLLOW) == 0 &&
			     S_ISLNK(sl.st_mode);
		bool same_link = slink == dlink &&
				 (!slink || (sl.st_dev == lst.st_dev && sl.st_ino == lst.st_ino));
		bool ok;
		if (slink && dlink && O.remove_dest)
			ok = true;
		else if (O.backup != BACKUP_NONE)
			ok = same_link ? !same_entry(j) : !(slink && !dlink);
		else if (O.remove_dest)
			ok = dlink || (same_link && lst.st_nlink > 1 && !same_entry(j));
		else
			ok = O.symlink && dlink; /* -s: a symlink there is made anew */
		if (ok)
			same = false;
	} else if (same && O.backup != BACKUP_NONE && !same_entry(j)) {
		same = false;
	}
	if (same) {
		cp_msg("'%s' and '%s' are the same file", j->spath, j->dpath);
		return -1;
	}
	/* cp's order: -u, then -n and -i, then what cannot be done */
	if (dest_update_skips(&d->st, &j->st))
		return -3;
	if (O.noclobber)
		return -2;
	if (O.interactive && !dest_ask(j->dpath, &d->st))
		return -2;
	if (return_now)
		return -2;
	if (S_ISDIR(d->st.st_mode)) {
		cp_msg("cannot overwrite directory '%s' with non-directory", j->dpath);
		return -1;
	}
	/* a backup keeps what was there (cp: a numbered one, or any through a
	   symlink) */
	if (seen && (via_link ? O.backup == BACKUP_NONE : O.backup != BACKUP_NUMBERED)) {
		if (via_link)
			cp_msg("will not copy '%s' through just-created symlink '%s'", j->spath,
			       j->dpath);
		else
			cp_msg("will not overwrite just-created '%s' with '%s'", j->dpath, j->spath);
		return -1;
	}
	if (unlink_first) {
fresh:
		if (O.backup != BACKUP_NONE && dest_backup_is_src(j)) {
			cp_msg("backing up '%s' might destroy source;  '%s' not copied", j->dpath,
			       j->spath);
			return -1;
		}
		j->backup = O.backup != BACKUP_NONE;
		d->kind = link ? DEST_REPLACE : DEST_FRESH;
	} else if (link)
		d->kind = DEST_REPLACE;
	else if (via_link || !S_ISREG(d->st.st_mode) || d->st.st_nlink > 1 ||
		 has_xattrs(j->ddir, j->dname))
		d->kind = DEST_THROUGH;
	else if (faccessat(j->ddir, j->dname, W_OK, AT_EACCESS) < 0 && errno == EACCES)
		d->kind = DEST_THROUGH; /* cp cannot open it either (then -f replaces it) */
	else
		d->kind = DEST_REPLACE;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Hard links inside trees (-a, --preserve=links)                          */

/*
 * Links of one inode may be copied on different loops: the table is under
 * a mutex (held for lookups only, never across a suspension) and the wait
 * for the first copy is a cross-loop future. Entries stay until exit.
 */
struct hlink {
	struct hlink *next;
	dev_t dev;
	ino_t ino;
	_Atomic int state;  /* 0 being copied, 1 copied (dpath is it), -1 failed */
	urt_xfuture *done;  /* set when state leaves 0 */
	char dpath[];       /* fixed once the entry is in the table */
};

#define HL_BUCKETS 4096
static struct hlink *hl_tab[HL_BUCKETS];
static pthread_mutex_t hl_mu = PTHREAD_MUTEX_INITIALIZER;

static struct hlink **hl_slot(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;
	h ^= h >> 29;
	struct hlink **pp = &hl_tab[(h * 0xbf58476d1ce4e5b9ull >> 40) % HL_BUCKETS];
	while (*pp && !((*pp)->dev == dev && (*pp)->ino == ino))
		pp = &(*pp)->next;
	return pp;
}

/*
 * The inode of st is multiply linked. Wait while another job copies it;
 * then *first is that copy (link to it), or, when no copy was made yet, *hl
 * is a new entry the caller fills and settles with hl_settle (NULL too
 * when an earlier copy failed or memory ran out: copy this one on its
 * own). Returns 0 or -ECANCELED.
 */
static int hl_claim(struct job *j, const struct stat *st, struct hlink **hl, struct hlink **first)
{
	*hl = *first = NULL;
	pthread_mutex_lock(&hl_mu);
	struct hlink **pp = hl_slot(st->st_dev, st->st_ino);
	while (*pp && (*pp)->state == 0) {
		struct hlink *h = *pp;
		pthread_mutex_unlock(&hl_mu);
		int r = urt_xfuture_wait(h->done, NULL, URT_FOREVER);
		if (r < 0)
			return r;
		pthread_mutex_lock(&hl_mu);
		pp = hl_slot(st->st_dev, st->st_ino);
	}
	if (*pp && (*pp)->state == 1) {
		*first = *pp;
	} else if (!*pp) {
		size_t n = strlen(j->dpath) + 1;
		struct hlink *h = malloc(sizeof *h + n);
		if (h && urt_xfuture_new(&h->done) == 0) {
			h->next = NULL;
			h->dev = st->st_dev;
			h->ino = st->st_ino;
			h->state = 0;
			memcpy(h->dpath, j->dpath, n);
			*pp = *hl = h;
		} else {
			free(h);
		}
	}
	pthread_mutex_unlock(&hl_mu);
	return 0;
}

/* The first copy of a multiply linked inode ended: wake those waiting. */
static void hl_settle(struct hlink *hl, bool ok)
{
	hl->state = ok ? 1 : -1;
	urt_xfuture_set(hl->done, 0, NULL);
}

/* Give (ddir, name) the inode at path: link it, atomically replacing what is there. */
static int link_over(const char *path, struct job *j, bool exists)
{
	int r = urt_linkat(AT_FDCWD, path, j->ddir, j->dname, 0);
	if (r != -EEXIST || !exists)
		return r;
	char tmp[48];
	for (int tries = 0; tries < 100; tries++) {
		tmp_name(tmp, sizeof tmp);
		r = urt_linkat(AT_FDCWD, path, j->ddir, tmp, 0);
		if (r != -EEXIST)
			break;
	}
	if (r < 0)
		return r;
	r = urt_renameat(j->ddir, tmp, j->ddir, j->dname, 0);
	/* Also after a success: where the name already was a link of this
	   inode (cp -a over an earlier copy), rename(2) does nothing and
	   returns 0, and the temporary name stays. Else this finds none. Not
	   through the ring: a cancellation must not keep it from running. */
	unlinkat(j->ddir, tmp, 0);
	return r;
}

/* ---------------------------------------------------------------------- */

static int open_through(struct job *j, const struct dest *d, bool *direct)
{
	int fl = (O.verify ? O_RDWR : O_WRONLY) | O_CLOEXEC;
	if (S_ISREG(d->st.st_mode) && !O.attr_only)
		fl |= O_TRUNC;
	*direct = O.direct && S_ISREG(d->st.st_mode);
	bool was = urt_io_offload(O.offload != 0);
	int fd = urt_openat(j->ddir, j->dname, fl | (*direct ? O_DIRECT : 0), 0);
	if (fd == -EINVAL && *direct) {
		*direct = false;
		fd = urt_openat(j->ddir, j->dname, fl, 0);
	}
	urt_io_offload(was);
	return fd;
}

/*
 * One regular file's copy in progress: what the steps of cp_regular share,
 * and what settle releases whichever step ended it.
 */
struct reg {
	struct job *j;
	int sfd;                 /* the source */
	struct stat st;          /* its fstat (st_size 0 for a FIFO or device) */
	bool sdirect, ddirect;   /* O_DIRECT, per file: other jobs may be mid-copy with O_DIRECT fds */
	struct dest d;           /* the destination as check_dest found it */
	struct tmp t;            /* the new inode, named when complete */
	int wfd;                 /* where the data goes: t.fd or the existing file */
	struct hlink *hl;        /* we are the first copy of a multiply linked inode */
	mode_t mode;             /* the copy's mode */
	bool dreg;               /* the destination is (or will be) a regular file */
	const char *what, *wpath; /* on error: what failed, on which path */
};

/* What a step returns besides 0 (go on) and a negative errno. */
enum {
	REG_DONE = 1,            /* nothing more to do: settle */
	REG_RETRY_NAMED,         /* start again with named temporaries (reg_name) */
};

/* Open and fstat the source; only regular files (and special files read
   as such) go on. */
static int reg_open_source(struct reg *f)
{
	struct job *j = f->j;
	int oflags = O_RDONLY | O_CLOEXEC;
	if (j->dir && !j->follow)
		oflags |= O_NOFOLLOW; /* it was a regular file when listed: never follow */
	f->sfd = urt_openat(j->sdir, j->sname, oflags | (f->sdirect ? O_DIRECT : 0), 0);
	if (f->sfd == -EINVAL && f->sdirect) { /* the filesystem has no O_DIRECT: buffered */
		f->sdirect = false;
		f->sfd = urt_openat(j->sdir, j->sname, oflags, 0);
	}
	f->wpath = j->spath;
	if (f->sfd < 0) {
		f->what = "cannot open";
		return f->sfd;
	}
	/* fstat of an open fd is a short syscall that never blocks on I/O */
	if (fstat(f->sfd, &f->st) < 0) {
		f->what = "cannot stat";
		return -errno;
	}
	S.bytes_total += (uint64_t)f->st.st_size;
	j->st = f->st;
	if (!S_ISREG(f->st.st_mode) &&
	    !(cp_is_special(f->st.st_mode) && cp_copy_as_regular(f->st.st_mode))) {
		f->what = "not a regular file:";
		return -EINVAL;
	}
	if (!S_ISREG(f->st.st_mode))
		f->st.st_size = 0; /* a FIFO or device: read to its end (copy_to_eof) */
	f->wpath = j->dpath;
	return 0;
}

/*
 * What the existing destination and the source's other names decide before
 * any data moves: the destination is kept (-n, -u, or it failed its
 * checks), or the source is another name of an inode copied already, which
 * becomes a link to that copy. REG_DONE then; 0 to copy.
 */
static int reg_check_dest(struct reg *f)
{
	struct job *j = f->j;
	int ex = check_dest(j, &f->d, false);
	/* Names of one inode: its hard links, and with followed symlinks (-L;
	   -H and cp's default without -R on the command line) any file, which
	   another symlink may reach again. cp keeps them one inode. */
	bool track = f->st.st_nlink > 1 || j->follow;
	struct hlink *first = NULL;
	int r;
	if (ex == -3 && track) {
		/* -u keeps this name: it becomes the copy of this inode, or a link
		   to the copy made already, as with cp (the group stays one) */
		r = hl_claim(j, &f->st, &f->hl, &first);
		if (r == 0 && first && (r = link_over(first->dpath, j, true)) < 0)
			f->what = "cannot create hard link";
		S.bytes_done += (uint64_t)f->st.st_size;
		return r < 0 ? r : REG_DONE;
	}
	if (ex < 0) {
		if (ex == -1)
			S.failed = true;
		S.bytes_done += (uint64_t)f->st.st_size;
		return REG_DONE;
	}
	if (!(O.preserve & P_LINKS) || !track)
		return 0;
	r = hl_claim(j, &f->st, &f->hl, &first);
	if (r < 0 || !first)
		return r;
	char bk[4096];
	bk[0] = 0;
	if (j->backup && (r = dest_backup(j, bk, sizeof bk)) < 0) {
		f->what = "cannot backup";
		return r;
	}
	r = link_over(first->dpath, j, f->d.kind != DEST_NEW);
	if (r < 0) {
		f->what = "cannot create hard link";
		return r;
	}
	S.bytes_done += (uint64_t)f->st.st_size;
	if (O.verbose)
		cp_verbose(j, f->d.kind == DEST_FRESH && O.remove_dest, bk);
	return REG_DONE;
}

/*
 * Where the data goes (f->wfd): a new temporary for a new or replaced
 * file, or the existing file itself (DEST_THROUGH) where it cannot be
 * replaced. A replaced file whose owner the temporary cannot take keeps
 * its inode; -f replaces what cannot be opened.
 */
static int reg_open_dest(struct reg *f)
{
	struct job *j = f->j;
	struct dest *d = &f->d;
	int r = 0;
	f->mode = f->st.st_mode & 0777;
	if (O.no_preserve_mode && !(O.preserve & P_MODE))
		f->mode = 0666; /* cp: new files get 0666 less the umask */
	if (O.attr_only && d->kind == DEST_REPLACE)
		d->kind = DEST_THROUGH; /* --attributes-only: its data stays, also for its other links */
	if (d->kind == DEST_REPLACE) {
		r = tmp_open(j, 0600, &f->t, &f->ddirect);
		if (r == -EACCES || r == -EPERM || r == -EROFS) {
			d->kind = DEST_THROUGH; /* the file is ours to write, its directory is not */
		} else if (r == 0) {
			struct stat ts;
			if (fstat(f->t.fd, &ts) < 0 ||
			    ((ts.st_uid != d->st.st_uid || ts.st_gid != d->st.st_gid) &&
			     fchown(f->t.fd, d->st.st_uid, d->st.st_gid) < 0)) {
				/* the temporary cannot have the old owner: keep the old inode */
				tmp_discard(j, &f->t);
				d->kind = DEST_THROUGH;
			}
		}
	} else if (d->kind == DEST_NEW || d->kind == DEST_FRESH) {
		r = tmp_open(j, f->mode, &f->t, &f->ddirect);
	}
	if (d->kind == DEST_THROUGH) {
		r = open_through(j, d, &f->ddirect);
		if (r >= 0) {
			f->wfd = r, r = 0;
		} else if (O.force && r != -ECANCELED) {
			/* -f: what cannot be opened is replaced by a new file */
			d->kind = DEST_FRESH;
			r = tmp_open(j, f->mode, &f->t, &f->ddirect);
			f->wfd = f->t.fd;
		}
	} else {
		f->wfd = f->t.fd;
	}
	if (r < 0) {
		f->what = "cannot create regular file";
		/* the directory refuses entries: cp, which backs up or removes
		   the old name first, fails at that step, and says so */
		if (d->kind == DEST_FRESH && (r == -EACCES || r == -EPERM || r == -EROFS))
			f->what = j->backup ? "cannot backup" : O.remove_dest ? "cannot remove" : f->what;
	}
	f->dreg = d->kind != DEST_THROUGH || S_ISREG(d->st.st_mode);
	return r;
}

/* The data (unless --attributes-only), --verify, the attributes, --sync. */
static int reg_copy(struct reg *f)
{
	struct job *j = f->j;
	const struct dest *d = &f->d;
	struct copy_ctx c = {.sfd = f->sfd, .dfd = f->wfd, .st = &f->st, .dst_regular = f->dreg,
			     .sdirect = f->sdirect, .ddirect = f->ddirect,
			     .ddev = d->kind == DEST_NEW ? 0 : d->st.st_dev};
	if (d->kind == DEST_NEW || d->kind == DEST_FRESH) {
		struct stat ds;
		if (fstat(f->wfd, &ds) == 0)
			c.ddev = ds.st_dev;
	}
	int r = O.attr_only ? 0 : copy_data(&c); /* --attributes-only: no data */
	f->what = c.what;
	if (r < 0) {
		f->wpath = (f->what && strstr(f->what, "read")) ? j->spath : j->dpath;
		return r;
	}
	if (O.verify && !O.attr_only) {
		r = verify(f->sfd, f->wfd, f->st.st_size, f->sdirect && f->ddirect, &f->what);
		if (r < 0)
			return r;
	}
	if (f->dreg) {
		/* a replaced file keeps its mode unless -p, as with cp */
		int keep = d->kind == DEST_REPLACE ? (int)(d->st.st_mode & 07777) : -1;
		if (keep < 0 && f->t.name[0] && (O.preserve & P_OWNER))
			keep = (int)(f->mode & ~O.umask); /* tmp_open_ created it 0700 at most */
		/* an ACL on the copy: its directory's default ACL, or the old file's */
		bool acl_may = d->kind != DEST_NEW || !j->dir || j->dir->dacl || j->own_dname;
		r = cp_set_attrs_fd(f->wfd, f->sfd, &f->st, keep, acl_may, j->dpath);
		if (r < 0) {
			f->what = "cannot set attributes of";
			return r;
		}
	}
	if (O.sync && (r = urt_fsync(f->wfd)) < 0)
		f->what = "cannot sync";
	return r;
}

/*
 * The copy is complete: back up the old name (-b) and give the temporary
 * its name. REG_RETRY_NAMED when an O_TMPFILE cannot be named here (no
 * /proc): named temporaries from now on.
 */
static int reg_name(struct reg *f)
{
	struct job *j = f->j;
	char backup[4096];
	backup[0] = 0;
	int r;
	if (j->backup && (r = dest_backup(j, backup, sizeof backup)) < 0) {
		f->what = "cannot backup";
		return r;
	}
	if (f->d.kind != DEST_THROUGH) {
		r = tmp_commit(j, &f->t, f->d.kind != DEST_NEW);
		if (r == -ENOENT && !f->t.name[0] && !no_tmpfile)
			return REG_RETRY_NAMED;
		if (r == -EEXIST && O.noclobber)
			r = 0; /* appeared meanwhile: keep it */
		if (r < 0) {
			f->what = "cannot create regular file";
			return r;
		}
		if (O.sync && j->own_ddir) {
			/* the new name lives in a directory we did not create */
			int dfd = openat(j->ddir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
	j->made = true;
	if (O.verbose)
		cp_verbose(j, f->d.kind == DEST_FRESH && O.remove_dest, backup);
	return 0;
}

/* The end of a copy that ended with r, whatever step it reached: the
   message, the waiters on this inode, the temporary (removed unless it
   was named) and the fds. Returns r. */
static int reg_settle(struct reg *f, int r)
{
	struct job *j = f->j;
	if (r < 0) {
		if (r != -ECANCELED && f->what && !strcmp(f->what, "failed to clone"))
			cp_msg("failed to clone '%s' from '%s': %s", j->dpath, j->spath, strerror(-r));
		else if (r != -ECANCELED && f->what && !strcmp(f->what, "cannot open"))
			cp_msg("cannot open '%s' for reading: %s", f->wpath, strerror(-r));
		else if (r != -ECANCELED && f->what)
			cp_err(-r, f->what, f->wpath);
		S.failed = true;
	}
	if (f->hl)
		hl_settle(f->hl, r >= 0);
	tmp_discard(j, &f->t); /* after a commit only closes the fd */
	if (f->wfd >= 0 && f->wfd != f->t.fd && f->d.kind == DEST_THROUGH)
		urt_close(f->wfd);
	if (f->sfd >= 0)
		urt_close(f->sfd);
	return r;
}

int cp_regular(struct job *j)
{
	/*
	 * Which ops go straight to io-wq (IOSQE_ASYNC, urt_io_offload), by
	 * URTCP_OFFLOAD (for measuring; default 2):
	 *  2: the ops that never complete inline on ext4: creating the temp
	 *     file, writing, linking. Forced async they are also "concurrent"
	 *     to io-wq, which then runs them on a worker per CPU; punted after
	 *     an inline try, io-wq starts a second worker only when the first
	 *     sleeps, and they all run on one CPU. Opens of the source, reads
	 *     and closes stay inline on the loop's thread: offloading them too
	 *     cost more in worker wake-ups than it saved.
	 *  1: every op of a small file; 0: none.
	 * 20k-file tree, -j 64, CPU seconds (runstat): mode 2 0.83-0.95,
	 * mode 1 0.92-1.25, mode 0 2.1-3.2; cp -r 0.6-0.8.
	 */
	if (O.offload == 1)
		urt_io_offload(true);
	struct reg f = {.j = j, .sfd = -1, .sdirect = O.direct, .ddirect = O.direct,
			.d = {.kind = DEST_NEW}, .t = {.fd = -1}, .wfd = -1, .wpath = j->dpath};
	int r = reg_open_source(&f);
	if (r == 0)
		r = reg_check_dest(&f);
	if (r == 0)
		r = reg_open_dest(&f);
	if (r == 0)
		r = reg_copy(&f);
	if (r == 0)
		r = reg_name(&f);
	if (r == REG_RETRY_NAMED) {
		/* no /proc to name the O_TMPFILE by: use named temporaries */
		no_tmpfile = true;
		tmp_discard(j, &f.t);
		urt_close(f.sfd);
		S.bytes_done -= (uint64_t)f.st.st_size;
		S.bytes_total -= (uint64_t)f.st.st_size;
		if (f.hl) /* waiters copy on their own (hl stays: they may touch it) */
			hl_settle(f.hl, false);
		return cp_regular(j);
	}
	return reg_settle(&f, r == REG_DONE ? 0 : r);
}

int cp_symlink(struct job *j)
{
	char target[PATH_MAX + 1];
	ssize_t n = readlinkat(j->sdir, j->sname, target, sizeof target - 1);
	if (n < 0) {
		cp_err(errno, "cannot read symbolic link", j->spath);
		S.failed = true;
		return -1;
	}
	target[n] = 0;
	struct dest d;
	int ex = check_dest(j, &d, true);
	if (ex < 0) {
		if (ex == -1)
			S.failed = true;
		return 0;
	}
	if (d.kind != DEST_NEW && O.attr_only && !O.force && !O.remove_dest) {
		/* cp: without data to copy the old file is not removed first */
		cp_err(EEXIST, "cannot create symbolic link", j->dpath);
		S.failed = true;
		return -1;
	}
	char name[48];
	const char *at = j->dname;
	if (d.kind != DEST_NEW) {
		tmp_name(name, sizeof name);
		at = name;
	}
	int r = urt_symlinkat(target, j->ddir, at);
	if (r == 0 && O.preserve) {
		r = cp_set_attrs_path(j->ddir, at, &j->st, true);
		if (r < 0)
			cp_err(-r, "cannot preserve attributes of", j->dpath);
		r = 0;
	}
	char bk[4096];
	bk[0] = 0;
	const char *what = "cannot create symbolic link";
	if (r == 0 && j->backup && (r = dest_backup(j, bk, sizeof bk)) < 0)
		what = "cannot backup";
	if (d.kind != DEST_NEW) {
		if (r == 0)
			r = urt_renameat(j->ddir, name, j->ddir, j->dname, 0);
		if (r < 0)
			unlinkat(j->ddir, name, 0); /* not through the ring: also when cancelled */
	}
	if (r < 0) {
		if (r != -ECANCELED)
			cp_err(-r, what, j->dpath);
		S.failed = true;
		return r;
	}
	j->made = true;
	if (O.verbose)
		cp_verbose(j, O.remove_dest && d.kind != DEST_NEW, bk);
	return 0;
}
