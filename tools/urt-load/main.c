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
 *
 * --tls: each connection handshakes (urt_tls_handshake) after connecting
 * and then reads and writes through urt_tls_read/urt_tls_write (HTTPS in
 * HTTP mode); the sender task and the reading task are the one writer and
 * the one reader a urt_tls allows at once. --new-conn: one batch per
 * connection, connecting (and handshaking) again for each, so that req/s
 * is new connections/s; its latency includes the connect and handshake.
 */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
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
	bool new_conn;        /* one batch per connection */
	bool tls;             /* TLS over each connection */
	bool tls_insecure;    /* do not verify the server */
	bool tls_resume;      /* offer the last session (default: full handshakes) */
	const char *tls_ca;   /* verify against this PEM file (NULL: system store) */
	const char *tls_name; /* SNI and the name checked (NULL: --host) */
};

/* The client context every connection shares (thread-safe), with --tls. */
static urt_tls_ctx *tls_ctx;
/* Set by the first handshake that failed, whose reason is printed. */
static _Atomic bool tls_failed_once;

static struct cfg C = {.host = "127.0.0.1", .port = 7007, .conns = 50, .size = 64,
		       .pipeline = 1, .duration = 5, .path = "/", .threads = 1};

/* One loop's share of the run and its results, touched only by its own
   thread until main merges them (aligned: the loops' counters do not
   share a cache line). */
