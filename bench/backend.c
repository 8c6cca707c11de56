/* SPDX-License-Identifier: MIT */
/*
 * urt's two backends side by side: the same task code on io_uring and on
 * the epoll fallback (URT_OPT_BACKEND_EPOLL), alternating loop by loop
 * (round i: io_uring then epoll, or the other way round on odd rounds).
 *
 *   nop      urt_nop round trips, 1 task (epoll: a trip through the ready
 *            queue; io_uring: an SQE and a CQE)
 *   pipe     1-byte ping-pong between two tasks over two pipes (a read that
 *            must wait and a write, per hop)
 *   pread    4 KiB urt_read of a page-cache-hot file (epoll: RWF_NOWAIT
 *            completes inline; io_uring: inline too, in the submitting enter)
 *   stat     urt_statx of that file (epoll: a worker thread per call)
 *
 * Prints one line per figure: NAME uring_ns=.. epoll_ns=.. ratio=.. (ratio
 * = median of per-round epoll/uring).
 *
 *   bench_backend [N] [ROUNDS]
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "urt.h"

static long N = 200000;
static char path[] = "/tmp/urt-bench-backend.XXXXXX";

struct pp {
	int a[2], b[2];
	long n;
};

static int pong(void *arg)
{
	struct pp *p = arg;
	char c;
	for (long i = 0; i < p->n; i++) {
		if (urt_read(p->a[0], &c, 1, -1) != 1 || urt_write(p->b[1], &c, 1, -1) != 1)
			return -1;
	}
	return 0;
}

/* the figure being measured, in ns per op */
static int fig;
static double out_ns;

static int body(void *arg)
{
	(void)arg;
	int64_t t0 = bench_now_ns();
	long n = N;
	if (fig == 0) {
		for (long i = 0; i < n; i++)
			urt_nop();
	} else if (fig == 1) {
		struct pp p = {.n = n / 4};
		if (pipe(p.a) || pipe(p.b))
			return -1;
		n = p.n;
		t0 = bench_now_ns();
		urt_task *t = urt_spawn(pong, &p);
		char c = 'x';
		for (long i = 0; i < p.n; i++) {
			if (urt_write(p.a[1], &c, 1, -1) != 1 || urt_read(p.b[0], &c, 1, -1) != 1)
				return -1;
		}
		urt_join(t, NULL);
		close(p.a[0]), close(p.a[1]), close(p.b[0]), close(p.b[1]);
	} else if (fig == 2) {
		int fd = urt_open(path, O_RDONLY, 0);
		static char buf[4096] __attribute__((aligned(64)));
		for (long i = 0; i < n; i++)
			if (urt_read(fd, buf, sizeof buf, (i & 255) * 4096) != sizeof buf)
				return -1;
		urt_close(fd);
	} else {
		struct statx st;
		n /= 10;
		for (long i = 0; i < n; i++)
			if (urt_statx(AT_FDCWD, path, 0, STATX_SIZE, &st) < 0)
				return -1;
	}
	out_ns = (double)(bench_now_ns() - t0) / (double)n;
	return 0;
}

static double run_one(int f, bool epoll)
{
	struct urt_options o = {.flags = epoll ? URT_OPT_BACKEND_EPOLL : URT_OPT_BACKEND_URING};
	fig = f;
	if (urt_run_opts(&o, body, NULL) != 0) {
		fprintf(stderr, "bench_backend: figure %d on %s failed\n", f, epoll ? "epoll" : "io_uring");
		exit(1);
	}
	return out_ns;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		N = atol(argv[1]);
	int rounds = argc > 2 ? atoi(argv[2]) : 7;
	if (N < 100 || rounds < 1 || rounds > BENCH_MAX_ROUNDS) {
		fprintf(stderr, "usage: bench_backend [N >= 100] [ROUNDS 1..%d]\n", BENCH_MAX_ROUNDS);
		return 2;
	}
	int fd = mkstemp(path);
	static char blk[1 << 20];
	memset(blk, 'x', sizeof blk);
	if (fd < 0 || write(fd, blk, sizeof blk) != (ssize_t)sizeof blk)
		return 1;
	close(fd);
	static const char *names[] = {"backend_nop", "backend_pipe_rt", "backend_pread4k", "backend_statx"};
	for (int f = 0; f < 4; f++) {
		double u[BENCH_MAX_ROUNDS], e[BENCH_MAX_ROUNDS], r[BENCH_MAX_ROUNDS];
		for (int i = 0; i < rounds; i++) {
			if (i & 1) {
				e[i] = run_one(f, true);
				u[i] = run_one(f, false);
			} else {
				u[i] = run_one(f, false);
				e[i] = run_one(f, true);
			}
			r[i] = e[i] / u[i];
		}
		printf("%s uring_ns=%.1f epoll_ns=%.1f ratio=%.3f ratio_min=%.3f\n", names[f],
		       bench_median(u, rounds), bench_median(e, rounds), bench_median(r, rounds),
		       bench_min(r, rounds));
	}
	unlink(path);
	return 0;
}
