// SPDX-License-Identifier: MIT
/* What the image checks of the descriptor kinds share: the lookups of a
 * process's pipes and sockets, made once for all of its descriptors. Each
 * kind's check is in its restore half (loader/fd_KIND.c), beside the code
 * that relies on it, and loader/fd_kinds.c has their table. */
#include <stdlib.h>
#include <sys/socket.h>

#include "fd_checks.h"
#include "fdkinds.h"
#include "image.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The image's pipe ids, sorted; NULL with err set if one is listed twice. */
static uint64_t *sorted_pipe_ids(const Sc__Fds *fds, char *err)
{
	uint64_t *ids = malloc((fds->n_pipes + 1) * sizeof(*ids));

	if (!ids) {
		sc_err(err, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < fds->n_pipes; i++)
		ids[i] = fds->pipes[i]->id;
	qsort(ids, fds->n_pipes, sizeof(*ids), cmp_u64);
	for (size_t i = 1; i < fds->n_pipes; i++)
		if (ids[i] == ids[i - 1]) {
			sc_err(err, "pipe %llu listed twice", (unsigned long long)ids[i]);
			free(ids);
			return NULL;
		}
	return ids;
}

int fd_check_ctx_init(struct fd_check_ctx *ctx, const Sc__Fds *fds, char *err)
{
	const struct unix_node *twice;
	int ret = 0;

	*ctx = (struct fd_check_ctx){ .fds = fds,
				      .socks.v = calloc(fds->n_fds + 1, sizeof(*ctx->socks.v)) };
	for (size_t i = 0; i < fds->n_pipes; i++) {
		const Sc__Pipe *p = fds->pipes[i];

		if (p->size < 4096 || p->size > (1U << 30) ||
		    (p->has_data && p->data.len > p->size))
			ret = sc_err(err, "pipe %llu: %zu bytes in a pipe of %u",
				     (unsigned long long)p->id, p->has_data ? p->data.len : 0,
				     p->size);
	}
	if (!ctx->socks.v)
		ret = sc_err(err, "out of memory");
	/* A socket's checks look at its peer's UnixSocket: all must have one. */
	for (size_t i = 0; i < fds->n_fds && !ret; i++) {
		const Sc__Fd *f = fds->fds[i];

		if (f->kind != SC__FD_KIND__UNIX)
			continue;
		if (!f->unix_sock)
			ret = sc_err(err, "fd %d: a socket without type or peer", f->fd);
		else if (!f->has_dup_of)
			unix_node_of_fd(&ctx->socks.v[ctx->socks.n++], f, 0);
	}
	unix_graph_index(&ctx->socks);
	if (!ret && (twice = unix_graph_repeated(&ctx->socks)))
		ret = sc_err(err, "fd %d: socket:[%llu] listed twice",
			     ((const Sc__Fd *)twice->data)->fd, (unsigned long long)twice->ino);
	if (!ret && !(ctx->pipe_ids = sorted_pipe_ids(fds, err)))
		ret = -1;
	return ret;
}

void fd_check_ctx_free(struct fd_check_ctx *ctx)
{
	free(ctx->socks.v);
	free(ctx->pipe_ids);
}

bool fd_check_has_pipe(const struct fd_check_ctx *ctx, uint64_t id)
{
	return bsearch(&id, ctx->pipe_ids, ctx->fds->n_pipes, sizeof(*ctx->pipe_ids), cmp_u64);
}
