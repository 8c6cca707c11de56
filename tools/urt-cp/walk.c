/* SPDX-License-Identifier: MIT */
/*
 * Operands and the tree walk. The walker runs in the main task and turns
 * each entry into a job; up to O.jobs jobs run at once, each in its own
 * detached task that frees itself when it ends (memory stays bounded by
 * the jobs in flight, not by the files copied). The walk itself stays
 * sequential (readdir has no io_uring op) and stays ahead of the copies
 * because it does little else: file types come from d_type, so regular
 * files are never stat'ed here.
 *
 * On several loops (--threads, see cp_loops_start) the walker, on loop 0,
 * hands jobs out in batches through a cross-loop queue, and a feeder task
 * on every loop (loop 0 included) takes batches and runs their jobs on its
 * own loop, up to its share of O.jobs at once. A job, its chunk tasks and
 * its ring requests then stay on one loop; what the loops share is the
 * queue, the directories (dnode reference counts are atomic), the
 * counters in S and copyfile.c's cross-loop state (hard links, the large
 * file limit).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"

/*
 * Per loop (thread-local): the jobs running on this loop. One task per
 * loop submits jobs and waits for slots: the walker when there is one
 * loop, else the loop's feeder.
 */
static _Thread_local unsigned active;         /* jobs running (spawned and not finished) */
static _Thread_local unsigned slots;          /* this loop's share of O.jobs */
static _Thread_local urt_future *slot_waiter; /* the submitter, waiting for a free slot */
static _Thread_local bool stopped;            /* SIGINT: this loop's jobs were cancelled */

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

static struct opdone *top_op; /* the operand walk_dir starts (cp_operand) */

/* The operand being walked, for cp's into-itself message, which names it
   (not the directory where it was found). cp then stops the operand's
   walk; its listing is sorted by inode, so the directory it made, the
   newest, usually comes last: here the walk skips it and goes on, which
   gives the same copy without depending on the listing's order. */
static char *top_spath, *top_dpath;
static bool into_self;
static bool root_made; /* this operand made its first directory (roots) */

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", cp_prog);
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

static void op_settle(struct opdone *od, bool made);

void dnode_put(struct dnode *d)
{
	while (d && --d->refs == 0) {
		if (d->dfd >= 0) {
			/* made u+rwx so that we could fill it: now its mode (less the
			   umask), unless -p gives it the source's */
			int mode = -1;
			if (d->created)
				mode = (int)((O.no_preserve_mode ? 0777 : d->st.st_mode & 07777) & ~O.umask);
			/* its ACLs: inherited from its parent's default ACL, or its own */
			bool acl_may = !d->created || d->dacl || !d->parent;
			int r = cp_set_attrs_fd(d->dfd, d->sfd, &d->st, mode, acl_may, d->dpath);
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
		if (d->op)
			op_settle(d->op, d->dfd >= 0);
		struct dnode *parent = d->parent;
		free(d->spath);
		free(d->dpath);
		free(d);
		d = parent;
	}
}

/* Jobs handed to a task on this loop and not yet finished (for
   cancelling on SIGINT). */
static _Thread_local struct job *live;

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
	if (j->op)
		op_settle(j->op, j->made);
	free(j->own_dname);
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
	if (S.interrupted)
		;
	else if (O.hardlink)
		r = cp_hardlink(j);
	else if (O.symlink)
		r = cp_make_symlink(j);
	else if (S_ISLNK(j->st.st_mode) && !j->follow)
		r = cp_symlink(j);
	else if (cp_is_special(j->st.st_mode) && !cp_copy_as_regular(j->st.st_mode))
		r = cp_special(j);
	else
		r = cp_regular(j);
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
	int r = urt_future_wait(&f, NULL, URT_FOREVER);
	slot_waiter = NULL;
	return r;
}

