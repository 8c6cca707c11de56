/* SPDX-License-Identifier: MIT */
/*
 * urt-cp's command line: the options into O (cp.h), as cp reads them, the
 * checks between them, and the operands.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "cp.h"
#include "dest.h"

/* Usage errors exit 1, as cp's do (not the other tools' 2). */
#define CP_EXIT_USAGE 1

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTION]... [-T] SRC DST\n"
		"  or:  %s [OPTION]... SRC... DIR\n"
		"  or:  %s [OPTION]... -t DIR SRC...\n"
		"Copy files and directory trees, many files and chunks at once (io_uring).\n"
		"\n"
		"  -a, --archive         same as -dR --preserve=all\n"
		"      --attributes-only  copy only the attributes, not the data\n"
		"      --backup[=CONTROL] make a backup of each existing destination:\n"
		"                        none/off, numbered/t, existing/nil, simple/never\n"
		"                        (default: $VERSION_CONTROL, else existing)\n"
		"  -b                    like --backup, without an argument\n"
		"      --copy-contents   with -R, copy the contents of special files\n"
		"  -d                    same as --no-dereference --preserve=links\n"
		"  -f, --force           if a destination cannot be opened, replace it\n"
		"  -i, --interactive     ask before overwriting (the last of -i, -n wins)\n"
		"  -l, --link            hard-link files instead of copying\n"
		"      --parents         use the source's path under DIR\n"
		"      --remove-destination  replace each existing destination by a new\n"
		"                        file (never write into it)\n"
		"  -s, --symbolic-link   make symbolic links instead of copying\n"
		"  -S, --suffix=SUFFIX   backup suffix (default: $SIMPLE_BACKUP_SUFFIX, ~)\n"
		"      --strip-trailing-slashes  remove trailing slashes from SRC\n"
		"  -x, --one-file-system stay on the file systems of the SRC operands\n"
		"  -Z, --context[=CTX]   ignored (no SELinux support; CTX: a warning)\n"
		"  -r, -R, --recursive   copy directories recursively\n"
		"  -p                    same as --preserve=mode,ownership,timestamps\n"
		"      --preserve[=LIST] keep the attributes in LIST (default:\n"
		"                        mode,ownership,timestamps); also: links (hard\n"
		"                        links between copied files stay links), xattr,\n"
		"                        all. (context: refused, no SELinux support)\n"
		"      --no-preserve=LIST  do not keep them\n"
		"  -L, --dereference     always follow symbolic links in SRC\n"
		"  -P, --no-dereference  never follow symbolic links in SRC\n"
		"  -H                    follow symbolic links given on the command line\n"
		"                        (default: follow them on the command line unless -r)\n"
		"  -n, --no-clobber      do not overwrite existing files (no -b with -n)\n"
		"  -u, --update          copy only when SRC is newer than DST or DST is missing\n"
		"  -t, --target-directory=DIR  copy all SRC into DIR\n"
		"  -T, --no-target-directory   treat DST as a normal file\n"
		"      --sparse=WHEN     holes in DST: auto (where SRC has them), always\n"
		"                        (also for runs of zeros), never\n"
		"      --reflink[=WHEN]  share data blocks (btrfs, xfs): auto (the default:\n"
		"                        where possible), always (fail otherwise), never (also\n"
		"                        no copy_file_range)\n"
		"  -v, --verbose         print each file copied\n"
		"      --progress        show progress on stderr (default: if a terminal;\n"
		"                        elsewhere plain lines, no \\r or escape codes)\n"
		"      --no-progress     never show it\n"
		"  -j, --jobs N          files in flight (default 64), on all threads together\n"
		"      --threads N       loops (one thread each) that copy a tree or several\n"
		"                        files (default: one per CPU this process may run\n"
		"                        on; at most -j); a single file always uses one\n"
		"      --queue-depth N   read/write chunks in flight per large file (default 4;\n"
		"                        copy_file_range keeps one: more only contend on the\n"
		"                        destination inode lock)\n"
		"      --chunk-size N    bytes per chunk, K/M suffixes (default 1M)\n"
		"      --direct          use O_DIRECT (bypass the page cache)\n"
		"      --verify          read source and copy back and compare them\n"
		"      --sync            fsync each file before it gets its name, and the\n"
		"                        directories that got new entries\n"
		"      --help            show this help\n"
		"      --version         show the version\n"
		"\n", cp_prog, cp_prog, cp_prog);
	/* two calls: one literal would pass the 4095 bytes C99 promises */
	fprintf(f,
		"Data: a reflink where the filesystems can share blocks, else\n"
		"copy_file_range for files over one chunk, else reads and writes\n"
		"(always with --direct or --verify). Memory: buffers of at most\n"
		"jobs x chunk-size bytes for files of up to one chunk, plus 4 x\n"
		"queue-depth x chunk-size for the (at most 4) larger files in flight:\n"
		"80 MiB with the defaults, of which a small file touches only its size.\n"
		"\n"
		"A new file is written under a temporary name (or none, O_TMPFILE) in\n"
		"its destination directory and named when complete: a failed or\n"
		"interrupted copy never leaves a partial file.\n"
		"Overwriting, where this differs from cp: an existing regular file\n"
		"with one link and no xattrs is replaced atomically by a new inode that\n"
		"gets its owner, group and mode, so a failed copy (disk full, SIGINT)\n"
		"leaves it whole where cp leaves it truncated; its inode number\n"
		"changes. Every other destination is written through as cp does: files\n"
		"with more links or xattrs, symlinks (a dangling one is refused), device\n"
		"nodes and FIFOs, and files whose directory is not writable.\n"
		"Exit status: 0 if all went well, 1 if any file failed or for usage\n"
		"errors, 130 if interrupted.\n");
}

