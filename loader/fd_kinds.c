// SPDX-License-Identifier: MIT
/*
 * The loader's table of descriptor kinds: the restore halves and their
 * image checks, expanded from the one list (common/fdkinds.h) so that
 * each must exist to link, and the passes over them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_restore.h"

#define RESTORE_ROW(k, name, dump, restore, check) [k] = &restore##_restore_half,
static const struct fd_restore_half *const halves[] = { SC_FD_KINDS(RESTORE_ROW) };
#undef RESTORE_ROW

#define NR_HALVES (sizeof(halves) / sizeof(halves[0]))

const struct fd_restore_half *fd_restore_kind(Sc__FdKind kind)
{
	return (unsigned)kind < NR_HALVES ? halves[kind] : NULL;
}

/* Whether slot i is the first of its half: a half serves several kinds
 * (files, directories and devices are all fd_path's). */
static bool first_slot(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (halves[j] == halves[i])
			return false;
	return true;
}

/* INHERIT, TTY, SIGNALFD, EPOLL: what every descriptor has is all. */
int fd_check_nothing(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx, (void)f, (void)err;
	return 0;
}

#define CHECK_ROW(k, name, dump, restore, check) [k] = check,
static int (*const checks[])(const struct fd_check_ctx *ctx, const Sc__Fd *f,
			     char *err) = { SC_FD_KINDS(CHECK_ROW) };
#undef CHECK_ROW

int fd_check_kind(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	return checks[f->kind](ctx, f, err);
}

void fd_restore_release(struct fd_restore_ctx *ctx)
{
	for (size_t i = 0; i < NR_HALVES; i++)
		if (halves[i] && halves[i]->release && first_slot(i))
			halves[i]->release(ctx);
}

int fd_restore_finish(const Sc__Fds *fds, char *err)
{
	for (size_t i = 0; i < NR_HALVES; i++)
		if (halves[i] && halves[i]->finish && first_slot(i) && halves[i]->finish(fds, err))
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
