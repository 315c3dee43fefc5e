// SPDX-License-Identifier: MIT
/* Standard streams the restored process takes from crload. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_restore.h"

int fd_inherit_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int fd;

	if (fcntl(e->fd, F_GETFD) >= 0)
		return e->fd;
	/* crload itself has nothing there: the restored process reads EOF
	 * and its writes go nowhere, as after a terminal hangup. */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, SC_ERR_LEN, "fd %d: /dev/null: %m", e->fd);
	return fd;
}

void fd_inherit_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "crload's own (was %s)", e->path ? e->path : "?");
}
