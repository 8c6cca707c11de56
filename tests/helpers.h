/* SPDX-License-Identifier: MIT */
/* Shared helpers for the urt criterion suite. */
#ifndef URT_TEST_HELPERS_H
#define URT_TEST_HELPERS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "urt.h"

/* Running on the epoll backend (URT_BACKEND=epoll, the suite's third
   configuration)? Tests of io_uring-only behaviour (SQE counts, io-wq,
   multishot CQE accounting) skip there, saying why. */
static inline bool urt_test_epoll(void)
{
	const char *e = getenv("URT_BACKEND");
	return e && !strcmp(e, "epoll");
}
#define SKIP_ON_EPOLL(why)                                              \
	do {                                                            \
		if (urt_test_epoll())                                   \
			cr_skip_test("epoll backend: %s", why);         \
	} while (0)

/*
 * Criterion 2.4's cr_assert_eq & co. print only the expressions. Redefine the
 * comparison asserts so a failure also logs both values (errno names for
 * small negative integers).
 */
static inline void urt_fmt_ll(char *b, long long v)
{
	const char *name = (v < 0 && v > -4096) ? strerrorname_np((int)-v) : NULL;
	if (name)
		snprintf(b, 96, "%lld (-%s)", v, name);
	else
		snprintf(b, 96, "%lld", v);
}
static inline void urt_fmt_ull(char *b, unsigned long long v) { snprintf(b, 96, "%llu", v); }
static inline void urt_fmt_dbl(char *b, double v) { snprintf(b, 96, "%g", v); }
static inline void urt_fmt_ptr(char *b, const volatile void *v) { snprintf(b, 96, "%p", (const void *)v); }

#define URT_FMT_(buf, x)                                                       \
	_Generic((x),                                                          \
		_Bool: urt_fmt_ll, char: urt_fmt_ll, signed char: urt_fmt_ll,  \
		short: urt_fmt_ll, int: urt_fmt_ll, long: urt_fmt_ll,          \
		long long: urt_fmt_ll, unsigned char: urt_fmt_ull,             \
		unsigned short: urt_fmt_ull, unsigned: urt_fmt_ull,            \
		unsigned long: urt_fmt_ull, unsigned long long: urt_fmt_ull,   \
		float: urt_fmt_dbl, double: urt_fmt_dbl,                       \
		default: urt_fmt_ptr)(buf, x)

