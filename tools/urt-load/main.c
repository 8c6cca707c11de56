/* SPDX-License-Identifier: MIT */
/*
 * urt-load: a load generator on urt. --conns connections, each sending a
 * batch of --pipeline requests and waiting for all the answers, for
 * --duration seconds: at the end, connections still waiting are cancelled
 * and their unfinished batches not counted. A batch too large for the
 * socket buffers is sent by a second task while the first reads the
 * answers (one task would deadlock with the server). Echo mode: a request
 * is --size bytes that must come back. HTTP mode: a request is "GET --path HTTP/1.1"; the answers are
 * framed by their Content-Length, and any that is not 2xx is an error.
 * Reports requests/s and p50/p99/p99.9 latency (per request: the round trip
 * of its batch) from a log-linear histogram.
 *
 * --threads N splits the connections between N loops, one per thread,
 * each with its own counters and histogram and its own --duration; main
 * merges them when all have ended and prints one result.
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

#include "hist.h"
#include "http_resp.h"
#include "tool_loops.h"

/* The options, read-only once the loops run. */
struct cfg {
	const char *host;
	int port;
	unsigned conns, size, pipeline;
	double duration;
	bool http;
	const char *path;
	unsigned threads;
	bool pin;
};

static struct cfg C = {.host = "127.0.0.1", .port = 7007, .conns = 50, .size = 64,
		       .pipeline = 1, .duration = 5, .path = "/", .threads = 1};

/* One loop's share of the run and its results, touched only by its own
   thread until main merges them (aligned: the loops' counters do not
   share a cache line). */
struct worker {
	_Alignas(64) struct hist h;
	unsigned conns;      /* connections this loop runs */
	uint64_t requests, errors, bad_status;
	int first_error;
	int64_t end_ns;      /* this loop's end of the run */
	double secs;         /* how long it ran */
};

/* --size (K, M, G suffixes allowed) and --size x --pipeline at most. */
#define MAX_SIZE (1u << 24)
#define MAX_BATCH (1u << 26)

/* HTTP mode's receive buffer: response heads must fit (bodies need not). */
#define HTTP_IN 65536
/* Echo mode reads the answers in chunks of at most this (they are only counted). */
#define ECHO_IN 65536

/* One batch of requests, the same for every connection (read-only once built). */
static char *out;
static size_t batch;

static void count_error(struct worker *w, int err)
{
	w->errors++;
	if (!w->first_error)
		w->first_error = err;
}

/* Account one batch of C.pipeline requests sent at t0 that ended with r (a
   negative errno, or >= 0). False when the connection should stop. The end
   of the run (cancellation, the deadline) is not an error: that batch is
   simply not counted. */
static bool batch_done(struct worker *w, int64_t t0, ssize_t r)
{
	if (r < 0) {
		if (r != -ECANCELED && r != -ETIMEDOUT)
			count_error(w, (int)r);
		return false;
	}
	int64_t dt = urt_now_ns() - t0;
	for (unsigned i = 0; i < C.pipeline; i++)
		hist_add(&w->h, (uint64_t)dt);
	w->requests += C.pipeline;
	return true;
}

/* A connection's sending side. */
struct conn {
	int fd;
	size_t sent;       /* bytes of the batch that batch_send got out itself */
	int send_err;      /* the sender task's error */
	urt_task *sender;  /* sending the rest of the batch, or NULL */
};

/* The sender task: the rest of the batch. On an error the socket is shut
   down, so that the receiving side stops waiting for answers that will not
   come. */
static int send_rest(void *arg)
{
	struct conn *k = arg;
	ssize_t r = urt_send_all(k->fd, out + k->sent, batch - k->sent, 0, NULL);
	if (r < 0 && r != -ECANCELED) {
		k->send_err = (int)r;
		urt_shutdown(k->fd, SHUT_RDWR);
	}
	return 0;
}

/*
 * Start sending the batch. Sending all of it before reading any answer
 * deadlocks once the batch is larger than the socket buffers can hold:
 * the server stops reading while its answers go unread, and we stop
 * reading while our send waits. So what the socket takes at once goes out
 * here without waiting (all of it for the usual small batch: no extra task,
 * no extra switch), and the rest is left to a sender task while the caller
 * reads the answers. 0 or a negative errno.
 */
static int batch_send(struct conn *k)
{
	ssize_t r = urt_send(k->fd, out, batch, MSG_DONTWAIT);
	if (r == -EAGAIN)
		r = 0;
	if (r < 0)
		return (int)r;
	if ((size_t)r == batch)
		return 0;
	k->sent = (size_t)r;
	k->send_err = 0;
	k->sender = urt_spawn(send_rest, k);
	return k->sender ? 0 : -ENOMEM;
}

