/* SPDX-License-Identifier: MIT */
/*
 * A server's life, shared by urt-echo and urt-httpd: listen (one socket
 * per loop), accept until stopped, drain, report. The tool brings what it
 * does with a connection (take) and its per-loop state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool_loops.h"

/*
 * The next connection from an acceptor (or, if acc is NULL, a one-shot
 * accept on lfd): its fd, or -ECANCELED when the server is stopping. Out of
 * fds it backs off for 10 ms instead of spinning; other accept errors are
 * reported (prefixed with name) and skipped.
 */
static int next_conn(urt_acceptor *acc, int lfd, const char *name)
{
	for (;;) {
		int fd = acc ? urt_acceptor_accept(acc) : urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0 || fd == -ECANCELED)
			return fd;
		if (fd == -EMFILE || fd == -ENFILE) {
			if (urt_sleep_ms(10) == -ECANCELED)
				return -ECANCELED;
		} else if (fd != -ECONNABORTED && fd != -EINTR) {
			fprintf(stderr, "%s: accept: %s\n", name, strerror(-fd));
		}
	}
}

/* What the accept task of one loop needs. */
struct accepting {
	const struct tool_listener *l;
	urt_acceptor *acc;        /* NULL: one accept per connection */
	void (*take)(void *arg, int fd);
	void *arg;
};

static int accept_task(void *arg)
{
	const struct accepting *a = arg;
	for (;;) {
		int fd = next_conn(a->acc, a->l->lfd, a->l->loops->name);
		if (fd < 0)
			return 0;
		a->take(a->arg, fd);
	}
}

/*
 * At a graceful stop, before the listener closes: the connections the
 * kernel already accepted -- queued in the acceptor, or in the listen
 * backlog -- are taken and served like the open ones. Closing a listener
 * resets whatever its backlog holds (with SO_REUSEPORT the kernel does not
 * move it to the group's other sockets), and freeing an acceptor closes
 * what it queued: a client that connected just before the stop would see
 * a reset instead of an answer. Ends when no connection came for 1 ms, or
 * after a backlog's worth (4096).
 */
static void take_queued(const struct accepting *a)
{
	for (int n = 0; n < 4096; n++) {
		urt_deadline_push(URT_NS_PER_MS);
		int fd = a->acc ? urt_acceptor_accept(a->acc)
				: urt_accept(a->l->lfd, NULL, NULL, SOCK_CLOEXEC);
		urt_deadline_pop();
		if (fd < 0)
			break;
		a->take(a->arg, fd);
	}
}

/* Run the accept task until the server must stop (tool_wait_stop), then
   stop accepting, drain, and close the listener. */
int tool_serve_loop(const struct tool_listener *l, void (*take)(void *arg, int fd), void *arg,
		    urt_group *conns, int64_t drain_ns)
{
	const char *name = l->loops->name;
	struct accepting a = {.l = l, .take = take, .arg = arg};
	/* multishot accept: one SQE for many connections */
	int r = l->single_accept ? 0 : urt_acceptor_new(l->lfd, SOCK_CLOEXEC, &a.acc);
	if (r < 0) {
		fprintf(stderr, "%s: acceptor: %s\n", name, strerror(-r));
		close(l->lfd);
		return 1;
	}
	urt_group_init(conns);
	struct urt_spawn_attr aa = {.name = "accept", .stack_now = true}; /* a failure now, not a deaf server */
	urt_task *at = urt_spawn_attr(&aa, accept_task, &a);
	int w = at ? tool_wait_stop(l->loops, l->index) : -errno;
	if (at) {
		urt_cancel(at);
		urt_join(at, NULL);
	}
	take_queued(&a);
	urt_acceptor_free(a.acc); /* no task waits on it any more */
	urt_close(l->lfd); /* (urt made no record of it: plain close would do) */
	/* graceful: give the connections drain_ns to end, then cancel the rest */
	urt_deadline_push(drain_ns);
	urt_group_wait(conns);
	urt_deadline_pop();
	if (w < 0) {
		fprintf(stderr, "%s: %s: %s\n", name, at ? "waiting for a stop" : "accept task",
			strerror(-w));
		return 1;
	}
	return 0;
}

/* Slot i's uint64_t counter at offset off. */
static uint64_t counter(const void *slots, size_t size, size_t off, unsigned i)
{
	return *(const uint64_t *)((const char *)slots + i * size + off);
}

static void report(const struct tool_loops *tl, const void *slots, const struct tool_served *sv)
{
	uint64_t conns = 0, counted = 0;
	for (unsigned i = 0; i < tl->n; i++) {
		conns += counter(slots, tl->size, sv->accepted, i);
		counted += counter(slots, tl->size, sv->counted, i);
	}
	fprintf(stderr, "%s: served %llu connections, %s%llu%s", tl->name, (unsigned long long)conns,
		sv->before, (unsigned long long)counted, sv->after);
	for (unsigned i = 0; tl->n > 1 && i < tl->n; i++)
		fprintf(stderr, "%s%llu", i ? "+" : " (threads: ",
			(unsigned long long)counter(slots, tl->size, sv->accepted, i));
	fprintf(stderr, "%s\n", tl->n > 1 ? " connections)" : "");
}

int tool_serve(struct tool_loops *tl, const char *host, int port,
	       void (*setup)(void *slot, const struct tool_listener *l, void *ctx),
	       const struct tool_served *served, void *ctx)
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
			for (unsigned i = 0; i < tl->n; i++) {
				struct tool_listener l = {.loops = tl, .index = i, .lfd = fds[i]};
				setup((char *)srv + i * tl->size, &l, ctx);
			}
			printf("%s: listening on %s:%d\n", tl->name, shown, urt_sock_port(fds[0]));
			fflush(stdout);
			status = tool_run_loops(tl);
			if (status == 0)
				report(tl, srv, served);
		}
	}
	if (tl->stopfd >= 0)
		close(tl->stopfd);
	free(fds);
	free(srv);
	return status;
}
