/* SPDX-License-Identifier: MIT */
/* urt-httpd: shared declarations (server settings, the connection, responses). */
#ifndef URT_HTTPD_H
#define URT_HTTPD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <urt.h>

#include "http_parse.h"
#include "tool_loops.h"

/* The read buffer is also the head limit: a head that does not fit is 431. */
#define CONN_RBUF 16384
/* Responses are gathered here and sent once per batch of requests. */
#define CONN_OBUF 16384

/* The settings, and one loop's state: with --threads every loop gets its
   own copy (aligned: the loops' counters do not share a cache line), so
   nothing here is shared between threads but the read-only settings. */
struct httpd {
	_Alignas(64) const char *host;
	int port;
	int rootfd;          /* --root as an O_PATH fd; -1 without one */
	bool openat2;        /* openat2(RESOLVE_BENEATH) works (probed at start) */
	int64_t idle_ns;     /* a connection silent this long is closed; 0: never */
	int64_t header_ns;   /* a request head must arrive within this from its first byte; 0: no limit */
	int64_t body_ns;     /* a request body must arrive within this from the head's end; 0: no limit */
	unsigned max_conns;  /* beyond this, new connections get 503 (this loop's share) */
	int64_t drain_ns;    /* at shutdown, open connections get this long */
	unsigned threads;    /* --threads: loops, one per thread */
	bool pin;            /* --pin */
	urt_tls_ctx *tls;    /* --tls-cert/--tls-key: HTTPS (shared by the loops); NULL: plain */
	/* the loop's own */
	struct tool_listener l; /* its listener, loop index and the loops */
	unsigned live;       /* connection tasks running */
	uint64_t accepted;   /* connections served */
	uint64_t requests;   /* requests answered */
	urt_group conns;
};

/* What a connection waits for, which decides the limits on its reads. */
enum conn_phase {
	CONN_IDLE, /* the next request: only the idle timeout */
	CONN_HEAD, /* the rest of a request head: idle, and --header-timeout in all */
	CONN_BODY, /* the rest of a body: idle, and --body-timeout in all */
};

/* One connection, in one allocation: state, buffers, path scratch space. */
struct conn {
	_Alignas(64) char rbuf[CONN_RBUF]; /* requests: unparsed bytes in [rpos, rlen) */
	_Alignas(64) char obuf[CONN_OBUF]; /* responses not sent yet: [0, olen) */
	char path[PATH_MAX];
	struct httpd *srv;
	int fd;
	size_t rpos, rlen, olen;
	uint64_t skip;       /* body bytes still to read and drop */
	enum conn_phase phase;
	int64_t until;       /* the head or body must be complete by then (urt_now_ns); 0: no limit */
	bool close;          /* the current response is the last one */
	bool keep10;         /* HTTP/1.0 keep-alive: say so in the response */
	urt_tls *tls;        /* HTTPS: reads and sends go through it; NULL: plain */
	bool tls_closed;     /* close_notify sent */
};

/* conn.c: the connection task; arg is a struct conn it frees. */
int conn_task(void *arg);

/* conn.c: end TLS with close_notify (once), waiting at most ns for the
   socket to take it. Nothing on a plain connection. */
void conn_tls_close(struct conn *c, int64_t ns);

/* response.c */
const char *http_reason(int status);
/* Append bytes to the output, sending what is gathered when it is full.
   0 or a negative errno from the send. */
int conn_put(struct conn *c, const void *p, size_t n);
/* Send everything gathered (what cannot go out at once waits under the idle
   deadline). 0 or a negative errno. */
int conn_flush(struct conn *c);
/* Append a response head: status line, Server, Date, Content-Type,
   Content-Length, Connection when needed, extra (whole header lines or
   NULL), and the empty line. ctype must be a short constant, extra at most
   RESP_EXTRA_MAX bytes. */
#define RESP_EXTRA_MAX 8192
int resp_head(struct conn *c, int status, const char *ctype, uint64_t length,
	      const char *extra);
/* A complete plain-text response whose body is "STATUS Reason\n"; extra
   as for resp_head (405 gets its Allow header without). */
int resp_status(struct conn *c, int status, bool head_only);
int resp_status_extra(struct conn *c, int status, bool head_only, const char *extra);

/* static.c */
/* Probe openat2 on the root; returns 0 or a negative errno (no usable root). */
int static_init(struct httpd *s, const char *root);
/*
 * Serve rel (a sanitized path in c->path, "" for the root; "x/" asks for a
 * directory) from the root: appends the whole response, body included
 * unless head_only. Returns 0 when served, the status to answer with when
 * it was not (301 for a directory named without its trailing slash, 403,
 * 404 (also for "x/" when x is not a directory), 500; nothing was
 * appended), or a negative errno when the connection broke. c->path may
 * have been changed.
 */
int static_serve(struct conn *c, size_t rel_len, bool head_only);

#endif
