/* SPDX-License-Identifier: MIT */
/*
 * pg_demo: urt tasks talking to PostgreSQL through urt_pg (libpq's
 * non-blocking API + urt_poll). Used by tests/pg_e2e.sh.
 *
 *   pg_demo parallel CONNINFO [N]  N tasks (default 20), a connection each,
 *                                  each runs SELECT pg_sleep(0.2), <id>; the
 *                                  ids are checked and the time printed
 *   pg_demo cancel CONNINFO        a task's SELECT pg_sleep(30) is cancelled
 *                                  (urt_cancel) after 200 ms
 *   pg_demo deadline CONNINFO      the same query under a 200 ms deadline scope
 *   pg_demo fail CONNINFO          connecting must fail, promptly and cleanly
 *   pg_demo hang                   connecting to a server that never answers
 *                                  must time out (-ETIMEDOUT) after 300 ms
 *
 * cancel and deadline then check, on a second connection, that the server
 * no longer runs the query (pg_stat_activity), that the interrupted
 * connection can run another query, and that once it is closed the process
 * has exactly the fds it had before. Exit status 0 when every check holds.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <urt.h>

#include "urt_pg.h"

#define STACK (256 * 1024) /* libpq (OpenSSL, GSSAPI, lookups) wants more than 64 KiB */
#define CONNECT_NS (10 * URT_NS_PER_SEC)

static const char *conninfo;
static int failures;

#define CHECK(cond, ...)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "pg_demo: FAIL %s:%d: ", __FILE__, __LINE__);    \
			fprintf(stderr, __VA_ARGS__);                                     \
			fputc('\n', stderr);                                              \
			failures++;                                                       \
		}                                                                         \
	} while (0)

static double ms_since(int64_t t0)
{
	return (double)(urt_now_ns() - t0) / 1e6;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -errno;
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Poll fn until it returns true, up to ms milliseconds. */
static bool eventually(bool (*fn)(void *), void *arg, int ms)
{
	for (int waited = 0;; waited += 50) {
		if (fn(arg))
			return true;
		if (waited >= ms || urt_sleep_ms(50) < 0)
			return false;
	}
}

static urt_task *spawn(int (*fn)(void *), void *arg, const char *name)
{
	struct urt_spawn_attr a = {.name = name, .stack_size = STACK};
	return urt_spawn_attr(&a, fn, arg);
}

/* ---- parallel: N tasks, a connection and a query each ---------------- */

struct worker {
	int id;
	int *nconnected, n; /* tasks that have their connection, of n */
	urt_event *go;
};

static int worker(void *arg)
{
	struct worker *w = arg;
	char err[256];
	PGconn *c;
	int r = urt_pg_connect(conninfo, CONNECT_NS, &c, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "pg_demo: task %d: connect: %s (%s)\n", w->id, strerror(-r), err);
		return r;
	}
	/* start the queries together, so their overlap is what is measured */
	if (++*w->nconnected == w->n)
		urt_event_set(w->go);
	r = urt_event_wait(w->go, -1);
	char sql[64];
	snprintf(sql, sizeof sql, "SELECT pg_sleep(0.2), %d", w->id);
	PGresult *res = NULL;
	if (r == 0)
		r = urt_pg_query(c, sql, &res);
	if (r == 0) {
		if (PQntuples(res) != 1 || PQnfields(res) != 2 || atoi(PQgetvalue(res, 0, 1)) != w->id) {
			fprintf(stderr, "pg_demo: task %d: wrong result (%d rows, '%s')\n", w->id,
				PQntuples(res), PQntuples(res) ? PQgetvalue(res, 0, 1) : "");
			r = -EPROTO;
		}
	} else {
		fprintf(stderr, "pg_demo: task %d: query: %s (%s)\n", w->id, strerror(-r),
			res ? PQresultErrorMessage(res) : PQerrorMessage(c));
	}
	PQclear(res);
	PQfinish(c);
	return r;
}

static int run_parallel(int n)
{
	struct worker *w = calloc((size_t)n, sizeof *w);
	urt_task **t = calloc((size_t)n, sizeof *t);
	int *res = calloc((size_t)n, sizeof *res);
	if (!w || !t || !res)
		return -ENOMEM;
	urt_event go;
	urt_event_init(&go);
	int nconnected = 0;
	int64_t t0 = urt_now_ns();
	for (int i = 0; i < n; i++) {
		w[i] = (struct worker){.id = i + 1, .nconnected = &nconnected, .n = n, .go = &go};
		t[i] = spawn(worker, &w[i], "pg-worker");
		if (!t[i])
			return -ENOMEM;
	}
	/* the query phase starts when the last task has connected */
	while (!urt_event_is_set(&go) && urt_sleep_ms(1) == 0) {
		bool any_done = false;
		for (int i = 0; i < n; i++)
			any_done |= urt_task_done(t[i]);
		if (any_done) /* a connect failed: nobody will set it */
			urt_event_set(&go);
	}
	int64_t tq = urt_now_ns();
	int bad = urt_join_all(t, (size_t)n, res);
	double q_ms = ms_since(tq), all_ms = ms_since(t0);
	int ok = 0;
	for (int i = 0; i < n; i++)
		ok += res[i] == 0;
	printf("parallel: %d/%d queries ok; queries %.0f ms, connect+queries %.0f ms\n", ok, n,
	       q_ms, all_ms);
	printf("query_ms=%.0f\n", q_ms);
	CHECK(bad == 0 && ok == n, "%d of %d tasks failed", n - ok, n);
	free(w);
	free(t);
	free(res);
	return 0;
}

