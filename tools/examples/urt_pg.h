/* SPDX-License-Identifier: MIT */
/*
 * urt_pg: libpq driven from urt tasks, through its non-blocking API and the
 * readiness bridge (urt_poll). An example of the pattern, small enough to
 * copy: call the library; when it would block, urt_poll the fd it names;
 * call it again. The loop runs other tasks meanwhile, so N tasks with a
 * connection each have N queries in flight on one thread.
 *
 * Conventions as in urt.h: >= 0 or a negative errno, -ECANCELED when the
 * calling task is cancelled, -ETIMEDOUT at the end of an enclosing deadline
 * scope (urt_deadline_push); call from a task (-EPERM otherwise). One task
 * at a time per connection.
 *
 * Nothing here blocks the loop, with one exception that is libpq's: a TCP
 * host *name* in conninfo is resolved by PQconnectStart itself, blocking.
 * Give hostaddr= (or resolve it first with urt_getaddrinfo), or a Unix
 * socket directory as host.
 */
#ifndef URT_PG_H
#define URT_PG_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Connect (PQconnectStart + PQconnectPoll, waiting in urt_poll on PQsocket)
 * and put the connection in non-blocking mode. timeout_ns < 0: no timeout
 * of its own (enclosing deadline scopes still apply). Returns 0 and *out
 * (close it with PQfinish), or:
 *   -EINVAL       conninfo does not parse;
 *   -ECONNREFUSED the connection failed or the server refused it (no server
 *                 at that socket or address, unknown database or role,
 *                 authentication failed);
 *   -ETIMEDOUT, -ECANCELED, -ENOMEM, -EPERM.
 * On failure nothing is left open, *out is NULL, and err (if non-NULL,
 * errlen bytes) receives libpq's message.
 */
int urt_pg_connect(const char *conninfo, int64_t timeout_ns, PGconn **out, char *err,
		   size_t errlen);

/*
 * Send sql (PQsendQuery: one or more statements, no parameters) and wait
 * for every result. *result (if result is non-NULL; PQclear it) receives the
 * last result, or the first error result. Returns:
 *   0             success: *result has status PGRES_TUPLES_OK,
 *                 PGRES_COMMAND_OK or PGRES_EMPTY_QUERY;
 *   -EIO          the server reported an error: *result holds it
 *                 (PQresultErrorMessage, PQresultErrorField);
 *   -ECONNRESET   the connection broke (PQerrorMessage says why): PQfinish it;
 *   -ENOTSUP      the command started a COPY: the connection is shut down;
 *   -ENOTCONN     conn is not a good connection; -EINVAL for NULL arguments;
 *   -ECANCELED    the task was cancelled while the query ran;
 *   -ETIMEDOUT    the task's deadline passed while the query ran.
 *
 * Cancellation: the query is cancelled on the server (PQcancel, which
 * blocks, run through urt_offload) and its remaining results are read and
 * dropped (for up to 5 s), so the connection is idle and usable again when
 * the call returns. If the query had completed anyway, the call returns 0
 * with its result and the cancellation stays pending for the task's next
 * suspension point (a grant beats a late cancellation, as everywhere in
 * urt).
 *
 * Deadline: an expired deadline scope fails every wait of the task, the
 * offload's included, so the cancel request is sent by a small detached
 * task instead and the call returns at once. The connection is then still
 * busy with the cancelled query: the next urt_pg_query on it first reads
 * and drops what is left (within that call's own deadline), or PQfinish it.
 * If the loop is shutting down when the helper would start, it is not sent;
 * the server then stops the query when it ends or finds the client gone.
 */
int urt_pg_query(PGconn *conn, const char *sql, PGresult **result);

#endif
