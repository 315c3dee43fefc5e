/* SPDX-License-Identifier: MIT */
/* The runtime halves of the descriptor kinds (see common/fdkinds.h). */
#ifndef SELFCKPT_FD_DUMP_H
#define SELFCKPT_FD_DUMP_H

#include "fdkinds.h"
#include "rt.h"

struct fd_dump_ctx {
	Sc__Fds *fds;
	size_t pipes_cap;
	char *why; /* set with the reason when a dump half refuses */
	dev_t *devs; /* of fds->fds[i], to find shared descriptions */
	ino_t *inos;
};

/* After every descriptor is dumped: a pipe must have both ends here. */
int fd_pipe_check_ends(struct fd_dump_ctx *ctx);
int fd_unix_check_peers(struct fd_dump_ctx *ctx);

/* Formats "fd N (target): " into why and returns the end. */
char *fd_why(struct fd_dump_ctx *ctx, const Sc__Fd *e);

#endif
