/* SPDX-License-Identifier: MIT */
/*
 * Seeded fault injection (issue 23; core/fault.h, backend/fault.c), in a
 * build with -Dfault_injection=true, on each backend (meson runs this
 * file on io_uring, COOP_TASKRUN and epoll like the others):
 *  - URT_FAULT that does not parse: urt_run refuses with -EINVAL;
 *  - a seed replays: the same ops see the same faults, another seed others;
 *  - every kind fires and is what the op could really return: -EIO and
 *    -ENOSPC on files, -ECONNRESET/-EPIPE on sockets, -EMFILE/-ENOMEM on
 *    open and socket, short transfers, a failed spawn;
 *  - short transfers are real: urt_write_all and urt_send_all still put
 *    every byte, in order, exactly once;
 *  - an injected error is no lie: the op did not run (a file written under
 *    -EIO keeps its old bytes);
 *  - a pending cancellation still wins over an injected fault.
 * Each test sets URT_FAULT before its urt_run (criterion forks a process
 * per test, so nothing leaks into the next).
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(fault, .timeout = 60);

static void fault_env(const char *spec)
{
	cr_assert_eq(setenv("URT_FAULT", spec, 1), 0);
}

static int main_nop(void *arg)
{
	(void)arg;
	return 0;
}

Test(fault, bad_spec_refused)
{
	const char *bad[] = {"rate=0.5", "seed=x", "seed=1,rate=2", "seed=1,kinds=disk",
			     "seed=1,color=red", "seed=1,rate"};
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		fault_env(bad[i]);
		CHECK(urt_run(main_nop, NULL), -EINVAL);
	}
	fault_env("seed=1,rate=0.5,kinds=short+io");
	CHECK(urt_run(main_nop, NULL), 0);
}

/* 400 writes of 64 bytes to a file: the sequence of results. */
#define NOPS 400
static int seq[NOPS];
static uint64_t seq_faults;

static int main_sequence(void *arg)
{
	(void)arg;
	char path[] = "/tmp/urt-fault-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	char buf[64];
	memset(buf, 'x', sizeof buf);
	for (int i = 0; i < NOPS; i++)
		seq[i] = (int)urt_write(fd, buf, sizeof buf, (int64_t)i * 64);
	struct urt_stats st;
	OK(urt_stats_get(&st));
	seq_faults = st.faults;
	close(fd);
	return 0;
}

Test(fault, a_seed_replays)
{
	int first[NOPS];
	fault_env("seed=7,rate=0.1,kinds=short+io");
	RUN(main_sequence, NULL);
	memcpy(first, seq, sizeof seq);
	uint64_t faults = seq_faults;
	cr_assert_gt(faults, 10, "rate 0.1 over 400 writes injected %llu faults",
		     (unsigned long long)faults);
	cr_assert_lt(faults, 120);
	RUN(main_sequence, NULL);
	cr_assert_eq(memcmp(first, seq, sizeof seq), 0, "seed 7 did not replay");
	cr_assert_eq(seq_faults, faults);
	fault_env("seed=8,rate=0.1,kinds=short+io");
	RUN(main_sequence, NULL);
	cr_assert_neq(memcmp(first, seq, sizeof seq), 0, "seeds 7 and 8 gave the same faults");
	unsetenv("URT_FAULT");
	RUN(main_sequence, NULL);
	cr_assert_eq(seq_faults, 0);
	for (int i = 0; i < NOPS; i++)
		cr_assert_eq(seq[i], 64);
}

/* Every result of a faulted file write is one a write could return: the
   full count, a shorter one, -EIO or -ENOSPC; and an error wrote nothing. */
static int main_file_kinds(void *arg)
{
	(void)arg;
	char path[] = "/tmp/urt-fault-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	char old[256], buf[256], back[256];
	memset(old, 'o', sizeof old);
	memset(buf, 'n', sizeof buf);
	int shorts = 0, eio = 0, enospc = 0;
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(pwrite(fd, old, sizeof old, 0), (ssize_t)sizeof old);
		ssize_t n = urt_write(fd, buf, sizeof buf, 0);
		cr_assert_eq(pread(fd, back, sizeof back, 0), (ssize_t)sizeof back);
		if (n == -EIO || n == -ENOSPC) {
			eio += n == -EIO, enospc += n == -ENOSPC;
			cr_assert_eq(memcmp(back, old, sizeof old), 0, "a failed write wrote");
			continue;
		}
		cr_assert(n > 0 && n <= (ssize_t)sizeof buf, "write returned %zd", n);
		shorts += n < (ssize_t)sizeof buf;
		cr_assert_eq(memcmp(back, buf, (size_t)n), 0);
		cr_assert_eq(memcmp(back + n, old + n, sizeof old - (size_t)n), 0,
			     "a short write wrote past its count");
	}
	cr_assert_gt(shorts, 0);
	cr_assert_gt(eio, 0);
	cr_assert_gt(enospc, 0);
	close(fd);
	return 0;
}

Test(fault, file_faults_are_real_ones)
{
	fault_env("seed=3,rate=0.3,kinds=short+io");
	RUN(main_file_kinds, NULL);
}

/* rate 1, one kind at a time: every site of that kind fails, the others
   run as usual. */
static int main_rate1_io(void *arg)
{
	(void)arg;
	char path[] = "/tmp/urt-fault-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	char c = 'c';
	ssize_t n = urt_write(fd, &c, 1, 0);
	cr_assert(n == -EIO || n == -ENOSPC, "write: %zd", n);
	CHECK(urt_read(fd, &c, 1, 0), -EIO);
	CHECK(urt_fsync(fd), -EIO);
	CHECK(urt_fallocate(fd, 0, 0, 4096), -ENOSPC);
	int fd2 = urt_open(path, O_RDONLY, 0); /* io faults do not touch open */
	cr_assert_geq(fd2, 0);
	OK(urt_close(fd2));
	OK(urt_close(fd));
	unlink(path);
	return 0;
}

