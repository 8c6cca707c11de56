/* SPDX-License-Identifier: MIT */
/*
 * TLS (include/urt.h, "TLS"), urt client tasks against urt server tasks
 * over TCP on 127.0.0.1, with a throw-away PKI made per test by
 * tests/tls_certs.sh (a CA, a server certificate for localhost/127.0.0.1,
 * an expired one, a client one, and a CA that signed none of them):
 *  - 1 MiB both ways through TLS streams, one task reading while another
 *    writes the same connection;
 *  - verification: the wrong CA, an expired certificate, a hostname
 *    mismatch (each a distinct errno and OpenSSL's reason), an IP address
 *    as the name, mutual TLS with and without a client certificate;
 *  - protocol: versions that do not overlap, ALPN, session resumption;
 *  - hostile peers: garbage instead of a ClientHello, a peer that stops
 *    mid-handshake (deadline: -ETIMEDOUT, everything freed), a stream
 *    truncated without close_notify (-ECONNABORTED) against a clean one (0);
 *  - cancellation and deadlines of a blocked read (the connection still
 *    works after), destroying a stream another task is reading;
 *  - STARTTLS: plaintext lines, then TLS on the same stream, with the
 *    ClientHello already in the stream's read buffer;
 *  - contexts: missing, mismatched and bad files fail at urt_tls_ctx_new;
 *  - 500 concurrent TLS connections.
 * Timeouts are hang guards only.
 */
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"

static char dir[] = "/tmp/urt-tls-XXXXXX";

static void make_pki(void)
{
	cr_assert_not_null(mkdtemp(dir));
	char cmd[512];
	snprintf(cmd, sizeof cmd, "sh %s/tls_certs.sh %s", URT_TESTS_DIR, dir);
	cr_assert_eq(system(cmd), 0, "tls_certs.sh failed");
}

static void drop_pki(void)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

TestSuite(tls, .init = make_pki, .fini = drop_pki, .timeout = 60);

static const char *pki(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static urt_tls_ctx *server_ctx(const char *cert, const char *key)
{
	urt_tls_config c = {.role = URT_TLS_SERVER, .cert_file = pki(cert), .key_file = pki(key)};
	urt_tls_ctx *ctx;
	int r = urt_tls_ctx_new(&c, &ctx);
	cr_assert_eq(r, 0, "server ctx: %s", urt_tls_reason(NULL));
	return ctx;
}

static urt_tls_ctx *client_ctx(const char *ca)
{
	urt_tls_config c = {.role = URT_TLS_CLIENT, .ca_file = pki(ca)};
	urt_tls_ctx *ctx;
	int r = urt_tls_ctx_new(&c, &ctx);
	cr_assert_eq(r, 0, "client ctx: %s", urt_tls_reason(NULL));
	return ctx;
}

/* A connected TCP pair on 127.0.0.1: cfd (client end), sfd (server end). */
struct pair {
	int cfd, sfd;
};

static struct pair tcp_pair(void)
{
	int lfd = urt_tcp_listen("127.0.0.1", 0, 16, 0);
	cr_assert_geq(lfd, 0);
	struct pair p;
	p.cfd = urt_tcp_connect("127.0.0.1", urt_sock_port(lfd));
	cr_assert_geq(p.cfd, 0);
	p.sfd = urt_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(p.sfd, 0);
	urt_sock_close(lfd);
	return p;
}

static void pair_close(struct pair *p)
{
	if (p->cfd >= 0)
		urt_sock_close(p->cfd);
	if (p->sfd >= 0)
		urt_sock_close(p->sfd);
	p->cfd = p->sfd = -1;
}

/* ---------------------------------------------------------------------- */
/* A server task: handshake on fd with ctx, then run what the test asks.  */

enum serve_mode { ECHO, HANDSHAKE_ONLY, SEND_THEN_CUT, SEND_THEN_CLOSE_NOTIFY };

struct server {
	urt_tls_ctx *ctx;
	int fd;
	enum serve_mode mode;
	int hs;               /* the handshake's result */
	char reason[192];     /* urt_tls_reason after a failed handshake */
	bool peer_verified;
	const char *alpn;     /* the protocol agreed (static storage) */
	size_t echoed;
};

static int serve(void *arg)
{
	struct server *s = arg;
	urt_stream st;
	OK(urt_stream_init(&st, s->fd, 0, 0));
	s->hs = urt_stream_start_tls(&st, s->ctx, NULL);
	if (s->hs < 0) {
		snprintf(s->reason, sizeof s->reason, "%s", urt_tls_reason(urt_stream_tls(&st)));
		/* a failed layer answers with the handshake's errno: no plaintext */
		char b[8];
		cr_assert_eq(urt_stream_read(&st, b, sizeof b), s->hs);
		urt_stream_destroy(&st);
		return 0;
	}
	urt_tls_info in;
	OK(urt_tls_get_info(urt_stream_tls(&st), &in));
	s->peer_verified = in.peer_verified;
	s->alpn = in.alpn && !strcmp(in.alpn, "http/1.1") ? "http/1.1" : in.alpn ? "other" : NULL;
	static const char msg[] = "server says hi";
	switch (s->mode) {
	case ECHO: {
		char *buf = malloc(65536);
		ssize_t n;
		while ((n = urt_stream_read(&st, buf, 65536)) > 0) {
			cr_assert_eq(urt_stream_write(&st, buf, (size_t)n), n);
			OK(urt_stream_flush(&st));
			s->echoed += (size_t)n;
		}
		free(buf);
		if (n == 0)
			OK(urt_stream_shutdown(&st));
		break;
	}
	case HANDSHAKE_ONLY:
		OK(urt_stream_shutdown(&st));
		break;
	case SEND_THEN_CUT: /* the peer sees the bytes, then TCP's FIN alone */
		cr_assert_eq(urt_stream_write_all(&st, msg, sizeof msg), (ssize_t)sizeof msg);
		OK(urt_shutdown(s->fd, SHUT_WR));
		break;
	case SEND_THEN_CLOSE_NOTIFY:
		cr_assert_eq(urt_stream_write_all(&st, msg, sizeof msg), (ssize_t)sizeof msg);
		OK(urt_stream_shutdown(&st));
		break;
	}
	urt_stream_destroy(&st);
	return 0;
}

static urt_task *serve_on(struct server *s, urt_tls_ctx *ctx, int fd, enum serve_mode mode)
{
	memset(s, 0, sizeof *s);
	s->ctx = ctx;
	s->fd = fd;
	s->mode = mode;
	return spawn_ok(serve, s);
}

/* ---------------------------------------------------------------------- */
/* 1 MiB both ways, full duplex                                           */

#define MIB (1024 * 1024)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 10));
}

