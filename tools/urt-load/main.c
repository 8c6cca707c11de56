/* SPDX-License-Identifier: MIT */
/*
 * urt-load: a load generator on urt. Echo mode for now: --conns
 * connections, each sending --pipeline messages of --size bytes and
 * waiting for all of them to come back, for --duration seconds. Reports
 * requests/s and p50/p99/p99.9 latency (per request: the round trip of its
 * batch) from a log-linear histogram.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <urt.h>

#include "hist.h"
#include "../tool.h"

struct cfg {
	const char *host;
	int port;
	unsigned conns, size, pipeline;
	double duration;
};

static struct cfg C = {.host = "127.0.0.1", .port = 7007, .conns = 50, .size = 64,
		       .pipeline = 1, .duration = 5};
static struct hist H;
static uint64_t requests, errors;
static int first_error;
static int64_t end_ns;

static int client(void *arg)
{
	(void)arg;
	size_t batch = (size_t)C.size * C.pipeline;
	char *out = aligned_alloc(64, (batch + 63) & ~(size_t)63);
	char *in = aligned_alloc(64, (batch + 63) & ~(size_t)63);
	int fd = out && in ? urt_tcp_connect(C.host, C.port) : -ENOMEM;
	if (fd < 0) {
		errors++;
		if (!first_error)
			first_error = fd;
		free(out);
		free(in);
		return 0;
	}
	urt_set_nodelay(fd, true);
	memset(out, 'x', batch);
	while (urt_now_ns() < end_ns) {
		int64_t t0 = urt_now_ns();
		ssize_t r = urt_send_all(fd, out, batch, 0, NULL);
		size_t got = 0;
		while (r >= 0 && got < batch) {
			r = urt_recv(fd, in + got, batch - got, 0);
			if (r == 0)
				r = -ECONNRESET; /* the server closed on us */
			if (r > 0)
				got += (size_t)r;
		}
		if (r < 0) {
			if (r != -ECANCELED) {
				errors++;
				if (!first_error)
					first_error = (int)r;
			}
			break;
		}
		int64_t dt = urt_now_ns() - t0;
		for (unsigned i = 0; i < C.pipeline; i++)
			hist_add(&H, (uint64_t)dt);
		requests += C.pipeline;
	}
	urt_sock_close(fd);
	free(out);
	free(in);
	return 0;
}

static int load_main(void *arg)
{
	(void)arg;
	urt_task **t = calloc(C.conns, sizeof *t);
	if (!t)
		return 1;
	int64_t start = urt_now_ns();
	end_ns = start + (int64_t)(C.duration * 1e9);
	for (unsigned i = 0; i < C.conns; i++)
		t[i] = urt_spawn(client, NULL);
	urt_join_all(t, C.conns, NULL);
	double secs = (double)(urt_now_ns() - start) / 1e9;
	free(t);
	printf("urt-load echo %s:%d conns=%u size=%u pipeline=%u duration=%.1fs: "
	       "%.0f req/s, latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, errors %llu\n",
	       C.host, C.port, C.conns, C.size, C.pipeline, secs, (double)requests / secs,
	       (double)hist_quantile(&H, 0.50) / 1e3, (double)hist_quantile(&H, 0.99) / 1e3,
	       (double)hist_quantile(&H, 0.999) / 1e3, (unsigned long long)errors);
	if (errors)
		fprintf(stderr, "urt-load: %llu connections failed; first error: %s\n",
			(unsigned long long)errors, strerror(-first_error));
	return requests ? 0 : 1;
}

static int num(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"conns", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 's'},
		{"pipeline", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	double v;
	while ((c = getopt_long(argc, argv, "H:p:c:d:s:P:h", longopts, NULL)) != -1) {
		const char *what = NULL;
		switch (c) {
		case 'H': C.host = optarg; break;
		case 'p': if (num(optarg, 1, 65535, &v)) what = "port"; else C.port = (int)v; break;
		case 'c': if (num(optarg, 1, 1000000, &v)) what = "conns"; else C.conns = (unsigned)v; break;
		case 'd': if (num(optarg, 0.001, 86400, &v)) what = "duration"; else C.duration = v; break;
		case 's': if (num(optarg, 1, 1 << 24, &v)) what = "size"; else C.size = (unsigned)v; break;
		case 'P': if (num(optarg, 1, 1024, &v)) what = "pipeline"; else C.pipeline = (unsigned)v; break;
		case 'h':
			printf("Usage: urt-load [--host ADDR] [--port N] [--conns N] [--duration SECS]\n"
			       "                [--size BYTES] [--pipeline N]\n"
			       "Echo load: each connection sends PIPELINE messages of SIZE bytes and\n"
			       "waits for them all to come back, until DURATION ends. Prints req/s and\n"
			       "p50/p99/p99.9 latency. Defaults: 127.0.0.1:7007, 50 conns, 5 s, 64 B, 1.\n");
			return 0;
		default:
			fprintf(stderr, "Try 'urt-load --help' for more information.\n");
			return 2;
		}
		if (what) {
			fprintf(stderr, "urt-load: invalid %s '%s'\n", what, optarg);
			return 2;
		}
	}
	tool_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	struct urt_options o = {.sq_entries = 1024, .stack_size = 32 * 1024, .flags = URT_OPT_QUIET};
	int r = urt_run_opts(&o, load_main, NULL);
	if (r < 0) {
		fprintf(stderr, "urt-load: %s\n", strerror(-r));
		return 1;
	}
	return r;
}
