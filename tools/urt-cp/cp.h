/* SPDX-License-Identifier: MIT */
/* urt-cp: shared declarations (options, counters, the copy job). */
#ifndef URT_CP_H
#define URT_CP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <urt.h>

/* --preserve=LIST attributes */
#define P_MODE 1u
#define P_OWNER 2u
#define P_TIME 4u
#define P_LINKS 8u
#define P_XATTR 16u

enum { SPARSE_AUTO, SPARSE_ALWAYS, SPARSE_NEVER };
enum { REFLINK_AUTO, REFLINK_ALWAYS, REFLINK_NEVER };

struct cp_opts {
	bool recursive, verbose, noclobber, update, direct, verify, sync;
	unsigned preserve;   /* P_* */
	bool no_preserve_mode; /* --no-preserve=mode: new files 0666, dirs 0777, less the umask */
	int sparse;          /* SPARSE_* */
	int reflink;         /* REFLINK_* */
	int offload;         /* io-wq offload: 0 none, 1 all ops of small files, 2 create/write/link */
	int progress;        /* -1 auto (stderr is a tty), 0 off, 1 on */
	int deref;           /* 0 cp's default, 'L' always follow, 'P' never, 'H' command line only */
	bool cfr;            /* use copy_file_range for large files (URTCP_CFR=0 turns it off) */
	bool cfr_small;      /* and for small hot files, on the loop's thread (a loop per CPU) */
	unsigned jobs;       /* files in flight (all loops together) */
	unsigned threads;    /* --threads: loops for a tree (0: one per CPU we may run on) */
	unsigned depth;      /* chunks in flight per file */
	size_t chunk;        /* bytes per chunk */
	mode_t umask;
	/* what to do with an existing destination (dest.c) */
	bool force;          /* -f: remove a destination that cannot be opened, retry */
	bool interactive;    /* -i: ask before overwriting (the last of -i, -n wins) */
	bool remove_dest;    /* --remove-destination: never write through an old file */
	int backup;          /* BACKUP_*: -b, --backup[=CONTROL] */
	const char *suffix;  /* -S, SIMPLE_BACKUP_SUFFIX, "~" */
	/* what is made instead of a copy, and which files are taken (walk.c) */
	bool hardlink;       /* -l: hard links instead of copies */
	bool symlink;        /* -s: symbolic links instead of copies */
	bool attr_only;      /* --attributes-only: no data */
	bool copy_contents;  /* --copy-contents: read special files when recursive */
	bool one_fs;         /* -x: stay on the source's file systems */
	bool parents;        /* --parents: the source's path under the target directory */
	bool strip_slashes;  /* --strip-trailing-slashes */
};

enum { BACKUP_NONE, BACKUP_SIMPLE, BACKUP_NUMBERED, BACKUP_EXISTING };

/* Updated by the copies of every loop: atomics (a relaxed add would do for
   the counters, but += on an _Atomic is short and they are not hot). */
struct cp_stats {
	_Atomic uint64_t bytes_total, bytes_done; /* regular-file data seen / copied */
	_Atomic uint64_t files_total, files_done;
	_Atomic bool failed;                      /* exit status 1 */
	_Atomic bool interrupted;                 /* SIGINT/SIGTERM: stop */
};

extern struct cp_opts O;
extern struct cp_stats S;

/*
 * A directory being copied. Jobs for its entries hold a reference; when the
 * last one drops (the walk left it and every child finished), its final
 * mode and times are applied and its fds closed.
 */
struct dnode {
	struct dnode *parent;
	_Atomic unsigned refs; /* jobs on any loop drop theirs */
	int sfd, dfd;          /* source and destination directory fds */
	char *spath, *dpath;   /* for messages */
	struct stat st;        /* the source directory */
	bool created;          /* we made the destination: it started empty */
	bool dacl;             /* the destination has a default ACL (-p): new files inherit it */
	struct opdone *op;     /* a command-line operand: settled when all of it is copied */
};

