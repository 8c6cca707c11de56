/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for urt-load's response-head parser (resp_head in
 * tools/urt-load/http_resp.h), which reads whatever a server sends.
 *
 * Besides memory errors (each prefix is parsed from a heap block of
 * exactly its size), it aborts when
 *  - a result is not -1, 0 or a length within the input ending in "\n";
 *  - a status is not three digits, or a head without Content-Length has
 *    a body other than 0 where one is allowed;
 *  - the answer depends on how the bytes arrived: every proper prefix of
 *    a complete head is "incomplete" (0), never an error, and the head
 *    alone parses as the whole input does; once a prefix is refused (-1),
 *    every longer one is.
 * The input is walked as a pipeline of responses, as urt-load reads one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_resp.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static ssize_t parse_copy(const uint8_t *buf, size_t k, int *st, uint64_t *len)
{
	char *c = malloc(k ? k : 1);
	CHECK(c);
	memcpy(c, buf, k);
	ssize_t r = resp_head(c, k, st, len);
	free(c);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		int st = -1;
		uint64_t len = UINT64_MAX;
		ssize_t k = parse_copy(data + off, size - off, &st, &len);
		CHECK(k >= -1 && k <= (ssize_t)(size - off));
		if (k <= 0) {
			/* the verdict on a prefix holds for the whole: a sample of
			   prefixes (each parse is O(length)) */
			size_t n = size - off, step = n <= 256 ? 1 : n / 16;
			for (size_t p = 0; p < n; p += step) {
				ssize_t kp = parse_copy(data + off, p, &st, &len);
				CHECK(kp == 0 || kp == -1);
				CHECK(k == -1 || kp == 0); /* incomplete: so is each prefix */
			}
			break;
		}
		CHECK(data[off + (size_t)k - 1] == '\n');
		CHECK(st >= 0 && st <= 999);
		CHECK(!memcmp(data + off, "HTTP/1.", 7));

		/* each proper prefix is incomplete; the head alone is the same */
		size_t step = (size_t)k <= 256 ? 1 : (size_t)k / 16;
		int st2;
		uint64_t len2;
		for (size_t p = 0; p < (size_t)k; p += step)
			CHECK(parse_copy(data + off, p, &st2, &len2) == 0);
		CHECK(parse_copy(data + off, (size_t)k - 1, &st2, &len2) == 0);
		CHECK(parse_copy(data + off, (size_t)k, &st2, &len2) == k);
		CHECK(st2 == st && len2 == len);

		off += (size_t)k;
		if (len > size - off)
			break;
		off += len;
	}
	return 0;
}
