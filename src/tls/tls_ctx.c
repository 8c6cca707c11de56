/* SPDX-License-Identifier: MIT */
/*
 * TLS contexts: an SSL_CTX made from a urt_tls_config, every file loaded
 * (and checked) up front; the client's session cache, one session per
 * server name; the failure reasons.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/tls.h"

static __thread char thread_reason[192];

char *urt__tls_thread_reason(void)
{
	return thread_reason;
}

void urt__tls_set_reason(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	if (dst != thread_reason)
		snprintf(thread_reason, sizeof thread_reason, "%s", dst);
}

/* OpenSSL's reason for the oldest queued error (the cause; later ones are
   consequences), and the queue emptied. */
static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	ERR_clear_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	return r ? r : "unknown error";
}

/* Can the file be read? 0, or the errno with the reason set. */
static int check_file(const char *what, const char *path)
{
	if (access(path, R_OK) == 0)
		return 0;
	int e = errno;
	urt__tls_set_reason(thread_reason, sizeof thread_reason, "%s %s: %s", what, path,
			    strerror(e));
	return e == ENOENT || e == ENOTDIR ? -ENOENT : e == EACCES ? -EACCES : -e;
}

/* "h2,http/1.1" -> wire format (length-prefixed). NULL/-EINVAL on a bad list. */
static unsigned char *alpn_wire(const char *list, unsigned *len)
{
	size_t n = strlen(list);
	unsigned char *w = malloc(n + 1);
	if (!w)
		return NULL;
	unsigned out = 0;
	const char *p = list;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == 0 || l > 255) {
			free(w);
			return NULL;
		}
		w[out++] = (unsigned char)l;
		memcpy(w + out, p, l);
		out += (unsigned)l;
		p += l + (c ? 1 : 0);
		if (c && !*p) { /* trailing comma */
			free(w);
			return NULL;
		}
	}
	*len = out;
	return w;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned inlen, void *arg)
{
	(void)ssl;
	urt_tls_ctx *c = arg;
	unsigned char *o;
	if (SSL_select_next_proto(&o, outlen, c->alpn, c->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK; /* no common protocol: go on without ALPN */
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

/* A client got a session (TLS 1.3: a ticket, after the handshake): keep the
   newest per server name. */
static int session_new(SSL *ssl, SSL_SESSION *sess)
{
	urt_tls *t = SSL_get_app_data(ssl);
	if (!t || !t->name)
		return 0;
	urt_tls_ctx *c = t->ctx;
	pthread_mutex_lock(&c->lock);
	unsigned slot = URT__TLS_SESSIONS;
	for (unsigned i = 0; i < URT__TLS_SESSIONS; i++) {
		if (c->cache[i].name && !strcmp(c->cache[i].name, t->name)) {
			slot = i;
			break;
		}
		if (!c->cache[i].name && slot == URT__TLS_SESSIONS)
			slot = i;
	}
	if (slot == URT__TLS_SESSIONS)
		slot = c->cache_next++ % URT__TLS_SESSIONS;
	if (c->cache[slot].sess)
		SSL_SESSION_free(c->cache[slot].sess);
	if (!c->cache[slot].name || strcmp(c->cache[slot].name, t->name)) {
		free(c->cache[slot].name);
		c->cache[slot].name = strdup(t->name);
	}
	int kept = c->cache[slot].name != NULL;
	c->cache[slot].sess = kept ? sess : NULL;
	pthread_mutex_unlock(&c->lock);
	return kept; /* 1: we keep the reference (read under the lock: TSan) */
}

SSL_SESSION *urt__tls_session_get(urt_tls_ctx *c, const char *name)
{
	SSL_SESSION *s = NULL;
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < URT__TLS_SESSIONS; i++)
		if (c->cache[i].name && !strcmp(c->cache[i].name, name)) {
			s = c->cache[i].sess;
			if (s && SSL_SESSION_is_resumable(s))
				SSL_SESSION_up_ref(s);
			else
				s = NULL;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	return s;
}

static int version_ok(int v)
{
	return v == 0 || v == URT_TLS_1_2 || v == URT_TLS_1_3;
}

static int setup(urt_tls_ctx *c, const urt_tls_config *cfg)
{
	char *why = thread_reason;
	size_t wcap = sizeof thread_reason;
	SSL_CTX *s = c->ssl;
	bool server = cfg->role == URT_TLS_SERVER;
	int r;

	SSL_CTX_set_min_proto_version(s, cfg->min_version ? cfg->min_version : TLS1_2_VERSION);
	if (cfg->max_version)
		SSL_CTX_set_max_proto_version(s, cfg->max_version);
	/* renegotiation would make SSL_write read and SSL_read write at any
	   time; TLS 1.3 has none, and 1.2 servers and clients rarely need it */
	SSL_CTX_set_options(s, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
				       SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

	if (cfg->cert_file) {
		const char *key = cfg->key_file ? cfg->key_file : cfg->cert_file;
		if ((r = check_file("certificate", cfg->cert_file)) || (r = check_file("key", key)))
			return r;
		if (SSL_CTX_use_certificate_chain_file(s, cfg->cert_file) != 1) {
			urt__tls_set_reason(why, wcap, "certificate %s: %s", cfg->cert_file,
					    ssl_reason());
			return -EKEYREJECTED;
		}
		if (SSL_CTX_use_PrivateKey_file(s, key, SSL_FILETYPE_PEM) != 1) {
			/* OpenSSL checks the pair here already */
			if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
				ERR_clear_error();
				urt__tls_set_reason(why, wcap, "key %s does not match certificate %s",
						    key, cfg->cert_file);
			} else {
				urt__tls_set_reason(why, wcap, "key %s: %s", key, ssl_reason());
			}
			return -EKEYREJECTED;
		}
		if (SSL_CTX_check_private_key(s) != 1) {
			urt__tls_set_reason(why, wcap, "key %s does not match certificate %s: %s",
					    key, cfg->cert_file, ssl_reason());
			return -EKEYREJECTED;
		}
	} else if (server) {
		urt__tls_set_reason(why, wcap, "a server needs cert_file");
		return -EINVAL;
	} else if (cfg->key_file) {
		urt__tls_set_reason(why, wcap, "key_file without cert_file");
		return -EINVAL;
	}

	bool verify = server ? cfg->verify_client : !cfg->insecure;
	if (cfg->ca_file && (r = check_file("CA file", cfg->ca_file)))
		return r;
	if (cfg->ca_file || cfg->ca_path) {
		if (SSL_CTX_load_verify_locations(s, cfg->ca_file, cfg->ca_path) != 1) {
			urt__tls_set_reason(why, wcap, "CA %s: %s",
					    cfg->ca_file ? cfg->ca_file : cfg->ca_path, ssl_reason());
			return -EKEYREJECTED;
		}
	} else if (verify && !server) {
		if (SSL_CTX_set_default_verify_paths(s) != 1) {
			urt__tls_set_reason(why, wcap, "the system CA store: %s", ssl_reason());
			return -EKEYREJECTED;
		}
	} else if (verify) {
		urt__tls_set_reason(why, wcap, "verify_client needs ca_file or ca_path");
		return -EINVAL;
	}
	if (verify) {
		SSL_CTX_set_verify(s, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
				   NULL);
		if (server && cfg->ca_file) {
			STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca_file);
			if (names)
				SSL_CTX_set_client_CA_list(s, names);
		}
	} else {
		SSL_CTX_set_verify(s, SSL_VERIFY_NONE, NULL);
	}

	if (cfg->alpn) {
		unsigned len = 0;
		unsigned char *w = alpn_wire(cfg->alpn, &len);
		if (!w || !len) {
			free(w);
			urt__tls_set_reason(why, wcap, "bad ALPN list \"%s\"", cfg->alpn);
			return -EINVAL;
		}
		if (server) {
			c->alpn = w;
			c->alpn_len = len;
			SSL_CTX_set_alpn_select_cb(s, alpn_select, c);
		} else {
			int bad = SSL_CTX_set_alpn_protos(s, w, len); /* 0 is success here */
			free(w);
			if (bad)
				return -ENOMEM;
		}
	}

	if (cfg->no_resumption) {
		SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
		if (server)
			SSL_CTX_set_num_tickets(s, 0);
	} else if (server) {
		/* tickets (stateless) plus OpenSSL's internal cache for 1.2 ids */
		static const unsigned char sid[] = "urt";
		SSL_CTX_set_session_id_context(s, sid, sizeof sid - 1);
		SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_SERVER);
	} else {
		c->resume = true;
		SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_CLIENT |
							  SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(s, session_new);
	}
	return 0;
}

int urt_tls_ctx_new(const urt_tls_config *cfg, urt_tls_ctx **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	thread_reason[0] = 0;
	if (!cfg || (cfg->role != URT_TLS_CLIENT && cfg->role != URT_TLS_SERVER) ||
	    !version_ok(cfg->min_version) || !version_ok(cfg->max_version) ||
	    (cfg->max_version && cfg->min_version > cfg->max_version)) {
		urt__tls_set_reason(thread_reason, sizeof thread_reason,
				    "bad role or protocol version");
		return -EINVAL;
	}
	urt_tls_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	ERR_clear_error();
	c->ssl = SSL_CTX_new(cfg->role == URT_TLS_SERVER ? TLS_server_method() : TLS_client_method());
	if (!c->ssl) {
		free(c);
		urt__tls_set_reason(thread_reason, sizeof thread_reason, "SSL_CTX_new: %s",
				    ssl_reason());
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->role = cfg->role;
	c->refs = 1;
	int r = setup(c, cfg);
	if (r) {
		ERR_clear_error();
		c->refs = 1;
		urt_tls_ctx_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void urt__tls_ctx_ref(urt_tls_ctx *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
}

void urt_tls_ctx_free(urt_tls_ctx *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (unsigned i = 0; i < URT__TLS_SESSIONS; i++) {
		free(c->cache[i].name);
		if (c->cache[i].sess)
			SSL_SESSION_free(c->cache[i].sess);
	}
	SSL_CTX_free(c->ssl);
	free(c->alpn);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool urt_tls_ktls_available(void)
{
	/* the kernel lists its TCP upper-layer protocols; "tls" is kTLS (loaded) */
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "re");
	char line[256] = "";
	if (f) {
		if (!fgets(line, sizeof line, f))
			line[0] = 0;
		fclose(f);
	}
	char *save = NULL;
	for (char *p = strtok_r(line, " \n", &save); p; p = strtok_r(NULL, " \n", &save))
		if (!strcmp(p, "tls"))
			return true;
	return access("/sys/module/tls", F_OK) == 0;
}
