/* SPDX-License-Identifier: MIT */
/*
 * Operands and the tree walk. The walker runs in the main task and turns
 * each entry into a job; up to O.jobs jobs run at once, each in its own
 * detached task that frees itself when it ends (memory stays bounded by
 * the jobs in flight, not by the files copied). The walk itself stays sequential (readdir has no
 * io_uring op) and stays ahead of the copies because it does little else:
 * file types come from d_type, so regular files are never stat'ed here.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"

static unsigned active;         /* jobs running (spawned and not finished) */
static urt_future *slot_waiter; /* the walker, waiting for a free job slot */

/*
 * The destination's top directory of each directory operand, whether this
 * run created it or not, to refuse copying a directory into itself: cp -r a
 * a/b would otherwise recurse until the stack or the path length gives out.
 */
static struct root {
	dev_t dev;
	ino_t ino;
	char *spath, *dpath;
} roots[64];
static unsigned n_roots;

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);
	if (!p) {
		fprintf(stderr, "urt-cp: out of memory\n");
		exit(1);
	}
	memcpy(p, a, la);
	size_t k = la;
	if (la && a[la - 1] != '/')
		p[k++] = '/';
	memcpy(p + k, b, lb + 1);
	return p;
}

static char *xstrdup(const char *s)
{
	return path_join("", s);
}

static void fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The directory part of path ("." if none), malloc'ed. */
static char *dir_name(const char *path)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	while (len > 0 && path[len - 1] != '/')
		len--;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0)
		return xstrdup(".");
	char *d = xstrdup(path);
	d[len] = 0;
	return d;
}

void dnode_put(struct dnode *d)
{
	while (d && --d->refs == 0) {
		if (d->dfd >= 0) {
			int r = 0;
			if ((O.preserve & P_XATTR) && d->sfd >= 0)
				r = cp_copy_xattrs(d->sfd, d->dfd);
			if (!r && (O.preserve & P_OWNER) &&
			    fchown(d->dfd, d->st.st_uid, d->st.st_gid) < 0 && errno != EPERM)
				r = -errno;
			if (!r && (O.preserve & P_MODE)) {
				if (fchmod(d->dfd, d->st.st_mode & 07777) < 0)
					r = -errno;
			} else if (!r && d->created &&
				   fchmod(d->dfd, d->st.st_mode & 07777 & ~O.umask) < 0) {
				r = -errno; /* it was created u+rwx so that we could fill it */
			}
			struct timespec ts[2] = {d->st.st_atim, d->st.st_mtim};
			if (!r && (O.preserve & P_TIME) && futimens(d->dfd, ts) < 0)
				r = -errno;
			if (r) {
				cp_err(-r, "cannot set attributes of", d->dpath);
				S.failed = true;
			}
			if (O.sync && fsync(d->dfd) < 0) {
				cp_err(errno, "cannot sync directory", d->dpath);
				S.failed = true;
			}
			close(d->dfd);
		}
		if (d->sfd >= 0)
			close(d->sfd);
		struct dnode *parent = d->parent;
		free(d->spath);
		free(d->dpath);
		free(d);
		d = parent;
	}
}

/* Jobs handed to a task and not yet finished (for cancelling on SIGINT). */
static struct job *live;

static void job_free(struct job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else if (live == j)
		live = j->next;
	if (j->next)
		j->next->prev = j->prev;
	dnode_put(j->dir);
	if (j->own_ddir && j->ddir >= 0)
		close(j->ddir);
	free(j->spath);
	free(j->dpath);
	free(j);
}

static void job_done(struct job *j)
{
	job_free(j);
	active--;
	if (slot_waiter)
		urt_future_set(slot_waiter, 0, NULL);
}

static int job_main(void *arg)
{
	struct job *j = arg;
	j->started = true;
	int r = 0;
	if (!S.interrupted)
		r = S_ISLNK(j->st.st_mode) && !j->follow ? cp_symlink(j) : cp_regular(j);
	S.files_done++;
	job_done(j);
	return r;
}

/* Wait until a job finishes (or the wait is cancelled). */
static int wait_slot(void)
{
	urt_future f;
	urt_future_init(&f);
	slot_waiter = &f;
	int r = urt_future_wait(&f, URT_FOREVER, NULL);
	slot_waiter = NULL;
	return r;
}

/* Start a job when a slot is free. Takes ownership of j. */
static int submit(struct job *j)
{
	while (active >= O.jobs) {
		int r = wait_slot();
		if (r < 0) {
			active++;
			job_done(j);
			return r;
		}
	}
	S.files_total++;
	active++;
	j->prev = NULL;
	j->next = live;
	if (live)
		live->prev = j;
	live = j;
	struct urt_spawn_attr a = {.name = "copy", .stack_size = 64 * 1024, .detached = true};
	j->task = urt_spawn_attr(&a, job_main, j);
	if (!j->task) {
		cp_err(ENOMEM, "cannot copy", j->spath);
		S.failed = true;
		job_done(j);
	}
	return 0;
}

