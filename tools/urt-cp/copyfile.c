/* SPDX-License-Identifier: MIT */
/*
 * Copying one regular file or symlink, with nothing lost on failure.
 *
 * The data goes into an unnamed O_TMPFILE inode in the destination
 * directory, which is linked under its final name only once it is complete
 * (attributes set, fsynced with --sync). A failed or interrupted copy
 * leaves nothing behind: closing the fd frees the inode, even when the
 * process dies. Where O_TMPFILE or /proc is missing, a named temporary
 * ".urt-cp.*" and renameat are used instead and unlinked on failure.
 * Overwriting goes through a temporary name plus renameat, so the old
 * destination stays intact until the new one is complete.
 *
 * Data path: up to O.depth chunks of a large file in flight at once, each
 * a read into a pooled aligned buffer and a write at the same offset, run
 * by O.depth tasks pulling chunks from a shared cursor. Reads overlap;
 * writes to one file go one at a time. (Splicing through a pipe and
 * writing from an mmap of the source, which copy each byte once instead
 * of twice, both measured slower here: see README.) Sparse files are
 * copied extent by extent (SEEK_DATA/SEEK_HOLE) so holes stay holes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp.h"

#define DIO_ALIGN 4096

/* ---------------------------------------------------------------------- */
/* Buffer pool: at most jobs + BIG_FILES x depth buffers of O.chunk bytes. */

static void **pool;
static unsigned pool_len;

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

/* ---------------------------------------------------------------------- */
/* Temporary files                                                         */

static bool no_tmpfile; /* O_TMPFILE or the /proc link trick failed once */

void cp_tmpfile_disable(void)
{
	no_tmpfile = true;
}
static unsigned tmp_seq;

struct tmp {
	int fd;
	char name[48];  /* named temporary in the destination dir, or "" */
};

static void tmp_name(char *out, size_t n)
{
	snprintf(out, n, ".urt-cp.%d.%u", (int)getpid(), ++tmp_seq);
}

static int tmp_open_(struct job *j, mode_t mode, struct tmp *t);

/* Mode 2 offloads only the ops that never complete inline (creating,
   writing, linking); see cp_regular. */
static int tmp_open(struct job *j, mode_t mode, struct tmp *t)
{
	bool was = urt_io_offload(O.offload != 0);
	int r = tmp_open_(j, mode, t);
	urt_io_offload(was);
	return r;
}