/* Start a job on this loop when a slot is free. Takes ownership of j. */
static int local_submit(struct job *j)
{
	while (active >= slots) {
		int r = wait_slot();
		if (r < 0) {
			active++;
			job_done(j);
			return r;
		}
	}
	S.files_total++;
	active++;
	if (O.hardlink || O.symlink) {
		/* a link is one short system call: made here, by the submitting
		   task, with no task (and no stack) of its own. Many in flight
		   would only add stacks: with 64, a tree needed 4.6 MiB more
		   address space than one file (coreutils' link-heap.sh allows 4) */
		j->prev = j->next = NULL;
		job_main(j);
		return 0;
	}
	j->prev = NULL;
	j->next = live;
	if (live)
		live->prev = j;
	live = j;
	/* stack_now: a job whose task could not start would never be
	   counted done (its job_main frees it): fail here instead */
	struct urt_spawn_attr a = {
		.name = "copy", .stack_size = 64 * 1024, .detached = true, .stack_now = true};
	j->task = urt_spawn_attr(&a, job_main, j);
	if (!j->task) {
		cp_err(ENOMEM, "cannot copy", j->spath);
		S.failed = true;
		job_done(j);
	}
	return 0;
}

/*
 * Several loops: jobs per queue item. One item costs a mutex round trip
 * and, when the other side waits, a wake-up through its loop's eventfd;
 * per file that would be 20,000 of each for the benchmark's tree. With 16,
 * a loop that has run out of work waits at most for the last batch's 16
 * files on another loop.
 */
#define BATCH 16

static struct {
	unsigned n;              /* loops copying; 0: one, the walker runs the jobs */
	urt_xqueue *q;           /* job chains (linked by next); NULL: no more */
	urt_remote **feeders;    /* feeders[i] runs on loop i; NULL once waited for */
	bool told;               /* the feeders were cancelled (SIGINT) */
	struct job *head, *tail; /* the batch being filled (walker) */
	unsigned len;
} M;

static int batch_add(struct job *j);

/* The walker's hand-off: run j on this loop, or queue it for the loops. */
static int submit(struct job *j)
{
	return M.n ? batch_add(j) : local_submit(j);
}

