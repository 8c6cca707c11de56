/* SPDX-License-Identifier: MIT */
/*
 * urt-httpd: static files under --root. Paths arrive sanitized (relative,
 * no ".." segments), but a symlink inside the root can still point out of
 * it, so every open is confined by the kernel: openat2 with RESOLVE_BENEATH
 * refuses any step outside the root, symlinks included (Linux 5.6). Where
 * openat2 is missing, the path is walked one component at a time with
 * O_NOFOLLOW, which refuses every symlink, even harmless ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "httpd.h"

#define INDEX "index.html"

/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
   after fstat anyway; regular-file reads ignore the flag). */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static int open_beneath(int rootfd, const char *rel)
{
	struct open_how how = {
		.flags = OPEN_FLAGS,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
	return fd < 0 ? -errno : (int)fd;
}

/* The fallback: rel has no "." or ".." segments, so refusing symlinks at
   every step keeps the walk inside the root. */
static int open_walk(int rootfd, const char *rel)
{
	char name[NAME_MAX + 1];
	int dfd = rootfd;
	for (;;) {
		size_t n = strcspn(rel, "/");
		if (n > NAME_MAX) {
			if (dfd != rootfd)
				close(dfd);
			return -ENAMETOOLONG;
		}
		memcpy(name, rel, n);
		name[n] = '\0';
		bool last = rel[n] == '\0';
		int fd = openat(dfd, name, O_NOFOLLOW | (last ? OPEN_FLAGS : O_PATH | O_DIRECTORY | O_CLOEXEC));
		int err = errno;
		if (dfd != rootfd)
			close(dfd);
		if (fd < 0)
			return -err;
		if (last)
			return fd;
		dfd = fd;
		rel += n + 1;
	}
}

static int open_rel(const struct httpd *s, const char *rel)
{
	return s->openat2 ? open_beneath(s->rootfd, rel) : open_walk(s->rootfd, rel);
}

int static_init(struct httpd *s, const char *root)
{
	s->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0)
		return -errno;
	/* URT_HTTPD_NO_OPENAT2 forces the fallback, so tests can cover it */
	const char *no = getenv("URT_HTTPD_NO_OPENAT2");
	int fd = no && *no ? -ENOSYS : open_beneath(s->rootfd, ".");
	s->openat2 = fd >= 0;
	if (fd >= 0)
		close(fd);
	return 0;
}

/* The status for a failed open. */
static int open_status(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -ENAMETOOLONG:
		return 404;
	case -EXDEV:  /* RESOLVE_BENEATH: the path leaves the root */
	case -ELOOP:  /* O_NOFOLLOW met a symlink, or too many of them */
	case -EACCES:
	case -EPERM:
		return 403;
	default:
		return 500;
	}
}

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{"html", "text/html; charset=utf-8"},  {"htm", "text/html; charset=utf-8"},
		{"css", "text/css; charset=utf-8"},    {"js", "text/javascript; charset=utf-8"},
		{"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
		{"txt", "text/plain; charset=utf-8"},  {"md", "text/markdown; charset=utf-8"},
		{"xml", "application/xml"},            {"svg", "image/svg+xml"},
		{"png", "image/png"},                  {"jpg", "image/jpeg"},
		{"jpeg", "image/jpeg"},                {"gif", "image/gif"},
		{"webp", "image/webp"},                {"avif", "image/avif"},
		{"ico", "image/x-icon"},               {"wasm", "application/wasm"},
		{"pdf", "application/pdf"},            {"zip", "application/zip"},
		{"gz", "application/gzip"},            {"tar", "application/x-tar"},
		{"mp4", "video/mp4"},                  {"webm", "video/webm"},
		{"mp3", "audio/mpeg"},                 {"ogg", "audio/ogg"},
		{"woff", "font/woff"},                 {"woff2", "font/woff2"},
		{"ttf", "font/ttf"},                   {"otf", "font/otf"},
	};
	const char *base = strrchr(name, '/');
	const char *dot = strrchr(base ? base : name, '.');
	if (dot)
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (!strcasecmp(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

/*
 * Read the file into the output buffer, chunk by chunk, sending each time it
 * fills. If the file shrinks under us the promised Content-Length cannot be
 * met; the connection is then marked to close, which is how HTTP/1.1
 * reports a truncated body.
 */
static int send_body(struct conn *c, int fd, uint64_t size)
{
	uint64_t off = 0;
	while (off < size) {
		if (c->olen == CONN_OBUF) {
			int r = conn_flush(c);
			if (r < 0)
				return r;
		}
		size_t room = CONN_OBUF - c->olen;
		if (room > size - off)
			room = (size_t)(size - off);
		ssize_t n = urt_read(fd, c->obuf + c->olen, room, (int64_t)off);
		if (n == -ECANCELED)
			return (int)n;
		if (n <= 0) {
			c->close = true;
			return 0;
		}
		c->olen += (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int static_serve(struct conn *c, size_t rel_len, bool head_only)
{
	char *path = c->path;
	/* "x/" names a directory: open "x" and check that it is one (the
	   fallback walk would take the trailing slash as an empty name) */
	bool want_dir = rel_len && path[rel_len - 1] == '/';
	if (want_dir)
		path[--rel_len] = '\0';
	int fd = open_rel(c->srv, rel_len ? path : ".");
	if (fd < 0)
		return open_status(fd);
	struct stat st;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISDIR(st.st_mode) && want_dir) { /* "/file.txt/": not a directory */
		close(fd);
		return 404;
	}
	if (S_ISDIR(st.st_mode) && rel_len && !want_dir) {
		/* a directory named without its slash: redirect, so that the
		   relative links of its index resolve inside it */
		close(fd);
		return 301;
	}
	if (S_ISDIR(st.st_mode)) {
		/* conn.c leaves room for "/index.html" after the path */
		strcpy(path + rel_len, rel_len ? "/" INDEX : INDEX);
		close(fd);
		fd = open_rel(c->srv, path);
		if (fd < 0)
			return open_status(fd);
		if (fstat(fd, &st) < 0)
			goto fail;
	}
	if (!S_ISREG(st.st_mode)) { /* devices, FIFOs, sockets, a directory index.html */
		close(fd);
		return 403;
	}
	int r = resp_head(c, 200, content_type(path), (uint64_t)st.st_size, NULL);
	if (r == 0 && !head_only)
		r = send_body(c, fd, (uint64_t)st.st_size);
	close(fd);
	return r;
fail:
	close(fd);
	return 500;
}
