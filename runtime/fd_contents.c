// SPDX-License-Identifier: MIT
/*
 * Descriptors whose file exists nowhere but in the process: a file
 * unlinked after it was opened ("ghost") and a memfd. Their whole
 * contents go into the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fd_dump.h"

/* Larger files make the image a copy of the disk; say so instead. */
#define MAX_CONTENTS (64UL << 20)

static bool deleted(const char *target)
{
	static const char tag[] = " (deleted)";
	size_t n = strlen(target);

	return n > sizeof(tag) - 1 && !strcmp(target + n - (sizeof(tag) - 1), tag);
}

/* Reads the file behind fd through a fresh read-only description, so the
 * app's own offset is untouched. */
static int read_contents(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	char path[32];
	size_t size = (size_t)l->st.st_size, got = 0;
	int rfd;

	e->has_size = e->has_pos = e->has_contents = e->has_dev = e->has_ino = true;
	e->size = size;
	e->pos = l->pos;
	/* Shared mappings of this file name it the way maps does. */
	e->dev = (uint64_t)major(l->st.st_dev) << 32 | minor(l->st.st_dev);
	e->ino = l->st.st_ino;
	if (size > MAX_CONTENTS) {
		rt_stpcpy(fd_why(ctx, e), "more than 64 MiB that exist only in the process");
		return -EFBIG;
	}
	rt_fmt_i64(rt_stpcpy(path, "/proc/self/fd/"), l->fd);
	rfd = (int)sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	if (rfd < 0)
		return rfd;
	e->contents.data = rt_alloc(size ? size : 1);
	while (e->contents.data && got < size) {
		long r = sc_sys4(__NR_pread64, rfd, e->contents.data + got, size - got, got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	sc_sys1(__NR_close, rfd);
	e->contents.len = got;
	return !e->contents.data ? -ENOMEM : got == size ? 0 : -EIO;
}

static bool fd_ghost_claims(const struct fd_live *l)
{
	return S_ISREG(l->st.st_mode) && l->target[0] == '/' && deleted(l->target);
}

static int fd_ghost_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	e->kind = SC__FD_KIND__GHOST;
	return read_contents(ctx, l, e);
}

static bool fd_memfd_claims(const struct fd_live *l)
{
	return S_ISREG(l->st.st_mode) && !strncmp(l->target, "/memfd:", 7);
}

static int fd_memfd_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	long seals = sc_sys2(__NR_fcntl, l->fd, F_GET_SEALS);

	e->kind = SC__FD_KIND__MEMFD;
	e->has_seals = true;
	e->seals = seals < 0 ? F_SEAL_SEAL : (uint32_t)seals;
	return read_contents(ctx, l, e);
}

const struct fd_dump_half fd_memfd_dump_half = {
	.claims = fd_memfd_claims,
	.dump = fd_memfd_dump,
};

const struct fd_dump_half fd_ghost_dump_half = {
	.claims = fd_ghost_claims,
	.dump = fd_ghost_dump,
};
