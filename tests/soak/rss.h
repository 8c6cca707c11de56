/* SPDX-License-Identifier: MIT */
/* The soak programs' one reading of memory: a process's VmRSS. */
#ifndef SOAK_RSS_H
#define SOAK_RSS_H

#include <stdio.h>

/* VmRSS of process pid (0: this one) in KiB, or -1. */
static long rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	if (pid)
		snprintf(path, sizeof path, "/proc/%ld/status", pid);
	else
		snprintf(path, sizeof path, "/proc/self/status");
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

#endif