static int write_mib(void *arg)
{
	urt_stream *st = arg;
	unsigned char *b = malloc(MIB);
	for (size_t i = 0; i < MIB; i++)
		b[i] = pattern(i);
	/* in uneven pieces, some through the buffer, some past it */
	size_t off = 0, piece = 1;
	while (off < MIB) {
		size_t n = piece < MIB - off ? piece : MIB - off;
		cr_assert_eq(urt_stream_write(st, b + off, n), (ssize_t)n);
		off += n;
		piece = piece * 3 % 200003 + 1;
	}
	OK(urt_stream_flush(st));
	free(b);
	return 0;
}

static uint64_t faults_seen; /* injected faults, for echo_under_fault_injection */

static int duplex_main(void *arg)
{
	(void)arg;
	urt_tls_ctx *sc = server_ctx("server.pem", "server.key");
	urt_tls_ctx *cc = client_ctx("ca.pem");
	struct pair p = tcp_pair();
	struct server s;
	urt_task *srv = serve_on(&s, sc, p.sfd, ECHO);

	urt_stream st;
	OK(urt_stream_init(&st, p.cfd, 0, 0));
	OK(urt_stream_start_tls(&st, cc, "localhost"));
	urt_tls_info in;
	OK(urt_tls_get_info(urt_stream_tls(&st), &in));
	cr_assert_eq(in.version, URT_TLS_1_3);
	cr_assert(in.peer_verified);
	cr_assert_not(in.ktls);
	cr_assert_not_null(in.cipher);

	urt_task *w = spawn_ok(write_mib, &st); /* writes while we read */
	unsigned char *got = malloc(MIB);
	cr_assert_eq(urt_stream_read_exact(&st, got, MIB), (ssize_t)MIB);
	for (size_t i = 0; i < MIB; i++)
		if (got[i] != pattern(i))
			cr_assert_fail("byte %zu differs", i);
	OK(urt_join(w, NULL));
	OK(urt_stream_shutdown(&st));
	char b[4];
	cr_assert_eq(urt_stream_read(&st, b, sizeof b), 0); /* the server's close_notify */
	OK(urt_join(srv, NULL));
	cr_assert_eq(s.hs, 0);
	cr_assert_eq(s.echoed, (size_t)MIB);
	free(got);
	urt_stream_destroy(&st);
	pair_close(&p);
	urt_tls_ctx_free(sc);
	urt_tls_ctx_free(cc);
	struct urt_stats stats;
	OK(urt_stats_get(&stats));
	faults_seen += stats.faults;
	return 0;
}

Test(tls, echo_1mib_both_ways_full_duplex)
{
	RUN(duplex_main, NULL);
}

/* The same under seeded fault injection (a -Dfault_injection build; core/
   fault.h): short receives and sends (records arrive in pieces), delayed
   completions, cancels that lose the race to a completion, early wake-ups.
   Every byte must come through in order, for every seed. */
static int nothing(void *arg)
{
	(void)arg;
	return 0;
}

static bool fault_build(void)
{
	setenv("URT_FAULT", "seed=1,rate=0", 1);
	int r = urt_run(nothing, NULL); /* -EOPNOTSUPP: built without it */
	unsetenv("URT_FAULT");
	return r == 0;
}

Test(tls, echo_under_fault_injection)
{
	if (!fault_build())
		cr_skip_test("built without -Dfault_injection");
	const char *seeds = getenv("FAULT_SEEDS"); /* long mode: FAULT_SEEDS=200 */
	int n = seeds ? atoi(seeds) : 6;
	for (int seed = 1; seed <= n; seed++) {
		char spec[128];
		snprintf(spec, sizeof spec, "seed=%d,rate=0.1,kinds=short+delay+race+intr", seed);
		setenv("URT_FAULT", spec, 1);
		int r = urt_run(duplex_main, NULL);
		cr_assert_eq(r, 0, "replay: URT_FAULT=%s %s --filter 'tls/echo_under*'", spec,
			     "build/tests/test_tls");
	}
	unsetenv("URT_FAULT");
	cr_assert_gt(faults_seen, (uint64_t)n, "too few faults injected: the test tests nothing");
}

/* ---------------------------------------------------------------------- */
/* Verification failures                                                  */

struct verify_case {
	const char *server_cert, *server_key, *ca, *name;
	int want;               /* the client's errno */
	const char *reason;     /* in the client's urt_tls_reason */
	const char *server_reason; /* in the server's, or NULL */
};