/*
 * The batch's answers were read (r >= 0) or reading failed (r < 0): wait
 * for the sender, cancelled first when reading failed. urt_wait_for also
 * cancels and joins it when this task is cancelled (the end of the run)
 * while waiting, so no sender outlives its connection. Returns r, or the
 * sender's error, which is the cause when both failed.
 */
static ssize_t batch_end(struct conn *k, ssize_t r)
{
	if (!k->sender)
		return r;
	if (r < 0)
		urt_cancel(k->sender);
	urt_wait_for(k->sender, NULL, URT_FOREVER);
	k->sender = NULL;
	return k->send_err ? k->send_err : r;
}

/* Connect; a failure other than the end of the run counts as an error. */
static int client_connect(struct worker *w)
{
	int fd = urt_tcp_connect(C.host, C.port);
	if (fd < 0) {
		if (fd != -ECANCELED && fd != -ETIMEDOUT)
			count_error(w, fd);
		return fd;
	}
	urt_set_nodelay(fd, true);
	return fd;
}

static int echo_client(void *arg)
{
	struct worker *w = arg;
	char *in = aligned_alloc(64, ECHO_IN);
	if (!in) {
		count_error(w, -ENOMEM);
		return 0;
	}
	struct conn k = {.fd = client_connect(w)};
	if (k.fd < 0) {
		free(in);
		return 0;
	}
	while (urt_now_ns() < w->end_ns) {
		int64_t t0 = urt_now_ns();
		ssize_t r = batch_send(&k);
		size_t got = 0;
		while (r >= 0 && got < batch) {
			size_t want = batch - got < ECHO_IN ? batch - got : ECHO_IN;
			r = urt_recv(k.fd, in, want, 0);
			if (r == 0)
				r = -ECONNRESET; /* the server closed on us */
			if (r > 0)
				got += (size_t)r;
		}
		if (!batch_done(w, t0, batch_end(&k, r)))
			break;
	}
	urt_sock_close(k.fd);
	free(in);
	return 0;
}
/* An HTTP connection's input: unread bytes are in[pos, len). */
struct http_in {
	char *in;
	size_t pos, len;
	uint64_t body_left; /* of the response being read */
};

/*
 * Read until n responses have ended. Responses may arrive split across
 * reads or several in one; bodies are skipped as they come, so they may
 * be larger than the buffer. Non-2xx responses are counted in bad_status.
 * Returns 0 or a negative errno (-EPROTO for a response we cannot frame).
 */
static int http_read_responses(struct worker *w, int fd, struct http_in *h, unsigned n)
{
	while (n) {
		size_t avail = h->len - h->pos;
		if (h->body_left && avail) {
			size_t k = avail < h->body_left ? avail : (size_t)h->body_left;
			h->pos += k;
			if (!(h->body_left -= k))
				n--;
			continue;
		}
		if (!h->body_left && avail) {
			int status;
			uint64_t length;
			ssize_t k = resp_head(h->in + h->pos, avail, &status, &length);
			if (k < 0)
				return -EPROTO;
			if (k > 0) {
				h->pos += (size_t)k;
				if (status < 200 || status > 299)
					w->bad_status++;
				if (!(h->body_left = length))
					n--;
				continue;
			}
		}
		/* need more: keep a partial head, moved to the front */
		h->len -= h->pos;
		if (h->len && h->pos)
			memmove(h->in, h->in + h->pos, h->len);
		h->pos = 0;
		if (h->len == HTTP_IN)
			return -EMSGSIZE;
		ssize_t r = urt_recv(fd, h->in + h->len, HTTP_IN - h->len, 0);
		if (r == 0)
			return -ECONNRESET; /* the server closed on us */
		if (r < 0)
			return (int)r;
		h->len += (size_t)r;
	}
	return 0;
}

static int http_client(void *arg)
{
	struct worker *w = arg;
	struct http_in h = {.in = aligned_alloc(64, HTTP_IN)};
	if (!h.in) {
		count_error(w, -ENOMEM);
		return 0;
	}
	struct conn k = {.fd = client_connect(w)};
	if (k.fd < 0) {
		free(h.in);
		return 0;
	}
	while (urt_now_ns() < w->end_ns) {
		int64_t t0 = urt_now_ns();
		ssize_t r = batch_send(&k);
		if (r >= 0)
			r = http_read_responses(w, k.fd, &h, C.pipeline);
		if (!batch_done(w, t0, batch_end(&k, r)))
			break;
	}
	urt_sock_close(k.fd);
	free(h.in);
	return 0;
}

