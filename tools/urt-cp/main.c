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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cp.h"
#include "../tool.h"

struct cp_opts O = {.progress = -1, .jobs = 64, .depth = 4, .chunk = 1 << 20};
struct cp_stats S;

static const char *prog = "urt-cp";

void cp_err(int err, const char *what, const char *path)
{
	fprintf(stderr, "%s: %s '%s': %s\n", prog, what, path, strerror(err));
}

void cp_msg(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: urt-cp [OPTION]... SRC DST\n"
		"  or:  urt-cp [OPTION]... SRC... DIR\n"
		"Copy files and directory trees, many files and chunks at once (io_uring).\n"
		"\n"
		"  -r, -R, --recursive   copy directories recursively\n"
		"  -p, --preserve        keep mode, ownership (where permitted) and timestamps\n"
		"  -L, --dereference     always follow symbolic links in SRC\n"
		"  -P, --no-dereference  never follow symbolic links in SRC\n"
		"                        (default: follow them on the command line unless -r)\n"
		"  -n, --no-clobber      do not overwrite existing files\n"
		"  -v, --verbose         print each file copied\n"
		"      --progress        show a progress bar on stderr (default: if a terminal)\n"
		"      --no-progress     never show it\n"
		"  -j, --jobs N          files in flight (default 64)\n"
		"      --queue-depth N   chunks in flight per large file (default 4)\n"
		"      --chunk-size N    bytes per chunk, K/M suffixes (default 1M)\n"
		"      --direct          use O_DIRECT (bypass the page cache)\n"
		"      --verify          read source and copy back and compare them\n"
		"      --sync            fsync each file before it gets its name\n"
		"      --help            show this help\n"
		"      --version         show the version\n"
		"\n"
		"Memory: buffers of at most jobs x chunk-size bytes for files of up to\n"
		"one chunk, plus 4 x queue-depth x chunk-size for the (at most 4) larger\n"
		"files in flight: 80 MiB with the defaults, of which a small file\n"
		"touches only its size.\n"
		"Each file is written under a temporary name (or none, O_TMPFILE) and\n"
		"renamed into place when complete: a failed or interrupted copy never\n"
		"leaves a partial file. Exit status: 0 if all went well, 1 if any file\n"
		"failed, 130 if interrupted.\n");
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	else if (*end == 'g' || *end == 'G')
		v <<= 30, end++;
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	if (*end)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	size_t v;
	if (parse_size(s, &v) < 0 || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

struct run_args {
	char **srcs;
	int nsrc;
	const char *dst;
	bool into_dir;
	int sigfd;
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

static int cp_main(void *arg)
{
	struct run_args *a = arg;
	urt_local_set(0, &a->sigfd);
	urt_task *w = a->sigfd >= 0 ? urt_spawn(watcher, urt_current()) : NULL;
	progress_start();
	for (int i = 0; i < a->nsrc && !S.interrupted; i++)
		if (cp_operand(a->srcs[i], a->dst, a->into_dir) == -ECANCELED)
			break;
	cp_wait_all();
	progress_stop();
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

int main(int argc, char **argv)
{
	enum { OPT_PROGRESS = 256, OPT_NO_PROGRESS, OPT_QD, OPT_CHUNK, OPT_DIRECT, OPT_VERIFY,
	       OPT_SYNC, OPT_HELP, OPT_VERSION };
	static const struct option longopts[] = {
		{"recursive", no_argument, NULL, 'r'},
		{"preserve", no_argument, NULL, 'p'},
		{"dereference", no_argument, NULL, 'L'},
		{"no-dereference", no_argument, NULL, 'P'},
		{"no-clobber", no_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},
		{"jobs", required_argument, NULL, 'j'},
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
	int c;
	while ((c = getopt_long(argc, argv, "rRpLPnvj:", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': case 'R': O.recursive = true; break;
		case 'p': O.preserve = true; break;
		case 'L': case 'P': O.deref = c; break;
		case 'n': O.noclobber = true; break;
		case 'v': O.verbose = true; break;
		case 'j':
			if (parse_uint(optarg, 1, 4096, &O.jobs) < 0) {
				cp_msg("invalid number of jobs '%s' (1..4096)", optarg);
				return 1;
			}
			break;
		case OPT_QD:
			if (parse_uint(optarg, 1, 256, &O.depth) < 0) {
				cp_msg("invalid queue depth '%s' (1..256)", optarg);
				return 1;
			}
			break;
		case OPT_CHUNK:
			if (parse_size(optarg, &O.chunk) < 0 || O.chunk < 4096 || O.chunk > (1u << 30) ||
			    O.chunk % 4096) {
				cp_msg("invalid chunk size '%s' (a multiple of 4K, 4K..1G)", optarg);
				return 1;
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
			fprintf(stderr, "Try 'urt-cp --help' for more information.\n");
			return 1;
		}
	}
	int nops = argc - optind;
	if (nops < 2) {
		cp_msg(nops ? "missing destination file operand after '%s'" : "missing file operand%s",
		       nops ? argv[optind] : "");
		fprintf(stderr, "Try 'urt-cp --help' for more information.\n");
		return 1;
	}
	if (O.progress < 0)
		O.progress = isatty(2);
	const char *e = getenv("URTCP_OFFLOAD"); /* for benchmarking the choice */
	O.offload = e ? atoi(e) : 2;
	if ((e = getenv("URTCP_NO_TMPFILE")) && atoi(e))
		cp_tmpfile_disable(); /* named temporaries + rename, as without O_TMPFILE */
	O.umask = umask(0);
	umask(O.umask);

	struct run_args a = {.srcs = argv + optind, .nsrc = nops - 1, .dst = argv[argc - 1]};
	struct stat dst;
	a.into_dir = stat(a.dst, &dst) == 0 && S_ISDIR(dst.st_mode);
	if (nops > 2 && !a.into_dir) {
		cp_msg("target '%s' is not a directory", a.dst);
		return 1;
	}

	/*
	 * One regular file: stay on one CPU. The loop's thread reads a chunk
	 * into a buffer and an io-wq worker writes it out (ext4 cannot write
	 * inline); on two CPUs every buffer then crosses between caches, and
	 * writes to one inode cannot run in parallel anyway. 1 GiB hot: 0.39-0.44
	 * s pinned, 0.51-0.55 s not (good rounds; cp 0.28-0.32 s). Trees keep
	 * all CPUs: there the files' work runs side by side.
	 */
	const char *pin = getenv("URTCP_PIN");
	struct stat sst;
	if (a.nsrc == 1 && (!pin || atoi(pin)) && stat(a.srcs[0], &sst) == 0 && S_ISREG(sst.st_mode) &&
	    sst.st_size >= (off_t)(2 * O.chunk)) {
		int cpu = sched_getcpu();
		cpu_set_t one;
		CPU_ZERO(&one);
		if (cpu >= 0) {
			CPU_SET(cpu, &one);
			sched_setaffinity(0, sizeof one, &one); /* best effort */
		}
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
	struct urt_options uo = {.sq_entries = 512, .stack_size = 1 << 20, .flags = URT_OPT_QUIET};
	int r = urt_run_opts(&uo, cp_main, &a);
	if (r < 0) {
		cp_msg("cannot start the I/O loop: %s", strerror(-r));
		return 1;
	}
	fflush(stdout);
	return r;
}