Test(fault, io_kind_at_rate_1)
{
	fault_env("seed=1,rate=1,kinds=io");
	RUN(main_rate1_io, NULL);
}

static int main_rate1_nofd(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++) {
		int fd = urt_open("/dev/null", O_RDONLY, 0);
		cr_assert(fd == -EMFILE || fd == -ENOMEM, "open: %d", fd);
		fd = urt_socket(AF_INET, SOCK_STREAM, 0);
		cr_assert(fd == -EMFILE || fd == -ENOMEM, "socket: %d", fd);
	}
	return 0;
}

Test(fault, nofd_kind_at_rate_1)
{
	fault_env("seed=2,rate=1,kinds=nofd");
	RUN(main_rate1_nofd, NULL);
}

static int sv[2];

static int main_rate1_net(void *arg)
{
	(void)arg;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	char c = 'c';
	for (int i = 0; i < 20; i++) {
		ssize_t n = urt_send(sv[0], &c, 1, 0);
		cr_assert(n == -EPIPE || n == -ECONNRESET, "send: %zd", n);
	}
	CHECK(urt_recv(sv[1], &c, 1, 0), -ECONNRESET);
	char none;
	cr_assert_eq(recv(sv[1], &none, 1, MSG_DONTWAIT), -1, "an injected send sent");
	close(sv[0]);
	close(sv[1]);
	return 0;
}

Test(fault, net_kind_at_rate_1)
{
	fault_env("seed=4,rate=1,kinds=net");
	RUN(main_rate1_net, NULL);
}

static int main_rate1_spawn(void *arg)
{
	(void)arg;
	errno = 0;
	cr_assert_null(urt_spawn(main_nop, NULL));
	cr_assert_eq(errno, ENOMEM);
	return 0;
}

Test(fault, spawn_kind_at_rate_1)
{
	fault_env("seed=5,rate=1,kinds=spawn"); /* main itself is spawned first */
	CHECK(urt_run(main_rate1_spawn, NULL), -ENOMEM);
	fault_env("seed=5,rate=0,kinds=spawn");
	RUN(main_nop, NULL);
}

/* Short transfers are real ones: the all-helpers still put every byte, in
   order, exactly once. */
#define BIG (256 * 1024)
static unsigned char big_out[BIG], big_in[BIG];

static int reader(void *arg)
{
	(void)arg;
	size_t got = 0;
	while (got < BIG) {
		ssize_t n = urt_recv(sv[1], big_in + got, BIG - got, 0);
		cr_assert_gt(n, 0, "recv: %zd", n);
		got += (size_t)n;
	}
	return 0;
}

static int main_short_all(void *arg)
{
	(void)arg;
	test_fill(big_out, BIG, 11);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	urt_task *r = spawn_ok(reader, NULL);
	size_t done = 0;
	CHECK(urt_send_all(sv[0], big_out, BIG, 0, &done), BIG);
	cr_assert_eq(done, (size_t)BIG);
	join_ok(r);
	cr_assert_eq(memcmp(big_in, big_out, BIG), 0);
	close(sv[0]);
	close(sv[1]);

	char path[] = "/tmp/urt-fault-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	CHECK(urt_write_all(fd, big_out, BIG, 0), BIG);
	memset(big_in, 0, BIG);
	CHECK(urt_read_full(fd, big_in, BIG, 0), BIG);
	cr_assert_eq(memcmp(big_in, big_out, BIG), 0);
	close(fd);
	struct urt_stats st;
	OK(urt_stats_get(&st));
	cr_assert_gt(st.faults, 2, "only %llu faults", (unsigned long long)st.faults);
	return 0;
}

Test(fault, short_transfers_lose_nothing)
{
	fault_env("seed=9,rate=0.5,kinds=short+delay");
	RUN(main_short_all, NULL);
}

/* A pending cancellation is delivered before any fault is considered. */
static int main_cancel_first(void *arg)
{
	(void)arg;
	char c = 0;
	urt_cancel(urt_current());
	CHECK(urt_write(1, &c, 0, -1), -ECANCELED);
	return 0;
}

Test(fault, cancellation_wins_over_a_fault)
{
	fault_env("seed=6,rate=1,kinds=io");
	RUN(main_cancel_first, NULL);
}

/* Regression (found by tests/fault_net_e2e.sh: urt-echo on epoll once in
   ~30 runs did not finish its SIGTERM drain): a cancellation that arrives
   while a delay fault has the task yielding before its op is the op's
   result. It was swallowed by the yield, and the real recv then waited
   with nobody left to end it (here: until its deadline). */
static int recv_task(void *arg)
{
	(void)arg;
	char c;
	OK(urt_deadline_push(MS(2000)));
	int r = (int)urt_recv(sv[1], &c, 1, 0);
	urt_deadline_pop();
	return r;
}

static int main_delay_cancel(void *arg)
{
	(void)arg;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	urt_task *t = spawn_ok(recv_task, NULL);
	OK(urt_yield()); /* t runs into its recv's delay fault: it yields back */
	urt_cancel(t);
	int r = 0;
	OK(urt_join(t, &r));
	CHECK(r, -ECANCELED);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

Test(fault, cancel_during_delay_fault_reaches_the_op)
{
	fault_env("seed=1,rate=1,kinds=delay");
	RUN(main_delay_cancel, NULL);
}
