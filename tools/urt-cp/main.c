/* SPDX-License-Identifier: MIT */
/*
 * urt-cp: copy files and trees with many files and many chunks in flight.
 * Options, operands, signals and the exit status; see walk.c for the walk
 * and copyfile.c for how each file is copied without losing data.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "tool.h"
#include "cp.h"
#include "dest.h"

struct cp_opts O = {.progress = -1, .jobs = 64, .depth = 4, .chunk = 1 << 20};
struct cp_stats S;

/* Messages start with the name we were run as (cp's style: "cp: ..." when
   installed or linked as cp), set from argv[0] in main. */
static const char *prog = "urt-cp";
const char *cp_prog = "urt-cp";

/* Usage errors exit 1, as cp's do (not the other tools' 2). */
#define CP_EXIT_USAGE 1

void cp_err(int err, const char *what, const char *path)
{
	fprintf(stderr, "%s: %s '%s': %s\n", prog, what, path, strerror(err));
}

/* One fprintf per message: copies on other loops report at the same time,
   and stderr's lock is held per call, so lines never interleave. */
void cp_msg(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, line);
}


static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... [-T] SRC DST\n"
		"  or:  %s [OPTION]... SRC... DIR\n"
		"  or:  %s [OPTION]... -t DIR SRC...\n"
		"Copy files and directory trees, many files and chunks at once (io_uring).\n"
		"\n"
		"  -a, --archive         same as -dR --preserve=all\n"
		"      --attributes-only  copy only the attributes, not the data\n"
		"      --backup[=CONTROL] make a backup of each existing destination:\n"
		"                        none/off, numbered/t, existing/nil, simple/never\n"
		"                        (default: $VERSION_CONTROL, else existing)\n"
		"  -b                    like --backup, without an argument\n"
		"      --copy-contents   with -R, copy the contents of special files\n"
		"  -d                    same as --no-dereference --preserve=links\n"
		"  -f, --force           if a destination cannot be opened, replace it\n"
		"  -i, --interactive     ask before overwriting (the last of -i, -n wins)\n"
		"  -l, --link            hard-link files instead of copying\n"
		"      --parents         use the source's path under DIR\n"
		"      --remove-destination  replace each existing destination by a new\n"
		"                        file (never write into it)\n"
		"  -s, --symbolic-link   make symbolic links instead of copying\n"
		"  -S, --suffix=SUFFIX   backup suffix (default: $SIMPLE_BACKUP_SUFFIX, ~)\n"
		"      --strip-trailing-slashes  remove trailing slashes from SRC\n"
		"  -x, --one-file-system stay on the file systems of the SRC operands\n"
		"  -Z, --context[=CTX]   ignored (no SELinux support; CTX: a warning)\n"
		"  -r, -R, --recursive   copy directories recursively\n"
		"  -p                    same as --preserve=mode,ownership,timestamps\n"
		"      --preserve[=LIST] keep the attributes in LIST (default:\n"
		"                        mode,ownership,timestamps); also: links (hard\n"
		"                        links between copied files stay links), xattr,\n"
		"                        all. (context: refused, no SELinux support)\n"
		"      --no-preserve=LIST  do not keep them\n"
		"  -L, --dereference     always follow symbolic links in SRC\n"
		"  -P, --no-dereference  never follow symbolic links in SRC\n"
		"  -H                    follow symbolic links given on the command line\n"
		"                        (default: follow them on the command line unless -r)\n"
		"  -n, --no-clobber      do not overwrite existing files (no -b with -n)\n"
		"  -u, --update          copy only when SRC is newer than DST or DST is missing\n"
		"  -t, --target-directory=DIR  copy all SRC into DIR\n"
		"  -T, --no-target-directory   treat DST as a normal file\n"
		"      --sparse=WHEN     holes in DST: auto (where SRC has them), always\n"
		"                        (also for runs of zeros), never\n"
		"      --reflink[=WHEN]  share data blocks (btrfs, xfs): auto (the default:\n"
		"                        where possible), always (fail otherwise), never (also\n"
		"                        no copy_file_range)\n"
		"  -v, --verbose         print each file copied\n"
		"      --progress        show progress on stderr (default: if a terminal;\n"
		"                        elsewhere plain lines, no \\r or escape codes)\n"
		"      --no-progress     never show it\n"
		"  -j, --jobs N          files in flight (default 64), on all threads together\n"
		"      --threads N       loops (one thread each) that copy a tree or several\n"
		"                        files (default: one per CPU this process may run\n"
		"                        on; at most -j); a single file always uses one\n"
		"      --queue-depth N   read/write chunks in flight per large file (default 4;\n"
		"                        copy_file_range keeps one: more only contend on the\n"
		"                        destination inode lock)\n"
		"      --chunk-size N    bytes per chunk, K/M suffixes (default 1M)\n"
		"      --direct          use O_DIRECT (bypass the page cache)\n"
		"      --verify          read source and copy back and compare them\n"
		"      --sync            fsync each file before it gets its name, and the\n"
		"                        directories that got new entries\n"
		"      --help            show this help\n"
		"      --version         show the version\n"
		"\n", prog, prog, prog);
	/* two calls: one literal would pass the 4095 bytes C99 promises */
	fprintf(f,
		"Data: a reflink where the filesystems can share blocks, else\n"
		"copy_file_range for files over one chunk, else reads and writes\n"
		"(always with --direct or --verify). Memory: buffers of at most\n"
		"jobs x chunk-size bytes for files of up to one chunk, plus 4 x\n"
		"queue-depth x chunk-size for the (at most 4) larger files in flight:\n"
		"80 MiB with the defaults, of which a small file touches only its size.\n"
		"\n"
		"A new file is written under a temporary name (or none, O_TMPFILE) in\n"
		"its destination directory and named when complete: a failed or\n"
		"interrupted copy never leaves a partial file.\n"
		"Overwriting, where this differs from cp: an existing regular file\n"
		"with one link and no xattrs is replaced atomically by a new inode that\n"
		"gets its owner, group and mode, so a failed copy (disk full, SIGINT)\n"
		"leaves it whole where cp leaves it truncated; its inode number\n"
		"changes. Every other destination is written through as cp does: files\n"
		"with more links or xattrs, symlinks (a dangling one is refused), device\n"
		"nodes and FIFOs, and files whose directory is not writable.\n"
		"Exit status: 0 if all went well, 1 if any file failed or for usage\n"
		"errors, 130 if interrupted.\n");
}

