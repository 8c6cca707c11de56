/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 request heads (RFC 9112) and request-target sanitizing. One pass
 * over the bytes with a bounds check before every read: the input may end
 * anywhere, and a request that stops mid-token is HTTP_INCOMPLETE, not an
 * error. Errors are reported as early as the bytes allow, so garbage is
 * refused without waiting for more of it.
 */
#include <string.h>

#include "http_parse.h"

/*
 * Character classes as 256-bit sets, four words (bytes 0-63, 64-127, and
 * none above), so a test is a load, a shift and a mask instead of a chain
 * of branches: these run for every byte of every name, and of Host's
 * value. BIT and RANGE take bytes within one word.
 */
#define BIT(c) (1ULL << ((c) & 63))
#define RANGE(lo, hi) ((~0ULL >> (63 - ((hi) & 63))) & (~0ULL << ((lo) & 63)))
#define ALNUM_LO RANGE('0', '9')
#define ALNUM_HI (RANGE('A', 'Z') | RANGE('a', 'z'))

/* tchar (RFC 9110 5.6.2): method and header-name characters. */
static const uint64_t tchar[4] = {
	ALNUM_LO | BIT('!') | RANGE('#', '\'') | BIT('*') | BIT('+') | BIT('-') | BIT('.'),
	ALNUM_HI | BIT('^') | BIT('_') | BIT('`') | BIT('|') | BIT('~'),
};

/* RFC 3986 unreserved and sub-delims: a reg-name's bytes besides %XX. */
static const uint64_t reg_name[4] = {
	ALNUM_LO | BIT('-') | BIT('.') | BIT('!') | BIT('$') | RANGE('&', ',') | BIT(';') | BIT('='),
	ALNUM_HI | BIT('_') | BIT('~'),
};

static inline bool in_set(const uint64_t set[4], unsigned char c)
{
	return set[c >> 6] >> (c & 63) & 1;
}

static inline bool is_tchar(unsigned char c)
{
	return in_set(tchar, c);
}

/* Request-target bytes: visible ASCII. Raw obs-text has no place in a URI. */
static bool is_target_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

/* field-value bytes: visible, obs-text, SP and HTAB; never CR, LF or NUL. */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* ASCII only: the C library's tolower depends on the locale. */
static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 'a' - 'A') : c;
}

/* a[0, n) equals the string s, ignoring ASCII case. */
static bool ieq(const char *a, size_t n, const char *s)
{
	size_t i;
	for (i = 0; i < n && s[i]; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)s[i]))
			return false;
	return i == n && !s[i];
}