/* The batch every connection sends: C.pipeline requests back to back. */
static int build_batch(void)
{
	char req[1024];
	size_t rl = C.size;
	if (C.http) {
		/* main bounds --host and --path, so the request fits */
		rl = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", C.path,
				      C.host);
		if (rl >= sizeof req)
			return -EINVAL;
	}
	batch = rl * C.pipeline;
	out = aligned_alloc(64, (batch + 63) & ~(size_t)63);
	if (!out)
		return -ENOMEM;
	if (!C.http)
		memset(out, 'x', batch);
	for (unsigned i = 0; C.http && i < C.pipeline; i++)
		memcpy(out + rl * i, req, rl);
	return 0;
}

static void usage(void)
{
	printf("Usage: urt-load [--mode echo|http] [--host ADDR] [--port N] [--conns N]\n"
	       "                [--duration SECS] [--pipeline N] [--size BYTES] [--path PATH]\n"
	       "                [--threads N] [--pin]\n"
	       "Each connection sends PIPELINE requests and waits for all the answers,\n"
	       "until DURATION ends. Echo mode: a request is SIZE bytes echoed back.\n"
	       "HTTP mode: a request is GET PATH; non-2xx answers count as errors.\n"
	       "Prints req/s and p50/p99/p99.9 latency. Defaults: echo, 127.0.0.1:7007,\n"
	       "50 conns, 5 s, pipeline 1, 64 B, path /.\n"
	       "  --threads N  N loops, one per thread, the connections split between them\n"
	       "               (0: one per usable CPU; default 1); results are merged\n"
	       "  --pin        pin thread i to the i-th usable CPU (modulo their number)\n");
}

/*
 * One loop's main task: its share of the connections for --duration from
 * its own start (urt_group_wait cancels what still runs at the end).
 * Returns 0; the results stay in the worker for main to merge.
 */
static int load_main(void *arg)
{
	struct worker *w = arg;
	urt_group conns;
	urt_group_init(&conns);
	int64_t start = urt_now_ns();
	w->end_ns = start + (int64_t)(C.duration * 1e9);
	/* stack_now: a client that could not start would end -ENOMEM and
	   cancel the group (every other client); this way it is one error */
	struct urt_spawn_attr ca = {.group = &conns, .stack_now = true};
	for (unsigned i = 0; i < w->conns; i++)
		if (!urt_spawn_attr(&ca, C.http ? http_client : echo_client, w))
			count_error(w, -ENOMEM);
	/* the run ends at the deadline whatever the connections are doing:
	   urt_group_wait cancels those still running then, a connect or a
	   batch in flight included (such a batch is not counted) */
	int64_t left = w->end_ns - urt_now_ns();
	urt_deadline_push(left > 0 ? left : 0);
	urt_group_wait(&conns);
	urt_deadline_pop();
	w->secs = (double)(urt_now_ns() - start) / 1e9;
	return 0;
}

/* Merge the loops' results into w[0] (histograms bucket by bucket; the
   run lasted as long as the longest loop) and print them as one run. */
static void report(struct worker *w, unsigned n)
{
	struct worker *t = &w[0];
	for (unsigned i = 1; i < n; i++) {
		hist_merge(&t->h, &w[i].h);
		t->requests += w[i].requests;
		t->errors += w[i].errors;
		t->bad_status += w[i].bad_status;
		if (!t->first_error)
			t->first_error = w[i].first_error;
		if (w[i].secs > t->secs)
			t->secs = w[i].secs;
	}
	double secs = t->secs > 0 ? t->secs : 1e-9;
	char threads[32] = "";
	if (n > 1)
		snprintf(threads, sizeof threads, " threads=%u", n);
	if (C.http)
		printf("urt-load http %s:%d%s conns=%u%s pipeline=%u duration=%.1fs: ", C.host, C.port,
		       C.path, C.conns, threads, C.pipeline, secs);
	else
		printf("urt-load echo %s:%d conns=%u%s size=%u pipeline=%u duration=%.1fs: ", C.host,
		       C.port, C.conns, threads, C.size, C.pipeline, secs);
	printf("%.0f req/s, latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, errors %llu\n",
	       (double)t->requests / secs, (double)hist_quantile(&t->h, 0.50) / 1e3,
	       (double)hist_quantile(&t->h, 0.99) / 1e3, (double)hist_quantile(&t->h, 0.999) / 1e3,
	       (unsigned long long)(t->errors + t->bad_status));
	if (t->errors)
		fprintf(stderr, "urt-load: %llu connections failed; first error: %s\n",
			(unsigned long long)t->errors, strerror(-t->first_error));
	if (t->bad_status)
		fprintf(stderr, "urt-load: %llu responses were not 2xx\n",
			(unsigned long long)t->bad_status);
}