/* ---- cancel / deadline: an interrupted long query --------------------- */

struct victim {
	bool deadline;       /* a deadline scope instead of urt_cancel */
	int backend_pid;     /* the server process running the query */
	int qr;              /* urt_pg_query's result */
	double q_ms;         /* how long it took to return */
	int reuse;           /* the value of a second query on the same connection */
	urt_event querying;  /* the query has been sent */
	urt_event returned;  /* urt_pg_query came back */
	urt_event checked;   /* main has looked at pg_stat_activity */
};

static int victim(void *arg)
{
	struct victim *v = arg;
	char err[256];
	PGconn *c;
	int r = urt_pg_connect(conninfo, CONNECT_NS, &c, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "pg_demo: victim: connect: %s (%s)\n", strerror(-r), err);
		urt_event_set(&v->querying);
		urt_event_set(&v->returned);
		return r;
	}
	v->backend_pid = PQbackendPID(c);
	urt_event_set(&v->querying);
	int64_t t0 = urt_now_ns();
	if (v->deadline)
		urt_deadline_push(200 * URT_NS_PER_MS);
	v->qr = urt_pg_query(c, "SELECT pg_sleep(30)", NULL);
	if (v->deadline)
		urt_deadline_pop();
	v->q_ms = ms_since(t0);
	urt_event_set(&v->returned);
	/* keep the connection open while main checks the server */
	urt_event_wait(&v->checked, 30 * URT_NS_PER_SEC);
	/* the connection is still good (after a deadline, this drains first) */
	PGresult *res = NULL;
	urt_deadline_push(5 * URT_NS_PER_SEC);
	r = urt_pg_query(c, "SELECT 42", &res);
	urt_deadline_pop();
	v->reuse = r == 0 ? atoi(PQgetvalue(res, 0, 0)) : r;
	PQclear(res);
	PQfinish(c);
	return 0;
}

struct probe {
	PGconn *c;
	int pid;
	const char *want; /* "not active" or "gone" */
	char state[64];
};

static bool backend_is(void *arg)
{
	struct probe *p = arg;
	char sql[128];
	snprintf(sql, sizeof sql, "SELECT state FROM pg_stat_activity WHERE pid = %d", p->pid);
	PGresult *res = NULL;
	int r = urt_pg_query(p->c, sql, &res);
	bool ok = false;
	if (r == 0) {
		snprintf(p->state, sizeof p->state, "%s",
			 PQntuples(res) ? PQgetvalue(res, 0, 0) : "(gone)");
		ok = strcmp(p->want, "gone") == 0 ? PQntuples(res) == 0
						  : strcmp(p->state, "active") != 0;
	} else {
		snprintf(p->state, sizeof p->state, "query error %d", r);
	}
	PQclear(res);
	return ok;
}

struct fdwant {
	int want, now;
};

static bool fds_back(void *arg)
{
	struct fdwant *f = arg;
	f->now = count_fds();
	return f->now == f->want;
}

static void *noop(void *arg)
{
	return arg;
}

static int run_interrupt(bool deadline)
{
	const char *mode = deadline ? "deadline" : "cancel";
	/* the offload pool keeps an eventfd from its first use on: start it
	   before counting */
	urt_offload(noop, NULL, NULL);
	int fd0 = count_fds();

	struct victim v = {.deadline = deadline, .qr = 1};
	urt_event_init(&v.querying);
	urt_event_init(&v.returned);
	urt_event_init(&v.checked);
	urt_task *t = spawn(victim, &v, "pg-victim");
	if (!t)
		return -ENOMEM;
	urt_event_wait(&v.querying, -1);
	if (!deadline) {
		urt_sleep_ms(200);
		urt_cancel(t);
	}
	urt_event_wait(&v.returned, -1);
	printf("%s: query returned %d (%s) after %.0f ms\n", mode, v.qr, strerror(-v.qr), v.q_ms);
	CHECK(v.qr == (deadline ? -ETIMEDOUT : -ECANCELED), "%s: query returned %d", mode, v.qr);
	CHECK(v.q_ms < 5000, "%s: took %.0f ms to return", mode, v.q_ms);

	char err[256];
	PGconn *c;
	int r = urt_pg_connect(conninfo, CONNECT_NS, &c, err, sizeof err);
	CHECK(r == 0, "second connection: %s (%s)", strerror(-r), err);
	if (r == 0 && v.backend_pid) {
		/* the server has stopped the query, with the connection still open */
		struct probe p = {.c = c, .pid = v.backend_pid, .want = "not active"};
		bool ok = eventually(backend_is, &p, 5000);
		printf("%s: backend %d: %s\n", mode, p.pid, p.state);
		CHECK(ok, "%s: backend %d still '%s' after 5 s", mode, p.pid, p.state);
		urt_event_set(&v.checked);
		urt_join(t, NULL);
		printf("%s: the same connection then answered %d\n", mode, v.reuse);
		CHECK(v.reuse == 42, "%s: the interrupted connection then gave %d", mode, v.reuse);
		/* closed: the backend goes away */
		p.want = "gone";
		ok = eventually(backend_is, &p, 5000);
		CHECK(ok, "%s: backend %d still there (%s) after PQfinish", mode, p.pid, p.state);
		PQfinish(c);
	} else {
		urt_event_set(&v.checked);
		urt_join(t, NULL);
	}
	struct fdwant f = {.want = fd0};
	bool ok = eventually(fds_back, &f, 5000);
	printf("%s: fds %d before, %d after\n", mode, fd0, f.now);
	CHECK(ok, "%s: %d fds before, %d after", mode, fd0, f.now);
	return 0;
}

