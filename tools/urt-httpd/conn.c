/* SPDX-License-Identifier: MIT */
/*
 * urt-httpd: one task per connection. Each turn reads what has arrived,
 * answers every complete request in it (a pipelining client sends many at
 * once), and sends all the answers with one send: the batching is what
 * makes pipelined load cheap. Requests that cannot be framed are answered
 * with their error status and the connection is closed; well-formed ones
 * that fail (403, 404, 405) keep it open, as a browser fetching a missing
 * favicon expects. Reads are bounded three ways: --idle-timeout for any
 * silence, --header-timeout for a whole request head (408 when it passes)
 * and --body-timeout for a whole body (see conn_phase).
 *
 * HTTPS (--tls-cert/--tls-key) is the same code over urt_tls_read and
 * urt_tls_write (a branch on c->tls where the plain path calls urt_recv
 * and urt_send): the handshake comes first, under the header and idle
 * timeouts, and a connection that ends normally ends with close_notify.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "httpd.h"

#define HELLO "Hello, World!"

/* Lingering close: at most this long and this much input. */
#define LINGER_NS (2 * URT_NS_PER_SEC)
#define LINGER_MAX (1024 * 1024)
/* TLS has no send that does not wait: a last record (close_notify, a 408)
   gets this long to go out. */
#define TLS_BYE_NS (100 * URT_NS_PER_MS)

static const struct http_limits limits = {
	.max_head = CONN_RBUF,
	.max_body = HTTP_DEFAULT_MAX_BODY,
};

static int hello(struct conn *c, bool head_only)
{
	int r = resp_head(c, 200, "text/plain", sizeof HELLO - 1, NULL);
	if (r == 0 && !head_only)
		r = conn_put(c, HELLO, sizeof HELLO - 1);
	return r;
}

/* What a Location path carries unescaped: RFC 3986 pchar (unreserved,
   sub-delims, ':', '@') and the separator '/'. Everything else, '%', '?',
   '#' and '\\' (which browsers read as '/') among them, becomes %XX. */
static bool is_path_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("-._~!$&'()*+,;=:@/", c);
}

/*
 * 301 to the directory with a slash after its path ("/dir?q" -> "/dir/?q").
 * The path is the sanitized one (c->path, n > 0 bytes, never starting with
 * '/'), escaped again, never the raw target: from "//evil.com" or
 * "http://evil.com/x" that made "//evil.com/", which a browser follows to
 * another host (an open redirect). The query is kept as the client sent it
 * (the parser lets no CR, LF or space into a target); a fragment is
 * dropped. c->path becomes the header line, escaped in place from the end
 * backwards: an escape only ever writes past the bytes still to be read.
 */
static int redirect_dir(struct conn *c, const struct http_request *req, size_t n, bool head_only)
{
	static const char name[] = "Location: /", hex[] = "0123456789ABCDEF";
	const char *t = req->target, *e = t + req->target_len;
	const char *f = memchr(t, '#', req->target_len);
	if (f)
		e = f;
	const char *q = memchr(t, '?', (size_t)(e - t));
	size_t qlen = q ? (size_t)(e - q) : 0;
	size_t enc = 0;
	for (size_t i = 0; i < n; i++)
		enc += is_path_char((unsigned char)c->path[i]) ? 1 : 3;
	/* "Location: /", the path, "/", the query, CRLF and NUL */
	if (sizeof name - 1 + enc + 1 + qlen + 3 > sizeof c->path)
		return resp_status(c, 414, head_only);
	char *w = c->path + sizeof name - 1 + enc, *tail = w;
	*tail++ = '/';
	if (qlen)
		memcpy(tail, q, qlen);
	memcpy(tail + qlen, "\r\n", 3);
	for (size_t i = n; i--;) {
		unsigned char ch = (unsigned char)c->path[i];
		if (is_path_char(ch)) {
			*--w = (char)ch;
		} else {
			*--w = hex[ch & 15];
			*--w = hex[ch >> 4];
			*--w = '%';
		}
	}
	memcpy(c->path, name, sizeof name - 1);
	return resp_status_extra(c, 301, head_only, c->path);
}

/* GET and HEAD: "/" is index.html under --root if there is one, else the
   greeting; other paths are files under --root. */
static int serve(struct conn *c, const struct http_request *req)
{
	bool head_only = req->meth == HTTP_M_HEAD;
	if (req->meth != HTTP_M_GET && !head_only)
		return resp_status(c, 405, false);
	/* room for static_serve to append "/index.html" */
	ssize_t n = http_path_sanitize(req->target, req->target_len, c->path,
				       sizeof c->path - sizeof "/index.html");
	/* a target that is no path (a bad escape, a NUL) or climbs with ".."
	   is not what a client makes of a link: a probe, refused with the
	   connection closed, as nginx does; only 414 keeps it */
	if (n == HTTP_E_BAD_REQUEST || n == HTTP_E_FORBIDDEN) {
		c->close = true;
		c->keep10 = false;
	}
	if (n < 0)
		return resp_status(c, (int)-n, head_only);
	if (c->srv->rootfd >= 0) {
		int st = static_serve(c, (size_t)n, head_only);
		if (st <= 0)
			return st;
		if (st == 301)
			return redirect_dir(c, req, (size_t)n, head_only);
		if (!(st == 404 && n == 0))
			return resp_status(c, st, head_only);
	} else if (n) {
		return resp_status(c, 404, head_only);
	}
	return hello(c, head_only);
}

