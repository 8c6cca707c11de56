/* SPDX-License-Identifier: MIT */
/*
 * urt-echo: a TCP echo server, one task per connection. Prints
 * "urt-echo: listening on ADDR:PORT" on stdout once it accepts connections
 * (port 0 picks a free one, so scripts read the port from that line).
 * SIGINT/SIGTERM stop it: the accept loop and every connection are
 * cancelled and the process exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <urt.h>
#include "../tool.h"

#define BUF_SIZE 16384

struct server {
	const char *host;
	int port;
	int lfd, sigfd;
	urt_group conns;
};

static int conn_task(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = aligned_alloc(64, BUF_SIZE); /* aligned: faster kernel copies */
	ssize_t n = buf ? 0 : -ENOMEM;
	if (buf) {
		urt_set_nodelay(fd, true);
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
		int fd = urt_accept(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -ECANCELED)
			return 0;
		if (fd < 0) {
			if (fd == -EMFILE || fd == -ENFILE) {
				/* out of fds: back off instead of spinning */
				if (urt_sleep_ms(10) == -ECANCELED)
					return 0;
				continue;
			}
			if (fd != -ECONNABORTED && fd != -EINTR)
				fprintf(stderr, "urt-echo: accept: %s\n", strerror(-fd));
			continue;
		}
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
	urt_group_init(&s->conns);
	urt_task *acc = urt_spawn(accept_loop, s);
	struct signalfd_siginfo si;
	urt_read(s->sigfd, &si, sizeof si, -1); /* until SIGINT/SIGTERM */
	urt_cancel(acc);
	urt_join(acc, NULL);
	urt_cancel(urt_current()); /* urt_group_wait then cancels every connection */
	urt_group_wait(&s->conns);
	close(s->lfd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct server s = {.host = "127.0.0.1", .port = 7007};
	int c;
	while ((c = getopt_long(argc, argv, "p:H:h", longopts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'p':
			s.port = (int)strtol(optarg, &end, 10);
			if (*end || end == optarg || s.port < 0 || s.port > 65535) {
				fprintf(stderr, "urt-echo: invalid port '%s'\n", optarg);
				return 2;
			}
			break;
		case 'H': s.host = optarg; break;
		case 'h':
			printf("Usage: urt-echo [--host ADDR] [--port N]\n"
			       "TCP echo server on io_uring (numeric ADDR, default 127.0.0.1;\n"
			       "port 7007; 0 picks a free port). Prints its address when ready.\n");
			return 0;
		case 'V': printf("urt-echo (urt) %s\n", URT_VERSION_STRING); return 0;
		default:
			fprintf(stderr, "Try 'urt-echo --help' for more information.\n");
			return 2;
		}
	}
	tool_raise_nofile();
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	s.sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (s.sigfd < 0) {
		perror("urt-echo: signalfd");
		return 1;
	}
	struct urt_options o = {.sq_entries = 1024, .stack_size = 32 * 1024, .flags = URT_OPT_QUIET};
	int r = urt_run_opts(&o, server_main, &s);
	if (r < 0) {
		fprintf(stderr, "urt-echo: %s\n", strerror(-r));
		return 1;
	}
	return r;
}