/* One file to copy: (sdir, sname) -> (ddir, dname). */
struct job {
	struct dnode *dir;     /* holds a reference; NULL for command-line operands */
	int sdir, ddir;        /* ddir is always the destination's own directory */
	bool own_ddir;         /* ddir was opened for this job (command-line operand) */
	bool follow;           /* open the source following a symlink */
	bool started;          /* job_main has run */
	const char *sname, *dname;
	char *spath, *dpath;   /* full paths for messages (owned) */
	struct stat st;        /* lstat/stat of the source */
	bool dst_fresh;        /* destination directory was created by us: no stat needed */
	bool made;             /* the copy made its destination (set by copyfile.c) */
	bool backup;           /* back the destination up before the copy takes its name */
	bool seen;             /* an earlier operand made (seen_dev, seen_ino) at dname */
	dev_t seen_dev;
	ino_t seen_ino;
	struct opdone *op;     /* a command-line operand: settled when the job ends */
	char *own_dname;       /* dname when it is not in the job's allocation (owned) */
	urt_task *task;        /* valid while the job is on the live list */
	struct job *prev, *next; /* jobs started and not yet finished */
};

/* walk.c */
int cp_operand(const char *src, const char *dst, bool dst_is_dir_target);
void cp_wait_all(void);
void dnode_put(struct dnode *d);
void cp_loops_start(unsigned n);
void cp_loops_stop(void);

/* copyfile.c */
int cp_regular(struct job *j);
int cp_symlink(struct job *j);
int cp_set_attrs_path(int dfd, const char *name, const struct stat *st, bool nofollow);
int cp_copy_xattrs(int sfd, int dfd);
int cp_set_attrs_fd(int fd, int sfd, const struct stat *st, int mode, bool acl_may,
		    const char *dpath);
bool cp_has_default_acl(int dfd);
void *buf_get(void);
void cp_tmpfile_disable(void);
void buf_put(void *b);
void buf_pool_free(void);
int cp_copy_init(void);

/* links.c: -l, -s */
int cp_hardlink(struct job *j);
int cp_make_symlink(struct job *j);
int backup_first(struct job *j, char *bk, size_t n);
int cp_replace_with(struct job *j, int (*make)(struct job *j, const char *name, void *arg),
		    void *arg);

/* special.c: FIFOs, device nodes and sockets (-R without --copy-contents) */
int cp_special(struct job *j);
bool cp_is_special(mode_t mode);
bool cp_copy_as_regular(mode_t mode);

/* parents.c: --parents */
char *cp_parents_dpath(const char *dst, const char *src);
int cp_parents_make(const char *dst, const char *src, const char *dpath);
void cp_parents_finish(void);

/* util */
void cp_err(int err, const char *what, const char *path);
void cp_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *path_join(const char *a, const char *b);

/* pin.c: where the threads run */
bool cp_pin_wanted(void);       /* URTCP_PIN is not 0 */
int cp_cpu_count(void);         /* the CPUs this process may run on; 0 when unknown */
/* Remember those CPUs (before anything is pinned), for cp_unpin_self. */
bool cp_pin_remember(void);
/* Pin the calling thread to the CPU it is on (cp_pin_remember first). */
void cp_pin_here(void);
/* Back to the remembered CPUs, once per thread (executor threads). */
void cp_unpin_self(void);

/* options.c: the command line */
struct cp_args {
	const char *target_dir;  /* -t DIR */
	bool no_target_dir;      /* -T */
	/* the operands (cp_operands) */
	char **srcs;             /* in argv */
	int nsrc;
	const char *dst;
	bool into_dir;           /* copy into dst (a directory) */
};
/* The options into O and *a (optind is then the first operand). Returns -1
   to go on, else the exit status (--help, --version, or a usage error after
   its message). */
int cp_options(int argc, char **argv, struct cp_args *a);
/* The operands from argv[optind] on (after cp_options): sources and
   destination into *a, as cp reads them. Returns -1 to go on, else the
   exit status after a message. *backup_dst is the destination when it was
   made up here (the caller frees it). */
int cp_operands(int argc, char **argv, struct cp_args *a, char **backup_dst);
/* "Try ... --help" on stderr; returns the usage error's exit status. */
int cp_try_help(void);

/* state.c */
extern const char *cp_prog; /* the name we were run as: messages start with it */

/* progress.c */
void progress_start(void);
void progress_stop(void);

#endif
