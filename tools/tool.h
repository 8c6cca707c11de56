/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the urt tools. */
#ifndef URT_TOOL_H
#define URT_TOOL_H

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <urt.h>

/* Exit status of every urt tool for a usage error (bad option, bad number); runtime failures exit 1. */
#define TOOL_EXIT_USAGE 2

/*
 * Option values. strtoul and friends accept what an option should not: a
 * sign ("-1" wraps to a huge value), leading blanks, hex and octal, and
 * nan/inf for floating point, and a value cast to the option's type before
 * its range check can wrap into range (port 4294967296 became 0). These
 * parsers take plain decimal only, check the range on the parsed 64-bit or
 * double value, and print one line naming the option and the accepted range
 * when it is refused, so every tool reports bad values the same way.
 */

/* Decimal digits from s: true with *v and *end (the first non-digit) when
   there is at least one digit and the value fits in 64 bits. */
static inline bool tool__digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	*end = p;
	return p != s;
}

/* Parse s as a decimal unsigned integer in [min, max] (no sign, no trailing junk, no overflow).
   Returns 0 and sets *out, or prints "<prog>: invalid value '<s>' for <opt>: expected an integer from <min> to <max>" to stderr and returns -1. */
static inline int tool_parse_u64(const char *prog, const char *opt, const char *s, uint64_t min,
				 uint64_t max, uint64_t *out)
{
	uint64_t v;
	const char *end;
	if (tool__digits(s, &v, &end) && !*end && v >= min && v <= max) {
		*out = v;
		return 0;
	}
	fprintf(stderr, "%s: invalid value '%s' for %s: expected an integer from %llu to %llu\n",
		prog, s, opt, (unsigned long long)min, (unsigned long long)max);
	return -1;
}

/*
 * The same for a finite decimal number (rejects nan, inf, hex floats, empty,
 * trailing junk). The syntax is checked by hand, [+-]digits[.digits][e[+-]digits],
 * before strtod converts it (in the C locale: the tools never call setlocale).
 */
static inline int tool_parse_double(const char *prog, const char *opt, const char *s, double min,
				    double max, double *out)
{
	const char *p = s + (*s == '+' || *s == '-');
	size_t digits = strspn(p, "0123456789");
	p += digits;
	if (*p == '.') {
		size_t frac = strspn(p + 1, "0123456789");
		digits += frac;
		p += 1 + frac;
	}
	bool ok = digits > 0;
	if (ok && (*p == 'e' || *p == 'E')) {
		p += 1 + (p[1] == '+' || p[1] == '-');
		size_t exp = strspn(p, "0123456789");
		ok = exp > 0;
		p += exp;
	}
	if (ok && !*p) {
		char *end;
		double v = strtod(s, &end);
		/* overflow is inf; underflow is a tiny value the range decides on */
		if (end == p && isfinite(v) && v >= min && v <= max) {
			*out = v;
			return 0;
		}
	}
	fprintf(stderr, "%s: invalid value '%s' for %s: expected a number from %g to %g\n", prog,
		s, opt, min, max);
	return -1;
}

/*
 * A byte count: decimal digits, optionally followed by K, M or G (binary
 * multiples, either case, optionally with "iB": 4K, 4KiB, 16M). Range and
 * message as tool_parse_u64.
 */
static inline int tool_parse_size(const char *prog, const char *opt, const char *s, uint64_t min,
				  uint64_t max, uint64_t *out)
{
	uint64_t v;
	const char *end;
	bool ok = tool__digits(s, &v, &end);
	if (ok && *end) {
		unsigned shift = 0;
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: ok = false; break;
		}
		if (ok && v > UINT64_MAX >> shift)
			ok = false;
		v <<= shift;
		end++;
		if (end[0] == 'i' && end[1] == 'B')
			end += 2;
		ok = ok && !*end;
	}
	if (ok && v >= min && v <= max) {
		*out = v;
		return 0;
	}
	fprintf(stderr, "%s: invalid value '%s' for %s: expected a size from %llu to %llu bytes "
		"(suffixes K, M, G)\n", prog, s, opt, (unsigned long long)min, (unsigned long long)max);
	return -1;
}

/* Many files or connections in flight need fds: take the hard limit. */
static inline void tool_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * The next connection from an acceptor (or, if acc is NULL, a one-shot
 * accept on lfd): its fd, or -ECANCELED when the server is stopping. Out of
 * fds it backs off for 10 ms instead of spinning; other accept errors are
 * reported (prefixed with name) and skipped.
 */
static inline int tool_accept(urt_acceptor *acc, int lfd, const char *name)
{
	for (;;) {
		int fd = acc ? urt_acceptor_accept(acc) : urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0 || fd == -ECANCELED)
			return fd;
		if (fd == -EMFILE || fd == -ENFILE) {
			if (urt_sleep_ms(10) == -ECANCELED)
				return -ECANCELED;
		} else if (fd != -ECONNABORTED && fd != -EINTR) {
			fprintf(stderr, "%s: accept: %s\n", name, strerror(-fd));
		}
	}
}

/* The signals that stop a server: SIGINT and SIGTERM. */
static inline sigset_t tool_stop_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return set;
}

#endif
