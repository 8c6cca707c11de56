/* SPDX-License-Identifier: MIT */
/*
 * FIFOs, character and block devices and sockets, as GNU cp copies them:
 * with -R (and without --copy-contents) they are made anew (mknod), with
 * -p/-a their owner, mode and times the source's. Without -R, or with
 * --copy-contents, FIFOs and devices are read like regular files
 * (cp_regular: their contents go into a regular file).
 *
 * An existing destination (not a directory) is replaced atomically: the
 * node is made under a temporary name, given its attributes, and renamed
 * over it (cp unlinks it first). With --attributes-only it is kept and
 * the copy fails ("File exists"), as with cp, unless --remove-destination.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"
#include "dest.h"

bool cp_is_special(mode_t mode)
{
	return S_ISFIFO(mode) || S_ISCHR(mode) || S_ISBLK(mode) || S_ISSOCK(mode);
}

/* cp's copy_as_regular: without -R every file is read; with -R only under
   --copy-contents, and never a socket (it cannot be opened). */
bool cp_copy_as_regular(mode_t mode)
{
	return (!O.recursive || O.copy_contents) && !S_ISSOCK(mode);
}

static int make_node(struct job *j, const char *name, void *arg)
{
	(void)arg;
	const struct stat *st = &j->st;
	mode_t perm = st->st_mode & 07777;
	/* the owner may change: nobody else gets in before it has */
	if (O.preserve & P_OWNER)
		perm &= ~(mode_t)(S_IRWXG | S_IRWXO);
	if (mknodat(j->ddir, name, (st->st_mode & S_IFMT) | perm, st->st_rdev) < 0) {
		int e = errno;
		if (!S_ISFIFO(st->st_mode) || mkfifoat(j->ddir, name, perm) < 0)
			return -e;
	}
	/* attributes before it gets its name */
	mode_t m = st->st_mode & 07777;
	int r = 0;
	if ((O.preserve & P_OWNER) && fchownat(j->ddir, name, st->st_uid, st->st_gid,
					       AT_SYMLINK_NOFOLLOW) < 0) {
		(void)fchownat(j->ddir, name, (uid_t)-1, st->st_gid, AT_SYMLINK_NOFOLLOW);
		m &= ~(mode_t)(S_ISUID | S_ISGID | S_ISVTX);
	}
	if (O.preserve & P_MODE)
		r = fchmodat(j->ddir, name, m, 0);
	else if (O.no_preserve_mode)
		r = fchmodat(j->ddir, name, (S_ISSOCK(st->st_mode) ? 0777 : 0666) & ~O.umask, 0);
	else if (O.preserve & P_OWNER)
		r = fchmodat(j->ddir, name, m & ~O.umask, 0); /* what was left out above */
	if (r == 0 && (O.preserve & P_TIME)) {
		struct timespec ts[2] = {st->st_atim, st->st_mtim};
		r = utimensat(j->ddir, name, ts, AT_SYMLINK_NOFOLLOW);
	}
	if (r < 0) {
		r = -errno;
		unlinkat(j->ddir, name, 0);
		return r == -EEXIST ? -EIO : r; /* EEXIST means "try another name" */
	}
	return 0;
}

int cp_special(struct job *j)
{
	struct stat ds;
	bool exists = false;
	if (!j->dst_fresh) {
		if (fstatat(j->ddir, j->dname, &ds, AT_SYMLINK_NOFOLLOW) == 0)
			exists = true;
		else if (errno != ENOENT) {
			cp_err(errno, "cannot stat", j->dpath);
			S.failed = true;
			return -1;
		}
	}
	if (exists) {
		if (ds.st_dev == j->st.st_dev && ds.st_ino == j->st.st_ino) {
			cp_msg("'%s' and '%s' are the same file", j->spath, j->dpath);
			S.failed = true;
			return -1;
		}
		if (S_ISDIR(ds.st_mode)) {
			cp_msg("cannot overwrite directory '%s' with non-directory", j->dpath);
			S.failed = true;
			return -1;
		}
		if (O.noclobber)
			return 0;
		if (dest_update_skips(&ds, &j->st))
			return 0;
		if (O.interactive && !dest_ask(j->dpath, &ds))
			return 0;
		j->backup = O.backup != BACKUP_NONE;
	}
	char bk[4096];
	int r = backup_first(j, bk, sizeof bk);
	if (r < 0)
		return r;
	if (exists && O.attr_only && !O.remove_dest)
		r = -EEXIST; /* cp: no data to copy, so the old file is not removed */
	else
		r = exists ? cp_replace_with(j, make_node, NULL) : make_node(j, j->dname, NULL);
	if (r < 0) {
		cp_err(-r, S_ISFIFO(j->st.st_mode) ? "cannot create fifo" : "cannot create special file",
		       j->dpath);
		S.failed = true;
		return r;
	}
	j->made = true;
	if (O.verbose)
		cp_verbose(j, exists && O.remove_dest, bk);
	return 0;
}
