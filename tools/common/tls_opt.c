/* SPDX-License-Identifier: MIT */
/* The servers' --tls-cert/--tls-key: their TLS context (tls_opt.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tls_opt.h"
#include "tool.h"

/* 0 when path can be opened for reading, else the errno. */
static int readable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* why without a leading "FILE: " or "WORD FILE: " ("certificate
   server.pem: No such file or directory"): the line names FILE already. */
static const char *unnamed(const char *why, const char *file)
{
	const char *p = strchr(why, ' ');
	size_t n = strlen(file);
	if (!strncmp(why, file, n) && !strncmp(why + n, ": ", 2))
		return why + n + 2;
	if (p && !strncmp(p + 1, file, n) && !strncmp(p + 1 + n, ": ", 2))
		return p + 1 + n + 2;
	return why;
}

int tool_tls_server_ctx(const char *prog, const char *cert, const char *key, urt_tls_ctx **out)
{
	*out = NULL;
	if (!cert && !key)
		return 0;
	if (!cert || !key) {
		fprintf(stderr, "%s: %s needs %s too\n", prog, cert ? "--tls-cert" : "--tls-key",
			cert ? "--tls-key" : "--tls-cert");
		return TOOL_EXIT_USAGE;
	}
	urt_tls_config cfg = {.role = URT_TLS_SERVER, .cert_file = cert, .key_file = key};
	int r = urt_tls_ctx_new(&cfg, out);
	if (r == 0)
		return 0;
	*out = NULL;
	if (r == -ENOTSUP) {
		fprintf(stderr, "%s: --tls-cert: urt was built without TLS (-Dtls=disabled)\n", prog);
		return 1;
	}
	/* urt_tls_reason says why in OpenSSL's words; the option named is the
	   one whose file is at fault: one that cannot be opened, else the one
	   the reason names (the certificate when it names neither or both: a
	   key that does not match it, say) */
	const char *why = urt_tls_reason(NULL);
	int ce = readable(cert), ke = readable(key);
	bool key_at_fault = ce || ke ? !ce : strstr(why, key) && !strstr(why, cert);
	const char *file = key_at_fault ? key : cert;
	if (!*why)
		why = strerror(ce ? ce : ke ? ke : -r);
	else
		why = unnamed(why, file);
	fprintf(stderr, "%s: %s %s: %s\n", prog, key_at_fault ? "--tls-key" : "--tls-cert", file,
		why);
	return 1;
}
