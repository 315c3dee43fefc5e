// SPDX-License-Identifier: MIT
/*
 * The loader's table of descriptor kinds: the restore halves, expanded
 * from the one list (common/fdkinds.h) so that each must exist to link,
 * and the passes over them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_restore.h"

#define RESTORE_ROW(k, name, dump, restore, check)                                                 \
	[k] = { name, restore##_restore, restore##_describe },
static const struct fd_restore_kind kinds[] = { SC_FD_KINDS(RESTORE_ROW) };
#undef RESTORE_ROW

const struct fd_restore_kind *fd_restore_kind(Sc__FdKind kind)
{
	if ((unsigned)kind >= sizeof(kinds) / sizeof(kinds[0]) || !kinds[kind].restore)
		return NULL;
	return &kinds[kind];
}

/* The kinds that keep what they made for several descriptors. */
static void (*const releases[])(struct fd_restore_ctx *ctx) = {
	fd_pipe_release, /* a pipe's ends */
	fd_unix_release, /* sockets made in pairs or connected to each other */
};

/* The kinds whose state names other descriptors. */
static int (*const finishers[])(const Sc__Fds *fds, char *err) = {
	fd_epoll_attach, /* interest lists */
};

void fd_restore_release(struct fd_restore_ctx *ctx)
{
	for (size_t i = 0; i < sizeof(releases) / sizeof(releases[0]); i++)
		releases[i](ctx);
}

int fd_restore_finish(const Sc__Fds *fds, char *err)
{
	for (size_t i = 0; i < sizeof(finishers) / sizeof(finishers[0]); i++)
		if (finishers[i](fds, err))
			return -1;
	return 0;
}

int fd_restore_owned(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int fd;

	ctx->lent = false;
	fd = fd_restore_kind(e->kind)->restore(ctx, e, err);
	if (fd < 0 || !ctx->lent)
		return fd;
	ctx->lent = false;
	fd = fcntl(fd, F_DUPFD_CLOEXEC, ctx->scratch_min);
	if (fd < 0)
		sc_err(err, "fd %d: copy of a description: %s", e->fd, strerror(errno));
	return fd;
}
