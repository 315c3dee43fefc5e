// SPDX-License-Identifier: MIT
/* signalfd: a new one for the same signals. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include "fd_restore.h"

static int fd_signalfd_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	memcpy(&set, &e->sigmask, sizeof(e->sigmask));
	fd = signalfd(-1, &set, SFD_CLOEXEC | ((e->flags & O_NONBLOCK) ? SFD_NONBLOCK : 0));
	if (fd < 0)
		sc_err(err, "fd %d: signalfd: %m", e->fd);
	return fd;
}

static void fd_signalfd_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "signalfd, mask %#llx", (unsigned long long)e->sigmask);
}

const struct fd_restore_half fd_signalfd_restore_half = {
	.restore = fd_signalfd_restore,
	.describe = fd_signalfd_describe,
};
