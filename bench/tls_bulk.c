/* SPDX-License-Identifier: MIT */
/*
 * TLS bulk transfer (issue 24): MiB (default 100) MiB over one TLS 1.3
 * connection on loopback, default cipher (OpenSSL's first TLS 1.3 suite,
 * TLS_AES_256_GCM_SHA384), ECDSA P-256 certificate made for the run.
 *
 *   urt:      a urt client task (urt_tls_write of 256 KiB per call) to a
 *             urt server task (urt_tls_read into a 256 KiB buffer), each on
 *             its own loop (urt_run) on its own thread;
 *   openssl:  the same with OpenSSL alone: blocking sockets, SSL_set_fd,
 *             SSL_write of 256 KiB / SSL_read into 256 KiB, two threads.
 *
 * Both: the server thread pinned to CPU 0, the client's to CPU 1 (where
 * there are two); no session tickets; the client verifies the server
 * against the certificate (name "localhost"). The clock runs on the
 * client from after the handshake (the server, handshake done, sends one
 * byte that the client waits for) to the server's one-byte
 * acknowledgement of the last byte. Rounds alternate urt, openssl, urt, ...
 * Prints GB/s (10^9 bytes/s) per side, each thread's CPU time per GiB, and
 * the per-round ratio urt/openssl: median, min and max.
 *
 * Usage: bench_tls_bulk [MiB, default 100] [rounds, default 7]
 * Needs the openssl command (the certificate is made with `openssl req`).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench.h"
#include "urt.h"

#define CHUNK (256 * 1024)

static size_t total;                  /* bytes per transfer */
static char cert[256], key[256];      /* PEM files of the run */
static char dir[] = "/tmp/urt-tls-bulk.XXXXXX";
static int ncpu;

/* One transfer's results. */
struct arm {
	int lfd;                  /* the listening socket, 127.0.0.1:port */
	int port;
	double secs;              /* client clock */
	double srv_cpu, cli_cpu;  /* thread CPU seconds */
	char cipher[64];
	int err;                  /* 0, or what failed (printed by main) */
	char why[256];
};

static void pin(int cpu)
{
	if (ncpu < 2)
		return;
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static double thread_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void fail(struct arm *a, int err, const char *what, const char *why)
{
	if (a->err)
		return;
	a->err = err ? err : -EIO;
	snprintf(a->why, sizeof a->why, "%s: %s%s%s", what, strerror(-a->err), why && *why ? ": " : "",
		 why ? why : "");
}

static int listen_any(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len))
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ---- urt ---- */

static urt_tls_ctx *uctx_srv, *uctx_cli;

static int urt_server(void *arg)
{
	struct arm *a = arg;
	char *buf = malloc(CHUNK);
	int fd = urt_accept(a->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		fail(a, fd, "urt server: accept", NULL);
		free(buf);
		return 0;
	}
	urt_set_nodelay(fd, true);
	double c0 = thread_cpu();
	urt_tls *t;
	int r = urt_tls_handshake(uctx_srv, fd, NULL, &t);
	if (r < 0) {
		fail(a, r, "urt server: handshake", urt_tls_reason(NULL));
		urt_sock_close(fd);
		free(buf);
		return 0;
	}
	ssize_t n = urt_tls_write(t, "g", 1);
	size_t got = 0;
	while (n >= 0 && got < total) {
		n = urt_tls_read(t, buf, CHUNK);
		if (n == 0)
			n = -ECONNRESET;
		if (n > 0)
			got += (size_t)n;
	}
	if (n >= 0)
		n = urt_tls_write(t, "k", 1);
	if (n < 0)
		fail(a, (int)n, "urt server", urt_tls_reason(t));
	while (n > 0) /* the client's close_notify */
		n = urt_tls_read(t, buf, CHUNK);
	a->srv_cpu = thread_cpu() - c0;
	urt_tls_free(t);
	urt_sock_close(fd);
	free(buf);
	return 0;
}

