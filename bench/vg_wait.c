/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for running urt programs that use threads (urt_offload,
 * bench_offload, bench_wakeup) under valgrind --tool=callgrind. Valgrind
 * (3.19 here) runs one thread at a time and does not let go of its lock
 * while a thread sleeps in io_uring_enter, so a loop waiting for a CQE that
 * another thread must produce (the offload eventfd) deadlocks. This
 * io_uring_submit_and_wait submits without waiting and then polls for the
 * CQEs with sched_yield, which valgrind does treat as a yield. Only for
 * instruction counts: it spins, and it is charged to the loop thread under
 * its own name (subtract io_uring_submit_and_wait [vg_wait.so] and the
 * io_uring_get_events it calls).
 *
 *   LD_PRELOAD=build/bench/libvg_wait.so valgrind --tool=callgrind \
 *       --fair-sched=yes --separate-threads=yes build/bench/bench_offload 20000 1 urt-rt
 *
 * Instructions per round trip: run N and 2N and divide the difference of
 * the loop thread's totals (callgrind.out.*-01) by N; that cancels the
 * set-up and the 1000 warm-up round trips.
 */
#include <liburing.h>
#include <sched.h>

int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	int r = io_uring_submit_and_get_events(ring);
	while (io_uring_cq_ready(ring) < wait_nr) {
		sched_yield();
		io_uring_get_events(ring);
	}
	return r;
}
