/* SPDX-License-Identifier: MIT */
/*
 * urt-echo: a TCP echo server, one task per connection. Prints
 * "urt-echo: listening on ADDR:PORT" on stdout once it accepts connections
 * (port 0 picks a free one, so scripts read the port from that line).
 * SIGINT/SIGTERM (urt_signal_wait) stop it gracefully: it stops
 * accepting, gives open connections --drain seconds to end, cancels the
 * rest and exits 0.
 *
 * Connections come from a multishot accept (urt_acceptor; --single-accept
 * for one accept per connection). --bufring switches reads to the
 * provided-buffer fast path (urt_receiver): echoes are sent straight from
 * the buffer the kernel filled.
 *
 * --threads N runs N loops, one per thread, each with its own listening
 * socket on the port (SO_REUSEPORT) and its own connections; loop 0 (the
 * main thread) reads the stop signals and wakes the others
 * (tools/common/). At exit it prints the connections served and bytes
 * echoed, summed over the loops, with each loop's connections.
 *
 * --tls-cert FILE --tls-key FILE echo over TLS: a handshake first (within
 * HANDSHAKE_NS), then urt_tls_read/urt_tls_write, and close_notify when
 * the client ends with one.
 */
#include <stddef.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <urt.h>
#include "tls_opt.h"
#include "tool_loops.h"

#define BUF_SIZE 16384
/* TLS: a client that has not finished its handshake by then is dropped
   (it would hold a task and an fd for nothing). */
#define HANDSHAKE_NS (10 * URT_NS_PER_SEC)
/* TLS: how long close_notify gets to go out. */
#define TLS_BYE_NS (100 * URT_NS_PER_MS)

/* The options, read-only once the loops run. */
struct config {
	const char *host;
	int port;
	double drain;       /* seconds connections get to finish at shutdown */
	bool single_accept; /* one accept SQE per connection instead of multishot */
	unsigned bufs;      /* > 0: receive through a provided-buffer ring of this many */
	unsigned threads;   /* loops, one per thread, each with its own listener */
	bool pin;           /* loop i on the i-th usable CPU */
	urt_tls_ctx *tls;   /* --tls-cert/--tls-key (shared by the loops); NULL: plain */
};

static struct config C = {.host = "127.0.0.1", .port = 7007, .drain = 1, .threads = 1};

/* One loop's server: its listener, acceptor, buffer ring, connections and
   counts, touched only by its own thread (aligned: the loops' counters do
   not share a cache line). */
struct server {
	_Alignas(64) struct tool_listener l;
	urt_bufring *ring;
	urt_group conns;
	uint64_t accepted;             /* connections served */
	uint64_t bytes;                /* bytes echoed */
};

/* The server of the loop this thread runs (one loop per thread), for the
   connection tasks, whose argument is their fd. */
static _Thread_local struct server *self;

/* The opt-in fast path: a multishot recv per connection into the loop's
   buffer ring, sending straight from the kernel-filled buffer. */
static int conn_task_bufring(struct server *s, int fd)
{
	urt_receiver *r;
	ssize_t n = urt_receiver_new(fd, s->ring, &r);
	if (n == 0) {
		const void *p;
		while ((n = urt_receiver_recv(r, &p)) > 0) {
			ssize_t w = urt_send_all(fd, p, (size_t)n, 0, NULL);
			if (w < 0) {
				n = w;
				break;
			}
			s->bytes += (uint64_t)n;
		}
		urt_receiver_free(r);
	}
	return (int)n;
}

/* Echo over TLS: 0 at the client's close_notify (answered with ours), or
   the error that ended it. */
