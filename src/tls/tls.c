/* SPDX-License-Identifier: MIT */
/* TLS: placeholder while the implementation lands (issue 24). */
#include <errno.h>
#include <sys/socket.h>

#include "core/core.h"

int urt_tls_ctx_new(const urt_tls_config *cfg, urt_tls_ctx **out) { (void)cfg; *out = NULL; return -ENOTSUP; }
void urt_tls_ctx_free(urt_tls_ctx *ctx) { (void)ctx; }
int urt_tls_handshake(urt_tls_ctx *ctx, int fd, const char *sn, urt_tls **out) { (void)ctx; (void)fd; (void)sn; *out = NULL; return -ENOTSUP; }
ssize_t urt_tls_read(urt_tls *t, void *buf, size_t n) { (void)t; (void)buf; (void)n; return -ENOTSUP; }
ssize_t urt_tls_write(urt_tls *t, const void *buf, size_t n) { (void)t; (void)buf; (void)n; return -ENOTSUP; }
int urt_tls_shutdown(urt_tls *t) { (void)t; return -ENOTSUP; }
void urt_tls_free(urt_tls *t) { (void)t; }
const char *urt_tls_reason(const urt_tls *t) { (void)t; return ""; }
int urt_tls_get_info(const urt_tls *t, urt_tls_info *info) { (void)t; (void)info; return -EINVAL; }
bool urt_tls_ktls_available(void) { return false; }
int urt_stream_start_tls(urt_stream *s, urt_tls_ctx *ctx, const char *sn) { (void)s; (void)ctx; (void)sn; return -ENOTSUP; }
urt_tls *urt_stream_tls(const urt_stream *s) { (void)s; return NULL; }
int urt_stream_shutdown(urt_stream *s) { (void)s; return -ENOTSUP; }
