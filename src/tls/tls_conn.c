/* SPDX-License-Identifier: MIT */
/*
 * TLS connections: handshake, read, write, close_notify, free.
 *
 * OpenSSL talks to a BIO of ours (bio_read/bio_write) that only copies
 * between OpenSSL and two buffers; the socket I/O is done by the task,
 * through the ring, between SSL_* calls (see tls.h):
 *  - ibuf: ciphertext received. Only the task that reads fills it (one
 *    urt_recv, when OpenSSL asks for more: SSL_ERROR_WANT_READ).
 *  - obuf: ciphertext to send. Any SSL_* call may append to it (SSL_write
 *    records, the handshake's flights, alerts); the task that finds no
 *    send in flight sends it all (urt_send_all), and a task that needs it
 *    sent while another is sending waits for that one. While a send is in
 *    flight obuf may not move: appends go after olen when they fit, and
 *    SSL_write is only called once a record fits (make_room), so OpenSSL
 *    never sees a write fail half way and never asks to retry a record.
 * A cancelled or timed-out recv leaves ibuf as it was and OpenSSL's record
 * state untouched, so the connection stays usable; a cancelled send leaves
 * the unsent rest queued, so records are never cut.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls.h"

#define IBUF (64 * 1024)     /* one recv's worth of ciphertext */
#define OBUF (80 * 1024)     /* FLUSH_AT plus a record, with room to spare */
#define FLUSH_AT (48 * 1024) /* send once this much is queued */
#define CHUNK 16384          /* plaintext per SSL_write: one full record */
#define SLACK 512            /* a record's overhead, with margin (1.2 CBC: ~300) */

/* ---- the BIO ---- */

static int bio_read(BIO *b, char *out, int len)
{
	urt_tls *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	size_t avail = t->ilen - t->ipos;
	if (!avail) {
		if (t->ieof)
			return 0; /* EOF: OpenSSL tells close_notify from truncation */
		BIO_set_retry_read(b);
		return -1;
	}
	size_t n = avail < (size_t)len ? avail : (size_t)len;
	memcpy(out, t->ibuf + t->ipos, n);
	t->ipos += n;
	return (int)n;
}

/* Room for need more bytes at the end of obuf, moving or growing it only
   when no send is in flight from it. */
static bool ensure_room(urt_tls *t, size_t need)
{
	if (t->ocap - t->olen >= need)
		return true;
	if (t->sender)
		return false;
	if (t->opos) {
		memmove(t->obuf, t->obuf + t->opos, t->olen - t->opos);
		t->olen -= t->opos;
		t->opos = 0;
		if (t->ocap - t->olen >= need)
			return true;
	}
	size_t cap = t->ocap * 2 > t->olen + need ? t->ocap * 2 : t->olen + need;
	cap = (cap + 63) & ~(size_t)63;
	char *nb = aligned_alloc(64, cap);
	if (!nb)
		return false;
	memcpy(nb, t->obuf, t->olen);
	free(t->obuf);
	t->obuf = nb;
	t->ocap = cap;
	return true;
}

static int bio_write(BIO *b, const char *in, int len)
{
	urt_tls *t = BIO_get_data(b);
	BIO_clear_retry_flags(b);
	if (len <= 0)
		return 0;
	if (!ensure_room(t, (size_t)len)) {
		BIO_set_retry_write(b); /* a send is in flight: after it */
		return -1;
	}
	memcpy(t->obuf + t->olen, in, (size_t)len);
	t->olen += (size_t)len;
	return len;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)num;
	(void)ptr;
	urt_tls *t = BIO_get_data(b);
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1; /* the task flushes after the SSL_* call */
	case BIO_CTRL_PENDING:
		return (long)(t->ilen - t->ipos);
	case BIO_CTRL_WPENDING:
		return (long)(t->olen - t->opos);
	case BIO_CTRL_EOF:
		return t->ieof && t->ipos == t->ilen;
	default:
		return 0;
	}
}

static int bio_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static void bio_method_make(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "urt");
	if (m && BIO_meth_set_read(m, bio_read) && BIO_meth_set_write(m, bio_write) &&
	    BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create))
		bio_method = m;
}

