/* SPDX-License-Identifier: MIT */
/*
 * Starting a loop: core makes it (core/loop.c) on the backend that
 * backend/select.c opens; exec/ adds what lives above the core, the
 * executor for the backend's blocking calls and the queue other threads
 * submit through (remote.c). urt_run_loops (loops.c) starts one per
 * thread the same way.
 */
#include <errno.h>

#include "backend/select.h"
#include "exec/exec.h"

int urt__exec_loop_open(const struct urt_options *o, bool embedded, struct urt_loop **out)
{
	struct urt_loop *L;
	int r = urt__loop_open(o, embedded, urt__backend_open, &L);
	if (r)
		return r;
	L->run_blocking = urt__offload_wait;
	r = urt__remote_init(L);
	if (r) {
		urt__loop_close(L);
		return r;
	}
	*out = L;
	return 0;
}

int urt_run_opts(const struct urt_options *o, int (*main_fn)(void *), void *arg)
{
	if (urt__L)
		return -EBUSY;
	if (!main_fn)
		return -EINVAL;
	struct urt_loop *L;
	int r = urt__exec_loop_open(o, false, &L);
	if (r)
		return r;
	return urt__loop_run_main(L, main_fn, arg);
}

int urt_run(int (*main_fn)(void *), void *arg)
{
	return urt_run_opts(NULL, main_fn, arg);
}

int urt_loop_new(const struct urt_options *o, urt_loop **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	struct urt_loop *L;
	int r = urt__exec_loop_open(o, true, &L);
	if (r)
		return r;
	urt__remote_enable(L); /* a loop the program drives takes work from any thread */
	*out = L;
	return 0;
}