static int urt_client(void *arg)
{
	struct arm *a = arg;
	char *buf = malloc(CHUNK);
	memset(buf, 'x', CHUNK);
	int fd = urt_tcp_connect("127.0.0.1", a->port);
	if (fd < 0) {
		fail(a, fd, "urt client: connect", NULL);
		free(buf);
		return 0;
	}
	urt_set_nodelay(fd, true);
	double c0 = thread_cpu();
	urt_tls *t;
	int r = urt_tls_handshake(uctx_cli, fd, "localhost", &t);
	if (r < 0) {
		fail(a, r, "urt client: handshake", urt_tls_reason(NULL));
		urt_sock_close(fd);
		free(buf);
		return 0;
	}
	urt_tls_info info;
	if (!urt_tls_get_info(t, &info) && info.cipher)
		snprintf(a->cipher, sizeof a->cipher, "%s", info.cipher);
	char c;
	ssize_t n = urt_tls_read(t, &c, 1);
	int64_t t0 = bench_now_ns();
	for (size_t sent = 0; n >= 0 && sent < total; sent += CHUNK)
		n = urt_tls_write(t, buf, total - sent < CHUNK ? total - sent : CHUNK);
	if (n >= 0)
		n = urt_tls_read(t, &c, 1);
	a->secs = (double)(bench_now_ns() - t0) / 1e9;
	if (n <= 0)
		fail(a, n ? (int)n : -ECONNRESET, "urt client", urt_tls_reason(t));
	urt_tls_shutdown(t);
	a->cli_cpu = thread_cpu() - c0;
	urt_tls_free(t);
	urt_sock_close(fd);
	free(buf);
	return 0;
}

static void *urt_server_thread(void *arg)
{
	pin(0);
	struct urt_options o = {.flags = URT_OPT_QUIET};
	int r = urt_run_opts(&o, urt_server, arg);
	if (r < 0)
		fail(arg, r, "urt_run (server)", NULL);
	return NULL;
}

static void *urt_client_thread(void *arg)
{
	pin(ncpu > 1 ? 1 : 0);
	struct urt_options o = {.flags = URT_OPT_QUIET};
	int r = urt_run_opts(&o, urt_client, arg);
	if (r < 0)
		fail(arg, r, "urt_run (client)", NULL);
	return NULL;
}

/* ---- OpenSSL alone ---- */

static SSL_CTX *sctx_srv, *sctx_cli;

static const char *ssl_why(void)
{
	static __thread char b[200];
	unsigned long e = ERR_get_error();
	ERR_error_string_n(e, b, sizeof b);
	return e ? b : "";
}

static void *ossl_server_thread(void *arg)
{
	struct arm *a = arg;
	pin(0);
	char *buf = malloc(CHUNK);
	int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		fail(a, -errno, "openssl server: accept", NULL);
		free(buf);
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	double c0 = thread_cpu();
	SSL *s = SSL_new(sctx_srv);
	SSL_set_fd(s, fd);
	int n = SSL_accept(s);
	if (n != 1) {
		fail(a, -EPROTO, "openssl server: handshake", ssl_why());
		goto out;
	}
	n = SSL_write(s, "g", 1);
	size_t got = 0;
	while (n > 0 && got < total) {
		n = SSL_read(s, buf, CHUNK);
		if (n > 0)
			got += (size_t)n;
	}
	if (n > 0)
		n = SSL_write(s, "k", 1);
	if (n <= 0)
		fail(a, -EPROTO, "openssl server", ssl_why());
	while (n > 0)
		n = SSL_read(s, buf, CHUNK);
out:
	a->srv_cpu = thread_cpu() - c0;
	SSL_free(s);
	close(fd);
	free(buf);
	return NULL;
}

