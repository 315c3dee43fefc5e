/* SPDX-License-Identifier: MIT */
/*
 * The image checks of each descriptor kind (common/fdkinds.h): what the
 * image reader demands of a kind's fields before the loader uses them.
 * sc_check_fds (image.c) checks what every descriptor has, then asks the
 * descriptor's kind.
 */
#ifndef SELFCKPT_FD_CHECKS_H
#define SELFCKPT_FD_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd.pb-c.h"
#include "fdkinds.h"
#include "unix_graph.h"

/* What a kind's check may look at besides its own descriptor: the other
 * descriptors of the process, looked up once for all of them. */
struct fd_check_ctx {
	const Sc__Fds *fds;
	uint64_t *pipe_ids; /* the image's pipes, sorted */
	struct unix_graph socks; /* its unix sockets (not dups) */
};

/* Builds ctx for fds, refusing what it cannot be built from (pipes
 * listed twice or malformed, unix sockets without their fields or listed
 * twice): 0, or -1 with err set. Free it with fd_check_ctx_free either
 * way. */
int fd_check_ctx_init(struct fd_check_ctx *ctx, const Sc__Fds *fds, char *err);
void fd_check_ctx_free(struct fd_check_ctx *ctx);

/* The checks of f's kind, which must be one SC_FD_KINDS lists
 * (loader/fd_kinds.c has the table): 0, or -1 with err set. */
int fd_check_kind(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err);

/* Each kind's check (the last column of SC_FD_KINDS), in its restore
 * half: 0, or -1 with err set. fd_check_nothing (loader/fd_kinds.c) is
 * the kinds' that need no more than every descriptor has. */
#define FD_CHECK_OF(k, name, dump, restore, check)                                                 \
	int check(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err);
SC_FD_KINDS(FD_CHECK_OF)
#undef FD_CHECK_OF

/* Whether the image lists pipe id. */
bool fd_check_has_pipe(const struct fd_check_ctx *ctx, uint64_t id);

#endif
