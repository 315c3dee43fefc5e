// SPDX-License-Identifier: MIT
/*
 * Pipes and named pipes: every end the process holds, and the bytes buffered,
 * copied with tee() through a scratch pipe so that the app still reads
 * them after the checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fd_dump.h"

static bool fd_pipe_claims(const struct fd_live *l)
{
	return S_ISFIFO(l->st.st_mode) && !strncmp(l->target, "pipe:[", 6);
}

/* What the pipe kinds keep across a process's descriptors (named pipes'
 * too: they are pipes). */
struct pipe_dump {
	size_t cap;	 /* room in fds->pipes */
	uint8_t *ends;	 /* per fds->pipes[i]: 1 << O_ACCMODE of each end seen */
	uint32_t *slots; /* 2 * cap slots: 1 + index in fds->pipes, by id */
	int scratch[2];	 /* tee() target, once one is needed */
	bool scratch_open;
};

static struct pipe_dump *pipe_state(struct fd_dump_ctx *ctx)
{
	return fd_kind_state(ctx, FD_STATE_SC__FD_KIND__PIPE, sizeof(struct pipe_dump));
}

/*
 * Pipes by id, in a table with open addressing of twice the pipes' room:
 * a scan of every pipe for each end made thousands of pipes quadratic.
 * The slot where id is, or the free one where it would go.
 */
static uint32_t *pipe_slot(const Sc__Fds *fds, const struct pipe_dump *pd, uint64_t id)
{
	size_t mask = 2 * pd->cap - 1;
	size_t i = (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 20) & mask;

	while (pd->slots[i] && fds->pipes[pd->slots[i] - 1]->id != id)
		i = (i + 1) & mask;
	return &pd->slots[i];
}

/* Index of the pipe with this id in fds->pipes, or -1. */
static long find_pipe(const Sc__Fds *fds, const struct pipe_dump *pd, uint64_t id)
{
	return pd->cap ? (long)*pipe_slot(fds, pd, id) - 1 : -1;
}

/* A read end of the pipe behind l: l itself, or the pipe opened again
 * through /proc (fd is its write end). */
static int read_end(const struct fd_live *l, uint32_t flags)
{
	char path[32];

	if ((flags & O_ACCMODE) == O_RDONLY)
		return l->fd;
	rt_fmt_i64(rt_stpcpy(path, "/proc/self/fd/"), l->fd);
	return (int)sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
}

/*
 * Copies what is buffered in the pipe behind l without consuming it: tee()
 * into a scratch pipe (one per checkpoint) and read from there. Most pipes
 * hold nothing, which FIONREAD tells first.
 */
static int copy_buffered(struct fd_dump_ctx *ctx, struct pipe_dump *pd, const struct fd_live *l,
			 uint32_t flags, Sc__Pipe *p)
{
	int queued = 0, rfd, err;
	long size = sc_sys2(__NR_fcntl, l->fd, F_GETPIPE_SZ), n, got = 0;

	if (size <= 0)
		return size < 0 ? (int)size : -EIO;
	p->size = (uint32_t)size;
	if (p->has_data_pid || sc_sys3(__NR_ioctl, l->fd, FIONREAD, &queued) || queued <= 0)
		return 0;
	if (!pd->scratch_open) {
		if (sc_sys2(__NR_pipe2, pd->scratch, O_NONBLOCK | O_CLOEXEC))
			return -EMFILE;
		pd->scratch_open = true;
		if ((err = fd_dump_own(ctx, pd->scratch[0])) || (err = fd_dump_own(ctx, pd->scratch[1])))
			return err;
	}
	if (sc_sys2(__NR_fcntl, pd->scratch[1], F_GETPIPE_SZ) < size &&
	    sc_sys3(__NR_fcntl, pd->scratch[1], F_SETPIPE_SZ, size) < 0)
		return -ENOMEM;
	rfd = read_end(l, flags);
	if (rfd < 0)
		return rfd;
	n = sc_sys4(__NR_tee, rfd, pd->scratch[1], size, SPLICE_F_NONBLOCK);
	if (rfd != l->fd)
		sc_sys1(__NR_close, rfd);
	if (n == -EAGAIN)
		return 0;
	if (n <= 0)
		return (int)n;
	p->data.data = rt_alloc((size_t)n);
	if (!p->data.data)
		return -ENOMEM;
	while (got < n) {
		long r = sc_sys3(__NR_read, pd->scratch[0], p->data.data + got, n - got);

		if (r <= 0)
			break;
		got += r;
	}
	p->has_data = true;
	p->data.len = (size_t)got;
	return got == n ? 0 : -EIO;
}

