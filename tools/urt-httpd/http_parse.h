/* SPDX-License-Identifier: MIT */
/*
 * A zero-copy HTTP/1.1 request parser (after picohttpparser) and a
 * request-target sanitizer for static file serving. Pure C: no urt, no
 * allocation, no state between calls. The caller keeps the bytes; the
 * parsed request points into them.
 */
#ifndef URT_HTTP_PARSE_H
#define URT_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Headers beyond this count are refused with 431. */
#define HTTP_MAX_HEADERS 64

/* Default limits (struct http_limits zero fields and a NULL limits pointer). */
#define HTTP_DEFAULT_MAX_HEAD 16384           /* request line + headers */
/* One line of the head, its line end not counted: a longer request line
   is 414, a longer field line 431. Below nginx's one-buffer limit
   (large_client_header_buffers 8k, line end included), so that no line
   nginx refuses is served here. */
#define HTTP_MAX_LINE 8000
#define HTTP_DEFAULT_MAX_BODY (1024 * 1024)   /* Content-Length */

/*
 * http_parse_request results besides a positive length. Errors are minus the
 * status to answer with, so a caller maps them without a table. Every error
 * means the request's framing cannot be trusted: answer, then close.
 */
#define HTTP_INCOMPLETE (-1)     /* a valid prefix: read more and call again */
#define HTTP_E_BAD_REQUEST (-400)
#define HTTP_E_FORBIDDEN (-403)  /* http_path_sanitize: a ".." segment */
#define HTTP_E_BODY_TOO_LARGE (-413)
#define HTTP_E_URI_TOO_LONG (-414) /* http_path_sanitize: no room in out */
#define HTTP_E_HEADERS_TOO_LARGE (-431)
#define HTTP_E_NOT_IMPLEMENTED (-501) /* unknown method, Transfer-Encoding */
#define HTTP_E_VERSION (-505)    /* HTTP/0.x, HTTP/2.x and up */

enum http_method {
	HTTP_M_UNKNOWN, /* never returned: the parser answers 501 instead */
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
	HTTP_M_DELETE,
	HTTP_M_CONNECT,
	HTTP_M_OPTIONS,
	HTTP_M_TRACE,
	HTTP_M_PATCH,
};

struct http_header {
	const char *name, *value; /* not NUL-terminated; value has no surrounding whitespace */
	size_t name_len, value_len;
};

struct http_request {
	const char *method, *target; /* not NUL-terminated */
	size_t method_len, target_len;
	/* also set when an error is returned, once the method has been read
	   (HTTP_M_UNKNOWN before that), so that the error answer to a HEAD
	   can leave its body out */
	enum http_method meth;
	int minor_version;           /* 0 or 1 (HTTP/1.2+ is reported as 1) */
	bool keep_alive;             /* from the version and Connection; never after CONNECT or TRACE */
	/* "Expect: 100-continue" in an HTTP/1.1 request (a 1.0 one's is
	   ignored, RFC 9110 10.1.1): the client may wait for "100 Continue"
	   before it sends the body. Other expectations are ignored. */
	bool expect_continue;
	uint64_t content_length;     /* body bytes following the head (0 without one) */
	size_t num_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
};

struct http_limits {
	size_t max_head;   /* 0: HTTP_DEFAULT_MAX_HEAD */
	uint64_t max_body; /* 0: HTTP_DEFAULT_MAX_BODY */
};

/*
 * Parse one request head from buf[0, len). Reads no byte at or past len.
 *
 * Returns the length of the head (request line, headers and the empty line,
 * plus any empty lines before the request line) and fills *req; the body,
 * req->content_length bytes, follows it. With pipelining the next request
 * starts after the body, so callers loop: parse, consume head + body, parse.
 *
 * Returns HTTP_INCOMPLETE when buf holds a valid prefix of a request; an
 * error (HTTP_E_*, minus the status to answer) as soon as the bytes seen
 * cannot start a valid request, without waiting for the rest of the head:
 * syntax errors, including obs-fold, a bare CR and whitespace before a
 * header's colon (400); a version other than HTTP/1.x (505, once its major
 * digit is in); a bad Content-Length (non-numeric, signed, above INT64_MAX,
 * or more than one, even with the same value), Content-Length together
 * with Transfer-Encoding (a smuggling pattern), an HTAB in the whitespace
 * around the value of Host, Content-Length or Transfer-Encoding (nginx
 * reads it as part of the value), more than one Host, a Host that is not
 * uri-host [":" port] (RFC 3986; not empty, no empty label as in
 * "a..b"), and an absolute-form target whose authority is not one or has a
 * userinfo (all 400, each as soon as its line, or for the target its
 * request line up to the version, is in); a head of more than max_head bytes
 * or more than HTTP_MAX_HEADERS headers (431, also when len >= max_head
 * and the head has not ended yet). Only once the head has ended: an
 * unknown method or a Transfer-Encoding (501), a Content-Length above
 * max_body (413), a missing Host in HTTP/1.1 (400). lim may be NULL for
 * the defaults.
 */
ssize_t http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
			   struct http_request *req);

/* The header named name (case-insensitive), or NULL. */
const struct http_header *http_find_header(const struct http_request *req, const char *name);

/*
 * Map a request target to a path relative to a document root.
 *
 * Takes origin-form ("/a/b?q") or absolute-form ("http://host/a/b", its
 * authority checked as http_parse_request does); the query and fragment
 * are dropped, %XX escapes decoded, empty and "."
 * segments removed ("//x/./y" is "x/y"). A trailing slash (or a final "."
 * segment) is kept as one '/': "/x/" and "/x/." are "x/", a directory,
 * which "x" need not be. Writes the NUL-terminated result, which never
 * starts with '/' ("" is the root itself) and never holds "//", to out
 * (cap bytes) and returns its length.
 *
 * Returns HTTP_E_BAD_REQUEST for a target that is not a path or has a bad
 * authority, a bad %
 * escape or a NUL (encoded or not); HTTP_E_FORBIDDEN for any ".." segment, encoded
 * or not (clients remove dot segments before sending, so one that arrives
 * is an attempt to climb out of the root); HTTP_E_URI_TOO_LONG when the
 * result does not fit in out.
 */
ssize_t http_path_sanitize(const char *target, size_t len, char *out, size_t cap);

#endif
