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
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <urt.h>
#include "../tool.h"

#define BUF_SIZE 16384

struct server {
	const char *host;
	int port;
	int lfd;
	double drain;       /* seconds connections get to finish at shutdown */
	bool single_accept; /* one accept SQE per connection instead of multishot */
	unsigned bufs;      /* > 0: receive through a provided-buffer ring of this many */
	urt_acceptor *acc;
	urt_bufring *ring;
	urt_group conns;
};

static struct server S = {.host = "127.0.0.1", .port = 7007, .drain = 1};

/* The opt-in fast path: a multishot recv per connection into the shared
   buffer ring, sending straight from the kernel-filled buffer. */
static int conn_task_bufring(int fd)
{
	urt_receiver *r;
	ssize_t n = urt_receiver_new(fd, S.ring, &r);
	if (n == 0) {
		const void *p;
		while ((n = urt_receiver_recv(r, &p)) > 0)
			if ((n = urt_send_all(fd, p, (size_t)n, 0, NULL)) < 0)
				break;
		urt_receiver_free(r);
	}
	return (int)n;
}

static int conn_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	urt_set_nodelay(fd, true);
	if (S.ring) {
		int n = conn_task_bufring(fd);
		urt_sock_close(fd);
		return n == -ECANCELED ? n : 0;
	}
	char *buf = aligned_alloc(64, BUF_SIZE); /* aligned: faster kernel copies */
	ssize_t n = buf ? 0 : -ENOMEM;
	if (buf) {
		while ((n = urt_recv(fd, buf, BUF_SIZE, 0)) > 0)
			if ((n = urt_send_all(fd, buf, (size_t)n, 0, NULL)) < 0)
				break;
	}
	free(buf);
	urt_sock_close(fd);
	/* a peer that resets or goes away is normal for an echo server */
	return n == -ECANCELED ? (int)n : 0;
}

static int accept_loop(void *arg)
{
	struct server *s = arg;
	for (;;) {
		int fd = tool_accept(s->acc, s->lfd, "urt-echo");
		if (fd < 0)
			return 0;
		if (!urt_group_spawn(&s->conns, conn_task, (void *)(intptr_t)fd))
			close(fd);
	}
}

static int server_main(void *arg)
{
	struct server *s = arg;
	s->lfd = urt_tcp_listen(s->host, s->port, 4096);
	if (s->lfd < 0) {
		fprintf(stderr, "urt-echo: cannot listen on %s:%d: %s\n", s->host ? s->host : "0.0.0.0",
			s->port, strerror(-s->lfd));
		return 1;
	}
	printf("urt-echo: listening on %s:%d\n", s->host ? s->host : "0.0.0.0",
	       urt_sock_port(s->lfd));
	fflush(stdout);
	int r = s->single_accept ? 0 : urt_acceptor_new(s->lfd, SOCK_CLOEXEC, &s->acc);
	if (r == 0 && s->bufs)
		r = urt_bufring_new(s->bufs, BUF_SIZE, &s->ring);
	if (r) {
		fprintf(stderr, "urt-echo: %s: %s\n", s->acc ? "buffer ring" : "acceptor", strerror(-r));
		return 1;
	}
	urt_group_init(&s->conns);
	urt_task *acc = urt_spawn(accept_loop, s);
	sigset_t set = tool_stop_signals();
	urt_signal_wait(&set, -1);
	/* graceful: stop accepting, give connections --drain seconds to end,
	   then cancel the rest (urt_group_wait does when the deadline passes) */
	urt_cancel(acc);
	urt_join(acc, NULL);
	urt_acceptor_free(s->acc);
	s->acc = NULL;
	close(s->lfd);
	urt_deadline_push((int64_t)(s->drain * 1e9));
	urt_group_wait(&s->conns);
	urt_deadline_pop();
	urt_bufring_free(s->ring);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"single-accept", no_argument, NULL, 'S'},
		{"bufring", optional_argument, NULL, 'B'},
		{"drain", required_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int c;
	uint64_t u;
	while ((c = getopt_long(argc, argv, "p:H:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (tool_parse_u64("urt-echo", "--port", optarg, 0, 65535, &u))
				return TOOL_EXIT_USAGE;
			S.port = (int)u;
			break;
		case 'H': S.host = optarg; break;
		case 'S': S.single_accept = true; break;
		case 'D':
			if (tool_parse_double("urt-echo", "--drain", optarg, 0, 3600, &S.drain))
				return TOOL_EXIT_USAGE;
			break;
		case 'B':
			S.bufs = 1024;
			if (!optarg)
				break;
			if (tool_parse_u64("urt-echo", "--bufring", optarg, 1, 32768, &u))
				return TOOL_EXIT_USAGE;
			if (u & (u - 1)) {
				fprintf(stderr, "urt-echo: invalid value '%s' for --bufring: "
					"expected a power of two from 1 to 32768\n", optarg);
				return TOOL_EXIT_USAGE;
			}
			S.bufs = (unsigned)u;
			break;
		case 'h':
			printf("Usage: urt-echo [--host ADDR] [--port N] [--single-accept] [--bufring[=N]] [--drain S]\n"
			       "TCP echo server on io_uring (numeric ADDR, default 127.0.0.1;\n"
			       "port 7007; 0 picks a free port). Prints its address when ready.\n"
			       "  --single-accept  one accept SQE per connection (default: multishot)\n"
			       "  --bufring[=N]    receive with multishot recv into a ring of N\n"
			       "                   16 KiB buffers (default 1024) instead of recv per read\n"
			       "  --drain SECS     at SIGINT/SIGTERM, stop accepting and give open\n"
			       "                   connections this long to finish (default 1)\n"
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
	return tool_run_server("urt-echo", 32 * 1024, server_main, &S);
}
