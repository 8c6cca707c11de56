/* SPDX-License-Identifier: MIT */
/*
 * The environment knobs, read in one place (README, "Environment"): the
 * rest of the library asks urt__env() and never calls getenv, so what a
 * program's environment can change is all here. Read afresh at each call
 * (when a loop or a runtime starts: cold), so a program, or a test, that
 * sets one before its next urt_run is heard.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/fault.h"

struct urt__env urt__env(void)
{
	struct urt__env env = {0};
	const char *e = getenv("URT_BACKEND");
	if (!e || !*e)
		env.backend = URT__ENV_BE_ANY;
	else if (!strcmp(e, "io_uring"))
		env.backend = URT__ENV_BE_URING;
	else if (!strcmp(e, "epoll"))
		env.backend = URT__ENV_BE_EPOLL;
	else
		env.backend = URT__ENV_BE_BAD;
	e = getenv("URT_RING_FLAGS");
	env.ring_flags = e ? (unsigned)strtoul(e, NULL, 0) : 0;
	e = getenv("URT_DEBUG");
	env.debug = e && *e && *e != '0';
	e = getenv("URT_VIRTUAL_TIME");
	env.virtual_time = e && *e && *e != '0';
	e = getenv("URT_DOORBELL");
	env.doorbell_eventfd = e && !strcmp(e, "eventfd");
	e = getenv("URT_FAULT");
	unsigned named;
	env.fault = 0;
	if (e && *e)
		env.fault = urt__fault_parse(e, &env.fault_seed, &env.fault_rate, &env.fault_kinds,
					     &named) ? -EINVAL : 1;
	return env;
}
