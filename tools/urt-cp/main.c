/* SPDX-License-Identifier: MIT */
/*
 * urt-cp: copy files and trees with many files and many chunks in flight.
 * Signals, the loops and the exit status; options.c reads the options and
 * operands, walk.c walks and copyfile.c copies each file without losing data.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tool.h"
#include "cp.h"

struct run_args {
	char **srcs;
	int nsrc;
	const char *dst;
	bool into_dir;
	unsigned loops;  /* urt_run_loops' loops; 1: urt_run */
	bool pin;        /* URT_LOOPS_PIN */
	bool started;    /* cp_main ran */
};

/* The signals that interrupt a copy: the tools' stop signals, and SIGHUP
   (which kills cp; urt-cp removes its temporaries first). Blocked in
   every thread from the start, read by the watcher. */
static sigset_t interrupt_signals(void)
{
	sigset_t set = tool_stop_signals();
	sigaddset(&set, SIGHUP);
	return set;
}

/* Turns SIGINT/SIGTERM/SIGHUP into a cancel of the walk, which cancels the
   copies: each removes its temporary, so nothing partial is left. */
static int watcher(void *arg)
{
	urt_task *walker = arg;
	sigset_t set = interrupt_signals();
	if (urt_signal_wait(&set, -1) > 0) {
		S.interrupted = true;
		urt_cancel(walker);
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
	struct urt_spawn_attr wa = {.name = "walk", .stack_size = WALK_STACK};
	urt_task *walker = urt_spawn_attr(&wa, walk_main, a);
	if (!walker) {
		cp_msg("out of memory");
		return 1;
	}
	urt_task *w = urt_spawn(watcher, walker);
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

/*
 * Loops for a tree or several operands: --threads, by default one per CPU
 * this process may run on (taskset and cpusets count, not the machine's
 * CPUs), never more than -j (each loop copies at least one file at a
 * time). One file has one destination inode, whose writes serialize: it
 * stays on one loop.
 *
 * Loop i is pinned to the i-th CPU we may run on (URT_LOOPS_PIN; modulo
 * their number). The io-wq workers a pinned loop starts inherit its CPU
 * (Linux 6.18 here), so the write of a buffer runs on the CPU whose cache
 * the read just filled, as for one large file (see run); unpinned, a tree
 * copy took ~8% longer (bench/RESULTS.md, issue 14). Executor threads
 * unpin themselves (cfr_fn: cp_unpin_self).
 */
static void tree_loops(struct run_args *a, unsigned cpus)
{
	unsigned n = O.threads;
	if (!n)
		n = cpus ? cpus : 1;
	a->loops = n < O.jobs ? n : O.jobs;
	a->pin = a->loops > 1 && cpus && cp_pin_wanted() && cp_pin_remember();
	/* every CPU runs a loop: small files are copied on it (copyfile.c) */
	O.cfr_small = a->loops > 1 && cpus && a->loops >= cpus;
}

/* The settings that come from the environment and the process. */
static void settings(void)
{
	if (O.progress < 0)
		O.progress = isatty(2);
	const char *e = getenv("URTCP_OFFLOAD"); /* for benchmarking the choice */
	O.offload = e ? atoi(e) : 2;
	O.cfr = !(e = getenv("URTCP_CFR")) || atoi(e); /* URTCP_CFR=0: no copy_file_range */
	if ((e = getenv("URTCP_NO_TMPFILE")) && atoi(e))
		cp_tmpfile_disable(); /* named temporaries + rename, as without O_TMPFILE */
	O.umask = umask(0);
	umask(O.umask);
}

/*
 * Where the copy runs. One regular file: stay on one CPU. The loop's
 * thread reads a chunk into a buffer and an io-wq worker writes it out
 * (ext4 cannot write inline); on two CPUs every buffer then crosses
 * between caches, and writes to one inode cannot run in parallel anyway.
 * 1 GiB hot: 0.39-0.44 s pinned, 0.51-0.55 s not (good rounds; cp
 * 0.28-0.32 s). Trees keep all CPUs: there the files' work runs side by
 * side (tree_loops). (copy_file_range runs on executor threads, which
 * unpin themselves: cp_unpin_self.)
 */
static void place(struct run_args *a, unsigned cpus)
{
	struct stat sst;
	if (a->nsrc == 1 && cp_pin_wanted() && stat(a->srcs[0], &sst) == 0 &&
	    S_ISREG(sst.st_mode) && sst.st_size >= (off_t)(2 * O.chunk))
		cp_pin_here();
	a->loops = 1;
	bool low_as = low_address_space();
	if (!low_as && !O.interactive && /* -i: one question at a time */
	    (a->nsrc > 1 || (O.recursive && stat(a->srcs[0], &sst) == 0 && S_ISDIR(sst.st_mode))))
		tree_loops(a, cpus);
}

/* Run the copy on its loops; the exit status. */
static int run(struct run_args *a)
{
	unsigned cpus = (unsigned)cp_cpu_count();
	place(a, cpus);
	if (cp_copy_init() < 0) {
		cp_msg("out of memory");
		return 1;
	}
	tool_raise_nofile();
	/* A file size limit must fail the write (EFBIG), not kill us mid-copy. */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Interrupts are read by a task (urt_signal_wait): blocked before any
	   thread starts, so that every thread inherits the mask. */
	sigset_t set = interrupt_signals();
	sigprocmask(SIG_BLOCK, &set, NULL);

	/* the default stack is the copy jobs' (64 KiB, from slabs of 64);
	   the walk has one of its own (walk_main) */
	struct urt_options uo = {.sq_entries = 512, .stack_size = 64 * 1024, .flags = URT_OPT_QUIET};
	int r;
	if (a->loops > 1) {
		/* executor threads (copy_file_range of large files) as one loop has
		   them, not divided among the loops; they start only when needed */
		uo.offload_threads = cpus;
		r = urt_run_loops(a->loops, a->pin ? URT_LOOPS_PIN : 0, &uo, cp_main, a);
		if (r < 0 && !a->started) { /* no threads for the loops: copy on one */
			if (a->pin)
				cp_unpin_self(); /* (unpinned, as one loop is) */
			a->loops = 1;
			uo.offload_threads = 0;
			O.cfr_small = false;
			r = urt_run_opts(&uo, cp_main, a);
		}
	} else {
		r = urt_run_opts(&uo, cp_main, a);
	}
	if (r < 0) {
		cp_msg("cannot start the I/O loop: %s", strerror(-r));
		r = 1;
	}
	return r;
}

int main(int argc, char **argv)
{
	if (argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');
		cp_prog = slash ? slash + 1 : argv[0];
	}
	argv[0] = (char *)cp_prog; /* getopt's messages: "cp: ...", as cp's */
	struct cp_args ca = {0};
	int r = cp_options(argc, argv, &ca);
	if (r >= 0)
		return r;
	settings();
	char *backup_dst = NULL;
	r = cp_operands(argc, argv, &ca, &backup_dst);
	if (r < 0) {
		struct run_args a = {.srcs = ca.srcs, .nsrc = ca.nsrc, .dst = ca.dst,
				     .into_dir = ca.into_dir};
		r = run(&a);
	}
	free(backup_dst);
	fflush(stdout);
	return r;
}
