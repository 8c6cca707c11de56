/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for urt-httpd's path sanitizer (http_path_sanitize in
 * tools/urt-httpd/http_parse.c) on its own: fuzz_http_parse reaches it only
 * through targets the request parser accepted.
 *
 * Besides memory errors (the input and every output buffer are heap
 * blocks of exactly their size), it aborts when
 *  - a path comes out absolute, with "//", a "." or ".." segment or a NUL;
 *  - the result depends on the room given other than by "too long": with
 *    cap > r it is r, with cap <= r it is HTTP_E_URI_TOO_LONG;
 *  - the path, percent-encoded again under "/", does not sanitize to
 *    itself (the sanitizer is a projection: a second pass changes nothing).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static ssize_t sanitize(const char *t, size_t n, size_t cap, char **outp)
{
	char *out = malloc(cap ? cap : 1);
	CHECK(out);
	ssize_t r = http_path_sanitize(t, n, out, cap);
	*outp = out;
	return r;
}

static void check_shape(const char *out, size_t r)
{
	CHECK(strlen(out) == r);
	CHECK(out[0] != '/' && !strstr(out, "//"));
	CHECK(r != 1 || out[0] != '/');
	for (const char *s = out; *s;) {
		size_t l = strcspn(s, "/");
		CHECK(!(l == 1 && s[0] == '.') && !(l == 2 && s[0] == '.' && s[1] == '.'));
		s += l + (s[l] == '/');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t = (const char *)data;
	size_t big = size + 2; /* decoding never lengthens: room for all */
	char *out;
	ssize_t r = sanitize(t, size, big, &out);
	if (r < 0) {
		CHECK(r == HTTP_E_BAD_REQUEST || r == HTTP_E_FORBIDDEN);
		free(out);
		return 0;
	}
	check_shape(out, (size_t)r);

	/* the room: exactly enough, one short, none */
	char *o2;
	CHECK(sanitize(t, size, (size_t)r + 1, &o2) == r && !strcmp(o2, out));
	free(o2);
	if (r > 0) {
		CHECK(sanitize(t, size, (size_t)r, &o2) == HTTP_E_URI_TOO_LONG);
		free(o2);
	}
	CHECK(sanitize(t, size, 0, &o2) == HTTP_E_URI_TOO_LONG);
	free(o2);

	/* again, from "/" + out with every byte but unreserved ones and "/"
	   percent-encoded */
	size_t n = (size_t)r;
	char *again = malloc(1 + 3 * n + 1);
	CHECK(again);
	size_t k = 0;
	again[k++] = '/';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '/' || c == '-' || c == '_' || c == '.' || c == '~')
			again[k++] = (char)c;
		else
			k += (size_t)sprintf(again + k, "%%%02X", c);
	}
	CHECK(sanitize(again, k, n + 1, &o2) == r && !strcmp(o2, out));
	free(o2);
	free(again);
	free(out);
	return 0;
}
