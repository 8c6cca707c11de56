/* SPDX-License-Identifier: MIT */
/*
 * bench_tls_bridge: the design choice behind urt's TLS (README, Design,
 * "TLS"), measured. One loop, one thread: a client task sends N MiB over
 * one TLS 1.3 connection (loopback TCP) to a server task, both ends in the
 * same loop, so the figure is the whole CPU cost of both ends per byte:
 *   urt_tls     urt's connections: OpenSSL on buffers, the task's
 *               urt_recv/urt_send_all move them (what urt ships);
 *   bridge      the readiness bridge: SSL_set_fd on a non-blocking socket,
 *               OpenSSL makes the syscalls, urt_poll waits on WANT_READ /
 *               WANT_WRITE (how libpq or a plain OpenSSL program would be
 *               driven from a task);
 *   bridge-ra   the same with read-ahead (one read for many records).
 * Rounds rotate the order; prints GB/s per round, medians, and the median
 * of the per-round ratios bridge/urt_tls.
 *
 *   bench_tls_bridge [MIB=100] [ROUNDS=5]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <urt.h>

#define CHUNK (256 * 1024)

static size_t total;
static char cert_path[64] = "/tmp/urt-tlsb-XXXXXX";

/* A self-signed ECDSA P-256 certificate and key, written as one PEM file. */
static int make_cert(void)
{
	int fd = mkstemp(cert_path);
	if (fd < 0)
		return -1;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	if (!k || !x)
		return -1;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (!X509_sign(x, k, EVP_sha256()))
		return -1;
	FILE *f = fdopen(fd, "w");
	PEM_write_X509(f, x);
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(k);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- urt_tls ---- */

static urt_tls_ctx *u_server, *u_client;

struct end {
	int fd;
	int rc;
};

static int u_serve(void *arg)
{
	struct end *e = arg;
	urt_tls *t;
	if ((e->rc = urt_tls_handshake(u_server, e->fd, NULL, &t)) < 0)
		return 0;
	char *buf = aligned_alloc(64, CHUNK);
	size_t got = 0;
	ssize_t r;
	while (got < total && (r = urt_tls_read(t, buf, CHUNK)) > 0)
		got += (size_t)r;
	e->rc = got == total ? 0 : -EIO;
	free(buf);
	urt_tls_free(t);
	return 0;
}

static int u_send(void *arg)
{
	struct end *e = arg;
	urt_tls *t;
	if ((e->rc = urt_tls_handshake(u_client, e->fd, NULL, &t)) < 0)
		return 0;
	char *buf = aligned_alloc(64, CHUNK);
	memset(buf, 'x', CHUNK);
	for (size_t sent = 0; sent < total && e->rc == 0; sent += CHUNK)
		if (urt_tls_write(t, buf, CHUNK) != CHUNK)
			e->rc = -EIO;
	free(buf);
	urt_tls_free(t);
	return 0;
}

/* ---- the readiness bridge ---- */

static SSL_CTX *b_server, *b_client;
static bool read_ahead;

/* Drive one SSL call to completion, waiting with urt_poll. */
static int wait_for(SSL *s, int fd, int r)
{
	int e = SSL_get_error(s, r);
	if (e == SSL_ERROR_WANT_READ)
		return urt_poll(fd, POLLIN, -1) < 0 ? -1 : 0;
	if (e == SSL_ERROR_WANT_WRITE)
		return urt_poll(fd, POLLOUT, -1) < 0 ? -1 : 0;
	return -1;
}

static SSL *b_open(SSL_CTX *c, int fd, bool server)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	SSL *s = SSL_new(c);
	SSL_set_fd(s, fd);
	SSL_set_read_ahead(s, read_ahead);
	if (server)
		SSL_set_accept_state(s);
	else
		SSL_set_connect_state(s);
	int r;
	while ((r = SSL_do_handshake(s)) != 1)
		if (wait_for(s, fd, r) < 0) {
			SSL_free(s);
			return NULL;
		}
	return s;
}

static int b_serve(void *arg)
{
	struct end *e = arg;
	SSL *s = b_open(b_server, e->fd, true);
	if (!s) {
		e->rc = -EPROTO;
		return 0;
	}
	char *buf = aligned_alloc(64, CHUNK);
	size_t got = 0;
	while (got < total) {
		int r = SSL_read(s, buf, CHUNK);
		if (r > 0)
			got += (size_t)r;
		else if (wait_for(s, e->fd, r) < 0)
			break;
	}
	e->rc = got == total ? 0 : -EIO;
	free(buf);
	SSL_free(s);
	return 0;
}