/* ---- failures to connect ---------------------------------------------- */

static int run_fail(void)
{
	urt_offload(noop, NULL, NULL);
	int fd0 = count_fds();
	char err[256];
	PGconn *c = NULL;
	int64_t t0 = urt_now_ns();
	int r = urt_pg_connect(conninfo, CONNECT_NS, &c, err, sizeof err);
	double ms = ms_since(t0);
	printf("fail: %d (%s) after %.0f ms: %s\n", r, r < 0 ? strerror(-r) : "connected", ms, err);
	CHECK(r < 0 && r != -ETIMEDOUT && !c, "connect returned %d", r);
	CHECK(ms < 5000, "took %.0f ms to fail", ms);
	if (c)
		PQfinish(c);
	int fd1 = count_fds();
	CHECK(fd1 == fd0, "%d fds before, %d after", fd0, fd1);
	return 0;
}

/* A Unix socket that listens but never accepts: the kernel completes the
   connect (backlog) and libpq waits forever for the server's answer. */
static int run_hang(void)
{
	char dir[] = "/tmp/pg_demo.XXXXXX";
	if (!mkdtemp(dir))
		return -errno;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/.s.PGSQL.5432", dir);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 8) < 0) {
		perror("pg_demo: listen");
		return -EIO;
	}
	int fd0 = count_fds();
	char info[200], err[256];
	snprintf(info, sizeof info, "host=%s port=5432 dbname=x user=x", dir);
	PGconn *c = NULL;
	int64_t t0 = urt_now_ns();
	int r = urt_pg_connect(info, 300 * URT_NS_PER_MS, &c, err, sizeof err);
	double ms = ms_since(t0);
	printf("hang: %d (%s) after %.0f ms: %s\n", r, r < 0 ? strerror(-r) : "connected", ms, err);
	CHECK(r == -ETIMEDOUT && !c, "connect returned %d", r);
	CHECK(ms >= 250 && ms < 2000, "timed out after %.0f ms, not 300", ms);
	int fd1 = count_fds();
	CHECK(fd1 == fd0, "%d fds before, %d after", fd0, fd1);
	close(l);
	unlink(sa.sun_path);
	rmdir(dir);
	return 0;
}

/* ---- main -------------------------------------------------------------- */

struct args {
	const char *mode;
	int n;
};

static int main_task(void *arg)
{
	struct args *a = arg;
	int r;
	if (strcmp(a->mode, "parallel") == 0)
		r = run_parallel(a->n);
	else if (strcmp(a->mode, "cancel") == 0)
		r = run_interrupt(false);
	else if (strcmp(a->mode, "deadline") == 0)
		r = run_interrupt(true);
	else if (strcmp(a->mode, "fail") == 0)
		r = run_fail();
	else
		r = run_hang();
	if (r < 0) {
		fprintf(stderr, "pg_demo: %s: %s\n", a->mode, strerror(-r));
		return 1;
	}
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct args a = {.mode = argc > 1 ? argv[1] : "", .n = 20};
	bool known = !strcmp(a.mode, "parallel") || !strcmp(a.mode, "cancel") ||
		     !strcmp(a.mode, "deadline") || !strcmp(a.mode, "fail") || !strcmp(a.mode, "hang");
	bool need_conninfo = known && strcmp(a.mode, "hang") != 0;
	if (!known || (need_conninfo && argc < 3)) {
		fprintf(stderr, "usage: pg_demo parallel|cancel|deadline|fail CONNINFO [N]\n"
				"       pg_demo hang\n");
		return 2;
	}
	if (need_conninfo)
		conninfo = argv[2];
	if (argc > 3 && (a.n = atoi(argv[3])) <= 0) {
		fprintf(stderr, "pg_demo: bad N '%s'\n", argv[3]);
		return 2;
	}
	struct urt_options o = {.stack_size = STACK};
	int r = urt_run_opts(&o, main_task, &a);
	if (r < 0) {
		fprintf(stderr, "pg_demo: %s\n", strerror(-r));
		return 1;
	}
	return r;
}
