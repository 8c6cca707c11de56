/* SPDX-License-Identifier: MIT */
/* urt built without TLS (-Dtls=disabled, or no OpenSSL): every call says
   so with -ENOTSUP, so code using it still builds and links. */
#include <errno.h>

#include "core/core.h"

static const char no_tls[] = "urt was built without TLS (-Dtls=disabled or no OpenSSL)";

int urt_tls_ctx_new(const urt_tls_config *cfg, urt_tls_ctx **out)
{
	(void)cfg;
	if (out)
		*out = NULL;
	return -ENOTSUP;
}
void urt_tls_ctx_free(urt_tls_ctx *ctx) { (void)ctx; }
int urt_tls_handshake(urt_tls_ctx *ctx, int fd, const char *name, urt_tls **out)
{
	(void)ctx;
	(void)fd;
	(void)name;
	if (out)
		*out = NULL;
	return -ENOTSUP;
}
ssize_t urt_tls_read(urt_tls *t, void *buf, size_t n)
{
	(void)t;
	(void)buf;
	(void)n;
	return -ENOTSUP;
}
ssize_t urt_tls_write(urt_tls *t, const void *buf, size_t n)
{
	(void)t;
	(void)buf;
	(void)n;
	return -ENOTSUP;
}
int urt_tls_shutdown(urt_tls *t) { (void)t; return -ENOTSUP; }
void urt_tls_free(urt_tls *t) { (void)t; }
const char *urt_tls_reason(const urt_tls *t) { (void)t; return no_tls; }
int urt_tls_get_info(const urt_tls *t, urt_tls_info *info)
{
	(void)t;
	(void)info;
	return -ENOTSUP;
}
bool urt_tls_ktls_available(void) { return false; }
int urt_stream_start_tls(urt_stream *s, urt_tls_ctx *ctx, const char *name)
{
	(void)s;
	(void)ctx;
	(void)name;
	return -ENOTSUP;
}
urt_tls *urt_stream_tls(const urt_stream *s) { (void)s; return NULL; }