/*
 * Split the connections between the loops (as evenly as possible; no loop
 * without connections is started), run them, merge and print. Exit status
 * 1 when no request completed or a loop failed.
 */
static int run(void)
{
	int r = build_batch();
	if (r < 0) {
		fprintf(stderr, "urt-load: %s\n", strerror(-r));
		return 1;
	}
	unsigned n = C.threads < C.conns ? C.threads : C.conns;
	struct worker *w = aligned_alloc(64, n * sizeof *w);
	if (!w) {
		fprintf(stderr, "urt-load: %s\n", strerror(ENOMEM));
		free(out);
		return 1;
	}
	for (unsigned i = 0; i < n; i++)
		w[i] = (struct worker){.conns = C.conns / n + (i < C.conns % n)};
	struct tool_loops tl = {
		.name = "urt-load", .n = n, .pin = C.pin,
		.opts = {.sq_entries = 1024, .stack_size = 32 * 1024, .flags = URT_OPT_QUIET},
		.fn = load_main, .args = w, .size = sizeof *w, .stopfd = -1,
	};
	int status = tool_run_loops(&tl);
	report(w, n);
	if (!w[0].requests)
		status = 1;
	free(w);
	free(out);
	return status;
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
		{"mode", required_argument, NULL, 'm'},
		{"path", required_argument, NULL, 'u'},
		{"threads", required_argument, NULL, 'T'},
		{"pin", no_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	uint64_t u;
	while ((c = getopt_long(argc, argv, "H:p:c:d:s:P:m:u:h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'H':
			/* it goes into the Host header as is: refuse what would break it */
			if (strlen(optarg) > 255 || strpbrk(optarg, " \t\r\n")) {
				fprintf(stderr, "urt-load: invalid value '%s' for --host: expected an "
					"address or host name\n", optarg);
				bad = -1;
			}
			C.host = optarg;
			break;
		case 'p':
			if (!(bad = tool_parse_u64("urt-load", "--port", optarg, 1, 65535, &u)))
				C.port = (int)u;
			break;
		case 'c':
			if (!(bad = tool_parse_u64("urt-load", "--conns", optarg, 1, 1000000, &u)))
				C.conns = (unsigned)u;
			break;
		case 'd':
			bad = tool_parse_double("urt-load", "--duration", optarg, 0.001, 86400, &C.duration);
			break;
		case 's':
			if (!(bad = tool_parse_size("urt-load", "--size", optarg, 1, MAX_SIZE, &u)))
				C.size = (unsigned)u;
			break;
		case 'P':
			if (!(bad = tool_parse_u64("urt-load", "--pipeline", optarg, 1, 1024, &u)))
				C.pipeline = (unsigned)u;
			break;
		case 'm':
			if (!strcmp(optarg, "http") || !strcmp(optarg, "echo")) {
				C.http = !strcmp(optarg, "http");
			} else {
				fprintf(stderr, "urt-load: invalid value '%s' for --mode: expected echo or http\n",
					optarg);
				bad = -1;
			}
			break;
		case 'u':
			/* it goes into the request line as is: refuse what would break it */
			if (optarg[0] != '/' || strlen(optarg) > 512 || strpbrk(optarg, " \t\r\n")) {
				fprintf(stderr, "urt-load: invalid value '%s' for --path: expected /PATH, "
					"at most 512 bytes, no blanks\n", optarg);
				bad = -1;
			}
			C.path = optarg;
			break;
		case 'T': bad = tool_parse_threads("urt-load", optarg, &C.threads); break;
		case 'I': C.pin = true; break;
		case 'h':
			usage();
			return 0;
		default:
			fprintf(stderr, "Try 'urt-load --help' for more information.\n");
			return TOOL_EXIT_USAGE;
		}
		if (bad)
			return TOOL_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "urt-load: unexpected argument '%s'\n", argv[optind]);
		return TOOL_EXIT_USAGE;
	}
	if ((uint64_t)C.size * C.pipeline > MAX_BATCH) {
		fprintf(stderr, "urt-load: --size times --pipeline is more than %u bytes\n", MAX_BATCH);
		return TOOL_EXIT_USAGE;
	}
	tool_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	return run();
}
