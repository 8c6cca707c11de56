/* SPDX-License-Identifier: MIT */
/*
 * What every urt tool shares (tools/common, a static library the tools
 * link): option values (parse.c) and the process set-up (process.c).
 * The servers' and the load generator's loops are in tool_loops.h.
 */
#ifndef URT_TOOL_H
#define URT_TOOL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

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

/* Parse s as a decimal unsigned integer in [min, max] (no sign, no trailing junk, no overflow).
   Returns 0 and sets *out, or prints "<prog>: invalid value '<s>' for <opt>: expected an integer from <min> to <max>" to stderr and returns -1. */
int tool_parse_u64(const char *prog, const char *opt, const char *s, uint64_t min, uint64_t max,
		   uint64_t *out);

/*
 * The same for a finite decimal number (rejects nan, inf, hex floats, empty,
 * trailing junk). The syntax is checked by hand, [+-]digits[.digits][e[+-]digits],
 * before strtod converts it (in the C locale: the tools never call setlocale).
 */
int tool_parse_double(const char *prog, const char *opt, const char *s, double min, double max,
		      double *out);

/*
 * A byte count: decimal digits, optionally followed by K, M or G (binary
 * multiples, either case, optionally with "iB": 4K, 4KiB, 16M). Range and
 * message as tool_parse_u64.
 */
int tool_parse_size(const char *prog, const char *opt, const char *s, uint64_t min, uint64_t max,
		    uint64_t *out);

/* --threads at most (0 means one per usable CPU). */
#define TOOL_MAX_THREADS 1024

/*
 * --threads: 0..TOOL_MAX_THREADS, 0 meaning one per CPU the process may
 * run on (all online CPUs unless taskset or a cpuset narrows it: more
 * loops than CPUs only compete for them). Returns 0 with *out >= 1, or -1
 * after tool_parse_u64's one-line message.
 */
int tool_parse_threads(const char *prog, const char *s, unsigned *out);

/* Many files or connections in flight need fds: take the hard limit. */
void tool_raise_nofile(void);

/* The signals that stop a tool: SIGINT and SIGTERM. Block them before
   any thread starts (every thread inherits the mask) and read them with
   urt_signal_wait in one task. */
sigset_t tool_stop_signals(void);

#endif