/* A job for entry `name` of directory d (d NULL: a command-line operand). */
static struct job *job_new(struct dnode *d, const char *sname, const char *dname,
			   char *spath, char *dpath, bool dst_fresh)
{
	/* one allocation for the job and both names */
	size_t ls = strlen(sname) + 1, ld = strlen(dname) + 1;
	struct job *j = calloc(1, sizeof *j + ls + ld);
	if (!j) {
		fprintf(stderr, "urt-cp: out of memory\n");
		exit(1);
	}
	char *names = (char *)(j + 1);
	memcpy(names, sname, ls);
	memcpy(names + ls, dname, ld);
	j->sname = names;
	j->dname = names + ls;
	j->dir = d;
	if (d)
		d->refs++;
	j->sdir = d ? d->sfd : AT_FDCWD;
	j->ddir = d ? d->dfd : AT_FDCWD;
	j->spath = spath;
	j->dpath = dpath;
	j->dst_fresh = dst_fresh;
	return j;
}

static struct root *find_root(const struct stat *st)
{
	for (unsigned i = 0; i < n_roots; i++)
		if (roots[i].dev == st->st_dev && roots[i].ino == st->st_ino)
			return &roots[i];
	return NULL;
}

static int walk_entry(struct dnode *d, const char *name, unsigned char type);

/*
 * Copy directory (sdir, sname) to (ddir, dname); st is its stat. Takes
 * ownership of spath and dpath. Returns -ECANCELED when interrupted.
 */
static int walk_dir(struct dnode *parent, int sdir, const char *sname, int ddir, const char *dname,
		    char *spath, char *dpath, const struct stat *st, bool top, bool follow)
{
	struct root *root = find_root(st);
	if (root) {
		cp_msg("cannot copy a directory, '%s', into itself, '%s'", root->spath, root->dpath);
		S.failed = true;
		free(spath);
		free(dpath);
		return 0;
	}
	bool created = true;
	int r = urt_mkdirat(ddir, dname, (st->st_mode & 07777 & ~O.umask) | S_IRWXU);
	if (r == -EEXIST) {
		struct stat ds;
		created = false;
		if (fstatat(ddir, dname, &ds, 0) < 0 || !S_ISDIR(ds.st_mode)) {
			cp_msg("cannot overwrite non-directory '%s' with directory '%s'", dpath, spath);
			r = -1;
		} else {
			r = 0;
		}
	} else if (r < 0 && r != -ECANCELED) {
		cp_err(-r, "cannot create directory", dpath);
	}
	if (r < 0) {
		if (r != -ECANCELED)
			S.failed = true;
		free(spath);
		free(dpath);
		return r == -ECANCELED ? r : 0;
	}
	if (created && O.sync) {
		if (top) {
			char *pd = dir_name(dpath);
			fsync_path(pd);
			free(pd);
		} /* else: the parent is synced when it is finished (dnode_put) */
	}

	struct dnode *d = calloc(1, sizeof *d);
	if (!d) {
		fprintf(stderr, "urt-cp: out of memory\n");
		exit(1);
	}
	d->refs = 1; /* the walk's own reference */
	d->parent = parent;
	if (parent)
		parent->refs++;
	d->spath = spath;
	d->dpath = dpath;
	d->st = *st;
	d->created = created;
	d->sfd = urt_openat(sdir, sname, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW) | O_CLOEXEC, 0);
	d->dfd = urt_openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (d->dfd >= 0 && top && n_roots < 64) {
		struct stat ds;
		if (fstat(d->dfd, &ds) == 0) {
			roots[n_roots].dev = ds.st_dev;
			roots[n_roots].ino = ds.st_ino;
			roots[n_roots].spath = xstrdup(spath);
			roots[n_roots++].dpath = xstrdup(dpath);
		}
	}
	if (d->sfd < 0 || d->dfd < 0) {
		r = d->sfd < 0 ? d->sfd : d->dfd;
		if (r != -ECANCELED) {
			cp_err(-r, "cannot open directory", d->sfd < 0 ? spath : dpath);
			S.failed = true;
		}
		if (d->sfd < 0)
			d->sfd = -1;
		if (d->dfd < 0)
			d->dfd = -1;
		dnode_put(d);
		return r == -ECANCELED ? r : 0;
	}

	int lfd = dup(d->sfd); /* the listing's own fd; d->sfd stays for the jobs */
	DIR *dir = lfd >= 0 ? fdopendir(lfd) : NULL;
	if (!dir) {
		cp_err(errno, "cannot read directory", spath);
		S.failed = true;
		if (lfd >= 0)
			close(lfd);
		dnode_put(d);
		return 0;
	}
	r = 0;
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(dir);
		if (!e) {
			if (errno) {
				cp_err(errno, "cannot read directory", spath);
				S.failed = true;
			}
			break;
		}
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		r = walk_entry(d, e->d_name, e->d_type);
		if (r == -ECANCELED || S.interrupted) {
			r = -ECANCELED;
			break;
		}
	}
	closedir(dir);
	dnode_put(d);
	return r;
}