/* ---- who is inside, who sends ---- */

static int enter(urt_tls *t)
{
	if (!t)
		return -EINVAL;
	if (!urt__cur())
		return -EPERM;
	if (t->closer)
		return -ECANCELED;
	t->inside++;
	return 0;
}

static void leave(urt_tls *t)
{
	if (--t->inside == 0 && t->closer)
		urt__wake(t->closer, 0);
}

static void wake_waiters(urt_tls *t, int res)
{
	struct urt_list *pos, *tmp;
	urt__list_for_each_safe(pos, tmp, &t->waiters)
	{
		struct urt__waiter *w = urt__container_of(pos, struct urt__waiter, link);
		urt__list_del(pos);
		urt__wake(w->task, res);
	}
}

/* Send everything queued in obuf (waiting for a send another task has in
   flight first). 0 or a negative errno; what was not sent stays queued. */
static int flush_out(urt_tls *t)
{
	while (t->olen > t->opos) {
		if (t->closer)
			return -ECANCELED;
		if (t->werr)
			return t->werr;
		urt_task *me = urt__cur();
		if (t->sender) {
			struct urt__waiter w = {.task = me};
			int r = urt__wait_on(&t->waiters, &w, me->deadline);
			if (r < 0)
				return r;
			continue;
		}
		t->sender = me;
		size_t done = 0;
		/* Almost always the socket takes it all: try that first without
		   waiting (under a deadline, a send that may wait carries a
		   linked timeout, one more SQE), then wait for the rest. */
		ssize_t r = urt_send(t->fd, t->obuf + t->opos, t->olen - t->opos,
				     MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r >= 0 || r == -EAGAIN) {
			done = r > 0 ? (size_t)r : 0;
			if (t->opos + done < t->olen) {
				size_t more = 0;
				r = urt_send_all(t->fd, t->obuf + t->opos + done,
						 t->olen - t->opos - done, MSG_NOSIGNAL, &more);
				done += more;
			}
		}
		t->sender = NULL;
		t->opos += done;
		if (t->opos == t->olen)
			t->opos = t->olen = 0;
		wake_waiters(t, 0);
		if (r < 0) {
			if (r != -ECANCELED && r != -ETIMEDOUT)
				t->werr = (int)r; /* the peer is gone: later writes fail */
			return (int)r;
		}
	}
	return 0;
}

/* One recv into ibuf (called when OpenSSL has taken all of it): the bytes
   received, 0 at EOF, or a negative errno. */
static ssize_t fill_in(urt_tls *t)
{
	if (t->closer)
		return -ECANCELED;
	if (t->reader)
		return -EBUSY; /* another task is reading this connection */
	if (t->ieof)
		return 0;
	if (t->ipos == t->ilen)
		t->ipos = t->ilen = 0;
	else if (t->ipos) {
		memmove(t->ibuf, t->ibuf + t->ipos, t->ilen - t->ipos);
		t->ilen -= t->ipos;
		t->ipos = 0;
	}
	t->reader = urt__cur();
	ssize_t r = urt_recv(t->fd, t->ibuf + t->ilen, t->icap - t->ilen, 0);
	t->reader = NULL;
	if (r > 0)
		t->ilen += (size_t)r;
	else if (r == 0)
		t->ieof = true;
	return r;
}

/* ---- errors ---- */

static void set_reason(urt_tls *t, const char *fmt, const char *arg)
{
	urt__tls_set_reason(t->reason, sizeof t->reason, fmt, arg);
}

/* A failed SSL_* call (SSL_get_error gave sslerr): the errno, the reason
   kept, the connection dead. The alert OpenSSL queued for the peer is
   sent if the socket takes it at once. */
