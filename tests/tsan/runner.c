/* SPDX-License-Identifier: MIT */
/* The runner for tests/tsan/criterion/criterion.h (see there). */
#include <criterion/criterion.h>

#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct shim_test *tests;
static struct shim_suite *suites;

void shim_register_test(struct shim_test *t)
{
	t->next = tests;
	tests = t;
}

void shim_register_suite(struct shim_suite *s)
{
	s->next = suites;
	suites = s;
}

void shim_fail(const char *file, unsigned line, const char *expr, const char *fmt, ...)
{
	fprintf(stderr, "[----] %s:%u: Assertion failed: %s\n", file, line, expr);
	if (fmt && *fmt) {
		va_list ap;
		va_start(ap, fmt);
		fputs("[----]   ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	fflush(NULL);
	_exit(1);
}

static const struct shim_suite *suite_of(const struct shim_test *t)
{
	for (const struct shim_suite *s = suites; s; s = s->next)
		if (strcmp(s->name, t->suite) == 0)
			return s;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--filter=", 9) == 0)
			filter = argv[i] + 9;
		else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc)
			filter = argv[++i];
	}
	/* registered in reverse; run in file order */
	struct shim_test *rev = NULL;
	while (tests) {
		struct shim_test *t = tests;
		tests = t->next;
		t->next = rev;
		rev = t;
	}
	int ran = 0, passed = 0, failed = 0, skipped = 0;
	for (struct shim_test *t = rev; t; t = t->next) {
		char id[256];
		snprintf(id, sizeof id, "%s/%s", t->suite, t->name);
		if (filter && fnmatch(filter, id, 0) != 0)
			continue;
		const struct shim_suite *s = suite_of(t);
		if (t->opts.disabled || (s && s->opts.disabled)) {
			skipped++;
			continue;
		}
		double timeout = t->opts.timeout > 0 ? t->opts.timeout : s ? s->opts.timeout : 0;
		fflush(NULL);
		double t0 = now_s();
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			if (timeout > 0)
				alarm((unsigned)timeout + 1);
			if (s && s->opts.init)
				s->opts.init();
			if (t->opts.init)
				t->opts.init();
			t->fn();
			if (t->opts.fini)
				t->opts.fini();
			if (s && s->opts.fini)
				s->opts.fini();
			exit(0); /* exit, not _exit: TSan's end-of-run checks and exit code */
		}
		int st = 0;
		while (waitpid(pid, &st, 0) < 0)
			;
		ran++;
		double dt = now_s() - t0;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
			ran--;
			skipped++;
			printf("[SKIP] %s::%s\n", t->suite, t->name);
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			passed++;
			printf("[PASS] %s::%s: (%.2fs)\n", t->suite, t->name, dt);
		} else {
			failed++;
			if (WIFSIGNALED(st))
				printf("[FAIL] %s::%s: %s (signal %d)%s\n", t->suite, t->name,
				       strsignal(WTERMSIG(st)), WTERMSIG(st),
				       WTERMSIG(st) == SIGALRM ? " -- timed out" : "");
			else
				printf("[FAIL] %s::%s: exit status %d (%.2fs)\n", t->suite, t->name,
				       WEXITSTATUS(st), dt);
		}
		fflush(stdout);
	}
	printf("[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Skipped: %d\n", ran,
	       passed, failed, skipped);
	return failed ? 1 : 0;
}
