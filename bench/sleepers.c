/* SPDX-License-Identifier: MIT */
/*
 * 100k concurrent sleepers: main spawns T tasks that each urt_sleep_ns(10 ms),
 * then joins them all. Wall time from the first spawn to the last join, and
 * the peak RSS of the process (getrusage ru_maxrss). Each run happens in a
 * freshly forked child so the RSS is per run. The loop gets a zeroed
 * (default) struct urt_options.
 * Baseline in the same run: T raw IORING_OP_TIMEOUTs of 10 ms submitted in
 * batches of 256 on a ring set up like urt's (SQ 256, CQ 2048) and all
 * reaped: what 100k individual kernel timers cost (urt keeps its timers in
 * user space behind one kernel timeout, so it may beat this). Rounds
 * alternate urt, raw.
 *
 * Usage: sleepers [T tasks, default 100000] [rounds, default 5]
 */
#include "bench.h"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <urt.h>

#define SLEEP_NS (10 * 1000000LL)
#define SQ_ENTRIES 256
#define CQ_ENTRIES 2048

struct result {
	int64_t wall_ns;
	long maxrss_kb;
	long early;  /* sleeps that ended before 10 ms */
	long errors; /* failed spawns/joins/ops */
	int rc;
};

/* ---- urt ---------------------------------------------------------------- */

static long ntasks;
static urt_task **tasks;

static int sleeper(void *arg)
{
	(void)arg;
	int64_t t0 = urt_now_ns();
	int r = urt_sleep_ns(SLEEP_NS);
	if (r != 0)
		return r;
	return urt_now_ns() - t0 < SLEEP_NS ? 1 : 0;
}

static int urt_main(void *arg)
{
	struct result *res = arg;
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < ntasks; i++)
		if (!(tasks[i] = urt_spawn(sleeper, NULL)))
			res->errors++;
	for (long i = 0; i < ntasks; i++) {
		int r = -1;
		if (!tasks[i])
			continue;
		if (urt_join(tasks[i], &r) != 0 || r < 0)
			res->errors++;
		else if (r == 1)
			res->early++;
	}
	res->wall_ns = bench_now_ns() - t0;
	return 0;
}

static void child_urt(struct result *res)
{
	struct urt_options opts;
	memset(&opts, 0, sizeof(opts)); /* defaults */
	tasks = calloc((size_t)ntasks, sizeof(*tasks));
	if (!tasks) {
		res->rc = -ENOMEM;
		return;
	}
	res->rc = urt_run_opts(&opts, urt_main, res);
}

/* ---- raw liburing timeouts --------------------------------------------- */

static void child_raw(struct result *res)
{
	struct io_uring ring;
	const char *how;
	struct __kernel_timespec ts = {.tv_sec = 0, .tv_nsec = SLEEP_NS};
	int r = bench_ring_init(&ring, SQ_ENTRIES, CQ_ENTRIES, &how);
	if (r < 0) {
		res->rc = r;
		return;
	}
	long submitted = 0, reaped = 0;
	int64_t t0 = bench_now_ns();
	while (reaped < ntasks) {
		/* Fill the SQ with up to 256 timeouts (the kernel copies ts at prep). */
		unsigned n = 0;
		while (submitted < ntasks) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
			if (!sqe)
				break;
			io_uring_prep_timeout(sqe, &ts, 0, 0);
			io_uring_sqe_set_data64(sqe, (uint64_t)submitted);
			submitted++;
			n++;
		}
		/* Submit; wait only when everything is in flight. */
		r = io_uring_submit_and_wait(&ring, submitted == ntasks ? 1 : 0);
		if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY && r != -ETIME) {
			res->rc = r;
			break;
		}
		struct io_uring_cqe *cqe;
		unsigned head, cnt = 0;
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			if (cqe->res != -ETIME)
				res->errors++;
			cnt++;
		}
		io_uring_cq_advance(&ring, cnt);
		reaped += cnt;
		(void)n;
	}
	res->wall_ns = bench_now_ns() - t0;
	io_uring_queue_exit(&ring);
}

/* ---- driver -------------------------------------------------------------- */

static int run_forked(void (*fn)(struct result *), struct result *out)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct result res = {0};
		struct rusage ru;
		close(fd[0]);
		fn(&res);
		getrusage(RUSAGE_SELF, &ru);
		res.maxrss_kb = ru.ru_maxrss;
		if (write(fd[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(3);
		_exit(0);
	}
	close(fd[1]);
	memset(out, 0, sizeof(*out));
	ssize_t got = read(fd[0], out, sizeof(*out));
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	if (got != (ssize_t)sizeof(*out) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "sleepers: child failed (status 0x%x)\n", status);
		return -1;
	}
	if (out->rc != 0 || out->errors) {
		fprintf(stderr, "sleepers: run returned %d with %ld errors\n", out->rc, out->errors);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	ntasks = bench_arg(argc, argv, 1, 100000);
	int rounds = bench_rounds(argc, argv, 2, 5);
	double uw[BENCH_MAX_ROUNDS], rw[BENCH_MAX_ROUNDS], urss[BENCH_MAX_ROUNDS], rrss[BENCH_MAX_ROUNDS];
	long early = 0;
	struct result ru, rr;

	for (int i = 0; i < rounds; i++) {
		if (run_forked(child_urt, &ru) < 0 || run_forked(child_raw, &rr) < 0)
			return 1;
		uw[i] = ru.wall_ns / 1e6;
		rw[i] = rr.wall_ns / 1e6;
		urss[i] = ru.maxrss_kb / 1024.0;
		rrss[i] = rr.maxrss_kb / 1024.0;
		early += ru.early;
	}
	double muw = bench_median(uw, rounds), mrw = bench_median(rw, rounds);
	double mur = bench_median(urss, rounds), mrr = bench_median(rrss, rounds);
	double ratio = bench_median_ratio(uw, rw, rounds);
	double max_rss = urss[0];
	for (int i = 1; i < rounds; i++)
		if (urss[i] > max_rss)
			max_rss = urss[i];
	printf("# sleepers: %ld tasks x 10 ms sleep, %d rounds (forked child each), alternating urt/raw\n",
	       ntasks, rounds);
	for (int i = 0; i < rounds; i++)
		printf("#   round %d: urt %.1f ms %.1f MiB | raw timeouts %.1f ms %.1f MiB\n", i, uw[i], urss[i],
		       rw[i], rrss[i]);
	if (early)
		printf("# WARNING: %ld sleeps ended before 10 ms\n", early);
	printf("sleepers_wall urt_ms=%.1f raw_ms=%.1f ratio=%.3f early=%ld\n", muw, mrw, ratio, early);
	printf("sleepers_rss urt_mib=%.1f raw_mib=%.1f ratio=%.2f urt_max_mib=%.1f kib_per_task=%.2f\n", mur, mrr,
	       mrr > 0 ? mur / mrr : 0, max_rss, (mur - mrr) * 1024.0 / (double)ntasks);
	printf("# summary: %ld sleepers: %.1f ms wall (raw kernel timers %.1f ms, ratio %.2f), peak RSS %.1f MiB "
	       "(raw %.1f MiB); targets <= 200 ms: %s, <= 1 GiB: %s\n",
	       ntasks, muw, mrw, ratio, mur, mrr, muw <= 200 ? "met" : "NOT met",
	       max_rss <= 1024 ? "met" : "NOT met");
	return 0;
}
