/* SPDX-License-Identifier: MIT */
/*
 * How a worker thread should wake a loop thread's ring when work it ran for
 * the loop is done (urt_offload's completion path): raw liburing, no urt.
 *
 *   efd: the worker write(2)s an eventfd; the loop keeps an IORING_OP_READ
 *        of it in its ring and re-arms it after each completion (what
 *        src/exec/offload.c does).
 *   msg: the worker posts IORING_OP_MSG_RING from a small ring of its own
 *        to the loop ring's fd (IOSQE_CQE_SKIP_SUCCESS: nothing to reap on
 *        the worker's ring); the message is the loop's CQE.
 *
 * The loop ring is set up like urt's (SINGLE_ISSUER|DEFER_TASKRUN, else
 * COOP_TASKRUN; SQ 256, CQ 2048); the worker's ring has 128 entries, no
 * flags. Requests go loop -> worker through a mutex + condvar (signalled
 * only when the worker is idle), as in urt's pool, so only the reply path
 * differs. The loop waits with io_uring_submit_and_wait (one io_uring_enter
 * that also submits the re-armed read).
 *
 *   rt:    one request at a time, N round trips: us per round trip.
 *   batch: the loop posts 64 requests at once and waits for all; the worker
 *          runs the 64 then signals: efd one write (one CQE), msg64 64
 *          MSG_RING SQEs in one io_uring_enter (64 CQEs), msg1x64 one
 *          MSG_RING + io_uring_enter per item as it completes (64 enters,
 *          64 CQEs: what a pool without batching would do), msg1 one
 *          MSG_RING for the batch (a doorbell, like the eventfd write).
 *          N/10 batches.
 * Rounds alternate efd-rt, msg-rt, efd-batch, msg64-batch, msg1x64-batch,
 * msg1-batch.
 * Ratios are efd/msg, urt's choice over the alternative (median of per-round
 * ratios; < 1: eventfd faster).
 *
 * Usage: wakeup [N, default 100000] [rounds, default 7] [mode]
 *   mode = all | efd-rt | msg-rt | efd-batch | msg64-batch | msg1x64-batch |
 *          msg1-batch
 *   (one mode runs once: for strace -c -f).
 * Environment: WAKEUP_RING=coop (COOP_TASKRUN) or none (no flags) sets the
 * loop ring up without DEFER_TASKRUN, for comparison.
 */
#include "bench.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BATCH 64
#define EFD_UD 0xefdULL
#define MSG_UD (1ULL << 63)

enum mode { M_EFD, M_MSG, M_MSG_EACH, M_MSG_ONE };

static struct io_uring ring; /* the loop's */
static const char *ring_how = "?";

struct chan {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	long req; /* items posted so far */
	int idle;
	bool stop;
	enum mode mode;
	int efd;
	long errors;
	volatile long sink;
};

static void *worker(void *arg)
{
	struct chan *c = arg;
	struct io_uring wr;
	long seen = 0, errors = 0;
	if (c->mode != M_EFD && io_uring_queue_init(128, &wr, 0) < 0) {
		pthread_mutex_lock(&c->mu);
		c->errors++;
		c->stop = true;
		pthread_mutex_unlock(&c->mu);
		return NULL;
	}
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (c->req == seen && !c->stop) {
			c->idle++;
			pthread_cond_wait(&c->cv, &c->mu);
			c->idle--;
		}
		if (c->req == seen)
			break;
		long first = seen, k = c->req - seen;
		seen = c->req;
		pthread_mutex_unlock(&c->mu);
		for (long j = 0; j < k; j++) {
			c->sink += first + j; /* the "work" */
			if (c->mode == M_MSG || c->mode == M_MSG_EACH) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(&wr);
				io_uring_prep_msg_ring(sqe, ring.ring_fd, 0, MSG_UD | (uint64_t)(first + j), 0);
				sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
				if (c->mode == M_MSG_EACH && io_uring_submit(&wr) != 1)
					errors++;
			}
		}
		if (c->mode == M_MSG && io_uring_submit(&wr) != (int)k)
			errors++;
		if (c->mode == M_MSG_ONE) { /* one doorbell for the batch */
			struct io_uring_sqe *sqe = io_uring_get_sqe(&wr);
			io_uring_prep_msg_ring(sqe, ring.ring_fd, 0, MSG_UD | (uint64_t)first, 0);
			sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
			if (io_uring_submit(&wr) != 1)
				errors++;
		}
		if (c->mode == M_EFD) {
			uint64_t one = 1;
			if (write(c->efd, &one, sizeof one) != sizeof one)
				errors++;
		} else {
			struct io_uring_cqe *cqe; /* only failed MSG_RINGs post here */
			while (io_uring_peek_cqe(&wr, &cqe) == 0) {
				errors++;
				io_uring_cqe_seen(&wr, cqe);
			}
		}
		pthread_mutex_lock(&c->mu);
	}
	c->errors += errors;
	pthread_mutex_unlock(&c->mu);
	if (c->mode != M_EFD)
		io_uring_queue_exit(&wr);
	return NULL;
}