static ssize_t echo_tls(struct server *s, int fd, char *buf)
{
	urt_tls *t;
	urt_deadline_push(HANDSHAKE_NS);
	ssize_t n = urt_tls_handshake(C.tls, fd, NULL, &t);
	urt_deadline_pop();
	if (n < 0)
		return n;
	while ((n = urt_tls_read(t, buf, BUF_SIZE)) > 0) {
		ssize_t w = urt_tls_write(t, buf, (size_t)n);
		if (w < 0) {
			n = w;
			break;
		}
		s->bytes += (uint64_t)n;
	}
	if (n == 0 && urt_deadline_push(TLS_BYE_NS) == 0) {
		urt_tls_shutdown(t);
		urt_deadline_pop();
	}
	urt_tls_free(t);
	return n;
}

static int conn_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct server *s = self;
	urt_set_nodelay(fd, true);
	if (s->ring) {
		int n = conn_task_bufring(s, fd);
		urt_sock_close(fd);
		return n == -ECANCELED ? n : 0;
	}
	char *buf = aligned_alloc(64, BUF_SIZE); /* aligned: faster kernel copies */
	ssize_t n = buf ? 0 : -ENOMEM;
	if (buf && C.tls) {
		n = echo_tls(s, fd, buf);
	} else if (buf) {
		while ((n = urt_recv(fd, buf, BUF_SIZE, 0)) > 0) {
			ssize_t w = urt_send_all(fd, buf, (size_t)n, 0, NULL);
			if (w < 0) {
				n = w;
				break;
			}
			s->bytes += (uint64_t)n;
		}
	}
	free(buf);
	urt_sock_close(fd);
	/* a peer that resets or goes away is normal for an echo server */
	return n == -ECANCELED ? (int)n : 0;
}

/* Serve one accepted connection. */
static void take(void *arg, int fd)
{
	struct server *s = arg;
	/* stack_now: a member that could not start would leak fd, and its
	   -ENOMEM would cancel the group (every other connection) */
	struct urt_spawn_attr a = {.group = &s->conns, .stack_now = true};
	if (urt_spawn_attr(&a, conn_task, (void *)(intptr_t)fd))
		s->accepted++;
	else
		close(fd);
}

/*
 * One loop's main task: serve its listener until the server stops (a stop
 * signal, read on loop 0, or another loop's end: tool_wait_stop), then
 * drain. Returns the loop's exit status.
 */
static int server_main(void *arg)
{
	struct server *s = arg;
	self = s;
	int r = C.bufs ? urt_bufring_new(C.bufs, BUF_SIZE, &s->ring) : 0;
	if (r) {
		fprintf(stderr, "urt-echo: buffer ring: %s\n", strerror(-r));
		close(s->l.lfd);
		return 1;
	}
	/* graceful: stop accepting, give connections --drain seconds to end,
	   then cancel the rest */
	int status = tool_serve_loop(&s->l, take, s, &s->conns, (int64_t)(C.drain * 1e9));
	urt_bufring_free(s->ring);
	return status;
}

