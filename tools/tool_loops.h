/* SPDX-License-Identifier: MIT */
/*
 * Several urt loops in one tool, one per thread (--threads N, through
 * urt_run_loops): each loop runs its own share of the work as a task of
 * its own, and nothing is shared between them while they run. Servers give every loop its own
 * listening socket on the same port (SO_REUSEPORT: the kernel spreads new
 * connections over them by a hash of the 4-tuple); the load generator gives
 * every loop its share of the connections. Results are summed by the main
 * thread once every loop has ended.
 *
 * Stopping servers. SIGINT/SIGTERM arrive once per process, so they are
 * blocked in every thread (before any is created, so all inherit the mask)
 * and read by one task on loop 0 (urt_signal_wait). It then makes one
 * eventfd readable, and every loop's main task, which waits on that eventfd
 * with urt_poll, starts its drain. Why an eventfd rather than
 * urt_loop_submit into every loop: it is one fd for all loops, needs no
 * loop handles passed between threads (so no start-up hand-shake), and it
 * stays readable, so a loop that reaches its wait late (or a stop that
 * comes before a loop is up) is never missed. Any loop that ends writes it
 * too, so a loop that fails takes the others down with it instead of
 * leaving a half-working server.
 */
#ifndef URT_TOOL_LOOPS_H
#define URT_TOOL_LOOPS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tool.h"

/* --threads at most (0 means one per usable CPU). */
#define TOOL_MAX_THREADS 1024

/*
 * --threads: 0..TOOL_MAX_THREADS, 0 meaning one per CPU the process may
 * run on (all online CPUs unless taskset or a cpuset narrows it: more
 * loops than CPUs only compete for them). Returns 0 with *out >= 1, or -1
 * after tool_parse_u64's one-line message.
 */
static inline int tool_parse_threads(const char *prog, const char *s, unsigned *out)
{
	uint64_t u;
	if (tool_parse_u64(prog, "--threads", s, 0, TOOL_MAX_THREADS, &u))
		return -1;
	if (!u) {
		int n = urt_cpus(NULL, 0);
		u = n < 1 ? 1 : n > TOOL_MAX_THREADS ? TOOL_MAX_THREADS : (uint64_t)n;
	}
	*out = (unsigned)u;
	return 0;
}

/*
 * n listening sockets on ip:port, one per loop, in fds[]. n == 1 is a
 * plain urt_tcp_listen (no SO_REUSEPORT, as before --threads existed).
 * For n > 1 they share the port with SO_REUSEPORT; with port 0 the first
 * one gets a free port and the others bind that one. SO_REUSEPORT would
 * also let us share a fixed port with another server already listening
 * there (as this user), silently splitting its traffic; so a fixed port is
 * first bound once without it, which fails with -EADDRINUSE when it is
 * taken. (Not airtight: someone may take the port between that check and
 * our binds; it catches starting a second server by mistake.) Returns 0
 * or a negative errno (nothing left open).
 */
static inline int tool_listen_group(const char *ip, int port, unsigned n, int *fds)
{
	if (n == 1) {
		fds[0] = urt_tcp_listen(ip, port, 4096, 0);
		return fds[0] < 0 ? fds[0] : 0;
	}
	if (port) {
		int probe = urt_tcp_listen(ip, port, 1, 0);
		if (probe < 0)
			return probe;
		close(probe);
	}
	for (unsigned i = 0; i < n; i++) {
		int r = fds[i] = urt_tcp_listen(ip, port, 4096, URT_LISTEN_REUSEPORT);
		if (r >= 0 && !port && (r = port = urt_sock_port(fds[i])) < 0)
			close(fds[i]);
		if (r < 0) {
			while (i--)
				close(fds[i]);
			return r;
		}
	}
	return 0;
}

/*
 * What tool_run_loops runs: n loops, loop i on thread i (loop 0 on the
 * calling thread, so one loop is a plain single-threaded tool), each
 * running fn(args + i * size) as a task under opts.
 */
struct tool_loops {
	const char *name;         /* the tool, prefixing messages */
	unsigned n;               /* loops, >= 1 */
	bool pin;                 /* URT_LOOPS_PIN: loop i on the i-th usable CPU (modulo their number) */
	struct urt_options opts;
	int (*fn)(void *);        /* a loop's main task; returns its exit status */
	void *args;
	size_t size;
	int stopfd;               /* servers: the stop eventfd; -1 for none */
	struct tool_loops **slots; /* tool_run_loops: &slots[i] is loop i's task argument */
};

/* Every loop must stop (servers): make the stop eventfd readable. A plain
   write: an eventfd write never blocks short of 2^64 - 1 stops. */
