// SPDX-License-Identifier: MIT
/*
 * Pipes: one new pipe per saved pipe, refilled with the bytes it held;
 * every descriptor of an end gets a copy of that end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_restore.h"

static const Sc__Pipe *saved_pipe(const Sc__Fds *fds, uint64_t id)
{
	for (size_t i = 0; i < fds->n_pipes; i++)
		if (fds->pipes[i]->id == id)
			return fds->pipes[i];
	return NULL;
}

/* The pipes made for this process (named pipes' too), the tree's shared
 * ones first. */
struct pipe_restore {
	struct fd_restore_pipe *v;
	size_t n, cap; /* cap 0: exactly n allocated (the shared ones) */
};

static struct pipe_restore *pipe_state(struct fd_restore_ctx *ctx)
{
	struct pipe_restore *ps = ctx->kind_state[FD_RESTORE_SC__FD_KIND__PIPE];

	if (ps)
		return ps;
	ps = fd_restore_state(ctx, FD_RESTORE_SC__FD_KIND__PIPE, sizeof(*ps));
	if (ps) {
		ps->v = ctx->shared_pipes;
		ps->n = ctx->nshared_pipes;
	}
	return ps;
}

/* A new entry for pipe id, the array grown by doubling (one at a time,
 * thousands of pipes copied it thousands of times). */
static struct fd_restore_pipe *add_pipe(struct pipe_restore *ps, uint64_t id)
{
	struct fd_restore_pipe *p;

	if (ps->n >= ps->cap) {
		size_t cap = ps->n < 4 ? 8 : 2 * ps->n;

		p = realloc(ps->v, cap * sizeof(*p));
		if (!p)
			return NULL;
		ps->v = p;
		ps->cap = cap;
	}
	p = &ps->v[ps->n++];
	p->id = id;
	p->ends[0] = p->ends[1] = -1;
	return p;
}

/* What a new pipe holds before F_SETPIPE_SZ: 16 pages. Asking for it (or
 * less) cannot fail for want of pipe-user-pages-soft; more can. */
#define PIPE_DEFAULT_SIZE 65536

int fd_pipe_make(const Sc__Pipe *sp, int scratch_min, int ends[2], char *err)
{
	int made[2];

	ends[0] = ends[1] = -1;
	if (pipe2(made, O_CLOEXEC))
		goto fail;
	for (int i = 0; i < 2; i++) {
		ends[i] = fcntl(made[i], F_DUPFD_CLOEXEC, scratch_min);
		close(made[i]);
	}
	if (ends[0] < 0 || ends[1] < 0 ||
	    (fcntl(ends[1], F_SETPIPE_SZ, sp->size) < 0 && sp->size > PIPE_DEFAULT_SIZE) ||
	    (sp->has_data && sp->data.len &&
	     write(ends[1], sp->data.data, sp->data.len) != (ssize_t)sp->data.len))
		goto fail;
	return 0;
fail:
	sc_err(err, "pipe:[%llu] of %u bytes: %s", (unsigned long long)sp->id, sp->size,
	       strerror(errno));
	for (int i = 0; i < 2; i++)
		if (ends[i] >= 0)
			close(ends[i]);
	return -1;
}

static struct fd_restore_pipe *make_pipe(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	struct pipe_restore *ps = pipe_state(ctx);
	struct fd_restore_pipe *p;

	/* Newest first: a pipe's two ends are mostly neighbours. */
	for (size_t i = ps ? ps->n : 0; i-- > 0;)
		if (ps->v[i].id == e->pipe_id)
			return &ps->v[i];
	if (!ps || !(p = add_pipe(ps, e->pipe_id))) {
		sc_err(err, "fd %d: pipe: out of memory", e->fd);
		return NULL;
	}
	return fd_pipe_make(saved_pipe(ctx->fds, e->pipe_id), ctx->scratch_min, p->ends, err)
		       ? NULL
		       : p;
}

