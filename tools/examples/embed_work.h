/* SPDX-License-Identifier: MIT */
/*
 * The workload both embedding examples run on a urt loop they drive from
 * their own main loop: sleeps, a file read, and a TCP echo over loopback.
 * embed_work_start spawns the tasks; embed_work_check joins them (the loop
 * has run them to the end by then) and says whether every result is right.
 */
#ifndef URT_EMBED_WORK_H
#define URT_EMBED_WORK_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <urt.h>

#define EW_SLEEPERS 3
#define EW_ECHO_BYTES (64 * 1024)

struct embed_work {
	urt_task *t[EW_SLEEPERS + 3];
	int n;
	char path[64];
	int port;
	int lfd;
};

static int ew_sleep(void *arg)
{
	int ms = (int)(intptr_t)arg;
	int r = urt_sleep_ms(ms);
	return r ? r : ms;
}

/* Write a file with plain syscalls, read it back through the ring. */
static int ew_file(void *arg)
{
	struct embed_work *w = arg;
	static char want[8192], got[8192];
	for (size_t i = 0; i < sizeof want; i++)
		want[i] = (char)('a' + i % 26);
	int fd = open(w->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, want, sizeof want) != (ssize_t)sizeof want)
		return -EIO;
	close(fd);
	fd = urt_open(w->path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	ssize_t n = urt_read_full(fd, got, sizeof got, 0);
	urt_close(fd);
	unlink(w->path);
	return n == (ssize_t)sizeof got && memcmp(want, got, sizeof got) == 0 ? 0 : -EIO;
}

/* Echo server side: accept one connection, echo until EOF. */
static int ew_server(void *arg)
{
	struct embed_work *w = arg;
	int c = urt_accept(w->lfd, NULL, NULL, SOCK_CLOEXEC);
	urt_close(w->lfd);
	if (c < 0)
		return c;
	char buf[4096];
	ssize_t n;
	while ((n = urt_recv(c, buf, sizeof buf, 0)) > 0)
		if (urt_send_all(c, buf, (size_t)n, 0, NULL) < 0)
			break;
	urt_close(c);
	return n < 0 ? (int)n : 0;
}

static int ew_client(void *arg)
{
	struct embed_work *w = arg;
	static char out[EW_ECHO_BYTES], in[EW_ECHO_BYTES];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (char)(i * 7);
	int fd = urt_tcp_connect("127.0.0.1", w->port);
	if (fd < 0)
		return fd;
	ssize_t r = urt_send_all(fd, out, sizeof out, 0, NULL);
	if (r >= 0)
		r = urt_shutdown(fd, SHUT_WR);
	size_t got = 0;
	while (r >= 0 && got < sizeof in) {
		r = urt_recv(fd, in + got, sizeof in - got, 0);
		if (r > 0)
			got += (size_t)r;
		else
			break;
	}
	urt_close(fd);
	return got == sizeof in && memcmp(in, out, sizeof in) == 0 ? 0 : -EIO;
}

static int embed_work_start(urt_loop *L, struct embed_work *w)
{
	memset(w, 0, sizeof *w);
	snprintf(w->path, sizeof w->path, "/tmp/urt-embed-%d", (int)getpid());
	w->lfd = urt_tcp_listen("127.0.0.1", 0, 16, 0);
	if (w->lfd < 0)
		return w->lfd;
	w->port = urt_sock_port(w->lfd);
	for (int i = 0; i < EW_SLEEPERS; i++)
		w->t[w->n++] = urt_loop_spawn(L, ew_sleep, (void *)(intptr_t)(10 * (i + 1)));
	w->t[w->n++] = urt_loop_spawn(L, ew_file, w);
	w->t[w->n++] = urt_loop_spawn(L, ew_server, w);
	w->t[w->n++] = urt_loop_spawn(L, ew_client, w);
	for (int i = 0; i < w->n; i++)
		if (!w->t[i])
			return -ENOMEM;
	return 0;
}

/* A new loop on this thread with the workload spawned on it: the loop, or
   NULL after a message prefixed with who. */
static urt_loop *embed_work_loop(struct embed_work *w, const char *who)
{
	urt_loop *L;
	int r = urt_loop_new(NULL, &L);
	if (r == 0 && (r = embed_work_start(L, w)) == 0)
		return L;
	fprintf(stderr, "%s: %s\n", who, strerror(-r));
	return NULL;
}

/* The loop has no task left running: check every result, free the loop.
   The exit status: 0 when all is right. */
static int embed_work_finish(urt_loop *L, struct embed_work *w, const char *who);

/* After the loop has no task left running: 0 when every result is right. */
static int embed_work_check(urt_loop *L, struct embed_work *w, const char *who)
{
	int bad = 0;
	for (int i = 0; i < w->n; i++) {
		int res = -1;
		int r = urt_loop_run_until(L, w->t[i], &res);
		int want = i < EW_SLEEPERS ? 10 * (i + 1) : 0;
		if (r || res != want) {
			fprintf(stderr, "%s: task %d: run_until %d, result %d (want %d)\n", who, i, r, res,
				want);
			bad++;
		}
	}
	return bad ? 1 : 0;
}

static int embed_work_finish(urt_loop *L, struct embed_work *w, const char *who)
{
	int rc = embed_work_check(L, w, who);
	int r = urt_loop_free(L);
	if (r) {
		fprintf(stderr, "%s: urt_loop_free: %s\n", who, strerror(-r));
		rc = 1;
	}
	return rc;
}

#endif
