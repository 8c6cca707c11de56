/* SPDX-License-Identifier: MIT */
/*
 * urt-httpd: a small HTTP/1.1 server on urt, one task per connection.
 * GET / answers "Hello, World!" (the usual plaintext benchmark); with
 * --root DIR, files under DIR are served too. Prints
 * "urt-httpd: listening on ADDR:PORT" on stdout once it accepts
 * connections. SIGINT/SIGTERM (urt_signal_wait) stop it gracefully: it
 * stops accepting, gives open connections --drain seconds to finish what
 * they are doing, cancels the rest and exits 0.
 *
 * --threads N runs N loops, one per thread, each with its own listening
 * socket on the port (SO_REUSEPORT), its own connections and its own copy
 * of the settings; loop 0 (the main thread) reads the stop signals and
 * wakes the others (tools/common/). At exit it prints the connections
 * and requests served, summed over the loops, with each loop's connections.
 *
 * --tls-cert FILE --tls-key FILE serve HTTPS instead (conn.c): one TLS
 * context, made before listening (a bad file stops it at start-up) and
 * shared by the loops.
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

#include "httpd.h"
#include "tls_opt.h"
#include "tool_loops.h"

/* The answer when --max-conns are already open. */
static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
			   "Server: urt-httpd/" URT_VERSION_STRING "\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Length: 24\r\n"
			   "Connection: close\r\n\r\n"
			   "503 Service Unavailable\n";

/* Over the limit: answer without waiting (MSG_DONTWAIT: a full socket
   buffer only loses the courtesy) and close, keeping the accept loop free.
   Over TLS the answer would need a handshake first: just close. */
static void refuse(const struct httpd *s, int fd)
{
	if (!s->tls)
		urt_send(fd, busy, sizeof busy - 1, MSG_DONTWAIT);
	close(fd);
}