/* A head or body is complete: its clock stops (a stale one would cut off
   the next request on a kept-alive connection once it ran out). */
static void phase_over(struct conn *c)
{
	c->phase = CONN_IDLE;
	c->until = 0;
}

/*
 * "Expect: 100-continue" with a body still to come: the client may hold
 * the body back until it sees "100 Continue" or a final answer. Answered
 * without either, it sends nothing more on a final one and reuses the
 * connection, and the next request would be dropped as this one's body.
 * GET and HEAD read their body (to drop it), so they get "100 Continue"
 * first, as from nginx, and the boundaries stay where they are. Anything
 * else is answered without reading the body (405), so that answer closes
 * the connection (RFC 9110 10.1.1: a server that answers before reading
 * the body says whether it closes). A body already here in full needs no
 * interim answer, nor does one that will not be read because the
 * connection closes after this answer anyway. 0 or a negative errno.
 */
static int expect_continue(struct conn *c, const struct http_request *req)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	if (!req->expect_continue || c->close || c->skip <= c->rlen - c->rpos)
		return 0;
	if (req->meth == HTTP_M_GET || req->meth == HTTP_M_HEAD)
		return conn_put(c, cont, sizeof cont - 1);
	c->close = true;
	c->keep10 = false;
	return 0;
}

/* Answer every complete request in rbuf. 0, or a negative errno when the
   connection broke. A request head parsed or a body dropped in full ends
   its phase: the next one starts its own clock (conn_phase). */
