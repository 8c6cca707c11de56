/* SPDX-License-Identifier: MIT */
/*
 * urt-httpd: building responses in the connection's output buffer, and
 * sending it. Heads are assembled with stpcpy rather than snprintf: the
 * "Hello, World!" benchmark path writes one per request.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "httpd.h"

/* The longest head resp_head writes, with short ctype and extra. */
#define HEAD_MAX 512

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

/*
 * The Date header value (RFC 9110 5.6.7), formatted at most once a second:
 * strftime and gmtime_r cost more than the rest of a small response. The
 * coarse clock is enough for a one-second field and cheaper to read. The
 * cache is per thread (--threads: one loop each), so it needs no lock.
 */
static const char *http_date(void)
{
	static _Thread_local char date[40];
	static _Thread_local time_t at = -1;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (ts.tv_sec != at) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		/* the C locale: main never calls setlocale */
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		at = ts.tv_sec;
	}
	return date;
}

/*
 * Almost every batch fits in the socket buffer, so first try one send that
 * does not wait (MSG_DONTWAIT) and carries no deadline: a deadline adds a
 * linked timeout to the op, which costs about as much as the send itself.
 * Only what does not fit waits, under the idle deadline: a client that
 * stops reading is as idle as one that stops sending. TLS has no such
 * try: the batch is one urt_tls_write, under the idle deadline.
 */
static int flush_tls(struct conn *c)
{
	int64_t t = c->srv->idle_ns;
	if (t > 0 && urt_deadline_push(t) < 0)
		t = 0;
	ssize_t r = urt_tls_write(c->tls, c->obuf, c->olen);
	if (t > 0)
		urt_deadline_pop();
	c->olen = 0;
	return r < 0 ? (int)r : 0;
}

int conn_flush(struct conn *c)
{
	if (!c->olen)
		return 0;
	if (c->tls)
		return flush_tls(c);
	ssize_t r = urt_send(c->fd, c->obuf, c->olen, MSG_DONTWAIT);
	size_t done = r > 0 ? (size_t)r : 0;
	if (r == -EAGAIN || (r >= 0 && done < c->olen)) {
		int64_t t = c->srv->idle_ns;
		if (t > 0 && urt_deadline_push(t) < 0)
			t = 0;
		r = urt_send_all(c->fd, c->obuf + done, c->olen - done, 0, NULL);
		if (t > 0)
			urt_deadline_pop();
	}
	c->olen = 0;
	return r < 0 ? (int)r : 0;
}

int conn_put(struct conn *c, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		if (c->olen == CONN_OBUF) {
			int r = conn_flush(c);
			if (r < 0)
				return r;
		}
		size_t k = CONN_OBUF - c->olen < n ? CONN_OBUF - c->olen : n;
		memcpy(c->obuf + c->olen, s, k);
		c->olen += k;
		s += k;
		n -= k;
	}
	return 0;
}

/* Decimal digits of v at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[24];
	size_t n = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		*p++ = tmp[--n];
	return p;
}

int resp_head(struct conn *c, int status, const char *ctype, uint64_t length,
	      const char *extra)
{
	size_t extra_len = extra ? strlen(extra) : 0;
	if (extra_len > RESP_EXTRA_MAX)
		return -EMSGSIZE; /* a caller's bug: never overrun obuf */
	if (CONN_OBUF - c->olen < HEAD_MAX + extra_len) {
		int r = conn_flush(c);
		if (r < 0)
			return r;
	}
	char *p = c->obuf + c->olen;
	p = stpcpy(p, "HTTP/1.1 ");
	p = put_u64(p, (uint64_t)status);
	*p++ = ' ';
	p = stpcpy(p, http_reason(status));
	p = stpcpy(p, "\r\nServer: urt-httpd/" URT_VERSION_STRING "\r\nDate: ");
	p = stpcpy(p, http_date());
	p = stpcpy(p, "\r\nContent-Type: ");
	p = stpcpy(p, ctype);
	p = stpcpy(p, "\r\nContent-Length: ");
	p = put_u64(p, length);
	p = stpcpy(p, "\r\n");
	if (c->close)
		p = stpcpy(p, "Connection: close\r\n");
	else if (c->keep10) /* 1.0 closes unless the response says otherwise */
		p = stpcpy(p, "Connection: keep-alive\r\n");
	if (extra)
		p = stpcpy(p, extra);
	p = stpcpy(p, "\r\n");
	c->olen = (size_t)(p - c->obuf);
	return 0;
}

int resp_status(struct conn *c, int status, bool head_only)
{
	return resp_status_extra(c, status, head_only,
				 status == 405 ? "Allow: GET, HEAD\r\n" : NULL);
}

int resp_status_extra(struct conn *c, int status, bool head_only, const char *extra)
{
	char body[64];
	char *p = put_u64(body, (uint64_t)status);
	*p++ = ' ';
	p = stpcpy(p, http_reason(status));
	*p++ = '\n';
	size_t n = (size_t)(p - body);
	int r = resp_head(c, status, "text/plain; charset=utf-8", n, extra);
	if (r == 0 && !head_only)
		r = conn_put(c, body, n);
	return r;
}