static int fail(urt_tls *t, int sslerr)
{
	unsigned long e = ERR_peek_error();
	int lib = ERR_GET_LIB(e), why = ERR_GET_REASON(e);
	bool ssl = lib == ERR_LIB_SSL;
	int rc = -EPROTO;
	if (ssl && why == SSL_R_CERTIFICATE_VERIFY_FAILED) {
		long v = SSL_get_verify_result(t->ssl);
		set_reason(t, "certificate verify failed: %s", X509_verify_cert_error_string(v));
		rc = v == X509_V_ERR_CERT_HAS_EXPIRED || v == X509_V_ERR_CERT_NOT_YET_VALID
			     ? -EKEYEXPIRED
			     : -EKEYREJECTED;
	} else if (t->ieof && (sslerr == SSL_ERROR_SYSCALL ||
			       (ssl && why == SSL_R_UNEXPECTED_EOF_WHILE_READING))) {
		set_reason(t, "%s", "unexpected eof: the peer closed the connection without close_notify");
		rc = -ECONNABORTED;
	} else {
		const char *r = e ? ERR_reason_error_string(e) : NULL;
		if (r)
			set_reason(t, "%s", r);
		else
			set_reason(t, "%s", sslerr == SSL_ERROR_SYSCALL ? "I/O error" : "TLS error");
		if (ssl && why == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED)
			rc = -EKEYEXPIRED;
		else if (ssl && (why == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
				 why == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED))
			rc = -EKEYREJECTED;
	}
	ERR_clear_error();
	if (t->olen > t->opos && !t->sender && !t->werr) {
		ssize_t n = send(t->fd, t->obuf + t->opos, t->olen - t->opos,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n; /* best effort: the connection is over either way */
	}
	t->err = rc;
	return rc;
}

/* ---- the calls ---- */

/* An SSL_* call asked for I/O (SSL_get_error said e): do it, so the call
   can be made again (0), or fail with the errno. Before waiting for input,
   what OpenSSL queued goes out (a handshake flight, a KeyUpdate answer)
   unless another task's send is in flight: that task sends it too. */
static int do_wanted(urt_tls *t, int e)
{
	if (e == SSL_ERROR_WANT_READ) {
		if (t->olen > t->opos && !t->sender) {
			int f = flush_out(t);
			if (f < 0)
				return f;
		}
		ssize_t n = fill_in(t);
		return n < 0 ? (int)n : 0;
	}
	if (e == SSL_ERROR_WANT_WRITE)
		return flush_out(t);
	return fail(t, e);
}

static int do_handshake(urt_tls *t)
{
	for (;;) {
		ERR_clear_error();
		int r = SSL_do_handshake(t->ssl);
		if (r == 1) {
			t->handshaken = true;
			return flush_out(t); /* our last flight (a server's tickets) */
		}
		if ((r = do_wanted(t, SSL_get_error(t->ssl, r))) < 0)
			return r;
	}
}

static bool is_ip(const char *s)
{
	unsigned char a[16];
	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

void urt__tls_release(urt_tls *t)
{
	if (t->ssl)
		SSL_free(t->ssl); /* frees the BIO too */
	t->ssl = NULL;
	free(t->ibuf);
	free(t->obuf);
	t->ibuf = t->obuf = NULL;
	t->icap = t->ipos = t->ilen = t->ocap = t->opos = t->olen = 0;
}

static void tls_destroy(urt_tls *t)
{
	/* A connection that did not fail keeps its session resumable even
	   without a close_notify from us: OpenSSL marks the session of an SSL
	   freed before SSL_shutdown as not resumable (a rule from SSL 3's
	   truncation worries; TLS 1.3 tickets do not need it). */
	if (t->ssl && t->handshaken && !t->err)
		SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	urt__tls_release(t);
	urt_tls_ctx_free(t->ctx);
	free(t->name);
	free(t);
}

/* Make t and handshake. On success 0 and *out; on failure the errno, with
   *out a dead connection (err set, SSL and buffers freed) or NULL when
   nothing was done (no memory: no byte read). */
int urt__tls_open(urt_tls_ctx *ctx, int fd, const char *name, const void *prefix, size_t plen,
		  urt_tls **out)
{
	*out = NULL;
	char *why = urt__tls_thread_reason();
	why[0] = 0;
	if (!ctx || fd < 0)
		return -EINVAL;
	if (!urt__cur())
		return -EPERM;
	pthread_once(&bio_once, bio_method_make);
	urt_tls *t = calloc(1, sizeof *t);
	if (!t || !bio_method)
		goto nomem;
	t->fd = fd;
	t->ctx = ctx;
	urt__tls_ctx_ref(ctx);
	urt__list_init(&t->waiters);
	t->icap = plen > IBUF ? (plen + 63) & ~(size_t)63 : IBUF;
	t->ocap = OBUF;
	t->ibuf = aligned_alloc(64, t->icap);
	t->obuf = aligned_alloc(64, t->ocap);
	t->ssl = SSL_new(ctx->ssl);
	BIO *b = t->ssl ? BIO_new(bio_method) : NULL;
	if (!t->ibuf || !t->obuf || !b || (name && !(t->name = strdup(name)))) {
		BIO_free(b);
		tls_destroy(t);
		goto nomem;
	}
	BIO_set_data(b, t);
	SSL_set_bio(t->ssl, b, b);
	SSL_set_app_data(t->ssl, t);
	if (ctx->role == URT_TLS_SERVER) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (name && *name) {
			bool ip = is_ip(name);
			if (!ip)
				SSL_set_tlsext_host_name(t->ssl, name); /* SNI never names an address */
			if (SSL_get_verify_mode(t->ssl) != SSL_VERIFY_NONE) {
				X509_VERIFY_PARAM *p = SSL_get0_param(t->ssl);
				if (ip)
					X509_VERIFY_PARAM_set1_ip_asc(p, name);
				else
					SSL_set1_host(t->ssl, name);
			}
			if (ctx->resume) {
				SSL_SESSION *s = urt__tls_session_get(ctx, name);
				if (s) {
					SSL_set_session(t->ssl, s);
					SSL_SESSION_free(s);
				}
			}
		}
	}
	if (plen) {
		memcpy(t->ibuf, prefix, plen);
		t->ilen = plen;
	}
	t->inside = 1; /* as if in a call: urt_tls_free cannot see t yet anyway */
	int r = do_handshake(t);
	t->inside = 0;
	if (r < 0) {
		if (!t->reason[0])
			urt__tls_set_reason(t->reason, sizeof t->reason, "handshake: %s", strerror(-r));
		else
			urt__tls_set_reason(why, 192, "%s", t->reason);
		t->err = r;
		urt__tls_release(t);
	}
	*out = t;
	return r;
nomem:
	free(t);
	urt__tls_set_reason(why, 192, "%s", "out of memory");
	return -ENOMEM;
}

int urt_tls_handshake(urt_tls_ctx *ctx, int fd, const char *name, urt_tls **out)
{
	if (!out)
		return -EINVAL;
	int r = urt__tls_open(ctx, fd, name, NULL, 0, out);
	if (r < 0 && *out) {
		tls_destroy(*out);
		*out = NULL;
	}
	return r;
}

/* Send what an SSL_read left queued (a KeyUpdate answer, an alert) unless
   a send is in flight (its task sends it). A cancellation that reaches
   this send stays pending: the read itself succeeded. */
static void flush_after_read(urt_tls *t)
{
	if (t->olen > t->opos && !t->sender && flush_out(t) == -ECANCELED)
		urt__cancel_rearm(urt__cur());
}

static ssize_t tls_read(urt_tls *t, void *buf, size_t n)
{
	if (t->err)
		return t->err;
	if (n == 0)
		return 0;
	int len = n > INT_MAX ? INT_MAX : (int)n;
	for (;;) {
		ERR_clear_error();
		int r = SSL_read(t->ssl, buf, len);
		if (r > 0) {
			flush_after_read(t);
			return r;
		}
		int e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN) {
			flush_after_read(t);
			return 0; /* close_notify: a clean EOF */
		}
		if ((r = do_wanted(t, e)) < 0)
			return r;
	}
}