static int try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", prog);
	return CP_EXIT_USAGE;
}

/* Option values through the tools' shared parser (tools/common/tool.h): digits
   only, range checked before any cast; one message line, then the hint. */
static int opt_uint(const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;
	if (tool_parse_u64(prog, opt, s, lo, hi, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* cp's "invalid argument" for an option with a fixed set of values. */
static int pick(const char *opt, const char *arg, const char *const *vals, int *out)
{
	for (int i = 0; vals[i]; i++)
		if (!strcmp(arg, vals[i])) {
			*out = i;
			return 0;
		}
	fprintf(stderr, "%s: invalid argument '%s' for '%s'\nValid arguments are:\n", prog, arg, opt);
	for (int i = 0; vals[i]; i++)
		fprintf(stderr, "  - '%s'\n", vals[i]);
	return -1;
}

static int parse_preserve(const char *opt, const char *list, unsigned *out)
{
	static const char *const vals[] = {"mode", "timestamps", "ownership", "links",
					   "context", "xattr", "all", NULL};
	static const unsigned bits[] = {P_MODE, P_TIME, P_OWNER, P_LINKS, 0, P_XATTR,
					P_MODE | P_TIME | P_OWNER | P_LINKS | P_XATTR};
	char *dup = strdup(list), *save = NULL;
	*out = 0;
	for (char *w = strtok_r(dup, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int k;
		if (pick(opt, w, vals, &k) < 0) {
			free(dup);
			return -1;
		}
		if (k == 4 && !strcmp(opt, "--preserve")) {
			cp_msg("cannot preserve security context without an SELinux-enabled kernel");
			free(dup);
			return -2; /* cp: not a usage error, no "Try" line */
		}
		*out |= bits[k];
	}
	free(dup);
	return 0;
}

/*
 * --backup=CONTROL (NULL: -b, or --backup alone: $VERSION_CONTROL, else
 * "existing"), as cp's argmatch reads it: a word, its synonym, or an
 * unambiguous abbreviation of either.
 */
static int parse_backup(const char *arg, int *out)
{
	static const char *const words[] = {"none", "off", "simple", "never", "existing",
					    "nil", "numbered", "t", NULL};
	static const int kinds[] = {BACKUP_NONE, BACKUP_NONE, BACKUP_SIMPLE, BACKUP_SIMPLE,
				    BACKUP_EXISTING, BACKUP_EXISTING, BACKUP_NUMBERED,
				    BACKUP_NUMBERED};
	const char *ctx = "backup type";
	if (!arg) {
		arg = getenv("VERSION_CONTROL");
		ctx = "$VERSION_CONTROL";
		if (!arg || !*arg) {
			*out = BACKUP_EXISTING;
			return 0;
		}
	}
	size_t len = strlen(arg);
	int found = -1;
	bool ambiguous = false;
	for (int i = 0; words[i]; i++) {
		if (strncmp(words[i], arg, len))
			continue;
		if (strlen(words[i]) == len) {
			found = i, ambiguous = false;
			break;
		}
		if (found < 0)
			found = i;
		else if (kinds[found] != kinds[i])
			ambiguous = true;
	}
	if (found >= 0 && !ambiguous && len) {
		*out = kinds[found];
		return 0;
	}
	fprintf(stderr, "%s: %s argument '%s' for '%s'\nValid arguments are:\n", prog,
		found >= 0 && len ? "ambiguous" : "invalid", arg, ctx);
	for (int i = 0; words[i]; i += 2)
		fprintf(stderr, "  - '%s', '%s'\n", words[i], words[i + 1]);
	return -1;
}

struct run_args {
	char **srcs;
	int nsrc;
	const char *dst;
	bool into_dir;
	int sigfd;
	unsigned loops;  /* urt_run_loops' loops; 1: urt_run */
	bool started;    /* cp_main ran */
};

/* Turns SIGINT/SIGTERM/SIGHUP (blocked, read via signalfd) into a cancel. */
static int watcher(void *arg)
{
	urt_task *main_task = arg;
	struct signalfd_siginfo si;
	int fd = *(int *)urt_local_get(0);
	ssize_t r = urt_read(fd, &si, sizeof si, -1);
	if (r == (ssize_t)sizeof si) {
		S.interrupted = true;
		urt_cancel(main_task);
	}
	return 0;
}

/*
 * The walk: operands, then the wait for every copy. It recurses once per
 * directory level, so it runs on a stack of its own (WALK_STACK), not the
 * loop's default one that the copy jobs use: with the default at 1 MiB,
 * the first stack slab alone reserved 64 MiB of address space.
 */
#define WALK_STACK (1u << 20)

static int walk_main(void *arg)
{
	struct run_args *a = arg;
	progress_start();
	cp_loops_start(a->loops);
	for (int i = 0; i < a->nsrc && !S.interrupted; i++)
		if (cp_operand(a->srcs[i], a->dst, a->into_dir) == -ECANCELED)
			break;
	cp_loops_stop();
	cp_wait_all();
	cp_parents_finish();
	progress_stop();
	return 0;
}

static int cp_main(void *arg)
{
	struct run_args *a = arg;
	a->started = true;
	urt_local_set(0, &a->sigfd);
	struct urt_spawn_attr wa = {.name = "walk", .stack_size = WALK_STACK};
	urt_task *walker = urt_spawn_attr(&wa, walk_main, a);
	if (!walker) {
		cp_msg("out of memory");
		return 1;
	}
	urt_task *w = a->sigfd >= 0 ? urt_spawn(watcher, walker) : NULL;
	/* a cancel of the walker (SIGINT) ends its waits early; it still
	   waits for every copy before it returns */
	while (urt_join(walker, NULL) == -ECANCELED)
		;
	if (w) {
		urt_cancel(w);
		urt_join(w, NULL);
	}
	if (S.interrupted) {
		cp_msg("interrupted");
		return 130;
	}
	return S.failed ? 1 : 0;
}

/*
 * A small address space limit (ulimit -v; coreutils' link-heap.sh runs cp
 * -al under 50 MB): copy on one loop, whatever the tree. More loops cost
 * a thread each (an 8 MiB stack mapping by default), a ring and a stack
 * slab, and glibc gives each thread that allocates an arena of its own,
 * 64 MiB of address space: with one arena (M_ARENA_MAX) and one loop a
 * tree needs about what a single file needs. Without such a limit
 * nothing changes: these reservations cost no memory, and the loops and
 * arenas are what make a tree copy fast.
 */
#define LOW_AS_LIMIT (1ull << 30)

static bool low_address_space(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_AS, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= LOW_AS_LIMIT)
		return false;
	mallopt(M_ARENA_MAX, 1);
	/* threads that do start (the epoll backend's file-op workers, the
	   executor's) run system calls, not tasks: 256 KiB of stack, not
	   RLIMIT_STACK's 8 MiB */
	pthread_attr_t ta;
	if (pthread_attr_init(&ta) == 0) {
		if (pthread_attr_setstacksize(&ta, 256 * 1024) == 0)
			pthread_setattr_default_np(&ta);
		pthread_attr_destroy(&ta);
	}
	return true;
}

extern cpu_set_t cp_all_cpus;
extern bool cp_all_cpus_set;

/* The CPUs this process may run on, for pinning the loops (cp_pin_loop). */
static cpu_set_t allowed;
static bool pin_loops;

/*
 * Loops for a tree or several operands: --threads, by default one per CPU
 * this process may run on (taskset and cpusets count, not the machine's
 * CPUs), never more than -j (each loop copies at least one file at a
 * time). One file has one destination inode, whose writes serialize: it
 * stays on one loop.
 */
static unsigned tree_loops(void)
{
	unsigned n = O.threads, cpus = 0;
	if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
		cpus = (unsigned)CPU_COUNT(&allowed);
	if (!n)
		n = cpus ? cpus : 1;
	n = n < O.jobs ? n : O.jobs;
	/* URTCP_PIN=0 leaves the loops unpinned (for measuring) */
	const char *pin = getenv("URTCP_PIN");
	pin_loops = n > 1 && cpus && (!pin || atoi(pin));
	if (pin_loops) {
		cp_all_cpus = allowed; /* executor threads unpin themselves (cfr_fn) */
		cp_all_cpus_set = true;
	}
	/* every CPU runs a loop: small files are copied on it (copyfile.c) */
	O.cfr_small = n > 1 && cpus && n >= cpus;
	return n;
}

/*
 * Pin the calling loop's thread, loop i of a tree copy, to the i-th CPU we
 * may run on (modulo their number). Not URT_LOOPS_PIN: it pins loop i to
 * CPU i of the machine, also outside a taskset or cpuset that excludes it.
 * The io-wq workers a pinned loop starts inherit its CPU (Linux 6.18 here),
 * so the write of a buffer runs on the CPU whose cache the read just
 * filled, as for one large file (see main); unpinned, a tree copy took
 * ~8% longer (bench/RESULTS.md, issue 14). Executor threads unpin
 * themselves (cfr_fn).
 */
void cp_pin_loop(unsigned i)
{
	if (!pin_loops)
		return;
	unsigned k = i % (unsigned)CPU_COUNT(&allowed);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || k--)
			continue;
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		sched_setaffinity(0, sizeof one, &one); /* best effort */
		return;
	}
}

int main(int argc, char **argv)
{
	enum { OPT_PROGRESS = 256, OPT_NO_PROGRESS, OPT_QD, OPT_CHUNK, OPT_DIRECT, OPT_VERIFY,
	       OPT_SYNC, OPT_HELP, OPT_VERSION, OPT_PRESERVE, OPT_NO_PRESERVE, OPT_SPARSE,
	       OPT_REFLINK, OPT_THREADS, OPT_BACKUP, OPT_REMOVE_DEST, OPT_ATTR_ONLY,
	       OPT_COPY_CONTENTS, OPT_PARENTS, OPT_STRIP_SLASHES };
	static const struct option longopts[] = {
		{"archive", no_argument, NULL, 'a'},
		{"attributes-only", no_argument, NULL, OPT_ATTR_ONLY},
		{"backup", optional_argument, NULL, OPT_BACKUP},
		{"copy-contents", no_argument, NULL, OPT_COPY_CONTENTS},
		{"force", no_argument, NULL, 'f'},
		{"interactive", no_argument, NULL, 'i'},
		{"link", no_argument, NULL, 'l'},
		{"one-file-system", no_argument, NULL, 'x'},
		{"parents", no_argument, NULL, OPT_PARENTS},
		{"path", no_argument, NULL, OPT_PARENTS}, /* cp: deprecated --parents */
		{"remove-destination", no_argument, NULL, OPT_REMOVE_DEST},
		{"strip-trailing-slashes", no_argument, NULL, OPT_STRIP_SLASHES},
		{"suffix", required_argument, NULL, 'S'},
		{"symbolic-link", no_argument, NULL, 's'},
		{"context", optional_argument, NULL, 'Z'},
		{"recursive", no_argument, NULL, 'r'},
		{"preserve", optional_argument, NULL, OPT_PRESERVE},
		{"no-preserve", required_argument, NULL, OPT_NO_PRESERVE},
		{"dereference", no_argument, NULL, 'L'},
		{"no-dereference", no_argument, NULL, 'P'},
		{"no-clobber", no_argument, NULL, 'n'},
		{"update", no_argument, NULL, 'u'},
		{"target-directory", required_argument, NULL, 't'},
		{"no-target-directory", no_argument, NULL, 'T'},
		{"sparse", required_argument, NULL, OPT_SPARSE},
		{"reflink", optional_argument, NULL, OPT_REFLINK},
		{"verbose", no_argument, NULL, 'v'},
		{"jobs", required_argument, NULL, 'j'},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
		{"queue-depth", required_argument, NULL, OPT_QD},
		{"chunk-size", required_argument, NULL, OPT_CHUNK},
		{"direct", no_argument, NULL, OPT_DIRECT},
		{"verify", no_argument, NULL, OPT_VERIFY},
		{"sync", no_argument, NULL, OPT_SYNC},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	static const char *const sparse_vals[] = {"auto", "always", "never", NULL};
	static const char *const reflink_vals[] = {"auto", "always", "never", NULL};
	const char *target_dir = NULL;
	bool no_target_dir = false, make_backups = false;
	const char *backup_arg = NULL;
	unsigned pbits;
	int c, k;
	if (argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		prog = cp_prog = slash ? slash + 1 : argv[0];
	}
	argv[0] = (char *)prog; /* getopt's messages: "cp: ...", as cp's */
	while ((c = getopt_long(argc, argv, "abdfHilLnprsS:uvxj:t:TPRZ", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': O.force = true; break;
		case 'i': O.interactive = true, O.noclobber = false; break;
		case 'n': O.noclobber = true, O.interactive = false; break;
		case OPT_REMOVE_DEST: O.remove_dest = true; break;
		case 'b':
		case OPT_BACKUP:
			make_backups = true;
			if (optarg)
				backup_arg = optarg;
			break;
		case 'S':
			make_backups = true;
			O.suffix = optarg;
			break;
		case 'l': O.hardlink = true; break;
		case 's': O.symlink = true; break;
		case 'x': O.one_fs = true; break;
		case OPT_ATTR_ONLY: O.attr_only = true; break;
		case OPT_COPY_CONTENTS: O.copy_contents = true; break;
		case OPT_PARENTS: O.parents = true; break;
		case OPT_STRIP_SLASHES: O.strip_slashes = true; break;
		case 'Z':
			/* as cp without SELinux: -Z is ignored, a context named is
			   ignored with a warning (urt-cp never sets contexts) */
			if (optarg)
				cp_msg("warning: ignoring --context; it requires an SELinux-enabled kernel");
			break;
		case 'a':
			O.recursive = true;
			O.deref = 'P';
			O.preserve |= P_MODE | P_TIME | P_OWNER | P_LINKS | P_XATTR;
			break;
		case 'd':
			O.deref = 'P';
			O.preserve |= P_LINKS;
			break;
		case 'r': case 'R': O.recursive = true; break;
		case 'p': O.preserve |= P_MODE | P_OWNER | P_TIME; break;
		case OPT_PRESERVE:
			if (!optarg) {
				O.preserve |= P_MODE | P_OWNER | P_TIME;
			} else {
				int pr = parse_preserve("--preserve", optarg, &pbits);
				if (pr < 0)
					return pr == -2 ? 1 : try_help();
				O.preserve |= pbits;
			}
			break;
		case OPT_NO_PRESERVE:
			if (parse_preserve("--no-preserve", optarg, &pbits) < 0)
				return try_help();
			O.preserve &= ~pbits;
			if (pbits & P_MODE) /* cp: new files 0666, dirs 0777, less the umask */
				O.no_preserve_mode = true;
			break;
		case 'L': case 'P': case 'H': O.deref = c; break;
		case 'u': O.update = true; break;
		case 'v': O.verbose = true; break;
		case 't': target_dir = optarg; break;
		case 'T': no_target_dir = true; break;
		case OPT_SPARSE:
			if (pick("--sparse", optarg, sparse_vals, &k) < 0)
				return try_help();
			O.sparse = k;
			break;
		case OPT_REFLINK:
			k = REFLINK_ALWAYS; /* cp: plain --reflink is --reflink=always */
			if (optarg && pick("--reflink", optarg, reflink_vals, &k) < 0)
				return try_help();
			O.reflink = k;
			break;
		case 'j':
			if (opt_uint("-j", optarg, 1, 4096, &O.jobs) < 0)
				return try_help();
			break;
		case OPT_THREADS:
			if (opt_uint("--threads", optarg, 1, 1024, &O.threads) < 0)
				return try_help();
			break;
		case OPT_QD:
			if (opt_uint("--queue-depth", optarg, 1, 256, &O.depth) < 0)
				return try_help();
			break;
		case OPT_CHUNK:
		{
			uint64_t v;
			if (tool_parse_size(prog, "--chunk-size", optarg, 4096, 1u << 30, &v) < 0)
				return try_help();
			if (v % 4096) {
				cp_msg("invalid value '%s' for --chunk-size: expected a multiple of 4K", optarg);
				return try_help();
			}
			O.chunk = (size_t)v;
		}
			break;
		case OPT_PROGRESS: O.progress = 1; break;
		case OPT_NO_PROGRESS: O.progress = 0; break;
		case OPT_DIRECT: O.direct = true; break;
		case OPT_VERIFY: O.verify = true; break;
		case OPT_SYNC: O.sync = true; break;
		case OPT_HELP: usage(stdout); return 0;
		case OPT_VERSION: printf("urt-cp (urt) %s\n", URT_VERSION_STRING); return 0;
		default:
			return try_help();
		}
	}
	/* cp: with -l and none of -H -L -P, symlinks are followed, also
	   with -R (hard links to what they point to) */
	if (O.hardlink && !O.deref)
		O.deref = 'L';
	if (O.hardlink && O.symlink) {
		cp_msg("cannot make both hard and symbolic links");
		return try_help();
	}
	if (make_backups && O.noclobber) {
		cp_msg("options --backup and --no-clobber are mutually exclusive");
		return try_help();
	}
	if (make_backups && parse_backup(backup_arg, &O.backup) < 0)
		return try_help();
	if (O.backup != BACKUP_NONE) {
		if (!O.suffix)
			O.suffix = getenv("SIMPLE_BACKUP_SUFFIX");
		/* cp: a suffix with a slash (or none) is "~" */
		if (!O.suffix || !*O.suffix || strchr(O.suffix, '/'))
			O.suffix = "~";
	}
	if (O.reflink == REFLINK_ALWAYS && O.sparse != SPARSE_AUTO) {
		cp_msg("--reflink can be used only with --sparse=auto");
		return try_help();
	}
	if (target_dir && no_target_dir) {
		cp_msg("cannot combine --target-directory (-t) and --no-target-directory (-T)");
		return try_help();
	}
	int nops = argc - optind;
	if (nops < (target_dir ? 1 : 2)) {
		if (nops)
			cp_msg("missing destination file operand after '%s'", argv[optind]);
		else
			cp_msg("missing file operand");
		return try_help();
	}
	if (no_target_dir && nops > 2) {
		cp_msg("extra operand '%s'", argv[optind + 2]);
		return try_help();
	}
	if (O.progress < 0)
		O.progress = isatty(2);
	const char *e = getenv("URTCP_OFFLOAD"); /* for benchmarking the choice */
	O.offload = e ? atoi(e) : 2;
	O.cfr = !(e = getenv("URTCP_CFR")) || atoi(e); /* URTCP_CFR=0: no copy_file_range */
	if ((e = getenv("URTCP_NO_TMPFILE")) && atoi(e))
		cp_tmpfile_disable(); /* named temporaries + rename, as without O_TMPFILE */
	O.umask = umask(0);
	umask(O.umask);

	struct run_args a = {.srcs = argv + optind, .nsrc = target_dir ? nops : nops - 1,
			     .dst = target_dir ? target_dir : argv[argc - 1]};
	struct stat dst;
	int dst_err = stat(a.dst, &dst) == 0 ? 0 : errno;
	a.into_dir = !no_target_dir && !dst_err && S_ISDIR(dst.st_mode);
	/* --strip-trailing-slashes: "dir/" -> "dir" ("/" stays); as cp, only
	   for sources copied into a directory */
	if (O.strip_slashes && a.into_dir)
		for (int i = 0; i < a.nsrc; i++)
			for (size_t n = strlen(a.srcs[i]); n > 1 && a.srcs[i][n - 1] == '/'; n--)
				a.srcs[i][n - 1] = 0;
	if (O.parents && !a.into_dir) {
		cp_msg("with --parents, the destination must be a directory");
		return try_help();
	}
	if (target_dir && !a.into_dir) {
		if (dst_err)
			cp_err(dst_err, "target directory", a.dst);
		else
			cp_msg("target '%s' is not a directory", a.dst);
		return 1;
	}
	if (a.nsrc > 1 && !a.into_dir) {
		cp_msg("target '%s' is not a directory", a.dst);
		return 1;
	}
	/* cp: "cp --force --backup f f" copies f to its backup's name */
	char *backup_dst = NULL;
	struct stat sst;
	if (O.force && O.backup != BACKUP_NONE && a.nsrc == 1 && !a.into_dir &&
	    !strcmp(a.srcs[0], a.dst) && !dst_err && S_ISREG(dst.st_mode)) {
		char *b = dest_backup_path(a.dst);
		if (!b) {
			cp_msg("out of memory");
			return 1;
		}
		a.dst = backup_dst = b; /* freed at the end */
	}

	/*
	 * One regular file: stay on one CPU. The loop's thread reads a chunk
	 * into a buffer and an io-wq worker writes it out (ext4 cannot write
	 * inline); on two CPUs every buffer then crosses between caches, and
	 * writes to one inode cannot run in parallel anyway. 1 GiB hot: 0.39-0.44
	 * s pinned, 0.51-0.55 s not (good rounds; cp 0.28-0.32 s). Trees keep
	 * all CPUs: there the files' work runs side by side. (copy_file_range
	 * runs on executor threads, which unpin themselves: cp_all_cpus.)
	 */
	const char *pin = getenv("URTCP_PIN");
	if (a.nsrc == 1 && (!pin || atoi(pin)) && stat(a.srcs[0], &sst) == 0 && S_ISREG(sst.st_mode) &&
	    sst.st_size >= (off_t)(2 * O.chunk)) {
		int cpu = sched_getcpu();
		cpu_set_t one;
		CPU_ZERO(&one);
		if (cpu >= 0 && sched_getaffinity(0, sizeof cp_all_cpus, &cp_all_cpus) == 0) {
			cp_all_cpus_set = true;
			CPU_SET(cpu, &one);
			sched_setaffinity(0, sizeof one, &one); /* best effort */
		}
	}
	a.loops = 1;
	bool low_as = low_address_space();
	if (!low_as && !O.interactive && /* -i: one question at a time */
	    (a.nsrc > 1 || (O.recursive && stat(a.srcs[0], &sst) == 0 && S_ISDIR(sst.st_mode))))
		a.loops = tree_loops();
	if (cp_copy_init() < 0) {
		cp_msg("out of memory");
		free(backup_dst);
		return 1;
	}
	tool_raise_nofile();
	/* A file size limit must fail the write (EFBIG), not kill us mid-copy. */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Interrupts arrive through a signalfd read by a task. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	a.sigfd = signalfd(-1, &set, SFD_CLOEXEC);

	/* the walk recurses in the main task: give it room for deep trees */
	/* the default stack is the copy jobs' (64 KiB, from slabs of 64);
	   the walk has one of its own (walk_main) */
	struct urt_options uo = {.sq_entries = 512, .stack_size = 64 * 1024, .flags = URT_OPT_QUIET};
	int r;
	if (a.loops > 1) {
		/* executor threads (copy_file_range of large files) as one loop has
		   them, not divided among the loops; they start only when needed */
		uo.offload_threads = (unsigned)CPU_COUNT(&allowed);
		r = urt_run_loops(a.loops, 0, &uo, cp_main, &a);
		if (r < 0 && !a.started) { /* no threads for the loops: copy on one */
			a.loops = 1;
			uo.offload_threads = 0;
			O.cfr_small = false;
			r = urt_run_opts(&uo, cp_main, &a);
		}
	} else {
		r = urt_run_opts(&uo, cp_main, &a);
	}
	if (r < 0) {
		cp_msg("cannot start the I/O loop: %s", strerror(-r));
		r = 1;
	}
	free(backup_dst);
	fflush(stdout);
	return r;
}
