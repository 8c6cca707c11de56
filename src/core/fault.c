/* SPDX-License-Identifier: MIT */
/* Seeded fault injection: the parse of URT_FAULT and the decisions
   (core/fault.h says how they are made). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/fault.h"

static const char *const kind_names[URT__FK_N] = {"short", "io",    "net",  "nofd", "delay",
							"spawn", "again", "intr", "race"};

int urt__fault_parse(const char *s, uint64_t *seed, uint32_t *rate, unsigned *kinds,
		     unsigned *named)
{
	bool have_seed = false;
	*rate = (uint32_t)(0.01 * 4294967296.0); /* 1 % */
	*kinds = 0;
	*named = 0;
	while (*s) {
		size_t n = strcspn(s, ",");
		char item[128];
		if (n >= sizeof item)
			return -EINVAL;
		memcpy(item, s, n);
		item[n] = '\0';
		s += n + (s[n] == ',');
		char *v = strchr(item, '='), *end;
		if (!v)
			return -EINVAL;
		*v++ = '\0';
		if (!strcmp(item, "seed")) {
			*seed = strtoull(v, &end, 0);
			if (end == v || *end)
				return -EINVAL;
			have_seed = true;
		} else if (!strcmp(item, "rate")) {
			double p = strtod(v, &end);
			if (end == v || *end || !(p >= 0 && p <= 1))
				return -EINVAL;
			*rate = p >= 1 ? UINT32_MAX : (uint32_t)(p * 4294967296.0);
		} else if (!strcmp(item, "kinds")) {
			while (*v) {
				size_t k = strcspn(v, "+");
				unsigned bit = 0;
				if (k == 3 && !strncmp(v, "all", 3))
					bit = URT__FAULT_ALL;
				for (int i = 0; i < URT__FK_N && !bit; i++)
					if (strlen(kind_names[i]) == k && !strncmp(v, kind_names[i], k))
						bit = 1u << i;
				if (!bit)
					return -EINVAL;
				*named |= bit;
				v += k + (v[k] == '+');
			}
		} else {
			return -EINVAL;
		}
	}
	if (!have_seed)
		return -EINVAL;
	*kinds = *named;
	return 0;
}

#if URT__FAULT_INJECTION
static uint64_t next(struct urt__fault *f)
{
	/* xorshift64* (Vigna): small, fast, and its state never sticks at 0 */
	uint64_t x = f->state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	f->state = x;
	return x * UINT64_C(2685821657736338717);
}

static struct urt__fault *started(struct urt_loop *L)
{
	struct urt__fault *f = L->fault;
	if (!f->state) {
		/* splitmix64 of seed and loop index: loops get unrelated sequences */
		uint64_t z = f->seed + (uint64_t)(L->rt_index + 1) * UINT64_C(0x9e3779b97f4a7c15);
		z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
		z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
		f->state = (z ^ (z >> 31)) | 1;
		if (!f->kinds) /* none named: BUGGIFY, each kind on or off for the run */
			f->kinds = (unsigned)(next(f) >> 40) & URT__FAULT_ALL;
	}
	return f;
}

bool urt__fault_hit(struct urt_loop *L, enum urt__fault_kind kind)
{
	if (!L || !L->fault)
		return false;
	struct urt__fault *f = started(L);
	if (!(f->kinds & (1u << kind)) || (uint32_t)(next(f) >> 32) >= f->rate)
		return false;
	f->hits[kind]++;
	return true;
}

unsigned urt__fault_pick(struct urt_loop *L, unsigned n)
{
	return (unsigned)((next(started(L)) >> 32) % n);
}
#endif
