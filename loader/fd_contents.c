// SPDX-License-Identifier: MIT
/*
 * Files that existed only in the process: an unlinked file comes back as
 * an unlinked file in its old directory, a memfd as a memfd with its name
 * and seals, both with the saved contents, flags and offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fd_restore.h"

static const char deleted_tag[] = " (deleted)";

/* An unlinked file is given a name, ".crload-PID-N" in its directory, for
 * as long as it takes to open it by name: N is tried up to this. */
#define TRANSIENT_TRIES 100

/* path without " (deleted)", in buf */
static const char *live_name(const char *path, char *buf, size_t len)
{
	size_t n = strlen(path);

	if (n > sizeof(deleted_tag) - 1 &&
	    !strcmp(path + n - (sizeof(deleted_tag) - 1), deleted_tag))
		n -= sizeof(deleted_tag) - 1;
	snprintf(buf, len, "%.*s", (int)n, path);
	return buf;
}

/* path opened with flags and seeked to e's offset; -1 with err set. */
static int open_at_offset(const char *path, int flags, const Sc__Fd *e, char *err)
{
	int nfd = open(path, flags);

	if (nfd < 0 || lseek(nfd, (off_t)e->pos, SEEK_SET) < 0) {
		sc_err(err, "fd %d: reopening: %s", e->fd, strerror(errno));
		if (nfd >= 0)
			close(nfd);
		return -1;
	}
	return nfd;
}

/* A new description of the file behind fd with e's flags and offset,
 * opened through /proc/self/fd: without O_NOFOLLOW (fd_reopen_flags). */
static int reopen(int fd, const Sc__Fd *e, char *err)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return open_at_offset(proc, fd_reopen_flags(e, true), e, err);
}

/* Writes the saved bytes into fd; -1 with err set. */
static int fill(int fd, const Sc__Fd *e, char *err)
{
	size_t off = 0;

	while (off < e->contents.len) {
		ssize_t r = pwrite(fd, e->contents.data + off, e->contents.len - off, (off_t)off);

		if (r <= 0) {
			sc_err(err, "fd %d: writing back %zu bytes: %s", e->fd, e->contents.len,
			       strerror(errno));
			return -1;
		}
		off += (size_t)r;
	}
	return 0;
}

/* Links the new unlinked file fd (made with O_TMPFILE, so it may be)
 * into dir under a name no other file has, in name; -1 with err set. */
static int link_transient(int fd, const char *dir, char *name, size_t len, const Sc__Fd *e,
			  char *err)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (unsigned i = 0; i < TRANSIENT_TRIES; i++) {
		snprintf(name, len, "%s/.crload-%d-%u", dir, (int)getpid(), i);
		if (!linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW))
			return 0;
		if (errno != EEXIST)
			break;
	}
	sc_err(err, "fd %d: naming an unlinked file in %.200s: %s", e->fd, dir, strerror(errno));
	return -1;
}

/*
 * e's description of the new file fd, opened by its transient name, which
 * then goes: through /proc/self/fd the kernel refuses O_NOFOLLOW (sqlite3
 * and Open MPI open their temporary files with it), and without it the
 * description would not report it. fd is closed.
 */
static int open_by_name(int fd, const char *name, const Sc__Fd *e, char *err)
{
	int nfd = open_at_offset(name, fd_reopen_flags(e, false), e, err);

	if (unlink(name) && nfd >= 0) {
		sc_err(err, "fd %d: unlinking %.200s again: %s", e->fd, name, strerror(errno));
		close(nfd);
		nfd = -1;
	}
	close(fd);
	return nfd;
}

/* Fills fd with the saved bytes, then opens it again with the saved flags
 * (a new description, as the app had) and seeks. */
static int fill_and_reopen(int fd, const Sc__Fd *e, char *err)
{
	int nfd = fill(fd, e, err) ? -1 : reopen(fd, e, err);

	close(fd);
	return nfd;
}

/*
 * An earlier descriptor of the image on the same file (opened twice, or
 * through /proc/self/fd) is already in place: e is another description
 * of that one file, not a copy of it.
 */
static int same_file_restored(const struct fd_restore_ctx *ctx, const Sc__Fd *e)
{
	for (size_t i = 0; i < ctx->fds->n_fds && ctx->fds->fds[i] != e; i++) {
		const Sc__Fd *o = ctx->fds->fds[i];

		if (o->kind == e->kind && e->has_ino && o->has_ino && o->ino == e->ino &&
		    o->dev == e->dev)
			return o->fd;
	}
	return -1;
}

static int fd_ghost_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	char name[4096], tmp[4096 + 32], *slash;
	int fd = same_file_restored(ctx, e);

	if (fd >= 0)
		return reopen(fd, e, err);
	live_name(e->path, name, sizeof(name));
	slash = strrchr(name, '/');
	if (!slash) {
		sc_err(err, "fd %d: %s has no directory", e->fd, e->path);
		return -1;
	}
	*(slash == name ? slash + 1 : slash) = '\0';
	fd = open(name, O_TMPFILE | O_RDWR | O_CLOEXEC, e->mode & 07777);
	if (fd >= 0) {
		if (fill(fd, e, err) || link_transient(fd, name, tmp, sizeof(tmp), e, err)) {
			close(fd);
			return -1;
		}
	} else if (errno == EOPNOTSUPP) {
		/* No O_TMPFILE here: a named file from the start. */
		snprintf(tmp, sizeof(tmp), "%s/.crload-XXXXXX", name);
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd >= 0 && fill(fd, e, err)) {
			unlink(tmp);
			close(fd);
			return -1;
		}
	}
	if (fd < 0) {
		sc_err(err, "fd %d: an unlinked file in %.200s: %s", e->fd, name, strerror(errno));
		return -1;
	}
	return open_by_name(fd, tmp, e, err);
}

static int fd_memfd_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	char name[4096];
	const char *n = live_name(e->path, name, sizeof(name)) + strlen("/memfd:");
	int fd = same_file_restored(ctx, e);

	if (fd >= 0)
		return reopen(fd, e, err);
	fd = memfd_create(n, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		sc_err(err, "fd %d: memfd %.200s: %s", e->fd, n, strerror(errno));
		return -1;
	}
	fd = fill_and_reopen(fd, e, err);
	if (fd >= 0 && e->seals && fcntl(fd, F_ADD_SEALS, (int)e->seals)) {
		sc_err(err, "fd %d: seals %#x: %s", e->fd, e->seals, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void fd_ghost_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s, %zu bytes kept in the image, offset %llu", e->path,
		 e->contents.len, (unsigned long long)e->pos);
}

static void fd_memfd_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s, %zu bytes, seals %#x, offset %llu", e->path, e->contents.len,
		 e->seals, (unsigned long long)e->pos);
}

/* GHOST, MEMFD: a name, and the contents whole. */
int fd_check_contents(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->path || f->path[0] != '/' || !f->has_contents || !f->has_size ||
	    f->contents.len != f->size)
		return sc_err(err, "fd %d: file contents missing or cut", f->fd);
	return 0;
}

const struct fd_restore_half fd_memfd_restore_half = {
	.restore = fd_memfd_restore,
	.describe = fd_memfd_describe,
};

const struct fd_restore_half fd_ghost_restore_half = {
	.restore = fd_ghost_restore,
	.describe = fd_ghost_describe,
};
