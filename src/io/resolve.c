/* SPDX-License-Identifier: MIT */
/*
 * Name resolution: getaddrinfo(3) on the offload pool. The lookup's inputs
 * and outputs live in one heap record owned jointly by the caller and the
 * worker, because a cancelled caller returns while the lookup goes on: the
 * orphan callback frees the record (and any result) when it ends.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "urt.h"

struct lookup {
	char *host, *service;
	struct addrinfo hints;
	bool has_hints;
	struct addrinfo *res;
	int rc, err;
};

static void *lookup_run(void *arg)
{
	struct lookup *l = arg;
	l->rc = getaddrinfo(l->host, l->service, l->has_hints ? &l->hints : NULL, &l->res);
	l->err = errno;
	return NULL;
}

static void lookup_free(void *arg, void *result)
{
	(void)result;
	struct lookup *l = arg;
	if (l->res)
		freeaddrinfo(l->res);
	free(l->host);
	free(l->service);
	free(l);
}

/* EAI_* codes are negative numbers that collide with negative errnos. */
static int eai_to_errno(int rc, int err)
{
	switch (rc) {
	case 0: return 0;
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY: return -ENOENT;
	case EAI_AGAIN: return -EAGAIN;
	case EAI_MEMORY: return -ENOMEM;
	case EAI_FAIL: return -EIO;
	case EAI_SYSTEM: return err ? -err : -EIO;
	default: return -EINVAL; /* EAI_BADFLAGS, EAI_FAMILY, EAI_SOCKTYPE, EAI_SERVICE */
	}
}

int urt_getaddrinfo(const char *host, const char *service, const struct addrinfo *hints,
		    struct addrinfo **res)
{
	if (!res || (!host && !service))
		return -EINVAL;
	*res = NULL;
	struct lookup *l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	if ((host && !(l->host = strdup(host))) || (service && !(l->service = strdup(service)))) {
		lookup_free(l, NULL);
		return -ENOMEM;
	}
	if (hints) {
		l->has_hints = true;
		l->hints.ai_flags = hints->ai_flags;
		l->hints.ai_family = hints->ai_family;
		l->hints.ai_socktype = hints->ai_socktype;
		l->hints.ai_protocol = hints->ai_protocol;
	}
	int r = urt_offload_ex(lookup_run, l, NULL, lookup_free);
	if (r < 0)
		return r; /* lookup_free runs when the lookup ends */
	r = eai_to_errno(l->rc, l->err);
	if (r == 0) {
		*res = l->res;
		l->res = NULL;
	}
	lookup_free(l, NULL);
	return r;
}
