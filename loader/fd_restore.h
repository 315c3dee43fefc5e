/* SPDX-License-Identifier: MIT */
/* The loader halves of the descriptor kinds (see common/fdkinds.h). */
#ifndef SELFCKPT_FD_RESTORE_H
#define SELFCKPT_FD_RESTORE_H

#include "fdkinds.h"
#include "image.h"

struct fd_restore_pipe {
	uint64_t id;
	int ends[2]; /* read, write: kept until every fd is in place */
};

struct fd_restore_ctx {
	const Sc__Fds *fds;
	int scratch_min;	/* temporaries go at or above this number */
	struct fd_restore_pipe *pipes;
	size_t npipes;
	const char *cwd;	/* the process's: relative socket names resolve from it */
	struct fd_restore_unix *unix_socks; /* every unix socket, made at the first one */
	size_t nunix;
};

/* A copy of fd at scratch_min or above with e's O_NONBLOCK; -1 with err set. */
/* Before forking: paths still there, files not changed (fd_path.c). */
int fd_path_preflight(const Sc__Fds *fds, bool allow_changed, char *err);

int fd_scratch_dup(struct fd_restore_ctx *ctx, int fd, const Sc__Fd *e, char *err);
void fd_pipe_release(struct fd_restore_ctx *ctx);
void fd_unix_release(struct fd_restore_ctx *ctx);
/* After every descriptor is in place: epoll interest lists. */
int fd_epoll_attach(const Sc__Fds *fds, char *err);
/* Last of all, before the restorer: the locks held through descriptors. */
int fd_locks_restore(const Sc__Fds *fds, char *err);

#endif