ssize_t urt_tls_read(urt_tls *t, void *buf, size_t n)
{
	int r = enter(t);
	if (r)
		return r;
	ssize_t res = tls_read(t, buf, n);
	leave(t);
	return res;
}

/* Room in obuf for a record of need bytes: sends (or waits for the send
   in flight) until there is. */
static int make_room(urt_tls *t, size_t need)
{
	while (!ensure_room(t, need)) {
		if (!t->sender && t->olen == t->opos)
			return -ENOMEM; /* empty and still no room: growing failed */
		int r = flush_out(t);
		if (r < 0)
			return r;
	}
	return 0;
}

static ssize_t tls_write(urt_tls *t, const void *buf, size_t n)
{
	if (t->err)
		return t->err;
	if (t->werr)
		return t->werr;
	if (t->shut)
		return -EPIPE;
	size_t off = 0;
	while (off < n) {
		size_t chunk = n - off < CHUNK ? n - off : CHUNK;
		int r = make_room(t, chunk + SLACK);
		if (r < 0)
			return r;
		ERR_clear_error();
		int w = SSL_write(t->ssl, (const char *)buf + off, (int)chunk);
		if (w <= 0) {
			int e = SSL_get_error(t->ssl, w);
			if (e == SSL_ERROR_WANT_WRITE) /* not expected after make_room */
				continue;
			return fail(t, e);
		}
		off += (size_t)w;
		if (t->olen - t->opos >= FLUSH_AT && (r = flush_out(t)) < 0)
			return r;
	}
	int r = flush_out(t);
	return r < 0 ? r : (ssize_t)n;
}

