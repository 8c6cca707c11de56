/* SPDX-License-Identifier: MIT */
/*
 * A minimal stand-in for <criterion/criterion.h>, for the ThreadSanitizer
 * build only (tools/bootstrap tsan; tests/meson.build builds it when
 * b_sanitize contains "thread").
 *
 * Why: Criterion cannot start under TSan. Its runner (BoxFort) maps an
 * "inheritable arena" at a random fixed address in 0x2000'0000'0000 ..
 * 0x7f00'0000'0000, which TSan's shadow memory occupies, and gives up with
 * "Could not initialize inheritable arena: Resource temporarily
 * unavailable" (Snaipe/Criterion#274, open). So the test files that must
 * run under TSan (offload, signal, stall) are compiled against this header
 * and tests/tsan/runner.c instead of libcriterion.
 *
 * It covers what those files and tests/helpers.h use: Test() and
 * TestSuite() with .timeout / .disabled / .init / .fini, cr_assert,
 * cr_assert_not, cr_assert_null, cr_assert_not_null, cr_assert_str_eq,
 * cr_assert_fail, cr_assert_eq & co. (which helpers.h redefines anyway) and
 * cr_log_error. Like Criterion, the runner forks one child per test, so
 * each test starts from fresh static state; a failed assertion prints its
 * message and ends the child with status 1; a test over its timeout is
 * killed (SIGALRM). Options: --filter=GLOB (suite/name), -j/--verbose are
 * accepted and ignored (tests run one at a time).
 */
#ifndef URT_TSAN_CRITERION_SHIM_H
#define URT_TSAN_CRITERION_SHIM_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shim_opts {
	double timeout;     /* seconds; 0 = the suite's, else none */
	bool disabled;
	void (*init)(void);
	void (*fini)(void);
	const char *description;
};

struct shim_test {
	const char *suite, *name, *file;
	unsigned line;
	void (*fn)(void);
	struct shim_opts opts;
	struct shim_test *next;
};

struct shim_suite {
	const char *name;
	struct shim_opts opts;
	struct shim_suite *next;
};

void shim_register_test(struct shim_test *t);
void shim_register_suite(struct shim_suite *s);
__attribute__((noreturn, format(printf, 4, 5))) void
shim_fail(const char *file, unsigned line, const char *expr, const char *fmt, ...);

#define Test(suite, name, ...)                                                  \
	static void suite##_##name##_impl(void);                                \
	static struct shim_test suite##_##name##_desc = {                       \
		#suite, #name, __FILE__, __LINE__, suite##_##name##_impl,       \
		{__VA_ARGS__}, NULL};                                           \
	__attribute__((constructor)) static void suite##_##name##_reg(void)     \
	{                                                                       \
		shim_register_test(&suite##_##name##_desc);                     \
	}                                                                       \
	static void suite##_##name##_impl(void)

#define TestSuite(suite, ...)                                                   \
	static struct shim_suite suite##_suite_desc = {#suite, {__VA_ARGS__}, NULL}; \
	__attribute__((constructor)) static void suite##_suite_reg(void)        \
	{                                                                       \
		shim_register_suite(&suite##_suite_desc);                       \
	}

/* The optional message is a format string and its arguments. */
#define cr_assert(cond, ...)                                                    \
	do {                                                                    \
		if (!(cond))                                                    \
			shim_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__);   \
	} while (0)
#define cr_assert_not(cond, ...) cr_assert(!(cond), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                             \
	do {                                                                    \
		const char *sa__ = (a), *sb__ = (b);                            \
		if (strcmp(sa__, sb__) != 0) {                                  \
			cr_log_error("%s:%d: \"%s\" != \"%s\"", __FILE__, __LINE__, sa__, sb__); \
			shim_fail(__FILE__, __LINE__, #a " == " #b, "" __VA_ARGS__); \
		}                                                               \
	} while (0)
#define cr_assert_fail(...) shim_fail(__FILE__, __LINE__, "(fail)", "" __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
/* A skipped test: its reason on stderr, exit status 77 (the runner counts
   it as skipped). */
#define cr_skip_test(...)                                                       \
	do {                                                                    \
		fprintf(stderr, "[SKIP] " __VA_ARGS__);                         \
		fputc('\n', stderr);                                            \
		exit(77);                                                       \
	} while (0)
#define cr_log_error(...) (fprintf(stderr, "[ERR ] " __VA_ARGS__), fputc('\n', stderr))

#endif
