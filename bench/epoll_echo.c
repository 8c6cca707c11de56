/* SPDX-License-Identifier: MIT */
/*
 * The readiness-polling baseline for the echo benchmark: a plain,
 * single-threaded, edge-triggered epoll echo server, written the way a
 * careful C programmer would (non-blocking sockets, accept4 until EAGAIN,
 * read until EAGAIN, write what was read, buffer the rest and wait for
 * EPOLLOUT). Prints "epoll-echo: listening on 127.0.0.1:PORT" when ready.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 16384

struct conn {
	int fd;
	size_t pending, off; /* unsent bytes of buf */
	char buf[BUF] __attribute__((aligned(64)));
};

static void drop(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* Returns false when the connection is gone. */
static int flush(struct conn *c)
{
	while (c->pending) {
		ssize_t w = send(c->fd, c->buf + c->off, c->pending, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN ? 1 : 0;
		c->off += (size_t)w;
		c->pending -= (size_t)w;
	}
	c->off = 0;
	return 1;
}

static int serve(struct conn *c)
{
	if (!flush(c))
		return 0;
	while (!c->pending) {
		ssize_t r = recv(c->fd, c->buf, BUF, 0);
		if (r == 0)
			return 0;
		if (r < 0)
			return errno == EAGAIN ? 1 : 0;
		c->pending = (size_t)r;
		c->off = 0;
		if (!flush(c))
			return 0;
	}
	return 1; /* output pending: EPOLLOUT will call again */
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
		perror("epoll-echo: listen");
		return 1;
	}
	socklen_t al = sizeof a;
	getsockname(lfd, (struct sockaddr *)&a, &al);
	printf("epoll-echo: listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
	fflush(stdout);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					c = malloc(sizeof *c);
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					c->pending = c->off = 0;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct epoll_event ce = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP,
								 .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
					if (!serve(c))
						drop(ep, c);
				}
				continue;
			}
			if (!serve(c))
				drop(ep, c);
		}
	}
}