ssize_t urt_tls_write(urt_tls *t, const void *buf, size_t n)
{
	int r = enter(t);
	if (r)
		return r;
	ssize_t res = tls_write(t, buf, n);
	leave(t);
	return res;
}

int urt_tls_shutdown(urt_tls *t)
{
	int r = enter(t);
	if (r)
		return r;
	if (t->err) {
		r = t->err;
	} else {
		while (!t->shut) {
			ERR_clear_error();
			int s = SSL_shutdown(t->ssl); /* queues close_notify */
			if (s < 0 && SSL_get_error(t->ssl, s) == SSL_ERROR_WANT_WRITE) {
				if ((r = flush_out(t)) < 0)
					break;
				continue;
			}
			ERR_clear_error();
			t->shut = true;
		}
		if (r == 0)
			r = flush_out(t);
	}
	leave(t);
	return r;
}

void urt_tls_free(urt_tls *t)
{
	if (!t)
		return;
	urt_task *me = urt__cur();
	if (me && t->inside) {
		/* other tasks are in calls on t: cancel their ops and waits, and
		   wait until they have left (the kernel may be using ibuf/obuf) */
		t->closer = me;
		bool cancelled = false;
		while (t->inside) {
			if (t->reader && t->reader->state == URT__WAIT_IO)
				urt__op_cancel(t->reader);
			if (t->sender && t->sender->state == URT__WAIT_IO)
				urt__op_cancel(t->sender);
			wake_waiters(t, -ECANCELED);
			if (urt__wait_user(URT__NO_DEADLINE) == -ECANCELED)
				cancelled = true;
		}
		if (cancelled)
			urt__cancel_rearm(me);
	}
	tls_destroy(t);
}

const char *urt_tls_reason(const urt_tls *t)
{
	return t ? t->reason : urt__tls_thread_reason();
}

int urt_tls_get_info(const urt_tls *t, urt_tls_info *info)
{
	if (!t || !info || !t->ssl || !t->handshaken)
		return -EINVAL;
	memset(info, 0, sizeof *info);
	urt_tls *m = (urt_tls *)t; /* alpn[] is a cache */
	info->version = SSL_version(t->ssl);
	info->cipher = SSL_get_cipher_name(t->ssl);
	const unsigned char *p = NULL;
	unsigned len = 0;
	SSL_get0_alpn_selected(t->ssl, &p, &len);
	if (p && len && len < sizeof m->alpn) {
		memcpy(m->alpn, p, len);
		m->alpn[len] = 0;
		info->alpn = m->alpn;
	}
	info->resumed = SSL_session_reused(t->ssl);
	info->ktls = false;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	bool cert = SSL_get0_peer_certificate(t->ssl) != NULL;
#else
	X509 *x = SSL_get_peer_certificate(t->ssl);
	bool cert = x != NULL;
	X509_free(x);
#endif
	info->peer_verified = cert && SSL_get_verify_mode(t->ssl) != SSL_VERIFY_NONE &&
			      SSL_get_verify_result(t->ssl) == X509_V_OK;
	return 0;
}