/* A job for entry `name` of directory d (d NULL: a command-line operand). */
static struct job *job_new(struct dnode *d, const char *sname, const char *dname,
			   char *spath, char *dpath, bool dst_fresh)
{
	/* one allocation for the job and both names */
	size_t ls = strlen(sname) + 1, ld = strlen(dname) + 1;
	struct job *j = calloc(1, sizeof *j + ls + ld);
	if (!j) {
		fprintf(stderr, "%s: out of memory\n", cp_prog);
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

/*
 * Every directory this run made (the walker makes them all, on its own
 * task: no lock). A source directory among them is a copy being copied
 * again: cp -rl a dir dir with dir/dir already there makes dir/dir/dir,
 * which the walk of dir/dir then lists, and so on until the stack gives
 * out. 16 bytes a directory, freed at exit.
 */
struct made_dir {
	struct made_dir *next;
	dev_t dev;
	ino_t ino;
};
#define MADE_BUCKETS 1024
static struct made_dir *made_dirs[MADE_BUCKETS];

static unsigned made_hash(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;
	return (unsigned)((h * 0xbf58476d1ce4e5b9ull) >> 40) % MADE_BUCKETS;
}

static void made_add(dev_t dev, ino_t ino)
{
	struct made_dir *m = malloc(sizeof *m);
	if (!m)
		return; /* then only the roots catch it */
	unsigned h = made_hash(dev, ino);
	*m = (struct made_dir){.next = made_dirs[h], .dev = dev, .ino = ino};
	made_dirs[h] = m;
}

static bool made_has(const struct stat *st)
{
	for (struct made_dir *m = made_dirs[made_hash(st->st_dev, st->st_ino)]; m; m = m->next)
		if (m->dev == st->st_dev && m->ino == st->st_ino)
			return true;
	return false;
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
	if (root || made_has(st)) {
		if (!into_self) /* once per operand, as cp */
			cp_msg("cannot copy a directory, '%s', into itself, '%s'",
			       top_spath ? top_spath : root ? root->spath : spath,
			       top_dpath ? top_dpath : root ? root->dpath : dpath);
		into_self = true;
		S.failed = true;
		free(spath);
		free(dpath);
		return 0;
	}
	bool created = true;
	mode_t mode = O.no_preserve_mode && !(O.preserve & P_MODE) ? 0777 : st->st_mode & 07777;
	/* closed to group and others while we fill it where its owner will
	   change (-p), as cp does (tests/cp/parent-perm-race.sh); never
	   group- or other-writable; its mode is set when it is done */
	mode_t omitted = (O.preserve & P_OWNER) ? S_IRWXG | S_IRWXO : S_IWGRP | S_IWOTH;
	int r = urt_mkdirat(ddir, dname, (mode & ~O.umask & ~omitted) | S_IRWXU);
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
		fprintf(stderr, "%s: out of memory\n", cp_prog);
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
	if (top) {
		d->op = top_op; /* settled when the last job of this operand ends */
		top_op = NULL;
	}
	d->sfd = urt_openat(sdir, sname, O_RDONLY | O_DIRECTORY | (follow ? 0 : O_NOFOLLOW) | O_CLOEXEC, 0);
	d->dfd = urt_openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	/* cp remembers the first directory each operand creates (not one that
	   was there): copying into itself stops when the walk reaches it */
	struct stat dst_st;
	if (d->dfd >= 0 && created && fstat(d->dfd, &dst_st) == 0)
		made_add(dst_st.st_dev, dst_st.st_ino);
	if (d->dfd >= 0 && created && !root_made && n_roots < 64) {
		root_made = true;
		struct stat ds;
		if (fstat(d->dfd, &ds) == 0) {
			roots[n_roots].dev = ds.st_dev;
			roots[n_roots].ino = ds.st_ino;
			roots[n_roots].spath = xstrdup(spath);
			roots[n_roots++].dpath = xstrdup(dpath);
		}
	}
	if ((O.preserve & P_MODE) && d->dfd >= 0)
		d->dacl = cp_has_default_acl(d->dfd);
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

	if (O.one_fs && parent && parent->st.st_dev != st->st_dev) {
		/* -x: a directory on another file system is made, not entered */
		dnode_put(d);
		return 0;
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
	bool special = type == DT_FIFO || type == DT_CHR || type == DT_BLK || type == DT_SOCK;
	if (type == DT_UNKNOWN || type == DT_DIR || special ||
	    (type == DT_LNK && (follow || O.preserve || O.update || O.hardlink))) {
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

/* ---------------------------------------------------------------------- */
/* Operands copied into a directory                                        */

/*
 * cp SRC... DIR: two operands may land on one name (cp a/f b/f DIR). cp
 * then refuses to overwrite what an earlier operand just made there, or to
 * write through a symlink it just made (which writes outside DIR), and it
 * skips a source given twice. Operands are copied at once, on several
 * loops, so the walker decides before it hands a job out: an operand whose
 * destination name an earlier one used waits until that one is done (its
 * job, or every job of its tree), and its job is told what that one made
 * there (check_dest compares). Only operands are tracked (names in one
 * directory are unique); one that shares no name costs a hash lookup, and
 * the jobs of a tree nothing.
 */
struct opdone {
	struct opdone *all; /* every one, freed at the end */
	int state;          /* under op_mu: 0 copying, 1 made its destination, -1 not */
	urt_xfuture *f;     /* made by a waiter (under op_mu), set when state leaves 0 */
};

struct opname { /* a destination name in DIR */
	struct opname *next;
	struct opdone *last; /* the latest operand copied to it */
	bool made;           /* an operand made (dev, ino) there */
	dev_t dev;
	ino_t ino;
	char name[];
};

struct opsrc { /* a source operand */
	struct opsrc *next;
	dev_t dev;
	ino_t ino;
	bool dir;
	char *path, *dpath; /* as given, and where it goes */
};

#define OP_BUCKETS 1024
static struct opname *op_names[OP_BUCKETS];
static struct opsrc *op_srcs[OP_BUCKETS];
static struct opdone *op_all;
static pthread_mutex_t op_mu = PTHREAD_MUTEX_INITIALIZER;

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", cp_prog);
		exit(1);
	}
	return p;
}

/* An operand's copy ended (any loop); made: it made its destination. */
static void op_settle(struct opdone *od, bool made)
{
	pthread_mutex_lock(&op_mu);
	od->state = made ? 1 : -1;
	urt_xfuture *f = od->f;
	pthread_mutex_unlock(&op_mu);
	if (f)
		urt_xfuture_set(f, 0, NULL);
}

/* Wait until od is settled. 0 or -ECANCELED. */
static int op_wait(struct opdone *od)
{
	pthread_mutex_lock(&op_mu);
	if (od->state) {
		pthread_mutex_unlock(&op_mu);
		return 0;
	}
	if (!od->f && urt_xfuture_new(&od->f) < 0) {
		fprintf(stderr, "%s: out of memory\n", cp_prog);
		exit(1);
	}
	urt_xfuture *f = od->f;
	pthread_mutex_unlock(&op_mu);
	return urt_xfuture_wait(f, NULL, URT_FOREVER);
}

static unsigned op_hash_name(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % OP_BUCKETS;
}

static unsigned op_hash_ino(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;
	return (unsigned)((h * 0xbf58476d1ce4e5b9ull) >> 40) % OP_BUCKETS;
}

static const char *base_name(const char *path, char *buf, size_t n);

/* cp's same_name: one last component, in one directory. */
static bool same_name(const char *a, const char *b)
{
	char ba[4096], bb[4096];
	if (strcmp(base_name(a, ba, sizeof ba), base_name(b, bb, sizeof bb)))
		return false;
	char *da = dir_name(a), *db = dir_name(b);
	struct stat sa, sb;
	bool same = stat(da, &sa) == 0 && stat(db, &sb) == 0 && sa.st_dev == sb.st_dev &&
		    sa.st_ino == sb.st_ino;
	free(da);
	free(db);
	return same;
}

static int batch_flush(void);

/*
 * Before operand src (stat st, following as follow says) is copied to
 * dpath, whose last component is name, in the target directory. 0: copy
 * it, as *od (settle it when done), after what an earlier operand made
 * there: *seen, (*dev, *ino). 1: do not (reported). -ECANCELED.
 */
static int op_begin(const char *src, const struct stat *st, const char *dpath, const char *name,
		    bool follow, struct opdone **od, bool *seen, dev_t *dev, ino_t *ino)
{
	bool dir = S_ISDIR(st->st_mode);
	unsigned h = op_hash_ino(st->st_dev, st->st_ino);
	for (struct opsrc *e = op_srcs[h]; e; e = e->next) {
		if (e->dev != st->st_dev || e->ino != st->st_ino || e->dir != dir)
			continue;
		if (!dir && same_name(e->path, src)) {
			cp_msg("warning: source file '%s' specified more than once", src);
			return 1;
		}
		if (!dir)
			continue;
		if (!strcmp(e->dpath, dpath)) {
			cp_msg("warning: source directory '%s' specified more than once", src);
			return 1;
		}
		if (!follow) {
			cp_msg("will not create hard link '%s' to directory '%s'", dpath, e->dpath);
			S.failed = true;
			return 1;
		}
		break; /* reached again through a followed symlink (-H, -L): copied again */
	}
	struct opsrc *e = xmalloc(sizeof *e);
	*e = (struct opsrc){.next = op_srcs[h], .dev = st->st_dev, .ino = st->st_ino, .dir = dir,
			    .path = xstrdup(src), .dpath = xstrdup(dpath)};
	op_srcs[h] = e;

	unsigned hn = op_hash_name(name);
	struct opname *n = op_names[hn];
	while (n && strcmp(n->name, name))
		n = n->next;
	if (n) {
		/* used before: after that copy, and knowing what it made */
		int r = M.n ? batch_flush() : 0;
		if (!r)
			r = op_wait(n->last);
		if (r < 0)
			return r;
		struct stat ds;
		if (n->last->state > 0 && lstat(dpath, &ds) == 0) {
			n->made = true;
			n->dev = ds.st_dev;
			n->ino = ds.st_ino;
		}
	} else {
		size_t len = strlen(name) + 1;
		n = xmalloc(sizeof *n + len);
		*n = (struct opname){.next = op_names[hn]};
		memcpy(n->name, name, len);
		op_names[hn] = n;
	}
	*od = xmalloc(sizeof **od);
	**od = (struct opdone){.all = op_all};
	op_all = n->last = *od;
	*seen = n->made;
	*dev = n->dev;
	*ino = n->ino;
	return 0;
}

/* After every copy: the operand tables go. */
static void op_free(void)
{
	for (unsigned i = 0; i < OP_BUCKETS; i++) {
		while (op_names[i]) {
			struct opname *n = op_names[i];
			op_names[i] = n->next;
			free(n);
		}
		while (op_srcs[i]) {
			struct opsrc *e = op_srcs[i];
			op_srcs[i] = e->next;
			free(e->path);
			free(e->dpath);
			free(e);
		}
	}
	while (op_all) {
		struct opdone *od = op_all;
		op_all = od->all;
		if (od->f)
			urt_xfuture_free(od->f);
		free(od);
	}
}

int cp_operand(const char *src, const char *dst, bool into_dir)
{
	char base[4096];
	char *dpath = O.parents ? cp_parents_dpath(dst, src)
		      : into_dir ? path_join(dst, base_name(src, base, sizeof base))
				 : xstrdup(dst);
	base_name(src, base, sizeof base);
	if (O.parents) {
		/* the directories above it, made as the source's (parents.c);
		   names are not shared between operands here: no op_begin */
		into_dir = false;
		if (cp_parents_make(dst, src, dpath) < 0) {
			S.failed = true;
			free(dpath);
			return 0;
		}
	}
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
		struct opdone *od = NULL;
		bool seen;
		dev_t sdev;
		ino_t sino;
		int r = into_dir ? op_begin(src, &st, dpath, base, follow, &od, &seen, &sdev, &sino) : 0;
		if (r) {
			free(dpath);
			return r < 0 ? r : 0;
		}
		/* walk_dir owns dpath (and may free it before returning) */
		top_op = od;
		top_spath = xstrdup(src);
		top_dpath = xstrdup(dpath);
		into_self = false;
		root_made = false;
		r = walk_dir(NULL, AT_FDCWD, src, AT_FDCWD, dpath, xstrdup(src), dpath, &st, true,
			     follow);
		if (top_op) /* it made no directory */
			op_settle(top_op, false);
		top_op = NULL;
		free(top_spath);
		free(top_dpath);
		top_spath = top_dpath = NULL;
		into_self = false;
		return r;
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
	struct opdone *od = NULL;
	bool seen = false;
	dev_t sdev = 0;
	ino_t sino = 0;
	int r = into_dir ? op_begin(src, &st, dpath, base, follow, &od, &seen, &sdev, &sino) : 0;
	if (r) {
		close(ddir);
		free(dpath);
		return r < 0 ? r : 0;
	}
	struct job *j = job_new(NULL, src, base_name(dpath, base, sizeof base), xstrdup(src), dpath,
				false);
	j->ddir = ddir;
	j->own_ddir = true;
	j->st = st;
	j->follow = follow;
	j->op = od;
	j->seen = seen;
	j->seen_dev = sdev;
	j->seen_ino = sino;
	return submit(j);
}

/* SIGINT: cancel the jobs of this loop that have started, once. */
static void stop_jobs(void)
{
	if (stopped)
		return;
	/* a task cancelled before it first ran would never run (and never
	   free its job): those are left to start and see S.interrupted */
	for (struct job *j = live; j; j = j->next)
		if (j->started)
			urt_cancel(j->task);
	stopped = true;
}

/* Wait for every job of this loop; if interrupted, cancel them first. */
static void wait_local(void)
{
	while (active) {
		if (S.interrupted)
			stop_jobs();
		wait_slot(); /* -ECANCELED: our own cancel, delivered once */
	}
}

/* ---------------------------------------------------------------------- */
/* Several loops                                                           */

/* Free the jobs of a chain that never started. */
static void discard_chain(struct job *j)
{
	while (j) {
		struct job *next = j->next;
		j->next = NULL;
		job_free(j);
		j = next;
	}
}

static int batch_flush(void)
{
	struct job *b = M.head;
	M.head = M.tail = NULL;
	M.len = 0;
	if (!b)
		return 0;
	int r = S.interrupted ? -ECANCELED : urt_xqueue_put(M.q, b, URT_FOREVER);
	if (r < 0)
		discard_chain(b); /* only -ECANCELED: the walk stops */
	return r;
}

static int batch_add(struct job *j)
{
	j->prev = j->next = NULL;
	if (M.tail)
		M.tail->next = j;
	else
		M.head = j;
	M.tail = j;
	return ++M.len < BATCH ? 0 : batch_flush();
}

/* Run a batch's jobs on this loop, each when a slot is free. */
static void run_batch(struct job *j)
{
	while (j) {
		struct job *next = j->next;
		j->next = NULL;
		if (S.interrupted)
			job_free(j); /* never started: nothing to undo */
		else if (local_submit(j) < 0)
			stop_jobs(); /* cancelled waiting for a slot (j is freed) */
		j = next;
	}
}

/*
 * A loop's feeder: takes batches until the end marker, then waits for its
 * jobs. A cancellation (SIGINT, from cp_loops_stop) cancels the jobs that
 * run; it keeps taking batches, freeing them, so the walker never blocks.
 */
static int feeder(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	slots = O.jobs / M.n + (i < O.jobs % M.n);
	if (!slots)
		slots = 1; /* main gives no loop more than O.jobs loops */
	for (;;) {
		void *it = NULL;
		int r = urt_xqueue_get(M.q, &it, URT_FOREVER);
		if (r == -ECANCELED) { /* delivered once: the next get waits again */
			stop_jobs();
			continue;
		}
		if (r < 0 || !it)
			break; /* (the other feeders take what is left) */
		run_batch(it);
	}
	wait_local();
	buf_pool_free();
	return 0;
}

/*
 * Copy on n loops of urt_run_loops (called by the main task on loop 0,
 * before the walk): start a feeder on each. n <= 1, or no feeder could
 * start: the walker runs the jobs itself, on this loop, as with one loop.
 */
void cp_loops_start(unsigned n)
{
	slots = O.jobs;
	if (n <= 1 || urt_loops_count() < n)
		return;
	M.feeders = calloc(n, sizeof *M.feeders);
	/* two batches per loop queued: a feeder finds the next one waiting
	   when it is done, and the walker stays at most that far ahead */
	if (!M.feeders || urt_xqueue_new(2 * (size_t)n, &M.q) < 0) {
		free(M.feeders);
		M.feeders = NULL;
		return;
	}
	M.n = n; /* before the first feeder runs: it computes its share */
	unsigned k = 0;
	while (k < n && urt_spawn_on(urt_loops_get(k), feeder, (void *)(uintptr_t)k,
				     &M.feeders[k]) == 0)
		k++;
	if (k == 0) {
		urt_xqueue_free(M.q);
		free(M.feeders);
		memset(&M, 0, sizeof M);
	} /* else k < n (out of memory): fewer loops copy, with their shares of O.jobs */
}

/* SIGINT: cancel every feeder not yet waited for (once). */
static void tell_feeders(void)
{
	if (M.told || !S.interrupted)
		return;
	for (unsigned i = 0; i < M.n; i++)
		if (M.feeders[i])
			urt_remote_cancel(M.feeders[i]);
	M.told = true;
}

/*
 * After the walk (main task): hand out the last batch, one end marker per
 * feeder (the queue is FIFO, so every batch is taken before any marker),
 * and wait for the feeders. A SIGINT before or during this (the main task
 * is cancelled, S.interrupted is set) is passed on to every feeder.
 */
void cp_loops_stop(void)
{
	if (!M.n)
		return;
	if (S.interrupted) {
		discard_chain(M.head);
		M.head = M.tail = NULL;
		M.len = 0;
	} else {
		batch_flush();
	}
	/* -ECANCELED: our own cancel (SIGINT), delivered once: pass it on, again */
	for (unsigned i = 0; i < M.n; i++) {
		tell_feeders();
		while (M.feeders[i] && urt_xqueue_put(M.q, NULL, URT_FOREVER) == -ECANCELED)
			tell_feeders();
	}
	for (unsigned i = 0; i < M.n; i++) {
		tell_feeders();
		while (M.feeders[i] && urt_remote_wait(M.feeders[i], NULL) == -ECANCELED)
			tell_feeders();
		M.feeders[i] = NULL; /* waited for: the handle is freed */
	}
	urt_xqueue_free(M.q);
	free(M.feeders);
	memset(&M, 0, sizeof M);
}

/* Wait for every job; if interrupted, cancel them all first. */
void cp_wait_all(void)
{
	wait_local();
	op_free();
	for (unsigned i = 0; i < n_roots; i++) {
		free(roots[i].spath);
		free(roots[i].dpath);
	}
	n_roots = 0;
}