static int walk_entry(struct dnode *d, const char *name, unsigned char type)
{
	struct stat st;
	bool follow = O.deref == 'L';
	/* hard links (-a, --preserve=links) need the link count: stat everything */
	if (type == DT_UNKNOWN || type == DT_DIR || (type == DT_LNK && (follow || O.preserve || O.update))) {
		if (fstatat(d->sfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) < 0) {
			char *p = path_join(d->spath, name);
			cp_err(errno, "cannot stat", p);
			free(p);
			S.failed = true;
			return 0;
		}
	} else {
		memset(&st, 0, sizeof st); /* regular files are stat'ed by their job */
		st.st_mode = type == DT_REG ? S_IFREG : type == DT_LNK ? S_IFLNK : 0;
	}
	if (S_ISDIR(st.st_mode))
		return walk_dir(d, d->sfd, name, d->dfd, name, path_join(d->spath, name),
				path_join(d->dpath, name), &st, false, follow);
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		char *p = path_join(d->spath, name);
		cp_msg("skipping special file '%s'", p);
		free(p);
		return 0;
	}
	struct job *j = job_new(d, name, name, path_join(d->spath, name), path_join(d->dpath, name),
				d->created);
	j->st = st;
	j->follow = follow;
	return submit(j);
}

static const char *base_name(const char *path, char *buf, size_t n)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	size_t bl = len - start;
	if (bl >= n)
		bl = n - 1;
	memcpy(buf, path + start, bl);
	buf[bl] = 0;
	return buf;
}

int cp_operand(const char *src, const char *dst, bool into_dir)
{
	char base[4096];
	char *dpath = into_dir ? path_join(dst, base_name(src, base, sizeof base)) : xstrdup(dst);
	bool follow = O.deref == 'L' || O.deref == 'H' || (O.deref == 0 && !O.recursive);
	struct stat st;
	if ((follow ? stat(src, &st) : lstat(src, &st)) < 0) {
		cp_err(errno, "cannot stat", src);
		S.failed = true;
		free(dpath);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!O.recursive) {
			cp_msg("-r not specified; omitting directory '%s'", src);
			S.failed = true;
			free(dpath);
			return 0;
		}
		/* walk_dir owns dpath (and may free it before returning) */
		return walk_dir(NULL, AT_FDCWD, src, AT_FDCWD, dpath, xstrdup(src), dpath, &st, true,
				follow);
	}
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		cp_msg("skipping special file '%s'", src);
		free(dpath);
		return 0;
	}
	/*
	 * The job works in the destination's own directory: temporaries are
	 * created there (same filesystem, same permissions, same setgid group
	 * as the final name), never in the current directory.
	 */
	size_t dl = strlen(dpath);
	if (dl && dpath[dl - 1] == '/') {
		/* DST/ names a directory; it is not one (into_dir is false) */
		cp_err(ENOTDIR, "cannot create regular file", dpath);
		S.failed = true;
		free(dpath);
		return 0;
	}
	char *pdir = dir_name(dpath);
	int ddir = open(pdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ddir < 0) {
		cp_err(errno, "cannot create regular file", dpath);
		S.failed = true;
		free(pdir);
		free(dpath);
		return 0;
	}
	free(pdir);
	struct job *j = job_new(NULL, src, base_name(dpath, base, sizeof base), xstrdup(src), dpath,
				false);
	j->ddir = ddir;
	j->own_ddir = true;
	j->st = st;
	j->follow = follow;
	return submit(j);
}

/* Wait for every job; if interrupted, cancel them all first. */
void cp_wait_all(void)
{
	bool cancelled = false;
	while (active) {
		if (S.interrupted && !cancelled) {
			/* a task cancelled before it first ran would never run (and never
			   free its job): those are left to start and see S.interrupted */
			for (struct job *j = live; j; j = j->next)
				if (j->started)
					urt_cancel(j->task);
			cancelled = true;
		}
		wait_slot(); /* -ECANCELED: our own cancel, delivered once */
	}
	for (unsigned i = 0; i < n_roots; i++) {
		free(roots[i].spath);
		free(roots[i].dpath);
	}
	n_roots = 0;
}