static int b_send(void *arg)
{
	struct end *e = arg;
	SSL *s = b_open(b_client, e->fd, false);
	if (!s) {
		e->rc = -EPROTO;
		return 0;
	}
	char *buf = aligned_alloc(64, CHUNK);
	memset(buf, 'x', CHUNK);
	for (size_t sent = 0; sent < total && e->rc == 0;) {
		int r = SSL_write(s, buf, CHUNK);
		if (r > 0)
			sent += (size_t)r;
		else if (wait_for(s, e->fd, r) < 0)
			e->rc = -EIO;
	}
	free(buf);
	SSL_free(s);
	return 0;
}

/* ---- one transfer ---- */

struct run {
	int (*serve)(void *), (*send)(void *);
	double secs;
	int rc;
};

static int one(void *arg)
{
	struct run *r = arg;
	int l = urt_tcp_listen("127.0.0.1", 0, 4, 0);
	struct end c = {.fd = urt_tcp_connect("127.0.0.1", urt_sock_port(l))};
	struct end s = {.fd = urt_accept(l, NULL, NULL, SOCK_CLOEXEC)};
	double t0 = now_s();
	urt_task *a = urt_spawn(r->serve, &s), *b = urt_spawn(r->send, &c);
	urt_join(a, NULL);
	urt_join(b, NULL);
	r->secs = now_s() - t0;
	r->rc = s.rc ? s.rc : c.rc;
	urt_sock_close(c.fd);
	urt_sock_close(s.fd);
	urt_sock_close(l);
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	total = (size_t)(argc > 1 ? atoi(argv[1]) : 100) << 20;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (make_cert() < 0) {
		fprintf(stderr, "bench_tls_bridge: cannot make a certificate\n");
		return 1;
	}
	urt_tls_config sc = {.role = URT_TLS_SERVER, .cert_file = cert_path,
			     .min_version = URT_TLS_1_3, .no_resumption = true};
	urt_tls_config cc = {.role = URT_TLS_CLIENT, .insecure = true,
			     .min_version = URT_TLS_1_3, .no_resumption = true};
	if (urt_tls_ctx_new(&sc, &u_server) || urt_tls_ctx_new(&cc, &u_client)) {
		fprintf(stderr, "bench_tls_bridge: %s\n", urt_tls_reason(NULL));
		return 1;
	}
	b_server = SSL_CTX_new(TLS_server_method());
	b_client = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(b_server, TLS1_3_VERSION);
	SSL_CTX_set_min_proto_version(b_client, TLS1_3_VERSION);
	SSL_CTX_use_certificate_file(b_server, cert_path, SSL_FILETYPE_PEM);
	SSL_CTX_use_PrivateKey_file(b_server, cert_path, SSL_FILETYPE_PEM);
	SSL_CTX_set_mode(b_client, SSL_MODE_ENABLE_PARTIAL_WRITE);

	enum { U, B, BRA, N };
	const char *names[N] = {"urt_tls", "bridge", "bridge-ra"};
	double gbs[N][64], ratio[2][64];
	if (rounds > 64)
		rounds = 64;
	printf("bulk: %zu MiB per transfer, both ends in one loop (one thread), %d rounds\n",
	       total >> 20, rounds);
	for (int k = 0; k < rounds; k++) {
		for (int j = 0; j < N; j++) {
			int m = (j + k) % N; /* rotate the order */
			struct run r = {m == U ? u_serve : b_serve, m == U ? u_send : b_send, 0, 0};
			read_ahead = m == BRA;
			if (urt_run(one, &r) != 0 || r.rc) {
				fprintf(stderr, "bench_tls_bridge: %s failed (%d)\n", names[m], r.rc);
				return 1;
			}
			gbs[m][k] = (double)total / r.secs / 1e9;
		}
		ratio[0][k] = gbs[B][k] / gbs[U][k];
		ratio[1][k] = gbs[BRA][k] / gbs[U][k];
		printf("round %d: urt_tls %.2f GB/s, bridge %.2f, bridge-ra %.2f\n", k + 1, gbs[U][k],
		       gbs[B][k], gbs[BRA][k]);
	}
	for (int m = 0; m < N; m++)
		qsort(gbs[m], (size_t)rounds, sizeof(double), cmp_d);
	for (int i = 0; i < 2; i++)
		qsort(ratio[i], (size_t)rounds, sizeof(double), cmp_d);
	printf("median GB/s: urt_tls %.2f, bridge %.2f, bridge-ra %.2f\n", gbs[U][rounds / 2],
	       gbs[B][rounds / 2], gbs[BRA][rounds / 2]);
	printf("per-round ratio to urt_tls (median [min, max]): bridge %.2f [%.2f, %.2f], "
	       "bridge-ra %.2f [%.2f, %.2f]\n",
	       ratio[0][rounds / 2], ratio[0][0], ratio[0][rounds - 1], ratio[1][rounds / 2],
	       ratio[1][0], ratio[1][rounds - 1]);
	urt_tls_ctx_free(u_server);
	urt_tls_ctx_free(u_client);
	SSL_CTX_free(b_server);
	SSL_CTX_free(b_client);
	unlink(cert_path);
	return 0;
}
