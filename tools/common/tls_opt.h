/* SPDX-License-Identifier: MIT */
/*
 * --tls-cert FILE --tls-key FILE, shared by the servers (urt-httpd,
 * urt-echo): the server's TLS context, made at start-up so that a missing,
 * unreadable or mismatched file stops the tool at once with one line on
 * stderr, not at the first connection.
 */
#ifndef URT_TOOL_TLS_OPT_H
#define URT_TOOL_TLS_OPT_H

#include <urt.h>

/* The options' lines for --help, indented as the tools' own. */
#define TOOL_TLS_HELP \
	"  --tls-cert FILE        serve TLS (1.2 and 1.3) with this PEM certificate\n" \
	"                         chain, leaf first; needs --tls-key\n" \
	"  --tls-key FILE         the PEM private key of --tls-cert\n"

/* The options, for getopt_long's table (their values: TOOL_OPT_TLS_*). */
enum { TOOL_OPT_TLS_CERT = 0x1000, TOOL_OPT_TLS_KEY };
#define TOOL_TLS_LONGOPTS \
	{"tls-cert", required_argument, NULL, TOOL_OPT_TLS_CERT}, \
	{"tls-key", required_argument, NULL, TOOL_OPT_TLS_KEY}

/*
 * Make the server context of prog (its name, prefixing the message) from
 * cert and key, which the user gives both or neither. Returns 0 with *out
 * (NULL when neither was given: plain TCP), or an exit status after one
 * line on stderr: TOOL_EXIT_USAGE when only one was given, 1 when a file
 * is missing, unreadable, not PEM or the key does not match ("PROG:
 * --tls-cert FILE: why", naming the option whose file is at fault), or
 * when urt was built without TLS.
 */
int tool_tls_server_ctx(const char *prog, const char *cert, const char *key, urt_tls_ctx **out);

#endif
