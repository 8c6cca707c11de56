/* SPDX-License-Identifier: MIT */
/*
 * A program that uses urt the way an outside project does: only <urt.h>,
 * built by tests/install_e2e.sh against an installed urt (pkg-config,
 * shared and static), as a meson subproject, and through CMake and make.
 *
 *   consumer FILE EXPECTED_VERSION
 *
 * runs a task that sleeps, reads FILE with urt_read (it must start with
 * "urt-consumer"), and checks that URT_VERSION_STRING and the number macros
 * agree with EXPECTED_VERSION (what pkg-config or meson says). Exit 0 = ok.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <urt.h>

#if !defined(URT_VERSION_MAJOR) || !defined(URT_VERSION_MINOR) || !defined(URT_VERSION_PATCH)
#error "urt.h does not define the version macros"
#endif

static const char *path;

static int sleeper(void *arg)
{
	(void)arg;
	return urt_sleep_ms(5) == 0 ? 42 : -1;
}

static int main_task(void *arg)
{
	(void)arg;
	struct urt_options o = {0}; /* the documented way to fill it */
	(void)o;
	urt_task *t = urt_spawn(sleeper, NULL);
	int res = 0;
	if (!t || urt_join(t, &res) != 0 || res != 42) {
		fprintf(stderr, "consumer: sleeping task: %d\n", res);
		return 1;
	}
	int fd = urt_open(path, O_RDONLY, 0);
	if (fd < 0) {
		fprintf(stderr, "consumer: urt_open %s: %s\n", path, strerror(-fd));
		return 1;
	}
	char buf[64] = {0};
	ssize_t n = urt_read(fd, buf, sizeof buf - 1, 0);
	urt_close(fd);
	if (n < 12 || memcmp(buf, "urt-consumer", 12) != 0) {
		fprintf(stderr, "consumer: urt_read gave %zd: '%s'\n", n, n > 0 ? buf : "");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: consumer FILE EXPECTED_VERSION\n");
		return 2;
	}
	path = argv[1];
	char nums[64];
	snprintf(nums, sizeof nums, "%d.%d.%d", URT_VERSION_MAJOR, URT_VERSION_MINOR, URT_VERSION_PATCH);
	if (strcmp(URT_VERSION_STRING, argv[2]) != 0 || strcmp(nums, argv[2]) != 0) {
		fprintf(stderr, "consumer: URT_VERSION_STRING %s, macros %s, expected %s\n",
			URT_VERSION_STRING, nums, argv[2]);
		return 1;
	}
	int r = urt_run(main_task, NULL);
	if (r != 0) {
		fprintf(stderr, "consumer: urt_run returned %d\n", r);
		return 1;
	}
	printf("consumer: ok (urt %s)\n", URT_VERSION_STRING);
	return 0;
}