/* Methods are case-sensitive (RFC 9110 9.1): "get" is an unknown method. */
static enum http_method method_of(const char *m, size_t n)
{
	static const struct {
		const char *name;
		enum http_method meth;
	} known[] = {
		{"GET", HTTP_M_GET},         {"HEAD", HTTP_M_HEAD},   {"POST", HTTP_M_POST},
		{"PUT", HTTP_M_PUT},         {"DELETE", HTTP_M_DELETE}, {"CONNECT", HTTP_M_CONNECT},
		{"OPTIONS", HTTP_M_OPTIONS}, {"TRACE", HTTP_M_TRACE}, {"PATCH", HTTP_M_PATCH},
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (strlen(known[i].name) == n && !memcmp(known[i].name, m, n))
			return known[i].meth;
	return HTTP_M_UNKNOWN;
}

/*
 * A line must end at *pp: CRLF, or a bare LF (RFC 9112 2.2 lets a recipient
 * accept it). Moves *pp past it and returns 1; returns 0 when the input ends
 * first and -1 for anything else, such as a CR on its own.
 */
static int line_end(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	if (p == end)
		return 0;
	if (*p == '\r') {
		if (++p == end)
			return 0;
		if (*p != '\n')
			return -1;
	} else if (*p != '\n') {
		return -1;
	}
	*pp = p + 1;
	return 1;
}

/* Content-Length = 1*DIGIT, at most INT64_MAX (what an off_t can hold). */
static int parse_length(const char *v, size_t n, uint64_t *out)
{
	uint64_t x = 0;
	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		unsigned d = (unsigned)(v[i] - '0');
		if (x > ((uint64_t)INT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*out = x;
	return 0;
}

/*
 * The next element of a comma-separated list (RFC 9110 5.6.1) in v[*i, n),
 * without surrounding whitespace; empty elements are skipped. False at the
 * end of the list.
 */
static bool list_next(const char *v, size_t n, size_t *i, const char **tok, size_t *len)
{
	size_t k = *i;
	while (k < n && (v[k] == ' ' || v[k] == '\t' || v[k] == ','))
		k++;
	if (k == n)
		return false;
	size_t s = k;
	while (k < n && v[k] != ',' && v[k] != ' ' && v[k] != '\t')
		k++;
	*tok = v + s;
	*len = k - s;
	*i = k;
	return true;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline bool is_reg_name_char(unsigned char c)
{
	return in_set(reg_name, c);
}

/* The inside of an IP-literal's brackets: an IPv6 address (hex digits,
   colons and perhaps a dotted IPv4 tail; its fine structure is not
   checked) or IPvFuture ("v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )). */
static bool ip_literal_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n && (s[0] == 'v' || s[0] == 'V')) {
		for (i = 1; i < n && hexval((unsigned char)s[i]) >= 0; i++)
			;
		if (i == 1 || i == n || s[i] != '.' || ++i == n)
			return false;
		for (; i < n; i++)
			if (!is_reg_name_char((unsigned char)s[i]) && s[i] != ':')
				return false;
		return true;
	}
	unsigned colons = 0;
	for (; i < n; i++) {
		if (s[i] == ':')
			colons++;
		else if (s[i] != '.' && hexval((unsigned char)s[i]) < 0)
			return false;
	}
	return colons >= 2; /* the shortest IPv6 address is "::" */
}

/*
 * uri-host [ ":" port ] (RFC 3986 3.2.2, 3.2.3): the value of Host and the
 * authority of an absolute-form target. uri-host is an IP-literal
 * ("[...]") or a reg-name (unreserved, sub-delims and %XX; an IPv4
 * address is one too); port is digits. Anything else, "/" (Host:
 * a/../b), whitespace, or the userinfo of "user:pw@host", is refused.
 * The host may not be empty: an http URI has one (RFC 9110 4.2.1), and
 * the empty Host that RFC 9112 3.2 has a client send for a target
 * without an authority names no http resource (nginx refuses it too). Nor
 * may a reg-name hold an empty label (".." as in "a..b": no DNS name
 * does, and nginx refuses it), so no host is read one way here and
 * another by nginx in front.
 */
static bool authority_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (n && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (!close || !ip_literal_ok(s + 1, (size_t)(close - s) - 1))
			return false;
		i = (size_t)(close - s) + 1;
	} else {
		for (; i < n; i++) {
			if (s[i] == '.' && i && s[i - 1] == '.')
				return false;
			if (is_reg_name_char((unsigned char)s[i]))
				continue;
			if (s[i] == ':')
				break;
			if (s[i] != '%' || n - i < 3 || hexval((unsigned char)s[i + 1]) < 0 ||
			    hexval((unsigned char)s[i + 2]) < 0)
				return false;
			i += 2;
		}
		if (!i)
			return false;
	}
	if (i == n)
		return true;
	if (s[i] != ':')
		return false;
	for (i++; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Length of an "http://" or "https://" prefix of t[0, n), or 0. */
static size_t scheme_len(const char *t, size_t n)
{
	if (n >= 7 && ieq(t, 7, "http://"))
		return 7;
	if (n >= 8 && ieq(t, 8, "https://"))
		return 8;
	return 0;
}

/* The end of the authority that starts at t (after "http://"). */
static const char *authority_end(const char *t, const char *e)
{
	while (t < e && *t != '/' && *t != '?' && *t != '#')
		t++;
	return t;
}

/* What the header fields seen so far said (http_parse_request's locals). */
struct fields {
	bool has_length, has_te, close, keep, expect, host;
};

/*
 * One header field, judged as soon as its line has ended: a field that
 * makes the request invalid whatever follows (a bad or repeated
 * Content-Length, Content-Length with Transfer-Encoding, a second Host or
 * a bad one) is refused at once, not when the head ends, so that a client
 * that never finishes the head gets its 400 without waiting for the
 * header timeout. Dispatch is on the name's length first: most fields are
 * none of these and cost one switch. tab_ows: the whitespace around the
 * value held an HTAB. RFC 9110 5.6.3 makes HTAB optional whitespace like
 * SP, but nginx (and what is built on its parser) keeps it as part of the
 * value, so "Content-Length:<HTAB>5" frames a body here and is refused
 * there: in the fields that frame the request or name its host (Host,
 * Content-Length, Transfer-Encoding) it is refused, as nginx does, rather
 * than read one way here and another by a server in front. Returns 0 or
 * an HTTP_E_* code.
 */
static ssize_t field(struct http_request *req, const struct http_header *h, struct fields *f,
		     bool tab_ows)
{
	const char *tok;
	size_t len, i = 0;
	switch (h->name_len) {
	case 4:
		if (!ieq(h->name, 4, "host"))
			break;
		/* RFC 9112 3.2: at most one Host, and a valid one */
		if (f->host || tab_ows || !authority_ok(h->value, h->value_len))
			return HTTP_E_BAD_REQUEST;
		f->host = true;
		break;
	case 6:
		/* RFC 9110 10.1.1: 100-continue is the only expectation defined;
		   others may get 417 but, as nginx does, are ignored (the
		   request is served as if they were absent) */
		if (!ieq(h->name, 6, "expect"))
			break;
		while (list_next(h->value, h->value_len, &i, &tok, &len))
			if (ieq(tok, len, "100-continue"))
				f->expect = true;
		break;
	case 10:
		if (!ieq(h->name, 10, "connection"))
			break;
		while (list_next(h->value, h->value_len, &i, &tok, &len)) {
			if (ieq(tok, len, "close"))
				f->close = true;
			else if (ieq(tok, len, "keep-alive"))
				f->keep = true;
		}
		break;
	case 14:
		if (!ieq(h->name, 14, "content-length"))
			break;
		/* RFC 9112 6.3: differing lengths leave the framing unknown;
		   like nginx, refuse a repeated one even when it agrees (a
		   proxy in front may have read only one of them). Both
		   framings at once is the request-smuggling pattern (6.1). */
		if (f->has_length || f->has_te || tab_ows ||
		    parse_length(h->value, h->value_len, &req->content_length) < 0)
			return HTTP_E_BAD_REQUEST;
		f->has_length = true;
		break;
	case 17:
		if (!ieq(h->name, 17, "transfer-encoding"))
			break;
		if (f->has_length || tab_ows)
			return HTTP_E_BAD_REQUEST;
		f->has_te = true; /* 501 once the head has ended (see below) */
		break;
	}
	return 0;
}

/*
 * What only the whole head can tell, once it has ended: an unknown method
 * or a Transfer-Encoding alone (501; nginx judges both there too), a body
 * over max_body (413), a missing Host. Returns 0 or an HTTP_E_* code.
 */
static ssize_t head_end(struct http_request *req, const struct fields *f, uint64_t max_body)
{
	if (req->meth == HTTP_M_UNKNOWN)
		return HTTP_E_NOT_IMPLEMENTED;
	if (f->has_te)
		return HTTP_E_NOT_IMPLEMENTED;
	if (req->content_length > max_body)
		return HTTP_E_BODY_TOO_LARGE;
	/* RFC 9112 3.2: a Host is required in 1.1 */
	if (req->minor_version >= 1 && !f->host)
		return HTTP_E_BAD_REQUEST;
	/* after a CONNECT a client may send tunnel bytes without waiting for
	   the answer (RFC 9110 9.3.6), which must not be read as requests;
	   TRACE is a probe. nginx closes after both. */
	req->keep_alive = !f->close && (req->minor_version >= 1 || f->keep) &&
			  req->meth != HTTP_M_CONNECT && req->meth != HTTP_M_TRACE;
	/* RFC 9110 10.1.1: a 1.0 request's 100-continue is ignored */
	req->expect_continue = f->expect && req->minor_version >= 1;
	return 0;
}

ssize_t http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
			   struct http_request *req)
{
	size_t max_head = lim && lim->max_head ? lim->max_head : HTTP_DEFAULT_MAX_HEAD;
	uint64_t max_body = lim && lim->max_body ? lim->max_body : HTTP_DEFAULT_MAX_BODY;
	const unsigned char *p = (const unsigned char *)buf, *end = p + len, *tok;
	const unsigned char *line = NULL; /* the line being read (HTTP_MAX_LINE) */
	int too_long = HTTP_E_URI_TOO_LONG; /* ... and its answer when too long */
	struct fields f = {0};
	ssize_t r;
	int eol;

	req->meth = HTTP_M_UNKNOWN;
	req->num_headers = 0;
	req->content_length = 0;
	req->keep_alive = false;
	req->expect_continue = false;

	/* RFC 9112 2.2: skip empty lines before the request line (some clients
	   send a CRLF after a body) */
	for (;;) {
		if (p == end)
			goto incomplete;
		if (*p != '\r' && *p != '\n')
			break;
		eol = line_end(&p, end);
		if (eol <= 0)
			goto bad_or_incomplete;
	}

	/* request-line = method SP request-target SP HTTP-version */
	line = p;
	for (tok = p; p < end && is_tchar(*p); p++)
		;
	if (p == end)
		goto incomplete;
	if (p == tok || *p != ' ')
		return HTTP_E_BAD_REQUEST;
	req->method = (const char *)tok;
	req->method_len = (size_t)(p - tok);
	req->meth = method_of(req->method, req->method_len);
	for (tok = ++p; p < end && is_target_char(*p); p++)
		;
	if (p == end)
		goto incomplete;
	if (p == tok || *p != ' ')
		return HTTP_E_BAD_REQUEST;
	req->target = (const char *)tok;
	req->target_len = (size_t)(p - tok);
	/* absolute-form (RFC 9112 3.2.2): its authority replaces Host, so it
	   gets the same checks; an empty host or a userinfo ("user:pw@") is
	   refused (RFC 9110 4.2.1, 4.2.4). Origin-form pays one comparison. */
	if (*tok != '/') {
		size_t s = scheme_len((const char *)tok, req->target_len);
		const char *a = (const char *)tok + s;
		if (s && !authority_ok(a, (size_t)(authority_end(a, (const char *)p) - a)))
			return HTTP_E_BAD_REQUEST;
	}
	p++;
	/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. A major
	   version other than 1 is refused as soon as its digit is in, as
	   nginx does, rather than when the line ends */
	static const char version[] = "HTTP/0.0";
	int minor = 0;
	for (const char *v = version; *v; v++, p++) {
		if (p == end)
			goto incomplete;
		if (*v == '0') {
			if (*p < '0' || *p > '9')
				return HTTP_E_BAD_REQUEST;
			if (v != version + 5)
				minor = *p - '0';
			else if (*p != '1')
				return HTTP_E_VERSION;
		} else if (*p != (unsigned char)*v) {
			return HTTP_E_BAD_REQUEST;
		}
	}
	if ((size_t)(p - line) > HTTP_MAX_LINE)
		return too_long;
	eol = line_end(&p, end);
	if (eol <= 0)
		goto bad_or_incomplete;
	/* a 1.x we do not know is read as the highest we do (RFC 9110 2.5) */
	req->minor_version = minor > 1 ? 1 : minor;

	/* *( field-line CRLF ) CRLF; field-line = name ":" OWS value OWS */
	for (;;) {
		if (p == end)
			goto incomplete;
		if (*p == '\r' || *p == '\n') {
			eol = line_end(&p, end);
			if (eol <= 0)
				goto bad_or_incomplete;
			break;
		}
		if (req->num_headers == HTTP_MAX_HEADERS)
			return HTTP_E_HEADERS_TOO_LARGE;
		struct http_header *h = &req->headers[req->num_headers];
		line = p;
		too_long = HTTP_E_HEADERS_TOO_LARGE;
		/* a line starting with SP or HTAB is obs-fold and lands here as an
		   empty name, as does whitespace before the colon (RFC 9112 5.1,
		   5.2 allow rejecting both) */
		for (tok = p; p < end && is_tchar(*p); p++)
			;
		if (p == end)
			goto incomplete;
		if (p == tok || *p != ':')
			return HTTP_E_BAD_REQUEST;
		h->name = (const char *)tok;
		h->name_len = (size_t)(p - tok);
		bool tab_ows = false;
		for (p++; p < end && (*p == ' ' || *p == '\t'); p++)
			tab_ows |= *p == '\t';
		for (tok = p; p < end && is_value_char(*p); p++)
			;
		const unsigned char *vend = p;
		if ((size_t)(p - line) > HTTP_MAX_LINE)
			return too_long;
		eol = line_end(&p, end);
		if (eol <= 0)
			goto bad_or_incomplete;
		while (vend > tok && (vend[-1] == ' ' || vend[-1] == '\t'))
			tab_ows |= *--vend == '\t';
		h->value = (const char *)tok;
		h->value_len = (size_t)(vend - tok);
		req->num_headers++;
		if ((r = field(req, h, &f, tab_ows)) < 0)
			return r;
	}

	size_t head = (size_t)(p - (const unsigned char *)buf);
	if (head > max_head)
		return HTTP_E_HEADERS_TOO_LARGE;
	r = head_end(req, &f, max_body);
	return r < 0 ? r : (ssize_t)head;

bad_or_incomplete:
	if (eol < 0)
		return HTTP_E_BAD_REQUEST;
incomplete:
	/* a line already longer than one may be: refused now, as nginx does
	   (414 for the request line, 431 for a field line) */
	if (line && (size_t)(end - line) > HTTP_MAX_LINE)
		return too_long;
	/* the head will end beyond max_head: refuse it now rather than buffer it */
	return len >= max_head ? HTTP_E_HEADERS_TOO_LARGE : HTTP_INCOMPLETE;
}

const struct http_header *http_find_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->num_headers; i++)
		if (ieq(req->headers[i].name, req->headers[i].name_len, name))
			return &req->headers[i];
	return NULL;
}