/* Serve one accepted connection (or refuse it: --max-conns). */
static void take(void *arg, int fd)
{
	struct httpd *s = arg;
	if (s->live >= s->max_conns) {
		refuse(s, fd);
		return;
	}
	struct conn *c = aligned_alloc(64, sizeof *c);
	if (!c) {
		close(fd);
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->rpos = c->rlen = c->olen = 0;
	c->skip = 0;
	c->phase = CONN_IDLE;
	c->until = 0;
	c->close = c->keep10 = false;
	c->tls = NULL;
	c->tls_closed = false;
	/* stack_now: a member that could not start would leak c and fd, and
	   its -ENOMEM would cancel the group (every other connection) */
	struct urt_spawn_attr a = {.group = &s->conns, .stack_now = true};
	if (!urt_spawn_attr(&a, conn_task, c)) {
		free(c);
		close(fd);
		return;
	}
	s->live++;
	s->accepted++;
}

/*
 * One loop's main task: serve its listener until the server stops (a stop
 * signal, read on loop 0, or another loop's end: tool_wait_stop), then
 * drain. Returns the loop's exit status.
 */
static int server_main(void *arg)
{
	struct httpd *s = arg;
	return tool_serve_loop(&s->l, take, s, &s->conns, s->drain_ns);
}

/* Every loop gets a copy of the settings; --max-conns is split between
   them (rounded up), so the process never holds many more than asked for. */
static void setup(void *slot, const struct tool_listener *l, void *ctx)
{
	const struct httpd *cfg = ctx;
	struct httpd *s = slot;
	unsigned n = l->loops->n;
	*s = *cfg;
	s->l = *l;
	s->max_conns = (cfg->max_conns + n - 1) / n;
}

/* Listen (one socket per loop), say so, run the loops, report what they served. */
static int serve(struct httpd *cfg)
{
	struct tool_loops tl = {
		.name = "urt-httpd", .n = cfg->threads, .pin = cfg->pin,
		.opts = {.sq_entries = 1024, .stack_size = 64 * 1024, .flags = URT_OPT_QUIET},
		.fn = server_main, .size = sizeof(struct httpd),
	};
	/* at exit, on stderr: the connections and requests served */
	static const struct tool_served served = {
		.accepted = offsetof(struct httpd, accepted), .counted = offsetof(struct httpd, requests),
		.before = "", .after = " requests",
	};
	return tool_serve(&tl, cfg->host, cfg->port, setup, &served, cfg);
}

/* Seconds to nanoseconds for a limit where 0 means none: a positive value
   too small to be a nanosecond must not turn into "no limit". */
static int64_t limit_ns(double secs)
{
	int64_t ns = (int64_t)(secs * 1e9);
	return secs > 0 && ns < 1 ? 1 : ns;
}

static void usage(void)
{
	printf("Usage: urt-httpd [--host ADDR] [--port N] [--root DIR] [--idle-timeout SECS]\n"
	       "                 [--header-timeout SECS] [--body-timeout SECS] [--max-conns N]\n"
	       "                 [--drain SECS] [--threads N] [--pin]\n"
	       "                 [--tls-cert FILE --tls-key FILE]\n"
	       "HTTP/1.1 server on io_uring. GET / answers \"Hello, World!\"; with --root,\n"
	       "files under DIR are served (a directory by its index.html; / too, when it\n"
	       "has one). Numeric ADDR, default 127.0.0.1; port 8080, 0 picks a free one.\n"
	       "Prints its address when ready.\n"
	       "  --idle-timeout SECS    close a connection silent this long, between\n"
	       "                         requests or within one (default 10)\n"
	       "  --header-timeout SECS  a request head must be complete this long after\n"
	       "                         its first byte, else 408 and close (default 10)\n"
	       "  --body-timeout SECS    a request body must be complete this long after\n"
	       "                         its head, else close (default 30)\n"
	       "  --max-conns N          beyond N open connections new ones get 503\n"
	       "                         (default 10000)\n"
	       "  --drain SECS           at SIGINT/SIGTERM, stop accepting and give open\n"
	       "                         connections this long before cancelling them\n"
	       "                         (default 1)\n"
	       "  --threads N            N loops, one per thread, each with its own\n"
	       "                         listener on the port (SO_REUSEPORT); 0: one per\n"
	       "                         usable CPU (default 1); --max-conns is split\n"
	       "                         between them\n"
	       "  --pin                  pin thread i to the i-th usable CPU (modulo\n"
	       "                         their number)\n"
	       TOOL_TLS_HELP
	       "With --tls-cert/--tls-key it serves HTTPS (HTTP/1.1 over TLS): the files\n"
	       "are loaded at start-up, the handshake must end within the header (and\n"
	       "idle) timeout, and past --max-conns new connections are closed unanswered.\n"
	       "At exit it prints the connections and requests served (stderr).\n"
	       "A timeout of 0 is no limit. Exit status: 0 after SIGINT/SIGTERM, 1 when\n"
	       "it cannot serve, 2 for a usage error.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"root", required_argument, NULL, 'r'},
		{"idle-timeout", required_argument, NULL, 't'},
		{"header-timeout", required_argument, NULL, 'T'},
		{"body-timeout", required_argument, NULL, 'B'},
		{"max-conns", required_argument, NULL, 'm'},
		{"drain", required_argument, NULL, 'd'},
		{"threads", required_argument, NULL, 'n'},
		{"pin", no_argument, NULL, 'P'},
		TOOL_TLS_LONGOPTS,
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct httpd s = {.host = "127.0.0.1", .port = 8080, .rootfd = -1,
			  .idle_ns = 10 * URT_NS_PER_SEC, .header_ns = 10 * URT_NS_PER_SEC,
			  .body_ns = 30 * URT_NS_PER_SEC, .max_conns = 10000,
			  .drain_ns = URT_NS_PER_SEC, .threads = 1};
	const char *root = NULL, *cert = NULL, *key = NULL;
	int c;
	double v;
	uint64_t u;
	while ((c = getopt_long(argc, argv, "H:p:r:t:m:d:h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case 'H': s.host = optarg; break;
		case 'p':
			if (!(bad = tool_parse_u64("urt-httpd", "--port", optarg, 0, 65535, &u)))
				s.port = (int)u;
			break;
		case 'r': root = optarg; break;
		case 't':
			if (!(bad = tool_parse_double("urt-httpd", "--idle-timeout", optarg, 0, 86400, &v)))
				s.idle_ns = limit_ns(v);
			break;
		case 'T':
			if (!(bad = tool_parse_double("urt-httpd", "--header-timeout", optarg, 0, 86400, &v)))
				s.header_ns = limit_ns(v);
			break;
		case 'B':
			if (!(bad = tool_parse_double("urt-httpd", "--body-timeout", optarg, 0, 86400, &v)))
				s.body_ns = limit_ns(v);
			break;
		case 'd':
			if (!(bad = tool_parse_double("urt-httpd", "--drain", optarg, 0, 3600, &v)))
				s.drain_ns = (int64_t)(v * 1e9);
			break;
		case 'm':
			if (!(bad = tool_parse_u64("urt-httpd", "--max-conns", optarg, 1, 10000000, &u)))
				s.max_conns = (unsigned)u;
			break;
		case 'n': bad = tool_parse_threads("urt-httpd", optarg, &s.threads); break;
		case 'P': s.pin = true; break;
		case TOOL_OPT_TLS_CERT: cert = optarg; break;
		case TOOL_OPT_TLS_KEY: key = optarg; break;
		case 'h': usage(); return 0;
		case 'V': printf("urt-httpd (urt) %s\n", URT_VERSION_STRING); return 0;
		default:
			fprintf(stderr, "Try 'urt-httpd --help' for more information.\n");
			return TOOL_EXIT_USAGE;
		}
		if (bad)
			return TOOL_EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "urt-httpd: unexpected argument '%s'\n", argv[optind]);
		return TOOL_EXIT_USAGE;
	}
	int st = tool_tls_server_ctx("urt-httpd", cert, key, &s.tls);
	if (st)
		return st;
	if (root) {
		int r = static_init(&s, root);
		if (r < 0) {
			fprintf(stderr, "urt-httpd: cannot open root '%s': %s\n", root, strerror(-r));
			urt_tls_ctx_free(s.tls);
			return 1;
		}
	}
	st = serve(&s);
	urt_tls_ctx_free(s.tls);
	return st;
}
