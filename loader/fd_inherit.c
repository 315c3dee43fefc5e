// SPDX-License-Identifier: MIT
/*
 * Descriptors the restored process takes from crload: standard streams on
 * a terminal, pipe or socket (the INHERIT kind), and the files named with
 * --inherit-fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd_restore.h"

static int fd_inherit_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int fd;

	if (fcntl(e->fd, F_GETFD) >= 0)
		return e->fd;
	/* crload itself has nothing there: the restored process reads EOF
	 * and its writes go nowhere, as after a terminal hangup. */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		sc_err(err, "fd %d: /dev/null: %m", e->fd);
	return fd;
}

static void fd_inherit_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "crload's own (was %s)", e->path ? e->path : "?");
}

int fd_inherit_add(struct fd_inherits *in, const char *arg, char *err)
{
	struct fd_inherit *more;
	char *end;
	long fd;

	errno = 0;
	fd = strtol(arg, &end, 10);
	if (end == arg || *end != ':' || !end[1] || errno || fd < 0 || fd > INT_MAX) {
		sc_err(err, "--inherit-fd %s: N:PATH expected, N a descriptor", arg);
		return -1;
	}
	if (fcntl((int)fd, F_GETFD) < 0) {
		sc_err(err, "--inherit-fd %s: crload has no descriptor %ld", arg, fd);
		return -1;
	}
	more = realloc(in->v, (in->n + 1) * sizeof(*more));
	if (!more) {
		sc_err(err, "out of memory");
		return -1;
	}
	in->v = more;
	in->v[in->n++] = (struct fd_inherit){ (int)fd, end + 1 };
	return 0;
}

int fd_inherit_index(const struct fd_inherits *in, const Sc__Fd *e)
{
	if (!in || e->kind != SC__FD_KIND__REG || e->has_dup_of || !e->path)
		return -1;
	for (size_t i = 0; i < in->n; i++)
		if (!strcmp(in->v[i].path, e->path))
			return (int)i;
	return -1;
}

const struct fd_restore_half fd_inherit_restore_half = {
	.restore = fd_inherit_restore,
	.describe = fd_inherit_describe,
};