ssize_t http_path_sanitize(const char *target, size_t len, char *out, size_t cap)
{
	const char *p = target, *e = target;
	if (!cap)
		return HTTP_E_URI_TOO_LONG;
	while (e < target + len && *e != '?' && *e != '#')
		e++;
	if (p < e && *p != '/') {
		size_t s = scheme_len(p, (size_t)(e - p));
		if (!s)
			return HTTP_E_BAD_REQUEST;
		/* the authority: checked as the parser does, for callers
		   that did not parse (the fuzzer) */
		const char *a = p + s;
		p = authority_end(a, e);
		if (!authority_ok(a, (size_t)(p - a)))
			return HTTP_E_BAD_REQUEST;
		if (p == e) { /* "http://host" means the root */
			out[0] = '\0';
			return 0;
		}
	}
	if (p == e)
		return HTTP_E_BAD_REQUEST;

	/* Decode into out one segment at a time: out[seg, o) is the current
	   segment, less its leading dots while there are at most two of them
	   (dots): a "." or ".." segment never takes room in out, so a path
	   that fits is never refused as too long for one (fuzz_http_path
	   found "/a/." refused with room for "a/"). A decoded "/" separates
	   segments like a literal one, so "..%2f" is caught as a ".." segment. */
	size_t o = 0, seg = 0, dots = 0;
	bool dir = false; /* the last segment closed was empty or ".": a trailing slash */
	for (bool last = false; !last;) {
		int c;
		if (p == e) {
			c = '/'; /* ends the final segment */
			last = true;
		} else if (*p == '%') {
			if (e - p < 3)
				return HTTP_E_BAD_REQUEST;
			int hi = hexval((unsigned char)p[1]), lo = hexval((unsigned char)p[2]);
			if (hi < 0 || lo < 0)
				return HTTP_E_BAD_REQUEST;
			c = hi << 4 | lo;
			p += 3;
		} else {
			c = (unsigned char)*p++;
		}
		if (!c) /* would cut the path short at the open, raw or encoded */
			return HTTP_E_BAD_REQUEST;
		if (c != '/') {
			if (c == '.' && o == seg && dots < 2) {
				dots++;
				continue;
			}
			if (o + dots + 1 >= cap) /* keep a byte for the separator or NUL */
				return HTTP_E_URI_TOO_LONG;
			for (; dots; dots--)
				out[o++] = '.';
			out[o++] = (char)c;
			continue;
		}
		if (o == seg) { /* "", "." or "..": dots only */
			if (dots == 2)
				return HTTP_E_FORBIDDEN;
			dir = true;
			dots = 0;
			continue;
		}
		dir = false;
		out[o++] = '/';
		seg = o;
	}
	/* the separator after the last segment stays when the target ended
	   with one ("/a/", "/a/."): the target names a directory */
	if (o && !dir)
		o--;
	else if (o >= cap)
		return HTTP_E_URI_TOO_LONG;
	out[o] = '\0';
	return (ssize_t)o;
}