static int fd_pipe_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	struct fd_restore_pipe *p = make_pipe(ctx, e, err);
	int end = (e->flags & O_ACCMODE) == O_RDONLY ? 0 : 1;

	if (!p)
		return -1;
	return fd_lend(ctx, p->ends[end], e, err);
}

/* Closes the scratch ends of every pipe made, and of the shared ones. */
static void fd_pipe_release(struct fd_restore_ctx *ctx)
{
	struct pipe_restore *ps = ctx->kind_state[FD_RESTORE_SC__FD_KIND__PIPE];
	struct pipe_restore shared = { ctx->shared_pipes, ctx->nshared_pipes, 0 };

	/* No pipe was restored here: the shared ones still. */
	if (!ps)
		ps = &shared;
	for (size_t i = 0; i < ps->n; i++) {
		close(ps->v[i].ends[0]);
		if (ps->v[i].ends[1] >= 0)
			close(ps->v[i].ends[1]);
	}
	free(ps->v);
	if (ps != &shared)
		free(ps);
	ctx->kind_state[FD_RESTORE_SC__FD_KIND__PIPE] = NULL;
	ctx->shared_pipes = NULL;
	ctx->nshared_pipes = 0;
}

/*
 * A named pipe: one descriptor opened read-write holds it open (no
 * blocking, no ENXIO) while its bytes go back in and the app's ends are
 * opened by path; it is closed with the other scratch descriptors.
 */
static int fd_fifo_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	const Sc__Pipe *sp = saved_pipe(ctx->fds, e->pipe_id);
	struct pipe_restore *ps = pipe_state(ctx);
	struct fd_restore_pipe *p = NULL;
	int fd;

	for (size_t i = 0; ps && i < ps->n; i++)
		if (ps->v[i].id == e->pipe_id)
			p = &ps->v[i];
	if (!p) {
		int holder = open(e->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

		if (holder < 0 || !ps || !(p = add_pipe(ps, e->pipe_id))) {
			sc_err(err, "fd %d: %.256s: %s", e->fd, e->path,
			       strerror(holder < 0 ? errno : ENOMEM));
			if (holder >= 0)
				close(holder);
			return -1;
		}
		p->ends[0] = fcntl(holder, F_DUPFD_CLOEXEC, ctx->scratch_min);
		close(holder);
		if (p->ends[0] < 0 ||
		    (sp->has_data && sp->data.len &&
		     write(p->ends[0], sp->data.data, sp->data.len) != (ssize_t)sp->data.len)) {
			sc_err(err, "fd %d: refilling %.256s: %s", e->fd, e->path, strerror(errno));
			return -1;
		}
	}
	fd = open(e->path, ((int)e->flags & O_ACCMODE) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fcntl(fd, F_SETFL, (int)e->flags & O_NONBLOCK) < 0) {
		sc_err(err, "fd %d: %.256s: %s", e->fd, e->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void fd_fifo_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s, %s end", e->path,
		 (e->flags & O_ACCMODE) == O_RDONLY ? "read"
		 : (e->flags & O_ACCMODE) == O_WRONLY ? "write" : "read-write");
}

static void fd_pipe_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "pipe:[%llu] %s end", (unsigned long long)e->pipe_id,
		 (e->flags & O_ACCMODE) == O_RDONLY ? "read" : "write");
}

/* PIPE: its pipe is in the image's list. */
int fd_check_pipe(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	if (!f->has_pipe_id || !fd_check_has_pipe(ctx, f->pipe_id))
		return sc_err(err, "fd %d: its pipe is missing", f->fd);
	return 0;
}

/* FIFO: a pipe that has a path too. */
int fd_check_fifo(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	return fd_check_pipe(ctx, f, err) || fd_check_path(ctx, f, err) ? -1 : 0;
}

const struct fd_restore_half fd_pipe_restore_half = {
	.restore = fd_pipe_restore,
	.describe = fd_pipe_describe,
	.release = fd_pipe_release,
};

const struct fd_restore_half fd_fifo_restore_half = {
	.restore = fd_fifo_restore,
	.describe = fd_fifo_describe,
};