static int verify_main(void *arg)
{
	struct verify_case *vc = arg;
	urt_tls_ctx *sc = server_ctx(vc->server_cert, vc->server_key);
	urt_tls_ctx *cc = client_ctx(vc->ca);
	struct pair p = tcp_pair();
	struct server s;
	urt_task *srv = serve_on(&s, sc, p.sfd, HANDSHAKE_ONLY);
	urt_tls *t = (urt_tls *)1;
	int r = urt_tls_handshake(cc, p.cfd, vc->name, &t);
	cr_assert_eq(r, vc->want, "reason: %s", urt_tls_reason(NULL));
	if (r == 0) {
		char b[4];
		cr_assert_eq(urt_tls_read(t, b, sizeof b), 0); /* the server's close_notify */
		urt_tls_free(t);
	} else {
		cr_assert_null(t);
	}
	if (vc->reason)
		cr_assert(strstr(urt_tls_reason(NULL), vc->reason), "reason \"%s\", want \"%s\"",
			  urt_tls_reason(NULL), vc->reason);
	OK(urt_join(srv, NULL));
	if (vc->want) {
		/* the client's alert reached the server: its handshake failed too */
		cr_assert_lt(s.hs, 0);
		if (vc->server_reason)
			cr_assert(strstr(s.reason, vc->server_reason), "server reason \"%s\", want \"%s\"",
				  s.reason, vc->server_reason);
	} else {
		cr_assert_eq(s.hs, 0);
	}
	pair_close(&p);
	urt_tls_ctx_free(sc);
	urt_tls_ctx_free(cc);
	return 0;
}

Test(tls, wrong_ca_is_rejected)
{
	struct verify_case vc = {"server.pem", "server.key", "other.pem", "localhost", -EKEYREJECTED,
				 "unable to get local issuer certificate", "unknown ca"};
	RUN(verify_main, &vc);
}

Test(tls, expired_certificate)
{
	struct verify_case vc = {"expired.pem", "expired.key", "ca.pem", "localhost", -EKEYEXPIRED,
				 "certificate has expired", "certificate expired"};
	RUN(verify_main, &vc);
}

Test(tls, hostname_mismatch)
{
	struct verify_case vc = {"server.pem", "server.key", "ca.pem", "example.com", -EKEYREJECTED,
				 "hostname mismatch", NULL};
	RUN(verify_main, &vc);
}

Test(tls, ip_address_as_the_name_verifies)
{
	struct verify_case vc = {"server.pem", "server.key", "ca.pem", "127.0.0.1", 0, NULL, NULL};
	RUN(verify_main, &vc);
}

Test(tls, ip_address_mismatch)
{
	struct verify_case vc = {"server.pem", "server.key", "ca.pem", "10.1.2.3", -EKEYREJECTED,
				 "IP address mismatch", NULL};
	RUN(verify_main, &vc);
}

/* Mutual TLS: the server requires a client certificate. */
static int mutual_main(void *arg)
{
	bool with_cert = arg != NULL;
	urt_tls_config scfg = {.role = URT_TLS_SERVER, .cert_file = pki("chain.pem"),
			       .key_file = pki("server.key"), .ca_file = pki("ca.pem"),
			       .verify_client = true};
	urt_tls_ctx *sc;
	OK(urt_tls_ctx_new(&scfg, &sc));
	urt_tls_config ccfg = {.role = URT_TLS_CLIENT, .ca_file = pki("ca.pem")};
	if (with_cert) {
		ccfg.cert_file = pki("client.pem");
		ccfg.key_file = pki("client.key");
	}
	urt_tls_ctx *cc;
	OK(urt_tls_ctx_new(&ccfg, &cc));
	struct pair p = tcp_pair();
	struct server s;
	urt_task *srv = serve_on(&s, sc, p.sfd, HANDSHAKE_ONLY);
	urt_tls *t = NULL;
	int r = urt_tls_handshake(cc, p.cfd, "localhost", &t);
	if (r == 0) {
		/* TLS 1.3: the client's handshake ends before the server has
		   checked its certificate; a read tells */
		char b[4];
		r = (int)urt_tls_read(t, b, sizeof b);
		if (with_cert)
			cr_assert_eq(r, 0, "read: %s", urt_tls_reason(t)); /* close_notify */
		else
			cr_assert_lt(r, 0);
		urt_tls_free(t);
	}
	OK(urt_join(srv, NULL));
	if (with_cert) {
		cr_assert_eq(s.hs, 0, "server: %s", s.reason);
		cr_assert(s.peer_verified);
	} else {
		cr_assert_eq(s.hs, -EKEYREJECTED, "server: %s", s.reason);
		cr_assert(strstr(s.reason, "certificate"), "%s", s.reason);
	}
	pair_close(&p);
	urt_tls_ctx_free(sc);
	urt_tls_ctx_free(cc);
	return 0;
}

Test(tls, mutual_tls_with_client_certificate)
{
	RUN(mutual_main, (void *)1);
}

