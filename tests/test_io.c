/* SPDX-License-Identifier: MIT */
/*
 * I/O operations through the runtime: pipe reads that block, cancellation
 * and deadlines of ops in flight, and the io_uring lifetime rule (a
 * cancelled op's buffer must not be written after the task resumed).
 */
#include <fcntl.h>
#include <unistd.h>

#include "helpers.h"

struct pipe_ctx {
	int fds[2];
	ssize_t got;
	int after;
	char data[64];
};

static void mkpipe(struct pipe_ctx *c)
{
	cr_assert_eq(pipe2(c->fds, O_CLOEXEC), 0);
}

static int reader(void *arg)
{
	struct pipe_ctx *c = arg;
	char buf[64] __attribute__((aligned(64)));
	memset(buf, 0, sizeof buf);
	c->got = urt_read(c->fds[0], buf, sizeof buf, -1);
	if (c->got > 0)
		memcpy(c->data, buf, (size_t)c->got);
	c->after = urt_nop(); /* cancellation already delivered (or still pending) */
	return (int)c->got;
}

/* Overwrite the stack region the reader used, by running other tasks. */
static int scribbler(void *arg)
{
	(void)arg;
	volatile char junk[4096];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (char)0xAA;
	return junk[7];
}

static int cancel_pipe_read_main(void *arg)
{
	struct pipe_ctx *c = arg;
	mkpipe(c);
	urt_task *t = urt_spawn(reader, c);
	cr_assert_eq(urt_sleep_ms(5), 0); /* reader is now blocked in the kernel */
	urt_cancel(t);
	int res = 0;
	cr_assert_eq(urt_join(t, &res), 0);
	cr_assert_eq(res, -ECANCELED);
	cr_assert_eq(c->after, 0);
	/* Reuse the freed stack, then write: the cancelled read must be gone,
	   so the bytes stay in the pipe for us instead of landing in dead memory. */
	urt_task *s = urt_spawn(scribbler, NULL);
	cr_assert_eq(urt_join(s, NULL), 0);
	cr_assert_eq(write(c->fds[1], "hello", 5), 5);
	char buf[16] __attribute__((aligned(64)));
	cr_assert_eq(urt_read(c->fds[0], buf, sizeof buf, -1), 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	close(c->fds[0]);
	close(c->fds[1]);
	return 0;
}

Test(io, cancel_blocked_pipe_read_keeps_buffer_safe)
{
	struct pipe_ctx c = {0};
	cr_assert_eq(urt_run(cancel_pipe_read_main, &c), 0);
}

/* The op completes before the cancel is seen: the data is not lost, and the
   cancellation arrives at the next suspension point instead. */
static int race_main(void *arg)
{
	struct pipe_ctx *c = arg;
	mkpipe(c);
	urt_task *t = urt_spawn(reader, c);
	cr_assert_eq(urt_sleep_ms(5), 0);
	cr_assert_eq(write(c->fds[1], "xyz", 3), 3);
	/* Let the loop reap the completion so the reader is ready, not running. */
	for (int i = 0; i < 5 && c->got == 0; i++) {
		cr_assert_eq(urt_nop(), 0);
		if (urt_task_done(t))
			break;
	}
	urt_cancel(t);
	int res = 0;
	cr_assert_eq(urt_join(t, &res), 0);
	if (res == 3) {
		cr_assert_eq(memcmp(c->data, "xyz", 3), 0);
	} else {
		/* cancel won: the bytes must still be in the pipe */
		cr_assert_eq(res, -ECANCELED);
		char buf[8];
		cr_assert_eq(urt_read(c->fds[0], buf, sizeof buf, -1), 3);
	}
	close(c->fds[0]);
	close(c->fds[1]);
	return 0;
}

Test(io, completed_op_wins_over_late_cancel)
{
	struct pipe_ctx c = {0};
	cr_assert_eq(urt_run(race_main, &c), 0);
}

static int readers_main(void *arg)
{
	(void)arg;
	enum { N = 200 };
	static struct pipe_ctx c[N];
	urt_task *t[N];
	for (int i = 0; i < N; i++) {
		mkpipe(&c[i]);
		t[i] = urt_spawn(reader, &c[i]);
	}
	cr_assert_eq(urt_sleep_ms(5), 0);
	for (int i = 0; i < N; i++)
		urt_cancel(t[i]);
	int res[N];
	cr_assert_eq(urt_join_all(t, N, res), N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(res[i], -ECANCELED);
		close(c[i].fds[0]);
		close(c[i].fds[1]);
	}
	return 0;
}

/* Many blocked ops cancelled at once on a small ring (SQ full while cancelling). */
Test(io, cancel_many_blocked_reads_small_ring)
{
	struct urt_options o = {.sq_entries = 4, .cq_entries = 8};
	cr_assert_eq(urt_run_opts(&o, readers_main, NULL), 0);
}

static int deadline_read_main(void *arg)
{
	struct pipe_ctx *c = arg;
	mkpipe(c);
	char buf[8] __attribute__((aligned(64)));
	cr_assert_eq(urt_deadline_push(MS(10)), 0);
	cr_assert_eq(urt_read(c->fds[0], buf, sizeof buf, -1), -ETIMEDOUT);
	urt_deadline_pop();
	/* the timed-out read is gone: new data goes to the next read */
	cr_assert_eq(write(c->fds[1], "ab", 2), 2);
	cr_assert_eq(urt_read(c->fds[0], buf, sizeof buf, -1), 2);
	/* a deadline that does not expire leaves a fast op alone */
	cr_assert_eq(urt_deadline_push(SEC(10)), 0);
	cr_assert_eq(write(c->fds[1], "c", 1), 1);
	cr_assert_eq(urt_read(c->fds[0], buf, sizeof buf, -1), 1);
	cr_assert_eq(urt_nop(), 0);
	urt_deadline_pop();
	close(c->fds[0]);
	close(c->fds[1]);
	return 0;
}

Test(io, deadline_on_blocking_pipe_read)
{
	struct pipe_ctx c = {0};
	cr_assert_eq(urt_run(deadline_read_main, &c), 0);
}

static int eof_main(void *arg)
{
	struct pipe_ctx *c = arg;
	mkpipe(c);
	char buf[16] __attribute__((aligned(64)));
	cr_assert_eq(urt_write(c->fds[1], "abc", 3, -1), 3);
	close(c->fds[1]);
	cr_assert_eq(urt_read(c->fds[0], buf, sizeof buf, -1), 3); /* short read */
	cr_assert_eq(urt_read(c->fds[0], buf, sizeof buf, -1), 0); /* EOF */
	close(c->fds[0]);
	cr_assert_eq(urt_read(c->fds[0], buf, sizeof buf, -1), -EBADF);
	cr_assert_eq(urt_write(-1, "x", 1, -1), -EBADF);
	return 0;
}

Test(io, short_read_eof_and_ebadf)
{
	struct pipe_ctx c = {0};
	cr_assert_eq(urt_run(eof_main, &c), 0);
}

static int closed_peer_main(void *arg)
{
	struct pipe_ctx *c = arg;
	mkpipe(c);
	close(c->fds[0]);
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(urt_write(c->fds[1], "x", 1, -1), -EPIPE);
	close(c->fds[1]);
	return 0;
}

Test(io, write_to_closed_pipe_epipe)
{
	struct pipe_ctx c = {0};
	cr_assert_eq(urt_run(closed_peer_main, &c), 0);
}

/* main returns while a task is blocked in a read: the loop cancels it and
   waits for the op's CQE before tearing down. */
static struct pipe_ctx shutdown_ctx;
static int shutdown_main(void *arg)
{
	(void)arg;
	mkpipe(&shutdown_ctx);
	urt_spawn_attr(&(struct urt_spawn_attr){.detached = true}, reader, &shutdown_ctx);
	cr_assert_eq(urt_sleep_ms(2), 0);
	return 5;
}

Test(io, shutdown_cancels_blocked_read)
{
	cr_assert_eq(urt_run(shutdown_main, NULL), 5);
	cr_assert_eq(shutdown_ctx.got, -ECANCELED);
	close(shutdown_ctx.fds[0]);
	close(shutdown_ctx.fds[1]);
}