static void post(struct chan *c, long k)
{
	pthread_mutex_lock(&c->mu);
	c->req += k;
	if (c->idle)
		pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/* Wait for `want` CQEs: one eventfd read completion (efd) or `want` messages. */
static long reap(struct chan *c, unsigned want, uint64_t *efd_buf)
{
	long bad = 0;
	unsigned got = 0;
	if (c->mode == M_EFD) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		io_uring_prep_read(sqe, c->efd, efd_buf, sizeof *efd_buf, 0);
		io_uring_sqe_set_data64(sqe, EFD_UD);
		want = 1;
	} else if (c->mode == M_MSG_ONE) {
		want = 1;
	}
	while (got < want) {
		int r = io_uring_submit_and_wait(&ring, want - got);
		if (r < 0 && r != -EINTR && r != -ETIME)
			return -1000000;
		struct io_uring_cqe *cqe;
		unsigned head, cnt = 0;
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			if (c->mode == M_EFD)
				bad += cqe->user_data != EFD_UD || cqe->res != 8 || *efd_buf != 1;
			else
				bad += cqe->res != 0 || !(cqe->user_data & MSG_UD);
			cnt++;
		}
		io_uring_cq_advance(&ring, cnt);
		got += cnt;
	}
	return bad;
}

/* One contender: `iters` times { post k items; wait for the signal(s) }.
   Returns ns per iteration, or < 0. */
