/* SPDX-License-Identifier: MIT */
/*
 * What every file of urt-cp shares: the options O, the counters S, the
 * name messages start with, and the message functions. Apart from main.c
 * so that tests/fuzz_cp_args.c links the command-line code without
 * urt-cp's main.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cp.h"

struct cp_opts O = {.progress = -1, .jobs = 64, .depth = 4, .chunk = 1 << 20};
struct cp_stats S;

/* Messages start with the name we were run as (cp's style: "cp: ..." when
   installed or linked as cp), set from argv[0] in main. */
const char *cp_prog = "urt-cp";

void cp_err(int err, const char *what, const char *path)
{
	fprintf(stderr, "%s: %s '%s': %s\n", cp_prog, what, path, strerror(err));
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
	fprintf(stderr, "%s: %s\n", cp_prog, line);
}
