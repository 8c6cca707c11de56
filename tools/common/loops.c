/* SPDX-License-Identifier: MIT */
/*
 * A tool's loops: loop i runs the tool's fn on its own share of the
 * arguments, as a task on loop i (spawned there from loop 0's main task
 * with urt_spawn_on, and joined).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_loops.h"

/* Loop i's part, run as a task there (loop 0's in the main task). */
static int loop_task(void *arg)
{
	struct tool_loops **slot = arg, *tl = *slot;
	size_t index = (size_t)(slot - tl->slots);
	int r = tl->fn((char *)tl->args + index * tl->size);
	tool_stop_all(tl); /* nothing new once all stop; a failed loop takes the others along */
	return r;
}

static int runtime_main(void *arg)
{
	struct tool_loops *tl = arg;
	urt_remote **h = calloc(tl->n, sizeof *h);
	if (!h) {
		fprintf(stderr, "%s: %s\n", tl->name, strerror(ENOMEM));
		return 1;
	}
	int status = 0;
	unsigned started = 1;
	for (; started < tl->n; started++) {
		int e = urt_spawn_on(urt_loops_get(started), loop_task, &tl->slots[started],
				     &h[started]);
		if (e) {
			fprintf(stderr, "%s: cannot start loop %u: %s\n", tl->name, started, strerror(-e));
			tool_stop_all(tl); /* the parts already started end too */
			status = 1;
			break;
		}
	}
	if (!status)
		status = loop_task(&tl->slots[0]);
	for (unsigned i = 1; i < started; i++) {
		int r = 1;
		urt_remote_wait(h[i], &r);
		if (!status)
			status = r;
	}
	free(h);
	return status;
}

int tool_run_loops(struct tool_loops *tl)
{
	tl->slots = calloc(tl->n, sizeof *tl->slots);
	if (!tl->slots) {
		fprintf(stderr, "%s: %s\n", tl->name, strerror(ENOMEM));
		return 1;
	}
	for (unsigned i = 0; i < tl->n; i++)
		tl->slots[i] = tl;
	int r = urt_run_loops(tl->n, tl->pin ? URT_LOOPS_PIN : 0, &tl->opts, runtime_main, tl);
	free(tl->slots);
	tl->slots = NULL;
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", tl->name, strerror(-r));
		return 1;
	}
	return r;
}
