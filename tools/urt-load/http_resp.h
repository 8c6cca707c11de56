/* SPDX-License-Identifier: MIT */
/*
 * urt-load's HTTP mode needs only where each response ends and whether it
 * succeeded: the status code and the Content-Length of a response head.
 * Responses without a length (chunked, or ended by close) are refused:
 * a load generator should measure servers that frame their answers.
 */
#ifndef URT_LOAD_HTTP_RESP_H
#define URT_LOAD_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* name (lower case) matches line[0, n) up to the colon, ignoring case. */
static inline bool resp_is_field(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	if (n <= k || line[k] != ':')
		return false;
	for (size_t i = 0; i < k; i++) {
		char c = line[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != name[i])
			return false;
	}
	return true;
}

/*
 * Parse the response head at buf[0, n) (CRLF or LF line ends). Returns its
 * length, with *status and *length (the body's bytes) set; 0 when the head
 * has not ended within n bytes; -1 when it is not a usable HTTP/1.x
 * response head.
 */
static inline ssize_t resp_head(const char *buf, size_t n, int *status, uint64_t *length)
{
	/* "HTTP/1.x DDD" */
	if (n < 12)
		return memcmp(buf, "HTTP/1.", n < 7 ? n : 7) ? -1 : 0;
	if (memcmp(buf, "HTTP/1.", 7) || buf[8] != ' ')
		return -1;
	int st = 0;
	for (size_t i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		st = st * 10 + buf[i] - '0';
	}
	bool have_length = false;
	uint64_t len = 0;
	/* line by line: the status line, then header lines up to an empty one */
	const char *nl = memchr(buf, '\n', n);
	size_t i;
	for (;;) {
		if (!nl)
			return 0;
		i = (size_t)(nl - buf) + 1; /* the next line's start */
		nl = i < n ? memchr(buf + i, '\n', n - i) : NULL;
		if (!nl)
			return 0;
		size_t ll = (size_t)(nl - buf) - i;
		if (ll && buf[i + ll - 1] == '\r')
			ll--;
		if (!ll) {
			i = (size_t)(nl - buf) + 1;
			break;
		}
		if (resp_is_field(buf + i, ll, "content-length")) {
			if (have_length) /* a second one: which frames the body? */
				return -1;
			const char *v = buf + i + strlen("content-length:"), *e = buf + i + ll;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			if (v == e)
				return -1;
			for (len = 0; v < e && *v >= '0' && *v <= '9'; v++) {
				if (len > (UINT64_MAX - 9) / 10)
					return -1;
				len = len * 10 + (uint64_t)(*v - '0');
			}
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			if (v != e)
				return -1;
			have_length = true;
		} else if (resp_is_field(buf + i, ll, "transfer-encoding")) {
			return -1;
		}
	}
	/* 1xx, 204 and 304 never have a body */
	if (!have_length && !(st < 200 || st == 204 || st == 304))
		return -1;
	*status = st;
	*length = have_length ? len : 0;
	return (ssize_t)i;
}

#endif
