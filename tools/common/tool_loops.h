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
 * loops.c runs the loops, stop.c stops servers, listen.c makes their
 * listeners and serve.c is a server's whole life: listen, serve, drain,
 * report.
 */
#ifndef URT_TOOL_LOOPS_H
#define URT_TOOL_LOOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <urt.h>

#include "tool.h"

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

/*
 * Run the loops (urt_run_loops: loop 0 on the calling thread) and wait for
 * every part. Returns the exit status: 0 when every loop's fn returned 0,
 * else the first other status (1 when a loop could not start). The
 * per-loop arguments are the caller's to read afterwards: every loop has
 * ended.
 */
int tool_run_loops(struct tool_loops *tl);

/* stop.c: every loop must stop (servers; a loop that ends calls it too). */
void tool_stop_all(const struct tool_loops *tl);

/*
 * stop.c, before a server listens: the stop signals (SIGINT, SIGTERM)
 * blocked in every thread, SIGPIPE ignored, the fd limit raised, the stop
 * eventfd made. 0, or -1 after a message.
 */
int tool_servers_prepare(struct tool_loops *tl);

/*
 * stop.c, in loop `index`'s main task: wait until the server must stop (a
 * stop signal, or another loop ended). Returns 0, or the negative errno
 * when it could not wait (the caller drains anyway and reports a failure).
 */
int tool_wait_stop(const struct tool_loops *tl, unsigned index);

/*
 * listen.c: n listening sockets on ip:port, one per loop, in fds[]. 0 or a
 * negative errno (nothing left open).
 */
int tool_listen_group(const char *ip, int port, unsigned n, int *fds);

/* One server loop's listener, filled by tool_serve's setup. */
struct tool_listener {
	const struct tool_loops *loops;
	unsigned index;           /* the loop's; 0 reads the stop signals */
	int lfd;
	bool single_accept;       /* one accept per connection instead of a multishot acceptor */
};

/*
 * serve.c: a server loop's life, in its main task: accept on l->lfd and
 * hand every connection to take(arg, fd) (which serves it as a task of
 * group conns, or closes it) until the server must stop, then stop
 * accepting, serve what the kernel already accepted, close the listener
 * and give the connections drain_ns to end (the rest are cancelled).
 * Returns the loop's exit status; 1 when it could not accept at all.
 */
int tool_serve_loop(const struct tool_listener *l, void (*take)(void *arg, int fd), void *arg,
		    urt_group *conns, int64_t drain_ns);

/*
 * What a server prints on stderr at exit: "NAME: served N connections,
 * BEFORE<sum>AFTER", N and sum being the uint64_t counters at offsets
 * accepted and counted of the loops' slots, summed; with several loops,
 * each one's connections then (the spread SO_REUSEPORT gave them).
 */
struct tool_served {
	size_t accepted, counted;
	const char *before, *after;
};

/*
 * serve.c, a whole server: *tl names the tool, the loop count, pinning,
 * options, the loops' main task (fn) and the size of its per-loop state (a
 * multiple of 64: each loop's state on cache lines of its own); this
 * listens on host:port (one socket per loop: tool_listen_group), has
 * setup(slot, l, ctx) fill loop i's state from its listener, prints the
 * ready line "NAME: listening on HOST:PORT", runs the loops and, when all
 * went well, prints what they served (*served). Returns the exit status;
 * everything is freed and closed on every path.
 */
int tool_serve(struct tool_loops *tl, const char *host, int port,
	       void (*setup)(void *slot, const struct tool_listener *l, void *ctx),
	       const struct tool_served *served, void *ctx);

#endif
