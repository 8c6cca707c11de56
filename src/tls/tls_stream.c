/* SPDX-License-Identifier: MIT */
/*
 * TLS under a urt_stream: the stream's buffers hold plaintext and its
 * reads and writes go through the connection (a layer, io/io.h), so code
 * written for plain streams runs on TLS unchanged.
 */
#include <errno.h>

#include "io/io.h"
#include "tls/tls.h"

static ssize_t layer_read(void *l, void *buf, size_t n)
{
	return urt_tls_read(l, buf, n);
}

static ssize_t layer_write(void *l, const void *buf, size_t n)
{
	return urt_tls_write(l, buf, n);
}

static int layer_shutdown(void *l)
{
	return urt_tls_shutdown(l);
}

static void layer_free(void *l)
{
	urt_tls_free(l);
}

static const struct urt__stream_layer tls_layer = {
	.read = layer_read,
	.write = layer_write,
	.shutdown = layer_shutdown,
	.free = layer_free,
};

int urt_stream_start_tls(urt_stream *s, urt_tls_ctx *ctx, const char *server_name)
{
	if (!s || !s->rbuf || !ctx || s->layer)
		return -EINVAL;
	urt_task *me = urt__cur();
	if (!me)
		return -EPERM;
	if (!s->sock)
		return -ENOTSOCK;
	if (s->closer)
		return -ECANCELED;
	if (s->rtask || s->wtask)
		return -EBUSY; /* another task is reading or writing the stream */
	int r = urt_stream_flush(s);
	if (r < 0)
		return r;
	/* what the stream read past the plaintext is the peer's first
	   handshake bytes (a client that sent STARTTLS and its ClientHello in
	   one go) */
	urt_tls *t = NULL;
	s->rtask = me; /* urt_stream_destroy from another task cancels the handshake */
	r = urt__tls_open(ctx, s->fd, server_name, s->rbuf + s->rpos, s->rlen - s->rpos, &t);
	s->rtask = NULL;
	if (!t)
		return r; /* nothing happened: still a plain stream */
	s->rpos = s->rlen = 0;
	s->eof = false;
	if (s->closer) {
		urt__wake(s->closer, 0);
		urt_tls_free(t);
		return -ECANCELED;
	}
	/* failed or not, the layer stays: a failed one answers every call
	   with the handshake's errno, so no plaintext is read or written */
	s->layer = t;
	s->layer_ops = &tls_layer;
	return r;
}

urt_tls *urt_stream_tls(const urt_stream *s)
{
	return s && s->layer_ops == &tls_layer ? s->layer : NULL;
}
