/* SPDX-License-Identifier: MIT */
/*
 * TLS on OpenSSL (issue 24). OpenSSL never touches the socket: a custom
 * BIO reads ciphertext from ibuf and appends ciphertext to obuf, and the
 * calling task moves those buffers through the ring (urt_recv,
 * urt_send_all). So no SSL_* call ever suspends: a task can be parked
 * between two of them while another task calls SSL_* on the same
 * connection (one reader and one writer at once), and OpenSSL's
 * thread-local error queue is always read by the task that filled it.
 */
#ifndef URT__TLS_TLS_H
#define URT__TLS_TLS_H

#include <openssl/ssl.h>
#include <pthread.h>

#include "core/core.h"

#define URT__TLS_SESSIONS 64 /* client session cache: entries per context */

struct urt_tls_ctx {
	SSL_CTX *ssl;
	int role;
	bool resume;               /* client: keep and offer sessions */
	int refs;                  /* atomic: the caller's + one per connection */
	unsigned char *alpn;       /* server: its protocols, wire format */
	unsigned alpn_len;
	pthread_mutex_t lock;      /* the session cache (contexts are shared by loops) */
	struct {
		char *name;
		SSL_SESSION *sess;
	} cache[URT__TLS_SESSIONS];
	unsigned cache_next;       /* round-robin victim once full */
};

struct urt_tls {
	urt_tls_ctx *ctx;
	SSL *ssl;                  /* NULL once failed (stream layer) */
	int fd;
	char *name;                /* client: the server name (session cache key) */
	/* ciphertext in: unread bytes are ibuf[ipos, ilen) */
	char *ibuf;
	size_t icap, ipos, ilen;
	bool ieof;                 /* the peer closed TCP */
	/* ciphertext out: unsent bytes are obuf[opos, olen) */
	char *obuf;
	size_t ocap, opos, olen;
	urt_task *reader;          /* task with a recv into ibuf in flight */
	urt_task *sender;          /* task with a send from obuf in flight */
	struct urt_list waiters;   /* tasks waiting for the sender to finish */
	int inside;                /* tasks inside urt_tls_* calls on this */
	urt_task *closer;          /* task in urt_tls_free, waiting for them */
	int err;                   /* fatal: every call returns it */
	int werr;                  /* the write side failed: writes return it */
	bool shut;                 /* close_notify queued */
	bool handshaken;
	char alpn[32];
	char reason[192];
};

/* tls_ctx.c */
void urt__tls_set_reason(char *dst, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
char *urt__tls_thread_reason(void);
void urt__tls_ctx_ref(urt_tls_ctx *c);
SSL_SESSION *urt__tls_session_get(urt_tls_ctx *c, const char *name);

/* tls_conn.c: a connection, handshaken or not (prefix: bytes already read
   from fd that belong to the handshake). The failed form of a connection
   (stream layer): err set, SSL and buffers freed. */
int urt__tls_open(urt_tls_ctx *ctx, int fd, const char *server_name, const void *prefix,
		  size_t plen, urt_tls **out);
void urt__tls_release(urt_tls *t); /* free SSL and buffers (keep t) */

#endif