#define URT_CMP_(op, A, B, ...)                                                \
	do {                                                                   \
		__typeof__(A) cmp_a__ = (A);                                   \
		__typeof__(B) cmp_b__ = (B);                                   \
		if (!(cmp_a__ op cmp_b__)) {                                   \
			char sa__[96], sb__[96];                               \
			URT_FMT_(sa__, cmp_a__);                               \
			URT_FMT_(sb__, cmp_b__);                               \
			cr_log_error("%s:%d: expected %s " #op " %s, got %s vs %s", \
				     __FILE__, __LINE__, #A, #B, sa__, sb__);  \
			cr_assert_fail(__VA_ARGS__);                           \
		}                                                              \
	} while (0)

#undef cr_assert_eq
#undef cr_assert_neq
#undef cr_assert_lt
#undef cr_assert_leq
#undef cr_assert_gt
#undef cr_assert_geq
#define cr_assert_eq(A, ...) URT_CMP_(==, A, __VA_ARGS__)
#define cr_assert_neq(A, ...) URT_CMP_(!=, A, __VA_ARGS__)
#define cr_assert_lt(A, ...) URT_CMP_(<, A, __VA_ARGS__)
#define cr_assert_leq(A, ...) URT_CMP_(<=, A, __VA_ARGS__)
#define cr_assert_gt(A, ...) URT_CMP_(>, A, __VA_ARGS__)
#define cr_assert_geq(A, ...) URT_CMP_(>=, A, __VA_ARGS__)

/*
 * The per-test leak check (issue 23). Every Test() in a file that includes
 * this header runs its body through urt_leak_checked_body_: it lists the
 * open descriptors (/proc/self/fd) and reads urt_live_get just before the
 * body, and again just after it, and fails the test, naming what leaked,
 * when a descriptor is open that was not before, or a loop, a task stack,
 * a task or an op outlived the body (see urt_live_get in urt.h).
 *
 * How: criterion 2.4 runs each test in a child process (BoxFort re-executes
 * the test binary), where the test's trampoline calls the suite's and the
 * test's .init, then criterion_internal_test_main(body), then the .fini.
 * Its report hooks (ReportHook(PRE_TEST/POST_TEST)) run in the parent
 * runner instead, so they cannot see the child's descriptors; hence this
 * header redefines the trampoline (CR_TEST_TRAMPOLINE_, expanded lazily by
 * Test()) to hand criterion a wrapper that brackets the body. The check
 * runs inside the body's setjmp frame, so its cr_assert_fail fails the test
 * like any assert; a body that already failed skips it (no second report).
 * What .init opened and .fini closes (a suite's temporary directory) is
 * outside the bracket. In an ASan build it also runs LeakSanitizer (see
 * URT_LEAK_LSAN), and under valgrind it asks memcheck (URT_LEAK_VG). Only
 * plain C tests: the C++/ObjC trampolines and the TSan stand-in
 * (tests/tsan) are left as they are. doc/leaks.md tells the whole story.
 */
#if defined(CR_TEST_TRAMPOLINE_) && !defined(__cplusplus) && !defined(__OBJC__)
#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

/* ASan builds (tools/bootstrap asan): LeakSanitizer's own report at the
   child's exit does not fail the test -- criterion 2.4 calls it a crash
   "during its setup or teardown" and counts the test as passing -- so the
   check runs LSan itself, at the end of the body, and fails on a leak. */
#if defined(__SANITIZE_ADDRESS__)
#define URT_LEAK_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define URT_LEAK_LSAN 1
#endif
#endif
#ifdef URT_LEAK_LSAN
#include <fcntl.h>
#include <sanitizer/lsan_interface.h>

/*
 * LeakSanitizer's suppressions, read once at start-up in each process.
 * Criterion's runner (the parent process) leaks a 48-byte record of its
 * own (calloc from libcriterion.so, reported at its exit when tests with
 * timeouts ran in parallel: tests/test_file): not ours to fix, so it is
 * suppressed there. Not in the test's own process (BoxFort starts it as
 * "boxfort-worker"): every stack there passes through libcriterion.so, so
 * that suppression would hide every leak a test makes -- it did, as
 * tests/lsan.supp, until issue 23.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	char name[sizeof "boxfort-worker"] = "";
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, name, sizeof name - 1);
		name[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	return strcmp(name, "boxfort-worker") ? "leak:libcriterion.so\n" : "";
}
#endif

/* Under valgrind (tools/bootstrap valgrind) the same holds for memcheck:
   its errors and leaks in the child only change the child's exit status,
   which criterion ignores once the test reported; so the check asks
   memcheck itself (client requests, no-ops when not under valgrind). */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define URT_LEAK_VG 1
static unsigned long urt_leak_vg_errors_, urt_leak_vg_lost_;
/* memcheck's error count and bytes lost (definitely and indirectly), after
   a leak search; 0 when not under valgrind */
static inline void urt_leak_vg_counts_(unsigned long *errors, unsigned long *lost)
{
	unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed = 0;
	*errors = *lost = 0;
	if (!RUNNING_ON_VALGRIND)
		return;
	VALGRIND_DO_QUICK_LEAK_CHECK;
	VALGRIND_COUNT_LEAKS(leaked, dubious, reachable, suppressed);
	*errors = (unsigned long)VALGRIND_COUNT_ERRORS;
	*lost = leaked;
	(void)dubious, (void)reachable, (void)suppressed;
}
#endif

#define URT_LEAK_FDS 65536

/* Set bit fd of bits for each descriptor open now (below URT_LEAK_FDS). */
static inline void urt_leak_fds_(uint64_t *bits)
{
	memset(bits, 0, URT_LEAK_FDS / 8);
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		int fd = atoi(e->d_name);
		if (fd != dirfd(d) && fd < URT_LEAK_FDS)
			bits[fd / 64] |= 1ull << (fd % 64);
	}
	closedir(d);
}