int cp_try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", cp_prog);
	return CP_EXIT_USAGE;
}

/* Option values through the tools' shared parser (tools/common/tool.h): digits
   only, range checked before any cast; one message line, then the hint. */
static int opt_uint(const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;
	if (tool_parse_u64(cp_prog, opt, s, lo, hi, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* cp's "invalid argument" for an option with a fixed set of values. */
static int pick(const char *opt, const char *arg, const char *const *vals, int *out)
{
	for (int i = 0; vals[i]; i++)
		if (!strcmp(arg, vals[i])) {
			*out = i;
			return 0;
		}
	fprintf(stderr, "%s: invalid argument '%s' for '%s'\nValid arguments are:\n", cp_prog, arg, opt);
	for (int i = 0; vals[i]; i++)
		fprintf(stderr, "  - '%s'\n", vals[i]);
	return -1;
}

static int parse_preserve(const char *opt, const char *list, unsigned *out)
{
	static const char *const vals[] = {"mode", "timestamps", "ownership", "links",
					   "context", "xattr", "all", NULL};
	static const unsigned bits[] = {P_MODE, P_TIME, P_OWNER, P_LINKS, 0, P_XATTR,
					P_MODE | P_TIME | P_OWNER | P_LINKS | P_XATTR};
	char *dup = strdup(list), *save = NULL;
	*out = 0;
	for (char *w = strtok_r(dup, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int k;
		if (pick(opt, w, vals, &k) < 0) {
			free(dup);
			return -1;
		}
		if (k == 4 && !strcmp(opt, "--preserve")) {
			cp_msg("cannot preserve security context without an SELinux-enabled kernel");
			free(dup);
			return -2; /* cp: not a usage error, no "Try" line */
		}
		*out |= bits[k];
	}
	free(dup);
	return 0;
}

/*
 * --backup=CONTROL (NULL: -b, or --backup alone: $VERSION_CONTROL, else
 * "existing"), as cp's argmatch reads it: a word, its synonym, or an
 * unambiguous abbreviation of either.
 */
static int parse_backup(const char *arg, int *out)
{
	static const char *const words[] = {"none", "off", "simple", "never", "existing",
					    "nil", "numbered", "t", NULL};
	static const int kinds[] = {BACKUP_NONE, BACKUP_NONE, BACKUP_SIMPLE, BACKUP_SIMPLE,
				    BACKUP_EXISTING, BACKUP_EXISTING, BACKUP_NUMBERED,
				    BACKUP_NUMBERED};
	const char *ctx = "backup type";
	if (!arg) {
		arg = getenv("VERSION_CONTROL");
		ctx = "$VERSION_CONTROL";
		if (!arg || !*arg) {
			*out = BACKUP_EXISTING;
			return 0;
		}
	}
	size_t len = strlen(arg);
	int found = -1;
	bool ambiguous = false;
	for (int i = 0; words[i]; i++) {
		if (strncmp(words[i], arg, len))
			continue;
		if (strlen(words[i]) == len) {
			found = i, ambiguous = false;
			break;
		}
		if (found < 0)
			found = i;
		else if (kinds[found] != kinds[i])
			ambiguous = true;
	}
	if (found >= 0 && !ambiguous && len) {
		*out = kinds[found];
		return 0;
	}
	fprintf(stderr, "%s: %s argument '%s' for '%s'\nValid arguments are:\n", cp_prog,
		found >= 0 && len ? "ambiguous" : "invalid", arg, ctx);
	for (int i = 0; words[i]; i += 2)
		fprintf(stderr, "  - '%s', '%s'\n", words[i], words[i + 1]);
	return -1;
}


enum {
	OPT_PROGRESS = 256, OPT_NO_PROGRESS, OPT_QD, OPT_CHUNK, OPT_DIRECT, OPT_VERIFY, OPT_SYNC,
	OPT_HELP, OPT_VERSION, OPT_PRESERVE, OPT_NO_PRESERVE, OPT_SPARSE, OPT_REFLINK, OPT_THREADS,
	OPT_BACKUP, OPT_REMOVE_DEST, OPT_ATTR_ONLY, OPT_COPY_CONTENTS, OPT_PARENTS,
	OPT_STRIP_SLASHES,
};

static const struct option longopts[] = {
	{"archive", no_argument, NULL, 'a'},
	{"attributes-only", no_argument, NULL, OPT_ATTR_ONLY},
	{"backup", optional_argument, NULL, OPT_BACKUP},
	{"copy-contents", no_argument, NULL, OPT_COPY_CONTENTS},
	{"force", no_argument, NULL, 'f'},
	{"interactive", no_argument, NULL, 'i'},
	{"link", no_argument, NULL, 'l'},
	{"one-file-system", no_argument, NULL, 'x'},
	{"parents", no_argument, NULL, OPT_PARENTS},
	{"path", no_argument, NULL, OPT_PARENTS}, /* cp: deprecated --parents */
	{"remove-destination", no_argument, NULL, OPT_REMOVE_DEST},
	{"strip-trailing-slashes", no_argument, NULL, OPT_STRIP_SLASHES},
	{"suffix", required_argument, NULL, 'S'},
	{"symbolic-link", no_argument, NULL, 's'},
	{"context", optional_argument, NULL, 'Z'},
	{"recursive", no_argument, NULL, 'r'},
	{"preserve", optional_argument, NULL, OPT_PRESERVE},
	{"no-preserve", required_argument, NULL, OPT_NO_PRESERVE},
	{"dereference", no_argument, NULL, 'L'},
	{"no-dereference", no_argument, NULL, 'P'},
	{"no-clobber", no_argument, NULL, 'n'},
	{"update", no_argument, NULL, 'u'},
	{"target-directory", required_argument, NULL, 't'},
	{"no-target-directory", no_argument, NULL, 'T'},
	{"sparse", required_argument, NULL, OPT_SPARSE},
	{"reflink", optional_argument, NULL, OPT_REFLINK},
	{"verbose", no_argument, NULL, 'v'},
	{"jobs", required_argument, NULL, 'j'},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"queue-depth", required_argument, NULL, OPT_QD},
	{"chunk-size", required_argument, NULL, OPT_CHUNK},
	{"direct", no_argument, NULL, OPT_DIRECT},
	{"verify", no_argument, NULL, OPT_VERIFY},
	{"sync", no_argument, NULL, OPT_SYNC},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

/* What an option handler returns besides an exit status. */
#define GO_ON (-1)     /* taken: the next option */
#define NOT_MINE (-2)  /* another handler's */

/* -b/--backup/-S as given; they are read once all options are in. */
struct backup_opts {
	bool make;
	const char *arg;
};

/* The destination: what happens to an existing one, and where it is. */
static int option_dest(int c, struct cp_args *a, struct backup_opts *b)
{
	switch (c) {
	case 'f': O.force = true; break;
	case 'i': O.interactive = true, O.noclobber = false; break;
	case 'n': O.noclobber = true, O.interactive = false; break;
	case 'u': O.update = true; break;
	case OPT_REMOVE_DEST: O.remove_dest = true; break;
	case 'b':
	case OPT_BACKUP:
		b->make = true;
		if (optarg)
			b->arg = optarg;
		break;
	case 'S':
		b->make = true;
		O.suffix = optarg;
		break;
	case 't': a->target_dir = optarg; break;
	case 'T': a->no_target_dir = true; break;
	case OPT_PARENTS: O.parents = true; break;
	case OPT_STRIP_SLASHES: O.strip_slashes = true; break;
	default: return NOT_MINE;
	}
	return GO_ON;
}

/* --preserve[=LIST] and --no-preserve=LIST. */
static int option_preserve(int c)
{
	unsigned bits;
	if (c == OPT_PRESERVE) {
		if (!optarg) {
			O.preserve |= P_MODE | P_OWNER | P_TIME;
			return GO_ON;
		}
		int pr = parse_preserve("--preserve", optarg, &bits);
		if (pr < 0)
			return pr == -2 ? 1 : cp_try_help();
		O.preserve |= bits;
		return GO_ON;
	}
	if (parse_preserve("--no-preserve", optarg, &bits) < 0)
		return cp_try_help();
	O.preserve &= ~bits;
	if (bits & P_MODE) /* cp: new files 0666, dirs 0777, less the umask */
		O.no_preserve_mode = true;
	return GO_ON;
}

/* What is copied, how links are followed, what is made and kept. */
static int option_what(int c)
{
	switch (c) {
	case 'l': O.hardlink = true; break;
	case 's': O.symlink = true; break;
	case 'x': O.one_fs = true; break;
	case OPT_ATTR_ONLY: O.attr_only = true; break;
	case OPT_COPY_CONTENTS: O.copy_contents = true; break;
	case 'Z':
		/* as cp without SELinux: -Z is ignored, a context named is
		   ignored with a warning (urt-cp never sets contexts) */
		if (optarg)
			cp_msg("warning: ignoring --context; it requires an SELinux-enabled kernel");
		break;
	case 'a':
		O.recursive = true;
		O.deref = 'P';
		O.preserve |= P_MODE | P_TIME | P_OWNER | P_LINKS | P_XATTR;
		break;
	case 'd':
		O.deref = 'P';
		O.preserve |= P_LINKS;
		break;
	case 'r': case 'R': O.recursive = true; break;
	case 'p': O.preserve |= P_MODE | P_OWNER | P_TIME; break;
	case OPT_PRESERVE: case OPT_NO_PRESERVE: return option_preserve(c);
	case 'L': case 'P': case 'H': O.deref = c; break;
	case 'v': O.verbose = true; break;
	default: return NOT_MINE;
	}
	return GO_ON;
}

/* How the data is moved: sparseness, reflinks, parallelism, sizes, I/O
   modes; and --help, --version. */
static int option_how(int c)
{
	static const char *const sparse_vals[] = {"auto", "always", "never", NULL};
	static const char *const reflink_vals[] = {"auto", "always", "never", NULL};
	int k;
	uint64_t v;
	switch (c) {
	case OPT_SPARSE:
		if (pick("--sparse", optarg, sparse_vals, &k) < 0)
			return cp_try_help();
		O.sparse = k;
		break;
	case OPT_REFLINK:
		k = REFLINK_ALWAYS; /* cp: plain --reflink is --reflink=always */
		if (optarg && pick("--reflink", optarg, reflink_vals, &k) < 0)
			return cp_try_help();
		O.reflink = k;
		break;
	case 'j':
		if (opt_uint("-j", optarg, 1, 4096, &O.jobs) < 0)
			return cp_try_help();
		break;
	case OPT_THREADS:
		if (opt_uint("--threads", optarg, 1, 1024, &O.threads) < 0)
			return cp_try_help();
		break;
	case OPT_QD:
		if (opt_uint("--queue-depth", optarg, 1, 256, &O.depth) < 0)
			return cp_try_help();
		break;
	case OPT_CHUNK:
		if (tool_parse_size(cp_prog, "--chunk-size", optarg, 4096, 1u << 30, &v) < 0)
			return cp_try_help();
		if (v % 4096) {
			cp_msg("invalid value '%s' for --chunk-size: expected a multiple of 4K", optarg);
			return cp_try_help();
		}
		O.chunk = (size_t)v;
		break;
	case OPT_PROGRESS: O.progress = 1; break;
	case OPT_NO_PROGRESS: O.progress = 0; break;
	case OPT_DIRECT: O.direct = true; break;
	case OPT_VERIFY: O.verify = true; break;
	case OPT_SYNC: O.sync = true; break;
	case OPT_HELP: usage(stdout); return 0;
	case OPT_VERSION: printf("urt-cp (urt) %s\n", URT_VERSION_STRING); return 0;
	default: return NOT_MINE;
	}
	return GO_ON;
}

/* The options that cannot go together, and what follows from the others. */
static int check_options(const struct cp_args *a, const struct backup_opts *b)
{
	/* cp: with -l and none of -H -L -P, symlinks are followed, also
	   with -R (hard links to what they point to) */
	if (O.hardlink && !O.deref)
		O.deref = 'L';
	if (O.hardlink && O.symlink) {
		cp_msg("cannot make both hard and symbolic links");
		return cp_try_help();
	}
	if (b->make && O.noclobber) {
		cp_msg("options --backup and --no-clobber are mutually exclusive");
		return cp_try_help();
	}
	if (b->make && parse_backup(b->arg, &O.backup) < 0)
		return cp_try_help();
	if (O.backup != BACKUP_NONE) {
		if (!O.suffix)
			O.suffix = getenv("SIMPLE_BACKUP_SUFFIX");
		/* cp: a suffix with a slash (or none) is "~" */
		if (!O.suffix || !*O.suffix || strchr(O.suffix, '/'))
			O.suffix = "~";
	}
	if (O.reflink == REFLINK_ALWAYS && O.sparse != SPARSE_AUTO) {
		cp_msg("--reflink can be used only with --sparse=auto");
		return cp_try_help();
	}
	if (a->target_dir && a->no_target_dir) {
		cp_msg("cannot combine --target-directory (-t) and --no-target-directory (-T)");
		return cp_try_help();
	}
	return GO_ON;
}

int cp_options(int argc, char **argv, struct cp_args *a)
{
	struct backup_opts b = {0};
	int c;
	while ((c = getopt_long(argc, argv, "abdfHilLnprsS:uvxj:t:TPRZ", longopts, NULL)) != -1) {
		int r = option_dest(c, a, &b);
		if (r == NOT_MINE)
			r = option_what(c);
		if (r == NOT_MINE)
			r = option_how(c);
		if (r == NOT_MINE)
			return cp_try_help();
		if (r != GO_ON)
			return r;
	}
	return check_options(a, &b);
}

/* The operands after the options, as cp reads them (cp.h). */
int cp_operands(int argc, char **argv, struct cp_args *a, char **backup_dst)
{
	int nops = argc - optind;
	if (nops < (a->target_dir ? 1 : 2)) {
		if (nops)
			cp_msg("missing destination file operand after '%s'", argv[optind]);
		else
			cp_msg("missing file operand");
		return cp_try_help();
	}
	if (a->no_target_dir && nops > 2) {
		cp_msg("extra operand '%s'", argv[optind + 2]);
		return cp_try_help();
	}
	a->srcs = argv + optind;
	a->nsrc = a->target_dir ? nops : nops - 1;
	a->dst = a->target_dir ? a->target_dir : argv[argc - 1];
	struct stat dst;
	int dst_err = stat(a->dst, &dst) == 0 ? 0 : errno;
	a->into_dir = !a->no_target_dir && !dst_err && S_ISDIR(dst.st_mode);
	/* --strip-trailing-slashes: "dir/" -> "dir" ("/" stays); as cp, only
	   for sources copied into a directory */
	if (O.strip_slashes && a->into_dir)
		for (int i = 0; i < a->nsrc; i++)
			for (size_t n = strlen(a->srcs[i]); n > 1 && a->srcs[i][n - 1] == '/'; n--)
				a->srcs[i][n - 1] = 0;
	if (O.parents && !a->into_dir) {
		cp_msg("with --parents, the destination must be a directory");
		return cp_try_help();
	}
	if (a->target_dir && !a->into_dir) {
		if (dst_err)
			cp_err(dst_err, "target directory", a->dst);
		else
			cp_msg("target '%s' is not a directory", a->dst);
		return 1;
	}
	if (a->nsrc > 1 && !a->into_dir) {
		cp_msg("target '%s' is not a directory", a->dst);
		return 1;
	}
	/* cp: "cp --force --backup f f" copies f to its backup's name */
	if (O.force && O.backup != BACKUP_NONE && a->nsrc == 1 && !a->into_dir &&
	    !strcmp(a->srcs[0], a->dst) && !dst_err && S_ISREG(dst.st_mode)) {
		char *b = dest_backup_path(a->dst);
		if (!b) {
			cp_msg("out of memory");
			return 1;
		}
		a->dst = *backup_dst = b;
	}
	return -1;
}