static void setup(void *slot, const struct tool_listener *l, void *ctx)
{
	(void)ctx;
	struct server *s = slot;
	*s = (struct server){.l = *l};
	s->l.single_accept = C.single_accept;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"single-accept", no_argument, NULL, 'S'},
		{"bufring", optional_argument, NULL, 'B'},
		{"drain", required_argument, NULL, 'D'},
		{"threads", required_argument, NULL, 'T'},
		{"pin", no_argument, NULL, 'P'},
		TOOL_TLS_LONGOPTS,
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *cert = NULL, *key = NULL;
	int c;
	uint64_t u;
	while ((c = getopt_long(argc, argv, "p:H:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (tool_parse_u64("urt-echo", "--port", optarg, 0, 65535, &u))
				return TOOL_EXIT_USAGE;
			C.port = (int)u;
			break;
		case 'H': C.host = optarg; break;
		case 'S': C.single_accept = true; break;
		case 'D':
			if (tool_parse_double("urt-echo", "--drain", optarg, 0, 3600, &C.drain))
				return TOOL_EXIT_USAGE;
			break;
		case 'T':
			if (tool_parse_threads("urt-echo", optarg, &C.threads))
				return TOOL_EXIT_USAGE;
			break;
		case 'P': C.pin = true; break;
		case TOOL_OPT_TLS_CERT: cert = optarg; break;
		case TOOL_OPT_TLS_KEY: key = optarg; break;
		case 'B':
			C.bufs = 1024;
			if (!optarg)
				break;
			if (tool_parse_u64("urt-echo", "--bufring", optarg, 1, 32768, &u))
				return TOOL_EXIT_USAGE;
			if (u & (u - 1)) {
				fprintf(stderr, "urt-echo: invalid value '%s' for --bufring: "
					"expected a power of two from 1 to 32768\n", optarg);
				return TOOL_EXIT_USAGE;
			}
			C.bufs = (unsigned)u;
			break;
		case 'h':
			printf("Usage: urt-echo [--host ADDR] [--port N] [--single-accept] [--bufring[=N]] [--drain S]\n"
			       "                [--threads N] [--pin] [--tls-cert FILE --tls-key FILE]\n"
			       "TCP echo server on io_uring (numeric ADDR, default 127.0.0.1;\n"
			       "port 7007; 0 picks a free port). Prints its address when ready.\n"
			       "  --single-accept  one accept SQE per connection (default: multishot)\n"
			       "  --bufring[=N]    receive with multishot recv into a ring of N\n"
			       "                   16 KiB buffers (default 1024) instead of recv per read\n"
			       "  --drain SECS     at SIGINT/SIGTERM, stop accepting and give open\n"
			       "                   connections this long to finish (default 1)\n"
			       "  --threads N      N loops, one per thread, each with its own listener on\n"
			       "                   the port (SO_REUSEPORT); 0: one per usable CPU (default 1)\n"
			       "  --pin            pin thread i to the i-th usable CPU (modulo their number)\n"
			       "  --tls-cert FILE  echo over TLS (1.2 and 1.3) with this PEM certificate\n"
			       "                   chain, leaf first; needs --tls-key (not with --bufring);\n"
			       "                   a handshake not done within 10 s is dropped\n"
			       "  --tls-key FILE   the PEM private key of --tls-cert\n"
			       "At exit it prints the connections served and bytes echoed (stderr).\n"
			       "Exit status: 0 after SIGINT/SIGTERM, 1 when it cannot serve, 2 for a\n"
			       "usage error.\n");
			return 0;
		case 'V': printf("urt-echo (urt) %s\n", URT_VERSION_STRING); return 0;
		default:
			fprintf(stderr, "Try 'urt-echo --help' for more information.\n");
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "urt-echo: unexpected argument '%s'\n", argv[optind]);
		return TOOL_EXIT_USAGE;
	}
	if (C.bufs && (cert || key)) {
		/* TLS reads into its own buffers: the ring has nothing to give it */
		fprintf(stderr, "urt-echo: --bufring cannot be used with --tls-cert\n");
		return TOOL_EXIT_USAGE;
	}
	int st = tool_tls_server_ctx("urt-echo", cert, key, &C.tls);
	if (st)
		return st;
	struct tool_loops tl = {
		.name = "urt-echo", .n = C.threads, .pin = C.pin,
		/* OpenSSL runs on the connection tasks' stacks: TLS needs more */
		.opts = {.sq_entries = 1024, .stack_size = (C.tls ? 64 : 32) * 1024,
			 .flags = URT_OPT_QUIET},
		.fn = server_main, .size = sizeof(struct server),
	};
	/* at exit, on stderr: the connections served and bytes echoed */
	static const struct tool_served served = {
		.accepted = offsetof(struct server, accepted), .counted = offsetof(struct server, bytes),
		.before = "echoed ", .after = " bytes",
	};
	st = tool_serve(&tl, C.host, C.port, setup, &served, NULL);
	urt_tls_ctx_free(C.tls);
	return st;
}