static void *ossl_client_thread(void *arg)
{
	struct arm *a = arg;
	pin(ncpu > 1 ? 1 : 0);
	char *buf = malloc(CHUNK);
	memset(buf, 'x', CHUNK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)a->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		fail(a, -errno, "openssl client: connect", NULL);
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	double c0 = thread_cpu();
	SSL *s = SSL_new(sctx_cli);
	SSL_set_fd(s, fd);
	SSL_set_tlsext_host_name(s, "localhost");
	SSL_set1_host(s, "localhost");
	int n = SSL_connect(s);
	if (n != 1) {
		fail(a, -EPROTO, "openssl client: handshake", ssl_why());
		goto out;
	}
	snprintf(a->cipher, sizeof a->cipher, "%s", SSL_get_cipher_name(s));
	char c;
	n = SSL_read(s, &c, 1);
	int64_t t0 = bench_now_ns();
	for (size_t sent = 0; n > 0 && sent < total; sent += CHUNK)
		n = SSL_write(s, buf, (int)(total - sent < CHUNK ? total - sent : CHUNK));
	if (n > 0)
		n = SSL_read(s, &c, 1);
	a->secs = (double)(bench_now_ns() - t0) / 1e9;
	if (n <= 0)
		fail(a, -EPROTO, "openssl client", ssl_why());
	SSL_shutdown(s);
out:
	a->cli_cpu = thread_cpu() - c0;
	SSL_free(s);
	close(fd);
	free(buf);
	return NULL;
}

static SSL_CTX *ossl_ctx(bool server)
{
	SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!c)
		return NULL;
	SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
	SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
	SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
	if (server) {
		SSL_CTX_set_num_tickets(c, 0);
		SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
		if (SSL_CTX_use_certificate_chain_file(c, cert) != 1 ||
		    SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1) {
			SSL_CTX_free(c);
			return NULL;
		}
	} else {
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
		if (SSL_CTX_load_verify_locations(c, cert, NULL) != 1) {
			SSL_CTX_free(c);
			return NULL;
		}
	}
	return c;
}

/* ---- driver ---- */

/* One transfer: the server and client threads of one side. */
static int transfer(bool use_urt, struct arm *a)
{
	pthread_t ts, tc;
	a->err = 0;
	a->why[0] = 0;
	if (pthread_create(&ts, NULL, use_urt ? urt_server_thread : ossl_server_thread, a))
		return -1;
	if (pthread_create(&tc, NULL, use_urt ? urt_client_thread : ossl_client_thread, a)) {
		pthread_cancel(ts);
		return -1;
	}
	pthread_join(tc, NULL);
	pthread_join(ts, NULL);
	if (a->err) {
		fprintf(stderr, "bench_tls_bulk: %s: %s\n", use_urt ? "urt" : "openssl", a->why);
		return -1;
	}
	return 0;
}