/* The pipe behind e, with its bytes, recorded once per pipe. */
static int record_pipe(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	Sc__Fds *fds = ctx->fds;
	struct pipe_dump *pd = pipe_state(ctx);
	Sc__Pipe *p;
	int keeper;
	long idx;

	if (!pd)
		return -ENOMEM;
	e->has_pipe_id = true;
	e->pipe_id = l->st.st_ino;
	idx = find_pipe(fds, pd, e->pipe_id);
	if (idx >= 0) {
		pd->ends[idx] |= 1U << (e->flags & O_ACCMODE);
		return 0;
	}
	if (fds->n_pipes == pd->cap) {
		size_t cap = pd->cap ? pd->cap * 2 : 16;
		Sc__Pipe **bigger = rt_alloc(sizeof(*bigger) * cap);
		uint8_t *ends = rt_alloc(cap);
		uint32_t *slots = rt_alloc(sizeof(*slots) * 2 * cap);

		if (!bigger || !ends || !slots)
			return -ENOMEM;
		if (fds->n_pipes) {
			memcpy(bigger, fds->pipes, sizeof(*bigger) * fds->n_pipes);
			memcpy(ends, pd->ends, fds->n_pipes);
		}
		memset(slots, 0, sizeof(*slots) * 2 * cap);
		fds->pipes = bigger;
		pd->ends = ends;
		pd->slots = slots;
		pd->cap = cap;
		for (size_t i = 0; i < fds->n_pipes; i++)
			*pipe_slot(fds, pd, fds->pipes[i]->id) = (uint32_t)i + 1;
	}
	pd->ends[fds->n_pipes] = (uint8_t)(1U << (e->flags & O_ACCMODE));
	p = rt_alloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	sc__pipe__init(p);
	p->id = e->pipe_id;
	/* Another process of the tree stores the bytes of a pipe it holds too. */
	keeper = rt_tree_pipe_keeper(p->id);
	if (keeper && keeper != ctx->src->pid) {
		p->has_data_pid = true;
		p->data_pid = keeper;
	}
	fds->pipes[fds->n_pipes++] = p;
	*pipe_slot(fds, pd, p->id) = (uint32_t)fds->n_pipes;
	return copy_buffered(ctx, pd, l, e->flags, p);
}

static int fd_pipe_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	e->kind = SC__FD_KIND__PIPE;
	return record_pipe(ctx, l, e);
}

static bool fd_fifo_claims(const struct fd_live *l)
{
	static const char tag[] = " (deleted)";
	size_t n = strlen(l->target);

	return S_ISFIFO(l->st.st_mode) && l->target[0] == '/' &&
	       !(n > sizeof(tag) - 1 && !strcmp(l->target + n - (sizeof(tag) - 1), tag));
}

/* A named pipe: anyone may open its other end later, so one end is enough. */
static int fd_fifo_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	e->kind = SC__FD_KIND__FIFO;
	return record_pipe(ctx, l, e);
}

/* Restoring one end alone would change what the app sees (EOF, EPIPE):
 * both ends of every pipe must be in the image. In a checkpoint of a tree
 * the other end may be in another process: the root checks the whole
 * tree's pipes instead (tree.c). */
static int fd_pipe_check_ends(struct fd_dump_ctx *ctx)
{
	const Sc__Fds *fds = ctx->fds;
	const struct pipe_dump *pd = ctx->kind_state[FD_STATE_SC__FD_KIND__PIPE];
	const uint8_t both = 1U << O_RDONLY | 1U << O_WRONLY;

	if (ctx->tree->several || !pd)
		return 0;
	for (size_t p = 0; p < fds->n_pipes; p++) {
		if ((pd->ends[p] & both) == both)
			continue;
		for (size_t i = 0; i < fds->n_fds; i++) {
			const Sc__Fd *e = fds->fds[i];

			if (e->kind == SC__FD_KIND__PIPE && e->pipe_id == fds->pipes[p]->id) {
				rt_stpcpy(fd_why(ctx, e),
					  "the other end of this pipe is outside the process");
				return -EOPNOTSUPP;
			}
		}
		/* Only named pipes use this one: they may have one end. */
	}
	return 0;
}

const struct fd_dump_half fd_pipe_dump_half = {
	.claims = fd_pipe_claims,
	.dump = fd_pipe_dump,
	.after_all = fd_pipe_check_ends,
};

const struct fd_dump_half fd_fifo_dump_half = {
	.claims = fd_fifo_claims,
	.dump = fd_fifo_dump,
};
