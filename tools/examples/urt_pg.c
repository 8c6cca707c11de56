/* SPDX-License-Identifier: MIT */
/* urt_pg: libpq's non-blocking API driven through urt_poll (see urt_pg.h). */
#include "urt_pg.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <urt.h>

/* How long a cancelled query may take to wind down before the call gives
   up reading its results (they are then dropped by the next query). */
#define DRAIN_NS (5 * URT_NS_PER_SEC)

static void set_err(char *err, size_t len, const char *msg)
{
	if (!err || !len)
		return;
	snprintf(err, len, "%s", msg ? msg : "");
	size_t n = strlen(err);
	while (n && (err[n - 1] == '\n' || err[n - 1] == ' '))
		err[--n] = '\0';
}

int urt_pg_connect(const char *conninfo, int64_t timeout_ns, PGconn **out, char *err,
		   size_t errlen)
{
	set_err(err, errlen, "");
	if (out)
		*out = NULL;
	if (!conninfo || !out)
		return -EINVAL;
	/* a conninfo that does not parse is the caller's error, not the server's */
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
	if (!opts) {
		set_err(err, errlen, perr ? perr : "out of memory");
		int r = perr ? -EINVAL : -ENOMEM;
		PQfreemem(perr);
		return r;
	}
	PQconninfoFree(opts);

	if (timeout_ns >= 0) {
		int r = urt_deadline_push(timeout_ns);
		if (r < 0)
			return r;
	} else if (!urt_current()) {
		return -EPERM;
	}
	int r = 0;
	PGconn *c = PQconnectStart(conninfo);
	if (!c) {
		r = -ENOMEM;
		goto out;
	}
	/* PQconnectStart has started a non-blocking connect: wait until the
	   socket is writable, then do what PQconnectPoll asks, until OK or
	   FAILED. The socket can change between calls (libpq tries the next
	   address or host), so ask for it each time. */
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	while (PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
	       st != PGRES_POLLING_FAILED) {
		int fd = PQsocket(c);
		if (fd < 0)
			break;
		r = urt_poll(fd, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, -1);
		if (r < 0)
			break;
		r = 0;
		st = PQconnectPoll(c);
	}
	if (r == 0 && (st != PGRES_POLLING_OK || PQstatus(c) != CONNECTION_OK))
		r = -ECONNREFUSED;
	/* libpq itself only waits in "blocking" mode; from here on it must
	   return instead (PQsendQuery, PQflush, PQfinish) */
	if (r == 0 && PQsetnonblocking(c, 1) != 0)
		r = -ECONNRESET;
	if (r < 0) {
		if (r == -ETIMEDOUT)
			set_err(err, errlen, "timed out connecting");
		else if (r == -ECANCELED)
			set_err(err, errlen, "cancelled while connecting");
		else
			set_err(err, errlen, PQerrorMessage(c));
		PQfinish(c); /* closes the socket: nothing is left open */
		c = NULL;
	}
	*out = c;
out:
	if (timeout_ns >= 0)
		urt_deadline_pop();
	return r;
}

static int conn_err(PGconn *c)
{
	return PQstatus(c) == CONNECTION_BAD ? -ECONNRESET : -EIO;
}

/*
 * Wait until libpq has sent everything it has queued and has a result (or
 * the end of the results) to hand out without blocking: PQflush while it
 * returns 1 (waiting for POLLOUT, and POLLIN too: the server may need us to
 * read before it reads more), PQconsumeInput while PQisBusy.
 */
static int pump(PGconn *c)
{
	for (;;) {
		int f = PQflush(c);
		if (f < 0)
			return conn_err(c);
		if (f == 0 && !PQisBusy(c))
			return 0;
		int fd = PQsocket(c);
		if (fd < 0)
			return -ECONNRESET;
		int r = urt_poll(fd, f ? POLLIN | POLLOUT : POLLIN, -1);
		if (r < 0)
			return r;
		if ((r & (POLLIN | POLLERR | POLLHUP)) && !PQconsumeInput(c))
			return conn_err(c);
	}
}

static bool is_error(const PGresult *res)
{
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
	case PGRES_EMPTY_QUERY:
	case PGRES_SINGLE_TUPLE:
		return false;
	default:
		return true;
	}
}

/*
 * Read results until PQgetResult says there are no more. *keep collects
 * the last one, or the first error. Returns 0, -ENOTSUP (a COPY: the
 * connection is shut down, since leaving COPY mode needs a dialogue this
 * example does not have), or pump's error (the connection stays busy).
 */