static int tmp_open_(struct job *j, mode_t mode, struct tmp *t)
{
	int wr = (O.verify ? O_RDWR : O_WRONLY) | O_CLOEXEC | (O.direct ? O_DIRECT : 0);
	t->name[0] = 0;
	if (!no_tmpfile) {
		t->fd = urt_openat(j->ddir, ".", O_TMPFILE | wr, mode);
		if (t->fd >= 0)
			return 0;
		if (t->fd != -EOPNOTSUPP && t->fd != -EISDIR && t->fd != -EINVAL)
			return t->fd;
		no_tmpfile = true;
	}
	for (int tries = 0; tries < 100; tries++) {
		tmp_name(t->name, sizeof t->name);
		t->fd = urt_openat(j->ddir, t->name, O_CREAT | O_EXCL | wr, mode);
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
static int empty_path_link = 0; /* 1 works, -1 does not, 0 not tried */

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
	*s->tail = &w;
	s->tail = &w.next;
	int r = urt_future_wait(&w.go, URT_FOREVER, NULL);
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

/* Files larger than one chunk in flight at once: with the buffers of the
   small ones, memory stays within jobs x chunk + BIG_FILES x depth x chunk. */
#define BIG_FILES 4
static struct sem big_files = {.avail = BIG_FILES};

struct pipe_state {
	int sfd, dfd;
	struct extent *ext;
	unsigned next_ext, n_ext;
	int64_t pos;        /* within ext[next_ext] */
	int err;            /* first error; stops everyone */
	const char *err_what;
	bool large;         /* more than one chunk */
	/* One write in flight per file: buffered writes to one inode serialize
	   on its i_rwsem anyway, and several io-wq workers spinning on it cost
	   more than they overlap. Reads stay parallel. */
	struct sem wturn;
};

/* Claim the next chunk. Returns false when there is nothing left. */
static bool next_chunk(struct pipe_state *p, int64_t *off, size_t *len)
{
	while (p->next_ext < p->n_ext) {
		struct extent *e = &p->ext[p->next_ext];
		if (p->pos < e->len) {
			int64_t n = e->len - p->pos;
			if (n > (int64_t)O.chunk)
				n = (int64_t)O.chunk;
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
	while (!p->err && next_chunk(p, &off, &len)) {
		size_t got = 0, rlen = len;
		if (O.direct) /* O_DIRECT reads whole blocks; the last one comes back short */
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
		if (O.direct && (wlen % DIO_ALIGN)) {
			/* O_DIRECT writes whole blocks; the tail is cut by ftruncate */
			size_t up = (wlen + DIO_ALIGN - 1) & ~(size_t)(DIO_ALIGN - 1);
			memset((char *)buf + wlen, 0, up - wlen);
			wlen = up;
		}
		r = sem_acquire(&p->wturn);
		if (r == 0) {
			urt_io_offload(write_off);
			r = urt_write_all(p->dfd, buf, wlen, off);
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

/* The data extents of sfd: *whole = [0,size) unless the file looks sparse
   (then a malloc'ed list). whole is the caller's: each file has its own. */
static int find_extents(int sfd, const struct stat *st, struct extent *whole,
			struct extent **out, unsigned *n)
{
	*out = whole;
	*n = 0;
	if (st->st_size == 0)
		return 0;
	whole->off = 0;
	whole->len = st->st_size;
	*n = 1;
	/* cp's heuristic: fewer allocated blocks than the size needs */
	if ((int64_t)st->st_blocks * 512 >= st->st_size)
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

static int copy_data(int sfd, int dfd, const struct stat *st, const char **what)
{
	struct extent whole, *ext;
	unsigned n_ext;
	int sparse = find_extents(sfd, st, &whole, &ext, &n_ext);
	if (sparse < 0) {
		*what = "cannot read extents of";
		return sparse;
	}
	struct pipe_state p = {.sfd = sfd, .dfd = dfd, .ext = ext, .n_ext = n_ext,
			       .wturn = {.avail = 1}};
	int64_t data = 0;
	for (unsigned i = 0; i < n_ext; i++)
		data += ext[i].len;
	uint64_t chunks = ((uint64_t)data + O.chunk - 1) / O.chunk;
	p.large = chunks > 1;
	if (p.large) {
		int r = sem_acquire(&big_files);
		if (r < 0) {
			if (sparse > 0)
				free(ext);
			*what = "error copying";
			return r;
		}
	}
	unsigned helpers = chunks > O.depth ? O.depth - 1 : chunks ? (unsigned)chunks - 1 : 0;
	urt_task *t[helpers ? helpers : 1];
	unsigned spawned = 0;
	struct urt_spawn_attr attr = {.name = "chunk", .stack_size = 32 * 1024};
	for (unsigned i = 0; i < helpers; i++) {
		t[i] = urt_spawn_attr(&attr, pump, &p);
		if (!t[i])
			break;
		spawned++;
	}
	pump(&p); /* this task is one of the pumps */
	if (spawned) {
		int r = urt_join_all(t, spawned, NULL);
		if (r == -ECANCELED && !p.err)
			p.err = -ECANCELED;
	}
	if (p.large)
		sem_release(&big_files);
	if (sparse > 0)
		free(ext);
	/* a cancellation that arrived between ops shows up here */
	if (!p.err && urt_cancelled()) {
		p.err = urt_yield();
	}
	if (p.err) {
		*what = p.err_what ? p.err_what : "error copying";
		return p.err;
	}
	if (sparse > 0 || (O.direct && st->st_size % DIO_ALIGN)) {
		int r = urt_ftruncate(dfd, st->st_size);
		if (r < 0) {
			*what = "cannot set the size of";
			return r;
		}
	}
	return 0;
}

/* --verify: read both files back and compare. */
static int verify(int sfd, int dfd, off_t size, const char **what)
{
	void *a = buf_get(), *b = buf_get();
	int r = 0;
	if (!a || !b)
		r = -ENOMEM;
	for (off_t off = 0; !r && off < size;) {
		size_t n = (size_t)(size - off) < O.chunk ? (size_t)(size - off) : O.chunk;
		size_t rn = O.direct ? ((n + DIO_ALIGN - 1) & ~(size_t)(DIO_ALIGN - 1)) : n;
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

/* -p: ownership (where permitted), mode, times, on an open fd. */
static int set_attrs_fd(int fd, const struct stat *st)
{
	if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM)
		return -errno;
	/* after fchown: it may have cleared set-id bits */
	if (fchmod(fd, st->st_mode & 07777) < 0)
		return -errno;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

int cp_set_attrs_path(int dfd, const char *name, const struct stat *st, bool nofollow)
{
	int fl = nofollow ? AT_SYMLINK_NOFOLLOW : 0;
	if (fchownat(dfd, name, st->st_uid, st->st_gid, fl) < 0 && errno != EPERM)
		return -errno;
	if (!S_ISLNK(st->st_mode) && fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
		return -errno;
	struct timespec ts[2] = {st->st_atim, st->st_mtim};
	if (utimensat(dfd, name, ts, fl) < 0)
		return -errno;
	return 0;
}

/*
 * What is at the destination now? 0: nothing; 1: something to replace;
 * -1: stop (an error was reported, or -n keeps it). *mode gets the mode of
 * a regular file there (cp keeps it when overwriting without -p).
 */
static int check_dest(struct job *j, mode_t *mode)
{
	if (j->dst_fresh)
		return 0;
	struct stat d;
	if (fstatat(j->ddir, j->dname, &d, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		cp_err(errno, "cannot stat", j->dpath);
		return -1;
	}
	if (d.st_dev == j->st.st_dev && d.st_ino == j->st.st_ino) {
		cp_msg("'%s' and '%s' are the same file", j->spath, j->dpath);
		return -1;
	}
	if (S_ISDIR(d.st_mode)) {
		cp_msg("cannot overwrite directory '%s' with non-directory", j->dpath);
		return -1;
	}
	if (O.noclobber)
		return -2;
	if (S_ISREG(d.st_mode))
		*mode = d.st_mode & 07777;
	return 1;
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
	const char *what = NULL, *wpath = j->dpath;
	int r = 0;
	struct tmp t = {.fd = -1};
	mode_t keep_mode = (mode_t)-1;
	int exists = 0;
	int oflags = O_RDONLY | O_CLOEXEC | (O.direct ? O_DIRECT : 0);
	if (j->dir && O.deref != 'L')
		oflags |= O_NOFOLLOW; /* it was a regular file when listed: never follow */
	int sfd = urt_openat(j->sdir, j->sname, oflags, 0);
	if (sfd == -EINVAL && O.direct) /* the filesystem has no O_DIRECT: buffered */
		sfd = urt_openat(j->sdir, j->sname, oflags & ~O_DIRECT, 0);
	if (sfd < 0) {
		r = sfd, what = "cannot open", wpath = j->spath;
		goto out;
	}
	/* fstat of an open fd is a short syscall that never blocks on I/O */
	struct stat st;
	if (fstat(sfd, &st) < 0) {
		r = -errno, what = "cannot stat", wpath = j->spath;
		goto out;
	}
	S.bytes_total += (uint64_t)st.st_size;
	j->st = st;
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL, what = "not a regular file:", wpath = j->spath;
		goto out;
	}
	exists = check_dest(j, &keep_mode);
	if (exists < 0) {
		if (exists == -1)
			S.failed = true;
		S.bytes_done += (uint64_t)st.st_size;
		urt_close(sfd);
		return 0;
	}
	mode_t mode = st.st_mode & 0777;
	r = tmp_open(j, exists ? 0600 : mode, &t);
	if (r == -EINVAL && O.direct) {
		O.direct = false; /* no O_DIRECT on the destination fs */
		r = tmp_open(j, exists ? 0600 : mode, &t);
	}
	if (r < 0) {
		what = "cannot create", wpath = j->dpath;
		goto out;
	}
	r = copy_data(sfd, t.fd, &st, &what);
	if (r < 0) {
		wpath = (what && strstr(what, "read")) ? j->spath : j->dpath;
		goto out;
	}
	if (O.verify) {
		r = verify(sfd, t.fd, st.st_size, &what);
		if (r < 0)
			goto out;
	}
	if (O.preserve)
		r = set_attrs_fd(t.fd, &st);
	else if (exists) /* the temp was made 0600: cp keeps the old file's mode */
		r = fchmod(t.fd, keep_mode != (mode_t)-1 ? keep_mode : mode & ~O.umask) < 0 ? -errno : 0;
	if (r < 0) {
		what = "cannot set attributes of";
		goto out;
	}
	if (O.sync) {
		r = urt_fsync(t.fd);
		if (r < 0) {
			what = "cannot sync";
			goto out;
		}
	}
	r = tmp_commit(j, &t, exists > 0);
	if (r == -ENOENT && !t.name[0] && !no_tmpfile) {
		/* no /proc to name the O_TMPFILE by: use named temporaries */
		no_tmpfile = true;
		tmp_discard(j, &t);
		urt_close(sfd);
		S.bytes_done -= (uint64_t)st.st_size;
		S.bytes_total -= (uint64_t)st.st_size;
		return cp_regular(j);
	}
	if (r == -EEXIST && O.noclobber)
		r = 0; /* appeared meanwhile: keep it */
	if (r < 0) {
		what = "cannot create";
		goto out;
	}
	if (O.verbose)
		printf("'%s' -> '%s'\n", j->spath, j->dpath);
out:
	if (r < 0) {
		if (r != -ECANCELED)
			cp_err(-r, what, wpath);
		S.failed = true;
	}
	tmp_discard(j, &t); /* after a commit only closes the fd */
	if (sfd >= 0)
		urt_close(sfd);
	return r;
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
	mode_t unused;
	int exists = check_dest(j, &unused);
	if (exists < 0) {
		if (exists == -1)
			S.failed = true;
		return 0;
	}
	char name[48];
	const char *at = j->dname;
	if (exists) {
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
	if (r == 0 && exists) {
		r = urt_renameat(j->ddir, name, j->ddir, j->dname, 0);
		if (r < 0)
			urt_unlinkat(j->ddir, name, 0);
	}
	if (r < 0) {
		if (r != -ECANCELED)
			cp_err(-r, "cannot create symbolic link", j->dpath);
		S.failed = true;
		return r;
	}
	if (O.verbose)
		printf("'%s' -> '%s'\n", j->spath, j->dpath);
	return 0;
}