struct worker {
	_Alignas(64) struct hist h;
	unsigned conns;      /* connections this loop runs */
	uint64_t requests, errors, bad_status;
	uint64_t conns_opened, resumed; /* connections made (handshakes, with --tls), resumed */
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

/* A connection and its sending side. */
struct conn {
	int fd;
	urt_tls *tls;      /* with --tls, else NULL */
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
	ssize_t r = k->tls ? urt_tls_write(k->tls, out + k->sent, batch - k->sent)
			   : urt_send_all(k->fd, out + k->sent, batch - k->sent, 0, NULL);
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
 *
 * TLS has no "what the socket takes now": a batch of at most TLS_INLINE
 * bytes (answers that the socket buffers hold easily) is written here,
 * a larger one all by the sender task.
 */
#define TLS_INLINE 16384
static int batch_send(struct conn *k)
{
	if (k->tls) {
		ssize_t r = 0;
		if (batch <= TLS_INLINE) {
			r = urt_tls_write(k->tls, out, batch);
			return r < 0 ? (int)r : 0;
		}
		k->sent = 0;
		k->send_err = 0;
		k->sender = urt_spawn(send_rest, k);
		return k->sender ? 0 : -ENOMEM;
	}
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

/* Connect (and handshake, with --tls): 0, or a negative errno and k->fd
   -1. A failure other than the end of the run counts as an error; the
   first failed handshake's reason is printed. */
static int conn_open(struct worker *w, struct conn *k)
{
	*k = (struct conn){.fd = urt_tcp_connect(C.host, C.port)};
	int r = k->fd;
	if (r >= 0) {
		urt_set_nodelay(k->fd, true);
		if (!C.tls) {
			w->conns_opened++;
			return 0;
		}
		r = urt_tls_handshake(tls_ctx, k->fd, C.tls_name, &k->tls);
		if (!r) {
			urt_tls_info info;
			w->conns_opened++;
			if (C.tls_resume && !urt_tls_get_info(k->tls, &info) && info.resumed)
				w->resumed++;
			return 0;
		}
		if (r != -ECANCELED && r != -ETIMEDOUT && !atomic_exchange(&tls_failed_once, true))
			fprintf(stderr, "urt-load: TLS handshake with %s:%d failed: %s (%s)\n", C.host,
				C.port, urt_tls_reason(NULL), strerror(-r));
		urt_sock_close(k->fd);
		k->fd = -1;
	}
	if (r != -ECANCELED && r != -ETIMEDOUT)
		count_error(w, r);
	return r;
}

/* Close the connection. polite (--new-conn, a batch answered): send
   close_notify first, as an HTTPS client that is done does. */
static void conn_close(struct conn *k, bool polite)
{
	if (k->tls) {
		if (polite)
			(void)urt_tls_shutdown(k->tls);
		urt_tls_free(k->tls);
		k->tls = NULL;
	}
	urt_sock_close(k->fd);
	k->fd = -1;
}

/* Up to n bytes of the server's answers; 0 when the server closed. */
static inline ssize_t conn_recv(struct conn *k, void *buf, size_t n)
{
	if (k->tls) {
		ssize_t r = urt_tls_read(k->tls, buf, n);
		return r == -ECONNABORTED ? 0 : r; /* closed without close_notify */
	}
	return urt_recv(k->fd, buf, n, 0);
}

static int echo_client(void *arg)
{
	struct worker *w = arg;
	char *in = aligned_alloc(64, ECHO_IN);
	if (!in) {
		count_error(w, -ENOMEM);
		return 0;
	}
	struct conn k = {.fd = -1};
	while (urt_now_ns() < w->end_ns) {
		int64_t t0 = urt_now_ns();
		if (k.fd < 0 && conn_open(w, &k) < 0)
			break;
		ssize_t r = batch_send(&k);
		size_t got = 0;
		while (r >= 0 && got < batch) {
			size_t want = batch - got < ECHO_IN ? batch - got : ECHO_IN;
			r = conn_recv(&k, in, want);
			if (r == 0)
				r = -ECONNRESET; /* the server closed on us */
			if (r > 0)
				got += (size_t)r;
		}
		r = batch_end(&k, r);
		if (C.new_conn)
			conn_close(&k, r >= 0);
		if (!batch_done(w, t0, r))
			break;
	}
	if (k.fd >= 0)
		conn_close(&k, false);
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
static int http_read_responses(struct worker *w, struct conn *k, struct http_in *h, unsigned n)
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
		ssize_t r = conn_recv(k, h->in + h->len, HTTP_IN - h->len);
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
	struct conn k = {.fd = -1};
	while (urt_now_ns() < w->end_ns) {
		int64_t t0 = urt_now_ns();
		if (k.fd < 0) {
			if (conn_open(w, &k) < 0)
				break;
			h.pos = h.len = 0;
			h.body_left = 0;
		}
		ssize_t r = batch_send(&k);
		if (r >= 0)
			r = http_read_responses(w, &k, &h, C.pipeline);
		r = batch_end(&k, r);
		if (C.new_conn)
			conn_close(&k, r >= 0);
		if (!batch_done(w, t0, r))
			break;
	}
	if (k.fd >= 0)
		conn_close(&k, false);
	free(h.in);
	return 0;
}

/* The batch every connection sends: C.pipeline requests back to back. */
static int build_batch(void)
{
	char req[1024], last[1024];
	size_t rl = C.size;
	size_t ll = rl; /* echo mode: every request, the last too, is --size bytes */
	if (C.http) {
		/* main bounds --host and --path, so the requests fit. With
		   --new-conn the last request of the batch asks the server to
		   close (as wrk -H "Connection: close" does), so that the
		   server, not the client, holds the TIME_WAIT */
		rl = (size_t)snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", C.path,
				      C.host);
		ll = (size_t)snprintf(last, sizeof last, "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
				      C.path, C.host, C.new_conn ? "Connection: close\r\n" : "");
		if (rl >= sizeof req || ll >= sizeof last)
			return -EINVAL;
	}
	batch = rl * (C.pipeline - 1) + ll;
	out = aligned_alloc(64, (batch + 63) & ~(size_t)63);
	if (!out)
		return -ENOMEM;
	if (!C.http)
		memset(out, 'x', batch);
	for (unsigned i = 0; C.http && i + 1 < C.pipeline; i++)
		memcpy(out + rl * i, req, rl);
	if (C.http)
		memcpy(out + rl * (C.pipeline - 1), last, ll);
	return 0;
}

static void usage(void)
{
	printf("Usage: urt-load [--mode echo|http] [--host ADDR] [--port N] [--conns N]\n"
	       "                [--duration SECS] [--pipeline N] [--size BYTES] [--path PATH]\n"
	       "                [--threads N] [--pin] [--new-conn]\n"
	       "                [--tls [--tls-ca FILE | --insecure] [--tls-name NAME] [--tls-resume]]\n"
	       "Each connection sends PIPELINE requests and waits for all the answers,\n"
	       "until DURATION ends. Echo mode: a request is SIZE bytes echoed back.\n"
	       "HTTP mode: a request is GET PATH; non-2xx answers count as errors.\n"
	       "Prints req/s and p50/p99/p99.9 latency. Defaults: echo, 127.0.0.1:7007,\n"
	       "50 conns, 5 s, pipeline 1, 64 B, path /.\n"
	       "  --threads N  N loops, one per thread, the connections split between them\n"
	       "               (0: one per usable CPU; default 1); results are merged\n"
	       "  --pin        pin thread i to the i-th usable CPU (modulo their number)\n"
	       "  --new-conn   one batch per connection: connect (and handshake) again for\n"
	       "               each, so req/s is new connections/s x PIPELINE; latency\n"
	       "               includes the connect and handshake. HTTP: the last request\n"
	       "               of the batch carries \"Connection: close\"\n"
	       "  --tls        TLS over each connection (HTTPS in HTTP mode)\n"
	       "  --tls-ca FILE  verify the server against the CAs in FILE (PEM; default:\n"
	       "               the system's store)\n"
	       "  --insecure   do not verify the server's certificate\n"
	       "  --tls-name NAME  SNI and the name the certificate must match (default:\n"
	       "               --host)\n"
	       "  --tls-resume offer the previous session (default: every handshake is a\n"
	       "               full one); the count of resumed ones is printed\n"
	       "A failed handshake counts as an error; the first one's reason is printed.\n");
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
		t->conns_opened += w[i].conns_opened;
		t->resumed += w[i].resumed;
		if (!t->first_error)
			t->first_error = w[i].first_error;
		if (w[i].secs > t->secs)
			t->secs = w[i].secs;
	}
	double secs = t->secs > 0 ? t->secs : 1e-9;
	char threads[64] = "";
	if (n > 1)
		snprintf(threads, sizeof threads, " threads=%u", n);
	/* " tls", " new-conn" after the connection count, only when asked */
	const char *how = C.tls ? (C.new_conn ? " tls new-conn" : " tls")
				: (C.new_conn ? " new-conn" : "");
	if (C.http)
		printf("urt-load http %s:%d%s conns=%u%s%s pipeline=%u duration=%.1fs: ", C.host, C.port,
		       C.path, C.conns, threads, how, C.pipeline, secs);
	else
		printf("urt-load echo %s:%d conns=%u%s%s size=%u pipeline=%u duration=%.1fs: ", C.host,
		       C.port, C.conns, threads, how, C.size, C.pipeline, secs);
	printf("%.0f req/s, latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, errors %llu\n",
	       (double)t->requests / secs, (double)hist_quantile(&t->h, 0.50) / 1e3,
	       (double)hist_quantile(&t->h, 0.99) / 1e3, (double)hist_quantile(&t->h, 0.999) / 1e3,
	       (unsigned long long)(t->errors + t->bad_status));
	if (C.new_conn)
		printf("urt-load: %llu connections, %.0f/s%s\n", (unsigned long long)t->conns_opened,
		       (double)t->conns_opened / secs, C.tls ? " (TLS handshakes)" : "");
	if (C.tls_resume)
		printf("urt-load: %llu of %llu handshakes resumed a session\n",
		       (unsigned long long)t->resumed, (unsigned long long)t->conns_opened);
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
	if (C.tls) {
		urt_tls_config tc = {.role = URT_TLS_CLIENT, .ca_file = C.tls_ca,
				     .insecure = C.tls_insecure, .no_resumption = !C.tls_resume};
		if ((r = urt_tls_ctx_new(&tc, &tls_ctx)) < 0) {
			fprintf(stderr, "urt-load: TLS: %s%s%s\n", strerror(-r),
				*urt_tls_reason(NULL) ? ": " : "", urt_tls_reason(NULL));
			free(out);
			return 1;
		}
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
	urt_tls_ctx_free(tls_ctx);
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
		{"new-conn", no_argument, NULL, 'N'},
		{"tls", no_argument, NULL, 't'},
		{"tls-ca", required_argument, NULL, 'A'},
		{"insecure", no_argument, NULL, 'k'},
		{"tls-name", required_argument, NULL, 'S'},
		{"tls-resume", no_argument, NULL, 'R'},
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
		case 'N': C.new_conn = true; break;
		case 't': C.tls = true; break;
		case 'A': C.tls_ca = optarg; break;
		case 'k': C.tls_insecure = true; break;
		case 'S':
			if (!*optarg || strlen(optarg) > 255) {
				fprintf(stderr, "urt-load: invalid value '%s' for --tls-name: expected a "
					"host name\n", optarg);
				bad = -1;
			}
			C.tls_name = optarg;
			break;
		case 'R': C.tls_resume = true; break;
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
	if (!C.tls && (C.tls_ca || C.tls_insecure || C.tls_name || C.tls_resume)) {
		fprintf(stderr, "urt-load: --tls-ca, --insecure, --tls-name and --tls-resume need --tls\n");
		return TOOL_EXIT_USAGE;
	}
	if (C.tls_ca && C.tls_insecure) {
		fprintf(stderr, "urt-load: --tls-ca and --insecure exclude each other\n");
		return TOOL_EXIT_USAGE;
	}
	if (C.tls && !C.tls_name)
		C.tls_name = C.host;
	tool_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	return run();
}
