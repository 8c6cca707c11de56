/* SPDX-License-Identifier: MIT */
/* urt-cp: backups and -i's question (dest.c). */
#ifndef URT_CP_DEST_H
#define URT_CP_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

struct job;

/* Back up the job's existing destination under O.backup's name; the
   backup's path for -v in made (may be NULL). 0 (also when the destination
   has gone meanwhile) or a negative errno. */
int dest_backup(struct job *j, char *made, size_t n);

/* cp's refusal: the backup would replace the source itself (cp --b=simple
   a~ a): a simple backup name that is the source's inode. */
bool dest_backup_is_src(const struct job *j);

/* -i: ask on stderr whether to overwrite dpath (st: what is there), read
   the answer from stdin. True for an answer starting with y or Y. */
bool dest_ask(const char *dpath, const struct stat *st);

/* -u: the destination (dst) is no older than the source (src): keep it. */
bool dest_update_skips(const struct stat *dst, const struct stat *src);

/* The name the backup of path would get now (malloc'ed; NULL: no memory). */
char *dest_backup_path(const char *path);

/* -v's line for a copy made: "removed 'd'" first when the destination was
   removed (--remove-destination), the backup's name when one was made. */
void cp_verbose(const struct job *j, bool removed, const char *backup);

#endif
