// SPDX-License-Identifier: MIT
/*
 * What the restore halves share to hand out descriptors: a copy of one at
 * the scratch numbers, or one description lent to several descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fd_restore.h"

int fd_scratch_dup(struct fd_restore_ctx *ctx, int fd, const Sc__Fd *e, char *err)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, ctx->scratch_min);

	/* Status flags belong to the end (one open file description): every
	 * descriptor of it had the same, as before. */
	if (copy < 0 || fcntl(copy, F_SETFL, (int)e->flags & O_NONBLOCK) < 0) {
		sc_err(err, "fd %d: %s", e->fd, strerror(errno));
		if (copy >= 0)
			close(copy);
		return -1;
	}
	return copy;
}

int fd_lend(struct fd_restore_ctx *ctx, int holder, const Sc__Fd *e, char *err)
{
	if (fcntl(holder, F_SETFL, (int)e->flags & O_NONBLOCK) < 0) {
		sc_err(err, "fd %d: %s", e->fd, strerror(errno));
		return -1;
	}
	ctx->lent = true;
	return holder;
}
