/* SPDX-License-Identifier: MIT */
/* A server's listeners: one per loop, sharing the port. */
#include <unistd.h>

#include "tool_loops.h"

/*
 * n == 1 is a plain urt_tcp_listen (no SO_REUSEPORT, as before --threads
 * existed). For n > 1 they share the port with URT_LISTEN_REUSEPORT; with
 * port 0 the first one gets a free port and the others bind that one.
 * SO_REUSEPORT would also let us share a fixed port with another server
 * already listening there (as this user), silently splitting its traffic;
 * so a fixed port is first bound once without it, which fails with
 * -EADDRINUSE when it is taken. (Not airtight: someone may take the port
 * between that check and our binds; it catches starting a second server
 * by mistake.)
 */
int tool_listen_group(const char *ip, int port, unsigned n, int *fds)
{
	if (n == 1) {
		fds[0] = urt_tcp_listen(ip, port, 4096, 0);
		return fds[0] < 0 ? fds[0] : 0;
	}
	if (port) {
		int probe = urt_tcp_listen(ip, port, 1, 0);
		if (probe < 0)
			return probe;
		close(probe);
	}
	for (unsigned i = 0; i < n; i++) {
		int r = fds[i] = urt_tcp_listen(ip, port, 4096, URT_LISTEN_REUSEPORT);
		if (r >= 0 && !port && (r = port = urt_sock_port(fds[i])) < 0)
			close(fds[i]);
		if (r < 0) {
			while (i--)
				close(fds[i]);
			return r;
		}
	}
	return 0;
}