static inline void tool_stop_all(const struct tool_loops *tl)
{
	if (tl->stopfd >= 0) {
		uint64_t one = 1;
		ssize_t w = write(tl->stopfd, &one, sizeof one);
		(void)w; /* cannot fail on a valid eventfd */
	}
}

/* Loop 0's signal task: the stop signals arrive once per process. */
static inline int tool__signal_task(void *arg)
{
	sigset_t set = tool_stop_signals();
	if (urt_signal_wait(&set, -1) > 0)
		tool_stop_all(arg);
	return 0;
}

/*
 * In loop `index`'s main task: wait until the server must stop (a stop
 * signal, or another loop ended). Loop 0 also reads the signals (a task of
 * its own, so that it too can be woken by another loop's end). Returns 0,
 * or the negative errno when it could not wait (the caller drains anyway
 * and reports a failure).
 */
static inline int tool_wait_stop(const struct tool_loops *tl, unsigned index)
{
	urt_task *sig = NULL;
	if (index == 0 && !(sig = urt_spawn(tool__signal_task, (void *)tl)))
		return -errno;
	int r;
	while ((r = urt_poll(tl->stopfd, POLLIN, -1)) == -EINTR)
		;
	if (sig) {
		urt_cancel(sig);
		urt_join(sig, NULL);
	}
	return r < 0 && r != -ECANCELED ? r : 0;
}

/* Loop i's part, run as a task there (loop 0's in the main task). */
static inline int tool__loop_task(void *arg)
{
	struct tool_loops **slot = arg, *tl = *slot;
	size_t index = (size_t)(slot - tl->slots);
	int r = tl->fn((char *)tl->args + index * tl->size);
	tool_stop_all(tl); /* nothing new once all stop; a failed loop takes the others along */
	return r;
}

static inline int tool__runtime_main(void *arg)
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
		int e = urt_spawn_on(urt_loops_get(started), tool__loop_task, &tl->slots[started],
				     &h[started]);
		if (e) {
			fprintf(stderr, "%s: cannot start loop %u: %s\n", tl->name, started, strerror(-e));
			tool_stop_all(tl); /* the parts already started end too */
			status = 1;
			break;
		}
	}
	if (!status)
		status = tool__loop_task(&tl->slots[0]);
	for (unsigned i = 1; i < started; i++) {
		int r = 1;
		urt_remote_wait(h[i], &r);
		if (!status)
			status = r;
	}
	free(h);
	return status;
}

/*
 * Run the loops (urt_run_loops: loop 0 on the calling thread) and wait for
 * every part. Returns the exit status: 0 when every loop's fn returned 0,
 * else the first other status (1 when a loop could not start). The
 * per-loop arguments are the caller's to read afterwards: every loop has
 * ended.
 */
static inline int tool_run_loops(struct tool_loops *tl)
{
	tl->slots = calloc(tl->n, sizeof *tl->slots);
	if (!tl->slots) {
		fprintf(stderr, "%s: %s\n", tl->name, strerror(ENOMEM));
		return 1;
	}
	for (unsigned i = 0; i < tl->n; i++)
		tl->slots[i] = tl;
	int r = urt_run_loops(tl->n, tl->pin ? URT_LOOPS_PIN : 0, &tl->opts, tool__runtime_main, tl);
	free(tl->slots);
	tl->slots = NULL;
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", tl->name, strerror(-r));
		return 1;
	}
	return r;
}

/*
 * Before a server listens: the stop signals are blocked, in the main
 * thread before any other exists, so every thread inherits the mask and a
 * signal stays pending until loop 0's urt_signal_wait takes it (also one
 * sent the moment the ready line is out); SIGPIPE is ignored, the fd limit
 * raised, the stop eventfd made. 0, or -1 after a message.
 */