Test(tls, mutual_tls_without_client_certificate_is_rejected)
{
	RUN(mutual_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Protocol: versions, ALPN, resumption                                   */

static int versions_main(void *arg)
{
	(void)arg;
	urt_tls_config scfg = {.role = URT_TLS_SERVER, .cert_file = pki("server.pem"),
			       .key_file = pki("server.key"), .max_version = URT_TLS_1_2};
	urt_tls_ctx *sc;
	OK(urt_tls_ctx_new(&scfg, &sc));
	urt_tls_config ccfg = {.role = URT_TLS_CLIENT, .ca_file = pki("ca.pem"),
			       .min_version = URT_TLS_1_3};
	urt_tls_ctx *cc;
	OK(urt_tls_ctx_new(&ccfg, &cc));
	struct pair p = tcp_pair();
	struct server s;
	urt_task *srv = serve_on(&s, sc, p.sfd, HANDSHAKE_ONLY);
	urt_tls *t;
	cr_assert_eq(urt_tls_handshake(cc, p.cfd, "localhost", &t), -EPROTO);
	cr_assert(strstr(urt_tls_reason(NULL), "protocol"), "%s", urt_tls_reason(NULL));
	OK(urt_join(srv, NULL));
	cr_assert_eq(s.hs, -EPROTO);
	cr_assert(strstr(s.reason, "protocol"), "%s", s.reason);
	pair_close(&p);
	urt_tls_ctx_free(cc);

	/* TLS 1.2 when both allow it */
	ccfg.min_version = 0;
	OK(urt_tls_ctx_new(&ccfg, &cc));
	p = tcp_pair();
	srv = serve_on(&s, sc, p.sfd, HANDSHAKE_ONLY);
	OK(urt_tls_handshake(cc, p.cfd, "localhost", &t));
	urt_tls_info in;
	OK(urt_tls_get_info(t, &in));
	cr_assert_eq(in.version, URT_TLS_1_2);
	char b[4];
	cr_assert_eq(urt_tls_read(t, b, sizeof b), 0);
	urt_tls_free(t);
	OK(urt_join(srv, NULL));
	pair_close(&p);
	urt_tls_ctx_free(cc);
	urt_tls_ctx_free(sc);
	return 0;
}

Test(tls, versions_that_do_not_overlap_fail_and_tls12_works)
{
	RUN(versions_main, NULL);
}

static int alpn_main(void *arg)
{
	(void)arg;
	urt_tls_config scfg = {.role = URT_TLS_SERVER, .cert_file = pki("server.pem"),
			       .key_file = pki("server.key"), .alpn = "h2,http/1.1"};
	urt_tls_ctx *sc;
	OK(urt_tls_ctx_new(&scfg, &sc));
	urt_tls_config ccfg = {.role = URT_TLS_CLIENT, .ca_file = pki("ca.pem"),
			       .alpn = "spdy/1,http/1.1"};
	urt_tls_ctx *cc;
	OK(urt_tls_ctx_new(&ccfg, &cc));
	struct pair p = tcp_pair();
	struct server s;
	urt_task *srv = serve_on(&s, sc, p.sfd, HANDSHAKE_ONLY);
	urt_tls *t;
	OK(urt_tls_handshake(cc, p.cfd, "localhost", &t));
	urt_tls_info in;
	OK(urt_tls_get_info(t, &in));
	cr_assert_str_eq(in.alpn, "http/1.1");
	urt_tls_free(t);
	OK(urt_join(srv, NULL));
	cr_assert_str_eq(s.alpn, "http/1.1");
	pair_close(&p);
	urt_tls_ctx_free(cc);
	urt_tls_ctx_free(sc);
	return 0;
}

Test(tls, alpn_agrees_on_a_protocol)
{
	RUN(alpn_main, NULL);
}

static int resume_main(void *arg)
{
	(void)arg;
	urt_tls_ctx *sc = server_ctx("server.pem", "server.key");
	urt_tls_ctx *cc = client_ctx("ca.pem");
	for (int i = 0; i < 3; i++) {
		struct pair p = tcp_pair();
		struct server s;
		urt_task *srv = serve_on(&s, sc, p.sfd, HANDSHAKE_ONLY);
		urt_tls *t;
		OK(urt_tls_handshake(cc, p.cfd, "localhost", &t));
		urt_tls_info in;
		OK(urt_tls_get_info(t, &in));
		cr_assert_eq(in.resumed, i > 0, "connection %d: resumed %d", i, in.resumed);
		char b[4];
		cr_assert_eq(urt_tls_read(t, b, sizeof b), 0); /* takes the tickets too */
		urt_tls_free(t);
		OK(urt_join(srv, NULL));
		pair_close(&p);
	}
	urt_tls_ctx_free(cc);
	urt_tls_ctx_free(sc);
	return 0;
}

Test(tls, session_resumption)
{
	RUN(resume_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Hostile peers                                                          */

static int garbage_main(void *arg)
{
	(void)arg;
	urt_tls_ctx *sc = server_ctx("server.pem", "server.key");
	struct pair p = tcp_pair();
	struct server s;
	urt_task *srv = serve_on(&s, sc, p.sfd, HANDSHAKE_ONLY);
	static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(urt_send_all(p.cfd, junk, sizeof junk - 1, 0, NULL), (ssize_t)sizeof junk - 1);
	OK(urt_join(srv, NULL));
	cr_assert_eq(s.hs, -EPROTO);
	cr_assert(s.reason[0]);
	pair_close(&p);

	/* random bytes that look like a record header of a huge length */
	p = tcp_pair();
	srv = serve_on(&s, sc, p.sfd, HANDSHAKE_ONLY);
	unsigned char rnd[600];
	for (size_t i = 0; i < sizeof rnd; i++)
		rnd[i] = (unsigned char)(i * 131 + 17);
	rnd[0] = 0x16, rnd[1] = 3, rnd[2] = 1, rnd[3] = 0xff, rnd[4] = 0xff;
	cr_assert_eq(urt_send_all(p.cfd, rnd, sizeof rnd, 0, NULL), (ssize_t)sizeof rnd);
	OK(urt_shutdown(p.cfd, SHUT_WR));
	OK(urt_join(srv, NULL));
	cr_assert_lt(s.hs, 0);
	pair_close(&p);
	urt_tls_ctx_free(sc);
	return 0;
}

Test(tls, garbage_instead_of_client_hello)
{
	RUN(garbage_main, NULL);
}

/* A client that connects and says nothing: the server's handshake under a
   deadline scope ends with -ETIMEDOUT, and everything is freed (the
   per-test leak check and LSan see to that). */
static int silent_main(void *arg)
{
	(void)arg;
	urt_tls_ctx *sc = server_ctx("server.pem", "server.key");
	struct pair p = tcp_pair();
	OK(urt_deadline_push(MS(50)));
	urt_tls *t = (urt_tls *)1;
	cr_assert_eq(urt_tls_handshake(sc, p.sfd, NULL, &t), -ETIMEDOUT);
	urt_deadline_pop();
	cr_assert_null(t);
	/* the stream form: broken afterwards, no plaintext */
	urt_stream st;
	OK(urt_stream_init(&st, p.sfd, 0, 0));
	OK(urt_deadline_push(MS(20)));
	cr_assert_eq(urt_stream_start_tls(&st, sc, NULL), -ETIMEDOUT);
	urt_deadline_pop();
	char b[4];
	cr_assert_eq(urt_stream_read(&st, b, sizeof b), -ETIMEDOUT);
	cr_assert_eq(urt_stream_write_all(&st, "x", 1), -ETIMEDOUT);
	urt_stream_destroy(&st);
	pair_close(&p);
	urt_tls_ctx_free(sc);
	return 0;
}

Test(tls, silent_peer_handshake_deadline)
{
	RUN(silent_main, NULL);
}

/* A client that sends half a ClientHello and stops. */
static int half_hello_main(void *arg)
{
	(void)arg;
	urt_tls_ctx *sc = server_ctx("server.pem", "server.key");
	urt_tls_ctx *cc = client_ctx("ca.pem");
	/* capture a real ClientHello: a client handshake against a socket
	   that never answers, under a short deadline */
	struct pair cap = tcp_pair();
	OK(urt_deadline_push(MS(20)));
	urt_tls *t;
	cr_assert_eq(urt_tls_handshake(cc, cap.cfd, "localhost", &t), -ETIMEDOUT);
	urt_deadline_pop();
	unsigned char hello[4096];
	ssize_t n = urt_recv(cap.sfd, hello, sizeof hello, 0);
	cr_assert_gt(n, 10);
	pair_close(&cap);

	struct pair p = tcp_pair();
	cr_assert_eq(urt_send_all(p.cfd, hello, (size_t)n / 2, 0, NULL), n / 2);
	OK(urt_deadline_push(MS(50)));
	cr_assert_eq(urt_tls_handshake(sc, p.sfd, NULL, &t), -ETIMEDOUT);
	urt_deadline_pop();
	/* and one that sends half and closes: truncated */
	pair_close(&p);
	p = tcp_pair();
	cr_assert_eq(urt_send_all(p.cfd, hello, (size_t)n / 2, 0, NULL), n / 2);
	OK(urt_shutdown(p.cfd, SHUT_WR));
	cr_assert_eq(urt_tls_handshake(sc, p.sfd, NULL, &t), -ECONNABORTED);
	pair_close(&p);
	urt_tls_ctx_free(sc);
	urt_tls_ctx_free(cc);
	return 0;
}

Test(tls, peer_stops_mid_handshake)
{
	RUN(half_hello_main, NULL);
}

static int truncation_main(void *arg)
{
	bool clean = arg != NULL;
	urt_tls_ctx *sc = server_ctx("server.pem", "server.key");
	urt_tls_ctx *cc = client_ctx("ca.pem");
	struct pair p = tcp_pair();
	struct server s;
	urt_task *srv = serve_on(&s, sc, p.sfd, clean ? SEND_THEN_CLOSE_NOTIFY : SEND_THEN_CUT);
	urt_stream st;
	OK(urt_stream_init(&st, p.cfd, 0, 0));
	OK(urt_stream_start_tls(&st, cc, "localhost"));
	char b[64];
	cr_assert_eq(urt_stream_read_exact(&st, b, 15), 15);
	cr_assert_str_eq(b, "server says hi");
	ssize_t r = urt_stream_read(&st, b, sizeof b);
	if (clean) {
		cr_assert_eq(r, 0);
	} else {
		cr_assert_eq(r, -ECONNABORTED);
		cr_assert(strstr(urt_tls_reason(urt_stream_tls(&st)), "close_notify"), "%s",
			  urt_tls_reason(urt_stream_tls(&st)));
	}
	OK(urt_join(srv, NULL));
	urt_stream_destroy(&st);
	pair_close(&p);
	urt_tls_ctx_free(sc);
	urt_tls_ctx_free(cc);
	return 0;
}

Test(tls, truncated_stream_is_not_a_clean_eof)
{
	RUN(truncation_main, NULL);
}

Test(tls, close_notify_is_a_clean_eof)
{
	RUN(truncation_main, (void *)1);
}

/* ---------------------------------------------------------------------- */
/* Cancellation, deadlines, destroy                                       */

struct reader {
	urt_stream *st;
	ssize_t r;
	char buf[64];
};

static int read_some(void *arg)
{
	struct reader *rd = arg;
	rd->r = urt_stream_read(rd->st, rd->buf, sizeof rd->buf);
	return 0;
}

/* Two connected TLS streams: c (client) and s (server). */
struct tls_pair {
	struct pair p;
	urt_tls_ctx *sc, *cc;
	urt_stream c, s;
};

static int srv_start(void *arg)
{
	struct tls_pair *tp = arg;
	return urt_stream_start_tls(&tp->s, tp->sc, NULL);
}

static void tls_pair_open(struct tls_pair *tp)
{
	tp->sc = server_ctx("server.pem", "server.key");
	tp->cc = client_ctx("ca.pem");
	tp->p = tcp_pair();
	OK(urt_stream_init(&tp->c, tp->p.cfd, 0, 0));
	OK(urt_stream_init(&tp->s, tp->p.sfd, 0, 0));
	urt_task *t = spawn_ok(srv_start, tp);
	OK(urt_stream_start_tls(&tp->c, tp->cc, "localhost"));
	int r;
	OK(urt_join(t, &r));
	cr_assert_eq(r, 0);
}

static void tls_pair_close(struct tls_pair *tp)
{
	urt_stream_destroy(&tp->c);
	urt_stream_destroy(&tp->s);
	pair_close(&tp->p);
	urt_tls_ctx_free(tp->sc);
	urt_tls_ctx_free(tp->cc);
}

static int cancel_main(void *arg)
{
	(void)arg;
	struct tls_pair tp;
	tls_pair_open(&tp);
	/* a read cancelled while it waits for a record */
	struct reader rd = {.st = &tp.c};
	urt_task *t = spawn_ok(read_some, &rd);
	OK(urt_sleep_ms(5));
	urt_cancel(t);
	OK(urt_join(t, NULL));
	cr_assert_eq(rd.r, -ECANCELED);
	/* a read whose deadline passes */
	OK(urt_deadline_push(MS(10)));
	char b[64];
	cr_assert_eq(urt_stream_read(&tp.c, b, sizeof b), -ETIMEDOUT);
	urt_deadline_pop();
	/* the connection still works both ways */
	cr_assert_eq(urt_stream_write_all(&tp.s, "ping\n", 5), 5);
	cr_assert_eq(urt_stream_readline(&tp.c, b, sizeof b), 5);
	cr_assert_eq(memcmp(b, "ping\n", 5), 0);
	cr_assert_eq(urt_stream_write_all(&tp.c, "pong\n", 5), 5);
	cr_assert_eq(urt_stream_readline(&tp.s, b, sizeof b), 5);
	cr_assert_eq(memcmp(b, "pong\n", 5), 0);
	tls_pair_close(&tp);
	return 0;
}

Test(tls, cancelled_or_timed_out_read_leaves_connection_usable)
{
	RUN(cancel_main, NULL);
}

/* A write cancelled while the peer is not reading: what OpenSSL already
   made into records stays queued and goes out first with the next write,
   so the peer decrypts a prefix of the first write and then the second,
   with no broken record in between. */
struct big_writer {
	urt_tls *t;
	unsigned char *buf;
	size_t n;
	ssize_t r;
};

static int write_big(void *arg)
{
	struct big_writer *w = arg;
	w->r = urt_tls_write(w->t, w->buf, w->n);
	return 0;
}

struct drain {
	urt_stream *st;
	unsigned char *in;
	size_t cap, got;
	ssize_t r;
};

static int drain_all(void *arg)
{
	struct drain *d = arg;
	while ((d->r = urt_stream_read(d->st, d->in + d->got, d->cap - d->got)) > 0)
		d->got += (size_t)d->r;
	return 0;
}

static int cancel_write_main(void *arg)
{
	(void)arg;
	struct tls_pair tp;
	tls_pair_open(&tp);
	struct big_writer w = {.t = urt_stream_tls(&tp.c), .n = 8 * MIB};
	w.buf = malloc(w.n);
	for (size_t i = 0; i < w.n; i++)
		w.buf[i] = pattern(i);
	urt_task *t = spawn_ok(write_big, &w);
	/* wait until the socket buffers are full and the writer waits */
	int queued = 0, last = -1;
	while (queued != last) {
		last = queued;
		OK(urt_sleep_ms(20));
		cr_assert_eq(ioctl(tp.p.sfd, FIONREAD, &queued), 0);
	}
	urt_cancel(t);
	OK(urt_join(t, NULL));
	cr_assert_eq(w.r, -ECANCELED);
	struct drain d = {.st = &tp.s, .cap = w.n + 4};
	d.in = malloc(d.cap);
	urt_task *rd = spawn_ok(drain_all, &d); /* the peer reads again */
	cr_assert_eq(urt_tls_write(w.t, "END!", 4), 4);
	OK(urt_stream_shutdown(&tp.c));
	OK(urt_join(rd, NULL));
	cr_assert_eq(d.r, 0, "%s", urt_tls_reason(urt_stream_tls(&tp.s)));
	size_t got = d.got;
	unsigned char *in = d.in;
	cr_assert_geq(got, 4);
	cr_assert_lt(got, w.n + 4, "the whole write went out: nothing was cancelled");
	cr_assert_eq(memcmp(in + got - 4, "END!", 4), 0);
	for (size_t i = 0; i < got - 4; i++)
		if (in[i] != pattern(i))
			cr_assert_fail("byte %zu of the cancelled write differs", i);
	free(in);
	free(w.buf);
	tls_pair_close(&tp);
	return 0;
}

Test(tls, cancelled_write_never_cuts_a_record)
{
	RUN(cancel_write_main, NULL);
}

static int destroy_reader_main(void *arg)
{
	(void)arg;
	struct tls_pair tp;
	tls_pair_open(&tp);
	struct reader rd = {.st = &tp.c};
	urt_task *t = spawn_ok(read_some, &rd);
	OK(urt_sleep_ms(5));
	urt_stream_destroy(&tp.c); /* cancels the reader's recv and waits */
	OK(urt_join(t, NULL));
	cr_assert_eq(rd.r, -ECANCELED);
	tls_pair_close(&tp);
	return 0;
}

Test(tls, destroy_while_another_task_reads)
{
	RUN(destroy_reader_main, NULL);
}

/* The peer is gone: writes fail with the socket's errno, and keep failing. */
static int peer_gone_main(void *arg)
{
	(void)arg;
	struct tls_pair tp;
	tls_pair_open(&tp);
	urt_stream_destroy(&tp.s);
	urt_sock_close(tp.p.sfd);
	tp.p.sfd = -1;
	static char big[256 * 1024];
	ssize_t r = 0;
	for (int i = 0; i < 50 && r >= 0; i++)
		r = urt_stream_write_all(&tp.c, big, sizeof big);
	cr_assert(r == -EPIPE || r == -ECONNRESET, "r = %zd", r);
	cr_assert_lt(urt_stream_write_all(&tp.c, "x", 1), 0);
	tls_pair_close(&tp);
	return 0;
}

Test(tls, write_to_a_closed_peer_fails)
{
	RUN(peer_gone_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* STARTTLS                                                               */

static int starttls_server(void *arg)
{
	struct tls_pair *tp = arg;
	char line[64];
	cr_assert_eq(urt_stream_readline(&tp->s, line, sizeof line), 5);
	cr_assert_eq(memcmp(line, "EHLO\n", 5), 0);
	cr_assert_eq(urt_stream_write_all(&tp->s, "250\n", 4), 4);
	/* wait until STARTTLS and the ClientHello behind it have both
	   arrived, so the line read below also takes handshake bytes */
	int n = 0;
	while (ioctl(tp->p.sfd, FIONREAD, &n) == 0 && n < 100)
		OK(urt_sleep_ms(1));
	cr_assert_eq(urt_stream_readline(&tp->s, line, sizeof line), 9);
	cr_assert_eq(memcmp(line, "STARTTLS\n", 9), 0);
	int r = urt_stream_start_tls(&tp->s, tp->sc, NULL);
	cr_assert_eq(r, 0, "%s", urt_tls_reason(urt_stream_tls(&tp->s)));
	cr_assert_eq(urt_stream_readline(&tp->s, line, sizeof line), 7);
	cr_assert_eq(urt_stream_write_all(&tp->s, line, 7), 7);
	OK(urt_stream_shutdown(&tp->s));
	return 0;
}

static int starttls_main(void *arg)
{
	(void)arg;
	struct tls_pair tp;
	tp.sc = server_ctx("server.pem", "server.key");
	tp.cc = client_ctx("ca.pem");
	tp.p = tcp_pair();
	OK(urt_stream_init(&tp.c, tp.p.cfd, 0, 0));
	OK(urt_stream_init(&tp.s, tp.p.sfd, 0, 0));
	urt_task *srv = spawn_ok(starttls_server, &tp);
	char line[64];
	cr_assert_eq(urt_stream_write_all(&tp.c, "EHLO\n", 5), 5);
	cr_assert_eq(urt_stream_readline(&tp.c, line, sizeof line), 4);
	/* STARTTLS without waiting for an answer: the line is buffered and
	   flushed by start_tls, the ClientHello right behind it */
	cr_assert_eq(urt_stream_write(&tp.c, "STARTTLS\n", 9), 9);
	OK(urt_stream_start_tls(&tp.c, tp.cc, "localhost"));
	cr_assert_not_null(urt_stream_tls(&tp.c));
	cr_assert_eq(urt_stream_write_all(&tp.c, "secret\n", 7), 7);
	cr_assert_eq(urt_stream_readline(&tp.c, line, sizeof line), 7);
	cr_assert_eq(memcmp(line, "secret\n", 7), 0);
	cr_assert_eq(urt_stream_read(&tp.c, line, sizeof line), 0);
	OK(urt_join(srv, NULL));
	tls_pair_close(&tp);
	return 0;
}

Test(tls, starttls_takes_buffered_handshake_bytes)
{
	RUN(starttls_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Contexts                                                               */

Test(tls, context_errors_are_reported_at_creation)
{
	urt_tls_ctx *c = (urt_tls_ctx *)1;
	urt_tls_config cfg = {.role = URT_TLS_SERVER, .cert_file = pki("nope.pem"),
			      .key_file = pki("server.key")};
	cr_assert_eq(urt_tls_ctx_new(&cfg, &c), -ENOENT);
	cr_assert_null(c);
	cr_assert(strstr(urt_tls_reason(NULL), "nope.pem"), "%s", urt_tls_reason(NULL));

	cfg.cert_file = pki("server.pem");
	cfg.key_file = pki("client.key"); /* another key */
	cr_assert_eq(urt_tls_ctx_new(&cfg, &c), -EKEYREJECTED);
	cr_assert(strstr(urt_tls_reason(NULL), "does not match"), "%s", urt_tls_reason(NULL));

	cfg.cert_file = pki("leaf.ext"); /* not PEM */
	cfg.key_file = pki("server.key");
	cr_assert_eq(urt_tls_ctx_new(&cfg, &c), -EKEYREJECTED);

	urt_tls_config none = {.role = URT_TLS_SERVER};
	cr_assert_eq(urt_tls_ctx_new(&none, &c), -EINVAL); /* a server needs a certificate */
	urt_tls_config alpn = {.role = URT_TLS_CLIENT, .insecure = true, .alpn = "h2,,x"};
	cr_assert_eq(urt_tls_ctx_new(&alpn, &c), -EINVAL);
	urt_tls_config ver = {.role = URT_TLS_CLIENT, .insecure = true, .min_version = 0x0301};
	cr_assert_eq(urt_tls_ctx_new(&ver, &c), -EINVAL);
	cr_assert_eq(urt_tls_ctx_new(NULL, &c), -EINVAL);
	urt_tls_config ca = {.role = URT_TLS_CLIENT, .ca_file = pki("missing-ca.pem")};
	cr_assert_eq(urt_tls_ctx_new(&ca, &c), -ENOENT);

	/* outside a task, connections cannot be made */
	urt_tls_config ok = {.role = URT_TLS_CLIENT, .insecure = true};
	OK(urt_tls_ctx_new(&ok, &c));
	urt_tls *t;
	cr_assert_eq(urt_tls_handshake(c, 0, NULL, &t), -EPERM);
	urt_tls_ctx_free(c);
	urt_tls_ctx_free(NULL);
	urt_tls_free(NULL);
	(void)urt_tls_ktls_available(); /* either answer is right; it must not crash */
}

/* ---------------------------------------------------------------------- */
/* 500 concurrent connections                                             */

#define CONNS 500

struct many {
	urt_tls_ctx *sc, *cc;
	int lfd, port;
	int ok_server, ok_client;
};

static int many_conn_server(void *arg)
{
	struct many *m = arg;
	int fd = urt_accept(m->lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0);
	urt_stream st;
	OK(urt_stream_init(&st, fd, 4096, 4096));
	if (urt_stream_start_tls(&st, m->sc, NULL) == 0) {
		char line[64];
		ssize_t n = urt_stream_readline(&st, line, sizeof line);
		if (n > 0 && urt_stream_write_all(&st, line, (size_t)n) == n)
			m->ok_server++;
	}
	urt_stream_destroy(&st);
	urt_sock_close(fd);
	return 0;
}

static int many_conn_client(void *arg)
{
	struct many *m = arg;
	int fd = urt_tcp_connect("127.0.0.1", m->port);
	cr_assert_geq(fd, 0);
	urt_stream st;
	OK(urt_stream_init(&st, fd, 4096, 4096));
	char line[64], back[64];
	int n = snprintf(line, sizeof line, "hello %d\n", fd);
	if (urt_stream_start_tls(&st, m->cc, "localhost") == 0 &&
	    urt_stream_write_all(&st, line, (size_t)n) == n &&
	    urt_stream_readline(&st, back, sizeof back) == n && !memcmp(line, back, (size_t)n))
		m->ok_client++;
	urt_stream_destroy(&st);
	urt_sock_close(fd);
	return 0;
}

static int many_main(void *arg)
{
	(void)arg;
	struct many m = {0};
	m.sc = server_ctx("server.pem", "server.key");
	m.cc = client_ctx("ca.pem");
	m.lfd = urt_tcp_listen("127.0.0.1", 0, CONNS, 0);
	cr_assert_geq(m.lfd, 0);
	m.port = urt_sock_port(m.lfd);
	static urt_task *ts[2 * CONNS];
	for (int i = 0; i < CONNS; i++) {
		ts[2 * i] = spawn_ok(many_conn_server, &m);
		ts[2 * i + 1] = spawn_ok(many_conn_client, &m);
	}
	for (int i = 0; i < 2 * CONNS; i++)
		OK(urt_join(ts[i], NULL));
	cr_assert_eq(m.ok_server, CONNS);
	cr_assert_eq(m.ok_client, CONNS);
	urt_sock_close(m.lfd);
	urt_tls_ctx_free(m.sc);
	urt_tls_ctx_free(m.cc);
	return 0;
}

Test(tls, five_hundred_concurrent_connections)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2 * CONNS + 64) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	RUN(many_main, NULL);
}

/* ---------------------------------------------------------------------- */
/* Several loops share the contexts (and the client's session cache)      */

#define LOOPS 4
#define PER_LOOP 20

struct loops_job {
	urt_tls_ctx *sc, *cc;
};

static int loop_connections(void *arg)
{
	struct loops_job *j = arg;
	int ok = 0;
	for (int i = 0; i < PER_LOOP; i++) {
		struct pair p = tcp_pair();
		struct server s;
		urt_task *srv = serve_on(&s, j->sc, p.sfd, SEND_THEN_CLOSE_NOTIFY);
		urt_stream st;
		OK(urt_stream_init(&st, p.cfd, 4096, 4096));
		char b[64];
		if (urt_stream_start_tls(&st, j->cc, "localhost") == 0 &&
		    urt_stream_read_exact(&st, b, 15) == 15 && !strcmp(b, "server says hi") &&
		    urt_stream_read(&st, b, sizeof b) == 0)
			ok++;
		urt_stream_destroy(&st);
		OK(urt_join(srv, NULL));
		pair_close(&p);
	}
	return ok;
}

static int loops_main(void *arg)
{
	unsigned n = urt_loops_count();
	cr_assert_eq(n, LOOPS);
	urt_remote *r[LOOPS];
	for (unsigned i = 0; i < n; i++)
		OK(urt_spawn_on(urt_loops_get(i), loop_connections, arg, &r[i]));
	int total = 0;
	for (unsigned i = 0; i < n; i++) {
		int ok = 0;
		OK(urt_remote_wait(r[i], &ok));
		total += ok;
	}
	cr_assert_eq(total, LOOPS * PER_LOOP);
	return 0;
}

Test(tls, contexts_shared_by_four_loops)
{
	struct loops_job j;
	j.sc = server_ctx("server.pem", "server.key");
	j.cc = client_ctx("ca.pem");
	int r = urt_run_loops(LOOPS, 0, NULL, loops_main, &j);
	cr_assert_eq(r, 0);
	urt_tls_ctx_free(j.sc);
	urt_tls_ctx_free(j.cc);
}