static uint64_t urt_leak_fds_before_[URT_LEAK_FDS / 64];
static struct urt_live urt_leak_live_before_;
static void (*urt_leak_body_)(void);

/* Append what leaked since urt_leak_begin_ to msg (empty: nothing). */
static inline void urt_leak_report_(char *msg, size_t cap)
{
	static uint64_t now[URT_LEAK_FDS / 64];
	struct urt_live live;
	size_t n = 0;
	msg[0] = '\0';
#define URT_LEAK_ADD_(...)                                                     \
	do {                                                                   \
		if (n < cap)                                                   \
			n += (size_t)snprintf(msg + n, cap - n, __VA_ARGS__);  \
	} while (0)
	urt_leak_fds_(now);
	for (int fd = 0; fd < URT_LEAK_FDS; fd++) {
		if (!(now[fd / 64] >> (fd % 64) & 1) ||
		    urt_leak_fds_before_[fd / 64] >> (fd % 64) & 1)
			continue;
		char path[64], target[256];
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof target - 1);
		target[len > 0 ? len : 0] = '\0';
		URT_LEAK_ADD_(" fd %d (%s);", fd, target);
	}
	urt_live_get(&live);
	const struct urt_live *b = &urt_leak_live_before_;
	if (live.loops != b->loops)
		URT_LEAK_ADD_(" %lld loop(s) still open;", (long long)(live.loops - b->loops));
	if (live.stacks != b->stacks)
		URT_LEAK_ADD_(" %lld task stack(s) still mapped;", (long long)(live.stacks - b->stacks));
	if (live.tasks != b->tasks)
		URT_LEAK_ADD_(" %lld task(s) not ended;",
			      (long long)(live.tasks - b->tasks));
	if (live.ops != b->ops)
		URT_LEAK_ADD_(" %lld op(s) in flight when their loop closed;",
			      (long long)(live.ops - b->ops));
#ifdef URT_LEAK_VG
	unsigned long vg_errors, vg_lost;
	urt_leak_vg_counts_(&vg_errors, &vg_lost);
	if (vg_lost > urt_leak_vg_lost_)
		URT_LEAK_ADD_(" %lu bytes of memory (memcheck's leak report above);",
			      vg_lost - urt_leak_vg_lost_);
	if (vg_errors > urt_leak_vg_errors_)
		URT_LEAK_ADD_(" %lu memcheck error(s) (valgrind's report above);",
			      vg_errors - urt_leak_vg_errors_);
#endif
#ifdef URT_LEAK_LSAN
	if (__lsan_do_recoverable_leak_check())
		URT_LEAK_ADD_(" memory (LeakSanitizer's report above);");
#endif
#undef URT_LEAK_ADD_
}

/* The body criterion runs for every Test(): the test's own, bracketed. */
static void urt_leak_checked_body_(void)
{
	urt_leak_fds_(urt_leak_fds_before_);
	urt_live_get(&urt_leak_live_before_);
#ifdef URT_LEAK_VG
	urt_leak_vg_counts_(&urt_leak_vg_errors_, &urt_leak_vg_lost_);
#endif
	urt_leak_body_();
	char msg[1024];
	urt_leak_report_(msg, sizeof msg);
	if (msg[0])
		cr_assert_fail("leak check: the test left behind:%s", msg);
}

#undef CR_TEST_TRAMPOLINE_
#define CR_TEST_TRAMPOLINE_(Category, Name)                                    \
	static inline void CR_IDENTIFIER_(Category, Name, jmp)(void)           \
	{                                                                      \
		criterion_internal_test_setup();                               \
		urt_leak_body_ = (void (*)(void))CR_IDENTIFIER_(Category, Name, impl); \
		criterion_internal_test_main(urt_leak_checked_body_);          \
		criterion_internal_test_teardown();                            \
	}
#endif