static inline int tool_servers_prepare(struct tool_loops *tl)
{
	tool_raise_nofile();
	sigset_t set = tool_stop_signals();
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	tl->stopfd = eventfd(0, EFD_CLOEXEC);
	if (tl->stopfd < 0) {
		fprintf(stderr, "%s: eventfd: %s\n", tl->name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * At a graceful stop, before the listener closes: the connections the
 * kernel already accepted -- queued in the acceptor, or in the listen
 * backlog -- are handed to take(arg, fd) and served like the open ones.
 * Closing a listener resets whatever its backlog holds (with SO_REUSEPORT
 * the kernel does not move it to the group's other sockets), and freeing
 * an acceptor closes what it queued: a client that connected just before
 * the stop would see a reset instead of an answer. Ends when no connection
 * came for 1 ms, or after a backlog's worth (4096).
 */
static inline void tool__take_queued(urt_acceptor *acc, int lfd, void (*take)(void *, int),
				     void *arg)
{
	for (int n = 0; n < 4096; n++) {
		urt_deadline_push(URT_NS_PER_MS);
		int fd = acc ? urt_acceptor_accept(acc) : urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		urt_deadline_pop();
		if (fd < 0)
			break;
		take(arg, fd);
	}
}

/*
 * A server loop's life once its acceptor is made (*acc; NULL: the accept
 * task accepts by itself): run accept_fn(arg) as a task until the server
 * must stop (tool_wait_stop), then stop accepting: serve what the kernel
 * already accepted (tool__take_queued: take(arg, fd) is what accept_fn
 * does with each connection), free *acc (set to NULL) and close the
 * listener, and give the connections of group conns drain_ns to end
 * (urt_group_wait cancels those still open at that deadline). Returns the
 * loop's exit status.
 */
static inline int tool_serve_loop(const struct tool_loops *tl, unsigned index,
				  int (*accept_fn)(void *), void (*take)(void *, int), void *arg,
				  urt_acceptor **acc, int lfd, urt_group *conns, int64_t drain_ns)
{
	urt_task *at = urt_spawn(accept_fn, arg);
	int w = at ? tool_wait_stop(tl, index) : -errno;
	if (at) {
		urt_cancel(at);
		urt_join(at, NULL);
	}
	tool__take_queued(*acc, lfd, take, arg);
	urt_acceptor_free(*acc); /* no task waits on it any more */
	*acc = NULL;
	urt_close(lfd); /* (urt made no record of it: plain close would do) */
	urt_deadline_push(drain_ns);
	urt_group_wait(conns);
	urt_deadline_pop();
	if (w < 0) {
		fprintf(stderr, "%s: %s: %s\n", tl->name, at ? "waiting for a stop" : "accept task",
			strerror(-w));
		return 1;
	}
	return 0;
}

/*
 * A whole server: *tl names the tool, the loop count, pinning, options, the
 * loops' main task (fn) and the size of its per-loop state (a multiple of
 * 64: each loop's state on cache lines of its own); this listens on
 * host:port (one socket per loop: tool_listen_group), has setup(slot, i,
 * lfd, tl, ctx) fill loop i's state, prints the ready line "NAME:
 * listening on HOST:PORT", runs the loops and, when all went well, calls
 * report(slots, n, ctx). Returns the exit status; everything is freed and
 * closed on every path (nothing leaks under LeakSanitizer).
 */
static inline int tool_serve(struct tool_loops *tl, const char *host, int port,
			     void (*setup)(void *slot, unsigned i, int lfd,
					   const struct tool_loops *tl, void *ctx),
			     void (*report)(const void *slots, unsigned n, void *ctx), void *ctx)
{
	void *srv = aligned_alloc(64, tl->n * tl->size);
	int *fds = calloc(tl->n, sizeof *fds);
	const char *shown = host ? host : "0.0.0.0";
	int status = 1;
	tl->args = srv;
	tl->stopfd = -1;
	if (!srv || !fds) {
		fprintf(stderr, "%s: %s\n", tl->name, strerror(ENOMEM));
	} else if (tool_servers_prepare(tl) == 0) {
		int r = tool_listen_group(host, port, tl->n, fds);
		if (r < 0) {
			fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", tl->name, shown, port,
				strerror(-r));
		} else {
			for (unsigned i = 0; i < tl->n; i++)
				setup((char *)srv + i * tl->size, i, fds[i], tl, ctx);
			printf("%s: listening on %s:%d\n", tl->name, shown, urt_sock_port(fds[0]));
			fflush(stdout);
			status = tool_run_loops(tl);
			if (status == 0)
				report(srv, tl->n, ctx);
		}
	}
	if (tl->stopfd >= 0)
		close(tl->stopfd);
	free(fds);
	free(srv);
	return status;
}

/* The end of a server's exit line: each thread's connections (the spread
   SO_REUSEPORT gave them), read as the uint64_t at offset off of each of
   the n slots of size bytes; then the newline. */
static inline void tool_report_spread(const void *slots, size_t size, size_t off, unsigned n)
{
	for (unsigned i = 0; n > 1 && i < n; i++)
		fprintf(stderr, "%s%llu", i ? "+" : " (threads: ",
			(unsigned long long)*(const uint64_t *)((const char *)slots + i * size + off));
	fprintf(stderr, "%s\n", n > 1 ? " connections)" : "");
}

#endif
