/* SPDX-License-Identifier: MIT */
/*
 * urt-cp: what cp's options do to an existing destination before a copy
 * takes its name: backups (-b, --backup=CONTROL, -S, VERSION_CONTROL) and
 * the question of -i.
 *
 * A backup is made when the copy is complete, just before the copy is
 * renamed over the destination, and where it can be, as a hard link: the
 * destination name never goes missing (cp renames the destination aside
 * first and copies after, so a failed copy leaves no destination, only its
 * backup; here a failed copy leaves both as they were). Where a link is
 * refused (no hard links on the file system, protected_hardlinks), the
 * destination is renamed aside as cp does, and the copy is renamed in
 * right after.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"
#include "dest.h"

/* The highest N of the numbered backups "name.~N~" in ddir (0: none). */
static unsigned long highest_numbered(int ddir, const char *name)
{
	int fd = openat(ddir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	DIR *dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return 0;
	}
	size_t len = strlen(name);
	unsigned long best = 0;
	struct dirent *e;
	while ((e = readdir(dir))) {
		const char *s = e->d_name;
		if (strncmp(s, name, len) || strncmp(s + len, ".~", 2))
			continue;
		s += len + 2;
		if (*s < '1' || *s > '9')
			continue;
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end[0] == '~' && !end[1] && v > best)
			best = v;
	}
	closedir(dir);
	return best;
}

/* The backup's name for (ddir, name) under O.backup. */
static int backup_name(int ddir, const char *name, char *out, size_t n, bool *numbered)
{
	unsigned long hi = O.backup == BACKUP_SIMPLE ? 0 : highest_numbered(ddir, name);
	*numbered = O.backup == BACKUP_NUMBERED || (O.backup == BACKUP_EXISTING && hi);
	int k = *numbered ? snprintf(out, n, "%s.~%lu~", name, hi + 1)
			  : snprintf(out, n, "%s%s", name, O.suffix);
	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

bool dest_backup_is_src(const struct job *j)
{
	char name[4096];
	bool numbered;
	if (O.backup == BACKUP_NUMBERED ||
	    backup_name(j->ddir, j->dname, name, sizeof name, &numbered) < 0 || numbered)
		return false;
	struct stat b;
	return fstatat(j->ddir, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       b.st_dev == j->st.st_dev && b.st_ino == j->st.st_ino;
}

int dest_backup(struct job *j, char *made, size_t n)
{
	char name[4096], tmp[64];
	bool numbered;
	int r;
	for (int tries = 0; tries < 100; tries++) {
		if ((r = backup_name(j->ddir, j->dname, name, sizeof name, &numbered)) < 0)
			return r;
		/* a link: the destination stays where it is until the copy replaces it */
		if (linkat(j->ddir, j->dname, j->ddir, name, 0) == 0)
			goto done;
		r = -errno;
		if (r == -ENOENT)
			return 0; /* nothing there any more: nothing to back up */
		if (r == -EEXIST && numbered)
			continue; /* another cp took that number: the next */
		if (r == -EEXIST) {
			/* simple backups replace the old one: link aside, rename over */
			snprintf(tmp, sizeof tmp, ".urt-cp.%d.b%d", (int)getpid(), tries);
			if (linkat(j->ddir, j->dname, j->ddir, tmp, 0) < 0) {
				r = -errno;
				if (r == -EEXIST)
					continue;
				break;
			}
			if (renameat(j->ddir, tmp, j->ddir, name) < 0) {
				r = -errno;
				unlinkat(j->ddir, tmp, 0);
				return r;
			}
			goto done;
		}
		break; /* no hard link here: rename it aside, as cp does */
	}
	if (renameat2(j->ddir, j->dname, j->ddir, name, numbered ? RENAME_NOREPLACE : 0) < 0)
		return errno == ENOENT ? 0 : -errno;
done:
	if (made) {
		const char *slash = strrchr(j->dpath, '/');
		int dl = slash ? (int)(slash - j->dpath + 1) : 0;
		snprintf(made, n, "%.*s%s", dl, j->dpath, name);
	}
	return 0;
}

bool dest_ask(const char *dpath, const struct stat *st)
{
	if (!S_ISLNK(st->st_mode) && faccessat(AT_FDCWD, dpath, W_OK, AT_EACCESS) < 0 &&
	    errno == EACCES) {
		char perms[11];
		static const char rwx[] = "rwxrwxrwx";
		perms[0] = S_ISREG(st->st_mode) ? '-' : S_ISDIR(st->st_mode) ? 'd' : '?';
		for (int i = 0; i < 9; i++)
			perms[i + 1] = st->st_mode & (0400 >> i) ? rwx[i] : '-';
		perms[10] = 0;
		fprintf(stderr, "%s: replace '%s', overriding mode %04o (%s)? ", cp_prog, dpath,
			(unsigned)(st->st_mode & 07777), perms);
	} else {
		fprintf(stderr, "%s: overwrite '%s'? ", cp_prog, dpath);
	}
	fflush(stderr);
	/* blocking: -i copies on one loop, one question at a time (main.c) */
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	bool yes = n > 0 && (line[0] == 'y' || line[0] == 'Y');
	free(line);
	return yes;
}

void cp_verbose(const struct job *j, bool removed, const char *backup)
{
	/* one printf: copies on other loops print at the same time */
	char line[3 * 4096 + 64];
	int n = 0;
	if (removed)
		n = snprintf(line, sizeof line, "removed '%s'\n", j->dpath);
	if (n >= 0 && (size_t)n < sizeof line)
		n += snprintf(line + n, sizeof line - (size_t)n, "'%s' -> '%s'", j->spath, j->dpath);
	if (n >= 0 && (size_t)n < sizeof line && backup && *backup)
		n += snprintf(line + n, sizeof line - (size_t)n, " (backup: '%s')", backup);
	printf("%s\n", line);
}

char *dest_backup_path(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char *dir = slash ? strndup(path, (size_t)(slash - path + 1)) : strdup(".");
	if (!dir)
		return NULL;
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	char name[4096];
	bool numbered;
	char *out = NULL;
	if (dfd >= 0 && backup_name(dfd, base, name, sizeof name, &numbered) == 0 &&
	    (out = malloc(strlen(path) + strlen(name) + 2)))
		sprintf(out, "%.*s%s", (int)(base - path), path, name);
	if (dfd >= 0)
		close(dfd);
	free(dir);
	return out;
}

bool dest_update_skips(const struct stat *dst, const struct stat *src)
{
	return O.update && (dst->st_mtim.tv_sec > src->st_mtim.tv_sec ||
			    (dst->st_mtim.tv_sec == src->st_mtim.tv_sec &&
			     dst->st_mtim.tv_nsec >= src->st_mtim.tv_nsec));
}
