/* SPDX-License-Identifier: MIT */
/* Option values, the same way in every tool (see tool.h for why). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urt.h>

#include "tool.h"

/* Decimal digits from s: true with *v and *end (the first non-digit) when
   there is at least one digit and the value fits in 64 bits. */
static bool digits(const char *s, uint64_t *v, const char **end)
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

int tool_parse_u64(const char *prog, const char *opt, const char *s, uint64_t min, uint64_t max,
		   uint64_t *out)
{
	uint64_t v;
	const char *end;
	if (digits(s, &v, &end) && !*end && v >= min && v <= max) {
		*out = v;
		return 0;
	}
	fprintf(stderr, "%s: invalid value '%s' for %s: expected an integer from %llu to %llu\n",
		prog, s, opt, (unsigned long long)min, (unsigned long long)max);
	return -1;
}

int tool_parse_double(const char *prog, const char *opt, const char *s, double min, double max,
		      double *out)
{
	const char *p = s + (*s == '+' || *s == '-');
	size_t ndigits = strspn(p, "0123456789");
	p += ndigits;
	if (*p == '.') {
		size_t frac = strspn(p + 1, "0123456789");
		ndigits += frac;
		p += 1 + frac;
	}
	bool ok = ndigits > 0;
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

int tool_parse_size(const char *prog, const char *opt, const char *s, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	uint64_t v;
	const char *end;
	bool ok = digits(s, &v, &end);
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

int tool_parse_threads(const char *prog, const char *s, unsigned *out)
{
	uint64_t u;
	if (tool_parse_u64(prog, "--threads", s, 0, TOOL_MAX_THREADS, &u))
		return -1;
	if (!u) {
		int n = urt_cpus(NULL, 0); /* the library's count: what URT_LOOPS_PIN pins to */
		u = n < 1 ? 1 : n > TOOL_MAX_THREADS ? TOOL_MAX_THREADS : (uint64_t)n;
	}
	*out = (unsigned)u;
	return 0;
}
