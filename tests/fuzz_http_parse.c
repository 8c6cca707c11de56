/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for urt-httpd's request parser and path sanitizer
 * (tools/urt-httpd/http_parse.c). tests/meson.build builds it as
 * fuzz_http_parse when the compiler is clang; by hand:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -Itools/urt-httpd tests/fuzz_http_parse.c tools/urt-httpd/http_parse.c \
 *     -o /tmp/fuzz_http_parse
 *   mkdir -p /tmp/corpus && /tmp/fuzz_http_parse -max_total_time=60 -max_len=4096 /tmp/corpus
 *
 * libFuzzer passes each input in a heap block of exactly its size, so
 * AddressSanitizer reports any read past it; the prefixes tried below get
 * blocks of their own for the same reason. Besides memory errors the
 * harness aborts when a result breaks the contract in http_parse.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static bool known_error(ssize_t r)
{
	return r == HTTP_INCOMPLETE || r == HTTP_E_BAD_REQUEST || r == HTTP_E_BODY_TOO_LARGE ||
	       r == HTTP_E_HEADERS_TOO_LARGE || r == HTTP_E_NOT_IMPLEMENTED ||
	       r == HTTP_E_VERSION;
}

static bool inside(const char *p, size_t n, const char *lo, const char *hi)
{
	return p >= lo && p + n <= hi;
}

/* The parse of buf[0, k) alone, from a block that ends where it ends. */
static ssize_t parse_copy(const uint8_t *buf, size_t k, const struct http_limits *lim)
{
	struct http_request r;
	char *c = malloc(k ? k : 1);
	CHECK(c);
	memcpy(c, buf, k);
	ssize_t res = http_parse_request(c, k, lim, &r);
	free(c);
	return res;
}

static void check_path(const char *t, size_t n)
{
	char out[512];
	ssize_t r = http_path_sanitize(t, n, out, sizeof out);
	if (r < 0) {
		CHECK(r == HTTP_E_BAD_REQUEST || r == HTTP_E_FORBIDDEN || r == HTTP_E_URI_TOO_LONG);
		return;
	}
	CHECK((size_t)r < sizeof out && strlen(out) == (size_t)r);
	CHECK(out[0] != '/' && !strstr(out, "//"));
	/* a trailing slash is kept, but never alone ("" is the root) */
	CHECK(r != 1 || out[0] != '/');
	/* no segment may be "." or ".." */
	for (const char *s = out; *s;) {
		size_t l = strcspn(s, "/");
		CHECK(!(l == 1 && s[0] == '.') && !(l == 2 && s[0] == '.' && s[1] == '.'));
		s += l + (s[l] == '/');
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_request r;
	static const struct http_limits small = {.max_head = 64, .max_body = 10};

	check_path(buf, size);

	/* walk the input as a pipeline, as the server does */
	size_t off = 0;
	while (off < size) {
		ssize_t k = http_parse_request(buf + off, size - off, NULL, &r);
		if (k < 0) {
			CHECK(known_error(k));
			break;
		}
		const char *end = buf + off + (size_t)k;
		CHECK(k > 0 && (size_t)k <= size - off);
		CHECK(r.num_headers <= HTTP_MAX_HEADERS && r.meth != HTTP_M_UNKNOWN);
		CHECK(r.minor_version == 0 || r.minor_version == 1);
		CHECK(!r.expect_continue || r.minor_version == 1); /* 1.0's is ignored */
		CHECK(r.content_length <= HTTP_DEFAULT_MAX_BODY);
		CHECK(inside(r.method, r.method_len, buf + off, end) && r.method_len > 0);
		CHECK(inside(r.target, r.target_len, buf + off, end) && r.target_len > 0);
		for (size_t i = 0; i < r.num_headers; i++) {
			CHECK(inside(r.headers[i].name, r.headers[i].name_len, buf + off, end));
			CHECK(inside(r.headers[i].value, r.headers[i].value_len, buf + off, end));
			CHECK(r.headers[i].name_len > 0);
		}
		check_path(r.target, r.target_len);

		/* proper prefixes of a head are incomplete (all of them for short
		   heads, a sample for long ones: each parse is O(length)) */
		size_t step = (size_t)k <= 256 ? 1 : (size_t)k / 16;
		for (size_t p = 0; p < (size_t)k; p += step)
			CHECK(parse_copy(data + off, p, NULL) == HTTP_INCOMPLETE);
		CHECK(parse_copy(data + off, (size_t)k - 1, NULL) == HTTP_INCOMPLETE);
		/* the head alone parses the same */
		CHECK(parse_copy(data + off, (size_t)k, NULL) == k);
		/* tighter limits accept it exactly when it fits them */
		uint64_t body = r.content_length;
		ssize_t ks = http_parse_request(buf + off, size - off, &small, &r);
		if ((size_t)k <= small.max_head && body <= small.max_body)
			CHECK(ks == k);
		else
			CHECK(ks == HTTP_E_HEADERS_TOO_LARGE || ks == HTTP_E_BODY_TOO_LARGE);

		off += (size_t)k;
		if (body > size - off)
			break;
		off += body;
	}
	return 0;
}