static int serve_buffered(struct conn *c)
{
	struct http_request req;
	while (c->rpos < c->rlen && !c->close) {
		size_t avail = c->rlen - c->rpos;
		if (c->skip) { /* a body nobody reads: drop it */
			size_t k = avail < c->skip ? avail : (size_t)c->skip;
			c->rpos += k;
			if (!(c->skip -= k))
				phase_over(c);
			continue;
		}
		ssize_t n = http_parse_request(c->rbuf + c->rpos, avail, &limits, &req);
		if (n == HTTP_INCOMPLETE)
			break;
		if (n < 0) { /* the framing is lost: answer and close */
			c->close = true;
			c->keep10 = false;
			/* a HEAD's answer has no body, errors included (RFC 9110
			   9.3.2); its Content-Length is the GET's, as nginx's */
			return resp_status(c, (int)-n, req.meth == HTTP_M_HEAD);
		}
		c->rpos += (size_t)n;
		c->srv->requests++;
		phase_over(c);
		c->skip = req.content_length;
		c->close = !req.keep_alive;
		c->keep10 = req.keep_alive && req.minor_version == 0;
		int r = expect_continue(c, &req);
		if (r == 0)
			r = serve(c, &req);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Before waiting for input: a head or body still incomplete gets its
 * deadline when its phase starts, and keeps it however the bytes trickle
 * in. The idle timeout alone is re-armed on every read, so a client that
 * sends a byte now and then could hold a connection (and a --max-conns
 * slot) forever without these; nginx has client_header_timeout and
 * client_body_timeout for the same reason. A head's clock starts with its
 * first byte (a fresh or kept-alive connection that sends nothing is idle),
 * a body's when its head has been answered.
 */
static void conn_phase(struct conn *c)
{
	enum conn_phase want = c->skip ? CONN_BODY : c->rlen ? CONN_HEAD : CONN_IDLE;
	if (want == c->phase)
		return;
	c->phase = want;
	int64_t limit = want == CONN_HEAD ? c->srv->header_ns : want == CONN_BODY ? c->srv->body_ns : 0;
	c->until = limit > 0 ? urt_now_ns() + limit : 0;
}

/* recv under the idle deadline and the phase's (the earlier). -ETIMEDOUT
   when either passed. */
static ssize_t conn_recv(struct conn *c)
{
	int64_t t = c->srv->idle_ns;
	if (c->until) {
		int64_t left = c->until - urt_now_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		if (t <= 0 || left < t)
			t = left;
	}
	if (t > 0 && urt_deadline_push(t) < 0)
		t = 0;
	ssize_t r = c->tls ? urt_tls_read(c->tls, c->rbuf + c->rlen, CONN_RBUF - c->rlen)
			   : urt_recv(c->fd, c->rbuf + c->rlen, CONN_RBUF - c->rlen, 0);
	if (t > 0)
		urt_deadline_pop();
	return r;
}

/*
 * The head did not arrive in time: answer 408 and close. The client is
 * slow by definition, so nothing here waits: the answer goes out only if
 * the socket takes it at once, and what input is already there is dropped
 * first (closing with unread input resets the connection, which could
 * destroy the answer before it is read). No lingering close either: the
 * point is to free the connection now. TLS has no send that does not
 * wait, so there the answer and close_notify get TLS_BYE_NS; the input
 * dropped is the socket's, undecrypted.
 */
static void head_timeout(struct conn *c)
{
	struct http_request req;
	c->close = true;
	c->keep10 = false;
	c->olen = 0;
	/* what came of the head tells whether it is a HEAD (no body) */
	http_parse_request(c->rbuf, c->rlen, &limits, &req);
	if (resp_status(c, 408, req.meth == HTTP_M_HEAD) == 0) {
		if (!c->tls) {
			urt_send(c->fd, c->obuf, c->olen, MSG_DONTWAIT);
		} else if (urt_deadline_push(TLS_BYE_NS) == 0) {
			if (urt_tls_write(c->tls, c->obuf, c->olen) >= 0)
				conn_tls_close(c, 0);
			urt_deadline_pop();
		}
	}
	c->tls_closed = true; /* sent, or not worth another wait */
	c->olen = 0;
	while (urt_recv(c->fd, c->rbuf, CONN_RBUF, MSG_DONTWAIT) > 0)
		;
}

/*
 * Close after a last response. Closing a socket with unread input makes
 * the kernel reset the connection, and a reset can destroy the response
 * before the client reads it (a 431 after a 64 KiB header, say). So stop
 * sending, then read and drop input until the client closes, for a bounded
 * time and amount. Over TLS, close_notify goes first (what follows is
 * dropped undecrypted).
 */
static int linger(struct conn *c)
{
	conn_tls_close(c, c->srv->idle_ns);
	if (urt_shutdown(c->fd, SHUT_WR) < 0 || urt_deadline_push(LINGER_NS) < 0)
		return 0;
	size_t total = 0;
	ssize_t n;
	while ((n = urt_recv(c->fd, c->rbuf, CONN_RBUF, 0)) > 0 && (total += (size_t)n) < LINGER_MAX)
		;
	urt_deadline_pop();
	return n == -ECANCELED ? (int)n : 0;
}

static int conn_serve(struct conn *c)
{
	for (;;) {
		int r = serve_buffered(c);
		if (r == 0)
			r = conn_flush(c);
		if (r < 0)
			return r;
		if (c->close)
			return linger(c);
		/* keep an incomplete request, moved to the front */
		c->rlen -= c->rpos;
		if (c->rlen && c->rpos)
			memmove(c->rbuf, c->rbuf + c->rpos, c->rlen);
		c->rpos = 0;
		/* the parser refuses a head that fills the buffer, so there is room */
		assert(c->rlen < CONN_RBUF);
		conn_phase(c);
		ssize_t n = conn_recv(c);
		if (n == -ETIMEDOUT && c->phase == CONN_HEAD && c->until &&
		    urt_now_ns() >= c->until) {
			head_timeout(c);
			return 0;
		}
		if (n <= 0) /* EOF, a timeout, reset, cancelled */
			return (int)n;
		c->rlen += (size_t)n;
	}
}

void conn_tls_close(struct conn *c, int64_t ns)
{
	if (!c->tls || c->tls_closed)
		return;
	c->tls_closed = true;
	bool dl = ns > 0 && urt_deadline_push(ns) == 0;
	urt_tls_shutdown(c->tls);
	if (dl)
		urt_deadline_pop();
}

/*
 * HTTPS: the handshake, before anything else, under --header-timeout and
 * the idle timeout (the earlier): the ClientHello is the start of the
 * first request, so a client that never sends one, or stops halfway, is
 * dropped like one that stops inside a head (without a 408: there is no
 * TLS to say it with).
 */
static int conn_handshake(struct conn *c)
{
	int64_t t = c->srv->idle_ns, h = c->srv->header_ns;
	if (h > 0 && (t <= 0 || h < t))
		t = h;
	if (t > 0 && urt_deadline_push(t) < 0)
		t = 0;
	int r = urt_tls_handshake(c->srv->tls, c->fd, NULL, &c->tls);
	if (t > 0)
		urt_deadline_pop();
	if (r < 0)
		c->tls = NULL;
	return r;
}

int conn_task(void *arg)
{
	struct conn *c = arg;
	urt_set_nodelay(c->fd, true); /* replies go out as one send per batch already */
	int r = c->srv->tls ? conn_handshake(c) : 0;
	if (r == 0) {
		r = conn_serve(c);
		/* a normal end (the client closed, or was idle between
		   requests) says so with close_notify; a failure, a timeout
		   inside a request or cancellation just closes */
		if (r == 0 || (r == -ETIMEDOUT && c->phase == CONN_IDLE))
			conn_tls_close(c, TLS_BYE_NS);
	}
	urt_tls_free(c->tls);
	urt_sock_close(c->fd);
	c->srv->live--;
	free(c);
	/* a member's error would cancel the whole group: only report cancellation */
	return r == -ECANCELED ? r : 0;
}
