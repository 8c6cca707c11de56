/* SPDX-License-Identifier: MIT */
/*
 * Buffered streams over an fd: the read side keeps unread bytes in
 * rbuf[rpos, rlen) and refills with one op; the write side collects bytes
 * in wbuf and writes them out with one op per flush when possible.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "core/core.h"
#include "io/io.h"

static inline const struct urt__stream_layer *layer_ops(const urt_stream *s)
{
	return s->layer_ops;
}

#define DEFAULT_BUF (64 * 1024)

int urt_stream_init(urt_stream *s, int fd, size_t rbuf, size_t wbuf)
{
	memset(s, 0, sizeof *s);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	s->fd = fd;
	s->sock = S_ISSOCK(st.st_mode);
	s->rcap = rbuf ? rbuf : DEFAULT_BUF;
	s->wcap = wbuf ? wbuf : DEFAULT_BUF;
	if (s->rcap > INT32_MAX || s->wcap > INT32_MAX) {
		s->rcap = s->wcap = 0;
		return -ENOMEM; /* and no rounding below can wrap */
	}
	/* 64-byte aligned: the kernel copies much faster into aligned buffers */
	s->rbuf = aligned_alloc(64, (s->rcap + 63) & ~(size_t)63);
	s->wbuf = aligned_alloc(64, (s->wcap + 63) & ~(size_t)63);
	if (!s->rbuf || !s->wbuf) {
		urt_stream_destroy(s);
		return -ENOMEM;
	}
	return 0;
}

void urt_stream_destroy(urt_stream *s)
{
	if (!s) /* releases do nothing given NULL (urt.h) */
		return;
	urt_task *cur = urt__cur();
	if (cur && (s->rtask || s->wtask)) {
		/* another task has an op in flight on our buffers: cancel it and
		   wait until it has left them (see raw_read) */
		s->closer = cur;
		bool cancelled = false;
		if (s->layer) {
			/* first the layer's own ops and waits (it cancels and waits
			   for the tasks inside it; they then leave raw_read below) */
			layer_ops(s)->free(s->layer);
			s->layer = NULL;
		}
		while (s->rtask || s->wtask) {
			urt_task *busy[2] = {s->rtask, s->wtask};
			for (int i = 0; i < 2; i++)
				if (busy[i] && busy[i]->state == URT__WAIT_IO)
					urt__op_cancel(busy[i]);
			if (urt__wait_user(URT__NO_DEADLINE) == -ECANCELED)
				cancelled = true;
		}
		s->closer = NULL;
		if (cancelled)
			urt__cancel_rearm(cur);
	}
	if (s->layer)
		layer_ops(s)->free(s->layer);
	s->layer = NULL;
	s->layer_ops = NULL;
	free(s->rbuf);
	free(s->wbuf);
	s->rbuf = s->wbuf = NULL;
	s->rcap = s->wcap = s->rpos = s->rlen = s->wlen = 0;
}

/* The only places a stream suspends with its buffers in the kernel's
   hands: they record the task, so urt_stream_destroy can cancel the op and
   wait, and refuse to start once a free is under way. */
static ssize_t raw_read(urt_stream *s, void *buf, size_t n)
{
	if (s->closer)
		return -ECANCELED;
	s->rtask = urt__cur();
	ssize_t r = s->layer ? layer_ops(s)->read(s->layer, buf, n)
		    : s->sock ? urt_recv(s->fd, buf, n, 0)
			      : urt_read(s->fd, buf, n, -1);
	s->rtask = NULL;
	if (s->closer)
		urt__wake(s->closer, 0);
	return r;
}

static ssize_t raw_write_all(urt_stream *s, const void *buf, size_t n)
{
	if (s->closer)
		return -ECANCELED;
	s->wtask = urt__cur();
	ssize_t r = s->layer ? layer_ops(s)->write(s->layer, buf, n)
		    : s->sock ? urt_send_all(s->fd, buf, n, 0, NULL)
			      : urt_write_all(s->fd, buf, n, -1);
	s->wtask = NULL;
	if (s->closer)
		urt__wake(s->closer, 0);
	return r;
}

/* Read more into rbuf (compacting first if the tail is full). Returns the
   bytes added, 0 at EOF, or a negative errno. */