static double run(enum mode mode, long iters, long k)
{
	struct chan c = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .mode = mode, .efd = -1};
	uint64_t efd_buf = 0;
	long bad = 0;
	pthread_t th;
	if (mode == M_EFD && (c.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -1;
	if (pthread_create(&th, NULL, worker, &c))
		return -1;
	long warm = iters / 10 < 100 ? 100 : iters / 10;
	for (long i = 0; i < warm; i++) {
		post(&c, k);
		bad += reap(&c, (unsigned)k, &efd_buf);
	}
	int64_t t0 = bench_now_ns();
	for (long i = 0; i < iters; i++) {
		post(&c, k);
		bad += reap(&c, (unsigned)k, &efd_buf);
	}
	int64_t t1 = bench_now_ns();
	pthread_mutex_lock(&c.mu);
	c.stop = true;
	pthread_cond_signal(&c.cv);
	pthread_mutex_unlock(&c.mu);
	pthread_join(th, NULL);
	if (c.efd >= 0)
		close(c.efd);
	if (bad || c.errors) {
		fprintf(stderr, "wakeup: mode %d: %ld bad CQEs, %ld worker errors\n", (int)mode, bad, c.errors);
		return -1;
	}
	return (double)(t1 - t0) / (double)iters;
}

int main(int argc, char **argv)
{
	long n = bench_arg(argc, argv, 1, 100000);
	int rounds = bench_rounds(argc, argv, 2, 7);
	const char *mode = argc > 3 ? argv[3] : "all";
	long nb = n / 10 > 0 ? n / 10 : 1;
	static double ert[BENCH_MAX_ROUNDS], mrt[BENCH_MAX_ROUNDS], eb[BENCH_MAX_ROUNDS], mb[BENCH_MAX_ROUNDS],
		m1b[BENCH_MAX_ROUNDS], mob[BENCH_MAX_ROUNDS];

	/* WAKEUP_RING=coop or none: a loop ring without DEFER_TASKRUN (for comparison) */
	const char *rf = getenv("WAKEUP_RING");
	int r;
	if (rf && (!strcmp(rf, "coop") || !strcmp(rf, "none"))) {
		struct io_uring_params p;
		memset(&p, 0, sizeof p);
		p.flags = IORING_SETUP_CQSIZE | (!strcmp(rf, "coop") ? IORING_SETUP_COOP_TASKRUN : 0);
		p.cq_entries = 2048;
		r = io_uring_queue_init_params(256, &ring, &p);
		ring_how = !strcmp(rf, "coop") ? "coop_taskrun" : "none";
	} else {
		r = bench_ring_init(&ring, 256, 2048, &ring_how);
	}
	if (r < 0) {
		fprintf(stderr, "wakeup: io_uring_queue_init_params: %s\n", strerror(-r));
		return 1;
	}
	if (strcmp(mode, "all") != 0) {
		double v;
		long iters = n, items = 1;
		if (!strcmp(mode, "efd-rt"))
			v = run(M_EFD, n, 1);
		else if (!strcmp(mode, "msg-rt"))
			v = run(M_MSG, n, 1);
		else if (!strcmp(mode, "efd-batch"))
			v = run(M_EFD, iters = nb, items = BATCH);
		else if (!strcmp(mode, "msg64-batch"))
			v = run(M_MSG, iters = nb, items = BATCH);
		else if (!strcmp(mode, "msg1x64-batch"))
			v = run(M_MSG_EACH, iters = nb, items = BATCH);
		else if (!strcmp(mode, "msg1-batch"))
			v = run(M_MSG_ONE, iters = nb, items = BATCH);
		else {
			fprintf(stderr, "wakeup: unknown mode %s\n", mode);
			return 2;
		}
		if (v < 0)
			return 1;
		/* iterations including the warm-up, for per-iteration syscall counts */
		long warm = iters / 10 < 100 ? 100 : iters / 10;
		printf("wakeup_mode mode=%s iters=%ld total_iters=%ld items_per_iter=%ld ns_per_iter=%.1f\n", mode,
		       iters, iters + warm, items, v);
		return 0;
	}

	if (run(M_EFD, n / 10, 1) < 0 || run(M_MSG, n / 10, 1) < 0) /* warm-up */
		return 1;
	for (int i = 0; i < rounds; i++) {
		ert[i] = run(M_EFD, n, 1);
		mrt[i] = run(M_MSG, n, 1);
		eb[i] = run(M_EFD, nb, BATCH);
		mb[i] = run(M_MSG, nb, BATCH);
		m1b[i] = run(M_MSG_EACH, nb, BATCH);
		mob[i] = run(M_MSG_ONE, nb, BATCH);
		if (ert[i] < 0 || mrt[i] < 0 || eb[i] < 0 || mb[i] < 0 || m1b[i] < 0 || mob[i] < 0)
			return 1;
	}
	double me = bench_median(ert, rounds), mm = bench_median(mrt, rounds);
	double meb = bench_median(eb, rounds), mmb = bench_median(mb, rounds), mm1b = bench_median(m1b, rounds);
	double mob1 = bench_median(mob, rounds);
	printf("# wakeup: %ld round trips, %ld batches of %d x %d rounds; loop ring flags: %s\n", n, nb, BATCH,
	       rounds, ring_how);
	for (int i = 0; i < rounds; i++)
		printf("#   round %d: rt efd %.2f msg %.2f us | batch of %d: efd %.2f msg64 %.2f msg1x64 %.2f msg1 %.2f "
		       "us\n",
		       i, ert[i] / 1e3, mrt[i] / 1e3, BATCH, eb[i] / 1e3, mb[i] / 1e3, m1b[i] / 1e3, mob[i] / 1e3);
	printf("wakeup_rt efd_us=%.2f msg_us=%.2f ratio=%.3f efd_min_us=%.2f msg_min_us=%.2f\n", me / 1e3, mm / 1e3,
	       bench_median_ratio(ert, mrt, rounds), bench_min(ert, rounds) / 1e3, bench_min(mrt, rounds) / 1e3);
	printf("wakeup_batch efd_us=%.2f msg64_us=%.2f msg1x64_us=%.2f msg1_us=%.2f ratio64=%.3f ratio1x64=%.3f "
	       "ratio1=%.3f efd_ns_item=%.1f msg64_ns_item=%.1f msg1x64_ns_item=%.1f msg1_ns_item=%.1f\n",
	       meb / 1e3, mmb / 1e3, mm1b / 1e3, mob1 / 1e3, bench_median_ratio(eb, mb, rounds),
	       bench_median_ratio(eb, m1b, rounds), bench_median_ratio(eb, mob, rounds), meb / BATCH, mmb / BATCH,
	       mm1b / BATCH, mob1 / BATCH);
	printf("# summary: round trip eventfd %.2f us, MSG_RING %.2f us; batch of %d: eventfd %.2f us, MSG_RING "
	       "x64 in one enter %.2f us, one enter per item %.2f us, one MSG_RING per batch %.2f us\n",
	       me / 1e3, mm / 1e3, BATCH, meb / 1e3, mmb / 1e3, mm1b / 1e3, mob1 / 1e3);
	io_uring_queue_exit(&ring);
	return 0;
}
