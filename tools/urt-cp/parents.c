/* SPDX-License-Identifier: MIT */
/*
 * --parents: SRC is copied to DIR/SRC, the directories of SRC's path made
 * under DIR as needed, as GNU cp's make_dir_parents_private and
 * re_protect do. A directory made is first closed to group and others
 * where its owner or mode will change (-p), and always u+rwx, so that
 * nobody gets in and we can fill it; its final owner, mode and times (with
 * -p, also those of directories that were there already) are set when
 * every copy is done (cp_parents_finish; cp does it per operand, after
 * its copy: here copies run at once, and the end is the first moment
 * nothing more is written into them).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"

struct pdir {
	struct pdir *next;
	struct stat st;    /* the source directory (st_mode: the mode to restore) */
	bool restore_mode; /* without -p: the mode mkdir could not give it */
	char path[];       /* the destination directory */
};

static struct pdir *pdirs, **pdirs_tail = &pdirs;

/* path without trailing slashes (malloc'ed) */
static char *no_trailing(const char *p)
{
	char *s = path_join("", p);
	for (size_t n = strlen(s); n > 1 && s[n - 1] == '/'; n--)
		s[n - 1] = 0;
	return s;
}

char *cp_parents_dpath(const char *dst, const char *src)
{
	char *s = no_trailing(src);
	const char *rel = s;
	while (*rel == '/')
		rel++;
	char *d = path_join(dst, rel);
	free(s);
	return d;
}

static void pdir_add(const char *path, const struct stat *st, bool restore)
{
	size_t n = strlen(path) + 1;
	struct pdir *p = malloc(sizeof *p + n);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", cp_prog);
		exit(1);
	}
	p->next = NULL;
	p->st = *st;
	p->restore_mode = restore;
	memcpy(p->path, path, n);
	*pdirs_tail = p;
	pdirs_tail = &p->next;
}

/*
 * Make the directories above DIR/SRC (dpath). 0, or -1 (reported): then
 * SRC is not copied.
 */
int cp_parents_make(const char *dst, const char *src, const char *dpath)
{
	(void)dpath;
	char *s = no_trailing(src);
	char *last = strrchr(s, '/');
	int ret = 0;
	if (!last || last == s) {
		free(s); /* no directory above it (or only "/") */
		return 0;
	}
	*last = 0; /* s: the directories, as given */
	const char *rel = s;
	while (*rel == '/')
		rel++;
	char *dd = path_join(dst, rel);
	struct stat st;
	bool all_there = stat(dd, &st) == 0;
	free(dd);
	if (all_there) {
		/* cp: then nothing is made, and no attributes set */
		free(s);
		return 0;
	}
	bool keep = O.preserve & (P_OWNER | P_MODE | P_TIME);
	struct pdir **mark = pdirs_tail; /* this operand's directories follow */
	for (char *slash = s + (rel - s);; slash++) {
		slash = strchr(slash, '/');
		if (slash)
			*slash = 0;
		char *dp = path_join(dst, rel); /* s up to here, under dst */
		bool missing = stat(dp, &st) != 0;
		struct stat sst;
		if (missing || keep) {
			int e = stat(s, &sst) != 0 ? errno : S_ISDIR(sst.st_mode) ? 0 : ENOTDIR;
			if (e) {
				cp_err(e, "failed to get attributes of", s);
				free(dp);
				ret = -1;
				break;
			}
		}
		if (missing) {
			mode_t sm = sst.st_mode & 07777;
			mode_t omitted = sm & ((O.preserve & P_OWNER) ? S_IRWXG | S_IRWXO
					       : (O.preserve & P_MODE) ? S_IWGRP | S_IWOTH
								      : 0);
			mode_t mk = (O.no_preserve_mode ? 0777 : sm) & ~omitted;
			struct stat ds;
			if (mkdir(dp, mk) < 0) {
				cp_err(errno, "cannot make directory", dp);
				free(dp);
				ret = -1;
				break;
			}
			if (O.verbose)
				printf("%s -> %s\n", s, dp);
			if (stat(dp, &ds) < 0) {
				cp_err(errno, "failed to get attributes of", dp);
				free(dp);
				ret = -1;
				break;
			}
			bool restore = false;
			if (!(O.preserve & P_MODE)) {
				if (omitted & ~ds.st_mode)
					omitted &= ~O.umask;
				if ((omitted & ~ds.st_mode) || (ds.st_mode & S_IRWXU) != S_IRWXU) {
					sst.st_mode = (sst.st_mode & S_IFMT) | (ds.st_mode & 07777) | omitted;
					restore = true;
				}
			}
			if ((ds.st_mode | S_IRWXU) != ds.st_mode &&
			    chmod(dp, (ds.st_mode | S_IRWXU) & 07777) < 0) {
				cp_err(errno, "setting permissions for", dp);
				free(dp);
				ret = -1;
				break;
			}
			pdir_add(dp, &sst, restore);
		} else if (!S_ISDIR(st.st_mode)) {
			cp_msg("'%s' exists but is not a directory", dp);
			free(dp);
			ret = -1;
			break;
		} else if (keep) {
			pdir_add(dp, &sst, false);
		}
		free(dp);
		if (!slash)
			break;
		*slash = '/';
	}
	free(s);
	if (ret < 0) {
		/* cp: the operand is not copied, and what was made above it
		   keeps the modes it was made with */
		while (*mark) {
			struct pdir *p = *mark;
			*mark = p->next;
			free(p);
		}
		pdirs_tail = mark;
	}
	return ret;
}

/* After every copy: the directories get their attributes, innermost first. */
void cp_parents_finish(void)
{
	/* reverse: innermost first, as cp's list */
	struct pdir *rev = NULL;
	while (pdirs) {
		struct pdir *p = pdirs;
		pdirs = p->next;
		p->next = rev;
		rev = p;
	}
	pdirs_tail = &pdirs;
	while (rev) {
		struct pdir *p = rev;
		rev = p->next;
		const char *what = NULL;
		struct timespec ts[2] = {p->st.st_atim, p->st.st_mtim};
		mode_t m = p->st.st_mode & 07777;
		if ((O.preserve & P_TIME) && utimensat(AT_FDCWD, p->path, ts, 0) < 0)
			what = "failed to preserve times for";
		if (!what && (O.preserve & P_OWNER) &&
		    lchown(p->path, p->st.st_uid, p->st.st_gid) < 0) {
			if (errno != EPERM && errno != EINVAL)
				what = "failed to preserve ownership for";
			else
				(void)lchown(p->path, (uid_t)-1, p->st.st_gid);
			m &= ~(mode_t)(S_ISUID | S_ISGID | S_ISVTX);
		}
		if (!what && ((O.preserve & P_MODE) || p->restore_mode) && chmod(p->path, m) < 0)
			what = "failed to preserve permissions for";
		if (what) {
			cp_err(errno, what, p->path);
			S.failed = true;
		}
		free(p);
	}
}
