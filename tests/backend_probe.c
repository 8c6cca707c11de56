/* SPDX-License-Identifier: MIT */
/*
 * backend_probe: start a loop, print the backend it runs on, do a file
 * write + read and a sleep through it, print "ok". Exit 0, or 1 with the
 * error (urt_run's negative errno when the loop cannot start).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "urt.h"

static int probe(void *arg)
{
	(void)arg;
	printf("%s\n", urt_backend_name());
	char path[] = "/tmp/urt-probe.XXXXXX", buf[8] = {0};
	int fd = mkstemp(path);
	if (fd < 0)
		return 1;
	unlink(path);
	if (urt_write(fd, "probe", 5, 0) != 5 || urt_read(fd, buf, sizeof buf, 0) != 5 ||
	    strcmp(buf, "probe") || urt_sleep_ms(1) != 0 || urt_close(fd) != 0)
		return 1;
	printf("ok\n");
	return 0;
}

int main(void)
{
	int r = urt_run(probe, NULL);
	if (r < 0)
		printf("urt_run: %d (%s)\n", r, strerror(-r));
	return r == 0 ? 0 : 1;
}