static int collect(PGconn *c, PGresult **keep)
{
	for (;;) {
		int r = pump(c);
		if (r < 0)
			return r;
		PGresult *res = PQgetResult(c);
		if (!res)
			return 0;
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
			PQclear(res);
			shutdown(PQsocket(c), SHUT_RDWR);
			PQconsumeInput(c); /* sees the end: CONNECTION_BAD */
			return -ENOTSUP;
		}
		if (*keep && is_error(*keep)) {
			PQclear(res);
		} else {
			PQclear(*keep);
			*keep = res;
		}
	}
}

/* A cancel request in flight. Touched by the worker thread only between
   the offload's start and fn's return; refs on the loop's thread only. */
struct cancel_job {
	PGcancel *cancel;
	int refs;
	bool unsent; /* the offload ended before fn started */
	int sent;    /* PQcancel's result */
	char err[256];
};

static void job_put(struct cancel_job *j)
{
	if (--j->refs == 0) {
		PQfreeCancel(j->cancel);
		free(j);
	}
}

static void *cancel_fn(void *arg) /* on an offload thread */
{
	struct cancel_job *j = arg;
	j->sent = PQcancel(j->cancel, j->err, sizeof j->err);
	return j;
}

/* urt_offload_ex's clean-up when the caller left early: at once with
   res NULL if fn never started, else once fn has returned. */
static void cancel_orphan(void *arg, void *res)
{
	struct cancel_job *j = arg;
	if (!res)
		j->unsent = true;
	job_put(j);
}

/* Send the cancel request from the calling task, on the offload pool (it
   connects to the server and waits for it to take the request). The
   caller keeps its reference. */
static int cancel_send(struct cancel_job *j)
{
	j->refs++; /* the offload's: dropped here on success, by the orphan otherwise */
	int r = urt_offload_ex(cancel_fn, j, NULL, cancel_orphan);
	if (r == 0)
		j->refs--; /* never the last: the caller has one */
	return r;
}

static int cancel_task(void *arg)
{
	struct cancel_job *j = arg;
	cancel_send(j);
	job_put(j);
	return 0;
}

/* For a caller that cannot wait (its deadline passed): a detached task
   sends it. Takes the caller's reference. */
static void cancel_in_background(struct cancel_job *j)
{
	struct urt_spawn_attr a = {.name = "urt_pg-cancel", .detached = true};
	if (!urt_spawn_attr(&a, cancel_task, j))
		job_put(j); /* out of memory: the server finishes the query on its own */
}

/*
 * The query was interrupted (why = -ECANCELED or -ETIMEDOUT) with results
 * outstanding: have the server stop it, and when this task may still wait
 * (a cancellation is delivered once; a passed deadline fails every wait)
 * read what is left so the connection is idle again.
 */
static int interrupted(PGconn *c, int why, PGresult **keep)
{
	struct cancel_job *j = calloc(1, sizeof *j);
	if (j && !(j->cancel = PQgetCancel(c))) {
		free(j);
		j = NULL;
	}
	if (j)
		j->refs = 1;
	if (why != -ECANCELED) {
		if (j)
			cancel_in_background(j);
		PQclear(*keep);
		*keep = NULL;
		return why;
	}
	if (j) {
		if (cancel_send(j) < 0 && j->unsent) /* a deadline passed as well */
			cancel_in_background(j);
		else
			job_put(j);
	}
	int r = urt_deadline_push(DRAIN_NS);
	if (r == 0) {
		r = collect(c, keep);
		urt_deadline_pop();
	}
	if (r == 0 && *keep && !is_error(*keep)) {
		/* it completed before the cancel took: the result wins and the
		   cancellation is kept for the next suspension point */
		urt_cancel(urt_current());
		return 0;
	}
	PQclear(*keep);
	*keep = NULL;
	return r == -ENOTSUP || r == -ECONNRESET ? r : -ECANCELED;
}

int urt_pg_query(PGconn *c, const char *sql, PGresult **result)
{
	if (result)
		*result = NULL;
	if (!c || !sql)
		return -EINVAL;
	if (!urt_current())
		return -EPERM;
	if (PQstatus(c) != CONNECTION_OK)
		return -ENOTCONN;
	PGresult *keep = NULL;
	int r;
	/* what is left of a query interrupted by a deadline: drop it */
	if (PQtransactionStatus(c) == PQTRANS_ACTIVE) {
		r = collect(c, &keep);
		PQclear(keep);
		keep = NULL;
		if (r < 0)
			return r;
	}
	if (!PQsendQuery(c, sql))
		return PQstatus(c) == CONNECTION_BAD ? -ECONNRESET : -ENOMEM;
	r = collect(c, &keep);
	if (r == -ECANCELED || r == -ETIMEDOUT)
		r = interrupted(c, r, &keep);
	if (r == 0 && keep && is_error(keep))
		r = -EIO;
	if (r < 0 && r != -EIO) {
		PQclear(keep);
		keep = NULL;
	}
	if (result)
		*result = keep;
	else
		PQclear(keep);
	return r;
}