static void cleanup(void)
{
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	long mib = bench_arg(argc, argv, 1, 100);
	int rounds = bench_rounds(argc, argv, 2, 7);
	total = (size_t)mib << 20;
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	atexit(cleanup);
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
		 "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
		 "-keyout %s -out %s >/dev/null 2>&1", key, cert);
	if (system(cmd) != 0) {
		fprintf(stderr, "bench_tls_bulk: `openssl req` failed (is the openssl command installed?)\n");
		return 1;
	}

	urt_tls_config sc = {.role = URT_TLS_SERVER, .cert_file = cert, .key_file = key,
			     .min_version = URT_TLS_1_3, .max_version = URT_TLS_1_3,
			     .no_resumption = true};
	urt_tls_config cc = {.role = URT_TLS_CLIENT, .ca_file = cert, .min_version = URT_TLS_1_3,
			     .max_version = URT_TLS_1_3, .no_resumption = true};
	int r;
	bool have_urt = true;
	if ((r = urt_tls_ctx_new(&sc, &uctx_srv)) < 0 || (r = urt_tls_ctx_new(&cc, &uctx_cli)) < 0) {
		fprintf(stderr, "bench_tls_bulk: urt_tls_ctx_new: %s%s%s\n", strerror(-r),
			*urt_tls_reason(NULL) ? ": " : "", urt_tls_reason(NULL));
		if (r != -ENOTSUP)
			return 1;
		/* urt without TLS: the baseline alone (a check of the harness) */
		fprintf(stderr, "bench_tls_bulk: urt has no TLS; running the openssl side only\n");
		have_urt = false;
	}
	if (!(sctx_srv = ossl_ctx(true)) || !(sctx_cli = ossl_ctx(false))) {
		fprintf(stderr, "bench_tls_bulk: SSL_CTX: %s\n", ssl_why());
		return 1;
	}
	struct arm ua = {0}, oa = {0};
	if ((ua.lfd = listen_any(&ua.port)) < 0 || (oa.lfd = listen_any(&oa.port)) < 0) {
		perror("listen");
		return 1;
	}

	double ug[BENCH_MAX_ROUNDS], og[BENCH_MAX_ROUNDS], ratio[BENCH_MAX_ROUNDS];
	double us[BENCH_MAX_ROUNDS], uc[BENCH_MAX_ROUNDS], os[BENCH_MAX_ROUNDS], oc[BENCH_MAX_ROUNDS];
	double gib = (double)total / (double)(1u << 30);
	/* a warm-up transfer of each (page faults, CPU frequency), not counted */
	if ((have_urt && transfer(true, &ua)) || transfer(false, &oa))
		return 1;
	printf("TLS bulk: %ld MiB per transfer over one connection, 256 KiB writes/reads, "
	       "loopback, %d rounds (urt, openssl alternating)\n", mib, rounds);
	printf("cipher: urt %s, openssl %s; server thread on CPU 0, client on CPU %d\n", ua.cipher,
	       oa.cipher, ncpu > 1 ? 1 : 0);
	printf("round   urt GB/s  openssl GB/s  ratio   urt cpu s/GiB srv+cli  openssl cpu s/GiB srv+cli\n");
	for (int i = 0; i < rounds; i++) {
		if ((have_urt && transfer(true, &ua)) || transfer(false, &oa))
			return 1;
		ug[i] = have_urt ? (double)total / ua.secs / 1e9 : 0;
		og[i] = (double)total / oa.secs / 1e9;
		ratio[i] = ug[i] / og[i];
		us[i] = ua.srv_cpu / gib;
		uc[i] = ua.cli_cpu / gib;
		os[i] = oa.srv_cpu / gib;
		oc[i] = oa.cli_cpu / gib;
		printf("%5d   %8.3f  %12.3f  %5.3f   %6.3f + %6.3f          %6.3f + %6.3f\n", i + 1, ug[i],
		       og[i], ratio[i], us[i], uc[i], os[i], oc[i]);
		fflush(stdout);
	}
	double rmin = ratio[0], rmax = ratio[0];
	for (int i = 1; i < rounds; i++) {
		rmin = ratio[i] < rmin ? ratio[i] : rmin;
		rmax = ratio[i] > rmax ? ratio[i] : rmax;
	}
	printf("median: urt %.3f GB/s (min %.3f), openssl %.3f GB/s (min %.3f); "
	       "ratio urt/openssl median %.3f (min %.3f, max %.3f)\n",
	       bench_median(ug, rounds), bench_min(ug, rounds), bench_median(og, rounds),
	       bench_min(og, rounds), bench_median(ratio, rounds), rmin, rmax);
	printf("median CPU s/GiB: urt server %.3f client %.3f; openssl server %.3f client %.3f\n",
	       bench_median(us, rounds), bench_median(uc, rounds), bench_median(os, rounds),
	       bench_median(oc, rounds));
	urt_tls_ctx_free(uctx_srv);
	urt_tls_ctx_free(uctx_cli);
	SSL_CTX_free(sctx_srv);
	SSL_CTX_free(sctx_cli);
	close(ua.lfd);
	close(oa.lfd);
	return 0;
}