static ssize_t fill(urt_stream *s)
{
	if (s->eof)
		return 0;
	if (s->rlen == s->rcap && s->rpos > 0) {
		memmove(s->rbuf, s->rbuf + s->rpos, s->rlen - s->rpos);
		s->rlen -= s->rpos;
		s->rpos = 0;
	}
	if (s->rlen == s->rcap)
		return -ENOBUFS; /* callers check room first */
	ssize_t r = raw_read(s, s->rbuf + s->rlen, s->rcap - s->rlen);
	if (r > 0)
		s->rlen += (size_t)r;
	else if (r == 0)
		s->eof = true;
	return r;
}

static size_t take(urt_stream *s, void *buf, size_t n)
{
	size_t have = s->rlen - s->rpos;
	if (n > have)
		n = have;
	memcpy(buf, s->rbuf + s->rpos, n);
	s->rpos += n;
	if (s->rpos == s->rlen)
		s->rpos = s->rlen = 0;
	return n;
}

ssize_t urt_stream_read(urt_stream *s, void *buf, size_t n)
{
	if (!s->rbuf)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (s->rlen > s->rpos)
		return (ssize_t)take(s, buf, n);
	if (s->eof)
		return 0;
	if (n >= s->rcap) /* large reads skip the buffer */
		return raw_read(s, buf, n);
	ssize_t r = fill(s);
	return r <= 0 ? r : (ssize_t)take(s, buf, n);
}

ssize_t urt_stream_read_exact(urt_stream *s, void *buf, size_t n)
{
	if (!s->rbuf)
		return -EINVAL;
	size_t got = 0;
	while (got < n) {
		ssize_t r = urt_stream_read(s, (char *)buf + got, n - got);
		if (r < 0)
			return r;
		if (r == 0)
			break; /* EOF: the short count reports it */
		got += (size_t)r;
	}
	return (ssize_t)got;
}

ssize_t urt_stream_read_until(urt_stream *s, const void *delim, size_t dlen, void *buf,
			      size_t max)
{
	if (!s->rbuf || !delim || !dlen || max > s->rcap)
		return -EINVAL;
	size_t scanned = 0; /* bytes of the unread data known not to start a match */
	for (;;) {
		size_t have = s->rlen - s->rpos;
		const char *base = s->rbuf + s->rpos;
		if (have >= dlen) {
			const char *hit = memmem(base + scanned, have - scanned, delim, dlen);
			if (hit) {
				size_t len = (size_t)(hit - base) + dlen;
				if (len > max)
					return -EMSGSIZE;
				return (ssize_t)take(s, buf, len);
			}
			scanned = have - dlen + 1;
		}
		if (have >= max)
			return -EMSGSIZE;
		ssize_t r = fill(s);
		if (r < 0)
			return r;
		if (r == 0)
			return s->rlen > s->rpos ? -ENODATA : 0;
	}
}

ssize_t urt_stream_readline(urt_stream *s, char *buf, size_t max)
{
	return urt_stream_read_until(s, "\n", 1, buf, max);
}

int urt_stream_flush(urt_stream *s)
{
	if (!s->wbuf)
		return -EINVAL;
	if (!s->wlen)
		return 0;
	ssize_t r = raw_write_all(s, s->wbuf, s->wlen);
	s->wlen = 0;
	return r < 0 ? (int)r : 0;
}

ssize_t urt_stream_write(urt_stream *s, const void *buf, size_t n)
{
	if (!s->wbuf)
		return -EINVAL;
	if (n <= s->wcap - s->wlen) {
		memcpy(s->wbuf + s->wlen, buf, n);
		s->wlen += n;
		return (ssize_t)n;
	}
	int r = urt_stream_flush(s);
	if (r < 0)
		return r;
	if (n >= s->wcap) { /* large writes skip the buffer */
		ssize_t w = raw_write_all(s, buf, n);
		return w < 0 ? w : (ssize_t)n;
	}
	memcpy(s->wbuf, buf, n);
	s->wlen = n;
	return (ssize_t)n;
}

ssize_t urt_stream_write_all(urt_stream *s, const void *buf, size_t n)
{
	ssize_t r = urt_stream_write(s, buf, n);
	if (r < 0)
		return r;
	int f = urt_stream_flush(s);
	return f < 0 ? f : r;
}

int urt_stream_shutdown(urt_stream *s)
{
	if (!s || !s->wbuf)
		return -EINVAL;
	int r = urt_stream_flush(s);
	if (r == 0 && s->layer)
		r = layer_ops(s)->shutdown(s->layer); /* close_notify */
	if (r == 0 && s->sock) {
		r = urt_shutdown(s->fd, SHUT_WR);
		if (r == -ENOTCONN)
			r = 0; /* the peer is gone already: nothing left to end */
	}
	return r;
}