#define MS(x) ((int64_t)(x) * URT_NS_PER_MS)
#define SEC(x) ((int64_t)(x) * URT_NS_PER_SEC)

/* Run fn(arg) as main of a fresh loop and return urt_run's result. */
static inline int run_flags(unsigned flags, int (*fn)(void *), void *arg)
{
	struct urt_options o;
	memset(&o, 0, sizeof(o));
	o.flags = flags;
	return urt_run_opts(&o, fn, arg);
}

/* Run fn(arg) and assert urt_run returned 0 (main's return value). */
#define RUN(fn, arg)                                                           \
	do {                                                                   \
		int run_rc__ = urt_run((fn), (arg));                           \
		cr_assert_eq(run_rc__, 0, "urt_run(%s) returned %d (%s)", #fn, \
			     run_rc__, strerror(run_rc__ < 0 ? -run_rc__ : 0));\
	} while (0)

/* The same under virtual time (URT_OPT_VIRTUAL_TIME): sleeps and timeouts
   jump a per-loop clock instead of waiting, so timer tests take no real
   time and their order is fixed. Not for tests of real waits (the kernel's
   timeouts, the stall watchdog) or of I/O racing a timeout: I/O in flight
   does not hold the clock (doc/reference.md, "Virtual time"). */
#define VRUN(fn, arg)                                                          \
	do {                                                                   \
		int run_rc__ = run_flags(URT_OPT_VIRTUAL_TIME, (fn), (arg));   \
		cr_assert_eq(run_rc__, 0, "urt_run(%s) returned %d (%s)", #fn, \
			     run_rc__, strerror(run_rc__ < 0 ? -run_rc__ : 0));\
	} while (0)

/* Same, with URT_OPT_QUIET (for tests that deliberately leave tasks unjoined). */
#define RUNQ(fn, arg)                                                          \
	do {                                                                   \
		int run_rc__ = run_flags(URT_OPT_QUIET, (fn), (arg));          \
		cr_assert_eq(run_rc__, 0, "urt_run(%s) returned %d (%s)", #fn, \
			     run_rc__, strerror(run_rc__ < 0 ? -run_rc__ : 0));\
	} while (0)

/* Assert an urt call returned exactly `want` (0 or a negative errno). */
#define CHECK(call, want)                                                      \
	do {                                                                   \
		long chk_rc__ = (long)(call);                                  \
		long chk_want__ = (long)(want);                                \
		cr_assert_eq(chk_rc__, chk_want__, "%s returned %ld, want %ld", \
			     #call, chk_rc__, chk_want__);                     \
	} while (0)

#define OK(call) CHECK(call, 0)

/* Spawn and assert the handle is non-NULL. */
static inline urt_task *spawn_ok(int (*fn)(void *), void *arg)
{
	urt_task *t = urt_spawn(fn, arg);
	cr_assert_not_null(t, "urt_spawn returned NULL");
	return t;
}

/* Join t and return its result; assert the join itself succeeded. */
static inline int join_ok(urt_task *t)
{
	int res = 0x7eadbeef;
	int rc = urt_join(t, &res);
	cr_assert_eq(rc, 0, "urt_join returned %d (%s)", rc, strerror(rc < 0 ? -rc : 0));
	return res;
}

/* Simple task bodies shared by several files. */
static inline int task_return_arg(void *arg)
{
	return (int)(intptr_t)arg;
}

/* Sleep for (intptr_t)arg ms and return the sleep's result. */
static inline int task_sleep_ms(void *arg)
{
	return urt_sleep_ns(MS((intptr_t)arg));
}

/* Deterministic test bytes: test_pat(seed, i) is byte i of stream `seed`. */
static inline uint8_t test_pat(uint32_t seed, size_t i)
{
	uint32_t x = seed * 2654435761u ^ (uint32_t)i * 40503u ^ (uint32_t)(i >> 12) * 977u;
	x ^= x >> 13;
	return (uint8_t)(x * 0x5bd1e995u >> 24);
}

static inline void test_fill(void *buf, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = test_pat(seed, i);
}

#endif
