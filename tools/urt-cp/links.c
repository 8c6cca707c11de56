/* SPDX-License-Identifier: MIT */
/*
 * -l (--link) and -s (--symbolic-link): a hard link or a symbolic link
 * instead of a copy, as GNU cp makes them. Nothing partial can exist: a
 * link is whole when it is made. An existing destination is kept (cp's
 * "File exists") unless -f or --remove-destination is given; it is then
 * replaced atomically: the link is made under a temporary name in the
 * destination's directory and renamed over it, so the destination name
 * never goes missing (cp unlinks it first).
 *
 * These jobs run on the task that submits them (walk.c, local_submit),
 * with plain system calls: a link is one short metadata call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"
#include "dest.h"

static _Atomic unsigned link_seq; /* temporaries of this file: ".urt-cp.PID.lN" */

/*
 * Make the destination of j with make(j, name, arg) under a temporary name
 * and rename it over the existing one. Returns 0 or a negative errno (the
 * temporary is gone either way).
 */
int cp_replace_with(struct job *j, int (*make)(struct job *j, const char *name, void *arg),
		    void *arg)
{
	char tmp[48];
	int r = -EEXIST;
	for (int tries = 0; tries < 100 && r == -EEXIST; tries++) {
		snprintf(tmp, sizeof tmp, ".urt-cp.%d.l%u", (int)getpid(), ++link_seq);
		r = make(j, tmp, arg);
	}
	if (r < 0)
		return r;
	r = renameat(j->ddir, tmp, j->ddir, j->dname) < 0 ? -errno : 0;
	/* also after a success: renaming one link of an inode over another
	   does nothing and leaves the temporary name (else: ENOENT) */
	unlinkat(j->ddir, tmp, 0);
	return r;
}

/* -b: the backup of what is there, before it is replaced (its name for -v
   in bk). 0, or a negative errno (reported). */
int backup_first(struct job *j, char *bk, size_t n)
{
	bk[0] = 0;
	if (!j->backup)
		return 0;
	int r = dest_backup(j, bk, n);
	if (r < 0) {
		cp_err(-r, "cannot backup", j->dpath);
		S.failed = true;
	}
	return r;
}

/*
 * What is at the destination, for a link about to be made there. 0: free
 * (*exists false) or to be replaced (*exists true); 1: leave it, done
 * (-n, -u, or it is the source itself: cp -l f f); -1: reported.
 * src: the source's stat, as the link will see it.
 */
static int link_dest(struct job *j, const struct stat *src, bool *exists, const char *what)
{
	struct stat ds;
	*exists = false;
	if (j->dst_fresh)
		return 0;
	if (fstatat(j->ddir, j->dname, &ds, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		cp_err(errno, "cannot stat", j->dpath);
		return -1;
	}
	*exists = true;
	if (src && ds.st_dev == src->st_dev && ds.st_ino == src->st_ino) {
		if (O.hardlink)
			return 1; /* cp: a hard link to itself is there already */
		cp_msg("'%s' and '%s' are the same file", j->spath, j->dpath);
		return -1;
	}
	if (S_ISDIR(ds.st_mode)) {
		cp_msg("cannot overwrite directory '%s' with non-directory", j->dpath);
		return -1;
	}
	if (O.noclobber)
		return 1;
	if (src && dest_update_skips(&ds, src))
		return 1;
	if (O.interactive && !dest_ask(j->dpath, &ds))
		return 1;
	if (O.backup != BACKUP_NONE) { /* cp moves it aside: a backup, then the link */
		j->backup = true;
		return 0;
	}
	if (!O.force && !O.remove_dest) {
		cp_msg("cannot create %s '%s' to '%s': %s", what, j->dpath, j->spath, strerror(EEXIST));
		return -1;
	}
	return 0;
}

/* Make the link (backing up or replacing what exists), report, -v. */
static int link_made(struct job *j, bool exists,
		     int (*make)(struct job *j, const char *name, void *arg), void *arg,
		     const char *what)
{
	char bk[4096];
	int r = backup_first(j, bk, sizeof bk);
	if (r < 0)
		return r;
	r = exists ? cp_replace_with(j, make, arg) : make(j, j->dname, arg);
	if (r < 0) {
		cp_msg("cannot create %s '%s' to '%s': %s", what, j->dpath, j->spath, strerror(-r));
		S.failed = true;
		return r;
	}
	j->made = true;
	if (O.verbose)
		cp_verbose(j, exists && O.remove_dest, bk);
	return 0;
}

static int make_hardlink(struct job *j, const char *name, void *arg)
{
	(void)arg;
	return linkat(j->sdir, j->sname, j->ddir, name, j->follow ? AT_SYMLINK_FOLLOW : 0) < 0
		       ? -errno
		       : 0;
}

int cp_hardlink(struct job *j)
{
	struct stat ss;
	bool have = fstatat(j->sdir, j->sname, &ss, j->follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0;
	if (have && !j->follow && S_ISLNK(ss.st_mode) && !j->dst_fresh) {
		/* cp -dl sl f, sl -> f: cp's same_file_ok finds nothing to do */
		struct stat ts, ds;
		if (fstatat(j->sdir, j->sname, &ts, 0) == 0 &&
		    fstatat(j->ddir, j->dname, &ds, AT_SYMLINK_NOFOLLOW) == 0 &&
		    ts.st_dev == ds.st_dev && ts.st_ino == ds.st_ino)
			return 0;
	}
	bool exists;
	int k = link_dest(j, have ? &ss : NULL, &exists, "hard link");
	if (k < 0)
		S.failed = true;
	if (k)
		return k < 0 ? -1 : 0;
	return link_made(j, exists, make_hardlink, NULL, "hard link");
}

static int make_symlink(struct job *j, const char *name, void *arg)
{
	return symlinkat((const char *)arg, j->ddir, name) < 0 ? -errno : 0;
}

/* -s: a symlink whose value is the source's name as cp was given it
   (joined with the names below it in a tree). */
int cp_make_symlink(struct job *j)
{
	const char *target = j->spath;
	if (target[0] != '/') {
		/* relative: only right when it is made in the current directory */
		struct stat dot, dd;
		if (stat(".", &dot) == 0 && fstatat(j->ddir, ".", &dd, 0) == 0 &&
		    (dot.st_dev != dd.st_dev || dot.st_ino != dd.st_ino)) {
			cp_msg("%s: can make relative symbolic links only in current directory",
			       j->dpath);
			S.failed = true;
			return -1;
		}
	}
	struct stat ss, ds;
	bool have = fstatat(j->sdir, j->sname, &ss, 0) == 0;
	/* a symlink at the destination is replaced, never a "same file" */
	bool dlink = fstatat(j->ddir, j->dname, &ds, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(ds.st_mode);
	bool exists;
	int k = link_dest(j, have && !dlink ? &ss : NULL, &exists, "symbolic link");
	if (k < 0)
		S.failed = true;
	if (k)
		return k < 0 ? -1 : 0;
	return link_made(j, exists, make_symlink, (void *)target, "symbolic link");
}
