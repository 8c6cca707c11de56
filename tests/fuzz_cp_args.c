/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for urt-cp's command line (tools/urt-cp/options.c):
 * the options, then the operands and the paths made from them (--parents'
 * destination, a backup's name), on an argv built from the input (one
 * argument per line or NUL-terminated piece). Nothing is copied: the
 * operands are looked at (stat, a directory listed for numbered backups)
 * in a private temporary directory with a few files in it.
 *
 * Besides memory errors and leaks it aborts when
 *  - a result is not -1 (go on), 0 (--help, --version) or 1;
 *  - the output breaks cp's shape: help and version on stdout; an error
 *    on stderr and nothing on stdout, each line "urt-cp: ...", a list of
 *    valid arguments or the "Try" hint; an accepted command line (or
 *    --help) says nothing on stderr but --context's warnings;
 *  - the operands do not fit what was accepted: sources and a
 *    destination, a directory whenever there are several sources, -t or
 *    --parents; --strip-trailing-slashes applied;
 *  - a --parents path is not under the destination, or a backup's name
 *    is not its path plus the suffix or ".~N~".
 * stdout and stderr are swapped for memory streams around each run (cp's
 * messages go through stdio); sanitizer reports write to fd 2 and stay
 * visible.
 */
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cp.h"
#include "dest.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define MAX_ARGS 24

static struct cp_opts defaults;
static char fixture_dir[] = "/tmp/fuzz_cp_args.XXXXXX";
static int home = -1, fix = -1; /* the cwd we were started in, the fixture */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void fixture_remove(void)
{
	nftw(fixture_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The files the operands may name. Each input runs with the fixture as
   its cwd, and libFuzzer's own work (reading the corpus by relative
   paths, writing artifacts) in the cwd it was started in. */
static void fixture(void)
{
	CHECK((home = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);
	CHECK(mkdtemp(fixture_dir));
	atexit(fixture_remove);
	CHECK(chdir(fixture_dir) == 0);
	static const char *const files[] = {"f", "g", "f~", "f.~1~", "f.~9~", "d/f", "d/f.~2~"};
	CHECK(mkdir("d", 0755) == 0 && mkdir("e", 0755) == 0);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		FILE *f = fopen(files[i], "w");
		CHECK(f);
		fclose(f);
	}
	CHECK(symlink("f", "l") == 0 && symlink("d", "dl") == 0 && symlink("nowhere", "x") == 0);
	/* what cp reads from the environment stays out of the verdicts */
	unsetenv("VERSION_CONTROL");
	unsetenv("SIMPLE_BACKUP_SUFFIX");
	unsetenv("POSIXLY_CORRECT");
	defaults = O;
	CHECK((fix = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);
	CHECK(fchdir(home) == 0);
}

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/* Every line of an error output has one of cp's shapes. */
static void check_err_lines(const char *err, size_t n)
{
	CHECK(n && err[n - 1] == '\n');
	for (const char *l = err; l < err + n;) {
		const char *e = strchr(l, '\n');
		CHECK(starts(l, "urt-cp: ") || starts(l, "Valid arguments are:") ||
		      starts(l, "  - '") || starts(l, "Try 'urt-cp --help' for more information."));
		l = e + 1;
	}
}

/* Only "ignoring --context" warnings: what an accepted command line may say. */
static void check_warnings(const char *err, size_t n)
{
	check_err_lines(err, n);
	for (const char *l = err; l < err + n; l = strchr(l, '\n') + 1)
		CHECK(starts(l, "urt-cp: warning: ignoring --context;"));
}

/* b names name's backup: name + the suffix (simple), name + ".~N~"
   (numbered), either (existing). */
static void check_backup(const char *name, const char *b)
{
	size_t n = strlen(name);
	CHECK(!strncmp(b, name, n));
	const char *t = b + n;
	if (O.backup != BACKUP_NUMBERED && !strcmp(t, O.suffix))
		return;
	CHECK(O.backup != BACKUP_SIMPLE);
	CHECK(starts(t, ".~") && t[2] >= '1' && t[2] <= '9');
	t += 2;
	while (*t >= '0' && *t <= '9')
		t++;
	CHECK(!strcmp(t, "~"));
}

static void check_operands(int argc, char **argv, const struct cp_args *a)
{
	CHECK(a->nsrc >= 1 && a->dst);
	CHECK(a->srcs >= argv + 1 && a->srcs + a->nsrc <= argv + argc);
	if (a->nsrc > 1 || a->target_dir || O.parents)
		CHECK(a->into_dir);
	struct stat st;
	if (a->into_dir)
		CHECK(stat(a->dst, &st) == 0 && S_ISDIR(st.st_mode));
	for (int i = 0; i < a->nsrc; i++) {
		const char *s = a->srcs[i];
		size_t n = strlen(s);
		if (O.strip_slashes && a->into_dir)
			CHECK(!n || s[n - 1] != '/' || !strcmp(s, "/"));
		if (O.parents) {
			char *d = cp_parents_dpath(a->dst, s);
			size_t dn = strlen(a->dst);
			CHECK(!strncmp(d, a->dst, dn));
			/* the source's path goes under dst, never above it */
			CHECK(d[dn] == '\0' || d[dn] == '/' || (dn && a->dst[dn - 1] == '/'));
			free(d);
		}
	}
	if (O.backup != BACKUP_NONE && !a->into_dir) {
		char *b = dest_backup_path(a->dst);
		/* NULL: no room for the name, or no directory to look in */
		if (b)
			check_backup(a->dst, b);
		else
			CHECK(strlen(a->dst) > 4000 || strchr(a->dst, '/'));
		free(b);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		fixture();
		ready = true;
	}
	/* argv: the input's lines (a NUL ends one too) */
	char *copy = malloc(size + 1);
	CHECK(copy);
	memcpy(copy, data, size);
	copy[size] = '\0';
	char *argv[MAX_ARGS + 2] = {"urt-cp"};
	int argc = 1;
	for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
		argv[argc++] = copy + i;
		size_t l = strcspn(copy + i, "\n");
		if (i + l < size)
			copy[i + l] = '\0';
		i += l + 1;
	}
	argv[argc] = NULL;

	CHECK(fchdir(fix) == 0);
	O = defaults;
	optind = 0; /* glibc: start over, also within a bundle of short options */
	opterr = 1;
	char *out = NULL, *err = NULL;
	size_t out_n = 0, err_n = 0;
	FILE *old_out = stdout, *old_err = stderr;
	stdout = open_memstream(&out, &out_n);
	stderr = open_memstream(&err, &err_n);
	CHECK(stdout && stderr);

	struct cp_args a = {0};
	char *backup_dst = NULL;
	int r = cp_options(argc, argv, &a);
	bool operands_ran = r < 0;
	if (operands_ran)
		r = cp_operands(argc, argv, &a, &backup_dst);

	fclose(stdout);
	fclose(stderr);
	stdout = old_out, stderr = old_err;

	CHECK(r == -1 || r == 0 || r == 1);
	if (r == 1) {
		CHECK(!out_n);
		check_err_lines(err, err_n);
	} else {
		/* --help or --version: their text; else nothing */
		if (r == 0)
			CHECK(!operands_ran && out_n && out[out_n - 1] == '\n');
		else
			CHECK(!out_n);
		/* and at most --context's warnings, from options before them */
		if (err_n)
			check_warnings(err, err_n);
		if (r < 0)
			check_operands(argc, argv, &a);
	}
	CHECK(fchdir(home) == 0);
	free(backup_dst);
	free(out);
	free(err);
	free(copy);
	return 0;
}
