/* SPDX-License-Identifier: MIT */
/*
 * runstat: run a command and report its wall time, CPU times and peak RSS
 * (a minimal stand-in for GNU time, which bench/cp.sh cannot rely on).
 *
 * Usage: runstat [-o FILE] COMMAND [ARG]...
 *
 * Fork/execs COMMAND (searched in PATH), waits for it with wait4() and writes
 * one line to FILE (default: stderr):
 *
 *   wall_s=1.234567 user_s=0.012 sys_s=0.987 maxrss_kib=5120 status=0
 *
 * wall_s is CLOCK_MONOTONIC from just before fork() to wait4() returning;
 * maxrss_kib is ru_maxrss of the child (KiB, largest of the child and any
 * descendants it waited for); status is the exit status, or 128+signal.
 * runstat exits with that status (127 if COMMAND could not be executed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

int main(int argc, char **argv)
{
	const char *outpath = NULL;
	int i = 1;
	if (i + 1 < argc && strcmp(argv[i], "-o") == 0) {
		outpath = argv[i + 1];
		i += 2;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: runstat [-o FILE] COMMAND [ARG]...\n");
		return 2;
	}
	FILE *out = stderr;
	if (outpath && !(out = fopen(outpath, "w"))) {
		fprintf(stderr, "runstat: %s: %s\n", outpath, strerror(errno));
		return 2;
	}
	fflush(NULL);

	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "runstat: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		execvp(argv[i], argv + i);
		fprintf(stderr, "runstat: %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}

	/* Let the child take terminal signals; we report what happened to it. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);

	int wstatus;
	struct rusage ru;
	pid_t r;
	while ((r = wait4(pid, &wstatus, 0, &ru)) < 0 && errno == EINTR)
		;
	double t1 = now_s();
	if (r < 0) {
		fprintf(stderr, "runstat: wait4: %s\n", strerror(errno));
		return 2;
	}
	int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
	           : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : 255;
	fprintf(out, "wall_s=%.6f user_s=%.3f sys_s=%.3f maxrss_kib=%ld status=%d\n",
		t1 - t0, tv_s(ru.ru_utime), tv_s(ru.ru_stime), ru.ru_maxrss, status);
	if (out != stderr && fclose(out) != 0) {
		fprintf(stderr, "runstat: %s: %s\n", outpath, strerror(errno));
		return 2;
	}
	return status;
}
